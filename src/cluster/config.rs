//! `[cluster]`: how this node finds its peers and keeps its node digit to itself.

use serde::Deserialize;
use std::collections::BTreeMap;

use crate::config::Refused;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// Each node's admin base URL by its node digit (`"2" = "http://10.0.0.12:9090"`): where
    /// `GET /admin/track/<code>` asks for a code another node gave. Empty: codes of other
    /// nodes are answered "no such tracking code".
    pub nodes: BTreeMap<String, String>,
    /// How long a node's claim on its digit lives in Redis without being renewed (renewed a
    /// third of it apart). A node that died holds its digit this long. Above 0.
    pub claim_ttl_s: u64,
    /// How long one question to a peer may take. Above 0.
    pub peer_timeout_ms: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            nodes: BTreeMap::new(),
            claim_ttl_s: 15,
            peer_timeout_ms: 3_000,
        }
    }
}

impl ClusterConfig {
    /// Refuses a value that cannot work, naming its key.
    pub(crate) fn check(&self) -> Result<(), Refused> {
        if self.claim_ttl_s == 0 {
            return Err(Refused::new("cluster.claim_ttl_s", "must be above 0"));
        }
        if self.peer_timeout_ms == 0 {
            return Err(Refused::new("cluster.peer_timeout_ms", "must be above 0"));
        }
        for (node, url) in &self.nodes {
            let key = format!("cluster.nodes.{node}");
            if !matches!(node.as_bytes(), [b'0'..=b'9']) {
                return Err(Refused::new(key, "must be a node digit, 0 to 9"));
            }
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Refused::new(key, "must be an http:// or https:// URL"));
            }
        }
        Ok(())
    }

    /// The admin base URL of node `node`, without a trailing slash.
    pub(crate) fn peer(&self, node: u8) -> Option<&str> {
        let url = self.nodes.get(&node.to_string())?;
        Some(url.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_is_a_digit_and_an_url() {
        let mut config = ClusterConfig::default();
        assert!(config.check().is_ok());
        config
            .nodes
            .insert("2".into(), "http://10.0.0.2:9090/".into());
        assert!(config.check().is_ok());
        assert_eq!(config.peer(2), Some("http://10.0.0.2:9090"));
        assert_eq!(config.peer(3), None);
        for (node, url, key) in [
            ("12", "http://h", "cluster.nodes.12"),
            ("x", "http://h", "cluster.nodes.x"),
            ("", "http://h", "cluster.nodes."),
            ("3", "ftp://h", "cluster.nodes.3"),
            ("3", "", "cluster.nodes.3"),
        ] {
            let mut config = ClusterConfig::default();
            config.nodes.insert(node.into(), url.into());
            let refused = config.check().expect_err(key).to_string();
            assert!(refused.contains(key), "{refused}");
        }
        let zero = ClusterConfig {
            claim_ttl_s: 0,
            ..ClusterConfig::default()
        };
        assert!(zero
            .check()
            .unwrap_err()
            .to_string()
            .contains("claim_ttl_s"));
    }
}
