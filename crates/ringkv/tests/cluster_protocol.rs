//! The Redis Cluster protocol as plain clients see it: redirections and errors in Redis's
//! words, `READONLY` follower reads, and the `CLUSTER` commands cluster-aware clients use.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::cluster::TestCluster;
use common::{err, q, Node};
use redis::cluster_routing::get_slot;

fn conn(cluster: &TestCluster, i: usize) -> redis::Connection {
    redis::Client::open(cluster.nodes[i].url())
        .unwrap()
        .get_connection()
        .unwrap()
}

#[test]
fn followers_redirect_to_the_leader_and_serve_reads_only_after_readonly() {
    let mut cluster = TestCluster::start(3, &["--shards", "1"]);
    cluster.wait_for_leaders(Duration::from_secs(20));
    let leader = cluster.leader_of(0, 0).unwrap();
    let follower = (leader + 1) % 3;
    let slot = get_slot(b"greeting");
    let moved = format!("MOVED {slot} 127.0.0.1:{}", cluster.nodes[leader].port);

    let mut lead = conn(&cluster, leader);
    assert_eq!(
        q(&mut lead, &["SET", "greeting", "hello"]),
        redis::Value::Okay
    );
    let mut f = conn(&cluster, follower);
    assert_eq!(err(&mut f, &["SET", "greeting", "x"]), moved);
    assert_eq!(err(&mut f, &["GET", "greeting"]), moved);
    assert_eq!(
        err(&mut lead, &["MSET", "a", "1", "b", "2"]),
        "CROSSSLOT Keys in request don't hash to the same slot"
    );
    assert_eq!(
        q(&mut lead, &["MSET", "{t}a", "1", "{t}b", "2"]),
        redis::Value::Okay
    );
    let slot_arg = slot.to_string();
    let keys: Vec<String> = redis::cmd("CLUSTER")
        .arg("GETKEYSINSLOT")
        .arg(&slot_arg)
        .arg(10)
        .query(&mut lead)
        .unwrap();
    assert_eq!(keys, ["greeting"]);
    let count = q(&mut lead, &["CLUSTER", "COUNTKEYSINSLOT", &slot_arg]);
    assert_eq!(count, redis::Value::Int(1));
    let shards: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER")
        .arg("SHARDS")
        .query(&mut lead)
        .unwrap();
    assert_eq!(shards.len(), 1);
    let nodes: Vec<redis::Value> = redis::from_redis_value(&shards[0][3]).unwrap();
    assert_eq!(nodes.len(), 3);
    assert_eq!(
        err(&mut lead, &["CLUSTER", "GETKEYSINSLOT", "16384", "1"]),
        "ERR Invalid slot"
    );

    assert_eq!(q(&mut f, &["READONLY"]), redis::Value::Okay);
    let deadline = Instant::now() + Duration::from_secs(5);
    while q(&mut f, &["GET", "greeting"]) != redis::Value::BulkString(b"hello".to_vec()) {
        assert!(
            Instant::now() < deadline,
            "the follower never saw the write"
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(err(&mut f, &["SET", "greeting", "x"]), moved);
    assert_eq!(q(&mut f, &["READWRITE"]), redis::Value::Okay);
    assert_eq!(err(&mut f, &["GET", "greeting"]), moved);

    let keyslot = q(&mut f, &["CLUSTER", "KEYSLOT", "greeting"]);
    assert_eq!(keyslot, redis::Value::Int(i64::from(slot)));
    let myid: String = redis::cmd("CLUSTER").arg("MYID").query(&mut f).unwrap();
    assert_eq!(myid, format!("{:040x}", follower + 1));
    let nodes: String = redis::cmd("CLUSTER").arg("NODES").query(&mut f).unwrap();
    assert_eq!(nodes.lines().count(), 3);
    assert!(nodes.contains(&format!(
        "{myid} 127.0.0.1:{}@",
        cluster.nodes[follower].port
    )));
    assert!(nodes.lines().any(|l| l.ends_with(" 0-16383")));
    let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut f).unwrap();
    assert!(info.contains("cluster_state:ok"), "{info}");
    assert!(err(&mut f, &["CLUSTER", "NOSUCH"]).starts_with("ERR unknown subcommand 'NOSUCH'"));

    cluster.kill(leader);
    cluster.kill((leader + 2) % 3);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = err(&mut f, &["SET", "greeting", "x"]);
        if reply.starts_with("TRYAGAIN") {
            break;
        }
        assert!(reply.starts_with("MOVED"), "unexpected reply {reply}");
        assert!(
            Instant::now() < deadline,
            "the lone follower never said TRYAGAIN"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_single_node_says_cluster_support_is_disabled() {
    let node = Node::start(&[]);
    let mut con = node.conn();
    assert_eq!(
        err(&mut con, &["CLUSTER", "SLOTS"]),
        "ERR This instance has cluster support disabled"
    );
    assert_eq!(
        err(&mut con, &["READONLY"]),
        "ERR This instance has cluster support disabled"
    );
    assert_eq!(
        q(&mut con, &["CLUSTER", "KEYSLOT", "{user}1"]),
        redis::Value::Int(5474)
    );
}

#[test]
fn pipelined_writes_from_many_clients_apply_in_the_order_each_client_sent_them() {
    let cluster = TestCluster::start(3, &["--shards", "1"]);
    cluster.wait_for_leaders(Duration::from_secs(20));
    let leader = cluster.leader_of(0, 0).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|c| {
            let mut con = conn(&cluster, leader);
            thread::spawn(move || {
                let key = format!("log:{c}");
                let mut pipe = redis::pipe();
                for i in 0..200 {
                    pipe.cmd("APPEND").arg(&key).arg(format!("{i},"));
                    pipe.cmd("INCR").arg(format!("n:{c}"));
                }
                let replies: Vec<i64> = pipe.query(&mut con).unwrap();
                let counts: Vec<i64> = replies.iter().skip(1).step_by(2).copied().collect();
                assert_eq!(
                    counts,
                    (1..=200).collect::<Vec<_>>(),
                    "INCR replies in order"
                );
                let log: String = redis::cmd("GET").arg(&key).query(&mut con).unwrap();
                let expected: String = (0..200).map(|i| format!("{i},")).collect();
                assert_eq!(log, expected, "APPENDs applied in the order sent");
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
}
