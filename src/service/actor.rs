//! Local actors: making sure the collective exists, with a key pair generated exactly once.

use sea_orm::DatabaseConnection;

use crate::{
    db::{self, entity::local_actor::Model as LocalActor},
    federation::http_signature::generate_key_pair,
};

/// Returns the local actor `username`, creating it with a fresh RSA-2048 key pair on first
/// start (aws-lc-rs; PKCS#8 and SPKI PEM, the forms stored since the first version). The key is
/// generated off the async threads (tens of milliseconds) and only when the actor does not
/// exist yet; an existing key is never replaced.
pub async fn ensure_local_actor(
    db: &DatabaseConnection,
    username: &str,
) -> anyhow::Result<LocalActor> {
    if let Some(actor) = db::local_actor::find_by_username(db, username).await? {
        return Ok(actor);
    }
    let keypair = tokio::task::spawn_blocking(generate_key_pair).await??;
    let actor = db::local_actor::insert_if_absent(
        db,
        username,
        keypair.public_key_pem,
        keypair.private_key_pem,
    )
    .await?;
    tracing::info!(
        actor.username = username,
        "created local actor with a new key pair"
    );
    Ok(actor)
}
