//! The compose/edit page: the form with what was typed, its errors, the buttons this member gets
//! for this post, and (after "Preview") the preview under it.

use askama::Template;

use super::{
    auth::CurrentMember,
    post_form::PostForm,
    preview::Preview,
    views::{self, Choice, Chrome, FieldError},
};
use crate::{
    db::post::PostBundle,
    delivery::queue::Counts,
    domain::post::{MAX_CONTENT_WARNING, MAX_SUMMARY, MAX_TITLE, Status},
    i18n::Catalog,
    state::AppState,
};

/// The post being edited, as far as the form needs to know.
pub struct Editing {
    pub public_id: String,
    pub status: Status,
    pub author_id: i64,
    pub author_name: String,
    pub pinned: bool,
    pub public_url: String,
}

impl Editing {
    pub fn of(state: &AppState, bundle: &PostBundle) -> Editing {
        Editing {
            public_id: bundle.post.public_id.clone(),
            status: bundle.status(),
            author_id: bundle.author.id,
            author_name: bundle.author.display_name.clone(),
            pinned: bundle.post.pinned_at.is_some(),
            public_url: state.urls.post(&bundle.post.public_id).to_string(),
        }
    }
}

/// Which buttons this member gets for this post.
#[derive(Default)]
pub struct Buttons {
    pub save_key: &'static str,
    pub submit: bool,
    pub publish: bool,
    pub schedule: bool,
    pub back_to_draft_key: Option<&'static str>,
}

fn buttons(me: &CurrentMember, editing: Option<&Editing>) -> Buttons {
    let publisher = me.role.can_publish();
    let status = editing.map_or(Status::Draft, |e| e.status);
    let mine = editing.is_none_or(|e| e.author_id == me.member.id);
    match status {
        Status::Draft => Buttons {
            save_key: "admin.post.save_draft",
            submit: !publisher,
            publish: publisher,
            schedule: publisher,
            back_to_draft_key: None,
        },
        Status::Review => Buttons {
            save_key: "admin.post.save",
            submit: false,
            publish: publisher,
            schedule: publisher,
            back_to_draft_key: Some(if mine && !publisher {
                "admin.post.take_back"
            } else {
                "admin.post.send_back"
            }),
        },
        Status::Scheduled => Buttons {
            save_key: "admin.post.save",
            submit: false,
            publish: publisher,
            schedule: publisher,
            back_to_draft_key: Some("admin.post.unschedule"),
        },
        Status::Published => Buttons {
            save_key: "admin.post.save_published",
            ..Buttons::default()
        },
        Status::Deleted => Buttons::default(),
    }
}

/// Whether this member may change the post (as `service::post::update` decides).
pub fn can_edit(me: &CurrentMember, editing: Option<&Editing>) -> bool {
    match editing {
        None => true,
        Some(e) => match e.status {
            Status::Draft | Status::Review => e.author_id == me.member.id || me.role.can_publish(),
            Status::Scheduled | Status::Published => me.role.can_publish(),
            Status::Deleted => false,
        },
    }
}

/// The compose/edit page.
#[derive(Template)]
#[template(path = "admin/post_form.html")]
pub struct PostPage {
    pub t: Catalog,
    pub chrome: Chrome,
    pub heading: String,
    pub action_url: String,
    pub form: PostForm,
    pub errors: Vec<FieldError>,
    /// A refusal or a conflict, shown above the form.
    pub alert: Option<String>,
    pub languages: Vec<Choice>,
    pub buttons: Buttons,
    pub read_only: bool,
    pub status_label: Option<String>,
    pub author_name: Option<String>,
    pub public_url: Option<String>,
    pub public_id: String,
    pub pinned: bool,
    pub can_pin: bool,
    pub can_delete: bool,
    pub preview: Option<Preview>,
    /// A published post: how its deliveries to followers' servers are going.
    pub deliveries: Option<Counts>,
    /// After a conflict: the text saved by someone else, to merge by hand.
    pub theirs: Option<String>,
    pub max_title: usize,
    pub max_summary: usize,
    pub max_content_warning: usize,
}

impl PostPage {
    pub fn new(
        me: &CurrentMember,
        editing: Option<&Editing>,
        form: PostForm,
        errors: Vec<FieldError>,
    ) -> PostPage {
        let t = me.t();
        let publisher = me.role.can_publish();
        let status = editing.map(|e| e.status);
        let published = status == Some(Status::Published);
        let (heading, action_url) = match editing {
            Some(e) => (
                t.get("admin.post.edit_title").to_string(),
                format!("/admin/posts/{}/edit", e.public_id),
            ),
            None => (
                t.get("admin.post.new_title").to_string(),
                "/admin/posts/new".to_string(),
            ),
        };
        let can_delete = editing.is_some_and(|e| match e.status {
            Status::Draft | Status::Review => e.author_id == me.member.id || publisher,
            Status::Scheduled | Status::Published => publisher,
            Status::Deleted => false,
        });
        PostPage {
            t,
            chrome: Chrome::of(me, if editing.is_some() { "posts" } else { "new" }),
            heading,
            action_url,
            languages: views::post_languages(&form.language),
            form,
            errors,
            alert: None,
            buttons: buttons(me, editing),
            read_only: !can_edit(me, editing),
            status_label: status.map(|s| views::status_label(t, s)),
            author_name: editing.map(|e| e.author_name.clone()),
            public_url: editing.filter(|_| published).map(|e| e.public_url.clone()),
            public_id: editing.map(|e| e.public_id.clone()).unwrap_or_default(),
            pinned: editing.is_some_and(|e| e.pinned),
            can_pin: published && publisher,
            can_delete,
            preview: None,
            deliveries: None,
            theirs: None,
            max_title: MAX_TITLE,
            max_summary: MAX_SUMMARY,
            max_content_warning: MAX_CONTENT_WARNING,
        }
    }

    pub fn with_alert(mut self, alert: String) -> PostPage {
        self.alert = Some(alert);
        self
    }

    pub fn with_deliveries(mut self, deliveries: Option<Counts>) -> PostPage {
        self.deliveries = deliveries;
        self
    }

    pub fn with_done(mut self, done: Option<&str>) -> PostPage {
        self.chrome = self.chrome.with_done(self.t, done);
        self
    }

    /// The message of `field`, for the template.
    pub fn error_for(&self, field: &str) -> Option<&str> {
        views::error_for(&self.errors, field)
    }
}
