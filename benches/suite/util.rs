//! Process plumbing shared by the scenarios: pinned child processes (the bench re-executes
//! itself for its helper roles), `/proc` memory readings and statistics.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, ChildStdout, Command, Stdio},
    time::{Duration, Instant},
};

/// A child process killed when dropped, so that a failing run leaves nothing behind.
pub struct Proc {
    pub child: Child,
    pub stdout: Option<BufReader<ChildStdout>>,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line the child prints (its readiness report).
    pub fn read_line(&mut self) -> String {
        let mut line = String::new();
        if let Some(out) = self.stdout.as_mut() {
            out.read_line(&mut line).expect("read child stdout");
        }
        line.trim().to_string()
    }

    /// Waits for the child and returns the last line it printed (its result as JSON).
    pub fn finish(mut self) -> String {
        let mut last = String::new();
        if let Some(out) = self.stdout.take() {
            for line in out.lines() {
                let line = line.expect("read child stdout");
                if !line.trim().is_empty() {
                    last = line;
                }
            }
        }
        let status = self.child.wait().expect("wait child");
        assert!(status.success(), "helper process failed: {status}");
        last
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `program args` pinned to `core` with `taskset`, stdout piped.
pub fn pinned(core: u32, program: &Path, args: &[String], log: Option<&Path>) -> Proc {
    pinned_to(&core.to_string(), program, args, log)
}

/// Runs `program args` on the cores of `cpus` (a `taskset -c` list: `0`, `0,1`), stdout piped.
pub fn pinned_to(cpus: &str, program: &Path, args: &[String], log: Option<&Path>) -> Proc {
    let mut command = Command::new("taskset");
    command
        .arg("-c")
        .arg(cpus)
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    if let Some(log) = log {
        command.stderr(std::fs::File::create(log).expect("log file"));
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let stdout = child.stdout.take().map(BufReader::new);
    Proc { child, stdout }
}

/// Runs one of this bench's helper roles (see `roles`) pinned to `core`.
pub fn role(core: u32, role: &str, args: &[String]) -> Proc {
    let exe = std::env::current_exe().expect("current exe");
    let mut all = vec!["--role".to_string(), role.to_string()];
    all.extend_from_slice(args);
    pinned(core, &exe, &all, None)
}

/// How many file descriptors process `pid` has open (`/proc/<pid>/fd`).
pub fn open_fds(pid: u32) -> f64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(f64::NAN, |dir| dir.count() as f64)
}

/// A `/proc/<pid>/status` field in kB (`VmRSS`, `VmHWM`).
pub fn proc_kb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .unwrap_or(f64::NAN)
}

/// A free loopback port (bound then released; the suite is the only thing picking ports).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Waits until `url` answers 2xx.
pub async fn wait_ready(client: &reqwest::Client, url: &str, timeout: Duration) {
    let started = Instant::now();
    loop {
        if let Ok(resp) = client.get(url).send().await
            && resp.status().is_success()
        {
            return;
        }
        assert!(
            started.elapsed() < timeout,
            "{url} did not answer within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

pub fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .fold((f64::NAN, f64::NAN), |(lo, hi), v| {
            (
                if lo.is_nan() { v } else { lo.min(v) },
                if hi.is_nan() { v } else { hi.max(v) },
            )
        })
}

/// The `p`-th percentile (0–100) of unsorted samples.
pub fn percentile(samples: &mut [f64], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (samples.len() as f64 - 1.0)).round() as usize;
    samples[rank.min(samples.len() - 1)]
}
