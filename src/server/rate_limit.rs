//! Per-address rate limits on the endpoints worth abusing: the inboxes, the login form and the
//! OAuth endpoints. One middleware ([`guard`]) resolves the client's address for every request
//! and, for those classes, takes a token from that address's bucket — or answers 429 with
//! `Retry-After` before any handler runs.
//!
//! The buckets live in memory, per process (several processes behind one load balancer each
//! count on their own). IPv6 clients are counted per /64, the block one subscriber usually
//! holds. Buckets that are full again are forgotten every [`PRUNE_EVERY`], so memory follows the
//! number of addresses active in the last few seconds, not all addresses ever seen.

use std::{
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};

use super::client_addr::{ClientIp, TrustedProxies};
use crate::config::{RateLimit, Settings};

/// How often buckets that are full again are dropped.
pub const PRUNE_EVERY: Duration = Duration::from_secs(10);

/// The kinds of request that are limited, each with its own buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Inbox,
    Login,
    OAuth,
}

impl Class {
    /// The class of a request, by method and path; `None` for everything not limited.
    pub fn of(method: &Method, path: &str) -> Option<Class> {
        if method != Method::POST {
            return None;
        }
        match path {
            "/inbox" => Some(Class::Inbox),
            "/admin/login" => Some(Class::Login),
            "/api/v1/apps" | "/oauth/token" | "/oauth/revoke" | "/oauth/authorize" => {
                Some(Class::OAuth)
            }
            _ => {
                let actor_inbox = path
                    .strip_prefix("/actors/")
                    .and_then(|rest| rest.strip_suffix("/inbox"))
                    .is_some_and(|name| !name.is_empty() && !name.contains('/'));
                actor_inbox.then_some(Class::Inbox)
            }
        }
    }

    /// What was limited, for the 429's message.
    fn what(self) -> &'static str {
        match self {
            Class::Inbox => "inbox deliveries",
            Class::Login => "login attempts",
            Class::OAuth => "OAuth requests",
        }
    }
}

type Buckets = DefaultKeyedRateLimiter<IpAddr>;

/// The edge's per-process state: which proxies are trusted, and a set of buckets per class.
pub struct Guard {
    trusted: TrustedProxies,
    inbox: Option<Buckets>,
    login: Option<Buckets>,
    oauth: Option<Buckets>,
    started: Instant,
    /// Milliseconds after `started` of the last pruning.
    pruned_at_ms: AtomicU64,
}

impl Guard {
    /// From the configuration. `trusted_proxies` was validated at start-up; should an entry be
    /// unreadable anyway, no proxy is trusted (forwarded headers ignored), never the reverse.
    pub fn from_settings(settings: &Settings) -> Arc<Guard> {
        let nets = settings.server.trusted_proxy_nets().unwrap_or_else(|err| {
            tracing::error!(%err, "no reverse proxy trusted");
            Vec::new()
        });
        let limits = &settings.rate_limits;
        Arc::new(Guard {
            trusted: TrustedProxies::new(nets),
            inbox: buckets(limits.inbox),
            login: buckets(limits.login),
            oauth: buckets(limits.oauth),
            started: Instant::now(),
            pruned_at_ms: AtomicU64::new(0),
        })
    }

    fn buckets(&self, class: Class) -> Option<&Buckets> {
        match class {
            Class::Inbox => self.inbox.as_ref(),
            Class::Login => self.login.as_ref(),
            Class::OAuth => self.oauth.as_ref(),
        }
    }

    /// Takes a token for `client` in `class`; `Err(wait)` when the bucket is empty.
    pub fn check(&self, class: Class, client: IpAddr) -> Result<(), Duration> {
        let Some(buckets) = self.buckets(class) else {
            return Ok(());
        };
        self.prune_now_and_then();
        buckets
            .check_key(&bucket_key(client))
            .map_err(|not_until| not_until.wait_time_from(buckets.clock().now()))
    }

    /// Drops full buckets at most once per [`PRUNE_EVERY`], from whichever request comes
    /// first: no background task to start or stop.
    fn prune_now_and_then(&self) {
        let now_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.pruned_at_ms.load(Ordering::Relaxed);
        let every_ms = PRUNE_EVERY.as_millis() as u64;
        if now_ms.saturating_sub(last) < every_ms
            || self
                .pruned_at_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.prune();
    }

    /// Forgets every bucket that is full again (indistinguishable from a new one).
    fn prune(&self) {
        for buckets in [&self.inbox, &self.login, &self.oauth]
            .into_iter()
            .flatten()
        {
            buckets.retain_recent();
            buckets.shrink_to_fit();
        }
    }

    /// Addresses currently tracked, all classes together (for tests and metrics).
    pub fn tracked(&self) -> usize {
        [&self.inbox, &self.login, &self.oauth]
            .into_iter()
            .flatten()
            .map(|b| b.len())
            .sum()
    }
}

