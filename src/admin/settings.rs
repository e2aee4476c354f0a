//! Instance settings (admins): who may reply without review (the reply policy) and whether only
//! allowed instances federate (allowlist mode). Saved through `service::instance_settings`, they
//! override the configuration file and apply to the next activity received.

use askama::Template;
use axum::{
    extract::{Query, State},
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
use crate::{
    config::ReplyPolicy,
    i18n::Catalog,
    service::instance_settings::{self, Moderation},
    state::AppState,
};

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    t: Catalog,
    chrome: Chrome,
    policies: Vec<PolicyChoice>,
    allowlist_mode: bool,
    /// What the configuration file says, for reference.
    configured_policy: String,
    configured_allowlist: String,
}

struct PolicyChoice {
    value: &'static str,
    label: String,
    help: String,
    selected: bool,
}

/// GET /admin/settings.
pub async fn page(
    State(state): State<AppState>,
    me: CurrentMember,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AdminError> {
    me.require_admin_page()?;
    let t = me.t();
    let current = instance_settings::moderation(&state.db, &state.settings).await?;
    let configured = &state.settings.moderation;
    let view = SettingsPage {
        t,
        chrome: Chrome::of(&me, "settings").with_done(t, query.done.as_deref()),
        policies: ReplyPolicy::ALL
            .iter()
            .map(|policy| PolicyChoice {
                value: policy.as_str(),
                label: t
                    .get(&format!("admin.settings.policy_{}", policy.as_str()))
                    .to_string(),
                help: t
                    .get(&format!("admin.settings.policy_{}_help", policy.as_str()))
                    .to_string(),
                selected: *policy == current.replies,
            })
            .collect(),
        allowlist_mode: current.allowlist_mode,
        configured_policy: t
            .get(&format!(
                "admin.settings.policy_{}",
                configured.replies.as_str()
            ))
            .to_string(),
        configured_allowlist: t
            .get(if configured.allowlist_mode {
                "admin.settings.on"
            } else {
                "admin.settings.off"
            })
            .to_string(),
    };
    views::html(StatusCode::OK, &view)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SettingsForm {
    replies: String,
    /// A checkbox: present when ticked.
    allowlist_mode: Option<String>,
}

/// POST /admin/settings.
pub async fn save(
    State(state): State<AppState>,
    Posted { me, form }: Posted<SettingsForm>,
) -> Result<Response, AdminError> {
    me.require_admin_page()?;
    let Some(replies) = ReplyPolicy::parse(&form.replies) else {
        return Err(AdminError::page(
            StatusCode::BAD_REQUEST,
            me.locale,
            "admin.error.bad_form",
        ));
    };
    let chosen = Moderation {
        replies,
        allowlist_mode: form.allowlist_mode.is_some(),
    };
    instance_settings::save_moderation(&state, chosen).await?;
    Ok(Redirect::to("/admin/settings?done=settings_saved").into_response())
}
