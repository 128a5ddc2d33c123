//! The search for a linearization: a depth-first search over the operations that may take
//! effect next (see [`crate::events`]), memoizing every (linearized set, register value) pair
//! it has explored, since the same pair always has the same future.
//!
//! Some rules cut the branching without losing linearizations:
//! - a read that agrees with the register is linearized at once, with no alternative tried:
//!   any linearization that places it later stays valid with it moved to the front;
//! - a write may not overwrite a value that some read still has to return, unless another
//!   write of that value is still to come;
//! - a write with an unknown outcome is only tried while some read of its value is still to
//!   be placed (otherwise leaving it out is as good), and of several such writes of one value
//!   only the earliest invoked is tried (they are interchangeable).

mod furthest;

use std::collections::HashMap;

use crate::candidates::{prepare, Candidate};
use crate::events::{Events, NIL};
use crate::{CheckError, Operation};

use furthest::Furthest;

/// A pseudo-random key for candidate `c` (splitmix64), for hashing sets of candidates.
fn zobrist(c: usize) -> u64 {
    let mut key = (c as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    key = (key ^ (key >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    key = (key ^ (key >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    key ^ (key >> 31)
}

/// One linearized operation on the search's stack.
struct Frame {
    /// Its call node.
    call: usize,
    /// The register's value before it.
    previous: usize,
    /// Whether it was a read placed without trying alternatives.
    forced: bool,
}

/// The state of one search. Register values are numbered (see [`prepare`]).
struct Search<'a> {
    /// The history being checked.
    history: &'a [Operation],
    /// The operations of the history worth searching.
    candidates: Vec<Candidate>,
    /// The register values, by number.
    values: Vec<Option<u64>>,
    /// The events of the candidates not linearized.
    events: Events,
    /// The linearized candidates, as a bitset.
    linearized: Vec<u64>,
    /// The XOR of the linearized candidates' [`zobrist`] keys: a hash of `linearized`.
    hash: u64,
    /// Per value, the reads of it not yet linearized.
    reads_left: Vec<usize>,
    /// Per value, the writes of it not yet linearized.
    writes_left: Vec<usize>,
    /// Per value, how many of its optional writes are linearized.
    optional_done: Vec<usize>,
    /// Every (linearized set, register) pair reached so far, by (hash of the set, register).
    seen: HashMap<(u64, usize), Vec<Box<[u64]>>>,
    /// The linearized candidates, in order.
    stack: Vec<Frame>,
    /// The register's value.
    state: usize,
    /// How many more steps the search may take.
    steps_left: u64,
    /// The furthest point reached so far, if the search got stuck yet.
    furthest: Option<Furthest>,
}

/// Searches for a linearization of `history` from `initial`, in at most `max_steps` steps.
pub(crate) fn run(
    history: &[Operation],
    initial: Option<u64>,
    max_steps: u64,
) -> Result<(), CheckError> {
    let (candidates, values) = prepare(history, initial);
    let mut reads_left = vec![0; values.len()];
    let mut writes_left = vec![0; values.len()];
    for candidate in &candidates {
        match candidate.write {
            true => writes_left[candidate.value] += 1,
            false => reads_left[candidate.value] += 1,
        }
    }
    Search {
        history,
        events: Events::new(&candidates),
        linearized: vec![0; candidates.len().div_ceil(64)],
        candidates,
        optional_done: vec![0; values.len()],
        values,
        hash: 0,
        reads_left,
        writes_left,
        seen: HashMap::new(),
        stack: Vec::new(),
        state: 0,
        steps_left: max_steps,
        furthest: None,
    }
    .run()
}

impl Search<'_> {
    /// Runs the search to its verdict.
    fn run(&mut self) -> Result<(), CheckError> {
        let mut node = self.restart()?;
        while node != NIL {
            self.step()?;
            node = if !self.events.is_call[node] {
                self.backtrack(Some(node))?
            } else if self.linearize(node, false) {
                self.restart()?
            } else {
                self.events.next[node]
            };
        }
        Ok(())
    }

    /// Counts one step against the limit.
    fn step(&mut self) -> Result<(), CheckError> {
        self.steps_left = self
            .steps_left
            .checked_sub(1)
            .ok_or(CheckError::TooComplex)?;
        Ok(())
    }

    /// Where to go after a new operation was linearized: reads that agree with the register
    /// are linearized straight away, then the walk starts again from the head of the list.
    fn restart(&mut self) -> Result<usize, CheckError> {
        loop {
            let mut node = self.events.next[0];
            while node != NIL && self.events.is_call[node] {
                let candidate = &self.candidates[self.events.candidate[node]];
                if !candidate.write && candidate.value == self.state {
                    break;
                }
                node = self.events.next[node];
            }
            if node == NIL || !self.events.is_call[node] {
                return Ok(self.events.next[0]);
            }
            self.step()?;
            if !self.linearize(node, true) {
                return self.backtrack(None);
            }
        }
    }

    /// Whether `candidate` may take effect next.
    fn may_go_next(&self, candidate: &Candidate) -> bool {
        let value = candidate.value;
        if !candidate.write {
            return value == self.state;
        }
        if candidate.deadline.is_none()
            && (self.reads_left[value] == 0 || self.optional_done[value] != candidate.rank)
        {
            return false;
        }
        value == self.state || self.reads_left[self.state] == 0 || self.writes_left[self.state] > 0
    }

    /// Linearizes the operation of call node `call` next, if it may go next and leads to a
    /// pair not seen before.
    fn linearize(&mut self, call: usize, forced: bool) -> bool {
        let c = self.events.candidate[call];
        if !self.may_go_next(&self.candidates[c]) {
            return false;
        }
        let next = self.candidates[c].value;
        self.toggle(c);
        let sets = self.seen.entry((self.hash, next)).or_default();
        if sets.iter().any(|set| **set == *self.linearized) {
            self.toggle(c);
            return false;
        }
        sets.push(self.linearized.as_slice().into());
        self.count(c, true);
        self.stack.push(Frame {
            call,
            previous: self.state,
            forced,
        });
        self.state = next;
        self.events.lift(call);
        true
    }

    /// Whether candidate `c` is linearized.
    fn is_linearized(&self, c: usize) -> bool {
        self.linearized[c / 64] & (1 << (c % 64)) != 0
    }

    /// Adds candidate `c` to the linearized set, or takes it out.
    fn toggle(&mut self, c: usize) {
        self.linearized[c / 64] ^= 1 << (c % 64);
        self.hash ^= zobrist(c);
    }

    /// Updates the counters for candidate `c` being linearized (or unlinearized).
    fn count(&mut self, c: usize, linearized: bool) {
        let candidate = &self.candidates[c];
        let (value, optional) = (candidate.value, usize::from(candidate.deadline.is_none()));
        let left = match candidate.write {
            true => &mut self.writes_left[value],
            false => &mut self.reads_left[value],
        };
        if linearized {
            *left -= 1;
            self.optional_done[value] += optional;
        } else {
            *left += 1;
            self.optional_done[value] -= optional;
        }
    }

    /// Undoes linearizations up to the latest one that has alternatives, and returns the node
    /// to try after it. `at_return` is the return node that made the search back up, if any.
    fn backtrack(&mut self, at_return: Option<usize>) -> Result<usize, CheckError> {
        if let Some(end) = at_return {
            self.note_stuck(end);
        }
        while let Some(frame) = self.stack.pop() {
            let c = self.events.candidate[frame.call];
            self.toggle(c);
            self.count(c, false);
            self.state = frame.previous;
            self.events.unlift(frame.call);
            if !frame.forced {
                return Ok(self.events.next[frame.call]);
            }
        }
        Err(CheckError::NotLinearizable(self.violation()))
    }
}
