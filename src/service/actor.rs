//! Local actors: making sure the collective exists, with a key pair generated exactly once.

use activitypub_federation::http_signatures::generate_actor_keypair;
use sea_orm::DatabaseConnection;

use crate::db::{self, entity::local_actor::Model as LocalActor};

/// Returns the local actor `username`, creating it with a fresh RSA-2048 key pair on first
/// start. The key is generated off the async threads (it takes a noticeable fraction of a
/// second) and only when the actor does not exist yet; an existing key is never replaced.
pub async fn ensure_local_actor(
    db: &DatabaseConnection,
    username: &str,
) -> anyhow::Result<LocalActor> {
    if let Some(actor) = db::local_actor::find_by_username(db, username).await? {
        return Ok(actor);
    }
    let keypair = tokio::task::spawn_blocking(generate_actor_keypair).await??;
    let actor =
        db::local_actor::insert_if_absent(db, username, keypair.public_key, keypair.private_key)
            .await?;
    tracing::info!(
        actor.username = username,
        "created local actor with a new key pair"
    );
    Ok(actor)
}
