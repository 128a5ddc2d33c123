//! Keeping the memory engine under `maxmemory`: before a write that may add data, evict
//! keys by the configured policy (approximated LRU by sampling, like Redis, or soonest
//! expiry), each eviction a `DEL` through the log so replicas evict the same keys.

use bytes::Bytes;
use ringkv_protocol::Frame;
use ringkv_shard::layout::{split_data_key, split_expiry_key};
use ringkv_shard::Mutation;

use crate::config::EvictionPolicy;
use crate::server::{now_ms, Shared};
use crate::stats::Stats;

/// Keys sampled per eviction round.
const SAMPLES: usize = 16;
/// Most keys evicted for a single write before giving up with OOM.
const MAX_ROUNDS: usize = 64;

fn oom() -> Frame {
    Frame::error("OOM command not allowed when used memory > 'maxmemory'.")
}

/// Evicts until memory use is under `maxmemory`, or returns the OOM reply.
pub(crate) async fn make_room(shared: &Shared) -> Result<(), Frame> {
    let (limit, policy) = {
        let config = shared.config.read();
        (config.maxmemory, config.maxmemory_policy)
    };
    let engine = shared.reader.engine();
    if limit == 0 || engine.name() != "memory" {
        return Ok(());
    }
    for _ in 0..MAX_ROUNDS {
        if engine.stats().memory_bytes <= limit {
            return Ok(());
        }
        let victim = match policy {
            EvictionPolicy::Noeviction => return Err(oom()),
            EvictionPolicy::AllkeysLru => engine
                .eviction_sample(SAMPLES)
                .into_iter()
                .max_by_key(|(_, idle)| *idle)
                .map(|(k, _)| Bytes::copy_from_slice(split_data_key(&k).1)),
            EvictionPolicy::VolatileTtl => shared
                .reader
                .due_expiries(&[], u64::MAX, 1)
                .ok()
                .and_then(|e| {
                    e.first()
                        .map(|k| Bytes::copy_from_slice(split_expiry_key(k).1))
                }),
        };
        let Some(key) = victim else { return Err(oom()) };
        let _ = shared
            .log
            .propose(None, Mutation::Del { keys: vec![key] }, now_ms())
            .reply()
            .await;
        Stats::add(&shared.stats.evicted_keys, 1);
    }
    if engine.stats().memory_bytes <= limit {
        Ok(())
    } else {
        Err(oom())
    }
}
