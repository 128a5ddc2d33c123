//! The durable engine's memtables: the writes of the log not yet flushed to fjall, in hash
//! tables striped by slot ([`StripedTables`]), deletions kept as tombstones.
//!
//! One memtable takes new writes (the active one); when it grows past its size, or has taken
//! four times that of log records ([`Memtable::is_full`]), it is frozen and a new one
//! starts, and the flusher writes the frozen ones to fjall, oldest first. A read looks at the
//! active memtable, then the frozen ones from newest to oldest, then fjall: the first that
//! knows the key answers. A memtable leaves the list only after its contents
//! are in fjall, so a key is always found in one place or the other.
//!
//! The memtable flushed last stays readable after its flush, below the frozen ones: what it
//! holds is exactly what it wrote to fjall, and the keys written most recently, which are the
//! ones most often read back (a `SET` reads the value it replaces), are then found by a hash
//! probe instead of a search through fjall's newest tables. It is dropped when the next
//! flush takes its place, so it costs at most one memtable of memory, like the memtables
//! RocksDB keeps after their flush (`max_write_buffer_size_to_maintain`).
//!
//! A point lookup here is a hash probe, where fjall's skiplist memtable costs a dozen cache
//! misses; and a key written many times between two flushes reaches fjall once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::engine::{Table, WriteBatch};
use crate::stripes::{Entry, StripedTables};

/// How many times its own size of log records a memtable takes before it is flushed, if it
/// has not filled up first (as RocksDB bounds its write-ahead log at four times its write
/// buffers). Each flush of a memtable that holds a hot set of keys costs the writers a
/// little: flushing after one memtable size of log took 15% off `SET -P 16` over 100,000
/// keys.
const LOG_PER_MEMTABLE: u64 = 4;

/// The writes of a run of log positions.
#[derive(Default)]
pub(super) struct Memtable {
    tables: StripedTables,
    bytes: AtomicU64,
    /// Bytes of the log records applied to it.
    logged: AtomicU64,
    /// Position of the last log record applied to it.
    last: AtomicU64,
}

/// What a memtable knows of a key.
pub(super) enum Lookup {
    /// Its value.
    Value(Bytes),
    /// It was deleted.
    Deleted,
}

impl Memtable {
    /// Applies `batch`, the log record at `position`.
    pub fn apply(&self, batch: &WriteBatch, position: u64) {
        let footprint = self.tables.write(batch.ops(), true);
        self.logged
            .fetch_add(batch.as_bytes().len() as u64, Ordering::Relaxed);
        self.bytes.fetch_add(footprint.added, Ordering::Relaxed);
        let removed = footprint.removed.min(self.bytes.load(Ordering::Relaxed));
        self.bytes.fetch_sub(removed, Ordering::Relaxed);
        self.last.store(position, Ordering::Release);
    }

    /// Forgets every write of the data tables, the log record at `position` being a clear.
    pub fn clear_data(&self, position: u64) {
        self.tables.clear(&Table::DATA);
        self.last.store(position, Ordering::Release);
    }

    /// What this memtable knows of `key`.
    pub fn get(&self, table: Table, key: &[u8]) -> Option<Lookup> {
        self.tables.read(table, key, |e| match e.value() {
            Some(v) => Lookup::Value(Bytes::copy_from_slice(v)),
            None => Lookup::Deleted,
        })
    }

    /// Calls `f` with the entries (tombstones included) from `start` on, below `end`, in key
    /// order, until it returns false.
    pub fn range(
        &self,
        table: Table,
        start: &[u8],
        end: Option<&[u8]>,
        f: impl FnMut(&Entry) -> bool,
    ) {
        self.tables.range(table, start, end, f);
    }

    /// Calls `f` with every entry of `table` (tombstones included), in key order, until it
    /// returns false; for a frozen memtable read whole by its flush.
    pub fn for_each_in_order(&self, table: Table, f: impl FnMut(&Entry) -> bool) {
        self.tables.for_each_in_order(table, f);
    }

    /// Estimated bytes of memory it holds.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Whether it is due to be frozen and flushed: once it holds `limit` bytes, or once the
    /// log records applied to it take [`LOG_PER_MEMTABLE`] times that. Writes that overwrite
    /// the same keys add nothing to a memtable, and only a flush lets the log drop its
    /// segments: without the second rule the log would grow for as long as such writes go
    /// on, and be replayed whole on opening.
    pub fn is_full(&self, limit: u64) -> bool {
        self.bytes() >= limit || self.logged.load(Ordering::Relaxed) >= LOG_PER_MEMTABLE * limit
    }

    /// Position of the last log record it holds.
    pub fn last(&self) -> u64 {
        self.last.load(Ordering::Acquire)
    }
}

/// The active memtable, the frozen ones waiting for the flusher, and the one flushed last.
pub(super) struct Layers {
    /// Takes new writes.
    pub active: Arc<Memtable>,
    /// Oldest first.
    pub frozen: Vec<Arc<Memtable>>,
    /// The memtable flushed last, whose contents are also in fjall.
    flushed: Option<Arc<Memtable>>,
}

