//! The one policy for HTTP requests to other servers: every outgoing client (WebFinger GETs,
//! signed fetches, delivery POSTs) is built by [`OutgoingPolicy::client`], which refuses
//! non-public destinations twice — by URL before a request is sent (scheme, credentials,
//! IP literals, `localhost`) and by address when a name is resolved at connect time (so DNS
//! rebinding does not help: the addresses checked are the addresses connected to).
//!
//! `federation.allow_private_network` (development and tests) turns both checks off, except
//! that credentials in URLs and schemes other than http(s) stay refused.

use std::{
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    time::Duration,
};

use http::Extensions;
use reqwest::{
    Request, Response,
    dns::{Addrs, Name, Resolve, Resolving},
    redirect,
};
use reqwest_middleware::{ClientWithMiddleware, Middleware, Next};
use url::{Host, Url};

use crate::domain::network::is_public_ip;

const USER_AGENT: &str = concat!("Tribune/", env!("CARGO_PKG_VERSION"), " (ActivityPub)");

/// Why a destination was refused (before anything was sent or connected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused {target}: {reason}")]
pub struct Refused {
    /// The URL or host name refused.
    pub target: String,
    pub reason: String,
}

impl Refused {
    fn new(target: impl ToString, reason: impl Into<String>) -> Refused {
        Refused {
            target: target.to_string(),
            reason: reason.into(),
        }
    }
}

/// The future of a [`Lookup`].
pub type LookupFuture = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Name resolution, injectable so that tests can answer what an attacker's DNS would.
pub trait Lookup: Send + Sync + 'static {
    /// Every address `host` resolves to.
    fn lookup(&self, host: &str) -> LookupFuture;
}

/// The system resolver (`getaddrinfo` on Tokio's blocking pool): what Tribune falls back to
/// when [`CachingLookup`] cannot read the system's resolver configuration.
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let host = host.to_string();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// Tribune's resolver: hickory's, asynchronous, configured like the system's
/// (`/etc/resolv.conf`, `/etc/hosts`), keeping answers for their TTL. A fan-out reaches the
/// same instances with every post, a thousand names at a time: `getaddrinfo` asked the DNS
/// server again each time, from a thread of Tokio's blocking pool per concurrent lookup.
/// Cached answers are as safe as fresh ones: [`FilteringResolver`] checks the addresses on
/// every use, and they are the ones connected to.
pub struct CachingLookup(hickory_resolver::TokioResolver);

impl CachingLookup {
    /// The resolver of the system's configuration.
    pub fn from_system() -> Result<CachingLookup, hickory_resolver::net::NetError> {
        let resolver = hickory_resolver::Resolver::builder_tokio()?.build()?;
        Ok(CachingLookup(resolver))
    }
}

impl Lookup for CachingLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let resolver = self.0.clone();
        let host = host.to_string();
        Box::pin(async move {
            let answers = resolver
                .lookup_ip(host.as_str())
                .await
                .map_err(io::Error::other)?;
            Ok(answers.iter().collect())
        })
    }
}

/// What redirects a client follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// None: a 3xx is handed back as it is.
    Refuse,
    /// Up to this many, each hop checked like the first URL.
    Follow(usize),
}

/// Where Tribune may connect on behalf of remote input.
#[derive(Clone)]
pub struct OutgoingPolicy {
    allow_private_network: bool,
    lookup: Arc<dyn Lookup>,
}

