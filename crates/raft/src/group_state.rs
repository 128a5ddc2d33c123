//! What every group's state machine records beside its data: the applied position and
//! membership (written in the same batch as the data they describe) and which snapshot file
//! is current.
//!
//! An entry may carry a batch of proposals, each applied in its own engine batch. Each but
//! the last records how many of the entry's proposals are applied, and the last records the
//! entry as applied; the engine keeps a prefix of its writes through a crash, so after one
//! the entry is applied again from the first proposal not yet applied, and none twice.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::{Snapshot, StorageIOError};
use ringkv_storage::{Engine, Table, WriteBatch};

use crate::keys;
use crate::log_store::{encode, read};
use crate::types::{GroupId, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig};

/// The current snapshot as recorded in the `Raft` table: its metadata and file name.
type SnapshotRecord = (SnapshotMeta, String);

/// A group's applied position, membership and snapshot files.
pub struct GroupState {
    /// The group.
    pub group: GroupId,
    /// The node's engine.
    pub engine: Arc<dyn Engine>,
    /// The last applied entry.
    pub applied: Option<LogId>,
    /// The membership as of `applied`.
    pub membership: StoredMembership,
    /// The entry after `applied`, and how many of its proposals are applied, when it is half
    /// applied.
    batch_progress: Option<(u64, usize)>,
    dir: PathBuf,
    receiving: Option<PathBuf>,
}

impl GroupState {
    /// Reads the recorded state of `group`; snapshot files go in `dir`.
    pub fn open(group: GroupId, engine: Arc<dyn Engine>, dir: &Path) -> Result<Self, StorageError> {
        let applied: Option<LogId> = read(engine.as_ref(), &keys::applied(group))?.flatten();
        let membership = read(engine.as_ref(), &keys::membership(group))?.unwrap_or_default();
        let batch_progress = read(engine.as_ref(), &keys::batch_progress(group))?;
        std::fs::create_dir_all(dir).map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        Ok(GroupState {
            group,
            engine,
            applied,
            membership,
            batch_progress,
            dir: dir.to_path_buf(),
            receiving: None,
        })
    }

    /// The batch recording the applied position (and, with `membership`, the membership).
    pub fn record(&mut self, membership: bool) -> WriteBatch {
        let mut batch = WriteBatch::new();
        batch.put(
            Table::Raft,
            &keys::applied(self.group),
            &encode(&self.applied),
        );
        if self.batch_progress.take().is_some() {
            batch.delete(Table::Raft, &keys::batch_progress(self.group));
        }
        if membership {
            batch.put(
                Table::Raft,
                &keys::membership(self.group),
                &encode(&self.membership),
            );
        }
        batch
    }

    /// The batch recording that the first `done` proposals of entry `index` are applied.
    pub fn record_progress(&mut self, index: u64, done: usize) -> WriteBatch {
        self.batch_progress = Some((index, done));
        let mut batch = WriteBatch::new();
        batch.put(
            Table::Raft,
            &keys::batch_progress(self.group),
            &encode(&(index, done)),
        );
        batch
    }

    /// How many proposals of entry `index` were applied before a crash stopped its batch.
    pub fn applied_of(&self, index: u64) -> usize {
        match self.batch_progress {
            Some((i, done)) if i == index => done,
            _ => 0,
        }
    }

    /// Writes `batch` to the engine.
    pub fn write(&self, batch: WriteBatch) -> Result<(), StorageError> {
        self.engine
            .write(&batch)
            .map_err(|e| StorageIOError::write_state_machine(&e).into())
    }

    fn current(&self) -> Result<Option<SnapshotRecord>, StorageError> {
        read(self.engine.as_ref(), &keys::snapshot(self.group))
    }

    /// Records `meta` as the current snapshot, stored at `path`, and deletes the previous file.
    pub fn set_current(&self, meta: &SnapshotMeta, path: &Path) -> Result<(), StorageError> {
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

    /// The current snapshot, opened for reading, if its file exists.
    pub fn current_snapshot(&self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        match self.current()? {
            Some((meta, name)) if self.dir.join(&name).exists() => {
                open_snapshot(meta, &self.dir.join(name)).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// A fresh snapshot id for the applied position.
    pub fn new_snapshot_id(&self) -> String {
        format!(
            "{}-{}-{:016x}",
            self.applied.map_or(0, |l| l.leader_id.term),
            self.applied.map_or(0, |l| l.index),
            rand::random::<u64>()
        )
    }

    /// Where the snapshot `id` of this group is kept.
    pub fn snapshot_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("g{}-{id}.snap", self.group))
    }

    /// A new file to receive a snapshot from the leader into.
    pub async fn begin_receiving(&mut self) -> Result<Box<tokio::fs::File>, StorageError> {
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

    /// After a received snapshot was installed: records its position and membership, and
    /// keeps its file as the current snapshot.
    pub fn finish_install(&mut self, meta: &SnapshotMeta) -> Result<(), StorageError> {
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        let record = self.record(true);
        self.write(record)?;
        let path = self.snapshot_path(&meta.snapshot_id);
        if let Some(received) = self.receiving.take() {
            std::fs::rename(&received, &path)
                .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
            self.set_current(meta, &path)?;
        }
        Ok(())
    }

    /// The metadata of a snapshot of the applied state with the given id.
    pub fn snapshot_meta(&self, id: String) -> SnapshotMeta {
        SnapshotMeta {
            last_log_id: self.applied,
            last_membership: self.membership.clone(),
            snapshot_id: id,
        }
    }
}

/// Opens the snapshot file at `path` for openraft.
pub fn open_snapshot(
    meta: SnapshotMeta,
    path: &Path,
) -> Result<Snapshot<TypeConfig>, StorageError> {
    let file = std::fs::File::open(path)
        .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
    Ok(Snapshot {
        meta,
        snapshot: Box::new(tokio::fs::File::from_std(file)),
    })
}

/// A snapshot already written when openraft asked for a builder, handed over as it builds.
pub struct Built(pub Option<Snapshot<TypeConfig>>);

impl openraft::RaftSnapshotBuilder<TypeConfig> for Built {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        self.0.take().ok_or_else(|| {
            StorageIOError::write_snapshot(None, &std::io::Error::other("snapshot already taken"))
                .into()
        })
    }
}
