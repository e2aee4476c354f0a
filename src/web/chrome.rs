//! What every public page shares around its content: the visitor's language, the site's name,
//! the navigation and the feed links of the layout (`templates/base.html`).
//!
//! The language is chosen per request from `Accept-Language`. Pages reached through a
//! negotiated URL (a post, the actor) are rendered by functions that only receive the state, so
//! the header is remembered for the duration of the request in a task-local by
//! [`RememberAcceptLanguage`], a layer installed once on the whole router.

use std::task::{Context, Poll};

use axum::http::{Request, header};
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};

use super::view::Pager;
use crate::{
    i18n::{Catalog, Locale},
    state::AppState,
};

tokio::task_local! {
    static ACCEPT_LANGUAGE: Option<String>;
}

/// The layer that keeps the request's `Accept-Language` for the pages rendered while serving
/// it. A plain tower layer rather than `from_fn`: it runs on every request, and this way costs
/// no boxed future and no clone of the router's service.
#[derive(Clone, Copy, Default)]
pub struct RememberAcceptLanguage;

impl<S> Layer<S> for RememberAcceptLanguage {
    type Service = AcceptLanguageScope<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AcceptLanguageScope(inner)
    }
}

/// See [`RememberAcceptLanguage`].
#[derive(Clone)]
pub struct AcceptLanguageScope<S>(S);

impl<S, B> Service<Request<B>> for AcceptLanguageScope<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TaskLocalFuture<Option<String>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let accept = request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        ACCEPT_LANGUAGE.scope(accept, self.0.call(request))
    }
}

/// The visitor's interface language: `Accept-Language`, else `instance.default_locale`.
pub fn visitor_locale(state: &AppState) -> Locale {
    let default = Locale::parse(&state.settings.instance.default_locale).unwrap_or(Locale::Fr);
    let accept = ACCEPT_LANGUAGE.try_with(Clone::clone).ok().flatten();
    Locale::choose(None, accept.as_deref(), default)
}

/// The layout's data, handed to every page template as `chrome`.
pub struct Chrome {
    /// The interface messages (`chrome.t.get("site.…")`).
    pub t: Catalog,
    /// The `lang` of `<html>`: the interface language.
    pub lang: &'static str,
    pub site_name: String,
    pub home_url: String,
    pub profile_url: String,
    pub atom_url: String,
    pub rss_url: String,
    /// The `title` of the feeds' `<link rel="alternate">`.
    pub atom_title: String,
    pub rss_title: String,
}

impl Chrome {
    pub fn new(state: &AppState) -> Chrome {
        Self::for_locale(state, visitor_locale(state))
    }

    pub fn for_locale(state: &AppState, locale: Locale) -> Chrome {
        let urls = &state.urls;
        let t = Catalog::new(locale);
        let name = state.settings.collective.name.as_str();
        Chrome {
            atom_title: t.fmt("site.feed.atom_title", &[("name", name)]),
            rss_title: t.fmt("site.feed.rss_title", &[("name", name)]),
            t,
            lang: locale.as_str(),
            site_name: state.settings.collective.name.clone(),
            home_url: urls.base().to_string(),
            profile_url: urls.profile(&state.collective.username).to_string(),
            atom_url: urls.feed_atom().to_string(),
            rss_url: urls.feed_rss().to_string(),
        }
    }

    /// A message with `{name}` placeholders filled.
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.t.fmt(key, args)
    }

    /// A count in words: `{key}_one` or `{key}_many` by the language's rule (French puts 0 in
    /// the singular, English in the plural), with `{count}` filled.
    pub fn count(&self, key: &str, n: u64) -> String {
        let singular = match self.t.locale {
            crate::i18n::Locale::Fr => n <= 1,
            crate::i18n::Locale::En => n == 1,
        };
        let suffix = if singular { "one" } else { "many" };
        self.fmt(&format!("{key}_{suffix}"), &[("count", &n.to_string())])
    }

    /// "Page 2 of 5", for the pager.
    pub fn page_of(&self, pager: &Pager) -> String {
        self.fmt(
            "site.list.page_of",
            &[
                ("page", &pager.page.to_string()),
                ("last", &pager.last.to_string()),
            ],
        )
    }
}
