//! What the meta leader does for the cluster: creates it, keeps every node in the meta group
//! (up to five voters, the rest learners), moves shard replicas toward the balanced
//! placement a bounded number at a time (add learner → catch up → swap voters → old replica
//! deletes its data), forgets drained nodes, hands shard leadership back to preferred
//! leaders, and answers other nodes' admin requests.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ringkv_cluster::{plan, ClusterState, MetaCommand, Move, NodeState};
use ringkv_protocol::Frame;
use ringkv_raft::{AdminHandler, NodeAddr, ReplicaError};
use serde_json::json;

use super::member::{meta_voter_count, node_addr, Member};
use super::rpc::{self, Reply, Request, ADMIN_TIMEOUT};

/// How often the meta leader looks for work.
const TICK: Duration = Duration::from_millis(300);
/// How long a shard's leader may take to bring new replicas up to date and swap voters.
const MOVE_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a leader holds writes back for a successor to catch up, and then for the
/// successor's election.
const HAND_OFF_TIMEOUT: Duration = Duration::from_secs(1);

/// Does the meta leader's work while this node leads the meta group, until the process ends.
pub async fn run(member: Arc<Member>) {
    let mut leading = false;
    loop {
        tokio::time::sleep(TICK).await;
        if !member.meta.is_leader() {
            leading = false;
            continue;
        }
        if !leading {
            member.liveness.lock().restart();
            leading = true;
        }
        let state = member.state();
        if !state.bootstrapped() {
            if let Err(e) = propose(&member, member.bootstrap_command()).await {
                tracing::warn!(error = %e, "creating the cluster failed; retrying");
            }
            continue;
        }
        tend_meta_group(&member, &state).await;
        start_moves(&member, &state).await;
        forget_drained(&member, &state).await;
        balance_leaders(&member, &state).await;
    }
}

async fn propose(member: &Member, command: MetaCommand) -> Result<(), String> {
    match member.meta.write_meta(command, ADMIN_TIMEOUT).await {
        Ok(Frame::Error(e)) => Err(String::from_utf8_lossy(&e).into_owned()),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{e:?}")),
    }
}

fn usable(member: &Member, id: u64) -> bool {
    member.liveness.lock().alive(id, member.config.dead_after)
}

/// Makes every node a member of the meta group, with live active nodes as its voters; a
/// removed node stays a learner until it falls silent.
async fn tend_meta_group(member: &Member, state: &ClusterState) {
    let (voters, learners) = member.meta.members();
    for node in state.nodes.values() {
        if !voters.contains(&node.id) && !learners.contains(&node.id) {
            if let Err(e) = member.meta.add_learner(node.id, node_addr(node)).await {
                tracing::debug!(node = node.id, error = ?e, "adding a meta learner failed");
            }
        }
    }
    let active = |id: &u64| {
        state
            .node(*id)
            .is_some_and(|n| n.state == NodeState::Active)
    };
    let want = meta_voter_count(state.nodes.values().filter(|n| active(&n.id)).count());
    let mut desired: BTreeSet<u64> = voters
        .iter()
        .copied()
        .filter(|id| active(id) && usable(member, *id))
        .collect();
    let candidates: Vec<u64> = {
        let liveness = member.liveness.lock();
        learners
            .iter()
            .copied()
            .filter(|id| active(id) && liveness.up(*id))
            .collect()
    };
    for id in candidates {
        if desired.len() >= want {
            break;
        }
        desired.insert(id);
    }
    if !desired.is_empty() && desired != voters && desired.contains(&member.id) {
        let addrs: BTreeMap<u64, NodeAddr> = desired
            .iter()
            .filter_map(|id| state.node(*id).map(|n| (*id, node_addr(n))))
            .collect();
        if addrs.len() == desired.len() {
            if let Err(e) = member.meta.change_voters(addrs).await {
                tracing::warn!(error = ?e, "changing the meta voters failed");
            }
        }
    }
    // A removed node keeps following the cluster state for as long as it runs, so that
    // clients it still answers are redirected by the current map, not the one it last saw.
    let gone: BTreeSet<u64> = {
        let liveness = member.liveness.lock();
        learners
            .iter()
            .copied()
            .filter(|id| state.node(*id).is_none() && liveness.silent(*id))
            .collect()
    };
    if !gone.is_empty() {
        if let Err(e) = member.meta.remove_learners(gone).await {
            tracing::debug!(error = ?e, "removing meta learners failed");
        }
    }
}

