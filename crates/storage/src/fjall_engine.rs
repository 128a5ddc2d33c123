//! The durable engine: one fjall database in a directory, one fjall keyspace per [`Table`],
//! cross-table batches with fjall's atomic write batch.
//!
//! Durability is the caller's to schedule. Writes go to fjall's journal buffer and are never
//! fsynced behind the caller's back (`manual_journal_persist`, and fjall 3 has no periodic
//! fsync); [`Engine::sync`] fsyncs the journal once for every write before it (group commit),
//! [`Engine::flush_buffers`] hands them to the OS without fsync. fjall still fsyncs the journal
//! by itself before it flushes a memtable, which only makes data durable sooner.
//!
//! fjall deletes a sealed journal only once every keyspace that wrote to it has a table on
//! disk holding a newer sequence number. A keyspace whose tables were all compacted away (or
//! cleared) has no such table and would pin every journal on disk until it is written again.
//! So [`Engine::compact`] and [`Engine::clear`] rewrite a sentinel entry ([`SENTINEL`], above
//! every key ringkv uses, hidden from reads) in each keyspace and flush it. This module does
//! not decide when to compact; the server does.

use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use fjall::{
    AbstractTree, Database, Keyspace, KeyspaceCreateOptions, OwnedWriteBatch, PersistMode,
};

use crate::engine::{Engine, EngineStats, Result, StorageError, Table, WriteBatch};

/// Reserved key present in every keyspace once it has been compacted or cleared. Reads never
/// return it, and scans stop below it, so keys from 16 bytes of `0xff` up are not usable.
const SENTINEL: &[u8] = &[0xff; 16];

/// `compact` rewrites a table whose entries are at least this fraction (1/n) tombstones.
const TOMBSTONE_SHARE_DIVISOR: u64 = 8;

/// Smallest journal budget fjall accepts.
const MIN_JOURNAL_BYTES: u64 = 64 * 1024 * 1024;

/// Settings of the fjall engine.
#[derive(Debug, Clone)]
pub struct FjallOptions {
    /// Block cache shared by all tables, in bytes. Default 256 MiB.
    pub cache_bytes: u64,
    /// Size at which a table's memtable is flushed to disk, in bytes. Default 16 MiB. fjall
    /// stores it with the table when the database is created; later changes have no effect.
    pub memtable_bytes: u64,
    /// Total size of journals after which fjall flushes memtables so old journals can be
    /// deleted; bounds recovery time. Default 512 MiB; at least 64 MiB.
    pub max_journal_bytes: u64,
    /// Background threads for flushes and compactions. Default: the number of CPUs, at most 4.
    pub worker_threads: usize,
}

impl Default for FjallOptions {
    fn default() -> Self {
        FjallOptions {
            cache_bytes: 256 * 1024 * 1024,
            memtable_bytes: 16 * 1024 * 1024,
            max_journal_bytes: 512 * 1024 * 1024,
            worker_threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
        }
    }
}

/// A fjall database holding the four tables.
pub struct FjallEngine {
    dir: PathBuf,
    db: Database,
    tables: [Keyspace; 4],
}

impl FjallEngine {
    /// Opens the database in `dir`, creating the directory and the database if needed, and
    /// recovering writes from the journal after a crash.
    pub fn open(dir: &Path, options: FjallOptions) -> Result<Self> {
        let directory_error = |source| StorageError::Directory {
            path: dir.to_owned(),
            source,
        };
        fs::create_dir_all(dir).map_err(directory_error)?;
        let open_error = |e| match e {
            fjall::Error::Locked => StorageError::Locked {
                path: dir.to_owned(),
            },
            fjall::Error::Io(source) => directory_error(source),
            source => StorageError::Open {
                path: dir.to_owned(),
                source,
            },
        };
        let db = Database::builder(dir)
            .cache_size(options.cache_bytes)
            .manual_journal_persist(true)
            .max_journaling_size(options.max_journal_bytes.max(MIN_JOURNAL_BYTES))
            .worker_threads(options.worker_threads.max(1))
            .open()
            .map_err(open_error)?;
        let create = || KeyspaceCreateOptions::default().max_memtable_size(options.memtable_bytes);
        let open_table = |table: Table| db.keyspace(table.name(), create).map_err(open_error);
        let tables = [
            open_table(Table::Keys)?,
            open_table(Table::Fields)?,
            open_table(Table::Expiry)?,
            open_table(Table::Meta)?,
        ];
        Ok(FjallEngine {
            dir: dir.to_owned(),
            db,
            tables,
        })
    }

