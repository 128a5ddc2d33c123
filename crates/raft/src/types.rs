//! The types every Raft group of a node shares: what a log entry carries (a [`Command`]),
//! what applying it answers ([`Replies`]), and how nodes and groups are named.

use std::fmt;
use std::sync::Arc;

use ringkv_cluster::MetaCommand;
use ringkv_protocol::Frame;
use ringkv_shard::Proposal;
use serde::{Deserialize, Serialize};

/// The meta group's id; shard `s` is group `s + 1`.
pub const META_GROUP: GroupId = 0;

/// The Raft group of shard `shard`.
pub fn shard_group(shard: u32) -> GroupId {
    shard + 1
}

/// What a log entry carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Writes to a shard (shard groups), applied in order: the proposals that reached the
    /// leader while earlier ones were being replicated travel as one entry. Shared, since an
    /// entry is read back for every follower and for applying it.
    Shard(Arc<[Proposal]>),
    /// A change to the cluster state (the meta group).
    Meta(MetaCommand),
}

/// What applying an entry answers: a reply per proposal of a [`Command::Shard`], one reply
/// for any other entry.
pub type Replies = Vec<Frame>;

/// A node's identity in the cluster.
pub type NodeId = u64;

/// A Raft group's identity: [`META_GROUP`] or a shard's [`shard_group`].
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
    /// The Raft type configuration of every ringkv group.
    pub TypeConfig:
        D = Command,
        R = Replies,
        NodeId = NodeId,
        Node = NodeAddr,
        SnapshotData = tokio::fs::File,
);

/// One group's Raft handle.
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
