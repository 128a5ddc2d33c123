//! Hash commands against a real server, including HSCAN and hashes with many fields.

mod common;

use std::collections::{HashMap, HashSet};

use common::{err, ok, q, Node};
use redis::Value::{self, Int, Nil};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn b(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

#[test]
fn hset_hget_and_friends() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["HSET", "h", "a", "1", "b", "2"]), Int(2));
    assert_eq!(q(c, &["HSET", "h", "a", "10", "c", "3", "c", "4"]), Int(1));
    assert_eq!(q(c, &["HGET", "h", "a"]), b("10"));
    assert_eq!(q(c, &["HGET", "h", "c"]), b("4"));
    assert_eq!(q(c, &["HGET", "h", "nope"]), Nil);
    assert_eq!(q(c, &["HGET", "nope", "a"]), Nil);
    assert_eq!(q(c, &["HLEN", "h"]), Int(3));
    assert_eq!(q(c, &["HLEN", "nope"]), Int(0));
    assert_eq!(q(c, &["HSETNX", "h", "a", "x"]), Int(0));
    assert_eq!(q(c, &["HSETNX", "h", "d", "x"]), Int(1));
    assert_eq!(q(c, &["HMSET", "h", "e", "5"]), ok());
    assert_eq!(
        q(c, &["HMGET", "h", "a", "zz", "e"]),
        Value::Array(vec![b("10"), Nil, b("5")])
    );
    assert_eq!(q(c, &["HMGET", "nope", "a"]), Value::Array(vec![Nil]));
    assert_eq!(q(c, &["HEXISTS", "h", "a"]), Int(1));
    assert_eq!(q(c, &["HEXISTS", "h", "zz"]), Int(0));
    assert_eq!(q(c, &["HSTRLEN", "h", "a"]), Int(2));
    assert_eq!(q(c, &["HSTRLEN", "h", "zz"]), Int(0));
    let fields: HashSet<String> = redis::cmd("HKEYS").arg("h").query(c).unwrap();
    assert_eq!(
        fields,
        ["a", "b", "c", "d", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    let mut vals: Vec<String> = redis::cmd("HVALS").arg("h").query(c).unwrap();
    vals.sort();
    assert_eq!(vals, vec!["10", "2", "4", "5", "x"]);
    let all: HashMap<String, String> = redis::cmd("HGETALL").arg("h").query(c).unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all["d"], "x");
    assert_eq!(q(c, &["HGETALL", "nope"]), Value::Array(vec![]));
    assert_eq!(q(c, &["HDEL", "h", "a", "a", "zz"]), Int(1));
    assert_eq!(q(c, &["HLEN", "h"]), Int(4));
    assert_eq!(q(c, &["HDEL", "h", "b", "c", "d", "e"]), Int(4));
    assert_eq!(
        q(c, &["EXISTS", "h"]),
        Int(0),
        "deleting the last field deletes the key"
    );
    assert_eq!(q(c, &["TYPE", "h"]), Value::SimpleString("none".into()));
    assert_eq!(q(c, &["HDEL", "nope", "a"]), Int(0));
    assert_eq!(
        err(c, &["HSET", "h", "a"]),
        "ERR wrong number of arguments for 'hset' command"
    );
    assert_eq!(
        err(c, &["HSET", "h", "a", "1", "b"]),
        "ERR wrong number of arguments for 'hset' command"
    );
    assert_eq!(
        err(c, &["HMSET", "h", "a", "1", "b"]),
        "ERR wrong number of arguments for 'hmset' command"
    );
}

