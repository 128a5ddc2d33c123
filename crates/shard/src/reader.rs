//! Reads of a shard's data, safe to run concurrently with the applier.
//!
//! Reads never change anything: a key found expired is reported missing and left for
//! active expiry (or the next write) to delete through the log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use ringkv_storage::{Engine, Table};

use crate::counts::SlotCounts;
use crate::error::{Result, ShardError};
use crate::layout::{data_key, field_key, fields_prefix, prefix_end, split_field_suffix};
use crate::slot::key_slot;
use crate::value::Stored;

/// A read view of one shard.
#[derive(Clone)]
pub struct Reader {
    engine: Arc<dyn Engine>,
    counts: Arc<SlotCounts>,
    expired: Arc<AtomicU64>,
}

/// One page of a hash's fields and the cursor of the next page (0 when done).
pub struct FieldPage {
    /// (field, value) pairs.
    pub fields: Vec<(Bytes, Bytes)>,
    /// Cursor to continue from, 0 when the scan is complete.
    pub next: u64,
}

impl Reader {
    pub(crate) fn new(
        engine: Arc<dyn Engine>,
        counts: Arc<SlotCounts>,
        expired: Arc<AtomicU64>,
    ) -> Self {
        Reader {
            engine,
            counts,
            expired,
        }
    }

    /// The live value of `key` at `now`.
    pub fn get(&self, key: &[u8], now: u64) -> Result<Option<Stored>> {
        let raw = self
            .engine
            .get(Table::Keys, &data_key(key_slot(key), key))?;
        let stored = raw
            .map(|b| {
                Stored::decode(b)
                    .ok_or_else(|| ShardError::Corrupt(String::from_utf8_lossy(key).into_owned()))
            })
            .transpose()?;
        Ok(stored.filter(|s| !s.is_expired(now)))
    }

    /// The value of one hash field (the caller has checked the key is a live hash).
    pub fn field(&self, key: &[u8], field: &[u8]) -> Result<Option<Bytes>> {
        Ok(self
            .engine
            .get(Table::Fields, &field_key(&fields_prefix(key), field))?)
    }

    /// Up to `count` fields of hash `key` starting at `cursor` (a field-hash position).
    pub fn fields_page(&self, key: &[u8], cursor: u64, count: usize) -> Result<FieldPage> {
        let prefix = fields_prefix(key);
        let mut start = prefix.clone();
        start.extend_from_slice(&cursor.to_be_bytes());
        let end = prefix_end(&prefix);
        let rows = self.engine.scan(
            Table::Fields,
            &start,
            end.as_deref(),
            count.saturating_add(1),
        )?;
        let mut fields = Vec::with_capacity(rows.len().min(count));
        let mut next = 0;
        for (i, (k, v)) in rows.into_iter().enumerate() {
            let (hash, field) = split_field_suffix(&k[prefix.len()..]);
            if i == count {
                next = hash;
                break;
            }
            fields.push((Bytes::copy_from_slice(field), v));
        }
        Ok(FieldPage { fields, next })
    }

    /// Every field of hash `key`.
    pub fn all_fields(&self, key: &[u8]) -> Result<Vec<(Bytes, Bytes)>> {
        Ok(self.fields_page(key, 0, usize::MAX - 1)?.fields)
    }

    /// Up to `limit` `Keys` entries (storage key, stored value) from `start` on.
    pub fn scan_keys(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        Ok(self.engine.scan(Table::Keys, start, end, limit)?)
    }

    /// Up to `limit` expiry index entries due at or before `now`, from the index entry
    /// `from` on (empty: from the soonest).
    pub fn due_expiries(&self, from: &[u8], now: u64, limit: usize) -> Result<Vec<Bytes>> {
        let end = now.saturating_add(1).to_be_bytes();
        Ok(self
            .engine
            .scan(Table::Expiry, from, Some(&end), limit)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }

    /// Number of keys stored (including expired ones not yet deleted), as `DBSIZE`.
    pub fn dbsize(&self) -> u64 {
        self.counts.total()
    }

    /// Number of keys with an expiry (including expired ones not yet deleted).
    pub fn volatile_keys(&self) -> u64 {
        self.counts.volatile()
    }

    /// Number of keys stored in `slot`.
    pub fn keys_in_slot(&self, slot: u16) -> u64 {
        self.counts.get(slot).keys
    }

    /// Keys deleted because they expired, since start.
    pub fn expired_keys(&self) -> u64 {
        self.expired.load(Ordering::Relaxed)
    }

    /// The engine underneath, for statistics and maintenance.
    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }
}
