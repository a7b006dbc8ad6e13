//! The `daftar` binary as an operator runs it: a command with its exit code and output, and a
//! `serve` process on a loopback port, stopped by a real SIGTERM. Shared by `tests/cli.rs`,
//! `tests/crash.rs` and `tests/privacy.rs`; unlike `tests/common`, nothing here links the
//! server in-process, so what these tests see is what a shell sees.

#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The crate root: the binary runs from here, so `menus` and `data/` resolve as in the README.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn menus_dir() -> PathBuf {
    root().join("menus")
}

pub fn sample_feed() -> PathBuf {
    root().join("data").join("feed.ndjson")
}

/// `daftar` with a clean environment for its own variables (a developer's `DAFTAR_LOG` or
/// admin token must not change what a test sees) and no colour in its logs.
pub fn daftar() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_daftar"));
    command
        .current_dir(root())
        .env_remove("DAFTAR_LOG")
        .env_remove("DAFTAR_HASH_KEY")
        .env_remove("DAFTAR_ADMIN_TOKEN")
        .env("NO_COLOR", "1");
    command
}

/// What a finished command left.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout then stderr, for messages that may go to either.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl From<std::process::Output> for Run {
    fn from(output: std::process::Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs `daftar args…` to its end, with `stdin` as its input.
pub fn run(args: &[&str], stdin: &str) -> Run {
    let mut child = daftar()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("daftar starts");
    let mut input = child.stdin.take().expect("stdin piped");
    input.write_all(stdin.as_bytes()).expect("stdin written");
    drop(input);
    Run::from(child.wait_with_output().expect("daftar ends"))
}

/// Runs `daftar args…` with no input until it ends, or kills it after `limit` (its `code` is
/// then `None`): for a command that must end on its own, a guard against a hang.
pub fn run_until(args: &[&str], limit: Duration) -> Run {
    let mut child = daftar()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("daftar starts");
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if child.try_wait().expect("wait").is_none() {
        let _ = child.kill();
    }
    Run::from(child.wait_with_output().expect("daftar ends"))
}

/// A path as an argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

/// A store in `dir/db` synced from the sample feed.
pub fn sample_store(dir: &Path) -> PathBuf {
    let db = dir.join("db");
    let sync = run(
        &["sync", "--db", arg(&db), "--feed", arg(&sample_feed())],
        "",
    );
    assert_eq!(sync.code, Some(0), "{sync}");
    db
}

/// Persian and Arabic-Indic digits read as ASCII.
pub fn latin_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '۰'..='۹' => char::from(b'0' + (c as u32 - '۰' as u32) as u8),
            '٠'..='٩' => char::from(b'0' + (c as u32 - '٠' as u32) as u8),
            other => other,
        })
        .collect()
}

/// ASCII digits written in Persian.
pub fn persian_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32('۰' as u32 + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// The 10-digit runs in `text` (any digit script): the tracking codes on a screen.
pub fn tracking_codes(text: &str) -> Vec<String> {
    latin_digits(text)
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| s.len() == 10)
        .map(str::to_string)
        .collect()
}

/// The Luhn check digit that completes `first_nine` (nine ASCII digits).
pub fn luhn_digit(first_nine: &str) -> char {
    let sum: u32 = first_nine
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).expect("a digit");
            match i % 2 {
                0 if d * 2 > 9 => d * 2 - 9,
                0 => d * 2,
                _ => d,
            }
        })
        .sum();
    char::from_digit((10 - sum % 10) % 10, 10).expect("a digit")
}

pub fn luhn_ok(code: &str) -> bool {
    code.len() == 10
        && code.chars().all(|c| c.is_ascii_digit())
        && code.ends_with(luhn_digit(&code[..9]))
}

/// A loopback port nobody listens on just now, for a server a test starts.
///
/// Picked below Linux's ephemeral range (32768–60999): every client connection of every test
/// running at once takes its local port there, and one could take a port picked there between
/// this check and the server's bind (the server then fails to start, or a test talks to
/// another test's server). Test processes start apart (by process id) and each walks on.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const PORTS: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id() % 600 * 20;
    for _ in 0..PORTS {
        let offset = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % PORTS;
        let port = u16::try_from(FIRST + offset).expect("a port");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {FIRST}..{}", FIRST + PORTS)
}

