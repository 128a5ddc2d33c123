//! Keyspace commands against a real server: expiry, TTLs, patterns, SCAN, RENAME, FLUSHALL.

mod common;

use std::collections::HashSet;

use common::{err, ok, q, Node};
use redis::Value::{self, Int, Nil};

fn b(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn strings(v: Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Value::BulkString(s) => String::from_utf8(s).unwrap(),
                other => panic!("{other:?}"),
            })
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn del_exists_type() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    q(c, &["MSET", "a", "1", "b", "2"]);
    q(c, &["HSET", "h", "f", "v"]);
    assert_eq!(q(c, &["EXISTS", "a", "a", "b", "nope"]), Int(3));
    assert_eq!(q(c, &["TYPE", "a"]), Value::SimpleString("string".into()));
    assert_eq!(q(c, &["TYPE", "h"]), Value::SimpleString("hash".into()));
    assert_eq!(q(c, &["TYPE", "nope"]), Value::SimpleString("none".into()));
    assert_eq!(q(c, &["DEL", "a", "a", "nope"]), Int(1));
    assert_eq!(q(c, &["UNLINK", "b", "h"]), Int(2));
    assert_eq!(q(c, &["DBSIZE"]), Int(0));
    assert_eq!(
        err(c, &["DEL"]),
        "ERR wrong number of arguments for 'del' command"
    );
}

#[test]
fn expire_family_and_conditions() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    q(c, &["SET", "k", "v"]);
    assert_eq!(q(c, &["TTL", "k"]), Int(-1));
    assert_eq!(q(c, &["TTL", "nope"]), Int(-2));
    assert_eq!(q(c, &["PTTL", "nope"]), Int(-2));
    assert_eq!(q(c, &["EXPIRETIME", "k"]), Int(-1));
    assert_eq!(q(c, &["EXPIRE", "nope", "10"]), Int(0));
    assert_eq!(q(c, &["EXPIRE", "k", "100", "XX"]), Int(0));
    assert_eq!(q(c, &["EXPIRE", "k", "100", "NX"]), Int(1));
    assert_eq!(q(c, &["EXPIRE", "k", "200", "NX"]), Int(0));
    assert_eq!(q(c, &["EXPIRE", "k", "50", "GT"]), Int(0));
    assert_eq!(q(c, &["EXPIRE", "k", "200", "GT"]), Int(1));
    assert_eq!(q(c, &["TTL", "k"]), Int(200));
    assert_eq!(q(c, &["EXPIRE", "k", "300", "LT"]), Int(0));
    assert_eq!(q(c, &["PEXPIRE", "k", "150000", "LT"]), Int(1));
    assert_eq!(q(c, &["TTL", "k"]), Int(150));
    assert_eq!(q(c, &["PERSIST", "k"]), Int(1));
    assert_eq!(q(c, &["PERSIST", "k"]), Int(0));
    assert_eq!(
        q(c, &["EXPIRE", "k", "10", "GT"]),
        Int(0),
        "GT fails on a key without TTL"
    );
    assert_eq!(
        q(c, &["EXPIRE", "k", "10", "LT"]),
        Int(1),
        "LT succeeds on a key without TTL"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(q(c, &["EXPIREAT", "k", &(now + 500).to_string()]), Int(1));
    assert_eq!(q(c, &["EXPIRETIME", "k"]), Int(now + 500));
    assert_eq!(
        q(c, &["PEXPIREAT", "k", &((now + 600) * 1000).to_string()]),
        Int(1)
    );
    assert_eq!(q(c, &["PEXPIRETIME", "k"]), Int((now + 600) * 1000));
    assert_eq!(
        err(c, &["EXPIRE", "k", "10", "NX", "XX"]),
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    );
    assert_eq!(
        err(c, &["EXPIRE", "k", "10", "GT", "LT"]),
        "ERR GT and LT options at the same time are not compatible"
    );
    assert_eq!(
        err(c, &["EXPIRE", "k", "10", "NX", "GT"]),
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    );
    assert_eq!(
        err(c, &["EXPIRE", "k", "10", "FOO"]),
        "ERR Unsupported option FOO"
    );
    assert_eq!(
        err(c, &["EXPIRE", "k", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(c, &["EXPIRE", "k", "9223372036854775807"]),
        "ERR invalid expire time in 'expire' command"
    );
    assert_eq!(q(c, &["EXPIRE", "k", "-1"]), Int(1));
    assert_eq!(q(c, &["EXISTS", "k"]), Int(0));
    q(c, &["SET", "short", "v", "PX", "100"]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(q(c, &["GET", "short"]), Nil);
    assert_eq!(q(c, &["EXISTS", "short"]), Int(0));
    assert_eq!(q(c, &["TTL", "short"]), Int(-2));
}

#[test]
fn keys_patterns() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    for k in [
        "hello", "hallo", "hxllo", "hllo", "heeeello", "user:*", "user:1",
    ] {
        q(c, &["SET", k, "v"]);
    }
    let set = |v: Value| strings(v).into_iter().collect::<HashSet<_>>();
    let want = |ks: &[&str]| ks.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
    assert_eq!(
        set(q(c, &["KEYS", "h?llo"])),
        want(&["hello", "hallo", "hxllo"])
    );
    assert_eq!(
        set(q(c, &["KEYS", "h*llo"])),
        want(&["hello", "hallo", "hxllo", "hllo", "heeeello"])
    );
    assert_eq!(set(q(c, &["KEYS", "h[ae]llo"])), want(&["hello", "hallo"]));
    assert_eq!(set(q(c, &["KEYS", "h[^e]llo"])), want(&["hallo", "hxllo"]));
    assert_eq!(set(q(c, &["KEYS", "h[a-b]llo"])), want(&["hallo"]));
    assert_eq!(set(q(c, &["KEYS", "user:\\*"])), want(&["user:*"]));
    assert_eq!(strings(q(c, &["KEYS", "*"])).len(), 7);
}

#[test]
fn scan_returns_every_key_once() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("SET").arg(format!("key:{i}")).arg("v").ignore();
    }
    for i in 0..20 {
        pipe.cmd("HSET")
            .arg(format!("hash:{i}"))
            .arg("f")
            .arg("v")
            .ignore();
    }
    pipe.query::<()>(c).unwrap();
    let scan_all = |c: &mut redis::Connection, extra: &[&str]| {
        let mut seen = Vec::new();
        let mut cursor = "0".to_string();
        loop {
            let mut args = vec!["SCAN", cursor.as_str()];
            args.extend_from_slice(extra);
            let Value::Array(mut reply) = q(c, &args) else {
                panic!()
            };
            let keys = strings(reply.pop().unwrap());
            let Value::BulkString(next) = reply.pop().unwrap() else {
                panic!()
            };
            seen.extend(keys);
            cursor = String::from_utf8(next).unwrap();
            if cursor == "0" {
                return seen;
            }
        }
    };
    let all = scan_all(c, &[]);
    assert_eq!(all.len(), 2020);
    assert_eq!(
        all.iter().collect::<HashSet<_>>().len(),
        2020,
        "no duplicates"
    );
    let matched = scan_all(c, &["MATCH", "key:1*", "COUNT", "50"]);
    assert_eq!(matched.len(), 1 + 10 + 100 + 1000);
    assert_eq!(scan_all(c, &["TYPE", "hash"]).len(), 20);
    assert_eq!(
        scan_all(c, &["TYPE", "string", "COUNT", "1000"]).len(),
        2000
    );
    assert_eq!(err(c, &["SCAN", "abc"]), "ERR invalid cursor");
    assert_eq!(err(c, &["SCAN", "0", "COUNT", "0"]), "ERR syntax error");
    assert_eq!(err(c, &["SCAN", "0", "FOO"]), "ERR syntax error");
}

