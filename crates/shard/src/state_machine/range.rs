//! Whole slot ranges: what a shard's snapshot holds, how it is read in bounded chunks, and
//! how a range is emptied (`FLUSHALL`, or before a snapshot is installed).
//!
//! A snapshot holds the `Keys` and `Fields` entries of the range and its `Meta` counts. The
//! `Expiry` index is not copied: it is rebuilt from the expiry times in the values.

use std::collections::VecDeque;
use std::ops::RangeInclusive;

use bytes::Bytes;
use ringkv_storage::{Engine, Table, WriteBatch};

use crate::counts::SlotCounts;
use crate::error::Result;
use crate::layout::{count_key, expiry_key, prefix_end, slot_start, split_data_key, COUNT_PREFIX};
use crate::slot::ALL_SLOTS;
use crate::value::Stored;

/// Entries read per engine scan.
const CHUNK: usize = 1024;

/// The tables a snapshot copies, in the order it copies them.
const SNAPSHOT_TABLES: [Table; 3] = [Table::Keys, Table::Fields, Table::Meta];

/// Bounds of `slots` in `table`: (start, end exclusive; None = unbounded).
fn bounds(table: Table, slots: &RangeInclusive<u16>) -> (Vec<u8>, Option<Vec<u8>>) {
    match table {
        Table::Meta => (
            count_key(*slots.start()).to_vec(),
            match slots.end().checked_add(1) {
                Some(next) => Some(count_key(next).to_vec()),
                None => prefix_end(COUNT_PREFIX),
            },
        ),
        _ => (
            slot_start(*slots.start()).to_vec(),
            slots.end().checked_add(1).map(|n| slot_start(n).to_vec()),
        ),
    }
}

/// Every snapshot entry of a slot range, read lazily in chunks of [`CHUNK`].
pub struct SlotRangeScan<'a> {
    engine: &'a dyn Engine,
    slots: RangeInclusive<u16>,
    table: usize,
    next: Option<Vec<u8>>,
    buffer: VecDeque<(Bytes, Bytes)>,
}

impl<'a> SlotRangeScan<'a> {
    /// Starts reading the snapshot entries of `slots`.
    pub fn new(engine: &'a dyn Engine, slots: RangeInclusive<u16>) -> Self {
        let next = Some(bounds(SNAPSHOT_TABLES[0], &slots).0);
        SlotRangeScan {
            engine,
            slots,
            table: 0,
            next,
            buffer: VecDeque::new(),
        }
    }

    fn refill(&mut self) -> Result<()> {
        while self.buffer.is_empty() && self.table < SNAPSHOT_TABLES.len() {
            let table = SNAPSHOT_TABLES[self.table];
            let Some(start) = self.next.take() else {
                self.table += 1;
                if let Some(&t) = SNAPSHOT_TABLES.get(self.table) {
                    self.next = Some(bounds(t, &self.slots).0);
                }
                continue;
            };
            let end = bounds(table, &self.slots).1;
            let chunk = self.engine.scan(table, &start, end.as_deref(), CHUNK)?;
            if chunk.len() == CHUNK {
                let mut after = chunk[CHUNK - 1].0.to_vec();
                after.push(0);
                self.next = Some(after);
            }
            self.buffer.extend(chunk);
        }
        Ok(())
    }
}

impl Iterator for SlotRangeScan<'_> {
    type Item = Result<(Table, Bytes, Bytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Err(e) = self.refill() {
            self.table = SNAPSHOT_TABLES.len();
            return Some(Err(e));
        }
        let (k, v) = self.buffer.pop_front()?;
        Some(Ok((SNAPSHOT_TABLES[self.table], k, v)))
    }
}

/// Adds one snapshot entry to `batch`, with the expiry index entry its value implies.
pub fn restore_entry(batch: &mut WriteBatch, table: Table, key: &[u8], value: Bytes) {
    if table == Table::Keys && key.len() >= 2 {
        if let Some(stored) = Stored::decode(value.clone()) {
            if stored.expire_at != 0 {
                let (slot, user_key) = split_data_key(key);
                batch.put(
                    Table::Expiry,
                    &expiry_key(stored.expire_at, slot, user_key),
                    &[],
                );
            }
        }
    }
    batch.put(table, key, &value);
}

/// Deletes every key of `slots` with its fields, expiry entries and counts, in bounded batches.
pub fn clear_slots(
    engine: &dyn Engine,
    counts: &SlotCounts,
    slots: RangeInclusive<u16>,
) -> Result<()> {
    if slots == ALL_SLOTS {
        engine.clear()?;
        counts.reset();
        return Ok(());
    }
    for table in SNAPSHOT_TABLES {
        let (start, end) = bounds(table, &slots);
        loop {
            let chunk = engine.scan(table, &start, end.as_deref(), CHUNK)?;
            if chunk.is_empty() {
                break;
            }
            let mut batch = WriteBatch::new();
            for (k, v) in chunk {
                let mut expiry = WriteBatch::new();
                restore_entry(&mut expiry, table, &k, v);
                for op in expiry.ops() {
                    batch.delete(op.table, op.key);
                }
            }
            engine.write(&batch)?;
        }
    }
    counts.reload(engine, slots)
}
