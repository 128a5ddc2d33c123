//! Placement: which nodes hold the replicas of each shard.
//!
//! A cluster has S shards, each replicated on R nodes (R capped at the number of nodes).
//! Placement is a pure function of the cluster description — every node's id, weight and
//! zone — and, for strategies that care, the current [`ShardMap`]; it returns the target map.
//! It does no I/O and is deterministic: the same input always gives the same map, whatever
//! the order of the nodes, so every meta-group member computes the same plan.
//!
//! Every replica set it returns has min(R, N) distinct nodes, in distinct zones whenever the
//! cluster has at least that many zones. The first replica of a set is its preferred leader.
//!
//! Three [`Strategy`]s, compared by the simulator in [`sim`]:
//! - `ketama` (`ketama.rs`): weighted virtual nodes on a hash ring;
//! - `jump` (`jump.rs`): jump consistent hash over weighted buckets;
//! - `balanced` (`balanced.rs`, with `targets.rs` and `leaders.rs`), the default: every node
//!   within 5% (or one replica) of its weighted fair share, moving as few replicas as it can
//!   from the current map, and preferred leaders balanced the same way.
//!
//! What "fair share" means, with the one-replica-per-node and one-replica-per-zone caps, is
//! in [`fair`]; the measures of balance and movement are in [`metrics`]. Carrying out a new
//! map (learners, catch-up, membership changes) is the rebalancer's job, not this module's.
//! `docs/placement.md` compares the strategies with the simulator's numbers.

mod balanced;
pub mod fair;
mod hash;
mod jump;
mod ketama;
mod leaders;
pub mod metrics;
mod preference;
pub mod sim;
mod targets;
mod topology;

#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Serialize};

use topology::Topology;

/// The most shards a cluster can have: one per Redis Cluster slot.
pub const MAX_SHARDS: u32 = 16384;

/// The largest node weight. Weights are relative, so this is a bound on the ratio between
/// the largest and the smallest node; it also bounds the hash ring and the jump buckets.
pub const MAX_WEIGHT: u32 = 1000;

/// One node as placement sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// The node's id, unique in the cluster.
    pub id: u64,
    /// Relative capacity, from 1 to [`MAX_WEIGHT`]: a node of weight 2 should hold twice the
    /// replicas of a node of weight 1.
    pub weight: u32,
    /// Failure domain (rack, availability zone); replicas of a shard go to distinct zones.
    pub zone: String,
}

impl NodeSpec {
    /// A node with the given id, weight and zone.
    pub fn new(id: u64, weight: u32, zone: impl Into<String>) -> NodeSpec {
        NodeSpec {
            id,
            weight,
            zone: zone.into(),
        }
    }
}

/// For each shard id `0..S`, the nodes holding its replicas, the preferred leader first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMap {
    shards: Vec<Vec<u64>>,
}

impl ShardMap {
    /// A map from each shard's replica list, indexed by shard id.
    pub fn new(shards: Vec<Vec<u64>>) -> ShardMap {
        ShardMap { shards }
    }

    /// The number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The nodes holding `shard`, preferred leader first; empty for an unknown shard.
    pub fn replicas(&self, shard: usize) -> &[u64] {
        self.shards.get(shard).map_or(&[], Vec::as_slice)
    }

    /// Every shard's replica list, in shard id order.
    pub fn iter(&self) -> impl Iterator<Item = &[u64]> {
        self.shards.iter().map(Vec::as_slice)
    }
}

/// Why a placement could not be computed: the cluster description is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// The node list is empty.
    #[error("no nodes to place replicas on")]
    NoNodes,
    /// Two nodes share an id.
    #[error("node id {0} appears more than once")]
    DuplicateNode(u64),
    /// A node's weight is 0 or above [`MAX_WEIGHT`].
    #[error("node {0} has weight {1}; weights are between 1 and {MAX_WEIGHT}")]
    Weight(u64, u32),
    /// The shard count is 0 or above [`MAX_SHARDS`].
    #[error("the shard count must be between 1 and {MAX_SHARDS}, not {0}")]
    ShardCount(u32),
    /// The replication factor is 0.
    #[error("shards need at least one replica")]
    NoReplicas,
    /// The balanced strategy found no node for a replica of this shard. Its targets are
    /// feasible by construction (see [`fair`]), so this is a bug, reported rather than panicking.
    #[error("internal error: no node can take a replica of shard {0}")]
    NoCandidate(usize),
}

/// A placement strategy: how replica sets are chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Weighted virtual nodes on a hash ring; ignores the current map.
    Ketama,
    /// Jump consistent hash over weighted buckets; ignores the current map.
    Jump,
    /// Every node within 5% (or one replica) of its fair share, moving the fewest replicas
    /// from the current map.
    #[default]
    Balanced,
}

impl Strategy {
    /// Every strategy, in the order the simulator reports them.
    pub const ALL: [Strategy; 3] = [Strategy::Ketama, Strategy::Jump, Strategy::Balanced];

    /// The strategy's name as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Ketama => "ketama",
            Strategy::Jump => "jump",
            Strategy::Balanced => "balanced",
        }
    }

    /// The target map for `shards` shards of `replicas` replicas each (capped at the number
    /// of nodes) over `nodes`. `current` is the map in force, if any: `balanced` keeps as
    /// much of it as it can; `ketama` and `jump` are stateless and ignore it.
    pub fn place(
        self,
        nodes: &[NodeSpec],
        shards: u32,
        replicas: usize,
        current: Option<&ShardMap>,
    ) -> Result<ShardMap, PlacementError> {
        let topology = Topology::new(nodes, shards, replicas)?;
        let sets = match self {
            Strategy::Ketama => ketama::place(&topology),
            Strategy::Jump => jump::place(&topology),
            Strategy::Balanced => balanced::place(&topology, current)?,
        };
        Ok(topology.to_map(sets))
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
