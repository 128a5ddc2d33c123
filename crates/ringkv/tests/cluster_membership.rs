//! Membership tests of real processes: a cluster grows from one node to three and five and
//! shrinks back to three under a steady load of writes and reads, `ringkv cluster add`
//! brings in a node started with `--await-join`, and a killed node's replicas are
//! re-created on the others once it has been down past `--dead-after`.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::cluster::TestCluster;
use redis::Commands;
use serde_json::Value;

/// Small shards count and quick failure detection keep the tests short.
const FLAGS: &[&str] = &["--shards", "8", "--dead-after", "3"];

/// Held by each test for its whole run: several clusters at once would starve the
/// 2-core machine and measure that instead.
static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_cluster_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `CLUSTER REBALANCE STATUS` of node `i`, parsed.
fn status(cluster: &TestCluster, i: usize) -> Option<Value> {
    let mut con = redis::Client::open(cluster.nodes[i].url())
        .ok()?
        .get_connection_with_timeout(Duration::from_secs(2))
        .ok()?;
    let json: String = redis::cmd("CLUSTER")
        .arg("REBALANCE")
        .arg("STATUS")
        .query(&mut con)
        .ok()?;
    serde_json::from_str(&json).ok()
}

/// How many replicas each node of a status holds, in node order.
fn replicas_held(status: &Value) -> Vec<u64> {
    status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["replicas"].as_u64().unwrap())
        .collect()
}

/// Waits until the cluster has exactly `nodes` members, nothing to move, and each member
/// holding `replicas_each` replicas (when given); returns the final status.
fn wait_settled(cluster: &TestCluster, nodes: usize, replicas_each: Option<&[u64]>) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = None;
    while Instant::now() < deadline {
        if let Some(s) = status(cluster, 0) {
            let held = replicas_held(&s);
            let settled = held.len() == nodes
                && s["moving"].as_array().unwrap().is_empty()
                && s["pending"].as_array().unwrap().is_empty()
                && replicas_each.is_none_or(|want| held == want);
            if settled {
                return s;
            }
            last = Some(s);
        }
        thread::sleep(Duration::from_millis(200));
    }
    panic!("the cluster did not settle on {nodes} nodes: {last:?}");
}

/// Clients that write unique keys and read back earlier ones until stopped, through the
/// cluster client, remembering every acknowledged write and counting failed requests.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<HashMap<String, String>>>,
    failed: Arc<AtomicU64>,
    handles: Vec<thread::JoinHandle<()>>,
}

