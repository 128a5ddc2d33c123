//! Hash commands against a real `ringkv server`: exact replies, Redis 7's error wording,
//! WRONGTYPE in both directions, HSCAN iteration, expiry and deletion of whole hashes. Every
//! test starts its own node.

mod common;

use common::{arity, b, err, ok, q, sorted, strs, Node};
use redis::Value::{self, Int, Nil};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT: &str = "ERR value is not an integer or out of range";

fn arr(items: Vec<Value>) -> Value {
    Value::Array(items)
}

fn raw(v: &Value) -> Vec<u8> {
    match v {
        Value::BulkString(b) => b.clone(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

fn text(v: &Value) -> String {
    String::from_utf8(raw(v)).unwrap()
}

/// An HGETALL reply (RESP2 flat array) as a map; panics on a repeated field.
fn pairs(v: Value) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let Value::Array(items) = v else {
        panic!("expected an array, got {v:?}")
    };
    assert_eq!(items.len() % 2, 0, "odd-length field/value list");
    let mut map = BTreeMap::new();
    for pair in items.chunks(2) {
        let old = map.insert(raw(&pair[0]), raw(&pair[1]));
        assert!(old.is_none(), "field {:?} returned twice", pair[0]);
    }
    map
}

fn map(list: &[(&str, &str)]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    list.iter()
        .map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

/// One HSCAN reply: (next cursor, items).
fn scan_page(v: Value) -> (String, Vec<Value>) {
    let Value::Array(mut parts) = v else {
        panic!("HSCAN reply is not an array: {v:?}")
    };
    assert_eq!(parts.len(), 2, "HSCAN reply: {parts:?}");
    let items = parts.pop().unwrap();
    let cursor = text(&parts[0]);
    let Value::Array(items) = items else {
        panic!("HSCAN items are not an array: {items:?}")
    };
    (cursor, items)
}

/// Iterates HSCAN on `key` with `extra` options until the cursor is 0; returns all items.
fn hscan_all(c: &mut redis::Connection, key: &str, extra: &[&str]) -> Vec<Value> {
    let mut cursor = "0".to_string();
    let mut all = Vec::new();
    for _ in 0..100_000 {
        let mut args = vec!["HSCAN", key, cursor.as_str()];
        args.extend_from_slice(extra);
        let (next, items) = scan_page(q(c, &args));
        all.extend(items);
        if next == "0" {
            return all;
        }
        cursor = next;
    }
    panic!("HSCAN does not terminate");
}

/// Fills `key` with fields f0..f{n} holding v0..v{n}, 1000 pairs per HSET.
fn fill(c: &mut redis::Connection, key: &str, n: usize) {
    let mut added = 0;
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(key);
        for i in chunk {
            cmd.arg(format!("f{i}")).arg(format!("v{i}"));
        }
        let r: Value = cmd.query(c).unwrap();
        added += match r {
            Int(n) => n,
            other => panic!("HSET replied {other:?}"),
        };
    }
    assert_eq!(added, n as i64);
}

#[test]
fn hset_and_hget() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["HSET", "h", "f1", "v1", "f2", "v2"]), Int(2));
    // Only new fields are counted.
    assert_eq!(q(c, &["HSET", "h", "f1", "x", "f3", "v3"]), Int(1));
    assert_eq!(q(c, &["HSET", "h", "f1", "y"]), Int(0));
    // A field repeated in one call is added once; the last value wins.
    assert_eq!(q(c, &["HSET", "h", "f4", "a", "f4", "b"]), Int(1));
    assert_eq!(q(c, &["HGET", "h", "f1"]), b("y"));
    assert_eq!(q(c, &["HGET", "h", "f2"]), b("v2"));
    assert_eq!(q(c, &["HGET", "h", "f4"]), b("b"));
    assert_eq!(q(c, &["HGET", "h", "nofield"]), Nil);
    assert_eq!(q(c, &["HGET", "nokey", "f1"]), Nil);
    assert_eq!(q(c, &["HLEN", "h"]), Int(4));
    // Empty field names and values are fine.
    assert_eq!(q(c, &["HSET", "h", "", ""]), Int(1));
    assert_eq!(q(c, &["HGET", "h", ""]), b(""));
    assert_eq!(q(c, &["HSTRLEN", "h", ""]), Int(0));
    assert_eq!(q(c, &["HLEN", "h"]), Int(5));
    // Field names are case-sensitive.
    assert_eq!(q(c, &["HGET", "h", "F1"]), Nil);

    assert_eq!(err(c, &["HSET", "h", "f1", "v1", "f2"]), arity("hset"));
    assert_eq!(err(c, &["HSET", "h", "f1"]), arity("hset"));
    assert_eq!(err(c, &["HSET", "h"]), arity("hset"));
    assert_eq!(err(c, &["HSET", "new", "f1", "v1", "f2"]), arity("hset"));
    assert_eq!(q(c, &["EXISTS", "new"]), Int(0));
    assert_eq!(q(c, &["HGET", "h", "f2"]), b("v2"));
    assert_eq!(err(c, &["HGET", "h"]), arity("hget"));
    assert_eq!(err(c, &["HGET", "h", "a", "b"]), arity("hget"));
}

