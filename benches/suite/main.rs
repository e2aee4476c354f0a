//! Tribune's benchmark suite: every scenario of the "Performance" issue measured against its
//! baselines in the same run, a table of figures, ratios and targets printed and written to
//! `target/bench-report.md` (see BENCHMARKS.md).
//!
//! Run: `cargo bench --bench suite` (release build; needs `wrk` and `taskset`). Options after
//! `--`: `--runs N` (default 3; medians, min–max), `--seconds S` (wrk duration, default 5),
//! `--only read,inbox,fanout,memory` (default: all), `--report PATH`.
//!
//! Layout: the release `tribune` binary runs as its own process pinned to core 0 on a fresh
//! SQLite database per run; wrk and the inbox load generator run on core 1; the baseline server
//! (hello + bare JSON) runs on core 0 like Tribune; the stand-in remote instances run in their
//! own process on core 1, so Tribune's RSS is Tribune's alone. One more Tribune, on both cores,
//! repeats the first fan-out to compare with the one-core time. Helpers are this binary
//! re-executed with `--role`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

mod inbox;
mod queue;
mod report;
mod roles;
mod util;
mod wrk;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::Value;
use tribune::{config::Settings, domain::post::PostInput};
use url::Url;

use crate::util::Proc;

/// The figures of one run, by name (see `report` for the table built from them).
pub type Figures = BTreeMap<&'static str, f64>;

const POSTS: usize = 30;
/// Pre-signed inbox requests per run (beyond the warm-up): more than the measured phases use.
const INBOX_REQUESTS: usize = 30_000;
const BACKLOG: usize = 100_000;

struct Options {
    runs: usize,
    seconds: u64,
    only: Vec<String>,
    report: PathBuf,
}

impl Options {
    fn wants(&self, scenario: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == scenario)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(role) = roles::arg(&args, "--role") {
        roles::dispatch(&role, &args);
        return;
    }
    let options = Options {
        runs: roles::arg_or(&args, "--runs", 3),
        seconds: roles::arg_or(&args, "--seconds", 5),
        only: roles::arg(&args, "--only")
            .map(|s| s.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        report: roles::arg(&args, "--report").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-report.md"),
            PathBuf::from,
        ),
    };
    wrk::require();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(suite(options));
}

/// The pieces that live for the whole suite: stand-ins, keys, the baseline server.
struct Fixture {
    root: tempfile::TempDir,
    keys: PathBuf,
    standins: Proc,
    bases: Vec<String>,
    control: String,
    client: reqwest::Client,
}

async fn suite(options: Options) {
    let started = Instant::now();
    let root = tempfile::tempdir().expect("temp dir");
    let keys = root.path().join("keys");
    eprintln!("suite: generating {} actor keys…", inbox::KEY_HOSTS);
    inbox::generate_keys(&keys);
    let mut standins = util::role(
        1,
        "standins",
        &[
            "--instances".into(),
            queue::INSTANCES.to_string(),
            "--keys".into(),
            keys.display().to_string(),
        ],
    );
    let ports: Vec<u16> = serde_json::from_str(&standins.read_line()).expect("stand-in ports");
    let bases: Vec<String> = ports
        .iter()
        .map(|p| format!("http://localhost:{p}"))
        .collect();
    let control = format!("http://127.0.0.1:{}/control", ports[0]);
    let fixture = Fixture {
        root,
        keys,
        standins,
        bases,
        control,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("client"),
    };

    let mut runs: Vec<Figures> = Vec::new();
    for run in 0..options.runs {
        eprintln!("suite: run {}/{}", run + 1, options.runs);
        runs.push(one_run(&options, &fixture, run).await);
    }
    let table = report::table(&runs, options.runs, options.seconds);
    println!("{table}");
    if let Some(parent) = options.report.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&options.report, &table).expect("write report");
    eprintln!(
        "suite: report written to {} ({:.0} s)",
        options.report.display(),
        started.elapsed().as_secs_f64()
    );
    drop(fixture.standins);
}

fn json_of(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("helper printed {line:?}: {e}"))
}

