//! Errors of the shard layer that are not Redis-level replies.
//!
//! A Redis error the client caused (`WRONGTYPE`, syntax) is a reply, not a `ShardError`;
//! a `ShardError` means the shard could not do its job (storage failure, corrupt data).

use ringkv_storage::StorageError;

/// A failure of the shard itself.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// The engine failed.
    #[error("storage error: {0}")]
    Storage(#[from] StorageError),
    /// A stored value could not be decoded.
    #[error("corrupt value stored under key {0:?}")]
    Corrupt(String),
}

/// Result of shard operations.
pub type Result<T> = std::result::Result<T, ShardError>;

/// `WRONGTYPE` reply text.
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
/// Reply text for a value that is not an integer.
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
/// Reply text for a value that is not a float.
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
/// Reply text for bad syntax.
pub const SYNTAX: &str = "ERR syntax error";
