//! Checking the HTTP signature (draft-cavage) of an incoming POST, cheapest checks first: the
//! header's form, the signed headers, the `Date` window and the `Digest` of the exact body are
//! all checked before any key is fetched or any RSA work is done.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::http::{HeaderMap, Method};
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::http_signature::VerifyingKey;

/// Why a signed request is refused. All of these answer 401, so that senders that try several
/// signature formats ("double knocking") retry with another one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed (no Signature header)")]
    Missing,
    #[error("only draft-cavage HTTP signatures are accepted (RFC 9421 Signature-Input is not)")]
    UnsupportedFormat,
    #[error("unsupported signature algorithm {0:?} (rsa-sha256 and hs2019 are accepted)")]
    UnsupportedAlgorithm(String),
    #[error("malformed Signature header: {0}")]
    Malformed(String),
    #[error("the signature must cover {0}")]
    HeaderNotSigned(&'static str),
    #[error("missing or malformed Date header")]
    BadDate,
    #[error("the Date header is out of the accepted window")]
    DateOutOfWindow,
    #[error("the signature has expired")]
    Expired,
    #[error("missing Digest header, or no SHA-256 digest in it")]
    MissingDigest,
    #[error("the Digest header does not match the body")]
    DigestMismatch,
    #[error("the signed Host is not this server")]
    WrongHost,
    #[error("the signature does not verify with the actor's key")]
    BadSignature,
    #[error("the actor's public key is unusable")]
    BadKey,
}

/// The parts of a `Signature` header Tribune needs before verifying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    pub key_id: String,
    pub algorithm: Option<String>,
    pub headers: Vec<String>,
}

/// The `key="value"` (or `key=value`) pairs of a `Signature` header, keys as written. A quoted
/// value runs to the next `"` (keyIds are URLs, the signature is base64: neither holds one); an
/// unquoted one (`created=…`) to the next comma. Borrowed, not copied: this runs on every
/// request the inbox receives, before anything else (an owned map of every pair was ~4 % of
/// the inbox's CPU in `perf`).
fn params_of(value: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut rest = value;
    std::iter::from_fn(move || {
        loop {
            let (key, after) = rest.split_once('=')?;
            let after = after.trim_start();
            let (value, next) = match after.strip_prefix('"') {
                Some(quoted) => match quoted.split_once('"') {
                    Some((value, next)) => (value, next),
                    None => (quoted, ""),
                },
                None => {
                    let (value, next) = after.split_once(',').unwrap_or((after, ""));
                    (value.trim_end(), next)
                }
            };
            rest = next.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
            let key = key.trim().trim_start_matches(',').trim();
            if !key.is_empty() {
                return Some((key, value));
            }
        }
    })
}

/// Reads the `Signature` (or `Authorization: Signature …`) header.
pub fn parse_params(headers: &HeaderMap) -> Result<SignatureParams, SignatureError> {
    let raw = match headers.get("signature") {
        Some(value) => value
            .to_str()
            .map_err(|_| SignatureError::Malformed("not ASCII".into()))?,
        None => match headers.get("authorization").and_then(|v| v.to_str().ok()) {
            Some(auth) if auth.starts_with("Signature ") => &auth["Signature ".len()..],
            _ if headers.contains_key("signature-input") => {
                return Err(SignatureError::UnsupportedFormat);
            }
            _ => return Err(SignatureError::Missing),
        },
    };
    if headers.contains_key("signature-input") && !raw.contains("keyId=") {
        return Err(SignatureError::UnsupportedFormat);
    }
    let (mut key_id, mut algorithm, mut covered, mut signed) = (None, None, None, false);
    for (key, value) in params_of(raw) {
        // The last of a repeated key wins, as it did in a map.
        if key.eq_ignore_ascii_case("keyid") {
            key_id = Some(value);
        } else if key.eq_ignore_ascii_case("algorithm") {
            algorithm = Some(value);
        } else if key.eq_ignore_ascii_case("headers") {
            covered = Some(value);
        } else if key.eq_ignore_ascii_case("signature") {
            signed = true;
        }
    }
    let key_id = key_id
        .filter(|k| !k.is_empty())
        .ok_or_else(|| SignatureError::Malformed("no keyId".into()))?;
    if !signed {
        return Err(SignatureError::Malformed("no signature".into()));
    }
    if let Some(alg) = algorithm
        && !(alg.eq_ignore_ascii_case("rsa-sha256") || alg.eq_ignore_ascii_case("hs2019"))
    {
        return Err(SignatureError::UnsupportedAlgorithm(alg.to_string()));
    }
    let headers = covered.map_or_else(
        || vec!["date".to_string()],
        |h| h.split_whitespace().map(str::to_ascii_lowercase).collect(),
    );
    Ok(SignatureParams {
        key_id: key_id.to_string(),
        algorithm: algorithm.map(str::to_string),
        headers,
    })
}

