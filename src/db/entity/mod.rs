//! sea-orm entities, one file per table, mirroring the `migrations` crate.

pub mod activity;
pub mod api_idempotency;
pub mod block;
pub mod comment;
pub mod delivery;
pub mod follower;
pub mod instance_setting;
pub mod local_actor;
pub mod login_throttle;
pub mod member;
pub mod notification;
pub mod oauth_app;
pub mod oauth_code;
pub mod oauth_token;
pub mod post;
pub mod post_mention;
pub mod post_revision;
pub mod post_tag;
pub mod reaction;
pub mod received_activity;
pub mod remote_actor;
pub mod remote_host;
pub mod session;
