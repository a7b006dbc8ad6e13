//! SPEC §8 ("a tracking code shown to a caller is durable: it survives a crash of the server
//! the moment the reply leaves") and issue 11 item 8, with real processes: a `daftar serve`
//! under concurrent load from real HTTP clients (general inquiries on Africa's Talking, each a
//! fresh session) is killed in the middle of the run, by SIGKILL (a crash) or by SIGTERM (a
//! graceful stop); the server is started again on the same store, and every tracking code a
//! client was shown must be in the audit trail (admin API for all of them; `daftar track --db`
//! for the newest, the ones a crash would take first). A session of a cumulative dialect opened
//! before the kill carries on after it: its path is replayed from the root.

mod daftar_bin;

use daftar_bin::{agent, arg, run, sample_feed, tracking_codes, Served};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const TOKEN: &str = "restart-test-token";
const SERVICE: &str = "*4*1420#";
const PHONE: &str = "+989129999999";
/// Concurrent clients: more than the server's cores, so the writer's batches hold several.
const CLIENTS: usize = 8;
/// Codes acknowledged before the kill: enough that the last few hundred milliseconds (what
/// sled's own background flush would leave unwritten) hold many of them.
const BEFORE_KILL: usize = 2_000;
/// The sample feed's national codes (data/README.md): covered, expired, suspended, ended, not
/// yet started, dependent, disabled son, no record.
const CODES: [&str; 8] = [
    "0012345679",
    "0030000017",
    "0040000011",
    "0050000012",
    "0060000015",
    "0010000119",
    "0020000111",
    "0099999994",
];

/// Clients posting general inquiries until stopped or until the server goes away; every
/// tracking code a reply carried is kept.
struct Load {
    stop: Arc<AtomicBool>,
    shown: Arc<Mutex<Vec<String>>>,
    clients: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(base: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let shown = Arc::new(Mutex::new(Vec::new()));
        let clients = (0..CLIENTS)
            .map(|client| {
                let (stop, shown) = (stop.clone(), shown.clone());
                let url = format!("{base}/ussd/africastalking");
                std::thread::spawn(move || inquire_until(&url, client, &stop, &shown))
            })
            .collect();
        Load {
            stop,
            shown,
            clients,
        }
    }

    fn shown(&self) -> usize {
        self.shown.lock().expect("codes").len()
    }

