//! Fault tests of a replicated cluster of real processes: leaders killed under load, every
//! node killed at once, and a follower that must catch up from a snapshot. Every write the
//! cluster acknowledged must be there afterwards.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::cluster::TestCluster;
use redis::cluster_routing::get_slot;
use redis::Commands;

/// Shards of the test clusters; four keeps three 2-core test processes light.
const SHARD_FLAGS: &[&str] = &["--shards", "4"];

/// Held by each test for its whole run: the tests here time failovers, and several 3-node
/// clusters at once on a 2-core machine would measure CPU starvation instead.
static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_cluster_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A key whose slot falls in the shard starting at `first_slot`.
fn key_in_shard(first_slot: u16, prefix: &str) -> String {
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|k| (first_slot..first_slot + 4096).contains(&get_slot(k.as_bytes())))
        .unwrap()
}

/// Writers that SET unique keys through the cluster client until stopped, remembering
/// every acknowledged write.
struct Writers {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<HashMap<String, String>>>,
    handles: Vec<thread::JoinHandle<u64>>,
}

impl Writers {
    fn start(cluster: &TestCluster, threads: usize) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(HashMap::new()));
        let handles = (0..threads)
            .map(|t| {
                let client = cluster.client();
                let (stop, acked) = (stop.clone(), acked.clone());
                thread::spawn(move || {
                    let mut con = client.get_connection().unwrap();
                    let mut failed = 0;
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let (key, value) = (format!("w{t}:{i}"), format!("v{t}-{i}"));
                        match con.set::<_, _, ()>(&key, &value) {
                            Ok(()) => {
                                acked.lock().unwrap().insert(key, value);
                            }
                            Err(_) => failed += 1,
                        }
                        i += 1;
                    }
                    failed
                })
            })
            .collect();
        Writers {
            stop,
            acked,
            handles,
        }
    }

    /// Waits until `count` writes are acknowledged, or `within` has passed.
    fn wait_for_acks(&self, count: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.acked.lock().unwrap().len() < count && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(self) -> (HashMap<String, String>, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let failed = self.handles.into_iter().map(|h| h.join().unwrap()).sum();
        let acked = std::mem::take(&mut *self.acked.lock().unwrap());
        (acked, failed)
    }
}

