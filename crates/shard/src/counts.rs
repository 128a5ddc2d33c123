//! Number of keys per slot, kept in memory for `DBSIZE` and `CLUSTER COUNTKEYSINSLOT`, and
//! of keys with an expiry (`INFO keyspace` expires=), persisted in the `Meta` table in the
//! same atomic batch as the change that moved them.

use std::sync::atomic::{AtomicU64, Ordering};

use ringkv_storage::{Engine, Table};

use crate::error::Result;
use crate::layout::{count_key, prefix_end, COUNT_PREFIX};
use crate::slot::SLOT_COUNT;

/// Per-slot key counts and their total.
pub struct SlotCounts {
    slots: Vec<AtomicU64>,
    total: AtomicU64,
    volatile: AtomicU64,
}

/// The `Meta` key holding the number of keys with an expiry.
pub const VOLATILE_KEY: &[u8] = b"volatile";

impl SlotCounts {
    /// Loads the persisted counts.
    pub fn load(engine: &dyn Engine) -> Result<Self> {
        let counts = SlotCounts {
            slots: (0..SLOT_COUNT).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            volatile: AtomicU64::new(0),
        };
        if let Some(n) = engine.get(Table::Meta, VOLATILE_KEY)? {
            counts.set_volatile(<[u8; 8]>::try_from(&n[..]).map_or(0, u64::from_be_bytes));
        }
        let end = prefix_end(COUNT_PREFIX);
        for (k, v) in engine.scan(Table::Meta, COUNT_PREFIX, end.as_deref(), SLOT_COUNT)? {
            if let (Some(slot), Ok(n)) = (k.get(5..7), <[u8; 8]>::try_from(&v[..])) {
                counts.set(
                    u16::from_be_bytes([slot[0], slot[1]]),
                    u64::from_be_bytes(n),
                );
            }
        }
        Ok(counts)
    }

    /// Keys stored in `slot`.
    pub fn get(&self, slot: u16) -> u64 {
        self.slots[usize::from(slot)].load(Ordering::Relaxed)
    }

    /// Keys stored in all slots.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Keys that have an expiry.
    pub fn volatile(&self) -> u64 {
        self.volatile.load(Ordering::Relaxed)
    }

    /// Sets the number of keys with an expiry (only the applier calls this).
    pub fn set_volatile(&self, n: u64) {
        self.volatile.store(n, Ordering::Relaxed);
    }

    /// Sets the count of `slot` (only the applier calls this).
    pub fn set(&self, slot: u16, n: u64) {
        let old = self.slots[usize::from(slot)].swap(n, Ordering::Relaxed);
        if n >= old {
            self.total.fetch_add(n - old, Ordering::Relaxed);
        } else {
            self.total.fetch_sub(old - n, Ordering::Relaxed);
        }
    }

    /// Resets every count to zero (after `FLUSHALL`).
    pub fn reset(&self) {
        for s in &self.slots {
            s.store(0, Ordering::Relaxed);
        }
        self.total.store(0, Ordering::Relaxed);
        self.volatile.store(0, Ordering::Relaxed);
    }

    /// The `Meta` key and encoded value recording `n` keys in `slot`.
    pub fn entry(slot: u16, n: u64) -> ([u8; 7], [u8; 8]) {
        (count_key(slot), n.to_be_bytes())
    }
}
