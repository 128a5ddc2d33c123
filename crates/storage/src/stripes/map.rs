//! The contents of one stripe of a striped table: entries in a hash set for point lookups,
//! and a copy of their keys in an ordered set for range scans.
//!
//! A B-tree alone would serve both, but a lookup in it compares the key with a dozen or more
//! entries, each behind its own pointer: a cache miss per comparison. The hash set finds an
//! entry in two or three misses, which is what GET pays; the ordered copy of the keys costs
//! about 60 bytes per entry and is touched only by inserts, deletes and scans. Nothing here
//! takes locks; the striped tables do.

use std::collections::{BTreeSet, HashSet};
use std::ops::Bound;

use super::entry::Entry;

/// Entries of one stripe, findable by key and walkable in key order.
#[derive(Default)]
pub(crate) struct StripeMap {
    entries: HashSet<Entry>,
    order: BTreeSet<Box<[u8]>>,
}

impl StripeMap {
    /// The entry of `key`.
    pub(super) fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Sets `key` to `value` (None: records its deletion), last used at `now`; returns the
    /// entry it replaces.
    pub(super) fn insert(&mut self, key: &[u8], value: Option<&[u8]>, now: u32) -> Option<Entry> {
        let old = self.entries.replace(Entry::new(key, value, now));
        if old.is_none() {
            self.order.insert(key.into());
        }
        old
    }

    /// Removes and returns the entry of `key`.
    pub(super) fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let old = self.entries.take(key);
        if old.is_some() {
            self.order.remove(key);
        }
        old
    }

    /// Whether the stripe holds no entries.
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries with keys within the bounds, in key order.
    pub(super) fn range<'a>(
        &'a self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> impl Iterator<Item = &'a Entry> + 'a {
        self.order.range::<[u8], _>((lower, upper)).map(|key| {
            self.entries
                .get(&key[..])
                .expect("the ordered keys are those of the entries")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_lookups_and_order_in_step() {
        let mut map = StripeMap::default();
        assert!(map.insert(b"b", Some(b"2"), 0).is_none());
        assert!(map.insert(b"a", Some(b"1"), 0).is_none());
        assert!(map.insert(b"c", Some(b"3"), 0).is_none());
        assert_eq!(
            map.insert(b"b", Some(b"two"), 0).unwrap().value(),
            Some(&b"2"[..])
        );
        assert_eq!(map.get(b"b").unwrap().value(), Some(&b"two"[..]));
        assert_eq!(map.remove(b"a").unwrap().value(), Some(&b"1"[..]));
        assert!(map.remove(b"a").is_none());
        let all: Vec<_> = map
            .range(Bound::Unbounded, Bound::Unbounded)
            .map(|e| (e.key().to_vec(), e.value().unwrap().to_vec()))
            .collect();
        assert_eq!(
            all,
            vec![
                (b"b".to_vec(), b"two".to_vec()),
                (b"c".to_vec(), b"3".to_vec())
            ]
        );
        let from_b_to_c: Vec<_> = map
            .range(Bound::Included(b"b"), Bound::Excluded(b"c"))
            .map(|e| e.key().to_vec())
            .collect();
        assert_eq!(from_b_to_c, vec![b"b".to_vec()]);
    }
}
