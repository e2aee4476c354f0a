//! sea-orm entities, one file per table, mirroring the `migrations` crate.

pub mod follower;
pub mod local_actor;
