//! The interface in French and English: message catalogs and choosing the locale.
//!
//! Catalogs are TOML files under `locales/`, one per area and language
//! (`admin.fr.toml`, `site.en.toml`…), compiled into the binary. Keys are dotted paths
//! (`admin.login.title`); a test checks every key exists in both languages. Messages may
//! contain `{name}` placeholders, filled by [`Catalog::fmt`].

use std::{collections::HashMap, sync::OnceLock};

/// A supported interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    Fr,
    En,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Fr => "fr",
            Locale::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Locale> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" => Some(Locale::Fr),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// The member's setting if any, else the best match of `Accept-Language`, else `default`.
    pub fn choose(
        member_setting: Option<&str>,
        accept_language: Option<&str>,
        default: Locale,
    ) -> Locale {
        if let Some(locale) = member_setting.and_then(Locale::parse) {
            return locale;
        }
        accept_language
            .and_then(best_of_accept_language)
            .unwrap_or(default)
    }
}

/// The first supported language of an `Accept-Language` header, by quality.
fn best_of_accept_language(header: &str) -> Option<Locale> {
    let mut best: Option<(f32, Locale)> = None;
    for range in header.split(',') {
        let mut parts = range.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let primary = tag.split('-').next().unwrap_or("");
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        if let Some(locale) = Locale::parse(primary)
            && q > 0.0
            && best.is_none_or(|(bq, _)| q > bq)
        {
            best = Some((q, locale));
        }
    }
    best.map(|(_, l)| l)
}

const SOURCES: &[(Locale, &str)] = &[
    (Locale::Fr, include_str!("../locales/admin.fr.toml")),
    (Locale::En, include_str!("../locales/admin.en.toml")),
    (Locale::Fr, include_str!("../locales/site.fr.toml")),
    (Locale::En, include_str!("../locales/site.en.toml")),
];

type Messages = HashMap<String, String>;

fn flatten(prefix: &str, table: &toml::Table, out: &mut Messages) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&path, inner, out),
            toml::Value::String(text) => {
                out.insert(path, text.clone());
            }
            other => {
                out.insert(path, other.to_string());
            }
        }
    }
}

fn catalogs() -> &'static HashMap<Locale, Messages> {
    static CATALOGS: OnceLock<HashMap<Locale, Messages>> = OnceLock::new();
    CATALOGS.get_or_init(|| {
        let mut all: HashMap<Locale, Messages> = HashMap::new();
        for (locale, source) in SOURCES {
            // The catalogs are compiled in and checked by tests; a broken one shows keys.
            let table: toml::Table = source.parse().unwrap_or_default();
            flatten("", &table, all.entry(*locale).or_default());
        }
        all
    })
}

/// The messages of one locale, handed to templates as `t`.
#[derive(Debug, Clone, Copy)]
pub struct Catalog {
    pub locale: Locale,
}

impl Catalog {
    pub fn new(locale: Locale) -> Catalog {
        Catalog { locale }
    }

    /// The message for `key`; the key itself if missing (visible, never a crash).
    pub fn get<'a>(&self, key: &'a str) -> &'a str
    where
        'static: 'a,
    {
        catalogs()
            .get(&self.locale)
            .and_then(|m| m.get(key))
            .map(String::as_str)
            .unwrap_or(key)
    }

    /// The message with `{name}` placeholders replaced.
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.get(key).to_string();
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    pub fn lang(&self) -> &'static str {
        self.locale.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_parses_and_both_languages_have_the_same_keys() {
        for (_, source) in SOURCES {
            source.parse::<toml::Table>().expect("catalog parses");
        }
        let all = catalogs();
        let fr: std::collections::BTreeSet<_> = all[&Locale::Fr].keys().collect();
        let en: std::collections::BTreeSet<_> = all[&Locale::En].keys().collect();
        let only_fr: Vec<_> = fr.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&fr).collect();
        assert!(
            only_fr.is_empty() && only_en.is_empty(),
            "fr only: {only_fr:?}; en only: {only_en:?}"
        );
    }

    #[test]
    fn the_locale_follows_member_then_browser_then_default() {
        assert_eq!(
            Locale::choose(Some("en"), Some("fr"), Locale::Fr),
            Locale::En
        );
        assert_eq!(
            Locale::choose(Some(""), Some("en-GB,en;q=0.9,fr;q=0.8"), Locale::Fr),
            Locale::En
        );
        assert_eq!(
            Locale::choose(None, Some("de-DE,fr;q=0.5,en;q=0.4"), Locale::En),
            Locale::Fr
        );
        assert_eq!(Locale::choose(None, Some("de"), Locale::Fr), Locale::Fr);
        assert_eq!(Locale::choose(None, None, Locale::En), Locale::En);
    }
}
