//! The meta group's state machine: the [`ClusterState`] every node agrees on, kept whole in
//! memory (it is small: nodes and the shard map) and in the engine, where each applied
//! command rewrites it together with the applied position. Every change is published to
//! the node's watchers.

use std::path::Path;
use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, Snapshot, StorageIOError};
use ringkv_cluster::{ClusterState, MetaReply};
use ringkv_protocol::Frame;
use ringkv_storage::Table;
use tokio::sync::watch;

use crate::group_state::{open_snapshot, Built, GroupState};
use crate::keys;
use crate::log_store::{encode, read};
use crate::types::{
    Command, Entry, GroupId, LogId, Replies, SnapshotMeta, StorageError, StoredMembership,
    TypeConfig, META_GROUP,
};

/// The meta group's applied state.
pub struct MetaStore {
    state: GroupState,
    cluster: ClusterState,
    published: watch::Sender<Arc<ClusterState>>,
}

/// The cluster state the meta group last applied on this node, read straight from `engine`
/// (the default, empty state if it never applied one).
pub fn applied_state(engine: &dyn ringkv_storage::Engine) -> Result<ClusterState, StorageError> {
    Ok(read(engine, &keys::cluster_state(META_GROUP))?.unwrap_or_default())
}

impl MetaStore {
    /// Opens the meta state of `group` in `engine`; changes go to `published`.
    pub fn open(
        group: GroupId,
        engine: Arc<dyn ringkv_storage::Engine>,
        dir: &Path,
        published: watch::Sender<Arc<ClusterState>>,
    ) -> Result<Self, StorageError> {
        let cluster: ClusterState =
            read(engine.as_ref(), &keys::cluster_state(group))?.unwrap_or_default();
        let state = GroupState::open(group, engine, dir)?;
        published.send_replace(Arc::new(cluster.clone()));
        Ok(MetaStore {
            state,
            cluster,
            published,
        })
    }

    /// Writes the cluster state with the applied position (and membership) in one batch.
    fn save(&mut self, membership: bool) -> Result<(), StorageError> {
        let mut batch = self.state.record(membership);
        batch.put(
            Table::Raft,
            &keys::cluster_state(self.state.group),
            &encode(&self.cluster),
        );
        self.state.write(batch)
    }

    fn publish(&self) {
        self.published.send_replace(Arc::new(self.cluster.clone()));
    }

    fn build(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let id = self.state.new_snapshot_id();
        let path = self.state.snapshot_path(&id);
        std::fs::write(&path, encode(&self.cluster))
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        let meta = self.state.snapshot_meta(id);
        self.state.set_current(&meta, &path)?;
        open_snapshot(meta, &path)
    }
}

/// The reply to a meta command as a RESP frame: `+OK`, a joined node's id, or the error.
fn reply(result: Result<MetaReply, String>) -> Frame {
    match result {
        Ok(MetaReply::Done) => Frame::ok(),
        Ok(MetaReply::Joined(id)) => Frame::Integer(id as i64),
        Err(e) => Frame::error(e),
    }
}

impl RaftStateMachine<TypeConfig> for MetaStore {
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
            let mut membership = false;
            let reply = match entry.payload {
                EntryPayload::Normal(Command::Meta(command)) => reply(self.cluster.apply(&command)),
                EntryPayload::Normal(Command::Shard(_)) => {
                    Frame::error("ERR data commands go to shard groups")
                }
                EntryPayload::Blank => Frame::ok(),
                EntryPayload::Membership(m) => {
                    self.state.membership = StoredMembership::new(Some(entry.log_id), m);
                    membership = true;
                    Frame::ok()
                }
            };
            replies.push(vec![reply]);
            self.save(membership)?;
        }
        self.publish();
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        match self.build() {
            Ok(snapshot) => Built(Some(snapshot)),
            Err(e) => {
                tracing::error!(error = %e, "building a meta snapshot failed");
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
            StorageError::from(StorageIOError::read_snapshot(Some(meta.signature()), &e))
        };
        let mut file = snapshot.into_std().await;
        let bytes = tokio::task::block_in_place(|| {
            use std::io::{Read, Seek, SeekFrom};
            let mut bytes = Vec::new();
            file.seek(SeekFrom::Start(0))?;
            file.read_to_end(&mut bytes)?;
            Ok(bytes)
        })
        .map_err(err)?;
        self.cluster =
            bincode::deserialize(&bytes).map_err(|e| err(std::io::Error::other(e.to_string())))?;
        self.state.applied = meta.last_log_id;
        self.state.membership = meta.last_membership.clone();
        self.save(true)?;
        self.state.finish_install(meta)?;
        self.publish();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        self.state.current_snapshot()
    }
}
