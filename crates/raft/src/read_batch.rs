//! Sharing read barriers: every linearizable read on a leader needs a quorum to confirm the
//! leadership after the read arrived. Reads that arrive while a confirmation is under way
//! wait for the next one together, so a burst of reads costs two round trips, not one each;
//! and a read for which a confirmation that started after it arrived has already succeeded
//! needs none (the reads of one pipeline arrive together, but run one after another).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::oneshot;

type Waiter<E> = oneshot::Sender<Result<(), E>>;

struct Queue<E> {
    running: bool,
    waiting: Vec<Waiter<E>>,
    /// When the last barrier that succeeded started.
    confirmed_from: Option<Instant>,
}

/// Runs barriers one at a time; each covers every caller that arrived before it started.
pub struct ReadBatch<E> {
    queue: Arc<Mutex<Queue<E>>>,
}

impl<E> Default for ReadBatch<E> {
    fn default() -> Self {
        ReadBatch {
            queue: Arc::new(Mutex::new(Queue {
                running: false,
                waiting: Vec::new(),
                confirmed_from: None,
            })),
        }
    }
}

impl<E: Clone + Send + 'static> ReadBatch<E> {
    /// Waits for a run of `barrier` that started after the read `arrived`: one that already
    /// succeeded, or the next, started by whichever caller finds none running; `gone` is the
    /// answer if the runner disappears.
    pub async fn wait<F, Fut>(&self, arrived: Instant, barrier: F, gone: E) -> Result<(), E>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut queue = self.queue.lock();
            if queue.confirmed_from.is_some_and(|from| from >= arrived) {
                return Ok(());
            }
            queue.waiting.push(tx);
            !std::mem::replace(&mut queue.running, true)
        };
        if start {
            tokio::spawn(run(self.queue.clone(), barrier));
        }
        rx.await.unwrap_or(Err(gone))
    }
}

async fn run<E: Clone, F, Fut>(queue: Arc<Mutex<Queue<E>>>, barrier: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    loop {
        let batch = {
            let mut queue = queue.lock();
            if queue.waiting.is_empty() {
                queue.running = false;
                return;
            }
            std::mem::take(&mut queue.waiting)
        };
        let started = Instant::now();
        let result = barrier().await;
        if result.is_ok() {
            let mut queue = queue.lock();
            queue.confirmed_from = queue.confirmed_from.max(Some(started));
        }
        for waiter in batch {
            let _ = waiter.send(result.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_barriers_that_start_after_they_arrive() {
        let batch: Arc<ReadBatch<String>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let barrier = {
            let runs = runs.clone();
            move || {
                let runs = runs.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(())
                }
            }
        };
        let callers: Vec<_> = (0..50)
            .map(|_| {
                let (batch, barrier) = (batch.clone(), barrier.clone());
                tokio::spawn(
                    async move { batch.wait(Instant::now(), barrier, "gone".to_owned()).await },
                )
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.unwrap(), Ok(()));
        }
        let n = runs.load(Ordering::SeqCst);
        assert!(
            (1..=2).contains(&n),
            "{n} barriers for 50 concurrent readers"
        );
        let arrived = Instant::now();
        batch
            .wait(arrived, barrier.clone(), "gone".to_owned())
            .await
            .unwrap();
        assert_eq!(
            runs.load(Ordering::SeqCst),
            n + 1,
            "a later reader gets a fresh barrier"
        );
        batch
            .wait(arrived, barrier, "gone".to_owned())
            .await
            .unwrap();
        assert_eq!(
            runs.load(Ordering::SeqCst),
            n + 1,
            "a reader that arrived before a barrier that succeeded needs none"
        );
    }

    #[tokio::test]
    async fn a_failed_barrier_fails_every_reader_it_covered() {
        let batch: ReadBatch<String> = ReadBatch::default();
        let fail = || async { Err("no quorum".to_owned()) };
        let arrived = Instant::now();
        let result = batch.wait(arrived, fail, "gone".to_owned()).await;
        assert_eq!(result, Err("no quorum".to_owned()));
        let again = batch.wait(arrived, fail, "gone".to_owned()).await;
        assert_eq!(
            again,
            Err("no quorum".to_owned()),
            "a failed barrier confirms nothing"
        );
    }
}
