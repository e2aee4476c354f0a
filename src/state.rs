//! `AppState`: what every handler may use — settings, the database pool, the URL builder and
//! the collective's actor — built once by `app` and shared behind one `Arc`.

use std::{ops::Deref, sync::Arc};

use sea_orm::DatabaseConnection;

use crate::{
    config::Settings, db::entity::local_actor, domain::urls::Urls, federation::fetch::Fetcher,
};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub db: DatabaseConnection,
    pub urls: Urls,
    /// The collective's actor row (id and key pair); its profile comes from `settings.collective`.
    pub collective: local_actor::Model,
    /// The client for GETs to other servers.
    pub fetcher: Fetcher,
}

impl AppState {
    pub fn new(
        settings: Settings,
        db: DatabaseConnection,
        collective: local_actor::Model,
        fetcher: Fetcher,
    ) -> Self {
        let urls = Urls::new(settings.instance.base_url.clone());
        AppState(Arc::new(Inner {
            settings,
            db,
            urls,
            collective,
            fetcher,
        }))
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
