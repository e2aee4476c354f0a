//! The `tribune` binary itself: configuration errors, `config check`, `migrate`, and a real
//! `serve` that answers and stops cleanly on SIGTERM.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

fn tribune(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tribune"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("run tribune")
}

/// Asserts a start-up failure: non-zero exit, one line on stderr naming the key and the reason.
fn assert_config_error(output: &Output, key: &str, reason: &str) {
    assert!(!output.status.success(), "must fail: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr.trim();
    assert_eq!(line.lines().count(), 1, "one line, got: {stderr}");
    assert!(
        line.starts_with(&format!("configuration error: {key}: ")),
        "names the key {key}: {line}"
    );
    assert!(line.contains(reason), "says why ({reason}): {line}");
}

#[test]
fn each_kind_of_bad_configuration_stops_start_up_with_its_key() {
    let dir = tempfile::tempdir().expect("dir");
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (
            &[("TRIBUNE__SERVER__LISEN", "0.0.0.0:80")],
            "server.lisen",
            "unknown key",
        ),
        (
            &[("TRIBUNE__INSTANCE__BASE_URL", "not a url")],
            "instance.base_url",
            "relative URL without a base",
        ),
        (
            &[("TRIBUNE__INSTANCE__BASE_URL", "ftp://example.org")],
            "instance.base_url",
            "https://",
        ),
        (
            &[("TRIBUNE__INSTANCE__BASE_URL", "https://example.org/blog")],
            "instance.base_url",
            "without a path",
        ),
        (
            &[("TRIBUNE__COLLECTIVE__USERNAME", "Le Collectif")],
            "collective.username",
            "lowercase letters",
        ),
        (
            &[("TRIBUNE__COLLECTIVE__USERNAME", "")],
            "collective.username",
            "must not be empty",
        ),
        (
            &[("TRIBUNE__COLLECTIVE__ACTOR_TYPE", "Robot")],
            "collective.actor_type",
            "Group",
        ),
        (
            &[("TRIBUNE__SERVER__LISTEN", "localhost")],
            "server.listen",
            "socket address",
        ),
        (
            &[("TRIBUNE__DATABASE__URL", "mysql://db/tribune")],
            "database.url",
            "sqlite:// or postgres://",
        ),
        (
            &[("TRIBUNE__FEDERATION__ALLOW_PRIVATE_NETWORK", "maybe")],
            "federation.allow_private_network",
            "bool",
        ),
        (
            &[("TRIBUNE__COLLECTIVE__ICON_URL", "avatar.png")],
            "collective.icon_url",
            "absolute",
        ),
        (
            &[("TRIBUNE__SERVER__BODY_READ_TIMEOUT_SECONDS", "0")],
            "server.body_read_timeout_seconds",
            "at least 1",
        ),
    ];
    for (env, key, reason) in cases {
        let output = tribune(&["config", "check"], env, dir.path());
        assert_config_error(&output, key, reason);
        assert_eq!(output.status.code(), Some(2), "{key}");
    }
}

#[test]
fn a_bad_key_in_the_config_file_is_reported_with_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("tribune.toml");
    std::fs::write(
        &path,
        "[collective]\nusername = \"collectif\"\nnmae = \"typo\"\n",
    )
    .expect("write");
    let output = tribune(
        &["--config", path.to_str().expect("utf8"), "config", "check"],
        &[],
        dir.path(),
    );
    assert_config_error(&output, "collective.nmae", "unknown key");
    assert!(String::from_utf8_lossy(&output.stderr).contains("tribune.toml"));

    let missing = tribune(
        &["--config", "/nonexistent/tribune.toml", "config", "check"],
        &[],
        dir.path(),
    );
    assert_config_error(&missing, "--config", "not a readable file");
}

