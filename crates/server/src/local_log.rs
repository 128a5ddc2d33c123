//! The single-node log: orders the proposals of one shard and applies them on the tasks that
//! propose them, while one sync thread makes them durable with group commit before anyone
//! hears of them.
//!
//! A proposer that finds no other task applying applies its own proposal, then everything
//! other tasks queued meanwhile; a proposer that finds another applying queues its proposal
//! for it. So under contention one task applies whole runs of writes, instead of the tasks
//! taking turns at a lock for every write, and nothing crosses to another thread to be
//! applied.
//!
//! Durability is separate from applying. Applying hands writes to the engine, which keeps
//! them in memory and in its log buffer; the sync thread notes how far proposals were
//! applied, asks the engine for one fsync covering all of it (`--fsync always`), and then
//! publishes that position as durable. A reply, and any read that saw a write, is sent only
//! once its position is durable, so no client ever observes a write that a crash could take
//! back. The memory engine persists nothing, so there is nothing to wait for. This is the
//! single-node stand-in for a shard's Raft group: it keeps the same `propose(Mutation) ->
//! reply` boundary.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, MutexGuard, RwLock};
use ringkv_protocol::Frame;
use ringkv_shard::{Mutation, Proposal, StateMachine};
use ringkv_storage::Engine;
use tokio::sync::{oneshot, watch};

use crate::config::{EngineKind, FsyncPolicy, ServerConfig};
use crate::replication::Proposed;

/// An fsync that covered at least this many writes means the server is busy: the next one
/// waits a little for more writes to share it, since fsyncs then cost more CPU than waiting
/// costs latency.
const BUSY_FSYNC_WRITES: u64 = 128;
/// How long a busy sync thread waits before it looks again whether writes stopped arriving.
const GATHER_STEP: Duration = Duration::from_micros(150);
/// The longest a busy sync thread waits for writes before it fsyncs.
const GATHER_MAX: Duration = Duration::from_micros(600);

/// Reply to writes once the store has failed to persist data, as Redis refuses writes after a disk error.
const MISCONF: &str = "MISCONF Errors writing to disk: writes are refused until the server is restarted. Check the server logs.";

/// How far writes are durable, as the sync thread publishes it.
#[derive(Debug, Clone, Copy, Default)]
struct Durable {
    /// Every proposal up to this position is durable.
    position: u64,
    /// Persisting failed: nothing after `position` will ever be durable.
    failed: bool,
}

/// Proposals queued for the task that is applying, and where their replies go.
struct Entry {
    proposals: Vec<Proposal>,
    replies: oneshot::Sender<Vec<Frame>>,
}

/// Handle to a shard's local log; cheap to clone.
#[derive(Clone)]
pub struct LocalLog {
    inner: Arc<Inner>,
}

struct Inner {
    state_machine: Mutex<StateMachine>,
    queue: Mutex<Vec<Entry>>,
    progress: Arc<Progress>,
    /// The sync thread and what it publishes; None for an engine that persists nothing.
    sync: Option<SyncThread>,
}

/// How far proposals got; written under the state machine's lock.
#[derive(Default)]
struct Progress {
    /// Position of the last proposal whose effects readers may see (set before it is
    /// applied).
    visible: AtomicU64,
    /// Position of the last proposal fully handed to the engine (set after it is applied).
    applied: AtomicU64,
    /// Persisting failed: writes are refused.
    failed: AtomicBool,
}

struct SyncThread {
    thread: thread::Thread,
    durable: watch::Receiver<Durable>,
}

impl LocalLog {
    /// Starts the log of `state_machine` over `engine`, with a sync thread unless the engine
    /// persists nothing.
    pub fn start(
        state_machine: StateMachine,
        engine: Arc<dyn Engine>,
        config: Arc<RwLock<ServerConfig>>,
    ) -> std::io::Result<Self> {
        let progress = Arc::new(Progress::default());
        let sync = if config.read().engine == EngineKind::Memory {
            None
        } else {
            let (tx, durable) = watch::channel(Durable::default());
            let syncer = Syncer {
                progress: progress.clone(),
                engine,
                config,
                durable: tx,
            };
            let handle = thread::Builder::new()
                .name("ringkv-sync".to_owned())
                .spawn(move || syncer.run())?;
            Some(SyncThread {
                thread: handle.thread().clone(),
                durable,
            })
        };
        Ok(LocalLog {
            inner: Arc::new(Inner {
                state_machine: Mutex::new(state_machine),
                queue: Mutex::new(Vec::new()),
                progress,
                sync,
            }),
        })
    }

    /// Proposes `mutations`, in order, with clock `now`. The replies may be known at once,
    /// but they (and anything else a client sees after them) must wait for
    /// [`LocalLog::wait_durable`] of [`LocalLog::visible`].
    pub(crate) fn propose_all(
        &self,
        mutations: impl IntoIterator<Item = Mutation>,
        now: u64,
    ) -> Proposed {
        let proposals = mutations
            .into_iter()
            .map(|mutation| Proposal { now, mutation })
            .collect();
        let proposed = self.inner.propose(proposals);
        if let Some(sync) = &self.inner.sync {
            sync.thread.unpark();
        }
        proposed
    }

    /// Position of the last proposal whose effects readers may already see.
    pub fn visible(&self) -> u64 {
        self.inner.progress.visible.load(Ordering::SeqCst)
    }

