//! The commands other than `serve`: `sync`, `check`, `simulate`, `track`, `gen-feed`,
//! `backup`, `restore`. Each
//! prints for a person at a terminal and returns the exit code SPEC §5 and §7 give.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::app::{build_core, load_checked_menus, open_parts};
use crate::audit::{AuditEntry, TrackingCode};
use crate::authoring;
use crate::config::Config;
use crate::feed::FeedSource;
use crate::menu::load_menus;
use crate::turn::{Reply, Turn, TurnKind};

/// The service `simulate` dials when none is given: the README's first.
const DEFAULT_SERVICE: &str = "tamin";

/// How the admin API's answer begins when it is off (`server.rs`).
const ADMIN_OFF: &str = crate::server::ADMIN_OFF;

/// `sync` exits 3 when some lines were rejected (the others applied).
const EXIT_REJECTED: u8 = 3;

/// `daftar sync`: 0 clean, 3 with rejected lines, 1 when it could not go on.
pub fn sync(config: &Config, feed: &str) -> anyhow::Result<ExitCode> {
    let source = FeedSource::parse(feed)?;
    let store =
        crate::store::Store::open_or_create(&config.store.db, config.store.cache_mb * 1024 * 1024)?;
    let timeout = std::time::Duration::from_millis(config.feed.timeout_ms);
    let report = crate::sync::sync_once_with(&store, &source, config.feed.max_seq_gap, timeout)?;
    store.flush()?;
    if report.applied > 0 {
        // The next `serve` then opens from a snapshot rather than replaying this sync's log.
        store.close_and_snapshot(&config.store.db, config.store.cache_mb * 1024 * 1024)?;
    }
    // The report lists each rejected line once.
    println!("{report}");
    if report.rejected_count() == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(EXIT_REJECTED))
    }
}

