//! A `redis-server` of a test's own: a free loopback port, a temp dir, nothing saved
//! (`--save '' --appendonly no`). `None`, with a printed reason, when it is not installed, so
//! that the Redis tests are skipped on a machine without it rather than failing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct TestRedis {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl TestRedis {
    pub fn start() -> Option<TestRedis> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("SKIPPED: redis-server is not installed (apt-get install redis-server)");
            return None;
        }
        let port = super::bin::free_port();
        let mut redis = TestRedis {
            child: None,
            port,
            dir: tempfile::tempdir().expect("temp dir"),
        };
        redis.up();
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server (SIGKILL): what it held is gone, as after a crash with nothing saved.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn up(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        for _ in 0..500 {
            if self.ping() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server never answered on {}", self.port);
    }

    fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let mut answer = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut answer).is_ok()
            && &answer == b"+PONG\r\n"
    }

    /// Every key and every value it holds (hash fields and values, set members, strings), as
    /// bytes: what anyone reading this Redis would see.
    /// The names of the keys that match `pattern` (Redis `KEYS`).
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let client = ::redis::Client::open(self.url()).expect("client");
        let mut connection = client.get_connection().expect("connection");
        ::redis::cmd("KEYS")
            .arg(pattern)
            .query(&mut connection)
            .expect("keys")
    }

    pub fn everything(&self) -> Vec<Vec<u8>> {
        let client = ::redis::Client::open(self.url()).expect("client");
        let mut connection = client.get_connection().expect("connection");
        let keys: Vec<Vec<u8>> = ::redis::cmd("KEYS")
            .arg("*")
            .query(&mut connection)
            .expect("keys");
        let mut seen = Vec::new();
        for key in keys {
            let kind: String = ::redis::cmd("TYPE")
                .arg(&key)
                .query(&mut connection)
                .expect("type");
            let values: Vec<Vec<u8>> = match kind.as_str() {
                "hash" => ::redis::cmd("HGETALL").arg(&key).query(&mut connection),
                "zset" => ::redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query(&mut connection),
                "string" => ::redis::cmd("GET")
                    .arg(&key)
                    .query::<Vec<u8>>(&mut connection)
                    .map(|v| vec![v]),
                other => panic!("a key of an unexpected type {other}"),
            }
            .expect("values");
            seen.push(key);
            seen.extend(values);
        }
        seen
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
