//! A node's Raft side: the groups it hosts (the meta group and shard replicas), their shared
//! storage, sync thread and peer connections, and the answers to other nodes' RPCs.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest, VoteResponse};
use openraft::storage::{RaftLogStorage, RaftStateMachine};
use openraft::{Config, SnapshotPolicy};
use parking_lot::RwLock;
use ringkv_cluster::ClusterState;
use ringkv_shard::StateMachine;
use ringkv_storage::{Table, WriteBatch};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::keys;
use crate::lease::ReadLease;
use crate::log_store::LogStore;
use crate::meta_store::MetaStore;
use crate::network::{GroupNetwork, Peers};
use crate::replica::Replica;
use crate::state_machine::ShardStore;
use crate::syncer::{SyncPolicy, Syncer};
use crate::transport::client::CallError;
use crate::transport::server::{serve, Handler};
use crate::transport::{Kind, Status};
use crate::types::{GroupId, NodeAddr, NodeId, Raft, TypeConfig, META_GROUP};

/// How long the leader waits for a snapshot chunk's answer. The answer to the last chunk
/// comes once the follower has installed the whole shard, which takes far longer than
/// openraft's default of 200 ms for a shard of a loaded cluster: timed out, the leader gave
/// the transfer up and started it again while the follower was still installing it, and
/// writes stopped for 20 s while a node joined (docs/benchmarks.md).
const INSTALL_SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a node runs its Raft groups.
#[derive(Debug, Clone)]
pub struct RaftOptions {
    /// This node's id.
    pub id: NodeId,
    /// Shared secret other nodes must prove they know; None accepts any peer.
    pub secret: Option<Vec<u8>>,
    /// Where snapshot files are kept.
    pub snapshot_dir: PathBuf,
    /// Leader heartbeat period.
    pub heartbeat: Duration,
    /// A follower that hears nothing for a random time in this range starts an election.
    pub election_timeout: (Duration, Duration),
    /// Log entries since the last snapshot that trigger a new one.
    pub snapshot_after: u64,
}

impl RaftOptions {
    fn openraft_config(&self) -> Result<Arc<Config>, RaftNodeError> {
        let config = Config {
            cluster_name: "ringkv".to_owned(),
            heartbeat_interval: self.heartbeat.as_millis() as u64,
            election_timeout_min: self.election_timeout.0.as_millis() as u64,
            election_timeout_max: self.election_timeout.1.as_millis() as u64,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(self.snapshot_after),
            max_in_snapshot_log_to_keep: self.snapshot_after.min(1000),
            snapshot_max_chunk_size: 1 << 20,
            install_snapshot_timeout: INSTALL_SNAPSHOT_TIMEOUT.as_millis() as u64,
            ..Config::default()
        };
        Ok(Arc::new(
            config
                .validate()
                .map_err(|e| RaftNodeError::Config(e.to_string()))?,
        ))
    }
}

/// Why a group could not be started.
#[derive(Debug, thiserror::Error)]
pub enum RaftNodeError {
    /// The Raft settings are inconsistent.
    #[error("invalid raft settings: {0}")]
    Config(String),
    /// Storage failed while opening the group.
    #[error("cannot open group {group}: {reason}")]
    Open {
        /// Group.
        group: GroupId,
        /// Cause.
        reason: String,
    },
    /// A thread could not be started.
    #[error("cannot start: {0}")]
    Io(#[from] std::io::Error),
}

/// A group this node runs a replica of: its Raft, and the replica's read lease, which the
/// group's incoming vote requests pass through.
#[derive(Clone)]
struct Hosted {
    raft: Raft,
    lease: Arc<ReadLease>,
}

/// The Raft groups of one node.
pub struct RaftNode {
    options: RaftOptions,
    config: Arc<Config>,
    base: StateMachine,
    syncer: Syncer,
    peers: Arc<Peers>,
    groups: RwLock<HashMap<GroupId, Hosted>>,
    admin: OnceLock<Arc<dyn AdminHandler>>,
}

impl RaftNode {
    /// A node whose groups keep their data through `base` (the whole engine's state machine).
    pub fn new(
        options: RaftOptions,
        base: StateMachine,
        sync_policy: SyncPolicy,
    ) -> Result<Arc<RaftNode>, RaftNodeError> {
        let config = options.openraft_config()?;
        let syncer = Syncer::start(base.engine().clone(), sync_policy)?;
        let secret: Option<Arc<[u8]>> = options.secret.clone().map(Into::into);
        Ok(Arc::new(RaftNode {
            config,
            base,
            syncer,
            peers: Arc::new(Peers::new(secret)),
            groups: RwLock::default(),
            admin: OnceLock::new(),
            options,
        }))
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.options.id
    }

