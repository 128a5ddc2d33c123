//! The memory engine: cache mode. Ordered maps in memory, nothing persisted.
//!
//! `Keys` and `Fields` are split into stripes by slot (their first two bytes), each under its
//! own lock, so readers of different slots do not contend and a range scan walks stripes in
//! key order. Each entry records when it was last read or written, for approximate LRU.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::{RwLock, RwLockWriteGuard};
use rand::Rng;

use crate::engine::{Engine, EngineStats, Result, Table, WriteBatch};

/// Stripes of the slot-prefixed tables.
const STRIPES: usize = 64;
/// Slots per stripe (16384 slots in all).
const SLOTS_PER_STRIPE: usize = 16384 / STRIPES;
/// Estimated allocator and map overhead per entry, for `memory_bytes`.
const ENTRY_OVERHEAD: u64 = 64;

struct Entry {
    value: Box<[u8]>,
    accessed: AtomicU32,
}

type Stripe = RwLock<BTreeMap<Box<[u8]>, Entry>>;
/// A stripe locked for writing.
type StripeGuard<'a> = RwLockWriteGuard<'a, BTreeMap<Box<[u8]>, Entry>>;

/// Milliseconds since the first call, wrapping after 49 days (idle times are compared, not stored long).
fn clock_ms() -> u32 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u32
}

/// All data in memory.
pub struct MemoryEngine {
    tables: Vec<Vec<Stripe>>,
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
        let tables = Table::ALL
            .iter()
            .map(|&t| {
                (0..Self::stripe_count(t))
                    .map(|_| RwLock::new(BTreeMap::new()))
                    .collect()
            })
            .collect();
        MemoryEngine {
            tables,
            used: AtomicU64::new(0),
        }
    }

    fn stripe_count(table: Table) -> usize {
        match table {
            Table::Keys | Table::Fields => STRIPES,
            Table::Expiry | Table::Meta | Table::Raft => 1,
        }
    }

    /// The stripe holding `key`.
    fn stripe_of(table: Table, key: &[u8]) -> usize {
        match (table, key) {
            (Table::Keys | Table::Fields, [hi, lo, ..]) => {
                (usize::from(u16::from_be_bytes([*hi, *lo])) / SLOTS_PER_STRIPE).min(STRIPES - 1)
            }
            (Table::Keys | Table::Fields, [hi]) => {
                (usize::from(u16::from_be_bytes([*hi, 0])) / SLOTS_PER_STRIPE).min(STRIPES - 1)
            }
            _ => 0,
        }
    }

    fn entry_size(key: &[u8], value: &[u8]) -> u64 {
        (key.len() + value.len()) as u64 + ENTRY_OVERHEAD
    }
}

impl Engine for MemoryEngine {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>> {
        let stripe = self.tables[table.index()][Self::stripe_of(table, key)].read();
        Ok(stripe.get(key).map(|e| {
            e.accessed.store(clock_ms(), Ordering::Relaxed);
            Bytes::copy_from_slice(&e.value)
        }))
    }

    fn scan(
        &self,
        table: Table,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        let stripes = &self.tables[table.index()];
        let first = Self::stripe_of(table, start);
        let last = end.map_or(stripes.len() - 1, |e| Self::stripe_of(table, e));
        let upper = end.map_or(Bound::Unbounded, Bound::Excluded);
        let mut out = Vec::new();
        for stripe in &stripes[first..=last] {
            let map = stripe.read();
            for (k, e) in map
                .range::<[u8], _>((Bound::Included(start), upper))
                .take(limit - out.len())
            {
                out.push((Bytes::copy_from_slice(k), Bytes::copy_from_slice(&e.value)));
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        let ops = batch.into_ops();
        let mut locks: Vec<(Table, usize)> = ops
            .iter()
            .map(|op| (op.table, Self::stripe_of(op.table, &op.key)))
            .collect();
        locks.sort_unstable();
        locks.dedup();
        let mut guards: Vec<((Table, usize), StripeGuard<'_>)> = locks
            .into_iter()
            .map(|(t, s)| ((t, s), self.tables[t.index()][s].write()))
            .collect();
        let now = clock_ms();
        let (mut added, mut removed) = (0u64, 0u64);
        for op in ops {
            let place = (op.table, Self::stripe_of(op.table, &op.key));
            let i = guards
                .binary_search_by(|(p, _)| p.cmp(&place))
                .expect("stripe locked");
            let map = &mut guards[i].1;
            match op.value {
                Some(value) => {
                    added += Self::entry_size(&op.key, &value);
                    let entry = Entry {
                        value,
                        accessed: AtomicU32::new(now),
                    };
                    if let Some(old) = map.insert(op.key.clone(), entry) {
                        removed += Self::entry_size(&op.key, &old.value);
                    }
                }
                None => {
                    if let Some(old) = map.remove(&op.key) {
                        removed += Self::entry_size(&op.key, &old.value);
                    }
                }
            }
        }
        drop(guards);
        self.used.fetch_add(added, Ordering::Relaxed);
        self.used.fetch_sub(
            removed.min(self.used.load(Ordering::Relaxed)),
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

    fn clear(&self) -> Result<()> {
        for table in Table::DATA {
            for stripe in &self.tables[table.index()] {
                stripe.write().clear();
            }
        }
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
        let stripes = &self.tables[Table::Keys.index()];
        let mut rng = rand::thread_rng();
        let now = clock_ms();
        let first = rng.gen_range(0..STRIPES);
        for offset in 0..STRIPES {
            let index = (first + offset) % STRIPES;
            let map = stripes[index].read();
            if map.is_empty() {
                continue;
            }
            let slot = (index * SLOTS_PER_STRIPE + rng.gen_range(0..SLOTS_PER_STRIPE)) as u16;
            let from = slot.to_be_bytes();
            #[allow(clippy::borrowed_box)] // the map's own item type
            let sample = |(k, e): (&Box<[u8]>, &Entry)| {
                (
                    Bytes::copy_from_slice(k),
                    u64::from(now.wrapping_sub(e.accessed.load(Ordering::Relaxed))),
                )
            };
            let mut out: Vec<_> = map
                .range::<[u8], _>((Bound::Included(&from[..]), Bound::Unbounded))
                .take(count)
                .map(sample)
                .collect();
            if out.len() < count {
                let before = (Bound::Unbounded, Bound::Excluded(&from[..]));
                let wrapped = map.range::<[u8], _>(before).take(count - out.len());
                out.extend(wrapped.map(sample));
            }
            return out;
        }
        Vec::new()
    }
}
