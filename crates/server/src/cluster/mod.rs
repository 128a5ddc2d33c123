//! A node of a replicated cluster: a member of the meta group ([`member`]), hosting the Raft
//! replicas of the shards the shard map gives it; the meta leader's duties ([`steward`]);
//! and the routing of each data command to its shard, answered with Redis Cluster's
//! redirections (`MOVED` to the leader, `TRYAGAIN` while a shard has no leader, `CROSSSLOT`).

pub mod config;
mod liveness;
mod meet;
mod member;
mod rpc;
mod steward;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ringkv_cluster::{ClusterState, MetaCommand};
use ringkv_protocol::Frame;
use ringkv_raft::{NodeAddr, RaftNode, RaftOptions, Replica, ReplicaError, SyncPolicy};
use ringkv_shard::command::CommandSpec;
use ringkv_shard::slot::key_slot;
use ringkv_shard::{Mutation, Proposal, StateMachine};
use tokio::sync::oneshot;

pub use config::{ClusterConfig, Formation, PeerSpec};
pub use meet::await_meet;
use member::Member;
pub use member::{has_identity, refuse_removed};
use rpc::{Reply, Request};

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
#[derive(Clone)]
pub(crate) struct Cluster {
    member: Arc<Member>,
}

/// A write proposed to a shard: its reply to come, in Redis Cluster's words when the shard
/// could not take it.
pub(crate) struct Written {
    /// None: the shard has no replica here (it moved away).
    written: Option<oneshot::Receiver<Result<Frame, ReplicaError>>>,
    slot: u16,
    cluster: Cluster,
}

impl Written {
    /// The reply, once the write is committed and applied, or why it was not.
    pub async fn reply(self) -> Frame {
        let Some(written) = self.written else {
            return Frame::error(format!(
                "TRYAGAIN The shard of slot {} moved away from this node, retry",
                self.slot
            ));
        };
        match written.await {
            Ok(Ok(frame)) => frame,
            Ok(Err(e)) => self.cluster.refusal(self.slot, e),
            Err(_) => crate::replication::not_applied(),
        }
    }
}

impl Cluster {
    /// Joins or forms the cluster and starts hosting this node's replicas; their data lives
    /// in `base`'s engine, and the node's id is remembered in `data_dir`.
    pub async fn start(
        config: &ClusterConfig,
        base: StateMachine,
        listener: tokio::net::TcpListener,
        data_dir: &Path,
        sync_policy: SyncPolicy,
    ) -> Result<Cluster, String> {
        config.validate()?;
        let options = |id| RaftOptions {
            id,
            secret: config.secret.clone().map(String::into_bytes),
            snapshot_dir: data_dir.join("snapshots"),
            heartbeat: config.heartbeat,
            election_timeout: (config.election_timeout, config.election_timeout * 2),
            snapshot_after: config.snapshot_after,
        };
        let make_raft = |id| {
            let raft = RaftNode::new(options(id), base, sync_policy).map_err(|e| e.to_string())?;
            raft.listen(listener);
            Ok(raft)
        };
        let member = Member::start(config.clone(), data_dir, make_raft).await?;
        member
            .raft
            .set_admin(Arc::new(steward::Admin(member.clone())));
        tokio::spawn(member.clone().run());
        tokio::spawn(steward::run(member.clone()));
        Ok(Cluster { member })
    }

    fn state(&self) -> Arc<ClusterState> {
        self.member.state()
    }

    fn replica(&self, shard: u32) -> Option<Replica> {
        self.member.replicas.read().get(&shard).cloned()
    }

    /// Finds the shard of a data command's keys and checks this node may serve it now: for
    /// writes and plain reads it must lead the shard (reads also wait for a quorum to confirm
    /// it, after the read `arrived`); after `READONLY`, any local replica serves reads. Err is
    /// the reply to send instead.
    pub async fn route(
        &self,
        spec: &CommandSpec,
        argv: &[Bytes],
        readonly: bool,
        arrived: Instant,
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
        let state = self.state();
        let Some(shard) = state.shard_of(slot) else {
            return Err(Frame::error("CLUSTERDOWN Hash slot not served"));
        };
        let route = Route {
            shard: shard.id,
            slot,
        };
        let Some(replica) = self.replica(shard.id) else {
            let me = self.member.id;
            let hint = self
                .leader_hint(shard.id)
                .filter(|h| *h != me && shard.replicas.contains(h))
                .or_else(|| shard.replicas.iter().copied().find(|r| *r != me));
            return Err(hint.map_or_else(no_leader, |node| self.moved(slot, node)));
        };
        let write = spec.is_write();
        if readonly && !write {
            return Ok(Some(route));
        }
        match replica.leader() {
            Some(leader) if leader == self.member.id => {}
            Some(leader) if shard.hosted_by(leader) => return Err(self.moved(slot, leader)),
            _ => return Err(no_leader()),
        }
        if !write {
            replica
                .read_barrier(arrived, READ_TIMEOUT)
                .await
                .map_err(|e| self.refusal(slot, e))?;
        }
        Ok(Some(route))
    }

