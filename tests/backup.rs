//! Data at rest (README "Data at rest", issue 11 item 10), with real processes: a running
//! server's store is backed up through `POST /admin/backup` while callers are being answered;
//! the file is restored into a new directory with `daftar restore`; a server over the restored
//! store gives the same people the same answers and finds every tracking code shown before the
//! backup. `daftar backup --db` copies a store no server holds and refuses one a server holds.

mod daftar_bin;

use daftar_bin::{agent, arg, menus_dir, run, sample_feed, tracking_codes, Served};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "backup-test-token";
const SERVICE: &str = "*4*1420#";
/// The holder's registered phone (data/README.md), and the questions asked of both servers:
/// option 1 (own entitlement, with a date) and option 2 (general inquiry) over sample people.
const PHONE: &str = "+989120000001";
const QUESTIONS: [&str; 6] = [
    "1*0012345679",
    "1*0010000119",
    "1*0040000011",
    "2*0012345679",
    "2*0030000017",
    "2*0099999994",
];

fn serve(dir: &Path, args: &[&str]) -> Served {
    let config = dir.join("daftar.toml");
    let backups = dir.join("backups");
    std::fs::write(
        &config,
        format!("[store]\nbackup_dir = {:?}\n", arg(&backups)),
    )
    .expect("config written");
    let menus = menus_dir();
    let mut all = vec!["--config", arg(&config), "--menus", arg(&menus)];
    all.extend_from_slice(args);
    Served::start(dir, &all, &[("DAFTAR_ADMIN_TOKEN", TOKEN)])
}

/// Each question's final screen, with its tracking code replaced by `<code>`; and the codes.
fn answers(server: &Served, tag: &str) -> (Vec<String>, Vec<String>) {
    let mut screens = Vec::new();
    let mut codes = Vec::new();
    for (n, question) in QUESTIONS.iter().enumerate() {
        let screen = server.at(&format!("{tag}-{n}"), SERVICE, PHONE, question);
        assert!(screen.starts_with("END "), "{question}: {screen}");
        let shown = tracking_codes(&screen);
        assert_eq!(shown.len(), 1, "{screen}");
        let latin = daftar_bin::latin_digits(&screen).replace(&shown[0], "<code>");
        screens.push(latin);
        codes.extend(shown);
    }
    (screens, codes)
}

fn admin(server: &Served, method: &str, path: &str) -> (u16, String) {
    let url = format!("{}{path}", server.base);
    let request = match method {
        "POST" => agent()
            .post(&url)
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .send_empty(),
        _ => agent()
            .get(&url)
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .call(),
    };
    let mut response = request.expect("the server answers");
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// Callers answered while the backup is written: a thread asking until stopped.
fn keep_asking(server: &Served, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    let url = format!("{}/ussd/africastalking", server.base);
    std::thread::spawn(move || {
        let agent = agent();
        let mut answered = 0;
        while !stop.load(Ordering::SeqCst) {
            let session = format!("busy-{answered}");
            let sent = agent.post(&url).send_form([
                ("sessionId", session.as_str()),
                ("serviceCode", SERVICE),
                ("phoneNumber", PHONE),
                ("networkCode", "43211"),
                ("text", "2*0012345679"),
            ]);
            if sent.is_ok_and(|r| r.status().as_u16() == 200) {
                answered += 1;
            }
        }
        answered
    })
}

#[test]
fn a_backup_of_a_running_server_restores_into_a_store_that_serves_the_same_people_and_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("db");
    let feed = sample_feed();
    let mut original = serve(dir.path(), &["--db", arg(&db), "--feed", arg(&feed)]);
    let (screens, codes) = answers(&original, "before");

    let refused = run(
        &[
            "backup",
            "--db",
            arg(&db),
            "--out",
            arg(&dir.path().join("x")),
        ],
        "",
    );
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(refused.stderr.contains("POST /admin/backup"), "{refused}");

    let stop = Arc::new(AtomicBool::new(false));
    let busy = keep_asking(&original, stop.clone());
    let (status, body) = admin(&original, "POST", "/admin/backup");
    stop.store(true, Ordering::SeqCst);
    let answered_meanwhile = busy.join().expect("asker");
    assert_eq!(status, 200, "{body}");
    let written: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let file = written["file"].as_str().expect("the file").to_string();
    assert!(written["copied"]["entries"].as_u64() > Some(0), "{body}");
    eprintln!("backup {body}; {answered_meanwhile} callers answered meanwhile");
    let (status, _) = original.terminate(Duration::from_secs(30));
    assert!(status.success());

    let restored_db = dir.path().join("restored");
    let restore = run(&["restore", "--from", &file, "--db", arg(&restored_db)], "");
    assert_eq!(restore.code, Some(0), "{restore}");
    let again = run(&["restore", "--from", &file, "--db", arg(&restored_db)], "");
    assert_eq!(
        again.code,
        Some(1),
        "a store is never restored over: {again}"
    );

    // Served as it is: no feed, only what the backup holds.
    let serve_dir = dir.path().join("second");
    std::fs::create_dir_all(&serve_dir).expect("dir");
    let mut restored = serve(&serve_dir, &["--db", arg(&restored_db)]);
    for code in &codes {
        let (status, entry) = admin(&restored, "GET", &format!("/admin/track/{code}"));
        assert_eq!(status, 200, "{code} not in the restored trail: {entry}");
    }
    let (again, new_codes) = answers(&restored, "after");
    assert_eq!(again, screens, "the same people, the same answers");
    assert!(
        new_codes.iter().all(|c| !codes.contains(c)),
        "a restored node issues no code its trail keeps"
    );
    let (status, _) = restored.terminate(Duration::from_secs(30));
    assert!(status.success());

    // A store no server holds, by the command line; the copy tracks the same codes.
    let offline = dir.path().join("offline.backup");
    let backup = run(
        &["backup", "--db", arg(&restored_db), "--out", arg(&offline)],
        "",
    );
    assert_eq!(backup.code, Some(0), "{backup}");
    let copy = dir.path().join("copy");
    let restore = run(
        &["restore", "--from", arg(&offline), "--db", arg(&copy)],
        "",
    );
    assert_eq!(restore.code, Some(0), "{restore}");
    for code in codes.iter().chain(&new_codes) {
        let track = run(&["track", code, "--db", arg(&copy)], "");
        assert_eq!(track.code, Some(0), "{code}: {track}");
    }
}

#[test]
fn backups_need_the_token_and_are_off_without_a_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Served::start_sample(dir.path(), &[("DAFTAR_ADMIN_TOKEN", TOKEN)]);
    let url = format!("{}/admin/backup", server.base);
    let anonymous = agent().post(&url).send_empty().expect("answers");
    assert_eq!(anonymous.status().as_u16(), 401);
    let (status, body) = admin(&server, "POST", "/admin/backup");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("[store] backup_dir"), "{body}");
    assert!(!dir.path().join("backups").exists());
}
