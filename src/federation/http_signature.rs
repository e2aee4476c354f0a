//! RSA keys and outgoing HTTP signatures (draft-cavage), with aws-lc-rs: parsing stored and
//! remote PEM keys, signing and verifying RSASSA-PKCS1-v1_5 SHA-256, generating key pairs, the
//! body `Digest`, and the `Signature` header of Tribune's own requests.
//!
//! aws-lc-rs rather than the `rsa` crate: it signs ~5× faster and verifies ~8× faster, and its
//! private-key operations are constant-time (the `rsa` crate carries RUSTSEC-2023-0071). The
//! signing string itself is built by `http-signature-normalization`, the library the inbound
//! checks (`federation::signature`) and `activitypub_federation` use, so both sides normalize
//! headers the same way.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
};

use aws_lc_rs::{
    encoding::AsDer,
    rand::SystemRandom,
    rsa::{KeyPair, KeySize},
    signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest as _, Sha256};

/// Why a key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM document with a {0} block")]
    NotPem(&'static str),
    #[error("the PEM body is not valid base64")]
    BadBase64,
    #[error("not an RSA key aws-lc accepts: {0}")]
    Rejected(String),
    #[error("RSA signing failed")]
    SigningFailed,
    #[error("the request cannot be signed: {0}")]
    Unsignable(String),
}

/// The DER inside the first PEM block whose label is one of `labels`, with the label found.
/// Whitespace anywhere is ignored: Pleroma and Akkoma end their keys with blank lines, some
/// servers use CRLF, and JSON round-trips sometimes leave indentation.
fn pem_der<'a>(pem: &str, labels: &[&'a str]) -> Option<(&'a str, Result<Vec<u8>, KeyError>)> {
    for label in labels {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let Some(start) = pem.find(&begin) else {
            continue;
        };
        let rest = &pem[start + begin.len()..];
        let Some(stop) = rest.find(&end) else {
            continue;
        };
        let body: String = rest[..stop]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        return Some((
            label,
            STANDARD.decode(body).map_err(|_| KeyError::BadBase64),
        ));
    }
    None
}

/// PEM text for `der` under `label`, 64 characters a line and LF endings: the form the `rsa`
/// crate wrote (and Mastodon publishes), so new and old keys look alike.
fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        // Base64 is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A local actor's private key, parsed once and kept for every signature it makes.
pub struct SigningKey {
    key: KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// Parses a private key PEM: PKCS#8 (`PRIVATE KEY`, what Tribune stores) or PKCS#1
    /// (`RSA PRIVATE KEY`, what older tools write).
    pub fn from_pem(pem: &str) -> Result<SigningKey, KeyError> {
        let (label, der) = pem_der(pem, &["PRIVATE KEY", "RSA PRIVATE KEY"])
            .ok_or(KeyError::NotPem("PRIVATE KEY"))?;
        let der = der?;
        let key = if label == "PRIVATE KEY" {
            KeyPair::from_pkcs8(&der)
        } else {
            KeyPair::from_der(&der)
        }
        .map_err(|e| KeyError::Rejected(e.to_string()))?;
        Ok(SigningKey { key })
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 of `message` (one private-key operation, ~0.2 ms for a
    /// 2048-bit key).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| KeyError::SigningFailed)?;
        Ok(signature)
    }
}

/// A remote actor's public key.
#[derive(Debug)]
pub struct VerifyingKey {
    key: ParsedPublicKey,
}

impl VerifyingKey {
    /// Parses a public key PEM: SPKI (`PUBLIC KEY`, what nearly everyone publishes) or PKCS#1
    /// (`RSA PUBLIC KEY`, which some servers publish). RSA keys of 2048 to 8192 bits are
    /// accepted (Fedify uses 4096).
    pub fn from_pem(pem: &str) -> Result<VerifyingKey, KeyError> {
        let (_, der) = pem_der(pem, &["PUBLIC KEY", "RSA PUBLIC KEY"])
            .ok_or(KeyError::NotPem("PUBLIC KEY"))?;
        // aws-lc reads both encodings from the DER itself.
        let key = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der?)
            .map_err(|e| KeyError::Rejected(e.to_string()))?;
        Ok(VerifyingKey { key })
    }

