//! Storage engines for ringkv: a durable LSM engine on fjall and an in-memory engine for cache
//! mode, behind one [`Engine`] trait of ordered byte tables.

mod engine;
mod fjall_engine;
mod memory_engine;
mod stripes;
#[cfg(feature = "testing")]
pub mod testing;

pub use engine::{
    BatchMark, Engine, EngineStats, Result, StorageError, Table, WriteBatch, WriteOp, WriteOps,
    MAX_KEY_LEN,
};
pub use fjall_engine::{FjallEngine, FjallOptions, SENTINEL};
pub use memory_engine::MemoryEngine;
