//! The writer: one dedicated thread that carries out the store writes of many steps, so that no
//! tokio worker ever waits on sled's log or an fsync.
//!
//! A step hands its write over as a closure and awaits the result ([`Writer::run`]); the thread
//! takes every job that is waiting, runs them in order, and only then answers them all. That is
//! the seam group commit needs: a flush placed after a batch makes every write of it durable
//! before any of its steps replies (the performance and reliability issues build on it). A job
//! that panics is answered with [`WriteError::Failed`]; the thread carries on with the others.
//!
//! One thread, not `spawn_blocking` per write: a hand-off to a pool thread costs more than the
//! write itself, and one thread keeps the writes of one caller in the order they were made.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// The most jobs run before their callers are answered.
const MAX_BATCH: usize = 256;

/// A write, run on the writer's thread; what it returns answers its caller after the batch.
type Job = Box<dyn FnOnce() -> Answer + Send>;
/// Hands a job's result back to the step that awaits it.
type Answer = Box<dyn FnOnce() + Send>;

/// Why a write did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WriteError {
    #[error("the writer has stopped")]
    Stopped,
    #[error("the write panicked")]
    Failed,
}

/// The handle on the writer thread; the thread ends when the handle is dropped, after the
/// jobs already queued.
pub(crate) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer thread.
    pub(crate) fn start() -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("daftar-writer".into())
            .spawn(move || drain(&queue))?;
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `work` on the writer thread and returns what it returned.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, WriteError> {
        let (answer, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = catch_unwind(AssertUnwindSafe(work));
            Box::new(move || {
                if let Ok(value) = outcome {
                    let _ = answer.send(value);
                }
            })
        });
        let jobs = self.jobs.as_ref().ok_or(WriteError::Stopped)?;
        jobs.send(job).map_err(|_| WriteError::Stopped)?;
        result.await.map_err(|_| WriteError::Failed)
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

/// The writer thread: a batch of whatever is waiting, run, then answered.
fn drain(queue: &mpsc::Receiver<Job>) {
    let mut answers: Vec<Answer> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = queue.recv() {
        answers.push(first());
        while answers.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => answers.push(job()),
                Err(_) => break,
            }
        }
        for answer in answers.drain(..) {
            answer();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
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
