//! The ringkv network server: accepts Redis clients, runs their pipelined commands in order,
//! and writes every reply of a read batch with one flush.
//!
//! A request travels `connection` (framing, pipelining, output limits) → `dispatch` (lookup,
//! arity, auth, and in a cluster the shard's leader) → the shard's command layer → for
//! writes, [`local_log::LocalLog`] on a single node or the shard's Raft group ([`cluster`]).
//! Server and connection commands (`INFO`, `CLIENT`, `CONFIG`, …) live in `admin`.

mod admin;
pub mod clients;
pub mod cluster;
pub mod config;
mod connection;
mod dispatch;
mod eviction;
pub mod local_log;
mod maintenance;
mod replication;
mod server;
pub mod stats;

pub use cluster::config::{
    parse_addr, parse_peers, ClusterConfig, Formation, PeerSpec, CLUSTER_PORT_OFFSET,
};
pub use config::{parse_memory, EngineKind, EvictionPolicy, FsyncPolicy, ServerConfig};
pub use server::{Server, ServerError};
