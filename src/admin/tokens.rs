//! API access tokens (apps authorized through OAuth, and `tribune token create`): a member sees
//! and revokes their own; admins see and revoke everyone's.

use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{
    auth::{CurrentMember, Posted},
    dashboard::DoneQuery,
    failure::AdminError,
    views::{self, Chrome},
};
use crate::{i18n::Catalog, service::oauth, state::AppState};

pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub member: String,
    pub scopes: String,
    pub created: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    t: Catalog,
    chrome: Chrome,
    tokens: Vec<TokenRow>,
    show_member: bool,
}

/// GET /admin/tokens.
pub async fn page(
    State(state): State<AppState>,
    me: CurrentMember,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AdminError> {
    let is_admin = me.role.can_manage_members();
    let listed = oauth::list_tokens(&state.db, (!is_admin).then_some(me.member.id)).await?;
    let t = me.t();
    let tokens = listed
        .into_iter()
        .map(|l| TokenRow {
            id: l.token.id,
            name: l.app.unwrap_or_else(|| l.token.name.clone()),
            member: l.member.unwrap_or_default(),
            scopes: l.token.scopes.clone(),
            created: views::when(l.token.created_at),
            last_used: l.token.last_used_at.map(views::when).unwrap_or_default(),
        })
        .collect();
    let page = TokensPage {
        t,
        chrome: Chrome::of(&me, "tokens").with_done(t, query.done.as_deref()),
        tokens,
        show_member: is_admin,
    };
    views::html(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct Nothing {}

/// POST /admin/tokens/{id}/revoke.
pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted { me, .. }: Posted<Nothing>,
) -> Result<Response, AdminError> {
    let is_admin = me.role.can_manage_members();
    if !oauth::revoke_by_id(&state.db, &me.member, is_admin, id).await? {
        return Err(me.not_found());
    }
    Ok(Redirect::to("/admin/tokens?done=revoked").into_response())
}
