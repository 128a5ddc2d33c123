//! The memory engine, for cache mode: ordered sets of entries in memory, nothing persisted.
//!
//! `Keys` and `Fields` are split into 64 stripes by the first byte of the key, which is the
//! high byte of the slot: stripe `n` holds slots `256 n .. 256 n + 255`. Each stripe has its
//! own lock, so readers and writers of different slots do not contend, and a range scan walks
//! the stripes in key order. `Expiry` and `Meta` have one stripe each. A batch locks every
//! stripe it touches, in a fixed order, before changing any, so readers see it whole.
//!
//! Every entry records when it was last read or written, with a relaxed atomic store under the
//! read lock, for approximate LRU eviction. This engine does not evict anything itself, does
//! not enforce `maxmemory` (it reports an estimate of its size; the server decides), and a
//! scan spanning several stripes is not a snapshot across them.

mod entry;

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::{RwLock, RwLockWriteGuard};
use rand::Rng;

use crate::engine::{Engine, EngineStats, Result, Table, WriteBatch};
use entry::{now_ms, Entry};

/// Stripes of `Keys` and `Fields`: one per value of the slot's high byte (slots < 16384).
const STRIPES: usize = 64;

type Set = BTreeSet<Entry>;

/// One lock and its entries, alone on a cache line so neighbouring stripes do not contend.
#[repr(align(64))]
#[derive(Default)]
struct Stripe(RwLock<Set>);

/// All data in memory, in four striped ordered sets.
pub struct MemoryEngine {
    tables: [Box<[Stripe]>; 4],
    /// Estimated bytes held by all entries, kept exact with respect to [`Entry::footprint`]
    /// by updating it while the stripes concerned are locked.
    used: AtomicU64,
}

impl Default for MemoryEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryEngine {
    /// An empty engine.
    pub fn new() -> Self {
        let stripes = |table: Table| {
            (0..stripe_count(table))
                .map(|_| Stripe::default())
                .collect()
        };
        MemoryEngine {
            tables: Table::ALL.map(stripes),
            used: AtomicU64::new(0),
        }
    }

    fn stripe(&self, table: Table, key: &[u8]) -> &RwLock<Set> {
        &self.tables[table.index()][stripe_of(table, key)].0
    }
}

fn stripe_count(table: Table) -> usize {
    match table {
        Table::Keys | Table::Fields => STRIPES,
        Table::Expiry | Table::Meta => 1,
    }
}

/// The stripe holding `key`. Non-decreasing in key order, so stripes partition the key space
/// into consecutive ranges (keys beyond slot 16383, should any exist, share the last stripe).
fn stripe_of(table: Table, key: &[u8]) -> usize {
    match table {
        Table::Keys | Table::Fields => key.first().map_or(0, |&b| usize::from(b).min(STRIPES - 1)),
        Table::Expiry | Table::Meta => 0,
    }
}

fn copy_out(entry: &Entry) -> (Bytes, Bytes) {
    (
        Bytes::copy_from_slice(entry.key()),
        Bytes::copy_from_slice(entry.value()),
    )
}

impl Engine for MemoryEngine {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>> {
        let set = self.stripe(table, key).read();
        Ok(set.get(key).map(|entry| {
            if table == Table::Keys {
                entry.touch(now_ms());
            }
            Bytes::copy_from_slice(entry.value())
        }))
    }

