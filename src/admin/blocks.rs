//! Blocks (admins): blocked actors and instances, and the instances allowed in allowlist mode;
//! adding one (an actor URL or a host name, with a reason) and lifting one. Writes go through
//! `service::moderation`; a block applies at once to incoming activities and public threads.

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
    views::{self, Chrome, FieldError},
};
use crate::{
    db::entity::block::{self, ACTOR, ALLOW, DOMAIN},
    i18n::Catalog,
    service::{
        instance_settings,
        moderation::{self, ModerationError},
    },
    state::AppState,
};

#[derive(Template)]
#[template(path = "admin/blocks.html")]
struct BlocksPage {
    t: Catalog,
    chrome: Chrome,
    actors: Vec<RuleRow>,
    instances: Vec<RuleRow>,
    allowed: Vec<RuleRow>,
    allowlist_mode: bool,
    form: AddForm,
    errors: Vec<FieldError>,
}

impl BlocksPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        views::error_for(&self.errors, field)
    }
}

struct RuleRow {
    id: i64,
    target: String,
    reason: Option<String>,
    since: String,
}

impl RuleRow {
    fn of(rule: &block::Model) -> RuleRow {
        RuleRow {
            id: rule.id,
            target: rule.target.clone(),
            reason: rule.reason.clone().filter(|r| !r.trim().is_empty()),
            since: views::when(rule.created_at),
        }
    }
}

async fn render(
    state: &AppState,
    me: &CurrentMember,
    status: StatusCode,
    done: Option<&str>,
    form: AddForm,
    errors: Vec<FieldError>,
) -> Result<Response, AdminError> {
    let t = me.t();
    let rules = moderation::rules(&state.db).await?;
    let of_kind = |kind: &str| {
        rules
            .iter()
            .filter(|r| r.kind == kind)
            .map(RuleRow::of)
            .collect()
    };
    let view = BlocksPage {
        t,
        chrome: Chrome::of(me, "blocks").with_done(t, done),
        actors: of_kind(ACTOR),
        instances: of_kind(DOMAIN),
        allowed: of_kind(ALLOW),
        allowlist_mode: instance_settings::allowlist_mode(&state.db, &state.settings).await?,
        form,
        errors,
    };
    views::html(status, &view)
}

/// GET /admin/blocks.
pub async fn page(
    State(state): State<AppState>,
    me: CurrentMember,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AdminError> {
    me.require_admin_page()?;
    render(
        &state,
        &me,
        StatusCode::OK,
        query.done.as_deref(),
        AddForm::default(),
        Vec::new(),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AddForm {
    target: String,
    reason: String,
    /// `block` (default) or `allow`.
    kind: String,
}

impl AddForm {
    fn allows(&self) -> bool {
        self.kind == "allow"
    }
}

/// POST /admin/blocks: blocks an actor or an instance, or allows an instance.
pub async fn add(
    State(state): State<AppState>,
    Posted { me, form }: Posted<AddForm>,
) -> Result<Response, AdminError> {
    me.require_admin_page()?;
    let reason = Some(form.reason.trim()).filter(|r| !r.is_empty());
    let result = if form.allows() {
        moderation::allow_because(&state.db, &form.target, reason).await
    } else {
        moderation::block(&state.db, &form.target, reason).await
    };
    match result {
        Ok(_) => {
            let done = if form.allows() {
                "allow_added"
            } else {
                "block_added"
            };
            Ok(Redirect::to(&format!("/admin/blocks?done={done}")).into_response())
        }
        Err(ModerationError::BadTarget(_)) => {
            let t = me.t();
            let key = if form.allows() {
                "admin.blocks.bad_host"
            } else {
                "admin.blocks.bad_target"
            };
            let errors = vec![FieldError {
                field: "target",
                label: t.get("admin.blocks.target").to_string(),
                message: t.get(key).to_string(),
            }];
            render(&state, &me, StatusCode::BAD_REQUEST, None, form, errors).await
        }
        Err(ModerationError::NoComment(_)) => Err(me.not_found()),
        Err(ModerationError::Database(err)) => Err(err.into()),
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {}

/// POST /admin/blocks/{id}/remove: lifts a block or an allow rule.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { me, .. }: Posted<RemoveForm>,
) -> Result<Response, AdminError> {
    me.require_admin_page()?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(me.not_found());
    };
    match moderation::remove_rule(&state.db, id).await {
        Ok(true) => Ok(Redirect::to("/admin/blocks?done=block_removed").into_response()),
        Ok(false) | Err(ModerationError::NoComment(_) | ModerationError::BadTarget(_)) => {
            Err(me.not_found())
        }
        Err(ModerationError::Database(err)) => Err(err.into()),
    }
}