/// `daftar check`: the length of every screen in every locale (with sample values), then every
/// fault, one a line, with its file and line; then, with `journeys`, each journey played
/// through the engine. Exit 1 on any fault or any journey that differs.
pub fn check(config: &Config, journeys: Option<&Path>) -> anyhow::Result<ExitCode> {
    let menus = load_menus(&config.menus.dir)?;
    let budget = config.tightest_screen();
    print!(
        "{}",
        authoring::report::table(&authoring::report::measure_all(&menus, budget))
    );
    let faults = authoring::faults(&menus, budget);
    let sms_faults = crate::sms::texts::check(&config.menus.dir);
    for fault in &faults {
        println!("{fault}");
    }
    for fault in &sms_faults {
        println!("{fault}");
    }
    let clean = faults.is_empty() && sms_faults.is_empty();
    if clean {
        let names: Vec<&str> = menus.services.keys().map(String::as_str).collect();
        println!(
            "{} service(s) checked, no fault: {}",
            names.len(),
            names.join(", ")
        );
    } else {
        println!("{} fault(s)", faults.len() + sms_faults.len());
    }
    let journeys_pass = match journeys {
        Some(dir) if clean => play_journeys(config, dir)?,
        Some(dir) => {
            println!(
                "journeys in {} not played: the menus have faults",
                dir.display()
            );
            false
        }
        None => true,
    };
    Ok(if clean && journeys_pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Plays every journey of `dir` over the menus as `serve` loads them; whether all held.
fn play_journeys(config: &Config, dir: &Path) -> anyhow::Result<bool> {
    let menus = load_checked_menus(config)?;
    let loaded = authoring::journey::load_dir(dir)?;
    if loaded.is_empty() {
        println!("no journey (*.toml) in {}", dir.display());
        return Ok(false);
    }
    let mut differ = 0;
    for journey in &loaded {
        let played = journey.as_ref().map_err(|e| e.to_string()).and_then(|j| {
            authoring::journey::play(config, &menus, j)
                .map(|steps| (j.file.display().to_string(), steps))
                .map_err(|e| e.to_string())
        });
        match played {
            Ok((file, steps)) => println!("{file}: {steps} step(s) as expected"),
            Err(difference) => {
                differ += 1;
                println!("{difference}");
            }
        }
    }
    println!(
        "{} journey(s) played, {} as expected, {differ} failed",
        loaded.len(),
        loaded.len() - differ
    );
    Ok(differ == 0)
}

/// One step of a simulated phone: session id and whole path in, the reply out.
type Phone = dyn Fn(&str, &str) -> anyhow::Result<Reply>;

/// `daftar simulate`: a phone in the terminal. Type an answer per line; an empty line at the
/// end of a session starts another; end of input quits.
pub fn simulate(
    config: &Config,
    service: Option<&str>,
    msisdn: &str,
    server: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let menus = load_checked_menus(config)?;
    let service = match service {
        Some(id) => menus.service(id).ok_or_else(|| {
            anyhow::anyhow!("no service {id:?} in {}", config.menus.dir.display())
        })?,
        // The README's first service, whose people the sample feed holds.
        None => menus
            .service(DEFAULT_SERVICE)
            .or_else(|| menus.services.values().next())
            .ok_or_else(|| anyhow::anyhow!("no service"))?,
    };
    let code = service
        .spec
        .codes
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("service {} has no code", service.id()))?;
    let phone: Box<Phone> = match server {
        Some(url) => {
            let url = format!("{}/ussd/africastalking", base_url(url));
            let (code, msisdn) = (code.clone(), msisdn.to_string());
            Box::new(move |sid, path| remote_step(&url, sid, &code, &msisdn, path))
        }
        None => {
            require_store(config)?;
            let parts = open_parts(config)?;
            let core = build_core(config, &parts, menus.clone())?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (code, msisdn) = (code.clone(), msisdn.to_string());
            let dialect: Arc<str> = Arc::from("simulator");
            Box::new(move |sid, path| {
                let turn = Turn::new(&dialect, sid, &msisdn, TurnKind::Path(path.to_string()))
                    .dialled(&code);
                Ok(runtime.block_on(core.engine.step(&turn)))
            })
        }
    };
    run_phone(&*phone, &code)
}

fn run_phone(
    phone: &dyn Fn(&str, &str) -> anyhow::Result<Reply>,
    code: &str,
) -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut session = 0u32;
    loop {
        session += 1;
        let sid = format!("sim-{}-{session}", std::process::id());
        println!("── dialling {code}");
        let mut path = String::new();
        let mut reply = phone(&sid, &path)?;
        while let Reply::Continue(text) = &reply {
            println!("{text}");
            print!("> ");
            std::io::stdout().flush()?;
            let Some(line) = lines.next() else {
                return Ok(ExitCode::SUCCESS);
            };
            let line = line?;
            if !path.is_empty() {
                path.push('*');
            }
            path.push_str(line.trim());
            reply = phone(&sid, &path)?;
        }
        println!(
            "{}\n── session ended (Enter to dial again, Ctrl-D to quit)",
            reply.text()
        );
        match lines.next() {
            Some(line) => drop(line?),
            None => return Ok(ExitCode::SUCCESS),
        }
    }
}

fn remote_step(
    url: &str,
    sid: &str,
    code: &str,
    msisdn: &str,
    path: &str,
) -> anyhow::Result<Reply> {
    let phone = format!("+{msisdn}");
    let body = ureq::post(url)
        .send_form([
            ("sessionId", sid),
            ("serviceCode", code),
            ("phoneNumber", phone.as_str()),
            ("networkCode", "00000"),
            ("text", path),
        ])?
        .body_mut()
        .read_to_string()?;
    match body.split_at_checked(4) {
        Some(("CON ", text)) => Ok(Reply::Continue(text.to_string())),
        Some(("END ", text)) => Ok(Reply::End(text.to_string())),
        _ => anyhow::bail!("the server answered neither CON nor END: {body:?}"),
    }
}

/// `daftar track CODE`: the audit entry of a tracking code, in one format whether it comes
/// from a store or from a server's admin API.
pub fn track(config: &Config, code: &str, server: Option<&str>) -> anyhow::Result<ExitCode> {
    let Some(code) = TrackingCode::parse(code) else {
        eprintln!("{code:?} is not a tracking code (10 digits, the last a check digit)");
        return Ok(ExitCode::from(2));
    };
    let entry = match server {
        Some(server) => track_remote(config, code, server)?,
        None => {
            require_store(config)?;
            open_parts(config)?.tracker.lookup(code)?
        }
    };
    match entry {
        Some(entry) => {
            println!("tracking code {code}\n{entry}");
            Ok(ExitCode::SUCCESS)
        }
        None => {
            println!("tracking code {code}: not in the audit trail");
            Ok(ExitCode::from(1))
        }
    }
}