/// An HTTP client that returns 4xx and 5xx as answers, not errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// A `daftar serve` process; killed on drop if a test did not stop it.
pub struct Served {
    child: Child,
    pub base: String,
    pub log: PathBuf,
    agent: ureq::Agent,
}

/// `GET url`: the status and the body, or status 0 when the connection failed.
pub fn get(agent: &ureq::Agent, url: &str) -> (u16, String) {
    get_authorized(agent, url, None)
}

/// `GET url` with an `Authorization` header when one is given.
pub fn get_authorized(
    agent: &ureq::Agent,
    url: &str,
    authorization: Option<&str>,
) -> (u16, String) {
    let mut request = agent.get(url);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    match request.call() {
        Ok(mut response) => (
            response.status().as_u16(),
            response.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(_) => (0, String::new()),
    }
}

impl Served {
    /// `daftar serve` over a store in `dir`, the shipped menus and the sample feed.
    pub fn start_sample(dir: &Path, env: &[(&str, &str)]) -> Served {
        Served::start_following(dir, &sample_feed(), env)
    }

    /// `daftar serve` over a store in `dir`, the shipped menus and the feed `feed`.
    pub fn start_following(dir: &Path, feed: &Path, env: &[(&str, &str)]) -> Served {
        Served::start_configured(dir, None, feed, env)
    }

    /// `daftar serve` over a store in `dir`, the shipped menus, the feed `feed` and, when
    /// given, the configuration file `config`.
    pub fn start_configured(
        dir: &Path,
        config: Option<&Path>,
        feed: &Path,
        env: &[(&str, &str)],
    ) -> Served {
        let (db, menus) = (dir.join("db"), menus_dir());
        let mut args = vec![
            "--db",
            arg(&db),
            "--menus",
            arg(&menus),
            "--feed",
            arg(feed),
        ];
        if let Some(config) = config {
            args.extend(["--config", arg(config)]);
        }
        Served::start(dir, &args, env)
    }

    /// Starts `daftar serve --listen 127.0.0.1:<free port> args…` with `env`, its stderr in
    /// `dir/serve.log`, and waits until `/readyz` answers 200.
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Served {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let log = dir.join("serve.log");
        let stderr = std::fs::File::create(&log).expect("log file");
        let child = daftar()
            .arg("serve")
            .args(["--listen", &listen])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("daftar serve starts");
        let mut served = Served {
            child,
            base: format!("http://{listen}"),
            log,
            agent: agent(),
        };
        served.wait_ready(Duration::from_secs(30));
        served
    }

    fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "daftar serve ended with {status} before ready:\n{}",
                    self.log()
                );
            }
            if self.get("/readyz").0 == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "daftar serve not ready within {timeout:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        get(&self.agent, &format!("{}{path}", self.base))
    }

    /// One Africa's Talking request: `text` is the whole path typed so far.
    pub fn at(&self, session: &str, service_code: &str, phone: &str, text: &str) -> String {
        let url = format!("{}/ussd/africastalking", self.base);
        let mut response = self
            .agent
            .post(&url)
            .send_form([
                ("sessionId", session),
                ("serviceCode", service_code),
                ("phoneNumber", phone),
                ("networkCode", "43211"),
                ("text", text),
            ])
            .expect("the server answers");
        assert_eq!(response.status().as_u16(), 200, "{session} {text:?}");
        response.body_mut().read_to_string().expect("a text body")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` (`HUP`, say) with `kill`.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} {pid} failed");
    }

    /// Sends SIGKILL (a crash: nothing of the process runs after it) and reaps it.
    pub fn kill(&mut self) -> ExitStatus {
        let _ = self.child.kill();
        self.child.wait().expect("reaped")
    }

    /// Sends SIGTERM and waits up to `limit` for the exit; its status and how long it took.
    pub fn terminate(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let pid = self.child.id().to_string();
        let started = Instant::now();
        let kill = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(kill.success(), "kill -TERM {pid} failed");
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < limit,
                "daftar serve still running {limit:?} after SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
