//! What only the memory engine does: access tracking for eviction samples, and its memory
//! estimate.

use std::collections::HashSet;
use std::time::Duration;

use ringkv_storage::{Engine, MemoryEngine, Table, WriteBatch};

fn key(slot: u16, name: &str) -> Vec<u8> {
    [&slot.to_be_bytes()[..], name.as_bytes()].concat()
}

fn put(engine: &MemoryEngine, k: &[u8]) {
    let mut batch = WriteBatch::new();
    batch.put(Table::Keys, k, b"value");
    engine.write(batch).unwrap();
}

#[test]
fn samples_report_idle_time_since_last_read_or_write() {
    let engine = MemoryEngine::new();
    put(&engine, &key(5, "read"));
    put(&engine, &key(5, "idle"));
    put(&engine, &key(5, "rewritten"));
    std::thread::sleep(Duration::from_millis(60));
    engine.get(Table::Keys, &key(5, "read")).unwrap();
    put(&engine, &key(5, "rewritten"));
    let sample = engine.eviction_sample(10);
    assert_eq!(
        sample.len(),
        3,
        "each key once, though fewer than asked for"
    );
    let idle = |name: &str| {
        sample
            .iter()
            .find(|(k, _)| k[..] == key(5, name)[..])
            .unwrap()
            .1
    };
    assert!(idle("idle") >= 60, "{sample:?}");
    assert!(idle("read") < 60, "{sample:?}");
    assert!(idle("rewritten") < 60, "{sample:?}");
}

#[test]
fn samples_are_distinct_keys_from_varying_positions() {
    let engine = MemoryEngine::new();
    let mut batch = WriteBatch::new();
    for slot in (0..16384u16).step_by(7) {
        batch.put(Table::Keys, &key(slot, "k"), b"v");
    }
    batch.put(Table::Fields, &key(1, "field"), b"v");
    engine.write(batch).unwrap();
    let mut firsts = HashSet::new();
    for _ in 0..50 {
        let sample = engine.eviction_sample(16);
        assert_eq!(sample.len(), 16);
        let distinct: HashSet<_> = sample.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(distinct.len(), 16);
        assert!(
            sample.iter().all(|(k, _)| k.ends_with(b"k")),
            "only Keys entries"
        );
        firsts.insert(sample[0].0.clone());
    }
    assert!(firsts.len() > 10, "samples start at random positions");
    assert!(engine.eviction_sample(0).is_empty());
    assert_eq!(
        engine.eviction_sample(usize::MAX).len(),
        16384_usize.div_ceil(7)
    );
}

#[test]
fn an_empty_engine_samples_nothing() {
    let engine = MemoryEngine::new();
    assert!(engine.eviction_sample(5).is_empty());
    put(&engine, &key(16383, "only"));
    assert_eq!(engine.eviction_sample(5).len(), 1);
}

#[test]
fn clearing_many_keys_is_quick_and_resets_the_estimate() {
    let engine = MemoryEngine::new();
    let mut batch = WriteBatch::new();
    for i in 0..200_000u32 {
        batch.put(Table::Keys, &key((i % 16384) as u16, &i.to_string()), b"v");
    }
    engine.write(batch).unwrap();
    assert!(engine.stats().memory_bytes > 200_000 * 40);
    let started = std::time::Instant::now();
    engine.clear().unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(engine.stats().memory_bytes, 0);
    assert!(engine.scan(Table::Keys, &[], None, 1).unwrap().is_empty());
}