fn num(value: &Value, key: &str) -> f64 {
    value.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

async fn one_run(options: &Options, fx: &Fixture, run: usize) -> Figures {
    let mut f = Figures::new();
    let seconds = options.seconds;

    // Baselines measured in this run: crypto on one core, the database, the HTTP floor.
    let crypto = json_of(
        &util::role(
            0,
            "crypto",
            &[
                "--key".into(),
                fx.keys.join("0.key.pem").display().to_string(),
            ],
        )
        .finish(),
    );
    for key in ["rsa_sign", "rsa_verify", "aws_sign", "aws_verify"] {
        f.insert(
            match key {
                "rsa_sign" => "crypto.rsa_sign",
                "rsa_verify" => "crypto.rsa_verify",
                "aws_sign" => "crypto.aws_sign",
                _ => "crypto.aws_verify",
            },
            num(&crypto, key),
        );
    }
    let db_figures = json_of(&util::role(0, "queue", &[]).finish());
    f.insert("db.bare_insert_ms", num(&db_figures, "bare_insert_ms"));
    f.insert("db.insert_tx_per_s", num(&db_figures, "insert_tx_per_s"));
    f.insert("fanout.emit_ms", num(&db_figures, "emit_ms"));
    f.insert("fanout.publish_ms", num(&db_figures, "publish_ms"));

    let mut baseline = util::role(0, "baseline", &[]);
    let port: u16 = baseline.read_line().parse().expect("baseline port");
    let base = format!("http://127.0.0.1:{port}");
    util::wait_ready(
        &fx.client,
        &format!("{base}/hello"),
        Duration::from_secs(10),
    )
    .await;
    let hello = wrk::run(&format!("{base}/hello"), seconds, &[], None);
    let json = wrk::run(&format!("{base}/json"), seconds, &[], None);
    drop(baseline);
    f.insert("base.hello_rps", hello.rps);
    f.insert("base.hello_p99", hello.p99_ms);
    f.insert("base.json_rps", json.rps);
    f.insert("base.json_p99", json.p99_ms);

    if options.wants("read") || options.wants("inbox") || options.wants("fanout") {
        serving_scenarios(options, fx, run, &mut f).await;
    }
    if options.wants("memory") {
        backlog(fx, run, &mut f).await;
    }
    f
}

/// Settings of a Tribune under test: its own data dir and port, loopback federation allowed,
/// quiet logs.
fn settings(dir: &Path, port: u16, workers: bool) -> Settings {
    let mut settings = Settings {
        data_dir: dir.to_path_buf(),
        ..Settings::default()
    };
    settings.server.listen = format!("127.0.0.1:{port}").parse().expect("addr");
    settings.instance.base_url = Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url");
    settings.federation.allow_private_network = true;
    settings.delivery.workers = workers;
    settings.log.filter = "warn".into();
    // The whole load comes from one loopback address: the per-address inbox limit would answer
    // 429 to most of it and measure the limiter, not the inbox.
    settings.rate_limits.inbox.per_minute = 0;
    settings
}

/// What the bench prepared in a Tribune database before starting it.
struct Prepared {
    token: String,
    posts: Vec<String>,
    collective_id: i64,
}

/// Migrates a fresh database and adds a member, an API token and `posts` published posts (no
/// followers yet, so nothing is queued).
async fn prepare(settings: &Settings, posts: usize) -> Prepared {
    let state = tribune::app::prepare(settings.clone())
        .await
        .expect("prepare");
    let member = queue::bench_member(&state.db).await;
    let token =
        tribune::service::oauth::create_personal_token(&state.db, &member, "read write", "bench")
            .await
            .expect("token")
            .token;
    let mut urls = Vec::new();
    for i in 0..posts {
        let draft = tribune::service::post::create(
            &state,
            &member,
            PostInput {
                title: (i % 2 == 1).then(|| format!("Un article numéro {i}")),
                summary: None,
                content_warning: None,
                language: "fr".into(),
                body_markdown: format!(
                    "Un message du collectif, le **{i}e**, avec un #mot_clé et [un lien](https://example.org/).\n\n{}",
                    "Un paragraphe de texte ordinaire, assez long pour ressembler à un vrai billet. ".repeat(12)
                ),
                tags: vec!["bench".into()],
            },
        )
        .await
        .expect("draft");
        tribune::service::post::publish_now(&state, &member, &draft.public_id)
            .await
            .expect("publish");
        urls.push(state.urls.post(&draft.public_id).to_string());
    }
    let collective_id = state.collective.id;
    state.db.clone().close().await.expect("close");
    Prepared {
        token,
        posts: urls,
        collective_id,
    }
}

/// A running Tribune process.
struct Tribune {
    proc: Proc,
    base: String,
    db: DatabaseConnection,
}

/// Starts the release binary on the cores of `cpus` (a `taskset -c` list) and waits until it
/// answers.
async fn start_tribune(fx: &Fixture, settings: &Settings, dir: &Path, cpus: &str) -> Tribune {
    let config = dir.join("tribune.toml");
    std::fs::write(&config, toml::to_string(settings).expect("toml")).expect("config");
    let proc = util::pinned_to(
        cpus,
        Path::new(env!("CARGO_BIN_EXE_tribune")),
        &[
            "--config".into(),
            config.display().to_string(),
            "serve".into(),
        ],
        Some(&dir.join("tribune.log")),
    );
    let base = settings
        .instance
        .base_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    util::wait_ready(
        &fx.client,
        &format!("{base}/healthz"),
        Duration::from_secs(30),
    )
    .await;
    let db = tribune::db::connect(settings)
        .await
        .expect("bench connection");
    Tribune { proc, base, db }
}

async fn count(db: &DatabaseConnection, sql: &str) -> f64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("count")
        .expect("row");
    row.try_get_by_index::<i64>(0).expect("count") as f64
}

