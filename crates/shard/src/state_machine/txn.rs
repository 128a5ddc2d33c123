//! One mutation's view of the store while it is applied: reads see the mutation's own
//! earlier writes, writes gather (last write of a storage key wins) into one atomic batch,
//! and key counts follow along.
//!
//! Lazy expiry happens here deterministically: a key found expired at the proposal's `now`
//! is deleted as part of the batch, so every replica deletes it at the same log position.

use bytes::Bytes;
use ringkv_storage::{BatchMark, Engine, Table, WriteBatch};

use super::small_map::SmallMap;
use crate::counts::SlotCounts;
use crate::error::{Result, ShardError};
use crate::layout::{count_key, expiry_key, fields_prefix, prefix_end};
use crate::slot::key_slot;
use crate::value::{Kind, Stored};

/// Fields read per engine scan while deleting a whole hash.
const FIELD_SCAN_CHUNK: usize = 1024;

/// The tag of a hash field's storage key in the mutation's map: its length and last two
/// bytes, which differ between most fields of one hash (their keys share the hash's prefix).
fn field_tag(field_key: &[u8]) -> u16 {
    let tail = match field_key {
        [.., a, b] => u16::from_le_bytes([*a, *b]),
        _ => 0,
    };
    tail ^ field_key.len() as u16
}

/// What a mutation remembers while it is applied, kept by the state machine between
/// mutations so that applying one allocates nothing for it.
#[derive(Default)]
pub struct Scratch {
    /// Keys loaded or written so far: a mutation reads its own writes.
    keys: SmallMap<Bytes, Option<Stored>>,
    /// Hash fields written so far, by storage key.
    fields: SmallMap<Vec<u8>, Option<Bytes>>,
    /// Per slot: change in (keys, keys with an expiry).
    count_deltas: SmallMap<u16, (i64, i64)>,
    /// Storage keys are built here.
    key: Vec<u8>,
}

impl Scratch {
    fn clear(&mut self) {
        self.keys.clear();
        self.fields.clear();
        self.count_deltas.clear();
    }
}

/// An in-progress mutation. Its writes go straight into the batch that will commit them
/// (the engines apply a batch's writes in order, so the last write of a key wins).
pub struct Txn<'a> {
    engine: &'a dyn Engine,
    counts: &'a SlotCounts,
    /// The proposal's clock.
    pub now: u64,
    batch: WriteBatch,
    /// The batch before this mutation wrote to it.
    start: BatchMark,
    scratch: &'a mut Scratch,
    /// Keys this mutation found expired and deleted.
    pub expired: u64,
}

impl<'a> Txn<'a> {
    /// Starts a mutation applied at `now`, whose writes join `batch`.
    pub fn new(
        engine: &'a dyn Engine,
        counts: &'a SlotCounts,
        now: u64,
        batch: WriteBatch,
        scratch: &'a mut Scratch,
    ) -> Self {
        scratch.clear();
        Txn {
            engine,
            counts,
            now,
            start: batch.mark(),
            batch,
            scratch,
            expired: 0,
        }
    }

    /// The live value of `key`, deleting it first if it has expired.
    pub fn load(&mut self, key: &Bytes) -> Result<Option<Stored>> {
        let slot = key_slot(key);
        let stored = match self.scratch.keys.get(slot, key) {
            Some(v) => v.clone(),
            None => {
                let storage_key = &mut self.scratch.key;
                storage_key.clear();
                storage_key.extend_from_slice(&slot.to_be_bytes());
                storage_key.extend_from_slice(key);
                let raw = self.engine.get(Table::Keys, storage_key)?;
                raw.map(|b| {
                    Stored::decode(b).ok_or_else(|| {
                        ShardError::Corrupt(String::from_utf8_lossy(key).into_owned())
                    })
                })
                .transpose()?
            }
        };
        match stored {
            Some(s) if s.is_expired(self.now) => {
                self.remove(key, &s)?;
                self.expired += 1;
                Ok(None)
            }
            other => Ok(other),
        }
    }

    fn count(&mut self, slot: u16) -> &mut (i64, i64) {
        self.scratch
            .count_deltas
            .entry(slot, &slot, Default::default)
    }

