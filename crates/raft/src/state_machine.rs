//! A shard's state machine as openraft sees it: applies committed entries to the shard's
//! [`StateMachine`] with the applied position in the same atomic batch, and builds and
//! installs snapshot files of the shard's slot range.

use std::path::Path;

use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, Snapshot, StorageIOError};
use ringkv_protocol::Frame;
use ringkv_shard::state_machine::SlotRangeScan;
use ringkv_shard::StateMachine;

use crate::group_state::{open_snapshot, Built, GroupState};
use crate::snapshot;
use crate::types::{
    Command, Entry, GroupId, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};

/// One shard's applied state and snapshots.
pub struct ShardStore {
    state: GroupState,
    shard: StateMachine,
}

impl ShardStore {
    /// Opens the applied state of `group`, whose data `shard` holds; snapshot files go in `dir`.
    pub fn open(group: GroupId, shard: StateMachine, dir: &Path) -> Result<Self, StorageError> {
        let state = GroupState::open(group, shard.engine().clone(), dir)?;
        Ok(ShardStore { state, shard })
    }

    /// Writes the shard's slot range to a snapshot file now, while no entry is being applied.
    fn build(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let id = self.state.new_snapshot_id();
        let path = self.state.snapshot_path(&id);
        let scan = SlotRangeScan::new(self.state.engine.as_ref(), self.shard.slots());
        let records = tokio::task::block_in_place(|| snapshot::write(&path, scan))
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        let meta = self.state.snapshot_meta(id);
        self.state.set_current(&meta, &path)?;
        tracing::info!(group = self.state.group, records, applied = ?self.state.applied, "built snapshot");
        open_snapshot(meta, &path)
    }
}

impl RaftStateMachine<TypeConfig> for ShardStore {
    type SnapshotBuilder = Built;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.state.applied, self.state.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Frame>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut replies = Vec::new();
        for entry in entries {
            self.state.applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Normal(Command::Shard(proposal)) => {
                    let record = self.state.record(false);
                    replies.push(self.shard.apply_with(&proposal, record));
                }
                EntryPayload::Normal(Command::Meta(_)) => {
                    self.state.write(self.state.record(false))?;
                    replies.push(Frame::error("ERR cluster commands go to the meta group"));
                }
                EntryPayload::Blank => {
                    self.state.write(self.state.record(false))?;
                    replies.push(Frame::ok());
                }
                EntryPayload::Membership(membership) => {
                    self.state.membership = StoredMembership::new(Some(entry.log_id), membership);
                    self.state.write(self.state.record(true))?;
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
                tracing::error!(group = self.state.group, error = %e, "building a snapshot failed");
                Built(None)
            }
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<tokio::fs::File>, StorageError> {
        self.state.begin_receiving().await
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
        let engine = self.state.engine.clone();
        tokio::task::block_in_place(|| -> Result<(), StorageError> {
            use std::io::{Seek, SeekFrom};
            file.sync_all().map_err(err)?;
            file.seek(SeekFrom::Start(0)).map_err(err)?;
            self.shard
                .clear()
                .map_err(|e| err(std::io::Error::other(e)))?;
            let records = snapshot::install(file, |batch| {
                engine.write(&batch).map_err(std::io::Error::other)
            })
            .map_err(err)?;
            self.shard
                .reload_counts()
                .map_err(|e| err(std::io::Error::other(e)))?;
            tracing::info!(group = self.state.group, records, last = ?meta.last_log_id, "installed snapshot");
            Ok(())
        })?;
        self.state.finish_install(meta)
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        self.state.current_snapshot()
    }
}
