//! How this node orders and applies writes: the single-node local log, or the Raft groups of
//! a cluster. Connections and background tasks go through this one interface.

use bytes::Bytes;
use ringkv_protocol::Frame;
use ringkv_shard::Mutation;
use tokio::sync::oneshot;

use crate::cluster::{Cluster, Route, Written};
use crate::local_log::LocalLog;

/// The replies of proposed writes, in order: known at once when the proposer applied them
/// itself, or to arrive once they are applied.
pub(crate) enum Proposed {
    /// Applied by the proposing task; nothing left to wait for.
    Done(Vec<Frame>),
    /// Applied by another task, which sends the replies of these `count` writes.
    Waiting {
        count: usize,
        rx: oneshot::Receiver<Vec<Frame>>,
    },
    /// One write proposed to a shard's Raft group.
    Replicated(Written),
    /// One write proposed to several shards, answered as one.
    Spread(oneshot::Receiver<Frame>),
}

/// The reply to a write whose outcome never came back (its applier or group went away).
pub(crate) fn not_applied() -> Frame {
    Frame::error("ERR write was not applied")
}

impl Proposed {
    /// The replies, once they are known.
    pub async fn replies(self) -> Vec<Frame> {
        match self {
            Proposed::Done(frames) => frames,
            Proposed::Waiting { count, rx } => rx
                .await
                .unwrap_or_else(|_| (0..count).map(|_| not_applied()).collect()),
            Proposed::Replicated(written) => vec![written.reply().await],
            Proposed::Spread(rx) => vec![rx.await.unwrap_or_else(|_| not_applied())],
        }
    }

    /// The reply of a single write.
    pub async fn reply(self) -> Frame {
        self.replies().await.pop().unwrap_or_else(not_applied)
    }
}

/// The write path of this node.
pub(crate) enum Replication {
    /// One node: a local log with group commit.
    Local(LocalLog),
    /// A cluster member: each shard a Raft group.
    Cluster(Cluster),
}

impl Replication {
    /// Proposes `mutation` (for the shard of `route`, or every shard this node serves).
    pub fn propose(&self, route: Option<Route>, mutation: Mutation, now: u64) -> Proposed {
        let mut proposed = self.propose_all([(route, mutation)], now);
        proposed.pop().expect("one proposal for one write")
    }

    /// Proposes `writes` in order, as one group where the log allows.
    pub fn propose_all(
        &self,
        writes: impl IntoIterator<Item = (Option<Route>, Mutation)>,
        now: u64,
    ) -> Vec<Proposed> {
        match self {
            Replication::Local(log) => {
                vec![log.propose_all(writes.into_iter().map(|(_, m)| m), now)]
            }
            Replication::Cluster(cluster) => writes
                .into_iter()
                .map(|(route, mutation)| match route {
                    Some(route) => Proposed::Replicated(cluster.propose(route, mutation, now)),
                    None => Proposed::Spread(cluster.propose_to_led(mutation, now)),
                })
                .collect(),
        }
    }

    /// Position of the last write whose effects may be seen (single node); 0 in a cluster,
    /// where everything applied is already committed.
    pub fn visible(&self) -> u64 {
        match self {
            Replication::Local(log) => log.visible(),
            Replication::Cluster(_) => 0,
        }
    }

    /// Waits until writes up to `position` are durable; false if they never will be.
    pub async fn wait_durable(&self, position: u64) -> bool {
        match self {
            Replication::Local(log) => log.wait_durable(position).await,
            Replication::Cluster(_) => true,
        }
    }

    /// Deletes expired `keys` through the log; how many were deleted.
    pub async fn delete_expired(&self, keys: Vec<Bytes>, now: u64) -> u64 {
        match self {
            Replication::Local(log) => {
                match log
                    .propose_all([Mutation::DeleteExpired { keys }], now)
                    .reply()
                    .await
                {
                    Frame::Integer(n) => n.max(0) as u64,
                    _ => 0,
                }
            }
            Replication::Cluster(cluster) => cluster.delete_expired(keys, now).await,
        }
    }

    /// The cluster, when this node is part of one.
    pub fn cluster(&self) -> Option<&Cluster> {
        match self {
            Replication::Cluster(c) => Some(c),
            Replication::Local(_) => None,
        }
    }
}
