//! One entry of the memory engine, and the coarse clock that dates its last access.
//!
//! An entry holds its key and value in a single exact-size allocation, because per-key memory
//! is what limits a cache: a separate key and value would cost a second allocation header and
//! a second pointer. Entries hash and compare by key alone, so a set of entries can be
//! searched with a plain `&[u8]` key. Nothing here takes locks; the engine does.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Estimated cost of an entry's places in its stripe: a 24-byte slot in a hash table about
/// two thirds full, and a 16-byte slot for the key's copy in B-tree nodes about as full.
const SLOT_BYTES: u64 = 64;

/// Milliseconds since the engine's clock started, wrapping after about 49 days.
///
/// Idle times are differences of two readings, so they are right as long as an entry is read
/// or written at least once every 49 days.
pub(super) fn now_ms() -> u32 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u32
}

/// A key, its value, and when it was last used.
pub(super) struct Entry {
    bytes: Box<[u8]>,
    key_len: u32,
    accessed: AtomicU32,
}

impl Entry {
    /// Copies `key` and `value` into a new entry last used at `now`.
    pub(super) fn new(key: &[u8], value: &[u8], now: u32) -> Self {
        let mut bytes = Vec::with_capacity(key.len() + value.len());
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(value);
        Entry {
            bytes: bytes.into_boxed_slice(),
            key_len: u32::try_from(key.len()).expect("keys are validated to fit 16 bits"),
            accessed: AtomicU32::new(now),
        }
    }

    /// The key.
    pub(super) fn key(&self) -> &[u8] {
        &self.bytes[..self.key_len as usize]
    }

    /// The value.
    pub(super) fn value(&self) -> &[u8] {
        &self.bytes[self.key_len as usize..]
    }

    /// Records a use at `now`. Skips the store when nothing changes, so a key read by many
    /// threads in the same millisecond does not bounce its cache line between them.
    pub(super) fn touch(&self, now: u32) {
        if self.accessed.load(Ordering::Relaxed) != now {
            self.accessed.store(now, Ordering::Relaxed);
        }
    }

    /// Milliseconds since the last use, as of `now`.
    pub(super) fn idle_ms(&self, now: u32) -> u64 {
        u64::from(now.wrapping_sub(self.accessed.load(Ordering::Relaxed)))
    }

    /// Estimated bytes of memory this entry takes in its stripe; see [`footprint`].
    pub(super) fn footprint(&self) -> u64 {
        footprint(
            self.key_len as usize,
            self.bytes.len() - self.key_len as usize,
        )
    }
}

/// Estimated bytes of memory an entry of this key and value length takes in its stripe: its
/// allocation and that of the ordered copy of its key, as glibc's malloc rounds them, and
/// their slots.
pub(super) fn footprint(key_len: usize, value_len: usize) -> u64 {
    allocation(key_len + value_len) + allocation(key_len) + SLOT_BYTES
}

/// Bytes glibc's malloc takes for `len` bytes: 8 bytes of header, 16-byte granules, 32 at least.
fn allocation(len: usize) -> u64 {
    ((len as u64 + 8).div_ceil(16) * 16).max(32)
}

impl Borrow<[u8]> for Entry {
    fn borrow(&self) -> &[u8] {
        self.key()
    }
}

impl Hash for Entry {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Entry {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn entry_splits_its_allocation_into_key_and_value() {
        let e = Entry::new(b"key", b"value", 5);
        assert_eq!(e.key(), b"key");
        assert_eq!(e.value(), b"value");
        assert_eq!(e.bytes.len(), 8);
        assert_eq!(std::mem::size_of::<Entry>(), 24);
        let empty = Entry::new(b"k", b"", 0);
        assert_eq!(empty.value(), b"");
    }

    #[test]
    // The access time is interior-mutable but takes no part in hashing or comparing.
    #[allow(clippy::mutable_key_type)]
    fn a_set_of_entries_is_searchable_by_key() {
        let mut set = HashSet::new();
        set.insert(Entry::new(b"a", b"1", 0));
        assert!(set.replace(Entry::new(b"a", b"one", 0)).is_some());
        set.insert(Entry::new(b"b", b"2", 0));
        assert_eq!(set.get(&b"a"[..]).unwrap().value(), b"one");
        assert!(!set.contains(&b"other"[..]));
        assert!(set.take(&b"b"[..]).is_some());
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn idle_time_counts_from_the_last_touch_and_survives_wrapping() {
        let e = Entry::new(b"k", b"v", 100);
        assert_eq!(e.idle_ms(350), 250);
        e.touch(300);
        assert_eq!(e.idle_ms(350), 50);
        let old = Entry::new(b"k", b"v", u32::MAX - 9);
        assert_eq!(old.idle_ms(10), 20);
    }

    #[test]
    fn footprint_models_malloc_rounding() {
        assert_eq!(Entry::new(b"k", b"", 0).footprint(), 32 + 32 + SLOT_BYTES);
        let typical = Entry::new(&[0; 18], &[0; 110], 0);
        assert_eq!(typical.footprint(), 144 + 32 + SLOT_BYTES);
    }
}
