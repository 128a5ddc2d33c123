//! How this node orders and applies writes: the single-node local log, or the Raft groups of
//! a cluster. Connections and background tasks go through this one interface.

use bytes::Bytes;
use ringkv_protocol::Frame;
use ringkv_shard::Mutation;
use tokio::sync::oneshot;

use crate::cluster::{Cluster, Route};
use crate::local_log::LocalLog;

/// The write path of this node.
pub(crate) enum Replication {
    /// One node: a local log with group commit.
    Local(LocalLog),
    /// A cluster member: each shard a Raft group.
    Cluster(Cluster),
}

impl Replication {
    /// Proposes `mutation` (for the shard of `route`, or every shard this node serves).
    pub fn propose(
        &self,
        route: Option<Route>,
        mutation: Mutation,
        now: u64,
    ) -> oneshot::Receiver<Frame> {
        match (self, route) {
            (Replication::Local(log), _) => log.propose(mutation, now),
            (Replication::Cluster(cluster), Some(route)) => cluster.propose(route, mutation, now),
            (Replication::Cluster(cluster), None) => cluster.propose_to_led(mutation, now),
        }
    }

    /// Position of the last write readers may see (single node); 0 in a cluster, where
    /// everything applied is already committed.
    pub fn applied(&self) -> u64 {
        match self {
            Replication::Local(log) => log.applied(),
            Replication::Cluster(_) => 0,
        }
    }

    /// Waits until writes up to `position` are durable.
    pub async fn wait_durable(&self, position: u64) {
        if let Replication::Local(log) = self {
            log.wait_durable(position).await;
        }
    }

    /// Deletes expired `keys` through the log; how many were deleted.
    pub async fn delete_expired(&self, keys: Vec<Bytes>, now: u64) -> u64 {
        match self {
            Replication::Local(log) => {
                match log.propose(Mutation::DeleteExpired { keys }, now).await {
                    Ok(Frame::Integer(n)) => n.max(0) as u64,
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
