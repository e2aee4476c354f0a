//! The HTTP load generator: `wrk` pinned to core 1, its req/s and p99 parsed.

use std::{path::Path, process::Command};

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
pub struct WrkResult {
    pub rps: f64,
    pub p99_ms: f64,
    /// Responses that were not 2xx/3xx (rejections count here, on purpose).
    pub non_2xx: u64,
    pub requests: u64,
}

/// Stops the suite with install instructions when wrk is missing.
pub fn require() {
    let found = Command::new("wrk").arg("--version").output().is_ok();
    if !found {
        eprintln!(
            "The benchmark suite needs wrk (the HTTP load generator).\n\
             Install it with: apt-get install -y wrk   (Debian/Ubuntu)\n\
             or build it from https://github.com/wg/wrk, then rerun."
        );
        std::process::exit(2);
    }
}

fn millis(text: &str) -> f64 {
    let text = text.trim();
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000.0)
    } else {
        (text, 1.0)
    };
    number.parse::<f64>().map_or(f64::NAN, |v| v * factor)
}

/// Parses wrk's `--latency` report.
pub fn parse(output: &str) -> WrkResult {
    let mut result = WrkResult {
        rps: f64::NAN,
        p99_ms: f64::NAN,
        non_2xx: 0,
        requests: 0,
    };
    for line in output.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            result.rps = rest.trim().parse().unwrap_or(f64::NAN);
        } else if let Some(rest) = line.strip_prefix("99%") {
            result.p99_ms = millis(rest);
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            result.non_2xx = rest.trim().parse().unwrap_or(0);
        } else if line.contains("requests in") {
            result.requests = line
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
    }
    result
}

/// `taskset -c 1 wrk -t1 -c64 -d{seconds}s --latency [-H …] [-s script] url`.
pub fn run(url: &str, seconds: u64, headers: &[(&str, &str)], script: Option<&Path>) -> WrkResult {
    let mut command = Command::new("taskset");
    command.args(["-c", "1", "wrk", "-t1", "-c64", "--latency"]);
    command.arg(format!("-d{seconds}s"));
    for (name, value) in headers {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    command.arg(url);
    let output = command.output().expect("run wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    let result = parse(&text);
    assert!(
        result.rps.is_finite(),
        "wrk gave no result for {url}:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    result
}

/// A wrk Lua script replaying one fixed request (for the rejection scenarios).
pub fn fixed_request_script(
    path: &Path,
    method: &str,
    headers: &[(String, String)],
    body: &str,
) -> std::io::Result<()> {
    let mut lua = format!("wrk.method = \"{method}\"\n");
    for (name, value) in headers {
        lua.push_str(&format!("wrk.headers[\"{name}\"] = [==[{value}]==]\n"));
    }
    lua.push_str(&format!("wrk.body = [==[{body}]==]\n"));
    std::fs::write(path, lua)
}

#[cfg(test)]
mod tests {
    #[test]
    fn units() {
        assert_eq!(super::millis("1.10ms"), 1.1);
        assert_eq!(super::millis("850.00us"), 0.85);
        assert_eq!(super::millis("2.00s"), 2000.0);
    }
}