    /// Waits until everything up to `position` is durable; false if it never will be
    /// (persisting failed).
    pub async fn wait_durable(&self, position: u64) -> bool {
        let Some(sync) = &self.inner.sync else {
            return true;
        };
        let reached = |d: &Durable| d.position >= position || d.failed;
        let mut durable = sync.durable.clone();
        let state = match durable.wait_for(reached).await {
            Ok(state) => *state,
            Err(_) => return false,
        };
        state.position >= position
    }

    /// Stops applying proposals for good and runs `persist`, which makes what was applied
    /// durable: for a shutdown, after which nothing applied is left to acknowledge. If
    /// `persist` fails, applying resumes.
    pub fn close<E>(&self, persist: impl FnOnce() -> Result<(), E>) -> Result<(), E> {
        let state_machine = self.inner.state_machine.lock();
        if let Err(e) = persist() {
            self.inner.apply_queued(state_machine);
            return Err(e);
        }
        std::mem::forget(state_machine);
        Ok(())
    }
}

impl Inner {
    /// Applies `proposals` here if no other task is applying and nothing is queued before
    /// them; otherwise queues them, for this task or the one applying to take up.
    fn propose(&self, proposals: Vec<Proposal>) -> Proposed {
        if let Some(mut state_machine) = self.state_machine.try_lock() {
            if self.queue.lock().is_empty() {
                let replies = proposals
                    .iter()
                    .map(|p| self.apply(&mut state_machine, p))
                    .collect();
                self.apply_queued(state_machine);
                return Proposed::Done(replies);
            }
            let proposed = self.enqueue(proposals);
            self.apply_queued(state_machine);
            return proposed;
        }
        let proposed = self.enqueue(proposals);
        if let Some(state_machine) = self.state_machine.try_lock() {
            self.apply_queued(state_machine);
        }
        proposed
    }

    fn apply(&self, state_machine: &mut StateMachine, proposal: &Proposal) -> Frame {
        if self.progress.failed.load(Ordering::Relaxed) {
            return Frame::error(MISCONF);
        }
        let position = self.progress.applied.load(Ordering::Relaxed) + 1;
        self.progress.visible.store(position, Ordering::SeqCst);
        let reply = state_machine.apply(proposal);
        self.progress.applied.store(position, Ordering::SeqCst);
        reply
    }

    fn enqueue(&self, proposals: Vec<Proposal>) -> Proposed {
        let (replies, rx) = oneshot::channel();
        let count = proposals.len();
        self.queue.lock().push(Entry { proposals, replies });
        Proposed::Waiting { count, rx }
    }

    /// Applies everything queued, including what other tasks queue meanwhile. The queue is
    /// checked again after the lock is released, so a proposal queued by a task that found
    /// the lock taken is never left behind.
    fn apply_queued<'a>(&'a self, mut state_machine: MutexGuard<'a, StateMachine>) {
        loop {
            loop {
                let batch = std::mem::take(&mut *self.queue.lock());
                if batch.is_empty() {
                    break;
                }
                for entry in batch {
                    let replies = entry
                        .proposals
                        .iter()
                        .map(|p| self.apply(&mut state_machine, p))
                        .collect();
                    let _ = entry.replies.send(replies);
                }
            }
            drop(state_machine);
            if self.queue.lock().is_empty() {
                return;
            }
            match self.state_machine.try_lock() {
                Some(guard) => state_machine = guard,
                None => return,
            }
        }
    }
}

/// The sync thread: makes applied proposals durable as the fsync policy asks, and publishes
/// how far they are.
struct Syncer {
    progress: Arc<Progress>,
    engine: Arc<dyn Engine>,
    config: Arc<RwLock<ServerConfig>>,
    durable: watch::Sender<Durable>,
}

impl Syncer {
    /// Waits while writes keep arriving, up to [`GATHER_MAX`].
    fn gather(&self) {
        let start = Instant::now();
        let mut seen = self.progress.applied.load(Ordering::SeqCst);
        while start.elapsed() < GATHER_MAX {
            thread::sleep(GATHER_STEP);
            let now = self.progress.applied.load(Ordering::SeqCst);
            if now == seen {
                return;
            }
            seen = now;
        }
    }

    fn run(self) {
        let mut published = 0;
        let mut last_sync = Instant::now();
        let mut unsynced = false;
        let mut busy = false;
        loop {
            thread::park_timeout(Duration::from_millis(100));
            let policy = self.config.read().fsync;
            if busy && policy == FsyncPolicy::Always {
                self.gather();
            }
            let target = self.progress.applied.load(Ordering::SeqCst);
            let second_passed = last_sync.elapsed() >= Duration::from_secs(1);
            let fsync = match policy {
                FsyncPolicy::Always => target > published || unsynced,
                FsyncPolicy::Everysec => second_passed && (unsynced || target > published),
                FsyncPolicy::Never => false,
            };
            if !fsync && target == published {
                continue;
            }
            let result = if fsync {
                self.engine.sync()
            } else {
                self.engine.flush_buffers()
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "persisting writes failed; refusing further writes");
                self.progress.failed.store(true, Ordering::SeqCst);
                self.durable.send_modify(|d| d.failed = true);
                return;
            }
            if fsync {
                last_sync = Instant::now();
            }
            busy = fsync && target - published >= BUSY_FSYNC_WRITES;
            unsynced = !fsync && (unsynced || target > published);
            published = target;
            self.durable
                .send_modify(|d| d.position = d.position.max(target));
        }
    }
}
