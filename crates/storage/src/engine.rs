//! The engine interface: four ordered tables of byte strings, atomic write batches, range
//! scans, and explicit durability points.
//!
//! An engine knows nothing about Redis types or slots; the shard layer decides what the keys
//! and values mean. Writes are visible at once and durable only after the next
//! [`Engine::sync`], so the caller can put many writes under one fsync (group commit). This
//! module does not choose an engine or a file layout; those are in the engine modules.

use std::ops::Range;
use std::path::PathBuf;

use bytes::Bytes;

/// Longest key an engine accepts, in bytes (fjall stores key lengths in 16 bits).
pub(crate) const MAX_KEY_LEN: usize = u16::MAX as usize;

/// Longest value an engine accepts, in bytes (fjall stores value lengths in 32 bits).
pub(crate) const MAX_VALUE_LEN: usize = u32::MAX as usize;

/// The tables every engine provides. Each is an ordered map from byte keys to byte values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// One entry per Redis key; keys start with the 2-byte big-endian slot.
    Keys,
    /// One entry per field of a hash, set or other collection; keys start with the 2-byte
    /// big-endian slot.
    Fields,
    /// The expiry index; keys start with the 8-byte big-endian expiry time.
    Expiry,
    /// Small metadata (applied position, configuration).
    Meta,
}

impl Table {
    /// Every table, in a fixed order.
    pub(crate) const ALL: [Table; 4] = [Table::Keys, Table::Fields, Table::Expiry, Table::Meta];

    /// Position in [`Table::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// A short name, used for on-disk names.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Table::Keys => "keys",
            Table::Fields => "fields",
            Table::Expiry => "expiry",
            Table::Meta => "meta",
        }
    }
}

/// One write of a batch: its key and value are ranges of the batch's byte buffer.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    /// Table written.
    pub(crate) table: Table,
    /// Position of the key in the buffer.
    pub(crate) key: Range<usize>,
    /// Position of the new value in the buffer; `None` deletes the key.
    pub(crate) value: Option<Range<usize>>,
}