    /// Whether `signature` is this key's RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }
}

/// A new key pair as stored in `local_actor`.
pub struct KeyPairPem {
    /// PKCS#8 `PRIVATE KEY` PEM.
    pub private_key_pem: String,
    /// SPKI `PUBLIC KEY` PEM.
    pub public_key_pem: String,
}

/// Generates an RSA-2048 key pair in the PEM forms Tribune has always stored (PKCS#8 private,
/// SPKI public). Takes tens of milliseconds: call it off the async threads.
pub fn generate_key_pair() -> Result<KeyPairPem, KeyError> {
    let rejected = |what: &str| KeyError::Rejected(what.to_string());
    let key = KeyPair::generate(KeySize::Rsa2048).map_err(|_| rejected("key generation"))?;
    let private = key
        .as_der()
        .map_err(|_| rejected("PKCS#8 encoding of the private key"))?;
    let public = aws_lc_rs::signature::KeyPair::public_key(&key)
        .as_der()
        .map_err(|_| rejected("SPKI encoding of the public key"))?;
    Ok(KeyPairPem {
        private_key_pem: pem_encode("PRIVATE KEY", private.as_ref()),
        public_key_pem: pem_encode("PUBLIC KEY", public.as_ref()),
    })
}

/// The `Digest` header value of a body (`SHA-256=<base64>`): computed once per activity, then
/// reused for every inbox it goes to.
pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)))
}

/// What `http-signature-normalization` writes in the `algorithm` field, and what Tribune
/// writes instead: `rsa-sha256` names the algorithm outright. Mastodon signs with it, and every
/// verifier knows it (some older ones do not know `hs2019`).
const LIBRARY_ALGORITHM: &str = ",algorithm=\"hs2019\",";
const ALGORITHM: &str = ",algorithm=\"rsa-sha256\",";

/// The draft-cavage `Signature` header of a request: every header in `headers` (lower-case
/// names) is covered, after `(request-target)`; no `(created)`/`(expires)`, which
/// Pleroma/Akkoma refuse (the `Date` header carries the time instead).
pub fn signature_header(
    key: &SigningKey,
    key_id: &str,
    method: &str,
    path_and_query: &str,
    headers: BTreeMap<String, String>,
) -> Result<String, KeyError> {
    let header = http_signature_normalization::Config::new()
        .dont_use_created_field()
        .begin_sign(method, path_and_query, headers)
        .map_err(|e| KeyError::Unsignable(e.to_string()))?
        .sign(key_id.to_string(), |signing_string| {
            key.sign(signing_string.as_bytes())
                .map(|bytes| STANDARD.encode(bytes))
        })?
        .signature_header();
    // The library writes the fields in a fixed order and a key id is a URL (no quotes in it),
    // so the only occurrence is the algorithm field.
    Ok(header.replacen(LIBRARY_ALGORITHM, ALGORITHM, 1))
}

/// A job for the signing threads.
type SigningJob = Box<dyn FnOnce() + Send>;

/// Runs `sign` (an RSA private-key operation, ~250 µs) on one of a few long-lived signing
/// threads, one per core, and waits for it without blocking the async threads.
///
/// Why not `spawn_blocking`: a fan-out starts as many signatures at once as there are delivery
/// slots (128), and the blocking pool then grows a thread for each — new stacks, and aws-lc's
/// per-thread entropy source seeded again in each (measured: about a tenth of a fan-out's CPU
/// beside the signing itself). A fixed set of threads signs just as fast. Process-wide, like
/// Tokio's own blocking pool: the threads live as long as the process.
pub async fn on_signing_thread<T: Send + 'static>(
    sign: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    let job: SigningJob = Box::new(move || {
        let _ = done.send(sign());
    });
    signing_queue().lock().ok()?.send(job).ok()?;
    result.await.ok()
}

