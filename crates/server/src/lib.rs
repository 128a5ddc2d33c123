//! The ringkv network server: accepts Redis clients, runs their pipelined commands in order,
//! and writes every reply of a read batch with one flush.
//!
//! A request travels `connection` (framing, pipelining, output limits) → `dispatch` (lookup,
//! arity, auth) → the shard's command layer → [`local_log::LocalLog`] for writes. Server and
//! connection commands (`INFO`, `CLIENT`, `CONFIG`, …) live in `admin`.

mod admin;
pub mod clients;
pub mod config;
mod connection;
mod dispatch;
mod eviction;
pub mod local_log;
mod maintenance;
mod server;
pub mod stats;

pub use config::{parse_memory, EngineKind, EvictionPolicy, FsyncPolicy, ServerConfig};
pub use server::{Server, ServerError};
