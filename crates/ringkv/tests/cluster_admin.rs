//! `ringkv cluster status|nodes|shards`: the admin commands read a running cluster through
//! one of its nodes and print tables or JSON.

mod common;

use std::process::Command;
use std::time::Duration;

use common::cluster::TestCluster;

fn ringkv(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ringkv"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn status_nodes_and_shards_describe_the_running_cluster() {
    let cluster = TestCluster::start(3, &["--shards", "4"]);
    cluster.wait_for_leaders(Duration::from_secs(20));
    let host = format!("127.0.0.1:{}", cluster.nodes[1].port);

    let (ok, status, _) = ringkv(&["cluster", "--host", &host, "status"]);
    assert!(ok);
    assert!(status.contains("cluster state: ok"), "{status}");
    assert!(status.contains("shards: 4 (4 with a leader)"), "{status}");

    let (ok, nodes, _) = ringkv(&["cluster", "nodes", "--host", &host]);
    assert!(ok);
    assert_eq!(nodes.lines().count(), 4, "{nodes}");
    assert!(nodes.contains("myself,master"), "{nodes}");

    let (ok, json, _) = ringkv(&["cluster", "--host", &host, "shards", "--json"]);
    assert!(ok);
    let shards: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(shards.len(), 4);
    assert_eq!(shards[0]["slots"], "0-4095");
    for shard in &shards {
        assert_eq!(shard["replicas"].as_array().unwrap().len(), 3);
        assert!(shard["leader"].is_string(), "{shard}");
    }
}

#[test]
fn an_unreachable_node_is_a_one_line_error() {
    let port = common::free_port();
    let (ok, out, err) = ringkv(&["cluster", "--host", &format!("127.0.0.1:{port}"), "status"]);
    assert!(!ok);
    assert!(out.is_empty());
    assert!(
        err.starts_with(&format!("ringkv: error: cannot reach 127.0.0.1:{port}")),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}
