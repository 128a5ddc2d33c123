//! A map for the handful of entries one mutation touches: a vector searched from the end
//! while small (no hashing, no allocation once its capacity is reused), indexed by a hash
//! map once it grows, so a mutation over thousands of keys stays linear.
//!
//! Every entry carries a tag, a cheap summary of its key that the caller already has (a
//! key's hash slot, say): the linear search compares tags and only compares keys whose tags
//! match, so a ten-key MSET does not compare ten keys byte by byte for each of its keys.

use std::collections::HashMap;
use std::hash::Hash;

/// Entries beyond which lookups go through a hash index.
const LINEAR: usize = 16;

/// An insertion-ordered map that is cheap when small and cleared for reuse.
pub(super) struct SmallMap<K, V> {
    /// `tags[i]` is the tag of `entries[i]`, kept apart so that a search reads them densely.
    tags: Vec<u16>,
    entries: Vec<(K, V)>,
    index: HashMap<K, usize, ahash::RandomState>,
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap {
            tags: Vec::new(),
            entries: Vec::new(),
            index: HashMap::default(),
        }
    }
}

impl<K: Hash + Eq + Clone, V> SmallMap<K, V> {
    fn position<Q>(&self, tag: u16, key: &Q) -> Option<usize>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.entries.len() <= LINEAR {
            (0..self.tags.len())
                .rev()
                .find(|&i| self.tags[i] == tag && self.entries[i].0.borrow() == key)
        } else {
            self.index.get(key).copied()
        }
    }

    /// The value of `key`, whose tag is `tag` (equal keys must have equal tags).
    pub fn get<Q>(&self, tag: u16, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.position(tag, key).map(|i| &self.entries[i].1)
    }

    /// The value of `key`, inserted as `make()` if missing.
    pub fn entry(&mut self, tag: u16, key: &K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.position(tag, key) {
            Some(i) => i,
            None => {
                self.tags.push(tag);
                self.entries.push((key.clone(), make()));
                let i = self.entries.len() - 1;
                if i == LINEAR {
                    let keys = self.entries.iter().enumerate();
                    self.index = keys.map(|(i, (k, _))| (k.clone(), i)).collect();
                } else if i > LINEAR {
                    self.index.insert(key.clone(), i);
                }
                i
            }
        };
        &mut self.entries[i].1
    }

    /// Sets `key` to `value`.
    pub fn insert(&mut self, tag: u16, key: &K, value: V) {
        let mut value = Some(value);
        let slot = self.entry(tag, key, || value.take().expect("taken once"));
        if let Some(value) = value {
            *slot = value;
        }
    }

    /// The entries, in the order they were first inserted.
    pub fn iter(&self) -> impl Iterator<Item = &(K, V)> {
        self.entries.iter()
    }

    /// Empties the map, keeping its memory unless a large mutation grew it.
    pub fn clear(&mut self) {
        if self.entries.capacity() > 4 * LINEAR {
            *self = SmallMap::default();
        } else {
            self.tags.clear();
            self.entries.clear();
            self.index.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Few tags for many keys, so that keys sharing a tag are told apart by comparison.
    fn tag(key: u32) -> u16 {
        (key % 3) as u16
    }

    #[test]
    fn small_and_large_maps_find_the_latest_value() {
        for n in [3u32, 200] {
            let mut map: SmallMap<u32, u32> = SmallMap::default();
            for i in 0..n {
                map.insert(tag(i), &i, i);
            }
            for i in 0..n {
                *map.entry(tag(i), &i, || 0) += 1000;
            }
            assert_eq!(map.get(tag(n - 1), &(n - 1)), Some(&(n - 1 + 1000)));
            assert_eq!(map.get(tag(n), &n), None);
            assert_eq!(map.iter().count(), n as usize);
            assert_eq!(
                map.iter().next().map(|(k, _)| *k),
                Some(0),
                "insertion order"
            );
            map.clear();
            assert_eq!(map.get(tag(0), &0), None);
        }
    }
}
