//! What only the fjall engine does: survive reopening and `kill -9`, refuse a directory it
//! cannot use, and give disk space back after deletions.
//!
//! Crash tests run a child process (this test binary again, running the ignored test
//! `crash_child` with a scenario in its environment), wait until it reports its writes done,
//! kill it with SIGKILL, and reopen the database.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use ringkv_storage::{Engine, FjallEngine, FjallOptions, StorageError, Table, WriteBatch};

const DIR_VAR: &str = "RINGKV_STORAGE_CRASH_DIR";
const SCENARIO_VAR: &str = "RINGKV_STORAGE_CRASH_SCENARIO";
const READY: &str = "RINGKV-CRASH-CHILD-READY";

fn key(slot: u16, name: &str) -> Vec<u8> {
    [&slot.to_be_bytes()[..], name.as_bytes()].concat()
}

fn open(dir: &Path) -> FjallEngine {
    FjallEngine::open(dir, FjallOptions::default()).unwrap()
}

fn put_all(engine: &dyn Engine, prefix: &str, count: u16) {
    let mut batch = WriteBatch::new();
    for i in 0..count {
        batch.put(
            Table::Keys,
            &key(i, &format!("{prefix}{i}")),
            prefix.as_bytes(),
        );
    }
    batch.put(Table::Meta, prefix.as_bytes(), b"done");
    engine.write(batch).unwrap();
}

fn count(engine: &dyn Engine, prefix: &str) -> usize {
    engine
        .scan(Table::Keys, &[], None, usize::MAX)
        .unwrap()
        .iter()
        .filter(|(_, v)| v[..] == *prefix.as_bytes())
        .count()
}

/// Runs `scenario` in a child process on `dir`, then kills it with SIGKILL once it is ready.
fn crash_after(scenario: &str, dir: &Path) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_VAR, dir)
        .env(SCENARIO_VAR, scenario)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let ready = stdout
        .lines()
        .map_while(|line| line.ok())
        .any(|line| line == READY);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        ready,
        "child process of scenario {scenario} exited before it was ready"
    );
}

/// The child side of the crash tests; does nothing unless started by `crash_after`.
#[test]
#[ignore = "run by the crash tests in a child process"]
fn crash_child() {
    let (Ok(dir), Ok(scenario)) = (std::env::var(DIR_VAR), std::env::var(SCENARIO_VAR)) else {
        return;
    };
    let engine = open(Path::new(&dir));
    match scenario.as_str() {
        "writes" => {
            put_all(&engine, "synced", 1000);
            engine.sync().unwrap();
            put_all(&engine, "flushed", 1000);
            engine.flush_buffers().unwrap();
            put_all(&engine, "unflushed", 1000);
        }
        "clear" => {
            put_all(&engine, "old", 1000);
            engine.sync().unwrap();
            engine.compact().unwrap();
            put_all(&engine, "old-in-journal", 1000);
            engine.sync().unwrap();
            engine.clear().unwrap();
            engine.sync().unwrap();
            put_all(&engine, "new", 10);
            engine.sync().unwrap();
        }
        other => panic!("unknown scenario {other}"),
    }
    println!("{READY}");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

#[test]
fn synced_and_flushed_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    crash_after("writes", dir.path());
    let engine = open(dir.path());
    assert_eq!(count(&engine, "synced"), 1000);
    assert_eq!(
        count(&engine, "flushed"),
        1000,
        "flush_buffers survives a process crash"
    );
    let unflushed = count(&engine, "unflushed");
    let marker = engine.get(Table::Meta, b"unflushed").unwrap();
    assert!(
        (unflushed, marker.is_some()) == (0, false)
            || (unflushed, marker.is_some()) == (1000, true),
        "an unsynced batch is recovered whole or not at all: {unflushed} keys"
    );
}

#[test]
fn cleared_data_stays_gone_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    crash_after("clear", dir.path());
    let engine = open(dir.path());
    assert_eq!(count(&engine, "old"), 0);
    assert_eq!(count(&engine, "old-in-journal"), 0);
    assert_eq!(engine.get(Table::Meta, b"old").unwrap(), None);
    assert_eq!(count(&engine, "new"), 10);
}

#[test]
fn writes_survive_a_clean_reopen_and_the_sentinel_stays_hidden() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = open(dir.path());
        put_all(&engine, "kept", 100);
        engine.sync().unwrap();
        engine.compact().unwrap();
        put_all(&engine, "after", 3);
    }
    let engine = open(dir.path());
    assert_eq!(count(&engine, "kept"), 100);
    assert_eq!(count(&engine, "after"), 3);
    for table in [Table::Keys, Table::Fields, Table::Expiry, Table::Meta] {
        assert_eq!(engine.get(table, &[0xff; 16]).unwrap(), None);
        assert!(
            engine.scan(table, &[0xf0], None, 10).unwrap().is_empty(),
            "{table:?}"
        );
    }
    assert_eq!(engine.scan(Table::Meta, &[], None, 10).unwrap().len(), 2);
}

#[test]
fn a_locked_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path());
    let err = FjallEngine::open(dir.path(), FjallOptions::default())
        .err()
        .expect("second open must fail");
    assert!(matches!(err, StorageError::Locked { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("locked"), "{message}");
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
}

#[test]
fn an_unusable_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let path = file.join("db");
    let err = FjallEngine::open(&path, FjallOptions::default())
        .err()
        .expect("open under a file must fail");
    assert!(matches!(err, StorageError::Directory { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("cannot use database directory"),
        "{message}"
    );
}

fn write_many(engine: &dyn Engine, count: u32, value: Option<&[u8]>) {
    for chunk in 0..count / 1000 {
        let mut batch = WriteBatch::new();
        for i in chunk * 1000..(chunk + 1) * 1000 {
            let k = key((i % 16384) as u16, &i.to_string());
            match value {
                Some(v) => batch.put(Table::Keys, &k, v),
                None => batch.delete(Table::Keys, &k),
            }
        }
        engine.write(batch).unwrap();
    }
    engine.sync().unwrap();
}

#[test]
fn compaction_gives_back_the_space_of_deleted_data() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let value: Vec<u8> = (0..1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write_many(&engine, 100_000, Some(&value));
    let peak = engine.stats().disk_bytes;
    assert!(peak > 100_000 * 1024, "peak {peak}");
    write_many(&engine, 100_000, None);
    engine.compact().unwrap();
    let after = engine.stats().disk_bytes;
    assert!(
        after < peak / 4,
        "{after} bytes on disk after deleting everything, {peak} before"
    );
    assert!(engine.scan(Table::Keys, &[], None, 1).unwrap().is_empty());
}

#[test]
fn clear_gives_back_disk_space() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let value = vec![7u8; 1024];
    write_many(&engine, 50_000, Some(&value));
    engine.compact().unwrap();
    let full = engine.stats().disk_bytes;
    engine.clear().unwrap();
    engine.sync().unwrap();
    let cleared = engine.stats().disk_bytes;
    assert!(
        cleared < full / 2,
        "{cleared} bytes on disk after clear, {full} before"
    );
}