fn buckets(limit: RateLimit) -> Option<Buckets> {
    let per_minute = NonZeroU32::new(limit.per_minute)?;
    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
    Some(RateLimiter::keyed(
        Quota::per_minute(per_minute).allow_burst(burst),
    ))
}

/// IPv4 addresses as they are; IPv6 ones cut to their /64.
fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
    }
}

/// The middleware: records the client's address in the request ([`ClientIp`]) and enforces
/// the limit of the request's class.
pub async fn guard(State(guard): State<Arc<Guard>>, mut request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let client = ClientIp::of(&parts).map(|peer| guard.trusted.client_ip(peer, &parts.headers));
    if let Some(ip) = client {
        parts.extensions.insert(ClientIp(ip));
    }
    request = Request::from_parts(parts, body);
    if let (Some(class), Some(ip)) = (Class::of(request.method(), request.uri().path()), client)
        && let Err(wait) = guard.check(class, ip)
    {
        tracing::info!(client = %ip, limited = class.what(), "rate limited");
        return too_many(class, wait);
    }
    next.run(request).await
}

/// 429 with `Retry-After` in whole seconds (rounded up) and a message saying what was limited:
/// JSON (`{"error": …}`, as Mastodon answers) for servers and apps, text for the login page.
fn too_many(class: Class, wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let message = format!(
        "Too many {} from this address; retry in {seconds} s.",
        class.what()
    );
    let mut response = match class {
        Class::Login => (StatusCode::TOO_MANY_REQUESTS, message).into_response(),
        Class::Inbox | Class::OAuth => (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(serde_json::json!({ "error": message })),
        )
            .into_response(),
    };
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_by_method_and_path() {
        let post = Method::POST;
        assert_eq!(Class::of(&post, "/inbox"), Some(Class::Inbox));
        assert_eq!(
            Class::of(&post, "/actors/collectif/inbox"),
            Some(Class::Inbox)
        );
        assert_eq!(Class::of(&post, "/actors//inbox"), None);
        assert_eq!(Class::of(&post, "/actors/a/b/inbox"), None);
        assert_eq!(Class::of(&post, "/admin/login"), Some(Class::Login));
        for path in [
            "/api/v1/apps",
            "/oauth/token",
            "/oauth/revoke",
            "/oauth/authorize",
        ] {
            assert_eq!(Class::of(&post, path), Some(Class::OAuth), "{path}");
        }
        assert_eq!(Class::of(&Method::GET, "/oauth/authorize"), None);
        assert_eq!(Class::of(&Method::GET, "/actors/collectif/inbox"), None);
        assert_eq!(Class::of(&post, "/api/v1/statuses"), None);
    }

    fn guard_with(limit: RateLimit) -> Arc<Guard> {
        let mut settings = Settings::default();
        settings.rate_limits.login = limit;
        Guard::from_settings(&settings)
    }

    #[test]
    fn a_burst_then_a_wait_per_address() {
        let guard = guard_with(RateLimit {
            per_minute: 6,
            burst: 2,
        });
        let a: IpAddr = "203.0.113.1".parse().expect("ip");
        let b: IpAddr = "203.0.113.2".parse().expect("ip");
        assert!(guard.check(Class::Login, a).is_ok());
        assert!(guard.check(Class::Login, a).is_ok());
        let wait = guard.check(Class::Login, a).expect_err("limited");
        assert!(wait > Duration::from_secs(5) && wait <= Duration::from_secs(10));
        assert!(guard.check(Class::Login, b).is_ok(), "another address");
        assert!(guard.check(Class::OAuth, a).is_ok(), "another class");
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let guard = guard_with(RateLimit {
            per_minute: 1,
            burst: 1,
        });
        let one: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let other: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert!(guard.check(Class::Login, one).is_ok());
        assert!(guard.check(Class::Login, other).is_err());
        assert!(guard.check(Class::Login, elsewhere).is_ok());
    }

    #[test]
    fn zero_per_minute_turns_a_class_off() {
        let guard = guard_with(RateLimit {
            per_minute: 0,
            burst: 0,
        });
        let a: IpAddr = "203.0.113.1".parse().expect("ip");
        for _ in 0..100 {
            assert!(guard.check(Class::Login, a).is_ok());
        }
        assert_eq!(guard.tracked(), 0);
    }

    #[test]
    fn full_buckets_are_forgotten() {
        // One token a millisecond: a bucket used once is full again almost at once.
        let guard = guard_with(RateLimit {
            per_minute: 60_000,
            burst: 1,
        });
        for n in 1..=50u8 {
            let _ = guard.check(Class::Login, IpAddr::from([203, 0, 113, n]));
        }
        assert_eq!(guard.tracked(), 50);
        std::thread::sleep(Duration::from_millis(20));
        guard.prune();
        assert_eq!(guard.tracked(), 0);
    }

    #[test]
    fn the_answer_says_what_and_when() {
        let response = too_many(Class::Login, Duration::from_millis(5200));
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "6");
    }
}