/// Starts the signing threads now rather than at the first signature (the server's start-up
/// calls it, on a blocking thread): each seeds aws-lc's random generator (RSA blinding draws
/// from it) as it starts, and the first seeding in a process gathers jitter entropy — measured
/// 30 ms of CPU, which otherwise fell on the first fan-out after a start. Returns once every
/// thread has seeded.
pub fn start_signing_threads() {
    signing_queue();
}

/// One signing thread per core the process may run on.
fn signing_thread_count() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// How many signing threads have seeded aws-lc's random generator (read by the tests).
static SEEDED_THREADS: AtomicUsize = AtomicUsize::new(0);

/// The signing threads' queue, started at the first call. That call returns only once every
/// thread has seeded aws-lc's random generator: a process that exits while a thread is still
/// seeding has aws-lc's exit-time clean-up free the entropy source under it, and aborts
/// (seen: `tribune member list`, killed by SIGABRT one run in a few hundred).
fn signing_queue() -> &'static Mutex<mpsc::Sender<SigningJob>> {
    static QUEUE: OnceLock<Mutex<mpsc::Sender<SigningJob>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (jobs, waiting) = mpsc::channel::<SigningJob>();
        let waiting = Arc::new(Mutex::new(waiting));
        let (seeded_tx, seeded_rx) = mpsc::channel::<()>();
        for n in 0..signing_thread_count() {
            let waiting = Arc::clone(&waiting);
            let seeded_tx = seeded_tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("tribune-sign-{n}"))
                .spawn(move || {
                    let mut seeded = [0u8; 1];
                    if aws_lc_rs::rand::fill(&mut seeded).is_err() {
                        tracing::warn!("aws-lc's random generator cannot be seeded yet");
                    }
                    SEEDED_THREADS.fetch_add(1, Ordering::SeqCst);
                    let _ = seeded_tx.send(());
                    drop(seeded_tx);
                    loop {
                        let job = match waiting.lock() {
                            Ok(waiting) => waiting.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "cannot start a signing thread");
            }
        }
        // Ends once every started thread has seeded and dropped its sender (or died).
        drop(seeded_tx);
        while seeded_rx.recv().is_ok() {}
        Mutex::new(jobs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // A 2048-bit key written by the `rsa` crate (what `activitypub_federation` generated for
    // every actor created before aws-lc-rs), in its PKCS#8 and SPKI forms.
    fn rsa_crate_pair() -> (String, String) {
        let pair = activitypub_federation::http_signatures::generate_actor_keypair()
            .expect("the crate generates keys");
        (pair.private_key, pair.public_key)
    }

    #[test]
    fn the_signing_threads_have_all_seeded_when_they_are_started() {
        start_signing_threads();
        assert_eq!(
            SEEDED_THREADS.load(Ordering::SeqCst),
            signing_thread_count()
        );
    }

    #[test]
    fn generated_keys_sign_and_verify_and_look_like_the_old_ones() {
        let pair = generate_key_pair().expect("generates");
        assert!(
            pair.private_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        assert!(
            pair.public_key_pem
                .starts_with("-----BEGIN PUBLIC KEY-----\n")
        );
        assert!(pair.public_key_pem.ends_with("-----END PUBLIC KEY-----\n"));
        let signer = SigningKey::from_pem(&pair.private_key_pem).expect("loads");
        let verifier = VerifyingKey::from_pem(&pair.public_key_pem).expect("loads");
        let signature = signer.sign(b"hello").expect("signs");
        assert_eq!(signature.len(), 256);
        assert!(verifier.verify(b"hello", &signature));
        assert!(!verifier.verify(b"hellO", &signature));
    }

    #[test]
    fn keys_made_by_the_rsa_crate_load_both_ways() {
        use rsa::{
            Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey,
            pkcs8::{DecodePrivateKey, DecodePublicKey},
        };
        let (private_pem, public_pem) = rsa_crate_pair();
        // Old key, new signer: the `rsa` crate verifies aws-lc's signature.
        let signature = SigningKey::from_pem(&private_pem)
            .expect("old private key loads")
            .sign(b"message")
            .expect("signs");
        let old_public = RsaPublicKey::from_public_key_pem(&public_pem).expect("pem");
        old_public
            .verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(b"message"),
                &signature,
            )
            .expect("the rsa crate accepts aws-lc's signature");
        // Old signer, new verifier.
        let old_private = RsaPrivateKey::from_pkcs8_pem(&private_pem).expect("pem");
        let old_signature = old_private
            .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(b"message"))
            .expect("signs");
        assert!(
            VerifyingKey::from_pem(&public_pem)
                .expect("loads")
                .verify(b"message", &old_signature)
        );
    }

    #[test]
    fn pkcs1_public_keys_and_trailing_blank_lines_are_accepted() {
        use rsa::{
            RsaPublicKey,
            pkcs1::{EncodeRsaPublicKey, LineEnding},
            pkcs8::DecodePublicKey,
        };
        let pair = generate_key_pair().expect("generates");
        let signature = SigningKey::from_pem(&pair.private_key_pem)
            .expect("loads")
            .sign(b"x")
            .expect("signs");
        let pkcs1 = RsaPublicKey::from_public_key_pem(&pair.public_key_pem)
            .expect("pem")
            .to_pkcs1_pem(LineEnding::CRLF)
            .expect("pkcs1");
        assert!(pkcs1.starts_with("-----BEGIN RSA PUBLIC KEY-----"));
        assert!(
            VerifyingKey::from_pem(&pkcs1)
                .expect("loads")
                .verify(b"x", &signature)
        );
        let pleroma = format!("{}\n\n", pair.public_key_pem);
        assert!(
            VerifyingKey::from_pem(&pleroma)
                .expect("loads")
                .verify(b"x", &signature)
        );
    }

    #[test]
    fn what_is_not_a_key_is_refused_with_a_reason() {
        assert_eq!(
            VerifyingKey::from_pem("hello").map(|_| ()),
            Err(KeyError::NotPem("PUBLIC KEY"))
        );
        assert_eq!(
            VerifyingKey::from_pem("-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----")
                .map(|_| ()),
            Err(KeyError::BadBase64)
        );
        assert!(matches!(
            VerifyingKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
            Err(KeyError::Rejected(_))
        ));
        let pair = generate_key_pair().expect("generates");
        // A public key is not a private key.
        assert!(SigningKey::from_pem(&pair.public_key_pem).is_err());
    }

    #[test]
    fn the_signature_header_names_rsa_sha256_and_the_covered_headers() {
        let pair = generate_key_pair().expect("generates");
        let key = SigningKey::from_pem(&pair.private_key_pem).expect("loads");
        let mut headers = BTreeMap::new();
        headers.insert("host".to_string(), "example.org".to_string());
        headers.insert(
            "date".to_string(),
            "Tue, 28 Mar 2023 21:03:44 GMT".to_string(),
        );
        headers.insert("digest".to_string(), digest_header(b"{}"));
        let header = signature_header(
            &key,
            "https://a.example/actors/collectif#main-key",
            "POST",
            "/inbox",
            headers,
        )
        .expect("signs");
        assert!(
            header.starts_with(
                "keyId=\"https://a.example/actors/collectif#main-key\",algorithm=\"rsa-sha256\",headers=\"(request-target) date digest host\",signature=\""
            ),
            "{header}"
        );
        assert_eq!(
            digest_header(b"{}"),
            "SHA-256=RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o="
        );
    }
}