/// Read path, inbox, fan-out and the memory they take, on one Tribune process.
async fn serving_scenarios(options: &Options, fx: &Fixture, run: usize, f: &mut Figures) {
    let seconds = options.seconds;
    let dir = fx.root.path().join(format!("run{run}"));
    std::fs::create_dir_all(&dir).expect("run dir");
    let port = util::free_port();
    let settings = settings(&dir, port, true);
    let prepared = prepare(&settings, POSTS).await;

    // Inbox traffic for this run, signed before Tribune starts (the signer shares the cores).
    let host = format!("127.0.0.1:{port}");
    let signer = inbox::Signer::new(&fx.keys, fx.bases.clone(), host, "/inbox");
    let warmup_file = dir.join("warmup.jsonl");
    let requests_file = dir.join("requests.jsonl");
    if options.wants("inbox") {
        eprintln!(
            "suite: signing {} inbox requests…",
            INBOX_REQUESTS + inbox::ACTORS
        );
        // One request per actor first: Tribune fetches and caches each actor once.
        inbox::write_signed(
            &signer,
            &format!("w{run}"),
            0..inbox::ACTORS,
            &prepared.posts,
            &warmup_file,
        );
        inbox::write_signed(
            &signer,
            &format!("r{run}"),
            0..INBOX_REQUESTS,
            &prepared.posts,
            &requests_file,
        );
    }

    let tribune = start_tribune(fx, &settings, &dir, "0").await;
    let pid = tribune.proc.pid();
    tokio::time::sleep(Duration::from_secs(1)).await;
    f.insert("mem.idle_mb", util::proc_kb(pid, "VmRSS:") / 1024.0);

    let base = tribune.base.clone();
    let post = &prepared.posts[0];
    let activity_json = [("Accept", "application/activity+json")];
    if options.wants("read") {
        let actor = wrk::run(
            &format!("{base}/actors/collectif"),
            seconds,
            &activity_json,
            None,
        );
        let note = wrk::run(post, seconds, &activity_json, None);
        let html = wrk::run(post, seconds, &[("Accept", "text/html")], None);
        let webfinger = wrk::run(
            &format!("{base}/.well-known/webfinger?resource=acct:collectif@127.0.0.1:{port}"),
            seconds,
            &[],
            None,
        );
        let nodeinfo = wrk::run(&format!("{base}/nodeinfo/2.1"), seconds, &[], None);
        for (name, r) in [
            ("actor", actor),
            ("note", note),
            ("html", html),
            ("webfinger", webfinger),
            ("nodeinfo", nodeinfo),
        ] {
            assert_eq!(r.non_2xx, 0, "{name}: {} non-2xx answers", r.non_2xx);
        }
        f.insert("read.actor_rps", actor.rps);
        f.insert("read.actor_p99", actor.p99_ms);
        f.insert("read.note_rps", note.rps);
        f.insert("read.note_p99", note.p99_ms);
        f.insert("read.html_rps", html.rps);
        f.insert("read.html_p99", html.p99_ms);
        f.insert("read.webfinger_rps", webfinger.rps);
        f.insert("read.nodeinfo_rps", nodeinfo.rps);
    }

    if options.wants("inbox") {
        inbox_scenarios(
            options,
            &tribune,
            &signer,
            &prepared,
            &warmup_file,
            &requests_file,
            f,
        )
        .await;
    }
    f.insert("mem.peak_mb", util::proc_kb(pid, "VmHWM:") / 1024.0);

    if options.wants("fanout") {
        fanout(fx, &tribune, &prepared, f).await;
    }
    drop(tribune);
    if options.wants("fanout") {
        fanout_on_two_cores(fx, run, f).await;
    }
}

