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

pub mod actions;
pub mod app;
pub mod audit;
pub(crate) mod catalog;
pub mod cli;
pub mod config;
pub mod dialect;
pub mod engine;
pub mod feed;
pub mod feedgen;
pub mod flow;
pub mod ids;
pub(crate) mod inquiry;
pub mod locale;
pub mod menu;
pub mod metrics;
pub(crate) mod money;
pub mod readiness;
pub mod record;
pub mod rules;
pub mod server;
pub mod session;
pub mod session_store;
pub mod store;
pub mod sync;
pub mod tasks;
pub mod text;
pub mod turn;
pub mod writer;
