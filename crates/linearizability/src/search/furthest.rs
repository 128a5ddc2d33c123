//! What the search remembers of its attempts, to explain a violation.

use super::Search;
use crate::Violation;

/// The furthest point the search reached: the basis of a [`Violation`].
pub(super) struct Furthest {
    /// How far that is: the deadline it got stuck at, then the operations linearized.
    reached: (u64, usize),
    /// The candidates linearized, in order.
    linearized: Vec<usize>,
    /// The register's value after them.
    state: usize,
    /// The candidates one of which had to go next.
    stuck: Vec<usize>,
    /// If a write is stuck: the candidates still to read the register's value.
    awaiting: Vec<usize>,
}

impl Search<'_> {
    /// Notes that the search is stuck at return node `end`, and remembers the current point
    /// if it is the furthest yet: the latest stuck, then the most operations linearized.
    pub(super) fn note_stuck(&mut self, end: usize) {
        let deadline = self.candidates[self.events.candidate[end]].deadline;
        let reached = (
            deadline.expect("return nodes have deadlines"),
            self.stack.len(),
        );
        if self
            .furthest
            .as_ref()
            .is_none_or(|furthest| reached > furthest.reached)
        {
            self.furthest = Some(self.snapshot(end, reached));
        }
    }

    /// The current point of the search, stuck at return node `end`.
    fn snapshot(&self, end: usize, reached: (u64, usize)) -> Furthest {
        let mut stuck = Vec::new();
        let mut node = self.events.next[0];
        while node != end {
            let c = self.events.candidate[node];
            if self.candidates[c].deadline.is_some() {
                stuck.push(c);
            }
            node = self.events.next[node];
        }
        let awaiting = match stuck.iter().any(|&c| self.candidates[c].write) {
            false => Vec::new(),
            true => (0..self.candidates.len())
                .filter(|&c| {
                    let candidate = &self.candidates[c];
                    !candidate.write && candidate.value == self.state && !self.is_linearized(c)
                })
                .collect(),
        };
        let linearized = self
            .stack
            .iter()
            .map(|frame| self.events.candidate[frame.call]);
        Furthest {
            reached,
            linearized: linearized.collect(),
            state: self.state,
            stuck,
            awaiting,
        }
    }

    /// The violation shown by the furthest point reached.
    pub(super) fn violation(&self) -> Violation {
        let furthest = self
            .furthest
            .as_ref()
            .expect("a search that fails reaches a return");
        let operations = |candidates: &[usize]| {
            let indexed = |&c: &usize| {
                let index = self.candidates[c].index;
                (index, self.history[index])
            };
            candidates.iter().map(indexed).collect()
        };
        Violation::new(
            operations(&furthest.linearized),
            self.values[furthest.state],
            operations(&furthest.stuck),
            operations(&furthest.awaiting),
        )
    }
}
