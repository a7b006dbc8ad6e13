//! daftar: the USSD service that health insurers put behind a short code, so that any member
//! with any phone, and any doctor or pharmacy, can check entitlement in seconds.
//!
//! The path of a step, one way through the house:
//!
//! ```text
//! request ─► dialect ─► engine (session table) ─► flow (menu tree) ─► actions ─► inquiry ─► rules / store
//! response ◄─ dialect ◄─ reply (rendered, paged by encoding) ◄─ flow ◄─ actions ◄───┘
//! feed ─► sync ─► store          (a separate path; never through the request path)
//! ```
//!
//! `dialect` turns an aggregator's request into a [`turn::Turn`]; `engine` finds the session
//! (replaying a cumulative path it no longer holds); `flow` walks the service's menu (`menu`,
//! data from `menus/`); `actions` put the screen's question to `inquiry`, which looks people up
//! in `store`, applies `rules`, decides what the asker may see and writes `audit`; the actions
//! turn its typed answer into the screen's words, rendered in the caller's locale (`locale`)
//! and cut into pages (`text`).
//!
//! Imports point one way, from the top of this list to the bottom (a module uses only modules
//! on later lines; `use crate::` lines say so):
//!
//! ```text
//! fuzzing                        the fuzz targets' seams (doc-hidden; uses the parsers below)
//! cli ─► app                    the commands; putting the house together
//! server, smpp                   HTTP: routes, limits, admin API; SMPP binds to USSD gateways
//! simulator                      the browser phone page and its catalogue and measure
//! sms                            the SMS channel: commands, outbox, sender, alerts
//! engine, tasks ─► metrics       one step of a session; the background tasks
//! actions ─► flow                the USSD adapters; one step through a menu tree
//! limits                         rate limits per caller, identifier and address; connection caps
//! menu, inquiry, session_store, dialect, sync, backup (copies of the store, README "Data at rest")
//! catalog                        what menu files may name (actions, validators), declared once
//! audit, keys, store, subscriptions, feed, feedgen, session, rules, config ─► benefits (smpp::config, its [smpp.*] keys, beside config)
//! record, locale ─► money; ids, text, turn, readiness, writer, value_free, funnel   (leaves)
//! ```
//!
//! Modules are `pub(crate)` by default; `pub` is what the binary, `tests/`, `benches/` and
//! `examples/` use.

pub(crate) mod actions;
pub mod app;
pub mod audit;
pub(crate) mod authoring;
pub(crate) mod backup;
pub(crate) mod benefits;
pub(crate) mod catalog;
pub mod cli;
pub mod cluster;
pub mod config;
/// Public: the seam a dialect of an aggregator is written against.
pub mod dialect;
pub(crate) mod engine;
pub mod feed;
pub mod feedgen;
pub mod fhir;
pub(crate) mod flow;
pub(crate) mod funnel;
/// Seams for the fuzz targets and the corpus replay test; not an API.
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod ids;
pub(crate) mod inquiry;
pub(crate) mod keys;
pub mod limits;
pub mod locale;
pub(crate) mod menu;
pub(crate) mod metrics;
pub(crate) mod money;
pub(crate) mod readiness;
pub mod record;
pub(crate) mod reload;
pub(crate) mod rules;
pub(crate) mod server;
pub(crate) mod session;
pub mod session_store;
pub(crate) mod simulator;
pub mod smpp;
pub(crate) mod sms;
pub mod store;
pub(crate) mod subscriptions;
pub(crate) mod support;
pub mod sync;
pub(crate) mod tasks;
pub mod text;
pub mod turn;
pub(crate) mod value_free;
pub(crate) mod writer;
