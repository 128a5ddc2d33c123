//! The durable engine's log, memtables and flushes: what a reopened engine holds, whether its
//! writes were flushed to fjall or only in the log.

use ringkv_storage::{Engine, FjallEngine, FjallOptions, Table, WriteBatch};

fn key(slot: u16, name: &str) -> Vec<u8> {
    [&slot.to_be_bytes()[..], name.as_bytes()].concat()
}

/// Options whose memtables freeze after a few KiB, so that tests flush often.
fn small_memtables() -> FjallOptions {
    FjallOptions {
        memtable_bytes: 16 * 1024,
        ..FjallOptions::default()
    }
}

/// One write: table, key, value (None deletes).
type Op<'a> = (Table, &'a [u8], Option<&'a [u8]>);

fn write(engine: &dyn Engine, ops: &[Op<'_>]) {
    let mut batch = WriteBatch::new();
    for (table, k, v) in ops {
        match v {
            Some(v) => batch.put(*table, k, v),
            None => batch.delete(*table, k),
        }
    }
    engine.write(&batch).unwrap();
}

/// Bytes of the log's files in the engine directory `dir`; files the flusher drops while
/// they are counted count as gone.
fn wal_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn get(engine: &dyn Engine, table: Table, k: &[u8]) -> Option<Vec<u8>> {
    engine.get(table, k).unwrap().map(|v| v.to_vec())
}

#[test]
fn synced_writes_survive_reopening_from_the_log_alone() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = FjallEngine::open(dir.path(), FjallOptions::default()).unwrap();
        write(&engine, &[(Table::Keys, &key(5, "a"), Some(b"1"))]);
        write(
            &engine,
            &[
                (Table::Keys, &key(5, "a"), Some(b"2")),
                (Table::Meta, b"m", Some(b"x")),
            ],
        );
        write(&engine, &[(Table::Meta, b"m", None)]);
        engine.sync().unwrap();
    }
    let engine = FjallEngine::open(dir.path(), FjallOptions::default()).unwrap();
    assert_eq!(get(&engine, Table::Keys, &key(5, "a")), Some(b"2".to_vec()));
    assert_eq!(get(&engine, Table::Meta, b"m"), None);
    write(&engine, &[(Table::Keys, &key(5, "b"), Some(b"3"))]);
    engine.sync().unwrap();
    drop(engine);
    let engine = FjallEngine::open(dir.path(), FjallOptions::default()).unwrap();
    assert_eq!(get(&engine, Table::Keys, &key(5, "b")), Some(b"3".to_vec()));
    assert_eq!(get(&engine, Table::Keys, &key(5, "a")), Some(b"2".to_vec()));
}

#[test]
fn unsynced_bytes_count_the_log_written_since_the_last_sync_or_hand_over() {
    let dir = tempfile::tempdir().unwrap();
    let engine = FjallEngine::open(dir.path(), FjallOptions::default()).unwrap();
    assert_eq!(engine.unsynced_bytes(), 0);
    let value = [b'v'; 1000];
    write(&engine, &[(Table::Keys, &key(1, "a"), Some(&value))]);
    let one = engine.unsynced_bytes();
    assert!(
        one > 1000,
        "one write of a 1000-byte value counts {one} bytes"
    );
    write(&engine, &[(Table::Keys, &key(1, "b"), Some(&value))]);
    assert_eq!(engine.unsynced_bytes(), 2 * one);
    engine.sync().unwrap();
    assert_eq!(engine.unsynced_bytes(), 0);
    write(&engine, &[(Table::Keys, &key(1, "c"), Some(&value))]);
    engine.flush_buffers().unwrap();
    assert_eq!(engine.unsynced_bytes(), 0);
}

