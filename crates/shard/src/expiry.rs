//! Active expiry: finding keys whose time has passed so the leader can propose their deletion.
//!
//! Reads already hide expired keys (lazy expiry); this keeps memory and disk bounded when many
//! keys expire unread. The expiry index is ordered by time, so finding due keys is a range
//! scan from the start of the index, never a sample or a full scan.

use bytes::Bytes;

use crate::error::Result;
use crate::layout::split_expiry_key;
use crate::mutation::Mutation;
use crate::reader::Reader;

/// The deletion to propose for up to `limit` keys due at `now`, if any are due.
pub fn due_deletion(reader: &Reader, now: u64, limit: usize) -> Result<Option<Mutation>> {
    let entries = reader.due_expiries(now, limit)?;
    if entries.is_empty() {
        return Ok(None);
    }
    let keys = entries
        .iter()
        .map(|e| Bytes::copy_from_slice(split_expiry_key(e).1))
        .collect();
    Ok(Some(Mutation::DeleteExpired { keys }))
}
