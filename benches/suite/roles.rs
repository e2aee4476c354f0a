//! The helper processes of the suite, each the bench binary re-executed with `--role NAME`:
//! the baseline server, the stand-in instances, the crypto baseline, the queue measurement and
//! the inbox load generator. Separate processes keep Tribune's RSS its own and let each side be
//! pinned to its core.

use std::{
    collections::{BTreeMap, HashSet},
    hash::{Hash, Hasher},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

pub fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

pub fn arg_or<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    arg(args, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

pub fn dispatch(role: &str, args: &[String]) {
    match role {
        "baseline" => runtime().block_on(baseline()),
        "standins" => runtime().block_on(standins(args)),
        "crypto" => crypto(args),
        "sign" => sign(args),
        "queue" => runtime().block_on(crate::queue::measure(args)),
        "load" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(load(args)),
        other => panic!("unknown role {other}"),
    }
}

/// A 2 KB actor document, shaped like Tribune's.
pub fn sample_actor() -> Value {
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        "A".repeat(392)
    );
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1",
            {"manuallyApprovesFollowers": "as:manuallyApprovesFollowers", "toot": "http://joinmastodon.org/ns#",
             "discoverable": "toot:discoverable", "indexable": "toot:indexable"}],
        "id": "https://tribune.example/actors/collectif",
        "type": "Group",
        "preferredUsername": "collectif",
        "name": "Collectif",
        "summary": "<p>Un collectif qui publie ensemble, depuis son propre serveur, pour ses abonné·es du fédivers. Ceci est un texte de présentation assez long pour ressembler à une vraie présentation.</p>",
        "url": "https://tribune.example/@collectif",
        "inbox": "https://tribune.example/actors/collectif/inbox",
        "outbox": "https://tribune.example/actors/collectif/outbox",
        "followers": "https://tribune.example/actors/collectif/followers",
        "following": "https://tribune.example/actors/collectif/following",
        "featured": "https://tribune.example/actors/collectif/featured",
        "endpoints": {"sharedInbox": "https://tribune.example/inbox"},
        "manuallyApprovesFollowers": false,
        "discoverable": true,
        "indexable": true,
        "published": "2026-01-01T00:00:00Z",
        "icon": {"type": "Image", "mediaType": "image/png", "url": "https://tribune.example/static/icon.png"},
        "image": {"type": "Image", "mediaType": "image/png", "url": "https://tribune.example/static/header.png"},
        "publicKey": {
            "id": "https://tribune.example/actors/collectif#main-key",
            "owner": "https://tribune.example/actors/collectif",
            "publicKeyPem": pem,
        },
        "attachment": [
            {"type": "PropertyValue", "name": "Site", "value": "<a href=\"https://tribune.example/\">tribune.example</a>"},
            {"type": "PropertyValue", "name": "Contact", "value": "contact@tribune.example"}
        ],
    })
}

