//! This node as a cluster member: its identity (given, remembered in the data directory,
//! or assigned when it joins), its replica of the meta group, and the shard replicas it
//! hosts, opened and closed as the shard map changes. It reports to the meta leader twice a
//! second and learns every shard's leader in return.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use ringkv_cluster::{ClusterState, MetaCommand, NodeInfo, ShardState};
use ringkv_protocol::Frame;
use ringkv_raft::transport::client::Peer;
use ringkv_raft::transport::Kind;
use ringkv_raft::{shard_group, NodeAddr, RaftNode, Replica, META_GROUP};
use ringkv_storage::Engine;
use tokio::sync::watch;

use super::config::{ClusterConfig, Formation};
use super::liveness::Liveness;
use super::rpc::{self, Reply, Request, ADMIN_TIMEOUT};

/// How often a node reports to the meta leader and checks its hosted shards.
const TICK: Duration = Duration::from_millis(500);

/// File in the data directory that remembers this node's id.
const ID_FILE: &str = "node-id";

/// A node's membership state, shared by its request handlers and background tasks.
pub struct Member {
    /// This node's id.
    pub id: u64,
    /// Its settings.
    pub config: ClusterConfig,
    /// Its Raft groups.
    pub raft: Arc<RaftNode>,
    /// Its replica of the meta group.
    pub meta: Replica,
    /// The cluster state as last applied here.
    pub state: watch::Receiver<Arc<ClusterState>>,
    /// Its shard replicas by shard id.
    pub replicas: RwLock<HashMap<u32, Replica>>,
    /// Every shard's leader, as the meta leader last told.
    pub leaders: RwLock<HashMap<u32, u64>>,
    /// Reports received while this node leads the meta group.
    pub liveness: Mutex<Liveness>,
    /// Shards whose move this node, as meta leader, is carrying out.
    pub moving: Mutex<HashSet<u32>>,
}

impl Member {
    /// Finds this node's id, starts its meta replica (initializing the meta group when the
    /// cluster is new) and returns once the cluster state is known here.
    pub async fn start(
        config: ClusterConfig,
        data_dir: &Path,
        make_raft: impl FnOnce(u64) -> Result<Arc<RaftNode>, String>,
    ) -> Result<Arc<Member>, String> {
        let id = identity(&config, data_dir).await?;
        let raft = make_raft(id)?;
        let me = NodeAddr {
            client: config.client_addr(),
            cluster: config.cluster_addr(),
        };
        let members = match &config.formation {
            Formation::Static { peers, .. } => {
                let voters: BTreeMap<u64, NodeAddr> = peers
                    .iter()
                    .take(meta_voter_count(peers.len()))
                    .map(|p| {
                        let addr = NodeAddr {
                            client: format!("{}:{}", p.host, p.port),
                            cluster: format!("{}:{}", p.host, p.cluster_port),
                        };
                        (p.id, addr)
                    })
                    .collect();
                voters.contains_key(&id).then_some(voters)
            }
            Formation::Alone => Some(BTreeMap::from([(id, me)])),
            Formation::Join(_) | Formation::AwaitJoin => None,
        };
        let (meta, state) = raft.open_meta(members).await.map_err(|e| e.to_string())?;
        Ok(Arc::new(Member {
            id,
            config,
            raft,
            meta,
            state,
            replicas: RwLock::default(),
            leaders: RwLock::default(),
            liveness: Mutex::default(),
            moving: Mutex::default(),
        }))
    }

    /// The cluster state as last applied here.
    pub fn state(&self) -> Arc<ClusterState> {
        self.state.borrow().clone()
    }

    /// The command that creates the cluster, proposed by its first meta leader.
    pub fn bootstrap_command(&self) -> MetaCommand {
        let node = |id: u64, host: &str, port: u16, cluster_port: u16| {
            NodeInfo::new(
                id,
                format!("{host}:{port}"),
                format!("{host}:{cluster_port}"),
            )
        };
        let nodes = match &self.config.formation {
            Formation::Static { peers, .. } => peers
                .iter()
                .map(|p| node(p.id, &p.host, p.port, p.cluster_port))
                .collect(),
            _ => {
                let c = &self.config;
                let mut me = node(self.id, &c.host, c.port, c.cluster_port);
                me.weight = c.weight;
                me.zone.clone_from(&c.zone);
                vec![me]
            }
        };
        MetaCommand::Bootstrap {
            nodes,
            shards: self.config.shards,
            replication: self.config.replicas,
        }
    }

