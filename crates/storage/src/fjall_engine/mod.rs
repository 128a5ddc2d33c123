//! The durable engine: a write-ahead log and hash memtables in front of a fjall database
//! (one fjall keyspace per [`Table`]).
//!
//! A write is appended to the log ([`wal`]) and applied to the active memtable
//! ([`memtable`]), both in memory and in one short critical section; [`Engine::sync`] makes
//! every write so far durable with one `fdatasync` of the log, and writers never wait for it.
//! A flusher thread writes frozen memtables to fjall, records the last log position they
//! hold (the checkpoint) in the same fjall database, persists fjall, and then drops the log
//! segments the checkpoint covers. Opening replays the log after the checkpoint.
//!
//! The flusher hands fjall each memtable as sorted tables (fjall's ingestion), so fjall's own
//! journal and memtables see only the checkpoint. Why this engine does not write each batch to fjall
//! directly, as it once did, is in `docs/storage.md`: fjall's skiplist memtable made every
//! write and every read pay a dozen cache misses, and its journal lock made writers wait for
//! the fsync.
//!
//! fjall deletes a sealed journal file only once every keyspace that wrote to it has a
//! persisted table with a newer sequence number. A keyspace that compaction empties has no
//! table at all, and would pin old journals on disk forever. So [`Engine::compact`] first
//! rewrites a sentinel entry in each keyspace (at [`SENTINEL`], above every key ringkv
//! uses, hidden from reads), flushes, then compacts: each keyspace keeps one fresh table.

mod memtable;
mod merge;
mod spare;
mod wal;

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use parking_lot::{Condvar, Mutex, RwLock};

use crate::engine::{Engine, EngineStats, Result, StorageError, Table, WriteBatch, MAX_KEY_LEN};
use memtable::{Layers, Lookup, Memtable};
use wal::{Wal, SEGMENT_BYTES};

/// Settings of the durable engine.
#[derive(Debug, Clone)]
pub struct FjallOptions {
    /// fjall's block cache in bytes. Default 256 MiB.
    pub cache_bytes: u64,
    /// Size at which the active memtable is frozen and flushed. Default 64 MiB.
    pub memtable_bytes: u64,
}

