//! Unit tests of the rebalancer commands' pure parts.

use super::*;

const STATUS: &str = r#"{"epoch": 12, "paused": false, "max_moves": 2,
        "nodes": [
          {"id": 1, "name": "0000000000000000000000000000000000000001", "client": "127.0.0.1:7000",
           "state": "active", "up": true, "weight": 1, "zone": "", "replicas": 38, "leaders": 13},
          {"id": 4, "name": "0000000000000000000000000000000000000004", "client": "127.0.0.1:7003",
           "state": "leaving", "up": false, "weight": 2, "zone": "b", "replicas": 5, "leaders": 0}],
        "moving":  [{"shard": 3, "slots": "768-1023", "from": [1,2,3], "to": [1,2,4]}],
        "pending": [{"shard": 5, "slots": "1280-1535", "from": [1,2,3], "to": [2,1,3]}]}"#;

fn status() -> Status {
    parse(STATUS).unwrap()
}

#[test]
fn parses_the_status_json() {
    let s = status();
    assert_eq!((s.epoch, s.paused, s.max_moves), (12, false, 2));
    assert_eq!(s.nodes.len(), 2);
    assert_eq!(s.nodes[1].client, "127.0.0.1:7003");
    assert_eq!(s.nodes[1].state, "leaving");
    assert!(!s.nodes[1].up);
    assert_eq!((s.nodes[0].replicas, s.nodes[0].leaders), (38, 13));
    assert_eq!(s.moving[0].to, [1, 2, 4]);
    assert_eq!(s.pending[0].slots, "1280-1535");
    assert_eq!(s.remaining(), 2);
    let err = parse(r#"{"epoch": 1}"#).unwrap_err();
    assert!(format!("{err:#}").contains("unexpected JSON"), "{err:#}");
}

#[test]
fn resolves_a_node_by_id_name_or_address() {
    let nodes = status().nodes;
    assert_eq!(resolve(&nodes, "4").unwrap(), 4);
    assert_eq!(
        resolve(&nodes, "0000000000000000000000000000000000000004").unwrap(),
        4
    );
    assert_eq!(resolve(&nodes, "127.0.0.1:7000").unwrap(), 1);
    let unknown = resolve(&nodes, "9").unwrap_err().to_string();
    assert!(unknown.starts_with("no node 9 in the cluster"), "{unknown}");
    assert!(resolve(&nodes, "00000000000000000000000000000000000000ff").is_err());
    assert!(resolve(&nodes, "127.0.0.1:7999").is_err());
    let bad = resolve(&nodes, "node-one").unwrap_err().to_string();
    assert!(bad.contains("is not a node id"), "{bad}");
}

#[test]
fn classifies_moves() {
    let s = status();
    assert_eq!(s.moving[0].kind(), Kind::Move);
    assert_eq!(s.pending[0].kind(), Kind::Leader);
}

#[test]
fn dry_run_table_lists_moves_under_way_then_planned() {
    let expected = "\
under way (1):
shard  slots     from   to     kind
3      768-1023  1,2,3  1,2,4  move

planned (1):
shard  slots      from   to     kind
5      1280-1535  1,2,3  2,1,3  leader";
    assert_eq!(plan_table(&status()), expected);
    let mut s = status();
    s.moving.clear();
    assert!(plan_table(&s).starts_with("planned (1):"));
    s.pending.clear();
    assert_eq!(
        plan_table(&s),
        "balanced: no shard moves planned or under way"
    );
}

#[test]
fn dry_run_json_adds_the_kind() {
    let json: serde_json::Value = serde_json::from_str(&plan_json(&status()).unwrap()).unwrap();
    assert_eq!(json["moving"][0]["shard"], 3);
    assert_eq!(json["moving"][0]["kind"], "move");
    assert_eq!(json["pending"][0]["to"], serde_json::json!([2, 1, 3]));
    assert_eq!(json["pending"][0]["kind"], "leader");
}

#[test]
fn status_section_shows_every_node() {
    let text = section(Some(&status()));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "rebalancing: running, at most 2 moves at once, 1 under way, 1 pending (epoch 12)"
    );
    assert!(lines[1].starts_with("id  address"), "{text}");
    assert_eq!(
        lines[3].split_whitespace().collect::<Vec<_>>(),
        ["4", "127.0.0.1:7003", "leaving", "no", "2", "b", "5", "0"]
    );
    assert_eq!(section(None), "rebalancing: not available");
}

#[test]
fn progress_total_grows_when_moves_appear() {
    let mut p = Progress::default();
    p.update(5);
    assert_eq!(p, Progress { done: 0, total: 5 });
    p.update(3);
    assert_eq!(p, Progress { done: 2, total: 5 });
    p.update(4);
    assert_eq!(p, Progress { done: 2, total: 6 });
    p.update(0);
    assert_eq!(p, Progress { done: 6, total: 6 });
}

#[test]
fn server_errors_read_as_the_server_wrote_them() {
    let e = redis::RedisError::from((
        redis::ErrorKind::ResponseError,
        "An error was signalled by the server",
        "Unknown node 9".to_owned(),
    ));
    assert_eq!(server_error(e).to_string(), "ERR Unknown node 9");
}
