//! The cluster's shared state, as the meta group (Raft group 0) replicates it: the nodes
//! (addresses, weight, zone, whether they are leaving), the shard map (slot range → replica
//! set, with the epoch of its last change) and the rebalancer's settings.
//!
//! [`ClusterState::apply`] is the meta group's state machine: deterministic, so every node
//! that applies the same commands holds the same state. Commands that no longer fit the
//! state (a move planned against an older version of the shard) are refused, not applied.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::placement::{NodeSpec, ShardMap, Strategy};

/// Redis Cluster's slot count; shards own contiguous ranges of it.
pub const SLOT_COUNT: u32 = 16384;

/// Whether a node takes replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// A full member: placement gives it its share of replicas.
    Active,
    /// Being removed: its replicas move away, then it is forgotten.
    Leaving,
}

/// A member node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Node id, unique in the cluster.
    pub id: u64,
    /// `host:port` for Redis clients.
    pub client: String,
    /// `host:port` for other nodes.
    pub cluster: String,
    /// Relative capacity (see [`NodeSpec::weight`]).
    pub weight: u32,
    /// Failure domain.
    pub zone: String,
    /// Whether it takes replicas.
    pub state: NodeState,
}

impl NodeInfo {
    /// An active node of weight 1, in no zone, reached at `client` and `cluster`.
    pub fn new(id: u64, client: String, cluster: String) -> NodeInfo {
        NodeInfo {
            id,
            client,
            cluster,
            weight: 1,
            zone: String::new(),
            state: NodeState::Active,
        }
    }
}

/// A shard: its slots and where its replicas are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardState {
    /// Shard number.
    pub id: u32,
    /// First slot it owns.
    pub first_slot: u16,
    /// Last slot it owns.
    pub last_slot: u16,
    /// Nodes holding its voting replicas, the preferred leader first.
    pub replicas: Vec<u64>,
    /// The replicas a move under way leads to (empty when none is): nodes in it but not in
    /// `replicas` host the shard as learners until the move ends.
    pub target: Vec<u64>,
    /// Epoch of the shard's last change; 0 while it keeps the replicas it was created with,
    /// the only time its replicas may initialize its Raft group themselves.
    pub version: u64,
}

impl ShardState {
    /// Whether `node` hosts a replica of this shard (voter or joining learner).
    pub fn hosted_by(&self, node: u64) -> bool {
        self.replicas.contains(&node) || self.target.contains(&node)
    }

    /// Whether `slot` belongs to this shard.
    pub fn owns(&self, slot: u16) -> bool {
        (self.first_slot..=self.last_slot).contains(&slot)
    }
}

/// How the rebalancer may move replicas.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebalanceSettings {
    /// No new moves start while paused.
    pub paused: bool,
    /// Most shard moves under way at once.
    pub max_moves: usize,
}

impl Default for RebalanceSettings {
    fn default() -> Self {
        RebalanceSettings {
            paused: false,
            max_moves: 2,
        }
    }
}

/// Everything the meta group agrees on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    /// Incremented by every change.
    pub epoch: u64,
    /// Replicas per shard wanted (capped at the number of nodes).
    pub replication: usize,
    /// Members by id.
    pub nodes: BTreeMap<u64, NodeInfo>,
    /// Shards in slot order; empty until bootstrapped.
    pub shards: Vec<ShardState>,
    /// The rebalancer's settings.
    pub rebalance: RebalanceSettings,
}