/// Checks that every acknowledged write reads back with its value.
fn assert_all_present(cluster: &TestCluster, acked: &HashMap<String, String>) {
    let mut con = cluster.client().get_connection().unwrap();
    let mut missing = Vec::new();
    for (key, value) in acked {
        let got: Option<String> = con.get(key).unwrap();
        if got.as_deref() != Some(value) {
            missing.push((key.clone(), got));
        }
    }
    for (key, _) in missing.iter().take(3) {
        for i in 0..cluster.nodes.len() {
            let mut c = cluster.readonly(i);
            let v: redis::RedisResult<Option<String>> = c.get(key);
            eprintln!(
                "node {} holds {key} (slot {}): {v:?}",
                i + 1,
                get_slot(key.as_bytes())
            );
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost, e.g. {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
}

/// Time until some running node accepts a write to `key`, probing each directly.
fn time_to_write(cluster: &TestCluster, key: &str, since: Instant, limit: Duration) -> Duration {
    while since.elapsed() < limit {
        for url in cluster.urls() {
            let ok = redis::Client::open(url)
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(500)))
                .and_then(|mut con| {
                    con.set_read_timeout(Some(Duration::from_secs(1)))?;
                    redis::cmd("SET")
                        .arg(key)
                        .arg("probe")
                        .query::<String>(&mut con)
                })
                .is_ok();
            if ok {
                return since.elapsed();
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!("no node accepted a write to {key} within {limit:?}");
}

#[test]
fn killing_each_shard_leader_loses_no_acknowledged_write_and_fails_over_within_3s() {
    let _serial = one_cluster_at_a_time();
    let mut cluster = TestCluster::start(3, SHARD_FLAGS);
    cluster.wait_for_leaders(Duration::from_secs(20));
    let writers = Writers::start(&cluster, 4);
    thread::sleep(Duration::from_millis(500));
    let mut failovers = Vec::new();
    for first_slot in [0u16, 4096, 8192, 12288] {
        let from = (0..3).find(|&i| cluster.nodes[i].is_running()).unwrap();
        let leader = cluster
            .leader_of(from, first_slot)
            .expect("the shard has a leader");
        let probe = key_in_shard(first_slot, "probe");
        let killed = Instant::now();
        cluster.kill(leader);
        let took = time_to_write(&cluster, &probe, killed, Duration::from_secs(10));
        failovers.push(took);
        thread::sleep(Duration::from_millis(300));
        cluster.restart(leader);
        cluster.wait_for_leaders(Duration::from_secs(20));
    }
    writers.wait_for_acks(500, Duration::from_secs(20));
    let (acked, failed) = writers.stop();
    eprintln!(
        "failovers: {failovers:?}; {} writes acknowledged, {failed} failed after retries",
        acked.len()
    );
    assert!(
        acked.len() > 100,
        "too few writes acknowledged: {}",
        acked.len()
    );
    assert_all_present(&cluster, &acked);
    for took in failovers {
        assert!(took < Duration::from_secs(3), "failover took {took:?}");
    }
}

#[test]
fn leadership_returns_to_a_restarted_node_without_failing_a_write() {
    let _serial = one_cluster_at_a_time();
    let mut cluster = TestCluster::start(3, SHARD_FLAGS);
    cluster.wait_for_leaders(Duration::from_secs(20));
    let shards = [0u16, 4096, 8192, 12288];
    let leads = |cluster: &TestCluster, node: usize| {
        let from = (node + 1) % 3;
        shards
            .iter()
            .filter(|&&slot| cluster.leader_of(from, slot) == Some(node))
            .count()
    };
    let returning = (0..3).find(|&i| leads(&cluster, i) > 0).unwrap();
    cluster.kill(returning);
    let deadline = Instant::now() + Duration::from_secs(20);
    while leads(&cluster, returning) > 0 {
        assert!(Instant::now() < deadline, "no shard failed over");
        thread::sleep(Duration::from_millis(100));
    }
    cluster.wait_for_leaders(Duration::from_secs(20));
    let writers = Writers::start(&cluster, 4);
    thread::sleep(Duration::from_millis(500));
    cluster.restart(returning);
    let deadline = Instant::now() + Duration::from_secs(20);
    while leads(&cluster, returning) == 0 {
        assert!(
            Instant::now() < deadline,
            "node {returning} never led again"
        );
        thread::sleep(Duration::from_millis(100));
    }
    writers.wait_for_acks(500, Duration::from_secs(20));
    let (acked, failed) = writers.stop();
    assert_eq!(failed, 0, "writes failed while leadership moved back");
    assert!(
        acked.len() > 100,
        "too few writes acknowledged: {}",
        acked.len()
    );
    assert_all_present(&cluster, &acked);
}

#[test]
fn killing_every_node_at_once_loses_no_acknowledged_write() {
    let _serial = one_cluster_at_a_time();
    let mut cluster = TestCluster::start(3, SHARD_FLAGS);
    cluster.wait_for_leaders(Duration::from_secs(20));
    let writers = Writers::start(&cluster, 4);
    writers.wait_for_acks(500, Duration::from_secs(20));
    for i in 0..3 {
        cluster.kill(i);
    }
    let (acked, _) = writers.stop();
    assert!(
        acked.len() > 100,
        "too few writes acknowledged: {}",
        acked.len()
    );
    for i in 0..3 {
        cluster.restart(i);
    }
    cluster.wait_for_leaders(Duration::from_secs(20));
    assert_all_present(&cluster, &acked);
}

#[test]
fn a_follower_behind_a_compacted_log_catches_up_from_a_snapshot() {
    let _serial = one_cluster_at_a_time();
    let mut cluster = TestCluster::start(3, &["--shards", "1", "--raft-snapshot-logs", "200"]);
    cluster.wait_for_leaders(Duration::from_secs(20));
    let leader = cluster.leader_of(0, 0).unwrap();
    let lagging = (leader + 1) % 3;
    cluster.kill(lagging);
    let mut con = cluster.client().get_connection().unwrap();
    let mut expected = HashMap::new();
    for i in 0..2000 {
        let (key, value) = (format!("s{i}"), format!("value-{i}"));
        let _: () = con.set(&key, &value).unwrap();
        expected.insert(key, value);
    }
    let _: () = con.hset("h", "f", "v").unwrap();
    let _: () = con.set_ex("ttl", "x", 1000).unwrap();
    cluster.restart(lagging);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut follower = cluster.readonly(lagging);
    loop {
        let n: i64 = redis::cmd("DBSIZE").query(&mut follower).unwrap();
        if n == 2002 {
            break;
        }
        assert!(Instant::now() < deadline, "follower has {n} of 2002 keys");
        thread::sleep(Duration::from_millis(100));
    }
    for (key, value) in expected.iter().take(200) {
        let got: Option<String> = follower.get(key).unwrap();
        assert_eq!(got.as_deref(), Some(value.as_str()));
    }
    let field: Option<String> = follower.hget("h", "f").unwrap();
    assert_eq!(field.as_deref(), Some("v"));
    let ttl: i64 = follower.ttl("ttl").unwrap();
    assert!((900..=1000).contains(&ttl), "ttl {ttl}");
    assert!(
        cluster.log_text(lagging).contains("installed snapshot"),
        "the follower caught up without a snapshot:\n{}",
        cluster.log_text(lagging)
    );
}

#[test]
fn a_node_without_the_cluster_secret_is_refused_and_the_others_go_on() {
    let _serial = one_cluster_at_a_time();
    let secret = ["--shards", "1", "--cluster-secret", "right"];
    let mut cluster = TestCluster::start(3, &secret);
    cluster.wait_for_leaders(Duration::from_secs(20));
    let leader = cluster.leader_of(0, 0).unwrap();
    let outsider = (leader + 1) % 3;
    cluster.restart_with(outsider, &["--shards", "1", "--cluster-secret", "wrong"]);
    let mut con = cluster.client().get_connection().unwrap();
    for i in 0..50 {
        let _: () = con.set(format!("k{i}"), i).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cluster
        .log_text(leader)
        .contains("refused a peer without the cluster secret")
    {
        assert!(
            Instant::now() < deadline,
            "the leader never refused the outsider"
        );
        thread::sleep(Duration::from_millis(100));
    }
    let mut outsider_con = cluster.readonly(outsider);
    let seen: Option<i64> = outsider_con.get("k49").unwrap();
    assert_eq!(seen, None, "a node with the wrong secret received data");
}