    /// Answers other nodes' RPCs arriving on `listener` (the cluster port).
    pub fn listen(self: &Arc<Self>, listener: TcpListener) {
        let secret: Option<Arc<[u8]>> = self.options.secret.clone().map(Into::into);
        tokio::spawn(serve(listener, self.id(), secret, self.clone()));
    }

    /// Starts the replica of `group` (owning `slots`). If the group has never been
    /// initialized and `members` are given, initializes it with them (every member does so
    /// identically); without, it waits for a leader to add it.
    pub async fn open_group(
        &self,
        group: GroupId,
        slots: RangeInclusive<u16>,
        members: Option<BTreeMap<NodeId, NodeAddr>>,
    ) -> Result<Replica, RaftNodeError> {
        let store = ShardStore::open(
            group,
            self.base.for_slots(slots),
            &self.options.snapshot_dir,
        )
        .map_err(|e| open_error(group, e))?;
        self.start(group, store, members).await
    }

    /// Starts the node's replica of the meta group, whose cluster state is published to the
    /// returned receiver; `members` as for [`RaftNode::open_group`].
    pub async fn open_meta(
        &self,
        members: Option<BTreeMap<NodeId, NodeAddr>>,
    ) -> Result<(Replica, watch::Receiver<Arc<ClusterState>>), RaftNodeError> {
        let (tx, rx) = watch::channel(Arc::default());
        let store = MetaStore::open(
            META_GROUP,
            self.base.engine().clone(),
            &self.options.snapshot_dir,
            tx,
        )
        .map_err(|e| open_error(META_GROUP, e))?;
        Ok((self.start(META_GROUP, store, members).await?, rx))
    }

    async fn start<S>(
        &self,
        group: GroupId,
        store: S,
        members: Option<BTreeMap<NodeId, NodeAddr>>,
    ) -> Result<Replica, RaftNodeError>
    where
        S: RaftStateMachine<TypeConfig>,
    {
        let mut log = LogStore::new(group, self.base.engine().clone(), self.syncer.clone());
        let restarted = log
            .read_vote()
            .await
            .map_err(|e| open_error(group, e))?
            .is_some();
        let network = GroupNetwork {
            group,
            peers: self.peers.clone(),
        };
        let raft = Raft::new(self.options.id, self.config.clone(), network, log, store)
            .await
            .map_err(|e| open_error(group, e))?;
        if let Some(members) = members {
            if !raft
                .is_initialized()
                .await
                .map_err(|e| open_error(group, e))?
            {
                if let Err(e) = raft.initialize(members).await {
                    tracing::debug!(group, error = %e, "group initialization skipped");
                }
            }
        }
        let (min, max) = self.options.election_timeout;
        let refuse_votes_until = restarted.then(|| Instant::now() + max);
        let lease = Arc::new(ReadLease::new(min, refuse_votes_until));
        let hosted = Hosted {
            raft: raft.clone(),
            lease: lease.clone(),
        };
        self.groups.write().insert(group, hosted);
        Ok(Replica::new(raft, self.options.id, lease))
    }

    /// Stops this node's replica of `group` (owning `slots`) and deletes everything it kept:
    /// its log and Raft state, its snapshot files and its data.
    pub async fn close_group(
        &self,
        group: GroupId,
        slots: RangeInclusive<u16>,
    ) -> Result<(), RaftNodeError> {
        let hosted = self.groups.write().remove(&group);
        if let Some(hosted) = hosted {
            let _ = hosted.raft.shutdown().await;
        }
        let engine = self.base.engine().clone();
        let (start, end) = keys::group_range(group);
        loop {
            let rows = engine
                .scan(Table::Raft, &start, Some(&end), 1024)
                .map_err(|e| open_error(group, e))?;
            if rows.is_empty() {
                break;
            }
            let mut batch = WriteBatch::new();
            for (key, _) in rows {
                batch.delete(Table::Raft, &key);
            }
            engine.write(&batch).map_err(|e| open_error(group, e))?;
        }
        self.base
            .for_slots(slots)
            .clear()
            .map_err(|e| open_error(group, e))?;
        let prefix = format!("g{group}-");
        if let Ok(dir) = std::fs::read_dir(&self.options.snapshot_dir) {
            for file in dir.flatten() {
                if file.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_file(file.path());
                }
            }
        }
        Ok(())
    }

