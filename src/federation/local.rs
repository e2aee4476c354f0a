//! Which local actor a name designates: the collective, or (with `publishing.member_actors`) a
//! member's own actor.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    db::{
        self,
        entity::{local_actor, member},
    },
    error::{AppError, AppResult},
    state::AppState,
};

/// A local actor and what it stands for.
#[derive(Debug, Clone)]
pub enum LocalActor {
    Collective,
    Member {
        actor: Box<local_actor::Model>,
        member: Box<member::Model>,
    },
}

impl LocalActor {
    /// The actor row (key pair, id).
    pub fn row<'a>(&'a self, state: &'a AppState) -> &'a local_actor::Model {
        match self {
            LocalActor::Collective => &state.collective,
            LocalActor::Member { actor, .. } => actor,
        }
    }
}

/// The local actor named `username`, or 404.
pub async fn resolve(state: &AppState, username: &str) -> AppResult<LocalActor> {
    if username == state.collective.username {
        return Ok(LocalActor::Collective);
    }
    let not_found = || AppError::NotFound(format!("no actor named {username:?} here"));
    if !state.settings.publishing.member_actors {
        return Err(not_found());
    }
    let actor = db::local_actor::find_by_username(&state.db, username)
        .await?
        .ok_or_else(not_found)?;
    let member = member::Entity::find()
        .filter(member::Column::LocalActorId.eq(actor.id))
        .filter(member::Column::Disabled.eq(false))
        .one(&state.db)
        .await?
        .ok_or_else(not_found)?;
    Ok(LocalActor::Member {
        actor: Box::new(actor),
        member: Box::new(member),
    })
}
