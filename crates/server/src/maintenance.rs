//! Background work of a node: active expiry (propose deletion of keys whose time has passed,
//! soonest first) and reclaiming disk space after many deletions.

use std::sync::Arc;
use std::time::Duration;

use ringkv_shard::expiry::DueKeys;

use crate::server::{now_ms, Shared};

/// How often active expiry looks for due keys.
const INTERVAL: Duration = Duration::from_millis(100);
/// Keys deleted per proposal.
const BATCH: usize = 512;
/// Deletions after which the engine is asked to reclaim space once expiry has caught up.
const COMPACT_AFTER: u64 = 10_000;

/// Runs active expiry forever.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut deleted_since_compaction = 0u64;
    loop {
        tokio::time::sleep(INTERVAL).await;
        let mut due = DueKeys::default();
        loop {
            let now = now_ms();
            let keys = match due.next(&shared.reader, now, BATCH) {
                Ok(keys) if !keys.is_empty() => keys,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "active expiry scan failed");
                    break;
                }
            };
            deleted_since_compaction += shared.log.delete_expired(keys, now).await;
        }
        if deleted_since_compaction >= COMPACT_AFTER {
            deleted_since_compaction = 0;
            let engine = shared.reader.engine().clone();
            let compacted = tokio::task::spawn_blocking(move || engine.compact()).await;
            if let Ok(Err(e)) = compacted {
                tracing::warn!(error = %e, "compaction after expiry failed");
            }
        }
    }
}
