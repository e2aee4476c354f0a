//! Markdown → safe HTML for posts, with `#hashtags` and `@user@host` mentions turned into links.
//!
//! Rendering is two-phase because mentions need the network: [`extract`] lists the hashtags and
//! mention handles, the caller resolves handles (WebFinger), then [`render`] produces the HTML.
//! Raw HTML in the Markdown is never trusted: the output goes through ammonia's allowlist, so
//! `<script>`, event handlers and `javascript:` links cannot survive.

use std::collections::{BTreeMap, HashSet};

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// A hashtag as written (`display`) and its lowercase key (for URLs and lookups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashtag {
    pub key: String,
    pub display: String,
}

/// What the text refers to, before anything is resolved.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct References {
    pub hashtags: Vec<Hashtag>,
    /// `user@host`, lowercased, in order of first appearance.
    pub mentions: Vec<String>,
}

/// How to link what [`render`] finds.
pub struct Links<'a> {
    /// The page of a hashtag, from its key.
    pub tag_url: &'a dyn Fn(&str) -> String,
    /// Profile URLs of the mentions that resolved, by lowercase `user@host`. Unresolved
    /// mentions stay plain text.
    pub mentions: &'a BTreeMap<String, String>,
}

fn options() -> Options {
    Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES
}

/// Lists hashtags and mentions outside code and links.
pub fn extract(markdown: &str) -> References {
    let mut refs = References::default();
    let mut seen_tags = HashSet::new();
    let mut seen_mentions = HashSet::new();
    for_each_plain_text(markdown, |text| {
        for token in tokens(text) {
            match token {
                Token::Hashtag(display) => {
                    let key = display.to_lowercase();
                    if seen_tags.insert(key.clone()) {
                        refs.hashtags.push(Hashtag {
                            key,
                            display: display.to_string(),
                        });
                    }
                }
                Token::Mention { user, host } => {
                    let handle = format!("{user}@{host}").to_lowercase();
                    if seen_mentions.insert(handle.clone()) {
                        refs.mentions.push(handle);
                    }
                }
                Token::Text(_) => {}
            }
        }
    });
    refs
}

/// Calls `f` on every text run that is not inside code, a link or raw HTML.
fn for_each_plain_text(markdown: &str, mut f: impl FnMut(&str)) {
    let mut depth_excluded = 0usize;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::CodeBlock(_) | Tag::Link { .. } | Tag::Image { .. }) => {
                depth_excluded += 1
            }
            Event::End(TagEnd::CodeBlock | TagEnd::Link | TagEnd::Image) => {
                depth_excluded = depth_excluded.saturating_sub(1)
            }
            Event::Text(text) if depth_excluded == 0 => f(&text),
            _ => {}
        }
    }
}

/// Renders Markdown to sanitized HTML, linking hashtags and resolved mentions the way Mastodon
/// marks them up (`class="mention hashtag" rel="tag"`, `h-card` + `u-url mention`).
pub fn render(markdown: &str, links: &Links<'_>) -> String {
    let mut depth_excluded = 0usize;
    let events = Parser::new_ext(markdown, options()).flat_map(|event| {
        let mut out: Vec<Event<'_>> = Vec::new();
        match event {
            Event::Start(Tag::CodeBlock(_) | Tag::Link { .. } | Tag::Image { .. }) => {
                depth_excluded += 1;
                out.push(event);
            }
            Event::End(TagEnd::CodeBlock | TagEnd::Link | TagEnd::Image) => {
                depth_excluded = depth_excluded.saturating_sub(1);
                out.push(event);
            }
            Event::Text(text) if depth_excluded == 0 => out.extend(link_text(&text, links)),
            // Raw HTML is shown as text, never interpreted (ammonia would strip most of it,
            // but escaping keeps what the author typed visible).
            Event::Html(raw) | Event::InlineHtml(raw) => out.push(Event::Text(raw)),
            other => out.push(other),
        }
        out
    });
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, events);
    sanitize_own(&unsafe_html)
}

fn link_text<'a>(text: &str, links: &Links<'_>) -> Vec<Event<'a>> {
    let mut events = Vec::new();
    for token in tokens(text) {
        match token {
            Token::Text(t) => events.push(Event::Text(CowStr::from(t.to_string()))),
            Token::Hashtag(display) => {
                let href = (links.tag_url)(&display.to_lowercase());
                events.push(Event::InlineHtml(CowStr::from(format!(
                    "<a href=\"{}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>",
                    html_escape::encode_double_quoted_attribute(&href),
                    html_escape::encode_text(display)
                ))));
            }
            Token::Mention { user, host } => {
                let handle = format!("{user}@{host}").to_lowercase();
                match links.mentions.get(&handle) {
                    Some(profile) => events.push(Event::InlineHtml(CowStr::from(format!(
                        "<span class=\"h-card\"><a href=\"{}\" class=\"u-url mention\">@<span>{}</span></a></span>",
                        html_escape::encode_double_quoted_attribute(profile),
                        html_escape::encode_text(user)
                    )))),
                    None => events.push(Event::Text(CowStr::from(format!("@{user}@{host}")))),
                }
            }
        }
    }
    events
}

