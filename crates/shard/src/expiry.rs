//! Active expiry: finding keys whose time has passed so the leader can propose their deletion.
//!
//! Reads already hide expired keys (lazy expiry); this keeps memory and disk bounded when many
//! keys expire unread. The expiry index is ordered by time, so finding due keys is a range
//! scan from the start of the index, never a sample or a full scan.

use bytes::Bytes;

use crate::error::Result;
use crate::layout::split_expiry_key;
use crate::reader::Reader;

/// Up to `limit` keys due at `now`, soonest first: the leader proposes their deletion.
pub fn due_keys(reader: &Reader, now: u64, limit: usize) -> Result<Vec<Bytes>> {
    Ok(reader
        .due_expiries(now, limit)?
        .iter()
        .map(|e| Bytes::copy_from_slice(split_expiry_key(e).1))
        .collect())
}
