//! Property tests of placement over random clusters: 3–50 nodes, weights 1–4, 1–6 zones,
//! 16–256 shards, 1–5 replicas, each cluster also seen after a node joins and after a
//! random node leaves. A seeded xorshift draws them, so every run checks the same clusters.

use super::fair::{tolerance, FairShares};
use super::metrics::{
    balanced_minimum_moves, ideal_join_moves, loads, moved_replicas, required_moves,
};
use super::sim::XorShift;
use super::{NodeSpec, PlacementError, ShardMap, Strategy};

/// Random clusters checked by each property.
const CASES: usize = 150;

/// One random cluster, the same cluster plus a node, and the same cluster less a node.
struct Case {
    nodes: Vec<NodeSpec>,
    grown: Vec<NodeSpec>,
    shrunk: Vec<NodeSpec>,
    shards: u32,
    replicas: usize,
}

impl Case {
    fn random(rng: &mut XorShift) -> Case {
        let count = 3 + rng.below(48) as usize;
        let zones = 1 + rng.below(6);
        let mut id = 0;
        let mut node = |rng: &mut XorShift| {
            id += 1 + rng.below(5);
            let weight = 1 + rng.below(4) as u32;
            NodeSpec::new(id, weight, format!("z{}", rng.below(zones)))
        };
        let nodes: Vec<NodeSpec> = (0..count).map(|_| node(rng)).collect();
        let mut grown = nodes.clone();
        grown.push(node(rng));
        let mut shrunk = nodes.clone();
        shrunk.remove(rng.below(count as u64) as usize);
        Case {
            nodes,
            grown,
            shrunk,
            shards: [16, 64, 256][rng.below(3) as usize],
            replicas: 1 + rng.below(5) as usize,
        }
    }

    fn place(
        &self,
        strategy: Strategy,
        nodes: &[NodeSpec],
        current: Option<&ShardMap>,
    ) -> ShardMap {
        strategy
            .place(nodes, self.shards, self.replicas, current)
            .unwrap()
    }

    /// The map of the cluster, then after the join, then after the leave.
    fn maps(&self, strategy: Strategy) -> (ShardMap, ShardMap, ShardMap) {
        let map = self.place(strategy, &self.nodes, None);
        let joined = self.place(strategy, &self.grown, Some(&map));
        let left = self.place(strategy, &self.shrunk, Some(&map));
        (map, joined, left)
    }
}

fn cases(seed: u64) -> impl Iterator<Item = Case> {
    let mut rng = XorShift::new(seed);
    (0..CASES).map(move |_| Case::random(&mut rng))
}

/// Every shard has min(R, N) replicas on distinct nodes of the cluster, in distinct zones
/// when there are at least that many zones; `spans_zones` also asks every set to span
/// min(R, zones) zones.
fn assert_valid(
    map: &ShardMap,
    nodes: &[NodeSpec],
    shards: u32,
    replicas: usize,
    spans_zones: bool,
) {
    let want = replicas.min(nodes.len());
    let mut zone_names: Vec<&str> = nodes.iter().map(|n| n.zone.as_str()).collect();
    zone_names.sort_unstable();
    zone_names.dedup();
    assert_eq!(map.shard_count(), shards as usize);
    for set in map.iter() {
        assert_eq!(set.len(), want, "{set:?}");
        let mut zones: Vec<&str> = set
            .iter()
            .map(|id| {
                nodes
                    .iter()
                    .find(|n| n.id == *id)
                    .expect("a known node")
                    .zone
                    .as_str()
            })
            .collect();
        let mut ids = set.to_vec();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), want, "duplicate node in {set:?}");
        zones.sort_unstable();
        zones.dedup();
        if zone_names.len() >= want {
            assert_eq!(zones.len(), want, "zones repeat in {set:?}");
        }
        if spans_zones {
            assert_eq!(zones.len(), want.min(zone_names.len()), "{set:?}");
        }
    }
}

/// Every node's replicas and leaders are within tolerance of its fair shares.
fn assert_balanced(map: &ShardMap, nodes: &[NodeSpec], shards: u32, replicas: usize) {
    let fair = FairShares::new(nodes, shards, replicas).unwrap();
    let loads = loads(map);
    for share in fair.nodes() {
        let load = loads.get(&share.id).copied().unwrap_or_default();
        let off = |count: usize, share: f64| (count as f64 - share).abs() - tolerance(share);
        assert!(
            off(load.replicas, share.replicas) <= 0.0,
            "{share:?} {load:?}"
        );
        assert!(
            off(load.leaders, share.leaders) <= 0.0,
            "{share:?} {load:?}"
        );
    }
}

#[test]
fn every_replica_set_is_full_with_distinct_nodes_and_zones() {
    for case in cases(1) {
        for strategy in Strategy::ALL {
            let spans = strategy != Strategy::Balanced;
            let (map, joined, left) = case.maps(strategy);
            let (s, r) = (case.shards, case.replicas);
            assert_valid(&map, &case.nodes, s, r, spans);
            assert_valid(&joined, &case.grown, s, r, spans);
            assert_valid(&left, &case.shrunk, s, r, spans);
        }
    }
}

#[test]
fn placement_is_deterministic_and_ignores_node_order() {
    for case in cases(2).take(40) {
        let mut reversed = case.nodes.clone();
        reversed.reverse();
        for strategy in Strategy::ALL {
            let map = case.place(strategy, &case.nodes, None);
            assert_eq!(map, case.place(strategy, &case.nodes, None));
            assert_eq!(map, case.place(strategy, &reversed, None));
            let joined = case.place(strategy, &case.grown, Some(&map));
            assert_eq!(joined, case.place(strategy, &case.grown, Some(&map)));
        }
    }
}