/// The allowlist for HTML Tribune renders itself: structure and emphasis, links with safe
/// schemes, no scripts, styles, forms, frames, images or event handlers.
fn sanitize_own(html: &str) -> String {
    ammonia::Builder::default()
        .tags(HashSet::from([
            "p",
            "br",
            "a",
            "span",
            "em",
            "strong",
            "del",
            "s",
            "code",
            "pre",
            "blockquote",
            "ul",
            "ol",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "hr",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "sup",
            "sub",
            "section",
        ]))
        .generic_attributes(HashSet::new())
        .tag_attributes(std::collections::HashMap::from([
            ("a", HashSet::from(["href", "rel", "class"])),
            ("span", HashSet::from(["class"])),
            ("ol", HashSet::from(["start"])),
            ("li", HashSet::from(["id"])),
            ("sup", HashSet::from(["id"])),
            ("th", HashSet::from(["align"])),
            ("td", HashSet::from(["align"])),
        ]))
        .link_rel(None)
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .url_relative(ammonia::UrlRelative::PassThrough)
        .clean(html)
        .to_string()
}

enum Token<'a> {
    Text(&'a str),
    Hashtag(&'a str),
    Mention { user: &'a str, host: &'a str },
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_user_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn is_host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-')
}

/// Splits text into plain runs, `#hashtags` and `@user@host` mentions. A marker only starts a
/// token at the beginning or after a character that cannot be part of a word, so `a#b` and
/// `mail@example.org` stay text.
fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut plain_start = 0;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < text.len() {
        let c = bytes[i];
        let boundary = i == 0
            || text[..i].chars().next_back().is_some_and(|p| {
                !(p.is_alphanumeric() || p == '_' || p == '@' || p == '#' || p == '/')
            });
        if boundary && c == b'#' {
            let rest = &text[i + 1..];
            let len: usize = rest
                .chars()
                .take_while(|c| is_tag_char(*c))
                .map(char::len_utf8)
                .sum();
            let tag = &rest[..len];
            if valid_hashtag(tag) {
                if plain_start < i {
                    out.push(Token::Text(&text[plain_start..i]));
                }
                out.push(Token::Hashtag(tag));
                i += 1 + len;
                plain_start = i;
                continue;
            }
        }
        if boundary
            && c == b'@'
            && let Some((user, host, consumed)) = mention_at(&text[i + 1..])
        {
            if plain_start < i {
                out.push(Token::Text(&text[plain_start..i]));
            }
            out.push(Token::Mention { user, host });
            i += 1 + consumed;
            plain_start = i;
            continue;
        }
        i += text[i..].chars().next().map_or(1, char::len_utf8);
    }
    if plain_start < text.len() {
        out.push(Token::Text(&text[plain_start..]));
    }
    out
}

/// `user@host` at the start of `rest`; the host needs a dot and may not end with one.
fn mention_at(rest: &str) -> Option<(&str, &str, usize)> {
    let user_len = rest.find(|c: char| !is_user_char(c)).unwrap_or(rest.len());
    if user_len == 0 || !rest[user_len..].starts_with('@') {
        return None;
    }
    let user = rest[..user_len].trim_end_matches(['.', '-']);
    if user.len() != user_len {
        return None;
    }
    let host_part = &rest[user_len + 1..];
    let host_len = host_part
        .find(|c: char| !is_host_char(c))
        .unwrap_or(host_part.len());
    let host = host_part[..host_len].trim_end_matches(['.', '-']);
    if host.is_empty() || host.starts_with('.') {
        return None;
    }
    // A port (development servers) belongs to the host: `@alice@localhost:8080`.
    let after = &host_part[host.len()..];
    let port_len = after
        .strip_prefix(':')
        .map(|p| p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len()))
        .filter(|len| *len > 0)
        .map_or(0, |len| len + 1);
    // A public host has a dot; a dotless one (localhost) only counts with a port.
    if !host.contains('.') && port_len == 0 {
        return None;
    }
    let host = &host_part[..host.len() + port_len];
    Some((user, host, user_len + 1 + host.len()))
}

