//! Group commit across all Raft groups of a node: appended log entries are written to the
//! engine at once, and one thread makes them durable with a single fsync for every append
//! waiting at that moment, whichever group it belongs to, before telling each group.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ringkv_storage::Engine;

/// Called once the appended entries are durable (or failed to become so).
pub type Done = Box<dyn FnOnce(std::io::Result<()>) + Send>;

/// Whether each append must be fsynced before it counts (`fsync always`); asked per batch so
/// that a configuration change applies at once.
pub type SyncPolicy = Arc<dyn Fn() -> bool + Send + Sync>;

/// Handle to the node's sync thread; cheap to clone.
#[derive(Clone)]
pub struct Syncer {
    tx: mpsc::Sender<Done>,
}

impl Syncer {
    /// Starts the sync thread over `engine`.
    pub fn start(engine: Arc<dyn Engine>, sync_each: SyncPolicy) -> std::io::Result<Syncer> {
        let (tx, rx) = mpsc::channel::<Done>();
        thread::Builder::new()
            .name("ringkv-raft-sync".to_owned())
            .spawn(move || run(engine.as_ref(), sync_each.as_ref(), rx))?;
        Ok(Syncer { tx })
    }

    /// Calls `done` once everything written to the engine so far is durable.
    pub fn after_sync(&self, done: Done) {
        if let Err(mpsc::SendError(done)) = self.tx.send(done) {
            done(Err(std::io::Error::other("the node is shutting down")));
        }
    }
}

fn run(
    engine: &dyn Engine,
    sync_each: &(dyn Fn() -> bool + Send + Sync),
    rx: mpsc::Receiver<Done>,
) {
    let mut last_sync = Instant::now();
    let mut unsynced = false;
    loop {
        let first = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(done) => done,
            Err(RecvTimeoutError::Timeout) => {
                if unsynced && last_sync.elapsed() >= Duration::from_secs(1) {
                    let _ = engine.sync();
                    unsynced = false;
                    last_sync = Instant::now();
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let waiting: Vec<Done> = std::iter::once(first).chain(rx.try_iter()).collect();
        let result = if sync_each() {
            last_sync = Instant::now();
            unsynced = false;
            engine.sync()
        } else {
            unsynced = true;
            engine.flush_buffers()
        };
        let result = result.map_err(|e| e.to_string());
        for done in waiting {
            done(result.clone().map_err(std::io::Error::other));
        }
    }
}