impl Layers {
    /// Layers with one empty active memtable that starts after log position `last`.
    pub fn new(last: u64) -> Self {
        let active = Memtable::default();
        active.last.store(last, Ordering::Release);
        Layers {
            active: Arc::new(active),
            frozen: Vec::new(),
            flushed: None,
        }
    }

    /// Freezes the active memtable and starts a new one.
    pub fn rotate(&mut self) {
        let fresh = Memtable::default();
        fresh.last.store(self.active.last(), Ordering::Release);
        let old = std::mem::replace(&mut self.active, Arc::new(fresh));
        self.frozen.push(old);
    }

    /// Moves `memtable`, the oldest frozen one, to the place of the memtable flushed last,
    /// now that its contents are in fjall; nothing changes if it is not the oldest frozen
    /// memtable.
    pub fn flushed(&mut self, memtable: &Arc<Memtable>) {
        if self
            .frozen
            .first()
            .is_some_and(|m| Arc::ptr_eq(m, memtable))
        {
            self.flushed = Some(self.frozen.remove(0));
        }
    }

    /// What the memtables know of `key`, newest first.
    pub fn get(&self, table: Table, key: &[u8]) -> Option<Lookup> {
        self.active
            .get(table, key)
            .or_else(|| self.frozen.iter().rev().find_map(|m| m.get(table, key)))
            .or_else(|| self.flushed.as_ref()?.get(table, key))
    }

    /// The memtables not yet in fjall, newest first.
    pub fn newest_first(&self) -> Vec<Arc<Memtable>> {
        std::iter::once(self.active.clone())
            .chain(self.frozen.iter().rev().cloned())
            .collect()
    }

    /// Forgets every write of the data tables in every memtable, the log record at
    /// `position` being a clear.
    pub fn clear_data(&self, position: u64) {
        for memtable in self.newest_first().iter().chain(&self.flushed) {
            memtable.clear_data(position);
        }
    }

    /// Estimated bytes of memory of every memtable.
    pub fn bytes(&self) -> u64 {
        let flushed = self.flushed.as_ref().map_or(0, |m| m.bytes());
        self.active.bytes() + self.frozen.iter().map(|m| m.bytes()).sum::<u64>() + flushed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies `writes` (key, value; None deletes) to the active memtable as the log record
    /// at `position`.
    fn write(layers: &Layers, position: u64, writes: &[(&[u8], Option<&[u8]>)]) {
        let mut batch = WriteBatch::new();
        for (key, value) in writes {
            match value {
                Some(v) => batch.put(Table::Keys, key, v),
                None => batch.delete(Table::Keys, key),
            }
        }
        layers.active.apply(&batch, position);
    }

    /// What the memtables know of `key` in `Keys`: None unknown, Some(None) deleted.
    fn value(layers: &Layers, key: &[u8]) -> Option<Option<Vec<u8>>> {
        layers.get(Table::Keys, key).map(|l| match l {
            Lookup::Value(v) => Some(v.to_vec()),
            Lookup::Deleted => None,
        })
    }

    #[test]
    fn newer_memtables_shadow_older_ones_and_tombstones_hide_values() {
        let mut layers = Layers::new(0);
        write(
            &layers,
            1,
            &[(b"\0\0a", Some(b"old")), (b"\0\0b", Some(b"kept"))],
        );
        layers.rotate();
        assert_eq!(
            layers.active.last(),
            1,
            "a new memtable starts where the old one ended"
        );
        write(&layers, 2, &[(b"\0\0a", Some(b"new")), (b"\0\0b", None)]);
        assert_eq!(value(&layers, b"\0\0a"), Some(Some(b"new".to_vec())));
        assert_eq!(value(&layers, b"\0\0b"), Some(None));
        assert_eq!(value(&layers, b"\0\0c"), None, "unknown here: ask fjall");
        assert_eq!(layers.newest_first().len(), 2);
        assert!(layers.bytes() > 0);
        layers.active.clear_data(3);
        assert_eq!(value(&layers, b"\0\0a"), Some(Some(b"old".to_vec())));
        assert_eq!(layers.active.last(), 3);
    }

    #[test]
    fn the_memtable_flushed_last_answers_below_newer_ones_until_cleared() {
        let mut layers = Layers::new(0);
        write(
            &layers,
            1,
            &[(b"\0\0a", Some(b"flushed")), (b"\0\0b", Some(b"flushed"))],
        );
        layers.rotate();
        layers.flushed(&Arc::new(Memtable::default()));
        assert_eq!(
            layers.frozen.len(),
            1,
            "only the oldest frozen memtable is flushed"
        );
        let oldest = layers.frozen[0].clone();
        layers.flushed(&oldest);
        assert!(layers.frozen.is_empty());
        assert_eq!(layers.newest_first().len(), 1, "scans read it from fjall");
        write(&layers, 2, &[(b"\0\0a", Some(b"newer"))]);
        assert_eq!(value(&layers, b"\0\0a"), Some(Some(b"newer".to_vec())));
        assert_eq!(value(&layers, b"\0\0b"), Some(Some(b"flushed".to_vec())));
        layers.clear_data(3);
        assert_eq!(value(&layers, b"\0\0b"), None);
    }
}
