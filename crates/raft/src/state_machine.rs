//! A shard's state machine as openraft sees it: applies committed entries to the shard's
//! [`StateMachine`] with the applied position in the same atomic batch, and builds and
//! installs snapshot files of the shard's slot range.

use std::path::Path;

use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, Snapshot, StorageIOError};
use ringkv_protocol::Frame;
use ringkv_shard::state_machine::SlotRangeScan;
use ringkv_shard::{Proposal, StateMachine};

use crate::group_state::{open_snapshot, Built, GroupState};
use crate::snapshot;
use crate::types::{
    Command, Entry, GroupId, LogId, Replies, SnapshotMeta, StorageError, StoredMembership,
    TypeConfig,
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

    /// Applies the proposals of entry `index` in order, each in its own atomic batch with the
    /// progress through the entry ([`GroupState`]); those applied before a crash are skipped.
    fn apply_proposals(
        &mut self,
        index: u64,
        proposals: &[Proposal],
    ) -> Result<Replies, StorageError> {
        let done = self.state.applied_of(index);
        let mut replies = Vec::with_capacity(proposals.len());
        for (i, proposal) in proposals.iter().enumerate() {
            if i < done {
                replies.push(Frame::error("ERR write applied before a restart"));
                continue;
            }
            let record = if i + 1 == proposals.len() {
                self.state.record(false)
            } else {
                self.state.record_progress(index, i + 1)
            };
            replies.push(self.shard.apply_with(proposal, record));
        }
        if proposals.is_empty() {
            self.record_applied(false)?;
        }
        Ok(replies)
    }

    /// Records the applied position alone (with `membership`, the membership too).
    fn record_applied(&mut self, membership: bool) -> Result<(), StorageError> {
        let record = self.state.record(membership);
        self.state.write(record)
    }
}

impl RaftStateMachine<TypeConfig> for ShardStore {
    type SnapshotBuilder = Built;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.state.applied, self.state.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Replies>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut replies = Vec::new();
        for entry in entries {
            self.state.applied = Some(entry.log_id);
            let reply = match entry.payload {
                EntryPayload::Normal(Command::Shard(proposals)) => {
                    self.apply_proposals(entry.log_id.index, &proposals)?
                }
                EntryPayload::Normal(Command::Meta(_)) => {
                    self.record_applied(false)?;
                    vec![Frame::error("ERR cluster commands go to the meta group")]
                }
                EntryPayload::Blank => {
                    self.record_applied(false)?;
                    vec![Frame::ok()]
                }
                EntryPayload::Membership(membership) => {
                    self.state.membership = StoredMembership::new(Some(entry.log_id), membership);
                    self.record_applied(true)?;
                    vec![Frame::ok()]
                }
            };
            replies.push(reply);
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use openraft::CommittedLeaderId;
    use ringkv_shard::Mutation;
    use ringkv_storage::{Engine, MemoryEngine};

    use super::*;

    fn incr() -> Proposal {
        Proposal {
            now: 1,
            mutation: Mutation::IncrBy {
                key: Bytes::from_static(b"n"),
                delta: 1,
            },
        }
    }

    #[tokio::test]
    async fn a_half_applied_batch_resumes_after_its_last_applied_proposal() {
        let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new());
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            let shard = StateMachine::open(engine.clone()).unwrap();
            ShardStore::open(1, shard, dir.path()).unwrap()
        };
        let log_id = LogId::new(CommittedLeaderId::new(1, 1), 5);

        let mut crashed = open();
        for done in 1..=2 {
            let record = crashed.state.record_progress(log_id.index, done);
            crashed.shard.apply_with(&incr(), record);
        }
        drop(crashed);

        let mut store = open();
        assert_eq!(store.applied_state().await.unwrap().0, None);
        let entry = Entry {
            log_id,
            payload: EntryPayload::Normal(Command::Shard(vec![incr(), incr(), incr()].into())),
        };
        let replies = store.apply(vec![entry]).await.unwrap();
        assert_eq!(replies.len(), 1);
        assert!(matches!(replies[0][0], Frame::Error(_)));
        assert!(matches!(replies[0][1], Frame::Error(_)));
        assert_eq!(
            replies[0][2],
            Frame::Integer(3),
            "only the third INCR ran again"
        );
        drop(store);

        let mut reopened = open();
        assert_eq!(reopened.applied_state().await.unwrap().0, Some(log_id));
        assert_eq!(reopened.state.applied_of(log_id.index), 0);
    }
}
