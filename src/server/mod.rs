//! The HTTP edge: how connections are accepted and bounded ([`serve`]), how long a request's
//! body may take ([`body_deadline`]), who the client is ([`client_addr`]) and how often it may
//! call the endpoints worth abusing ([`rate_limit`]).

pub mod body_deadline;
pub mod client_addr;
pub mod rate_limit;
pub mod serve;

pub use client_addr::{ClientIp, TrustedProxies};
pub use serve::serve;
