//! The cluster layer of ringkv: deciding which nodes hold which shard replicas.
//!
//! For now this is placement alone ([`placement`]): a pure, deterministic function from a
//! cluster description (nodes, weights, zones) and the current shard map to a target shard
//! map, with the metrics and the simulator that compare its strategies. It does no I/O and
//! knows nothing of Raft; the meta group that stores the map and the rebalancer that moves
//! replicas toward it are separate concerns that build on it.

pub mod placement;

pub use placement::{NodeSpec, PlacementError, ShardMap, Strategy};
