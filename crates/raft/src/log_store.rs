//! A group's Raft log and vote, kept in the node's engine (`Table::Raft`), so that every
//! group of a node shares one journal and one fsync per batch ([`crate::syncer`]).

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{LogState, RaftLogReader, StorageIOError};
use parking_lot::Mutex;
use ringkv_storage::{Engine, Table, WriteBatch};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::keys;
use crate::log_tail::{Budget, LogTail};
use crate::syncer::Syncer;
use crate::types::{Entry, GroupId, LogId, StorageError, TypeConfig, Vote};

/// Log entries read per engine scan.
const READ_CHUNK: usize = 512;

/// One group's log storage.
#[derive(Clone)]
pub struct LogStore {
    group: GroupId,
    engine: Arc<dyn Engine>,
    syncer: Syncer,
    tail: Arc<Mutex<LogTail>>,
}

/// Encodes a value stored in the `Raft` table.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serialize(value).expect("raft state serializes")
}

/// Reads and decodes a value of the `Raft` table.
pub(crate) fn read<T: DeserializeOwned>(
    engine: &dyn Engine,
    key: &[u8],
) -> Result<Option<T>, StorageError> {
    let Some(raw) = engine
        .get(Table::Raft, key)
        .map_err(|e| StorageIOError::read(&e))?
    else {
        return Ok(None);
    };
    bincode::deserialize(&raw).map(Some).map_err(|e| {
        let e = std::io::Error::other(format!("raft state key {key:?} ({} bytes): {e}", raw.len()));
        StorageIOError::read(&e).into()
    })
}

