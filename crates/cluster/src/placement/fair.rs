//! Fair shares: how many replicas and leaders each node should hold.
//!
//! The naive fair share of a node is `S × R × weight / total weight`. It is not always
//! reachable: a node holds at most one replica of a shard, so at most S replicas, and when
//! there are at least R zones a zone also holds at most one replica of each shard, so at
//! most S. The fair share used here is the naive one with those caps applied by water-filling:
//! a capped zone (or node) gets exactly S, and what is left is split by weight among the
//! others, repeatedly until nobody exceeds a cap. Within a zone, replicas are split by weight.
//! Leaders are shared the same way, `S × weight / total weight`, water-filled with a node's
//! replica share (rounded up) as its cap, since it can only lead shards it holds.
//!
//! A node is balanced when its load is within [`tolerance`] of its share. Shares are computed
//! on exact fractions of integers, so every node of the meta group gets the same numbers.

use super::topology::Topology;
use super::{NodeSpec, PlacementError};

/// One node's fair shares.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeShare {
    /// The node's id.
    pub id: u64,
    /// Replicas it should hold.
    pub replicas: f64,
    /// Shards it should lead.
    pub leaders: f64,
}

/// The fair shares of every node of a cluster, in node id order.
#[derive(Clone, Debug, PartialEq)]
pub struct FairShares {
    nodes: Vec<NodeShare>,
}

impl FairShares {
    /// The fair shares for `shards` shards of `replicas` replicas over `nodes`.
    pub fn new(
        nodes: &[NodeSpec],
        shards: u32,
        replicas: usize,
    ) -> Result<FairShares, PlacementError> {
        Ok(FairShares::of(&Topology::new(nodes, shards, replicas)?))
    }

    /// The fair shares of the nodes of `topology`, by node index.
    pub(crate) fn of(topology: &Topology) -> FairShares {
        let groups = groups(topology);
        let cap = topology.shards() as u128;
        let items: Vec<(u128, u128)> = groups
            .iter()
            .map(|members| (members.iter().map(|&i| weight(topology, i)).sum(), cap))
            .collect();
        let total = (topology.shards() * topology.replicas()) as u128;
        let mut replicas = vec![Ratio { num: 0, den: 1 }; topology.len()];
        for (members, rate) in groups.iter().zip(water_fill(total, &items)) {
            for &i in members {
                replicas[i] = rate.times(weight(topology, i));
            }
        }
        let items: Vec<(u128, u128)> = (0..topology.len())
            .map(|i| (weight(topology, i), replicas[i].ceil()))
            .collect();
        let leaders = water_fill(topology.shards() as u128, &items);
        let nodes = (0..topology.len())
            .map(|i| NodeShare {
                id: topology.node(i).id,
                replicas: replicas[i].to_f64(),
                leaders: leaders[i].times(items[i].0).to_f64(),
            })
            .collect();
        FairShares { nodes }
    }

    /// Every node's shares, in node id order.
    pub fn nodes(&self) -> &[NodeShare] {
        &self.nodes
    }

    /// The shares of node `id`, if it is in the cluster.
    pub fn get(&self, id: u64) -> Option<&NodeShare> {
        self.nodes
            .binary_search_by_key(&id, |n| n.id)
            .ok()
            .map(|i| &self.nodes[i])
    }
}

/// How far from its fair share `share` a node may be and still count as balanced: 5%, or
/// one whole replica when that is more (loads are whole numbers).
pub fn tolerance(share: f64) -> f64 {
    (share * 0.05).max(1.0)
}

/// The whole-number loads within tolerance of `share`: `(lowest, highest)`.
pub(crate) fn band(share: f64) -> (usize, usize) {
    let slack = tolerance(share);
    (
        (share - slack).ceil().max(0.0) as usize,
        (share + slack).floor() as usize,
    )
}

/// A non-negative fraction `num / den`, `den > 0`.
#[derive(Clone, Copy, Debug)]
struct Ratio {
    num: u128,
    den: u128,
}

impl Ratio {
    fn times(self, k: u128) -> Ratio {
        Ratio {
            num: self.num * k,
            den: self.den,
        }
    }

    fn ceil(self) -> u128 {
        self.num.div_ceil(self.den)
    }

    fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

fn weight(topology: &Topology, node: usize) -> u128 {
    u128::from(topology.node(node).weight)
}

/// The sets of nodes that share one cap of S replicas: zones when zones must be distinct,
/// otherwise each node alone.
pub(crate) fn groups(topology: &Topology) -> Vec<Vec<usize>> {
    if topology.zones_distinct() {
        let mut zones = vec![Vec::new(); topology.zone_count()];
        for i in 0..topology.len() {
            zones[topology.zone(i)].push(i);
        }
        zones
    } else {
        (0..topology.len()).map(|i| vec![i]).collect()
    }
}

/// Splits `total` among `(weight, cap)` items in proportion to weight, no item above its
/// cap: returns each item's share per unit of weight. `total` must not exceed the caps' sum.
fn water_fill(total: u128, items: &[(u128, u128)]) -> Vec<Ratio> {
    let mut capped = vec![false; items.len()];
    loop {
        let capped_total: u128 = (0..items.len())
            .filter(|&i| capped[i])
            .map(|i| items[i].1)
            .sum();
        let left = total - capped_total;
        let free_weight: u128 = (0..items.len())
            .filter(|&i| !capped[i])
            .map(|i| items[i].0)
            .sum();
        let over: Vec<usize> = (0..items.len())
            .filter(|&i| !capped[i] && left * items[i].0 > items[i].1 * free_weight)
            .collect();
        if over.is_empty() {
            return (0..items.len())
                .map(|i| match capped[i] {
                    true => Ratio {
                        num: items[i].1,
                        den: items[i].0,
                    },
                    false => Ratio {
                        num: left,
                        den: free_weight.max(1),
                    },
                })
                .collect();
        }
        for i in over {
            capped[i] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares(nodes: &[NodeSpec], shards: u32, replicas: usize) -> Vec<(f64, f64)> {
        let fair = FairShares::new(nodes, shards, replicas).unwrap();
        fair.nodes()
            .iter()
            .map(|n| (n.replicas, n.leaders))
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn shares_follow_weight() {
        let nodes: Vec<NodeSpec> = (1..=4)
            .map(|id| NodeSpec::new(id, id as u32, "z"))
            .collect();
        let shares = shares(&nodes, 100, 2);
        assert!(close(shares[0].0, 20.0) && close(shares[3].0, 80.0));
        assert!(close(shares[0].1, 10.0) && close(shares[3].1, 40.0));
    }

    #[test]
    fn a_node_never_gets_more_than_one_replica_per_shard() {
        let nodes = [
            NodeSpec::new(1, 8, "z"),
            NodeSpec::new(2, 1, "z"),
            NodeSpec::new(3, 1, "z"),
            NodeSpec::new(4, 1, "z"),
        ];
        let shares = shares(&nodes, 10, 2);
        assert!(close(shares[0].0, 10.0));
        assert!(close(shares[1].0, 10.0 / 3.0));
    }

    #[test]
    fn a_zone_gets_at_most_one_replica_per_shard_when_zones_are_distinct() {
        let nodes = [
            NodeSpec::new(1, 4, "a"),
            NodeSpec::new(2, 4, "a"),
            NodeSpec::new(3, 1, "b"),
            NodeSpec::new(4, 1, "c"),
        ];
        let replicas: Vec<f64> = shares(&nodes, 64, 3).iter().map(|s| s.0).collect();
        assert_eq!(replicas, [32.0, 32.0, 64.0, 64.0]);
    }

    #[test]
    fn leaders_are_capped_by_what_a_node_holds() {
        let nodes = [NodeSpec::new(1, 3, "z"), NodeSpec::new(2, 1, "z")];
        assert_eq!(shares(&nodes, 64, 1), [(48.0, 48.0), (16.0, 16.0)]);
        assert_eq!(shares(&nodes, 64, 2), [(64.0, 48.0), (64.0, 16.0)]);
        let fair = FairShares::new(&nodes, 64, 2).unwrap();
        assert_eq!(fair.get(2).map(|n| n.leaders), Some(16.0));
        assert_eq!(fair.get(3), None);
    }

    #[test]
    fn the_band_is_five_percent_or_one_replica() {
        assert_eq!(tolerance(10.0), 1.0);
        assert_eq!(tolerance(100.0), 5.0);
        assert_eq!(band(100.0), (95, 105));
        assert_eq!(band(10.0), (9, 11));
        assert_eq!(band(38.4), (37, 40));
        assert_eq!(band(0.5), (0, 1));
    }
}
