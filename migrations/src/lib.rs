//! Tribune's database schema, as portable sea-orm migrations that run on SQLite and PostgreSQL.
//!
//! Each migration is one file named by date and purpose; never edit a migration that has shipped,
//! add a new one instead.

pub use sea_orm_migration::prelude::*;

mod m20261129_000001_create_local_actor;
mod m20261129_000002_create_follower;
mod m20261129_000003_members_and_posts;
mod m20261129_000004_federation_and_delivery;
mod m20261129_000005_conversations;
mod m20261129_000006_api;
mod m20261129_000007_instance_settings;

/// Runs every migration in order; used by `tribune migrate` and at `tribune serve` start-up.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_create_local_actor::Migration),
            Box::new(m20261129_000002_create_follower::Migration),
            Box::new(m20261129_000003_members_and_posts::Migration),
            Box::new(m20261129_000004_federation_and_delivery::Migration),
            Box::new(m20261129_000005_conversations::Migration),
            Box::new(m20261129_000006_api::Migration),
            Box::new(m20261129_000007_instance_settings::Migration),
        ]
    }
}
