//! Support for tests of the layers above storage (feature `testing`): an engine whose fsyncs
//! are counted and can be made to fail, as a failing disk would make them, which no test can
//! arrange with a real disk on an ordinary machine.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::Bytes;

use crate::engine::{Engine, EngineStats, Result, StorageError, Table, WriteBatch};

/// An engine that passes everything to `inner`, counting its fsyncs and failing them (and
/// every hand-over to the OS) once told to.
pub struct ProbedEngine<E> {
    inner: E,
    syncs: AtomicUsize,
    failing: AtomicBool,
}

impl<E: Engine> ProbedEngine<E> {
    /// Probes `inner`.
    pub fn new(inner: E) -> Self {
        ProbedEngine {
            inner,
            syncs: AtomicUsize::new(0),
            failing: AtomicBool::new(false),
        }
    }

    /// Fsyncs asked of the engine so far, failed ones included.
    pub fn syncs(&self) -> usize {
        self.syncs.load(Ordering::SeqCst)
    }

    /// Makes every fsync and hand-over to the OS from now on fail, as on a failed disk.
    pub fn fail_syncs(&self) {
        self.failing.store(true, Ordering::SeqCst);
    }

    fn check(&self) -> Result<()> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StorageError::Log("injected disk failure".to_owned()));
        }
        Ok(())
    }
}

impl<E: Engine> Engine for ProbedEngine<E> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn persistent(&self) -> bool {
        self.inner.persistent()
    }
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>> {
        self.inner.get(table, key)
    }
    fn scan(
        &self,
        table: Table,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        self.inner.scan(table, start, end, limit)
    }
    fn write(&self, batch: &WriteBatch) -> Result<()> {
        self.inner.write(batch)
    }
    fn sync(&self) -> Result<()> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.sync()
    }
    fn unsynced_bytes(&self) -> usize {
        self.inner.unsynced_bytes()
    }
    fn flush_buffers(&self) -> Result<()> {
        self.check()?;
        self.inner.flush_buffers()
    }
    fn clear(&self) -> Result<()> {
        self.inner.clear()
    }
    fn compact(&self) -> Result<()> {
        self.inner.compact()
    }
    fn stats(&self) -> EngineStats {
        self.inner.stats()
    }
    fn eviction_sample(&self, count: usize) -> Vec<(Bytes, u64)> {
        self.inner.eviction_sample(count)
    }
}
