//! One mutation's view of the store while it is applied: reads see the mutation's own
//! earlier writes, writes gather (last write of a storage key wins) into one atomic batch,
//! and key counts follow along.
//!
//! Lazy expiry happens here deterministically: a key found expired at the proposal's `now`
//! is deleted as part of the batch, so every replica deletes it at the same log position.

use std::collections::HashMap;

use bytes::Bytes;
use ringkv_storage::{Engine, Table, WriteBatch};

use crate::counts::SlotCounts;
use crate::error::{Result, ShardError};
use crate::layout::{count_key, data_key, expiry_key, fields_prefix, prefix_end};
use crate::slot::key_slot;
use crate::value::{Kind, Stored};

/// Fields read per engine scan while deleting a whole hash.
const FIELD_SCAN_CHUNK: usize = 1024;

/// An in-progress mutation.
pub struct Txn<'a> {
    engine: &'a dyn Engine,
    counts: &'a SlotCounts,
    /// The proposal's clock.
    pub now: u64,
    writes: HashMap<(Table, Vec<u8>), Option<Vec<u8>>>,
    keys: HashMap<Bytes, Option<Stored>>,
    /// Per slot: change in (keys, keys with an expiry).
    count_deltas: HashMap<u16, (i64, i64)>,
    /// Keys this mutation found expired and deleted.
    pub expired: u64,
}

impl<'a> Txn<'a> {
    /// Starts a mutation applied at `now`.
    pub fn new(engine: &'a dyn Engine, counts: &'a SlotCounts, now: u64) -> Self {
        Txn {
            engine,
            counts,
            now,
            writes: HashMap::new(),
            keys: HashMap::new(),
            count_deltas: HashMap::new(),
            expired: 0,
        }
    }

    /// The live value of `key`, deleting it first if it has expired.
    pub fn load(&mut self, key: &Bytes) -> Result<Option<Stored>> {
        let stored = match self.keys.get(key) {
            Some(v) => v.clone(),
            None => {
                let raw = self
                    .engine
                    .get(Table::Keys, &data_key(key_slot(key), key))?;
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

    /// Stores `value` under `key`, whose current live value is `old`.
    pub fn store(&mut self, key: &Bytes, value: Stored, old: Option<&Stored>) -> Result<()> {
        let slot = key_slot(key);
        match old {
            None => self.count_deltas.entry(slot).or_default().0 += 1,
            Some(o) => {
                if o.kind == Kind::Hash && value.kind != Kind::Hash {
                    self.delete_fields(key)?;
                }
                if o.expire_at != 0 && o.expire_at != value.expire_at {
                    self.delete(Table::Expiry, expiry_key(o.expire_at, slot, key));
                }
            }
        }
        let was_volatile = old.is_some_and(|o| o.expire_at != 0);
        self.count_deltas.entry(slot).or_default().1 +=
            i64::from(value.expire_at != 0) - i64::from(was_volatile);
        if value.expire_at != 0 && old.map(|o| o.expire_at) != Some(value.expire_at) {
            self.put(
                Table::Expiry,
                expiry_key(value.expire_at, slot, key),
                Vec::new(),
            );
        }
        self.put(Table::Keys, data_key(slot, key), value.encode());
        self.keys.insert(key.clone(), Some(value));
        Ok(())
    }

    /// Deletes `key`, whose current value is `old`, with its fields and expiry entry.
    pub fn remove(&mut self, key: &Bytes, old: &Stored) -> Result<()> {
        let slot = key_slot(key);
        if old.kind == Kind::Hash {
            self.delete_fields(key)?;
        }
        if old.expire_at != 0 {
            self.delete(Table::Expiry, expiry_key(old.expire_at, slot, key));
            self.count_deltas.entry(slot).or_default().1 -= 1;
        }
        self.delete(Table::Keys, data_key(slot, key));
        self.count_deltas.entry(slot).or_default().0 -= 1;
        self.keys.insert(key.clone(), None);
        Ok(())
    }

    /// The value of a hash field by its storage key.
    pub fn field(&self, field_key: &[u8]) -> Result<Option<Bytes>> {
        match self.writes.get(&(Table::Fields, field_key.to_vec())) {
            Some(v) => Ok(v.clone().map(Bytes::from)),
            None => Ok(self.engine.get(Table::Fields, field_key)?),
        }
    }

    /// Writes a hash field.
    pub fn put_field(&mut self, field_key: Vec<u8>, value: &[u8]) {
        self.put(Table::Fields, field_key, value.to_vec());
    }

    /// Deletes a hash field.
    pub fn delete_field(&mut self, field_key: Vec<u8>) {
        self.delete(Table::Fields, field_key);
    }

    fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert((table, key), Some(value));
    }

    fn delete(&mut self, table: Table, key: Vec<u8>) {
        self.writes.insert((table, key), None);
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

    /// Writes the batch, the new key counts and `record` atomically.
    pub fn commit(self, mut batch: WriteBatch) -> Result<()> {
        for ((table, key), value) in &self.writes {
            match value {
                Some(v) => batch.put(*table, key, v),
                None => batch.delete(*table, key),
            }
        }
        let mut new_counts = Vec::with_capacity(self.count_deltas.len());
        for (&slot, &(keys, volatile)) in &self.count_deltas {
            if (keys, volatile) == (0, 0) {
                continue;
            }
            let n = self.counts.get(slot).add(keys, volatile);
            batch.put(Table::Meta, &count_key(slot), &n.encode());
            new_counts.push((slot, n));
        }
        if !batch.is_empty() {
            self.engine.write(batch)?;
        }
        for (slot, n) in new_counts {
            self.counts.set(slot, n);
        }
        Ok(())
    }
}
