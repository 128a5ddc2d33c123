//! Behaviour both engines share, checked by the same functions on each: reads and writes,
//! batches, ordered scans with bounds and paging, clearing, limits, and concurrent use.

use std::sync::Arc;

use bytes::Bytes;
use ringkv_storage::{
    Engine, FjallEngine, FjallOptions, MemoryEngine, StorageError, Table, WriteBatch,
};

/// A `Keys`/`Fields` key: the slot, big-endian, then the name.
fn key(slot: u16, name: &str) -> Vec<u8> {
    [&slot.to_be_bytes()[..], name.as_bytes()].concat()
}

fn put(engine: &dyn Engine, table: Table, k: &[u8], v: &[u8]) {
    let mut batch = WriteBatch::new();
    batch.put(table, k, v);
    engine.write(batch).unwrap();
}

fn get(engine: &dyn Engine, table: Table, k: &[u8]) -> Option<Vec<u8>> {
    engine.get(table, k).unwrap().map(|v| v.to_vec())
}

fn keys_of(entries: &[(Bytes, Bytes)]) -> Vec<Vec<u8>> {
    entries.iter().map(|(k, _)| k.to_vec()).collect()
}

/// Runs `check` on a fresh memory engine and a fresh fjall engine.
fn on_both(check: impl Fn(&dyn Engine)) {
    check(&MemoryEngine::new());
    let dir = tempfile::tempdir().unwrap();
    check(&FjallEngine::open(dir.path(), FjallOptions::default()).unwrap());
}

#[test]
fn reads_what_was_written() {
    on_both(|engine| {
        assert_eq!(get(engine, Table::Keys, &key(1, "a")), None);
        put(engine, Table::Keys, &key(1, "a"), b"one");
        put(engine, Table::Meta, b"applied", b"42");
        put(engine, Table::Keys, &key(2, "empty"), b"");
        assert_eq!(get(engine, Table::Keys, &key(1, "a")).unwrap(), b"one");
        assert_eq!(get(engine, Table::Meta, b"applied").unwrap(), b"42");
        assert_eq!(get(engine, Table::Keys, &key(2, "empty")).unwrap(), b"");
        assert_eq!(
            get(engine, Table::Fields, &key(1, "a")),
            None,
            "tables are separate"
        );

        put(engine, Table::Keys, &key(1, "a"), b"uno");
        assert_eq!(get(engine, Table::Keys, &key(1, "a")).unwrap(), b"uno");

        let mut batch = WriteBatch::new();
        batch.delete(Table::Keys, &key(1, "a"));
        batch.delete(Table::Keys, &key(1, "never-written"));
        engine.write(batch).unwrap();
        assert_eq!(get(engine, Table::Keys, &key(1, "a")), None);
        engine.write(WriteBatch::new()).unwrap();
    });
}

#[test]
fn a_batch_applies_in_order_across_tables() {
    on_both(|engine| {
        let mut batch = WriteBatch::new();
        batch.put(Table::Keys, &key(7, "k"), b"first");
        batch.put(Table::Expiry, &1234u64.to_be_bytes(), b"k");
        batch.put(Table::Fields, &key(16383, "f"), b"field");
        batch.delete(Table::Keys, &key(7, "k"));
        batch.put(Table::Keys, &key(7, "k"), b"last");
        assert_eq!(batch.len(), 5);
        engine.write(batch).unwrap();
        assert_eq!(get(engine, Table::Keys, &key(7, "k")).unwrap(), b"last");
        assert_eq!(
            get(engine, Table::Expiry, &1234u64.to_be_bytes()).unwrap(),
            b"k"
        );
        assert_eq!(
            get(engine, Table::Fields, &key(16383, "f")).unwrap(),
            b"field"
        );
    });
}