    fn scan(
        &self,
        table: Table,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        let mut out = Vec::new();
        if limit == 0 || end.is_some_and(|end| end <= start) {
            return Ok(out);
        }
        let stripes = &self.tables[table.index()];
        let first = stripe_of(table, start);
        let last = end.map_or(stripes.len() - 1, |end| stripe_of(table, end));
        let upper = end.map_or(Bound::Unbounded, Bound::Excluded);
        for stripe in &stripes[first..=last] {
            let set = stripe.0.read();
            let range = set.range::<[u8], _>((Bound::Included(start), upper));
            out.extend(range.take(limit - out.len()).map(copy_out));
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        batch.validate()?;
        let (data, ops) = batch.into_parts();
        let place = |table: Table, key: &[u8]| (table.index(), stripe_of(table, key));
        let mut places: Vec<_> = ops
            .iter()
            .map(|op| place(op.table, &data[op.key.clone()]))
            .collect();
        places.sort_unstable();
        places.dedup();
        // Locks are taken in (table, stripe) order, the same order `clear` uses: no deadlock.
        let mut guards: Vec<RwLockWriteGuard<'_, Set>> = places
            .iter()
            .map(|&(t, s)| self.tables[t][s].0.write())
            .collect();
        let now = now_ms();
        let (mut added, mut removed) = (0u64, 0u64);
        for op in &ops {
            let key = &data[op.key.clone()];
            let i = places
                .binary_search(&place(op.table, key))
                .expect("every stripe of the batch is locked");
            let set = &mut guards[i];
            let old = match &op.value {
                Some(value) => {
                    let entry = Entry::new(key, &data[value.clone()], now);
                    added += entry.footprint();
                    set.replace(entry)
                }
                None => set.take(key),
            };
            removed += old.map_or(0, |old| old.footprint());
        }
        // Still under the locks: `clear` cannot run in between, so `used` never underflows.
        self.used.fetch_add(added, Ordering::Relaxed);
        self.used.fetch_sub(removed, Ordering::Relaxed);
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn flush_buffers(&self) -> Result<()> {
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        let mut guards: Vec<_> = self
            .tables
            .iter()
            .flat_map(|stripes| stripes.iter())
            .map(|stripe| stripe.0.write())
            .collect();
        let old: Vec<Set> = guards
            .iter_mut()
            .map(|set| std::mem::take(&mut **set))
            .collect();
        self.used.store(0, Ordering::Relaxed);
        drop(guards);
        // Freeing millions of entries takes a while; do it off the caller's thread, as Redis's
        // lazy free does. If no thread can be started, the closure (and `old`) drops here.
        let _ = std::thread::Builder::new()
            .name("ringkv-memory-free".to_owned())
            .spawn(move || drop(old));
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
        let stripes = &self.tables[Table::Keys.index()];
        let mut rng = rand::thread_rng();
        let first = rng.gen_range(0..STRIPES);
        let from = [first as u8, rng.gen()];
        let now = now_ms();
        let mut out = Vec::new();
        // From the random position to the end of its stripe, then the following stripes,
        // wrapping around, and last the start of the first stripe: each key at most once.
        let parts = std::iter::once((first, Bound::Included(&from[..]), Bound::Unbounded))
            .chain(
                (1..STRIPES).map(|i| ((first + i) % STRIPES, Bound::Unbounded, Bound::Unbounded)),
            )
            .chain(std::iter::once((
                first,
                Bound::Unbounded,
                Bound::Excluded(&from[..]),
            )));
        for (stripe, lower, upper) in parts {
            if out.len() >= count {
                break;
            }
            let set = stripes[stripe].0.read();
            let room = count - out.len();
            out.extend(
                set.range::<[u8], _>((lower, upper))
                    .take(room)
                    .map(|e| (Bytes::copy_from_slice(e.key()), e.idle_ms(now))),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripes_follow_key_order() {
        let keys: [&[u8]; 7] = [
            b"",
            b"\x00",
            b"\x00\xff",
            b"\x01",
            b"\x3f\xff",
            b"\x40",
            b"\xff",
        ];
        let stripes: Vec<_> = keys.iter().map(|k| stripe_of(Table::Keys, k)).collect();
        assert_eq!(stripes, vec![0, 0, 0, 1, 63, 63, 63]);
        assert_eq!(stripe_of(Table::Expiry, b"\xff"), 0);
        assert_eq!(stripe_of(Table::Meta, b"\x05"), 0);
    }

    #[test]
    fn stripes_sit_on_their_own_cache_lines() {
        assert_eq!(std::mem::align_of::<Stripe>(), 64);
        assert_eq!(std::mem::size_of::<Stripe>(), 64);
    }

    #[test]
    fn memory_estimate_tracks_overwrites_and_deletes() {
        let engine = MemoryEngine::new();
        let mut batch = WriteBatch::new();
        batch.put(Table::Keys, b"\x00\x01k", &[0; 100]);
        engine.write(batch).unwrap();
        let one = engine.stats().memory_bytes;
        assert_eq!(one, Entry::new(b"\x00\x01k", &[0; 100], 0).footprint());
        let mut batch = WriteBatch::new();
        batch.put(Table::Keys, b"\x00\x01k", &[0; 10]);
        engine.write(batch).unwrap();
        assert!(engine.stats().memory_bytes < one);
        let mut batch = WriteBatch::new();
        batch.delete(Table::Keys, b"\x00\x01k");
        batch.delete(Table::Keys, b"\x00\x01absent");
        engine.write(batch).unwrap();
        assert_eq!(engine.stats().memory_bytes, 0);
    }
}