    /// The cluster address of the meta leader, if known.
    pub fn meta_leader_addr(&self) -> Option<String> {
        let leader = self.meta.leader()?;
        if let Some(node) = self.state().node(leader) {
            return Some(node.cluster.clone());
        }
        (leader == self.id).then(|| self.config.cluster_addr())
    }

    /// Sends `request` to the meta leader, or answers it here when this node leads.
    pub async fn ask_meta_leader(self: &Arc<Self>, request: Request) -> Reply {
        if self.meta.is_leader() {
            return super::steward::answer(self, request).await;
        }
        match self.meta_leader_addr() {
            Some(addr) => rpc::call(&self.raft, &addr, &request, ADMIN_TIMEOUT).await,
            None => {
                Reply::Failed("CLUSTERDOWN The cluster has no meta leader at the moment".to_owned())
            }
        }
    }

    /// Keeps the hosted shard replicas in line with the map and reports to the meta leader,
    /// until the process ends.
    pub async fn run(self: Arc<Self>) {
        let mut changes = self.state.clone();
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                _ = tick.tick() => self.report().await,
                changed = changes.changed() => if changed.is_err() { return },
            }
            self.host_shards().await;
        }
    }

    /// Opens the replicas of the shards this node now hosts and closes (deleting their data)
    /// those it no longer does.
    async fn host_shards(&self) {
        let state = self.state();
        for shard in &state.shards {
            let hosted = shard.hosted_by(self.id);
            let open = self.replicas.read().contains_key(&shard.id);
            if hosted && !open {
                self.open_shard(&state, shard).await;
            } else if !hosted && open {
                let replica = self.replicas.write().remove(&shard.id);
                drop(replica);
                let group = shard_group(shard.id);
                match self
                    .raft
                    .close_group(group, shard.first_slot..=shard.last_slot)
                    .await
                {
                    Ok(()) => {
                        tracing::info!(shard = shard.id, "replica moved away; its data is deleted")
                    }
                    Err(e) => {
                        tracing::error!(shard = shard.id, error = %e, "closing a replica failed")
                    }
                }
            }
        }
    }

    async fn open_shard(&self, state: &ClusterState, shard: &ShardState) {
        let members = (shard.version == 0 && shard.target.is_empty()).then(|| {
            shard
                .replicas
                .iter()
                .filter_map(|id| state.node(*id).map(|n| (*id, node_addr(n))))
                .collect()
        });
        let group = shard_group(shard.id);
        match self
            .raft
            .open_group(group, shard.first_slot..=shard.last_slot, members)
            .await
        {
            Ok(replica) => {
                // A replica that has applied nothing has never heard from a leader, so its
                // election cannot unseat one; a restarted replica waits to be handed the lead.
                let fresh = replica.applied_index() == 0;
                if fresh && shard.version == 0 && shard.replicas.first() == Some(&self.id) {
                    replica.campaign().await;
                }
                self.replicas.write().insert(shard.id, replica);
            }
            Err(e) => tracing::error!(shard = shard.id, error = %e, "opening a replica failed"),
        }
    }

    /// Tells the meta leader this node is up and what it leads, learning every shard's
    /// leader in return; bounded, so an unreachable meta leader never holds up hosting.
    async fn report(self: &Arc<Self>) {
        let leads: Vec<u32> = self
            .replicas
            .read()
            .iter()
            .filter(|(_, r)| r.is_leader())
            .map(|(s, _)| *s)
            .collect();
        let request = Request::Report {
            node: self.id,
            leads,
        };
        let asked = tokio::time::timeout(TICK * 2, self.ask_meta_leader(request)).await;
        if let Ok(Reply::Leaders(leaders)) = asked {
            *self.leaders.write() = leaders.into_iter().collect();
        }
    }
}

/// How a node of the cluster state is reached.
pub fn node_addr(node: &NodeInfo) -> NodeAddr {
    NodeAddr {
        client: node.client.clone(),
        cluster: node.cluster.clone(),
    }
}

/// Voters of the meta group for a cluster of `nodes`: 5 from five nodes on, else up to 3.
pub fn meta_voter_count(nodes: usize) -> usize {
    if nodes >= 5 {
        5
    } else {
        nodes.min(3)
    }
}