#[test]
fn balanced_keeps_every_node_within_tolerance() {
    for case in cases(3) {
        let (s, r) = (case.shards, case.replicas);
        let (map, joined, left) = case.maps(Strategy::Balanced);
        assert_balanced(&map, &case.nodes, s, r);
        assert_balanced(&joined, &case.grown, s, r);
        assert_balanced(&left, &case.shrunk, s, r);
        let ketama = case.place(Strategy::Ketama, &case.nodes, None);
        let repaired = case.place(Strategy::Balanced, &case.nodes, Some(&ketama));
        assert_balanced(&repaired, &case.nodes, s, r);
        assert_valid(&repaired, &case.nodes, s, r, false);
    }
}

/// Balanced moves at most its lower bound plus R plus a quarter, and 5% more in all; see
/// docs/placement.md for what the slack comes from.
#[test]
fn balanced_moves_little_more_than_the_minimum() {
    let (mut moved, mut minimum) = (0, 0);
    for case in cases(4) {
        let (map, joined, left) = case.maps(Strategy::Balanced);
        let (s, r) = (case.shards, case.replicas);
        for (after, nodes) in [(&joined, &case.grown), (&left, &case.shrunk)] {
            let least = balanced_minimum_moves(&map, nodes, s, r).unwrap();
            let count = moved_replicas(&map, after);
            assert!(count >= least);
            assert!(count <= least + r + least / 4, "{count} > {least} + slack");
            moved += count;
            minimum += least;
        }
    }
    assert!(
        moved as f64 <= minimum as f64 * 1.05,
        "{moved} vs {minimum}"
    );
}

#[test]
fn ketama_moves_only_the_leavers_replicas_and_near_the_ideal_on_joins() {
    let (mut joined_moves, mut join_ideal) = (0, 0);
    for case in cases(5) {
        let (map, joined, left) = case.maps(Strategy::Ketama);
        let (s, r) = (case.shards, case.replicas);
        let required = required_moves(&map, &case.shrunk, s, r).unwrap();
        assert_eq!(moved_replicas(&map, &left), required);
        let new_id = case.grown.last().unwrap().id;
        joined_moves += moved_replicas(&map, &joined);
        join_ideal += ideal_join_moves(&map, &case.grown, new_id, s, r).unwrap();
    }
    assert!(
        joined_moves as f64 <= join_ideal as f64 * 1.25,
        "{joined_moves} vs {join_ideal}"
    );
}

#[test]
fn jump_moves_near_the_ideal_at_the_end_of_the_bucket_list_only() {
    let (mut end_moves, mut end_ideal, mut middle_moves, mut middle_ideal) = (0, 0, 0, 0);
    for case in cases(6) {
        let (map, joined, left) = case.maps(Strategy::Jump);
        let (s, r) = (case.shards, case.replicas);
        let new_id = case.grown.last().unwrap().id;
        end_moves += moved_replicas(&map, &joined);
        end_ideal += ideal_join_moves(&map, &case.grown, new_id, s, r).unwrap();
        let without_last = &case.nodes[..case.nodes.len() - 1];
        let left_last = case.place(Strategy::Jump, without_last, Some(&map));
        end_moves += moved_replicas(&map, &left_last);
        end_ideal += required_moves(&map, without_last, s, r).unwrap();
        middle_moves += moved_replicas(&map, &left);
        middle_ideal += required_moves(&map, &case.shrunk, s, r).unwrap();
    }
    assert!(
        end_moves as f64 <= end_ideal as f64 * 1.5,
        "{end_moves} vs {end_ideal}"
    );
    assert!(
        middle_moves > middle_ideal * 3,
        "{middle_moves} vs {middle_ideal}"
    );
}

#[test]
fn balanced_repairs_a_map_with_unknown_nodes_duplicates_and_missing_shards() {
    let nodes: Vec<NodeSpec> = (1..=6)
        .map(|id| NodeSpec::new(id, 1 + (id % 3) as u32, format!("z{}", id % 3)))
        .collect();
    let broken = ShardMap::new(vec![vec![1, 1, 2], vec![99, 3, 4, 5, 6], vec![1, 4]]);
    let map = Strategy::Balanced
        .place(&nodes, 8, 3, Some(&broken))
        .unwrap();
    assert_valid(&map, &nodes, 8, 3, false);
    assert_balanced(&map, &nodes, 8, 3);
    assert_eq!(map.replicas(0)[..2], [1, 2]);
}

#[test]
fn invalid_clusters_are_refused() {
    let node = |id, weight| NodeSpec::new(id, weight, "z");
    let place = |nodes: &[NodeSpec], shards, replicas| {
        Strategy::Balanced.place(nodes, shards, replicas, None)
    };
    assert_eq!(place(&[], 4, 1), Err(PlacementError::NoNodes));
    assert_eq!(
        place(&[node(1, 1), node(1, 2)], 4, 1),
        Err(PlacementError::DuplicateNode(1))
    );
    assert_eq!(
        place(&[node(1, 0)], 4, 1),
        Err(PlacementError::Weight(1, 0))
    );
    assert_eq!(
        place(&[node(1, 1)], 0, 1),
        Err(PlacementError::ShardCount(0))
    );
    assert_eq!(place(&[node(1, 1)], 4, 0), Err(PlacementError::NoReplicas));
    assert_eq!(place(&[node(1, 1)], 4, 3).unwrap().replicas(3), [1]);
}
