//! `balanced`: every node within tolerance of its weighted fair share (5%, or one replica;
//! see [`super::fair`]), reached from the current map with as few new replicas as possible.
//! The default strategy.
//!
//! 1. **Keep.** Every replica of the current map stays if its node is still in the cluster
//!    and it breaks no rule (duplicate node, second replica in a zone when zones must be
//!    distinct, more than R replicas: the earlier ones in the list win). Each node's target
//!    is then chosen within its tolerance band, as close to what it keeps as the totals
//!    allow ([`super::targets`]).
//! 2. **Shed.** A node above its target gives up its excess. It drops first the replicas some
//!    node with room could replace directly, then those it does not lead, then those of the
//!    fullest shards (so no shard loses several replicas at once if it can be helped).
//! 3. **Fill.** Each open slot, shard by shard, goes to the node with the most room left that
//!    fits (not already in the set, zone not in the set when zones must be distinct), ties
//!    broken by a hash of (shard, node) so that shards spread over different nodes. A slot no
//!    such node fits is filled through a chain of moves, cheapest first — node A with room
//!    joins shard X, X's node B moves to shard Y, … until the open slot is filled: an
//!    augmenting path of the matching of slots to nodes, which exists because the targets are
//!    reachable by construction (not finding one is reported as an internal error).
//! 4. **Leaders** are then chosen among each set's replicas ([`super::leaders`]).
//!
//! Every node keeps min(held, target) of its replicas, so the replicas added are the
//! minimum needed to reach the targets, Σ max(0, target − held), plus one for each replica
//! the node already held that a chain in step 3 moves (chains prefer moving replicas placed
//! in this same fill, which costs nothing). Without a current map it builds the whole map
//! the same way, from empty, and every node ends within one replica of its share.

use std::cmp::Reverse;
use std::collections::{BTreeSet, VecDeque};

use super::fair::FairShares;
use super::hash::pair_hash;
use super::leaders;
use super::targets;
use super::topology::Topology;
use super::{PlacementError, ShardMap};

/// Each shard's replica set as node indices, preferred leader first.
pub(crate) fn place(
    topology: &Topology,
    current: Option<&ShardMap>,
) -> Result<Vec<Vec<usize>>, PlacementError> {
    let fair = FairShares::of(topology);
    let mut plan = Plan::keep(topology, current);
    plan.target = targets::replica_targets(topology, &fair, &plan.load, &plan.reach());
    plan.shed();
    plan.fill()?;
    let previous: Vec<Option<usize>> = (0..topology.shards())
        .map(|s| {
            current
                .and_then(|map| map.replicas(s).first())
                .and_then(|&id| topology.index_of(id))
                .filter(|p| plan.sets[s].contains(p))
        })
        .collect();
    Ok(leaders::order(topology, plan.sets, &fair, &previous))
}

/// A map under construction: replica sets, each node's load and its target.
struct Plan<'t, 'a> {
    topology: &'t Topology<'a>,
    sets: Vec<Vec<usize>>,
    load: Vec<usize>,
    target: Vec<usize>,
    /// (shard, node) replicas placed by this plan rather than kept from the current map.
    fresh: BTreeSet<(usize, usize)>,
}

/// One link of a chain of moves: `leaving` (none for the open shard the search starts from)
/// gives up its replica of `shard` and takes the place opened in `parent`'s shard.
struct Link {
    shard: usize,
    leaving: Option<usize>,
    parent: usize,
}

/// Whether the chain ending at link `at` already goes through `shard` (a chain changes each
/// shard at most once, so that every fit it checked still holds when it is carried out).
fn on_path(links: &[Link], mut at: usize, shard: usize) -> bool {
    loop {
        if links[at].shard == shard {
            return true;
        }
        if links[at].leaving.is_none() {
            return false;
        }
        at = links[at].parent;
    }
}

impl<'t, 'a> Plan<'t, 'a> {
    /// Step 1: the replicas of `current` that may stay; targets are set afterwards.
    fn keep(topology: &'t Topology<'a>, current: Option<&ShardMap>) -> Self {
        let mut plan = Plan {
            topology,
            sets: vec![Vec::new(); topology.shards()],
            load: vec![0; topology.len()],
            target: Vec::new(),
            fresh: BTreeSet::new(),
        };
        for shard in 0..topology.shards() {
            let held = current.map_or(&[][..], |map| map.replicas(shard));
            for node in held.iter().filter_map(|&id| topology.index_of(id)) {
                if plan.sets[shard].len() < topology.replicas() && plan.fits(shard, node, None) {
                    plan.sets[shard].push(node);
                    plan.load[node] += 1;
                }
            }
        }
        plan
    }

    /// Whether `node` may join `shard` once `leaving` (if any) has left it.
    fn fits(&self, shard: usize, node: usize, leaving: Option<usize>) -> bool {
        let set = &self.sets[shard];
        let zone = self.topology.zone(node);
        !set.contains(&node)
            && (!self.topology.zones_distinct()
                || set
                    .iter()
                    .all(|&m| Some(m) == leaving || self.topology.zone(m) != zone))
    }

