//! `AppState`: what every handler may use — settings, the database pool, the URL builder and
//! the collective's actor — built once by `app` and shared behind one `Arc`. Building it starts
//! the inbox's batch writer (`service::intake`), so it needs a Tokio runtime.

use std::{ops::Deref, sync::Arc};

use sea_orm::DatabaseConnection;

use crate::{
    config::Settings,
    db::{QueryCounter, entity::local_actor},
    domain::urls::Urls,
    federation::{
        client::{FederationClient, Signers},
        fetch::Fetcher,
    },
};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub db: DatabaseConnection,
    /// The connection the batch writers and the delivery queue's statements share
    /// (`db::connect_batch_writer`): on SQLite a pool of one, whose page cache stays warm from
    /// one statement to the next.
    pub batch_db: DatabaseConnection,
    /// Statements run on `db` and `batch_db` so far (read-only: `db_queries.total()`).
    pub db_queries: QueryCounter,
    pub urls: Urls,
    /// The collective's actor row (id and key pair); its profile comes from `settings.collective`.
    pub collective: local_actor::Model,
    /// The client for GETs to other servers.
    pub fetcher: Fetcher,
    /// Signed GETs and POSTs to other servers.
    pub federation: FederationClient,
    /// Signing clients of the other local actors (members' actors).
    pub signers: Signers,
    /// Wakes the delivery workers when something was queued.
    pub delivery_wakeup: Arc<tokio::sync::Notify>,
    /// Public reads kept until the next commit (`db::cache`).
    pub read_caches: crate::db::cache::ReadCaches,
    /// Public responses kept until the next commit (`web::cached`).
    pub responses: crate::web::cached::ResponseCache,
    /// What the caches are checked against: the database's committed state.
    pub data_version: crate::db::version::DataVersion,
    /// Remote actors read or fetched lately (`federation::remote_actor`).
    pub recent_actors: crate::federation::remote_actor::RecentActors,
    /// Their public keys, parsed (`federation::signature`).
    pub verifying_keys: crate::federation::signature::KeyCache,
    /// The writer that stores verified likes, boosts and replies in batches
    /// (`service::intake`).
    pub intake: crate::service::intake::Intake,
}

impl AppState {
    pub fn new(
        settings: Settings,
        db: DatabaseConnection,
        batch_db: DatabaseConnection,
        db_queries: QueryCounter,
        collective: local_actor::Model,
        fetcher: Fetcher,
        federation: FederationClient,
    ) -> Self {
        let urls = Urls::new(settings.instance.base_url.clone());
        let data_version =
            crate::db::version::DataVersion::for_database(&db, &settings.database_url());
        let intake = crate::service::intake::Intake::start(batch_db.clone(), settings.clone());
        AppState(Arc::new(Inner {
            settings,
            db,
            batch_db,
            db_queries,
            urls,
            collective,
            fetcher,
            federation,
            signers: Signers::default(),
            delivery_wakeup: Arc::new(tokio::sync::Notify::new()),
            read_caches: Default::default(),
            responses: crate::db::cache::FreshCache::new(crate::web::cached::CAPACITY),
            data_version,
            recent_actors: Default::default(),
            verifying_keys: Default::default(),
            intake,
        }))
    }
}

impl AppState {
    /// Tells the delivery workers that deliveries were queued (call after the commit).
    pub fn wake_delivery(&self) {
        self.delivery_wakeup.notify_one();
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