    /// Stores `value` under `key`, whose current live value is `old`.
    pub fn store(&mut self, key: &Bytes, value: Stored, old: Option<&Stored>) -> Result<()> {
        let slot = key_slot(key);
        if let Some(o) = old {
            if o.kind == Kind::Hash && value.kind != Kind::Hash {
                self.delete_fields(key)?;
            }
            if o.expire_at != 0 && o.expire_at != value.expire_at {
                self.batch
                    .delete(Table::Expiry, &expiry_key(o.expire_at, slot, key));
            }
        }
        let was_volatile = old.is_some_and(|o| o.expire_at != 0);
        let count = self.count(slot);
        count.0 += i64::from(old.is_none());
        count.1 += i64::from(value.expire_at != 0) - i64::from(was_volatile);
        if value.expire_at != 0 && old.map(|o| o.expire_at) != Some(value.expire_at) {
            self.batch
                .put(Table::Expiry, &expiry_key(value.expire_at, slot, key), &[]);
        }
        self.batch.put_parts(
            Table::Keys,
            &[&slot.to_be_bytes(), key],
            &[&value.header(), &value.payload],
        );
        self.scratch.keys.insert(slot, key, Some(value));
        Ok(())
    }

    /// Deletes `key`, whose current value is `old`, with its fields and expiry entry.
    pub fn remove(&mut self, key: &Bytes, old: &Stored) -> Result<()> {
        let slot = key_slot(key);
        if old.kind == Kind::Hash {
            self.delete_fields(key)?;
        }
        if old.expire_at != 0 {
            self.batch
                .delete(Table::Expiry, &expiry_key(old.expire_at, slot, key));
            self.count(slot).1 -= 1;
        }
        let storage_key = &mut self.scratch.key;
        storage_key.clear();
        storage_key.extend_from_slice(&slot.to_be_bytes());
        storage_key.extend_from_slice(key);
        self.batch.delete(Table::Keys, storage_key);
        self.count(slot).0 -= 1;
        self.scratch.keys.insert(slot, key, None);
        Ok(())
    }

    /// The value of a hash field by its storage key.
    pub fn field(&self, field_key: &[u8]) -> Result<Option<Bytes>> {
        match self.scratch.fields.get(field_tag(field_key), field_key) {
            Some(v) => Ok(v.clone()),
            None => Ok(self.engine.get(Table::Fields, field_key)?),
        }
    }

    /// Writes a hash field.
    pub fn put_field(&mut self, field_key: Vec<u8>, value: &[u8]) {
        self.batch.put(Table::Fields, &field_key, value);
        let value = Bytes::copy_from_slice(value);
        self.scratch
            .fields
            .insert(field_tag(&field_key), &field_key, Some(value));
    }

    /// Deletes a hash field.
    pub fn delete_field(&mut self, field_key: Vec<u8>) {
        self.batch.delete(Table::Fields, &field_key);
        self.scratch
            .fields
            .insert(field_tag(&field_key), &field_key, None);
    }

    /// Every stored field of hash `key` as (storage key, value), in storage order.
    pub fn scan_fields(&self, key: &[u8]) -> Result<Vec<(Bytes, Bytes)>> {
        let prefix = fields_prefix(key);
        let end = prefix_end(&prefix);
        let mut out = Vec::new();
        let mut start = prefix.clone();
        loop {
            let chunk =
                self.engine
                    .scan(Table::Fields, &start, end.as_deref(), FIELD_SCAN_CHUNK)?;
            let full = chunk.len() == FIELD_SCAN_CHUNK;
            if let Some((last, _)) = chunk.last() {
                start = last.to_vec();
                start.push(0);
            }
            out.extend(chunk);
            if !full {
                return Ok(out);
            }
        }
    }

    fn delete_fields(&mut self, key: &[u8]) -> Result<()> {
        for (k, _) in self.scan_fields(key)? {
            self.delete_field(k.to_vec());
        }
        Ok(())
    }

    /// Adds the new key counts to the batch (for an engine that persists them: they are
    /// there to be read when it reopens) and writes it atomically; the batch comes back, to
    /// be cleared and reused. An engine that keeps nothing gets no count records, so a
    /// single-key write touches one stripe of the memory engine instead of two.
    pub fn commit(mut self) -> Result<WriteBatch> {
        let persistent = self.engine.persistent();
        let mut new_counts = Vec::new();
        for &(slot, (keys, volatile)) in self.scratch.count_deltas.iter() {
            if (keys, volatile) == (0, 0) {
                continue;
            }
            let n = self.counts.get(slot).add(keys, volatile);
            if persistent {
                self.batch.put(Table::Meta, &count_key(slot), &n.encode());
            }
            new_counts.push((slot, n));
        }
        if !self.batch.is_empty() {
            self.engine.write(&self.batch)?;
        }
        for (slot, n) in new_counts {
            self.counts.set(slot, n);
        }
        Ok(self.batch)
    }

    /// Gives up the mutation: the batch as it was before it.
    pub fn abandon(mut self) -> WriteBatch {
        self.batch.truncate(self.start);
        self.batch
    }
}