#[test]
fn hsetnx() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["HSETNX", "h", "f", "v1"]), Int(1));
    assert_eq!(q(c, &["HSETNX", "h", "f", "v2"]), Int(0));
    assert_eq!(q(c, &["HGET", "h", "f"]), b("v1"));
    assert_eq!(q(c, &["HSETNX", "h", "g", "v3"]), Int(1));
    assert_eq!(q(c, &["HLEN", "h"]), Int(2));
    assert_eq!(err(c, &["HSETNX", "h", "f"]), arity("hsetnx"));
    assert_eq!(err(c, &["HSETNX", "h", "f", "v", "x"]), arity("hsetnx"));
}

#[test]
fn hmget() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["HSET", "h", "a", "1", "b", "2"]), Int(2));
    assert_eq!(
        q(c, &["HMGET", "h", "a", "missing", "b", "a"]),
        arr(vec![b("1"), Nil, b("2"), b("1")])
    );
    assert_eq!(q(c, &["HMGET", "nokey", "a", "b"]), arr(vec![Nil, Nil]));
    assert_eq!(err(c, &["HMGET", "h"]), arity("hmget"));
}

#[test]
fn hdel_and_the_last_field() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["HSET", "h", "a", "1", "b", "2", "c", "3"]), Int(3));
    assert_eq!(q(c, &["HDEL", "h", "a", "missing", "a"]), Int(1));
    assert_eq!(q(c, &["HDEL", "h", "a"]), Int(0));
    assert_eq!(q(c, &["HLEN", "h"]), Int(2));
    assert_eq!(q(c, &["HDEL", "nokey", "a"]), Int(0));
    // Deleting the last field deletes the key.
    assert_eq!(q(c, &["HDEL", "h", "b", "c"]), Int(2));
    assert_eq!(q(c, &["EXISTS", "h"]), Int(0));
    assert_eq!(q(c, &["TYPE", "h"]), Value::SimpleString("none".into()));
    assert_eq!(q(c, &["HLEN", "h"]), Int(0));
    assert_eq!(q(c, &["HGETALL", "h"]), arr(vec![]));
    assert_eq!(q(c, &["DBSIZE"]), Int(0));
    assert_eq!(q(c, &["KEYS", "*"]), arr(vec![]));
    // The name is free for a string now, and for a new hash.
    assert_eq!(q(c, &["SET", "h", "s"]), ok());
    assert_eq!(q(c, &["DEL", "h"]), Int(1));
    assert_eq!(q(c, &["HSET", "h", "z", "1"]), Int(1));
    assert_eq!(q(c, &["HGETALL", "h"]), arr(vec![b("z"), b("1")]));
    // One at a time, too.
    assert_eq!(q(c, &["HDEL", "h", "z"]), Int(1));
    assert_eq!(q(c, &["EXISTS", "h"]), Int(0));
    assert_eq!(err(c, &["HDEL", "h"]), arity("hdel"));
}

