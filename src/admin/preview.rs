//! The preview: a post rendered exactly as it will be published, without saving it — on the
//! collective's site, and as Mastodon will display it (a Note in full, behind its content warning
//! if any; an Article as its title, lede and a link). Shown under the form after "Preview", and
//! alone for the live preview of `static/admin.js`.

use askama::Template;
use axum::{extract::State, http::StatusCode, response::Response};

use super::{
    auth::{CurrentMember, Posted},
    failure::AdminError,
    post_form::{PostForm, field_errors},
    post_page::{Editing, PostPage},
    posts::{editable, invalid},
    views::{self, FieldError},
};
use crate::{
    db::{entity::member, post::PostBundle},
    federation::objects,
    i18n::Catalog,
    service::post as service,
    state::AppState,
};

/// What the preview shows: the public page, and the post as Mastodon will display it.
pub struct Preview {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub language: String,
    pub author: String,
    /// Sanitized by `domain::markdown::render`.
    pub body_html: String,
    pub tags: Vec<String>,
    /// `Note` or `Article`.
    pub kind: &'static str,
    /// Shown by Mastodon in place of the text until the reader opens it (Notes only).
    pub mastodon_warning: Option<String>,
    /// Built from escaped text and the sanitized body.
    pub mastodon_html: String,
    pub collective_name: String,
    pub handle: String,
}

impl Preview {
    /// `public_url` is where the post will be (the link Mastodon shows under an Article).
    pub fn of(state: &AppState, bundle: &PostBundle, public_url: &str) -> Preview {
        let post = &bundle.post;
        let kind = objects::object_type(bundle);
        let (mastodon_warning, mastodon_html) = if kind == "Article" {
            // Mastodon turns an Article into its title, its summary and a link to the page.
            let title = html_escape::encode_text(post.title.as_deref().unwrap_or_default());
            let link = html_escape::encode_double_quoted_attribute(public_url);
            let text = html_escape::encode_text(public_url);
            let html = format!(
                "<h2>{title}</h2>{}<p><a href=\"{link}\">{text}</a></p>",
                objects::lede(bundle)
            );
            (None, html)
        } else {
            (post.content_warning.clone(), objects::content_html(bundle))
        };
        Preview {
            title: post.title.clone(),
            summary: post.summary.clone(),
            language: post.language.clone(),
            author: bundle.author.display_name.clone(),
            body_html: post.body_html.clone(),
            tags: bundle
                .tags
                .iter()
                .map(|t| format!("#{}", t.display))
                .collect(),
            kind,
            mastodon_warning,
            mastodon_html,
            collective_name: state.settings.collective.name.clone(),
            handle: format!("@{}@{}", state.collective.username, state.settings.domain()),
        }
    }
}

/// The preview alone, for the live preview of `static/admin.js`.
#[derive(Template)]
#[template(path = "admin/preview_fragment.html")]
pub struct PreviewFragment {
    pub t: Catalog,
    pub preview: Option<Preview>,
    pub errors: Vec<FieldError>,
}

/// The form with the preview under it; nothing is saved.
pub async fn preview_page(
    state: &AppState,
    me: &CurrentMember,
    editing: Option<&Editing>,
    author: &member::Model,
    form: PostForm,
) -> Result<Response, AdminError> {
    match service::preview(state, author, form.input()).await {
        Ok(bundle) => {
            let url = editing.map_or_else(|| future_url(state), |e| e.public_url.clone());
            let preview = Preview::of(state, &bundle, &url);
            let mut page = PostPage::new(me, editing, form, Vec::new());
            page.preview = Some(preview);
            views::html(StatusCode::OK, &page)
        }
        Err(problems) => invalid(me, editing, form, field_errors(me.t(), &problems)),
    }
}

/// Where a post that has no id yet will be, as shown in the preview.
fn future_url(state: &AppState) -> String {
    format!("{}posts/…", state.urls.base())
}

/// POST /admin/posts/preview: the preview alone, for `static/admin.js` (live preview).
pub async fn live_preview(
    State(state): State<AppState>,
    Posted { me, form }: Posted<PostForm>,
) -> Result<Response, AdminError> {
    let (author, url) = if form.post.is_empty() {
        (me.member.clone(), future_url(&state))
    } else {
        let bundle = editable(&state, &me, &form.post).await?;
        let url = state.urls.post(&bundle.post.public_id).to_string();
        (bundle.author, url)
    };
    let t = me.t();
    let (status, fragment) = match service::preview(&state, &author, form.input()).await {
        Ok(bundle) => (
            StatusCode::OK,
            PreviewFragment {
                t,
                preview: Some(Preview::of(&state, &bundle, &url)),
                errors: Vec::new(),
            },
        ),
        Err(problems) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            PreviewFragment {
                t,
                preview: None,
                errors: field_errors(t, &problems),
            },
        ),
    };
    views::html(status, &fragment)
}
