//! The Atom and RSS feeds of the latest published posts, and the Atom feed of each published
//! post's approved replies, written by the `atom_syndication` and `rss` crates. Feeds are the
//! same for every reader, so their few words (the content-warning label) are in
//! `instance.default_locale`.

use axum::{
    extract::{Path, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, FixedOffset, Utc};

use super::{
    thread::{ActorView, web_url},
    view::heading,
};
use crate::{
    db::{self, post::PostBundle},
    domain::post::Status,
    error::{AppError, AppResult},
    i18n::{Catalog, Locale},
    state::AppState,
};

/// Replies in a post's comments feed (the latest).
const COMMENTS_IN_FEED: u64 = 50;

/// One post as both feeds show it.
struct FeedItem {
    url: String,
    title: String,
    author_name: String,
    author_url: String,
    content_html: String,
    summary: Option<String>,
    published: DateTime<Utc>,
    updated: DateTime<Utc>,
    /// (key, display form, tag page URL)
    categories: Vec<(String, String, String)>,
    language: String,
}

fn item(state: &AppState, t: &Catalog, bundle: &PostBundle) -> FeedItem {
    let post = &bundle.post;
    let urls = &state.urls;
    // Feed readers know nothing of content warnings: say it before the text.
    let content_html = match &post.content_warning {
        Some(cw) => format!(
            "<p><strong>{}</strong></p>{}",
            html_escape::encode_text(&t.fmt("site.feed.content_warning", &[("warning", cw)])),
            post.body_html
        ),
        None => post.body_html.clone(),
    };
    let published = post.published_at.unwrap_or(post.created_at);
    FeedItem {
        url: urls.post(&post.public_id).to_string(),
        title: heading(post),
        author_name: bundle.author.display_name.clone(),
        author_url: urls.member(&bundle.author.username).to_string(),
        content_html,
        summary: post.summary.clone(),
        published,
        updated: post.edited_at.unwrap_or(published),
        categories: bundle
            .tags
            .iter()
            .map(|tag| {
                (
                    tag.tag.clone(),
                    tag.display.clone(),
                    urls.tag(&tag.tag).to_string(),
                )
            })
            .collect(),
        language: post.language.clone(),
    }
}

/// The messages of the feeds: `instance.default_locale`.
fn feed_catalog(state: &AppState) -> Catalog {
    Catalog::new(Locale::parse(&state.settings.instance.default_locale).unwrap_or(Locale::Fr))
}

/// The latest published posts (one page), in a fixed number of queries.
async fn items(state: &AppState) -> AppResult<Vec<FeedItem>> {
    let per_page = state.settings.publishing.page_size;
    let bundles = db::post::published_page(&state.db, 0, per_page).await?;
    let t = feed_catalog(state);
    Ok(bundles.iter().map(|b| item(state, &t, b)).collect())
}

fn xml_response(content_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

fn fixed(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.fixed_offset()
}

/// `/feed.atom`
pub async fn atom(State(state): State<AppState>) -> AppResult<Response> {
    use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Text};
    let items = items(&state).await?;
    let collective = &state.settings.collective;
    let link = |href: String, rel: &str, mime: &str| Link {
        href,
        rel: rel.into(),
        mime_type: Some(mime.into()),
        ..Default::default()
    };
    let entries: Vec<Entry> = items
        .into_iter()
        .map(|item| Entry {
            id: item.url.clone(),
            title: Text::plain(item.title),
            updated: fixed(item.updated),
            published: Some(fixed(item.published)),
            authors: vec![Person {
                name: item.author_name,
                uri: Some(item.author_url),
                ..Default::default()
            }],
            links: vec![link(item.url, "alternate", "text/html")],
            summary: item.summary.map(Text::plain),
            content: Some(Content {
                value: Some(item.content_html),
                content_type: Some("html".into()),
                lang: Some(item.language),
                ..Default::default()
            }),
            categories: item
                .categories
                .into_iter()
                .map(|(term, label, _)| Category {
                    term,
                    label: Some(label),
                    scheme: None,
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let updated = entries
        .iter()
        .map(|e| e.updated)
        .max()
        .unwrap_or_else(|| fixed(state.collective.created_at));
    let feed = Feed {
        id: state.urls.feed_atom().to_string(),
        title: Text::plain(collective.name.clone()),
        subtitle: (!collective.summary.trim().is_empty())
            .then(|| Text::plain(collective.summary.trim().to_string())),
        updated,
        authors: vec![Person {
            name: collective.name.clone(),
            uri: Some(state.urls.profile(&state.collective.username).to_string()),
            ..Default::default()
        }],
        links: vec![
            link(
                state.urls.feed_atom().to_string(),
                "self",
                "application/atom+xml",
            ),
            link(state.urls.base().to_string(), "alternate", "text/html"),
        ],
        generator: Some(Generator {
            value: "Tribune".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Default::default()
        }),
        icon: state
            .settings
            .resolve_media_url(&collective.icon_url)
            .map(|u| u.to_string()),
        entries,
        ..Default::default()
    };
    let body = feed
        .write_to(Vec::new())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("atom feed: {e}")))?;
    Ok(xml_response("application/atom+xml; charset=utf-8", body))
}

/// `/feed.rss`: RSS 2.0, authors as `dc:creator` (RSS's own `author` must be an e-mail
/// address), with an `atom:link rel="self"` as the RSS Advisory Board recommends.
pub async fn rss(State(state): State<AppState>) -> AppResult<Response> {
    use rss::{
        Category, Channel, Guid, Item,
        extension::{atom::AtomExtension, dublincore::DublinCoreExtension},
    };
    let items = items(&state).await?;
    let collective = &state.settings.collective;
    let rss_items: Vec<Item> = items
        .into_iter()
        .map(|item| Item {
            title: Some(item.title),
            link: Some(item.url.clone()),
            guid: Some(Guid {
                value: item.url,
                permalink: true,
            }),
            pub_date: Some(item.published.to_rfc2822()),
            description: Some(item.content_html),
            categories: item
                .categories
                .into_iter()
                .map(|(_, display, scheme)| Category {
                    name: display,
                    domain: Some(scheme),
                })
                .collect(),
            dublin_core_ext: Some(DublinCoreExtension {
                creators: vec![item.author_name],
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let last_build = rss_items.first().and_then(|i| i.pub_date.clone());
    let mut namespaces = std::collections::BTreeMap::new();
    namespaces.insert("atom".into(), rss::extension::atom::NAMESPACE.into());
    namespaces.insert("dc".into(), rss::extension::dublincore::NAMESPACE.into());
    let summary = collective.summary.trim();
    let channel = Channel {
        title: collective.name.clone(),
        link: state.urls.base().to_string(),
        description: if summary.is_empty() {
            collective.name.clone()
        } else {
            summary.to_string()
        },
        language: Some(state.settings.instance.default_locale.clone()),
        generator: Some(format!("Tribune {}", env!("CARGO_PKG_VERSION"))),
        last_build_date: last_build,
        atom_ext: Some(AtomExtension {
            links: vec![atom_syndication::Link {
                href: state.urls.feed_rss().to_string(),
                rel: "self".into(),
                mime_type: Some("application/rss+xml".into()),
                ..Default::default()
            }],
        }),
        items: rss_items,
        namespaces,
        ..Default::default()
    };
    let body = channel
        .write_to(Vec::new())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("rss feed: {e}")))?;
    Ok(xml_response("application/rss+xml; charset=utf-8", body))
}

/// `/posts/{public_id}/comments.atom`: the latest approved replies to a published post, newest
/// first (404 for any other post, as its page). Remote HTML was sanitized before storage; the
/// warning and names are escaped by the writer.
pub async fn comments_atom(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
) -> AppResult<Response> {
    use atom_syndication::{Content, Entry, Feed, Generator, Link, Person, Text};
    let Some(post) = db::post::find_by_public_id(&state.db, &public_id)
        .await?
        .filter(|p| p.status == Status::Published.as_str())
    else {
        return Ok(super::not_found(&state));
    };
    let comments = db::comment::latest_approved(&state.db, post.id, COMMENTS_IN_FEED).await?;
    let t = feed_catalog(&state);
    let post_url = state.urls.post(&post.public_id).to_string();
    let feed_url = state.urls.post_comments_feed(&post.public_id).to_string();
    let link = |href: String, rel: &str, mime: &str| Link {
        href,
        rel: rel.into(),
        mime_type: Some(mime.into()),
        ..Default::default()
    };
    let entries: Vec<Entry> =
        comments
            .iter()
            .map(|c| {
                let author = ActorView::new(&c.author, false);
                let comment = &c.comment;
                let warning = comment
                    .summary
                    .as_deref()
                    .map(super::view::one_line)
                    .filter(|s| !s.is_empty());
                let content_html = match &warning {
                    Some(cw) => format!(
                        "<p><strong>{}</strong></p>{}",
                        html_escape::encode_text(
                            &t.fmt("site.feed.content_warning", &[("warning", cw)])
                        ),
                        comment.content_html
                    ),
                    None => comment.content_html.clone(),
                };
                let published = fixed(comment.published_at);
                Entry {
                    id: comment.object_url.clone(),
                    title: Text::plain(warning.unwrap_or_else(|| {
                        t.fmt("site.thread.reply_by", &[("name", &author.name)])
                    })),
                    updated: comment.updated_at.map_or(published, fixed),
                    published: Some(published),
                    authors: vec![Person {
                        name: format!("{} (@{})", author.name, author.handle),
                        uri: author.url,
                        ..Default::default()
                    }],
                    links: comment
                        .url
                        .as_deref()
                        .and_then(web_url)
                        .map(|url| vec![link(url, "alternate", "text/html")])
                        .unwrap_or_default(),
                    content: Some(Content {
                        value: Some(content_html),
                        content_type: Some("html".into()),
                        lang: comment
                            .language
                            .as_deref()
                            .and_then(super::thread::language_tag),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            })
            .collect();
    let updated = entries
        .iter()
        .map(|e| e.updated)
        .max()
        .unwrap_or_else(|| fixed(post.published_at.unwrap_or(post.created_at)));
    let feed = Feed {
        id: feed_url.clone(),
        title: Text::plain(t.fmt("site.thread.feed_title", &[("title", &heading(&post))])),
        updated,
        authors: vec![Person {
            name: state.settings.collective.name.clone(),
            uri: Some(state.urls.profile(&state.collective.username).to_string()),
            ..Default::default()
        }],
        links: vec![
            link(feed_url, "self", "application/atom+xml"),
            link(post_url, "alternate", "text/html"),
        ],
        generator: Some(Generator {
            value: "Tribune".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Default::default()
        }),
        entries,
        ..Default::default()
    };
    let body = feed
        .write_to(Vec::new())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("comments feed: {e}")))?;
    Ok(xml_response("application/atom+xml; charset=utf-8", body))
}