/// The baseline server: `GET /hello` (a constant) and `GET /json` (the 2 KB actor serialized on
/// every request), on axum like Tribune, one runtime on the core it is pinned to.
async fn baseline() {
    let actor = Arc::new(sample_actor());
    let router = Router::new()
        .route("/hello", get(|| async { "Hello, World!" }))
        .route(
            "/json",
            get(move || {
                let actor = actor.clone();
                async move {
                    (
                        [("content-type", "application/activity+json")],
                        serde_json::to_vec(&*actor).unwrap_or_default(),
                    )
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!("{}", listener.local_addr().expect("addr").port());
    axum::serve(listener, router).await.expect("serve");
}

/// Listeners on one free port of both loopback addresses, 127.0.0.1 and ::1: the stand-ins are
/// reached by the name `localhost`, which Tribune's resolver answers with both (RFC 6761), and
/// Tribune, like any HTTP client, tries ::1 first. A stand-in on 127.0.0.1 alone refused that
/// first connection, so every delivery of the bench made two (sessions 1 to 9), where a real
/// server listens on the addresses its name has. Where the machine has no IPv6 loopback, only
/// 127.0.0.1 (the connections to ::1 then fail at once, as before).
async fn both_loopbacks() -> Vec<tokio::net::TcpListener> {
    loop {
        let v4 = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let port = v4.local_addr().expect("addr").port();
        match tokio::net::TcpListener::bind(("::1", port)).await {
            Ok(v6) => return vec![v4, v6],
            // Free on 127.0.0.1 but held on ::1 by another process: try another port.
            Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(_) => return vec![v4],
        }
    }
}

/// What the stand-in instances have seen, shared by all of them.
#[derive(Default)]
struct Seen {
    posts: AtomicUsize,
    hang: AtomicBool,
    bodies: Mutex<HashSet<u64>>,
}

#[derive(Clone)]
struct Instance {
    index: usize,
    base: String,
    /// The public key of this instance's actors (only the first few instances have actors).
    pem: Option<Arc<String>>,
    seen: Arc<Seen>,
}

/// `n` stand-in instances on loopback (`--instances`): a shared inbox that reads the whole body
/// and counts it (every tenth hangs in hang mode), actors `/users/{name}` whose key is the
/// instance's (`--keys DIR`, one `N.pub.pem` per instance that has actors), and `/control/…`
/// to read and reset the counts. Prints the ports as a JSON array.
async fn standins(args: &[String]) {
    let n: usize = arg_or(args, "--instances", 1000);
    let keys = arg(args, "--keys").expect("--keys");
    let seen = Arc::new(Seen::default());
    let mut ports = Vec::new();
    for index in 0..n {
        let listeners = both_loopbacks().await;
        let port = listeners[0].local_addr().expect("addr").port();
        ports.push(port);
        let pem = std::fs::read_to_string(format!("{keys}/{index}.pub.pem"))
            .ok()
            .map(Arc::new);
        let instance = Instance {
            index,
            base: format!("http://localhost:{port}"),
            pem,
            seen: seen.clone(),
        };
        let router = Router::new()
            .route("/inbox", post(inbox))
            .route("/users/{name}", get(actor))
            .route("/users/{name}/inbox", post(inbox))
            .route("/control/stats", get(stats))
            .route("/control/reset", post(reset))
            .route("/control/hang/{on}", post(hang))
            .with_state(instance);
        for listener in listeners {
            let router = router.clone();
            tokio::spawn(async move { axum::serve(listener, router).await });
        }
    }
    println!("{}", serde_json::to_string(&ports).expect("json"));
    std::future::pending::<()>().await;
}

async fn inbox(State(instance): State<Instance>, body: Bytes) -> StatusCode {
    if instance.seen.hang.load(Ordering::Relaxed) && instance.index % 10 == 0 {
        // A server that accepts the connection and never answers.
        std::future::pending::<()>().await;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    if let Ok(mut bodies) = instance.seen.bodies.lock() {
        bodies.insert(hasher.finish());
    }
    instance.seen.posts.fetch_add(1, Ordering::Relaxed);
    StatusCode::ACCEPTED
}

async fn actor(State(instance): State<Instance>, Path(name): Path<String>) -> Response {
    let Some(pem) = instance.pem else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let id = format!("{}/users/{name}", instance.base);
    let doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": name,
        "name": format!("Remote {name}"),
        "inbox": format!("{id}/inbox"),
        "endpoints": { "sharedInbox": format!("{}/inbox", instance.base) },
        "url": format!("{}/@{name}", instance.base),
        "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": *pem },
    });
    ([("content-type", "application/activity+json")], Json(doc)).into_response()
}

async fn stats(State(instance): State<Instance>) -> Json<Value> {
    let distinct = instance.seen.bodies.lock().map_or(0, |b| b.len());
    Json(json!({
        "posts": instance.seen.posts.load(Ordering::Relaxed),
        "distinct_bodies": distinct,
    }))
}

async fn reset(State(instance): State<Instance>) -> StatusCode {
    instance.seen.posts.store(0, Ordering::Relaxed);
    if let Ok(mut bodies) = instance.seen.bodies.lock() {
        bodies.clear();
    }
    StatusCode::NO_CONTENT
}

async fn hang(State(instance): State<Instance>, Path(on): Path<u8>) -> StatusCode {
    instance.seen.hang.store(on == 1, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}

/// Operations per second of `op`, run for at least `at_least`.
fn rate(at_least: Duration, mut op: impl FnMut()) -> f64 {
    op();
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < at_least {
        for _ in 0..10 {
            op();
        }
        n += 10;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// A signing string the size of a real one.
const SIGNING_STRING: &[u8] = b"(request-target): post /inbox\nhost: mastodon.example\ndate: Sun, 29 Nov 2026 10:00:00 GMT\ndigest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\ncontent-type: application/activity+json";

/// RSA-2048 PKCS#1 v1.5 SHA-256 sign and verify of the same key and message, with `rsa` (what
/// Tribune uses before the crypto switch) and `aws-lc-rs`, on the one core this runs on.
fn crypto(args: &[String]) {
    use aws_lc_rs::{rand::SystemRandom, signature as lc};
    use rsa::{
        Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey,
        pkcs1::EncodeRsaPublicKey,
        pkcs8::{DecodePrivateKey, EncodePrivateKey},
    };
    use sha2::{Digest, Sha256};

    let pem = std::fs::read_to_string(arg(args, "--key").expect("--key")).expect("key file");
    let key = RsaPrivateKey::from_pkcs8_pem(&pem).expect("pkcs8 key");
    let public = RsaPublicKey::from(&key);
    let message = SIGNING_STRING;
    let span = Duration::from_millis(arg_or(args, "--millis", 1000));

    let rsa_signature = key
        .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message))
        .expect("rsa sign");
    let rsa_sign = rate(span, || {
        std::hint::black_box(
            key.sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message))
                .expect("rsa sign"),
        );
    });
    let rsa_verify = rate(span / 2, || {
        public
            .verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(message),
                &rsa_signature,
            )
            .expect("rsa verify");
    });

    let der = key.to_pkcs8_der().expect("pkcs8 der");
    let pair = lc::RsaKeyPair::from_pkcs8(der.as_bytes()).expect("aws-lc key");
    let rng = SystemRandom::new();
    let mut signature = vec![0; pair.public_modulus_len()];
    let aws_sign = rate(span, || {
        pair.sign(&lc::RSA_PKCS1_SHA256, &rng, message, &mut signature)
            .expect("aws-lc sign");
    });
    assert_eq!(signature, rsa_signature, "both libraries sign identically");
    let public_der = public.to_pkcs1_der().expect("pkcs1 der");
    let parsed = lc::ParsedPublicKey::new(&lc::RSA_PKCS1_2048_8192_SHA256, public_der.as_bytes())
        .expect("aws-lc public key");
    let aws_verify = rate(span / 2, || {
        parsed
            .verify_sig(message, &rsa_signature)
            .expect("aws-lc verify");
    });
    println!(
        "{}",
        json!({
            "rsa_sign": rsa_sign, "rsa_verify": rsa_verify,
            "aws_sign": aws_sign, "aws_verify": aws_verify,
        })
    );
}

