//! How Redis data is laid out in the engine's tables.
//!
//! Every storage key of `Keys` and `Fields` starts with the key's slot (u16 big-endian),
//! so one slot — or one shard's slot range — is one contiguous range: migration,
//! `CLUSTER GETKEYSINSLOT` and `SCAN` are range scans, never full scans.
//!
//! - `Keys`:   `slot ++ key` → [`crate::value::Header`] ++ payload (string bytes, or hash field count).
//! - `Fields`: `slot ++ len(key) u32 ++ key ++ fieldhash u64 ++ field` → field value. Fields are
//!   ordered by a stable hash so that `HSCAN` cursors survive concurrent changes.
//! - `Expiry`: `expire_at_ms u64 ++ slot ++ key` → empty: the expiry index, soonest first.
//! - `Meta`:   `b"count" ++ slot` → u64 number of keys stored in that slot.

use crate::slot::key_slot;

/// `slot ++ key`: the storage key of a Redis key in `Keys`.
pub fn data_key(slot: u16, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + key.len());
    k.extend_from_slice(&slot.to_be_bytes());
    k.extend_from_slice(key);
    k
}

/// The Redis key and its slot back from a `Keys` storage key.
pub fn split_data_key(storage_key: &[u8]) -> (u16, &[u8]) {
    let slot = u16::from_be_bytes([storage_key[0], storage_key[1]]);
    (slot, &storage_key[2..])
}

/// Start of the `Keys` range of `slot`.
pub fn slot_start(slot: u16) -> [u8; 2] {
    slot.to_be_bytes()
}

/// The common prefix of every field of hash `key` in `Fields`.
pub fn fields_prefix(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(6 + key.len() + 16);
    k.extend_from_slice(&key_slot(key).to_be_bytes());
    k.extend_from_slice(&(key.len() as u32).to_be_bytes());
    k.extend_from_slice(key);
    k
}

/// Stable 64-bit FNV-1a hash of a field name: the order of fields within a hash.
pub fn field_hash(field: &[u8]) -> u64 {
    field.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The storage key of `field` of the hash whose [`fields_prefix`] is `prefix`.
pub fn field_key(prefix: &[u8], field: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 8 + field.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(&field_hash(field).to_be_bytes());
    k.extend_from_slice(field);
    k
}

/// Splits the part of a field storage key after the hash prefix into (field hash, field name).
pub fn split_field_suffix(suffix: &[u8]) -> (u64, &[u8]) {
    let hash = u64::from_be_bytes(
        suffix[..8]
            .try_into()
            .expect("field keys carry an 8-byte hash"),
    );
    (hash, &suffix[8..])
}

/// `expire_at ++ slot ++ key`: an entry of the expiry index.
pub fn expiry_key(expire_at: u64, slot: u16, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(10 + key.len());
    k.extend_from_slice(&expire_at.to_be_bytes());
    k.extend_from_slice(&slot.to_be_bytes());
    k.extend_from_slice(key);
    k
}

/// The Redis key back from an expiry index entry.
pub fn split_expiry_key(storage_key: &[u8]) -> (u64, &[u8]) {
    let at = u64::from_be_bytes(
        storage_key[..8]
            .try_into()
            .expect("expiry keys carry an 8-byte time"),
    );
    (at, &storage_key[10..])
}

/// The `Meta` key holding the number of keys stored in `slot`.
pub fn count_key(slot: u16) -> [u8; 7] {
    let mut k = *b"count\0\0";
    k[5..].copy_from_slice(&slot.to_be_bytes());
    k
}

/// Prefix of every per-slot count in `Meta`.
pub const COUNT_PREFIX: &[u8] = b"count";

/// The smallest byte string greater than every string starting with `prefix` (None: unbounded).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let k = data_key(12182, b"foo");
        assert_eq!(split_data_key(&k), (12182, &b"foo"[..]));
        let e = expiry_key(99, 7, b"bar");
        assert_eq!(split_expiry_key(&e), (99, &b"bar"[..]));
        let p = fields_prefix(b"h");
        let f = field_key(&p, b"name");
        assert_eq!(
            split_field_suffix(&f[p.len()..]),
            (field_hash(b"name"), &b"name"[..])
        );
    }

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
    }
}
