//! The phone simulator at `/simulator` (SPEC §7): its page and files over HTTP (types, the
//! content security policy, nothing from elsewhere), its catalogue and its measure (bad input
//! included), where it is served, and the page itself in a real browser.
//!
//! The browser test runs Debian's `chromium` headless through `playwright-core`
//! (`tests/browser/simulator.js`) against the real binary over the sample feed. It needs
//! `/usr/lib/chromium/chromium`, `node` and `tests/browser/node_modules` (`npm ci --prefix
//! tests/browser`); without them it says so and passes without running (`.ci/run` installs
//! all three). With `DAFTAR_SIMULATOR_SCREENSHOT=docs/simulator.png` it refreshes the README's
//! screenshot; otherwise the screenshot goes to a temporary directory.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::bin::{self, Served};
use common::people::*;
use common::TestServer;
use serde_json::Value;

const CHROMIUM: &str = "/usr/lib/chromium/chromium";

fn feed() -> Vec<String> {
    let until = today_tehran().checked_add(jiff::ToSpan::years(1)).unwrap();
    vec![upsert(
        1,
        holder(&ir_code("005123457"), &["989121110001"], until),
    )]
}

/// `GET url`: status, the named headers' values ("" when absent) and the body.
fn get(url: &str, headers: &[&str]) -> (u16, Vec<String>, String) {
    let mut response = bin::agent().get(url).call().expect("the server answers");
    let values = headers
        .iter()
        .map(|name| {
            response
                .headers()
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (response.status().as_u16(), values, body)
}

/// Every `src="…"` and `href="…"` of an HTML page.
fn references(html: &str) -> Vec<String> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| html.split(attribute).skip(1))
        .map(|rest| rest.split('"').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_page_and_its_files_are_served_from_the_binary_with_nothing_from_elsewhere() {
    let server = TestServer::start(&feed());
    let wanted = [
        "content-type",
        "content-security-policy",
        "x-content-type-options",
    ];
    let (status, headers, page) = get(&format!("{}/simulator", server.base), &wanted);
    assert_eq!(status, 200);
    assert_eq!(headers[0], "text/html; charset=utf-8");
    assert!(
        headers[1].starts_with("default-src 'none'"),
        "{}",
        headers[1]
    );
    assert!(headers[1].contains("connect-src 'self'"), "{}", headers[1]);
    assert_eq!(headers[2], "nosniff");
    let refs = references(&page);
    assert_eq!(
        refs,
        [
            "/simulator/sim.js",
            "/simulator/icon.svg",
            "/simulator/sim.css"
        ]
    );
    for (file, content_type, holds) in [
        ("sim.css", "text/css; charset=utf-8", "#screen"),
        ("sim.js", "text/javascript; charset=utf-8", "/ussd/"),
        ("icon.svg", "image/svg+xml", "<svg"),
    ] {
        let (status, headers, body) = get(&format!("{}/simulator/{file}", server.base), &wanted);
        assert_eq!((status, headers[0].as_str()), (200, content_type), "{file}");
        assert!(body.contains(holds), "{file}");
    }
    // Nothing in the page, its style or its script names another origin.
    let (_, style) = server.get("/simulator/sim.css");
    let (_, script) = server.get("/simulator/sim.js");
    for text in [&page, &style, &script] {
        for outside in ["http://", "https://", "url(", "@import", "//cdn"] {
            assert!(!text.contains(outside), "{outside} in a simulator file");
        }
    }
    let mut head = bin::agent()
        .head(format!("{}/simulator", server.base))
        .call()
        .expect("the server answers");
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.body_mut().read_to_string().unwrap_or_default(), "");
    assert_eq!(server.get("/simulator/").0, 200);
    assert_eq!(server.get("/simulator/nothing").0, 404);
    assert_eq!(server.get("/simulator/sim.js.map").0, 404);
    assert_eq!(server.post("/simulator", "text/plain", b"x").0, 405);
    assert_eq!(server.get("/simulator/measure").0, 405);
}

#[test]
fn the_catalogue_lists_the_services_and_every_dialect_from_the_server() {
    let server = TestServer::start_with(&feed(), |c| {
        let extra: daftar::config::Config = toml::from_str(
            "[dialects.beem]\ndefault_service = \"tamin\"\n\
             [dialects.nalo]\nallow = [\"10.0.0.0/8\"]\n\
             [dialects.arkesel]\nscreen = { gsm7 = 160 }\n",
        )
        .expect("valid TOML");
        c.dialects.extend(extra.dialects);
    });
    let (status, body) = server.get("/simulator/catalogue.json");
    assert_eq!(status, 200, "{body}");
    let catalogue: Value = serde_json::from_str(&body).expect("JSON");
    let services = catalogue["services"].as_array().expect("services");
    let ids: Vec<&str> = services.iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, ["cnam", "mutual", "osms", "tamin"]);
    let tamin = &services[3];
    assert_eq!(tamin["codes"][0], "*4*1420#");
    let fa = &tamin["locales"][0];
    assert_eq!(
        (fa["locale"].as_str(), fa["dir"].as_str()),
        (Some("fa"), Some("rtl"))
    );
    assert_eq!(fa["more"], "۹۸. بیشتر", "{fa}");
    let en = &tamin["locales"][1];
    assert_eq!(
        (en["locale"].as_str(), en["dir"].as_str()),
        (Some("en"), Some("ltr"))
    );
    // The first line is the first line of the first screen as the phone shows it.
    let first = server.at("c1", "*4*1420#", "989121110001", "");
    assert_eq!(first.text.lines().next(), fa["first_line"].as_str());
    let cnam = &services[0];
    assert_eq!(cnam["locales"][0]["dir"], "rtl");

    let dialects = catalogue["dialects"].as_array().expect("dialects");
    let by_name = |name: &str| {
        dialects
            .iter()
            .find(|d| d["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {dialects:?}"))
    };
    for name in [
        "africastalking",
        "hubtel",
        "arkesel",
        "nalo",
        "beem",
        "infobip",
        "safaricom",
        "comviva",
        "truroute",
    ] {
        assert_eq!(by_name(name)["built_in"], true, "{name}");
    }
    assert_eq!(by_name("beem")["default_service"], "tamin");
    assert_eq!(by_name("hubtel")["default_service"], Value::Null);
    assert_eq!(by_name("nalo")["open"], false);
    assert_eq!(by_name("hubtel")["open"], true);
    let arkesel = by_name("arkesel");
    assert_eq!(
        (
            arkesel["screen_gsm7"].as_u64(),
            arkesel["screen_ucs2"].as_u64()
        ),
        (Some(160), Some(80))
    );
    assert_eq!(by_name("hubtel")["screen_ucs2"], 80);
    // Nothing of the gate's settings leaves: only open or not.
    assert!(!body.contains("10.0.0.0"), "{body}");
}