/// A change to the cluster state, as committed to the meta group's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaCommand {
    /// Creates the cluster: its first nodes and `shards` shards of `replication` replicas,
    /// placed by the default strategy. Ignored once bootstrapped.
    Bootstrap {
        /// The first members.
        nodes: Vec<NodeInfo>,
        /// Number of shards.
        shards: u32,
        /// Replicas per shard.
        replication: usize,
    },
    /// Adds a node, or updates the addresses of a member with the same cluster address;
    /// answers its id.
    Join {
        /// `host:port` for clients.
        client: String,
        /// `host:port` for nodes.
        cluster: String,
        /// Relative capacity.
        weight: u32,
        /// Failure domain.
        zone: String,
    },
    /// Starts removing a node: its replicas will move away.
    Leave {
        /// The node.
        node: u64,
    },
    /// Forgets a leaving node that no longer holds any replica.
    Forget {
        /// The node.
        node: u64,
    },
    /// Starts moving `shard` (at `version`) to `target`: the nodes not yet holding it join
    /// as learners, and the move can be resumed by any meta leader.
    BeginMove {
        /// Shard.
        shard: u32,
        /// Its version the move was planned against.
        version: u64,
        /// Its replicas after the move, preferred leader first.
        target: Vec<u64>,
    },
    /// Records that `shard`'s group now has exactly `replicas` as voters.
    EndMove {
        /// Shard.
        shard: u32,
        /// Its version the move was planned against.
        version: u64,
        /// Its voters, preferred leader first.
        replicas: Vec<u64>,
    },
    /// Changes the rebalancer's settings.
    Rebalance {
        /// Pause (true) or resume (false).
        paused: Option<bool>,
        /// Most moves at once.
        max_moves: Option<usize>,
    },
}

/// A command's successful outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaReply {
    /// Applied.
    Done,
    /// The id of the node that joined.
    Joined(u64),
}

impl ClusterState {
    /// Whether the cluster has been created.
    pub fn bootstrapped(&self) -> bool {
        !self.shards.is_empty()
    }

    /// The shard owning `slot`.
    pub fn shard_of(&self, slot: u16) -> Option<&ShardState> {
        let i = self.shards.partition_point(|s| s.last_slot < slot);
        self.shards.get(i).filter(|s| s.owns(slot))
    }

    /// The node with the given id.
    pub fn node(&self, id: u64) -> Option<&NodeInfo> {
        self.nodes.get(&id)
    }

    /// The current map of voting replicas, for placement.
    pub fn shard_map(&self) -> ShardMap {
        ShardMap::new(self.shards.iter().map(|s| s.replicas.clone()).collect())
    }

    /// Placement's view of the nodes that may hold replicas.
    pub fn active_specs(&self, usable: impl Fn(u64) -> bool) -> Vec<NodeSpec> {
        self.nodes
            .values()
            .filter(|n| n.state == NodeState::Active && usable(n.id))
            .map(|n| NodeSpec::new(n.id, n.weight, n.zone.clone()))
            .collect()
    }

    /// How many replicas `node` holds or is receiving.
    pub fn replica_count(&self, node: u64) -> usize {
        self.shards.iter().filter(|s| s.hosted_by(node)).count()
    }

    /// Applies `command`; an error (in Redis's `ERR` style) leaves the state as it was.
    pub fn apply(&mut self, command: &MetaCommand) -> Result<MetaReply, String> {
        let reply = match command {
            MetaCommand::Bootstrap {
                nodes,
                shards,
                replication,
            } => self.bootstrap(nodes, *shards, *replication)?,
            MetaCommand::Join {
                client,
                cluster,
                weight,
                zone,
            } => self.join(client, cluster, *weight, zone),
            MetaCommand::Leave { node } => {
                let active = self
                    .nodes
                    .values()
                    .filter(|n| n.state == NodeState::Active)
                    .count();
                let info = self
                    .nodes
                    .get_mut(node)
                    .ok_or_else(|| format!("ERR Unknown node {node}"))?;
                if info.state == NodeState::Active && active == 1 {
                    return Err("ERR Cannot remove the last active node".to_owned());
                }
                info.state = NodeState::Leaving;
                MetaReply::Done
            }
            MetaCommand::Forget { node } => {
                if self.replica_count(*node) > 0 {
                    return Err(format!("ERR Node {node} still holds replicas"));
                }
                self.nodes
                    .remove(node)
                    .ok_or_else(|| format!("ERR Unknown node {node}"))?;
                MetaReply::Done
            }
            MetaCommand::BeginMove {
                shard,
                version,
                target,
            } => {
                let epoch = self.epoch + 1;
                if target.is_empty() {
                    return Err("ERR a shard needs at least one replica".to_owned());
                }
                let s = self.current_shard(*shard, *version)?;
                s.target.clone_from(target);
                s.version = epoch;
                MetaReply::Done
            }
            MetaCommand::EndMove {
                shard,
                version,
                replicas,
            } => {
                let epoch = self.epoch + 1;
                let s = self.current_shard(*shard, *version)?;
                if replicas.is_empty() {
                    return Err("ERR a shard needs at least one replica".to_owned());
                }
                s.replicas.clone_from(replicas);
                s.target.clear();
                s.version = epoch;
                MetaReply::Done
            }
            MetaCommand::Rebalance { paused, max_moves } => {
                if *max_moves == Some(0) {
                    return Err("ERR max moves must be at least 1".to_owned());
                }
                if let Some(p) = paused {
                    self.rebalance.paused = *p;
                }
                if let Some(m) = max_moves {
                    self.rebalance.max_moves = *m;
                }
                MetaReply::Done
            }
        };
        self.epoch += 1;
        Ok(reply)
    }