/// The moves toward the balanced map, with the nodes the meta leader heard from recently
/// enough.
fn pending_moves(member: &Member, state: &ClusterState) -> Vec<Move> {
    plan(state, |id| usable(member, id)).unwrap_or_else(|e| {
        tracing::error!(error = %e, "placement failed");
        Vec::new()
    })
}

/// Resumes moves a previous meta leader began and starts new ones, up to the limit.
async fn start_moves(member: &Arc<Member>, state: &ClusterState) {
    for shard in state.shards.iter().filter(|s| !s.target.is_empty()) {
        let m = Move {
            shard: shard.id,
            version: shard.version,
            from: shard.replicas.clone(),
            to: shard.target.clone(),
        };
        spawn_move(member, m);
    }
    if state.rebalance.paused {
        return;
    }
    for m in pending_moves(member, state) {
        if m.reorders_only() {
            let end = MetaCommand::EndMove {
                shard: m.shard,
                version: m.version,
                replicas: m.to,
            };
            let _ = propose(member, end).await;
        } else if member.moving.lock().len() < state.rebalance.max_moves {
            spawn_move(member, m);
        }
    }
}

fn spawn_move(member: &Arc<Member>, m: Move) {
    if !member.moving.lock().insert(m.shard) {
        return;
    }
    let member = member.clone();
    tokio::spawn(async move {
        let shard = m.shard;
        if let Err(e) = carry_out(&member, m).await {
            tracing::warn!(shard, error = %e, "shard move stopped; it will be retried");
        }
        member.moving.lock().remove(&shard);
    });
}

/// Moves one shard: records the target (new replicas open as learners), has the shard's
/// leader catch them up and swap the voters, then records the new replicas.
async fn carry_out(member: &Member, m: Move) -> Result<(), String> {
    let current = member.state();
    let shard = current
        .shards
        .get(m.shard as usize)
        .ok_or("unknown shard")?;
    if shard.target.is_empty() {
        let begin = MetaCommand::BeginMove {
            shard: m.shard,
            version: m.version,
            target: m.to.clone(),
        };
        propose(member, begin).await?;
        tracing::info!(shard = m.shard, from = ?m.from, to = ?m.to, "moving shard replicas");
    }
    let state = member.state();
    let voters: BTreeMap<u64, NodeAddr> =
        m.to.iter()
            .filter_map(|id| state.node(*id).map(|n| (*id, node_addr(n))))
            .collect();
    let request = Request::ChangeVoters {
        shard: m.shard,
        voters,
    };
    let deadline = tokio::time::Instant::now() + MOVE_TIMEOUT;
    let mut ask = shard_leader_addr(member, &state, m.shard);
    loop {
        if !member.meta.is_leader() {
            return Err("no longer the meta leader".to_owned());
        }
        if tokio::time::Instant::now() > deadline {
            return Err("the shard's leader did not complete the move in time".to_owned());
        }
        let reply = match &ask {
            Some(addr) => rpc::call(&member.raft, addr, &request, MOVE_TIMEOUT).await,
            None => Reply::NotLeader(None),
        };
        match reply {
            Reply::Done => break,
            Reply::NotLeader(Some(addr)) => ask = Some(addr),
            other => {
                tracing::debug!(shard = m.shard, reply = ?other, "voter change not done yet");
                tokio::time::sleep(Duration::from_millis(500)).await;
                ask = shard_leader_addr(member, &member.state(), m.shard);
            }
        }
    }
    let version = member.state().shards[m.shard as usize].version;
    propose(
        member,
        MetaCommand::EndMove {
            shard: m.shard,
            version,
            replicas: m.to.clone(),
        },
    )
    .await?;
    tracing::info!(shard = m.shard, replicas = ?m.to, "shard moved");
    Ok(())
}

