//! The rebalancer's plan: which shards must change replicas to reach the placement target.
//! Pure, like placement; carrying a move out (learners, catch-up, membership change) is the
//! meta leader's job.

use serde::Serialize;

use crate::meta::ClusterState;
use crate::placement::{PlacementError, Strategy};

/// One shard's change of replicas.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Move {
    /// Shard.
    pub shard: u32,
    /// The shard's version the move was planned against.
    pub version: u64,
    /// Its replicas now, preferred leader first.
    pub from: Vec<u64>,
    /// Its replicas after the move, preferred leader first.
    pub to: Vec<u64>,
}

impl Move {
    /// Whether the move only changes the preferred leader, not where data lives.
    pub fn reorders_only(&self) -> bool {
        let (mut a, mut b) = (self.from.clone(), self.to.clone());
        a.sort_unstable();
        b.sort_unstable();
        a == b
    }
}

/// The moves from `state` toward the balanced placement over the active nodes for which
/// `usable` holds (a node down longer than the dead-after time is not usable). Shards with
/// a move under way are left alone. Empty when the map is already on target.
pub fn plan(
    state: &ClusterState,
    usable: impl Fn(u64) -> bool,
) -> Result<Vec<Move>, PlacementError> {
    let nodes = state.active_specs(usable);
    if nodes.is_empty() || !state.bootstrapped() {
        return Ok(Vec::new());
    }
    let current = state.shard_map();
    let target = Strategy::Balanced.place(
        &nodes,
        state.shards.len() as u32,
        state.replication,
        Some(&current),
    )?;
    Ok(state
        .shards
        .iter()
        .zip(target.iter())
        .filter(|(shard, to)| shard.target.is_empty() && shard.replicas != *to)
        .map(|(shard, to)| Move {
            shard: shard.id,
            version: shard.version,
            from: shard.replicas.clone(),
            to: to.to_vec(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::fixtures::{bootstrapped, node};
    use crate::meta::MetaCommand;

    fn cluster(nodes: u64) -> ClusterState {
        bootstrapped(nodes, 16)
    }

    fn carry_out(state: &mut ClusterState, moves: &[Move]) {
        for m in moves {
            state
                .apply(&MetaCommand::BeginMove {
                    shard: m.shard,
                    version: m.version,
                    target: m.to.clone(),
                })
                .unwrap();
            let version = state.shards[m.shard as usize].version;
            state
                .apply(&MetaCommand::EndMove {
                    shard: m.shard,
                    version,
                    replicas: m.to.clone(),
                })
                .unwrap();
        }
    }

    #[test]
    fn a_balanced_cluster_has_nothing_to_do() {
        assert_eq!(plan(&cluster(3), |_| true).unwrap(), Vec::new());
    }

    #[test]
    fn growing_gives_new_nodes_their_share_and_then_settles() {
        let mut state = cluster(1);
        for id in 2..=5 {
            state.nodes.insert(id, node(id));
        }
        let moves = plan(&state, |_| true).unwrap();
        assert!(!moves.is_empty());
        carry_out(&mut state, &moves);
        for id in 1..=5 {
            let held = state.replica_count(id);
            assert!((9..=10).contains(&held), "node {id} holds {held} of 48");
        }
        assert_eq!(plan(&state, |_| true).unwrap(), Vec::new());
    }

    #[test]
    fn leaving_and_dead_nodes_are_moved_off_and_leavers_can_then_be_forgotten() {
        let mut state = cluster(5);
        state.apply(&MetaCommand::Leave { node: 5 }).unwrap();
        let moves = plan(&state, |id| id != 4).unwrap();
        carry_out(&mut state, &moves);
        assert_eq!(state.replica_count(5), 0);
        assert_eq!(state.replica_count(4), 0);
        for s in &state.shards {
            assert_eq!(s.replicas.len(), 3);
        }
        state.apply(&MetaCommand::Forget { node: 5 }).unwrap();
        assert!(state.node(5).is_none());
    }

    #[test]
    fn shards_with_a_move_under_way_are_left_alone() {
        let mut state = cluster(3);
        state.nodes.insert(4, node(4));
        let moves = plan(&state, |_| true).unwrap();
        let first = &moves[0];
        state
            .apply(&MetaCommand::BeginMove {
                shard: first.shard,
                version: first.version,
                target: first.to.clone(),
            })
            .unwrap();
        let again = plan(&state, |_| true).unwrap();
        assert!(again.iter().all(|m| m.shard != first.shard));
    }
}
