//! The `ringkv server` command line: settings from flags, environment and TOML file, clear
//! one-line errors with exit code 1, and the memory engine's maxmemory policies.

mod common;

use std::process::Command;

use common::{err, free_port, q, Node};
use redis::Value::Int;

fn ringkv() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ringkv"))
}

/// Runs `ringkv server --port <port> --dir <dir>`, expecting exit code 1 with a one-line
/// error; returns that line.
fn one_line_failure(port: u16, dir: &std::path::Path) -> String {
    let out = ringkv()
        .args([
            "server",
            "--port",
            &port.to_string(),
            "--dir",
            dir.to_str().unwrap(),
        ])
        .env("RINGKV_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn port_in_use_is_a_one_line_error() {
    let node = Node::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let stderr = one_line_failure(node.port, dir.path());
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{}", node.port)),
        "{stderr}"
    );
    assert!(stderr.contains("Address already in use"), "{stderr}");
}

#[test]
fn unwritable_dir_is_a_one_line_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let stderr = one_line_failure(free_port(), &file.path().join("data"));
    assert!(stderr.contains("cannot use data directory"), "{stderr}");
}

#[test]
fn help_explains_every_flag() {
    let out = ringkv().args(["server", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--bind",
        "--port",
        "--dir",
        "--engine",
        "--fsync",
        "--maxclients",
        "--requirepass",
        "--maxmemory",
        "--maxmemory-policy",
        "--threads",
        "--config",
    ] {
        assert!(help.contains(flag), "{flag} missing from help:\n{help}");
    }
    let out = ringkv()
        .args(["server", "--fsync", "sometimes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_single_node_serves_from_one_thread_unless_given_more() {
    let threads = |node: &Node| -> Vec<String> {
        redis::cmd("CONFIG")
            .arg("GET")
            .arg("threads")
            .query(&mut node.conn())
            .unwrap()
    };
    assert_eq!(threads(&Node::start(&[])), vec!["threads", "1"]);
    assert_eq!(
        threads(&Node::start(&["--threads", "3"])),
        vec!["threads", "3"]
    );

    let dir = tempfile::tempdir().unwrap();
    let out = ringkv()
        .args([
            "server",
            "--threads",
            "0",
            "--port",
            &free_port().to_string(),
        ])
        .args(["--dir", dir.path().to_str().unwrap()])
        .env("RINGKV_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--threads must be at least 1"), "{stderr}");
}

#[test]
fn settings_from_environment_and_toml_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ringkv.toml");
    std::fs::write(&config, "engine = \"memory\"\nmaxmemory = \"5mb\"\nmaxmemory-policy = \"allkeys-lru\"\nrequirepass = \"fromfile\"\n").unwrap();
    let node = Node::start(&[
        "--config",
        config.to_str().unwrap(),
        "--requirepass",
        "fromflag",
    ]);
    let c = &mut node.conn();
    assert_eq!(
        err(c, &["AUTH", "fromfile"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    q(c, &["AUTH", "fromflag"]);
    let cfg: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory*")
        .query(c)
        .unwrap();
    assert_eq!(
        cfg,
        vec!["maxmemory", "5242880", "maxmemory-policy", "allkeys-lru"]
    );
    let engine: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("engine")
        .query(c)
        .unwrap();
    assert_eq!(engine, vec!["engine", "memory"]);

    let port = free_port();
    let mut child = ringkv()
        .args(["server", "--dir", dir.path().join("d").to_str().unwrap()])
        .env("RINGKV_PORT", port.to_string())
        .env("RINGKV_FSYNC", "everysec")
        .env("RINGKV_LOG", "off")
        .spawn()
        .unwrap();
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut con = (0..200)
        .find_map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(25));
            client.get_connection().ok()
        })
        .expect("server from environment settings");
    let fsync: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("fsync")
        .query(&mut con)
        .unwrap();
    assert_eq!(fsync, vec!["fsync", "everysec"]);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn maxmemory_policies() {
    let lru = Node::start(&[
        "--engine",
        "memory",
        "--maxmemory",
        "2mb",
        "--maxmemory-policy",
        "allkeys-lru",
    ]);
    let c = &mut lru.conn();
    let value = "x".repeat(1000);
    for i in 0..5000 {
        redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(&value)
            .query::<()>(c)
            .unwrap();
    }
    let Int(size) = q(c, &["DBSIZE"]) else {
        panic!()
    };
    assert!(size > 100 && size < 5000, "dbsize {size}");
    let info: String = redis::cmd("INFO").arg("memory").query(c).unwrap();
    let used: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Like Redis, eviction runs before a write, so the write itself may overshoot by its size.
    assert!(used <= 2 * 1024 * 1024 + 4096, "used_memory {used}");
    let stats: String = redis::cmd("INFO").arg("stats").query(c).unwrap();
    assert!(!stats.contains("evicted_keys:0\r"), "{stats}");

    let ttl = Node::start(&[
        "--engine",
        "memory",
        "--maxmemory",
        "1mb",
        "--maxmemory-policy",
        "volatile-ttl",
    ]);
    let c = &mut ttl.conn();
    for i in 0..200 {
        redis::cmd("SET")
            .arg(format!("soon{i}"))
            .arg(&value)
            .arg("EX")
            .arg(1000 + i)
            .query::<()>(c)
            .unwrap();
    }
    for i in 0..2000 {
        if redis::cmd("SET")
            .arg(format!("keep{i}"))
            .arg(&value)
            .query::<()>(c)
            .is_err()
        {
            break;
        }
    }
    assert_eq!(
        q(c, &["EXISTS", "soon0"]),
        Int(0),
        "the key nearest to expiry goes first"
    );
    assert_eq!(
        q(c, &["EXISTS", "keep0"]),
        Int(1),
        "keys without TTL are never evicted"
    );
    assert_eq!(
        err(c, &["SET", "more", &value]),
        "OOM command not allowed when used memory > 'maxmemory'."
    );

    let full = Node::start(&["--engine", "memory", "--maxmemory", "1mb"]);
    let c = &mut full.conn();
    let mut refused = None;
    for i in 0..5000 {
        if let Err(e) = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(&value)
            .query::<()>(c)
        {
            refused = Some(common::err_text(Err(e)));
            break;
        }
    }
    assert_eq!(
        refused.as_deref(),
        Some("OOM command not allowed when used memory > 'maxmemory'.")
    );
    assert_eq!(
        q(c, &["GET", "k0"]),
        redis::Value::BulkString(value.into_bytes()),
        "noeviction keeps data"
    );
    assert_eq!(q(c, &["DEL", "k0"]), Int(1), "deletes are still allowed");
}
