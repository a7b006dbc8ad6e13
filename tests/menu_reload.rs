//! Live menu reload over a real server with a temp copy of `menus/`: a changed word reaches new
//! sessions while a session in flight ends on the menus it started on; a broken menu is refused
//! with its reason and the old menus keep serving; each reload is counted in `/metrics`;
//! `kill -HUP` reloads the real binary too.

mod common;

use common::TestServer;
use std::path::Path;

const TOKEN: &str = "menu-reload-admin-token-0123456789";
const T: &str = "*4*1420#";
const PHONE: &str = "989121110001";
const OLD_ASK: &str = "کد ملی خود را وارد کنید:";
const NEW_ASK: &str = "کد ملی تازه را وارد کنید:";

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("read");
    assert!(text.contains(from), "{from} not in {}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).expect("write");
}

/// `POST /admin/menus/reload` with the token: status and body.
fn reload(server: &TestServer) -> (u16, String) {
    let url = format!("{}/admin/menus/reload", server.base);
    match common::bin::agent()
        .post(&url)
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .send(&[][..])
    {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(e) => panic!("reload: {e}"),
    }
}

#[test]
fn a_reload_reaches_new_sessions_and_spares_those_in_flight() {
    let dir = tempfile::tempdir().expect("tempdir");
    let menus = dir.path().join("menus");
    common::copy_menus(&menus);
    let server = TestServer::start_with(&[], |c| {
        c.menus.dir = menus.clone();
        c.admin.token = Some(TOKEN.into());
    });
    // A session opens on the old menus; the word changes; the menus are reloaded.
    assert!(server.at("s1", T, PHONE, "").is_con());
    edit(&menus.join("tamin.fa.toml"), OLD_ASK, NEW_ASK);
    let (status, body) = reload(&server);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"version\": 1"), "{body}");

    // The session in flight ends on the menus it started on; a new one sees the new word.
    let in_flight = server.at("s1", T, PHONE, "1");
    assert!(in_flight.text.contains(OLD_ASK), "{}", in_flight.text);
    assert!(server.at("s2", T, PHONE, "").is_con());
    let fresh = server.at("s2", T, PHONE, "1");
    assert!(fresh.text.contains(NEW_ASK), "{}", fresh.text);

    // A menu that fails the check is refused with each fault; so is one that does not parse;
    // the last good menus keep serving.
    let words = menus.join("tamin.fa.toml");
    let good = std::fs::read_to_string(&words).expect("read");
    edit(&words, "own = \"استحقاق\"\n", "");
    let (status, body) = reload(&server);
    assert_eq!(status, 422, "{body}");
    let refused: serde_json::Value = serde_json::from_str(&body).expect("json");
    let faults = refused["refused"].as_array().expect("a list of faults");
    assert!(!faults.is_empty() && body.contains("own"), "{body}");
    std::fs::write(&words, good).expect("restore");
    std::fs::write(menus.join("tamin.toml"), "start = [\n").expect("break");
    let (status, body) = reload(&server);
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("tamin.toml"),
        "the reason names the file: {body}"
    );
    assert!(server.at("s3", T, PHONE, "").is_con());
    let still = server.at("s3", T, PHONE, "1");
    assert!(still.text.contains(NEW_ASK), "{}", still.text);

    let (_, metrics) = server.get("/metrics");
    for line in [
        "daftar_menu_reloads_total{result=\"ok\"} 1",
        "daftar_menu_reloads_total{result=\"refused\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} missing");
    }
}

#[test]
fn sighup_reloads_the_real_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let menus = dir.path().join("menus");
    common::copy_menus(&menus);
    let db = dir.path().join("db");
    let feed = common::bin::sample_feed();
    let args = [
        "--db",
        common::bin::arg(&db),
        "--menus",
        common::bin::arg(&menus),
        "--feed",
        common::bin::arg(&feed),
    ];
    let mut served = common::bin::Served::start(dir.path(), &args, &[]);
    served.at("h0", T, PHONE, "");
    edit(&menus.join("tamin.fa.toml"), OLD_ASK, NEW_ASK);
    served.signal("HUP");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for n in 1.. {
        // Each probe from a phone of its own: one phone's probes would take its share of the
        // session table and push out h0, its oldest session, when the reload is slow.
        let session = format!("h{n}");
        let prober = format!("98912222{n:04}");
        served.at(&session, T, &prober, "");
        if served.at(&session, T, &prober, "1").contains(NEW_ASK) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "SIGHUP did not reload:\n{}",
            served.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(served.at("h0", T, PHONE, "1").contains(OLD_ASK));
    // The log is written on a thread of its own: its line may trail the reload a little.
    while !served.log().contains("menus reloaded") {
        assert!(
            std::time::Instant::now() < deadline,
            "no log line for the reload:\n{}",
            served.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    served.terminate(std::time::Duration::from_secs(20));
}