#[test]
fn hexists_hlen_hkeys_hvals_hgetall_hstrlen() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["HLEN", "h"]), Int(0));
    assert_eq!(q(c, &["HEXISTS", "h", "a"]), Int(0));
    assert_eq!(q(c, &["HKEYS", "h"]), arr(vec![]));
    assert_eq!(q(c, &["HVALS", "h"]), arr(vec![]));
    assert_eq!(q(c, &["HGETALL", "h"]), arr(vec![]));
    assert_eq!(q(c, &["HSTRLEN", "h", "a"]), Int(0));

    assert_eq!(
        q(c, &["HSET", "h", "a", "1", "bb", "hello", "c", "-12"]),
        Int(3)
    );
    assert_eq!(q(c, &["HLEN", "h"]), Int(3));
    assert_eq!(q(c, &["HEXISTS", "h", "a"]), Int(1));
    assert_eq!(q(c, &["HEXISTS", "h", "z"]), Int(0));
    assert_eq!(sorted(q(c, &["HKEYS", "h"])), strs(&["a", "bb", "c"]));
    assert_eq!(sorted(q(c, &["HVALS", "h"])), strs(&["1", "hello", "-12"]));
    assert_eq!(
        pairs(q(c, &["HGETALL", "h"])),
        map(&[("a", "1"), ("bb", "hello"), ("c", "-12")])
    );
    assert_eq!(q(c, &["HSTRLEN", "h", "bb"]), Int(5));
    assert_eq!(q(c, &["HSTRLEN", "h", "c"]), Int(3));
    assert_eq!(q(c, &["HSTRLEN", "h", "z"]), Int(0));

    assert_eq!(err(c, &["HLEN"]), arity("hlen"));
    assert_eq!(err(c, &["HEXISTS", "h"]), arity("hexists"));
    assert_eq!(err(c, &["HKEYS"]), arity("hkeys"));
    assert_eq!(err(c, &["HVALS", "h", "x"]), arity("hvals"));
    assert_eq!(err(c, &["HGETALL"]), arity("hgetall"));
    assert_eq!(err(c, &["HSTRLEN", "h"]), arity("hstrlen"));
}

#[test]
fn hincrby() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["HINCRBY", "h", "n", "5"]), Int(5));
    assert_eq!(q(c, &["HINCRBY", "h", "n", "-7"]), Int(-2));
    assert_eq!(q(c, &["HINCRBY", "h", "m", "0"]), Int(0));
    assert_eq!(q(c, &["HGET", "h", "n"]), b("-2"));
    assert_eq!(q(c, &["HLEN", "h"]), Int(2));

    let not_int = "ERR hash value is not an integer";
    for bad in ["abc", "1.5", " 1", "", "01", "+1"] {
        assert_eq!(q(c, &["HSET", "h", "bad", bad]), Int(1));
        assert_eq!(err(c, &["HINCRBY", "h", "bad", "1"]), not_int, "on {bad:?}");
        assert_eq!(q(c, &["HGET", "h", "bad"]), b(bad));
        assert_eq!(q(c, &["HDEL", "h", "bad"]), Int(1));
    }
    for bad in ["abc", "1.5", "", "9223372036854775808"] {
        assert_eq!(err(c, &["HINCRBY", "h", "n", bad]), NOT_INT, "by {bad:?}");
    }
    assert_eq!(err(c, &["HINCRBY", "new", "f", "x"]), NOT_INT);
    assert_eq!(q(c, &["EXISTS", "new"]), Int(0));

    let overflow = "ERR increment or decrement would overflow";
    assert_eq!(q(c, &["HSET", "h", "max", "9223372036854775807"]), Int(1));
    assert_eq!(err(c, &["HINCRBY", "h", "max", "1"]), overflow);
    assert_eq!(q(c, &["HGET", "h", "max"]), b("9223372036854775807"));
    assert_eq!(q(c, &["HSET", "h", "min", "-9223372036854775808"]), Int(1));
    assert_eq!(err(c, &["HINCRBY", "h", "min", "-1"]), overflow);
    assert_eq!(q(c, &["HINCRBY", "h", "min", "1"]), Int(i64::MIN + 1));
    assert_eq!(err(c, &["HINCRBY", "h", "n"]), arity("hincrby"));
}

