//! Measures of shard maps: how evenly they load the nodes, and how many replicas a change
//! of map moves, against the least any map could move.
//!
//! A moved replica is one a node must copy: a (shard, node) pair in the new map that the old
//! map did not have. Changing only a set's order (its preferred leader) moves nothing.

use std::collections::BTreeMap;

use super::fair::{band, FairShares, NodeShare};
use super::topology::Topology;
use super::{NodeSpec, PlacementError, ShardMap};

/// How much of a map one node carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Load {
    /// Replicas it holds.
    pub replicas: usize,
    /// Shards it is the preferred leader of.
    pub leaders: usize,
}

/// Every node's load in `map`, by node id; nodes the map does not use are absent.
pub fn loads(map: &ShardMap) -> BTreeMap<u64, Load> {
    let mut loads: BTreeMap<u64, Load> = BTreeMap::new();
    for set in map.iter() {
        for (position, &id) in set.iter().enumerate() {
            let load = loads.entry(id).or_default();
            load.replicas += 1;
            load.leaders += usize::from(position == 0);
        }
    }
    loads
}

/// The largest ratio of a node's replicas to its fair share: 1.0 is perfect balance, 1.5
/// means some node holds half again its share. This is the weighted max/mean load.
pub fn max_load_ratio(map: &ShardMap, fair: &FairShares) -> f64 {
    max_ratio(map, fair, |load| load.replicas, |share| share.replicas)
}

/// The same ratio for preferred leaders.
pub fn max_leader_ratio(map: &ShardMap, fair: &FairShares) -> f64 {
    max_ratio(map, fair, |load| load.leaders, |share| share.leaders)
}

fn max_ratio(
    map: &ShardMap,
    fair: &FairShares,
    load_of: impl Fn(&Load) -> usize,
    share_of: impl Fn(&NodeShare) -> f64,
) -> f64 {
    let loads = loads(map);
    fair.nodes()
        .iter()
        .map(|share| {
            let load = loads.get(&share.id).map_or(0, &load_of) as f64;
            match share_of(share) {
                s if s > 0.0 => load / s,
                _ if load > 0.0 => f64::INFINITY,
                _ => 0.0,
            }
        })
        .fold(0.0, f64::max)
}

/// Replicas `after` has that `before` did not: the copies needed to go from one to the other.
pub fn moved_replicas(before: &ShardMap, after: &ShardMap) -> usize {
    (0..after.shard_count())
        .map(|s| {
            let old = before.replicas(s);
            after
                .replicas(s)
                .iter()
                .filter(|id| !old.contains(id))
                .count()
        })
        .sum()
}

/// The fewest replicas any valid map of the cluster `after` must add to `before`: each shard
/// needs R replicas (capped at the node count) on distinct nodes, in distinct zones when there
/// are at least R zones, and can keep only those on nodes still in the cluster, one per zone.
/// When a node leaves, this is the replicas it held (plus any a change of rules forces).
pub fn required_moves(
    before: &ShardMap,
    after: &[NodeSpec],
    shards: u32,
    replicas: usize,
) -> Result<usize, PlacementError> {
    let topology = Topology::new(after, shards, replicas)?;
    Ok((0..topology.shards())
        .map(|shard| {
            let mut kept: Vec<usize> = before
                .replicas(shard)
                .iter()
                .filter_map(|&id| topology.index_of(id))
                .map(|i| match topology.zones_distinct() {
                    true => topology.zone(i),
                    false => i,
                })
                .collect();
            kept.sort_unstable();
            kept.dedup();
            topology.replicas().saturating_sub(kept.len())
        })
        .sum())
}

/// The fewest replicas a balanced map can move when node `joined` joins, giving `after`:
/// at least the least it can hold while within tolerance of its fair share, and at least
/// what [`required_moves`] demands.
pub fn ideal_join_moves(
    before: &ShardMap,
    after: &[NodeSpec],
    joined: u64,
    shards: u32,
    replicas: usize,
) -> Result<usize, PlacementError> {
    let fair = FairShares::new(after, shards, replicas)?;
    let least_share = fair.get(joined).map_or(0, |share| band(share.replicas).0);
    Ok(least_share.max(required_moves(before, after, shards, replicas)?))
}

/// The fewest replicas a map of `after` that keeps every node within tolerance of its fair
/// share must add to `before`: at least [`required_moves`], and at least what the nodes below
/// their tolerance band need to reach it. When a change of cluster shifts fair shares a lot
/// (a zone appears or disappears, a heavy node leaves a small cluster), balance alone can
/// demand far more than the replicas a leaving node held.
pub fn balanced_minimum_moves(
    before: &ShardMap,
    after: &[NodeSpec],
    shards: u32,
    replicas: usize,
) -> Result<usize, PlacementError> {
    let fair = FairShares::new(after, shards, replicas)?;
    let loads = loads(before);
    let to_reach_bands: usize = fair
        .nodes()
        .iter()
        .map(|share| {
            let held = loads.get(&share.id).map_or(0, |l| l.replicas);
            band(share.replicas).0.saturating_sub(held)
        })
        .sum();
    Ok(to_reach_bands.max(required_moves(before, after, shards, replicas)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::NodeSpec;

    #[test]
    fn loads_and_moves_count_replicas_and_leaders() {
        let before = ShardMap::new(vec![vec![1, 2], vec![2, 3]]);
        let after = ShardMap::new(vec![vec![2, 1], vec![4, 3]]);
        assert_eq!(moved_replicas(&before, &after), 1);
        let loads = loads(&after);
        assert_eq!(
            loads[&2],
            Load {
                replicas: 1,
                leaders: 1
            }
        );
        assert_eq!(
            loads[&3],
            Load {
                replicas: 1,
                leaders: 0
            }
        );
    }

    #[test]
    fn ratios_compare_loads_with_weighted_shares() {
        let nodes = [NodeSpec::new(1, 1, "z"), NodeSpec::new(2, 3, "z")];
        let fair = FairShares::new(&nodes, 4, 1).unwrap();
        let map = ShardMap::new(vec![vec![1], vec![1], vec![2], vec![2]]);
        assert_eq!(max_load_ratio(&map, &fair), 2.0);
        assert_eq!(max_leader_ratio(&map, &fair), 2.0);
    }

    #[test]
    fn ideal_moves_are_the_joiners_share_and_the_leavers_replicas() {
        let nodes: Vec<NodeSpec> = (1..=4).map(|id| NodeSpec::new(id, 1, "z")).collect();
        let before = ShardMap::new(vec![vec![1, 2]; 8]);
        assert_eq!(ideal_join_moves(&before, &nodes, 4, 8, 2).unwrap(), 3);
        let before = ShardMap::new(vec![vec![1, 3], vec![1, 2]]);
        assert_eq!(required_moves(&before, &nodes[..2], 2, 2).unwrap(), 1);
    }

    #[test]
    fn required_moves_count_a_zone_held_twice_once() {
        let nodes = [
            NodeSpec::new(1, 1, "a"),
            NodeSpec::new(2, 1, "a"),
            NodeSpec::new(3, 1, "b"),
        ];
        let before = ShardMap::new(vec![vec![1, 2]]);
        assert_eq!(required_moves(&before, &nodes, 1, 2).unwrap(), 1);
        assert_eq!(required_moves(&before, &nodes[..2], 1, 2).unwrap(), 0);
    }
}