/// Where to send a request for `shard`'s leader: the leader last reported, else a replica.
fn shard_leader_addr(member: &Member, state: &ClusterState, shard: u32) -> Option<String> {
    let leader = member
        .liveness
        .lock()
        .leaders()
        .into_iter()
        .find(|(s, _)| *s == shard);
    let replicas = &state.shards.get(shard as usize)?.replicas;
    let id = leader
        .map(|(_, n)| n)
        .filter(|n| replicas.contains(n))
        .or_else(|| replicas.first().copied())?;
    state.node(id).map(|n| n.cluster.clone())
}

/// Forgets leaving nodes that no longer hold any replica.
async fn forget_drained(member: &Member, state: &ClusterState) {
    let drained: Vec<u64> = state
        .nodes
        .values()
        .filter(|n| n.state == NodeState::Leaving && state.replica_count(n.id) == 0)
        .map(|n| n.id)
        .collect();
    for node in drained {
        if propose(member, MetaCommand::Forget { node }).await.is_ok() {
            tracing::info!(node, "node removed from the cluster");
        }
    }
}

/// Leadership hand-offs asked for per tick: each holds its shard's writes back for a moment,
/// so they are spread out, but enough to balance a new cluster within seconds.
const LEADER_MOVES_PER_TICK: usize = 4;

/// Asks the leaders of a few shards led by another replica than their preferred one to hand
/// the leadership to the preferred one, so that leaders spread as placement planned. The
/// leader hands off only once the preferred replica has every entry: an election started
/// by a replica that is behind cannot win, yet would unseat the leader.
async fn balance_leaders(member: &Member, state: &ClusterState) {
    let leaders = member.liveness.lock().leaders();
    let moving = member.moving.lock().clone();
    let mut hand_offs = tokio::task::JoinSet::new();
    for (shard, leader) in leaders {
        let Some(s) = state.shards.get(shard as usize) else {
            continue;
        };
        let preferred = s.replicas[0];
        if preferred == leader || !s.target.is_empty() || moving.contains(&shard) {
            continue;
        }
        if !member.liveness.lock().up(preferred) {
            continue;
        }
        if let Some(node) = state.node(leader) {
            let request = Request::HandOff {
                shard,
                to: preferred,
            };
            let (raft, addr) = (member.raft.clone(), node.cluster.clone());
            hand_offs.spawn(async move { rpc::call(&raft, &addr, &request, ADMIN_TIMEOUT).await });
            if hand_offs.len() == LEADER_MOVES_PER_TICK {
                break;
            }
        }
    }
    hand_offs.join_all().await;
}

/// The rebalancer's status as JSON: settings, nodes, moves under way and planned.
fn status(member: &Member) -> String {
    let state = member.state();
    let describe = |m: &Move| {
        let s = &state.shards[m.shard as usize];
        json!({"shard": m.shard, "slots": format!("{}-{}", s.first_slot, s.last_slot),
               "from": m.from, "to": m.to})
    };
    let moving: Vec<_> = state
        .shards
        .iter()
        .filter(|s| !s.target.is_empty())
        .map(|s| {
            describe(&Move {
                shard: s.id,
                version: s.version,
                from: s.replicas.clone(),
                to: s.target.clone(),
            })
        })
        .collect();
    let pending: Vec<_> = pending_moves(member, &state).iter().map(describe).collect();
    let liveness = member.liveness.lock();
    let nodes: Vec<_> = state
        .nodes
        .values()
        .map(|n| {
            json!({"id": n.id, "name": format!("{:040x}", n.id), "client": n.client,
                   "state": n.state, "up": liveness.up(n.id), "weight": n.weight,
                   "zone": n.zone, "replicas": state.replica_count(n.id),
                   "leaders": liveness.leads(n.id)})
        })
        .collect();
    json!({"epoch": state.epoch, "paused": state.rebalance.paused,
           "max_moves": state.rebalance.max_moves, "nodes": nodes,
           "moving": moving, "pending": pending})
    .to_string()
}

