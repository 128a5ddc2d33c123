//! How this node orders and applies writes: the single-node local log, or the Raft groups of
//! a cluster. Connections and background tasks go through this one interface.

use bytes::Bytes;
use ringkv_protocol::Frame;
use ringkv_shard::Mutation;
use tokio::sync::oneshot;

use crate::cluster::{Cluster, Route};
use crate::local_log::LocalLog;

/// A proposed write's reply: known at once when the proposer applied it itself, or to
/// arrive once the write is applied and durable.
pub(crate) enum Proposed {
    /// Applied by the proposing task; nothing left to wait for.
    Done(Frame),
    /// Applied elsewhere; the reply comes through the channel.
    Waiting(oneshot::Receiver<Frame>),
}

impl Proposed {
    /// The reply, once it is known.
    pub async fn reply(self) -> Frame {
        match self {
            Proposed::Done(frame) => frame,
            Proposed::Waiting(rx) => rx
                .await
                .unwrap_or_else(|_| Frame::error("ERR write was not applied")),
        }
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
        match (self, route) {
            (Replication::Local(log), _) => log.propose(mutation, now),
            (Replication::Cluster(cluster), Some(route)) => {
                Proposed::Waiting(cluster.propose(route, mutation, now))
            }
            (Replication::Cluster(cluster), None) => {
                Proposed::Waiting(cluster.propose_to_led(mutation, now))
            }
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
                    .propose(Mutation::DeleteExpired { keys }, now)
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