    /// How far each node can grow by filling open slots directly: its load plus the shards
    /// with an open slot it fits.
    fn reach(&self) -> Vec<usize> {
        let mut reach = self.load.clone();
        for shard in 0..self.topology.shards() {
            if self.sets[shard].len() < self.topology.replicas() {
                for (node, r) in reach.iter_mut().enumerate() {
                    *r += usize::from(self.fits(shard, node, None));
                }
            }
        }
        reach
    }

    fn has_room(&self, node: usize) -> bool {
        self.load[node] < self.target[node]
    }

    fn tie(&self, shard: usize, node: usize) -> u64 {
        pair_hash(shard, self.topology.node(node).id)
    }

    /// Step 2: nodes above target drop their excess replicas.
    fn shed(&mut self) {
        let room: Vec<bool> = (0..self.topology.len()).map(|j| self.has_room(j)).collect();
        for node in 0..self.topology.len() {
            let excess = self.load[node].saturating_sub(self.target[node]);
            if excess == 0 {
                continue;
            }
            let mut held: Vec<usize> = (0..self.topology.shards())
                .filter(|&s| self.sets[s].contains(&node))
                .collect();
            held.sort_by_cached_key(|&s| {
                let replaceable = (0..self.topology.len())
                    .any(|j| room[j] && j != node && self.fits(s, j, Some(node)));
                (
                    !replaceable,
                    self.sets[s][0] == node,
                    Reverse(self.sets[s].len()),
                    self.tie(s, node),
                )
            });
            for &shard in held.iter().take(excess) {
                self.sets[shard].retain(|&m| m != node);
            }
            self.load[node] = self.target[node];
        }
    }

    /// Step 3: every open slot gets a node, directly or through a chain of moves.
    fn fill(&mut self) -> Result<(), PlacementError> {
        for shard in 0..self.topology.shards() {
            while self.sets[shard].len() < self.topology.replicas() {
                let best = (0..self.topology.len())
                    .filter(|&j| self.has_room(j) && self.fits(shard, j, None))
                    .max_by_key(|&j| (self.target[j] - self.load[j], self.tie(shard, j)));
                let Some(node) = best else { break };
                self.sets[shard].push(node);
                self.fresh.insert((shard, node));
                self.load[node] += 1;
            }
        }
        for shard in 0..self.topology.shards() {
            while self.sets[shard].len() < self.topology.replicas() {
                if !self.augment(shard) {
                    return Err(PlacementError::NoCandidate(shard));
                }
            }
        }
        Ok(())
    }

    /// Gives `start` one more replica through the cheapest chain of moves ending at a node
    /// with room; false if there is none. Moving a replica placed in this fill costs nothing
    /// (it was to be copied anyway); moving one the node already held costs a copy, so the
    /// search is a 0-1 breadth-first search on that cost.
    fn augment(&mut self, start: usize) -> bool {
        let mut held = vec![Vec::new(); self.topology.len()];
        for (shard, set) in self.sets.iter().enumerate() {
            for &node in set {
                held[node].push(shard);
            }
        }
        let mut links = vec![Link {
            shard: start,
            leaving: None,
            parent: 0,
        }];
        let mut queue = VecDeque::from([0]);
        let mut done = BTreeSet::new();
        while let Some(at) = queue.pop_front() {
            let (shard, leaving) = (links[at].shard, links[at].leaving);
            let zone_of = |node: Option<usize>| match self.topology.zones_distinct() {
                true => node.map(|n| self.topology.zone(n)),
                false => None,
            };
            if !done.insert((shard, zone_of(leaving))) {
                continue;
            }
            for (node, node_shards) in held.iter().enumerate() {
                if Some(node) == leaving || !self.fits(shard, node, leaving) {
                    continue;
                }
                if self.has_room(node) {
                    self.apply(&links, at, node);
                    return true;
                }
                for &other in node_shards {
                    if done.contains(&(other, zone_of(Some(node)))) || on_path(&links, at, other) {
                        continue;
                    }
                    links.push(Link {
                        shard: other,
                        leaving: Some(node),
                        parent: at,
                    });
                    match self.fresh.contains(&(other, node)) {
                        true => queue.push_front(links.len() - 1),
                        false => queue.push_back(links.len() - 1),
                    }
                }
            }
        }
        false
    }

    /// Carries out the chain ending at link `at`, where `node` (which has room) joins.
    fn apply(&mut self, links: &[Link], mut at: usize, mut node: usize) {
        self.load[node] += 1;
        loop {
            let link = &links[at];
            let set = &mut self.sets[link.shard];
            match link.leaving {
                None => {
                    set.push(node);
                    self.fresh.insert((link.shard, node));
                    return;
                }
                Some(leaving) => {
                    let slot = set.iter().position(|&m| m == leaving);
                    set[slot.expect("a chain link's node holds its shard")] = node;
                    self.fresh.remove(&(link.shard, leaving));
                    self.fresh.insert((link.shard, node));
                    node = leaving;
                    at = link.parent;
                }
            }
        }
    }
}