/// The signed headers must include the request target, the host, the date (or `(created)`) and,
/// on a POST, the digest: otherwise a signature could be replayed on another request.
pub fn check_covered(params: &SignatureParams) -> Result<(), SignatureError> {
    let has = |name: &str| params.headers.iter().any(|h| h == name);
    if !has("(request-target)") {
        return Err(SignatureError::HeaderNotSigned("(request-target)"));
    }
    if !has("host") {
        return Err(SignatureError::HeaderNotSigned("host"));
    }
    if !has("date") && !has("(created)") {
        return Err(SignatureError::HeaderNotSigned("date or (created)"));
    }
    if !has("digest") {
        return Err(SignatureError::HeaderNotSigned("digest"));
    }
    Ok(())
}

/// The `Date` header must be within `window` of `now`, in either direction.
pub fn check_date(
    headers: &HeaderMap,
    now: DateTime<Utc>,
    window: Duration,
) -> Result<(), SignatureError> {
    let Some(value) = headers.get("date") else {
        // Signed with (created) instead: the library checks it against the window.
        return Ok(());
    };
    let text = value.to_str().map_err(|_| SignatureError::BadDate)?;
    let date: DateTime<Utc> = httpdate::parse_http_date(text)
        .map_err(|_| SignatureError::BadDate)?
        .into();
    let skew = (now - date).abs();
    if skew.to_std().map_or(true, |skew| skew > window) {
        return Err(SignatureError::DateOutOfWindow);
    }
    Ok(())
}

/// The `Digest` header must hold the SHA-256 of the exact body received.
pub fn check_digest(headers: &HeaderMap, body: &[u8]) -> Result<(), SignatureError> {
    let value = headers
        .get("digest")
        .and_then(|v| v.to_str().ok())
        .ok_or(SignatureError::MissingDigest)?;
    let claimed = value
        .split(',')
        .filter_map(|part| part.trim().split_once('='))
        .find(|(alg, _)| alg.eq_ignore_ascii_case("sha-256"))
        .map(|(_, digest)| digest.trim())
        .ok_or(SignatureError::MissingDigest)?;
    let actual = STANDARD.encode(Sha256::digest(body));
    if claimed == actual {
        Ok(())
    } else {
        Err(SignatureError::DigestMismatch)
    }
}

/// The signed `Host` must be ours (a signature made for another server is not replayable here).
pub fn check_host(headers: &HeaderMap, domain: &str) -> Result<(), SignatureError> {
    match headers.get("host").and_then(|v| v.to_str().ok()) {
        Some(host) if host.eq_ignore_ascii_case(domain) => Ok(()),
        _ => Err(SignatureError::WrongHost),
    }
}

/// The RSA key of a PEM (SPKI or PKCS#1). Whitespace around and inside it is ignored: Pleroma
/// and Akkoma end theirs with a blank line (`…-----END PUBLIC KEY-----\n\n`, see
/// tests/fixtures/pleroma/person.json).
pub fn public_key(pem: &str) -> Option<VerifyingKey> {
    VerifyingKey::from_pem(pem).ok()
}

/// Public keys of remote actors, parsed once. Parsing a PEM and aws-lc's set-up of the
/// modulus's Montgomery form, redone for every activity, cost about half as much as the RSA
/// verification itself (`perf`, inbox under load). Keyed by the PEM text, so a rotated key is
/// simply another entry; at most [`KeyCache::CAPACITY`] entries (about 2 KB each), then it
/// starts afresh.
#[derive(Default)]
pub struct KeyCache {
    keys: Mutex<HashMap<String, Arc<VerifyingKey>>>,
}

impl KeyCache {
    /// As many keys as actors kept in memory (`remote_actor::RecentActors::CAPACITY`).
    pub const CAPACITY: usize = 4096;

