//! Actions on a post outside its form: pin or unpin, and delete (after a confirmation page, so
//! that it works without JavaScript).

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{
    auth::{CurrentMember, Posted},
    failure::AdminError,
    posts::editable,
    views::{self, Chrome, PostRow},
};
use crate::{
    domain::post::Status,
    i18n::Catalog,
    service::post::{self as service, PostError},
    state::AppState,
};

/// A refused action outside the form (pin, delete) as a page.
fn action_failure(me: &CurrentMember, err: PostError, forbidden_key: &str) -> AdminError {
    match err {
        PostError::Forbidden(_) => me.forbidden(forbidden_key),
        PostError::NotFound => me.not_found(),
        PostError::WrongStatus(status) => {
            let t = me.t();
            AdminError::Page {
                status: StatusCode::CONFLICT,
                locale: me.locale,
                message: t.fmt(
                    "admin.post.wrong_status",
                    &[("status", &views::status_label(t, status))],
                ),
            }
        }
        PostError::Conflict => {
            AdminError::page(StatusCode::CONFLICT, me.locale, "admin.post.conflict")
        }
        other => other.into(),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PinForm {
    pinned: String,
}

/// POST /admin/posts/{public_id}/pin (`pinned=1` pins, `pinned=0` unpins).
pub async fn pin(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    Posted { me, form }: Posted<PinForm>,
) -> Result<Response, AdminError> {
    let pinned = form.pinned == "1";
    service::set_pinned(&state, &me.member, &public_id, pinned)
        .await
        .map_err(|err| action_failure(&me, err, "admin.post.forbidden_publish"))?;
    let done = if pinned { "pinned" } else { "unpinned" };
    Ok(Redirect::to(&format!("/admin/posts/{public_id}/edit?done={done}")).into_response())
}

#[derive(Template)]
#[template(path = "admin/delete.html")]
struct DeletePage {
    t: Catalog,
    chrome: Chrome,
    title: String,
    published: bool,
    public_id: String,
}

/// GET /admin/posts/{public_id}/delete: the confirmation step (works without JavaScript).
pub async fn confirm_delete(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    me: CurrentMember,
) -> Result<Response, AdminError> {
    let bundle = editable(&state, &me, &public_id).await?;
    let t = me.t();
    let row = PostRow::of(&state, t, &bundle);
    let page = DeletePage {
        t,
        chrome: Chrome::of(&me, "posts"),
        title: row.title,
        published: bundle.status() == Status::Published,
        public_id,
    };
    views::html(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct DeleteForm {}

/// POST /admin/posts/{public_id}/delete.
pub async fn delete(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    Posted { me, .. }: Posted<DeleteForm>,
) -> Result<Response, AdminError> {
    service::delete(&state, &me.member, &public_id)
        .await
        .map_err(|err| action_failure(&me, err, "admin.post.forbidden_delete"))?;
    Ok(Redirect::to("/admin/posts?done=deleted").into_response())
}
