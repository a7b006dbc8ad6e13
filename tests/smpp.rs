//! USSD over SMPP (DIALECTS.md §8) against a gateway this project did not write: the npm
//! `smpp@0.5.1` server (`tests/smpp/gateway.js`, DIALECTS.md §9b) plays the operator's SMSC,
//! and a real daftar server binds to it as a transceiver. The tests wait on what the gateway
//! reports (a bind, a `submit_sm`), never on fixed sleeps.
//!
//! Needs `node` and `npm`; `npm ci` runs once when `tests/smpp/node_modules` is missing.
//! Without `node` or `npm` every test here says so and passes without running (`.ci/run`
//! installs them, so CI always runs these).

mod common;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::Once;
use std::time::{Duration, Instant};

use common::bin;
use common::dialects::world;
use common::people::kz_iin;
use common::TestServer;
use daftar::config::Config;
use daftar::smpp::config::{GatewayConfig, Variant};
use serde_json::{json, Value};

/// How long any one thing the gateway reports may take: a bound against a hang.
const PATIENCE: Duration = Duration::from_secs(20);
const PHONE: &str = "989121234567";
const SYSTEM_ID: &str = "daftar";
const PASSWORD: &str = "secret";

fn gateway_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smpp")
}

/// Whether `program --version` runs.
fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

static INSTALL: Once = Once::new();

