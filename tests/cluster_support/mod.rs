//! A cluster as `deploy/` describes it, for `tests/cluster.rs`: Redis from a copy of
//! `deploy/redis.conf`, daftar nodes from copies of `deploy/daftar.toml.example` (the real
//! binary, `serve --config`), HAProxy from a copy of `deploy/haproxy.cfg`; each copy has the
//! test's own loopback ports and temp dirs written over the lines the files mark. `None`, with
//! a printed reason, when `redis-server` or `haproxy` is not installed.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::bin::{self, free_port};

/// Every node of the test deployment shares it (DAFTAR_HASH_KEY, as `/etc/daftar/env` gives it).
pub const HASH_KEY: &str = "the shared secret of the test cluster";

fn deploy_file(name: &str) -> String {
    let path = bin::root().join("deploy").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` with the first line that sets `key` (`key = …`) setting it to `value` instead;
/// panics when no line sets it, so the shipped file and the test stay in step.
pub fn set_key(text: &str, key: &str, value: &str) -> String {
    let mut done = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let sets = line
                .split_once('=')
                .is_some_and(|(name, _)| name.trim() == key && !line.starts_with('#'));
            if sets && !done {
                done = true;
                format!("{key} = {value}")
            } else {
                line.to_string()
            }
        })
        .collect();
    assert!(done, "no line sets {key}");
    lines.join("\n") + "\n"
}

/// `text` with every `from` replaced by `to`; panics when `from` is not there.
fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} is not in the shipped file");
    text.replace(from, to)
}

fn installed(program: &str, version_flag: &str) -> bool {
    Command::new(program)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Both programs the cluster needs, or a printed reason and false.
pub fn prerequisites() -> bool {
    for (program, package) in [("redis-server", "redis-server"), ("haproxy", "haproxy")] {
        if !installed(program, "-v") {
            eprintln!(
                "SKIPPED: {program} is not installed (apt-get install {package}); the cluster test needs redis-server and haproxy"
            );
            return false;
        }
    }
    true
}

/// Sends SIGKILL to `child` and reaps it.
fn kill_child(child: &mut Option<Child>) {
    if let Some(mut running) = child.take() {
        let _ = running.kill();
        let _ = running.wait();
    }
}

/// `redis-server` over a copy of `deploy/redis.conf`.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    conf: PathBuf,
}

impl Redis {
    fn start(dir: &Path) -> Redis {
        let port = free_port();
        let text = replaced(
            &deploy_file("redis.conf"),
            "port 6379",
            &format!("port {port}"),
        );
        let text = replaced(
            &text,
            "dir /var/lib/redis",
            &format!("dir {}", dir.display()),
        );
        let conf = dir.join("redis.conf");
        std::fs::write(&conf, text).expect("redis.conf written");
        let mut redis = Redis {
            child: None,
            port,
            conf,
        };
        redis.up();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// SIGKILL: what it held is gone (the shipped configuration saves nothing).
    pub fn kill(&mut self) {
        kill_child(&mut self.child);
    }

    /// Starts it again on the same port and configuration, and waits until it answers.
    pub fn up(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.answers() {
            assert!(Instant::now() < deadline, "redis-server never answered");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers(&self) -> bool {
        let Ok(client) = ::redis::Client::open(self.url()) else {
            return false;
        };
        let Ok(mut connection) = client.get_connection() else {
            return false;
        };
        ::redis::cmd("PING")
            .query::<String>(&mut connection)
            .is_ok_and(|pong| pong == "PONG")
    }

    /// A setting as the running server reports it (`CONFIG GET`).
    pub fn setting(&self, name: &str) -> String {
        let client = ::redis::Client::open(self.url()).expect("client");
        let mut connection = client.get_connection().expect("connection");
        let pair: Vec<String> = ::redis::cmd("CONFIG")
            .arg("GET")
            .arg(name)
            .query(&mut connection)
            .expect("config get");
        pair.get(1).cloned().unwrap_or_default()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One `daftar serve --config <copy of deploy/daftar.toml.example>`.
pub struct Node {
    pub number: u8,
    pub port: u16,
    dir: PathBuf,
    config: PathBuf,
    child: Option<Child>,
    agent: ureq::Agent,
}

impl Node {
    fn configure(number: u8, dir: &Path, feed: &Path, redis: &Redis) -> Node {
        std::fs::create_dir_all(dir).expect("node dir");
        let port = free_port();
        let quoted = |path: &Path| format!("{:?}", path.display().to_string());
        let mut text = deploy_file("daftar.toml.example");
        for (key, value) in [
            ("listen", format!("\"127.0.0.1:{port}\"")),
            ("db", quoted(&dir.join("db"))),
            ("source", quoted(feed)),
            ("dir", quoted(&bin::menus_dir())),
            ("store", format!("\"{}\"", redis.url())),
            ("node", number.to_string()),
            ("key_file", quoted(&dir.join("db.key"))),
            // The feed is a local file here: a short poll makes the replica current sooner.
            ("poll_ms", "100".to_string()),
        ] {
            text = set_key(&text, key, &value);
        }
        let config = dir.join("daftar.toml");
        std::fs::write(&config, text).expect("node config written");
        Node {
            number,
            port,
            dir: dir.to_path_buf(),
            config,
            child: None,
            agent: bin::agent(),
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("serve.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn readyz(&self) -> (u16, String) {
        bin::get(&self.agent, &format!("{}/readyz", self.base()))
    }

    /// Starts the node and waits until `/readyz` answers 200. A node that exits before it is
    /// ready (its node id still claimed by the process just killed, say) is started again.
    pub fn up(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        self.spawn();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                assert!(
                    Instant::now() < deadline,
                    "node {} ended with {status}:\n{}",
                    self.number,
                    self.log()
                );
                std::thread::sleep(Duration::from_millis(500));
                self.spawn();
            }
            if self.readyz().0 == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {} never ready:\n{}",
                self.number,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        let child = bin::daftar()
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .env("DAFTAR_HASH_KEY", HASH_KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("daftar serve starts");
        self.child = Some(child);
    }

    /// SIGKILL, as a machine lost.
    pub fn kill(&mut self) {
        kill_child(&mut self.child);
    }

    /// SIGTERM and the exit; the store can be opened after.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let _ = child.wait();
        }
    }

    /// The audit entries of the node's store (the node stopped first).
    pub fn audit_entries(&mut self) -> usize {
        self.stop();
        let store = daftar::store::Store::open(&self.dir.join("db"), 1 << 20).expect("db");
        let audit = store.tree("audit").expect("audit tree");
        audit.scan_prefix(b"c").count()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `haproxy -db` over a copy of `deploy/haproxy.cfg`.
pub struct Balancer {
    child: Option<Child>,
    pub port: u16,
    stats_port: u16,
    agent: ureq::Agent,
}

impl Balancer {
    fn start(dir: &Path, nodes: &[Node]) -> Balancer {
        let (port, stats_port) = (free_port(), free_port());
        let mut text = replaced(
            &deploy_file("haproxy.cfg"),
            "127.0.0.1:8080",
            &format!("127.0.0.1:{port}"),
        );
        text = replaced(&text, "127.0.0.1:8404", &format!("127.0.0.1:{stats_port}"));
        for node in nodes {
            let shipped = format!("127.0.0.1:{}", 8080 + u16::from(node.number));
            text = replaced(&text, &shipped, &format!("127.0.0.1:{}", node.port));
        }
        let config = dir.join("haproxy.cfg");
        std::fs::write(&config, text).expect("haproxy.cfg written");
        let log = std::fs::File::create(dir.join("haproxy.log")).expect("log");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("haproxy starts");
        let balancer = Balancer {
            child: Some(child),
            port,
            stats_port,
            agent: bin::agent(),
        };
        for node in nodes {
            balancer.wait_until(node.number, "UP");
        }
        balancer
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What HAProxy's health check says of node `number` in the backend `daftar` (`UP`,
    /// `DOWN`, `UP 1/2`…), or empty when the stats page cannot be read.
    pub fn status(&self, number: u8) -> String {
        let url = format!("http://127.0.0.1:{}/stats;csv", self.stats_port);
        let (_, csv) = bin::get(&self.agent, &url);
        let server = format!("node{number}");
        csv.lines()
            .map(|line| line.split(',').collect::<Vec<_>>())
            .find(|f| f.len() > 17 && f[0] == "daftar" && f[1] == server)
            .map(|f| f[17].to_string())
            .unwrap_or_default()
    }

    /// Waits (a bound against a hang, not a measure) until HAProxy sees node `number` as
    /// `status`.
    pub fn wait_until(&self, number: u8, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let now = self.status(number);
            if now == status {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "HAProxy still sees node{number} as {now:?}, not {status}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}

/// Redis, the nodes and HAProxy in front, in one temp dir.
pub struct Cluster {
    pub redis: Redis,
    pub nodes: Vec<Node>,
    pub balancer: Balancer,
    pub dir: tempfile::TempDir,
}

impl Cluster {
    /// `count` nodes following a feed of `lines`; `None` (said why) without the programs.
    pub fn start(count: u8, lines: &[String]) -> Option<Cluster> {
        if !prerequisites() {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let feed = dir.path().join("feed.ndjson");
        std::fs::write(&feed, lines.join("\n") + "\n").expect("feed written");
        let redis = Redis::start(dir.path());
        let mut nodes: Vec<Node> = (1..=count)
            .map(|n| Node::configure(n, &dir.path().join(format!("node{n}")), &feed, &redis))
            .collect();
        for node in &mut nodes {
            node.up();
        }
        let balancer = Balancer::start(dir.path(), &nodes);
        Some(Cluster {
            redis,
            nodes,
            balancer,
            dir,
        })
    }

    pub fn node(&mut self, number: u8) -> &mut Node {
        &mut self.nodes[usize::from(number) - 1]
    }
}

/// One Hubtel reply as a caller sees it: the HTTP status, the node HAProxy chose, whether the
/// session goes on (`Type` `Response`), and the message.
#[derive(Debug, Clone)]
pub struct Hop {
    pub status: u16,
    pub node: String,
    pub goes_on: bool,
    pub message: String,
}

impl Hop {
    /// A polite END: a 200 whose `Release` carries a message.
    pub fn is_polite_end(&self) -> bool {
        self.status == 200 && !self.goes_on && !self.message.trim().is_empty()
    }
}

/// Posts one Hubtel step (latest input only, DIALECTS.md §2) to `base`.
pub fn hubtel(
    agent: &ureq::Agent,
    base: &str,
    session: &str,
    phone: &str,
    sequence: u32,
    message: &str,
) -> Hop {
    let kind = if sequence == 1 {
        "Initiation"
    } else {
        "Response"
    };
    let body = json!({
        "Mobile": phone, "SessionId": session, "ServiceCode": "4*1420", "Type": kind,
        "Message": message, "Operator": "mtn", "Sequence": sequence, "ClientState": ""
    });
    let response = agent
        .post(&format!("{base}/ussd/hubtel"))
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes());
    let Ok(mut response) = response else {
        return Hop {
            status: 0,
            node: String::new(),
            goes_on: false,
            message: String::new(),
        };
    };
    let status = response.status().as_u16();
    let node = response
        .headers()
        .get("x-daftar-node")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let reply: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Hop {
        status,
        node,
        goes_on: reply["Type"] == "Response",
        message: reply["Message"].as_str().unwrap_or(&text).to_string(),
    }
}
