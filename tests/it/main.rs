//! Tribune's integration tests: one binary, the real server on an ephemeral port, a fresh
//! database per test (SQLite always; PostgreSQL too when `TRIBUNE_TEST_POSTGRES_URL` is set).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod admin;
mod admin_federation;
mod browser;
mod caching;
mod cli;
mod cli_admin;
mod conversations;
mod crash;
mod discovery;
mod federation;
mod fixtures;
mod inbox_batches;
mod interop_fedify;
mod limits;
mod mastodon_api;
mod member_actors;
mod moderation;
mod objects;
mod outgoing;
mod remote;
mod security;
mod signing;
mod site;
mod storage;
mod thread_page;
