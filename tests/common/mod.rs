//! A real daftar server for integration tests: a sled store in a temp dir, a feed file written
//! by the test, the shipped menus, a loopback port chosen by the OS, and a real HTTP client.
//! Every USSD reply the tests read is checked against its screen budget here, once for all.

#![allow(dead_code)]

/// The helpers of the tests that drive the binary; the digit helpers are shared.
#[path = "../daftar_bin/mod.rs"]
pub mod bin;
pub mod dialects;
pub mod people;
pub mod redis_server;

#[allow(unused_imports)]
pub use bin::{latin_digits, luhn_ok};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use daftar::app::{start, Running};
use daftar::config::Config;
use daftar::text::gsm7::{fits, Budget};

/// The shipped menus.
pub fn menus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("menus")
}

/// A copy of the shipped menus in `to`, for a test that edits them and reloads.
pub fn copy_menus(to: &Path) {
    std::fs::create_dir_all(to).expect("menus dir");
    for entry in std::fs::read_dir(menus_dir()).expect("menus") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().expect("name"))).expect("copy");
        }
    }
}

pub struct TestServer {
    pub base: String,
    pub config: Config,
    pub dir: tempfile::TempDir,
    running: Option<Running>,
    runtime: tokio::runtime::Runtime,
    agent: ureq::Agent,
}

/// A USSD reply as the test sees it: `CON` or `END`, and the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    pub status: u16,
    pub kind: String,
    pub text: String,
}

impl Screen {
    pub fn is_con(&self) -> bool {
        self.kind == "CON"
    }
    pub fn is_end(&self) -> bool {
        self.kind == "END"
    }
    /// The screen with Persian and Arabic-Indic digits read as ASCII.
    pub fn latin(&self) -> String {
        latin_digits(&self.text)
    }
    /// The 10-digit numbers on the screen (tracking codes).
    pub fn codes(&self) -> Vec<String> {
        let latin = self.latin();
        latin
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| s.len() == 10)
            .map(str::to_string)
            .collect()
    }
}

impl TestServer {
    /// A server over a fresh store, following a feed of `lines`.
    pub fn start(lines: &[String]) -> TestServer {
        Self::start_with(lines, |_| {})
    }

    /// As [`start`], with the configuration adjusted first.
    pub fn start_with(lines: &[String], adjust: impl FnOnce(&mut Config)) -> TestServer {
        let (dir, config) = configured(lines, adjust);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut server = TestServer {
            base: String::new(),
            config,
            dir,
            running: None,
            runtime: runtime(),
            agent,
        };
        server.boot();
        server
    }

    /// The error of a server that must refuse to start on `lines` with the configuration
    /// adjusted by `adjust` (which may point at places in the temp dir, beside `store.db`).
    pub fn refused_with(lines: &[String], adjust: impl FnOnce(&mut Config)) -> String {
        let (_dir, config) = configured(lines, adjust);
        let runtime = runtime();
        match runtime.block_on(start(config)) {
            Ok(running) => {
                let address = running.address;
                let _ = runtime.block_on(running.stop());
                panic!("the server started on {address} when it should have refused");
            }
            Err(error) => format!("{error:#}"),
        }
    }

    /// Waits until `/readyz` answers `status`, and returns its body; panics after `limit`
    /// (a bound against a hang, not a measure of speed).
    pub fn wait_readyz(&self, status: u16, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let (now, body) = self.get("/readyz");
            if now == status {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "/readyz still {now} ({body:?}) after {limit:?}, not {status}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn boot(&mut self) {
        let running = self
            .runtime
            .block_on(start(self.config.clone()))
            .expect("server starts");
        self.base = format!("http://{}", running.address);
        self.running = Some(running);
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.get("/readyz").0 != 200 {
            assert!(Instant::now() < deadline, "the server never became ready");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (releasing the store) and starts it again on the same store and feed.
    pub fn restart(&mut self) {
        self.stop();
        // sled's threads let go of the lock a moment after the last handle drops.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.runtime.block_on(start(self.config.clone())) {
                Ok(running) => {
                    self.base = format!("http://{}", running.address);
                    self.running = Some(running);
                    break;
                }
                Err(error) if Instant::now() < deadline => {
                    let _ = error;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(error) => panic!("restart failed: {error:#}"),
            }
        }
        while self.get("/readyz").0 != 200 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            self.runtime
                .block_on(running.stop())
                .expect("stops cleanly");
        }
    }

    /// Appends lines to the followed feed.
    pub fn append_feed(&self, lines: &[String]) {
        use std::io::Write;
        let path = self.config.feed.source.clone().expect("a feed");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .expect("feed opens");
        file.write_all((lines.join("\n") + "\n").as_bytes())
            .expect("feed appended");
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        bin::get(&self.agent, &format!("{}{path}", self.base))
    }

    /// `http://<address>` of the operators' own port (`[admin] listen`), when it has one.
    pub fn admin_base(&self) -> Option<String> {
        let address = self.running.as_ref()?.admin_address?;
        Some(format!("http://{address}"))
    }

    /// A raw POST to `path` with `content_type`; status 0 when the connection failed (a server
    /// that refuses a huge body early may close while the client is still writing it).
    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
        let response = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Content-Type", content_type)
            .send(body);
        match response {
            Ok(mut response) => (
                response.status().as_u16(),
                response.body_mut().read_to_string().unwrap_or_default(),
            ),
            Err(_) => (0, String::new()),
        }
    }

