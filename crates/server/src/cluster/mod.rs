//! A node of a replicated cluster: hosts the Raft replicas of the shards the layout gives it,
//! routes each data command to its shard, and answers with Redis Cluster's redirections
//! (`MOVED` to the leader, `TRYAGAIN` while a shard has no leader, `CROSSSLOT`).

pub mod config;
pub mod layout;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ringkv_protocol::Frame;
use ringkv_raft::{NodeAddr, RaftNode, RaftOptions, Replica, ReplicaError, SyncPolicy};
use ringkv_shard::command::CommandSpec;
use ringkv_shard::slot::key_slot;
use ringkv_shard::{Mutation, Proposal, StateMachine};
use tokio::sync::oneshot;

pub use config::{ClusterConfig, PeerSpec};
use layout::Layout;

/// Longest a write waits for its commit before the client hears it is unconfirmed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a read waits for a quorum to confirm the leader.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// Where a data command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Route {
    /// The shard owning the command's keys.
    pub shard: u32,
    /// Their slot.
    pub slot: u16,
}

/// This node's part of the cluster.
pub(crate) struct Cluster {
    me: u64,
    peers: BTreeMap<u64, PeerSpec>,
    layout: Layout,
    replicas: HashMap<u32, Replica>,
    refusals: Refusals,
}

impl Cluster {
    /// Starts the replicas this node holds; their data lives in `base`'s engine.
    pub async fn start(
        config: &ClusterConfig,
        base: StateMachine,
        listener: tokio::net::TcpListener,
        snapshot_dir: std::path::PathBuf,
        sync_each: SyncPolicy,
    ) -> Result<Cluster, String> {
        let nodes: BTreeMap<u64, NodeAddr> = config
            .peers
            .iter()
            .map(|p| {
                let addr = NodeAddr {
                    client: format!("{}:{}", p.host, p.port),
                    cluster: format!("{}:{}", p.host, p.cluster_port),
                };
                (p.id, addr)
            })
            .collect();
        let ids: Vec<u64> = nodes.keys().copied().collect();
        let layout = Layout::round_robin(&ids, config.shards, config.replicas);
        let options = RaftOptions {
            id: config.node_id,
            secret: config.secret.clone().map(String::into_bytes),
            snapshot_dir,
            heartbeat: config.heartbeat,
            election_timeout: (config.election_timeout, config.election_timeout * 2),
            snapshot_after: config.snapshot_after,
        };
        let raft = RaftNode::new(options, base, sync_each).map_err(|e| e.to_string())?;
        raft.listen(listener);
        let mut replicas = HashMap::new();
        for shard in layout.shards() {
            if !shard.replicas.contains(&config.node_id) {
                continue;
            }
            let members = shard
                .replicas
                .iter()
                .map(|id| (*id, nodes[id].clone()))
                .collect();
            let replica = raft
                .open_group(shard.id, shard.slots.clone(), members)
                .await
                .map_err(|e| e.to_string())?;
            replicas.insert(shard.id, replica);
        }
        for shard in layout.shards() {
            if shard.replicas[0] == config.node_id && replicas[&shard.id].leader().is_none() {
                replicas[&shard.id].campaign().await;
            }
        }
        Ok(Cluster {
            me: config.node_id,
            refusals: Refusals {
                nodes: Arc::new(nodes.clone()),
            },
            peers: config.peers.iter().map(|p| (p.id, p.clone())).collect(),
            layout,
            replicas,
        })
    }

    /// Finds the shard of a data command's keys and checks this node may serve it now: for
    /// writes and plain reads it must lead the shard (reads also wait for a quorum to confirm
    /// it); after `READONLY`, any local replica serves reads. Err is the reply to send instead.
    pub async fn route(
        &self,
        spec: &CommandSpec,
        argv: &[Bytes],
        readonly: bool,
    ) -> Result<Option<Route>, Frame> {
        let mut keys = spec.keys(argv);
        let Some(first) = keys.next() else {
            return Ok(None);
        };
        let slot = key_slot(first);
        if keys.any(|k| key_slot(k) != slot) {
            return Err(Frame::error(
                "CROSSSLOT Keys in request don't hash to the same slot",
            ));
        }
        let shard = self.layout.shard_of(slot);
        let route = Route {
            shard: shard.id,
            slot,
        };
        let Some(replica) = self.replicas.get(&shard.id) else {
            return Err(self.moved(slot, shard.replicas[0]));
        };
        let write = spec.is_write();
        if readonly && !write {
            return Ok(Some(route));
        }
        match replica.leader() {
            Some(leader) if leader == self.me => {}
            Some(leader) => return Err(self.moved(slot, leader)),
            None => return Err(no_leader()),
        }
        if !write {
            replica
                .read_barrier(READ_TIMEOUT)
                .await
                .map_err(|e| self.refusal(slot, e))?;
        }
        Ok(Some(route))
    }

    /// Proposes `mutation` to the shard of `route`; the receiver yields the reply once committed.
    pub fn propose(&self, route: Route, mutation: Mutation, now: u64) -> oneshot::Receiver<Frame> {
        let (tx, rx) = oneshot::channel();
        let Some(replica) = self.replicas.get(&route.shard).cloned() else {
            let _ = tx.send(self.moved(route.slot, self.layout.shard_of(route.slot).replicas[0]));
            return rx;
        };
        let refuse = self.refusals.clone();
        tokio::spawn(async move {
            let reply = match replica
                .write(Proposal { now, mutation }, WRITE_TIMEOUT)
                .await
            {
                Ok(frame) => frame,
                Err(e) => refuse.refusal(route.slot, e),
            };
            let _ = tx.send(reply);
        });
        rx
    }

