//! Range scans of the durable engine: the memtables and fjall merged in key order, the
//! newest source winning where several hold a key, tombstones hiding what is below them.
//!
//! Memtables are read a chunk at a time (each chunk under its stripes' read locks, never the
//! whole range at once) and fjall through its own lazy iterator, so a range holding many
//! tombstones costs time in proportion to what is walked, and memory in proportion to the
//! chunk.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use super::memtable::Memtable;
use crate::engine::{Result, Table};

/// Entries read from a memtable at a time.
const CHUNK: usize = 256;

/// One memtable's entries in a range, read a chunk at a time.
struct MemtableCursor {
    memtable: Arc<Memtable>,
    /// Where the next chunk starts; None once the range is exhausted.
    next: Option<Vec<u8>>,
    buffer: VecDeque<(Bytes, Option<Bytes>)>,
}

impl MemtableCursor {
    /// The next entry's key, refilling the buffer when it is empty.
    fn peek(&mut self, table: Table, end: Option<&[u8]>) -> Option<&Bytes> {
        if self.buffer.is_empty() {
            let start = self.next.take()?;
            let mut last = None;
            let buffer = &mut self.buffer;
            self.memtable.range(table, &start, end, |e| {
                buffer.push_back((
                    Bytes::copy_from_slice(e.key()),
                    e.value().map(Bytes::copy_from_slice),
                ));
                last = Some(e.key().to_vec());
                buffer.len() < CHUNK
            });
            if buffer.len() == CHUNK {
                self.next = last.map(|mut k| {
                    k.push(0);
                    k
                });
            }
        }
        self.buffer.front().map(|(k, _)| k)
    }
}

/// Up to `limit` live entries with `start <= key < end`, from `memtables` (newest first)
/// over `below`, fjall's entries of the same range in key order.
pub(super) fn scan(
    table: Table,
    start: &[u8],
    end: Option<&[u8]>,
    limit: usize,
    memtables: Vec<Arc<Memtable>>,
    below: impl Iterator<Item = Result<(Bytes, Bytes)>>,
) -> Result<Vec<(Bytes, Bytes)>> {
    let mut cursors: Vec<MemtableCursor> = memtables
        .into_iter()
        .map(|memtable| MemtableCursor {
            memtable,
            next: Some(start.to_vec()),
            buffer: VecDeque::new(),
        })
        .collect();
    let mut below = below.peekable();
    let mut out = Vec::new();
    while out.len() < limit {
        let mut smallest: Option<Bytes> = None;
        for cursor in cursors.iter_mut() {
            if let Some(key) = cursor.peek(table, end) {
                if smallest.as_ref().is_none_or(|s| key < s) {
                    smallest = Some(key.clone());
                }
            }
        }
        let below_key = match below.peek() {
            Some(Ok((key, _))) => Some(key.clone()),
            Some(Err(_)) => return Err(below.next().expect("peeked").unwrap_err()),
            None => None,
        };
        let Some(key) = (match (smallest, below_key) {
            (Some(m), Some(b)) => Some(m.min(b)),
            (m, b) => m.or(b),
        }) else {
            break;
        };
        let mut winner: Option<Option<Bytes>> = None;
        for cursor in cursors.iter_mut() {
            if cursor.buffer.front().is_some_and(|(k, _)| *k == key) {
                let (_, value) = cursor.buffer.pop_front().expect("front checked");
                winner.get_or_insert(value);
            }
        }
        if below
            .peek()
            .is_some_and(|r| r.as_ref().is_ok_and(|(k, _)| *k == key))
        {
            let (_, value) = below.next().expect("peeked")?;
            winner.get_or_insert(Some(value));
        }
        if let Some(Some(value)) = winner {
            out.push((key, value));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::WriteBatch;

    fn memtable(writes: &[(&str, Option<&str>)]) -> Arc<Memtable> {
        let m = Memtable::default();
        let mut batch = WriteBatch::new();
        for (k, v) in writes {
            match v {
                Some(v) => batch.put(Table::Meta, k.as_bytes(), v.as_bytes()),
                None => batch.delete(Table::Meta, k.as_bytes()),
            }
        }
        m.apply(&batch, 1);
        Arc::new(m)
    }

    fn run(limit: usize, memtables: &[Arc<Memtable>], below: &[(&str, &str)]) -> Vec<String> {
        let below = below
            .iter()
            .map(|(k, v)| Ok((Bytes::from(k.to_string()), Bytes::from(v.to_string()))));
        scan(Table::Meta, b"", None, limit, memtables.to_vec(), below)
            .unwrap()
            .into_iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    String::from_utf8_lossy(&k),
                    String::from_utf8_lossy(&v)
                )
            })
            .collect()
    }

    #[test]
    fn the_newest_source_wins_and_tombstones_hide_older_values() {
        let newer = memtable(&[("b", Some("new")), ("c", None), ("e", Some("5"))]);
        let older = memtable(&[("a", Some("1")), ("b", Some("old")), ("c", Some("3"))]);
        let below = [("a", "0"), ("c", "fjall"), ("d", "4"), ("f", "6")];
        assert_eq!(
            run(usize::MAX, &[newer.clone(), older.clone()], &below),
            vec!["a=1", "b=new", "d=4", "e=5", "f=6"]
        );
        assert_eq!(run(2, &[newer, older], &below), vec!["a=1", "b=new"]);
    }

    #[test]
    fn many_tombstones_are_walked_a_chunk_at_a_time() {
        let deletes: Vec<String> = (0..3 * CHUNK).map(|i| format!("k{i:05}")).collect();
        let writes: Vec<_> = deletes.iter().map(|k| (k.as_str(), None)).collect();
        let m = memtable(&writes);
        let below: Vec<(String, String)> = deletes
            .iter()
            .map(|k| (k.clone(), "x".to_owned()))
            .chain([("z".to_owned(), "last".to_owned())])
            .collect();
        let below: Vec<(&str, &str)> = below
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(run(10, &[m], &below), vec!["z=last"]);
    }
}
