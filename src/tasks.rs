//! The background tasks of a running server, started in one place and stopped in one way.
//!
//! A [`Supervisor`] starts every task of the server (the accept loop, the session sweeper, the
//! audit purge, the feed follower), each with a name, the one shutdown handle, and an
//! [`OnFailure`] policy saying what its failure (an error returned, or a panic) does to the
//! process. A failure is never discarded: it is logged with the task's name, counted in
//! `daftar_task_failures_total{task="…"}`, and then either holds a reason on `/readyz`
//! ([`OnFailure::Unready`]) or stops the whole server, so that `daftar serve` exits non-zero
//! ([`OnFailure::Exit`]).
//!
//! Shutdown is one [`CancellationToken`] (tokio-util): SIGTERM and `Running::stop` both end in
//! [`Supervisor::stop`], which cancels it once and joins every task, each within one bound; a
//! task still running at the bound is aborted and named, so a task that ignores shutdown
//! cannot hang the process. A token rather than a `watch` channel because cancelling is
//! idempotent and seen by every clone, including one made after the fact; `cancelled()` is a
//! future for `select!`, without `watch::Receiver::changed`'s traps (it returns at once when
//! the sender is dropped, and never for a value already seen); and `is_cancelled()` is a plain
//! load, so blocking code (the feed follower, in `spawn_blocking`) checks the same handle
//! between lines.
//!
//! What it must never do: log an identifier or an MSISDN (a failure's text is masked as a
//! feed reject is), or leave a task running that nobody joins.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::task::{AbortHandle, JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::metrics::TaskLabel;
use crate::readiness::{Readiness, Unready};

/// What a task's failure does to the process. Each task's choice is documented where the task
/// is started (`app::start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnFailure {
    /// `/readyz` answers 503 with "the task `<name>` died" for the rest of the process's life;
    /// the server goes on answering the callers that reach it.
    Unready,
    /// The whole server shuts down (in-flight requests drained), and [`Supervisor::stop`]
    /// returns the failure, so that `daftar serve` exits non-zero and its process manager can
    /// start it again.
    Exit,
}

/// How a task ended badly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failed {
    /// It returned this error (its text, masked).
    Error(String),
    /// It panicked with this message (masked).
    Panic(String),
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failed::Error(text) => write!(f, "failed: {text}"),
            Failed::Panic(text) => write!(f, "panicked: {text}"),
        }
    }
}

/// A task that failed, by name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the task `{task}` {how}")]
pub(crate) struct TaskFailure {
    pub(crate) task: &'static str,
    pub(crate) how: Failed,
}

/// What a task's future may end with: `()`, or a `Result` whose error is a failure.
pub(crate) trait Outcome: Send + 'static {
    /// The error's text, if the task failed.
    fn error_text(self) -> Option<String>;
}

impl Outcome for () {
    fn error_text(self) -> Option<String> {
        None
    }
}

impl<E: fmt::Display + Send + 'static> Outcome for Result<(), E> {
    fn error_text(self) -> Option<String> {
        self.err().map(|error| error.to_string())
    }
}

/// What [`Supervisor::stop`] found.
#[derive(Debug, Default)]
pub(crate) struct Stopped {
    /// The first failure of a task whose policy is [`OnFailure::Exit`], if any.
    pub(crate) fatal: Option<TaskFailure>,
    /// Tasks still running at the bound, aborted and left behind (a blocking section cannot be
    /// interrupted; it ends on its own, with nobody waiting for it).
    #[cfg(test)]
    pub(crate) overdue: Vec<&'static str>,
}

/// Starts the background tasks and stops them together; see the module comment.
pub(crate) struct Supervisor {
    shutdown: CancellationToken,
    report: Report,
    tasks: Vec<Supervised>,
    join_within: Duration,
}

/// One started task: the watcher that reports how it ended, and a way to abort it.
struct Supervised {
    name: &'static str,
    watcher: JoinHandle<()>,
    abort: AbortHandle,
}

/// Where a failure goes; shared by every task's watcher.
#[derive(Clone)]
struct Report {
    readiness: Arc<Readiness>,
    failures: Family<TaskLabel, Counter>,
    fatal: Arc<Mutex<Option<TaskFailure>>>,
    shutdown: CancellationToken,
}

impl Supervisor {
    /// A supervisor that reports failures to `readiness` and `failures`, and waits at most
    /// `join_within` for its tasks once shutdown is signalled.
    pub(crate) fn new(
        readiness: Arc<Readiness>,
        failures: Family<TaskLabel, Counter>,
        join_within: Duration,
    ) -> Supervisor {
        let shutdown = CancellationToken::new();
        Supervisor {
            report: Report {
                readiness,
                failures,
                fatal: Arc::new(Mutex::new(None)),
                shutdown: shutdown.clone(),
            },
            shutdown,
            tasks: Vec::new(),
            join_within,
        }
    }