/// aws-lc-rs RSA-2048 signatures per second alone, on the one core this runs on: the fan-out's
/// baseline, measured again just before and just after each fan-out (this machine's signing
/// speed drifts by several per cent from one second to the next).
fn sign(args: &[String]) {
    use aws_lc_rs::{rand::SystemRandom, signature as lc};
    use rsa::{
        RsaPrivateKey,
        pkcs8::{DecodePrivateKey, EncodePrivateKey},
    };

    let pem = std::fs::read_to_string(arg(args, "--key").expect("--key")).expect("key file");
    let der = RsaPrivateKey::from_pkcs8_pem(&pem)
        .expect("pkcs8 key")
        .to_pkcs8_der()
        .expect("pkcs8 der");
    let pair = lc::RsaKeyPair::from_pkcs8(der.as_bytes()).expect("aws-lc key");
    let rng = SystemRandom::new();
    let mut signature = vec![0; pair.public_modulus_len()];
    let span = Duration::from_millis(arg_or(args, "--millis", 400));
    let aws_sign = rate(span, || {
        pair.sign(&lc::RSA_PKCS1_SHA256, &rng, SIGNING_STRING, &mut signature)
            .expect("aws-lc sign");
    });
    println!("{}", json!({ "aws_sign": aws_sign }));
}

/// One pre-signed inbox request: `[body, [[header, value], …]]`.
pub type Signed = (String, Vec<(String, String)>);

/// The inbox load generator: sends the pre-signed requests `--from`..`--from + --count` of
/// `--requests FILE` (JSON lines) to `--url` over `--concurrency` connections, for at most
/// `--seconds`, at most `--rate` per second when given. Prints counts per status, the achieved
/// rate and the p99 latency.
async fn load(args: &[String]) {
    let url = arg(args, "--url").expect("--url");
    let file = arg(args, "--requests").expect("--requests");
    let from: usize = arg_or(args, "--from", 0);
    let count: usize = arg_or(args, "--count", usize::MAX);
    let concurrency: usize = arg_or(args, "--concurrency", 32);
    let seconds: f64 = arg_or(args, "--seconds", 3600.0);
    let rate: f64 = arg_or(args, "--rate", 0.0);
    let text = std::fs::read_to_string(&file).expect("requests file");
    let requests: Arc<Vec<Signed>> = Arc::new(
        text.lines()
            .skip(from)
            .take(count)
            .map(|line| serde_json::from_str(line).expect("request line"))
            .collect(),
    );
    drop(text);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, url, requests, next) =
            (client.clone(), url.clone(), requests.clone(), next.clone());
        tasks.spawn(async move {
            let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((body, headers)) = requests.get(i) else {
                    break;
                };
                if rate > 0.0 {
                    let due = started + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                if Instant::now() >= deadline {
                    break;
                }
                let mut request = client.post(&url).body(body.clone());
                for (name, value) in headers {
                    if name != "host" {
                        request = request.header(name, value);
                    }
                }
                let sent = Instant::now();
                let status = match request.send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let _ = resp.bytes().await;
                        status
                    }
                    Err(_) => 0,
                };
                latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                *statuses.entry(status).or_default() += 1;
            }
            (statuses, latencies)
        });
    }
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (s, l) = done.expect("load task");
        for (k, v) in s {
            *statuses.entry(k).or_default() += v;
        }
        latencies.extend(l);
    }
    let secs = started.elapsed().as_secs_f64();
    let ok: usize = statuses
        .iter()
        .filter(|(k, _)| (200..300).contains(*k))
        .map(|(_, v)| v)
        .sum();
    let sent: usize = statuses.values().sum();
    println!(
        "{}",
        json!({
            "sent": sent, "ok": ok, "secs": secs,
            "statuses": statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "p99_ms": crate::util::percentile(&mut latencies, 99.0),
        })
    );
}