    /// Whether this node runs a replica of `group`.
    pub fn hosts(&self, group: GroupId) -> bool {
        self.groups.read().contains_key(&group)
    }

    /// Sets what answers other nodes' [`Kind::Admin`] requests (until set, they are refused).
    pub fn set_admin(&self, handler: Arc<dyn AdminHandler>) {
        let _ = self.admin.set(handler);
    }

    /// Sends an admin request to the node at cluster address `addr` and waits up to
    /// `timeout` for its answer.
    pub async fn call_admin(
        &self,
        addr: &str,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<Bytes, CallError> {
        self.peers
            .get(addr, None)
            .call(META_GROUP, Kind::Admin, payload, timeout)
            .await
    }

    fn group(&self, group: GroupId) -> Option<Hosted> {
        self.groups.read().get(&group).cloned()
    }

    /// Stops every group.
    pub async fn shutdown(&self) {
        let groups: Vec<Raft> = self.groups.write().drain().map(|(_, h)| h.raft).collect();
        for raft in groups {
            let _ = raft.shutdown().await;
        }
    }
}

/// The answer to a vote request that this replica's read lease refuses: its current vote,
/// not granted.
fn refusal(raft: &Raft) -> VoteResponse<NodeId> {
    let vote = raft.metrics().borrow().vote;
    let last_log = raft.data_metrics().borrow().last_log;
    VoteResponse::new(vote, last_log, false)
}

fn open_error(group: GroupId, e: impl std::fmt::Display) -> RaftNodeError {
    RaftNodeError::Open {
        group,
        reason: e.to_string(),
    }
}

/// Decodes `payload`, runs `call` and encodes its result.
async fn answer<Q, T, F>(payload: &[u8], call: impl FnOnce(Q) -> F) -> (Status, Vec<u8>)
where
    Q: DeserializeOwned,
    T: Serialize,
    F: std::future::Future<Output = T>,
{
    match bincode::deserialize::<Q>(payload) {
        Ok(request) => {
            let result = call(request).await;
            match bincode::serialize(&result) {
                Ok(bytes) => (Status::Ok, bytes),
                Err(_) => (Status::BadRequest, Vec::new()),
            }
        }
        Err(_) => (Status::BadRequest, Vec::new()),
    }
}

/// Answers the cluster administration requests nodes send each other ([`Kind::Admin`]);
/// what they mean is up to the server.
pub trait AdminHandler: Send + Sync + 'static {
    /// The serialized answer to the serialized `request`.
    fn handle(&self, request: Bytes) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send + '_>>;
}

impl Handler for RaftNode {
    async fn handle(&self, group: GroupId, kind: Kind, payload: Bytes) -> (Status, Vec<u8>) {
        if kind == Kind::Admin {
            return match self.admin.get() {
                Some(admin) => (Status::Ok, admin.handle(payload).await),
                None => (Status::NoGroup, Vec::new()),
            };
        }
        let Some(Hosted { raft, lease }) = self.group(group) else {
            return (Status::NoGroup, Vec::new());
        };
        match kind {
            Kind::AppendEntries => {
                answer(
                    &payload,
                    |rpc: AppendEntriesRequest<TypeConfig>| async move {
                        raft.append_entries(rpc).await
                    },
                )
                .await
            }
            Kind::Vote => {
                answer(&payload, |rpc: VoteRequest<NodeId>| async move {
                    let Some(_pass) = lease.admit_vote(Instant::now()) else {
                        return Ok(refusal(&raft));
                    };
                    raft.vote(rpc).await
                })
                .await
            }
            Kind::Admin => (Status::BadRequest, Vec::new()),
            Kind::InstallSnapshot => {
                answer(
                    &payload,
                    |rpc: InstallSnapshotRequest<TypeConfig>| async move {
                        let result: Result<_, RaftError<NodeId, InstallSnapshotError>> =
                            raft.install_snapshot(rpc).await;
                        result
                    },
                )
                .await
            }
        }
    }
}