#[test]
fn hincrbyfloat() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["HINCRBYFLOAT", "h", "f", "1.5"]), b("1.5"));
    assert_eq!(q(c, &["HINCRBYFLOAT", "h", "f", "1.5"]), b("3"));
    assert_eq!(q(c, &["HGET", "h", "f"]), b("3"));
    assert_eq!(q(c, &["HSET", "h", "k", "10.50"]), Int(1));
    assert_eq!(q(c, &["HINCRBYFLOAT", "h", "k", "0.1"]), b("10.6"));
    assert_eq!(q(c, &["HINCRBYFLOAT", "h", "k", "-5"]), b("5.6"));
    assert_eq!(q(c, &["HGET", "h", "k"]), b("5.6"));
    assert_eq!(q(c, &["HSET", "h", "e", "5.0e3"]), Int(1));
    assert_eq!(q(c, &["HINCRBYFLOAT", "h", "e", "2.0e2"]), b("5200"));
    assert_eq!(q(c, &["HINCRBY", "h", "e", "1"]), Int(5201));
    // Redis computes in long double and prints with 17 significant digits.
    assert_eq!(q(c, &["HSET", "h", "p", "0.1"]), Int(1));
    assert_eq!(q(c, &["HINCRBYFLOAT", "h", "p", "0.2"]), b("0.3"));

    assert_eq!(q(c, &["HSET", "h", "s", "abc"]), Int(1));
    assert_eq!(
        err(c, &["HINCRBYFLOAT", "h", "s", "1"]),
        "ERR hash value is not a float"
    );
    assert_eq!(q(c, &["HGET", "h", "s"]), b("abc"));
    assert_eq!(
        err(c, &["HINCRBYFLOAT", "h", "k", "abc"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        err(c, &["HINCRBYFLOAT", "h", "k", "inf"]),
        "ERR value is NaN or Infinity"
    );
    assert_eq!(q(c, &["HGET", "h", "k"]), b("5.6"));
    assert_eq!(err(c, &["HINCRBYFLOAT", "h", "k"]), arity("hincrbyfloat"));
}

#[test]
fn hscan_iterates_every_field_exactly_once() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    fill(c, "big", 1000);
    assert_eq!(q(c, &["HLEN", "big"]), Int(1000));
    let want: BTreeMap<Vec<u8>, Vec<u8>> = (0..1000)
        .map(|i| (format!("f{i}").into_bytes(), format!("v{i}").into_bytes()))
        .collect();
    for extra in [
        &[][..],
        &["COUNT", "10"],
        &["COUNT", "100"],
        &["COUNT", "5000"],
    ] {
        let got = pairs(arr(hscan_all(c, "big", extra)));
        assert_eq!(got, want, "HSCAN {extra:?}");
    }
    // MATCH filters by field name.
    let got = pairs(arr(hscan_all(c, "big", &["MATCH", "f1??"])));
    let want_m: BTreeMap<Vec<u8>, Vec<u8>> = (100..200)
        .map(|i| (format!("f{i}").into_bytes(), format!("v{i}").into_bytes()))
        .collect();
    assert_eq!(got, want_m);
    let got = pairs(arr(hscan_all(c, "big", &["MATCH", "f99*", "COUNT", "20"])));
    assert_eq!(
        got.keys().cloned().collect::<Vec<_>>(),
        std::iter::once(99)
            .chain(990..1000)
            .map(|i| format!("f{i}").into_bytes())
            .collect::<Vec<_>>()
    );
    assert!(hscan_all(c, "big", &["MATCH", "v*"]).is_empty());

    // A small hash and a missing key.
    assert_eq!(q(c, &["HSET", "small", "a", "1", "b", "2"]), Int(2));
    assert_eq!(
        pairs(arr(hscan_all(c, "small", &[]))),
        map(&[("a", "1"), ("b", "2")])
    );
    assert_eq!(
        q(c, &["HSCAN", "missing", "0"]),
        arr(vec![b("0"), arr(vec![])])
    );
    assert_eq!(err(c, &["HSCAN", "big", "abc"]), "ERR invalid cursor");
    assert_eq!(
        err(c, &["HSCAN", "big", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    assert_eq!(err(c, &["HSCAN", "big", "0", "COUNT", "x"]), NOT_INT);
    assert_eq!(err(c, &["HSCAN", "big", "0", "BOGUS"]), "ERR syntax error");
    assert_eq!(err(c, &["HSCAN", "big"]), arity("hscan"));
    assert_eq!(q(c, &["SET", "s", "v"]), ok());
    assert_eq!(err(c, &["HSCAN", "s", "0"]), WRONGTYPE);
}

#[test]
fn hscan_novalues() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    fill(c, "big", 1000);
    let fields = hscan_all(c, "big", &["NOVALUES"]);
    let n = fields.len();
    let set: HashSet<String> = fields.iter().map(text).collect();
    assert_eq!(set.len(), n, "HSCAN NOVALUES returned duplicates");
    let want: HashSet<String> = (0..1000).map(|i| format!("f{i}")).collect();
    assert_eq!(set, want);
    let fields = hscan_all(c, "big", &["MATCH", "f12?", "NOVALUES", "COUNT", "50"]);
    let mut got: Vec<String> = fields.iter().map(text).collect();
    got.sort();
    let want: Vec<String> = (120..130).map(|i| format!("f{i}")).collect();
    assert_eq!(got, want);
    assert_eq!(q(c, &["HSET", "small", "a", "1"]), Int(1));
    assert_eq!(
        q(c, &["HSCAN", "small", "0", "NOVALUES"]),
        arr(vec![b("0"), arr(vec![b("a")])])
    );
}

#[test]
fn wrongtype_both_ways() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["SET", "s", "1"]), ok());
    for cmd in [
        &["HSET", "s", "f", "v"][..],
        &["HSETNX", "s", "f", "v"],
        &["HGET", "s", "f"],
        &["HMGET", "s", "f"],
        &["HDEL", "s", "f"],
        &["HEXISTS", "s", "f"],
        &["HLEN", "s"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HGETALL", "s"],
        &["HINCRBY", "s", "f", "1"],
        &["HINCRBYFLOAT", "s", "f", "1"],
        &["HSTRLEN", "s", "f"],
        &["HSCAN", "s", "0"],
    ] {
        assert_eq!(err(c, cmd), WRONGTYPE, "{cmd:?}");
    }
    assert_eq!(q(c, &["GET", "s"]), b("1"));

    assert_eq!(q(c, &["HSET", "h", "f", "1"]), Int(1));
    for cmd in [
        &["GET", "h"][..],
        &["GETDEL", "h"],
        &["GETEX", "h"],
        &["GETSET", "h", "v"],
        &["SET", "h", "v", "GET"],
        &["APPEND", "h", "v"],
        &["STRLEN", "h"],
        &["GETRANGE", "h", "0", "-1"],
        &["SETRANGE", "h", "0", "v"],
        &["INCR", "h"],
        &["DECRBY", "h", "1"],
        &["INCRBYFLOAT", "h", "1"],
    ] {
        assert_eq!(err(c, cmd), WRONGTYPE, "{cmd:?}");
    }
    // MGET treats a hash as a missing string.
    assert_eq!(q(c, &["MGET", "h", "s"]), arr(vec![Nil, b("1")]));
    assert_eq!(q(c, &["HGETALL", "h"]), arr(vec![b("f"), b("1")]));
}

