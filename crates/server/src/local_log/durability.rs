//! How the single-node log makes applied writes durable: group commit led by the tasks that
//! wait for it, and the once-a-second fsync of `--fsync everysec`.
//!
//! A task that must wait for a position to be durable first yields once, so that the other
//! tasks its runtime worker has ready apply their writes too; then, if no sync is under way,
//! it carries one out itself: one fsync for everything applied so far (`--fsync always`), or
//! one hand-over to the OS (`everysec`, `never`). Tasks that find a sync under way wait for
//! it to publish how far it got, and the first of them still short of its position leads
//! the next. So no write waits for another thread to be woken, scheduled and to wake it
//! back: on a machine whose cores the clients share, those hops cost more than the sync
//! itself (`docs/single-node.md`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::Duration;

use parking_lot::RwLock;
use ringkv_storage::Engine;
use tokio::sync::watch;

use super::Progress;
use crate::config::{FsyncPolicy, ServerConfig};

/// How often `--fsync everysec` fsyncs.
const EVERYSEC: Duration = Duration::from_secs(1);

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
    /// A task is syncing.
    syncing: AtomicBool,
    durable: watch::Sender<Durable>,
}

impl Durability {
    /// The durability of the writes `progress` counts, kept in `engine` as the fsync policy
    /// in `config` says, with a thread for `--fsync everysec` that ends with it.
    pub fn start(
        progress: Arc<Progress>,
        engine: Arc<dyn Engine>,
        config: Arc<RwLock<ServerConfig>>,
    ) -> std::io::Result<Arc<Self>> {
        let durability = Arc::new(Durability {
            progress,
            engine,
            config,
            syncing: AtomicBool::new(false),
            durable: watch::Sender::new(Durable::default()),
        });
        let weak = Arc::downgrade(&durability);
        thread::Builder::new()
            .name("ringkv-everysec".to_owned())
            .spawn(move || fsync_every_second(weak))?;
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
                self.sync();
                yielded = false;
                continue;
            }
            if durable.changed().await.is_err() {
                return false;
            }
        }
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

    /// Refuses writes from now on: persisting them failed.
    fn fail(&self, error: &dyn std::fmt::Display) {
        if !self.progress.failed.swap(true, Ordering::SeqCst) {
            tracing::error!(%error, "persisting writes failed; refusing further writes");
        }
        self.durable.send_modify(|d| d.failed = true);
    }
}

/// Fsyncs once a second under `--fsync everysec`, while the log lives.
fn fsync_every_second(durability: Weak<Durability>) {
    let mut synced = 0;
    loop {
        thread::sleep(EVERYSEC);
        let Some(durability) = durability.upgrade() else {
            return;
        };
        if durability.config.read().fsync != FsyncPolicy::Everysec {
            continue;
        }
        let applied = durability.progress.applied.load(Ordering::SeqCst);
        if applied == synced {
            continue;
        }
        if let Err(e) = durability.engine.sync() {
            durability.fail(&e);
            return;
        }
        synced = applied;
    }
}
