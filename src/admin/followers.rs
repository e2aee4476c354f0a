//! Followers (editors and admins): who follows the collective, from which instances, the follow
//! requests waiting for a decision (approve or reject), and removing a follower after a
//! confirmation page (so that it works without JavaScript). Every decision goes through
//! `service::follow`, which answers the follower's server with an `Accept` or a `Reject`.

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
    db::{self, follower::Listed},
    i18n::Catalog,
    service::follow::{self, FollowError},
    state::AppState,
};

/// Accepted followers per page.
const PER_PAGE: u64 = 100;
/// Follow requests shown at once (the oldest first); the rest after these are answered.
const PENDING_SHOWN: u64 = 200;

#[derive(Template)]
#[template(path = "admin/followers.html")]
struct FollowersPage {
    t: Catalog,
    chrome: Chrome,
    total: u64,
    rows: Vec<FollowerRow>,
    instances: Vec<InstanceRow>,
    manual: bool,
    pending_total: u64,
    pending: Vec<FollowerRow>,
    page: u64,
    pages: u64,
    previous_url: Option<String>,
    next_url: Option<String>,
}

impl FollowersPage {
    /// Whether to show the requests section: approval by hand is on, or requests remain from
    /// when it was.
    fn show_pending(&self) -> bool {
        self.manual || self.pending_total > 0
    }

    /// Whether more requests wait than are shown.
    fn more_requests(&self) -> bool {
        self.pending_total > u64::try_from(self.pending.len()).unwrap_or(u64::MAX)
    }
}

pub struct FollowerRow {
    pub id: i64,
    pub handle: String,
    pub instance: String,
    pub since: String,
    /// Their profile (or actor) page, when it is a web address.
    pub link: Option<String>,
}

impl FollowerRow {
    pub fn of(listed: &Listed) -> FollowerRow {
        let link = listed
            .profile_url
            .as_deref()
            .unwrap_or(&listed.actor_url)
            .to_string();
        let web = link.starts_with("https://") || link.starts_with("http://");
        FollowerRow {
            id: listed.id,
            handle: listed.handle(),
            instance: listed.instance(),
            since: views::when(listed.since),
            link: web.then_some(link),
        }
    }
}

struct InstanceRow {
    host: String,
    count: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    page: Option<u64>,
    done: Option<String>,
}

/// GET /admin/followers.
pub async fn page(
    State(state): State<AppState>,
    me: CurrentMember,
    Query(query): Query<ListQuery>,
) -> Result<Response, AdminError> {
    me.require_editor()?;
    let t = me.t();
    let collective = state.collective.id;
    let total = db::follower::count_accepted(&state.db, collective).await?;
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let rows = db::follower::listed(
        &state.db,
        collective,
        false,
        (page - 1) * PER_PAGE,
        PER_PAGE,
    )
    .await?;
    let pending = db::follower::listed(&state.db, collective, true, 0, PENDING_SHOWN).await?;
    let pending_total = db::follower::count_pending(&state.db, collective).await?;
    let instances = db::follower::accepted_by_instance(&state.db, collective)
        .await?
        .into_iter()
        .map(|(host, count)| InstanceRow { host, count })
        .collect();
    let page_url = |n: u64| format!("/admin/followers?page={n}");
    let view = FollowersPage {
        t,
        chrome: Chrome::of(&me, "followers").with_done(t, query.done.as_deref()),
        total,
        rows: rows.iter().map(FollowerRow::of).collect(),
        instances,
        manual: state.settings.collective.manually_approves_followers,
        pending_total,
        pending: pending.iter().map(FollowerRow::of).collect(),
        page,
        pages,
        previous_url: (page > 1).then(|| page_url(page - 1)),
        next_url: (page < pages).then(|| page_url(page + 1)),
    };
    views::html(StatusCode::OK, &view)
}

/// The follower `id` of the collective, or a 404.
async fn listed(state: &AppState, me: &CurrentMember, id: &str) -> Result<Listed, AdminError> {
    let Ok(id) = id.parse::<i64>() else {
        return Err(me.not_found());
    };
    db::follower::listed_one(&state.db, state.collective.id, id)
        .await?
        .ok_or_else(|| me.not_found())
}

/// A decision's outcome: back to the list with a confirmation, or a page saying why not.
fn decided(me: &CurrentMember, result: Result<(), FollowError>, done: &str) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/admin/followers?done={done}")).into_response(),
        Err(FollowError::NotFound) => me.not_found().into_response(),
        Err(FollowError::Database(err)) => AdminError::from(err).into_response(),
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {}

/// POST /admin/followers/{id}/approve: accepts a follow request (an `Accept` is sent).
pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { me, .. }: Posted<DecisionForm>,
) -> Result<Response, AdminError> {
    me.require_editor()?;
    let follower = listed(&state, &me, &id).await?;
    Ok(decided(
        &me,
        follow::approve(&state, follower.id).await,
        "follower_approved",
    ))
}

/// POST /admin/followers/{id}/reject: refuses a follow request (a `Reject` is sent).
pub async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { me, .. }: Posted<DecisionForm>,
) -> Result<Response, AdminError> {
    me.require_editor()?;
    let follower = listed(&state, &me, &id).await?;
    Ok(decided(
        &me,
        follow::reject(&state, follower.id).await,
        "follower_rejected",
    ))
}

#[derive(Template)]
#[template(path = "admin/follower_remove.html")]
struct RemovePage {
    t: Catalog,
    chrome: Chrome,
    follower: FollowerRow,
}

/// GET /admin/followers/{id}/remove: the confirmation step.
pub async fn confirm_remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    me: CurrentMember,
) -> Result<Response, AdminError> {
    me.require_editor()?;
    let follower = listed(&state, &me, &id).await?;
    let view = RemovePage {
        t: me.t(),
        chrome: Chrome::of(&me, "followers"),
        follower: FollowerRow::of(&follower),
    };
    views::html(StatusCode::OK, &view)
}

/// POST /admin/followers/{id}/remove: the follower goes, and a `Reject` tells their server to
/// drop the follow.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { me, .. }: Posted<DecisionForm>,
) -> Result<Response, AdminError> {
    me.require_editor()?;
    let follower = listed(&state, &me, &id).await?;
    Ok(decided(
        &me,
        follow::reject(&state, follower.id).await,
        "follower_removed",
    ))
}
