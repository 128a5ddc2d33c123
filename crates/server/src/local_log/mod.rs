//! The single-node log: orders the proposals of one shard and applies them on the tasks that
//! propose them, and makes them durable with group commit before anyone hears of them.
//!
//! A proposer that finds no other task applying applies its own proposal, then everything
//! other tasks queued meanwhile; a proposer that finds another applying queues its proposal
//! for it. So under contention one task applies whole runs of writes, instead of the tasks
//! taking turns at a lock for every write, and nothing crosses to another thread to be
//! applied.
//!
//! Durability is separate from applying. Applying hands writes to the engine, which keeps
//! them in memory and in its log buffer; a task waiting for durability notes how far
//! proposals were applied, asks the engine for one fsync covering all of it (`--fsync
//! always`), and publishes that position as durable (`durability`). A reply, and any read
//! that saw a write, is sent only once its position is durable, so no client ever observes
//! a write that a crash could take back. The memory engine persists nothing, so there is
//! nothing to wait for. This is the single-node stand-in for a shard's Raft group: it keeps
//! the same `propose(Mutation) -> reply` boundary.

mod durability;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard, RwLock};
use ringkv_protocol::Frame;
use ringkv_shard::{Mutation, Proposal, StateMachine};
use ringkv_storage::Engine;
use tokio::sync::oneshot;

use self::durability::Durability;
use crate::config::{EngineKind, ServerConfig};
use crate::replication::Proposed;

/// Reply to writes once the store has failed to persist data, as Redis refuses writes after a disk error.
const MISCONF: &str = "MISCONF Errors writing to disk: writes are refused until the server is restarted. Check the server logs.";

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
    /// None for an engine that persists nothing.
    durability: Option<Arc<Durability>>,
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

