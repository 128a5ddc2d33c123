//! `jump`: jump consistent hash (Lamping & Veach) over weighted buckets.
//!
//! The buckets are the nodes in id order, each repeated `weight` times, so a node owns
//! `weight` consecutive buckets. Shard `s` draws keys `stable_hash("shard-{s}-{a}")` for
//! attempts `a = 0, 1, …`; each key jumps to a bucket, hence a node, and the first distinct
//! nodes drawn (distinct zones first, see [`super::preference`]) are its replicas. After
//! `MAX_JUMPS` draws the order goes on with every node in id order, starting at a place set
//! by the shard, so a set is always completed even when a small zone is rarely drawn.
//!
//! Jump hash is only consistent when buckets are added or removed at the end of the list:
//! then a key changes bucket only if it lands in the new one. A node that joins with the
//! highest id moves close to the minimum; a node that leaves from the middle of the list,
//! or changes weight, shifts every bucket after it and moves far more. Node ids are handed
//! out in increasing order, so joins are cheap; arbitrary leaves are not.

use super::hash::{jump, mix, stable_hash};
use super::preference::pick_replicas;
use super::topology::Topology;

/// Draws per shard before the preference order falls back to a scan of all nodes.
const MAX_JUMPS: u64 = 64;

/// Each shard's replica set, as node indices.
pub(crate) fn place(topology: &Topology) -> Vec<Vec<usize>> {
    let buckets: Vec<usize> = (0..topology.len())
        .flat_map(|i| std::iter::repeat_n(i, topology.node(i).weight as usize))
        .collect();
    let count = buckets.len() as u32;
    (0..topology.shards())
        .map(|shard| {
            let keys: Vec<u64> = (0..MAX_JUMPS)
                .map(|a| stable_hash(&format!("shard-{shard}-{a}")))
                .collect();
            let offset = (mix(shard as u64) % topology.len() as u64) as usize;
            pick_replicas(topology, || {
                let jumps = keys.iter().map(|&k| buckets[jump(k, count) as usize]);
                let scan = (0..topology.len()).map(|k| (offset + k) % topology.len());
                jumps.chain(scan)
            })
        })
        .collect()
}
