//! Settings: built-in defaults → config file → `TRIBUNE__SECTION__KEY` environment variables,
//! validated once at start-up and then passed explicitly (no globals).
//!
//! Every key is documented in `config/default.toml`; a test keeps that file and
//! [`Settings::default`] in agreement.

use std::{fmt, net::SocketAddr, path::PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::domain::handle;

/// The whole configuration of one Tribune process.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Where Tribune keeps its files (the SQLite database by default).
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub instance: InstanceSettings,
    pub database: DatabaseSettings,
    pub collective: CollectiveSettings,
    pub federation: FederationSettings,
    pub publishing: PublishingSettings,
    pub delivery: DeliverySettings,
    pub moderation: ModerationSettings,
    pub log: LogSettings,
    pub rate_limits: RateLimitSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address and port the HTTP server binds to.
    pub listen: SocketAddr,
    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT.
    pub shutdown_grace_seconds: u64,
    /// Seconds a client has to send a request's headers (and an idle connection may wait for
    /// its next request) before the connection is closed.
    pub header_read_timeout_seconds: u64,
    /// Seconds a client has, once its headers are in, to send the whole body; then the request
    /// is answered 408 and the connection closed.
    pub body_read_timeout_seconds: u64,
    /// Connections served at once; further clients wait to be accepted.
    pub max_connections: usize,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<String>,
}

impl ServerSettings {
    /// `trusted_proxies` parsed; a plain address is a range of one.
    pub fn trusted_proxy_nets(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        ConfigError::new(
                            "server.trusted_proxies",
                            format!(
                                "{entry:?} is neither an IP address nor a CIDR range \
                                 (e.g. 10.0.0.1 or 10.0.0.0/8)"
                            ),
                        )
                    })
            })
            .collect()
    }
}

/// Per-address request rates, per class of endpoint (kept in memory by each process).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// POSTs to the inboxes.
    pub inbox: RateLimit,
    /// POSTs of the admin login form.
    pub login: RateLimit,
    /// `/api/v1/apps`, `/oauth/token`, `/oauth/revoke` and the consent form's POST.
    pub oauth: RateLimit,
}

