//! The placement simulator behind `ringkv cluster placement-sim`: for simulated clusters of
//! several sizes, how balanced each strategy's map is and how many replicas it moves when a
//! node joins or leaves, against the least any balanced map could move.
//!
//! A simulated cluster of N nodes is the first N of a fixed, seeded sequence of nodes (ids
//! 1, 2, …; weights all 1 or drawn from 1–4; zones `zone-0`, `zone-1`, … round-robin), so the
//! cluster of N + 1 nodes is the cluster of N plus one node, and a join is node N + 1
//! arriving. A leave is a node drawn at random (from the seed and N) departing; every
//! strategy sees the same one. Strategies that use the current map (`balanced`) start from
//! their own map of the N nodes.

use serde::Serialize;

use super::fair::FairShares;
use super::hash::mix;
use super::metrics::{
    ideal_join_moves, max_leader_ratio, max_load_ratio, moved_replicas, required_moves,
};
use super::{NodeSpec, PlacementError, Strategy};

/// The heaviest weight drawn by [`Weights::Random`].
pub const MAX_RANDOM_WEIGHT: u32 = 4;

/// How simulated nodes are weighted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weights {
    /// Every node weighs 1.
    Equal,
    /// Weights drawn uniformly from 1 to [`MAX_RANDOM_WEIGHT`].
    Random,
}

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The cluster sizes to report on; each must be at least 2 (one node leaves).
    pub node_counts: Vec<usize>,
    /// Shards in the cluster.
    pub shards: u32,
    /// Replicas per shard (capped at the number of nodes).
    pub replicas: usize,
    /// The strategies to compare.
    pub strategies: Vec<Strategy>,
    /// How nodes are weighted.
    pub weights: Weights,
    /// Zones the nodes are spread over, round-robin; at least 1.
    pub zones: usize,
    /// Seed of the weights and of which node leaves.
    pub seed: u64,
}

/// One strategy on one cluster size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimRow {
    /// The strategy.
    pub strategy: Strategy,
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Largest replicas / fair share over the nodes (1.0 is perfect).
    pub max_load_ratio: f64,
    /// Largest leaders / fair share over the nodes.
    pub max_leader_ratio: f64,
    /// Replicas moved when node `nodes + 1` joins.
    pub join_moved: usize,
    /// The least a balanced map moves on that join (see `metrics::ideal_join_moves`).
    pub join_ideal: usize,
    /// The node that leaves.
    pub leave_node: u64,
    /// Replicas moved when it leaves.
    pub leave_moved: usize,
    /// The least any map moves on that leave: the replicas it held that must be re-created
    /// (see `metrics::required_moves`).
    pub leave_ideal: usize,
}

/// Runs the simulation: one row per cluster size and strategy, sizes first.
pub fn simulate(config: &SimConfig) -> Result<Vec<SimRow>, PlacementError> {
    let largest = config.node_counts.iter().copied().max().unwrap_or(0);
    let all_nodes = sim_nodes(largest + 1, config.weights, config.zones, config.seed);
    let mut rows = Vec::new();
    for &count in &config.node_counts {
        let nodes = &all_nodes[..count];
        let grown = &all_nodes[..count + 1];
        let mut leave_rng = XorShift::new(config.seed ^ mix(count as u64));
        let leaving = nodes[leave_rng.below(count as u64) as usize].id;
        let shrunk: Vec<NodeSpec> = nodes.iter().filter(|n| n.id != leaving).cloned().collect();
        let fair = FairShares::new(nodes, config.shards, config.replicas)?;
        let (shards, replicas) = (config.shards, config.replicas);
        for &strategy in &config.strategies {
            let map = strategy.place(nodes, shards, replicas, None)?;
            let joined = strategy.place(grown, shards, replicas, Some(&map))?;
            let left = strategy.place(&shrunk, shards, replicas, Some(&map))?;
            rows.push(SimRow {
                strategy,
                nodes: count,
                max_load_ratio: max_load_ratio(&map, &fair),
                max_leader_ratio: max_leader_ratio(&map, &fair),
                join_moved: moved_replicas(&map, &joined),
                join_ideal: ideal_join_moves(&map, grown, grown[count].id, shards, replicas)?,
                leave_node: leaving,
                leave_moved: moved_replicas(&map, &left),
                leave_ideal: required_moves(&map, &shrunk, shards, replicas)?,
            });
        }
    }
    Ok(rows)
}

/// The first `count` nodes of the simulated sequence for `seed`.
pub fn sim_nodes(count: usize, weights: Weights, zones: usize, seed: u64) -> Vec<NodeSpec> {
    let mut rng = XorShift::new(seed);
    (0..count)
        .map(|i| {
            let weight = match weights {
                Weights::Equal => 1,
                Weights::Random => 1 + rng.below(u64::from(MAX_RANDOM_WEIGHT)) as u32,
            };
            NodeSpec::new(i as u64 + 1, weight, format!("zone-{}", i % zones.max(1)))
        })
        .collect()
}

/// xorshift64*: a tiny seeded generator, enough for simulations and tests (not for secrets).
#[derive(Clone, Debug)]
pub(crate) struct XorShift(u64);

impl XorShift {
    /// A generator for `seed`; every seed, 0 included, gives a distinct stream.
    pub(crate) fn new(seed: u64) -> XorShift {
        XorShift(mix(seed ^ 0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next number, uniform over `u64`.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`), with negligible bias for small `n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(strategies: Vec<Strategy>) -> SimConfig {
        SimConfig {
            node_counts: vec![3, 4, 8],
            shards: 32,
            replicas: 3,
            strategies,
            weights: Weights::Random,
            zones: 1,
            seed: 7,
        }
    }

    #[test]
    fn simulated_clusters_grow_by_one_node() {
        let small = sim_nodes(4, Weights::Random, 3, 9);
        let large = sim_nodes(5, Weights::Random, 3, 9);
        assert_eq!(small[..], large[..4]);
        assert_eq!(large[4].zone, "zone-1");
        assert!(large
            .iter()
            .all(|n| (1..=MAX_RANDOM_WEIGHT).contains(&n.weight)));
    }

    #[test]
    fn every_size_and_strategy_gets_a_row_and_runs_repeat() {
        let config = config(Strategy::ALL.to_vec());
        let rows = simulate(&config).unwrap();
        assert_eq!(rows.len(), 9);
        assert_eq!(rows, simulate(&config).unwrap());
        let balanced = rows.iter().filter(|r| r.strategy == Strategy::Balanced);
        for row in balanced {
            assert!(row.join_moved >= row.join_ideal, "{row:?}");
            assert!(row.leave_moved >= row.leave_ideal, "{row:?}");
        }
    }
}
