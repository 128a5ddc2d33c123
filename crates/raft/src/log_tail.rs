//! The newest entries of a group's log, kept in memory: a leader replicates what it has just
//! appended, and reading those back from the engine costs a range scan per request.

use std::collections::VecDeque;

use crate::types::Entry;

/// Most entries kept.
const MAX_ENTRIES: usize = 4096;
/// Most encoded bytes kept.
const MAX_BYTES: usize = 16 << 20;

/// A run of consecutive log entries ending at the newest one appended.
#[derive(Default)]
pub struct LogTail {
    entries: VecDeque<(Entry, usize)>,
    bytes: usize,
}

impl LogTail {
    /// Adds entries appended after the current ones (`size` is each one's encoded length); a
    /// gap in indexes starts the tail afresh.
    pub fn push(&mut self, entry: Entry, size: usize) {
        if self
            .last_index()
            .is_some_and(|last| last + 1 != entry.log_id.index)
        {
            self.clear();
        }
        self.bytes += size;
        self.entries.push_back((entry, size));
        while self.entries.len() > MAX_ENTRIES || self.bytes > MAX_BYTES {
            self.pop_front();
        }
    }

    /// The entries with `start <= index < end`, if the tail holds all of them, cut after the
    /// first one that brings their encoded size to `max_bytes` or more.
    pub fn get(&self, start: u64, end: u64, max_bytes: usize) -> Option<Vec<Entry>> {
        let first = self.entries.front()?.0.log_id.index;
        let last = self.last_index()?;
        if start < first || end > last + 1 {
            return None;
        }
        let from = (start - first) as usize;
        let to = (end.max(start) - first) as usize;
        let mut budget = Budget::new(max_bytes);
        Some(
            self.entries
                .range(from..to)
                .take_while(|(_, size)| budget.take(*size))
                .map(|(e, _)| e.clone())
                .collect(),
        )
    }

    /// Forgets entries with index >= `index` (a truncated log).
    pub fn truncate(&mut self, index: u64) {
        while self.last_index().is_some_and(|last| last >= index) {
            if let Some((_, size)) = self.entries.pop_back() {
                self.bytes -= size;
            }
        }
    }

    /// Forgets entries with index <= `index` (a purged log).
    pub fn purge(&mut self, index: u64) {
        while self
            .entries
            .front()
            .is_some_and(|(e, _)| e.log_id.index <= index)
        {
            self.pop_front();
        }
    }

    fn last_index(&self) -> Option<u64> {
        self.entries.back().map(|(e, _)| e.log_id.index)
    }

    fn pop_front(&mut self) {
        if let Some((_, size)) = self.entries.pop_front() {
            self.bytes -= size;
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

/// A byte allowance for a run of entries: the first entry always fits, and the run ends
/// after the entry that uses the allowance up.
pub struct Budget {
    left: usize,
    spent: bool,
}

impl Budget {
    /// An allowance of `max_bytes`.
    pub fn new(max_bytes: usize) -> Budget {
        Budget {
            left: max_bytes,
            spent: false,
        }
    }

    /// Whether an entry of `size` bytes still belongs to the run.
    pub fn take(&mut self, size: usize) -> bool {
        if self.spent {
            return false;
        }
        self.spent = size >= self.left;
        self.left = self.left.saturating_sub(size);
        true
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload, LogId};

    use super::*;

    fn entry(index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Blank,
        }
    }

    const ALL: usize = usize::MAX;

    fn indexes(entries: Option<Vec<Entry>>) -> Option<Vec<u64>> {
        entries.map(|v| v.iter().map(|e| e.log_id.index).collect())
    }

    #[test]
    fn serves_only_ranges_it_holds_and_follows_truncate_and_purge() {
        let mut tail = LogTail::default();
        for i in 5..10 {
            tail.push(entry(i), 10);
        }
        assert_eq!(indexes(tail.get(6, 9, ALL)), Some(vec![6, 7, 8]));
        assert_eq!(indexes(tail.get(4, 6, ALL)), None);
        assert_eq!(indexes(tail.get(8, 11, ALL)), None);
        tail.truncate(8);
        assert_eq!(indexes(tail.get(5, 8, ALL)), Some(vec![5, 6, 7]));
        assert_eq!(indexes(tail.get(5, 9, ALL)), None);
        tail.purge(6);
        assert_eq!(indexes(tail.get(7, 8, ALL)), Some(vec![7]));
        assert_eq!(indexes(tail.get(6, 8, ALL)), None);
        tail.push(entry(20), 10);
        assert_eq!(indexes(tail.get(20, 21, ALL)), Some(vec![20]));
        assert_eq!(indexes(tail.get(7, 8, ALL)), None);
    }

    #[test]
    fn a_byte_budget_cuts_the_run_but_always_yields_one_entry() {
        let mut tail = LogTail::default();
        for i in 1..=5 {
            tail.push(entry(i), 100);
        }
        assert_eq!(indexes(tail.get(1, 6, 250)), Some(vec![1, 2, 3]));
        assert_eq!(indexes(tail.get(1, 6, 200)), Some(vec![1, 2]));
        assert_eq!(indexes(tail.get(2, 6, 1)), Some(vec![2]));
    }
}
