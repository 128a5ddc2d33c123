//! Number of keys per slot, and of those with an expiry, kept in memory for `DBSIZE`,
//! `CLUSTER COUNTKEYSINSLOT` and `INFO keyspace`, and persisted in the `Meta` table in the
//! same atomic batch as the change that moved them.
//!
//! Counts are per slot so that shards sharing one engine never write the same count entry,
//! and a shard's counts can be rebuilt from its slot range alone (after a snapshot install).

use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};

use ringkv_storage::{Engine, Table};

use crate::error::Result;
use crate::layout::{count_key, prefix_end, COUNT_PREFIX};
use crate::slot::SLOT_COUNT;

/// Per-slot key counts and their totals.
pub struct SlotCounts {
    keys: Vec<AtomicU64>,
    volatile: Vec<AtomicU64>,
    total: AtomicU64,
    total_volatile: AtomicU64,
}

/// The counts of one slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlotCount {
    /// Keys stored in the slot.
    pub keys: u64,
    /// Of those, keys with an expiry.
    pub volatile: u64,
}

impl SlotCount {
    /// The `Meta` value recording these counts.
    pub fn encode(self) -> [u8; 16] {
        let mut v = [0u8; 16];
        v[..8].copy_from_slice(&self.keys.to_be_bytes());
        v[8..].copy_from_slice(&self.volatile.to_be_bytes());
        v
    }

    fn decode(v: &[u8]) -> SlotCount {
        let word = |r: std::ops::Range<usize>| {
            v.get(r)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, u64::from_be_bytes)
        };
        SlotCount {
            keys: word(0..8),
            volatile: word(8..16),
        }
    }

    /// These counts changed by (`keys`, `volatile`), never below zero.
    pub fn add(self, keys: i64, volatile: i64) -> SlotCount {
        SlotCount {
            keys: self.keys.saturating_add_signed(keys),
            volatile: self.volatile.saturating_add_signed(volatile),
        }
    }
}

impl SlotCounts {
    /// Loads the persisted counts.
    pub fn load(engine: &dyn Engine) -> Result<Self> {
        let counts = SlotCounts {
            keys: (0..SLOT_COUNT).map(|_| AtomicU64::new(0)).collect(),
            volatile: (0..SLOT_COUNT).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            total_volatile: AtomicU64::new(0),
        };
        counts.reload(engine, 0..=SLOT_COUNT as u16 - 1)?;
        Ok(counts)
    }

    /// Reads the persisted counts of `slots` again (after their data was replaced).
    pub fn reload(&self, engine: &dyn Engine, slots: RangeInclusive<u16>) -> Result<()> {
        for slot in slots.clone() {
            self.set(slot, SlotCount::default());
        }
        let start = count_key(*slots.start());
        let end = match slots.end().checked_add(1) {
            Some(next) => Some(count_key(next).to_vec()),
            None => prefix_end(COUNT_PREFIX),
        };
        for (k, v) in engine.scan(Table::Meta, &start, end.as_deref(), SLOT_COUNT)? {
            if let Some(slot) = k.get(5..7) {
                self.set(
                    u16::from_be_bytes([slot[0], slot[1]]),
                    SlotCount::decode(&v),
                );
            }
        }
        Ok(())
    }

    /// Counts of `slot`.
    pub fn get(&self, slot: u16) -> SlotCount {
        let i = usize::from(slot);
        SlotCount {
            keys: self.keys[i].load(Ordering::Relaxed),
            volatile: self.volatile[i].load(Ordering::Relaxed),
        }
    }

    /// Keys stored in all slots.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Keys that have an expiry, in all slots.
    pub fn volatile(&self) -> u64 {
        self.total_volatile.load(Ordering::Relaxed)
    }

    /// Sets the counts of `slot` (only the slot's applier calls this).
    pub fn set(&self, slot: u16, n: SlotCount) {
        let i = usize::from(slot);
        swap_into(&self.keys[i], &self.total, n.keys);
        swap_into(&self.volatile[i], &self.total_volatile, n.volatile);
    }

    /// Resets every count to zero (after `FLUSHALL`).
    pub fn reset(&self) {
        for slot in 0..SLOT_COUNT as u16 {
            self.set(slot, SlotCount::default());
        }
    }
}

/// Stores `n` in `cell`, moving `total` by the difference.
fn swap_into(cell: &AtomicU64, total: &AtomicU64, n: u64) {
    let old = cell.swap(n, Ordering::Relaxed);
    if n >= old {
        total.fetch_add(n - old, Ordering::Relaxed);
    } else {
        total.fetch_sub(old - n, Ordering::Relaxed);
    }
}