/// Whether the gateway can run: `node` and `npm` present, and `npm ci` run if needed.
fn node_ready() -> bool {
    if !runs("node") || !runs("npm") {
        eprintln!(
            "SKIPPED: node or npm is missing; the SMPP tests need them (.ci/run installs them)"
        );
        return false;
    }
    INSTALL.call_once(|| {
        if gateway_dir().join("node_modules/smpp").exists() {
            return;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(gateway_dir())
            .status()
            .expect("npm runs");
        assert!(status.success(), "npm ci in tests/smpp failed");
    });
    true
}

/// The fake gateway: a Node process, its stdin for commands, its events as they come.
struct Gateway {
    child: Child,
    stdin: ChildStdin,
    events: Receiver<Value>,
    /// Events read but not yet taken by a wait.
    held: VecDeque<Value>,
    port: u16,
    tag: u64,
}

impl Gateway {
    /// A gateway that accepts the bind of `SYSTEM_ID` / `PASSWORD`, or `None` without node.
    fn start() -> Option<Gateway> {
        if !node_ready() {
            return None;
        }
        let mut child = Command::new("node")
            .arg(gateway_dir().join("gateway.js"))
            .args(["--system-id", SYSTEM_ID, "--password", PASSWORD])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let event: Value = serde_json::from_str(&line).unwrap_or(json!({"raw": line}));
                if sender.send(event).is_err() {
                    return;
                }
            }
        });
        let mut gateway = Gateway {
            child,
            stdin,
            events,
            held: VecDeque::new(),
            port: 0,
            tag: 0,
        };
        let listening = gateway.wait_for("listening", |e| e["event"] == "listening");
        gateway.port = listening["port"].as_u64().expect("port") as u16;
        Some(gateway)
    }

    /// The `[smpp.<name>]` section that points daftar at this gateway, quick to reconnect.
    fn section(&self) -> GatewayConfig {
        GatewayConfig {
            address: format!("127.0.0.1:{}", self.port),
            system_id: SYSTEM_ID.into(),
            password: Some(PASSWORD.into()),
            reconnect_min_ms: 50,
            reconnect_max_ms: 400,
            ..GatewayConfig::default()
        }
    }

    fn command(&mut self, command: Value) {
        writeln!(self.stdin, "{command}").expect("gateway reads");
        self.stdin.flush().expect("gateway reads");
    }

    /// The first event, held or to come, that `wanted` accepts; panics after [`PATIENCE`].
    fn wait_for(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(at) = self.held.iter().position(&wanted) {
            return self.held.remove(at).expect("held");
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) if wanted(&event) => return event,
                Ok(event) => self.held.push_back(event),
                Err(_) => panic!("no {what} within {PATIENCE:?}; seen: {:?}", self.held),
            }
        }
    }

    /// Waits for daftar's next bind on this gateway: the `bound` event.
    fn wait_bound(&mut self) -> Value {
        self.wait_for("bind", |e| e["event"] == "bound")
    }

    /// Sends a `deliver_sm` with `fields` and waits for daftar's `deliver_sm_resp`: its status.
    fn deliver(&mut self, fields: Value) -> u64 {
        self.tag += 1;
        let tag = self.tag;
        let mut command = json!({"cmd": "deliver", "tag": tag});
        for (key, value) in fields.as_object().expect("fields") {
            command[key] = value.clone();
        }
        self.command(command);
        let resp = self.wait_for("deliver_sm_resp", |e| {
            e["event"] == "deliver_sm_resp" && e["tag"] == tag
        });
        resp["status"].as_u64().expect("status")
    }

    /// One hop of the caller `msisdn` in the session numbered `session`: a `deliver_sm` with
    /// `op` and `its_session_info` (session, sequence), answered at once; then daftar's
    /// `submit_sm` to that caller in that session.
    fn hop(&mut self, msisdn: &str, its: [u8; 2], op: u8, message: &str) -> Value {
        let status = self.deliver(json!({
            "msisdn": msisdn, "its": its, "op": op, "message": message, "dest": "1420"
        }));
        assert_eq!(status, 0, "deliver_sm_resp status");
        self.submit_to(msisdn, its[0])
    }

    /// The next `submit_sm` daftar sent to `msisdn` in session `session`.
    fn submit_to(&mut self, msisdn: &str, session: u8) -> Value {
        let msisdn = msisdn.to_string();
        self.wait_for("submit_sm", move |e| {
            e["event"] == "submit_sm"
                && e["destination_addr"] == msisdn.as_str()
                && e["its_session_info"][0] == session
        })
    }

    /// Asserts that no event `kind` is among those read and not taken.
    fn never_saw(&self, kind: &str) {
        let seen: Vec<&Value> = self.held.iter().filter(|e| e["event"] == kind).collect();
        assert!(seen.is_empty(), "unexpected {kind}: {seen:?}");
    }

    /// The next `submit_sm` daftar sent, whoever it is for.
    fn next_submit(&mut self) -> Value {
        self.wait_for("submit_sm", |e| e["event"] == "submit_sm")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server bound to the gateways `(name, section)`, over the one-holder `tamin` feed.
fn server_with(lines: &[String], sections: Vec<(&str, GatewayConfig)>) -> TestServer {
    TestServer::start_with(lines, |config: &mut Config| {
        for (name, section) in sections {
            config.smpp.insert(name.to_string(), section);
        }
    })
}

/// The usual stage: a gateway `mtn`, a server over the one-holder `tamin` feed bound to it,
/// the holder's code and daftar's first bind; `None` without node. A test binds `server`
/// (as `_server` when unused): a field left to `..` is dropped at once, the server with it.
struct Stage {
    gateway: Gateway,
    server: TestServer,
    code: String,
    bound: Value,
}

fn stage() -> Option<Stage> {
    stage_with(|_| {})
}

/// [`stage`] with the gateway's section adjusted first.
fn stage_with(adjust: impl FnOnce(&mut GatewayConfig)) -> Option<Stage> {
    let mut gateway = Gateway::start()?;
    let (code, lines) = world();
    let mut section = gateway.section();
    adjust(&mut section);
    let server = server_with(&lines, vec![("mtn", section)]);
    let bound = gateway.wait_bound();
    Some(Stage {
        gateway,
        server,
        code,
        bound,
    })
}

fn op(submit: &Value) -> u64 {
    submit["ussd_service_op"].as_u64().expect("ussd_service_op")
}

fn text(submit: &Value) -> &str {
    submit["message"].as_str().unwrap_or("")
}

fn its(submit: &Value) -> [u64; 2] {
    let its = &submit["its_session_info"];
    [its[0].as_u64().expect("its"), its[1].as_u64().expect("its")]
}

/// Waits until `/metrics` shows `line`, and returns it all.
fn wait_metric(server: &TestServer, line: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, metrics) = server.get("/metrics");
        if metrics.lines().any(|l| l == line) {
            return metrics;
        }
        assert!(Instant::now() < deadline, "no {line:?} in {metrics}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_whole_tamin_session_in_ucs2_with_its_session_info_echoed() {
    let Some(Stage {
        mut gateway,
        server,
        code,
        bound,
    }) = stage()
    else {
        return;
    };
    assert_eq!(bound["system_id"], SYSTEM_ID);
    wait_metric(&server, "daftar_smpp_bound{dialect=\"smpp.mtn\"} 1");

    let first = gateway.hop(PHONE, [42, 0], 1, "*4*1420#");
    assert_eq!((op(&first), its(&first)), (2, [42, 0]), "{first}");
    assert_eq!(first["data_coding"], 8, "Persian goes as UCS-2: {first}");
    assert_eq!(first["service_type"], "USSD");
    assert_eq!(first["source_addr"], "1420");
    assert!(
        text(&first).contains("۲.") && text(&first).contains("۹."),
        "{first}"
    );

    let question = gateway.hop(PHONE, [42, 2], 18, "2");
    assert_eq!((op(&question), its(&question)), (2, [42, 2]), "{question}");

    let end = gateway.hop(PHONE, [42, 4], 18, &code);
    assert_eq!(
        (op(&end), its(&end)),
        (17, [42, 5]),
        "the end op and end bit: {end}"
    );
    assert!(text(&end).contains("حمایت درمانی"), "{end}");
    wait_metric(
        &server,
        "daftar_ussd_session_ends_total{dialect=\"smpp.mtn\",kind=\"end\"} 1",
    );
}

#[test]
fn latin_text_goes_as_gsm7_and_the_end_op_is_configurable() {
    let Some(Stage {
        server: _server,
        mut gateway,
        ..
    }) = stage_with(|section| section.end_op = Some(0x17))
    else {
        return;
    };
    // A code no service answers, from a number whose country suggests no locale: English.
    let end = gateway.hop("233244567890", [7, 0], 1, "*999#");
    assert_eq!(end["data_coding"], 0, "English goes as GSM-7: {end}");
    assert_eq!((op(&end), its(&end)), (0x17, [7, 1]), "{end}");
    assert!(text(&end).is_ascii() && !text(&end).is_empty(), "{end}");
}

#[test]
fn a_start_without_a_dialled_string_opens_the_configured_service() {
    let Some(Stage {
        server: _server,
        mut gateway,
        ..
    }) = stage_with(|section| section.service_code = Some("*4*1420#".into()))
    else {
        return;
    };
    let first = gateway.hop(PHONE, [3, 0], 1, "");
    assert_eq!(op(&first), 2, "{first}");
    assert!(
        text(&first).contains("۲.") && text(&first).contains("۹."),
        "{first}"
    );
}

#[test]
fn an_osms_session_in_kazakh_then_russian() {
    let Some(mut gateway) = Gateway::start() else {
        return;
    };
    let nobody = kz_iin("95123130077").expect("iin");
    let _server = server_with(&[], vec![("kcell", gateway.section())]);
    gateway.wait_bound();
    let caller = "77019990009";
    let kk = gateway.hop(caller, [5, 0], 1, "*1406#");
    assert_eq!((op(&kk), kk["data_coding"].as_u64()), (2, Some(8)), "{kk}");
    assert!(text(&kk).contains("мәртебем"), "{kk}");
    let ru = gateway.hop(caller, [5, 2], 18, "9");
    assert!(text(&ru).contains("Мой статус"), "{ru}");
    let question = gateway.hop(caller, [5, 4], 18, "1");
    assert_eq!(op(&question), 2, "{question}");
    let mut screen = gateway.hop(caller, [5, 6], 18, &nobody);
    let mut seen = text(&screen).to_string();
    let mut sequence = 8;
    while op(&screen) == 2 && text(&screen).contains("98.") {
        screen = gateway.hop(caller, [5, sequence], 18, "98");
        seen.push_str(text(&screen));
        sequence += 2;
    }
    assert_eq!(op(&screen), 17, "{screen}");
    assert!(seen.contains("Не застрахован"), "{seen}");
}

#[test]
fn a_user_release_is_an_abort_that_leaves_the_resume_offer() {
    let Some(Stage {
        mut gateway,
        server,
        code,
        ..
    }) = stage()
    else {
        return;
    };
    gateway.hop(PHONE, [42, 0], 1, "*4*1420#");
    let asked = gateway.hop(PHONE, [42, 2], 18, "2");
    // USSREL (0x81): nothing goes back to a phone that hung up.
    let status =
        gateway.deliver(json!({"msisdn": PHONE, "its": [42, 4], "op": 0x81, "message": ""}));
    assert_eq!(status, 0);
    wait_metric(
        &server,
        "daftar_ussd_session_ends_total{dialect=\"smpp.mtn\",kind=\"abort\"} 1",
    );
    let offer = gateway.hop(PHONE, [43, 0], 1, "*4*1420#");
    assert!(text(&offer).contains("ادامه"), "{offer}");
    let question = gateway.hop(PHONE, [43, 2], 18, "1");
    assert_eq!(text(&question), text(&asked), "1 continues at the question");
    // The end bit alone releases too (6D): a second abort, and no reply to it.
    gateway.deliver(json!({"msisdn": PHONE, "its": [43, 5], "op": 18, "message": ""}));
    wait_metric(
        &server,
        "daftar_ussd_session_ends_total{dialect=\"smpp.mtn\",kind=\"abort\"} 2",
    );
    let end = gateway.hop(PHONE, [44, 0], 1, &format!("*4*1420*2*{code}#"));
    assert_eq!(op(&end), 17, "a dialled shortcut ends at once: {end}");
    gateway.never_saw("submit_sm");
}

#[test]
fn a_dropped_connection_is_bound_again_and_the_session_goes_on() {
    let Some(Stage {
        server: _server,
        mut gateway,
        code,
        bound: first_bind,
        ..
    }) = stage()
    else {
        return;
    };
    gateway.hop(PHONE, [42, 0], 1, "*4*1420#");
    gateway.hop(PHONE, [42, 2], 18, "2");
    gateway.command(json!({"cmd": "drop"}));
    let second_bind = gateway.wait_bound();
    assert_ne!(first_bind["conn"], second_bind["conn"]);
    let end = gateway.hop(PHONE, [42, 4], 18, &code);
    assert_eq!(op(&end), 17, "{end}");
    assert!(
        text(&end).contains("حمایت درمانی"),
        "resumed from the store: {end}"
    );
    assert_eq!(end["conn"], second_bind["conn"]);
}

#[test]
fn the_gateway_unbinding_is_answered_and_bound_again() {
    let Some(Stage {
        server: _server,
        mut gateway,
        bound: first_bind,
        ..
    }) = stage()
    else {
        return;
    };
    gateway.command(json!({"cmd": "unbind"}));
    let second_bind = gateway.wait_bound();
    assert_ne!(first_bind["conn"], second_bind["conn"]);
    let first = gateway.hop(PHONE, [9, 0], 1, "*4*1420#");
    assert_eq!(op(&first), 2, "{first}");
}

#[test]
fn stopping_ends_waiting_sessions_politely_then_unbinds() {
    let Some(Stage {
        mut gateway,
        mut server,
        ..
    }) = stage()
    else {
        return;
    };
    gateway.hop(PHONE, [42, 0], 1, "*4*1420#");
    gateway.hop(PHONE, [42, 2], 18, "2");
    server.stop();
    let farewell = gateway.submit_to(PHONE, 42);
    assert_eq!((op(&farewell), its(&farewell)), (17, [42, 3]), "{farewell}");
    assert!(text(&farewell).contains("بعدا تلاش کنید"), "{farewell}");
    gateway.wait_for("unbind", |e| e["event"] == "unbind");
}

#[test]
fn two_gateways_bound_at_once_keep_their_sessions_apart() {
    let (Some(mut mtn), Some(mut mica)) = (Gateway::start(), Gateway::start()) else {
        return;
    };
    let (code, lines) = world();
    let mica_section = GatewayConfig {
        variant: Variant::Mica,
        ..mica.section()
    };
    let _server = server_with(&lines, vec![("mtn", mtn.section()), ("mica", mica_section)]);
    mtn.wait_bound();
    mica.wait_bound();
    // The same caller with the same session number on both: two sessions.
    let on_mtn = mtn.hop(PHONE, [42, 0], 1, "*4*1420#");
    let mica_start = json!({"msisdn": PHONE, "umr": 42, "op": 1, "message": "*4*1420#"});
    assert_eq!(mica.deliver(mica_start), 0);
    let on_mica = mica.next_submit();
    assert_eq!(on_mica["user_message_reference"], 42, "{on_mica}");
    assert!(on_mica["its_session_info"].is_null(), "{on_mica}");
    assert_eq!(text(&on_mica), text(&on_mtn));
    mtn.hop(PHONE, [42, 2], 18, "2");
    // Mica's session is still at its first screen: "2" there asks the question too.
    assert_eq!(
        mica.deliver(json!({"msisdn": PHONE, "umr": 42, "op": 18, "message": "2"})),
        0
    );
    let asked = mica.next_submit();
    assert_eq!(op(&asked), 2, "{asked}");
    let end = mtn.hop(PHONE, [42, 4], 18, &code);
    assert_eq!(op(&end), 17);
    assert_eq!(
        mica.deliver(json!({"msisdn": PHONE, "umr": 42, "op": 18, "message": code})),
        0
    );
    let end = mica.next_submit();
    assert_eq!(
        (op(&end), end["user_message_reference"].as_u64()),
        (17, Some(42)),
        "{end}"
    );
    assert!(text(&end).contains("حمایت درمانی"), "{end}");
}

#[test]
fn garbage_deliver_sm_is_answered_and_the_bind_lives_on() {
    let Some(Stage {
        server: _server,
        mut gateway,
        code,
        bound,
        ..
    }) = stage()
    else {
        return;
    };
    let huge = "31".repeat(3_000);
    let cases = [
        json!({"msisdn": PHONE, "its": [1, 0], "op": 1, "message": ""}),
        json!({"msisdn": PHONE, "its": [2, 0], "op": 18, "message": ""}),
        json!({"msisdn": PHONE, "its": [3, 2], "op": 18, "payload_hex": huge}),
        json!({"msisdn": PHONE, "its": [4, 2], "op": 18, "data_coding": 8, "hex": "d8"}),
        json!({"msisdn": PHONE, "its": [5, 2], "op": 18, "data_coding": 0, "hex": "80ff1b"}),
        json!({"msisdn": PHONE, "its": [6, 2], "op": 18, "data_coding": 4, "hex": "fffe"}),
        json!({"msisdn": PHONE, "its": [7, 0], "message": "an SMS, no ussd_service_op"}),
        json!({"msisdn": PHONE, "its": [8, 0], "op": 200, "message": "1"}),
        json!({"msisdn": PHONE, "op": 1, "message": "*4*1420#", "data_coding": 8,
               "hex": "002a0034002a00310034003200300023"}),
    ];
    for case in cases {
        assert_eq!(gateway.deliver(case.clone()), 0, "{case}");
    }
    // Each USSD one got an answer; the SMS none. The bind is the first one still.
    for session in [1u8, 2, 3, 4, 5, 6, 8] {
        let answer = gateway.submit_to(PHONE, session);
        assert!(op(&answer) == 2 || op(&answer) == 17, "{answer}");
    }
    let ucs2_start = gateway.wait_for("the UCS-2 start's reply", |e| {
        e["event"] == "submit_sm" && e["its_session_info"].is_null()
    });
    assert_eq!(
        op(&ucs2_start),
        2,
        "a start sent in UCS-2 is read: {ucs2_start}"
    );
    let first = gateway.hop(PHONE, [42, 0], 1, "*4*1420#");
    assert_eq!(op(&first), 2, "{first}");
    gateway.hop(PHONE, [42, 2], 18, "2");
    let end = gateway.hop(PHONE, [42, 4], 18, &code);
    assert!(text(&end).contains("حمایت درمانی"), "{end}");
    assert_eq!(end["conn"], bound["conn"], "no reconnect was needed");
    gateway.never_saw("closed");
}

#[test]
fn a_refused_bind_is_retried_and_the_node_stays_ready() {
    let Some(mut gateway) = Gateway::start() else {
        return;
    };
    let section = GatewayConfig {
        password: Some("wrong".into()),
        ..gateway.section()
    };
    let server = server_with(&[], vec![("mtn", section)]);
    gateway.wait_for("a refused bind", |e| e["event"] == "bind_refused");
    gateway.wait_for("a second refused bind", |e| e["event"] == "bind_refused");
    assert_eq!(server.get("/readyz").0, 200);
    wait_metric(&server, "daftar_smpp_bound{dialect=\"smpp.mtn\"} 0");
}

/// Why a server with a valid `[smpp.mtn]` adjusted by `adjust` refuses to start.
fn refused_for(adjust: impl FnOnce(&mut GatewayConfig)) -> String {
    TestServer::refused_with(&[], |config| {
        let mut section = GatewayConfig {
            address: "127.0.0.1:2775".into(),
            system_id: SYSTEM_ID.into(),
            ..GatewayConfig::default()
        };
        adjust(&mut section);
        config.smpp.insert("mtn".into(), section);
    })
}

#[test]
fn a_section_that_cannot_work_is_refused_at_start() {
    let message = refused_for(|section| section.address = "no port".into());
    assert!(message.contains("smpp.mtn.address"), "{message}");
    let message = refused_for(|section| section.service_code = Some("*999#".into()));
    assert!(message.contains("[smpp.mtn] service_code"), "{message}");
}

/// SPEC §8 (no MSISDN or national identifier in any log line), for SMPP: the real binary at
/// its most talkative (`DAFTAR_LOG=trace`, rusmpp's and rusmppc's lines included; rusmpp's
/// codec logs whole PDUs at debug unless `main` holds it back) serves a session
/// over a bind, and after SIGTERM its whole log is searched for the caller's number and the
/// code typed.
#[test]
fn a_trace_log_holds_no_msisdn_or_national_code() {
    let Some(mut gateway) = Gateway::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("daftar.toml");
    let section = format!(
        "[smpp.mtn]\naddress = \"127.0.0.1:{}\"\nsystem_id = \"{SYSTEM_ID}\"\n",
        gateway.port
    );
    std::fs::write(&config, section).expect("config written");
    let (db, menus, feed) = (dir.path().join("db"), bin::menus_dir(), bin::sample_feed());
    let args = [
        "--db",
        bin::arg(&db),
        "--menus",
        bin::arg(&menus),
        "--feed",
        bin::arg(&feed),
        "--config",
        bin::arg(&config),
    ];
    let env = [
        // Even when the codec's own lines are asked for by name.
        ("DAFTAR_LOG", "trace,rusmpp=trace,rusmpp::codec=trace"),
        ("DAFTAR_SMPP_MTN_PASSWORD", PASSWORD),
    ];
    let mut served = bin::Served::start(dir.path(), &args, &env);
    gateway.wait_bound();
    // The sample feed's general inquiry (tests/privacy.rs): not covered.
    let (caller, national_code) = ("989120000001", "0030000017");
    gateway.hop(caller, [11, 0], 1, "*4*1420#");
    gateway.hop(caller, [11, 2], 18, "2");
    let end = gateway.hop(caller, [11, 4], 18, national_code);
    assert!(text(&end).contains("حمایت درمانی ندارد"), "{end}");
    let (status, _) = served.terminate(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "{status}");
    let log = served.log();
    assert!(
        log.contains("bound as transceiver") && log.contains("TRACE rusmppc"),
        "the log did not capture the bind:\n{log}"
    );
    for secret in [caller, national_code] {
        assert!(
            !log.contains(secret),
            "{secret} in clear in the log:\n{log}"
        );
    }
}

// SMPP in a cluster (issue 13): several nodes bound to one gateway, sessions in Redis; the
// gateway delivers each step on whichever bind it likes.

/// Every node over the test's Redis shares it (`DAFTAR_HASH_KEY`).
const CLUSTER_HASH_KEY: &str = "the shared secret of the smpp cluster";

impl Gateway {
    /// [`Gateway::hop`] with the `deliver_sm` sent on the bound connection `conn`.
    fn hop_on(&mut self, conn: u64, msisdn: &str, its: [u8; 2], op: u8, message: &str) -> Value {
        let status = self.deliver(json!({
            "conn": conn, "msisdn": msisdn, "its": its, "op": op, "message": message,
            "dest": "1420"
        }));
        assert_eq!(status, 0, "deliver_sm_resp status");
        self.submit_to(msisdn, its[0])
    }
}

/// A node of the cluster: the real binary as node `node`, its sessions in `redis`, bound to
/// `gateway` as `[smpp.mtn]`, over the one-holder `tamin` feed; with the connection number
/// of its bind.
fn cluster_node(
    dir: &std::path::Path,
    redis: &common::redis_server::TestRedis,
    gateway: &mut Gateway,
    node: u8,
) -> (bin::Served, u64) {
    let config = dir.join("daftar.toml");
    let text = format!(
        "[sessions]\nstore = \"{}\"\nstore_timeout_ms = 300\n[audit]\nnode = {node}\n\
         [smpp.mtn]\naddress = \"127.0.0.1:{}\"\nsystem_id = \"{SYSTEM_ID}\"\n\
         password = \"{PASSWORD}\"\nreconnect_min_ms = 50\nreconnect_max_ms = 400\n",
        redis.url(),
        gateway.port
    );
    std::fs::write(&config, text).expect("config written");
    let feed = dir.join("feed.ndjson");
    std::fs::write(&feed, world().1.join("\n") + "\n").expect("feed written");
    let served = bin::Served::start_configured(
        dir,
        Some(&config),
        &feed,
        &[("DAFTAR_HASH_KEY", CLUSTER_HASH_KEY)],
    );
    let bound = gateway.wait_bound();
    (served, bound["conn"].as_u64().expect("conn"))
}

/// A node of [`smpp_cluster`]: its temp dir, the process, the connection number of its bind.
struct SmppNode {
    _dir: tempfile::TempDir,
    served: bin::Served,
    conn: u64,
}

/// A gateway, a Redis and two nodes bound to it; `None` without node or redis-server.
fn smpp_cluster() -> Option<(Gateway, common::redis_server::TestRedis, Vec<SmppNode>)> {
    let mut gateway = Gateway::start()?;
    let redis = common::redis_server::TestRedis::start()?;
    let nodes = (1..=2)
        .map(|node| {
            let dir = tempfile::tempdir().expect("temp dir");
            let (served, conn) = cluster_node(dir.path(), &redis, &mut gateway, node);
            SmppNode {
                _dir: dir,
                served,
                conn,
            }
        })
        .collect();
    Some((gateway, redis, nodes))
}

#[test]
fn a_session_whose_steps_come_on_two_nodes_binds_goes_on_wherever_they_land() {
    let Some((mut gateway, _redis, nodes)) = smpp_cluster() else {
        return;
    };
    let (a, b) = (nodes[0].conn, nodes[1].conn);
    let code = world().0;
    for (round, (first, second)) in [(a, b), (b, a), (a, b)].into_iter().enumerate() {
        let session = 60 + round as u8;
        let menu = gateway.hop_on(first, PHONE, [session, 0], 1, "*4*1420#");
        assert_eq!(op(&menu), 2, "{menu}");
        assert_eq!(menu["conn"].as_u64(), Some(first), "answered on its bind");
        let question = gateway.hop_on(second, PHONE, [session, 2], 18, "2");
        assert_eq!(
            op(&question),
            2,
            "the other node knows the session: {question}"
        );
        assert_eq!(question["conn"].as_u64(), Some(second));
        let end = gateway.hop_on(first, PHONE, [session, 4], 18, &code);
        assert_eq!(
            (op(&end), its(&end)),
            (17, [u64::from(session), 5]),
            "{end}"
        );
        assert!(text(&end).contains("حمایت درمانی"), "{end}");
        assert_eq!(bin::tracking_codes(text(&end)).len(), 1, "{end}");
    }
    gateway.never_saw("no_bind");
}

/// A node that stops while a session it served waits for its caller leaves the session to
/// the other binds: with sessions in Redis the caller's next step goes on there, so the
/// stopping node sends no farewell END and aborts nothing.
#[test]
fn a_node_stopping_leaves_its_waiting_sessions_to_the_other_nodes() {
    let Some((mut gateway, _redis, mut nodes)) = smpp_cluster() else {
        return;
    };
    let (a, b) = (nodes[0].conn, nodes[1].conn);
    let code = world().0;
    let menu = gateway.hop_on(a, PHONE, [70, 0], 1, "*4*1420#");
    assert_eq!(op(&menu), 2, "{menu}");
    let (status, _) = nodes[0].served.terminate(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "{status}");
    gateway.wait_for("node a's unbind", |e| {
        e["event"] == "closed" && e["conn"].as_u64() == Some(a)
    });
    let question = gateway.hop_on(b, PHONE, [70, 2], 18, "2");
    assert_eq!(
        op(&question),
        2,
        "the session goes on on node b: {question}"
    );
    let end = gateway.hop_on(b, PHONE, [70, 4], 18, &code);
    assert!(text(&end).contains("حمایت درمانی"), "{end}");
    let farewells: Vec<&Value> = gateway
        .held
        .iter()
        .filter(|e| e["event"] == "submit_sm" && e["conn"].as_u64() == Some(a))
        .collect();
    assert!(
        farewells.is_empty(),
        "node a ended a session it left: {farewells:?}"
    );
}
