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

/// Stripes of all tables together.
const ALL_STRIPES: usize = {
    let last = Table::ALL[Table::ALL.len() - 1];
    first_stripe(last) + stripe_count(last)
};

/// Words of a [`StripeSet`].
const STRIPE_SET_WORDS: usize = ALL_STRIPES.div_ceil(64);

/// A stripe locked for writing.
type StripeGuard<'a> = RwLockWriteGuard<'a, StripeMap>;

/// Every table, striped.
pub(crate) struct StripedTables {
    /// Every stripe of every table, tables in [`Table::ALL`] order ([`first_stripe`]). A
    /// write that touches several stripes locks them in this order.
    stripes: Vec<RwLock<StripeMap>>,
}

/// Stripes by their index in [`StripedTables::stripes`], as a bit set.
#[derive(Default)]
struct StripeSet([u64; STRIPE_SET_WORDS]);

impl StripeSet {
    fn insert(&mut self, stripe: usize) {
        self.0[stripe / 64] |= 1 << (stripe % 64);
    }

    /// The members, ascending.
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                let b = bits.trailing_zeros() as usize;
                bits &= bits.wrapping_sub(1);
                (b < 64).then_some(w * 64 + b)
            })
        })
    }

    /// How many members are below `stripe`: its position among them.
    fn rank(&self, stripe: usize) -> usize {
        let (w, b) = (stripe / 64, stripe % 64);
        let below: u32 = self.0[..w].iter().map(|word| word.count_ones()).sum();
        (below + (self.0[w] & ((1 << b) - 1)).count_ones()) as usize
    }
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
        let stripes = (0..ALL_STRIPES)
            .map(|_| RwLock::new(StripeMap::default()))
            .collect();
        StripedTables { stripes }
    }
}

const fn stripe_count(table: Table) -> usize {
    match table {
        Table::Keys | Table::Fields => STRIPES,
        Table::Expiry | Table::Meta | Table::Raft => 1,
    }
}

/// Where `table`'s stripes start in [`StripedTables::stripes`].
const fn first_stripe(table: Table) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < table.index() {
        n += stripe_count(Table::ALL[i]);
        i += 1;
    }
    n
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

/// The stripe `op` writes to, by its index in [`StripedTables::stripes`].
fn place_of(op: &WriteOp<'_>) -> usize {
    first_stripe(op.table) + stripe_of(op.table, op.key)
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
        None if !tombstones => map.remove(op.key).map(|e| e.footprint()),
        value => {
            footprint.added += entry::footprint(op.key.len(), value.map_or(0, <[u8]>::len));
            map.insert(op.key, value, now)
        }
    };
    footprint.removed += old.unwrap_or(0);
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
    /// The stripes of `table`.
    fn table(&self, table: Table) -> &[RwLock<StripeMap>] {
        let first = first_stripe(table);
        &self.stripes[first..first + stripe_count(table)]
    }

    /// Calls `f` with the entry of `key`, if there is one (tombstones included).
    pub fn read<R>(&self, table: Table, key: &[u8], f: impl FnOnce(&Entry) -> R) -> Option<R> {
        let stripe = self.table(table)[stripe_of(table, key)].read();
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
        let stripes = self.table(table);
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
        for stripe in self.table(table) {
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
            let mut map = self.stripes[first].write();
            for op in ops {
                write_op(&mut map, op, tombstones, now, &mut footprint);
            }
            return footprint;
        }
        let mut places = StripeSet::default();
        for op in ops.clone() {
            places.insert(place_of(&op));
        }
        let mut guards: SmallVec<[StripeGuard<'_>; 16]> =
            places.iter().map(|s| self.stripes[s].write()).collect();
        for op in ops {
            let guard = &mut guards[places.rank(place_of(&op))];
            write_op(guard, op, tombstones, now, &mut footprint);
        }
        footprint
    }

    /// Empties `tables`.
    pub fn clear(&self, tables: &[Table]) {
        for table in tables {
            for stripe in self.table(*table) {
                *stripe.write() = StripeMap::default();
            }
        }
    }

    /// Up to `count` entries of `table` from a random position in a random non-empty stripe,
    /// each passed through `f`.
    pub fn sample<R>(&self, table: Table, count: usize, f: impl Fn(&Entry) -> R) -> Vec<R> {
        let stripes = self.table(table);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stripe_set_lists_and_ranks_its_members_in_order() {
        let mut set = StripeSet::default();
        let members = [0, 5, 63, 64, 127, ALL_STRIPES - 1];
        for &s in members.iter().rev() {
            set.insert(s);
        }
        assert_eq!(set.iter().collect::<Vec<_>>(), members);
        for (rank, &s) in members.iter().enumerate() {
            assert_eq!(set.rank(s), rank);
        }
    }

    #[test]
    fn a_write_across_tables_and_stripes_lands_every_op() {
        let tables = StripedTables::default();
        let keys: Vec<Vec<u8>> = (0..40u16)
            .map(|i| (i * 400).to_be_bytes().to_vec())
            .collect();
        let ops = keys
            .iter()
            .map(|k| WriteOp {
                table: Table::Keys,
                key: k,
                value: Some(b"v"),
            })
            .chain([WriteOp {
                table: Table::Meta,
                key: b"m",
                value: Some(b"w"),
            }]);
        tables.write(ops, false);
        for k in &keys {
            let value = tables.read(Table::Keys, k, |e| e.value().map(<[u8]>::to_vec));
            assert_eq!(value, Some(Some(b"v".to_vec())));
        }
        let meta = tables.read(Table::Meta, b"m", |e| e.value().map(<[u8]>::to_vec));
        assert_eq!(meta, Some(Some(b"w".to_vec())));
    }
}