#[test]
fn hash_counters() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["HINCRBY", "h", "n", "5"]), Int(5));
    assert_eq!(q(c, &["HINCRBY", "h", "n", "-7"]), Int(-2));
    assert_eq!(q(c, &["HLEN", "h"]), Int(1));
    q(c, &["HSET", "h", "s", "abc", "big", "9223372036854775807"]);
    assert_eq!(
        err(c, &["HINCRBY", "h", "s", "1"]),
        "ERR hash value is not an integer"
    );
    assert_eq!(
        err(c, &["HINCRBY", "h", "big", "1"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        err(c, &["HINCRBY", "h", "n", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(q(c, &["HINCRBYFLOAT", "h", "f", "10.5"]), b("10.5"));
    assert_eq!(q(c, &["HINCRBYFLOAT", "h", "f", "0.1"]), b("10.6"));
    assert_eq!(
        err(c, &["HINCRBYFLOAT", "h", "s", "1"]),
        "ERR hash value is not a float"
    );
    assert_eq!(
        err(c, &["HINCRBYFLOAT", "h", "f", "x"]),
        "ERR value is not a valid float"
    );
    assert_eq!(q(c, &["HLEN", "h"]), Int(4));
}

#[test]
fn wrong_types() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    q(c, &["SET", "s", "v"]);
    q(c, &["HSET", "h", "f", "v"]);
    for args in [
        &["HSET", "s", "f", "v"][..],
        &["HGET", "s", "f"],
        &["HGETALL", "s"],
        &["HDEL", "s", "f"],
        &["HLEN", "s"],
        &["HINCRBY", "s", "f", "1"],
        &["HSCAN", "s", "0"],
        &["GET", "h"],
        &["INCR", "h"],
        &["GETRANGE", "h", "0", "1"],
    ] {
        assert_eq!(err(c, args), WRONGTYPE, "{args:?}");
    }
}

#[test]
fn hscan_returns_every_field_once() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let mut cmd = redis::cmd("HSET");
    cmd.arg("h");
    for i in 0..1000 {
        cmd.arg(format!("field:{i}")).arg(format!("v{i}"));
    }
    assert_eq!(cmd.query::<i64>(c).unwrap(), 1000);
    let scan = |c: &mut redis::Connection, extra: &[&str]| {
        let mut out = Vec::new();
        let mut cursor = "0".to_string();
        loop {
            let mut args = vec!["HSCAN", "h", cursor.as_str()];
            args.extend_from_slice(extra);
            let (next, items): (String, Vec<String>) = {
                let mut cmd = redis::cmd(args[0]);
                for a in &args[1..] {
                    cmd.arg(*a);
                }
                cmd.query(c).unwrap()
            };
            out.extend(items);
            cursor = next;
            if cursor == "0" {
                return out;
            }
        }
    };
    let pairs = scan(c, &["COUNT", "37"]);
    assert_eq!(pairs.len(), 2000);
    let fields: HashSet<&String> = pairs.iter().step_by(2).collect();
    assert_eq!(fields.len(), 1000);
    for pair in pairs.chunks(2) {
        assert_eq!(pair[1], format!("v{}", &pair[0]["field:".len()..]));
    }
    assert_eq!(scan(c, &["MATCH", "field:1??"]).len(), 200);
    assert_eq!(scan(c, &["NOVALUES", "MATCH", "field:99*"]).len(), 11);
    assert_eq!(err(c, &["HSCAN", "h", "x"]), "ERR invalid cursor");
    assert_eq!(
        q(c, &["HSCAN", "nope", "0"]),
        Value::Array(vec![b("0"), Value::Array(vec![])])
    );
}

#[test]
fn big_hash_delete_and_expiry() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let mut cmd = redis::cmd("HSET");
    cmd.arg("big");
    for i in 0..5000 {
        cmd.arg(format!("f{i}")).arg("v");
    }
    assert_eq!(cmd.query::<i64>(c).unwrap(), 5000);
    assert_eq!(q(c, &["HLEN", "big"]), Int(5000));
    assert_eq!(q(c, &["DEL", "big"]), Int(1));
    assert_eq!(q(c, &["HLEN", "big"]), Int(0));
    assert_eq!(
        q(c, &["HSET", "big", "f1", "new"]),
        Int(1),
        "old fields are gone"
    );
    assert_eq!(q(c, &["HLEN", "big"]), Int(1));
    q(c, &["HSET", "e", "f", "v"]);
    assert_eq!(q(c, &["PEXPIRE", "e", "100"]), Int(1));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(q(c, &["HGET", "e", "f"]), Nil);
    assert_eq!(q(c, &["HSET", "e", "g", "v"]), Int(1));
    assert_eq!(
        q(c, &["HLEN", "e"]),
        Int(1),
        "expired fields do not come back"
    );
    assert_eq!(q(c, &["HGET", "e", "f"]), Nil);
}
