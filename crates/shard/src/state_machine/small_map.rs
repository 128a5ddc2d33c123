//! A map for the handful of entries one mutation touches: a vector searched from the end
//! while small (no hashing, no allocation once its capacity is reused), indexed by a hash
//! map once it grows, so a mutation over thousands of keys stays linear.

use std::collections::HashMap;
use std::hash::Hash;

/// Entries beyond which lookups go through a hash index.
const LINEAR: usize = 16;

/// An insertion-ordered map that is cheap when small and cleared for reuse.
pub(super) struct SmallMap<K, V> {
    entries: Vec<(K, V)>,
    index: HashMap<K, usize>,
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap {
            entries: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq + Clone, V> SmallMap<K, V> {
    fn position<Q>(&self, key: &Q) -> Option<usize>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.entries.len() <= LINEAR {
            self.entries.iter().rposition(|(k, _)| k.borrow() == key)
        } else {
            self.index.get(key).copied()
        }
    }

    /// The value of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.position(key).map(|i| &self.entries[i].1)
    }

    /// The value of `key`, inserted as `make()` if missing.
    pub fn entry(&mut self, key: &K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.position(key) {
            Some(i) => i,
            None => {
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
    pub fn insert(&mut self, key: &K, value: V) {
        let mut value = Some(value);
        let slot = self.entry(key, || value.take().expect("taken once"));
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
            self.entries.clear();
            self.index.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_maps_find_the_latest_value() {
        for n in [3u32, 200] {
            let mut map: SmallMap<u32, u32> = SmallMap::default();
            for i in 0..n {
                map.insert(&i, i);
            }
            for i in 0..n {
                *map.entry(&i, || 0) += 1000;
            }
            assert_eq!(map.get(&(n - 1)), Some(&(n - 1 + 1000)));
            assert_eq!(map.get(&n), None);
            assert_eq!(map.iter().count(), n as usize);
            assert_eq!(
                map.iter().next().map(|(k, _)| *k),
                Some(0),
                "insertion order"
            );
            map.clear();
            assert_eq!(map.get(&0), None);
        }
    }
}
