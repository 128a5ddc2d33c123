//! Sharing read barriers: every linearizable read on a leader needs a quorum to confirm the
//! leadership after the read arrived. Reads that arrive while a confirmation is under way
//! wait for the next one together, so a burst of reads costs two round trips, not one each.

use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::oneshot;

type Waiter<E> = oneshot::Sender<Result<(), E>>;

struct Queue<E> {
    running: bool,
    waiting: Vec<Waiter<E>>,
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
            })),
        }
    }
}

impl<E: Clone + Send + 'static> ReadBatch<E> {
    /// Waits for a run of `barrier` that started after this call, started by whichever caller
    /// finds none running; `gone` is the answer if the runner disappears.
    pub async fn wait<F, Fut>(&self, barrier: F, gone: E) -> Result<(), E>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut queue = self.queue.lock();
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
        let result = barrier().await;
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
                tokio::spawn(async move { batch.wait(barrier, "gone".to_owned()).await })
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
        batch.wait(barrier, "gone".to_owned()).await.unwrap();
        assert_eq!(
            runs.load(Ordering::SeqCst),
            n + 1,
            "a later reader gets a fresh barrier"
        );
    }

    #[tokio::test]
    async fn a_failed_barrier_fails_every_reader_it_covered() {
        let batch: ReadBatch<String> = ReadBatch::default();
        let result = batch
            .wait(|| async { Err("no quorum".to_owned()) }, "gone".to_owned())
            .await;
        assert_eq!(result, Err("no quorum".to_owned()));
    }
}
