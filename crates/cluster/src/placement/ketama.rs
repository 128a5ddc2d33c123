//! `ketama`: weighted virtual nodes on a hash ring, as memcached clients, Dynamo and Riak
//! place data.
//!
//! Each node puts `POINTS_PER_WEIGHT × weight` points on a 64-bit ring, point `p` of node
//! `id` at the stable hash of `"{id}-{p}"`. Shard `s` sits at the hash of `"shard-{s}"`; its
//! preference list is the walk clockwise from there, and its replicas are the first distinct
//! nodes of that walk, distinct zones first (see [`super::preference`]).
//!
//! It is stateless — the map depends only on the nodes — and a join or leave only changes
//! the sets whose walk meets the node's points, so movement stays close to the minimum. The
//! price is balance: with a few shards per node, the arcs a node's points cover vary a lot.

use super::hash::stable_hash;
use super::preference::pick_replicas;
use super::topology::Topology;

/// Ring points per unit of node weight.
const POINTS_PER_WEIGHT: u32 = 100;

/// Each shard's replica set, as node indices.
pub(crate) fn place(topology: &Topology) -> Vec<Vec<usize>> {
    let ring = ring(topology);
    (0..topology.shards())
        .map(|shard| {
            let start = ring.partition_point(|&(h, _)| h < stable_hash(&format!("shard-{shard}")));
            pick_replicas(topology, || {
                (0..ring.len()).map(|k| ring[(start + k) % ring.len()].1)
            })
        })
        .collect()
}

/// Every node's points as (position, node index), sorted by position (then node, so that
/// a collision of two positions still orders deterministically).
fn ring(topology: &Topology) -> Vec<(u64, usize)> {
    let mut ring: Vec<(u64, usize)> = (0..topology.len())
        .flat_map(|i| {
            let node = topology.node(i);
            (0..POINTS_PER_WEIGHT * node.weight)
                .map(move |p| (stable_hash(&format!("{}-{p}", node.id)), i))
        })
        .collect();
    ring.sort_unstable();
    ring
}