/// Whether `data_dir` belongs to a node that has already joined or formed a cluster.
pub fn has_identity(data_dir: &Path) -> bool {
    data_dir.join(ID_FILE).exists()
}

/// Refuses to start a node the cluster removed: one whose last applied cluster state, in
/// `engine`, no longer names it. Its replicas and meta learner are gone, so it would only
/// serve an ever older map (as TiKV refuses to start a tombstoned store); joining again takes
/// an empty data directory. Checked before the node listens on any port.
pub fn refuse_removed(
    config: &ClusterConfig,
    data_dir: &Path,
    engine: &dyn Engine,
) -> Result<(), String> {
    let id = match &config.formation {
        Formation::Static { node_id, .. } => Some(*node_id),
        _ => remembered_id(data_dir),
    };
    let Some(id) = id else {
        return Ok(());
    };
    let state = ringkv_raft::meta_store::applied_state(engine).map_err(|e| e.to_string())?;
    refuse_if_removed(&state, id)
}

fn refuse_if_removed(state: &ClusterState, id: u64) -> Result<(), String> {
    if state.shards.is_empty() || state.node(id).is_some() {
        return Ok(());
    }
    Err(format!(
        "node {id} was removed from the cluster (epoch {}); to add it again, start it with \
         an empty --dir and --join or --await-join",
        state.epoch
    ))
}

/// This node's id: given (`--node-id`), remembered in `data_dir`, 1 for a new cluster, or
/// assigned by the cluster it joins. A new id is remembered.
async fn identity(config: &ClusterConfig, data_dir: &Path) -> Result<u64, String> {
    let file = data_dir.join(ID_FILE);
    let remembered = remembered_id(data_dir);
    let id = match (&config.formation, remembered) {
        (Formation::Static { node_id, .. }, _) => *node_id,
        (_, Some(id)) => id,
        (Formation::Alone, None) => 1,
        (Formation::Join(seed), None) => join(config, seed).await?,
        (Formation::AwaitJoin, None) => {
            return Err("a node waiting to be added has no cluster to join yet".to_owned())
        }
    };
    if remembered != Some(id) {
        std::fs::write(&file, format!("{id}\n"))
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    Ok(id)
}

/// The id remembered in `data_dir`, if this node joined or formed a cluster before.
fn remembered_id(data_dir: &Path) -> Option<u64> {
    std::fs::read_to_string(data_dir.join(ID_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// Asks the cluster of the node at cluster address `seed` to admit this node; its new id.
async fn join(config: &ClusterConfig, seed: &str) -> Result<u64, String> {
    let secret = config.secret.clone().map(|s| Arc::from(s.into_bytes()));
    let request = Request::Meta(MetaCommand::Join {
        client: config.client_addr(),
        cluster: config.cluster_addr(),
        weight: config.weight,
        zone: config.zone.clone(),
    });
    let payload = bincode::serialize(&request).expect("admin requests serialize");
    let mut last = String::new();
    for _ in 0..60 {
        let peer = Peer::new(seed.to_owned(), None, secret.clone());
        match peer
            .call(META_GROUP, Kind::Admin, &payload, ADMIN_TIMEOUT)
            .await
        {
            Ok(bytes) => match bincode::deserialize::<Reply>(&bytes) {
                Ok(Reply::Frame(Frame::Integer(id))) if id > 0 => {
                    tracing::info!(id, %seed, "joined the cluster");
                    return Ok(id as u64);
                }
                Ok(other) => last = format!("{other:?}"),
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(format!("cannot join the cluster through {seed}: {last}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_node_missing_from_a_bootstrapped_cluster_is_refused() {
        let mut state = ClusterState::default();
        assert!(refuse_if_removed(&state, 4).is_ok(), "nothing applied yet");
        state
            .apply(&MetaCommand::Bootstrap {
                nodes: (1..=3)
                    .map(|id| NodeInfo::new(id, format!("n{id}:6379"), format!("n{id}:16379")))
                    .collect(),
                shards: 4,
                replication: 3,
            })
            .unwrap();
        assert!(refuse_if_removed(&state, 3).is_ok());
        let refused = refuse_if_removed(&state, 4).unwrap_err();
        assert!(
            refused.starts_with("node 4 was removed from the cluster"),
            "{refused}"
        );
    }
}
