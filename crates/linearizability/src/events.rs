//! The time-ordered list of call and return events the search walks.
//!
//! Every candidate operation has a *call* event at its invocation and, if it has a deadline,
//! a *return* event then. Walking the list from its head, the calls met before the first
//! return are exactly the operations that may take effect next. Linearizing one unlinks both
//! of its events; backtracking links them back in, in reverse order (dancing links).

use crate::candidates::Candidate;

/// The end of the list.
pub(crate) const NIL: usize = usize::MAX;

/// The call and return events of the candidates, in a doubly linked list (node 0 is the head).
pub(crate) struct Events {
    /// Per node, the candidate it belongs to (unused for the head).
    pub(crate) candidate: Vec<usize>,
    /// Per node, whether it is a call (as opposed to a return).
    pub(crate) is_call: Vec<bool>,
    /// Per node, the previous node.
    prev: Vec<usize>,
    /// Per node, the next node, or [`NIL`].
    pub(crate) next: Vec<usize>,
    /// Per candidate, its return node, or [`NIL`] if it has no deadline.
    return_node: Vec<usize>,
}

impl Events {
    /// Lists the events of `candidates` by time, calls before returns at equal times (so
    /// operations that touch at one instant count as concurrent).
    pub(crate) fn new(candidates: &[Candidate]) -> Events {
        let mut order = Vec::new();
        for (candidate, c) in candidates.iter().enumerate() {
            order.push((c.invoked, false, candidate));
            if let Some(deadline) = c.deadline {
                order.push((deadline, true, candidate));
            }
        }
        order.sort_unstable();
        let nodes = order.len() + 1;
        let mut events = Events {
            candidate: vec![0; nodes],
            is_call: vec![false; nodes],
            prev: (0..nodes).map(|node| node.wrapping_sub(1)).collect(),
            next: (1..=nodes)
                .map(|node| if node == nodes { NIL } else { node })
                .collect(),
            return_node: vec![NIL; candidates.len()],
        };
        for (position, &(_, is_return, candidate)) in order.iter().enumerate() {
            let node = position + 1;
            events.candidate[node] = candidate;
            events.is_call[node] = !is_return;
            if is_return {
                events.return_node[candidate] = node;
            }
        }
        events
    }

    /// Takes `node` out of the list; it keeps its own links so [`Events::relink`] can undo it.
    fn unlink(&mut self, node: usize) {
        let (prev, next) = (self.prev[node], self.next[node]);
        self.next[prev] = next;
        if next != NIL {
            self.prev[next] = prev;
        }
    }

    /// Puts back a node taken out by [`Events::unlink`] (undone in reverse order).
    fn relink(&mut self, node: usize) {
        let (prev, next) = (self.prev[node], self.next[node]);
        self.next[prev] = node;
        if next != NIL {
            self.prev[next] = node;
        }
    }

    /// Removes a linearized operation: its call node and its return node, if any.
    pub(crate) fn lift(&mut self, call: usize) {
        self.unlink(call);
        let ret = self.return_node[self.candidate[call]];
        if ret != NIL {
            self.unlink(ret);
        }
    }

    /// Undoes [`Events::lift`].
    pub(crate) fn unlift(&mut self, call: usize) {
        let ret = self.return_node[self.candidate[call]];
        if ret != NIL {
            self.relink(ret);
        }
        self.relink(call);
    }
}
