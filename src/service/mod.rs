//! Write use-cases. Each owns its transaction; later ones enqueue deliveries inside it.

pub mod actor;
pub mod conversation;
pub mod delivery;
pub mod follow;
pub mod housekeeping;
pub mod instance_settings;
pub mod intake;
pub mod member;
pub mod moderation;
pub mod oauth;
pub mod outbox;
pub mod post;
pub mod session;
pub mod status;