/// The first fan-out again, from a Tribune free to run on both cores (it starts a signing
/// thread and a Tokio worker per core), to compare with the one-core time of the same run.
/// The stand-ins stay on core 1, so Tribune's second core is shared with them: on a
/// two-core machine that is as far apart as the two sides can be.
async fn fanout_on_two_cores(fx: &Fixture, run: usize, f: &mut Figures) {
    let dir = fx.root.path().join(format!("run{run}-two-cores"));
    std::fs::create_dir_all(&dir).expect("run dir");
    let settings = settings(&dir, util::free_port(), true);
    let prepared = prepare(&settings, 1).await;
    let tribune = start_tribune(fx, &settings, &dir, "0,1").await;
    follow_from_the_standins(fx, &tribune, &prepared).await;
    control(fx, "reset").await;
    let took = publish_and_wait(
        fx,
        &tribune,
        &prepared.token,
        "Le même message, depuis deux cœurs.",
        fx.bases.len() as f64,
    )
    .await;
    f.insert("fanout.two_cores_ms", took);
}

fn load_args(url: &str, file: &Path, extra: &[(&str, String)]) -> Vec<String> {
    let mut args = vec![
        "--url".to_string(),
        url.to_string(),
        "--requests".into(),
        file.display().to_string(),
    ];
    for (k, v) in extra {
        args.push((*k).to_string());
        args.push(v.clone());
    }
    args
}

/// The inbox writer's (batches, activities) so far, from Tribune's `/metrics`.
async fn batch_counters(tribune: &Tribune) -> (f64, f64) {
    let text = reqwest::get(format!("{}/metrics", tribune.base))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    let counter = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (
        counter("tribune_inbox_batches_total "),
        counter("tribune_inbox_batched_activities_total "),
    )
}

