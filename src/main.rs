//! The `daftar` command line (clap) and nothing else: each command reads its flags over the
//! configuration and calls into the library.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use daftar::config::{Config, DEFAULT_DB, DEFAULT_FEED};

/// mimalloc, not glibc's allocator: a step makes many small strings, and glibc's malloc was
/// the innermost frame of a quarter of the samples under load (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "daftar",
    version,
    about = "USSD entitlement service for health insurers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the USSD dialects, health, metrics and admin endpoints.
    Serve {
        /// Configuration file (TOML); every key has a default.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Store directory (default ./var/db, which also follows the sample feed).
        #[arg(long)]
        db: Option<PathBuf>,
        /// Menu directory (default ./menus).
        #[arg(long)]
        menus: Option<PathBuf>,
        /// A feed to apply before ready and then follow: a file or a directory of *.ndjson.
        #[arg(long)]
        feed: Option<String>,
    },
    /// Apply a feed to a store that no server holds. Exit 0: clean; 3: lines rejected; 1: failed.
    Sync {
        /// Store directory: an existing store, a new path or an empty directory.
        #[arg(long)]
        db: PathBuf,
        /// The feed: a file or a directory of *.ndjson, read in name order.
        #[arg(long)]
        feed: String,
        /// Configuration file (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Validate menus: links, reachability, translations, length budgets, shortcuts; print
    /// each screen's length, encoding and pages; play journey files.
    Check {
        /// Menu directory (default ./menus).
        #[arg(long)]
        menus: Option<PathBuf>,
        /// A directory of journey files (*.toml) to play through the engine (menus/journeys).
        #[arg(long)]
        journeys: Option<PathBuf>,
        /// Configuration file (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// A phone in the terminal, against a running server or a store no server holds.
    Simulate {
        /// Service to dial (default tamin).
        #[arg(long)]
        service: Option<String>,
        /// The phone's MSISDN, international form (default: a phone of the sample feed).
        #[arg(long, default_value = "989120000001")]
        msisdn: String,
        /// A running server to dial, e.g. localhost:8080 or http://host:8080.
        #[arg(long, conflicts_with = "db")]
        server: Option<String>,
        /// An existing store no server holds (default ./var/db).
        #[arg(long)]
        db: Option<PathBuf>,
        /// Menu directory (default ./menus).
        #[arg(long)]
        menus: Option<PathBuf>,
        /// Configuration file (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// What the audit trail holds for a tracking code (Persian digits accepted).
    Track {
        /// The 10-digit tracking code.
        code: String,
        /// A running server's admin API (token from DAFTAR_ADMIN_TOKEN or [admin] token).
        #[arg(long, conflicts_with = "db")]
        server: Option<String>,
        /// An existing store no server holds (default ./var/db).
        #[arg(long)]
        db: Option<PathBuf>,
        /// Configuration file (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Copy a store that no server holds into a new backup file (README "Data at rest"; a
    /// running server's store: POST /admin/backup).
    Backup {
        /// The store to copy.
        #[arg(long)]
        db: PathBuf,
        /// The backup file to write (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Configuration file (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Make a new store from a backup file.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        /// The new store: a new path or an empty directory.
        #[arg(long)]
        db: PathBuf,
        /// Configuration file (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Write a synthetic feed for benchmarks.
    GenFeed {
        /// How many people the feed holds.
        #[arg(long)]
        people: usize,
        /// File to write (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed of the generator: the same seed gives the same feed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A phone in the terminal shows screens, and `check` its table, not the server's log lines.
    let quiet = matches!(
        cli.command,
        Command::Simulate { .. } | Command::Check { .. }
    );
    let _logs = init_logs(if quiet { "warn" } else { "info" });
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("daftar: {}", error_text(&error));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes, each cause once: many messages already quote their cause.
fn error_text(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// The most each library's own log lines may say, whatever `DAFTAR_LOG` asks (SPEC §8: no
/// MSISDN or identifier in a log, at any level). sled traces every key it looks up (queried
/// national codes, registered MSISDNs, as bytes); rusmpp's codec logs every SMPP PDU whole at
/// debug, the caller's MSISDN and what they typed included (the client, rusmppc, traces only
/// its state: `tests/smpp.rs` reads it at trace); hyper and h2 trace the bytes they
/// read. Their warnings and errors stay. A cap only lowers: `DAFTAR_LOG=warn` keeps them at warn.
const LIBRARY_CAPS: [(&str, tracing::Level); 5] = [
    ("sled", tracing::Level::WARN),
    ("rusmpp::codec", tracing::Level::INFO),
    ("hyper", tracing::Level::INFO),
    ("hyper_util", tracing::Level::INFO),
    ("h2", tracing::Level::WARN),
];

/// Logs go to stderr through a thread of their own (tracing-appender), so that a slow
/// terminal or pipe never holds up a tokio worker; under a flood the newest lines are
/// dropped rather than the callers. The guard writes what is queued when it is dropped.
fn init_logs(default_level: &str) -> tracing_appender::non_blocking::WorkerGuard {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let asked = tracing_subscriber::EnvFilter::try_from_env("DAFTAR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    // A second filter over the whole subscriber: a line is written only when both let it by.
    // Its default is the most the asked filter lets by, not TRACE: the subscriber's level is
    // also `log`'s (sled logs through `log`), and at TRACE every `trace!` on sled's write path
    // reached the subscriber only to be dropped there (18 % of a sync's instructions).
    let most = asked
        .max_level_hint()
        .unwrap_or(tracing_subscriber::filter::LevelFilter::TRACE);
    let caps = tracing_subscriber::filter::Targets::new()
        .with_default(most)
        .with_targets(LIBRARY_CAPS);
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .thread_name("daftar-log")
        .finish(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(asked)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer)
        .finish()
        .with(caps)
        .init();
    guard
}

/// The configuration file (or the defaults) with the `--menus` and `--db` flags over it.
fn configured(
    file: Option<PathBuf>,
    menus: Option<PathBuf>,
    db: Option<PathBuf>,
) -> anyhow::Result<Config> {
    let mut config = Config::load(file.as_deref())?;
    if let Some(menus) = menus {
        config.menus.dir = menus;
    }
    if let Some(db) = db {
        config.store.db = db;
    }
    Ok(config)
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve {
            config,
            listen,
            db,
            menus,
            feed,
        } => {
            let db_given = db.is_some();
            let mut config = configured(config, menus, db)?;
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            if let Some(feed) = feed {
                config.feed.source = Some(feed);
            } else if config.feed.source.is_none()
                && !db_given
                && config.store.db == std::path::Path::new(DEFAULT_DB)
            {
                // SPEC §7: the sample feed is the default only with the default store.
                config.feed.source = Some(DEFAULT_FEED.to_string());
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(daftar::app::run_server(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sync { db, feed, config } => {
            let config = configured(config, None, Some(db))?;
            daftar::cli::sync(&config, &feed)
        }
        Command::Check {
            menus,
            journeys,
            config,
        } => {
            let config = configured(config, menus, None)?;
            daftar::cli::check(&config, journeys.as_deref())
        }
        Command::Simulate {
            service,
            msisdn,
            server,
            db,
            menus,
            config,
        } => {
            let config = configured(config, menus, db)?;
            daftar::cli::simulate(&config, service.as_deref(), &msisdn, server.as_deref())
        }
        Command::Track {
            code,
            server,
            db,
            config,
        } => {
            let config = configured(config, None, db)?;
            daftar::cli::track(&config, &code, server.as_deref())
        }
        Command::Backup { db, out, config } => {
            let config = configured(config, None, Some(db))?;
            daftar::cli::backup(&config, &out)
        }
        Command::Restore { from, db, config } => {
            let config = configured(config, None, Some(db))?;
            daftar::cli::restore(&config, &from)
        }
        Command::GenFeed { people, out, seed } => daftar::cli::gen_feed(people, out, seed),
    }
}