    fn bootstrap(
        &mut self,
        nodes: &[NodeInfo],
        shards: u32,
        replication: usize,
    ) -> Result<MetaReply, String> {
        if self.bootstrapped() {
            return Ok(MetaReply::Done);
        }
        let specs: Vec<NodeSpec> = nodes
            .iter()
            .map(|n| NodeSpec::new(n.id, n.weight, n.zone.clone()))
            .collect();
        let map = Strategy::Balanced
            .place(&specs, shards, replication, None)
            .map_err(|e| format!("ERR {e}"))?;
        self.replication = replication;
        self.nodes = nodes.iter().map(|n| (n.id, n.clone())).collect();
        self.shards = map
            .iter()
            .enumerate()
            .map(|(i, replicas)| {
                let (first, last) = slot_range(i as u32, shards);
                ShardState {
                    id: i as u32,
                    first_slot: first,
                    last_slot: last,
                    replicas: replicas.to_vec(),
                    target: Vec::new(),
                    version: 0,
                }
            })
            .collect();
        Ok(MetaReply::Done)
    }

    fn join(&mut self, client: &str, cluster: &str, weight: u32, zone: &str) -> MetaReply {
        let existing = self
            .nodes
            .values()
            .find(|n| n.cluster == cluster)
            .map(|n| n.id);
        let id = existing.unwrap_or_else(|| self.nodes.keys().max().map_or(1, |m| m + 1));
        let mut node = NodeInfo::new(id, client.to_owned(), cluster.to_owned());
        node.weight = weight;
        node.zone = zone.to_owned();
        self.nodes.insert(id, node);
        MetaReply::Joined(id)
    }

    fn current_shard(&mut self, shard: u32, version: u64) -> Result<&mut ShardState, String> {
        let s = self
            .shards
            .get_mut(shard as usize)
            .ok_or_else(|| format!("ERR Unknown shard {shard}"))?;
        if s.version != version {
            return Err(format!(
                "ERR Shard {shard} changed (version {} now, {version} planned)",
                s.version
            ));
        }
        Ok(s)
    }
}

/// The slots of shard `i` of `shards`: contiguous, equal-sized ranges covering all slots.
pub fn slot_range(i: u32, shards: u32) -> (u16, u16) {
    let total = u64::from(SLOT_COUNT);
    let first = total * u64::from(i) / u64::from(shards);
    let last = total * u64::from(i + 1) / u64::from(shards) - 1;
    (first as u16, last as u16)
}

