//! The memory engine: cache mode. Everything in memory ([`StripedTables`]), nothing
//! persisted. Each entry records when it was last read or written, for approximate LRU.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::engine::{Engine, EngineStats, Result, Table, WriteBatch};
use crate::stripes::{now_ms, StripedTables};

/// All data in memory.
#[derive(Default)]
pub struct MemoryEngine {
    tables: StripedTables,
    used: AtomicU64,
}

impl MemoryEngine {
    /// An empty engine.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Engine for MemoryEngine {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn persistent(&self) -> bool {
        false
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(self
            .tables
            .read(table, key, |e| {
                e.touch(now_ms());
                e.value().map(Bytes::copy_from_slice)
            })
            .flatten())
    }

    fn scan(
        &self,
        table: Table,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        self.tables.range(table, start, end, |e| {
            if let Some(value) = e.value() {
                out.push((
                    Bytes::copy_from_slice(e.key()),
                    Bytes::copy_from_slice(value),
                ));
            }
            out.len() < limit
        });
        Ok(out)
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        let footprint = self.tables.write(batch.ops(), false);
        self.used.fetch_add(footprint.added, Ordering::Relaxed);
        self.used.fetch_sub(
            footprint.removed.min(self.used.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn flush_buffers(&self) -> Result<()> {
        Ok(())
    }

    fn unsynced_bytes(&self) -> usize {
        0
    }

    fn clear(&self) -> Result<()> {
        self.tables.clear(&Table::DATA);
        self.used.store(0, Ordering::Relaxed);
        Ok(())
    }

    fn compact(&self) -> Result<()> {
        Ok(())
    }

    fn stats(&self) -> EngineStats {
        EngineStats {
            disk_bytes: 0,
            memory_bytes: self.used.load(Ordering::Relaxed),
        }
    }

    fn eviction_sample(&self, count: usize) -> Vec<(Bytes, u64)> {
        let now = now_ms();
        self.tables.sample(Table::Keys, count, |e| {
            (Bytes::copy_from_slice(e.key()), e.idle_ms(now))
        })
    }
}