impl LocalLog {
    /// Starts the log of `state_machine` over `engine`, with durability unless the engine
    /// persists nothing.
    pub fn start(
        state_machine: StateMachine,
        engine: Arc<dyn Engine>,
        config: Arc<RwLock<ServerConfig>>,
    ) -> std::io::Result<Self> {
        let progress = Arc::new(Progress::default());
        let durability = if config.read().engine == EngineKind::Memory {
            None
        } else {
            Some(Durability::start(progress.clone(), engine, config)?)
        };
        Ok(LocalLog {
            inner: Arc::new(Inner {
                state_machine: Mutex::new(state_machine),
                queue: Mutex::new(Vec::new()),
                progress,
                durability,
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
        self.inner.propose(proposals)
    }

    /// Position of the last proposal whose effects readers may already see.
    pub fn visible(&self) -> u64 {
        self.inner.progress.visible.load(Ordering::SeqCst)
    }

    /// Waits until everything up to `position` is durable; false if it never will be
    /// (persisting failed).
    pub async fn wait_durable(&self, position: u64) -> bool {
        match &self.inner.durability {
            Some(durability) => durability.wait(position).await,
            None => true,
        }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use ringkv_shard::mutation::{Condition, SetExpiry, SetReply};
    use ringkv_storage::testing::ProbedEngine;
    use ringkv_storage::{FjallEngine, FjallOptions};

    use super::*;
    use crate::config::FsyncPolicy;

    const TASKS: usize = 16;
    const WRITES: usize = 50;

    fn set(key: String, value: &Bytes) -> Mutation {
        Mutation::Set {
            key: Bytes::from(key),
            value: value.clone(),
            condition: Condition::Always,
            expiry: SetExpiry::Clear,
            reply: SetReply::Ok,
        }
    }

    /// A log over a durable engine in `dir` under `fsync`, with the engine's fsyncs probed.
    fn probed_log(
        dir: &std::path::Path,
        fsync: FsyncPolicy,
    ) -> (LocalLog, Arc<ProbedEngine<FjallEngine>>) {
        let fjall = FjallEngine::open(dir, FjallOptions::default()).unwrap();
        let engine = Arc::new(ProbedEngine::new(fjall));
        let config = ServerConfig {
            fsync,
            dir: dir.to_owned(),
            ..ServerConfig::default()
        };
        let state_machine = StateMachine::open(engine.clone()).unwrap();
        let config = Arc::new(RwLock::new(config));
        let log = LocalLog::start(state_machine, engine.clone(), config).unwrap();
        (log, engine)
    }

    /// Many tasks writing values of `value_len` bytes at once, each waiting for its writes
    /// to be durable before the next, all get their replies: no task is left waiting for a
    /// sync nobody leads, on the task's thread or the sync thread.
    async fn every_writer_is_answered(fsync: FsyncPolicy, value_len: usize) {
        let value = Bytes::from(vec![b'v'; value_len]);
        let dir = tempfile::tempdir().unwrap();
        let (log, _) = probed_log(dir.path(), fsync);
        let writers: Vec<_> = (0..TASKS)
            .map(|task| {
                let log = log.clone();
                let value = value.clone();
                tokio::spawn(async move {
                    for write in 0..WRITES {
                        let proposed = log.propose_all([set(format!("{task}:{write}"), &value)], 1);
                        assert_eq!(proposed.replies().await, vec![Frame::ok()]);
                        assert!(log.wait_durable(log.visible()).await);
                    }
                })
            })
            .collect();
        let all = async {
            for writer in writers {
                writer.await.unwrap();
            }
        };
        tokio::time::timeout(Duration::from_secs(30), all)
            .await
            .expect("every writer answered in time");
        assert_eq!(log.visible(), (TASKS * WRITES) as u64);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_on_two_workers_are_answered_under_every_fsync_policy() {
        for fsync in [
            FsyncPolicy::Always,
            FsyncPolicy::Everysec,
            FsyncPolicy::Never,
        ] {
            for value_len in [5, 4096] {
                every_writer_is_answered(fsync, value_len).await;
            }
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn writers_on_one_thread_are_answered_under_every_fsync_policy() {
        for fsync in [
            FsyncPolicy::Always,
            FsyncPolicy::Everysec,
            FsyncPolicy::Never,
        ] {
            for value_len in [5, 4096] {
                every_writer_is_answered(fsync, value_len).await;
            }
        }
    }

    /// On a disk that fails, the write waiting for the failed fsync is never acknowledged,
    /// its writer is not left waiting, and every later write is refused with MISCONF,
    /// whether the fsync ran on the writer's thread (small writes) or on the sync thread.
    #[tokio::test(flavor = "current_thread")]
    async fn writes_are_refused_once_an_fsync_failed() {
        for value_len in [5, 4096] {
            let value = Bytes::from(vec![b'v'; value_len]);
            let dir = tempfile::tempdir().unwrap();
            let (log, engine) = probed_log(dir.path(), FsyncPolicy::Always);
            let write = |key: &str| log.propose_all([set(key.to_owned(), &value)], 1);

            assert_eq!(write("before").replies().await, vec![Frame::ok()]);
            assert!(log.wait_durable(log.visible()).await);
            engine.fail_syncs();
            assert_eq!(write("lost").replies().await, vec![Frame::ok()]);
            let durable =
                tokio::time::timeout(Duration::from_secs(10), log.wait_durable(log.visible()))
                    .await
                    .expect("the writer is answered");
            assert!(!durable, "a write whose fsync failed counts as durable");
            assert_eq!(write("after").replies().await, vec![Frame::error(MISCONF)]);
            assert!(engine.syncs() >= 2);
        }
    }

    /// Under `--fsync everysec` a write is fsynced by the sync thread within about a second,
    /// and a second with no writes fsyncs nothing.
    #[tokio::test(flavor = "current_thread")]
    async fn everysec_fsyncs_written_data_within_a_second_and_idle_data_never() {
        let dir = tempfile::tempdir().unwrap();
        let (log, engine) = probed_log(dir.path(), FsyncPolicy::Everysec);
        let value = Bytes::from_static(b"v");
        let proposed = log.propose_all([set("k".to_owned(), &value)], 1);
        assert_eq!(proposed.replies().await, vec![Frame::ok()]);
        assert!(log.wait_durable(log.visible()).await);
        assert_eq!(engine.syncs(), 0, "everysec fsyncs no write at once");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(engine.syncs(), 1, "the write is fsynced within a second");
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(engine.syncs(), 1, "nothing written, nothing fsynced");
    }
}
