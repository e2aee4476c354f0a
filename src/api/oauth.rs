//! OAuth endpoints: `POST /api/v1/apps`, `GET|POST /oauth/authorize` (the consent page, with
//! the admin panel's login, session and CSRF), `POST /oauth/token`, `POST /oauth/revoke`.

use askama::Template;
use axum::{
    Json,
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    auth::Input,
    error::{ApiError, ApiResult},
};
use crate::{
    admin::{
        auth::{CurrentMember, Posted},
        failure::AdminError,
        views::{self, Chrome},
    },
    i18n::Catalog,
    service::oauth::{self, AuthorizationRequest, OOB, TokenRequest},
    state::AppState,
};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AppForm {
    client_name: String,
    redirect_uris: Option<StringOrList>,
    scopes: String,
    website: Option<String>,
}

/// `redirect_uris` as one string or (in JSON) a list.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum StringOrList {
    One(String),
    Many(Vec<String>),
}

/// POST /api/v1/apps.
pub async fn register(
    State(state): State<AppState>,
    Input(form): Input<AppForm>,
) -> ApiResult<Json<Value>> {
    let redirect_uris = match form.redirect_uris {
        Some(StringOrList::One(s)) => s,
        Some(StringOrList::Many(list)) => list.join("\n"),
        None => String::new(),
    };
    let registered = oauth::register_app(
        &state.db,
        oauth::NewApp {
            name: form.client_name,
            redirect_uris,
            scopes: form.scopes,
            website: form.website,
        },
    )
    .await
    .map_err(|err| match err {
        oauth::OAuthError::Database(db) => ApiError::from(db),
        other => ApiError::Unprocessable(format!("Validation failed: {other}")),
    })?;
    let app = &registered.app;
    let uris = oauth::redirect_uris(app);
    Ok(Json(json!({
        "id": app.id.to_string(),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(' ').collect::<Vec<_>>(),
        "redirect_uri": uris.join("\n"),
        "redirect_uris": uris,
        "client_id": app.client_id,
        "client_secret": registered.client_secret,
        "vapid_key": "",
    })))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct AuthorizeParams {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    decision: String,
}

impl AuthorizeParams {
    fn request(&self) -> AuthorizationRequest {
        AuthorizationRequest {
            response_type: self.response_type.clone(),
            client_id: self.client_id.clone(),
            redirect_uri: self.redirect_uri.clone(),
            scope: self.scope.clone(),
            code_challenge: self.code_challenge.clone().filter(|c| !c.is_empty()),
            code_challenge_method: self.code_challenge_method.clone().filter(|c| !c.is_empty()),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/oauth_consent.html")]
struct ConsentPage {
    t: Catalog,
    chrome: Chrome,
    app_name: String,
    website: Option<String>,
    member: String,
    scopes: Vec<(String, String)>,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: String,
    code_challenge: String,
    code_challenge_method: String,
}

#[derive(Template)]
#[template(path = "admin/oauth_code.html")]
struct CodePage {
    t: Catalog,
    chrome: Chrome,
    code: String,
}

fn scope_label(t: Catalog, scope: &str) -> String {
    let key = match scope {
        "read" => "admin.oauth.scope_read",
        "write" => "admin.oauth.scope_write",
        "profile" => "admin.oauth.scope_profile",
        s if s.starts_with("read:") => "admin.oauth.scope_read_part",
        s if s.starts_with("write:") => "admin.oauth.scope_write_part",
        _ => "admin.oauth.scope_other",
    };
    t.get(key).to_string()
}

fn refused(me: &CurrentMember, err: oauth::OAuthError) -> AdminError {
    match err {
        oauth::OAuthError::Database(db) => db.into(),
        other => AdminError::Page {
            status: StatusCode::BAD_REQUEST,
            locale: me.locale,
            message: format!("{} : {other}", me.t().get("admin.oauth.bad_request")),
        },
    }
}

/// The consent pages may send the browser to the app's redirect URI after the form: no
/// `form-action` limit, otherwise the admin panel's policy.
fn with_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// GET /oauth/authorize: the consent page (after logging in when needed).
pub async fn authorize_form(
    State(state): State<AppState>,
    me: CurrentMember,
    Query(params): Query<AuthorizeParams>,
) -> Result<Response, AdminError> {
    let checked = oauth::check_authorization(&state.db, &params.request())
        .await
        .map_err(|e| refused(&me, e))?;
    let t = me.t();
    let page = ConsentPage {
        t,
        chrome: Chrome::of(&me, ""),
        app_name: checked.app.name.clone(),
        website: checked.app.website.clone(),
        member: me.member.display_name.clone(),
        scopes: checked
            .scopes
            .iter()
            .map(|s| (s.to_string(), scope_label(t, s)))
            .collect(),
        client_id: checked.app.client_id.clone(),
        redirect_uri: checked.redirect_uri.clone(),
        scope: checked.scopes.to_string(),
        state: params.state.clone().unwrap_or_default(),
        code_challenge: checked.code_challenge.clone().unwrap_or_default(),
        code_challenge_method: params.code_challenge_method.clone().unwrap_or_default(),
    };
    Ok(with_headers(views::html(StatusCode::OK, &page)?))
}

/// `uri` with `pairs` added to its query.
fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> Response {
    match url::Url::parse(uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in pairs {
                    query.append_pair(k, v);
                }
            }
            Redirect::to(url.as_str()).into_response()
        }
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// POST /oauth/authorize: the member approves (a code is issued) or denies.
pub async fn authorize_decide(
    State(state): State<AppState>,
    Posted { me, form }: Posted<AuthorizeParams>,
) -> Result<Response, AdminError> {
    let checked = oauth::check_authorization(&state.db, &form.request())
        .await
        .map_err(|e| refused(&me, e))?;
    let app_state = form.state.clone().unwrap_or_default();
    let mut extra: Vec<(&str, &str)> = Vec::new();
    if !app_state.is_empty() {
        extra.push(("state", &app_state));
    }
    if form.decision != "approve" {
        if checked.redirect_uri == OOB {
            return Ok(with_headers(Redirect::to("/admin").into_response()));
        }
        let mut pairs = vec![("error", "access_denied")];
        pairs.extend(extra);
        return Ok(with_headers(redirect_with(&checked.redirect_uri, &pairs)));
    }
    let code = oauth::issue_code(&state.db, &checked, &me.member)
        .await
        .map_err(|e| refused(&me, e))?;
    if checked.redirect_uri == OOB {
        let page = CodePage {
            t: me.t(),
            chrome: Chrome::of(&me, ""),
            code,
        };
        return Ok(with_headers(views::html(StatusCode::OK, &page)?));
    }
    let mut pairs = vec![("code", code.as_str())];
    pairs.extend(extra);
    Ok(with_headers(redirect_with(&checked.redirect_uri, &pairs)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenForm {
    grant_type: String,
    client_id: String,
    client_secret: String,
    code: String,
    redirect_uri: String,
    code_verifier: Option<String>,
    scope: String,
}

/// Client credentials may also come as HTTP Basic authentication (RFC 6749 §2.3.1).
fn basic_credentials(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// POST /oauth/token.
pub async fn token(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Input(form): Input<TokenForm>,
) -> ApiResult<Json<Value>> {
    let (client_id, client_secret) = match basic_credentials(&headers) {
        Some(pair) if form.client_id.is_empty() => pair,
        _ => (form.client_id, form.client_secret),
    };
    let issued = oauth::token(
        &state.db,
        &TokenRequest {
            grant_type: form.grant_type,
            client_id,
            client_secret,
            code: form.code,
            redirect_uri: form.redirect_uri,
            code_verifier: form.code_verifier.filter(|v| !v.is_empty()),
            scope: form.scope,
        },
    )
    .await?;
    Ok(Json(json!({
        "access_token": issued.token,
        "token_type": "Bearer",
        "scope": issued.row.scopes,
        "created_at": issued.row.created_at.timestamp(),
    })))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeForm {
    client_id: String,
    client_secret: String,
    token: String,
}

/// POST /oauth/revoke.
pub async fn revoke(
    State(state): State<AppState>,
    Input(form): Input<RevokeForm>,
) -> ApiResult<Json<Value>> {
    oauth::revoke(&state.db, &form.client_id, &form.client_secret, &form.token).await?;
    Ok(Json(json!({})))
}

/// GET /.well-known/oauth-authorization-server (RFC 8414), as Mastodon 4.3 publishes it.
pub async fn server_metadata(State(state): State<AppState>) -> Json<Value> {
    let at = |path: &str| {
        state
            .urls
            .base()
            .join(path)
            .map(|u| u.to_string())
            .unwrap_or_default()
    };
    Json(json!({
        "issuer": state.urls.base(),
        "authorization_endpoint": at("/oauth/authorize"),
        "token_endpoint": at("/oauth/token"),
        "revocation_endpoint": at("/oauth/revoke"),
        "app_registration_endpoint": at("/api/v1/apps"),
        "scopes_supported": crate::domain::scope::KNOWN,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "service_documentation": "https://docs.joinmastodon.org/",
    }))
}
