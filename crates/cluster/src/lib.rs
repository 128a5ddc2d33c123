//! The cluster layer of ringkv: what the meta group agrees on and where replicas go.
//!
//! - [`meta`]: the cluster state (members, shard map, rebalancer settings) and the commands
//!   that change it, applied deterministically by every member of the meta group;
//! - [`placement`]: a pure, deterministic function from a cluster description (nodes,
//!   weights, zones) and the current shard map to a target shard map, with the metrics and
//!   the simulator that compare its strategies;
//! - [`rebalance`]: the moves that take the current map to the target.
//!
//! Nothing here does I/O or knows of Raft: the server carries the moves out.

pub mod meta;
pub mod placement;
pub mod rebalance;

pub use meta::{ClusterState, MetaCommand, MetaReply, NodeInfo, NodeState, ShardState};
pub use placement::{NodeSpec, PlacementError, ShardMap, Strategy};
pub use rebalance::{plan, Move};
