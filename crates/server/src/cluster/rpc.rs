//! Cluster administration between nodes, over the cluster port's admin requests: joining,
//! changing the cluster state, reporting in to the meta leader, and asking a shard's leader
//! to change the shard's voters.

use std::collections::BTreeMap;
use std::time::Duration;

use ringkv_cluster::MetaCommand;
use ringkv_protocol::Frame;
use ringkv_raft::{NodeAddr, RaftNode};
use serde::{Deserialize, Serialize};

/// How long an admin request may take before the caller gives up (a voter change waits for
/// new replicas to catch up, so it gets longer).
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A request one node sends another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Change the cluster state (forwarded to the meta leader).
    Meta(MetaCommand),
    /// A node is up; which shards it leads. Answered by the meta leader with [`Reply::Leaders`].
    Report {
        /// The reporting node.
        node: u64,
        /// The shards it leads.
        leads: Vec<u32>,
    },
    /// The rebalancer's status as JSON (meta leader).
    Status,
    /// Make `voters` the voters of `shard` (its leader).
    ChangeVoters {
        /// Shard.
        shard: u32,
        /// Its voters after the change.
        voters: BTreeMap<u64, NodeAddr>,
    },
    /// Start an election in this node's replica of `shard`, to take its leadership.
    Campaign {
        /// Shard.
        shard: u32,
    },
    /// Hand the leadership of `shard` to node `to` once it has every entry (its leader).
    HandOff {
        /// Shard.
        shard: u32,
        /// The node to lead it.
        to: u64,
    },
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Reply {
    /// The reply of the applied meta command, or the status JSON.
    Frame(Frame),
    /// The leader of every shard, as the meta leader last heard.
    Leaders(Vec<(u32, u64)>),
    /// Done.
    Done,
    /// This node cannot answer: it does not lead the group asked; the cluster address of
    /// the node that does, if known.
    NotLeader(Option<String>),
    /// It failed.
    Failed(String),
}

/// Sends `request` to the node at cluster address `addr`.
pub async fn call(raft: &RaftNode, addr: &str, request: &Request, timeout: Duration) -> Reply {
    let payload = bincode::serialize(request).expect("admin requests serialize");
    match raft.call_admin(addr, &payload, timeout).await {
        Ok(bytes) => bincode::deserialize(&bytes)
            .unwrap_or_else(|e| Reply::Failed(format!("bad admin reply from {addr}: {e}"))),
        Err(e) => Reply::Failed(e.to_string()),
    }
}