#[test]
fn a_batch_with_a_bad_key_writes_nothing() {
    on_both(|engine| {
        for bad_len in [0, 65536] {
            let mut batch = WriteBatch::new();
            batch.put(Table::Keys, &key(3, "good"), b"v");
            batch.put(Table::Keys, &vec![1; bad_len], b"v");
            let err = engine.write(batch).unwrap_err();
            assert!(matches!(err, StorageError::KeyLength { len } if len == bad_len));
            assert_eq!(get(engine, Table::Keys, &key(3, "good")), None);
        }
        let longest = vec![2; 65535];
        put(engine, Table::Keys, &longest, b"v");
        assert_eq!(get(engine, Table::Keys, &longest).unwrap(), b"v");
    });
}

#[test]
fn large_values_round_trip() {
    on_both(|engine| {
        let value: Vec<u8> = (0..3 << 20).map(|i: u32| (i % 251) as u8).collect();
        put(engine, Table::Keys, &key(9, "big"), &value);
        assert_eq!(get(engine, Table::Keys, &key(9, "big")).unwrap(), value);
    });
}

/// Writes names a, b, c in slots spread over every memory stripe, plus other tables.
fn fill(engine: &dyn Engine) -> Vec<Vec<u8>> {
    let mut batch = WriteBatch::new();
    let mut written = Vec::new();
    for slot in [0u16, 1, 255, 256, 200, 9000, 16383] {
        for name in ["c", "a", "b"] {
            let k = key(slot, name);
            batch.put(Table::Keys, &k, format!("{slot}{name}").as_bytes());
            written.push(k);
        }
    }
    batch.put(Table::Fields, &key(1, "f"), b"field");
    batch.put(Table::Meta, b"m", b"meta");
    engine.write(batch).unwrap();
    written.sort();
    written
}

#[test]
fn scans_are_in_key_order_within_bounds() {
    on_both(|engine| {
        let all = fill(engine);
        let scanned = engine.scan(Table::Keys, &[], None, usize::MAX).unwrap();
        assert_eq!(keys_of(&scanned), all, "every stripe, in key order");
        assert_eq!(scanned[0].1, Bytes::from_static(b"0a"));

        let slot_200 = engine
            .scan(
                Table::Keys,
                &200u16.to_be_bytes(),
                Some(&201u16.to_be_bytes()),
                100,
            )
            .unwrap();
        assert_eq!(
            keys_of(&slot_200),
            vec![key(200, "a"), key(200, "b"), key(200, "c")]
        );

        let from_middle = engine
            .scan(Table::Keys, &key(255, "b"), Some(&key(256, "b")), 100)
            .unwrap();
        assert_eq!(
            keys_of(&from_middle),
            vec![key(255, "b"), key(255, "c"), key(256, "a")],
            "start is inclusive and end exclusive, across a stripe boundary"
        );
        let limited = engine.scan(Table::Keys, &key(1, "b"), None, 4).unwrap();
        assert_eq!(keys_of(&limited), all[4..8].to_vec());

        assert!(engine
            .scan(Table::Keys, &key(5, "a"), Some(&key(5, "a")), 10)
            .unwrap()
            .is_empty());
        assert!(engine
            .scan(Table::Keys, &key(9, "a"), Some(&key(5, "a")), 10)
            .unwrap()
            .is_empty());
        assert!(engine.scan(Table::Keys, &[], None, 0).unwrap().is_empty());
        assert!(engine
            .scan(Table::Keys, &[0xff], None, 10)
            .unwrap()
            .is_empty());
        assert_eq!(engine.scan(Table::Fields, &[], None, 10).unwrap().len(), 1);
        assert_eq!(
            engine
                .scan(Table::Meta, b"m", Some(b"n"), 10)
                .unwrap()
                .len(),
            1
        );
    });
}

#[test]
fn paging_with_a_limit_sees_every_entry_once() {
    on_both(|engine| {
        let all = fill(engine);
        for page_size in [1, 2, 5, 100] {
            let mut paged = Vec::new();
            let mut start = Vec::new();
            loop {
                let page = engine.scan(Table::Keys, &start, None, page_size).unwrap();
                assert!(page.len() <= page_size);
                let Some((last, _)) = page.last() else { break };
                start = [&last[..], &[0]].concat();
                paged.extend(keys_of(&page));
            }
            assert_eq!(paged, all, "pages of {page_size}");
        }
    });
}

