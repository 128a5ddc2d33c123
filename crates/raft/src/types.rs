//! The types every Raft group of a node shares: what a log entry carries (a shard
//! [`Proposal`]), what applying it answers (a RESP [`Frame`]), and how nodes are named.

use std::fmt;

use ringkv_protocol::Frame;
use ringkv_shard::Proposal;
use serde::{Deserialize, Serialize};

/// A node's identity in the cluster.
pub type NodeId = u64;

/// A Raft group's identity on a node: the shard number.
pub type GroupId = u32;

/// Where a node listens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAddr {
    /// `host:port` for Redis clients.
    pub client: String,
    /// `host:port` for other nodes (Raft traffic).
    pub cluster: String,
}

impl fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.client, self.cluster)
    }
}

openraft::declare_raft_types!(
    /// The Raft type configuration of a ringkv shard.
    pub TypeConfig:
        D = Proposal,
        R = Frame,
        NodeId = NodeId,
        Node = NodeAddr,
        SnapshotData = tokio::fs::File,
);

/// One shard's Raft group.
pub type Raft = openraft::Raft<TypeConfig>;
/// A log entry.
pub type Entry = openraft::Entry<TypeConfig>;
/// A log position.
pub type LogId = openraft::LogId<NodeId>;
/// A vote.
pub type Vote = openraft::Vote<NodeId>;
/// A group's membership as stored.
pub type StoredMembership = openraft::StoredMembership<NodeId, NodeAddr>;
/// Storage errors as openraft wants them.
pub type StorageError = openraft::StorageError<NodeId>;
/// Snapshot metadata.
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, NodeAddr>;