    /// Proposes `mutation` to the shard of `route`, behind every write proposed to it before.
    pub fn propose(&self, route: Route, mutation: Mutation, now: u64) -> Written {
        let written = self
            .replica(route.shard)
            .map(|replica| replica.write(Proposal { now, mutation }, WRITE_TIMEOUT));
        Written {
            written,
            slot: route.slot,
            cluster: self.clone(),
        }
    }

    /// Proposes `mutation` to every shard this node leads (`FLUSHALL`, as a Redis Cluster
    /// master flushes its own slots); the first error, or the last reply.
    pub fn propose_to_led(&self, mutation: Mutation, now: u64) -> oneshot::Receiver<Frame> {
        let receivers: Vec<_> = self
            .led_shards()
            .into_iter()
            .map(|shard| {
                let slot = self.state().shards[shard as usize].first_slot;
                self.propose(Route { shard, slot }, mutation.clone(), now)
            })
            .collect();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let mut reply = Frame::ok();
            for r in receivers {
                let frame = r.reply().await;
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
            let Some(shard) = self.state().shard_of(slot).map(|s| s.id) else {
                continue;
            };
            if self.replica(shard).is_some_and(|r| r.is_leader()) {
                by_shard
                    .entry(shard)
                    .or_insert_with(|| (slot, Vec::new()))
                    .1
                    .push(key);
            }
        }
        let mut deleted = 0;
        for (shard, (slot, keys)) in by_shard {
            let written =
                self.propose(Route { shard, slot }, Mutation::DeleteExpired { keys }, now);
            if let Frame::Integer(n) = written.reply().await {
                deleted += n.max(0) as u64;
            }
        }
        deleted
    }

    fn led_shards(&self) -> Vec<u32> {
        self.member
            .replicas
            .read()
            .iter()
            .filter(|(_, r)| r.is_leader())
            .map(|(shard, _)| *shard)
            .collect()
    }

    fn leader_hint(&self, shard: u32) -> Option<u64> {
        self.member.leaders.read().get(&shard).copied()
    }

    fn refusals(&self) -> Refusals {
        let state = self.state();
        Refusals {
            nodes: Arc::new(
                state
                    .nodes
                    .iter()
                    .map(|(id, n)| (*id, member::node_addr(n)))
                    .collect(),
            ),
        }
    }

    fn moved(&self, slot: u16, node: u64) -> Frame {
        self.refusals().moved(slot, node)
    }

    fn refusal(&self, slot: u16, e: ReplicaError) -> Frame {
        self.refusals().refusal(slot, e)
    }

    /// This node's id.
    pub fn me(&self) -> u64 {
        self.member.id
    }

    /// Every node id, in order.
    pub fn node_ids(&self) -> Vec<u64> {
        self.state().nodes.keys().copied().collect()
    }

    /// The cluster state's epoch.
    pub fn epoch(&self) -> u64 {
        self.state().epoch
    }

    /// Sends a change of the cluster state to the meta leader; its reply.
    pub async fn change(&self, command: MetaCommand) -> Frame {
        reply_frame(self.member.ask_meta_leader(Request::Meta(command)).await)
    }

    /// The rebalancer's status as JSON, from the meta leader.
    pub async fn rebalance_status(&self) -> Frame {
        reply_frame(self.member.ask_meta_leader(Request::Status).await)
    }

    /// The 40-hex-character name of node `id`, as Redis Cluster names nodes.
    pub fn node_name(&self, id: u64) -> String {
        format!("{id:040x}")
    }

    /// Host and client port of node `id`.
    pub fn client_addr(&self, id: u64) -> (String, u16) {
        self.state()
            .node(id)
            .and_then(|n| split_addr(&n.client))
            .unwrap_or_default()
    }

    /// Cluster port of node `id`.
    pub fn cluster_port(&self, id: u64) -> u16 {
        self.state()
            .node(id)
            .and_then(|n| split_addr(&n.cluster))
            .map_or(0, |(_, port)| port)
    }

    /// Every shard with its replicas and its leader, as this node knows it (its own replica's
    /// view, else what the meta leader last told).
    pub fn shard_views(&self) -> Vec<ShardView> {
        self.state()
            .shards
            .iter()
            .map(|shard| ShardView {
                slots: shard.first_slot..=shard.last_slot,
                leader: self
                    .replica(shard.id)
                    .and_then(|r| r.leader())
                    .or_else(|| self.leader_hint(shard.id))
                    .filter(|l| shard.replicas.contains(l)),
                replicas: shard.replicas.clone(),
            })
            .collect()
    }
}

/// `host:port` split.
fn split_addr(addr: &str) -> Option<(String, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    Some((host.to_owned(), port.parse().ok()?))
}

/// The client's reply to an admin request.
fn reply_frame(reply: Reply) -> Frame {
    match reply {
        Reply::Frame(frame) => frame,
        Reply::Done | Reply::Leaders(_) => Frame::ok(),
        Reply::NotLeader(_) => Frame::error("TRYAGAIN The meta leader changed, retry"),
        Reply::Failed(e) if e.starts_with("CLUSTERDOWN") => Frame::error(e),
        Reply::Failed(e) => Frame::error(format!("ERR {e}")),
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
    nodes: Arc<HashMap<u64, NodeAddr>>,
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
