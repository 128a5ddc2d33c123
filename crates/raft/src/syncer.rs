//! Group commit across all Raft groups of a node: appended log entries are written to the
//! engine at once, and one thread makes them durable with a single fsync for every append
//! waiting at that moment, whichever group it belongs to, before telling each group in order.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ringkv_storage::Engine;

/// Called once the appended entries are durable (or failed to become so).
pub type Done = Box<dyn FnOnce(std::io::Result<()>) + Send>;

/// When writes are fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Before the appends count (`fsync always`).
    EachGroup,
    /// At most a second after they were written (`fsync everysec`); until then they are only
    /// handed to the OS, which keeps them through a crash of the process.
    EverySecond,
    /// When the OS decides (`fsync never`); handed to the OS at once.
    Never,
}

/// The current [`SyncMode`], asked per group so that a configuration change applies at once.
pub type SyncPolicy = Arc<dyn Fn() -> SyncMode + Send + Sync>;

/// Handle to the node's sync thread; cheap to clone.
#[derive(Clone)]
pub struct Syncer {
    tx: mpsc::Sender<Done>,
}

impl Syncer {
    /// Starts the sync thread over `engine`.
    pub fn start(engine: Arc<dyn Engine>, policy: SyncPolicy) -> std::io::Result<Syncer> {
        let (tx, rx) = mpsc::channel::<Done>();
        thread::Builder::new()
            .name("ringkv-raft-sync".to_owned())
            .spawn(move || run(engine.as_ref(), policy.as_ref(), rx))?;
        Ok(Syncer { tx })
    }

    /// Calls `done` once everything written to the engine so far is as durable as the policy
    /// asks.
    pub fn after_sync(&self, done: Done) {
        if let Err(mpsc::SendError(done)) = self.tx.send(done) {
            done(Err(std::io::Error::other("the node is shutting down")));
        }
    }
}

const SECOND: Duration = Duration::from_secs(1);

fn run(
    engine: &dyn Engine,
    policy: &(dyn Fn() -> SyncMode + Send + Sync),
    rx: mpsc::Receiver<Done>,
) {
    let mut last_sync = Instant::now();
    let mut unsynced = false;
    loop {
        let first = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(done) => done,
            Err(RecvTimeoutError::Timeout) => {
                let due = unsynced && last_sync.elapsed() >= SECOND;
                if due && policy() == SyncMode::EverySecond {
                    let _ = engine.sync();
                    unsynced = false;
                    last_sync = Instant::now();
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let waiting: Vec<Done> = std::iter::once(first).chain(rx.try_iter()).collect();
        let sync = match policy() {
            SyncMode::EachGroup => true,
            SyncMode::EverySecond => last_sync.elapsed() >= SECOND,
            SyncMode::Never => false,
        };
        let result = if sync {
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

#[cfg(test)]
mod tests {
    use ringkv_storage::testing::ProbedEngine;
    use ringkv_storage::{MemoryEngine, Table, WriteBatch};

    use super::*;

    /// Fsyncs made while appends arrive every 10 ms for `run` under `mode`.
    fn syncs_under_steady_appends(mode: SyncMode, run: Duration) -> usize {
        let engine = Arc::new(ProbedEngine::new(MemoryEngine::default()));
        let syncer = Syncer::start(engine.clone(), Arc::new(move || mode)).unwrap();
        let (tx, rx) = mpsc::channel();
        let start = Instant::now();
        let mut sent = 0;
        while start.elapsed() < run {
            let tx = tx.clone();
            syncer.after_sync(Box::new(move |result| tx.send(result.is_ok()).unwrap()));
            sent += 1;
            thread::sleep(Duration::from_millis(10));
        }
        assert!(rx.iter().take(sent).all(|ok| ok));
        engine.syncs()
    }

    #[test]
    fn everysec_fsyncs_about_once_a_second_while_appends_keep_arriving() {
        let syncs = syncs_under_steady_appends(SyncMode::EverySecond, Duration::from_millis(2500));
        assert!((2..=3).contains(&syncs), "{syncs} fsyncs in 2.5 s");
    }

    #[test]
    fn always_fsyncs_every_group_and_never_fsyncs_none() {
        let run = Duration::from_millis(300);
        assert!(syncs_under_steady_appends(SyncMode::EachGroup, run) >= 5);
        assert_eq!(syncs_under_steady_appends(SyncMode::Never, run), 0);
    }

    #[test]
    fn requests_are_answered_in_order_after_the_writes_before_them() {
        let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::default());
        let syncer = Syncer::start(engine.clone(), Arc::new(|| SyncMode::EachGroup)).unwrap();
        let (tx, rx) = mpsc::channel();
        for i in 0..100u32 {
            let mut batch = WriteBatch::new();
            batch.put(Table::Meta, &i.to_be_bytes(), b"v");
            engine.write(&batch).unwrap();
            let tx = tx.clone();
            syncer.after_sync(Box::new(move |result| {
                tx.send((i, result.is_ok())).unwrap()
            }));
        }
        let answers: Vec<(u32, bool)> = rx.iter().take(100).collect();
        assert_eq!(answers, (0..100).map(|i| (i, true)).collect::<Vec<_>>());
    }
}