/// Answers `request` on this node.
pub async fn answer(member: &Arc<Member>, request: Request) -> Reply {
    let meta_bound = matches!(
        request,
        Request::Meta(_) | Request::Report { .. } | Request::Status
    );
    if meta_bound && !member.meta.is_leader() {
        return Reply::NotLeader(member.meta_leader_addr());
    }
    match request {
        Request::Meta(command) => match member.meta.write_meta(command, ADMIN_TIMEOUT).await {
            Ok(frame) => Reply::Frame(frame),
            Err(e) => Reply::Failed(format!("{e:?}")),
        },
        Request::Report { node, leads } => {
            let mut liveness = member.liveness.lock();
            liveness.report(node, &leads);
            Reply::Leaders(liveness.leaders())
        }
        Request::Status => Reply::Frame(Frame::bulk(status(member))),
        Request::ChangeVoters { shard, voters } => {
            let replica = member.replicas.read().get(&shard).cloned();
            let Some(replica) = replica else {
                return Reply::NotLeader(None);
            };
            if replica.is_leader() && !voters.contains_key(&member.id) {
                hand_over(member, &replica, shard, &voters).await;
                return Reply::NotLeader(None);
            }
            match replica.change_voters(voters).await {
                Ok(()) => Reply::Done,
                Err(ReplicaError::NotLeader(leader)) => {
                    Reply::NotLeader(leader.map(|(_, addr)| addr.cluster))
                }
                Err(e) => Reply::Failed(format!("{e:?}")),
            }
        }
        Request::Campaign { shard } => {
            let replica = member.replicas.read().get(&shard).cloned();
            if let Some(replica) = replica {
                replica.campaign().await;
            }
            Reply::Done
        }
        Request::HandOff { shard, to } => {
            let replica = member.replicas.read().get(&shard).cloned();
            let successor = member.state().node(to).map(|n| n.cluster.clone());
            match (replica, successor) {
                (Some(replica), Some(addr)) if replica.is_leader() => {
                    hand_off(member, &replica, shard, (to, &addr)).await;
                    Reply::Done
                }
                _ => Reply::NotLeader(None),
            }
        }
    }
}

/// Hands the leadership of `shard` from this node's `replica` to `successor` (node id and
/// cluster address), making it campaign once it has every entry.
async fn hand_off(
    member: &Member,
    replica: &ringkv_raft::Replica,
    shard: u32,
    successor: (u64, &str),
) -> bool {
    let (to, addr) = successor;
    let request = Request::Campaign { shard };
    let campaign = async {
        rpc::call(&member.raft, addr, &request, HAND_OFF_TIMEOUT).await;
    };
    let moved = replica.hand_off(to, campaign, HAND_OFF_TIMEOUT).await;
    if !moved {
        tracing::debug!(shard, to, "leadership hand-off did not complete");
    }
    moved
}

/// Before a leader leaves its shard, hands its leadership to a replica that stays, so that
/// clients are never left redirected to a leader that is gone.
async fn hand_over(
    member: &Member,
    replica: &ringkv_raft::Replica,
    shard: u32,
    voters: &BTreeMap<u64, NodeAddr>,
) {
    let (current, _) = replica.members();
    for (id, addr) in voters.iter().filter(|(id, _)| current.contains(id)) {
        if hand_off(member, replica, shard, (*id, &addr.cluster)).await {
            return;
        }
    }
}

/// Answers other nodes' admin requests, forwarding those for the meta leader once.
pub struct Admin(pub Arc<Member>);

impl AdminHandler for Admin {
    fn handle(
        &self,
        request: bytes::Bytes,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<u8>> + Send + '_>> {
        Box::pin(async move {
            let reply = match bincode::deserialize::<Request>(&request) {
                Ok(request) => match answer(&self.0, request.clone()).await {
                    Reply::NotLeader(Some(leader))
                        if !matches!(request, Request::ChangeVoters { .. }) =>
                    {
                        rpc::call(&self.0.raft, &leader, &request, ADMIN_TIMEOUT).await
                    }
                    reply => reply,
                },
                Err(e) => Reply::Failed(format!("bad admin request: {e}")),
            };
            bincode::serialize(&reply).unwrap_or_default()
        })
    }
}
