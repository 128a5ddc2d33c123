//! A group replica as the rest of ringkv sees it: write a proposal, wait until a read would
//! be linearizable, ask who leads, change who the members are. openraft's errors become
//! [`ReplicaError`].

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::error::{CheckIsLeaderError, ClientWriteError, RaftError};
use openraft::{ChangeMembers, RaftMetrics};
use ringkv_cluster::MetaCommand;
use ringkv_protocol::Frame;
use ringkv_shard::Proposal;
use tokio::sync::oneshot;

use crate::lease::ReadLease;
use crate::read_batch::ReadBatch;
use crate::types::{Command, NodeAddr, NodeId, Raft};
use crate::write_batch::{Group, WriteBatch};

/// Shared by every write while open; a hand-off of leadership takes it alone, so that no
/// write is appended between the successor catching up and its election.
type WriteGate = tokio::sync::RwLock<()>;

/// Why a replica did not serve a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaError {
    /// This replica is not the leader; the leader, when known.
    NotLeader(Option<(NodeId, NodeAddr)>),
    /// The group cannot serve now (no quorum, shutting down); the reason.
    Unavailable(String),
    /// A write was sent but not confirmed in time: it may or may not be applied.
    Unconfirmed,
}

/// The local replica of one shard.
#[derive(Clone)]
pub struct Replica {
    raft: Raft,
    me: NodeId,
    reads: Arc<ReadBatch<ReplicaError>>,
    lease: Arc<ReadLease>,
    writes: Arc<WriteGate>,
    batch: Arc<WriteBatch>,
}

impl Replica {
    pub(crate) fn new(raft: Raft, me: NodeId, lease: Arc<ReadLease>) -> Replica {
        Replica {
            raft,
            me,
            reads: Arc::default(),
            lease,
            writes: Arc::default(),
            batch: Arc::default(),
        }
    }

    /// The current leader, as this replica knows it.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    /// Whether this replica believes it leads (a read still needs [`Replica::read_barrier`]).
    pub fn is_leader(&self) -> bool {
        self.leader() == Some(self.me)
    }

    /// Index of the last entry applied here.
    pub fn applied_index(&self) -> u64 {
        self.raft
            .metrics()
            .borrow()
            .last_applied
            .map_or(0, |l| l.index)
    }

    /// Queues `proposal` behind the writes queued before it, to be replicated with the
    /// others waiting ([`WriteBatch`]); the receiver yields its reply once a majority has it
    /// durably and it is applied here, or an error when it is not confirmed within `timeout`.
    pub fn write(
        &self,
        proposal: Proposal,
        timeout: Duration,
    ) -> oneshot::Receiver<Result<Frame, ReplicaError>> {
        self.batch.propose(proposal, || Group {
            raft: self.raft.clone(),
            gate: self.writes.clone(),
            timeout,
        })
    }

    /// Replicates a change to the cluster state (meta group); its reply once applied here.
    pub async fn write_meta(
        &self,
        command: MetaCommand,
        timeout: Duration,
    ) -> Result<Frame, ReplicaError> {
        let write = async {
            let _open = self.writes.read().await;
            self.raft.client_write(Command::Meta(command)).await
        };
        match tokio::time::timeout(timeout, write).await {
            Err(_) => Err(ReplicaError::Unconfirmed),
            Ok(Ok(mut response)) => Ok(response.data.pop().unwrap_or_else(Frame::ok)),
            Ok(Err(e)) => Err(change_error(e)),
        }
    }

    /// Returns once this replica is confirmed leader by a quorum and has applied everything
    /// committed before the read `arrived`, so that a read of its data now is linearizable.
    /// Reads share confirmations ([`ReadBatch`]), and skip them while the confirmation
    /// before holds this replica's read lease ([`ReadLease`]): no other replica can have
    /// been elected since, so every write acknowledged before the read arrived was
    /// acknowledged by this leader, after applying it here.
    pub async fn read_barrier(
        &self,
        arrived: Instant,
        timeout: Duration,
    ) -> Result<(), ReplicaError> {
        let (term, leader) = {
            let metrics = self.raft.metrics();
            let metrics = metrics.borrow();
            (metrics.current_term, metrics.current_leader)
        };
        if leader == Some(self.me) && self.lease.holds(Instant::now(), term) {
            return Ok(());
        }
        let raft = self.raft.clone();
        let lease = self.lease.clone();
        let barrier = move || {
            let raft = raft.clone();
            let lease = lease.clone();
            async move {
                let started = Instant::now();
                let term = raft.metrics().borrow().current_term;
                let confirmed = confirm_leadership(&raft, timeout).await;
                if confirmed.is_ok() && raft.metrics().borrow().current_term == term {
                    lease.confirmed(started, term);
                }
                confirmed
            }
        };
        let gone = ReplicaError::Unavailable("the read was dropped".to_owned());
        self.reads.wait(arrived, barrier, gone).await
    }