impl Default for FjallOptions {
    fn default() -> Self {
        FjallOptions {
            cache_bytes: 256 * 1024 * 1024,
            memtable_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Reserved key kept in every keyspace; scans stop below it and reads never see it.
pub const SENTINEL: &[u8] = &[0xff; 16];

/// Frozen memtables waiting for the flusher beyond which writers wait for it.
const MAX_FROZEN: usize = 4;
/// Name of the fjall keyspace holding the checkpoint.
const ENGINE_KEYSPACE: &str = "engine";
/// Key of the checkpoint: the last log position whose writes are all in fjall.
const CHECKPOINT: &[u8] = b"checkpoint";
/// Log record of [`Engine::clear`]; never a valid batch, whose first byte is a table.
const CLEAR_RECORD: &[u8] = &[0xff];

/// The durable engine.
pub struct FjallEngine {
    shared: Arc<Shared>,
    flusher: Option<thread::JoinHandle<()>>,
}

/// What the engine and its flusher share.
struct Shared {
    dir: PathBuf,
    db: Database,
    tables: Vec<Keyspace>,
    engine_meta: Keyspace,
    wal: Wal,
    layers: RwLock<Layers>,
    /// Held while appending to the log and applying to the memtable, so both see writes in
    /// the same order.
    write_lock: Mutex<()>,
    /// Held while a memtable is written to fjall (so `clear` never races a flush).
    flush_lock: Mutex<()>,
    /// Wakes the flusher (a memtable was frozen, or the engine is closing), and those who
    /// wait for it (a flush finished).
    signal: Condvar,
    signal_lock: Mutex<()>,
    closing: AtomicBool,
    memtable_bytes: u64,
}

impl FjallEngine {
    /// Opens (creating if needed) the database in `dir`, replaying the log.
    pub fn open(dir: &Path, options: FjallOptions) -> Result<Self> {
        let open_error = |reason: String| StorageError::Open {
            path: dir.display().to_string(),
            reason,
        };
        let db = Database::builder(dir.join("tables"))
            .cache_size(options.cache_bytes)
            .manual_journal_persist(true)
            .open()
            .map_err(|e| open_error(e.to_string()))?;
        let tables = Table::ALL
            .iter()
            .map(|t| db.keyspace(t.name(), KeyspaceCreateOptions::default))
            .collect::<fjall::Result<Vec<_>>>()
            .map_err(|e| open_error(e.to_string()))?;
        let engine_meta = db
            .keyspace(ENGINE_KEYSPACE, KeyspaceCreateOptions::default)
            .map_err(|e| open_error(e.to_string()))?;
        let checkpoint = engine_meta
            .get(CHECKPOINT)
            .map_err(|e| open_error(e.to_string()))?
            .and_then(|v| <[u8; 8]>::try_from(&v[..]).ok())
            .map_or(0, u64::from_be_bytes);
        let recovered = Wal::open(&dir.join("wal"), checkpoint, SEGMENT_BYTES)
            .map_err(|e| open_error(format!("write-ahead log: {e}")))?;
        let shared = Arc::new(Shared {
            dir: dir.to_owned(),
            db,
            tables,
            engine_meta,
            wal: recovered.wal,
            layers: RwLock::new(Layers::new(checkpoint)),
            write_lock: Mutex::new(()),
            flush_lock: Mutex::new(()),
            signal: Condvar::new(),
            signal_lock: Mutex::new(()),
            closing: AtomicBool::new(false),
            memtable_bytes: options.memtable_bytes,
        });
        for (position, payload) in recovered.records {
            if payload == CLEAR_RECORD {
                shared.clear_at(position)?;
                continue;
            }
            let batch = WriteBatch::from_bytes(&payload).ok_or_else(|| {
                open_error(format!("write-ahead log record {position} is not a batch"))
            })?;
            shared.apply(&batch, position);
        }
        let flusher = {
            let shared = shared.clone();
            thread::Builder::new()
                .name("ringkv-flush".to_owned())
                .spawn(move || shared.run_flusher())
                .map_err(|e| open_error(e.to_string()))?
        };
        Ok(FjallEngine {
            shared,
            flusher: Some(flusher),
        })
    }
}

impl Drop for FjallEngine {
    fn drop(&mut self) {
        let _ = self.shared.wal.sync(true);
        self.shared.closing.store(true, Ordering::SeqCst);
        self.shared.wake();
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
    }
}

/// Bytes of disk the files under `path` take, as `du` counts them: fjall preallocates its
/// journal as a sparse file, whose length says nothing of the space it uses.
fn disk_usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_usage(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

/// Refuses keys fjall would panic on.
fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(StorageError::KeyTooLong(key.len()));
    }
    Ok(())
}

impl Shared {
    fn table(&self, table: Table) -> &Keyspace {
        &self.tables[table.index()]
    }

    /// Writes the log's buffer out, and fdatasyncs it when `durable`.
    fn write_log(&self, durable: bool) -> Result<()> {
        self.wal
            .sync(durable)
            .map(drop)
            .map_err(|e| StorageError::Log(e.to_string()))
    }

    fn wake(&self) {
        let _guard = self.signal_lock.lock();
        self.signal.notify_all();
    }

    /// Applies the log record `batch` at `position` to the active memtable, freezing it once
    /// it is full. The caller holds `write_lock` (or is replaying).
    fn apply(&self, batch: &WriteBatch, position: u64) {
        let full = {
            let layers = self.layers.read();
            layers.active.apply(batch, position);
            layers.active.is_full(self.memtable_bytes)
        };
        if full {
            self.layers.write().rotate();
            self.wake();
        }
    }

    /// Forgets the data tables, the log record at `position` being a clear: in every
    /// memtable and in fjall. The caller holds `flush_lock` and `write_lock` (or is
    /// replaying).
    fn clear_at(&self, position: u64) -> Result<()> {
        self.layers.read().clear_data(position);
        for table in Table::DATA {
            self.table(table).clear()?;
        }
        Ok(())
    }

    /// Waits, while more than `most` memtables are frozen, for the flusher.
    fn wait_for_flushes(&self, most: usize) {
        let mut guard = self.signal_lock.lock();
        while self.layers.read().frozen.len() > most && !self.closing.load(Ordering::SeqCst) {
            self.signal.wait_for(&mut guard, Duration::from_millis(100));
        }
    }

    fn run_flusher(&self) {
        while !self.closing.load(Ordering::SeqCst) {
            let oldest = self.layers.read().frozen.first().cloned();
            match oldest {
                Some(memtable) => {
                    if let Err(e) = self.flush(&memtable) {
                        tracing::error!(error = %e, "flushing a memtable to fjall failed; retrying");
                        thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                    self.wake();
                }
                None => {
                    let mut guard = self.signal_lock.lock();
                    if self.layers.read().frozen.is_empty() && !self.closing.load(Ordering::SeqCst)
                    {
                        self.signal.wait_for(&mut guard, Duration::from_millis(500));
                    }
                }
            }
        }
    }

    /// Writes the oldest frozen memtable to fjall, persists the checkpoint, then keeps the
    /// memtable as the one flushed last and drops the log segments it covered. Each table's entries are ingested, in key
    /// order, as new fjall tables newer than all it holds: the same as a flush of fjall's own
    /// memtable, without its journal or skiplist.
    fn flush(&self, memtable: &Arc<Memtable>) -> Result<()> {
        let _flushing = self.flush_lock.lock();
        for table in Table::ALL {
            let keyspace = self.table(table);
            let mut ingestion = keyspace.start_ingestion()?;
            let mut failure = None;
            memtable.for_each_in_order(table, |e| {
                let written = match e.value() {
                    Some(v) => ingestion.write(e.key(), v),
                    None => match keyspace.contains_key(e.key()) {
                        Ok(true) => ingestion.write_tombstone(e.key()),
                        Ok(false) => Ok(()),
                        Err(err) => Err(err),
                    },
                };
                if let Err(err) = written {
                    failure = Some(err);
                }
                failure.is_none()
            });
            if let Some(err) = failure {
                return Err(err.into());
            }
            ingestion.finish()?;
        }
        let last = memtable.last();
        self.engine_meta.insert(CHECKPOINT, last.to_be_bytes())?;
        self.db.persist(PersistMode::SyncAll)?;
        self.layers.write().flushed(memtable);
        self.wal
            .truncate(last)
            .map_err(|e| StorageError::Log(e.to_string()))
    }
}

impl Engine for FjallEngine {
    fn name(&self) -> &'static str {
        "fjall"
    }

    fn persistent(&self) -> bool {
        true
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Bytes>> {
        check_key(key)?;
        if key == SENTINEL {
            return Ok(None);
        }
        match self.shared.layers.read().get(table, key) {
            Some(Lookup::Value(v)) => return Ok(Some(v)),
            Some(Lookup::Deleted) => return Ok(None),
            None => {}
        }
        Ok(self.shared.table(table).get(key)?.map(Bytes::from))
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
        if start >= end || limit == 0 {
            return Ok(Vec::new());
        }
        let memtables = self.shared.layers.read().newest_first();
        let range = (Bound::Included(start), Bound::Excluded(end));
        let below = self
            .shared
            .table(table)
            .range::<&[u8], _>(range)
            .map(|guard| {
                let (k, v) = guard.into_inner()?;
                Ok((Bytes::from(k), Bytes::from(v)))
            });
        merge::scan(table, start, Some(end), limit, memtables, below)
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        for op in batch.ops() {
            check_key(op.key)?;
        }
        self.shared.wait_for_flushes(MAX_FROZEN);
        let _writing = self.shared.write_lock.lock();
        let position = self.shared.wal.append(batch.as_bytes());
        self.shared.apply(batch, position);
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        self.shared.write_log(true)
    }

    fn flush_buffers(&self) -> Result<()> {
        self.shared.write_log(false)
    }

    fn unsynced_bytes(&self) -> usize {
        self.shared.wal.unsynced_bytes()
    }

    fn clear(&self) -> Result<()> {
        let _flushing = self.shared.flush_lock.lock();
        let _writing = self.shared.write_lock.lock();
        let position = self.shared.wal.append(CLEAR_RECORD);
        self.shared.clear_at(position)
    }

    fn compact(&self) -> Result<()> {
        {
            let _writing = self.shared.write_lock.lock();
            self.shared.layers.write().rotate();
        }
        self.shared.wake();
        self.shared.wait_for_flushes(0);
        for ks in &self.shared.tables {
            ks.insert(SENTINEL, [])?;
            ks.rotate_memtable_and_wait()?;
            ks.major_compact()?;
        }
        Ok(())
    }

    fn stats(&self) -> EngineStats {
        EngineStats {
            disk_bytes: disk_usage(&self.shared.dir),
            memory_bytes: self.shared.layers.read().bytes() + self.shared.db.write_buffer_size(),
        }
    }

    fn eviction_sample(&self, _count: usize) -> Vec<(Bytes, u64)> {
        Vec::new()
    }
}
