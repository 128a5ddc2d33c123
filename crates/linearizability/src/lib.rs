//! Linearizability checking of single-register histories.
//!
//! A history is what several clients observed while reading and writing one register (one key
//! of the store): for every [`Operation`], when it was invoked, when it returned (if it did),
//! and what it wrote or read. [`check`] decides whether some total order of the operations
//! (a *linearization*) explains every read, with each operation taking effect at one instant
//! between its invocation and its return.
//!
//! An operation whose outcome is unknown (`returned: None`, e.g. a timeout during a network
//! partition) may take effect at any time after its invocation, or never. A read with an
//! unknown outcome says nothing and is ignored.
//!
//! The search is Wing & Gong's, with Lowe's just-in-time linearization and the memoization of
//! Knossos and Porcupine: operations are kept in invocation order, only those invoked before
//! the earliest pending return are tried next, and every (set of linearized operations,
//! register value) pair is explored at most once. A step limit turns a search that explodes
//! into [`CheckError::TooComplex`] instead of a hang.
//!
//! Give every write a value of its own (say, the client's number times a million plus a
//! counter): then each read tells which write it saw, which keeps the search small. With
//! few distinct values, proving that a long history is *not* linearizable can take
//! exponentially many steps.
//!
//! ```
//! use ringkv_linearizability::{check, CheckError, Operation, RegisterOp};
//!
//! let write = Operation { client: 0, op: RegisterOp::Write(1), invoked: 0, returned: Some(10) };
//! let read = |value, invoked| Operation {
//!     client: 1,
//!     op: RegisterOp::Read(value),
//!     invoked,
//!     returned: Some(invoked + 10),
//! };
//! // The read overlapping the write may see either value; the one after it must see 1.
//! assert!(check(&[write, read(None, 5), read(Some(1), 20)], None).is_ok());
//! let stale = check(&[write, read(Some(1), 5), read(None, 20)], None);
//! assert!(matches!(stale, Err(CheckError::NotLinearizable(_))));
//! ```

mod candidates;
mod events;
mod search;
#[cfg(test)]
mod tests;
mod violation;

use std::fmt;

pub use violation::{Indexed, Violation};

/// What one operation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterOp {
    /// Set the register to this value.
    Write(u64),
    /// Read the register, which held this value (`None`: the key was absent).
    Read(Option<u64>),
}

impl fmt::Display for RegisterOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterOp::Write(value) => write!(f, "write {value}"),
            RegisterOp::Read(Some(value)) => write!(f, "read {value}"),
            RegisterOp::Read(None) => f.write_str("read (absent)"),
        }
    }
}

/// One completed or indefinite operation of a history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The client that issued the operation; used only to describe violations.
    pub client: usize,
    /// What the operation wrote, or what it read.
    pub op: RegisterOp,
    /// When the operation was invoked, on any monotonic clock shared by all clients
    /// (e.g. nanoseconds since the test started).
    pub invoked: u64,
    /// When the operation returned, on the same clock; `None` if its outcome is unknown
    /// (timeout or error): it may or may not have taken effect, at any time after `invoked`.
    pub returned: Option<u64>,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "client {} {}, invoked at {}, ",
            self.client, self.op, self.invoked
        )?;
        match self.returned {
            Some(returned) => write!(f, "returned at {returned}"),
            None => f.write_str("outcome unknown"),
        }
    }
}

/// Why [`check`] did not accept a history.
#[derive(Debug)]
pub enum CheckError {
    /// No linearization exists; the [`Violation`] shows where every attempt got stuck.
    NotLinearizable(Violation),
    /// The search exceeded its step limit before reaching a verdict.
    TooComplex,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::NotLinearizable(violation) => violation.fmt(f),
            CheckError::TooComplex => {
                f.write_str("the linearizability search exceeded its step limit without a verdict")
            }
        }
    }
}

impl std::error::Error for CheckError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckError::NotLinearizable(violation) => Some(violation),
            CheckError::TooComplex => None,
        }
    }
}

/// The step limit [`check`] uses: far more than realistic histories of a few thousand
/// operations need, while still bounding the time spent on a pathological one.
pub const DEFAULT_STEP_LIMIT: u64 = 5_000_000;

/// Checks that `history` is linearizable for a register that starts out holding `initial`
/// (`None`: the key is absent), giving up after [`DEFAULT_STEP_LIMIT`] search steps.
///
/// The operations may be given in any order.
///
/// # Panics
///
/// If an operation returned before it was invoked.
pub fn check(history: &[Operation], initial: Option<u64>) -> Result<(), CheckError> {
    check_with_limit(history, initial, DEFAULT_STEP_LIMIT)
}

/// Like [`check`], but gives up with [`CheckError::TooComplex`] after `max_steps` search steps
/// (one step is one attempt to linearize an operation, or one return that makes the search
/// back up).
///
/// # Panics
///
/// If an operation returned before it was invoked.
pub fn check_with_limit(
    history: &[Operation],
    initial: Option<u64>,
    max_steps: u64,
) -> Result<(), CheckError> {
    for (index, operation) in history.iter().enumerate() {
        if let Some(returned) = operation.returned {
            assert!(
                returned >= operation.invoked,
                "operation #{index} ({operation}) returned before it was invoked"
            );
        }
    }
    search::run(history, initial, max_steps)
}