/// A token bucket: `burst` requests at once, refilled at `per_minute`; `per_minute = 0` is off.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            // 20 a second sustained, 600 at once: far above what one busy instance sends.
            inbox: RateLimit {
                per_minute: 1200,
                burst: 600,
            },
            login: RateLimit {
                per_minute: 10,
                burst: 30,
            },
            oauth: RateLimit {
                per_minute: 30,
                burst: 30,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct InstanceSettings {
    /// The public URL the fediverse reaches this server at; every id is built from it.
    pub base_url: Url,
    /// Interface language when neither the member nor the browser chooses: `fr` or `en`.
    pub default_locale: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://…` or `postgres://…`; empty means `sqlite://<data_dir>/tribune.db`.
    pub url: String,
    /// Upper bound of pooled connections.
    pub max_connections: u32,
    /// Seconds to wait for the database at start-up before giving up.
    pub connect_timeout_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CollectiveSettings {
    /// The handle's local part: `@username@host`. Lowercase letters, digits and `_`.
    pub username: String,
    /// Display name.
    pub name: String,
    /// A short presentation, plain text (paragraphs separated by blank lines).
    pub summary: String,
    /// How the actor presents itself to the fediverse.
    pub actor_type: ActorType,
    /// Whether follow requests wait for an admin's approval.
    pub manually_approves_followers: bool,
    /// Whether the collective may be suggested in directories (`discoverable`).
    pub discoverable: bool,
    /// Whether its public posts may be indexed by search (`indexable`).
    pub indexable: bool,
    /// Avatar image URL (absolute, or a path under `base_url`); empty for none.
    pub icon_url: String,
    /// Header image URL (absolute, or a path under `base_url`); empty for none.
    pub image_url: String,
}

/// The ActivityStreams actor types a collective may use (all of them are accepted by Mastodon).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum ActorType {
    Group,
    Organization,
    Person,
    Service,
}

impl ActorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::Group => "Group",
            ActorType::Organization => "Organization",
            ActorType::Person => "Person",
            ActorType::Service => "Service",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FederationSettings {
    /// Development and tests only: allow plain http and loopback/private addresses for remote
    /// servers. Logged as a loud warning when on.
    pub allow_private_network: bool,
    /// Largest inbox request body accepted, in bytes (larger: 413).
    pub max_inbox_body_bytes: usize,
    /// How far a signed request's `Date` may be from our clock, in seconds.
    pub signature_window_seconds: i64,
    /// Whether the followers collection lists the followers, or only counts them.
    pub followers_list_public: bool,
    /// Hours before a cached remote actor is fetched again.
    pub actor_refresh_hours: i64,
    /// Most outgoing fetches one incoming activity may cause (actor, object, reply chain).
    pub max_fetches_per_activity: u32,
    /// Days the ids of received activities are remembered, so that a server re-sending one
    /// (Mastodon retries for about three days) has no second effect; older ids are forgotten.
    pub remember_received_days: u32,
}

impl Default for FederationSettings {
    fn default() -> Self {
        FederationSettings {
            allow_private_network: false,
            max_inbox_body_bytes: 1024 * 1024,
            signature_window_seconds: 3600,
            followers_list_public: false,
            actor_refresh_hours: 24,
            max_fetches_per_activity: 20,
            remember_received_days: 14,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// Whether this process runs delivery workers (several processes may share the work).
    pub workers: bool,
    /// Delay before the first retry, in seconds; each retry doubles it (with jitter).
    pub retry_initial_seconds: f64,
    /// Longest delay between two retries, in seconds.
    pub retry_max_delay_seconds: f64,
    /// A delivery still failing this many hours after it was queued is given up.
    pub give_up_after_hours: f64,
    /// A host with no successful delivery for this many hours is marked unreachable and its
    /// deliveries parked until it contacts us again or an admin retries it.
    pub unreachable_after_hours: f64,
    /// Deliveries sent at once by this process (requests that stalled past
    /// `stalled_after_seconds` no longer count: up to four times as many more may be waiting).
    /// 128 by default (it was 64): an open request costs a task, a connection's buffers (hyper
    /// reads into 8 KiB), TLS state and a socket, roughly 50 KiB and one file descriptor, so
    /// even 128 + 512 stalled requests stay near 30 MiB and 640 descriptors, under the usual
    /// limit of 1,024; and a fan-out where a hundred servers hang still has slots left for the
    /// others before the first stalled request gives its slot back.
    pub max_concurrency: usize,
    /// Deliveries sent at once to one host by this process.
    pub max_per_host: usize,
    /// Seconds before a delivery request is abandoned (and retried later).
    pub request_timeout_seconds: u64,
    /// Seconds after which an unanswered request gives its place in `max_concurrency` to the
    /// next delivery (it keeps its per-host place and waits until `request_timeout_seconds`):
    /// servers that hang must not hold back those that answer. Fractions allowed.
    pub stalled_after_seconds: f64,
    /// Seconds a claimed delivery stays reserved for the process that claimed it.
    pub lease_seconds: i64,
    /// How often the queue is polled when nothing wakes the workers, in milliseconds.
    pub poll_interval_ms: u64,
    /// Days a finished delivery (delivered, or given up) stays in the queue table for the
    /// admin's delivery page; then it is deleted (the activity itself is kept).
    pub keep_finished_days: u32,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            workers: true,
            retry_initial_seconds: 60.0,
            retry_max_delay_seconds: 6.0 * 3600.0,
            give_up_after_hours: 72.0,
            unreachable_after_hours: 48.0,
            max_concurrency: 128,
            max_per_host: 4,
            request_timeout_seconds: 10,
            stalled_after_seconds: 2.0,
            lease_seconds: 60,
            poll_interval_ms: 1000,
            keep_finished_days: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PublishingSettings {
    /// Give each member a `Person` actor; posts are then attributed to their author and the
    /// collective `Announce`s them (the FEP-1b12 way groups share members' posts).
    pub member_actors: bool,
    /// How often scheduled posts are checked for publication, in seconds.
    pub scheduler_interval_seconds: u64,
    /// Posts per page on the public site and in collections.
    pub page_size: u64,
}

impl Default for PublishingSettings {
    fn default() -> Self {
        PublishingSettings {
            member_actors: false,
            scheduler_interval_seconds: 15,
            page_size: 20,
        }
    }
}

/// How replies from the fediverse reach the public site.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReplyPolicy {
    /// Published at once.
    Open,
    /// Published at once from followers and authors approved before; the rest held.
    Trusted,
    /// Every reply held for review.
    Review,
}

impl ReplyPolicy {
    /// Every policy, from the most open to the most careful.
    pub const ALL: [ReplyPolicy; 3] =
        [ReplyPolicy::Open, ReplyPolicy::Trusted, ReplyPolicy::Review];

    /// The name used in the configuration file and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyPolicy::Open => "open",
            ReplyPolicy::Trusted => "trusted",
            ReplyPolicy::Review => "review",
        }
    }

    pub fn parse(value: &str) -> Option<ReplyPolicy> {
        ReplyPolicy::ALL
            .into_iter()
            .find(|p| p.as_str() == value.trim())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModerationSettings {
    /// `open`, `trusted` or `review`.
    pub replies: ReplyPolicy,
    /// Only instances on the allow list federate (blocks still apply).
    pub allowlist_mode: bool,
    /// Show remote avatars on public pages (they are loaded from the remote servers).
    pub show_remote_avatars: bool,
    /// How many unknown ancestors of a reply are fetched to find whether it belongs to one of
    /// our posts.
    pub max_reply_fetch_depth: u32,
}

impl Default for ModerationSettings {
    fn default() -> Self {
        ModerationSettings {
            replies: ReplyPolicy::Review,
            allowlist_mode: false,
            show_remote_avatars: false,
            max_reply_fetch_depth: 5,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// A `tracing` filter, e.g. `info` or `tribune=debug,info`. `RUST_LOG` overrides it.
    pub filter: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("./data"),
            server: ServerSettings::default(),
            instance: InstanceSettings::default(),
            database: DatabaseSettings::default(),
            collective: CollectiveSettings::default(),
            federation: FederationSettings::default(),
            publishing: PublishingSettings::default(),
            delivery: DeliverySettings::default(),
            moderation: ModerationSettings::default(),
            log: LogSettings::default(),
            rate_limits: RateLimitSettings::default(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            shutdown_grace_seconds: 10,
            header_read_timeout_seconds: 10,
            body_read_timeout_seconds: 30,
            max_connections: 1024,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for InstanceSettings {
    fn default() -> Self {
        InstanceSettings {
            base_url: Url::parse("http://localhost:8080").unwrap_or_else(|_| unreachable!()),
            default_locale: "fr".into(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: String::new(),
            max_connections: 10,
            connect_timeout_seconds: 10,
        }
    }
}

impl Default for CollectiveSettings {
    fn default() -> Self {
        CollectiveSettings {
            username: "collectif".into(),
            name: "Collectif".into(),
            summary: String::new(),
            actor_type: ActorType::Group,
            manually_approves_followers: false,
            discoverable: true,
            indexable: true,
            icon_url: String::new(),
            image_url: String::new(),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            filter: "info".into(),
        }
    }
}

/// A configuration that cannot be used: names the key and says why, on one line.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("configuration error: {key}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// The prefix of environment variables; `__` separates section and key.
pub const ENV_PREFIX: &str = "TRIBUNE__";

impl Settings {
    /// Loads defaults, then `file` (if any), then the environment, and validates the result.
    pub fn load(file: Option<&std::path::Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::new(
                    "--config",
                    format!("{} is not a readable file", path.display()),
                ));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__"));
        let settings: Settings = figment.extract().map_err(from_figment)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what serde cannot: URL shapes, the username, the database scheme.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let base = &self.instance.base_url;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ConfigError::new(
                "instance.base_url",
                format!(
                    "must start with https:// (or http:// for local use), not {}://",
                    base.scheme()
                ),
            ));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::new("instance.base_url", "has no host"));
        }
        if base.path() != "/" || base.query().is_some() || base.fragment().is_some() {
            return Err(ConfigError::new(
                "instance.base_url",
                "must be the server's root, without a path, query or fragment (e.g. https://collectif.example)",
            ));
        }
        if !matches!(self.instance.default_locale.as_str(), "fr" | "en") {
            return Err(ConfigError::new(
                "instance.default_locale",
                "must be fr or en",
            ));
        }
        if self.publishing.scheduler_interval_seconds == 0 {
            return Err(ConfigError::new(
                "publishing.scheduler_interval_seconds",
                "must be at least 1",
            ));
        }
        let delivery = &self.delivery;
        if delivery.retry_initial_seconds.is_nan() || delivery.retry_initial_seconds <= 0.0 {
            return Err(ConfigError::new(
                "delivery.retry_initial_seconds",
                "must be a positive number of seconds",
            ));
        }
        if delivery.retry_max_delay_seconds < delivery.retry_initial_seconds {
            return Err(ConfigError::new(
                "delivery.retry_max_delay_seconds",
                "must be at least delivery.retry_initial_seconds",
            ));
        }
        if delivery.max_concurrency == 0 || delivery.max_per_host == 0 {
            return Err(ConfigError::new(
                "delivery.max_concurrency",
                "max_concurrency and max_per_host must be at least 1",
            ));
        }
        // Not shorter than the request timeout is allowed: requests then never stall (an
        // existing configuration with a short timeout keeps working).
        if !(delivery.stalled_after_seconds.is_finite() && delivery.stalled_after_seconds > 0.0) {
            return Err(ConfigError::new(
                "delivery.stalled_after_seconds",
                "must be a number of seconds more than 0",
            ));
        }
        if delivery.lease_seconds <= delivery.request_timeout_seconds as i64 {
            return Err(ConfigError::new(
                "delivery.lease_seconds",
                "must be longer than delivery.request_timeout_seconds",
            ));
        }
        if self.federation.max_inbox_body_bytes < 1024 {
            return Err(ConfigError::new(
                "federation.max_inbox_body_bytes",
                "must be at least 1024",
            ));
        }
        if self.federation.remember_received_days == 0 {
            return Err(ConfigError::new(
                "federation.remember_received_days",
                "must be at least 1 (servers re-send activities for days)",
            ));
        }
        if self.delivery.keep_finished_days == 0 {
            return Err(ConfigError::new(
                "delivery.keep_finished_days",
                "must be at least 1",
            ));
        }
        if !(2..=1000).contains(&self.federation.max_fetches_per_activity) {
            return Err(ConfigError::new(
                "federation.max_fetches_per_activity",
                "must be between 2 and 1000 (verifying a signature may take two fetches of the actor)",
            ));
        }
        if !(1..=200).contains(&self.publishing.page_size) {
            return Err(ConfigError::new(
                "publishing.page_size",
                "must be between 1 and 200",
            ));
        }
        if let Err(reason) = handle::validate_username(&self.collective.username) {
            return Err(ConfigError::new("collective.username", reason));
        }
        if self.collective.name.trim().is_empty() {
            return Err(ConfigError::new("collective.name", "must not be empty"));
        }
        for (key, value) in [
            ("collective.icon_url", &self.collective.icon_url),
            ("collective.image_url", &self.collective.image_url),
        ] {
            if !value.is_empty() && self.resolve_media_url(value).is_none() {
                return Err(ConfigError::new(
                    key,
                    "must be an absolute http(s) URL or a path starting with /",
                ));
            }
        }
        if !self.database.url.is_empty() {
            database_kind(&self.database.url)?;
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::new(
                "database.max_connections",
                "must be at least 1",
            ));
        }
        self.validate_limits()?;
        if self
            .log
            .filter
            .parse::<tracing_subscriber::EnvFilter>()
            .is_err()
        {
            return Err(ConfigError::new(
                "log.filter",
                "is not a valid tracing filter",
            ));
        }
        Ok(())
    }

    /// The server's resource limits: timeouts, connections, proxies, rates.
    fn validate_limits(&self) -> Result<(), ConfigError> {
        if self.server.header_read_timeout_seconds == 0 {
            return Err(ConfigError::new(
                "server.header_read_timeout_seconds",
                "must be at least 1",
            ));
        }
        if self.server.body_read_timeout_seconds == 0 {
            return Err(ConfigError::new(
                "server.body_read_timeout_seconds",
                "must be at least 1",
            ));
        }
        if self.server.max_connections == 0 {
            return Err(ConfigError::new(
                "server.max_connections",
                "must be at least 1",
            ));
        }
        self.server.trusted_proxy_nets()?;
        for (key, limit) in [
            ("rate_limits.inbox.burst", self.rate_limits.inbox),
            ("rate_limits.login.burst", self.rate_limits.login),
            ("rate_limits.oauth.burst", self.rate_limits.oauth),
        ] {
            if limit.per_minute > 0 && limit.burst == 0 {
                return Err(ConfigError::new(
                    key,
                    "must be at least 1 (set per_minute = 0 to turn the limit off)",
                ));
            }
        }
        Ok(())
    }

    /// The database URL in effect: the configured one or the SQLite file in `data_dir`.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("tribune.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }

    /// `host` or `host:port` as it appears in handles (`@user@host`) and WebFinger.
    pub fn domain(&self) -> String {
        let base = &self.instance.base_url;
        let host = base.host_str().unwrap_or_default();
        match base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// An icon or header setting made absolute; `None` if it is neither a URL nor a path.
    pub fn resolve_media_url(&self, value: &str) -> Option<Url> {
        if value.starts_with('/') {
            return self.instance.base_url.join(value).ok();
        }
        Url::parse(value)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
    }

    /// The effective configuration as TOML, with secrets (database passwords) masked.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = mask_url_password(&self.database_url());
        toml_string(&shown)
    }
}

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

/// Recognises the database from its URL scheme.
pub fn database_kind(url: &str) -> Result<DatabaseKind, ConfigError> {
    if url.starts_with("sqlite:") {
        Ok(DatabaseKind::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(DatabaseKind::Postgres)
    } else {
        Err(ConfigError::new(
            "database.url",
            "must start with sqlite:// or postgres:// (leave it empty for the built-in SQLite file)",
        ))
    }
}

fn mask_url_password(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("********"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

fn toml_string(settings: &Settings) -> String {
    // Serialising our own plain structs cannot fail; keep a readable fallback anyway.
    toml::to_string_pretty(settings)
        .unwrap_or_else(|err| format!("# cannot render: {err}\n{settings:#?}"))
}

/// Turns figment's error into "key: reason" (figment knows the key path; keep only that).
fn from_figment(err: figment::Error) -> ConfigError {
    let err = err
        .into_iter()
        .next()
        .unwrap_or_else(|| figment::Error::from("unknown error".to_string()));
    let key = if err.path.is_empty() {
        match &err.kind {
            figment::error::Kind::UnknownField(field, _) => field.clone(),
            _ => "configuration".to_string(),
        }
    } else {
        let mut path = err.path.join(".");
        if let figment::error::Kind::UnknownField(field, _) = &err.kind
            && err.path.last() != Some(field)
        {
            path = format!("{path}.{field}");
        }
        path
    };
    let reason = match &err.kind {
        figment::error::Kind::UnknownField(_, expected) => {
            format!("unknown key (expected one of: {})", expected.join(", "))
        }
        kind => kind.to_string(),
    };
    let origin = err
        .metadata
        .as_ref()
        .map(|m| match &m.source {
            Some(source) => format!(" (from {source})"),
            None => format!(" (from {})", m.name),
        })
        .unwrap_or_default();
    ConfigError::new(key, format!("{reason}{origin}"))
}

impl fmt::Display for ActorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_policies_round_trip_through_their_names() {
        for policy in ReplyPolicy::ALL {
            assert_eq!(ReplyPolicy::parse(policy.as_str()), Some(policy));
        }
        assert_eq!(ReplyPolicy::parse(" trusted "), Some(ReplyPolicy::Trusted));
        assert_eq!(ReplyPolicy::parse("everyone"), None);
    }

    #[test]
    fn default_toml_documents_exactly_the_defaults() {
        let text = include_str!("../config/default.toml");
        let from_file: Settings = Figment::new()
            .merge(Toml::string(text))
            .extract()
            .expect("config/default.toml parses");
        assert_eq!(from_file, Settings::default());
    }

    #[test]
    fn defaults_are_valid() {
        Settings::default().validate().expect("defaults validate");
    }

    #[test]
    fn masked_output_hides_the_database_password() {
        let mut settings = Settings::default();
        settings.database.url = "postgres://tribune:s3cret@db/tribune".into();
        let shown = settings.to_masked_toml();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("********"), "{shown}");
    }

    #[test]
    fn trusted_proxies_take_addresses_and_ranges_and_name_the_key_when_wrong() {
        let mut settings = Settings::default();
        settings.server.trusted_proxies = vec!["10.0.0.0/8".into(), "::1".into()];
        let nets = settings.server.trusted_proxy_nets().expect("valid");
        assert_eq!(nets.len(), 2);
        assert_eq!(nets[1].prefix_len(), 128);
        settings.server.trusted_proxies.push("10.0.0.0/33".into());
        let err = settings.validate().expect_err("bad range refused");
        assert_eq!(err.key, "server.trusted_proxies");
        assert!(err.reason.contains("10.0.0.0/33"), "{}", err.reason);
    }

    #[test]
    fn what_is_remembered_for_days_is_remembered_at_least_a_day() {
        let mut settings = Settings::default();
        settings.federation.remember_received_days = 0;
        let err = settings.validate().expect_err("refused");
        assert_eq!(err.key, "federation.remember_received_days");
        let mut settings = Settings::default();
        settings.delivery.keep_finished_days = 0;
        let err = settings.validate().expect_err("refused");
        assert_eq!(err.key, "delivery.keep_finished_days");
    }

    #[test]
    fn a_request_stalls_after_a_positive_delay() {
        let mut settings = Settings::default();
        settings.delivery.stalled_after_seconds = 0.2;
        settings.validate().expect("a fraction of a second is fine");
        settings.delivery.stalled_after_seconds = 30.0;
        settings
            .validate()
            .expect("longer than the request timeout: requests never stall");
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            settings.delivery.stalled_after_seconds = bad;
            let err = settings.validate().expect_err("refused");
            assert_eq!(err.key, "delivery.stalled_after_seconds", "{bad}");
        }
    }

    #[test]
    fn an_enabled_rate_limit_needs_a_burst() {
        let mut settings = Settings::default();
        settings.rate_limits.login.burst = 0;
        let err = settings.validate().expect_err("refused");
        assert_eq!(err.key, "rate_limits.login.burst");
        settings.rate_limits.login.per_minute = 0;
        settings
            .validate()
            .expect("a disabled limit needs no burst");
    }

    #[test]
    fn a_base_url_with_a_path_is_refused() {
        let mut settings = Settings::default();
        settings.instance.base_url = Url::parse("https://example.org/tribune").expect("url");
        let err = settings.validate().expect_err("path refused");
        assert_eq!(err.key, "instance.base_url");
    }
}
