//! The same behaviour checks for both engines, plus fjall's persistence and space reclaiming.

use ringkv_storage::{
    Engine, FjallEngine, FjallOptions, MemoryEngine, Table, WriteBatch, SENTINEL,
};

fn key(slot: u16, name: &str) -> Vec<u8> {
    [&slot.to_be_bytes()[..], name.as_bytes()].concat()
}

fn put(engine: &dyn Engine, table: Table, k: &[u8], v: &[u8]) {
    let mut b = WriteBatch::new();
    b.put(table, k, v);
    engine.write(&b).unwrap();
}

fn behaves_like_an_ordered_store(engine: &dyn Engine) {
    assert_eq!(engine.get(Table::Keys, b"\0\0missing").unwrap(), None);
    let mut batch = WriteBatch::new();
    for slot in [0u16, 1, 200, 9000, 16383] {
        for name in ["a", "b", "c"] {
            batch.put(
                Table::Keys,
                &key(slot, name),
                format!("{slot}{name}").as_bytes(),
            );
        }
    }
    batch.put(Table::Meta, b"m", b"meta");
    assert_eq!(batch.len(), 16);
    engine.write(&batch).unwrap();
    assert_eq!(
        engine.get(Table::Keys, &key(9000, "b")).unwrap().as_deref(),
        Some(&b"9000b"[..])
    );
    assert_eq!(
        engine.get(Table::Fields, &key(9000, "b")).unwrap(),
        None,
        "tables are separate"
    );
    assert_eq!(
        engine.get(Table::Meta, b"m").unwrap().as_deref(),
        Some(&b"meta"[..])
    );

    let all = engine.scan(Table::Keys, &[], None, usize::MAX).unwrap();
    assert_eq!(all.len(), 15);
    assert!(
        all.windows(2).all(|w| w[0].0 < w[1].0),
        "scan is in key order across stripes"
    );
    let slot_200 = engine
        .scan(
            Table::Keys,
            &200u16.to_be_bytes(),
            Some(&201u16.to_be_bytes()),
            100,
        )
        .unwrap();
    assert_eq!(
        slot_200.iter().map(|(k, _)| k.to_vec()).collect::<Vec<_>>(),
        vec![key(200, "a"), key(200, "b"), key(200, "c")]
    );
    let mut paged = Vec::new();
    let mut start = Vec::new();
    loop {
        let page = engine.scan(Table::Keys, &start, None, 4).unwrap();
        let Some((last, _)) = page.last() else { break };
        start = [&last[..], &[0]].concat();
        paged.extend(page);
    }
    assert_eq!(paged, all, "paging with limits sees every entry once");

    let mut batch = WriteBatch::new();
    batch.delete(Table::Keys, &key(0, "a"));
    batch.put(Table::Keys, &key(0, "b"), b"new");
    engine.write(&batch).unwrap();
    assert_eq!(engine.get(Table::Keys, &key(0, "a")).unwrap(), None);
    assert_eq!(
        engine.get(Table::Keys, &key(0, "b")).unwrap().as_deref(),
        Some(&b"new"[..])
    );

    engine.clear().unwrap();
    for table in Table::ALL {
        assert!(
            engine.scan(table, &[], None, 10).unwrap().is_empty(),
            "{table:?} cleared"
        );
    }
}

#[test]
fn memory_engine() {
    let engine = MemoryEngine::new();
    behaves_like_an_ordered_store(&engine);
    put(&engine, Table::Keys, &key(5, "old"), b"v");
    assert_eq!(
        engine.unsynced_bytes(),
        0,
        "the memory engine keeps nothing to sync"
    );
    std::thread::sleep(std::time::Duration::from_millis(30));
    put(&engine, Table::Keys, &key(5, "new"), b"v");
    // The sample starts at a random slot and wraps around; wherever it starts, each key once.
    for _ in 0..500 {
        assert_eq!(engine.eviction_sample(10).len(), 2);
    }
    let sample = engine.eviction_sample(10);
    let idle = |name: &str| {
        sample
            .iter()
            .find(|(k, _)| k[..] == key(5, name)[..])
            .unwrap()
            .1
    };
    assert!(idle("old") > idle("new"));
    assert!(engine.stats().memory_bytes > 0);
    engine.clear().unwrap();
    assert_eq!(engine.stats().memory_bytes, 0);
}

#[test]
fn fjall_engine() {
    let dir = tempfile::tempdir().unwrap();
    let engine = FjallEngine::open(dir.path(), FjallOptions::default()).unwrap();
    behaves_like_an_ordered_store(&engine);
    assert!(engine.eviction_sample(5).is_empty());
}

#[test]
fn fjall_keeps_synced_writes_and_hides_its_sentinel() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = FjallEngine::open(dir.path(), FjallOptions::default()).unwrap();
        put(&engine, Table::Keys, &key(1, "k"), b"v");
        engine.sync().unwrap();
        engine.compact().unwrap();
    }
    let engine = FjallEngine::open(dir.path(), FjallOptions::default()).unwrap();
    assert_eq!(
        engine.get(Table::Keys, &key(1, "k")).unwrap().as_deref(),
        Some(&b"v"[..])
    );
    assert_eq!(engine.get(Table::Keys, SENTINEL).unwrap(), None);
    assert_eq!(engine.scan(Table::Keys, &[], None, 10).unwrap().len(), 1);
    assert!(engine
        .scan(Table::Keys, SENTINEL, None, 10)
        .unwrap()
        .is_empty());
}

#[test]
fn fjall_compaction_returns_space_of_deleted_data() {
    let dir = tempfile::tempdir().unwrap();
    let engine = FjallEngine::open(dir.path(), FjallOptions::default()).unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut incompressible = || -> Vec<u8> {
        (0..128)
            .flat_map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed.to_le_bytes()
            })
            .collect()
    };
    for chunk in 0..100 {
        let mut batch = WriteBatch::new();
        for i in 0..1000 {
            batch.put(
                Table::Keys,
                &key(i as u16, &format!("{chunk}:{i}")),
                &incompressible(),
            );
        }
        engine.write(&batch).unwrap();
    }
    engine.sync().unwrap();
    engine.compact().unwrap();
    let peak = engine.stats().disk_bytes;
    assert!(
        peak > 100 * 1024 * 1024,
        "100 MiB of values take {peak} bytes"
    );
    for chunk in 0..100 {
        let mut batch = WriteBatch::new();
        for i in 0..1000 {
            batch.delete(Table::Keys, &key(i as u16, &format!("{chunk}:{i}")));
        }
        engine.write(&batch).unwrap();
    }
    engine.sync().unwrap();
    engine.compact().unwrap();
    // What stays: the log's current segment and its spare (16 MiB each at most), and what
    // fjall's journal holds until it rotates.
    let after = engine.stats().disk_bytes;
    assert!(
        after <= peak / 2,
        "disk {after} bytes after deleting everything, {peak} before"
    );
}
