//! Turning the plain text of settings (the collective's presentation) into safe HTML.

/// Escapes `text` and turns blank-line-separated paragraphs into `<p>` and single newlines into
/// `<br>`: the HTML shape Mastodon expects in an actor's `summary`.
pub fn plain_text_to_html(text: &str) -> String {
    text.trim()
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lines: Vec<String> = p
                .lines()
                .map(|line| html_escape::encode_text(line.trim()).into_owned())
                .collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_and_line_breaks_become_html() {
        assert_eq!(
            plain_text_to_html("Un collectif.\nDe travailleurs.\n\nÉcrivez-nous."),
            "<p>Un collectif.<br>De travailleurs.</p><p>Écrivez-nous.</p>"
        );
        assert_eq!(plain_text_to_html("   "), "");
    }

    #[test]
    fn markup_is_escaped_not_interpreted() {
        assert_eq!(
            plain_text_to_html("<script>alert(1)</script> & co"),
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</p>"
        );
    }
}
