//! Batching a shard's writes: openraft 0.9 appends one client write at a time and waits for
//! its fsync before it takes the next, so writes handed to a group one by one cost one fsync
//! each, in a row. Here writes that arrive while earlier ones are under way wait in a queue
//! and go to the group together, as one entry ([`Command::Shard`]): a group makes one append
//! per batch, however many clients write to it.
//!
//! One sender task per group takes the whole queue and hands it to openraft, in the order
//! the writes were queued (so a connection's pipelined writes apply in the order it sent
//! them), with at most [`IN_FLIGHT`] batches handed over and not yet answered: while one is
//! replicated, the next is appended.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use openraft::raft::ClientWriteResult;
use parking_lot::Mutex;
use ringkv_protocol::Frame;
use ringkv_shard::Proposal;
use tokio::sync::{oneshot, OwnedRwLockReadGuard, OwnedSemaphorePermit, RwLock, Semaphore};

use crate::replica::{write_error, ReplicaError};
use crate::types::{Command, Raft, TypeConfig};

/// Batches handed to openraft and not yet answered, per group.
const IN_FLIGHT: usize = 2;
/// Largest batch, in encoded bytes of its proposals: keeps an entry well under the ~1 MiB
/// an append request carries.
const MAX_BATCH_BYTES: u64 = 256 * 1024;

type Waiter = oneshot::Sender<Result<Frame, ReplicaError>>;

/// A write waiting for its batch.
struct Queued {
    proposal: Proposal,
    bytes: u64,
    waiter: Waiter,
}

struct Queue {
    /// A sender task is running.
    sending: bool,
    waiting: VecDeque<Queued>,
}

/// The write queue of one shard replica.
pub(crate) struct WriteBatch {
    queue: Mutex<Queue>,
    in_flight: Arc<Semaphore>,
}

impl Default for WriteBatch {
    fn default() -> Self {
        WriteBatch {
            queue: Mutex::new(Queue {
                sending: false,
                waiting: VecDeque::new(),
            }),
            in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
        }
    }
}

/// What a sender needs of its replica.
pub(crate) struct Group {
    pub raft: Raft,
    /// Held shared by every batch until it is answered (see `Replica::hand_off`).
    pub gate: Arc<RwLock<()>>,
    /// How long a batch may take to be committed before its writes are `Unconfirmed`.
    pub timeout: Duration,
}

impl WriteBatch {
    /// Queues `proposal` now, behind every write queued before it; the receiver yields its
    /// reply once it is committed and applied. Starts a sender for `group` if none runs.
    pub fn propose(
        self: &Arc<Self>,
        proposal: Proposal,
        group: impl FnOnce() -> Group,
    ) -> oneshot::Receiver<Result<Frame, ReplicaError>> {
        let (waiter, rx) = oneshot::channel();
        let bytes = bincode::serialized_size(&proposal).unwrap_or(0);
        let start = {
            let mut queue = self.queue.lock();
            queue.waiting.push_back(Queued {
                proposal,
                bytes,
                waiter,
            });
            !std::mem::replace(&mut queue.sending, true)
        };
        if start {
            tokio::spawn(self.clone().send(group()));
        }
        rx
    }

    /// The writes of the next batch, or None (and no sender runs any longer) when none wait.
    fn take(&self) -> Option<Vec<Queued>> {
        let mut queue = self.queue.lock();
        if queue.waiting.is_empty() {
            queue.sending = false;
            return None;
        }
        let mut bytes = 0;
        let mut count = 0;
        for q in &queue.waiting {
            if count > 0 && bytes + q.bytes > MAX_BATCH_BYTES {
                break;
            }
            bytes += q.bytes;
            count += 1;
        }
        Some(queue.waiting.drain(..count).collect())
    }

    /// The sender: hands batches to the group in queue order while writes wait.
    async fn send(self: Arc<Self>, group: Group) {
        loop {
            let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
                return;
            };
            let Some(batch) = self.take() else {
                return;
            };
            let open = group.gate.clone().read_owned().await;
            let (proposals, waiters): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|q| (q.proposal, q.waiter)).unzip();
            match group
                .raft
                .client_write_ff(Command::Shard(proposals.into()))
                .await
            {
                Ok(answer) => {
                    tokio::spawn(answer_batch(answer, waiters, group.timeout, permit, open));
                }
                Err(fatal) => fail(waiters, ReplicaError::Unavailable(fatal.to_string())),
            }
        }
    }
}

/// Waits for a batch's replies and hands each to its writer; then lets the next batch go.
async fn answer_batch(
    answer: oneshot::Receiver<ClientWriteResult<TypeConfig>>,
    waiters: Vec<Waiter>,
    timeout: Duration,
    _permit: OwnedSemaphorePermit,
    _open: OwnedRwLockReadGuard<()>,
) {
    let replies = match tokio::time::timeout(timeout, answer).await {
        Err(_) => return fail(waiters, ReplicaError::Unconfirmed),
        Ok(Err(_)) => {
            let e = ReplicaError::Unavailable("the group stopped".to_owned());
            return fail(waiters, e);
        }
        Ok(Ok(Err(e))) => return fail(waiters, write_error(e)),
        Ok(Ok(Ok(response))) => response.data,
    };
    if replies.len() != waiters.len() {
        let e = ReplicaError::Unavailable("the batch was answered in part".to_owned());
        return fail(waiters, e);
    }
    for (waiter, reply) in waiters.into_iter().zip(replies) {
        let _ = waiter.send(Ok(reply));
    }
}

/// Answers every writer of a batch with `e`.
fn fail(waiters: Vec<Waiter>, e: ReplicaError) {
    for waiter in waiters {
        let _ = waiter.send(Err(e.clone()));
    }
}
