//! The replica loads `balanced` aims for: how many replicas each node should end with.
//!
//! A target must be within tolerance of the node's fair share (its band, see
//! [`super::fair`]); the targets must add up to S × R, and when zones must be
//! distinct no zone's targets may add up to more than S (nor a node's, ever). Within those rules a target is as
//! close as it can be to what the node holds now, because every replica above what a node
//! holds is a copy: first each node's holding clamped into its band, then, while the total
//! is too high, one off the node furthest above its share (relative to it), and while it is
//! too low, one onto the node furthest below — among those that can still grow by filling
//! an open slot directly, if any, since growing otherwise takes extra moves. From an empty map this gives every node its
//! share to within one; from a balanced map after a join it leaves old nodes alone as far as
//! their bands allow and gives the newcomer the least its band allows.
//!
//! Replica targets are always reachable: lay the S × R replicas out zone by zone and hand the
//! k-th one to shard k mod S; no zone has more than S, so no shard gets two of one zone.

use super::fair::{band, groups, FairShares};
use super::topology::Topology;

/// Replica targets of every node (by index), close to `held`. `reach` is how far each node
/// can grow by filling open slots directly (what it holds plus the open shards it fits):
/// growth goes to nodes below their reach first, since growing past it takes extra moves.
pub(crate) fn replica_targets(
    topology: &Topology,
    fair: &FairShares,
    held: &[usize],
    reach: &[usize],
) -> Vec<usize> {
    let shares: Vec<f64> = fair.nodes().iter().map(|n| n.replicas).collect();
    let zones = match topology.zones_distinct() {
        true => groups(topology),
        false => Vec::new(),
    };
    let total = topology.shards() * topology.replicas();
    settle(total, &shares, held, reach, &zones, topology.shards())
}

/// Loads adding up to `total`, each in its share's band and at most `cap` (one replica per
/// shard), each group's sum at most `cap`, as close to `held` as that allows, growing nodes
/// below their `reach` first.
fn settle(
    total: usize,
    shares: &[f64],
    held: &[usize],
    reach: &[usize],
    groups: &[Vec<usize>],
    cap: usize,
) -> Vec<usize> {
    let bands: Vec<(usize, usize)> = shares
        .iter()
        .map(|&share| {
            let (low, high) = band(share);
            (low.min(cap), high.min(cap))
        })
        .collect();
    let mut target: Vec<usize> = (0..shares.len())
        .map(|i| held[i].clamp(bands[i].0, bands[i].1))
        .collect();
    let mut group_of = vec![None; shares.len()];
    for (g, members) in groups.iter().enumerate() {
        for &i in members {
            group_of[i] = Some(g);
        }
        let sum = |target: &[usize]| members.iter().map(|&i| target[i]).sum::<usize>();
        while sum(&target) > cap {
            let Some(i) = most_loaded(members.iter().copied(), &target, shares, &bands) else {
                break;
            };
            target[i] -= 1;
        }
    }
    let mut group_sum = vec![0; groups.len()];
    for (i, g) in group_of.iter().enumerate() {
        if let Some(g) = g {
            group_sum[*g] += target[i];
        }
    }
    while target.iter().sum::<usize>() > total {
        let Some(i) = most_loaded(0..shares.len(), &target, shares, &bands) else {
            break;
        };
        target[i] -= 1;
        if let Some(g) = group_of[i] {
            group_sum[g] -= 1;
        }
    }
    while target.iter().sum::<usize>() < total {
        let open = (0..shares.len())
            .filter(|&i| target[i] < bands[i].1)
            .filter(|&i| group_of[i].is_none_or(|g| group_sum[g] < cap));
        let Some(i) = open.min_by(|&a, &b| {
            let ratio = |i: usize| target[i] as f64 / shares[i];
            (target[a] >= reach[a])
                .cmp(&(target[b] >= reach[b]))
                .then(ratio(a).total_cmp(&ratio(b)))
        }) else {
            break;
        };
        target[i] += 1;
        if let Some(g) = group_of[i] {
            group_sum[g] += 1;
        }
    }
    target
}

/// Among `nodes`, the one furthest above its share relative to it that is still above its
/// band's floor (ties to the first).
fn most_loaded(
    nodes: impl Iterator<Item = usize>,
    target: &[usize],
    shares: &[f64],
    bands: &[(usize, usize)],
) -> Option<usize> {
    nodes.filter(|&i| target[i] > bands[i].0).reduce(|best, i| {
        match (target[i] as f64 / shares[i]) > (target[best] as f64 / shares[best]) {
            true => i,
            false => best,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::NodeSpec;

    #[test]
    fn from_nothing_every_node_gets_its_share_to_within_one() {
        let nodes: Vec<NodeSpec> = (1..=5).map(|id| NodeSpec::new(id, 1, "z")).collect();
        let topology = Topology::new(&nodes, 64, 3).unwrap();
        let fair = FairShares::of(&topology);
        let targets = replica_targets(&topology, &fair, &[0; 5], &[64; 5]);
        assert_eq!(targets.iter().sum::<usize>(), 192);
        assert!(targets.iter().all(|&t| t == 38 || t == 39), "{targets:?}");
    }

    #[test]
    fn old_nodes_keep_what_their_band_allows_and_a_newcomer_gets_its_floor() {
        let nodes: Vec<NodeSpec> = (1..=11).map(|id| NodeSpec::new(id, 1, "z")).collect();
        let topology = Topology::new(&nodes, 1000, 1).unwrap();
        let fair = FairShares::of(&topology);
        let mut held = vec![100; 11];
        held[10] = 0;
        let targets = replica_targets(&topology, &fair, &held, &[1000; 11]);
        assert_eq!(targets[10], 87);
        assert!(targets[..10].iter().all(|t| (87..=100).contains(t)));
    }

    #[test]
    fn zones_never_exceed_one_replica_per_shard() {
        let nodes = [
            NodeSpec::new(1, 1, "a"),
            NodeSpec::new(2, 1, "a"),
            NodeSpec::new(3, 1, "b"),
            NodeSpec::new(4, 1, "c"),
        ];
        let topology = Topology::new(&nodes, 10, 3).unwrap();
        let fair = FairShares::of(&topology);
        let targets = replica_targets(&topology, &fair, &[6, 6, 9, 9], &[10; 4]);
        assert_eq!(targets[0] + targets[1], 10);
        assert_eq!(targets[2..], [10, 10]);
    }
}
