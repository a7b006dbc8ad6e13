//! N in-process engine steps of one kind on a real sled store, for `bench/callgrind.sh`, which
//! runs it under `valgrind --tool=callgrind` at two N and divides the difference in
//! instructions by the difference in steps: the setup (store, menus, engine) cancels out.
//!
//! `cargo run --release --example step_callgrind -- KIND N [DB CALLERS]`
//!
//! KIND: `first` (the first screen), `general` (`2*CODE` on a fresh session: the root replayed,
//! a lookup, a tracking code), `own` (`1*CODE` from the phone registered for CODE), `deps`
//! (`3` from a holder's phone), `osms` (`1*IIN` on `*1406#`), `session` (one session step by
//! step: `''`, `2`, `2*CODE`; N counts steps). Every step but `session`'s is on a new session.
//!
//! Without DB the store is a temp dir synced from `data/feed.ndjson` (the sample people);
//! with DB (a store synced by `bench/load/sessions.sh`, say) and CALLERS (its `callers.txt`)
//! the callers are the first of each kind in that file. Each kind's reply is checked once before
//! the run, so the count is of the reply it claims.

use std::path::Path;
use std::sync::Arc;

use daftar::app::{build_core, load_checked_menus, open_parts, Core, Parts};
use daftar::config::Config;
use daftar::feed::FeedSource;
use daftar::sync::sync_once;
use daftar::turn::{Reply, Turn, TurnKind};

const TAMIN: &str = "*4*1420#";
const OSMS: &str = "*1406#";
/// A provider's phone that no record holds.
const PROVIDER: &str = "989399999999";

/// Who calls for each kind: the sample people of data/README.md, or a callers file's first.
struct Callers {
    general_code: String,
    own: (String, String),
    deps_phone: String,
    osms: (String, String),
}

impl Callers {
    fn sample() -> Callers {
        Callers {
            general_code: "0012345679".into(),
            own: ("0012345679".into(), "989120000001".into()),
            deps_phone: "989120000001".into(),
            osms: ("850714300018".into(), "77010000001".into()),
        }
    }

    fn from_file(path: &Path) -> anyhow::Result<Callers> {
        let text = std::fs::read_to_string(path)?;
        let first = |kind: &str| -> anyhow::Result<Vec<String>> {
            text.lines()
                .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
                .find(|f| f.first().map(String::as_str) == Some(kind))
                .ok_or_else(|| anyhow::anyhow!("no {kind} caller in {}", path.display()))
        };
        let (general, own, deps, osms) = (
            first("general")?,
            first("own")?,
            first("deps")?,
            first("osms")?,
        );
        let osms_phone = match osms[2].as_str() {
            "-" => PROVIDER.to_string(),
            phone => phone.to_string(),
        };
        Ok(Callers {
            general_code: general[1].clone(),
            own: (own[1].clone(), own[2].clone()),
            deps_phone: deps[1].clone(),
            osms: (osms[1].clone(), osms_phone),
        })
    }
}

/// The engine as `src/app.rs` builds it, over `db` (synced before) or the sample feed.
fn core(db: Option<&Path>, temp: &Path) -> anyhow::Result<(Core, Parts)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config = Config::default();
    config.store.db = db.unwrap_or(temp).to_path_buf();
    config.menus.dir = root.join("menus");
    config.limits = daftar::limits::LimitsConfig::off();
    let menus = load_checked_menus(&config)?;
    let parts = open_parts(&config)?;
    if db.is_none() {
        let feed = root.join("data/feed.ndjson");
        let source = FeedSource::parse(&feed.to_string_lossy())?;
        sync_once(&parts.store, &source)?;
    }
    let core = build_core(&config, &parts, menus)?;
    Ok((core, parts))
}

/// The (service code, phone, path) of each step of one unit of `kind`.
fn steps(kind: &str, callers: &Callers) -> anyhow::Result<Vec<(&'static str, String, String)>> {
    let general = format!("2*{}", callers.general_code);
    Ok(match kind {
        "first" => vec![(TAMIN, PROVIDER.into(), String::new())],
        "general" => vec![(TAMIN, PROVIDER.into(), general)],
        "own" => vec![(TAMIN, callers.own.1.clone(), format!("1*{}", callers.own.0))],
        "deps" => vec![(TAMIN, callers.deps_phone.clone(), "3".into())],
        "osms" => vec![(
            OSMS,
            callers.osms.1.clone(),
            format!("1*{}", callers.osms.0),
        )],
        "session" => vec![
            (TAMIN, PROVIDER.into(), String::new()),
            (TAMIN, PROVIDER.into(), "2".into()),
            (TAMIN, PROVIDER.into(), general),
        ],
        other => anyhow::bail!("unknown kind {other:?}"),
    })
}

/// Plays one unit of `kind` on session `id`; returns the last reply.
async fn play(
    core: &Core,
    dialect: &Arc<str>,
    id: &str,
    unit: &[(&'static str, String, String)],
) -> Reply {
    let mut last = Reply::Ack;
    for (code, phone, path) in unit {
        let turn = Turn::new(dialect, id, phone, TurnKind::Path(path.clone())).dialled(code);
        last = core.engine.step(&turn).await;
    }
    last
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: step_callgrind KIND N [DB CALLERS]";
    let kind = args.first().ok_or_else(|| anyhow::anyhow!(usage))?;
    let n: usize = args.get(1).ok_or_else(|| anyhow::anyhow!(usage))?.parse()?;
    let db = args.get(2).map(Path::new);
    let callers = match args.get(3) {
        Some(path) => Callers::from_file(Path::new(path))?,
        None => Callers::sample(),
    };
    let temp = tempfile::tempdir()?;
    let (core, _parts) = core(db, temp.path())?;
    let unit = steps(kind, &callers)?;
    let dialect: Arc<str> = Arc::from("africastalking");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let checked = runtime.block_on(play(&core, &dialect, "callgrind-check", &unit));
    // An inquiry ends; a first screen asks; a list or a status may be a first page (CON).
    let as_planned = match (kind.as_str(), &checked) {
        ("first", Reply::Continue(_)) => true,
        ("deps" | "osms", Reply::Continue(text)) => text.contains("98") || text.contains("۹۸"),
        ("first", _) | (_, Reply::Ack | Reply::Continue(_)) => false,
        (_, Reply::End(_)) => true,
    };
    anyhow::ensure!(as_planned, "{kind}: unexpected reply {checked:?}");

    let units = n.div_ceil(unit.len());
    runtime.block_on(async {
        for i in 0..units {
            std::hint::black_box(play(&core, &dialect, &format!("cg-{i}"), &unit).await);
        }
    });
    eprintln!("{kind}: {} steps", units * unit.len());
    Ok(())
}
