//! The operations worth searching, with their deadlines and numbered values.

use std::collections::HashMap;

use crate::{Operation, RegisterOp};

/// An operation the search has to consider.
pub(crate) struct Candidate {
    /// Its position in the caller's history.
    pub(crate) index: usize,
    /// Whether it is a write (as opposed to a read).
    pub(crate) write: bool,
    /// The number of the value it writes or reads (see [`prepare`]).
    pub(crate) value: usize,
    /// When it was invoked.
    pub(crate) invoked: u64,
    /// The latest time it can take effect; `None` for an optional write, which may also
    /// never take effect.
    pub(crate) deadline: Option<u64>,
    /// For an optional write: how many optional writes of the same value come before it.
    pub(crate) rank: usize,
}

/// Picks the operations of `history` worth searching, and numbers the register values they
/// involve: returns the candidates, in history order, and the values by number, the initial
/// value being number 0.
///
/// Reads with an unknown outcome constrain nothing. A write with an unknown outcome whose
/// value no completed read returned is left out, since omitting it is always allowed. If it
/// is the only write of a value some read returned (and not the initial value), it must take
/// effect before the earliest such read returned, so that becomes its deadline; otherwise it
/// is optional.
pub(crate) fn prepare(
    history: &[Operation],
    initial: Option<u64>,
) -> (Vec<Candidate>, Vec<Option<u64>>) {
    let mut first_read = HashMap::new();
    let mut writes = HashMap::new();
    for operation in history {
        match (operation.op, operation.returned) {
            (RegisterOp::Read(Some(value)), Some(returned)) => {
                let first = first_read.entry(value).or_insert(returned);
                *first = (*first).min(returned);
            }
            (RegisterOp::Write(value), _) => *writes.entry(value).or_insert(0usize) += 1,
            (RegisterOp::Read(_), _) => {}
        }
    }
    let mut numbers = HashMap::from([(initial, 0)]);
    let mut values = vec![initial];
    let mut optional_writes = HashMap::new();
    let mut candidates = Vec::new();
    for (index, operation) in history.iter().enumerate() {
        let deadline = match (operation.op, operation.returned) {
            (_, Some(returned)) => Some(returned),
            (RegisterOp::Read(_), None) => continue,
            (RegisterOp::Write(value), None) => match first_read.get(&value) {
                None => continue,
                Some(&read) if writes[&value] == 1 && initial != Some(value) => {
                    Some(read.max(operation.invoked))
                }
                Some(_) => None,
            },
        };
        let (write, value) = match operation.op {
            RegisterOp::Write(value) => (true, Some(value)),
            RegisterOp::Read(value) => (false, value),
        };
        let value = *numbers.entry(value).or_insert_with(|| {
            values.push(value);
            values.len() - 1
        });
        let invoked = operation.invoked;
        candidates.push(Candidate {
            index,
            write,
            value,
            invoked,
            deadline,
            rank: 0,
        });
    }
    let mut optional: Vec<&mut Candidate> = candidates
        .iter_mut()
        .filter(|c| c.deadline.is_none())
        .collect();
    optional.sort_by_key(|c| (c.invoked, c.index));
    for candidate in optional {
        let earlier = optional_writes.entry(candidate.value).or_insert(0);
        candidate.rank = *earlier;
        *earlier += 1;
    }
    (candidates, values)
}