    /// A raw request to `path` as an aggregator sends it: the status, content type and body
    /// of the answer, exactly as they came.
    pub fn exchange(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> Answer {
        let url = format!("{}{path}", self.base);
        let response = match method {
            "GET" => self.agent.get(&url).call(),
            "PUT" => self
                .agent
                .put(&url)
                .header("Content-Type", content_type)
                .send(body),
            _ => self
                .agent
                .post(&url)
                .header("Content-Type", content_type)
                .send(body),
        };
        answer_of(response.expect("the server answers"))
    }

    /// A POST to `path` with `content_type` and the extra `headers` (`Authorization`, say).
    pub fn post_with(
        &self,
        path: &str,
        content_type: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
        let url = format!("{}{path}", self.base);
        let mut call = self.agent.post(&url).header("Content-Type", content_type);
        for (name, value) in headers {
            call = call.header(*name, *value);
        }
        answer_of(call.send(body).expect("the server answers"))
    }

    /// Two servers over copies of one store and its key file (so one sequence of tracking
    /// codes, one key): the same requests in the same order get the same answers, codes and all.
    pub fn twins(lines: &[String], adjust: impl Fn(&mut Config)) -> (TestServer, TestServer) {
        let mut first = TestServer::start_with(lines, &adjust);
        first.stop();
        // Each twin's store is a copy in its own temp dir, where it would have been made; the
        // keys are not in the store (`<db>.key` beside it): copied too.
        let key_file = |db: &Path| db.with_file_name("db.key");
        let copy = || {
            TestServer::start_with(lines, |c| {
                adjust(c);
                copy_dir(&first.config.store.db, &c.store.db);
                std::fs::copy(key_file(&first.config.store.db), key_file(&c.store.db))
                    .expect("key file copied");
            })
        };
        (copy(), copy())
    }

    /// One Africa's Talking hop. Every screen is checked against its encoding budget.
    pub fn at(&self, session: &str, code: &str, msisdn: &str, text: &str) -> Screen {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("sessionId", session)
            .append_pair("serviceCode", code)
            .append_pair("phoneNumber", &format!("+{msisdn}"))
            .append_pair("networkCode", "43211")
            .append_pair("text", text)
            .finish();
        let (status, body) = self.post(
            "/ussd/africastalking",
            "application/x-www-form-urlencoded",
            body.as_bytes(),
        );
        let (kind, text) = body.split_at_checked(4).unwrap_or(("", ""));
        let screen = Screen {
            status,
            kind: kind.trim().to_string(),
            text: text.to_string(),
        };
        assert!(
            fits(&screen.text, self.config.screen),
            "screen over its budget: {:?}",
            screen.text
        );
        screen
    }
}

impl TestServer {
    /// Africa's Talking's end-of-session notification for `session`, as its events URL gets it
    /// (DIALECTS.md §1): the status and the body of the answer.
    pub fn at_end(&self, session: &str, code: &str, msisdn: &str, status: &str) -> (u16, String) {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("sessionId", session)
            .append_pair("serviceCode", code)
            .append_pair("networkCode", "43211")
            .append_pair("phoneNumber", &format!("+{msisdn}"))
            .append_pair("status", status)
            .append_pair("cost", "IRR 0")
            .append_pair("date", "2026-11-24 10:02:11")
            .append_pair("input", "1")
            .append_pair("hopsCount", "2")
            .append_pair("errorMessage", "")
            .append_pair("lastAppResponse", "CON ...")
            .append_pair("durationInMillis", "14233")
            .finish();
        self.post(
            "/ussd/africastalking/end",
            "application/x-www-form-urlencoded",
            body.as_bytes(),
        )
    }
}

/// An answer as it came: status, content type, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// The status, content type and body of an answer, exactly as they came.
fn answer_of(mut response: ureq::http::Response<ureq::Body>) -> Answer {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Answer {
        status: response.status().as_u16(),
        content_type,
        body: response.body_mut().read_to_string().unwrap_or_default(),
    }
}

/// Copies the directory `from` (a stopped store) to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("directory made");
    for entry in std::fs::read_dir(from).expect("store readable") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("file copied");
        }
    }
}

/// A fresh temp dir with a feed of `lines`, and the test configuration over it.
fn configured(lines: &[String], adjust: impl FnOnce(&mut Config)) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().expect("temp dir");
    let feed = dir.path().join("feed.ndjson");
    std::fs::write(&feed, lines.join("\n") + "\n").expect("feed written");
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().expect("address");
    config.store.db = dir.path().join("db");
    config.store.cache_mb = 16;
    config.menus.dir = menus_dir();
    config.feed.source = Some(feed.display().to_string());
    config.feed.poll_ms = 50;
    config.server.shutdown_grace_ms = 2_000;
    adjust(&mut config);
    (dir, config)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The default budget, for tests that measure screens themselves.
pub fn budget() -> Budget {
    Budget::default()
}
