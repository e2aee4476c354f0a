//! Posts in the panel: the list, compose and edit with every button of the form (save, preview,
//! submit, publish, schedule, back to draft). Everything is checked before anything is written;
//! a refused form comes back as typed, with the reason next to the field.

use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{
    auth::{CurrentMember, Posted},
    failure::AdminError,
    post_form::{self, Action, PostForm, field_errors},
    post_page::{self, Editing, PostPage},
    preview::preview_page,
    views::{self, Chrome, FieldError, PostRow},
};
use crate::{
    db::{self, post::PostBundle},
    delivery::queue,
    domain::post::Status,
    i18n::Catalog,
    service::post::{self as service, PostError},
    state::AppState,
};

#[derive(Template)]
#[template(path = "admin/posts.html")]
struct PostsPage {
    t: Catalog,
    chrome: Chrome,
    rows: Vec<PostRow>,
    filters: Vec<Filter>,
}

struct Filter {
    label: String,
    url: String,
    current: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    status: Option<String>,
    done: Option<String>,
}

const LISTED: [Status; 4] = [
    Status::Draft,
    Status::Review,
    Status::Scheduled,
    Status::Published,
];

/// GET /admin/posts: editors and admins see every post, authors their own.
pub async fn list(
    State(state): State<AppState>,
    me: CurrentMember,
    Query(query): Query<ListQuery>,
) -> Result<Response, AdminError> {
    let t = me.t();
    let only = query
        .status
        .as_deref()
        .and_then(Status::parse)
        .filter(|s| LISTED.contains(s));
    let statuses = only.map_or(LISTED.to_vec(), |s| vec![s]);
    let author = (!me.role.can_publish()).then_some(me.member.id);
    let bundles = db::post::with_statuses(&state.db, &statuses, author, 500).await?;
    let mut filters = vec![Filter {
        label: t.get("admin.posts.filter_all").to_string(),
        url: "/admin/posts".into(),
        current: only.is_none(),
    }];
    filters.extend(LISTED.iter().map(|s| Filter {
        label: views::status_label(t, *s),
        url: format!("/admin/posts?status={}", s.as_str()),
        current: only == Some(*s),
    }));
    let page = PostsPage {
        t,
        chrome: Chrome::of(&me, "posts").with_done(t, query.done.as_deref()),
        rows: PostRow::all(&state, t, &bundles),
        filters,
    };
    views::html(StatusCode::OK, &page)
}

/// GET /admin/posts/new.
pub async fn new_form(
    State(state): State<AppState>,
    me: CurrentMember,
) -> Result<Response, AdminError> {
    let form = PostForm {
        language: views::default_post_language(&state),
        ..PostForm::default()
    };
    views::html(StatusCode::OK, &PostPage::new(&me, None, form, Vec::new()))
}

/// POST /admin/posts/new: every button of the compose form.
pub async fn create(
    State(state): State<AppState>,
    Posted { me, form }: Posted<PostForm>,
) -> Result<Response, AdminError> {
    let action = Action::parse(&form.action);
    if action.needs_publisher() && !me.role.can_publish() {
        return refusal(&me, None, form, "admin.post.forbidden_publish");
    }
    let at = match post_form::check(me.t(), &form, action, Utc::now()) {
        Ok(at) => at,
        Err(errors) => return invalid(&me, None, form, errors),
    };
    if action == Action::Preview {
        return preview_page(&state, &me, None, &me.member, form).await;
    }
    match service::create(&state, &me.member, form.input()).await {
        Ok(draft) => follow_up(&state, &me, &draft.public_id, action, at, false).await,
        Err(err) => failed(&state, &me, None, form, action, err).await,
    }
}

