//! Prometheus metrics at `/metrics` (prometheus-client: the project's official crate, no global
//! recorder and no upkeep task; CRATES.md §4). Handles are made once at start and kept here;
//! the request path only increments and observes.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::funnel::EndedLabels;
use crate::limits::LimitLabel;
use crate::writer::WriterStats;

/// The content type of the exposition.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub(crate) dialect: String,
    /// `continue`, `end`, `bad_request`, `bad_body` (too large, too slow, or not readable), `limited` (the
    /// source address over its request rate: 429).
    pub(crate) outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DialectLabel {
    pub(crate) dialect: String,
}

/// How a session ended: `end` (the server's last screen), `abort` (the aggregator says the
/// caller hung up) or `timeout` (the aggregator gave up waiting).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct EndLabels {
    pub(crate) dialect: String,
    pub(crate) kind: String,
}

/// The name of a supervised background task (`crate::tasks`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TaskLabel {
    pub(crate) task: String,
}

/// What came of something counted by outcome (the SMS channel).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutcomeLabel {
    pub(crate) outcome: String,
}

/// How a menu reload ended: `ok` or `refused`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ResultLabel {
    pub(crate) result: String,
}

/// Every metric the server exports.
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) step_seconds: Family<DialectLabel, Histogram>,
    /// Sessions ended, by dialect and how.
    pub(crate) session_ends: Family<EndLabels, Counter>,
    pub(crate) sessions_live: Gauge,
    pub(crate) feed_watermark: Gauge,
    /// Seconds since the feed was last read to its end (-1: not yet); set at each scrape.
    pub(crate) feed_lag: Gauge,
    pub(crate) feed_applied: Counter,
    /// Menu reloads (`reload`), by result.
    pub(crate) menu_reloads: Family<ResultLabel, Counter>,
    pub(crate) feed_rejected: Counter,
    /// Background tasks that ended with an error or a panic, by task.
    pub(crate) task_failures: Family<TaskLabel, Counter>,
    /// 1 while the SMPP gateway of the dialect `smpp.<name>` is bound, else 0.
    pub(crate) smpp_bound: Family<DialectLabel, Gauge>,
    /// SMS that entered a state (`queued`, `sent`, `delivered`, `failed`, `given_up`).
    pub(crate) sms_messages: Family<OutcomeLabel, Counter>,
    /// SMS send attempts, by outcome (`accepted`, `retry`, `given_up`).
    pub(crate) sms_attempts: Family<OutcomeLabel, Counter>,
    /// Inbound SMS, by the answer they got.
    pub(crate) sms_inbound: Family<OutcomeLabel, Counter>,
    /// Feed events read for alerts: the kind alerted, or why none was made.
    pub(crate) sms_alerts: Family<OutcomeLabel, Counter>,
    /// Delivery reports, by what they said.
    pub(crate) sms_reports: Family<OutcomeLabel, Counter>,
    /// SMS waiting in the outbox (queued or in flight).
    pub(crate) sms_pending: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("daftar");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "ussd_requests",
            "USSD requests by dialect and outcome",
            requests.clone(),
        );
        let session_ends = Family::<EndLabels, Counter>::default();
        registry.register(
            "ussd_session_ends",
            "USSD sessions ended, by dialect and kind (end, abort, timeout)",
            session_ends.clone(),
        );
        let step_seconds = Family::<DialectLabel, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
            ])
        });
        registry.register(
            "ussd_step_seconds",
            "Time to answer one USSD step, from request read to response ready",
            step_seconds.clone(),
        );
        let sessions_live = Gauge::default();
        registry.register(
            "sessions_live",
            "Sessions held in the table",
            sessions_live.clone(),
        );
        let feed_watermark = Gauge::default();
        registry.register(
            "feed_watermark",
            "The seq of the last feed change applied and made durable",
            feed_watermark.clone(),
        );
        let feed_lag = Gauge::default();
        registry.register(
            "feed_lag_seconds",
            "Seconds since the followed feed was last read to its end (-1: not yet)",
            feed_lag.clone(),
        );
        let menu_reloads = Family::<ResultLabel, Counter>::default();
        registry.register(
            "menu_reloads",
            "Menu reloads (SIGHUP or POST /admin/menus/reload), by result: ok or refused",
            menu_reloads.clone(),
        );
        let feed_applied = Counter::default();
        registry.register("feed_applied", "Feed changes applied", feed_applied.clone());
        let feed_rejected = Counter::default();
        registry.register(
            "feed_rejected",
            "Feed lines rejected (unparsable, out of order, or a seq beyond [feed] max_seq_gap)",
            feed_rejected.clone(),
        );
        let task_failures = Family::<TaskLabel, Counter>::default();
        registry.register(
            "task_failures",
            "Background tasks that ended with an error or a panic",
            task_failures.clone(),
        );
        let smpp_bound = Family::<DialectLabel, Gauge>::default();
        registry.register(
            "smpp_bound",
            "1 while the SMPP gateway (dialect smpp.<name>) is bound as a transceiver, else 0",
            smpp_bound.clone(),
        );
        let family = |registry: &mut Registry, name: &str, help: &str| {
            let family = Family::<OutcomeLabel, Counter>::default();
            registry.register(name, help, family.clone());
            family
        };
        let sms_messages = family(
            &mut registry,
            "sms_messages",
            "SMS that entered a state (queued, sent, delivered, failed, given_up)",
        );
        let sms_attempts = family(
            &mut registry,
            "sms_send_attempts",
            "SMS send attempts by outcome (accepted, retry, given_up)",
        );
        let sms_inbound = family(
            &mut registry,
            "sms_inbound",
            "Inbound SMS by the answer they got",
        );
        let sms_alerts = family(
            &mut registry,
            "sms_alert_events",
            "Feed events read for alerts: the kind alerted, or not_subscribed, malformed",
        );
        let sms_reports = family(
            &mut registry,
            "sms_delivery_reports",
            "SMS delivery reports by what they said",
        );
        let sms_pending = Gauge::default();
        registry.register(
            "sms_outbox_pending",
            "SMS waiting in the outbox (queued or in flight)",
            sms_pending.clone(),
        );
        Metrics {
            registry,
            smpp_bound,
            sms_messages,
            sms_attempts,
            sms_inbound,
            sms_alerts,
            sms_reports,
            sms_pending,
            requests,
            session_ends,
            step_seconds,
            sessions_live,
            feed_watermark,
            feed_lag,
            menu_reloads,
            feed_applied,
            feed_rejected,
            task_failures,
        }
    }

    pub(crate) fn count_menu_reload(&self, result: &str) {
        self.menu_reloads
            .get_or_create(&ResultLabel {
                result: result.to_string(),
            })
            .inc();
    }

    pub(crate) fn count_request(&self, dialect: &str, outcome: &str) {
        self.requests
            .get_or_create(&RequestLabels {
                dialect: dialect.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    pub(crate) fn count_end(&self, dialect: &str, kind: &str) {
        self.session_ends
            .get_or_create(&EndLabels {
                dialect: dialect.to_string(),
                kind: kind.to_string(),
            })
            .inc();
    }

    pub(crate) fn observe_step(&self, dialect: &str, seconds: f64) {
        self.step_seconds
            .get_or_create(&DialectLabel {
                dialect: dialect.to_string(),
            })
            .observe(seconds);
    }

    pub(crate) fn set_bound(&self, dialect: &str, bound: bool) {
        self.smpp_bound
            .get_or_create(&DialectLabel {
                dialect: dialect.to_string(),
            })
            .set(i64::from(bound));
    }

    /// Registers `daftar_limited_total{limit}`, counted by the limits themselves (`limits`).
    pub(crate) fn register_limited(&mut self, limited: Family<LimitLabel, Counter>) {
        self.registry.register(
            "limited",
            "Requests, steps, inquiries and connections held back by a limit, by limit",
            limited,
        );
    }

    /// Registers `daftar_sessions_ended_total{service,screen,reason}`, counted by the engine
    /// and the session store's expiry (`funnel`).
    pub(crate) fn register_funnel(&mut self, ended: Family<EndedLabels, Counter>) {
        self.registry.register(
            "sessions_ended",
            "Sessions ended, by service, the menu screen they ended on, and reason (result, abort, timeout, idle, wrong_answers, error)",
            ended,
        );
    }

    /// These metrics and the writer's: its batch sizes and commit (fsync) times.
    pub(crate) fn with_writer(mut self, stats: WriterStats) -> Metrics {
        self.registry.register(
            "writer_batch_jobs",
            "Writes answered together by the writer: per commit (one flush) when durable",
            stats.batch_jobs,
        );
        self.registry.register(
            "writer_commit_seconds",
            "Time to make one batch of writes durable (a flush of the store)",
            stats.commit_seconds,
        );
        self
    }

    /// The exposition text.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if let Err(error) = encode(&mut out, &self.registry) {
            tracing::error!(%error, "metrics encoding failed");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_metric() {
        let metrics = Metrics::new();
        metrics.count_request("africastalking", "end");
        metrics.observe_step("africastalking", 0.0003);
        metrics.sessions_live.set(3);
        let outcome = |o: &str| OutcomeLabel {
            outcome: o.to_string(),
        };
        metrics.sms_messages.get_or_create(&outcome("sent")).inc();
        metrics.sms_attempts.get_or_create(&outcome("retry")).inc();
        let text = metrics.render();
        for name in [
            "daftar_ussd_requests_total{dialect=\"africastalking\",outcome=\"end\"} 1",
            "daftar_ussd_step_seconds_bucket",
            "daftar_sessions_live 3",
            "daftar_feed_watermark",
            "daftar_feed_lag_seconds",
            "daftar_sms_outbox_pending 0",
            "daftar_sms_messages_total{outcome=\"sent\"} 1",
            "daftar_sms_send_attempts_total{outcome=\"retry\"} 1",
            "# TYPE",
        ] {
            assert!(text.contains(name), "{name} missing in\n{text}");
        }
    }
}
