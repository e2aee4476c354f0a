//! Post bundles turned into what the page templates show (the one entity → page conversion):
//! plain strings, dates already formatted, URLs already built. Only `body_html`, sanitized
//! before storage, is ever marked safe by a template.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::{
    db::{entity::post, post::PostBundle},
    domain::urls::Urls,
    i18n::Locale,
};

/// A hashtag as shown: its display form and the URL of its page.
pub struct TagView {
    pub display: String,
    pub url: String,
}

/// A date for `<time datetime="…">` and as read by people.
pub struct DateView {
    pub iso: String,
    pub text: String,
}

impl DateView {
    pub fn new(at: DateTime<Utc>, locale: Locale) -> DateView {
        DateView {
            iso: at.to_rfc3339_opts(SecondsFormat::Secs, true),
            text: human_date(at, locale),
        }
    }
}

/// A date as people write it in `locale` ("3 mars 2025", "March 3, 2025").
pub fn human_date(at: DateTime<Utc>, locale: Locale) -> String {
    match locale {
        Locale::Fr => at
            .format_localized("%-d %B %Y", chrono::Locale::fr_FR)
            .to_string(),
        Locale::En => at
            .format_localized("%B %-d, %Y", chrono::Locale::en_US)
            .to_string(),
    }
}

/// A published post as pages show it.
pub struct PostView {
    pub url: String,
    /// The title the author gave, if any.
    pub title: Option<String>,
    /// What names the post in lists, `<title>` and feeds: the title, else the content warning
    /// (never the text it hides), else the start of the text.
    pub heading: String,
    /// The post's language (`lang` of its article).
    pub lang: String,
    pub author_name: String,
    pub author_url: String,
    pub published: DateView,
    pub edited: Option<DateView>,
    pub tags: Vec<TagView>,
    pub content_warning: Option<String>,
    /// A plain-text lede: the author's summary, else the start of the text.
    pub lede: String,
    /// Sanitized when the post was saved (`domain::markdown`): safe to insert as is.
    pub body_html: String,
    pub pinned: bool,
}

impl PostView {
    /// `parent_level` is the level of the heading the post's text sits under (1 on the post's
    /// page, the card's on lists): the text's own headings are renumbered to follow it.
    pub fn new(bundle: &PostBundle, urls: &Urls, locale: Locale, parent_level: u8) -> PostView {
        let post = &bundle.post;
        PostView {
            url: urls.post(&post.public_id).to_string(),
            heading: heading(post),
            title: title(post),
            lang: post.language.clone(),
            author_name: bundle.author.display_name.clone(),
            author_url: urls.member(&bundle.author.username).to_string(),
            published: DateView::new(post.published_at.unwrap_or(post.created_at), locale),
            edited: post.edited_at.map(|at| DateView::new(at, locale)),
            tags: bundle
                .tags
                .iter()
                .map(|t| TagView {
                    display: t.display.clone(),
                    url: urls.tag(&t.tag).to_string(),
                })
                .collect(),
            content_warning: post.content_warning.clone(),
            lede: post
                .summary
                .clone()
                .unwrap_or_else(|| truncate_words(&plain_text(&post.body_html), 300)),
            body_html: nest_headings(&post.body_html, parent_level),
            pinned: post.pinned_at.is_some(),
        }
    }

    /// Whether lists show the lede and a link (titled posts) or the whole text (short notes).
    pub fn is_article(&self) -> bool {
        self.title.is_some()
    }
}