impl Load {
    fn start(cluster: &TestCluster, threads: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(HashMap::new()));
        let failed = Arc::new(AtomicU64::new(0));
        let handles = (0..threads)
            .map(|t| {
                let client = cluster.client();
                let (stop, acked, failed) = (stop.clone(), acked.clone(), failed.clone());
                thread::spawn(move || {
                    let mut con = client.get_connection().unwrap();
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let (key, value) = (format!("m{t}:{i}"), format!("v{t}-{i}"));
                        match con.set::<_, _, ()>(&key, &value) {
                            Ok(()) => {
                                acked.lock().unwrap().insert(key, value);
                            }
                            Err(e) => {
                                eprintln!("write {key} failed: {e}");
                                failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        if i.is_multiple_of(4) && i > 0 {
                            let earlier = format!("m{t}:{}", i / 2);
                            match con.get::<_, Option<String>>(&earlier) {
                                Ok(Some(v)) if v == format!("v{t}-{}", i / 2) => {}
                                other => {
                                    eprintln!("read {earlier} gave {other:?}");
                                    failed.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                        i += 1;
                    }
                })
            })
            .collect();
        Load {
            stop,
            acked,
            failed,
            handles,
        }
    }

    fn stop(self) -> (HashMap<String, String>, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles {
            h.join().unwrap();
        }
        let acked = std::mem::take(&mut *self.acked.lock().unwrap());
        (acked, self.failed.load(Ordering::Relaxed))
    }
}

/// The client ports that node `i`'s `CLUSTER SLOTS` lists, for every range.
fn slot_owners(cluster: &TestCluster, i: usize) -> Vec<u16> {
    let mut con = redis::Client::open(cluster.nodes[i].url())
        .unwrap()
        .get_connection_with_timeout(Duration::from_secs(2))
        .unwrap();
    let slots: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER").arg("SLOTS").query(&mut con).unwrap();
    slots
        .iter()
        .flat_map(|range| range[2..].iter())
        .map(|node| {
            redis::from_redis_value::<(String, u16, String)>(node)
                .unwrap()
                .1
        })
        .collect()
}

/// Checks that the cluster holds exactly `expected`: every key with its value, and no other
/// key in any shard.
fn assert_holds_exactly(cluster: &TestCluster, expected: &HashMap<String, String>) {
    let mut con = cluster.client().get_connection().unwrap();
    let wrong: Vec<_> = expected
        .iter()
        .filter_map(|(k, v)| {
            let got: Option<String> = con.get(k).unwrap();
            (got.as_deref() != Some(v)).then(|| (k.clone(), got))
        })
        .take(5)
        .collect();
    assert!(wrong.is_empty(), "keys with wrong values: {wrong:?}");
    let mut total = 0u64;
    for slot in 0..16384u16 {
        let n: u64 = redis::cmd("CLUSTER")
            .arg("COUNTKEYSINSLOT")
            .arg(slot)
            .query(&mut con)
            .unwrap();
        total += n;
    }
    assert_eq!(total, expected.len() as u64, "keys in the cluster");
}

#[test]
fn growing_from_one_to_five_nodes_and_shrinking_to_three_under_load_loses_nothing() {
    let _serial = one_cluster_at_a_time();
    let mut cluster = TestCluster::start_first(FLAGS);
    cluster.wait_for_leaders(Duration::from_secs(20));
    let load = Load::start(&cluster, 3);
    thread::sleep(Duration::from_millis(500));

    cluster.join();
    cluster.join();
    wait_settled(&cluster, 3, Some(&[8, 8, 8]));
    cluster.join();
    cluster.join();
    let five = wait_settled(&cluster, 5, None);
    let held = replicas_held(&five);
    assert_eq!(held.iter().sum::<u64>(), 24, "{five}");
    assert!(held.iter().all(|h| (4..=5).contains(h)), "{five}");

    for node in ["5", "4"] {
        let host = format!("127.0.0.1:{}", cluster.nodes[0].port);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ringkv"))
            .args(["cluster", "--host", &host, "remove", node])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    wait_settled(&cluster, 3, Some(&[8, 8, 8]));
    // Clients learn the new map from their next redirection; the removed nodes keep
    // redirecting until they are stopped.
    thread::sleep(Duration::from_secs(2));
    for i in 0..5 {
        let routed = slot_owners(&cluster, i);
        assert!(
            routed
                .iter()
                .all(|port| ![cluster.nodes[3].port, cluster.nodes[4].port].contains(port)),
            "node {} still routes slots to a removed node: {routed:?}",
            i + 1
        );
    }
    cluster.kill(4);
    cluster.kill(3);
    // Started again, a removed node refuses to run, before it listens: clients still holding
    // an old map see the same refused connections as before.
    let refused = cluster.restart_refused(3);
    assert!(
        !refused.success()
            && cluster
                .log_text(3)
                .contains("node 4 was removed from the cluster"),
        "a removed node restarted: {refused}\n{}",
        cluster.log_text(3)
    );
    thread::sleep(Duration::from_millis(500));

    let (acked, failed) = load.stop();
    eprintln!(
        "{} writes acknowledged, {failed} requests failed",
        acked.len()
    );
    assert!(acked.len() > 200, "too few writes: {}", acked.len());
    assert_eq!(failed, 0, "requests failed after the client's retries");
    assert_holds_exactly(&cluster, &acked);
}

#[test]
fn a_node_down_past_dead_after_has_its_replicas_recreated_on_the_others() {
    let _serial = one_cluster_at_a_time();
    let mut cluster = TestCluster::start_first(FLAGS);
    cluster.wait_for_leaders(Duration::from_secs(20));
    for _ in 0..3 {
        cluster.join();
    }
    let four = wait_settled(&cluster, 4, None);
    let held = replicas_held(&four);
    assert_eq!(held.iter().sum::<u64>(), 24, "{four}");
    assert!(held.iter().all(|h| (5..=7).contains(h)), "{four}");
    let mut con = cluster.client().get_connection().unwrap();
    let keys: Vec<String> = (0..300).map(|i| format!("d{i}")).collect();
    for k in &keys {
        let _: () = con.set(k, k).unwrap();
    }

    cluster.kill(3);
    let settled = wait_settled(&cluster, 4, Some(&[8, 8, 8, 0]));
    assert_eq!(settled["nodes"][3]["up"], false, "{settled}");

    for i in 0..3 {
        let mut node = cluster.readonly(i);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let missing = keys
                .iter()
                .filter(|k| node.get::<_, Option<String>>(*k).ok().flatten().as_ref() != Some(*k))
                .count();
            if missing == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node {} lacks {missing} keys after re-replication",
                i + 1
            );
            thread::sleep(Duration::from_millis(200));
        }
    }
    let mut con = cluster.client().get_connection().unwrap();
    for k in keys.iter().take(20) {
        let v: String = con.get(k).unwrap();
        assert_eq!(&v, k);
    }
}

/// Runs `ringkv cluster --host <node 0> <args>`.
fn admin(cluster: &TestCluster, args: &[&str]) -> std::process::Output {
    let host = format!("127.0.0.1:{}", cluster.nodes[0].port);
    std::process::Command::new(env!("CARGO_BIN_EXE_ringkv"))
        .args(["cluster", "--host", &host])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cluster_add_brings_in_a_node_started_with_await_join() {
    let _serial = one_cluster_at_a_time();
    let mut cluster = TestCluster::start_first(FLAGS);
    cluster.wait_for_leaders(Duration::from_secs(20));
    let mut con = cluster.client().get_connection().unwrap();
    for i in 0..100 {
        let _: () = con.set(format!("a{i}"), i).unwrap();
    }

    let new = cluster.await_join();
    let mut waiting = redis::Client::open(cluster.nodes[new].url())
        .unwrap()
        .get_connection()
        .unwrap();
    let e = redis::cmd("GET")
        .arg("a1")
        .query::<Option<String>>(&mut waiting)
        .unwrap_err();
    assert_eq!(e.code(), Some("CLUSTERDOWN"), "{e}");
    let e = redis::cmd("CLUSTER")
        .arg(&["MEET", "127.0.0.1", "port"])
        .query::<()>(&mut waiting)
        .unwrap_err();
    assert_eq!(
        e.detail(),
        Some("Invalid node address specified: 127.0.0.1:port"),
        "{e}"
    );
    let member = format!("127.0.0.1:{}", cluster.nodes[0].port);
    let refused = admin(&cluster, &["add", &member]);
    assert!(!refused.status.success(), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("already in a cluster"), "{stderr}");

    let node = format!("127.0.0.1:{}", cluster.nodes[new].port);
    let added = admin(&cluster, &["add", &node, "--wait"]);
    let stdout = String::from_utf8_lossy(&added.stdout);
    assert!(added.status.success(), "{added:?}");
    assert!(stdout.contains("joined the cluster as"), "{stdout}");
    assert!(stdout.contains("balanced"), "{stdout}");
    wait_settled(&cluster, 2, Some(&[8, 8]));

    // Restarted, the node is a member at once: it does not wait for another MEET.
    cluster.restart(new);
    let mut direct = cluster.readonly(new);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match direct.get::<_, Option<i64>>("a7") {
            Ok(Some(7)) => break,
            other => assert!(Instant::now() < deadline, "a7 on the added node: {other:?}"),
        }
        thread::sleep(Duration::from_millis(200));
    }
    let mut con = cluster.client().get_connection().unwrap();
    for i in 0..100 {
        assert_eq!(con.get::<_, i64>(format!("a{i}")).unwrap(), i);
    }
}