/// A hashtag has 1–100 characters of letters, digits and `_`, at least one of them not a digit
/// and not `_` (so `#1` or `#___` are not tags, as on Mastodon).
pub fn valid_hashtag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.chars().count() <= 100
        && tag.chars().all(is_tag_char)
        && tag.chars().any(|c| c.is_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(mentions: &BTreeMap<String, String>) -> Links<'_> {
        Links {
            tag_url: &|key| format!("https://c.example/tags/{key}"),
            mentions,
        }
    }

    #[test]
    fn markdown_becomes_html() {
        let none = BTreeMap::new();
        let html = render(
            "# Titre\n\nDu *texte* et **gras**, ~~barré~~.\n\n- un\n- deux",
            &links(&none),
        );
        assert!(html.contains("<h1>Titre</h1>"), "{html}");
        assert!(html.contains("<em>texte</em>"));
        assert!(html.contains("<strong>gras</strong>"));
        assert!(html.contains("<del>barré</del>"));
        assert!(html.contains("<li>un</li>"));
    }

    #[test]
    fn raw_html_and_javascript_links_are_neutralised() {
        let none = BTreeMap::new();
        let html = render(
            "<script>alert(1)</script>\n\n[clic](javascript:alert(1)) <img src=x onerror=alert(1)> <a href=\"javascript:x\">a</a>",
            &links(&none),
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("<a>clic</a>"),
            "the link loses its javascript: target: {html}"
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<a href=\"javascript"), "{html}");
        assert!(
            html.contains("&lt;script&gt;"),
            "raw HTML is shown as text: {html}"
        );
    }

    #[test]
    fn hashtags_and_mentions_are_found_outside_code_and_links() {
        let refs = extract(
            "Grève #Solidarité et #greve avec @alice@mastodon.example !\n\n`#pas_ici` [#non](https://x.example) mail@example.org a#b",
        );
        assert_eq!(
            refs.hashtags,
            vec![
                Hashtag {
                    key: "solidarité".into(),
                    display: "Solidarité".into()
                },
                Hashtag {
                    key: "greve".into(),
                    display: "greve".into()
                },
            ]
        );
        assert_eq!(refs.mentions, vec!["alice@mastodon.example".to_string()]);
        let dev = extract("salut @bob@127.0.0.1:8080, ça va ? @eve@example.org: oui");
        assert_eq!(
            dev.mentions,
            vec![
                "bob@127.0.0.1:8080".to_string(),
                "eve@example.org".to_string()
            ]
        );
    }

    #[test]
    fn hashtags_and_resolved_mentions_are_linked_like_mastodon() {
        let mut mentions = BTreeMap::new();
        mentions.insert(
            "alice@mastodon.example".to_string(),
            "https://mastodon.example/@alice".to_string(),
        );
        let html = render(
            "Merci @alice@mastodon.example et @bob@nowhere.example #Luttes",
            &links(&mentions),
        );
        assert!(html.contains(
            r#"<span class="h-card"><a href="https://mastodon.example/@alice" class="u-url mention">@<span>alice</span></a></span>"#
        ), "{html}");
        assert!(
            html.contains("@bob@nowhere.example"),
            "unresolved stays text: {html}"
        );
        assert!(html.contains(
            r#"<a href="https://c.example/tags/luttes" class="mention hashtag" rel="tag">#<span>Luttes</span></a>"#
        ), "{html}");
    }

    #[test]
    fn hashtag_validity() {
        assert!(valid_hashtag("fediverse"));
        assert!(valid_hashtag("Grève_2026"));
        assert!(!valid_hashtag("2026"));
        assert!(!valid_hashtag("___"));
        assert!(!valid_hashtag("a-b"));
        assert!(!valid_hashtag(""));
        assert!(!valid_hashtag(&"a".repeat(101)));
    }
}

/// Properties over generated Markdown with raw HTML and hostile links.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::domain::test_json::{html_fragments, live_danger_beside};
    use proptest::prelude::*;

    fn markdown() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            prop::sample::select(vec![
                "[x](javascript:alert(1))",
                "[x](JAVASCRIPT:alert(1))",
                "[x](data:text/html,a)",
                "![i](javascript:x)",
                "<javascript:alert(1)>",
                "[x]: javascript:alert(1)\n\n[x]",
                "#tag",
                "#é_t",
                "@alice@a.example",
                "**b**",
                "`code`",
                "\n\n",
                "> quote\n",
                "- item\n",
                "| a | b |\n|---|---|\n| c | d |\n",
                "[^1]\n\n[^1]: note",
                "<a href=\"javascript:x\">y</a>",
                "&#106;avascript:x",
                "[x](<javascript:x>)",
                "[x](https://a.example/\"onmouseover=\"x)",
            ])
            .prop_map(str::to_string),
            html_fragments(),
        ];
        prop::collection::vec(piece, 0..20).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn rendered_markdown_never_carries_script(text in markdown()) {
            let mentions = BTreeMap::from([(
                "alice@a.example".to_string(),
                "https://a.example/@alice".to_string(),
            )]);
            let html = render(&text, &Links { tag_url: &|k| format!("https://c.example/tags/{k}"), mentions: &mentions });
            // Members' links may be email links (`<name@host>`, the renderer's allowed schemes).
            prop_assert_eq!(live_danger_beside(&html, &["mailto:"]), None, "{} -> {}", text, html);
            let refs = extract(&text);
            prop_assert!(refs.hashtags.iter().all(|t| valid_hashtag(&t.display)));
            prop_assert!(refs.mentions.iter().all(|m| m.contains('@')));
        }
    }
}
