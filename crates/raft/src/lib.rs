//! Replication for ringkv: every shard is one openraft group, the cluster state is one more
//! (the meta group, [`meta_store`]), and a node hosts many.
//!
//! openraft stays inside this crate. Outside it, a shard replica is a [`Raft`] handle that
//! takes [`ringkv_shard::Proposal`]s and answers RESP frames once they are committed and
//! applied. Inside: writes arriving together share an entry ([`write_batch`]), the log and vote live in the node's engine ([`log_store`]), appends of all
//! groups share one fsync ([`syncer`]), applying an entry and recording its position is one
//! atomic batch ([`state_machine`]), snapshots are files streamed in chunks ([`snapshot`]),
//! and every group's RPCs to a peer share one connection ([`transport`]).

// openraft's traits return its `StorageError`, which is large; boxing it here would not help.
#![allow(clippy::result_large_err)]

mod group_state;
mod keys;
mod lease;
pub mod log_store;
mod log_tail;
pub mod meta_store;
pub mod network;
pub mod node;
mod read_batch;
pub mod replica;
pub mod snapshot;
pub mod state_machine;
pub mod syncer;
pub mod transport;
pub mod types;
mod write_batch;

pub use node::{AdminHandler, RaftNode, RaftNodeError, RaftOptions};
pub use replica::{Replica, ReplicaError};
pub use syncer::{SyncMode, SyncPolicy};
pub use transport::client::CallError;
pub use types::{shard_group, Command, GroupId, NodeAddr, NodeId, META_GROUP};
