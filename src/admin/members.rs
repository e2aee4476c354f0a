//! Members (admins only): the list, adding a member, changing a role, disabling and enabling an
//! account. The service refuses to demote or disable the last active admin; the page says so.

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
    views::{self, Choice, Chrome, FieldError},
};
use crate::{
    domain::member::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN, Role},
    i18n::Catalog,
    service::member::{self, MemberError},
    state::AppState,
};

#[derive(Template)]
#[template(path = "admin/members.html")]
struct MembersPage {
    t: Catalog,
    chrome: Chrome,
    rows: Vec<MemberRow>,
    form: AddMemberForm,
    roles: Vec<Choice>,
    errors: Vec<FieldError>,
    alert: Option<String>,
    min_password: usize,
}

impl MembersPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        views::error_for(&self.errors, field)
    }
}

struct MemberRow {
    username: String,
    display_name: String,
    role_label: String,
    roles: Vec<Choice>,
    disabled: bool,
    is_me: bool,
}

/// The add form as typed (the password is never shown again).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AddMemberForm {
    username: String,
    display_name: String,
    role: String,
    password: String,
}

/// What the page shows besides the list.
struct Extras {
    form: AddMemberForm,
    errors: Vec<FieldError>,
    alert: Option<String>,
    done: Option<String>,
}

async fn render(
    state: &AppState,
    me: &CurrentMember,
    status: StatusCode,
    extras: Extras,
) -> Result<Response, AdminError> {
    let t = me.t();
    let rows = member::list(&state.db)
        .await?
        .into_iter()
        .map(|m| MemberRow {
            role_label: t.get(&format!("admin.roles.{}", m.role)).to_string(),
            roles: views::roles(t, &m.role),
            is_me: m.id == me.member.id,
            username: m.username,
            display_name: m.display_name,
            disabled: m.disabled,
        })
        .collect();
    let role = if extras.form.role.is_empty() {
        Role::Author.as_str().to_string()
    } else {
        extras.form.role.clone()
    };
    let page = MembersPage {
        t,
        chrome: Chrome::of(me, "members").with_done(t, extras.done.as_deref()),
        rows,
        roles: views::roles(t, &role),
        form: AddMemberForm {
            password: String::new(),
            ..extras.form
        },
        errors: extras.errors,
        alert: extras.alert,
        min_password: MIN_PASSWORD_LEN,
    };
    views::html(status, &page)
}

/// GET /admin/members.
pub async fn page(
    State(state): State<AppState>,
    me: CurrentMember,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AdminError> {
    me.require_admin()?;
    let extras = Extras {
        form: AddMemberForm::default(),
        errors: Vec::new(),
        alert: None,
        done: query.done,
    };
    render(&state, &me, StatusCode::OK, extras).await
}

fn field(t: Catalog, field: &'static str, message: String) -> FieldError {
    FieldError {
        field,
        label: t.get(&format!("admin.members.field.{field}")).to_string(),
        message,
    }
}

/// The password rule, with the length typed.
fn password_error(t: Catalog, password: &str) -> String {
    t.fmt(
        "admin.invalid.password_length",
        &[
            ("min", &MIN_PASSWORD_LEN.to_string()),
            ("max", &MAX_PASSWORD_LEN.to_string()),
            ("actual", &password.chars().count().to_string()),
        ],
    )
}

/// A refusal of the member service as a field error, or a page for the unexpected.
fn member_problem(
    t: Catalog,
    err: MemberError,
    form: &AddMemberForm,
) -> Result<FieldError, AdminError> {
    Ok(match err {
        MemberError::InvalidUsername(_) => field(
            t,
            "username",
            t.fmt(
                "admin.members.invalid_username",
                &[("max", &crate::domain::handle::MAX_USERNAME_LEN.to_string())],
            ),
        ),
        MemberError::UsernameTaken(name) => field(
            t,
            "username",
            t.fmt("admin.members.username_taken", &[("name", &name)]),
        ),
        MemberError::InvalidPassword(_) => field(t, "password", password_error(t, &form.password)),
        MemberError::DisplayNameTooLong => field(
            t,
            "display_name",
            t.fmt(
                "admin.invalid.too_long",
                &[
                    ("max", "100"),
                    (
                        "actual",
                        &form.display_name.trim().chars().count().to_string(),
                    ),
                ],
            ),
        ),
        other => return Err(other.into()),
    })
}

/// POST /admin/members: adds a member.
pub async fn add(
    State(state): State<AppState>,
    Posted { me, mut form }: Posted<AddMemberForm>,
) -> Result<Response, AdminError> {
    me.require_admin()?;
    let t = me.t();
    form.username = form.username.trim().to_lowercase();
    let problem = match Role::parse(&form.role) {
        None => field(t, "role", t.get("admin.members.unknown_role").to_string()),
        Some(role) => {
            let reserved = [state.collective.username.as_str()];
            let added = member::add(
                &state.db,
                &form.username,
                &form.display_name,
                role,
                &form.password,
                &reserved,
            )
            .await;
            match added {
                Ok(_) => {
                    return Ok(Redirect::to("/admin/members?done=member_added").into_response());
                }
                Err(err) => member_problem(t, err, &form)?,
            }
        }
    };
    let extras = Extras {
        form,
        errors: vec![problem],
        alert: None,
        done: None,
    };
    render(&state, &me, StatusCode::UNPROCESSABLE_ENTITY, extras).await
}

/// The members page with a refusal on top (the last admin, an unknown role…).
async fn refused(
    state: &AppState,
    me: &CurrentMember,
    status: StatusCode,
    alert: String,
) -> Result<Response, AdminError> {
    let extras = Extras {
        form: AddMemberForm::default(),
        errors: Vec::new(),
        alert: Some(alert),
        done: None,
    };
    render(state, me, status, extras).await
}

async fn after_change(
    state: &AppState,
    me: &CurrentMember,
    result: Result<(), MemberError>,
    done: &str,
) -> Result<Response, AdminError> {
    let t = me.t();
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/admin/members?done={done}")).into_response()),
        Err(MemberError::LastAdmin(name)) => {
            let alert = t.fmt("admin.members.last_admin", &[("name", &name)]);
            refused(state, me, StatusCode::CONFLICT, alert).await
        }
        Err(MemberError::NotFound(_)) => Err(me.not_found()),
        Err(err) => Err(err.into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RoleForm {
    role: String,
}

/// POST /admin/members/{username}/role.
pub async fn set_role(
    State(state): State<AppState>,
    Path(username): Path<String>,
    Posted { me, form }: Posted<RoleForm>,
) -> Result<Response, AdminError> {
    me.require_admin()?;
    let Some(role) = Role::parse(&form.role) else {
        let alert = me.t().get("admin.members.unknown_role").to_string();
        return refused(&state, &me, StatusCode::UNPROCESSABLE_ENTITY, alert).await;
    };
    let result = member::set_role(&state.db, &username, role).await;
    after_change(&state, &me, result, "role_changed").await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccessForm {
    /// `1` disables the account, `0` enables it again.
    disabled: String,
}

/// POST /admin/members/{username}/access: disables or enables an account.
pub async fn set_access(
    State(state): State<AppState>,
    Path(username): Path<String>,
    Posted { me, form }: Posted<AccessForm>,
) -> Result<Response, AdminError> {
    me.require_admin()?;
    let disabled = form.disabled == "1";
    let result = member::set_disabled(&state.db, &username, disabled).await;
    let done = if disabled { "disabled" } else { "enabled" };
    after_change(&state, &me, result, done).await
}