#[test]
fn an_unreachable_database_stops_start_up() {
    let dir = tempfile::tempdir().expect("dir");
    let output = tribune(
        &["serve"],
        &[
            // Port 1 on loopback: nothing listens there, so the connection is refused at once.
            (
                "TRIBUNE__DATABASE__URL",
                "postgres://tribune@127.0.0.1:1/tribune",
            ),
            ("TRIBUNE__DATABASE__CONNECT_TIMEOUT_SECONDS", "3"),
            ("TRIBUNE__SERVER__LISTEN", "127.0.0.1:0"),
            ("RUST_LOG", "off"),
        ],
        dir.path(),
    );
    assert_config_error(&output, "database.url", "cannot open the database");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn config_check_prints_the_effective_configuration_with_secrets_masked() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("tribune.toml");
    std::fs::write(
        &path,
        "[collective]\nname = \"Depuis le fichier\"\nsummary = \"fichier\"\n",
    )
    .expect("write");
    let output = tribune(
        &["--config", path.to_str().expect("utf8"), "config", "check"],
        &[
            (
                "TRIBUNE__DATABASE__URL",
                "postgres://tribune:hunter2@db.internal/tribune",
            ),
            // The environment wins over the file.
            ("TRIBUNE__COLLECTIVE__SUMMARY", "depuis l'environnement"),
        ],
        dir.path(),
    );
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("hunter2"), "{stdout}");
    assert!(
        stdout.contains("postgres://tribune:********@db.internal/tribune"),
        "{stdout}"
    );
    assert!(stdout.contains("name = \"Depuis le fichier\""), "{stdout}");
    assert!(
        stdout.contains("summary = \"depuis l'environnement\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("listen = \"127.0.0.1:8080\""),
        "defaults shown: {stdout}"
    );
}

#[test]
fn migrate_creates_the_sqlite_database_in_data_dir() {
    let dir = tempfile::tempdir().expect("dir");
    let output = tribune(&["migrate"], &[("TRIBUNE__DATA_DIR", "state")], dir.path());
    assert!(output.status.success(), "{output:?}");
    assert!(dir.path().join("state/tribune.db").is_file());
    let again = tribune(&["migrate"], &[("TRIBUNE__DATA_DIR", "state")], dir.path());
    assert!(again.status.success(), "migrate is idempotent: {again:?}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The server raises its soft limit on open files to the hard limit: a fan-out keeps a
/// connection per instance open for reuse, past the 1,024 a service gets by default. Started
/// with a soft limit of 256 (`prlimit`, util-linux), it runs with the hard one.
#[test]
fn serve_raises_its_open_files_limit() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new("prlimit")
        .arg("--nofile=256:")
        .arg(env!("CARGO_BIN_EXE_tribune"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TRIBUNE__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("TRIBUNE__INSTANCE__BASE_URL", &base)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn prlimit (util-linux)");
    // `prlimit` sets the limit and executes the server in the same process.
    let limits_file = format!("/proc/{}/limits", child.id());
    let open_files = |limits: &str| -> (String, String) {
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .expect("Max open files line")
            .to_string();
        let mut fields = line.split_whitespace().skip(3);
        let soft = fields.next().expect("soft").to_string();
        let hard = fields.next().expect("hard").to_string();
        (soft, hard)
    };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the server exited"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not come up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (soft, hard) = open_files(&std::fs::read_to_string(&limits_file).expect("limits"));
    let _ = child.kill();
    let _ = child.wait();
    assert_ne!(
        hard, "256",
        "the hard limit must be above the test's soft one"
    );
    assert_eq!(soft, hard, "soft limit raised to the hard one");
}

/// The real binary on its defaults (plus a free port): serves the actor, then exits 0 on SIGTERM.
#[test]
fn serve_answers_then_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tribune"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TRIBUNE__SERVER__LISTEN", &listen)
        .env("TRIBUNE__INSTANCE__BASE_URL", &base)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let actor: serde_json::Value = runtime.block_on(async {
        let client = reqwest::Client::new();
        loop {
            let attempt = client
                .get(format!("{base}/actors/collectif"))
                .header("Accept", "application/activity+json")
                .send()
                .await;
            if let Ok(response) = attempt {
                return response.json().await.expect("json");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not come up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert_eq!(actor["id"], format!("{base}/actors/collectif"));
    assert!(
        dir.path().join("data/tribune.db").is_file(),
        "default data_dir is ./data"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        pipe.read_to_string(&mut stderr).ok();
    }
    assert!(exit.success(), "exit status {exit:?}; log: {stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
    let _ = std::io::stderr().flush();
}