/// The title the author gave, if not blank.
pub fn title(post: &post::Model) -> Option<String> {
    post.title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// What names a post where a title is needed: the title, else the content warning (never the
/// text it hides), else the start of the text.
pub fn heading(post: &post::Model) -> String {
    title(post)
        .or_else(|| post.content_warning.clone())
        .unwrap_or_else(|| truncate_words(&plain_text(&post.body_html), 80))
}

/// Posts shown as cards whose heading is of `level`.
pub fn views(bundles: &[PostBundle], urls: &Urls, locale: Locale, level: u8) -> Vec<PostView> {
    bundles
        .iter()
        .map(|b| PostView::new(b, urls, locale, level))
        .collect()
}

/// Where a heading tag (`<hN` or `</hN`) starts in sanitized HTML: (byte offset of the digit,
/// level). Text never contains a raw `<` (the sanitizer escapes it), so every match is a tag.
fn heading_tags(html: &str) -> Vec<(usize, u8)> {
    let bytes = html.as_bytes();
    let mut found = Vec::new();
    for (i, _) in html.match_indices("<h").chain(html.match_indices("</h")) {
        let digit = if bytes.get(i + 1) == Some(&b'/') {
            i + 3
        } else {
            i + 2
        };
        if let (Some(d @ b'1'..=b'6'), Some(b'>' | b' ')) = (bytes.get(digit), bytes.get(digit + 1))
        {
            found.push((digit, d - b'0'));
        }
    }
    found
}

/// Renumbers the headings of a post's text so the highest becomes `parent_level + 1` and the
/// outline of the page never skips a level (at most `h6`).
pub fn nest_headings(html: &str, parent_level: u8) -> String {
    let tags = heading_tags(html);
    let Some(top) = tags.iter().map(|(_, level)| *level).min() else {
        return html.to_string();
    };
    let shift = i16::from(parent_level) + 1 - i16::from(top);
    let mut out = html.as_bytes().to_vec();
    for (at, level) in tags {
        let new = (i16::from(level) + shift).clamp(1, 6) as u8;
        out[at] = b'0' + new;
    }
    String::from_utf8(out).unwrap_or_else(|_| html.to_string())
}

/// The text of sanitized HTML, tags dropped, entities decoded, whitespace collapsed.
pub fn plain_text(html: &str) -> String {
    let stripped = ammonia::Builder::empty().clean(html).to_string();
    one_line(&html_escape::decode_html_entities(&stripped))
}

/// Text on one line, runs of whitespace (newlines too) collapsed to one space.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max_chars` characters, cut at a word boundary, with an ellipsis when cut.
pub fn truncate_words(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let cut: String = text.chars().take(max_chars).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end_matches([',', ';', ':', '.', ' ']))
}

/// Links to the neighbouring pages of a paged list (`?page=N`, from 1).
pub struct Pager {
    pub page: u64,
    pub last: u64,
    /// Newer posts.
    pub prev: Option<String>,
    /// Older posts.
    pub next: Option<String>,
}

impl Pager {
    /// `base` is the list's URL without query; `total` the number of items.
    pub fn new(base: &str, page: u64, per_page: u64, total: u64) -> Pager {
        let last = total.div_ceil(per_page.max(1)).max(1);
        let link = |n: u64| {
            if n == 1 {
                base.to_string()
            } else {
                format!("{base}?page={n}")
            }
        };
        Pager {
            page,
            last,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < last).then(|| link(page + 1)),
        }
    }

    pub fn is_needed(&self) -> bool {
        self.last > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_the_way_each_language_does() {
        let at = DateTime::parse_from_rfc3339("2025-03-03T10:00:00Z")
            .expect("date")
            .with_timezone(&Utc);
        assert_eq!(human_date(at, Locale::Fr), "3 mars 2025");
        assert_eq!(human_date(at, Locale::En), "March 3, 2025");
        assert_eq!(DateView::new(at, Locale::Fr).iso, "2025-03-03T10:00:00Z");
    }

    #[test]
    fn plain_text_drops_markup_and_decodes_entities() {
        assert_eq!(
            plain_text("<p>Grève &amp; <strong>salaires</strong></p>\n<p>Suite</p>\n"),
            "Grève & salaires Suite"
        );
    }

    #[test]
    fn headings_of_the_text_follow_the_heading_above_it() {
        let html = "<h1>A</h1><p>h1 &lt;h1&gt;</p><h2 id=\"x\">B</h2><h6>C</h6>";
        assert_eq!(
            nest_headings(html, 1),
            "<h2>A</h2><p>h1 &lt;h1&gt;</p><h3 id=\"x\">B</h3><h6>C</h6>"
        );
        assert_eq!(
            nest_headings("<h3>A</h3><h4>B</h4>", 3),
            "<h4>A</h4><h5>B</h5>"
        );
        assert_eq!(nest_headings("<h2>A</h2>", 1), "<h2>A</h2>");
        assert_eq!(nest_headings("<p>no headings</p>", 3), "<p>no headings</p>");
        assert_eq!(nest_headings("<hr><header>", 1), "<hr><header>");
    }

    #[test]
    fn long_text_is_cut_at_a_word_boundary() {
        assert_eq!(truncate_words("un deux trois", 20), "un deux trois");
        assert_eq!(truncate_words("un deux, trois", 9), "un deux…");
    }

    #[test]
    fn the_pager_links_neighbours_and_page_one_has_no_query() {
        let pager = Pager::new("https://c.example/", 2, 10, 25);
        assert_eq!(pager.last, 3);
        assert_eq!(pager.prev.as_deref(), Some("https://c.example/"));
        assert_eq!(pager.next.as_deref(), Some("https://c.example/?page=3"));
        let only = Pager::new("https://c.example/", 1, 10, 0);
        assert!(!only.is_needed() && only.prev.is_none() && only.next.is_none());
    }
}
