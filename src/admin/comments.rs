//! The moderation queue (editors and admins): replies from the fediverse, awaiting review first,
//! with tabs for approved, rejected and hidden ones. Each can be approved, rejected, hidden
//! (kept, off the public site), deleted, or its author or instance blocked — every action a
//! CSRF-checked form handled by `service::moderation`.

use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{
    auth::{CurrentMember, Posted},
    failure::AdminError,
    views::{self, Chrome},
};
use crate::{
    db::{
        self,
        comment::QueueEntry,
        entity::comment::{APPROVED, HIDDEN, PENDING, REJECTED},
    },
    i18n::Catalog,
    service::moderation::{self, Decision, ModerationError},
    state::AppState,
};

/// Comments per page.
const PER_PAGE: u64 = 50;
/// The tabs, in order: what awaits a decision first.
const TABS: [&str; 4] = [PENDING, APPROVED, REJECTED, HIDDEN];

#[derive(Template)]
#[template(path = "admin/comments.html")]
struct CommentsPage {
    t: Catalog,
    chrome: Chrome,
    tab: &'static str,
    tabs: Vec<Tab>,
    /// What an empty tab says.
    empty: String,
    rows: Vec<CommentRow>,
    page: u64,
    pages: u64,
    previous_url: Option<String>,
    next_url: Option<String>,
}

struct Tab {
    state: &'static str,
    label: String,
    count: u64,
    current: bool,
}

/// One comment as the queue shows it.
struct CommentRow {
    id: i64,
    author_name: String,
    handle: String,
    author_link: Option<String>,
    instance: String,
    post_title: String,
    post_url: String,
    /// Whether it answers another comment rather than the post itself.
    nested: bool,
    received: String,
    content_warning: Option<String>,
    /// Sanitized before storage.
    content_html: String,
    original: Option<String>,
    /// The decisions offered: every one but the comment's current state.
    can_approve: bool,
    can_reject: bool,
    can_hide: bool,
}

impl CommentRow {
    fn of(state: &AppState, entry: &QueueEntry) -> CommentRow {
        let comment = &entry.comment;
        CommentRow {
            id: comment.id,
            author_name: views::actor_name(&entry.author),
            handle: views::handle_of(&entry.author),
            author_link: views::actor_link(&entry.author),
            instance: entry.author.host.clone(),
            post_title: views::post_title(&entry.post),
            post_url: views::post_link(state, &entry.post),
            nested: comment.parent_id.is_some(),
            received: views::when(comment.received_at),
            content_warning: comment.summary.clone().filter(|s| !s.trim().is_empty()),
            content_html: comment.content_html.clone(),
            original: views::web_link(comment.url.as_deref().unwrap_or(&comment.object_url)),
            can_approve: comment.state != APPROVED,
            can_reject: comment.state != REJECTED,
            can_hide: comment.state != HIDDEN,
        }
    }
}

/// A tab name from a query or a form, if it is one.
fn tab_of(value: Option<&str>) -> &'static str {
    value
        .and_then(|v| TABS.iter().find(|tab| **tab == v))
        .copied()
        .unwrap_or(PENDING)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    state: Option<String>,
    page: Option<u64>,
    done: Option<String>,
}

/// GET /admin/comments.
pub async fn page(
    State(state): State<AppState>,
    me: CurrentMember,
    Query(query): Query<ListQuery>,
) -> Result<Response, AdminError> {
    me.require_editor()?;
    let t = me.t();
    let tab = tab_of(query.state.as_deref());
    let counts = db::comment::count_by_state(&state.db).await?;
    let count = |s: &str| counts.get(s).copied().unwrap_or(0);
    let pages = count(tab).div_ceil(PER_PAGE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let entries = db::comment::in_state(&state.db, tab, (page - 1) * PER_PAGE, PER_PAGE).await?;
    let page_url = |n: u64| format!("/admin/comments?state={tab}&page={n}");
    let view = CommentsPage {
        t,
        chrome: Chrome::of(&me, "comments").with_done(t, query.done.as_deref()),
        tab,
        tabs: TABS
            .iter()
            .map(|s| Tab {
                state: s,
                label: t.get(&format!("admin.comments.tab_{s}")).to_string(),
                count: count(s),
                current: *s == tab,
            })
            .collect(),
        empty: t.get(&format!("admin.comments.empty_{tab}")).to_string(),
        rows: entries.iter().map(|e| CommentRow::of(&state, e)).collect(),
        page,
        pages,
        previous_url: (page > 1).then(|| page_url(page - 1)),
        next_url: (page < pages).then(|| page_url(page + 1)),
    };
    views::html(StatusCode::OK, &view)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActionForm {
    /// The tab to go back to.
    back: Option<String>,
    /// Why an author or instance is blocked (kept with the block).
    reason: Option<String>,
}

/// POST /admin/comments/{id}/{action}: `approve`, `reject`, `hide`, `delete`, `block-author`
/// or `block-instance`; back to the tab the form was on, with a confirmation.
pub async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Posted { me, form }: Posted<ActionForm>,
) -> Result<Response, AdminError> {
    me.require_editor()?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(me.not_found());
    };
    let reason = form
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let (result, done) = match action.as_str() {
        "approve" => (
            moderation::decide(&state.db, id, Decision::Approve).await,
            "comment_approved",
        ),
        "reject" => (
            moderation::decide(&state.db, id, Decision::Reject).await,
            "comment_rejected",
        ),
        "hide" => (
            moderation::decide(&state.db, id, Decision::Hide).await,
            "comment_hidden",
        ),
        "delete" => (moderation::delete(&state, id).await, "comment_deleted"),
        "block-author" => (
            moderation::block_author_of(&state.db, id, reason)
                .await
                .map(drop),
            "author_blocked",
        ),
        "block-instance" => (
            moderation::block_instance_of(&state.db, id, reason)
                .await
                .map(drop),
            "instance_blocked",
        ),
        _ => return Err(me.not_found()),
    };
    match result {
        Ok(()) => {
            let tab = tab_of(form.back.as_deref());
            Ok(Redirect::to(&format!("/admin/comments?state={tab}&done={done}")).into_response())
        }
        Err(ModerationError::NoComment(_)) => Err(me.not_found()),
        Err(ModerationError::BadTarget(target)) => {
            tracing::warn!(%target, "a comment's author could not be blocked");
            Err(AdminError::page(
                StatusCode::BAD_REQUEST,
                me.locale,
                "admin.blocks.bad_target",
            ))
        }
        Err(ModerationError::Database(err)) => Err(err.into()),
    }
}