async fn inbox_scenarios(
    options: &Options,
    tribune: &Tribune,
    signer: &inbox::Signer,
    prepared: &Prepared,
    warmup_file: &Path,
    requests_file: &Path,
    f: &mut Figures,
) {
    let seconds = options.seconds;
    let url = format!("{}/inbox", tribune.base);
    let warmup = json_of(&util::role(1, "load", &load_args(&url, warmup_file, &[])).finish());
    assert_eq!(
        num(&warmup, "ok") as usize,
        inbox::ACTORS,
        "warm-up requests must all be accepted: {warmup}"
    );

    // Full speed: accepted and stored per second.
    let batches_before = batch_counters(tribune).await;
    let stored_before = count(&tribune.db, "SELECT COUNT(*) FROM received_activity").await;
    let full = json_of(
        &util::role(
            1,
            "load",
            &load_args(
                &url,
                requests_file,
                &[
                    ("--count", (INBOX_REQUESTS / 2).to_string()),
                    ("--seconds", seconds.to_string()),
                    ("--concurrency", "32".into()),
                ],
            ),
        )
        .finish(),
    );
    let stored = count(&tribune.db, "SELECT COUNT(*) FROM received_activity").await - stored_before;
    let batches_after = batch_counters(tribune).await;
    f.insert(
        "inbox.per_batch",
        (batches_after.1 - batches_before.1) / (batches_after.0 - batches_before.0).max(1.0),
    );
    let secs = num(&full, "secs");
    assert_eq!(
        num(&full, "ok"),
        num(&full, "sent"),
        "every signed activity must be accepted: {full}"
    );
    f.insert("inbox.accepted_per_s", num(&full, "ok") / secs);
    f.insert("inbox.stored_per_s", stored / secs);
    let comments = count(&tribune.db, "SELECT COUNT(*) FROM comment").await;
    let reactions = count(&tribune.db, "SELECT COUNT(*) FROM reaction").await;
    f.insert("inbox.rows_stored", comments + reactions);

    // Rejections before any RSA work: a wrong Digest, an expired Date (both properly signed).
    let (a, body) = inbox::activity(signer, "bad", 1, &prepared.posts);
    let wrong_digest = signer.sign(a, body.clone(), None, Some(b"another body"));
    let expired = signer.sign(
        a,
        body,
        Some(httpdate::fmt_http_date(
            std::time::SystemTime::now() - Duration::from_secs(3 * 3600),
        )),
        None,
    );
    let dir = requests_file.parent().expect("dir");
    for (name, (body, headers)) in [("digest", wrong_digest), ("date", expired)] {
        let script = dir.join(format!("reject-{name}.lua"));
        let headers: Vec<(String, String)> =
            headers.into_iter().filter(|(k, _)| k != "host").collect();
        wrk::fixed_request_script(&script, "POST", &headers, &body).expect("lua");
        let r = wrk::run(&url, seconds, &[], Some(&script));
        assert_eq!(
            r.non_2xx, r.requests,
            "every forged request must be rejected ({name})"
        );
        f.insert(
            if name == "digest" {
                "inbox.reject_digest_rps"
            } else {
                "inbox.reject_date_rps"
            },
            r.rps,
        );
    }

    // Reads while the inbox runs at half its measured rate.
    let half_rate = (num(&full, "ok") / secs / 2.0).max(1.0);
    let used = num(&full, "sent") as usize;
    let load = util::role(
        1,
        "load",
        &load_args(
            &url,
            requests_file,
            &[
                ("--from", used.to_string()),
                ("--seconds", (seconds + 1).to_string()),
                ("--rate", format!("{half_rate:.1}")),
                ("--concurrency", "32".into()),
            ],
        ),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reads = wrk::run(
        &format!("{}/actors/collectif", tribune.base),
        seconds,
        &[("Accept", "application/activity+json")],
        None,
    );
    let background = json_of(&load.finish());
    f.insert("inbox.read_p99_under_load", reads.p99_ms);
    f.insert("inbox.read_rps_under_load", reads.rps);
    f.insert(
        "inbox.background_rate",
        num(&background, "ok") / num(&background, "secs"),
    );
}

async fn standin_stats(fx: &Fixture) -> (f64, f64) {
    let stats: Value = fx
        .client
        .get(format!("{}/stats", fx.control))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats json");
    (num(&stats, "posts"), num(&stats, "distinct_bodies"))
}

async fn control(fx: &Fixture, what: &str) {
    fx.client
        .post(format!("{}/{what}", fx.control))
        .send()
        .await
        .expect("control");
}

/// Publishes a status through the Mastodon API (the server's own publication path, which wakes
/// its delivery workers) and returns when the response arrives.
async fn publish(fx: &Fixture, tribune: &Tribune, token: &str, text: &str) {
    let resp = fx
        .client
        .post(format!("{}/api/v1/statuses", tribune.base))
        .bearer_auth(token)
        .json(&serde_json::json!({ "status": text, "visibility": "public" }))
        .send()
        .await
        .expect("publish");
    assert!(resp.status().is_success(), "publish: {}", resp.status());
}

/// Waits until the stand-ins have received `n` POSTs; the time since `started`.
async fn wait_posts(fx: &Fixture, n: f64, started: Instant) -> f64 {
    loop {
        let (posts, _) = standin_stats(fx).await;
        if posts >= n {
            return started.elapsed().as_secs_f64() * 1e3;
        }
        if started.elapsed() > Duration::from_secs(120) {
            return f64::NAN;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The time to sign 1,000 requests with aws-lc-rs on core 0 (Tribune's, idle then), in ms.
fn sign_1000_ms(fx: &Fixture) -> f64 {
    let key = fx.keys.join("0.key.pem").display().to_string();
    let measured = json_of(&util::role(0, "sign", &["--key".into(), key]).finish());
    1e6 / num(&measured, "aws_sign")
}

/// Publishes `text` and waits until the stand-ins have received `posts` POSTs, between two
/// measures of its baseline, the signing time; records the time under `time_key` and the mean
/// of the two measures under `sign_key` (the machine's speed drifts from one second to the
/// next, so a fan-out's baseline is measured just around it).
async fn timed_fanout(
    fx: &Fixture,
    tribune: &Tribune,
    token: &str,
    text: &str,
    posts: f64,
    f: &mut Figures,
    [time_key, sign_key]: [&'static str; 2],
) {
    let before = sign_1000_ms(fx);
    let took = publish_and_wait(fx, tribune, token, text, posts).await;
    let after = sign_1000_ms(fx);
    f.insert(time_key, took);
    f.insert(sign_key, (before + after) / 2.0);
}

/// Publishes `text` and returns the time, in ms, until the stand-ins have received `posts`
/// POSTs.
async fn publish_and_wait(
    fx: &Fixture,
    tribune: &Tribune,
    token: &str,
    text: &str,
    posts: f64,
) -> f64 {
    let started = Instant::now();
    publish(fx, tribune, token, text).await;
    wait_posts(fx, posts, started).await
}

/// The collective's 10,000 accepted followers on the stand-in instances, as the fan-outs
/// deliver to them.
async fn follow_from_the_standins(fx: &Fixture, tribune: &Tribune, prepared: &Prepared) {
    queue::insert_followers(
        &tribune.db,
        prepared.collective_id,
        &fx.bases,
        queue::FOLLOWERS_PER_INSTANCE,
    )
    .await;
}

async fn fanout(fx: &Fixture, tribune: &Tribune, prepared: &Prepared, f: &mut Figures) {
    follow_from_the_standins(fx, tribune, prepared).await;
    let instances = fx.bases.len() as f64;
    let pid = tribune.proc.pid();
    f.insert(
        "fanout.rss_before_mb",
        util::proc_kb(pid, "VmRSS:") / 1024.0,
    );

    control(fx, "reset").await;
    timed_fanout(
        fx,
        tribune,
        &prepared.token,
        "Un message pour dix mille abonné·es.",
        instances,
        f,
        ["fanout.all_ms", "fanout.all_sign_ms"],
    )
    .await;
    // Anything beyond one POST per instance would arrive now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (posts, distinct) = standin_stats(fx).await;
    f.insert("fanout.posts", posts);
    f.insert("fanout.distinct_bodies", distinct);
    // The connections kept for reuse (one per instance) are still open: what a fan-out to a
    // thousand instances leaves behind for the pool's idle timeout.
    f.insert("fanout.rss_after_mb", util::proc_kb(pid, "VmRSS:") / 1024.0);
    f.insert("fanout.fds_after", util::open_fds(pid));

    control(fx, "reset").await;
    control(fx, "hang/1").await;
    let healthy = instances - (instances / 10.0).ceil();
    timed_fanout(
        fx,
        tribune,
        &prepared.token,
        "Un second message, des serveurs muets.",
        healthy,
        f,
        ["fanout.healthy_ms", "fanout.healthy_sign_ms"],
    )
    .await;
    control(fx, "hang/0").await;
}

/// Database bytes of a SQLite file as SQLite counts them (pages in use).
async fn db_bytes(db: &DatabaseConnection) -> f64 {
    let pages = count(db, "PRAGMA page_count").await;
    let free = count(db, "PRAGMA freelist_count").await;
    let size = count(db, "PRAGMA page_size").await;
    (pages - free) * size
}

/// A backlog of 100,000 pending deliveries (one post to 100,000 followers on as many instances,
/// delivery workers off): database bytes and Tribune RSS per pending delivery.
async fn backlog(fx: &Fixture, run: usize, f: &mut Figures) {
    let dir = fx.root.path().join(format!("backlog{run}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let settings = settings(&dir, util::free_port(), false);
    let prepared = prepare(&settings, 1).await;
    {
        let db = tribune::db::connect(&settings).await.expect("db");
        let bases: Vec<String> = (0..BACKLOG)
            .map(|i| format!("http://h{i}.invalid"))
            .collect();
        queue::insert_followers(&db, prepared.collective_id, &bases, 1).await;
        db.close().await.expect("close");
    }
    let tribune = start_tribune(fx, &settings, &dir, "0").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = tribune.proc.pid();
    let rss_before = util::proc_kb(pid, "VmRSS:");
    let bytes_before = db_bytes(&tribune.db).await;
    let started = Instant::now();
    publish(
        fx,
        &tribune,
        &prepared.token,
        "Un message pour cent mille serveurs.",
    )
    .await;
    f.insert(
        "mem.backlog_enqueue_ms",
        started.elapsed().as_secs_f64() * 1e3,
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = util::proc_kb(pid, "VmRSS:");
    let bytes_after = db_bytes(&tribune.db).await;
    let pending = count(
        &tribune.db,
        "SELECT COUNT(*) FROM delivery WHERE state = 'pending'",
    )
    .await;
    assert_eq!(
        pending as usize, BACKLOG,
        "one pending delivery per instance"
    );
    f.insert(
        "mem.backlog_db_bytes",
        (bytes_after - bytes_before) / pending,
    );
    f.insert(
        "mem.backlog_rss_bytes",
        (rss_after - rss_before) * 1024.0 / pending,
    );
    f.insert("mem.backlog_rss_mb", rss_after / 1024.0);
}