#[test]
fn flushed_and_unflushed_writes_merge_in_reads_scans_and_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let value = vec![b'v'; 100];
    {
        let engine = FjallEngine::open(dir.path(), small_memtables()).unwrap();
        for i in 0..2000u16 {
            write(
                &engine,
                &[(Table::Keys, &key(i % 50, &format!("k{i:05}")), Some(&value))],
            );
        }
        engine.compact().unwrap();
        for i in (0..2000u16).filter(|i| i % 3 == 0) {
            write(
                &engine,
                &[(Table::Keys, &key(i % 50, &format!("k{i:05}")), None)],
            );
        }
        for i in (0..2000u16).filter(|i| i % 3 == 1) {
            write(
                &engine,
                &[(Table::Keys, &key(i % 50, &format!("k{i:05}")), Some(b"new"))],
            );
        }
        engine.sync().unwrap();
        check(&engine);
    }
    let engine = FjallEngine::open(dir.path(), small_memtables()).unwrap();
    check(&engine);
    engine.compact().unwrap();
    check(&engine);

    fn check(engine: &dyn Engine) {
        for i in 0..2000u16 {
            let found = get(engine, Table::Keys, &key(i % 50, &format!("k{i:05}")));
            match i % 3 {
                0 => assert_eq!(found, None, "k{i} was deleted"),
                1 => assert_eq!(found.as_deref(), Some(&b"new"[..]), "k{i} was rewritten"),
                _ => assert_eq!(found.map(|v| v.len()), Some(100), "k{i} keeps its value"),
            }
        }
        let mut seen = Vec::new();
        let mut start = Vec::new();
        loop {
            let page = engine.scan(Table::Keys, &start, None, 97).unwrap();
            let Some((last, _)) = page.last() else { break };
            start = [&last[..], &[0]].concat();
            seen.extend(page);
        }
        assert_eq!(seen.len(), 2000 - 667);
        assert!(
            seen.windows(2).all(|w| w[0].0 < w[1].0),
            "scans are in key order"
        );
        let slot_7 = engine
            .scan(
                Table::Keys,
                &7u16.to_be_bytes(),
                Some(&8u16.to_be_bytes()),
                usize::MAX,
            )
            .unwrap();
        assert_eq!(
            slot_7.len(),
            seen.iter()
                .filter(|(k, _)| k[..2] == 7u16.to_be_bytes())
                .count()
        );
    }
}

#[test]
fn clear_empties_the_data_tables_for_good_and_keeps_the_raft_table() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = FjallEngine::open(dir.path(), small_memtables()).unwrap();
        for i in 0..500u16 {
            write(
                &engine,
                &[
                    (Table::Keys, &key(i, "k"), Some(&[1; 64])),
                    (Table::Raft, &key(i, "log"), Some(b"entry")),
                ],
            );
        }
        engine.compact().unwrap();
        write(&engine, &[(Table::Keys, &key(1, "unflushed"), Some(b"x"))]);
        engine.clear().unwrap();
        write(&engine, &[(Table::Keys, &key(2, "after"), Some(b"y"))]);
        engine.sync().unwrap();
        assert_eq!(engine.scan(Table::Keys, &[], None, 10).unwrap().len(), 1);
    }
    let engine = FjallEngine::open(dir.path(), small_memtables()).unwrap();
    let keys = engine.scan(Table::Keys, &[], None, 10).unwrap();
    assert_eq!(keys.len(), 1, "only the write after the clear is left");
    assert_eq!(&keys[0].0[..], &key(2, "after")[..]);
    assert_eq!(
        engine.scan(Table::Raft, &[], None, 1000).unwrap().len(),
        500
    );
}

#[test]
fn log_segments_are_dropped_once_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let engine = FjallEngine::open(dir.path(), FjallOptions::default()).unwrap();
    let value = vec![7u8; 64 * 1024];
    for i in 0..1000u16 {
        write(&engine, &[(Table::Keys, &key(i, "big"), Some(&value))]);
    }
    engine.sync().unwrap();
    let wal_bytes = || wal_bytes(dir.path());
    assert!(
        wal_bytes() > 60 * 1024 * 1024,
        "64 MiB were logged: {}",
        wal_bytes()
    );
    engine.compact().unwrap();
    assert!(wal_bytes() <= 33 * 1024 * 1024, "left: {}", wal_bytes());
    assert_eq!(
        get(&engine, Table::Keys, &key(999, "big")).map(|v| v.len()),
        Some(value.len())
    );
}

#[test]
fn overwriting_the_same_key_does_not_grow_the_log_for_ever() {
    let dir = tempfile::tempdir().unwrap();
    let options = FjallOptions {
        memtable_bytes: 1024 * 1024,
        ..FjallOptions::default()
    };
    let engine = FjallEngine::open(dir.path(), options.clone()).unwrap();
    let value = vec![7u8; 1024];
    for i in 0..128 * 1024 {
        write(&engine, &[(Table::Keys, &key(1, "same"), Some(&value))]);
        if i % 1024 == 0 {
            engine.sync().unwrap();
        }
    }
    engine.sync().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while wal_bytes(dir.path()) > 64 * 1024 * 1024 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        wal_bytes(dir.path()) <= 64 * 1024 * 1024,
        "128 MiB were logged for one key, and the log keeps {}",
        wal_bytes(dir.path())
    );
    drop(engine);
    let engine = FjallEngine::open(dir.path(), options).unwrap();
    assert_eq!(get(&engine, Table::Keys, &key(1, "same")), Some(value));
}
