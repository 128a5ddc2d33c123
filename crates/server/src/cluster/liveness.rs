//! The meta leader's view of which nodes are up: every node reports in twice a second with
//! the shards it leads. A node silent for longer than the dead-after time is dead: its
//! replicas are re-created elsewhere.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A node is shown as down after this long without a report.
const DOWN_AFTER: Duration = Duration::from_secs(2);

/// When each node last reported, and what it leads.
#[derive(Debug)]
pub struct Liveness {
    since: Instant,
    seen: HashMap<u64, Instant>,
    leaders: HashMap<u32, u64>,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness {
            since: Instant::now(),
            seen: HashMap::new(),
            leaders: HashMap::new(),
        }
    }
}

impl Liveness {
    /// Forgets everything: this node just became meta leader, and every node gets a full
    /// dead-after period from now.
    pub fn restart(&mut self) {
        *self = Liveness::default();
    }

    /// Records a report of `node`, which leads `leads`.
    pub fn report(&mut self, node: u64, leads: &[u32]) {
        self.seen.insert(node, Instant::now());
        self.leaders.retain(|_, n| *n != node);
        for shard in leads {
            self.leaders.insert(*shard, node);
        }
    }

    fn silent_for(&self, node: u64) -> Duration {
        self.seen.get(&node).unwrap_or(&self.since).elapsed()
    }

    /// Whether `node` reported recently.
    pub fn up(&self, node: u64) -> bool {
        self.seen.contains_key(&node) && self.silent_for(node) < DOWN_AFTER
    }

    /// Whether `node` has been silent long enough to be shown as down; a node never heard
    /// from is given that long from when this node became meta leader.
    pub fn silent(&self, node: u64) -> bool {
        self.silent_for(node) >= DOWN_AFTER
    }

    /// Whether `node` has been silent for less than `dead_after`.
    pub fn alive(&self, node: u64, dead_after: Duration) -> bool {
        self.silent_for(node) < dead_after
    }

    /// The leader of every shard whose leader has reported.
    pub fn leaders(&self) -> Vec<(u32, u64)> {
        let mut all: Vec<(u32, u64)> = self.leaders.iter().map(|(s, n)| (*s, *n)).collect();
        all.sort_unstable();
        all
    }

    /// How many shards `node` leads.
    pub fn leads(&self, node: u64) -> usize {
        self.leaders.values().filter(|n| **n == node).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_make_nodes_up_and_move_leadership() {
        let mut l = Liveness::default();
        assert!(!l.up(1));
        assert!(
            l.alive(1, Duration::from_secs(60)),
            "a grace period from the start"
        );
        assert!(!l.alive(1, Duration::ZERO));
        assert!(!l.silent(1), "not silent within the grace period");
        l.report(1, &[0, 1]);
        l.report(2, &[2]);
        assert!(l.up(1));
        l.report(2, &[1, 2]);
        assert_eq!(l.leaders(), vec![(0, 1), (1, 2), (2, 2)]);
        assert_eq!(l.leads(2), 2);
        l.report(1, &[]);
        assert_eq!(l.leaders(), vec![(1, 2), (2, 2)]);
    }
}
