//! The table: for each figure, the median over the runs with min–max, its baseline from the same
//! runs, the median ratio, the target and PASS/FAIL (judged on the median ratio).

use crate::{Figures, util};

fn get(f: &Figures, key: &str) -> f64 {
    f.get(key).copied().unwrap_or(f64::NAN)
}

/// How a figure compares with its target.
#[derive(Clone, Copy)]
enum Target {
    /// Informational: a baseline or a breakdown.
    None,
    AtLeast(f64),
    AtMost(f64),
    Below(f64),
    Exactly(f64),
}

struct Row {
    scenario: &'static str,
    figure: &'static str,
    value: fn(&Figures) -> f64,
    baseline_label: &'static str,
    baseline: fn(&Figures) -> f64,
    target: Target,
}

fn row(
    scenario: &'static str,
    figure: &'static str,
    value: fn(&Figures) -> f64,
    baseline_label: &'static str,
    baseline: fn(&Figures) -> f64,
    target: Target,
) -> Row {
    Row {
        scenario,
        figure,
        value,
        baseline_label,
        baseline,
        target,
    }
}

fn none(_: &Figures) -> f64 {
    f64::NAN
}

fn rows() -> Vec<Row> {
    use Target::*;
    vec![
        row(
            "baseline",
            "hello route req/s",
            |f| get(f, "base.hello_rps"),
            "",
            none,
            None,
        ),
        row(
            "baseline",
            "hello route p99 ms",
            |f| get(f, "base.hello_p99"),
            "",
            none,
            None,
        ),
        row(
            "baseline",
            "bare 2 KB JSON route req/s",
            |f| get(f, "base.json_rps"),
            "",
            none,
            None,
        ),
        row(
            "baseline",
            "bare 2 KB JSON route p99 ms",
            |f| get(f, "base.json_p99"),
            "",
            none,
            None,
        ),
        row(
            "baseline",
            "RSA-2048 sign/s, rsa (1 core)",
            |f| get(f, "crypto.rsa_sign"),
            "",
            none,
            None,
        ),
        row(
            "baseline",
            "RSA-2048 sign/s, aws-lc-rs (1 core)",
            |f| get(f, "crypto.aws_sign"),
            "",
            none,
            None,
        ),
        row(
            "baseline",
            "RSA-2048 verify/s, rsa (1 core)",
            |f| get(f, "crypto.rsa_verify"),
            "",
            none,
            None,
        ),
        row(
            "baseline",
            "RSA-2048 verify/s, aws-lc-rs (1 core)",
            |f| get(f, "crypto.aws_verify"),
            "",
            none,
            None,
        ),
        row(
            "baseline",
            "SQLite single-row insert transactions/s",
            |f| get(f, "db.insert_tx_per_s"),
            "",
            none,
            None,
        ),
        row(
            "baseline",
            "SQLite bare 1,000-row insert ms",
            |f| get(f, "db.bare_insert_ms"),
            "",
            none,
            None,
        ),
        row(
            "read",
            "actor JSON req/s",
            |f| get(f, "read.actor_rps"),
            "hello req/s",
            |f| get(f, "base.hello_rps"),
            AtLeast(0.40),
        ),
        row(
            "read",
            "actor JSON p99 ms",
            |f| get(f, "read.actor_p99"),
            "bare JSON p99",
            |f| get(f, "base.json_p99"),
            AtMost(3.0),
        ),
        row(
            "read",
            "post Note JSON req/s",
            |f| get(f, "read.note_rps"),
            "hello req/s",
            |f| get(f, "base.hello_rps"),
            AtLeast(0.40),
        ),
        row(
            "read",
            "post Note JSON p99 ms",
            |f| get(f, "read.note_p99"),
            "bare JSON p99",
            |f| get(f, "base.json_p99"),
            AtMost(3.0),
        ),
        row(
            "read",
            "post HTML page req/s",
            |f| get(f, "read.html_rps"),
            "hello req/s",
            |f| get(f, "base.hello_rps"),
            AtLeast(0.20),
        ),
        row(
            "read",
            "post HTML page p99 ms",
            |f| get(f, "read.html_p99"),
            "bare JSON p99",
            |f| get(f, "base.json_p99"),
            None,
        ),
        row(
            "read",
            "WebFinger req/s",
            |f| get(f, "read.webfinger_rps"),
            "hello req/s",
            |f| get(f, "base.hello_rps"),
            AtLeast(0.40),
        ),
        row(
            "read",
            "NodeInfo req/s",
            |f| get(f, "read.nodeinfo_rps"),
            "hello req/s",
            |f| get(f, "base.hello_rps"),
            AtLeast(0.40),
        ),
        row(
            "fan-out",
            "POSTs received (10,000 followers, 1,000 instances)",
            |f| get(f, "fanout.posts"),
            "instances",
            |_| crate::queue::INSTANCES as f64,
            Exactly(1.0),
        ),
        row(
            "fan-out",
            "distinct bodies received",
            |f| get(f, "fanout.distinct_bodies"),
            "one activity",
            |_| 1.0,
            Exactly(1.0),
        ),
        row(
            "fan-out",
            "queue rows written (outbox::emit) ms",
            |f| get(f, "fanout.emit_ms"),
            "bare 1,000-row insert ms",
            |f| get(f, "db.bare_insert_ms"),
            AtMost(2.0),
        ),
        row(
            "fan-out",
            "whole publish_now (post + Create + rows) ms",
            |f| get(f, "fanout.publish_ms"),
            "bare 1,000-row insert ms",
            |f| get(f, "db.bare_insert_ms"),
            None,
        ),
        row(
            "fan-out",
            "all 1,000 delivered ms (API publish → last POST)",
            |f| get(f, "fanout.all_ms"),
            "1,000 aws-lc-rs signs, 1 core, ms (just before and after)",
            |f| get(f, "fanout.all_sign_ms"),
            AtMost(1.5),
        ),
        row(
            "fan-out",
            "900 healthy delivered ms, 10 % hanging",
            |f| get(f, "fanout.healthy_ms"),
            "1,000 aws-lc-rs signs, 1 core, ms (just before and after)",
            |f| get(f, "fanout.healthy_sign_ms"),
            AtMost(1.5),
        ),
        row(
            "fan-out",
            "RSS 500 ms after it MB (connections kept for reuse)",
            |f| get(f, "fanout.rss_after_mb"),
            "RSS before it MB",
            |f| get(f, "fanout.rss_before_mb"),
            None,
        ),
        row(
            "fan-out",
            "open file descriptors 500 ms after it",
            |f| get(f, "fanout.fds_after"),
            "instances",
            |_| crate::queue::INSTANCES as f64,
            None,
        ),
        row(
            "fan-out",
            "all 1,000 delivered ms, Tribune on both cores",
            |f| get(f, "fanout.two_cores_ms"),
            "all 1,000 delivered ms, Tribune on one core",
            |f| get(f, "fanout.all_ms"),
            Below(1.0),
        ),
        row(
            "fan-out",
            "all 1,000 delivered ms, Tribune on both cores",
            |f| get(f, "fanout.two_cores_ms"),
            "1,000 aws-lc-rs signs, 1 core, ms (just before and after)",
            |f| get(f, "fanout.all_sign_ms"),
            None,
        ),
        row(
            "inbox",
            "Create/Like accepted/s (1 core)",
            |f| get(f, "inbox.accepted_per_s"),
            "min(fastest verify/s, insert tx/s)",
            inbox_bound,
            None,
        ),
        row(
            "inbox",
            "Create/Like stored/s (1 core)",
            |f| get(f, "inbox.stored_per_s"),
            "min(fastest verify/s, insert tx/s)",
            inbox_bound,
            AtLeast(0.5),
        ),
        row(
            "inbox",
            "activities stored per transaction (group commit)",
            |f| get(f, "inbox.per_batch"),
            "one per transaction",
            |_| 1.0,
            None,
        ),
        row(
            "inbox",
            "wrong Digest rejected/s",
            |f| get(f, "inbox.reject_digest_rps"),
            "bare JSON req/s",
            |f| get(f, "base.json_rps"),
            AtLeast(0.5),
        ),
        row(
            "inbox",
            "expired Date rejected/s",
            |f| get(f, "inbox.reject_date_rps"),
            "bare JSON req/s",
            |f| get(f, "base.json_rps"),
            AtLeast(0.5),
        ),
        row(
            "inbox",
            "actor JSON p99 ms, inbox at half rate",
            |f| get(f, "inbox.read_p99_under_load"),
            "bare JSON p99",
            |f| get(f, "base.json_p99"),
            AtMost(3.0),
        ),
        row(
            "inbox",
            "actor JSON req/s, inbox at half rate",
            |f| get(f, "inbox.read_rps_under_load"),
            "hello req/s",
            |f| get(f, "base.hello_rps"),
            None,
        ),
        row(
            "inbox",
            "background inbox rate achieved /s",
            |f| get(f, "inbox.background_rate"),
            "accepted/s at full speed",
            |f| get(f, "inbox.accepted_per_s"),
            None,
        ),
        row(
            "memory",
            "RSS idle after start-up MB",
            |f| get(f, "mem.idle_mb"),
            "MB",
            |_| 25.0,
            AtMost(1.0),
        ),
        row(
            "memory",
            "peak RSS, read + inbox load MB",
            |f| get(f, "mem.peak_mb"),
            "MB",
            |_| 75.0,
            AtMost(1.0),
        ),
        row(
            "memory",
            "database bytes per pending delivery (100,000 backlog)",
            |f| get(f, "mem.backlog_db_bytes"),
            "bytes",
            |_| 1024.0,
            AtMost(1.0),
        ),
        row(
            "memory",
            "RSS bytes per pending delivery (100,000 backlog)",
            |f| get(f, "mem.backlog_rss_bytes"),
            "bytes",
            |_| 1024.0,
            AtMost(1.0),
        ),
        row(
            "memory",
            "RSS with the backlog MB",
            |f| get(f, "mem.backlog_rss_mb"),
            "",
            none,
            None,
        ),
        row(
            "memory",
            "enqueueing the 100,000 (API publish) ms",
            |f| get(f, "mem.backlog_enqueue_ms"),
            "",
            none,
            None,
        ),
    ]
}