impl LogStore {
    /// The log of `group` in `engine`, made durable through `syncer`.
    pub fn new(group: GroupId, engine: Arc<dyn Engine>, syncer: Syncer) -> Self {
        LogStore {
            group,
            engine,
            syncer,
            tail: Arc::default(),
        }
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StorageError> {
        self.engine
            .write(&batch)
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }

    /// Deletes the log entries with `from <= index < to`; indexes are dense, so no scan.
    fn delete_indexes(&self, from: u64, to: u64) -> Result<(), StorageError> {
        let mut start = from;
        while start < to {
            let end = to.min(start.saturating_add(READ_CHUNK as u64));
            let mut batch = WriteBatch::new();
            for index in start..end {
                batch.delete(Table::Raft, &keys::log(self.group, index));
            }
            self.write(batch)?;
            start = end;
        }
        Ok(())
    }

    /// The log id of the last entry, searching from `from` (entries before it were purged).
    fn last_entry(&self, from: u64) -> Result<Option<LogId>, StorageError> {
        let mut start = keys::log(self.group, from);
        let end = keys::log_end(self.group);
        let mut last = None;
        loop {
            let chunk = self
                .engine
                .scan(Table::Raft, &start, Some(&end), READ_CHUNK)
                .map_err(|e| StorageIOError::read_logs(&e))?;
            let Some((k, v)) = chunk.last() else {
                return Ok(last);
            };
            let entry: Entry =
                bincode::deserialize(v).map_err(|e| StorageIOError::read_logs(&e))?;
            last = Some(entry.log_id);
            if chunk.len() < READ_CHUNK {
                return Ok(last);
            }
            let index = keys::log_index(k).unwrap_or(u64::MAX);
            start = keys::log(self.group, index.saturating_add(1));
        }
    }

    /// Entries from `start` up to `end` (exclusive; the end of the log if `None`), cut after
    /// the first one that brings their encoded size to `max_bytes`.
    fn read_entries(
        &self,
        start: u64,
        end: Option<u64>,
        max_bytes: usize,
    ) -> Result<Vec<Entry>, StorageError> {
        if let Some(entries) = end.and_then(|end| self.tail.lock().get(start, end, max_bytes)) {
            return Ok(entries);
        }
        let end = end.map_or_else(|| keys::log_end(self.group), |e| keys::log(self.group, e));
        let rows = self
            .engine
            .scan(
                Table::Raft,
                &keys::log(self.group, start),
                Some(&end),
                usize::MAX,
            )
            .map_err(|e| StorageIOError::read_logs(&e))?;
        let mut budget = Budget::new(max_bytes);
        rows.iter()
            .take_while(|(_, v)| budget.take(v.len()))
            .map(|(_, v)| bincode::deserialize(v).map_err(|e| StorageIOError::read_logs(&e).into()))
            .collect()
    }
}

/// Most encoded bytes of log entries in one append request. openraft gives an append only
/// one heartbeat interval to complete, so a request of hundreds of large entries would time
/// out and be sent again and again; a request of about 1 MiB completes in time.
const MAX_APPEND_BYTES: usize = 1 << 20;

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => Some(e + 1),
            Bound::Excluded(&e) => Some(e),
            Bound::Unbounded => None,
        };
        self.read_entries(start, end, usize::MAX)
    }

    async fn limited_get_log_entries(
        &mut self,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>, StorageError> {
        self.read_entries(start, Some(end), MAX_APPEND_BYTES)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> =
            read(self.engine.as_ref(), &keys::purged(self.group))?;
        let first = last_purged_log_id.map_or(0, |l| l.index + 1);
        let last_log_id = self.last_entry(first)?.or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        let mut batch = WriteBatch::new();
        batch.put(Table::Raft, &keys::vote(self.group), &encode(vote));
        self.engine
            .write(&batch)
            .and_then(|()| self.engine.sync())
            .map_err(|e| StorageIOError::write_vote(&e).into())
    }

    /// The saved vote, always as not yet committed. openraft reads it only at start-up, and a
    /// committed vote of this node's own would make it resume leading at once, with the commit
    /// index it last saved: that can be older than writes it acknowledged before it stopped,
    /// and reads checked against it would miss them. Uncommitted, the node must win a new
    /// election, whose blank entry commits (and applies) everything before it.
    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        let vote: Option<Vote> = read(self.engine.as_ref(), &keys::vote(self.group))?;
        Ok(vote.map(|v| Vote {
            committed: false,
            ..v
        }))
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let mut batch = WriteBatch::new();
        batch.put(
            Table::Raft,
            &keys::committed(self.group),
            &encode(&committed),
        );
        self.write(batch)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(read::<Option<LogId>>(self.engine.as_ref(), &keys::committed(self.group))?.flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut batch = WriteBatch::new();
        let mut appended = Vec::new();
        for entry in entries {
            let encoded = encode(&entry);
            batch.put(
                Table::Raft,
                &keys::log(self.group, entry.log_id.index),
                &encoded,
            );
            appended.push((entry, encoded.len()));
        }
        self.write(batch)?;
        let mut tail = self.tail.lock();
        for (entry, size) in appended {
            tail.push(entry, size);
        }
        drop(tail);
        self.syncer
            .after_sync(Box::new(move |result| callback.log_io_completed(result)));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.tail.lock().truncate(log_id.index);
        let first = log_id.index;
        match self.last_entry(first)? {
            Some(last) => self.delete_indexes(first, last.index + 1),
            None => Ok(()),
        }
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let previous: Option<LogId> = read(self.engine.as_ref(), &keys::purged(self.group))?;
        let first = previous.map_or(0, |l| l.index + 1);
        let mut batch = WriteBatch::new();
        batch.put(Table::Raft, &keys::purged(self.group), &encode(&log_id));
        self.write(batch)?;
        self.tail.lock().purge(log_id.index);
        self.delete_indexes(first, log_id.index + 1)
    }
}

#[cfg(test)]
mod tests {
    use ringkv_storage::MemoryEngine;

    use crate::syncer::SyncMode;

    use super::*;

    #[tokio::test]
    async fn a_saved_committed_vote_reads_back_uncommitted_so_a_restart_needs_an_election() {
        let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new());
        let syncer = Syncer::start(engine.clone(), Arc::new(|| SyncMode::EachGroup)).unwrap();
        let mut store = LogStore::new(7, engine, syncer);
        assert_eq!(store.read_vote().await.unwrap(), None);
        store.save_vote(&Vote::new_committed(3, 2)).await.unwrap();
        assert_eq!(store.read_vote().await.unwrap(), Some(Vote::new(3, 2)));
    }
}
