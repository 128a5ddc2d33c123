//! Preferred leaders for `balanced`: which replica of each shard comes first.
//!
//! Leaders serve every write and (by default) every read of their shard, so they are
//! balanced like replicas: each node should lead a number of shards within tolerance of its
//! leader share (see [`super::fair`]), and never more than it holds. Moving a preferred
//! leader only reorders a set — no data moves — but it costs a Raft leadership transfer, so
//! changes are kept few:
//!
//! 1. a shard keeps its previous leader while that node is below the top of its band;
//! 2. other shards take the member with the lowest leaders / share ratio below the top of
//!    its band; when every member is at the top, a breadth-first search looks for a chain of
//!    hand-overs ending at a node with room (an augmenting path, as for replicas), and when
//!    there is none the member with the lowest ratio leads anyway;
//! 3. a node left below the bottom of its band takes over a shard it holds from a leader
//!    above the bottom of its own band, directly or through a chain of take-overs.
//!
//! Replica sets can make a band unreachable (a node with a share below one leader that holds
//! only shards whose other members are full); then the result is as close as these steps get.

use std::cmp::Ordering;
use std::collections::VecDeque;

use super::fair::{band, FairShares};
use super::hash::pair_hash;
use super::topology::Topology;

/// `sets` with each shard's chosen leader moved to the front, the rest in their order.
/// `previous` is each shard's leader in the current map, if it is still in the set.
pub(crate) fn order(
    topology: &Topology,
    mut sets: Vec<Vec<usize>>,
    fair: &FairShares,
    previous: &[Option<usize>],
) -> Vec<Vec<usize>> {
    let mut holds = vec![0; topology.len()];
    for &node in sets.iter().flatten() {
        holds[node] += 1;
    }
    let shares: Vec<f64> = fair.nodes().iter().map(|n| n.leaders).collect();
    let bands = shares
        .iter()
        .zip(&holds)
        .map(|(&share, &held)| {
            let (low, high) = band(share);
            (low.min(held), high.min(held))
        })
        .collect();
    let mut choice = Choice {
        topology,
        sets: &sets,
        leader: vec![None; sets.len()],
        count: vec![0; topology.len()],
        shares,
        bands,
    };
    for (shard, &p) in previous.iter().enumerate() {
        if let Some(p) = p.filter(|&p| choice.has_room(p)) {
            choice.assign(shard, p);
        }
    }
    for (shard, set) in sets.iter().enumerate() {
        if choice.leader[shard].is_some() {
            continue;
        }
        let roomy = set.iter().copied().filter(|&m| choice.has_room(m));
        if let Some(m) = roomy.min_by(|&a, &b| choice.cmp_need(shard, a, b)) {
            choice.assign(shard, m);
        } else if !choice.augment(shard) {
            let members = set.iter().copied();
            if let Some(m) = members.min_by(|&a, &b| choice.cmp_need(shard, a, b)) {
                choice.assign(shard, m);
            }
        }
    }
    choice.raise_the_lowest();
    let leaders = choice.leader;
    for (set, leader) in sets.iter_mut().zip(leaders) {
        if let Some(pos) = leader.and_then(|l| set.iter().position(|&m| m == l)) {
            let first = set.remove(pos);
            set.insert(0, first);
        }
    }
    sets
}

/// Leaders chosen so far, how many shards each node leads, and each node's band.
struct Choice<'s, 't, 'a> {
    topology: &'t Topology<'a>,
    sets: &'s [Vec<usize>],
    leader: Vec<Option<usize>>,
    count: Vec<usize>,
    shares: Vec<f64>,
    bands: Vec<(usize, usize)>,
}

impl Choice<'_, '_, '_> {
    fn has_room(&self, node: usize) -> bool {
        self.count[node] < self.bands[node].1
    }

    fn ratio(&self, node: usize) -> f64 {
        self.count[node] as f64 / self.shares[node]
    }

    /// Orders candidates for leading `shard`: lowest leaders / share first, then by a hash
    /// of (shard, node) so that ties spread over nodes.
    fn cmp_need(&self, shard: usize, a: usize, b: usize) -> Ordering {
        let tie = |n: usize| pair_hash(shard, self.topology.node(n).id);
        self.ratio(a)
            .total_cmp(&self.ratio(b))
            .then(tie(a).cmp(&tie(b)))
    }

    fn assign(&mut self, shard: usize, node: usize) {
        self.leader[shard] = Some(node);
        self.count[node] += 1;
    }

    /// Gives leaderless `start` a leader through the shortest chain of hand-overs ending at
    /// a node with room; false if there is none.
    fn augment(&mut self, start: usize) -> bool {
        let mut led = vec![Vec::new(); self.topology.len()];
        for (shard, leader) in self.leader.iter().enumerate() {
            if let Some(l) = leader {
                led[*l].push(shard);
            }
        }
        let mut seen = vec![false; self.sets.len()];
        seen[start] = true;
        let mut links: Vec<(usize, usize)> = vec![(start, 0)];
        let mut at = 0;
        while at < links.len() {
            let shard = links[at].0;
            for &m in &self.sets[shard] {
                if self.leader[shard] == Some(m) {
                    continue;
                }
                if self.has_room(m) {
                    self.hand_over(&links, at, m);
                    return true;
                }
                for &other in &led[m] {
                    if !seen[other] {
                        seen[other] = true;
                        links.push((other, at));
                    }
                }
            }
            at += 1;
        }
        false
    }

    /// Carries out the chain ending at link `at`: `node` leads its shard, whose leader
    /// takes over the previous link's shard, and so on back to the start.
    fn hand_over(&mut self, links: &[(usize, usize)], mut at: usize, mut node: usize) {
        self.count[node] += 1;
        loop {
            let (shard, parent) = links[at];
            match self.leader[shard].replace(node) {
                Some(previous) if at != 0 => {
                    node = previous;
                    at = parent;
                }
                _ => return,
            }
        }
    }

    /// Step 3: nodes below their band take shards over from leaders above theirs, directly
    /// or through a chain (the node takes a shard from a leader, who takes one from
    /// another, … until one above the bottom of its band gives one up).
    fn raise_the_lowest(&mut self) {
        for node in 0..self.topology.len() {
            while self.count[node] < self.bands[node].0 && self.raise(node) {}
        }
    }

    /// One more shard for `node`, through the shortest chain of take-overs; false if none.
    fn raise(&mut self, node: usize) -> bool {
        let mut taken_from: Vec<Option<(usize, usize)>> = vec![None; self.topology.len()];
        let mut queue = VecDeque::from([node]);
        let mut seen = vec![false; self.topology.len()];
        seen[node] = true;
        while let Some(taker) = queue.pop_front() {
            for (shard, set) in self.sets.iter().enumerate() {
                let Some(giver) = self.leader[shard] else {
                    continue;
                };
                if seen[giver] || !set.contains(&taker) {
                    continue;
                }
                seen[giver] = true;
                taken_from[giver] = Some((taker, shard));
                if self.count[giver] > self.bands[giver].0 {
                    self.count[giver] -= 1;
                    self.count[node] += 1;
                    let mut at = giver;
                    while let Some((taker, shard)) = taken_from[at] {
                        self.leader[shard] = Some(taker);
                        at = taker;
                    }
                    return true;
                }
                queue.push_back(giver);
            }
        }
        false
    }
}
