//! One entry of a striped table, and the coarse clock that dates its last access.
//!
//! An entry holds its key and value together: in the entry itself when they are small (up to
//! [`INLINE`] bytes), so that the lookup that finds it finds the value in the same cache line,
//! and otherwise in a single exact-size allocation, because per-key memory is what limits a
//! cache: a separate key and value would cost a second allocation header and a second
//! pointer. An entry may instead record that its key was deleted (a tombstone, which a
//! memtable needs to hide older versions). Nothing here takes locks; the striped tables do.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// Bytes of key and value an entry holds in place, without an allocation of its own: a
/// slot-prefixed key of up to about 20 bytes with a short string or counter.
const INLINE: usize = 38;

/// Estimated cost of an entry's places in its stripe: a 48-byte slot in a hash table about
/// two thirds full, and a 16-byte slot for the key's copy in B-tree nodes about as full.
const SLOT_BYTES: u64 = 96;

/// Milliseconds since the engine's clock started, wrapping after about 49 days.
///
/// The clock is the kernel's coarse one (a few milliseconds' resolution, read without
/// touching the hardware clock), which is all approximate LRU needs. Idle times are
/// differences of two readings, so they are right as long as an entry is read or written at
/// least once every 49 days.
pub(crate) fn now_ms() -> u32 {
    static START: OnceLock<coarsetime::Instant> = OnceLock::new();
    let start = *START.get_or_init(coarsetime::Instant::now);
    coarsetime::Instant::now().duration_since(start).as_millis() as u32
}

/// Marks, in `key_len`, an entry that records a deletion.
const TOMBSTONE: u32 = 1 << 31;

/// The `key_len` field of an entry whose key is `key_len` bytes long and whose value is
/// `value` (None: a deletion).
fn key_len_field(key_len: u32, value: Option<&[u8]>) -> u32 {
    key_len | if value.is_none() { TOMBSTONE } else { 0 }
}

/// Where an entry keeps its key and value, one after the other.
enum Contents {
    /// In the entry itself: a lookup that finds the entry has the value in the same cache
    /// line, where a separate allocation would cost another miss.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// In an allocation of exactly their size.
    Heap(Box<[u8]>),
}

impl Contents {
    fn new(key: &[u8], payload: &[u8]) -> Self {
        let len = key.len() + payload.len();
        if len <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..key.len()].copy_from_slice(key);
            bytes[key.len()..len].copy_from_slice(payload);
            Contents::Inline {
                len: len as u8,
                bytes,
            }
        } else {
            let mut bytes = Vec::with_capacity(len);
            bytes.extend_from_slice(key);
            bytes.extend_from_slice(payload);
            Contents::Heap(bytes.into_boxed_slice())
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Contents::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Contents::Heap(bytes) => bytes,
        }
    }

    /// Replaces what follows the key with `payload` if the new contents fit where the old
    /// ones are; false, and unchanged, if they do not.
    fn overwrite(&mut self, key_end: usize, payload: &[u8]) -> bool {
        let len = key_end + payload.len();
        match self {
            Contents::Inline { len: old, bytes } if len <= INLINE => {
                bytes[key_end..len].copy_from_slice(payload);
                *old = len as u8;
            }
            Contents::Heap(bytes) if bytes.len() == len => {
                bytes[key_end..].copy_from_slice(payload)
            }
            _ => return false,
        }
        true
    }
}

/// A key, its value (or its deletion), and when it was last used.
pub(crate) struct Entry {
    contents: Contents,
    /// The key's length, with [`TOMBSTONE`] set for a deletion.
    key_len: u32,
    accessed: AtomicU32,
}

impl Entry {
    /// Copies `key` and `value` (None: a deletion) into a new entry last used at `now`.
    pub(crate) fn new(key: &[u8], value: Option<&[u8]>, now: u32) -> Self {
        let key_len = u32::try_from(key.len())
            .ok()
            .filter(|&n| n < TOMBSTONE)
            .expect("keys are validated to fit 16 bits");
        Entry {
            contents: Contents::new(key, value.unwrap_or_default()),
            key_len: key_len_field(key_len, value),
            accessed: AtomicU32::new(now),
        }
    }

    /// Gives the entry `value` (None: a deletion), last used at `now`, where its contents
    /// are now if they fit there (in place, or in an allocation of exactly the size they
    /// need); false, and unchanged, if they do not.
    pub(crate) fn overwrite(&mut self, value: Option<&[u8]>, now: u32) -> bool {
        let key_end = self.key_end();
        if !self.contents.overwrite(key_end, value.unwrap_or_default()) {
            return false;
        }
        self.key_len = key_len_field(key_end as u32, value);
        *self.accessed.get_mut() = now;
        true
    }

    fn key_end(&self) -> usize {
        (self.key_len & !TOMBSTONE) as usize
    }

    /// The key.
    pub(crate) fn key(&self) -> &[u8] {
        &self.contents.bytes()[..self.key_end()]
    }

    /// The value; None for a deletion.
    pub(crate) fn value(&self) -> Option<&[u8]> {
        (self.key_len & TOMBSTONE == 0).then(|| &self.contents.bytes()[self.key_end()..])
    }