/// The post `me` may open, or a 404 (an author never learns about others' drafts).
pub async fn editable(
    state: &AppState,
    me: &CurrentMember,
    public_id: &str,
) -> Result<PostBundle, AdminError> {
    match service::for_editing(state, &me.member, public_id).await {
        Ok(bundle) if bundle.status() == Status::Deleted => Err(AdminError::page(
            StatusCode::GONE,
            me.locale,
            "admin.post.gone",
        )),
        Ok(bundle) => Ok(bundle),
        Err(PostError::NotFound) => Err(me.not_found()),
        Err(err) => Err(err.into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EditQuery {
    done: Option<String>,
}

/// GET /admin/posts/{public_id}/edit.
pub async fn edit_form(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    me: CurrentMember,
    Query(query): Query<EditQuery>,
) -> Result<Response, AdminError> {
    let bundle = editable(&state, &me, &public_id).await?;
    let editing = Editing::of(&state, &bundle);
    let deliveries = match editing.status {
        Status::Published => Some(queue::counts(&state.db, Some(bundle.post.id)).await?),
        _ => None,
    };
    let page = PostPage::new(&me, Some(&editing), PostForm::of(&bundle), Vec::new())
        .with_deliveries(deliveries)
        .with_done(query.done.as_deref());
    views::html(StatusCode::OK, &page)
}

/// POST /admin/posts/{public_id}/edit: every button of the edit form. The text is saved
/// against the version the editor opened; then the status change the button asks for.
pub async fn save(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    Posted { me, form }: Posted<PostForm>,
) -> Result<Response, AdminError> {
    let bundle = editable(&state, &me, &public_id).await?;
    let editing = Editing::of(&state, &bundle);
    let action = Action::parse(&form.action);
    if !post_page::can_edit(&me, Some(&editing)) {
        return refusal(&me, Some(&editing), form, "admin.post.forbidden_edit");
    }
    if action.needs_publisher() && !me.role.can_publish() {
        return refusal(&me, Some(&editing), form, "admin.post.forbidden_publish");
    }
    let at = match post_form::check(me.t(), &form, action, Utc::now()) {
        Ok(at) => at,
        Err(errors) => return invalid(&me, Some(&editing), form, errors),
    };
    if action == Action::Preview {
        return preview_page(&state, &me, Some(&editing), &bundle.author, form).await;
    }
    // An unreadable version can only be stale.
    let version = form.version.trim().parse().unwrap_or(-1);
    match service::update(&state, &me.member, &public_id, version, form.input()).await {
        Ok(_) => {
            let was_published = editing.status == Status::Published;
            follow_up(&state, &me, &public_id, action, at, was_published).await
        }
        Err(err) => failed(&state, &me, Some(&editing), form, action, err).await,
    }
}

/// After the text is saved: the status change asked for, then back to the form with a
/// confirmation (Post/Redirect/Get: reloading does not post again).
async fn follow_up(
    state: &AppState,
    me: &CurrentMember,
    public_id: &str,
    action: Action,
    at: Option<DateTime<Utc>>,
    was_published: bool,
) -> Result<Response, AdminError> {
    let who = &me.member;
    let done = match (action, at) {
        (Action::Submit, _) => service::submit_for_review(state, who, public_id)
            .await
            .map(|()| "submitted"),
        (Action::Publish, _) => service::publish_now(state, who, public_id)
            .await
            .map(|_| "published"),
        (Action::Schedule, Some(at)) => service::schedule(state, who, public_id, at)
            .await
            .map(|()| "scheduled"),
        (Action::BackToDraft, _) => service::back_to_draft(state, who, public_id)
            .await
            .map(|()| "back_to_draft"),
        _ if was_published => Ok("updated"),
        _ => Ok("saved"),
    };
    match done {
        Ok(done) => {
            Ok(Redirect::to(&format!("/admin/posts/{public_id}/edit?done={done}")).into_response())
        }
        Err(err) => {
            // The text is saved; only the status change was refused: show the saved post.
            let bundle = editable(state, me, public_id).await?;
            let editing = Editing::of(state, &bundle);
            let form = PostForm::of(&bundle);
            failed(state, me, Some(&editing), form, action, err).await
        }
    }
}

/// The form again with its field errors (422).
pub fn invalid(
    me: &CurrentMember,
    editing: Option<&Editing>,
    form: PostForm,
    errors: Vec<FieldError>,
) -> Result<Response, AdminError> {
    let page = PostPage::new(me, editing, form, errors);
    views::html(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// The form again with a refusal above it (403).
fn refusal(
    me: &CurrentMember,
    editing: Option<&Editing>,
    form: PostForm,
    key: &str,
) -> Result<Response, AdminError> {
    let page = PostPage::new(me, editing, form, Vec::new()).with_alert(me.t().get(key).to_string());
    views::html(StatusCode::FORBIDDEN, &page)
}

/// The form again, as typed, explaining why the service refused.
async fn failed(
    state: &AppState,
    me: &CurrentMember,
    editing: Option<&Editing>,
    mut form: PostForm,
    action: Action,
    err: PostError,
) -> Result<Response, AdminError> {
    let t = me.t();
    match err {
        PostError::Invalid(problems) => invalid(me, editing, form, field_errors(t, &problems)),
        PostError::Forbidden(_) if action.needs_publisher() => {
            refusal(me, editing, form, "admin.post.forbidden_publish")
        }
        PostError::Forbidden(_) => refusal(me, editing, form, "admin.post.forbidden_edit"),
        PostError::Conflict => {
            // Someone saved in between: keep this text, show theirs, and take their version as
            // the base so that saving again is a deliberate choice to replace it.
            let Some(editing) = editing else {
                return Err(PostError::Conflict.into());
            };
            let current = editable(state, me, &editing.public_id).await?;
            form.version = current.post.version.to_string();
            let editing = Editing::of(state, &current);
            let mut page = PostPage::new(me, Some(&editing), form, Vec::new())
                .with_alert(t.get("admin.post.conflict").to_string());
            page.theirs = Some(current.post.body_markdown.clone());
            views::html(StatusCode::CONFLICT, &page)
        }
        PostError::WrongStatus(status) => {
            let message = t.fmt(
                "admin.post.wrong_status",
                &[("status", &views::status_label(t, status))],
            );
            let page = PostPage::new(me, editing, form, Vec::new()).with_alert(message);
            views::html(StatusCode::CONFLICT, &page)
        }
        PostError::NotFound => Err(me.not_found()),
        PostError::Database(err) => Err(err.into()),
    }
}
