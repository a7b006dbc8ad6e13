//! Where callers give up (issue 12, item 6): each session that ends is counted once, by its
//! service, the menu screen it was on, and why it ended ([`EndReason`]), both as the Prometheus
//! counter `daftar_sessions_ended_total{service,screen,reason}` and in a table that
//! `GET /admin/funnel` shows, the screen where most callers abandon first.
//!
//! The engine counts the ends it sees (a result, three wrong answers, an error, the
//! aggregator's abort or timeout); the session store counts the open sessions it drops at their
//! deadline (idle expiry) through its expiry hook. Labels are bounded: services and screen ids
//! come from the menus, reasons from [`EndReason`]. Nothing here holds an MSISDN or an
//! identifier.

use dashmap::DashMap;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use serde::Serialize;

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum EndReason {
    /// The caller reached an END screen of the menu (an answer).
    Result,
    /// The aggregator says the caller hung up.
    Abort,
    /// The aggregator gave up waiting for the caller.
    Timeout,
    /// The session went quiet and the store dropped it at its deadline.
    Idle,
    /// The third wrong answer to one question (SPEC §3).
    WrongAnswers,
    /// The server could not go on (an action or the store failed, a limit held the caller).
    Error,
}

impl EndReason {
    /// Every reason, in the order the admin API lists them.
    pub(crate) const ALL: [EndReason; 6] = [
        EndReason::Result,
        EndReason::Abort,
        EndReason::Timeout,
        EndReason::Idle,
        EndReason::WrongAnswers,
        EndReason::Error,
    ];

    /// The label value (`reason="idle"`) and the admin API's key.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EndReason::Result => "result",
            EndReason::Abort => "abort",
            EndReason::Timeout => "timeout",
            EndReason::Idle => "idle",
            EndReason::WrongAnswers => "wrong_answers",
            EndReason::Error => "error",
        }
    }

    /// Whether the caller gave up here (hung up, let it time out, went quiet): what the
    /// funnel ranks screens by. A result, three wrong answers and an error are not giving up.
    pub(crate) fn is_abandon(self) -> bool {
        matches!(
            self,
            EndReason::Abort | EndReason::Timeout | EndReason::Idle
        )
    }

    fn index(self) -> usize {
        EndReason::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or_default()
    }
}

/// The labels of `daftar_sessions_ended_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct EndedLabels {
    pub(crate) service: String,
    pub(crate) screen: String,
    pub(crate) reason: String,
}

/// The ends counted so far; share it behind an `Arc`.
#[derive(Default)]
pub(crate) struct Funnel {
    counter: Family<EndedLabels, Counter>,
    /// The same counts, by (service, screen), for the admin API (a `Family` cannot be read
    /// back by label set).
    table: DashMap<(String, String), [u64; EndReason::ALL.len()]>,
}

/// One screen of the funnel, as `GET /admin/funnel` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ScreenEnds {
    pub(crate) service: String,
    pub(crate) screen: String,
    /// Sessions that ended on this screen, all reasons.
    pub(crate) ended: u64,
    /// Of them, the callers who gave up here (abort, timeout, idle).
    pub(crate) abandoned: u64,
    /// `abandoned / ended`, rounded to three decimals.
    pub(crate) abandon_share: f64,
    /// Each reason's count, every reason listed (0 where none).
    pub(crate) reasons: std::collections::BTreeMap<&'static str, u64>,
}

impl Funnel {
    /// The counter family, for the metrics registry (`Metrics::register_funnel`).
    pub(crate) fn counted(&self) -> Family<EndedLabels, Counter> {
        self.counter.clone()
    }

    /// Counts one session of `service` that ended on `screen` for `reason`.
    pub(crate) fn count(&self, service: &str, screen: &str, reason: EndReason) {
        self.counter
            .get_or_create(&EndedLabels {
                service: service.to_string(),
                screen: screen.to_string(),
                reason: reason.as_str().to_string(),
            })
            .inc();
        let mut row = self
            .table
            .entry((service.to_string(), screen.to_string()))
            .or_default();
        row[reason.index()] += 1;
    }

    /// Every screen where a session ended, the most abandoned first (then the larger share,
    /// then by service and screen, so that the order is stable).
    pub(crate) fn view(&self) -> Vec<ScreenEnds> {
        let mut rows: Vec<ScreenEnds> = self
            .table
            .iter()
            .map(|entry| {
                let ((service, screen), counts) = (entry.key(), entry.value());
                screen_ends(service, screen, counts)
            })
            .collect();
        rows.sort_by(|a, b| {
            b.abandoned
                .cmp(&a.abandoned)
                .then(b.abandon_share.total_cmp(&a.abandon_share))
                .then_with(|| (&a.service, &a.screen).cmp(&(&b.service, &b.screen)))
        });
        rows
    }
}

fn screen_ends(service: &str, screen: &str, counts: &[u64; EndReason::ALL.len()]) -> ScreenEnds {
    let ended: u64 = counts.iter().sum();
    let abandoned: u64 = EndReason::ALL
        .iter()
        .filter(|r| r.is_abandon())
        .map(|r| counts[r.index()])
        .sum();
    let share = if ended == 0 {
        0.0
    } else {
        (abandoned as f64 / ended as f64 * 1000.0).round() / 1000.0
    };
    ScreenEnds {
        service: service.to_string(),
        screen: screen.to_string(),
        ended,
        abandoned,
        abandon_share: share,
        reasons: EndReason::ALL
            .iter()
            .map(|r| (r.as_str(), counts[r.index()]))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_abandoned_screen_comes_first() {
        let funnel = Funnel::default();
        for _ in 0..5 {
            funnel.count("tamin", "covered", EndReason::Result);
        }
        funnel.count("tamin", "ask_code", EndReason::Abort);
        funnel.count("tamin", "ask_code", EndReason::Idle);
        funnel.count("tamin", "ask_code", EndReason::WrongAnswers);
        funnel.count("osms", "main", EndReason::Timeout);
        funnel.count("osms", "ask_iin", EndReason::Error);
        let view = funnel.view();
        let order: Vec<(&str, &str)> = view
            .iter()
            .map(|r| (r.service.as_str(), r.screen.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("tamin", "ask_code"),
                ("osms", "main"),
                ("osms", "ask_iin"),
                ("tamin", "covered")
            ]
        );
        let first = &view[0];
        assert_eq!((first.ended, first.abandoned), (3, 2));
        assert_eq!(first.abandon_share, 0.667);
        assert_eq!(first.reasons["wrong_answers"], 1);
        assert_eq!(first.reasons["result"], 0);
        assert_eq!(first.reasons.len(), EndReason::ALL.len());
        assert_eq!(view[3].abandon_share, 0.0);
    }

    #[test]
    fn every_reason_has_its_own_label() {
        let labels: std::collections::BTreeSet<&str> =
            EndReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(labels.len(), EndReason::ALL.len());
        for (i, reason) in EndReason::ALL.iter().enumerate() {
            assert_eq!(reason.index(), i);
        }
    }

    #[test]
    fn an_empty_funnel_lists_nothing() {
        assert!(Funnel::default().view().is_empty());
    }
}
