//! OAuth 2 as Mastodon clients expect it: apps registered by `POST /api/v1/apps`, authorization
//! codes (single-use, ten minutes, bound to the app and the redirect URI, PKCE S256), access
//! tokens for a member or for the app itself, revocation, and personal tokens made on the
//! command line. Secrets (client secrets, codes, tokens) are stored only as SHA-256 hashes.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, TransactionTrait, sea_query::Expr,
};
use sha2::{Digest, Sha256};

use super::session::{random_token, same_secret, token_hash};
use crate::{
    db::entity::{member, oauth_app, oauth_code, oauth_token},
    domain::scope::Scopes,
};

/// The redirect URI of apps that show the code to copy instead of redirecting.
pub const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";
/// How long an authorization code may be exchanged.
pub const CODE_MINUTES: i64 = 10;

/// Why an OAuth request was refused; the variant is the RFC 6749 error code.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("client authentication failed: unknown client or wrong secret")]
    InvalidClient,
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("the requested scope is invalid, unknown, or not registered for this app: {0}")]
    InvalidScope(String),
    #[error("the authorization server does not support this grant type")]
    UnsupportedGrantType,
    #[error("only response_type=code is supported")]
    UnsupportedResponseType,
    #[error(transparent)]
    Database(#[from] DbErr),
}

impl OAuthError {
    /// The RFC 6749 error code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::UnsupportedResponseType => "unsupported_response_type",
            OAuthError::Database(_) => "server_error",
        }
    }
}

/// What `POST /api/v1/apps` receives.
#[derive(Debug, Default, Clone)]
pub struct NewApp {
    pub name: String,
    pub redirect_uris: String,
    pub scopes: String,
    pub website: Option<String>,
}

/// A registered app with its secret, shown once.
pub struct RegisteredApp {
    pub app: oauth_app::Model,
    pub client_secret: String,
}

