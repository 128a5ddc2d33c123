//! The engine interface: five ordered tables of byte strings, atomic write batches, range
//! scans, and explicit durability points.
//!
//! An engine knows nothing about Redis types or slots; the shard layer decides what the
//! keys mean. Writes are visible at once and durable after the next [`Engine::sync`], so
//! the caller can batch many writes under one fsync (group commit).

use bytes::Bytes;

/// The tables every engine provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// One entry per Redis key (keys start with a 2-byte big-endian slot).
    Keys,
    /// One entry per hash field (keys start with a 2-byte big-endian slot).
    Fields,
    /// The expiry index (keys start with an 8-byte big-endian time).
    Expiry,
    /// Small metadata.
    Meta,
    /// Replication state: Raft logs, votes and applied positions (never cleared by `FLUSHALL`).
    Raft,
}

impl Table {
    /// Every table, in a fixed order.
    pub const ALL: [Table; 5] = [
        Table::Keys,
        Table::Fields,
        Table::Expiry,
        Table::Meta,
        Table::Raft,
    ];

    /// The tables holding the data set, which [`Engine::clear`] empties.
    pub const DATA: [Table; 4] = [Table::Keys, Table::Fields, Table::Expiry, Table::Meta];

    /// Position in [`Table::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// A short name, used for on-disk names.
    pub fn name(self) -> &'static str {
        match self {
            Table::Keys => "keys",
            Table::Fields => "fields",
            Table::Expiry => "expiry",
            Table::Meta => "meta",
            Table::Raft => "raft",
        }
    }
}

/// One write of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOp {
    /// Table written.
    pub table: Table,
    /// Key written.
    pub key: Box<[u8]>,
    /// New value; None deletes the key.
    pub value: Option<Box<[u8]>>,
}

/// An atomic group of writes.
#[derive(Debug, Default, Clone)]
pub struct WriteBatch {
    ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value` (both copied, so callers may pass slices of network buffers).
    pub fn put(&mut self, table: Table, key: &[u8], value: &[u8]) {
        self.ops.push(WriteOp {
            table,
            key: key.into(),
            value: Some(value.into()),
        });
    }

    /// Deletes `key`.
    pub fn delete(&mut self, table: Table, key: &[u8]) {
        self.ops.push(WriteOp {
            table,
            key: key.into(),
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

    /// The writes, in order.
    pub fn into_ops(self) -> Vec<WriteOp> {
        self.ops
    }
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The fjall database failed.
    #[error("fjall: {0}")]
    Fjall(#[from] fjall::Error),
    /// A key is longer than the engine stores.
    #[error("key of {0} bytes is longer than the storage limit of {MAX_KEY_LEN} bytes")]
    KeyTooLong(usize),
    /// The database could not be opened.
    #[error("cannot open database in {path}: {reason}")]
    Open {
        /// Directory.
        path: String,
        /// Cause.
        reason: String,
    },
}

/// Longest storage key fjall accepts (it panics beyond this), so the longest for any engine.
pub const MAX_KEY_LEN: usize = 65535;

/// Result of storage operations.
pub type Result<T> = std::result::Result<T, StorageError>;

/// Sizes an engine reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineStats {
    /// Bytes on disk (0 for memory).
    pub disk_bytes: u64,
    /// Bytes of memory holding data (estimate).
    pub memory_bytes: u64,
}

/// A storage engine.
pub trait Engine: Send + Sync + 'static {
    /// "fjall" or "memory".
    fn name(&self) -> &'static str;
    /// The value of `key`.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>>;
    /// Up to `limit` entries with `start <= key < end` (no end: unbounded), in key order.
    fn scan(
        &self,
        table: Table,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>>;
    /// Applies the batch atomically; visible at once, durable after the next `sync`.
    fn write(&self, batch: WriteBatch) -> Result<()>;
    /// Makes every write so far durable (fsync).
    fn sync(&self) -> Result<()>;
    /// Hands buffered writes to the OS without fsync: they survive a process crash.
    fn flush_buffers(&self) -> Result<()>;
    /// Removes every entry of the [`Table::DATA`] tables; durable after the next `sync`.
    fn clear(&self) -> Result<()>;
    /// Reclaims disk space after many deletions.
    fn compact(&self) -> Result<()>;
    /// Current sizes.
    fn stats(&self) -> EngineStats;
    /// Up to `count` `Keys` entries from a random position, each with milliseconds since
    /// last access, for approximate LRU eviction. Engines that do not track access return none.
    fn eviction_sample(&self, count: usize) -> Vec<(Bytes, u64)>;
}