#[test]
fn the_measure_is_the_servers_and_bad_input_gets_a_clear_answer() {
    let server = TestServer::start_with(&feed(), |c| {
        let extra: daftar::config::Config =
            toml::from_str("[dialects.arkesel]\nscreen = { gsm7 = 160 }\n").expect("valid TOML");
        c.dialects.extend(extra.dialects);
    });
    let measure = |dialect: &str, text: &[u8]| -> (u16, String) {
        server.post(
            &format!("/simulator/measure?dialect={dialect}"),
            "text/plain; charset=utf-8",
            text,
        )
    };
    let json = |(status, body): (u16, String)| -> Value {
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("JSON")
    };
    let plain = json(measure("africastalking", "1. Status\n2. More".as_bytes()));
    assert_eq!(
        plain,
        serde_json::json!({"encoding": "GSM-7", "length": 17, "limit": 182, "fits": true})
    );
    let euro = json(measure("africastalking", "{€}".as_bytes()));
    assert_eq!(
        (euro["encoding"].as_str(), euro["length"].as_u64()),
        (Some("GSM-7"), Some(6))
    );
    let empty = json(measure("africastalking", b""));
    assert_eq!(
        (empty["encoding"].as_str(), empty["length"].as_u64()),
        (Some("GSM-7"), Some(0))
    );
    // A real screen, measured as the server pages it: UCS-2, and within the budget.
    let screen = server.at("m1", "*4*1420#", "989121110001", "");
    let seen = json(measure("africastalking", screen.text.as_bytes()));
    assert_eq!(seen["encoding"], "UCS-2");
    assert_eq!(
        seen["length"].as_u64(),
        Some(screen.text.encode_utf16().count() as u64)
    );
    assert_eq!(
        (seen["limit"].as_u64(), seen["fits"].as_bool()),
        (Some(80), Some(true))
    );
    // The dialect's own screen.
    let small = json(measure("arkesel", "a".repeat(161).as_bytes()));
    assert_eq!(
        (small["limit"].as_u64(), small["fits"].as_bool()),
        (Some(160), Some(false))
    );
    let wide = json(measure("africastalking", "a".repeat(161).as_bytes()));
    assert_eq!(
        (wide["limit"].as_u64(), wide["fits"].as_bool()),
        (Some(182), Some(true))
    );
    // Wrong script, garbage, huge, no dialect, an unknown one.
    let (status, body) = measure("africastalking", b"\xff\xfe\x00garbage");
    assert_eq!(
        (status, body.as_str()),
        (400, "the screen text must be UTF-8\n")
    );
    let (status, _) = measure("africastalking", &vec![b'1'; 64 * 1024]);
    assert!(status == 413 || status == 0, "{status}");
    let (status, body) = server.post("/simulator/measure", "text/plain", b"x");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("?dialect="), "{body}");
    assert_eq!(measure("nobody", b"x").0, 404);
    assert_eq!(measure("%FF%FE", b"x").0, 404);
}

