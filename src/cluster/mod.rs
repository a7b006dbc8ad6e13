//! Several nodes behind one short code: what they must agree on beyond the sessions.
//!
//! - [`claim`]: each node's digit (`[audit] node`, the first digit of its tracking codes) is
//!   claimed in the shared Redis at start and kept alive while the node runs, so two nodes can
//!   never hand out the same tracking code.
//! - [`peers`]: a tracking code names its node, and `[cluster] nodes` names each node's admin
//!   URL, so `GET /admin/track/<code>` on any node answers for a code of any node by asking the
//!   node the code names. No index is written on the hot path: the code already says where it
//!   lives, and only that node's audit trail holds its entry.

pub mod claim;
pub mod config;
pub(crate) mod peers;

pub use config::ClusterConfig;
