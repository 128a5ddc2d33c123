//! Every [`Table`] in memory, striped by slot: the memory engine's whole store, and the
//! durable engine's memtable.
//!
//! `Keys` and `Fields` are split into stripes by slot (their first two bytes), each under its
//! own lock, so that readers and writers of different slots do not contend and a range scan
//! walks stripes in key order. The other tables have one stripe each. Each stripe finds an
//! entry by hashing and keeps its keys in order for scans, sorting new keys in when a scan
//! first needs them ([`map::StripeMap`]). Entries may be tombstones; what a tombstone means
//! is the owner's business.

mod entry;
mod map;

use std::ops::Bound;

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use rand::Rng;
use smallvec::SmallVec;

use crate::engine::{Table, WriteOp};
pub(crate) use entry::{now_ms, Entry};
use map::StripeMap;

/// Stripes of the slot-prefixed tables.
const STRIPES: usize = 64;
/// Slots per stripe (16384 slots in all).
const SLOTS_PER_STRIPE: usize = 16384 / STRIPES;

/// A stripe locked for writing.
type StripeGuard<'a> = RwLockWriteGuard<'a, StripeMap>;

/// Every table, striped.
pub(crate) struct StripedTables {
    tables: Vec<Vec<RwLock<StripeMap>>>,
}

/// Bytes that a [`StripedTables::write`] added and removed, by [`Entry::footprint`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Footprint {
    /// Of the entries written.
    pub added: u64,
    /// Of the entries they replaced or removed.
    pub removed: u64,
}

impl Default for StripedTables {
    fn default() -> Self {
        let tables = Table::ALL
            .iter()
            .map(|&t| {
                (0..stripe_count(t))
                    .map(|_| RwLock::new(StripeMap::default()))
                    .collect()
            })
            .collect();
        StripedTables { tables }
    }
}

fn stripe_count(table: Table) -> usize {
    match table {
        Table::Keys | Table::Fields => STRIPES,
        Table::Expiry | Table::Meta | Table::Raft => 1,
    }
}

/// `stripe` read-locked with every key in order, sorting it first if it must.
fn sorted(stripe: &RwLock<StripeMap>) -> RwLockReadGuard<'_, StripeMap> {
    let map = stripe.read();
    if map.is_sorted() {
        return map;
    }
    drop(map);
    let mut map = stripe.write();
    map.sort();
    RwLockWriteGuard::downgrade(map)
}

/// The table and stripe `op` writes to.
fn place_of(op: &WriteOp<'_>) -> (Table, usize) {
    (op.table, stripe_of(op.table, op.key))
}

/// Applies `op` to the stripe `map`, adding what it wrote and replaced to `footprint`.
fn write_op(
    map: &mut StripeMap,
    op: WriteOp<'_>,
    tombstones: bool,
    now: u32,
    footprint: &mut Footprint,
) {
    let old = match op.value {
        None if !tombstones => map.remove(op.key),
        value => {
            footprint.added += entry::footprint(op.key.len(), value.map_or(0, <[u8]>::len));
            map.insert(op.key, value, now)
        }
    };
    footprint.removed += old.map_or(0, |e| e.footprint());
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

impl StripedTables {
    /// Calls `f` with the entry of `key`, if there is one (tombstones included).
    pub fn read<R>(&self, table: Table, key: &[u8], f: impl FnOnce(&Entry) -> R) -> Option<R> {
        let stripe = self.tables[table.index()][stripe_of(table, key)].read();
        stripe.get(key).map(f)
    }

    /// Calls `f` with the entries (tombstones included) with `start <= key < end` (no end:
    /// unbounded), in key order, until it returns false.
    pub fn range(
        &self,
        table: Table,
        start: &[u8],
        end: Option<&[u8]>,
        mut f: impl FnMut(&Entry) -> bool,
    ) {
        let stripes = &self.tables[table.index()];
        let first = stripe_of(table, start);
        let last = end.map_or(stripes.len() - 1, |e| stripe_of(table, e));
        let upper = end.map_or(Bound::Unbounded, Bound::Excluded);
        for stripe in &stripes[first..=last] {
            let map = sorted(stripe);
            for e in map.range(Bound::Included(start), upper) {
                if !f(e) {
                    return;
                }
            }
        }
    }

    /// Calls `f` with every entry of `table` (tombstones included), in key order, until it
    /// returns false, without sorting new keys into the stripes' ordered sets
    /// ([`StripeMap::in_order`]): for tables read whole once, as a flush reads them.
    pub fn for_each_in_order(&self, table: Table, mut f: impl FnMut(&Entry) -> bool) {
        for stripe in &self.tables[table.index()] {
            for e in stripe.read().in_order() {
                if !f(e) {
                    return;
                }
            }
        }
    }

    /// Applies `ops` in order (a None value writes a tombstone when `tombstones`, else
    /// removes the entry), all under the locks of their stripes at once.
    pub fn write<'a>(
        &self,
        ops: impl Iterator<Item = WriteOp<'a>> + Clone,
        tombstones: bool,
    ) -> Footprint {
        let mut places = ops.clone().map(|op| place_of(&op));
        let Some(first) = places.next() else {
            return Footprint::default();
        };
        let now = now_ms();
        let mut footprint = Footprint::default();
        if places.all(|place| place == first) {
            let mut map = self.tables[first.0.index()][first.1].write();
            for op in ops {
                write_op(&mut map, op, tombstones, now, &mut footprint);
            }
            return footprint;
        }
        let mut locks: SmallVec<[(Table, usize); 4]> =
            ops.clone().map(|op| place_of(&op)).collect();
        locks.sort_unstable();
        locks.dedup();
        let mut guards: SmallVec<[((Table, usize), StripeGuard<'_>); 4]> = locks
            .into_iter()
            .map(|(t, s)| ((t, s), self.tables[t.index()][s].write()))
            .collect();
        for op in ops {
            let place = place_of(&op);
            let i = guards
                .binary_search_by(|(p, _)| p.cmp(&place))
                .expect("stripe locked");
            write_op(&mut guards[i].1, op, tombstones, now, &mut footprint);
        }
        footprint
    }

    /// Empties `tables`.
    pub fn clear(&self, tables: &[Table]) {
        for table in tables {
            for stripe in &self.tables[table.index()] {
                *stripe.write() = StripeMap::default();
            }
        }
    }

    /// Up to `count` entries of `table` from a random position in a random non-empty stripe,
    /// each passed through `f`.
    pub fn sample<R>(&self, table: Table, count: usize, f: impl Fn(&Entry) -> R) -> Vec<R> {
        let stripes = &self.tables[table.index()];
        let mut rng = rand::thread_rng();
        let first = rng.gen_range(0..stripes.len());
        for offset in 0..stripes.len() {
            let index = (first + offset) % stripes.len();
            let map = sorted(&stripes[index]);
            if map.is_empty() {
                continue;
            }
            let slot = (index * SLOTS_PER_STRIPE + rng.gen_range(0..SLOTS_PER_STRIPE)) as u16;
            let from = slot.to_be_bytes();
            let mut out: Vec<_> = map
                .range(Bound::Included(&from[..]), Bound::Unbounded)
                .take(count)
                .map(&f)
                .collect();
            if out.len() < count {
                let wrapped = map
                    .range(Bound::Unbounded, Bound::Excluded(&from[..]))
                    .take(count - out.len());
                out.extend(wrapped.map(&f));
            }
            return out;
        }
        Vec::new()
    }
}