impl OutgoingPolicy {
    /// The policy with Tribune's resolver ([`CachingLookup`]; `getaddrinfo` if the system's
    /// resolver configuration cannot be read). Build it once and clone it: clones share the
    /// resolver and its cache.
    pub fn new(allow_private_network: bool) -> OutgoingPolicy {
        let lookup: Arc<dyn Lookup> = match CachingLookup::from_system() {
            Ok(caching) => Arc::new(caching),
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the system's resolver configuration; names of other servers are resolved with getaddrinfo, uncached");
                Arc::new(SystemLookup)
            }
        };
        OutgoingPolicy::with_lookup(allow_private_network, lookup)
    }

    /// The policy with another resolver (tests).
    pub fn with_lookup(allow_private_network: bool, lookup: Arc<dyn Lookup>) -> OutgoingPolicy {
        OutgoingPolicy {
            allow_private_network,
            lookup,
        }
    }

    pub fn allow_private_network(&self) -> bool {
        self.allow_private_network
    }

    /// Refuses a URL that must never be requested: a scheme other than https (http too when
    /// private networks are allowed), credentials, no host, and — names being the resolver's
    /// business — IP literals that are not public and `localhost` names. reqwest does not
    /// call the resolver for IP literals, so this is their only check.
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private_network => {}
            "http" => return Err(Refused::new(url, "plain http is not allowed")),
            _ => return Err(Refused::new(url, "only https URLs are fetched")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused::new(url, "URLs with credentials are not fetched"));
        }
        let host = url.host().ok_or_else(|| Refused::new(url, "no host"))?;
        if self.allow_private_network {
            return Ok(());
        }
        let ip = match host {
            Host::Domain(name) => {
                // RFC 6761: these names are the local host whatever DNS says.
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") {
                    return Err(Refused::new(url, "localhost is not a remote server"));
                }
                return Ok(());
            }
            Host::Ipv4(ip) => IpAddr::V4(ip),
            Host::Ipv6(ip) => IpAddr::V6(ip),
        };
        if is_public_ip(ip) {
            Ok(())
        } else {
            Err(Refused::new(url, "private, loopback or reserved address"))
        }
    }

    /// The resolver of this policy (what reqwest calls for names at connect time).
    pub fn resolver(&self) -> FilteringResolver {
        FilteringResolver {
            lookup: self.lookup.clone(),
            allow_private_network: self.allow_private_network,
        }
    }

    /// An HTTP client for requests to other servers: this policy's resolver and URL check,
    /// the given total time limit (connecting, sending, reading the body), the given redirect
    /// handling, no proxy (a proxy would connect for us to addresses we never see).
    pub fn client(
        &self,
        timeout: Duration,
        redirects: Redirects,
    ) -> Result<ClientWithMiddleware, reqwest::Error> {
        let redirect = match redirects {
            Redirects::Refuse => redirect::Policy::none(),
            Redirects::Follow(max) => {
                let policy = self.clone();
                redirect::Policy::custom(move |attempt| {
                    // `previous` holds the URLs already requested, the first one included.
                    if attempt.previous().len() > max {
                        let error = Refused::new(attempt.url(), "too many redirects");
                        return attempt.error(error);
                    }
                    // A hop is checked like a first URL; its name goes through the resolver
                    // again when reqwest connects.
                    match policy.check_url(attempt.url()) {
                        Ok(()) => attempt.follow(),
                        Err(refused) => attempt.error(refused),
                    }
                })
            }
        };
        let client = reqwest::Client::builder()
            .redirect(redirect)
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(4)
            .no_proxy()
            .user_agent(USER_AGENT)
            .dns_resolver(Arc::new(self.resolver()))
            .build()?;
        Ok(reqwest_middleware::ClientBuilder::new(client)
            .with(UrlGuard(self.clone()))
            .build())
    }
}

/// Checks every request's URL before it is sent, whoever builds the request (Tribune, or the
/// federation crate with the client we hand it).
struct UrlGuard(OutgoingPolicy);

#[async_trait::async_trait]
impl Middleware for UrlGuard {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        self.0
            .check_url(req.url())
            .map_err(reqwest_middleware::Error::middleware)?;
        next.run(req, extensions).await
    }
}

/// A `reqwest` resolver that keeps only public addresses and refuses a name that has none,
/// unless private networks are allowed.
pub struct FilteringResolver {
    lookup: Arc<dyn Lookup>,
    allow_private_network: bool,
}

/// Why a name could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("cannot resolve {0}: {1}")]
    Lookup(String, io::Error),
}

