//! HTTP handlers of the ActivityPub side: thin — parse, call, render.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, RawQuery, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};

use super::{
    actor::{collective_document, member_document},
    collections::{OrderedCollection, page_of, paged_index},
    local::{self, LocalActor},
    negotiate::{ActivityJson, Wants},
    nodeinfo,
    post_routes::{self, PageQuery},
    webfinger,
};
use crate::{
    db,
    domain::negotiate::{ACTIVITY_JSON, LD_JSON_AS, Representation},
    error::{AppError, AppResult},
    service,
    state::AppState,
    web,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/actors/{username}", get(actor))
        .route("/actors/{username}/outbox", get(outbox))
        .route("/actors/{username}/followers", get(followers))
        .route("/actors/{username}/following", get(following))
        .route("/actors/{username}/featured", get(featured))
        .route("/.well-known/webfinger", get(webfinger))
        .route("/.well-known/host-meta", get(host_meta))
        .route("/.well-known/host-meta.json", get(host_meta_json))
        .route("/.well-known/nodeinfo", get(nodeinfo_discovery))
        .route("/nodeinfo/{version}", get(nodeinfo_document))
}

/// The collective named in the path, or 404.
fn known_actor<'a>(state: &'a AppState, username: &str) -> AppResult<&'a str> {
    if username == state.collective.username {
        Ok(&state.collective.username)
    } else {
        Err(AppError::NotFound(format!(
            "no actor named {username:?} here"
        )))
    }
}

/// The collections of a member's actor are empty: people follow the collective, which
/// announces the members' posts. `None` when `username` is the collective.
async fn member_collection(
    state: &AppState,
    username: &str,
    id: url::Url,
    wants: Representation,
) -> AppResult<Option<Response>> {
    if username == state.collective.username {
        return Ok(None);
    }
    local::resolve(state, username).await?;
    Ok(Some(collection(
        state,
        wants,
        OrderedCollection::listing(id, Vec::new()),
    )))
}

/// The actor: JSON for servers, the profile page for browsers.
pub async fn actor(
    State(state): State<AppState>,
    Path(username): Path<String>,
    Wants(wants): Wants,
) -> AppResult<Response> {
    let local = local::resolve(&state, &username).await?;
    match (local, wants) {
        (LocalActor::Collective, Representation::Html) => web::profile::page(&state).await,
        (LocalActor::Collective, json) => {
            // Settings and the actor row are fixed for the life of the process: serialize once.
            let cache = &state.read_caches.collective;
            let body = match cache.get() {
                Some(body) => body.clone(),
                None => {
                    let doc = collective_document(&state.settings, &state.urls, &state.collective);
                    let body = Bytes::from(
                        serde_json::to_vec(&doc).map_err(|e| AppError::Internal(e.into()))?,
                    );
                    cache.get_or_init(|| body).clone()
                }
            };
            Ok(activity_json_bytes(json, body))
        }
        (LocalActor::Member { .. }, Representation::Html) => {
            Ok(Redirect::to(state.urls.member(&username).as_str()).into_response())
        }
        (LocalActor::Member { actor, member }, json) => Ok(ActivityJson(
            json,
            member_document(&state.settings, &state.urls, &actor, &member.display_name),
        )
        .into_response()),
    }
}

/// Already serialized ActivityStreams JSON, with the headers `ActivityJson` gives.
pub(super) fn activity_json_bytes(wants: Representation, body: Bytes) -> Response {
    let content_type = match wants {
        Representation::LdJson => LD_JSON_AS,
        _ => ACTIVITY_JSON,
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::VARY, HeaderValue::from_static("Accept")),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        body,
    )
        .into_response()
}

/// Serves a collection as JSON; a browser is sent to the profile page instead.
fn collection(state: &AppState, wants: Representation, body: OrderedCollection) -> Response {
    match wants {
        Representation::Html => {
            Redirect::to(state.urls.profile(&state.collective.username).as_str()).into_response()
        }
        json => ActivityJson(json, body).into_response(),
    }
}

/// The outbox: the `Create` of every public post, newest first, in pages.
async fn outbox(
    State(state): State<AppState>,
    Path(username): Path<String>,
    Query(query): Query<PageQuery>,
    Wants(wants): Wants,
) -> AppResult<Response> {
    if let Some(empty) =
        member_collection(&state, &username, state.urls.outbox(&username), wants).await?
    {
        return Ok(empty);
    }
    let name = known_actor(&state, &username)?;
    let id = state.urls.outbox(name);
    let total = db::post::count_published(&state.db).await?;
    let per_page = state.settings.publishing.page_size;
    let Some(page) = query.page else {
        return Ok(collection_json(
            &state,
            wants,
            paged_index(&id, total, per_page),
        ));
    };
    let page = page.max(1);
    let posts = db::post::published_page(&state.db, page - 1, per_page).await?;
    let items = posts
        .iter()
        .map(|b| post_routes::outbox_item(&state, b))
        .collect();
    Ok(collection_json(
        &state,
        wants,
        page_of(&id, page, per_page, total, items),
    ))
}