fn redirect_uris_of(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// The app's redirect URIs, one per entry.
pub fn redirect_uris(app: &oauth_app::Model) -> Vec<String> {
    redirect_uris_of(&app.redirect_uris)
}

/// Registers an app. Redirect URIs are absolute URLs (custom schemes allowed, as mobile apps
/// use them) or the out-of-band URN; no fragment.
pub async fn register_app(
    db: &DatabaseConnection,
    new: NewApp,
) -> Result<RegisteredApp, OAuthError> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(OAuthError::InvalidRequest(
            "client_name can't be blank".into(),
        ));
    }
    if name.chars().count() > 200 {
        return Err(OAuthError::InvalidRequest(
            "client_name is too long (at most 200 characters)".into(),
        ));
    }
    let uris = redirect_uris_of(&new.redirect_uris);
    if uris.is_empty() {
        return Err(OAuthError::InvalidRequest(
            "redirect_uris can't be blank".into(),
        ));
    }
    for uri in &uris {
        let valid = uri == OOB
            || url::Url::parse(uri).is_ok_and(|u| {
                u.fragment().is_none() && !matches!(u.scheme(), "javascript" | "data" | "vbscript")
            });
        if !valid || uri.len() > 2000 {
            return Err(OAuthError::InvalidRequest(format!(
                "redirect_uris: {uri:?} must be an absolute URI without a fragment, or {OOB}"
            )));
        }
    }
    let scopes = Scopes::parse(&new.scopes).map_err(OAuthError::InvalidScope)?;
    let website = new
        .website
        .map(|w| w.trim().to_string())
        .filter(|w| !w.is_empty());
    if let Some(site) = &website
        && (!url::Url::parse(site).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            || site.len() > 2000)
    {
        return Err(OAuthError::InvalidRequest(
            "website must be an http(s) URL".into(),
        ));
    }
    let client_secret = random_token();
    let app = oauth_app::ActiveModel {
        client_id: Set(random_token()),
        client_secret_hash: Set(token_hash(&client_secret)),
        name: Set(name.to_string()),
        website: Set(website),
        redirect_uris: Set(uris.join("\n")),
        scopes: Set(scopes.to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(RegisteredApp { app, client_secret })
}

pub async fn find_app(
    db: &DatabaseConnection,
    client_id: &str,
) -> Result<Option<oauth_app::Model>, DbErr> {
    oauth_app::Entity::find()
        .filter(oauth_app::Column::ClientId.eq(client_id))
        .one(db)
        .await
}

/// The app, when `client_id` and `client_secret` match.
async fn authenticate_client(
    db: &DatabaseConnection,
    client_id: &str,
    client_secret: &str,
) -> Result<oauth_app::Model, OAuthError> {
    let app = find_app(db, client_id)
        .await?
        .ok_or(OAuthError::InvalidClient)?;
    if client_secret.is_empty() || !same_secret(&token_hash(client_secret), &app.client_secret_hash)
    {
        return Err(OAuthError::InvalidClient);
    }
    Ok(app)
}

/// What `GET /oauth/authorize` asks for.
#[derive(Debug, Default, Clone)]
pub struct AuthorizationRequest {
    pub response_type: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// An authorization request found valid: what the consent page shows.
pub struct Checked {
    pub app: oauth_app::Model,
    pub scopes: Scopes,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
}

/// Checks an authorization request. Errors here are shown to the member, never redirected
/// (the redirect URI is not trusted until it is known to be the app's).
pub async fn check_authorization(
    db: &DatabaseConnection,
    request: &AuthorizationRequest,
) -> Result<Checked, OAuthError> {
    let app = find_app(db, &request.client_id)
        .await?
        .ok_or(OAuthError::InvalidClient)?;
    let registered = redirect_uris(&app);
    let redirect_uri = if request.redirect_uri.is_empty() && registered.len() == 1 {
        registered[0].clone()
    } else {
        request.redirect_uri.clone()
    };
    if !registered.contains(&redirect_uri) {
        return Err(OAuthError::InvalidRequest(
            "redirect_uri is not one of the app's registered redirect URIs".into(),
        ));
    }
    if request.response_type != "code" {
        return Err(OAuthError::UnsupportedResponseType);
    }
    let scopes = Scopes::parse(&request.scope).map_err(OAuthError::InvalidScope)?;
    let allowed = Scopes::parse(&app.scopes).unwrap_or_default();
    if !allowed.contains_all(&scopes) {
        return Err(OAuthError::InvalidScope(scopes.to_string()));
    }
    let code_challenge = match (
        &request.code_challenge,
        request.code_challenge_method.as_deref(),
    ) {
        (None, _) => None,
        (Some(challenge), Some("S256")) if (43..=128).contains(&challenge.len()) => {
            Some(challenge.clone())
        }
        (Some(_), Some("S256")) => {
            return Err(OAuthError::InvalidRequest(
                "code_challenge must be 43 to 128 characters".into(),
            ));
        }
        (Some(_), _) => {
            return Err(OAuthError::InvalidRequest(
                "code_challenge_method must be S256".into(),
            ));
        }
    };
    Ok(Checked {
        app,
        scopes,
        redirect_uri,
        code_challenge,
    })
}

/// Issues a code once the member approved. Returns the code (only its hash is stored).
pub async fn issue_code(
    db: &DatabaseConnection,
    checked: &Checked,
    who: &member::Model,
) -> Result<String, OAuthError> {
    let code = random_token();
    let now = Utc::now();
    oauth_code::ActiveModel {
        id: Set(token_hash(&code)),
        app_id: Set(checked.app.id),
        member_id: Set(who.id),
        redirect_uri: Set(checked.redirect_uri.clone()),
        scopes: Set(checked.scopes.to_string()),
        code_challenge: Set(checked.code_challenge.clone()),
        created_at: Set(now),
        expires_at: Set(now + Duration::minutes(CODE_MINUTES)),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(code)
}

/// A token just made: the secret is shown once.
pub struct Issued {
    pub token: String,
    pub row: oauth_token::Model,
}

async fn insert_token(
    db: &impl sea_orm::ConnectionTrait,
    app_id: Option<i64>,
    member_id: Option<i64>,
    name: &str,
    scopes: &Scopes,
    code_id: Option<String>,
) -> Result<Issued, DbErr> {
    let token = random_token();
    let row = oauth_token::ActiveModel {
        token_hash: Set(token_hash(&token)),
        app_id: Set(app_id),
        member_id: Set(member_id),
        name: Set(name.chars().take(200).collect()),
        scopes: Set(scopes.to_string()),
        code_id: Set(code_id),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Issued { token, row })
}

/// What `POST /oauth/token` receives.
#[derive(Debug, Default, Clone)]
pub struct TokenRequest {
    pub grant_type: String,
    pub client_id: String,
    pub client_secret: String,
    pub code: String,
    pub redirect_uri: String,
    pub code_verifier: Option<String>,
    pub scope: String,
}

fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let digest = Sha256::digest(verifier.as_bytes());
    same_secret(&URL_SAFE_NO_PAD.encode(digest), challenge)
}

/// Exchanges a code, or issues an app token (client_credentials).
pub async fn token(db: &DatabaseConnection, request: &TokenRequest) -> Result<Issued, OAuthError> {
    match request.grant_type.as_str() {
        "authorization_code" => exchange_code(db, request).await,
        "client_credentials" => {
            let app = authenticate_client(db, &request.client_id, &request.client_secret).await?;
            let scopes = Scopes::parse(&request.scope).map_err(OAuthError::InvalidScope)?;
            if !Scopes::parse(&app.scopes)
                .unwrap_or_default()
                .contains_all(&scopes)
            {
                return Err(OAuthError::InvalidScope(scopes.to_string()));
            }
            Ok(insert_token(db, Some(app.id), None, &app.name, &scopes, None).await?)
        }
        "" => Err(OAuthError::InvalidRequest("grant_type is missing".into())),
        _ => Err(OAuthError::UnsupportedGrantType),
    }
}

async fn exchange_code(
    db: &DatabaseConnection,
    request: &TokenRequest,
) -> Result<Issued, OAuthError> {
    let app = authenticate_client(db, &request.client_id, &request.client_secret).await?;
    if request.code.is_empty() {
        return Err(OAuthError::InvalidRequest("code is missing".into()));
    }
    let code_id = token_hash(&request.code);
    let invalid = OAuthError::InvalidGrant(
        "the authorization code is invalid, expired, already used, or was issued to another client or redirect URI",
    );
    let Some(code) = oauth_code::Entity::find_by_id(code_id.clone())
        .one(db)
        .await?
    else {
        return Err(invalid);
    };
    let now = Utc::now();
    if code.used_at.is_some() {
        // A replayed code: someone else may hold it. Revoke what it gave (RFC 6749 §4.1.2).
        oauth_token::Entity::update_many()
            .col_expr(oauth_token::Column::RevokedAt, Expr::value(Some(now)))
            .filter(oauth_token::Column::CodeId.eq(code_id.as_str()))
            .filter(oauth_token::Column::RevokedAt.is_null())
            .exec(db)
            .await?;
        return Err(invalid);
    }
    if code.app_id != app.id || code.expires_at <= now {
        return Err(invalid);
    }
    let redirect_ok = request.redirect_uri == code.redirect_uri
        || (request.redirect_uri.is_empty() && redirect_uris(&app).len() == 1);
    if !redirect_ok {
        return Err(invalid);
    }
    if let Some(challenge) = &code.code_challenge {
        match &request.code_verifier {
            Some(verifier) if pkce_matches(verifier, challenge) => {}
            _ => {
                return Err(OAuthError::InvalidGrant(
                    "the code_verifier does not match the code_challenge (PKCE)",
                ));
            }
        }
    }
    let Some(member) = member::Entity::find_by_id(code.member_id).one(db).await? else {
        return Err(invalid);
    };
    if member.disabled {
        return Err(invalid);
    }
    let txn = db.begin().await?;
    // Used once: the guarded update elects one exchange even when two race.
    let marked = oauth_code::Entity::update_many()
        .col_expr(oauth_code::Column::UsedAt, Expr::value(Some(now)))
        .filter(oauth_code::Column::Id.eq(code_id.as_str()))
        .filter(oauth_code::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if marked.rows_affected != 1 {
        return Err(invalid);
    }
    let scopes = Scopes::parse(&code.scopes).unwrap_or_default();
    let issued = insert_token(
        &txn,
        Some(app.id),
        Some(member.id),
        &app.name,
        &scopes,
        Some(code_id),
    )
    .await?;
    txn.commit().await?;
    Ok(issued)
}

/// Revokes a token on behalf of the app it was issued to (`POST /oauth/revoke`). Unknown
/// tokens are not an error (RFC 7009); another app's token is.
pub async fn revoke(
    db: &DatabaseConnection,
    client_id: &str,
    client_secret: &str,
    token: &str,
) -> Result<(), OAuthError> {
    let app = authenticate_client(db, client_id, client_secret).await?;
    let Some(row) = find_token(db, token).await? else {
        return Ok(());
    };
    if row.app_id != Some(app.id) {
        return Err(OAuthError::InvalidClient);
    }
    revoke_row(db, row.id).await?;
    Ok(())
}

async fn revoke_row(db: &DatabaseConnection, id: i64) -> Result<(), DbErr> {
    oauth_token::Entity::update_many()
        .col_expr(
            oauth_token::Column::RevokedAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(oauth_token::Column::Id.eq(id))
        .filter(oauth_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

async fn find_token(
    db: &DatabaseConnection,
    token: &str,
) -> Result<Option<oauth_token::Model>, DbErr> {
    oauth_token::Entity::find()
        .filter(oauth_token::Column::TokenHash.eq(token_hash(token)))
        .one(db)
        .await
}

/// Who a bearer token speaks for: the live token, its scopes, and its (enabled) member — `None`
/// for an app's own token.
pub struct Bearer {
    pub token: oauth_token::Model,
    pub scopes: Scopes,
    pub member: Option<member::Model>,
}

/// The live token behind a bearer value, if any: not revoked, and its member not disabled.
pub async fn authenticate(db: &DatabaseConnection, token: &str) -> Result<Option<Bearer>, DbErr> {
    let Some(row) = find_token(db, token).await? else {
        return Ok(None);
    };
    if row.revoked_at.is_some() {
        return Ok(None);
    }
    // When it was last used, to the hour (the admin panel shows it): at most one write an hour.
    let now = Utc::now();
    if row
        .last_used_at
        .is_none_or(|at| at < now - Duration::hours(1))
    {
        oauth_token::Entity::update_many()
            .col_expr(oauth_token::Column::LastUsedAt, Expr::value(Some(now)))
            .filter(oauth_token::Column::Id.eq(row.id))
            .exec(db)
            .await?;
    }
    let member = match row.member_id {
        Some(id) => match member::Entity::find_by_id(id).one(db).await? {
            Some(m) if !m.disabled => Some(m),
            _ => return Ok(None),
        },
        None => None,
    };
    Ok(Some(Bearer {
        scopes: Scopes::parse(&row.scopes).unwrap_or_default(),
        token: row,
        member,
    }))
}

/// A personal token for scripts (`tribune token create`), shown once.
pub async fn create_personal_token(
    db: &DatabaseConnection,
    who: &member::Model,
    scopes: &str,
    name: &str,
) -> Result<Issued, OAuthError> {
    let scopes = Scopes::parse(scopes).map_err(OAuthError::InvalidScope)?;
    let name = if name.trim().is_empty() {
        "tribune token create"
    } else {
        name.trim()
    };
    Ok(insert_token(db, None, Some(who.id), name, &scopes, None).await?)
}

/// A token as the admin panel lists it.
pub struct Listed {
    pub token: oauth_token::Model,
    pub app: Option<String>,
    pub member: Option<String>,
}

/// Live tokens: a member's own, or everyone's (`member_id` None, for admins), newest first.
pub async fn list_tokens(
    db: &DatabaseConnection,
    member_id: Option<i64>,
) -> Result<Vec<Listed>, DbErr> {
    let mut query = oauth_token::Entity::find()
        .filter(oauth_token::Column::RevokedAt.is_null())
        .filter(oauth_token::Column::MemberId.is_not_null())
        .order_by_desc(oauth_token::Column::Id);
    if let Some(id) = member_id {
        query = query.filter(oauth_token::Column::MemberId.eq(id));
    }
    let tokens = query.all(db).await?;
    let apps: std::collections::HashMap<i64, String> = oauth_app::Entity::find()
        .filter(oauth_app::Column::Id.is_in(tokens.iter().filter_map(|t| t.app_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let members: std::collections::HashMap<i64, String> = member::Entity::find()
        .filter(member::Column::Id.is_in(tokens.iter().filter_map(|t| t.member_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m.username))
        .collect();
    Ok(tokens
        .into_iter()
        .map(|token| Listed {
            app: token.app_id.and_then(|id| apps.get(&id).cloned()),
            member: token.member_id.and_then(|id| members.get(&id).cloned()),
            token,
        })
        .collect())
}

/// Revokes token `id` from the admin panel: one's own, or anyone's for admins. False when there
/// is no such live token the member may revoke.
pub async fn revoke_by_id(
    db: &DatabaseConnection,
    who: &member::Model,
    is_admin: bool,
    id: i64,
) -> Result<bool, DbErr> {
    let Some(row) = oauth_token::Entity::find_by_id(id).one(db).await? else {
        return Ok(false);
    };
    if row.revoked_at.is_some() || (!is_admin && row.member_id != Some(who.id)) {
        return Ok(false);
    }
    revoke_row(db, row.id).await?;
    Ok(true)
}

/// When a token was made, for the `created_at` of the token response (seconds).
pub fn created_at(row: &oauth_token::Model) -> i64 {
    row.created_at.timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_is_base64url_of_the_sha256() {
        // Computed independently with Python's hashlib and base64.urlsafe_b64encode.
        let verifier = "dBjftJeZ4CVP-1Q4rJOUbxKBmkB3-ha3QW5R3VgJ0kc";
        let challenge = "g4__u9YTI1jPsacHWBPHgy5ZUKF8noTyPo5rTtwN_no";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches("wrong", challenge));
    }
}