    /// Records a use at `now`. Skips the store when nothing changes, so a key read by many
    /// threads in the same millisecond does not bounce its cache line between them.
    pub(crate) fn touch(&self, now: u32) {
        if self.accessed.load(Ordering::Relaxed) != now {
            self.accessed.store(now, Ordering::Relaxed);
        }
    }

    /// Milliseconds since the last use, as of `now`.
    pub(crate) fn idle_ms(&self, now: u32) -> u64 {
        u64::from(now.wrapping_sub(self.accessed.load(Ordering::Relaxed)))
    }

    /// Estimated bytes of memory this entry takes in its stripe; see [`footprint`].
    pub(crate) fn footprint(&self) -> u64 {
        footprint(self.key_end(), self.contents.bytes().len() - self.key_end())
    }
}

/// Estimated bytes of memory an entry of this key and value length takes in its stripe: its
/// allocation if it needs one and that of the ordered copy of its key, as glibc's malloc
/// rounds them, and their slots.
pub(crate) fn footprint(key_len: usize, value_len: usize) -> u64 {
    let contents = key_len + value_len;
    let own = if contents <= INLINE {
        0
    } else {
        allocation(contents)
    };
    own + allocation(key_len) + SLOT_BYTES
}

/// Bytes glibc's malloc takes for `len` bytes: 8 bytes of header, 16-byte granules, 32 at least.
fn allocation(len: usize) -> u64 {
    ((len as u64 + 8).div_ceil(16) * 16).max(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where `entry`'s contents are: None when in place.
    fn allocation(entry: &Entry) -> Option<*const u8> {
        match &entry.contents {
            Contents::Inline { .. } => None,
            Contents::Heap(bytes) => Some(bytes.as_ptr()),
        }
    }

    #[test]
    fn entry_splits_its_contents_into_key_and_value() {
        assert_eq!(std::mem::size_of::<Entry>(), 48);
        let long_value = [7; INLINE];
        for value in [&b"value"[..], &long_value] {
            let e = Entry::new(b"key", Some(value), 5);
            assert_eq!(e.key(), b"key");
            assert_eq!(e.value(), Some(value));
            assert_eq!(allocation(&e).is_none(), value.len() < INLINE);
        }
        let empty = Entry::new(b"k", Some(b""), 0);
        assert_eq!(empty.value(), Some(&b""[..]));
        let deleted = Entry::new(b"key", None, 0);
        assert_eq!(deleted.key(), b"key");
        assert_eq!(deleted.value(), None);
        assert_eq!(
            deleted.footprint(),
            Entry::new(b"key", Some(b""), 0).footprint()
        );
    }

    #[test]
    fn a_small_entry_is_overwritten_in_place_with_anything_that_fits() {
        let mut e = Entry::new(b"key", Some(b"12"), 0);
        assert!(e.overwrite(Some(b"34"), 7));
        assert_eq!((e.key(), e.value()), (&b"key"[..], Some(&b"34"[..])));
        assert_eq!(e.idle_ms(7), 0);
        assert!(e.overwrite(Some(b"5678"), 8));
        assert_eq!(e.value(), Some(&b"5678"[..]));
        assert!(e.overwrite(None, 9));
        assert_eq!((e.key(), e.value()), (&b"key"[..], None));
        assert!(e.overwrite(Some(&[1; INLINE - 3]), 10));
        assert!(!e.overwrite(Some(&[1; INLINE - 2]), 11));
        assert_eq!(e.value(), Some(&[1; INLINE - 3][..]));
    }

    #[test]
    fn a_large_entry_is_overwritten_in_place_only_with_contents_of_its_size() {
        let mut e = Entry::new(b"key", Some(&[1; 100]), 0);
        let heap = allocation(&e);
        assert!(heap.is_some());
        assert!(e.overwrite(Some(&[2; 100]), 7));
        assert_eq!(e.value(), Some(&[2; 100][..]));
        assert_eq!(allocation(&e), heap);
        assert!(!e.overwrite(Some(&[3; 101]), 8));
        assert!(!e.overwrite(Some(b"small"), 8));
        assert!(!e.overwrite(None, 8));
        assert_eq!(e.value(), Some(&[2; 100][..]));
    }

    #[test]
    fn idle_time_counts_from_the_last_touch_and_survives_wrapping() {
        let e = Entry::new(b"k", Some(b"v"), 100);
        assert_eq!(e.idle_ms(350), 250);
        e.touch(300);
        assert_eq!(e.idle_ms(350), 50);
        let old = Entry::new(b"k", Some(b"v"), u32::MAX - 9);
        assert_eq!(old.idle_ms(10), 20);
    }

    #[test]
    fn footprint_models_malloc_rounding() {
        assert_eq!(
            Entry::new(b"k", Some(b""), 0).footprint(),
            32 + SLOT_BYTES,
            "held in place: only the key's ordered copy is allocated"
        );
        let typical = Entry::new(&[0; 18], Some(&[0; 110]), 0);
        assert_eq!(typical.footprint(), 144 + 32 + SLOT_BYTES);
    }
}
