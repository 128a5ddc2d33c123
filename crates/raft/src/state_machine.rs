//! A shard's state machine as openraft sees it: applies committed entries to the shard's
//! [`StateMachine`] with the applied position in the same atomic batch, and builds and
//! installs snapshot files of the shard's slot range.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, RaftSnapshotBuilder, Snapshot, StorageIOError};
use ringkv_protocol::Frame;
use ringkv_shard::state_machine::SlotRangeScan;
use ringkv_shard::StateMachine;
use ringkv_storage::{Engine, Table, WriteBatch};

use crate::keys;
use crate::log_store::{encode, read};
use crate::snapshot;
use crate::types::{
    Entry, GroupId, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};

/// One shard's applied state and snapshots.
pub struct ShardStore {
    group: GroupId,
    shard: StateMachine,
    engine: Arc<dyn Engine>,
    applied: Option<LogId>,
    membership: StoredMembership,
    dir: PathBuf,
    receiving: Option<PathBuf>,
}

/// The current snapshot as recorded in the `Raft` table: its metadata and file name.
type SnapshotRecord = (SnapshotMeta, String);

impl ShardStore {
    /// Opens the applied state of `group`, whose data `shard` holds; snapshot files go in `dir`.
    pub fn open(group: GroupId, shard: StateMachine, dir: &Path) -> Result<Self, StorageError> {
        let engine = shard.engine().clone();
        let applied: Option<LogId> = read(engine.as_ref(), &keys::applied(group))?.flatten();
        let membership = read(engine.as_ref(), &keys::membership(group))?.unwrap_or_default();
        std::fs::create_dir_all(dir).map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        Ok(ShardStore {
            group,
            shard,
            engine,
            applied,
            membership,
            dir: dir.to_path_buf(),
            receiving: None,
        })
    }

    /// The batch recording the applied position (and, with `membership`, the membership).
    fn record(&self, membership: bool) -> WriteBatch {
        let mut batch = WriteBatch::new();
        batch.put(
            Table::Raft,
            &keys::applied(self.group),
            &encode(&self.applied),
        );
        if membership {
            batch.put(
                Table::Raft,
                &keys::membership(self.group),
                &encode(&self.membership),
            );
        }
        batch
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StorageError> {
        self.engine
            .write(batch)
            .map_err(|e| StorageIOError::write_state_machine(&e).into())
    }

    fn current(&self) -> Result<Option<SnapshotRecord>, StorageError> {
        read(self.engine.as_ref(), &keys::snapshot(self.group))
    }

    /// Records `meta` as the current snapshot, stored at `path`, and deletes the previous file.
    fn set_current(&self, meta: &SnapshotMeta, path: &Path) -> Result<(), StorageError> {
        let previous = self.current()?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut batch = WriteBatch::new();
        batch.put(
            Table::Raft,
            &keys::snapshot(self.group),
            &encode(&(meta, &name)),
        );
        self.write(batch)?;
        if let Some((_, old)) = previous.filter(|(_, old)| *old != name) {
            let _ = std::fs::remove_file(self.dir.join(old));
        }
        Ok(())
    }

    fn snapshot_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("g{}-{id}.snap", self.group))
    }

    /// Writes the shard's slot range to a snapshot file now, while no entry is being applied.
    fn build(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let id = format!(
            "{}-{}-{:016x}",
            self.applied.map_or(0, |l| l.leader_id.term),
            self.applied.map_or(0, |l| l.index),
            rand::random::<u64>()
        );
        let path = self.snapshot_path(&id);
        let scan = SlotRangeScan::new(self.engine.as_ref(), self.shard.slots());
        let records = tokio::task::block_in_place(|| snapshot::write(&path, scan))
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        let meta = SnapshotMeta {
            last_log_id: self.applied,
            last_membership: self.membership.clone(),
            snapshot_id: id,
        };
        self.set_current(&meta, &path)?;
        tracing::info!(group = self.group, records, applied = ?self.applied, "built snapshot");
        open_snapshot(meta, &path)
    }
}

fn open_snapshot(meta: SnapshotMeta, path: &Path) -> Result<Snapshot<TypeConfig>, StorageError> {
    let file = std::fs::File::open(path)
        .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
    Ok(Snapshot {
        meta,
        snapshot: Box::new(tokio::fs::File::from_std(file)),
    })
}

/// A snapshot already written by [`ShardStore::build`], handed to openraft.
pub struct Built(Option<Snapshot<TypeConfig>>);

impl RaftSnapshotBuilder<TypeConfig> for Built {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        self.0.take().ok_or_else(|| {
            StorageIOError::write_snapshot(None, &std::io::Error::other("snapshot already taken"))
                .into()
        })
    }
}

impl RaftStateMachine<TypeConfig> for ShardStore {
    type SnapshotBuilder = Built;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Frame>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut replies = Vec::new();
        for entry in entries {
            self.applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Normal(proposal) => {
                    let record = self.record(false);
                    replies.push(self.shard.apply_with(&proposal, record));
                }
                EntryPayload::Blank => {
                    self.write(self.record(false))?;
                    replies.push(Frame::ok());
                }
                EntryPayload::Membership(membership) => {
                    self.membership = StoredMembership::new(Some(entry.log_id), membership);
                    self.write(self.record(true))?;
                    replies.push(Frame::ok());
                }
            }
        }
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        match self.build() {
            Ok(snapshot) => Built(Some(snapshot)),
            Err(e) => {
                tracing::error!(group = self.group, error = %e, "building a snapshot failed");
                Built(None)
            }
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<tokio::fs::File>, StorageError> {
        let path = self.snapshot_path(&format!("receiving-{:016x}", rand::random::<u64>()));
        let file = tokio::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        if let Some(old) = self.receiving.replace(path) {
            let _ = std::fs::remove_file(old);
        }
        Ok(Box::new(file))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<tokio::fs::File>,
    ) -> Result<(), StorageError> {
        let err = |e: std::io::Error| {
            StorageError::from(StorageIOError::write_snapshot(Some(meta.signature()), &e))
        };
        let mut file = snapshot.into_std().await;
        tokio::task::block_in_place(|| -> Result<(), StorageError> {
            use std::io::{Seek, SeekFrom};
            file.sync_all().map_err(err)?;
            file.seek(SeekFrom::Start(0)).map_err(err)?;
            self.shard
                .clear()
                .map_err(|e| err(std::io::Error::other(e)))?;
            let records = snapshot::install(file, |batch| {
                self.engine.write(batch).map_err(std::io::Error::other)
            })
            .map_err(err)?;
            self.shard
                .reload_counts()
                .map_err(|e| err(std::io::Error::other(e)))?;
            tracing::info!(group = self.group, records, last = ?meta.last_log_id, "installed snapshot");
            Ok(())
        })?;
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.write(self.record(true))?;
        let path = self.snapshot_path(&meta.snapshot_id);
        if let Some(received) = self.receiving.take() {
            std::fs::rename(&received, &path).map_err(err)?;
            self.set_current(meta, &path)?;
        }
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        match self.current()? {
            Some((meta, name)) if self.dir.join(&name).exists() => {
                open_snapshot(meta, &self.dir.join(name)).map(Some)
            }
            _ => Ok(None),
        }
    }
}
