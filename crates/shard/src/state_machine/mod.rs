//! The state machine of one shard: `apply(Proposal) -> Frame` is deterministic, so
//! replicas that apply the same log hold the same data and send the same replies.
//!
//! Only the applier (one thread per shard) calls [`StateMachine::apply`]; readers use a
//! [`crate::Reader`] concurrently. A mutation whose reply is an error changes nothing.

mod hashes;
mod keys;
mod strings;
mod txn;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ringkv_protocol::Frame;
use ringkv_storage::Engine;

use crate::counts::SlotCounts;
use crate::error::Result;
use crate::mutation::{Mutation, Proposal};
use crate::reader::Reader;
pub use strings::{MAX_STRING_LEN, TOO_BIG};
pub use txn::Txn;

/// A shard's data and the code that changes it.
pub struct StateMachine {
    engine: Arc<dyn Engine>,
    counts: Arc<SlotCounts>,
    expired: Arc<AtomicU64>,
}

impl StateMachine {
    /// Opens the state machine over `engine`, loading its key counts.
    pub fn open(engine: Arc<dyn Engine>) -> Result<Self> {
        let counts = Arc::new(SlotCounts::load(engine.as_ref())?);
        Ok(StateMachine {
            engine,
            counts,
            expired: Arc::new(AtomicU64::new(0)),
        })
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
        let mut txn = Txn::new(self.engine.as_ref(), &self.counts, proposal.now);
        let reply = match apply_mutation(&mut txn, &proposal.mutation) {
            Ok(reply) => reply,
            Err(e) => {
                tracing::error!(error = %e, "mutation failed");
                return Frame::error(format!("ERR {e}"));
            }
        };
        if matches!(reply, Frame::Error(_)) {
            return reply;
        }
        let expired = txn.expired;
        if let Err(e) = txn.commit() {
            tracing::error!(error = %e, "commit failed");
            return Frame::error(format!("ERR {e}"));
        }
        self.expired.fetch_add(expired, Ordering::Relaxed);
        reply
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
        Mutation::FlushAll => keys::flush_all(txn),
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
