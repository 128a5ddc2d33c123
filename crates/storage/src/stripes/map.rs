//! The contents of one stripe of a striped table: entries in a hash set for point lookups,
//! and a copy of their keys in an ordered set for range scans.
//!
//! The hash set uses aHash with per-process random keys: it resists hash flooding by
//! client-chosen keys, as Redis's SipHash does, in a fifth of std's SipHash instructions
//! (which had been an eighth of a SET's). A write that gives a key a value as long as its
//! old one overwrites the entry in place, as Redis's `INCR` updates its integer in place,
//! without an allocation and a free.
//!
//! A B-tree alone would serve both, but a lookup in it compares the key with a dozen or more
//! entries, each behind its own pointer: a cache miss per comparison. The hash set finds an
//! entry in two or three misses, which is what GET pays; the ordered copy of the keys costs
//! about 60 bytes per entry and is touched only by inserts, deletes and scans.
//!
//! Keys new to the stripe are not put in order when they arrive: inserting into the B-tree
//! was a seventh of a cluster node's CPU under writes, and most keys written to a memtable
//! are never scanned before it is flushed. They wait in a list, and the first scan sorts
//! them into the ordered set ([`StripeMap::sort`]). Nothing here takes locks; the striped
//! tables do, and take the stripe's write lock to sort before they scan.

use std::collections::BTreeSet;
use std::ops::Bound;

use ahash::RandomState;
use hashbrown::hash_table::{Entry as Slot, HashTable};

use super::entry::Entry;

/// Unsorted keys allowed beyond twice the entries, so that keys deleted and written again
/// and again without a scan do not pile up.
const UNSORTED_SLACK: usize = 1024;

/// Entries of one stripe, findable by key and walkable in key order once sorted.
#[derive(Default)]
pub(crate) struct StripeMap {
    entries: HashTable<Entry>,
    hasher: RandomState,
    order: BTreeSet<Box<[u8]>>,
    /// Keys inserted since the last sort, in arrival order; some may have been removed since.
    unsorted: Vec<Box<[u8]>>,
}

