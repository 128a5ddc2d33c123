//! Durability: every write acknowledged under the default `--fsync always` survives `kill -9`
//! of the server mid-stream, data with its TTLs survives restarts, and `SHUTDOWN` or SIGTERM
//! make every write durable before the process ends, whatever the fsync policy.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{err, ok, q, Node};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use redis::AsyncCommands;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let mut node = Node::start(&[]);
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let incrs_acked = Arc::new(Mutex::new(0u64));
    let mut writers = Vec::new();
    for w in 0..50 {
        let client = redis::Client::open(node.url()).unwrap();
        let acked = acked.clone();
        let incrs_acked = incrs_acked.clone();
        writers.push(tokio::spawn(async move {
            let Ok(mut con) = client.get_multiplexed_async_connection().await else {
                return;
            };
            for i in 0u64.. {
                let key = format!("w{w}:k{i}");
                // Up to 1 KiB: the fsyncs of small rounds run on the connections' thread,
                // those of large ones on the log's sync thread.
                let value = format!("v{i}-{}", "x".repeat((i % 64 * 16) as usize));
                let set: redis::RedisResult<()> = con.set(&key, &value).await;
                if set.is_err() {
                    return;
                }
                acked.lock().unwrap().insert(key, value);
                let incr: redis::RedisResult<i64> = con.incr("counter", 1).await;
                if incr.is_err() {
                    return;
                }
                *incrs_acked.lock().unwrap() += 1;
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 5000 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.kill();
    for w in writers {
        let _ = tokio::time::timeout(Duration::from_secs(10), w).await;
    }
    let acked = acked.lock().unwrap().clone();
    let incrs = *incrs_acked.lock().unwrap();
    assert!(
        acked.len() >= 5000,
        "only {} writes acknowledged before the kill",
        acked.len()
    );

    node.restart();
    let mut con = node.async_conn().await;
    let keys: Vec<&String> = acked.keys().collect();
    for chunk in keys.chunks(500) {
        let values: Vec<Option<String>> = con.mget(chunk).await.unwrap();
        for (key, value) in chunk.iter().zip(values) {
            assert_eq!(
                value.as_ref(),
                Some(&acked[*key]),
                "acknowledged write of {key} lost"
            );
        }
    }
    let counter: u64 = con.get("counter").await.unwrap();
    assert!(
        counter >= incrs,
        "counter {counter} < {incrs} acknowledged INCRs"
    );
}

#[test]
fn data_and_ttls_survive_restart() {
    let mut node = Node::start(&[]);
    let mut con = node.conn();
    redis::cmd("SET")
        .arg("plain")
        .arg("value")
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("SET")
        .arg("ttl")
        .arg("soon")
        .arg("EX")
        .arg(1000)
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("SET")
        .arg("short")
        .arg("gone")
        .arg("PX")
        .arg(300)
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("HSET")
        .arg("h")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("2")
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("INCRBY")
        .arg("n")
        .arg(41)
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("INCR").arg("n").query::<()>(&mut con).unwrap();
    let expire_at: i64 = redis::cmd("PEXPIRETIME")
        .arg("ttl")
        .query(&mut con)
        .unwrap();

    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(node.pid().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(400));
    node.restart();
    let mut con = node.conn();

    let plain: String = redis::cmd("GET").arg("plain").query(&mut con).unwrap();
    assert_eq!(plain, "value");
    let after: i64 = redis::cmd("PEXPIRETIME")
        .arg("ttl")
        .query(&mut con)
        .unwrap();
    assert_eq!(after, expire_at, "absolute expiry changed across restart");
    let ttl: i64 = redis::cmd("TTL").arg("ttl").query(&mut con).unwrap();
    assert!((990..=1000).contains(&ttl), "ttl {ttl}");
    let short: Option<String> = redis::cmd("GET").arg("short").query(&mut con).unwrap();
    assert_eq!(
        short, None,
        "a key whose TTL passed while the server was down must be gone"
    );
    let h: HashMap<String, String> = redis::cmd("HGETALL").arg("h").query(&mut con).unwrap();
    assert_eq!(
        h,
        HashMap::from([("a".into(), "1".into()), ("b".into(), "2".into())])
    );
    let n: i64 = redis::cmd("GET").arg("n").query(&mut con).unwrap();
    assert_eq!(n, 42);
    let hlen: i64 = redis::cmd("HLEN").arg("h").query(&mut con).unwrap();
    assert_eq!(hlen, 2);
}

#[test]
fn memory_engine_starts_empty_after_restart() {
    let mut node = Node::start(&["--engine", "memory"]);
    let mut con = node.conn();
    redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query::<()>(&mut con)
        .unwrap();
    node.restart();
    let mut con = node.conn();
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 0);
}

/// Writes `count` keys named `{prefix}:{i}` in one pipeline.
fn write_keys(con: &mut redis::Connection, prefix: &str, count: usize) {
    let mut pipe = redis::pipe();
    for i in 0..count {
        pipe.cmd("SET").arg(format!("{prefix}:{i}")).arg(i).ignore();
    }
    pipe.query::<()>(con).unwrap();
}

/// Asserts that every key `write_keys` wrote is there.
fn assert_keys(con: &mut redis::Connection, prefix: &str, count: usize) {
    let keys: Vec<String> = (0..count).map(|i| format!("{prefix}:{i}")).collect();
    let values: Vec<Option<usize>> = redis::cmd("MGET").arg(&keys).query(con).unwrap();
    let missing = values
        .iter()
        .enumerate()
        .filter(|(i, v)| **v != Some(*i))
        .count();
    assert_eq!(missing, 0, "{missing} of {count} {prefix} keys lost");
}

/// Waits for `node` to end by itself and asserts that it ended with status 0.
fn assert_clean_exit(node: &mut Node, after: &str) {
    let status = node.wait_exit(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "exit after {after}: {status:?}"
    );
}

#[test]
fn shutdown_and_sigterm_make_writes_durable_without_fsync() {
    let mut node = Node::start(&["--fsync", "never"]);
    let mut con = node.conn();
    write_keys(&mut con, "before-shutdown", 5000);
    let reply: redis::RedisResult<redis::Value> = redis::cmd("SHUTDOWN").query(&mut con);
    assert!(
        reply.is_err(),
        "SHUTDOWN closes the connection without a reply: {reply:?}"
    );
    assert_clean_exit(&mut node, "SHUTDOWN");

    node.start_again();
    let mut con = node.conn();
    assert_keys(&mut con, "before-shutdown", 5000);
    write_keys(&mut con, "before-sigterm", 5000);
    kill(Pid::from_raw(node.pid() as i32), Signal::SIGTERM).unwrap();
    assert_clean_exit(&mut node, "SIGTERM");

    node.start_again();
    let mut con = node.conn();
    assert_keys(&mut con, "before-shutdown", 5000);
    assert_keys(&mut con, "before-sigterm", 5000);
}

#[test]
fn shutdown_refuses_options_as_redis_does_and_keeps_serving() {
    let mut node = Node::start(&["--engine", "memory"]);
    let mut con = node.conn();
    assert_eq!(q(&mut con, &["SET", "k", "v"]), ok());
    assert_eq!(
        err(&mut con, &["SHUTDOWN", "ABORT"]),
        "ERR No shutdown in progress."
    );
    for bad in [&["SAVE", "NOSAVE"][..], &["NOW", "ABORT"], &["LATER"]] {
        let args: Vec<&str> = std::iter::once("SHUTDOWN")
            .chain(bad.iter().copied())
            .collect();
        assert_eq!(err(&mut con, &args), "ERR syntax error", "SHUTDOWN {bad:?}");
    }
    let value: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(value, "v");
    assert!(node.is_running());
}
