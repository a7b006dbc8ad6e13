//! The writer: one dedicated thread that carries out the store writes of many steps, so that no
//! tokio worker ever waits on sled's log or an fsync.
//!
//! A step hands its write over as a closure and awaits the result ([`Writer::run`]); the thread
//! takes every job that is waiting (a batch) and runs them in order. A writer started
//! [`Writer::with_commit`] (the server's flushes the sled store, SPEC §8) then hands the batch
//! to a second thread, which **commits** every batch handed over since its last commit with one
//! call and only then answers them all, while the writer runs the next batch. That is group
//! commit: one fsync covers every write of the group, and no step replies (a tracking code,
//! say) before its write is durable. A commit that fails answers the whole batch with [`WriteError::NotDurable`], so the
//! caller gets a polite END and never a code that a crash could take back. A job that panics is
//! answered with [`WriteError::Failed`]; the thread carries on with the others.
//!
//! The window of a group is what ran while the last commit was on disk: under load, writes pile
//! up during an fsync and the next commit takes them all; when idle, a lone write commits at
//! once (no timer waits for company). [`WriterStats`] counts group sizes and commit times.
//!
//! One thread, not `spawn_blocking` per write: a hand-off to a pool thread costs more than the
//! write itself, and one thread keeps the writes of one caller in the order they were made.
//! What it must never do: answer a job of a batch before the batch's commit returned, or call
//! sled's `flush_async` (concurrent calls deadlock, CRATES.md §1).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

use prometheus_client::metrics::histogram::Histogram;

/// The most jobs run before their callers are answered.
const MAX_BATCH: usize = 256;

/// A write, run on the writer's thread; what it returns answers its caller after the batch.
type Job = Box<dyn FnOnce() -> Answer + Send>;
/// Hands a job's result back to the step that awaits it, or the batch's commit failure.
type Answer = Box<dyn FnOnce(Option<WriteError>) + Send>;
/// Makes every write run so far durable: called once per batch, on the writer's thread.
pub(crate) type Commit = Box<dyn FnMut() -> std::io::Result<()> + Send>;

/// Why a write did not happen, or did not become durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WriteError {
    #[error("the writer has stopped")]
    Stopped,
    #[error("the write panicked")]
    Failed,
    #[error("the write was not made durable (the commit failed)")]
    NotDurable,
}

/// How the writer's batches go: their sizes and how long each commit took. Handles that a
/// metrics registry can take (`metrics::Metrics::with_writer`).
#[derive(Clone, Debug)]
pub(crate) struct WriterStats {
    /// Writes answered together: per commit when durable, else per batch.
    pub(crate) batch_jobs: Histogram,
    /// Seconds per commit (the fsync of a batch).
    pub(crate) commit_seconds: Histogram,
}

impl WriterStats {
    fn new() -> WriterStats {
        WriterStats {
            batch_jobs: Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
            commit_seconds: Histogram::new([
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5,
            ]),
        }
    }
}

/// The handle on the writer thread; the thread ends when the handle is dropped, after the
/// jobs already queued.
pub(crate) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    stats: WriterStats,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts a writer thread that commits nothing: its writes are as durable as the store
    /// makes them on its own (tests, tools that flush at their end).
    pub(crate) fn start() -> std::io::Result<Writer> {
        Writer::spawn(None)
    }

    /// Starts a writer thread that calls `commit` after each batch and before answering it.
    pub(crate) fn with_commit(commit: Commit) -> std::io::Result<Writer> {
        Writer::spawn(Some(commit))
    }

    fn spawn(commit: Option<Commit>) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let stats = WriterStats::new();
        let kept = stats.clone();
        let thread = match commit {
            None => thread("daftar-writer", move || {
                run_batches(&queue, |answers| answer_all(answers, None, &kept));
            })?,
            Some(commit) => {
                let (batches, ready) = mpsc::channel::<Vec<Answer>>();
                let committer = thread("daftar-commit", move || {
                    commit_batches(&ready, commit, &kept);
                })?;
                thread("daftar-writer", move || {
                    run_batches(&queue, |answers| {
                        // Only a committer that died drops them: their callers get `Failed`.
                        let _ = batches.send(answers);
                    });
                    drop(batches);
                    let _ = committer.join();
                })?
            }
        };
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
            stats,
        })
    }

    /// The batch and commit histograms, for `/metrics`.
    pub(crate) fn stats(&self) -> WriterStats {
        self.stats.clone()
    }

    /// Runs `work` on the writer thread and returns what it returned, once the batch it ran
    /// in is committed.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, WriteError> {
        let (answer, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = catch_unwind(AssertUnwindSafe(work));
            Box::new(move |failed: Option<WriteError>| {
                let sent = match (outcome, failed) {
                    (Ok(value), None) => Ok(value),
                    (Ok(_), Some(error)) => Err(error),
                    (Err(_), _) => Err(WriteError::Failed),
                };
                let _ = answer.send(sent);
            })
        });
        let jobs = self.jobs.as_ref().ok_or(WriteError::Stopped)?;
        jobs.send(job).map_err(|_| WriteError::Stopped)?;
        result.await.map_err(|_| WriteError::Failed)?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn thread(name: &str, body: impl FnOnce() + Send + 'static) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name.into()).spawn(body)
}

