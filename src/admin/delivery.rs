//! Delivery (editors and admins): the queue at a glance, how each instance is answering, with
//! "Retry now" for the ones parked as unreachable, and how the latest posts went out.

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
    views::{self, Chrome, PostRow},
};
use crate::{
    db,
    db::entity::remote_host::{self, UNREACHABLE},
    delivery::queue::{self, Counts},
    i18n::Catalog,
    service,
    state::AppState,
};

/// Published posts shown with their delivery counts.
const LATEST_POSTS: u64 = 20;

#[derive(Template)]
#[template(path = "admin/delivery.html")]
struct DeliveryPage {
    t: Catalog,
    chrome: Chrome,
    counts: Counts,
    hosts: Vec<HostRow>,
    posts: Vec<PostDeliveries>,
}

struct HostRow {
    host: String,
    unreachable: bool,
    state_label: String,
    failures: i32,
    failing_since: Option<String>,
    last_error: Option<String>,
    last_success: Option<String>,
}

impl HostRow {
    fn of(t: Catalog, host: remote_host::Model) -> HostRow {
        let unreachable = host.state == UNREACHABLE;
        HostRow {
            state_label: t
                .get(if unreachable {
                    "admin.delivery.unreachable"
                } else {
                    "admin.delivery.reachable"
                })
                .to_string(),
            unreachable,
            failures: host.consecutive_failures,
            failing_since: host.failing_since.map(views::when),
            last_error: host.last_error.filter(|e| !e.is_empty()),
            last_success: host.last_success_at.map(views::when),
            host: host.host,
        }
    }
}

struct PostDeliveries {
    row: PostRow,
    counts: Counts,
}

/// GET /admin/delivery.
pub async fn page(
    State(state): State<AppState>,
    me: CurrentMember,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AdminError> {
    me.require_editor()?;
    let t = me.t();
    let counts = queue::counts(&state.db, None).await?;
    let hosts = queue::hosts(&state.db)
        .await?
        .into_iter()
        .map(|h| HostRow::of(t, h))
        .collect();
    let latest = db::post::published_page(&state.db, 0, LATEST_POSTS).await?;
    let ids: Vec<i64> = latest.iter().map(|b| b.post.id).collect();
    let mut by_post = queue::counts_by_post(&state.db, &ids).await?;
    let posts = latest
        .iter()
        .map(|bundle| PostDeliveries {
            row: PostRow::of(&state, t, bundle),
            counts: by_post.remove(&bundle.post.id).unwrap_or_default(),
        })
        .collect();
    let view = DeliveryPage {
        t,
        chrome: Chrome::of(&me, "delivery").with_done(t, query.done.as_deref()),
        counts,
        hosts,
        posts,
    };
    views::html(StatusCode::OK, &view)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RetryForm {
    host: String,
}

/// POST /admin/delivery/retry: an unreachable host is tried again now, its parked deliveries
/// due at once.
pub async fn retry(
    State(state): State<AppState>,
    Posted { me, form }: Posted<RetryForm>,
) -> Result<Response, AdminError> {
    me.require_editor()?;
    let host = form.host.trim();
    if host.is_empty() {
        return Err(me.not_found());
    }
    service::delivery::retry_host(&state, host).await?;
    Ok(Redirect::to("/admin/delivery?done=host_retried").into_response())
}
