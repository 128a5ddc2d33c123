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
    pub const fn index(self) -> usize {
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

/// One write of a batch, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOp<'a> {
    /// Table written.
    pub table: Table,
    /// Key written.
    pub key: &'a [u8],
    /// New value; None deletes the key.
    pub value: Option<&'a [u8]>,
}

/// An atomic group of writes, encoded into one buffer as they are added: no allocation per
/// write, and the write-ahead log stores the buffer as it is.
///
/// Each write is `table u8, kind u8 (0 put, 1 delete), key length u32 LE, key`, then for a
/// put `value length u32 LE, value`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteBatch {
    buf: Vec<u8>,
    count: usize,
}

/// A position in a [`WriteBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMark {
    bytes: usize,
    count: usize,
}

const PUT: u8 = 0;
const DELETE: u8 = 1;

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value` (both copied, so callers may pass slices of network buffers).
    pub fn put(&mut self, table: Table, key: &[u8], value: &[u8]) {
        self.buf.reserve(10 + key.len() + value.len());
        self.header(table, PUT, key);
        self.buf
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(value);
    }

    /// Sets the key made of `key` parts to the value made of `value` parts, without
    /// building either first.
    pub fn put_parts(&mut self, table: Table, key: &[&[u8]], value: &[&[u8]]) {
        let key_len: usize = key.iter().map(|p| p.len()).sum();
        let value_len: usize = value.iter().map(|p| p.len()).sum();
        self.buf.reserve(10 + key_len + value_len);
        self.buf.push(table as u8);
        self.buf.push(PUT);
        self.buf.extend_from_slice(&(key_len as u32).to_le_bytes());
        key.iter().for_each(|p| self.buf.extend_from_slice(p));
        self.buf
            .extend_from_slice(&(value_len as u32).to_le_bytes());
        value.iter().for_each(|p| self.buf.extend_from_slice(p));
        self.count += 1;
    }

    /// Removes every write, keeping the buffer.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.count = 0;
    }

    /// Bytes the buffer can hold without growing.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Where the batch ends now, to [`WriteBatch::truncate`] back to.
    pub fn mark(&self) -> BatchMark {
        BatchMark {
            bytes: self.buf.len(),
            count: self.count,
        }
    }

    /// Drops every write added after `mark`.
    pub fn truncate(&mut self, mark: BatchMark) {
        self.buf.truncate(mark.bytes);
        self.count = mark.count;
    }

    /// Deletes `key`.
    pub fn delete(&mut self, table: Table, key: &[u8]) {
        self.buf.reserve(6 + key.len());
        self.header(table, DELETE, key);
    }

    fn header(&mut self, table: Table, kind: u8, key: &[u8]) {
        self.buf.push(table as u8);
        self.buf.push(kind);
        self.buf
            .extend_from_slice(&(key.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(key);
        self.count += 1;
    }

    /// Whether the batch holds no writes.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Number of writes.
    pub fn len(&self) -> usize {
        self.count
    }

    /// The writes, in order.
    pub fn ops(&self) -> WriteOps<'_> {
        WriteOps { rest: &self.buf }
    }

    /// The encoded writes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// A batch from its encoding; None if `bytes` is not one.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut ops = WriteOps { rest: bytes };
        let mut count = 0;
        while !ops.rest.is_empty() {
            ops.decode()?;
            count += 1;
        }
        Some(WriteBatch {
            buf: bytes.to_vec(),
            count,
        })
    }
}

/// Iterator over the writes of a [`WriteBatch`].
#[derive(Clone)]
pub struct WriteOps<'a> {
    rest: &'a [u8],
}

impl<'a> WriteOps<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn length(&mut self) -> Option<usize> {
        let bytes = self.take(4)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?) as usize)
    }

    fn decode(&mut self) -> Option<WriteOp<'a>> {
        let head = self.take(2)?;
        let table = *Table::ALL.get(usize::from(head[0]))?;
        let key_len = self.length()?;
        let key = self.take(key_len)?;
        let value = match head[1] {
            PUT => {
                let len = self.length()?;
                Some(self.take(len)?)
            }
            DELETE => None,
            _ => return None,
        };
        Some(WriteOp { table, key, value })
    }
}

impl<'a> Iterator for WriteOps<'a> {
    type Item = WriteOp<'a>;

    fn next(&mut self) -> Option<WriteOp<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let op = self.decode();
        debug_assert!(op.is_some(), "batches are encoded by WriteBatch itself");
        op
    }
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The fjall database failed.
    #[error("fjall: {0}")]
    Fjall(#[from] fjall::Error),
    /// The durable engine's write-ahead log failed.
    #[error("write-ahead log: {0}")]
    Log(String),
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
    /// Whether what is written survives a restart. An engine that keeps nothing needs none
    /// of the records that exist only to rebuild state when it reopens.
    fn persistent(&self) -> bool;
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
    fn write(&self, batch: &WriteBatch) -> Result<()>;
    /// Makes every write so far durable (fsync).
    fn sync(&self) -> Result<()>;
    /// Bytes written since the last `sync`/`flush_buffers` and not yet handed to the OS.
    fn unsynced_bytes(&self) -> usize;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_round_trips_through_its_encoding() {
        let mut batch = WriteBatch::new();
        batch.put(Table::Keys, b"\0\x01k", b"value");
        batch.delete(Table::Fields, b"gone");
        batch.put(Table::Raft, b"", b"");
        assert_eq!(batch.len(), 3);
        let ops: Vec<_> = batch.ops().collect();
        assert_eq!(
            ops,
            vec![
                WriteOp {
                    table: Table::Keys,
                    key: b"\0\x01k",
                    value: Some(b"value")
                },
                WriteOp {
                    table: Table::Fields,
                    key: b"gone",
                    value: None
                },
                WriteOp {
                    table: Table::Raft,
                    key: b"",
                    value: Some(b"")
                },
            ]
        );
        let mark = batch.mark();
        batch.put_parts(Table::Meta, &[b"a", b"b"], &[b"", b"cd"]);
        assert_eq!(
            batch.ops().last().unwrap(),
            WriteOp {
                table: Table::Meta,
                key: b"ab",
                value: Some(b"cd")
            }
        );
        batch.truncate(mark);
        let decoded = WriteBatch::from_bytes(batch.as_bytes()).unwrap();
        assert_eq!(decoded, batch);
        let bytes = batch.as_bytes();
        assert!(WriteBatch::from_bytes(&bytes[..bytes.len() - 1]).is_none());
        assert!(
            WriteBatch::from_bytes(&[9, 0, 0, 0, 0, 0]).is_none(),
            "no table 9"
        );
    }
}
