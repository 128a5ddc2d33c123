//! Where a group's replication state lives in the engine's `Raft` table. Every key starts
//! with the group id (u32 big-endian), so one group's state is one contiguous range.
//!
//! - `group ++ 'l' ++ index u64` → a log entry
//! - `group ++ 'v'` → the vote
//! - `group ++ 'c'` → the committed log id
//! - `group ++ 'p'` → the last purged log id
//! - `group ++ 'a'` → the applied log id, written with the data it describes
//! - `group ++ 'b'` → how many proposals of the entry after it are applied, while a batch
//!   of proposals is half applied (written with each proposal's data)
//! - `group ++ 'm'` → the membership as of the applied log id
//! - `group ++ 's'` → the current snapshot's metadata and file name
//! - `group ++ 't'` → the cluster state (meta group only), written with its applied log id

use crate::types::GroupId;

fn key(group: GroupId, kind: u8) -> Vec<u8> {
    let mut k = Vec::with_capacity(13);
    k.extend_from_slice(&group.to_be_bytes());
    k.push(kind);
    k
}

/// The key of log entry `index`.
pub fn log(group: GroupId, index: u64) -> Vec<u8> {
    let mut k = key(group, b'l');
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// The log index back from a log entry key.
pub fn log_index(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(5..13)?.try_into().ok()?))
}

/// The end (exclusive) of every log entry key of `group`.
pub fn log_end(group: GroupId) -> Vec<u8> {
    key(group, b'l' + 1)
}

/// The vote.
pub fn vote(group: GroupId) -> Vec<u8> {
    key(group, b'v')
}

/// The committed log id.
pub fn committed(group: GroupId) -> Vec<u8> {
    key(group, b'c')
}

/// The last purged log id.
pub fn purged(group: GroupId) -> Vec<u8> {
    key(group, b'p')
}

/// The applied log id.
pub fn applied(group: GroupId) -> Vec<u8> {
    key(group, b'a')
}

/// The progress through a half-applied batch of proposals.
pub fn batch_progress(group: GroupId) -> Vec<u8> {
    key(group, b'b')
}

/// The applied membership.
pub fn membership(group: GroupId) -> Vec<u8> {
    key(group, b'm')
}

/// The current snapshot.
pub fn snapshot(group: GroupId) -> Vec<u8> {
    key(group, b's')
}

/// The cluster state held by the meta group.
pub fn cluster_state(group: GroupId) -> Vec<u8> {
    key(group, b't')
}

/// The start and end (exclusive) of every key of `group`.
pub fn group_range(group: GroupId) -> (Vec<u8>, Vec<u8>) {
    (
        group.to_be_bytes().to_vec(),
        (group + 1).to_be_bytes().to_vec(),
    )
}