    /// Starts `task` on the runtime under `name`, handing it the shutdown handle: the task
    /// returns soon after the handle is cancelled.
    pub(crate) fn spawn<Task, Fut>(&mut self, name: &'static str, on_failure: OnFailure, task: Task)
    where
        Task: FnOnce(CancellationToken) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: Outcome,
    {
        // At 0 from the start, so that an alert on its increase sees the series before it moves.
        let _ = self.report.failures.get_or_create(&TaskLabel {
            task: name.to_string(),
        });
        let running = tokio::spawn(task(self.shutdown.clone()));
        let abort = running.abort_handle();
        let report = self.report.clone();
        let watcher = tokio::spawn(async move {
            let how = match running.await {
                Ok(outcome) => match outcome.error_text() {
                    None => return,
                    Some(text) => Failed::Error(crate::sync::redact(&text)),
                },
                Err(ended) if ended.is_panic() => {
                    Failed::Panic(crate::sync::redact(&panic_text(ended.into_panic())))
                }
                // Aborted: only `stop` aborts, and it names the task itself.
                Err(_) => return,
            };
            report.failed(TaskFailure { task: name, how }, on_failure);
        });
        self.tasks.push(Supervised {
            name,
            watcher,
            abort,
        });
    }

    /// Resolves once shutdown has begun: signalled by [`Supervisor::stop`], or by the failure
    /// of a task whose policy is [`OnFailure::Exit`].
    pub(crate) async fn stopping(&self) {
        self.shutdown.cancelled().await;
    }

    /// Signals every task once and joins them all, giving up on those still running when the
    /// bound passes.
    pub(crate) async fn stop(self) -> Stopped {
        self.shutdown.cancel();
        let deadline = tokio::time::Instant::now() + self.join_within;
        let mut overdue = Vec::new();
        for task in self.tasks {
            let mut watcher = task.watcher;
            if tokio::time::timeout_at(deadline, &mut watcher)
                .await
                .is_err()
            {
                tracing::warn!(task = task.name, bound = ?self.join_within, "task still running at shutdown's bound; aborted");
                task.abort.abort();
                watcher.abort();
                overdue.push(task.name);
            }
        }
        let fatal = self
            .report
            .fatal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        Stopped {
            fatal,
            #[cfg(test)]
            overdue,
        }
    }
}

impl Report {
    fn failed(&self, failure: TaskFailure, on_failure: OnFailure) {
        self.failures
            .get_or_create(&TaskLabel {
                task: failure.task.to_string(),
            })
            .inc();
        match on_failure {
            OnFailure::Unready => {
                tracing::error!(task = failure.task, how = %failure.how, "task died; not ready");
                self.readiness.hold(Unready::TaskDied(failure.task));
            }
            OnFailure::Exit => {
                tracing::error!(task = failure.task, how = %failure.how, "task died; shutting down");
                self.fatal
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert(failure);
                self.shutdown.cancel();
            }
        }
    }
}

/// The message of a panic: its `&str` or `String` payload.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or_else(|| "(no message)".to_string(), |text| text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The log lines written while `f` runs on this thread (a current-thread runtime's tasks
    /// run here too).
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn start(&self) -> tracing::subscriber::DefaultGuard {
            let writer = self.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_default(subscriber)
        }
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner))
                .into_owned()
        }
    }

    /// A supervisor, what it reports to, and the log lines written on this thread.
    struct House {
        readiness: Arc<Readiness>,
        metrics: Metrics,
        supervisor: Supervisor,
        log: Captured,
        _log_guard: tracing::subscriber::DefaultGuard,
    }

    fn house(join_within: Duration) -> House {
        let readiness = Arc::new(Readiness::new());
        let metrics = Metrics::new();
        let supervisor = Supervisor::new(
            readiness.clone(),
            metrics.task_failures.clone(),
            join_within,
        );
        let log = Captured::default();
        House {
            readiness,
            metrics,
            supervisor,
            _log_guard: log.start(),
            log,
        }
    }

    /// A task's body that panics with `message` (its type is `()`, as a task's is).
    fn panics(message: &str) {
        panic!("{message}");
    }

    /// Lets the runtime run what is ready until `done` holds (the clock is paused: no time
    /// passes unless every task waits on a timer).
    async fn until(done: impl Fn() -> bool) {
        while !done() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// How many failures of `task` the exposition counts.
    fn failures(metrics: &Metrics, task: &str) -> Option<u64> {
        let series = format!("daftar_task_failures_total{{task=\"{task}\"}} ");
        let text = metrics.render();
        let line = text.lines().find_map(|l| l.strip_prefix(series.as_str()))?;
        line.trim().parse().ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_returns_an_error_is_logged_counted_and_turns_readiness_off() {
        let mut home = house(Duration::from_secs(1));
        home.supervisor
            .spawn("audit-purge", OnFailure::Unready, |_stop| async {
                Err::<(), _>("cannot purge the entries of 989121234567")
            });
        assert_eq!(
            failures(&home.metrics, "audit-purge"),
            Some(0),
            "counted from 0"
        );
        until(|| !home.readiness.reasons().is_empty()).await;
        let reasons = home.readiness.reasons();
        assert_eq!(reasons.len(), 1);
        assert!(
            reasons[0].starts_with("the task `audit-purge` died at"),
            "{reasons:?}"
        );
        assert_eq!(failures(&home.metrics, "audit-purge"), Some(1));
        let stopped = home.supervisor.stop().await;
        assert!(stopped.fatal.is_none() && stopped.overdue.is_empty());
        let log = home.log.text();
        assert!(
            log.contains("ERROR") && log.contains("audit-purge"),
            "{log}"
        );
        assert!(
            log.contains("cannot purge the entries of [digits]"),
            "{log}"
        );
        assert!(!log.contains("989121234567"), "{log}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_panics_is_logged_counted_and_stops_everything_for_exit() {
        let mut home = house(Duration::from_secs(1));
        let stopped_on_signal = Arc::new(AtomicUsize::new(0));
        let seen = stopped_on_signal.clone();
        home.supervisor
            .spawn("server", OnFailure::Exit, |stop| async move {
                stop.cancelled().await;
                seen.fetch_add(1, Ordering::SeqCst);
            });
        home.supervisor
            .spawn("sweeper", OnFailure::Exit, |_stop| async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                panics("`period` must be non-zero.");
            });
        home.supervisor.stopping().await;
        let stopped = home.supervisor.stop().await;
        assert_eq!(
            stopped.fatal,
            Some(TaskFailure {
                task: "sweeper",
                how: Failed::Panic("`period` must be non-zero.".into()),
            })
        );
        assert_eq!(
            stopped.fatal.map(|f| f.to_string()).unwrap_or_default(),
            "the task `sweeper` panicked: `period` must be non-zero."
        );
        assert!(stopped.overdue.is_empty());
        assert_eq!(
            stopped_on_signal.load(Ordering::SeqCst),
            1,
            "the other task was stopped"
        );
        assert!(home.readiness.reasons().is_empty(), "exit, not unready");
        assert_eq!(failures(&home.metrics, "sweeper"), Some(1));
        assert_eq!(failures(&home.metrics, "server"), Some(0));
        let log = home.log.text();
        assert!(log.contains("ERROR") && log.contains("sweeper"), "{log}");
        assert!(log.contains("panicked"), "{log}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_panics_under_unready_turns_readiness_off_and_nothing_stops() {
        let House {
            readiness,
            mut supervisor,
            ..
        } = house(Duration::from_secs(1));
        supervisor.spawn("feed-follower", OnFailure::Unready, |_stop| async {
            panics("a poll panicked");
        });
        until(|| !readiness.reasons().is_empty()).await;
        assert!(readiness.is_held(Unready::TaskDied("feed-follower")));
        let stopped = supervisor.stop().await;
        assert!(stopped.fatal.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_signals_every_task_once_and_joins_them_all() {
        let House { mut supervisor, .. } = house(Duration::from_secs(10));
        let finished = Arc::new(AtomicUsize::new(0));
        for name in ["server", "sweeper", "audit-purge"] {
            let finished = finished.clone();
            supervisor.spawn(name, OnFailure::Exit, |stop| async move {
                stop.cancelled().await;
                // Some last work after the signal (a drain, a checkpoint).
                tokio::time::sleep(Duration::from_millis(300)).await;
                finished.fetch_add(1, Ordering::SeqCst);
                Ok::<(), std::convert::Infallible>(())
            });
        }
        let stopped = supervisor.stop().await;
        assert_eq!(finished.load(Ordering::SeqCst), 3);
        assert!(stopped.fatal.is_none() && stopped.overdue.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ignores_shutdown_is_given_up_at_the_bound() {
        let House { mut supervisor, .. } = house(Duration::from_secs(5));
        supervisor.spawn("stubborn", OnFailure::Exit, |_stop| {
            std::future::pending::<()>()
        });
        supervisor.spawn("polite", OnFailure::Exit, |stop| async move {
            stop.cancelled().await;
        });
        let began = tokio::time::Instant::now();
        let stopped = supervisor.stop().await;
        assert_eq!(stopped.overdue, ["stubborn"]);
        assert!(stopped.fatal.is_none());
        assert_eq!(
            began.elapsed(),
            Duration::from_secs(5),
            "waited the bound, no more"
        );
    }

    /// The handle is checked from blocking code as the feed follower does, between lines.
    #[tokio::test]
    async fn blocking_code_sees_the_same_shutdown() {
        let House { mut supervisor, .. } = house(Duration::from_secs(30));
        let lines = Arc::new(AtomicUsize::new(0));
        let read = lines.clone();
        supervisor.spawn("feed-follower", OnFailure::Unready, |stop| async move {
            tokio::task::spawn_blocking(move || {
                while !stop.is_cancelled() {
                    read.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
            .await
        });
        while lines.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let stopped = supervisor.stop().await;
        assert!(stopped.overdue.is_empty() && stopped.fatal.is_none());
    }
}
