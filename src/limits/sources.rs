//! The cap of connections per source address (`[server] per_source_connections`, with
//! allowances by address or range for the aggregators, `[server.source_allowance]`): taken in
//! the accept loop before a byte of the request is read, so that slow connections from one
//! address (a slowloris) hold at most that address's share of `max_connections`, and callers
//! through every other address are still served. A connection over its address's cap is
//! answered 503 at once and closed.

use dashmap::DashMap;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::config::Refused;
use crate::dialect::guard::Cidr;

/// The open connections per source address, against each address's cap; cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct SourceCap {
    /// The cap of an address no allowance names; 0: no cap.
    per_source: usize,
    /// Allowances by range, the most specific first.
    allowances: Vec<(Cidr, usize)>,
    open: Arc<DashMap<IpAddr, usize>>,
}

/// One admitted connection; its address's count goes down when it drops.
pub(crate) struct Admitted {
    open: Arc<DashMap<IpAddr, usize>>,
    source: IpAddr,
}

impl SourceCap {
    /// The cap of `per_source` (0: none) with `allowances` by address or CIDR range; an entry
    /// that is neither is refused naming its key.
    pub(crate) fn new(
        per_source: usize,
        allowances: &BTreeMap<String, usize>,
    ) -> Result<SourceCap, Refused> {
        let mut parsed = Vec::with_capacity(allowances.len());
        for (range, allowance) in allowances {
            let Some(cidr) = Cidr::parse(range) else {
                return Err(Refused::new(
                    format!("server.source_allowance.\"{range}\""),
                    "is not an address or a CIDR range",
                ));
            };
            parsed.push((cidr, *allowance));
        }
        parsed.sort_by_key(|(cidr, _)| std::cmp::Reverse(cidr.prefix()));
        Ok(SourceCap {
            per_source,
            allowances: parsed,
            open: Arc::default(),
        })
    }

    /// A place for one more connection from `source`, or `None` when it has its share.
    pub(crate) fn admit(&self, source: IpAddr) -> Option<Admitted> {
        let source = source.to_canonical();
        self.enter(source, self.cap_of(source))
    }

    fn enter(&self, source: IpAddr, cap: usize) -> Option<Admitted> {
        // Nothing is kept for an address shut out: a range of them costs no memory.
        if cap == 0 {
            return None;
        }
        let mut open = self.open.entry(source).or_insert(0);
        if *open >= cap {
            return None;
        }
        *open += 1;
        Some(Admitted {
            open: self.open.clone(),
            source,
        })
    }

    /// The cap of `source`: the most specific allowance that holds it, else the default;
    /// `usize::MAX` when the default is 0 (no cap).
    fn cap_of(&self, source: IpAddr) -> usize {
        let allowed = self
            .allowances
            .iter()
            .find(|(cidr, _)| cidr.contains(source))
            .map(|(_, allowance)| *allowance);
        match allowed {
            Some(allowance) => allowance,
            None if self.per_source == 0 => usize::MAX,
            None => self.per_source,
        }
    }

    /// How many addresses hold a connection now.
    #[cfg(test)]
    fn sources(&self) -> usize {
        self.open.len()
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some(mut open) = self.open.get_mut(&self.source) {
            *open = open.saturating_sub(1);
        }
        self.open.remove_if(&self.source, |_, open| *open == 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    fn cap(per_source: usize, allowances: &[(&str, usize)]) -> SourceCap {
        let allowances = allowances
            .iter()
            .map(|(range, n)| (range.to_string(), *n))
            .collect();
        SourceCap::new(per_source, &allowances).expect("valid")
    }

    #[test]
    fn one_address_gets_its_share_and_the_others_theirs() {
        let cap = cap(2, &[]);
        let first = [cap.admit(ip("10.0.0.1")), cap.admit(ip("10.0.0.1"))];
        assert!(first.iter().all(Option::is_some));
        assert!(cap.admit(ip("10.0.0.1")).is_none(), "a third is refused");
        assert!(
            cap.admit(ip("10.0.0.2")).is_some(),
            "another address is let in"
        );
        drop(first);
        assert!(
            cap.admit(ip("10.0.0.1")).is_some(),
            "a closed one frees a place"
        );
    }

    #[test]
    fn the_count_is_forgotten_when_the_last_connection_closes() {
        let cap = cap(4, &[]);
        let held: Vec<_> = (0..3).map(|_| cap.admit(ip("10.0.0.1"))).collect();
        assert_eq!(cap.sources(), 1);
        drop(held);
        assert_eq!(cap.sources(), 0);
    }

    #[test]
    fn the_most_specific_allowance_holds_and_ipv4_mapped_peers_count_as_ipv4() {
        let cap = cap(1, &[("196.201.214.0/24", 3), ("196.201.214.7", 0)]);
        let aggregator: Vec<_> = (0..3)
            .map(|_| cap.admit(ip("::ffff:196.201.214.9")))
            .collect();
        assert!(aggregator.iter().all(Option::is_some));
        assert!(cap.admit(ip("196.201.214.9")).is_none());
        assert!(
            cap.admit(ip("196.201.214.7")).is_none(),
            "an allowance of 0"
        );
        let stranger = cap.admit(ip("10.0.0.1"));
        assert!(stranger.is_some());
        assert!(cap.admit(ip("10.0.0.1")).is_none());
    }

    #[test]
    fn no_cap_when_the_default_is_zero() {
        let cap = cap(0, &[]);
        let held: Vec<_> = (0..100).map(|_| cap.admit(ip("10.0.0.1"))).collect();
        assert!(held.iter().all(Option::is_some));
    }

    #[test]
    fn a_range_that_is_not_one_is_refused_naming_its_key() {
        let allowances = BTreeMap::from([("10.0.0.0/33".to_string(), 5)]);
        let refused = SourceCap::new(1, &allowances).err().expect("refused");
        assert!(
            refused.to_string().contains("source_allowance"),
            "{refused}"
        );
    }
}