    fn keyspace(&self, table: Table) -> &Keyspace {
        &self.tables[table.index()]
    }

    /// Writes a fresh sentinel into each of `tables` and flushes their memtables, so that each
    /// has a table on disk newer than every journal (which lets fjall delete old journals) and
    /// fjall drops the versions that kept compacted or cleared tables' files alive.
    fn flush_with_sentinel(&self, tables: &[Table]) -> Result<()> {
        let mut batch = OwnedWriteBatch::with_capacity(self.db.clone(), tables.len());
        for &table in tables {
            batch.insert(self.keyspace(table), SENTINEL, []);
        }
        batch.commit()?;
        for &table in tables {
            self.keyspace(table).rotate_memtable_and_wait()?;
        }
        Ok(())
    }
}

impl Engine for FjallEngine {
    fn name(&self) -> &'static str {
        "fjall"
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>> {
        if key == SENTINEL {
            return Ok(None);
        }
        // With fjall's `bytes_1` feature a value is a `bytes::Bytes`: no copy here.
        Ok(self.keyspace(table).get(key)?.map(Bytes::from))
    }

    fn scan(
        &self,
        table: Table,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        let end = end.filter(|end| *end < SENTINEL).unwrap_or(SENTINEL);
        let mut out = Vec::new();
        if limit == 0 || start >= end {
            return Ok(out);
        }
        for guard in self.keyspace(table).range(start..end).take(limit) {
            let (key, value) = guard.into_inner()?;
            out.push((key.into(), value.into()));
        }
        Ok(out)
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        batch.validate()?;
        let (data, ops) = batch.into_parts();
        // Keys and values become slices of one shared buffer, handed to fjall without copying.
        let data = Bytes::from(data.into_boxed_slice());
        let mut fjall_batch = OwnedWriteBatch::with_capacity(self.db.clone(), ops.len());
        for op in ops {
            let keyspace = self.keyspace(op.table);
            let key = data.slice(op.key);
            match op.value {
                Some(value) => fjall_batch.insert(keyspace, key, data.slice(value)),
                None => fjall_batch.remove(keyspace, key),
            }
        }
        Ok(fjall_batch.commit()?)
    }

    fn sync(&self) -> Result<()> {
        // fdatasync is enough: fjall preallocates journal files, and fdatasync also writes the
        // metadata needed to read the data back (block allocation, a grown file size).
        Ok(self.db.persist(PersistMode::SyncData)?)
    }

    fn flush_buffers(&self) -> Result<()> {
        Ok(self.db.persist(PersistMode::Buffer)?)
    }

    fn clear(&self) -> Result<()> {
        // Each clear is O(1): a marker in the journal and a new version without tables.
        for keyspace in &self.tables {
            keyspace.clear()?;
        }
        self.flush_with_sentinel(&Table::ALL)
    }

    fn compact(&self) -> Result<()> {
        self.flush_with_sentinel(&Table::ALL)?;
        let mut compacted = Vec::new();
        for table in Table::ALL {
            let tree = &self.keyspace(table).tree;
            let entries = tree.approximate_len() as u64;
            if tree.tombstone_count() * TOMBSTONE_SHARE_DIVISOR >= entries.max(1) {
                self.keyspace(table).major_compact()?;
                compacted.push(table);
            }
        }
        if compacted.is_empty() {
            return Ok(());
        }
        self.flush_with_sentinel(&compacted)
    }

    fn stats(&self) -> EngineStats {
        EngineStats {
            disk_bytes: disk_usage(&self.dir),
            memory_bytes: self.db.write_buffer_size() + self.db.cache_size(),
        }
    }

    fn eviction_sample(&self, _count: usize) -> Vec<(Bytes, u64)> {
        Vec::new()
    }
}

/// Bytes allocated on disk to the files under `dir`. Counts blocks rather than file lengths
/// because fjall preallocates journals as sparse 64 MiB files. Files that vanish while being
/// counted (deleted by a compaction) count as zero.
fn disk_usage(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => disk_usage(&entry.path()),
            Ok(meta) => allocated_bytes(&meta),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(unix)]
fn allocated_bytes(meta: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.blocks() * 512
}

#[cfg(not(unix))]
fn allocated_bytes(meta: &fs::Metadata) -> u64 {
    meta.len()
}
