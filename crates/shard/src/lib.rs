//! A ringkv shard: the deterministic state machine that holds one slot range's data, and the
//! Redis command layer that turns requests into reads or [`Mutation`]s.
//!
//! The path of a write is `command::plan` → [`Mutation`] (non-determinism fixed) →
//! [`Proposal`] → [`StateMachine::apply`] → reply. How proposals are ordered and made durable
//! (one local log now, a Raft group later) is the caller's business, not this crate's.

pub mod command;
pub mod counts;
pub mod error;
pub mod expiry;
pub mod glob;
pub mod layout;
pub mod mutation;
pub mod number;
pub mod reader;
pub mod slot;
pub mod state_machine;
pub mod value;

pub use error::{Result, ShardError};
pub use mutation::{Mutation, Proposal};
pub use reader::Reader;
pub use state_machine::StateMachine;