#[test]
fn expired_hash_is_gone() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["HSET", "h", "a", "1", "b", "2", "c", "3"]), Int(3));
    assert_eq!(q(c, &["PEXPIRE", "h", "100"]), Int(1));
    assert_eq!(q(c, &["HLEN", "h"]), Int(3));
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(q(c, &["HGET", "h", "a"]), Nil);
    assert_eq!(q(c, &["HLEN", "h"]), Int(0));
    assert_eq!(q(c, &["HGETALL", "h"]), arr(vec![]));
    assert_eq!(q(c, &["HEXISTS", "h", "b"]), Int(0));
    assert_eq!(q(c, &["HMGET", "h", "a", "c"]), arr(vec![Nil, Nil]));
    assert_eq!(q(c, &["EXISTS", "h"]), Int(0));
    assert_eq!(q(c, &["TYPE", "h"]), Value::SimpleString("none".into()));
    assert_eq!(q(c, &["TTL", "h"]), Int(-2));
    // A new hash under the same name has only its own fields and no expiry.
    assert_eq!(q(c, &["HSET", "h", "new", "v"]), Int(1));
    assert_eq!(q(c, &["HGETALL", "h"]), arr(vec![b("new"), b("v")]));
    assert_eq!(q(c, &["HLEN", "h"]), Int(1));
    assert_eq!(q(c, &["TTL", "h"]), Int(-1));

    // The same through HINCRBY on an expired hash.
    assert_eq!(q(c, &["HSET", "h2", "n", "10", "m", "1"]), Int(2));
    assert_eq!(q(c, &["PEXPIRE", "h2", "100"]), Int(1));
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(q(c, &["HINCRBY", "h2", "n", "1"]), Int(1));
    assert_eq!(q(c, &["HLEN", "h2"]), Int(1));
}