/// `min(fastest verify/s, insert transactions/s)`: what bounds an inbox on one core.
fn inbox_bound(f: &Figures) -> f64 {
    get(f, "crypto.aws_verify")
        .max(get(f, "crypto.rsa_verify"))
        .min(get(f, "db.insert_tx_per_s"))
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn spread(values: &[f64]) -> String {
    let (lo, hi) = util::min_max(values);
    if values.len() < 2 {
        fmt(util::median(values))
    } else {
        format!("{} ({}–{})", fmt(util::median(values)), fmt(lo), fmt(hi))
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(String::new(), |kb| {
            format!(", {:.0} GB RAM", kb / 1024.0 / 1024.0)
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!(
        "{cores} cores ({cpu}){memory}, Linux {}, commit {commit}",
        kernel.trim()
    )
}

pub fn table(runs: &[Figures], n: usize, seconds: u64) -> String {
    let mut out = format!(
        "Tribune benchmark suite — {n} run(s), median (min–max); wrk -t1 -c64 -d{seconds}s on core 1, \
         Tribune and the baseline server on core 0.\nMachine: {}\n\n\
         | scenario | figure | value | baseline | baseline value | ratio | target | result |\n\
         |---|---|---|---|---|---|---|---|\n",
        machine()
    );
    let (mut pass, mut fail) = (0, 0);
    for row in rows() {
        let values: Vec<f64> = runs.iter().map(|f| (row.value)(f)).collect();
        if values.iter().all(|v| v.is_nan()) {
            continue;
        }
        let baselines: Vec<f64> = runs.iter().map(|f| (row.baseline)(f)).collect();
        let ratios: Vec<f64> = values.iter().zip(&baselines).map(|(v, b)| v / b).collect();
        let ratio = util::median(&ratios);
        let (target, verdict) = match row.target {
            Target::None => (String::new(), String::new()),
            Target::AtLeast(t) => (format!("≥ {t}"), pass_fail(ratio >= t)),
            Target::AtMost(t) => (format!("≤ {t}"), pass_fail(ratio <= t)),
            Target::Below(t) => (format!("< {t}"), pass_fail(ratio < t)),
            Target::Exactly(t) => (format!("= {t}"), pass_fail((ratio - t).abs() < 1e-9)),
        };
        match verdict.as_str() {
            "PASS" => pass += 1,
            "FAIL" => fail += 1,
            _ => {}
        }
        let has_baseline = !baselines.iter().all(|b| b.is_nan());
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            row.scenario,
            row.figure,
            spread(&values),
            row.baseline_label,
            if has_baseline {
                spread(&baselines)
            } else {
                String::new()
            },
            if has_baseline {
                spread(&ratios)
            } else {
                String::new()
            },
            target,
            verdict
        ));
    }
    out.push_str(&format!("\n{pass} PASS, {fail} FAIL.\n"));
    out
}

fn pass_fail(ok: bool) -> String {
    if ok { "PASS".into() } else { "FAIL".into() }
}