impl FilteringResolver {
    /// The addresses of `host` Tribune may connect to (port 0: reqwest sets the URL's).
    pub async fn resolve_host(&self, host: &str) -> Result<Vec<SocketAddr>, ResolveError> {
        let host = host.trim_end_matches('.');
        let answers = self
            .lookup
            .lookup(host)
            .await
            .map_err(|e| ResolveError::Lookup(host.to_string(), e))?;
        if answers.is_empty() {
            let none = io::Error::new(io::ErrorKind::NotFound, "no address");
            return Err(ResolveError::Lookup(host.to_string(), none));
        }
        let kept: Vec<SocketAddr> = answers
            .iter()
            .filter(|ip| self.allow_private_network || is_public_ip(**ip))
            .map(|ip| SocketAddr::new(*ip, 0))
            .collect();
        if kept.is_empty() {
            let list: Vec<String> = answers.iter().map(IpAddr::to_string).collect();
            return Err(Refused::new(
                host,
                format!(
                    "it resolves only to private, loopback or reserved addresses ({})",
                    list.join(", ")
                ),
            )
            .into());
        }
        Ok(kept)
    }
}

impl Resolve for FilteringResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = FilteringResolver {
            lookup: self.lookup.clone(),
            allow_private_network: self.allow_private_network,
        };
        Box::pin(async move {
            let addrs = resolver.resolve_host(name.as_str()).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashMap,
        str::FromStr,
        sync::{
            Mutex,
            atomic::{AtomicUsize, Ordering},
        },
    };

    use super::*;

    /// Answers from a table, as an attacker's DNS server would.
    struct FakeDns(HashMap<String, Vec<IpAddr>>);

    impl FakeDns {
        fn policy(allow_private: bool, entries: &[(&str, &[&str])]) -> OutgoingPolicy {
            let table = entries
                .iter()
                .map(|(name, ips)| {
                    let ips = ips.iter().map(|ip| ip.parse().expect("ip")).collect();
                    (name.to_string(), ips)
                })
                .collect();
            OutgoingPolicy::with_lookup(allow_private, Arc::new(FakeDns(table)))
        }
    }

    impl Lookup for FakeDns {
        fn lookup(&self, host: &str) -> LookupFuture {
            let found = self.0.get(host).cloned();
            Box::pin(async move {
                found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "unknown name"))
            })
        }
    }

    /// Answers a public address first, then a private one (DNS rebinding, TTL 0).
    struct Rebinding(Mutex<Vec<IpAddr>>);

    impl Lookup for Rebinding {
        fn lookup(&self, _: &str) -> LookupFuture {
            let next = self.0.lock().expect("lock").remove(0);
            Box::pin(async move { Ok(vec![next]) })
        }
    }

    async fn resolve(policy: &OutgoingPolicy, host: &str) -> Result<Vec<IpAddr>, String> {
        // Through reqwest's trait, as reqwest calls it.
        let name = Name::from_str(host).expect("name");
        match policy.resolver().resolve(name).await {
            Ok(addrs) => Ok(addrs.map(|a| a.ip()).collect()),
            Err(err) => Err(err.to_string()),
        }
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "169.254.169.254",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "100.64.0.1",
        ] {
            let policy = FakeDns::policy(false, &[("evil.example", &[ip])]);
            let err = resolve(&policy, "evil.example")
                .await
                .expect_err("must be refused");
            assert!(
                err.starts_with("refused evil.example") && err.contains(ip),
                "{ip}: {err}"
            );
        }
    }

    #[tokio::test]
    async fn only_the_public_answers_are_kept() {
        let policy = FakeDns::policy(
            false,
            &[(
                "mixed.example",
                &["10.0.0.1", "93.184.216.34", "::1", "2606:4700::1"],
            )],
        );
        let kept = resolve(&policy, "mixed.example.")
            .await
            .expect("public kept");
        assert_eq!(
            kept,
            vec![
                "93.184.216.34".parse::<IpAddr>().expect("ip"),
                "2606:4700::1".parse().expect("ip")
            ]
        );
    }

    #[tokio::test]
    async fn a_rebinding_name_is_refused_on_the_second_lookup() {
        let lookup = Rebinding(Mutex::new(vec![
            "93.184.216.34".parse().expect("ip"),
            "127.0.0.1".parse().expect("ip"),
        ]));
        let policy = OutgoingPolicy::with_lookup(false, Arc::new(lookup));
        assert!(resolve(&policy, "rebind.example").await.is_ok());
        let err = resolve(&policy, "rebind.example")
            .await
            .expect_err("second answer is private");
        assert!(err.contains("refused"), "{err}");
    }

    #[tokio::test]
    async fn allow_private_network_disables_the_filter() {
        let policy = FakeDns::policy(true, &[("dev.example", &["127.0.0.1"])]);
        let kept = resolve(&policy, "dev.example").await.expect("allowed");
        assert_eq!(kept, vec!["127.0.0.1".parse::<IpAddr>().expect("ip")]);
        for url in [
            "http://127.0.0.1:8080/x",
            "https://[::1]/",
            "http://localhost/",
        ] {
            let url = Url::parse(url).expect("url");
            assert!(policy.check_url(&url).is_ok(), "{url}");
        }
    }

    #[tokio::test]
    async fn tribunes_resolver_answers_from_the_systems_configuration() {
        // `localhost` is answered without asking a DNS server (RFC 6761, and /etc/hosts), so
        // this holds on any machine, networked or not.
        let lookup = CachingLookup::from_system().expect("the system's resolver configuration");
        for _ in 0..2 {
            let addrs = lookup
                .lookup("localhost")
                .await
                .expect("localhost resolves");
            assert!(
                addrs.contains(&IpAddr::from([127, 0, 0, 1])),
                "localhost is 127.0.0.1: {addrs:?}"
            );
        }
        // Through the policy: allowed only where private networks are.
        let private = OutgoingPolicy::new(true);
        assert!(resolve(&private, "localhost").await.is_ok());
        let public = OutgoingPolicy::new(false);
        let err = resolve(&public, "localhost").await.expect_err("refused");
        assert!(err.contains("private, loopback or reserved"), "{err}");
    }

    #[tokio::test]
    async fn unknown_names_are_a_lookup_failure_not_a_refusal() {
        let policy = FakeDns::policy(false, &[]);
        let err = resolve(&policy, "nowhere.example")
            .await
            .expect_err("fails");
        assert!(err.starts_with("cannot resolve nowhere.example"), "{err}");
    }

    #[test]
    fn urls_are_checked_before_anything_is_sent() {
        let policy = OutgoingPolicy::new(false);
        for (url, why) in [
            ("http://example.com/", "plain http"),
            ("ftp://example.com/", "only https"),
            ("file:///etc/passwd", "only https"),
            ("https://user:pw@example.com/", "credentials"),
            ("https://user@example.com/", "credentials"),
            ("https://127.0.0.1/inbox", "private"),
            ("https://0.0.0.0/", "private"),
            ("https://[::ffff:127.0.0.1]/", "private"),
            ("https://[::ffff:10.0.0.1]/inbox", "private"),
            ("https://[64:ff9b::a9fe:a9fe]/", "private"),
            ("https://169.254.169.254/latest/meta-data/", "private"),
            // WHATWG URL parsing turns these into 127.0.0.1 before we see them.
            ("https://2130706433/", "private"),
            ("https://0x7f000001/", "private"),
            ("https://0177.0.0.1/", "private"),
            ("https://127.1/", "private"),
            ("https://localhost/", "localhost"),
            ("https://LOCALHOST./", "localhost"),
            ("https://api.localhost/", "localhost"),
        ] {
            let parsed = Url::parse(url).expect("url");
            let err = policy.check_url(&parsed).expect_err(url);
            assert!(err.reason.contains(why), "{url}: {err}");
        }
        for url in ["https://example.com/users/a", "https://93.184.216.34/"] {
            assert!(policy.check_url(&Url::parse(url).expect("url")).is_ok());
        }
    }

    /// A listener that counts the connections it accepts.
    async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let count = Arc::new(AtomicUsize::new(0));
        let counted = count.clone();
        tokio::spawn(async move {
            while let Ok((_socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        (port, count)
    }

    fn chain(err: &dyn std::error::Error) -> String {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            text.push_str(" / ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }

    #[tokio::test]
    async fn the_client_never_connects_to_a_refused_destination() {
        let (port, connections) = counting_listener().await;
        let policy = FakeDns::policy(false, &[("evil.example", &["127.0.0.1"])]);
        for redirects in [Redirects::Refuse, Redirects::Follow(3)] {
            let client = policy
                .client(Duration::from_secs(5), redirects)
                .expect("client");
            // A name that resolves to loopback: refused by the resolver.
            let err = client
                .get(format!("https://evil.example:{port}/"))
                .send()
                .await
                .expect_err("refused");
            let text = chain(&err);
            assert!(text.contains("refused evil.example"), "{text}");
            // An IP literal (reqwest does not resolve those): refused by the URL check.
            for url in [
                format!("https://127.0.0.1:{port}/inbox"),
                format!("https://[::ffff:127.0.0.1]:{port}/inbox"),
            ] {
                let err = client
                    .post(&url)
                    .body("{}")
                    .send()
                    .await
                    .expect_err("refused");
                assert!(chain(&err).contains("refused"), "{url}: {err}");
            }
        }
        assert_eq!(connections.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn every_redirect_hop_is_checked_and_at_most_three_are_followed() {
        use axum::{Router, extract::Path, http::header::LOCATION, routing::get};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("addr").port()
        );
        let reached = Arc::new(AtomicUsize::new(0));
        let (to, counted) = (base.clone(), reached.clone());
        let router = Router::new()
            .route(
                "/r/{n}",
                get(move |Path(n): Path<u32>| {
                    let to = to.clone();
                    async move {
                        let next = if n == 0 {
                            format!("{to}/ok")
                        } else {
                            format!("{to}/r/{}", n - 1)
                        };
                        (axum::http::StatusCode::FOUND, [(LOCATION, next)])
                    }
                }),
            )
            .route(
                "/creds",
                get(|| async {
                    let to = "http://user:secret@127.0.0.1:9/ok";
                    (axum::http::StatusCode::FOUND, [(LOCATION, to)])
                }),
            )
            .route(
                "/ftp",
                get(|| async {
                    (
                        axum::http::StatusCode::FOUND,
                        [(LOCATION, "ftp://127.0.0.1/")],
                    )
                }),
            )
            .route(
                "/ok",
                get(move || {
                    counted.fetch_add(1, Ordering::SeqCst);
                    async { "{}" }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, router).await });
        // Private networks allowed (the stand-in is on loopback): what stays checked on every
        // hop is the scheme, credentials and the number of hops.
        let client = OutgoingPolicy::new(true)
            .client(Duration::from_secs(5), Redirects::Follow(3))
            .expect("client");
        // /r/2 → /r/1 → /r/0 → /ok: three redirects, followed.
        let ok = client
            .get(format!("{base}/r/2"))
            .send()
            .await
            .expect("three");
        assert_eq!(ok.status(), 200);
        assert_eq!(reached.load(Ordering::SeqCst), 1);
        for (path, why) in [
            ("/r/3", "too many redirects"),
            ("/creds", "credentials"),
            ("/ftp", "only https"),
        ] {
            let err = client
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect_err(path);
            let text = chain(&err);
            assert!(text.contains(why), "{path}: {text}");
        }
        assert_eq!(
            reached.load(Ordering::SeqCst),
            1,
            "no refused hop was followed"
        );
        // Signed fetches' client follows none: the 302 is handed back to the crate.
        let none = OutgoingPolicy::new(true)
            .client(Duration::from_secs(5), Redirects::Refuse)
            .expect("client");
        let found = none.get(format!("{base}/r/0")).send().await.expect("302");
        assert_eq!(found.status(), 302);
        assert_eq!(reached.load(Ordering::SeqCst), 1);
    }
}