#[test]
fn big_hash_then_del() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    fill(c, "h", 5000);
    assert_eq!(q(c, &["HLEN", "h"]), Int(5000));
    assert_eq!(q(c, &["HGET", "h", "f4999"]), b("v4999"));
    assert_eq!(q(c, &["HGET", "h", "f0"]), b("v0"));
    assert_eq!(q(c, &["DBSIZE"]), Int(1));
    assert_eq!(q(c, &["DEL", "h"]), Int(1));
    assert_eq!(q(c, &["HLEN", "h"]), Int(0));
    assert_eq!(q(c, &["EXISTS", "h"]), Int(0));
    assert_eq!(q(c, &["HGET", "h", "f10"]), Nil);
    assert_eq!(q(c, &["DBSIZE"]), Int(0));
    assert_eq!(q(c, &["HSET", "h", "x", "y"]), Int(1));
    assert_eq!(q(c, &["HLEN", "h"]), Int(1));
    assert_eq!(q(c, &["HGETALL", "h"]), arr(vec![b("x"), b("y")]));
    assert_eq!(hscan_all(c, "h", &[]), vec![b("x"), b("y")]);
    // Replacing a big hash with a string drops every field too.
    fill(c, "h2", 3000);
    assert_eq!(q(c, &["SET", "h2", "s"]), ok());
    assert_eq!(q(c, &["DEL", "h2"]), Int(1));
    assert_eq!(q(c, &["HSET", "h2", "only", "1"]), Int(1));
    assert_eq!(q(c, &["HLEN", "h2"]), Int(1));
}

#[test]
fn binary_safe_fields_and_values() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let all: Vec<u8> = (0..=255u8).collect();
    let key = b"h\0\r\nkey".to_vec();
    let mut hset = redis::cmd("HSET");
    hset.arg(&key);
    for i in 0..=255u8 {
        hset.arg(vec![i, b'\r', b'\n', i]).arg(vec![i]);
    }
    hset.arg(&all).arg(&all);
    let r: Value = hset.query(c).unwrap();
    assert_eq!(r, Int(257));
    let r: Value = redis::cmd("HGET").arg(&key).arg(&all).query(c).unwrap();
    assert_eq!(r, Value::BulkString(all.clone()));
    let r: Value = redis::cmd("HGET")
        .arg(&key)
        .arg(vec![0u8, b'\r', b'\n', 0])
        .query(c)
        .unwrap();
    assert_eq!(r, Value::BulkString(vec![0]));
    let r: Value = redis::cmd("HSTRLEN").arg(&key).arg(&all).query(c).unwrap();
    assert_eq!(r, Int(256));
    let r: Value = redis::cmd("HGETALL").arg(&key).query(c).unwrap();
    let got = pairs(r);
    let mut want: BTreeMap<Vec<u8>, Vec<u8>> = (0..=255u8)
        .map(|i| (vec![i, b'\r', b'\n', i], vec![i]))
        .collect();
    want.insert(all.clone(), all.clone());
    assert_eq!(got, want);
    let r: Value = redis::cmd("HDEL").arg(&key).arg(&all).query(c).unwrap();
    assert_eq!(r, Int(1));
    let r: Value = redis::cmd("HLEN").arg(&key).query(c).unwrap();
    assert_eq!(r, Int(256));
}