#[test]
fn expiry_index_scans_in_time_order() {
    on_both(|engine| {
        let mut batch = WriteBatch::new();
        for at in [300u64, 5, 1 << 40, 70] {
            batch.put(
                Table::Expiry,
                &[&at.to_be_bytes()[..], b"key"].concat(),
                b"",
            );
        }
        engine.write(batch).unwrap();
        let due = engine
            .scan(Table::Expiry, &[], Some(&100u64.to_be_bytes()), 10)
            .unwrap();
        let times: Vec<u64> = due
            .iter()
            .map(|(k, _)| u64::from_be_bytes(k[..8].try_into().unwrap()))
            .collect();
        assert_eq!(times, vec![5, 70]);
    });
}

#[test]
fn clear_empties_every_table_and_writes_still_work() {
    on_both(|engine| {
        fill(engine);
        engine.clear().unwrap();
        for table in [Table::Keys, Table::Fields, Table::Expiry, Table::Meta] {
            assert!(
                engine.scan(table, &[], None, 10).unwrap().is_empty(),
                "{table:?}"
            );
        }
        assert_eq!(get(engine, Table::Keys, &key(0, "a")), None);
        put(engine, Table::Keys, &key(0, "a"), b"again");
        assert_eq!(get(engine, Table::Keys, &key(0, "a")).unwrap(), b"again");
        engine.sync().unwrap();
        engine.flush_buffers().unwrap();
        engine.compact().unwrap();
        assert_eq!(engine.scan(Table::Keys, &[], None, 10).unwrap().len(), 1);
    });
}

#[test]
fn stats_report_sizes() {
    let memory = MemoryEngine::new();
    assert_eq!(memory.stats().memory_bytes, 0);
    fill(&memory);
    let filled = memory.stats().memory_bytes;
    assert!(filled > 23 * 40, "{filled}");
    assert_eq!(memory.stats().disk_bytes, 0);
    memory.clear().unwrap();
    assert_eq!(memory.stats().memory_bytes, 0);

    let dir = tempfile::tempdir().unwrap();
    let fjall = FjallEngine::open(dir.path(), FjallOptions::default()).unwrap();
    fill(&fjall);
    fjall.sync().unwrap();
    assert!(fjall.stats().disk_bytes > 0);
    assert!(fjall.stats().memory_bytes > 0);
}

#[test]
fn names() {
    assert_eq!(MemoryEngine::new().name(), "memory");
    let dir = tempfile::tempdir().unwrap();
    let fjall = FjallEngine::open(dir.path(), FjallOptions::default()).unwrap();
    assert_eq!(fjall.name(), "fjall");
    fill(&fjall);
    assert!(
        fjall.eviction_sample(5).is_empty(),
        "fjall does not track access"
    );
}

#[test]
fn concurrent_writers_and_readers_see_their_own_writes() {
    on_both(|engine| {
        std::thread::scope(|scope| {
            for t in 0..4u16 {
                scope.spawn(move || {
                    for i in 0..500u16 {
                        let k = key(t * 4000 + i, "k");
                        put(engine, Table::Keys, &k, &i.to_be_bytes());
                        assert_eq!(get(engine, Table::Keys, &k).unwrap(), i.to_be_bytes());
                        engine
                            .scan(Table::Keys, &key(t * 4000, ""), None, 10)
                            .unwrap();
                    }
                });
            }
        });
        assert_eq!(
            engine
                .scan(Table::Keys, &[], None, usize::MAX)
                .unwrap()
                .len(),
            2000
        );
    });
}

#[test]
fn engines_are_usable_as_shared_trait_objects() {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new());
    let writer = engine.clone();
    std::thread::spawn(move || put(&*writer, Table::Meta, b"m", b"v"))
        .join()
        .unwrap();
    assert_eq!(get(&*engine, Table::Meta, b"m").unwrap(), b"v");
}
