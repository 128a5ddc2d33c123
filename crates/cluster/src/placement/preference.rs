//! Turning a preference order into a replica set, for the hashing strategies.
//!
//! `ketama` and `jump` each produce, for a shard, a sequence of candidate nodes (a walk round
//! the ring, a series of jumps). The replica set is read off that sequence in two passes:
//! first nodes of zones not yet used, until the set spans every zone or is full, then any
//! node not yet chosen. So a set has distinct zones whenever there are at least R zones, and
//! otherwise spans all of them.

use super::topology::Topology;

/// The first `topology.replicas()` distinct nodes of the preference order `walk`, zones
/// first. `walk` must yield every node at least once, so that a full set is always found.
pub(crate) fn pick_replicas<I>(topology: &Topology, walk: impl Fn() -> I) -> Vec<usize>
where
    I: Iterator<Item = usize>,
{
    let want = topology.replicas();
    let want_zones = want.min(topology.zone_count());
    let mut chosen: Vec<usize> = Vec::with_capacity(want);
    let mut zone_used = vec![false; topology.zone_count()];
    for node in walk() {
        if chosen.len() == want_zones {
            break;
        }
        if !zone_used[topology.zone(node)] {
            zone_used[topology.zone(node)] = true;
            chosen.push(node);
        }
    }
    for node in walk() {
        if chosen.len() == want {
            break;
        }
        if !chosen.contains(&node) {
            chosen.push(node);
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::NodeSpec;

    #[test]
    fn zones_come_first_then_distinct_nodes_in_walk_order() {
        let nodes = [
            NodeSpec::new(1, 1, "a"),
            NodeSpec::new(2, 1, "a"),
            NodeSpec::new(3, 1, "b"),
            NodeSpec::new(4, 1, "b"),
        ];
        let topology = Topology::new(&nodes, 1, 3).unwrap();
        let walk = || [0, 0, 1, 1, 3, 2].into_iter();
        assert_eq!(pick_replicas(&topology, walk), [0, 3, 1]);
    }
}
