//! The static shard layout of a cluster started with `--peers`: S shards of contiguous slot
//! ranges, each replicated on R nodes placed round-robin over the nodes in id order.

use std::ops::RangeInclusive;

use ringkv_shard::slot::SLOT_COUNT;

/// One shard: its slots and the nodes holding its replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    /// Shard number (its Raft group id).
    pub id: u32,
    /// Slots it owns.
    pub slots: RangeInclusive<u16>,
    /// Node ids of its replicas; the first is the preferred leader.
    pub replicas: Vec<u64>,
}

/// Where every slot lives.
#[derive(Debug, Clone)]
pub struct Layout {
    shards: Vec<ShardInfo>,
}

impl Layout {
    /// `shards` shards over `nodes` (sorted, distinct ids) with `replicas` replicas each,
    /// capped at the number of nodes.
    pub fn round_robin(nodes: &[u64], shards: u32, replicas: usize) -> Layout {
        let replicas = replicas.clamp(1, nodes.len().max(1));
        let total = SLOT_COUNT as u64;
        let shards = (0..shards)
            .map(|i| {
                let first = total * u64::from(i) / u64::from(shards);
                let last = total * u64::from(i + 1) / u64::from(shards) - 1;
                ShardInfo {
                    id: i,
                    slots: first as u16..=last as u16,
                    replicas: (0..replicas)
                        .map(|r| nodes[(i as usize + r) % nodes.len()])
                        .collect(),
                }
            })
            .collect();
        Layout { shards }
    }

    /// Every shard, in slot order.
    pub fn shards(&self) -> &[ShardInfo] {
        &self.shards
    }

    /// The shard owning `slot`.
    pub fn shard_of(&self, slot: u16) -> &ShardInfo {
        let i = self.shards.partition_point(|s| *s.slots.end() < slot);
        &self.shards[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_slot_once_and_replicas_are_distinct() {
        let layout = Layout::round_robin(&[1, 2, 3, 4, 5], 64, 3);
        let mut next = 0u32;
        for shard in layout.shards() {
            assert_eq!(u32::from(*shard.slots.start()), next);
            next = u32::from(*shard.slots.end()) + 1;
            let mut r = shard.replicas.clone();
            r.sort();
            r.dedup();
            assert_eq!(r.len(), 3);
        }
        assert_eq!(next as usize, SLOT_COUNT);
        assert_eq!(layout.shard_of(0).id, 0);
        assert_eq!(layout.shard_of(16383).id, 63);
        assert_eq!(layout.shard_of(256).id, 1);
        assert_eq!(layout.shard_of(255).id, 0);
    }

    #[test]
    fn replicas_are_capped_by_the_node_count_and_spread_evenly() {
        let layout = Layout::round_robin(&[7, 9], 4, 3);
        let mut per_node = [0, 0];
        for shard in layout.shards() {
            assert_eq!(shard.replicas.len(), 2);
            per_node[usize::from(shard.replicas[0] == 9)] += 1;
        }
        assert_eq!(per_node, [2, 2]);
    }
}