/// Cluster states for the tests of this crate.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// An active node of weight 1 with made-up addresses.
    pub fn node(id: u64) -> NodeInfo {
        NodeInfo::new(
            id,
            format!("127.0.0.1:{}", 7000 + id),
            format!("127.0.0.1:{}", 17000 + id),
        )
    }

    /// A cluster bootstrapped with nodes `1..=nodes` and `shards` shards of 3 replicas.
    pub fn bootstrapped(nodes: u64, shards: u32) -> ClusterState {
        let mut state = ClusterState::default();
        state
            .apply(&MetaCommand::Bootstrap {
                nodes: (1..=nodes).map(node).collect(),
                shards,
                replication: 3,
            })
            .unwrap();
        state
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::node;
    use super::*;

    fn bootstrapped(nodes: u64) -> ClusterState {
        super::fixtures::bootstrapped(nodes, 8)
    }

    #[test]
    fn bootstrap_covers_every_slot_once_with_distinct_replicas_and_happens_once() {
        let mut state = bootstrapped(3);
        let mut next = 0u32;
        for s in &state.shards {
            assert_eq!(u32::from(s.first_slot), next);
            next = u32::from(s.last_slot) + 1;
            let mut r = s.replicas.clone();
            r.sort_unstable();
            assert_eq!(r, vec![1, 2, 3]);
            assert_eq!(s.version, 0);
        }
        assert_eq!(next, SLOT_COUNT);
        assert_eq!(state.shard_of(16383).unwrap().id, 7);
        assert_eq!(state.shard_of(2048).unwrap().id, 1);
        let before = state.clone();
        state
            .apply(&MetaCommand::Bootstrap {
                nodes: vec![node(9)],
                shards: 2,
                replication: 1,
            })
            .unwrap();
        assert_eq!(state.shards, before.shards);
    }

    #[test]
    fn joins_get_fresh_ids_and_a_rejoin_keeps_its_id() {
        let mut state = bootstrapped(1);
        let join = |cluster: &str| MetaCommand::Join {
            client: "127.0.0.1:1".to_owned(),
            cluster: cluster.to_owned(),
            weight: 1,
            zone: String::new(),
        };
        assert_eq!(state.apply(&join("a:1")), Ok(MetaReply::Joined(2)));
        assert_eq!(state.apply(&join("b:1")), Ok(MetaReply::Joined(3)));
        assert_eq!(state.apply(&join("a:1")), Ok(MetaReply::Joined(2)));
        assert_eq!(state.nodes.len(), 3);
    }

    #[test]
    fn moves_apply_only_to_the_version_they_were_planned_against() {
        let mut state = bootstrapped(3);
        state.apply(&MetaCommand::Leave { node: 3 }).unwrap();
        let shard = state.shards[0].clone();
        let mut target = shard.replicas.clone();
        target.retain(|&n| n != 3);
        target.push(4);
        state
            .apply(&MetaCommand::BeginMove {
                shard: 0,
                version: 0,
                target: target.clone(),
            })
            .unwrap();
        assert_eq!(state.shards[0].target, target);
        assert!(state.shards[0].hosted_by(4) && state.shards[0].hosted_by(3));
        let stale = MetaCommand::EndMove {
            shard: 0,
            version: 0,
            replicas: target.clone(),
        };
        assert!(state.apply(&stale).is_err());
        let version = state.shards[0].version;
        state
            .apply(&MetaCommand::EndMove {
                shard: 0,
                version,
                replicas: target.clone(),
            })
            .unwrap();
        assert_eq!(state.shards[0].replicas, target);
        assert!(state.shards[0].target.is_empty());
        assert!(state.apply(&MetaCommand::Forget { node: 3 }).is_err());
    }

    #[test]
    fn the_last_active_node_cannot_leave_and_settings_are_checked() {
        let mut state = bootstrapped(1);
        assert!(state.apply(&MetaCommand::Leave { node: 1 }).is_err());
        assert!(state.apply(&MetaCommand::Leave { node: 5 }).is_err());
        let epoch = state.epoch;
        assert!(state
            .apply(&MetaCommand::Rebalance {
                paused: Some(true),
                max_moves: Some(0)
            })
            .is_err());
        assert_eq!(state.epoch, epoch, "a refused command changes nothing");
        state
            .apply(&MetaCommand::Rebalance {
                paused: Some(true),
                max_moves: Some(4),
            })
            .unwrap();
        assert!(state.rebalance.paused);
        assert_eq!(state.rebalance.max_moves, 4);
    }
}
