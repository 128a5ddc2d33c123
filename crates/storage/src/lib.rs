//! Storage engines for ringkv: ordered tables of bytes behind one [`Engine`] trait, with a
//! durable LSM engine on fjall ([`FjallEngine`]) and an in-memory engine for cache mode
//! ([`MemoryEngine`]).
//!
//! This crate knows nothing about Redis types, slots beyond the stripe layout of the memory
//! engine, or when to sync: the shard layer encodes keys and values, and the server schedules
//! group commits and compactions.

mod engine;
mod fjall_engine;
mod memory_engine;

pub use engine::{Engine, EngineStats, Result, StorageError, Table, WriteBatch};
pub use fjall_engine::{FjallEngine, FjallOptions};
pub use memory_engine::MemoryEngine;
