//! The validated cluster description every strategy works on: nodes sorted by id and
//! addressed by their index in that order, zones numbered, the replication factor capped at
//! the number of nodes. Sorting first is what makes placement independent of input order.

use std::collections::BTreeMap;

use super::{NodeSpec, PlacementError, ShardMap, MAX_SHARDS, MAX_WEIGHT};

/// A valid cluster: at least one node, distinct ids, weights from 1 to [`MAX_WEIGHT`].
pub(crate) struct Topology<'a> {
    nodes: Vec<&'a NodeSpec>,
    zones: Vec<usize>,
    zone_count: usize,
    shards: usize,
    replicas: usize,
}

impl<'a> Topology<'a> {
    /// Checks the description and numbers nodes (by id) and zones (by name).
    pub(crate) fn new(
        nodes: &'a [NodeSpec],
        shards: u32,
        replicas: usize,
    ) -> Result<Topology<'a>, PlacementError> {
        if nodes.is_empty() {
            return Err(PlacementError::NoNodes);
        }
        if shards == 0 || shards > MAX_SHARDS {
            return Err(PlacementError::ShardCount(shards));
        }
        if replicas == 0 {
            return Err(PlacementError::NoReplicas);
        }
        let mut sorted: Vec<&NodeSpec> = nodes.iter().collect();
        sorted.sort_by_key(|n| n.id);
        if let Some(pair) = sorted.windows(2).find(|p| p[0].id == p[1].id) {
            return Err(PlacementError::DuplicateNode(pair[0].id));
        }
        if let Some(node) = sorted
            .iter()
            .find(|n| !(1..=MAX_WEIGHT).contains(&n.weight))
        {
            return Err(PlacementError::Weight(node.id, node.weight));
        }
        let mut zone_ids = BTreeMap::new();
        for node in &sorted {
            let next = zone_ids.len();
            zone_ids.entry(node.zone.as_str()).or_insert(next);
        }
        let zones = sorted.iter().map(|n| zone_ids[n.zone.as_str()]).collect();
        Ok(Topology {
            replicas: replicas.min(sorted.len()),
            nodes: sorted,
            zones,
            zone_count: zone_ids.len(),
            shards: shards as usize,
        })
    }

    /// The number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The node at `index`.
    pub(crate) fn node(&self, index: usize) -> &NodeSpec {
        self.nodes[index]
    }

    /// The index of the node with id `id`, if it is in the cluster.
    pub(crate) fn index_of(&self, id: u64) -> Option<usize> {
        self.nodes.binary_search_by_key(&id, |n| n.id).ok()
    }

    /// The zone number of the node at `index`, in `0..zone_count()`.
    pub(crate) fn zone(&self, index: usize) -> usize {
        self.zones[index]
    }

    /// The number of distinct zones.
    pub(crate) fn zone_count(&self) -> usize {
        self.zone_count
    }

    /// The number of shards.
    pub(crate) fn shards(&self) -> usize {
        self.shards
    }

    /// Replicas per shard, already capped at the number of nodes.
    pub(crate) fn replicas(&self) -> usize {
        self.replicas
    }

    /// Whether every replica set must have distinct zones: there are at least R zones.
    pub(crate) fn zones_distinct(&self) -> bool {
        self.zone_count >= self.replicas
    }

    /// The shard map with node indices turned back into ids.
    pub(crate) fn to_map(&self, sets: Vec<Vec<usize>>) -> ShardMap {
        ShardMap::new(
            sets.into_iter()
                .map(|set| set.into_iter().map(|i| self.nodes[i].id).collect())
                .collect(),
        )
    }
}
