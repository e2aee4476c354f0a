//! The client's address: the TCP peer, or — when the peer is a trusted reverse proxy — the
//! address that proxy saw, from `X-Forwarded-For`. Used by the rate limits and the login
//! throttle, so that both count the same thing.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, request::Parts},
};
use ipnet::IpNet;

/// The reverse proxies whose `X-Forwarded-For` is believed (`server.trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(nets)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`. A peer that is not a trusted proxy is the client, whatever
    /// the request claims. From a trusted proxy, `X-Forwarded-For` is read from the right (each
    /// proxy appends the address it saw, so only the right-most entries are vouched for) and the
    /// first address that is not a trusted proxy is the client. Past an unreadable entry nothing
    /// is vouched for: the last address reached is used.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        // Several headers are one list, in order (RFC 9110 §5.3).
        let values: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        for entry in values.iter().rev().flat_map(|value| value.rsplit(',')) {
            let Some(hop) = parse_hop(entry) else {
                return client;
            };
            client = hop;
            if !self.contains(hop) {
                return hop;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:80`, `[::1]:80`).
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|addr| addr.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The client's address, as resolved once per request by [`super::rate_limit::guard`]; when
/// that middleware did not run, the TCP peer. `None` only without a connection (a request
/// built in memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    pub fn of(parts: &Parts) -> Option<IpAddr> {
        parts
            .extensions
            .get::<ClientIp>()
            .map(|ClientIp(ip)| *ip)
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(addr)| addr.ip().to_canonical())
            })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    /// Without a connection (requests built in memory) the unspecified address stands in.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            ClientIp::of(parts).unwrap_or(IpAddr::from([0, 0, 0, 0])),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|n| n.parse().expect("net")).collect())
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                "x-forwarded-for",
                HeaderValue::from_str(value).expect("value"),
            );
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(
            trusted.client_ip(ip("198.51.100.7"), &headers),
            ip("198.51.100.7")
        );
        assert_eq!(
            TrustedProxies::default().client_ip(ip("10.0.0.1"), &headers),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "192.0.2.1/32"]);
        // The client forged the first entry; the proxies appended the rest.
        let headers = forwarded(&["1.1.1.1, 203.0.113.9", "192.0.2.1"]);
        assert_eq!(
            trusted.client_ip(ip("10.0.0.1"), &headers),
            ip("203.0.113.9")
        );
        // Without the header, the proxy itself.
        assert_eq!(
            trusted.client_ip(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
        // All trusted: the left-most.
        let headers = forwarded(&["10.1.1.1,10.2.2.2"]);
        assert_eq!(trusted.client_ip(ip("10.0.0.1"), &headers), ip("10.1.1.1"));
    }

    #[test]
    fn ports_mapped_addresses_and_garbage() {
        let trusted = proxies(&["127.0.0.1/32"]);
        assert_eq!(
            trusted.client_ip(ip("::ffff:127.0.0.1"), &forwarded(&["[2001:db8::1]:443"])),
            ip("2001:db8::1")
        );
        assert_eq!(
            trusted.client_ip(ip("127.0.0.1"), &forwarded(&["203.0.113.9:1234"])),
            ip("203.0.113.9")
        );
        assert_eq!(
            trusted.client_ip(ip("127.0.0.1"), &forwarded(&["203.0.113.9, unknown"])),
            ip("127.0.0.1"),
            "nothing left of an unreadable entry is vouched for"
        );
    }
}