/// The writer thread: a batch of whatever is waiting, run, then handed over (to be committed
/// and answered) while the next batch runs.
fn run_batches(queue: &mpsc::Receiver<Job>, mut hand_over: impl FnMut(Vec<Answer>)) {
    while let Ok(first) = queue.recv() {
        let mut answers: Vec<Answer> = Vec::with_capacity(MAX_BATCH);
        answers.push(first());
        while answers.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => answers.push(job()),
                Err(_) => break,
            }
        }
        hand_over(answers);
    }
}

/// The commit thread: every batch the writer has run since the last commit, committed at once
/// (their writes all returned before this commit began, so it covers them), then answered.
/// While it commits, the writer runs the next batch: a commit never waits for a write, nor a
/// write for a commit.
fn commit_batches(ready: &mpsc::Receiver<Vec<Answer>>, mut commit: Commit, stats: &WriterStats) {
    while let Ok(mut group) = ready.recv() {
        while let Ok(more) = ready.try_recv() {
            group.extend(more);
        }
        let failed = commit_batch(&mut commit, stats);
        answer_all(group, failed, stats);
    }
}

/// Answers every caller of a group: with its result, or with the commit's failure.
fn answer_all(group: Vec<Answer>, failed: Option<WriteError>, stats: &WriterStats) {
    stats.batch_jobs.observe(group.len() as f64);
    for answer in group {
        answer(failed);
    }
}

/// Commits one batch; the error its callers get when the commit failed.
fn commit_batch(commit: &mut Commit, stats: &WriterStats) -> Option<WriteError> {
    let started = Instant::now();
    let committed = catch_unwind(AssertUnwindSafe(commit));
    stats
        .commit_seconds
        .observe(started.elapsed().as_secs_f64());
    match committed {
        Ok(Ok(())) => None,
        Ok(Err(error)) => {
            tracing::error!(%error, "a batch of writes could not be made durable; its callers are told to try later");
            Some(WriteError::NotDurable)
        }
        Err(_) => {
            tracing::error!(
                "the commit of a batch of writes panicked; its callers are told to try later"
            );
            Some(WriteError::NotDurable)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_run_off_the_workers_and_each_is_answered() {
        let writer = Arc::new(Writer::start().expect("thread"));
        let here = std::thread::current().id();
        assert_ne!(writer.run(|| std::thread::current().id()).await, Ok(here));
        let tasks: Vec<_> = (0..200u32)
            .map(|i| {
                let writer = writer.clone();
                tokio::spawn(async move { writer.run(move || i * 2).await })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.expect("task"), Ok(i as u32 * 2));
        }
    }

    /// A commit that counts its calls in `commits` and fails while `failing` holds.
    fn counting_commit(commits: Arc<AtomicUsize>, failing: Arc<AtomicBool>) -> Commit {
        Box::new(move || {
            commits.fetch_add(1, Ordering::SeqCst);
            if failing.load(Ordering::SeqCst) {
                Err(std::io::Error::other("disk full"))
            } else {
                Ok(())
            }
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_write_is_answered_before_a_commit_that_covers_it() {
        let commits = Arc::new(AtomicUsize::new(0));
        let commit = counting_commit(commits.clone(), Arc::new(AtomicBool::new(false)));
        let writer = Arc::new(Writer::with_commit(commit).expect("thread"));
        let tasks: Vec<_> = (0..300usize)
            .map(|i| {
                let (writer, commits) = (writer.clone(), commits.clone());
                tokio::spawn(async move {
                    // What the commit count was when the write ran, and once it was answered.
                    let seen = commits.clone();
                    let ran_at = writer.run(move || seen.load(Ordering::SeqCst)).await;
                    (i, ran_at, commits.load(Ordering::SeqCst))
                })
            })
            .collect();
        for task in tasks {
            let (i, ran_at, answered_at) = task.await.expect("task");
            let ran_at = ran_at.expect("written");
            assert!(answered_at > ran_at, "write {i} answered before its commit");
        }
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("batch", "jobs per batch", writer.stats().batch_jobs);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encoded");
        let commits = commits.load(Ordering::SeqCst);
        assert!(
            text.contains("batch_sum 300.0"),
            "every job in a batch: {text}"
        );
        assert!(
            text.contains(&format!("batch_count {commits}\n")),
            "one commit per batch ({commits}): {text}"
        );
    }

    #[tokio::test]
    async fn a_failed_commit_answers_its_whole_batch_not_durable_and_the_next_batch_goes_on() {
        let failing = Arc::new(AtomicBool::new(true));
        let commit = counting_commit(Arc::new(AtomicUsize::new(0)), failing.clone());
        let writer = Writer::with_commit(commit).expect("thread");
        assert_eq!(writer.run(|| 7).await, Err(WriteError::NotDurable));
        failing.store(false, Ordering::SeqCst);
        assert_eq!(writer.run(|| 8).await, Ok(8));
    }

    #[tokio::test]
    async fn a_panicking_write_fails_alone() {
        let writer = Writer::start().expect("thread");
        let done = Arc::new(AtomicUsize::new(0));
        let failed = writer.run(|| -> u8 { panic!("a write went wrong") }).await;
        assert_eq!(failed, Err(WriteError::Failed));
        let counted = done.clone();
        let ok = writer
            .run(move || counted.fetch_add(1, Ordering::SeqCst))
            .await;
        assert_eq!(ok, Ok(0));
        drop(writer);
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }
}