#[test]
fn the_simulator_is_on_the_aggregators_port_and_can_be_turned_off() {
    let split = TestServer::start_with(&feed(), |c| {
        c.admin.listen = Some("127.0.0.1:0".parse().expect("an address"));
    });
    assert_eq!(split.get("/simulator").0, 200);
    let admin = split.admin_base().expect("an admin port");
    let (status, _) = bin::get(&bin::agent(), &format!("{admin}/simulator"));
    assert_eq!(
        status, 404,
        "the operators' port serves no USSD, so no simulator"
    );

    let off = TestServer::start_with(&feed(), |c| c.simulator.enabled = false);
    assert_eq!(off.get("/simulator").0, 404);
    assert_eq!(off.get("/simulator/catalogue.json").0, 404);
    assert_eq!(off.get("/healthz").0, 200);
}

/// Whether the browser test can run here; says why not when it cannot.
fn browser_ready(dir: &Path) -> bool {
    let node = Command::new("node").arg("--version").output();
    let missing = if !Path::new(CHROMIUM).exists() {
        Some(format!("{CHROMIUM} (apt-get install chromium)"))
    } else if !node.is_ok_and(|o| o.status.success()) {
        Some("node".to_string())
    } else if !dir.join("node_modules/playwright-core").exists() {
        Some("tests/browser/node_modules (npm ci --prefix tests/browser)".to_string())
    } else {
        None
    };
    if let Some(missing) = &missing {
        eprintln!("SKIPPED: the simulator's browser test needs {missing}; .ci/run installs it");
    }
    missing.is_none()
}

#[test]
fn the_page_walks_a_tamin_and_an_osms_journey_in_a_real_browser() {
    let browser_dir = bin::root().join("tests/browser");
    if !browser_ready(&browser_dir) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // Beem carries no service code: it serves the configured one.
    let config = dir.path().join("daftar.toml");
    std::fs::write(&config, "[dialects.beem]\ndefault_service = \"tamin\"\n").expect("config");
    let served = Served::start_configured(dir.path(), Some(&config), &bin::sample_feed(), &[]);
    let screenshot: PathBuf = match std::env::var_os("DAFTAR_SIMULATOR_SCREENSHOT") {
        Some(path) => bin::root().join(path),
        None => dir.path().join("simulator.png"),
    };
    let run = Command::new("node")
        .arg(browser_dir.join("simulator.js"))
        .arg(&served.base)
        .arg(&screenshot)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stdout}");
    assert!(
        run.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}\n--- server log\n{}",
        served.log()
    );
    assert!(stdout.contains("6 passed, 0 failed"), "{stdout}");
    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
}
