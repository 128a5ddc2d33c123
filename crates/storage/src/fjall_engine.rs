//! The durable engine: one fjall database, one fjall keyspace per [`Table`].
//!
//! The journal is never fsynced behind the caller's back (`manual_journal_persist`): the
//! server applies a group of writes and then calls [`Engine::sync`] once for all of them.
//!
//! fjall deletes a sealed journal file only once every keyspace that wrote to it has a
//! persisted table with a newer sequence number. A keyspace that compaction empties has no
//! table at all, and would pin old journals on disk forever. So [`Engine::compact`] first
//! rewrites a sentinel entry in each keyspace (at [`SENTINEL`], above every key ringkv
//! uses, hidden from reads), flushes, then compacts: each keyspace keeps one fresh table.

use std::ops::Bound;
use std::path::Path;

use bytes::Bytes;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use crate::engine::{Engine, EngineStats, Result, StorageError, Table, WriteBatch, MAX_KEY_LEN};

/// Settings of the fjall engine.
#[derive(Debug, Clone)]
pub struct FjallOptions {
    /// Block cache size in bytes. Default 256 MiB.
    pub cache_bytes: u64,
}

impl Default for FjallOptions {
    fn default() -> Self {
        FjallOptions {
            cache_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Reserved key kept in every keyspace; scans stop below it and reads never see it.
pub const SENTINEL: &[u8] = &[0xff; 16];

/// A fjall database holding the four tables.
pub struct FjallEngine {
    db: Database,
    tables: Vec<Keyspace>,
}

impl FjallEngine {
    /// Opens (creating if needed) the database in `dir`.
    pub fn open(dir: &Path, options: FjallOptions) -> Result<Self> {
        let open_error = |e: fjall::Error| StorageError::Open {
            path: dir.display().to_string(),
            reason: e.to_string(),
        };
        let db = Database::builder(dir)
            .cache_size(options.cache_bytes)
            .manual_journal_persist(true)
            .open()
            .map_err(open_error)?;
        let tables = Table::ALL
            .iter()
            .map(|t| db.keyspace(t.name(), KeyspaceCreateOptions::default))
            .collect::<fjall::Result<Vec<_>>>()
            .map_err(open_error)?;
        Ok(FjallEngine { db, tables })
    }

    fn table(&self, table: Table) -> &Keyspace {
        &self.tables[table.index()]
    }
}

/// Refuses keys fjall would panic on.
fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(StorageError::KeyTooLong(key.len()));
    }
    Ok(())
}

impl Engine for FjallEngine {
    fn name(&self) -> &'static str {
        "fjall"
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>> {
        check_key(key)?;
        if key == SENTINEL {
            return Ok(None);
        }
        Ok(self.table(table).get(key)?.map(Bytes::from))
    }

    fn scan(
        &self,
        table: Table,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        check_key(start)?;
        let end = end.filter(|e| *e < SENTINEL).unwrap_or(SENTINEL);
        check_key(end)?;
        if start >= end {
            return Ok(Vec::new());
        }
        let range = (Bound::Included(start), Bound::Excluded(end));
        let mut out = Vec::new();
        for guard in self.table(table).range::<&[u8], _>(range).take(limit) {
            let (k, v) = guard.into_inner()?;
            out.push((Bytes::from(k), Bytes::from(v)));
        }
        Ok(out)
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        let ops = batch.into_ops();
        for op in &ops {
            check_key(&op.key)?;
        }
        let mut b = self.db.batch();
        for op in ops {
            let ks = self.table(op.table);
            match op.value {
                Some(v) => b.insert(ks, &op.key[..], &v[..]),
                None => b.remove(ks, &op.key[..]),
            }
        }
        Ok(b.commit()?)
    }

    fn sync(&self) -> Result<()> {
        Ok(self.db.persist(PersistMode::SyncAll)?)
    }

    fn flush_buffers(&self) -> Result<()> {
        Ok(self.db.persist(PersistMode::Buffer)?)
    }

    fn clear(&self) -> Result<()> {
        for table in Table::DATA {
            self.tables[table.index()].clear()?;
        }
        Ok(())
    }

    fn compact(&self) -> Result<()> {
        for ks in &self.tables {
            ks.insert(SENTINEL, [])?;
            ks.rotate_memtable_and_wait()?;
            ks.major_compact()?;
        }
        Ok(())
    }

    fn stats(&self) -> EngineStats {
        EngineStats {
            disk_bytes: self.db.disk_space().unwrap_or(0),
            memory_bytes: self.db.write_buffer_size(),
        }
    }

    fn eviction_sample(&self, _count: usize) -> Vec<(Bytes, u64)> {
        Vec::new()
    }
}