    /// The group's voters and learners, as of the latest membership this replica knows.
    pub fn members(&self) -> (BTreeSet<NodeId>, BTreeSet<NodeId>) {
        let metrics = self.raft.metrics().borrow().clone();
        let membership = metrics.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let learners = membership.learner_ids().collect();
        (voters, learners)
    }

    /// Adds `id` as a learner without waiting for it to catch up (leader only).
    pub async fn add_learner(&self, id: NodeId, addr: NodeAddr) -> Result<(), ReplicaError> {
        self.raft
            .add_learner(id, addr, false)
            .await
            .map(|_| ())
            .map_err(change_error)
    }

    /// Makes `voters` the group's voters (leader only): each new one first joins as a learner
    /// and catches up, then one joint-consensus change swaps the voter set; removed voters
    /// leave the group.
    pub async fn change_voters(
        &self,
        voters: BTreeMap<NodeId, NodeAddr>,
    ) -> Result<(), ReplicaError> {
        let (current, learners) = self.members();
        for (id, addr) in &voters {
            if !current.contains(id) && !learners.contains(id) {
                self.raft
                    .add_learner(*id, addr.clone(), true)
                    .await
                    .map_err(change_error)?;
            }
        }
        let ids: BTreeSet<NodeId> = voters.keys().copied().collect();
        if ids != current || !learners.is_empty() {
            self.raft
                .change_membership(ids, false)
                .await
                .map_err(change_error)?;
        }
        Ok(())
    }

    /// Removes the learners `ids` from the group (leader only).
    pub async fn remove_learners(&self, ids: BTreeSet<NodeId>) -> Result<(), ReplicaError> {
        self.raft
            .change_membership(ChangeMembers::RemoveNodes(ids), false)
            .await
            .map(|_| ())
            .map_err(change_error)
    }

    /// Hands this leader's leadership to the voter `to` without a time in which the group
    /// has no leader: holds new writes back, waits until those under way are committed and
    /// `to` has every entry, then runs `campaign` (which makes `to` start an election) and
    /// keeps writes held until the leadership has moved. The read lease is suspended
    /// meanwhile: `to` needs this replica's vote. Held writes then go on, and are
    /// redirected to the new leader. Gives up, with false, when `to` does not catch up or
    /// the leadership does not move `within`.
    pub async fn hand_off(
        &self,
        to: NodeId,
        campaign: impl Future<Output = ()>,
        within: Duration,
    ) -> bool {
        let Ok(_held) = tokio::time::timeout(within, self.writes.write()).await else {
            return false;
        };
        let _suspended = self.lease.suspend();
        let me = self.me;
        let caught_up = self
            .raft
            .wait(Some(within))
            .metrics(
                move |m| m.current_leader == Some(me) && matched(m, to) == m.last_log_index,
                "successor caught up",
            )
            .await
            .is_ok();
        if !caught_up {
            return false;
        }
        campaign.await;
        self.raft
            .wait(Some(within))
            .metrics(
                move |m| m.current_leader != Some(me),
                "leadership handed off",
            )
            .await
            .is_ok()
    }

    /// Starts an election now rather than after a timeout, so that the preferred replica of
    /// each shard usually wins at start-up and leaders spread over the nodes.
    pub async fn campaign(&self) {
        if let Err(e) = self.raft.trigger().elect().await {
            tracing::debug!(error = %e, "could not start an election");
        }
    }
}

/// The index of the last entry a leader knows `node` holds.
fn matched(metrics: &RaftMetrics<NodeId, NodeAddr>, node: NodeId) -> Option<u64> {
    let replication = metrics.replication.as_ref()?;
    replication.get(&node).copied().flatten().map(|l| l.index)
}

/// A write or membership change refused by openraft, as a [`ReplicaError`].
fn change_error(e: RaftError<NodeId, ClientWriteError<NodeId, NodeAddr>>) -> ReplicaError {
    match e {
        RaftError::APIError(e) => write_error(e),
        e => ReplicaError::Unavailable(e.to_string()),
    }
}

/// A refused write as a [`ReplicaError`]: `NotLeader` with the leader openraft knows.
pub(crate) fn write_error(e: ClientWriteError<NodeId, NodeAddr>) -> ReplicaError {
    match e {
        ClientWriteError::ForwardToLeader(f) => {
            ReplicaError::NotLeader(f.leader_id.zip(f.leader_node))
        }
        e => ReplicaError::Unavailable(e.to_string()),
    }
}

/// One quorum confirmation of this replica's leadership, waiting for the apply it implies.
async fn confirm_leadership(raft: &Raft, timeout: Duration) -> Result<(), ReplicaError> {
    match tokio::time::timeout(timeout, raft.ensure_linearizable()).await {
        Err(_) => Err(ReplicaError::Unavailable(
            "leadership not confirmed in time".to_owned(),
        )),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f)))) => {
            Err(ReplicaError::NotLeader(f.leader_id.zip(f.leader_node)))
        }
        Ok(Err(e)) => Err(ReplicaError::Unavailable(e.to_string())),
    }
}