impl StripeMap {
    /// The entry of `key`.
    pub(super) fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.entries
            .find(self.hasher.hash_one(key), |e| e.key() == key)
    }

    /// Sets `key` to `value` (None: records its deletion), last used at `now`; returns the
    /// footprint of the entry it replaces ([`Entry::footprint`]).
    pub(super) fn insert(&mut self, key: &[u8], value: Option<&[u8]>, now: u32) -> Option<u64> {
        let hasher = &self.hasher;
        let slot = self.entries.entry(
            hasher.hash_one(key),
            |e| e.key() == key,
            |e| hasher.hash_one(e.key()),
        );
        match slot {
            Slot::Occupied(mut occupied) => {
                let entry = occupied.get_mut();
                let footprint = entry.footprint();
                if !entry.overwrite(value, now) {
                    *entry = Entry::new(key, value, now);
                }
                Some(footprint)
            }
            Slot::Vacant(vacant) => {
                vacant.insert(Entry::new(key, value, now));
                self.unsorted.push(key.into());
                if self.unsorted.len() > UNSORTED_SLACK + 2 * self.entries.len() {
                    self.sort();
                }
                None
            }
        }
    }

    /// Removes and returns the entry of `key`.
    pub(super) fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let found = self
            .entries
            .find_entry(self.hasher.hash_one(key), |e| e.key() == key);
        let (old, _) = found.ok()?.remove();
        self.order.remove(key);
        Some(old)
    }

    /// Whether the stripe holds no entries.
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether every key is in order, so that [`StripeMap::range`] sees them all.
    pub(super) fn is_sorted(&self) -> bool {
        self.unsorted.is_empty()
    }

    /// Puts the keys inserted since the last sort in order, dropping those removed since.
    pub(super) fn sort(&mut self) {
        let mut keys = std::mem::take(&mut self.unsorted);
        keys.sort_unstable();
        for key in keys {
            if self.get(&key).is_some() {
                self.order.insert(key);
            }
        }
    }

    /// Every entry (tombstones included) in key order, sorted here and now without putting
    /// unsorted keys into the ordered set: for a stripe read whole once, as a flush reads a
    /// frozen memtable, one sort of pointers costs less than inserting each key into the
    /// B-tree and finding its entry again by hash.
    pub(super) fn in_order(&self) -> Vec<&Entry> {
        let mut all: Vec<&Entry> = self.entries.iter().collect();
        all.sort_unstable_by(|a, b| a.key().cmp(b.key()));
        all
    }

    /// Entries with keys within the bounds, in key order; only those sorted (every entry
    /// once [`StripeMap::is_sorted`]).
    pub(super) fn range<'a>(
        &'a self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> impl Iterator<Item = &'a Entry> + 'a {
        self.order.range::<[u8], _>((lower, upper)).map(|key| {
            self.get(key)
                .expect("the ordered keys are those of the entries")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry of a sorted `map` as (key, value), in key order.
    fn contents(map: &StripeMap) -> Vec<(Vec<u8>, Vec<u8>)> {
        map.range(Bound::Unbounded, Bound::Unbounded)
            .map(|e| (e.key().to_vec(), e.value().unwrap().to_vec()))
            .collect()
    }

    #[test]
    fn keeps_lookups_and_order_in_step() {
        let mut map = StripeMap::default();
        assert!(map.insert(b"b", Some(b"2"), 0).is_none());
        assert!(map.insert(b"a", Some(b"1"), 0).is_none());
        assert!(map.insert(b"c", Some(b"3"), 0).is_none());
        let two = map.get(b"b").unwrap().footprint();
        assert_eq!(map.insert(b"b", Some(b"two"), 0), Some(two));
        assert_eq!(map.get(b"b").unwrap().value(), Some(&b"two"[..]));
        let in_place = map.get(b"b").unwrap().footprint();
        assert_eq!(map.insert(b"b", Some(b"TWO"), 0), Some(in_place));
        assert_eq!(map.get(b"b").unwrap().value(), Some(&b"TWO"[..]));
        assert!(!map.is_sorted());
        map.sort();
        assert!(map.is_sorted());
        assert_eq!(map.remove(b"a").unwrap().value(), Some(&b"1"[..]));
        assert!(map.remove(b"a").is_none());
        assert_eq!(
            contents(&map),
            vec![
                (b"b".to_vec(), b"TWO".to_vec()),
                (b"c".to_vec(), b"3".to_vec())
            ]
        );
        let from_b_to_c: Vec<_> = map
            .range(Bound::Included(b"b"), Bound::Excluded(b"c"))
            .map(|e| e.key().to_vec())
            .collect();
        assert_eq!(from_b_to_c, vec![b"b".to_vec()]);
    }

    #[test]
    fn in_order_sees_sorted_and_unsorted_keys_alike() {
        let mut map = StripeMap::default();
        map.insert(b"m", Some(b"1"), 0);
        map.insert(b"c", None, 0);
        map.sort();
        map.insert(b"x", Some(b"2"), 0);
        map.insert(b"a", Some(b"3"), 0);
        map.remove(b"x");
        let keys: Vec<_> = map.in_order().iter().map(|e| e.key().to_vec()).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"c".to_vec(), b"m".to_vec()]);
        assert!(
            !map.is_sorted(),
            "reading in order leaves the ordered set alone"
        );
    }

    #[test]
    fn a_key_removed_before_it_was_sorted_is_not_scanned() {
        let mut map = StripeMap::default();
        map.insert(b"a", Some(b"1"), 0);
        map.insert(b"b", Some(b"2"), 0);
        map.remove(b"a");
        map.insert(b"c", Some(b"3"), 0);
        map.remove(b"c");
        map.insert(b"c", Some(b"again"), 0);
        map.sort();
        assert_eq!(
            contents(&map),
            vec![
                (b"b".to_vec(), b"2".to_vec()),
                (b"c".to_vec(), b"again".to_vec())
            ]
        );
    }
}
