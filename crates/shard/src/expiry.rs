//! Active expiry: finding keys whose time has passed so the leader can propose their deletion.
//!
//! Reads already hide expired keys (lazy expiry); this keeps memory and disk bounded when many
//! keys expire unread. The expiry index is ordered by time, so finding due keys is a range
//! scan from the start of the index, never a sample or a full scan.

use bytes::Bytes;

use crate::error::Result;
use crate::layout::split_expiry_key;
use crate::reader::Reader;

/// The keys due at a moment, in batches, soonest first: the leader proposes their deletion.
///
/// Each batch starts after the index entries of the one before, not from the start of the
/// index: the entries of keys just deleted linger as tombstones in the engine's memtables
/// until a flush, and a scan from the start would step over all of them again for every
/// batch. A key that joins the index behind the batches already taken (written with a
/// clock read a little earlier) waits for the next round, which starts from the soonest
/// again; reads hide it meanwhile.
#[derive(Default)]
pub struct DueKeys {
    /// The index entry the next batch starts at.
    from: Vec<u8>,
}

impl DueKeys {
    /// Up to `limit` more keys due at `now`.
    pub fn next(&mut self, reader: &Reader, now: u64, limit: usize) -> Result<Vec<Bytes>> {
        let entries = reader.due_expiries(&self.from, now, limit)?;
        if let Some(last) = entries.last() {
            self.from.clear();
            self.from.extend_from_slice(last);
            self.from.push(0);
        }
        Ok(entries
            .iter()
            .map(|e| Bytes::copy_from_slice(split_expiry_key(e).1))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ringkv_storage::MemoryEngine;

    use super::*;
    use crate::mutation::{Condition, Mutation, Proposal, SetExpiry, SetReply};
    use crate::StateMachine;

    fn set_expiring(machine: &mut StateMachine, key: &'static str, at: u64) {
        machine.apply(&Proposal {
            now: 1,
            mutation: Mutation::Set {
                key: Bytes::from_static(key.as_bytes()),
                value: Bytes::from_static(b"v"),
                condition: Condition::Always,
                expiry: SetExpiry::At(at),
                reply: SetReply::Ok,
            },
        });
    }

    #[test]
    fn batches_resume_after_the_last_and_stop_at_now() {
        let mut machine = StateMachine::open(Arc::new(MemoryEngine::new())).unwrap();
        set_expiring(&mut machine, "c", 30);
        set_expiring(&mut machine, "a", 10);
        set_expiring(&mut machine, "b", 20);
        set_expiring(&mut machine, "later", 99);
        let reader = machine.reader();
        let mut due = DueKeys::default();
        assert_eq!(due.next(&reader, 50, 2).unwrap(), ["a", "b"]);
        assert_eq!(due.next(&reader, 50, 2).unwrap(), ["c"]);
        assert!(due.next(&reader, 50, 2).unwrap().is_empty());
        assert_eq!(
            DueKeys::default().next(&reader, 50, 10).unwrap(),
            ["a", "b", "c"],
            "a new round starts from the soonest"
        );
    }
}
