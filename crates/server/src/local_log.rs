//! The single-node log: orders the proposals of one shard, applies them on one thread, and
//! makes them durable with group commit before anyone hears of them.
//!
//! Every proposal waiting when the applier wakes is applied in order, then one fsync covers
//! them all (under `fsync always`), then all their replies are released. Readers that saw
//! data from a batch wait for that batch's fsync too, so no client ever observes a write that
//! a crash could take back. This is the single-node stand-in for a shard's Raft group: it
//! keeps the same `propose(Mutation) -> reply` boundary.
//!
//! The memory engine persists nothing, so there is nothing to wait for: its proposals are
//! applied by the proposing tasks themselves, without the applier thread and its two thread
//! hops per write ([`InlineLog`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use ringkv_protocol::Frame;
use ringkv_shard::{Mutation, Proposal, StateMachine};
use ringkv_storage::Engine;
use tokio::sync::{oneshot, watch};

use crate::config::{EngineKind, FsyncPolicy, ServerConfig};

/// Most proposals applied between two fsyncs.
const MAX_GROUP: usize = 8192;

/// Reply to writes once the store has failed to persist data, as Redis refuses writes after a disk error.
const MISCONF: &str = "MISCONF Errors writing to disk: writes are refused until the server is restarted. Check the server logs.";

struct Entry {
    proposal: Proposal,
    reply: oneshot::Sender<Frame>,
}

/// Handle to a shard's local log; cheap to clone.
#[derive(Clone)]
pub enum LocalLog {
    /// Applied and made durable by the applier thread, with group commit.
    Applier(AppliedLog),
    /// Applied by the proposers: nothing is persisted (memory engine).
    Inline(Arc<InlineLog>),
}

/// A log applied by the tasks that propose to it. A proposer queues its proposal and, if no
/// other task is applying, applies everything queued (its own and others') until the queue is
/// empty; a proposer that finds another task applying leaves its proposal to that task. So
/// under contention one task applies whole runs of writes instead of the tasks taking turns
/// at a lock for every write.
pub struct InlineLog {
    state_machine: Mutex<StateMachine>,
    queue: Mutex<Vec<Entry>>,
}

impl InlineLog {
    fn propose(&self, entry: Entry) {
        self.queue.lock().push(entry);
        while let Some(mut state_machine) = self.state_machine.try_lock() {
            loop {
                let batch = std::mem::take(&mut *self.queue.lock());
                if batch.is_empty() {
                    break;
                }
                for entry in batch {
                    let _ = entry.reply.send(state_machine.apply(&entry.proposal));
                }
            }
            drop(state_machine);
            if self.queue.lock().is_empty() {
                break;
            }
        }
    }
}

/// The applier thread's side of the log.
#[derive(Clone)]
pub struct AppliedLog {
    tx: mpsc::Sender<Entry>,
    applied: Arc<AtomicU64>,
    durable: watch::Receiver<u64>,
}

impl LocalLog {
    /// Starts the log of `state_machine` over `engine`: inline for an engine that persists
    /// nothing, else with an applier thread.
    pub fn start(
        state_machine: StateMachine,
        engine: Arc<dyn Engine>,
        config: Arc<RwLock<ServerConfig>>,
    ) -> std::io::Result<Self> {
        if config.read().engine == EngineKind::Memory {
            return Ok(LocalLog::Inline(Arc::new(InlineLog {
                state_machine: Mutex::new(state_machine),
                queue: Mutex::new(Vec::new()),
            })));
        }
        let (tx, rx) = mpsc::channel();
        let applied = Arc::new(AtomicU64::new(0));
        let (durable_tx, durable) = watch::channel(0);
        let applier = Applier {
            state_machine,
            engine,
            config,
            applied: applied.clone(),
            durable: durable_tx,
            poisoned: false,
        };
        thread::Builder::new()
            .name("ringkv-applier".to_owned())
            .spawn(move || applier.run(rx))?;
        Ok(LocalLog::Applier(AppliedLog {
            tx,
            applied,
            durable,
        }))
    }

    /// Proposes `mutation` with clock `now`; the receiver yields its reply once it is durable.
    pub fn propose(&self, mutation: Mutation, now: u64) -> oneshot::Receiver<Frame> {
        let (reply, rx) = oneshot::channel();
        let entry = Entry {
            proposal: Proposal { now, mutation },
            reply,
        };
        match self {
            LocalLog::Inline(log) => log.propose(entry),
            LocalLog::Applier(log) => {
                if let Err(mpsc::SendError(entry)) = log.tx.send(entry) {
                    let _ = entry
                        .reply
                        .send(Frame::error("ERR server is shutting down"));
                }
            }
        }
        rx
    }

    /// Position of the last proposal whose effects readers may already see (0 inline, where
    /// everything applied is as durable as it will ever be).
    pub fn applied(&self) -> u64 {
        match self {
            LocalLog::Inline(_) => 0,
            LocalLog::Applier(log) => log.applied.load(Ordering::SeqCst),
        }
    }

    /// Waits until everything up to `position` is durable.
    pub async fn wait_durable(&self, position: u64) {
        let LocalLog::Applier(log) = self else {
            return;
        };
        if *log.durable.borrow() >= position {
            return;
        }
        let mut durable = log.durable.clone();
        let _ = durable.wait_for(|d| *d >= position).await;
    }
}

struct Applier {
    state_machine: StateMachine,
    engine: Arc<dyn Engine>,
    config: Arc<RwLock<ServerConfig>>,
    applied: Arc<AtomicU64>,
    durable: watch::Sender<u64>,
    poisoned: bool,
}

impl Applier {
    fn run(mut self, rx: mpsc::Receiver<Entry>) {
        let mut position = 0u64;
        let mut last_sync = Instant::now();
        let mut unsynced = false;
        let mut group: Vec<(oneshot::Sender<Frame>, Frame)> = Vec::new();
        loop {
            let first = match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(entry) => entry,
                Err(RecvTimeoutError::Timeout) => {
                    if unsynced && last_sync.elapsed() >= Duration::from_secs(1) {
                        self.persist(true);
                        unsynced = false;
                        last_sync = Instant::now();
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            for entry in std::iter::once(first)
                .chain(std::iter::from_fn(|| rx.try_recv().ok()))
                .take(MAX_GROUP)
            {
                position += 1;
                self.applied.store(position, Ordering::SeqCst);
                let reply = if self.poisoned {
                    Frame::error(MISCONF)
                } else {
                    self.state_machine.apply(&entry.proposal)
                };
                group.push((entry.reply, reply));
            }
            let policy = self.config.read().fsync;
            let sync = policy == FsyncPolicy::Always
                || (policy == FsyncPolicy::Everysec
                    && last_sync.elapsed() >= Duration::from_secs(1));
            if !self.persist(sync) {
                for (_, reply) in group.iter_mut() {
                    *reply = Frame::error(MISCONF);
                }
            }
            if sync {
                last_sync = Instant::now();
            }
            unsynced = !sync;
            self.durable.send_replace(position);
            for (tx, reply) in group.drain(..) {
                let _ = tx.send(reply);
            }
        }
        self.persist(true);
    }

    /// Makes the applied writes durable (`sync`) or at least hands them to the OS. False on failure.
    fn persist(&mut self, sync: bool) -> bool {
        let result = if sync {
            self.engine.sync()
        } else {
            self.engine.flush_buffers()
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "persisting writes failed; refusing further writes");
            self.poisoned = true;
        }
        !self.poisoned
    }
}
