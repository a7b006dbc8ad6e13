//! SPEC §4.1 with real processes: "a crash between the provider's acceptance and the mark can
//! resend one message once; nothing else duplicates or loses one". `daftar serve` sends the
//! replies of five commands to a local Africa's Talking that accepts two and holds the third
//! unanswered; the server is killed with SIGKILL while it waits, and started again on the same
//! store. Every reply must reach the provider, the one in flight at most twice, the others once.

mod daftar_bin;
#[path = "sms_support/mod.rs"]
mod sms_support;

use daftar_bin::{agent, Served};
use serde_json::{json, Value};
use sms_support::{eventually, inbound_form, Answer, FakeAt};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const ADMIN: &str = "admin-test";
const WAIT: Duration = Duration::from_secs(30);
const PHONES: [&str; 5] = [
    "21620000011",
    "21620000012",
    "21620000013",
    "21620000014",
    "21620000015",
];

fn start(dir: &Path) -> Served {
    let (feed, config) = (dir.join("feed.ndjson"), dir.join("daftar.toml"));
    Served::start_configured(
        dir,
        Some(&config),
        &feed,
        &[
            ("DAFTAR_SMS_API_KEY", "k-test"),
            ("DAFTAR_ADMIN_TOKEN", ADMIN),
        ],
    )
}

fn outbox(served: &Served) -> Value {
    let mut response = agent()
        .get(&format!("{}/admin/sms", served.base))
        .header("Authorization", &format!("Bearer {ADMIN}"))
        .call()
        .expect("admin answers");
    serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("json")
}

/// Waits until the outbox satisfies `done`.
fn wait_outbox(served: &Served, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually(WAIT, || {
        let view = outbox(served);
        if done(&view) {
            Ok(view)
        } else {
            Err(format!("{what}: {view:#}\n{}", served.log()))
        }
    })
}

fn states(view: &Value) -> Vec<String> {
    view["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["state"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[test]
fn a_server_killed_while_sending_resends_at_most_the_message_in_flight_and_loses_none() {
    let fake = FakeAt::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let person = json!({"seq": 1, "op": "upsert", "person": {
        "insurer": "cnam", "person_id": "01234567", "member_no": "11966433", "scheme": "cnss"
    }});
    std::fs::write(dir.path().join("feed.ndjson"), format!("{person}\n")).expect("feed");
    let config = format!(
        "[sms]\nprovider = \"africastalking\"\nbase_url = \"{}\"\nusername = \"cnam-test\"\n\
         sender = \"85666\"\nretry_base_ms = 50\nretry_max_ms = 200\n",
        fake.base
    );
    std::fs::write(dir.path().join("daftar.toml"), config).expect("config");
    fake.script(vec![Answer::Accept, Answer::Accept, Answer::Hold]);

    let served = start(dir.path());
    for (n, phone) in PHONES.iter().enumerate() {
        let body = inbound_form(phone, "85666", "STOP", &format!("crash-{n}"));
        let status = agent()
            .post(&format!("{}/sms/africastalking", served.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body)
            .expect("answered")
            .status()
            .as_u16();
        assert_eq!(status, 200);
    }
    // Every reply is in the outbox, two sent, the third in flight (held by the provider).
    fake.wait_for(3, WAIT);
    let before = wait_outbox(&served, "two sent and one in flight", |view| {
        let states = states(view);
        states.len() == PHONES.len()
            && states.iter().filter(|s| *s == "sent").count() == 2
            && states.iter().filter(|s| *s == "sending").count() == 1
    });
    let in_flight = fake.received()[2].field("to").to_string();
    let log = served.log();
    drop(served); // SIGKILL

    let served = start(dir.path());
    let after = wait_outbox(&served, "every reply sent", |view| {
        view["pending"] == 0 && states(view).iter().all(|s| s == "sent")
    });
    let received = fake.received();
    let mut per_phone: BTreeMap<String, usize> = BTreeMap::new();
    for sms in &received {
        *per_phone.entry(sms.field("to").to_string()).or_default() += 1;
    }
    for phone in PHONES {
        let want = if format!("+{phone}") == in_flight {
            2
        } else {
            1
        };
        assert_eq!(
            per_phone.get(&format!("+{phone}")).copied(),
            Some(want),
            "{phone}: {per_phone:?}\nbefore the kill: {before:#}\nafter: {after:#}"
        );
    }
    assert_eq!(received.len(), PHONES.len() + 1, "{per_phone:?}");
    // No phone number in the logs of either run.
    let logs = log + &served.log();
    for phone in PHONES {
        assert!(!logs.contains(&phone[3..]), "{phone} logged:\n{logs}");
    }
}