    /// Proposes `mutation` to every shard this node leads (`FLUSHALL`, as a Redis Cluster
    /// master flushes its own slots); the first error, or the last reply.
    pub fn propose_to_led(&self, mutation: Mutation, now: u64) -> oneshot::Receiver<Frame> {
        let receivers: Vec<_> = self
            .led_shards()
            .map(|shard| {
                let slot = *self.layout.shards()[shard as usize].slots.start();
                self.propose(Route { shard, slot }, mutation.clone(), now)
            })
            .collect();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let mut reply = Frame::ok();
            for r in receivers {
                let frame = r
                    .await
                    .unwrap_or_else(|_| Frame::error("ERR write was not applied"));
                if !matches!(reply, Frame::Error(_)) {
                    reply = frame;
                }
            }
            let _ = tx.send(reply);
        });
        rx
    }

    /// Deletes the expired `keys` of the shards this node leads, through their logs; how many.
    pub async fn delete_expired(&self, keys: Vec<Bytes>, now: u64) -> u64 {
        let mut by_shard: HashMap<u32, (u16, Vec<Bytes>)> = HashMap::new();
        for key in keys {
            let slot = key_slot(&key);
            let shard = self.layout.shard_of(slot).id;
            if self.replicas.get(&shard).is_some_and(Replica::is_leader) {
                by_shard
                    .entry(shard)
                    .or_insert_with(|| (slot, Vec::new()))
                    .1
                    .push(key);
            }
        }
        let mut deleted = 0;
        for (shard, (slot, keys)) in by_shard {
            let rx = self.propose(Route { shard, slot }, Mutation::DeleteExpired { keys }, now);
            if let Ok(Frame::Integer(n)) = rx.await {
                deleted += n.max(0) as u64;
            }
        }
        deleted
    }

    fn led_shards(&self) -> impl Iterator<Item = u32> + '_ {
        self.replicas
            .iter()
            .filter(|(_, r)| r.is_leader())
            .map(|(shard, _)| *shard)
    }

    fn moved(&self, slot: u16, node: u64) -> Frame {
        self.refusals.moved(slot, node)
    }

    fn refusal(&self, slot: u16, e: ReplicaError) -> Frame {
        self.refusals.refusal(slot, e)
    }

    /// This node's id.
    pub fn me(&self) -> u64 {
        self.me
    }

    /// Every node id, in order.
    pub fn node_ids(&self) -> Vec<u64> {
        self.peers.keys().copied().collect()
    }

    /// The 40-hex-character name of node `id`, as Redis Cluster names nodes.
    pub fn node_name(&self, id: u64) -> String {
        format!("{id:040x}")
    }

    /// Host and client port of node `id`.
    pub fn client_addr(&self, id: u64) -> (String, u16) {
        self.peers
            .get(&id)
            .map_or((String::new(), 0), |p| (p.host.clone(), p.port))
    }

    /// Cluster port of node `id`.
    pub fn cluster_port(&self, id: u64) -> u16 {
        self.peers.get(&id).map_or(0, |p| p.cluster_port)
    }

    /// Every shard with its replicas and, where this node knows it, its leader.
    pub fn shard_views(&self) -> Vec<ShardView> {
        self.layout
            .shards()
            .iter()
            .map(|shard| ShardView {
                slots: shard.slots.clone(),
                leader: self.replicas.get(&shard.id).and_then(Replica::leader),
                replicas: shard.replicas.clone(),
            })
            .collect()
    }
}

/// A shard as `CLUSTER SLOTS` and `CLUSTER NODES` describe it.
pub(crate) struct ShardView {
    /// Its slots.
    pub slots: std::ops::RangeInclusive<u16>,
    /// Its leader, if this node hosts a replica and knows it.
    pub leader: Option<u64>,
    /// Its replicas.
    pub replicas: Vec<u64>,
}

/// Turns replica errors into Redis Cluster's error replies.
#[derive(Clone)]
struct Refusals {
    nodes: Arc<BTreeMap<u64, NodeAddr>>,
}

impl Refusals {
    fn moved(&self, slot: u16, node: u64) -> Frame {
        match self.nodes.get(&node) {
            Some(addr) => Frame::error(format!("MOVED {slot} {}", addr.client)),
            None => no_leader(),
        }
    }

    fn refusal(&self, slot: u16, e: ReplicaError) -> Frame {
        match e {
            ReplicaError::NotLeader(Some((id, _))) => self.moved(slot, id),
            ReplicaError::NotLeader(None) => no_leader(),
            ReplicaError::Unavailable(why) => {
                Frame::error(format!("CLUSTERDOWN The shard of slot {slot} is unavailable: {why}"))
            }
            ReplicaError::Unconfirmed => Frame::error(format!(
                "CLUSTERDOWN The write to slot {slot} was not confirmed in time; it may or may not have been applied"
            )),
        }
    }
}

fn no_leader() -> Frame {
    Frame::error("TRYAGAIN The shard of this slot has no leader at the moment, retry later")
}
