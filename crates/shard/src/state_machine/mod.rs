//! The state machine of one shard: `apply(Proposal) -> Frame` is deterministic, so
//! replicas that apply the same log hold the same data and send the same replies.
//!
//! Only the shard's applier calls [`StateMachine::apply`]; readers use a [`crate::Reader`]
//! concurrently. A mutation whose reply is an error changes nothing. Several shards may share
//! one engine: each owns a slot range and never writes outside it.

mod hashes;
mod keys;
mod range;
mod small_map;
mod strings;
mod txn;

use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ringkv_protocol::Frame;
use ringkv_storage::{Engine, WriteBatch};

use crate::counts::SlotCounts;
use crate::error::Result;
use crate::mutation::{Mutation, Proposal};
use crate::reader::Reader;
use crate::slot::ALL_SLOTS;
pub use range::{clear_slots, restore_entry, SlotRangeScan};
pub use strings::{MAX_STRING_LEN, TOO_BIG};
pub use txn::{Scratch, Txn};

/// A shard's data and the code that changes it.
pub struct StateMachine {
    engine: Arc<dyn Engine>,
    counts: Arc<SlotCounts>,
    expired: Arc<AtomicU64>,
    slots: RangeInclusive<u16>,
    scratch: Scratch,
    /// A cleared batch whose buffer the next mutation reuses.
    spare_batch: WriteBatch,
}

/// Largest batch buffer kept for reuse.
const SPARE_BATCH_BYTES: usize = 64 * 1024;

impl StateMachine {
    /// Opens the state machine of every slot over `engine`, loading its key counts.
    pub fn open(engine: Arc<dyn Engine>) -> Result<Self> {
        let counts = Arc::new(SlotCounts::load(engine.as_ref())?);
        Ok(StateMachine {
            engine,
            counts,
            expired: Arc::new(AtomicU64::new(0)),
            slots: ALL_SLOTS,
            scratch: Scratch::default(),
            spare_batch: WriteBatch::new(),
        })
    }

    /// The state machine of the shard owning `slots`, over the same engine and counts.
    pub fn for_slots(&self, slots: RangeInclusive<u16>) -> StateMachine {
        StateMachine {
            engine: self.engine.clone(),
            counts: self.counts.clone(),
            expired: self.expired.clone(),
            slots,
            scratch: Scratch::default(),
            spare_batch: WriteBatch::new(),
        }
    }

    /// The slots this state machine owns.
    pub fn slots(&self) -> RangeInclusive<u16> {
        self.slots.clone()
    }

    /// The engine holding the data.
    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    /// Deletes every key of this state machine's slots.
    pub fn clear(&self) -> Result<()> {
        clear_slots(self.engine.as_ref(), &self.counts, self.slots())
    }

    /// Reads the key counts of this state machine's slots again, after their data was replaced.
    pub fn reload_counts(&self) -> Result<()> {
        self.counts.reload(self.engine.as_ref(), self.slots())
    }

    /// A concurrent read view of the same data.
    pub fn reader(&self) -> Reader {
        Reader::new(
            self.engine.clone(),
            self.counts.clone(),
            self.expired.clone(),
        )
    }

    /// Applies one proposal and returns the client's reply.
    pub fn apply(&mut self, proposal: &Proposal) -> Frame {
        let batch = std::mem::take(&mut self.spare_batch);
        self.apply_with(proposal, batch)
    }

    /// Applies one proposal, writing `record` (say, the log position applied) in the same
    /// atomic batch as its changes, or on its own when the mutation changes nothing.
    pub fn apply_with(&mut self, proposal: &Proposal, record: WriteBatch) -> Frame {
        let (reply, mut batch) = if matches!(proposal.mutation, Mutation::FlushAll) {
            (self.clear().map(|()| Frame::ok()), Some(record))
        } else {
            self.apply_in_txn(proposal, record)
        };
        if let Some(unwritten) = batch.as_mut().filter(|b| !b.is_empty()) {
            if let Err(e) = self.engine.write(unwritten) {
                tracing::error!(error = %e, "recording the applied position failed");
            }
        }
        if let Some(mut batch) = batch.filter(|b| b.capacity() <= SPARE_BATCH_BYTES) {
            batch.clear();
            self.spare_batch = batch;
        }
        reply.unwrap_or_else(|e| {
            tracing::error!(error = %e, "mutation failed");
            Frame::error(format!("ERR {e}"))
        })
    }

    /// Applies `proposal` in a transaction committed together with `record`. The batch comes
    /// back, written, after a commit, or unwritten when nothing was committed (it then holds
    /// `record` alone); None when the commit failed.
    fn apply_in_txn(
        &mut self,
        proposal: &Proposal,
        record: WriteBatch,
    ) -> (Result<Frame>, Option<WriteBatch>) {
        let mut txn = Txn::new(
            self.engine.as_ref(),
            &self.counts,
            proposal.now,
            record,
            &mut self.scratch,
        );
        let reply = match apply_mutation(&mut txn, &proposal.mutation) {
            Ok(reply @ Frame::Error(_)) => return (Ok(reply), Some(txn.abandon())),
            Ok(reply) => reply,
            Err(e) => return (Err(e), Some(txn.abandon())),
        };
        let expired = txn.expired;
        match txn.commit() {
            Ok(mut written) => {
                self.expired.fetch_add(expired, Ordering::Relaxed);
                written.clear();
                (Ok(reply), Some(written))
            }
            Err(e) => (Err(e), None),
        }
    }
}

fn apply_mutation(txn: &mut Txn<'_>, mutation: &Mutation) -> Result<Frame> {
    match mutation {
        Mutation::Set {
            key,
            value,
            condition,
            expiry,
            reply,
        } => strings::set(txn, key, value, *condition, *expiry, *reply),
        Mutation::MSet { pairs, all_absent } => strings::mset(txn, pairs, *all_absent),
        Mutation::Append { key, value } => strings::append(txn, key, value),
        Mutation::SetRange { key, offset, value } => strings::set_range(txn, key, *offset, value),
        Mutation::IncrBy { key, delta } => strings::incr_by(txn, key, *delta),
        Mutation::IncrByFloat { key, delta } => strings::incr_by_float(txn, key, *delta),
        Mutation::GetDel { key } => strings::get_del(txn, key),
        Mutation::GetEx { key, expiry } => strings::get_ex(txn, key, *expiry),
        Mutation::Del { keys } => keys::del(txn, keys),
        Mutation::Expire { key, at, condition } => keys::expire(txn, key, *at, *condition),
        Mutation::Persist { key } => keys::persist(txn, key),
        Mutation::Rename {
            from,
            to,
            only_if_absent,
        } => keys::rename(txn, from, to, *only_if_absent),
        Mutation::FlushAll => Ok(Frame::ok()),
        Mutation::DeleteExpired { keys } => keys::delete_expired(txn, keys),
        Mutation::HSet {
            key,
            pairs,
            only_if_absent,
            reply,
        } => hashes::hset(txn, key, pairs, *only_if_absent, *reply),
        Mutation::HDel { key, fields } => hashes::hdel(txn, key, fields),
        Mutation::HIncrBy { key, field, delta } => hashes::hincr_by(txn, key, field, *delta),
        Mutation::HIncrByFloat { key, field, delta } => {
            hashes::hincr_by_float(txn, key, field, *delta)
        }
    }
}
