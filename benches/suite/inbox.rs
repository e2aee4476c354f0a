//! Inbox traffic: the remote actors' keys and the pre-signed `Create`/`Like` requests (each with
//! a unique id, signed as Mastodon signs: draft-cavage rsa-sha256 over
//! `(request-target) host date digest content-type`), plus the malformed ones of the rejection
//! scenarios.

use std::path::Path;

use aws_lc_rs::{rand::SystemRandom, signature as lc};
use base64::{Engine, engine::general_purpose::STANDARD};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::roles::Signed;

/// Instances whose actors send activities (actors share their instance's key: one key per host
/// keeps key generation short while every actor is fetched and cached on its own).
pub const KEY_HOSTS: usize = 10;
/// Actors per such instance.
pub const ACTORS_PER_HOST: usize = 100;
pub const ACTORS: usize = KEY_HOSTS * ACTORS_PER_HOST;

/// Generates one RSA-2048 key per actor host, `N.key.pem` (PKCS#8) and `N.pub.pem` in `dir`.
pub fn generate_keys(dir: &Path) {
    std::fs::create_dir_all(dir).expect("keys dir");
    std::thread::scope(|scope| {
        for i in 0..KEY_HOSTS {
            scope.spawn(move || {
                let keys = activitypub_federation::http_signatures::generate_actor_keypair()
                    .expect("key pair");
                std::fs::write(dir.join(format!("{i}.key.pem")), keys.private_key).expect("key");
                std::fs::write(dir.join(format!("{i}.pub.pem")), keys.public_key).expect("key");
            });
        }
    });
}

/// Signs requests to one inbox.
pub struct Signer {
    keys: Vec<lc::RsaKeyPair>,
    rng: SystemRandom,
    /// Stand-in base URLs (`http://localhost:port`), the first `KEY_HOSTS` of which have actors.
    pub bases: Vec<String>,
    /// Tribune's `host:port` and the inbox path.
    host: String,
    path: String,
}

impl Signer {
    pub fn new(keys_dir: &Path, bases: Vec<String>, host: String, path: &str) -> Signer {
        let keys = (0..KEY_HOSTS)
            .map(|i| {
                let pem = std::fs::read_to_string(keys_dir.join(format!("{i}.key.pem")))
                    .expect("key file");
                let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).expect("pkcs8");
                let der = key.to_pkcs8_der().expect("der");
                lc::RsaKeyPair::from_pkcs8(der.as_bytes()).expect("aws-lc key")
            })
            .collect();
        Signer {
            keys,
            rng: SystemRandom::new(),
            bases,
            host,
            path: path.to_string(),
        }
    }

    /// The actor number `a` (0..ACTORS): its host index and URL.
    pub fn actor(&self, a: usize) -> (usize, String) {
        let host = a % KEY_HOSTS;
        (
            host,
            format!("{}/users/u{}", self.bases[host], a / KEY_HOSTS),
        )
    }

    /// Signs `body` as actor `a`; `date` and `digest_of` override the honest values to forge the
    /// rejection scenarios.
    pub fn sign(
        &self,
        a: usize,
        body: String,
        date: Option<String>,
        digest_of: Option<&[u8]>,
    ) -> Signed {
        let (host_index, actor) = self.actor(a);
        let date = date.unwrap_or_else(|| httpdate::fmt_http_date(std::time::SystemTime::now()));
        let digest = format!(
            "SHA-256={}",
            STANDARD.encode(Sha256::digest(digest_of.unwrap_or(body.as_bytes())))
        );
        let content_type = "application/activity+json";
        let signing_string = format!(
            "(request-target): post {}\nhost: {}\ndate: {date}\ndigest: {digest}\ncontent-type: {content_type}",
            self.path, self.host
        );
        let key = &self.keys[host_index];
        let mut signature = vec![0; key.public_modulus_len()];
        key.sign(
            &lc::RSA_PKCS1_SHA256,
            &self.rng,
            signing_string.as_bytes(),
            &mut signature,
        )
        .expect("sign");
        let header = format!(
            "keyId=\"{actor}#main-key\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest content-type\",signature=\"{}\"",
            STANDARD.encode(signature)
        );
        (
            body,
            vec![
                ("host".into(), self.host.clone()),
                ("date".into(), date),
                ("digest".into(), digest),
                ("content-type".into(), content_type.into()),
                ("signature".into(), header),
            ],
        )
    }
}

/// Activity `i` of a run: even numbers reply to a post (`Create{Note}`), odd ones `Like` one;
/// actor `i % ACTORS`, post `(i / ACTORS) % posts.len()`, so every Like is a new
/// (actor, post) pair for `i < ACTORS * posts.len()`.
pub fn activity(signer: &Signer, tag: &str, i: usize, posts: &[String]) -> (usize, String) {
    let a = i % ACTORS;
    let (host, actor) = signer.actor(a);
    let base = &signer.bases[host];
    let post = &posts[(i / ACTORS) % posts.len()];
    let public = "https://www.w3.org/ns/activitystreams#Public";
    let doc = if i.is_multiple_of(2) {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{base}/activities/{tag}-{i}"),
            "type": "Create",
            "actor": actor,
            "to": [public],
            "object": {
                "id": format!("{base}/notes/{tag}-{i}"),
                "type": "Note",
                "attributedTo": actor,
                "inReplyTo": post,
                "content": format!("<p>Une réponse, la numéro {i}, avec <a href=\"https://example.org/\">un lien</a>.</p>"),
                "published": "2026-11-29T10:00:00Z",
                "to": [public],
            },
        })
    } else {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{base}/activities/{tag}-{i}"),
            "type": "Like",
            "actor": actor,
            "object": post,
        })
    };
    (a, doc.to_string())
}

/// Signs activities `range` on both cores and writes them as JSON lines to `file`.
pub fn write_signed(
    signer: &Signer,
    tag: &str,
    range: std::ops::Range<usize>,
    posts: &[String],
    file: &Path,
) {
    let indices: Vec<usize> = range.collect();
    let half = indices.len().div_ceil(2).max(1);
    let lines: Vec<String> = std::thread::scope(|scope| {
        let parts: Vec<_> = indices
            .chunks(half)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|&i| {
                            let (a, body) = activity(signer, tag, i, posts);
                            serde_json::to_string(&signer.sign(a, body, None, None)).expect("json")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("signing thread"))
            .collect()
    });
    std::fs::write(file, lines.join("\n") + "\n").expect("requests file");
}