    /// The key of `pem` (SPKI or PKCS#1), parsed on first use.
    pub fn key(&self, pem: &str) -> Result<Arc<VerifyingKey>, SignatureError> {
        if let Some(key) = self.lock().get(pem) {
            return Ok(Arc::clone(key));
        }
        let key = Arc::new(public_key(pem).ok_or(SignatureError::BadKey)?);
        let mut keys = self.lock();
        if keys.len() >= Self::CAPACITY {
            keys.clear();
        }
        keys.insert(pem.to_string(), Arc::clone(&key));
        Ok(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<VerifyingKey>>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Verifies the signature of a request whose `Signature` header names the `covered` headers
/// ([`SignatureParams::headers`]) with `key`. One RSA public-key operation with aws-lc (~15 µs
/// for 2048 bits, measured): cheap enough for the async threads.
pub fn verify(
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    covered: &[String],
    key: &VerifyingKey,
    window: Duration,
) -> Result<(), SignatureError> {
    // Only what the signing string reads: the signature itself and the covered headers (the
    // last value of each, as a map of all headers would keep).
    let mut map = BTreeMap::new();
    let wanted = ["signature", "authorization"]
        .into_iter()
        .chain(covered.iter().map(String::as_str));
    for name in wanted {
        if let Some(value) = headers.get_all(name).iter().next_back()
            && let Ok(value) = value.to_str()
        {
            map.insert(name.to_string(), value.to_string());
        }
    }
    let unverified = http_signature_normalization::Config::new()
        .set_expiration(window)
        .begin_verify(method.as_str(), path_and_query, map)
        .map_err(|e| match e {
            http_signature_normalization::PrepareVerifyError::Validate(
                http_signature_normalization::verify::ValidateError::Expired { .. },
            ) => SignatureError::Expired,
            other => SignatureError::Malformed(other.to_string()),
        })?;
    let ok = unverified.verify(|signature, signing_string| {
        STANDARD
            .decode(signature)
            .is_ok_and(|bytes| key.verify(signing_string.as_bytes(), &bytes))
    });
    if ok {
        Ok(())
    } else {
        Err(SignatureError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        map
    }

    #[test]
    fn a_mastodon_signature_header_parses() {
        let h = headers(&[(
            "signature",
            r#"keyId="https://m.example/users/a#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature="abc=""#,
        )]);
        let params = parse_params(&h).expect("parses");
        assert_eq!(params.key_id, "https://m.example/users/a#main-key");
        assert_eq!(params.algorithm.as_deref(), Some("rsa-sha256"));
        assert_eq!(
            params.headers,
            vec!["(request-target)", "host", "date", "digest", "content-type"]
        );
        check_covered(&params).expect("covers what must be");
    }

    #[test]
    fn spaces_unquoted_values_and_key_case_do_not_change_what_is_read() {
        // Spaces around the commas, keys in another case, unquoted values (created, expires,
        // an algorithm) between the quoted ones, `=` inside the signature's base64 and inside
        // the keyId's query.
        let h = headers(&[(
            "signature",
            r#"KeyId="https://p.example/actor?id=7#key", created=1402170695,expires=1402170699 , Algorithm=hs2019 ,  HEADERS="(request-target) host digest (created)", signature="ab/c+d==""#,
        )]);
        let params = parse_params(&h).expect("parses");
        assert_eq!(params.key_id, "https://p.example/actor?id=7#key");
        assert_eq!(params.algorithm.as_deref(), Some("hs2019"));
        assert_eq!(
            params.headers,
            vec!["(request-target)", "host", "digest", "(created)"]
        );
        // The same in an Authorization header, and without a signature: refused.
        let h = headers(&[(
            "authorization",
            r#"Signature keyId="https://p.example/actor#key",headers="(request-target) host date digest""#,
        )]);
        assert_eq!(
            parse_params(&h),
            Err(SignatureError::Malformed("no signature".into()))
        );
    }

    #[test]
    fn unsupported_forms_are_refused_for_double_knocking() {
        assert_eq!(
            parse_params(&HeaderMap::new()),
            Err(SignatureError::Missing)
        );
        let rfc9421 = headers(&[
            ("signature-input", "sig1=(\"@method\");keyid=\"k\""),
            ("signature", "sig1=:abc=:"),
        ]);
        assert_eq!(
            parse_params(&rfc9421),
            Err(SignatureError::UnsupportedFormat)
        );
        let hmac = headers(&[(
            "signature",
            r#"keyId="k",algorithm="hmac-sha256",signature="x""#,
        )]);
        assert!(matches!(
            parse_params(&hmac),
            Err(SignatureError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn a_signature_that_does_not_cover_the_digest_is_refused() {
        let h = headers(&[(
            "signature",
            r#"keyId="k",headers="(request-target) host date",signature="x""#,
        )]);
        let params = parse_params(&h).expect("parses");
        assert_eq!(
            check_covered(&params),
            Err(SignatureError::HeaderNotSigned("digest"))
        );
    }

    #[test]
    fn digest_must_match_the_exact_body() {
        let body = br#"{"type":"Follow"}"#;
        let good = format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)));
        assert_eq!(check_digest(&headers(&[("digest", &good)]), body), Ok(()));
        assert_eq!(
            check_digest(&headers(&[("digest", &good)]), b"{}"),
            Err(SignatureError::DigestMismatch)
        );
        assert_eq!(
            check_digest(&headers(&[("digest", "MD5=abc")]), body),
            Err(SignatureError::MissingDigest)
        );
        assert_eq!(
            check_digest(&HeaderMap::new(), body),
            Err(SignatureError::MissingDigest)
        );
    }

    #[test]
    fn the_key_cache_parses_each_pem_once_and_refuses_what_is_not_a_key() {
        let pair = super::super::http_signature::generate_key_pair().expect("generates");
        let cache = KeyCache::default();
        let first = cache.key(&pair.public_key_pem).expect("parses");
        let again = cache.key(&pair.public_key_pem).expect("cached");
        assert!(Arc::ptr_eq(&first, &again), "the second use parses nothing");
        assert_eq!(
            cache
                .key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                .err(),
            Some(SignatureError::BadKey)
        );
        assert_eq!(cache.lock().len(), 1, "a refused PEM is not kept");
        // Full: it starts afresh rather than growing.
        for i in 0..KeyCache::CAPACITY {
            cache
                .lock()
                .insert(format!("filler {i}"), Arc::clone(&first));
        }
        let other = super::super::http_signature::generate_key_pair().expect("generates");
        cache.key(&other.public_key_pem).expect("parses");
        assert_eq!(cache.lock().len(), 1);
    }

    #[test]
    fn dates_outside_the_window_are_refused() {
        let now = Utc::now();
        let window = Duration::from_secs(3600);
        let fmt = |t: DateTime<Utc>| httpdate::fmt_http_date(t.into());
        assert_eq!(
            check_date(&headers(&[("date", &fmt(now))]), now, window),
            Ok(())
        );
        let old = now - chrono::Duration::hours(2);
        assert_eq!(
            check_date(&headers(&[("date", &fmt(old))]), now, window),
            Err(SignatureError::DateOutOfWindow)
        );
        let future = now + chrono::Duration::hours(2);
        assert_eq!(
            check_date(&headers(&[("date", &fmt(future))]), now, window),
            Err(SignatureError::DateOutOfWindow)
        );
        assert_eq!(
            check_date(&headers(&[("date", "yesterday")]), now, window),
            Err(SignatureError::BadDate)
        );
    }
}

/// Properties of the header parsers on arbitrary `Signature`, `Digest` and `Date` values: no
/// panic, and nothing accepted that should not be.
#[cfg(test)]
mod properties {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn signature_header() -> impl Strategy<Value = String> {
        let param = prop_oneof![
            prop::sample::select(vec![
                "keyId=\"https://a.example/users/a#main-key\"",
                "keyId=\"\"",
                "keyId=",
                "algorithm=\"rsa-sha256\"",
                "algorithm=\"hs2019\"",
                "algorithm=\"hmac-sha256\"",
                "headers=\"(request-target) host date digest\"",
                "headers=\"\"",
                "headers=\"date\"",
                "signature=\"AAAA\"",
                "signature=\"\"",
                "created=1",
                "expires=x",
                "=",
                "\"",
                ",",
                "keyId=\"a\",keyId=\"b\"",
                "Signature ",
            ])
            .prop_map(str::to_string),
            "[ -~]{0,30}",
        ];
        prop::collection::vec(param, 0..8).prop_map(|p| p.join(","))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn signature_headers_parse_without_panic(value in signature_header(), as_authorization in any::<bool>()) {
            let mut headers = HeaderMap::new();
            let (name, value) = if as_authorization {
                ("authorization", format!("Signature {value}"))
            } else {
                ("signature", value)
            };
            let Ok(header) = HeaderValue::from_str(&value) else { return Ok(()) };
            headers.insert(name, header);
            if let Ok(params) = parse_params(&headers) {
                prop_assert!(!params.key_id.is_empty());
                if let Some(alg) = &params.algorithm {
                    prop_assert!(matches!(alg.to_ascii_lowercase().as_str(), "rsa-sha256" | "hs2019"));
                }
                prop_assert!(params.headers.iter().all(|h| *h == h.to_ascii_lowercase()));
                if check_covered(&params).is_ok() {
                    for needed in ["(request-target)", "host", "digest"] {
                        prop_assert!(params.headers.iter().any(|h| h == needed));
                    }
                }
            }
        }

        #[test]
        fn only_the_exact_digest_is_accepted(body in prop::collection::vec(any::<u8>(), 0..200), claimed in "[ -~]{0,60}") {
            let Ok(value) = HeaderValue::from_str(&claimed) else { return Ok(()) };
            let mut headers = HeaderMap::new();
            headers.insert("digest", value);
            let real = STANDARD.encode(Sha256::digest(&body));
            if check_digest(&headers, &body).is_ok() {
                prop_assert!(claimed.contains(&real), "{} accepted for a body whose digest is {}", claimed, real);
            }
        }

        #[test]
        fn dates_parse_without_panic(value in "[ -~]{0,40}", skew in -10_000i64..10_000) {
            let Ok(header) = HeaderValue::from_str(&value) else { return Ok(()) };
            let mut headers = HeaderMap::new();
            headers.insert("date", header);
            let now = Utc::now() + chrono::Duration::seconds(skew);
            let _ = check_date(&headers, now, Duration::from_secs(300));
            let _ = check_host(&headers, "a.example");
        }
    }
}
