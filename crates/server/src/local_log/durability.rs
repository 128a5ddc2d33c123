//! How the single-node log makes applied writes durable: group commit led by the tasks that
//! wait for it, and the once-a-second fsync of `--fsync everysec`.
//!
//! A task that must wait for a position to be durable first yields once, so that the other
//! tasks its runtime worker has ready apply their writes too; then, if no sync is under way,
//! it starts one: one fsync for everything applied so far (`--fsync always`), or one
//! hand-over to the OS (`everysec`, `never`). Tasks that find a sync under way wait for it
//! to publish how far it got, and the first of them still short of its position leads the
//! next.
//!
//! A small sync runs on the leading task's own thread: waking another thread and being woken
//! back would cost more than it saves. An fsync covering at least [`INLINE_SYNC_BYTES`] of
//! log goes to the log's sync thread, so that the runtime worker goes on reading and
//! applying the next writes while the disk works (`docs/single-node.md`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};
use ringkv_storage::Engine;
use tokio::sync::watch;

use super::Progress;
use crate::config::{FsyncPolicy, ServerConfig};

/// How often `--fsync everysec` fsyncs.
const EVERYSEC: Duration = Duration::from_secs(1);

/// Log bytes from which an fsync is handed to the sync thread instead of blocking the task's
/// thread: about forty single-key writes.
const INLINE_SYNC_BYTES: usize = 2048;

/// How far writes are durable.
#[derive(Debug, Clone, Copy, Default)]
struct Durable {
    /// Every proposal up to this position is durable.
    position: u64,
    /// Persisting failed: nothing after `position` will ever be durable.
    failed: bool,
}

/// The durability of one log's writes.
pub(super) struct Durability {
    progress: Arc<Progress>,
    engine: Arc<dyn Engine>,
    config: Arc<RwLock<ServerConfig>>,
    /// A sync is under way.
    syncing: AtomicBool,
    durable: watch::Sender<Durable>,
    /// Syncs asked of the sync thread.
    asked: Arc<Asked>,
}

/// Whether the sync thread has a sync to run, and its wake-up.
#[derive(Default)]
struct Asked {
    sync: Mutex<bool>,
    wake: Condvar,
}

impl Durability {
    /// The durability of the writes `progress` counts, kept in `engine` as the fsync policy
    /// in `config` says, with a sync thread that ends with it.
    pub fn start(
        progress: Arc<Progress>,
        engine: Arc<dyn Engine>,
        config: Arc<RwLock<ServerConfig>>,
    ) -> std::io::Result<Arc<Self>> {
        let asked = Arc::new(Asked::default());
        let durability = Arc::new(Durability {
            progress,
            engine,
            config,
            syncing: AtomicBool::new(false),
            durable: watch::Sender::new(Durable::default()),
            asked: asked.clone(),
        });
        let weak = Arc::downgrade(&durability);
        thread::Builder::new()
            .name("ringkv-sync".to_owned())
            .spawn(move || run_syncs(weak, &asked))?;
        Ok(durability)
    }

    /// Waits until everything up to `position` is durable, syncing when no other task is;
    /// false if it never will be (persisting failed).
    pub async fn wait(&self, position: u64) -> bool {
        let mut durable = self.durable.subscribe();
        let mut yielded = false;
        loop {
            let state = *durable.borrow_and_update();
            if state.position >= position || state.failed {
                return state.position >= position;
            }
            if !yielded {
                yielded = true;
                tokio::task::yield_now().await;
                continue;
            }
            if !self.syncing.swap(true, Ordering::SeqCst) {
                if self.syncs_elsewhere() {
                    *self.asked.sync.lock() = true;
                    self.asked.wake.notify_one();
                } else {
                    self.sync();
                    yielded = false;
                    continue;
                }
            }
            if durable.changed().await.is_err() {
                return false;
            }
        }
    }

    /// Whether the sync about to start goes to the sync thread: an fsync of enough log that
    /// the worker has writes to apply while the disk works.
    fn syncs_elsewhere(&self) -> bool {
        self.config.read().fsync == FsyncPolicy::Always
            && self.engine.unsynced_bytes() >= INLINE_SYNC_BYTES
    }

    /// Makes everything applied so far durable (fsynced, or with the OS as the policy
    /// says), blocking this thread meanwhile, and publishes it. The caller set `syncing`;
    /// it is cleared before publishing, so that a task which saw it set and waits for the
    /// publication finds the next sync free.
    fn sync(&self) {
        let target = self.progress.applied.load(Ordering::SeqCst);
        let result = if self.config.read().fsync == FsyncPolicy::Always {
            self.engine.sync()
        } else {
            self.engine.flush_buffers()
        };
        self.syncing.store(false, Ordering::SeqCst);
        match result {
            Ok(()) => self
                .durable
                .send_modify(|d| d.position = d.position.max(target)),
            Err(e) => self.fail(&e),
        }
    }

    /// Fsyncs what was applied since the last time, for `--fsync everysec`; `synced` is
    /// the position that time reached.
    fn sync_every_second(&self, synced: &mut u64) {
        if self.config.read().fsync != FsyncPolicy::Everysec
            || self.progress.failed.load(Ordering::SeqCst)
        {
            return;
        }
        let applied = self.progress.applied.load(Ordering::SeqCst);
        if applied == *synced {
            return;
        }
        match self.engine.sync() {
            Ok(()) => *synced = applied,
            Err(e) => self.fail(&e),
        }
    }

    /// Refuses writes from now on: persisting them failed.
    fn fail(&self, error: &dyn std::fmt::Display) {
        if !self.progress.failed.swap(true, Ordering::SeqCst) {
            tracing::error!(%error, "persisting writes failed; refusing further writes");
        }
        self.durable.send_modify(|d| d.failed = true);
    }
}

/// The sync thread: runs the syncs handed to it, and the fsync of `--fsync everysec` once a
/// second, while the log lives.
fn run_syncs(durability: Weak<Durability>, asked: &Asked) {
    let mut synced = 0;
    let mut next_second = Instant::now() + EVERYSEC;
    loop {
        let sync = {
            let mut sync = asked.sync.lock();
            if !*sync {
                asked.wake.wait_until(&mut sync, next_second);
            }
            std::mem::take(&mut *sync)
        };
        let Some(durability) = durability.upgrade() else {
            return;
        };
        if sync {
            durability.sync();
        }
        if Instant::now() >= next_second {
            durability.sync_every_second(&mut synced);
            next_second = Instant::now() + EVERYSEC;
        }
    }
}
