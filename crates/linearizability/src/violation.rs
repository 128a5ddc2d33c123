//! The explanation of a history that cannot be linearized.

use std::fmt;

use crate::{Operation, RegisterOp};

/// How many operations of each list [`Violation`]'s `Display` shows at most.
const SHOWN: usize = 16;

/// An operation of a history, with its index in it.
pub type Indexed = (usize, Operation);

/// Where the search for a linearization got furthest before getting stuck: the order that
/// explains the history up to the latest time, and of those the longest.
///
/// The operations of [`Violation::linearized`] can be ordered validly, leaving the register
/// holding [`Violation::state`]. One of the operations of [`Violation::stuck`] had to take
/// effect next, but none can: each is either a read of another value, or a write that would
/// overwrite the register's value while the reads of [`Violation::awaiting`] still have to
/// return it and no other write of it is left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    linearized: Vec<Indexed>,
    state: Option<u64>,
    stuck: Vec<Indexed>,
    awaiting: Vec<Indexed>,
}

impl Violation {
    /// A violation from the furthest point of the search.
    pub(crate) fn new(
        linearized: Vec<Indexed>,
        state: Option<u64>,
        stuck: Vec<Indexed>,
        awaiting: Vec<Indexed>,
    ) -> Violation {
        Violation {
            linearized,
            state,
            stuck,
            awaiting,
        }
    }

    /// The valid order found, as far as it goes.
    pub fn linearized(&self) -> &[Indexed] {
        &self.linearized
    }

    /// The register's value after [`Violation::linearized`] (`None`: the key is absent).
    pub fn state(&self) -> Option<u64> {
        self.state
    }

    /// The operations one of which had to take effect next: all invoked by then, and all
    /// bound to take effect eventually (completed ones, and writes with an unknown outcome
    /// that are the only source of a value some read returned), one of them by then.
    pub fn stuck(&self) -> &[Indexed] {
        &self.stuck
    }

    /// If [`Violation::stuck`] has writes: the reads outside [`Violation::linearized`] that
    /// return the register's value, which no write outside it writes, so that it may not be
    /// overwritten.
    pub fn awaiting(&self) -> &[Indexed] {
        &self.awaiting
    }

    /// Where the part of [`Violation::linearized`] worth showing starts: at the last write
    /// that returned before any stuck operation was invoked, since what came before it cannot
    /// matter to them.
    fn relevant_start(&self) -> usize {
        let Some(earliest) = self.stuck.iter().map(|(_, op)| op.invoked).min() else {
            return 0;
        };
        self.linearized
            .iter()
            .rposition(|(_, op)| {
                matches!(op.op, RegisterOp::Write(_))
                    && op.returned.is_some_and(|returned| returned < earliest)
            })
            .unwrap_or(0)
    }
}

/// The register's content, as words.
fn describe(state: Option<u64>) -> String {
    match state {
        Some(value) => format!("holds {value}"),
        None => "is absent".to_string(),
    }
}

/// Writes `operations` one a line, at most [`SHOWN`] of them.
fn list(f: &mut fmt::Formatter<'_>, operations: &[Indexed]) -> fmt::Result {
    for (index, op) in operations.iter().take(SHOWN) {
        write!(f, "\n  #{index} {op}")?;
    }
    if operations.len() > SHOWN {
        write!(f, "\n  ... and {} more", operations.len() - SHOWN)?;
    }
    Ok(())
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "history is not linearizable: at best {} operations can be ordered, after which the \
             register {}; then one of these operations must take effect, but none can:",
            self.linearized.len(),
            describe(self.state),
        )?;
        list(f, &self.stuck)?;
        if !self.awaiting.is_empty() {
            write!(
                f,
                "\nno write can go next because the register {} and these reads, with no other \
                 write of that value left, still have to return it:",
                describe(self.state),
            )?;
            list(f, &self.awaiting)?;
        }
        let relevant = &self.linearized[self.relevant_start()..];
        if relevant.is_empty() {
            return f.write_str("\n(no operation could be ordered before them)");
        }
        f.write_str("\nthe order found ends with:")?;
        let shown = &relevant[relevant.len().saturating_sub(SHOWN)..];
        let omitted = self.linearized.len() - shown.len();
        if omitted > 0 {
            write!(f, "\n  ... {omitted} earlier operations")?;
        }
        list(f, shown)
    }
}

impl std::error::Error for Violation {}
