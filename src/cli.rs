//! The commands other than `serve`: `sync`, `check`, `simulate`, `track`, `gen-feed`. Each
//! prints for a person at a terminal and returns the exit code SPEC §5 and §7 give.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::app::{build_core, load_checked_menus, open_parts};
use crate::audit::TrackingCode;
use crate::config::Config;
use crate::feed::FeedSource;
use crate::menu::{check as menu_check, load_menus};
use crate::turn::{Reply, Turn, TurnKind};

/// `sync` exits 3 when some lines were rejected (the others applied).
const EXIT_REJECTED: u8 = 3;

/// `daftar sync`: 0 clean, 3 with rejected lines, 1 when it could not go on.
pub fn sync(config: &Config, feed: &str) -> anyhow::Result<ExitCode> {
    let source = FeedSource::parse(feed)?;
    let store = crate::store::Store::open(&config.store.db, config.store.cache_mb * 1024 * 1024)?;
    let report = crate::sync::sync_once(&store, &source)?;
    store.flush()?;
    println!("{report}");
    if report.rejected.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for reject in &report.rejected {
            eprintln!("rejected: {reject}");
        }
        Ok(ExitCode::from(EXIT_REJECTED))
    }
}

/// `daftar check`: every fault, one a line; exit 1 on any.
pub fn check(config: &Config) -> anyhow::Result<ExitCode> {
    let menus = load_menus(&config.menus.dir)?;
    let faults = menu_check::check(&menus, config.screen);
    for fault in &faults {
        println!("{fault}");
    }
    if faults.is_empty() {
        let names: Vec<&str> = menus.services.keys().map(String::as_str).collect();
        println!(
            "{} service(s) checked, no fault: {}",
            names.len(),
            names.join(", ")
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} fault(s)", faults.len());
        Ok(ExitCode::from(1))
    }
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
        None => menus
            .services
            .values()
            .next()
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
            let url = format!("{}/ussd/africastalking", url.trim_end_matches('/'));
            let (code, msisdn) = (code.clone(), msisdn.to_string());
            Box::new(move |sid, path| remote_step(&url, sid, &code, &msisdn, path))
        }
        None => {
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

/// `daftar track CODE`: the audit entry of a tracking code.
pub fn track(config: &Config, code: &str, server: Option<&str>) -> anyhow::Result<ExitCode> {
    let Some(code) = TrackingCode::parse(code) else {
        eprintln!("{code:?} is not a tracking code (10 digits, the last a check digit)");
        return Ok(ExitCode::from(2));
    };
    if let Some(server) = server {
        return track_remote(config, code, server);
    }
    let parts = open_parts(config)?;
    match parts.tracker.lookup(code)? {
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

fn track_remote(config: &Config, code: TrackingCode, server: &str) -> anyhow::Result<ExitCode> {
    let token = config
        .admin
        .token
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("set DAFTAR_ADMIN_TOKEN to ask a server"))?;
    let url = format!("{}/admin/track/{code}", server.trim_end_matches('/'));
    match ureq::get(&url)
        .header("Authorization", &format!("Bearer {token}"))
        .call()
    {
        Ok(mut response) => {
            println!(
                "tracking code {code}\n{}",
                response.body_mut().read_to_string()?
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(ureq::Error::StatusCode(404)) => {
            println!("tracking code {code}: not in the audit trail");
            Ok(ExitCode::from(1))
        }
        Err(error) => Err(error.into()),
    }
}

/// `daftar gen-feed`: a synthetic feed of `people` persons, to a file or stdout.
pub fn gen_feed(people: usize, out: Option<PathBuf>, seed: u64) -> anyhow::Result<ExitCode> {
    let today = jiff::Zoned::now().date();
    let written = match out {
        Some(path) => {
            let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
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
