//! Every public URL Tribune mints, built in one place from `instance.base_url`.
//!
//! Ids are permanent on the fediverse: changing a path here breaks every follower's copy, so
//! paths are only ever added.

use url::Url;

/// Builds Tribune's own URLs from the public base URL.
#[derive(Debug, Clone)]
pub struct Urls {
    base: Url,
}

impl Urls {
    pub fn new(base: Url) -> Self {
        Urls { base }
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    fn at(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url
    }

    /// The actor's id; also serves its HTML profile to browsers.
    pub fn actor(&self, username: &str) -> Url {
        self.at(&format!("/actors/{username}"))
    }

    /// The id of the actor's main key (`publicKey.id`, the `keyId` of its signatures).
    pub fn actor_key(&self, username: &str) -> Url {
        let mut url = self.actor(username);
        url.set_fragment(Some("main-key"));
        url
    }

    /// The human-friendly profile page, as Mastodon users expect it (`/@username`).
    pub fn profile(&self, username: &str) -> Url {
        self.at(&format!("/@{username}"))
    }

    pub fn inbox(&self, username: &str) -> Url {
        self.at(&format!("/actors/{username}/inbox"))
    }

    pub fn outbox(&self, username: &str) -> Url {
        self.at(&format!("/actors/{username}/outbox"))
    }

    pub fn followers(&self, username: &str) -> Url {
        self.at(&format!("/actors/{username}/followers"))
    }

    pub fn following(&self, username: &str) -> Url {
        self.at(&format!("/actors/{username}/following"))
    }

    pub fn featured(&self, username: &str) -> Url {
        self.at(&format!("/actors/{username}/featured"))
    }

    pub fn shared_inbox(&self) -> Url {
        self.at("/inbox")
    }

    pub fn nodeinfo(&self, version: &str) -> Url {
        self.at(&format!("/nodeinfo/{version}"))
    }

    /// A post's permanent id; also its HTML page.
    pub fn post(&self, public_id: &str) -> Url {
        self.at(&format!("/posts/{public_id}"))
    }

    /// The id of the `Create` that published the post.
    pub fn post_create(&self, public_id: &str) -> Url {
        self.at(&format!("/posts/{public_id}/activity"))
    }

    /// The id of the collective's `Announce` of a member's post.
    pub fn post_announce(&self, public_id: &str) -> Url {
        self.at(&format!("/posts/{public_id}/announce"))
    }

    pub fn post_replies(&self, public_id: &str) -> Url {
        self.at(&format!("/posts/{public_id}/replies"))
    }

    /// The Atom feed of a post's approved replies.
    pub fn post_comments_feed(&self, public_id: &str) -> Url {
        self.at(&format!("/posts/{public_id}/comments.atom"))
    }

    pub fn post_likes(&self, public_id: &str) -> Url {
        self.at(&format!("/posts/{public_id}/likes"))
    }

    pub fn post_shares(&self, public_id: &str) -> Url {
        self.at(&format!("/posts/{public_id}/shares"))
    }

    /// Any other activity Tribune emits (Update, Delete, Accept…), by its random id.
    pub fn activity(&self, id: &str) -> Url {
        self.at(&format!("/activities/{id}"))
    }

    /// A hashtag's page, by its lowercase key.
    pub fn tag(&self, key: &str) -> Url {
        let mut url = self.at("/tags/");
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(key);
        }
        url
    }

    /// A member's public page.
    pub fn member(&self, username: &str) -> Url {
        self.at(&format!("/members/{username}"))
    }

    pub fn feed_atom(&self) -> Url {
        self.at("/feed.atom")
    }

    pub fn feed_rss(&self) -> Url {
        self.at("/feed.rss")
    }

    pub fn webfinger_template(&self) -> String {
        format!("{}.well-known/webfinger?resource={{uri}}", self.base)
    }

    /// The username if `url` is one of our actor ids (`/actors/NAME` or the `/@NAME` profile).
    pub fn username_of_actor(&self, url: &Url) -> Option<String> {
        if url.origin() != self.base.origin() {
            return None;
        }
        let path = url.path();
        let name = path
            .strip_prefix("/actors/")
            .or_else(|| path.strip_prefix("/@"))?;
        (!name.is_empty() && !name.contains('/')).then(|| name.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> Urls {
        Urls::new(Url::parse("https://collectif.example").expect("url"))
    }

    #[test]
    fn actor_urls_are_stable_paths_under_the_base() {
        let urls = urls();
        assert_eq!(
            urls.actor("collectif").as_str(),
            "https://collectif.example/actors/collectif"
        );
        assert_eq!(
            urls.actor_key("collectif").as_str(),
            "https://collectif.example/actors/collectif#main-key"
        );
        assert_eq!(
            urls.shared_inbox().as_str(),
            "https://collectif.example/inbox"
        );
        assert_eq!(
            urls.webfinger_template(),
            "https://collectif.example/.well-known/webfinger?resource={uri}"
        );
    }

    #[test]
    fn tag_urls_escape_non_ascii_keys() {
        assert_eq!(
            urls().tag("grève").as_str(),
            "https://collectif.example/tags/gr%C3%A8ve"
        );
        assert_eq!(
            urls().tag("a/b").as_str(),
            "https://collectif.example/tags/a%2Fb"
        );
    }

    #[test]
    fn only_our_own_actor_urls_map_back_to_a_username() {
        let urls = urls();
        let parse = |s: &str| Url::parse(s).expect("url");
        assert_eq!(
            urls.username_of_actor(&parse("https://collectif.example/actors/collectif")),
            Some("collectif".into())
        );
        assert_eq!(
            urls.username_of_actor(&parse("https://collectif.example/@collectif")),
            Some("collectif".into())
        );
        assert_eq!(
            urls.username_of_actor(&parse("https://evil.example/actors/collectif")),
            None
        );
        assert_eq!(
            urls.username_of_actor(&parse("http://collectif.example/actors/collectif")),
            None
        );
        assert_eq!(
            urls.username_of_actor(&parse("https://collectif.example/actors/a/inbox")),
            None
        );
    }
}
