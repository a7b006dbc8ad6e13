//! One action per step across nodes: before a step runs an action (an inquiry, which writes
//! an audit entry and issues a tracking code) it claims its session through the store's
//! versioned write, and only the node whose claim is accepted runs it.
//!
//! The claim is the session as the step found it, in [`Phase::Acting`]. [`Claiming`] stands
//! between the walk and the action runner and writes it at the first action the walk reaches,
//! so a step that runs no action writes nothing more. A step that loses the race (the store
//! says the session changed) runs no action: the engine reads again and finds the claim.
//!
//! A step that finds a claim waits for it ([`ClaimWatch`]): it reads again after a pause that
//! doubles up to [`MAX_PAUSE`], and replays the winner's reply once it is written (it is then
//! a retry). A claim that stands unchanged for [`LEASE`] under one waiter's eyes is taken to be
//! left by a node that died mid-step, and the waiter takes it over: it steps the session from
//! the state the claim holds. So an action runs twice only when the node that claimed it died
//! (or stalled past the lease) after the action began and before its result was written. The
//! lease is timed by each waiter on its own clock, so clocks of different nodes need not agree.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::flow::{ActionCall, ActionFuture, ActionRunner};
use crate::session::{Phase, Session};
use crate::session_store::{SessionKey, SessionStore, SessionWrite, StoreError, Version, Write};

/// How long a claim may stand unchanged before a waiting step takes it over.
pub(super) const LEASE: Duration = Duration::from_secs(2);
/// The longest a step waits for claims in all (under the aggregators' timeouts: Hubtel's 5 s).
const MAX_WAIT: Duration = Duration::from_secs(3);
/// The first pause before a claimed session is read again.
const FIRST_PAUSE: Duration = Duration::from_millis(2);
/// The longest pause between two reads of a claimed session.
const MAX_PAUSE: Duration = Duration::from_millis(64);

/// The session `before` as a claim: unchanged but for its phase.
pub(super) fn claim_of(before: &Session) -> Session {
    let mut claim = before.clone();
    claim.phase = Phase::Acting {
        from_offer: before.phase == Phase::Offer,
    };
    claim
}

/// The session a claim was made from, to be stepped again by the node that takes it over.
pub(super) fn taken_over(mut claim: Session) -> Session {
    tracing::warn!("a claim outlived its lease: this node takes its step over");
    claim.phase = match claim.phase {
        Phase::Acting { from_offer: true } => Phase::Offer,
        Phase::Acting { from_offer: false } => Phase::Open,
        other => other,
    };
    claim
}

/// An action runner that claims the session before the first action of a step.
pub(super) struct Claiming<'a> {
    actions: &'a dyn ActionRunner,
    store: &'a dyn SessionStore,
    /// The claim's write, until the first action makes it.
    pending: Mutex<Option<Write>>,
    /// What the claim's write gave: the session's version, or why it was refused.
    outcome: Mutex<Option<Result<Version, StoreError>>>,
    /// Told when the claim was refused.
    lost: Notify,
}

impl<'a> Claiming<'a> {
    /// Claims `key` as `before` (`claim`: the session the step found, at `expected`) when an
    /// action is about to run; the claim lives `ttl` unless its step writes its result. With
    /// no `claim`, the actions run as they come (a store only this node writes).
    pub(super) fn new(
        actions: &'a dyn ActionRunner,
        store: &'a dyn SessionStore,
        claim: Option<(&SessionKey, &Session)>,
        expected: Option<Version>,
        ttl: Duration,
    ) -> Claiming<'a> {
        let write = claim.map(|(key, before)| Write {
            key: key.clone(),
            session: SessionWrite::Put {
                session: claim_of(before),
                expected,
                ttl,
            },
            caller: None,
        });
        Claiming {
            actions,
            store,
            pending: Mutex::new(write),
            outcome: Mutex::new(None),
            lost: Notify::new(),
        }
    }

    /// Runs `walking` (the step's walk through `self`), unless the claim is refused: then the
    /// walk is dropped where it waits, before its action, and the store's refusal is given.
    pub(super) async fn unless_lost<T>(
        &self,
        walking: impl Future<Output = T>,
    ) -> Result<T, StoreError> {
        tokio::select! {
            biased;
            done = walking => Ok(done),
            () = self.lost.notified() => Err(self.refusal()),
        }
    }

    /// The version the step's result must expect: the claim's when it was made, else the
    /// version the step read.
    pub(super) fn expected_after(&self, read: Option<Version>) -> Option<Version> {
        match *lock(&self.outcome) {
            Some(Ok(version)) => Some(version),
            _ => read,
        }
    }

    fn refusal(&self) -> StoreError {
        match &*lock(&self.outcome) {
            Some(Err(error)) => error.clone(),
            _ => StoreError::Unavailable("the claim was refused".into()),
        }
    }

    /// Makes the claim if it is not made yet; false when the store refused it.
    async fn claim(&self) -> bool {
        let pending = lock(&self.pending).take();
        let Some(write) = pending else {
            return true;
        };
        let made = match self.store.save(write).await {
            Ok(Some(version)) => Ok(version),
            Ok(None) => Err(StoreError::Unavailable("a claim kept no version".into())),
            Err(error) => Err(error),
        };
        let kept = made.is_ok();
        *lock(&self.outcome) = Some(made);
        kept
    }
}

impl ActionRunner for Claiming<'_> {
    fn run<'b>(&'b self, action: &'b str, call: ActionCall<'b>) -> ActionFuture<'b> {
        Box::pin(async move {
            if !self.claim().await {
                self.lost.notify_one();
                // The engine drops the walk at the notice: this action never runs.
                std::future::pending::<()>().await;
            }
            self.actions.run(action, call).await
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A step's wait for claims it finds: which claim it has seen, since when, and how long to
/// pause before it reads again.
#[derive(Default)]
pub(super) struct ClaimWatch {
    /// The claim seen last (its version) and when this step first saw it.
    seen: Option<(Version, Instant)>,
    /// When the step began to wait.
    began: Option<Instant>,
    pause: Duration,
}

impl ClaimWatch {
    /// The version of a claim that has stood for [`LEASE`] since this step first saw it: the
    /// step may take it over.
    pub(super) fn expired(&self) -> Option<Version> {
        self.seen
            .filter(|(_, since)| since.elapsed() >= LEASE)
            .map(|(version, _)| version)
    }

    /// Pauses before the session claimed at `version` is read again; false once the step has
    /// waited its limit.
    pub(super) async fn wait(&mut self, version: Version) -> bool {
        let now = Instant::now();
        if self.seen.map(|(seen, _)| seen) != Some(version) {
            self.seen = Some((version, now));
        }
        let began = *self.began.get_or_insert(now);
        if now.duration_since(began) >= MAX_WAIT {
            return false;
        }
        self.pause = self.pause.max(FIRST_PAUSE);
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(MAX_PAUSE);
        true
    }
}