fn collection_json(state: &AppState, wants: Representation, body: serde_json::Value) -> Response {
    match wants {
        Representation::Html => {
            Redirect::to(state.urls.profile(&state.collective.username).as_str()).into_response()
        }
        json => ActivityJson(json, body).into_response(),
    }
}

/// The followers: how many always; who, page by page, only if `followers_list_public`.
async fn followers(
    State(state): State<AppState>,
    Path(username): Path<String>,
    Query(query): Query<PageQuery>,
    Wants(wants): Wants,
) -> AppResult<Response> {
    if let Some(empty) =
        member_collection(&state, &username, state.urls.followers(&username), wants).await?
    {
        return Ok(empty);
    }
    let name = known_actor(&state, &username)?;
    let id = state.urls.followers(name);
    let count = db::follower::count_accepted(&state.db, state.collective.id).await?;
    if !state.settings.federation.followers_list_public {
        return Ok(collection(
            &state,
            wants,
            OrderedCollection::count_only(id, count),
        ));
    }
    let per_page = state.settings.publishing.page_size;
    let Some(page) = query.page else {
        return Ok(collection_json(
            &state,
            wants,
            paged_index(&id, count, per_page),
        ));
    };
    let page = page.max(1);
    let items = db::follower::accepted_page(&state.db, state.collective.id, page - 1, per_page)
        .await?
        .into_iter()
        .map(serde_json::Value::String)
        .collect();
    Ok(collection_json(
        &state,
        wants,
        page_of(&id, page, per_page, count, items),
    ))
}

async fn following(
    State(state): State<AppState>,
    Path(username): Path<String>,
    Wants(wants): Wants,
) -> AppResult<Response> {
    if let Some(empty) =
        member_collection(&state, &username, state.urls.following(&username), wants).await?
    {
        return Ok(empty);
    }
    let name = known_actor(&state, &username)?;
    let body = OrderedCollection::listing(state.urls.following(name), Vec::new());
    Ok(collection(&state, wants, body))
}

/// Pinned posts, as full objects (what Mastodon shows at the top of the profile).
async fn featured(
    State(state): State<AppState>,
    Path(username): Path<String>,
    Wants(wants): Wants,
) -> AppResult<Response> {
    if let Some(empty) =
        member_collection(&state, &username, state.urls.featured(&username), wants).await?
    {
        return Ok(empty);
    }
    let name = known_actor(&state, &username)?;
    let items = db::post::pinned(&state.db)
        .await?
        .iter()
        .map(|b| service::post::object_of(&state, b))
        .collect();
    let body = OrderedCollection::listing(state.urls.featured(name), items);
    Ok(collection(&state, wants, body))
}

/// Adds the CORS header browser-based clients need to read discovery documents.
fn public_json(content_type: &'static str, body: impl serde::Serialize) -> Response {
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

async fn webfinger(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let query = query.unwrap_or_default();
    let resource = url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "resource")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| {
            AppError::BadRequest(
                "missing the resource parameter (e.g. ?resource=acct:user@host)".into(),
            )
        })?;
    let domain = state.settings.domain();
    let username =
        webfinger::local_username(&resource, &domain, &state.urls).map_err(|e| match e {
            webfinger::LookupError::Malformed(reason) => {
                AppError::BadRequest(format!("invalid resource {resource:?}: {reason}"))
            }
            not_found => AppError::NotFound(not_found.to_string()),
        })?;
    let profile = match local::resolve(&state, &username)
        .await
        .map_err(|_| AppError::NotFound(format!("no account {username}@{domain} on this server")))?
    {
        LocalActor::Collective => state.urls.profile(&username),
        LocalActor::Member { .. } => state.urls.member(&username),
    };
    Ok(public_json(
        "application/jrd+json",
        webfinger::actor_jrd(&username, &domain, &state.urls, profile),
    ))
}

async fn host_meta(State(state): State<AppState>) -> Response {
    let mut response = webfinger::host_meta_xrd(&state.urls).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xrd+xml; charset=utf-8"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

async fn host_meta_json(State(state): State<AppState>) -> Response {
    public_json("application/json", webfinger::host_meta_json(&state.urls))
}

async fn nodeinfo_discovery(State(state): State<AppState>) -> Response {
    public_json("application/json", nodeinfo::discovery(&state.urls))
}

async fn nodeinfo_document(
    State(state): State<AppState>,
    Path(version): Path<String>,
) -> AppResult<Response> {
    let (version, content_type) = match version.as_str() {
        "2.0" => (
            "2.0",
            "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.0#\"",
        ),
        "2.1" => (
            "2.1",
            "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
        ),
        other => {
            return Err(AppError::NotFound(format!(
                "no NodeInfo version {other:?} here (2.0 and 2.1 are served)"
            )));
        }
    };
    // Kept (serialized) until the next commit: two COUNT queries otherwise.
    web::cached::respond(&state, format!("nodeinfo {version}"), || async {
        let usage = db::stats::usage(&state.db).await?;
        let collective = &state.settings.collective;
        let doc = nodeinfo::document(version, usage, &collective.name, &collective.summary);
        Ok(public_json(content_type, doc))
    })
    .await
}