/// An atomic group of writes.
///
/// `put` and `delete` copy their arguments into one buffer owned by the batch, so callers may
/// pass slices of large network buffers: nothing of theirs is retained, and a batch of many
/// small writes costs a few allocations, not two per write.
#[derive(Debug, Default, Clone)]
pub struct WriteBatch {
    data: Vec<u8>,
    ops: Vec<Op>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value` in `table` (both copied).
    pub fn put(&mut self, table: Table, key: &[u8], value: &[u8]) {
        self.data.reserve(key.len() + value.len());
        let key = self.append(key);
        let value = self.append(value);
        self.ops.push(Op {
            table,
            key,
            value: Some(value),
        });
    }

    /// Deletes `key` from `table` (a no-op if it is absent).
    pub fn delete(&mut self, table: Table, key: &[u8]) {
        let key = self.append(key);
        self.ops.push(Op {
            table,
            key,
            value: None,
        });
    }

    /// Whether the batch holds no writes.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Number of writes.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    fn append(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        start..self.data.len()
    }

    /// Checks every key and value against the limits all engines share, so that a batch is
    /// either applied whole or rejected before anything is written.
    pub(crate) fn validate(&self) -> Result<()> {
        for op in &self.ops {
            let key_len = op.key.len();
            if key_len == 0 || key_len > MAX_KEY_LEN {
                return Err(StorageError::KeyLength { len: key_len });
            }
            if let Some(value) = &op.value {
                if value.len() > MAX_VALUE_LEN {
                    return Err(StorageError::ValueLength { len: value.len() });
                }
            }
        }
        Ok(())
    }

    /// The buffer holding every key and value, and the writes in order.
    pub(crate) fn into_parts(self) -> (Vec<u8>, Vec<Op>) {
        (self.data, self.ops)
    }
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database directory could not be created or is not usable.
    #[error("cannot use database directory {path}: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Another process (or another engine in this one) has the database open.
    #[error("database directory {path} is locked: another process has it open")]
    Locked {
        /// The directory.
        path: PathBuf,
    },
    /// The database exists but could not be opened or recovered.
    #[error("cannot open database in {path}: {source}")]
    Open {
        /// The directory.
        path: PathBuf,
        /// fjall's error.
        source: fjall::Error,
    },
    /// A key is empty or longer than the engines accept.
    #[error("key of {len} bytes rejected: keys must be 1 to 65535 bytes long")]
    KeyLength {
        /// Length of the key.
        len: usize,
    },
    /// A value is longer than the engines accept.
    #[error("value of {len} bytes rejected: values must be at most 4 GiB - 1 long")]
    ValueLength {
        /// Length of the value.
        len: usize,
    },
    /// fjall failed while the database was open (I/O error, failed fsync, corruption).
    #[error("storage failure: {0}")]
    Fjall(#[from] fjall::Error),
}

/// Result of storage operations.
pub type Result<T> = std::result::Result<T, StorageError>;

/// Sizes an engine reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineStats {
    /// Bytes the database occupies on disk (0 for the memory engine).
    pub disk_bytes: u64,
    /// Bytes of memory holding data: an estimate of all entries for the memory engine; the
    /// write buffers (memtables) and the block cache for fjall.
    pub memory_bytes: u64,
}

/// A storage engine: four ordered tables with atomic batches and explicit durability.
pub trait Engine: Send + Sync + 'static {
    /// "fjall" or "memory".
    fn name(&self) -> &'static str;

    /// The value of `key` in `table`.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>>;

    /// Up to `limit` entries with `start <= key < end` (`end` None: unbounded), in key order.
    fn scan(
        &self,
        table: Table,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>>;

    /// Applies the batch atomically; visible to readers at once, durable after the next `sync`.
    ///
    /// Keys must be 1 to 65535 bytes long; otherwise nothing is written and
    /// [`StorageError::KeyLength`] is returned.
    fn write(&self, batch: WriteBatch) -> Result<()>;

    /// Makes every write done so far durable (fsync of the journal). No-op for memory.
    fn sync(&self) -> Result<()>;

    /// Hands buffered writes to the OS without fsync: they survive a crash of the process,
    /// not a power loss. No-op for memory.
    fn flush_buffers(&self) -> Result<()>;

    /// Removes every entry of every table, durably once followed by `sync` (FLUSHALL).
    /// Takes time independent of the number of entries.
    fn clear(&self) -> Result<()>;

    /// Reclaims disk space after many deletions. Slow; call it rarely, from a background
    /// thread. No-op for memory.
    fn compact(&self) -> Result<()>;

    /// Current sizes.
    fn stats(&self) -> EngineStats;

    /// Up to `count` keys of [`Table::Keys`] from a random position, each with the
    /// milliseconds since it was last read or written, for approximate LRU eviction.
    /// Engines that do not track access (fjall) return none.
    fn eviction_sample(&self, count: usize) -> Vec<(Bytes, u64)>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_copies_keys_and_values_into_one_buffer() {
        let mut batch = WriteBatch::new();
        assert!(batch.is_empty());
        batch.put(Table::Keys, b"k1", b"v1");
        batch.delete(Table::Meta, b"gone");
        batch.put(Table::Expiry, b"k2", b"");
        assert_eq!(batch.len(), 3);
        let (data, ops) = batch.into_parts();
        let texts: Vec<_> = ops
            .iter()
            .map(|op| {
                (
                    op.table,
                    &data[op.key.clone()],
                    op.value.clone().map(|v| &data[v]),
                )
            })
            .collect();
        assert_eq!(
            texts,
            vec![
                (Table::Keys, &b"k1"[..], Some(&b"v1"[..])),
                (Table::Meta, &b"gone"[..], None),
                (Table::Expiry, &b"k2"[..], Some(&b""[..])),
            ]
        );
    }

    #[test]
    fn validation_rejects_empty_and_overlong_keys() {
        let mut ok = WriteBatch::new();
        ok.put(Table::Keys, &[7; MAX_KEY_LEN], b"v");
        assert!(ok.validate().is_ok());
        for len in [0, MAX_KEY_LEN + 1] {
            let mut batch = WriteBatch::new();
            batch.put(Table::Keys, b"fine", b"v");
            batch.delete(Table::Keys, &vec![1; len]);
            let err = batch.validate().unwrap_err();
            assert!(matches!(err, StorageError::KeyLength { len: l } if l == len));
            assert!(err.to_string().contains(&len.to_string()));
        }
    }
}
