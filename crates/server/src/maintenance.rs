//! Background work of a node: active expiry (propose deletion of keys whose time has passed,
//! soonest first) and reclaiming disk space after many deletions.

use std::sync::Arc;
use std::time::Duration;

use ringkv_shard::expiry::due_deletion;

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
        loop {
            let now = now_ms();
            let mutation = match due_deletion(&shared.reader, now, BATCH) {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "active expiry scan failed");
                    break;
                }
            };
            let reply = shared.log.propose(mutation, now).await;
            match reply {
                Ok(ringkv_protocol::Frame::Integer(n)) if n > 0 => {
                    deleted_since_compaction += n as u64
                }
                Ok(ringkv_protocol::Frame::Integer(_)) => break,
                _ => break,
            }
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