#[test]
fn rename_randomkey_dbsize_flush() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["RANDOMKEY"]), Nil);
    assert_eq!(err(c, &["RENAME", "nope", "x"]), "ERR no such key");
    q(c, &["SET", "a", "1", "EX", "100"]);
    q(c, &["SET", "b", "2"]);
    assert_eq!(q(c, &["RENAME", "a", "b"]), ok());
    assert_eq!(q(c, &["GET", "b"]), b("1"));
    assert_eq!(q(c, &["TTL", "b"]), Int(100));
    assert_eq!(q(c, &["EXISTS", "a"]), Int(0));
    assert_eq!(q(c, &["RENAME", "b", "b"]), ok());
    q(c, &["SET", "c", "3"]);
    assert_eq!(q(c, &["RENAMENX", "b", "c"]), Int(0));
    assert_eq!(q(c, &["RENAMENX", "b", "d"]), Int(1));
    q(c, &["HSET", "h", "f1", "v1", "f2", "v2"]);
    assert_eq!(q(c, &["RENAME", "h", "h2"]), ok());
    assert_eq!(q(c, &["HGET", "h2", "f2"]), b("v2"));
    assert_eq!(q(c, &["HLEN", "h2"]), Int(2));
    assert_eq!(q(c, &["EXISTS", "h"]), Int(0));
    assert_eq!(q(c, &["HGET", "h", "f1"]), Nil);
    assert_eq!(
        q(c, &["RENAME", "c", "h2"]),
        ok(),
        "renaming over a hash replaces it"
    );
    assert_eq!(q(c, &["TYPE", "h2"]), Value::SimpleString("string".into()));
    assert_eq!(q(c, &["DBSIZE"]), Int(2));
    let Value::BulkString(k) = q(c, &["RANDOMKEY"]) else {
        panic!()
    };
    assert!(["d", "h2"].contains(&String::from_utf8(k).unwrap().as_str()));
    assert_eq!(q(c, &["FLUSHDB"]), ok());
    assert_eq!(q(c, &["DBSIZE"]), Int(0));
    q(c, &["SET", "x", "1"]);
    assert_eq!(q(c, &["FLUSHALL", "ASYNC"]), ok());
    assert_eq!(q(c, &["DBSIZE"]), Int(0));
    assert_eq!(q(c, &["GET", "x"]), Nil);
    assert_eq!(err(c, &["FLUSHALL", "LATER"]), "ERR syntax error");
}