/// The entry of `code` from a server's admin API; an API that is off, unreachable or refuses
/// the token is an error that says so, never "not in the audit trail".
fn track_remote(
    config: &Config,
    code: TrackingCode,
    server: &str,
) -> anyhow::Result<Option<AuditEntry>> {
    let token = config.admin.token.as_deref().ok_or_else(|| {
        anyhow::anyhow!("set DAFTAR_ADMIN_TOKEN (or [admin] token) to the server's token to ask it")
    })?;
    let url = format!("{}/admin/track/{code}", base_url(server));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .into();
    let mut response = agent
        .get(&url)
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .map_err(|e| anyhow::anyhow!("cannot reach the admin API at {url}: {e}"))?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    match status {
        200 => Ok(Some(serde_json::from_str(&body).map_err(|e| {
            anyhow::anyhow!("{url} answered what is not an audit entry: {e}")
        })?)),
        404 if body.starts_with(ADMIN_OFF) => {
            anyhow::bail!("{}: {}", base_url(server), body.trim_end())
        }
        404 => Ok(None),
        401 | 403 => anyhow::bail!(
            "{} refused the token: DAFTAR_ADMIN_TOKEN (or [admin] token) must be the server's",
            base_url(server)
        ),
        _ => anyhow::bail!("{url} answered {status}: {}", body.trim_end()),
    }
}

/// A server address as typed (`localhost:8080` or `http://localhost:8080/`) as a base URL.
fn base_url(server: &str) -> String {
    let server = server.trim_end_matches('/');
    if server.contains("://") {
        server.to_string()
    } else {
        format!("http://{server}")
    }
}

/// Refuses a `--db` that holds no store: a reader never creates one (it would answer from an
/// empty store as if it were the real one).
fn require_store(config: &Config) -> Result<(), crate::store::StoreError> {
    if crate::store::holds_store(&config.store.db) {
        Ok(())
    } else {
        Err(crate::store::StoreError::Missing {
            dir: config.store.db.clone(),
        })
    }
}

/// `daftar backup`: a copy of a store that no server holds, in the new file `out` (a running
/// server's store is copied by that server: `POST /admin/backup`).
pub fn backup(config: &Config, out: &Path) -> anyhow::Result<ExitCode> {
    let db = &config.store.db;
    let store = match crate::store::Store::open_existing(db, config.store.cache_mb * 1024 * 1024) {
        Err(locked @ crate::store::StoreError::Locked { .. }) => anyhow::bail!(
            "{locked}; a running server backs up its own store: POST /admin/backup with \
             [store] backup_dir set"
        ),
        opened => opened?,
    };
    let copied = crate::backup::back_up(&store, out)?;
    println!("{} backed up to {}: {copied}", db.display(), out.display());
    Ok(ExitCode::SUCCESS)
}

/// `daftar restore`: a new store in `--db` filled from a backup file.
pub fn restore(config: &Config, from: &Path) -> anyhow::Result<ExitCode> {
    let db = &config.store.db;
    let copied = crate::backup::restore(from, db, config.store.cache_mb * 1024 * 1024)?;
    println!(
        "{} restored into {}: {copied}",
        from.display(),
        db.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `daftar gen-feed`: a synthetic feed of `people` persons, to a file or stdout.
pub fn gen_feed(people: usize, out: Option<PathBuf>, seed: u64) -> anyhow::Result<ExitCode> {
    let today = jiff::Zoned::now().date();
    let written = match out {
        Some(path) => {
            let file = std::fs::File::create(&path)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            let mut file = std::io::BufWriter::new(file);
            let n = crate::feedgen::write_feed(&mut file, people, seed, today)?;
            file.flush()?;
            n
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = std::io::BufWriter::new(stdout.lock());
            let n = crate::feedgen::write_feed(&mut lock, people, seed, today)?;
            lock.flush()?;
            n
        }
    };
    eprintln!("{written} changes written");
    Ok(ExitCode::SUCCESS)
}