    /// Waits until `count` codes were shown; panics after `limit` (a bound against a hang).
    fn wait_for(&self, count: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.shown() < count {
            assert!(
                Instant::now() < deadline,
                "only {} codes shown within {limit:?}",
                self.shown()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the clients (those whose server died have stopped already): every code shown.
    fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        for client in self.clients {
            client.join().expect("a client thread");
        }
        Arc::try_unwrap(self.shown)
            .expect("no client left")
            .into_inner()
            .expect("codes")
    }
}

/// One client: a fresh session per general inquiry (`2*<code>`); a connection that fails
/// means the server is gone.
fn inquire_until(url: &str, client: usize, stop: &AtomicBool, shown: &Mutex<Vec<String>>) {
    let agent = agent();
    let mut n = 0usize;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let session = format!("load-{}-{client}-{n}", std::process::id());
        let text = format!("2*{}", CODES[(client + n) % CODES.len()]);
        let sent = agent.post(url).send_form([
            ("sessionId", session.as_str()),
            ("serviceCode", SERVICE),
            ("phoneNumber", PHONE),
            ("networkCode", "43211"),
            ("text", text.as_str()),
        ]);
        let Ok(mut response) = sent else { return };
        let Ok(body) = response.body_mut().read_to_string() else {
            return;
        };
        if response.status().as_u16() != 200 {
            continue;
        }
        if let Some(screen) = body.strip_prefix("END ") {
            let codes = tracking_codes(screen);
            shown.lock().expect("codes").extend(codes);
        }
    }
}

/// The sample service with the per-caller rate limits off: the load is eight clients asking
/// as fast as they can from a handful of phones, which the limits would rightly hold back.
const UNLIMITED: &str = "[limits]\nmsisdn_steps_per_minute = 0\nmsisdn_sessions = 0\n\
msisdn_inquiries_per_hour = 0\nidentifier_inquiries_per_hour = 0\nsource_requests_per_second = 0\n";

fn serve(dir: &Path) -> Served {
    let config = dir.join("daftar.toml");
    std::fs::write(&config, UNLIMITED).expect("config written");
    let env = [("DAFTAR_ADMIN_TOKEN", TOKEN)];
    Served::start_configured(dir, Some(&config), &sample_feed(), &env)
}

/// The codes of `shown` that the admin API of `server` does not find.
fn missing_from_trail(server: &Served, shown: &[String]) -> Vec<String> {
    let agent = agent();
    shown
        .iter()
        .filter(|code| {
            let url = format!("{}/admin/track/{code}", server.base);
            let answer = agent
                .get(&url)
                .header("Authorization", &format!("Bearer {TOKEN}"))
                .call();
            !matches!(answer, Ok(response) if response.status().as_u16() == 200)
        })
        .cloned()
        .collect()
}

/// A caller half-way through a general inquiry: first screen, then option 2 (the question
/// for a national code is open).
fn open_session(server: &Served, session: &str) {
    let first = server.at(session, SERVICE, PHONE, "");
    assert!(first.starts_with("CON "), "{first}");
    let asked = server.at(session, SERVICE, PHONE, "2");
    assert!(asked.starts_with("CON "), "{asked}");
}

/// The caller answers the open question on the restarted server: the whole path is replayed
/// and the answer comes with a tracking code the trail keeps.
fn finish_session(server: &Served, session: &str) -> String {
    let answer = server.at(session, SERVICE, PHONE, "2*0012345679");
    assert!(answer.starts_with("END "), "{answer}");
    let codes = tracking_codes(&answer);
    assert_eq!(codes.len(), 1, "one tracking code: {answer}");
    codes[0].clone()
}

/// How a run of the server ends in the middle of the load.
#[derive(Debug, Clone, Copy)]
enum Kill {
    Crash,
    Stop,
}

/// Load, kill, restart, check: see the module comment.
fn every_code_shown_survives(kill: Kill) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = serve(dir.path());
    let session = format!("carry-{}-{kill:?}", std::process::id());
    open_session(&server, &session);
    let load = Load::start(&server.base);
    load.wait_for(BEFORE_KILL, Duration::from_secs(120));
    match kill {
        Kill::Crash => {
            let status = server.kill();
            assert!(!status.success(), "SIGKILL ends the process: {status}");
        }
        Kill::Stop => {
            let (status, _) = server.terminate(Duration::from_secs(30));
            assert!(status.success(), "{status}\n{}", server.log());
        }
    }
    let shown = load.finish();
    eprintln!("{kill:?}: {} codes shown before the kill", shown.len());

    let restarted = serve(dir.path());
    let missing = missing_from_trail(&restarted, &shown);
    assert!(
        missing.is_empty(),
        "{kill:?}: {} of {} codes shown are not in the trail after the restart, e.g. {:?}",
        missing.len(),
        shown.len(),
        &missing[..missing.len().min(5)]
    );
    let carried = finish_session(&restarted, &session);
    let (_, metrics) = restarted.get("/metrics");
    let commits = metrics
        .lines()
        .find_map(|line| line.strip_prefix("daftar_writer_commit_seconds_count "))
        .and_then(|count| count.trim().parse::<u64>().ok());
    assert!(commits > Some(0), "commits counted at /metrics:\n{metrics}");
    let mut restarted = restarted;
    let (status, _) = restarted.terminate(Duration::from_secs(30));
    assert!(status.success(), "{status}");

    // The operator's way, on the store no server holds now: the newest codes (the ones a
    // crash would take first) and the code of the carried session.
    let db = dir.path().join("db");
    let newest = shown.iter().rev().take(3).chain([&carried]);
    for code in newest {
        let track = run(&["track", code, "--db", arg(&db)], "");
        assert_eq!(track.code, Some(0), "{code}: {track}");
        assert!(track.stdout.contains("inquiry  general"), "{track}");
    }
}

#[test]
fn every_code_shown_survives_a_sigkill_under_load_and_a_session_carries_on() {
    every_code_shown_survives(Kill::Crash);
}

#[test]
fn every_code_shown_survives_a_sigterm_under_load_and_a_session_carries_on() {
    every_code_shown_survives(Kill::Stop);
}
