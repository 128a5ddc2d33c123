//! Generic key commands against a real `ringkv server`: deletion, expiry (relative, absolute,
//! conditional, lazy), TYPE, KEYS globs, SCAN iteration, RENAME, RANDOMKEY and flushing, with
//! Redis 7's replies and error wording. Every test starts its own node.

mod common;

use common::{arity, b, err, ok, q, sorted, strs, Node};
use redis::Value::{self, Int, Nil};
use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NOT_INT: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";
const NX_XX: &str = "ERR NX and XX, GT or LT options at the same time are not compatible";
const GT_LT: &str = "ERR GT and LT options at the same time are not compatible";

fn s(s: &str) -> Value {
    Value::SimpleString(s.to_string())
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn int(v: Value) -> i64 {
    match v {
        Int(n) => n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

/// One SCAN reply: (next cursor, keys).
fn scan_page(v: Value) -> (String, Vec<String>) {
    let Value::Array(mut parts) = v else {
        panic!("SCAN reply is not an array: {v:?}")
    };
    assert_eq!(parts.len(), 2, "SCAN reply: {parts:?}");
    let keys = parts.pop().unwrap();
    let cursor = text(&parts[0]);
    let Value::Array(keys) = keys else {
        panic!("SCAN keys are not an array: {keys:?}")
    };
    (cursor, keys.iter().map(text).collect())
}

/// Iterates SCAN with `extra` options until the cursor is 0; returns every key returned and
/// the number of calls.
fn scan_all(c: &mut redis::Connection, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut all = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(extra);
        let (next, keys) = scan_page(q(c, &args));
        calls += 1;
        all.extend(keys);
        assert!(calls < 100_000, "SCAN does not terminate");
        if next == "0" {
            return (all, calls);
        }
        cursor = next;
    }
}

/// Asserts `keys` holds no duplicates and equals `want`.
fn assert_exactly_once(keys: Vec<String>, want: &HashSet<String>) {
    let n = keys.len();
    let set: HashSet<String> = keys.into_iter().collect();
    assert_eq!(set.len(), n, "SCAN returned duplicates");
    assert_eq!(&set, want);
}

#[test]
fn del_unlink_exists() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(
        q(c, &["MSET", "a", "1", "b", "2", "c", "3", "d", "4"]),
        ok()
    );
    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    assert_eq!(q(c, &["EXISTS", "a"]), Int(1));
    assert_eq!(q(c, &["EXISTS", "missing"]), Int(0));
    // Duplicates are counted every time.
    assert_eq!(q(c, &["EXISTS", "a", "a", "b", "missing", "h"]), Int(4));
    assert_eq!(q(c, &["DEL", "a", "missing", "a"]), Int(1));
    assert_eq!(q(c, &["EXISTS", "a"]), Int(0));
    assert_eq!(q(c, &["DEL", "a"]), Int(0));
    assert_eq!(q(c, &["DEL", "b", "c", "h"]), Int(3));
    assert_eq!(q(c, &["EXISTS", "b", "c", "h"]), Int(0));
    assert_eq!(q(c, &["UNLINK", "d", "d", "missing"]), Int(1));
    assert_eq!(q(c, &["UNLINK", "d"]), Int(0));
    assert_eq!(q(c, &["DBSIZE"]), Int(0));
    assert_eq!(err(c, &["DEL"]), arity("del"));
    assert_eq!(err(c, &["UNLINK"]), arity("unlink"));
    assert_eq!(err(c, &["EXISTS"]), arity("exists"));
}

#[test]
fn expire_family_and_ttl() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    // Missing keys.
    assert_eq!(q(c, &["EXPIRE", "missing", "100"]), Int(0));
    assert_eq!(q(c, &["PEXPIRE", "missing", "100"]), Int(0));
    assert_eq!(q(c, &["EXPIREAT", "missing", "9999999999"]), Int(0));
    assert_eq!(q(c, &["PEXPIREAT", "missing", "9999999999999"]), Int(0));
    assert_eq!(q(c, &["TTL", "missing"]), Int(-2));
    assert_eq!(q(c, &["PTTL", "missing"]), Int(-2));
    assert_eq!(q(c, &["EXPIRETIME", "missing"]), Int(-2));
    assert_eq!(q(c, &["PEXPIRETIME", "missing"]), Int(-2));
    assert_eq!(q(c, &["EXISTS", "missing"]), Int(0));
    // No expiry.
    assert_eq!(q(c, &["SET", "k", "v"]), ok());
    assert_eq!(q(c, &["TTL", "k"]), Int(-1));
    assert_eq!(q(c, &["PTTL", "k"]), Int(-1));
    assert_eq!(q(c, &["EXPIRETIME", "k"]), Int(-1));
    assert_eq!(q(c, &["PEXPIRETIME", "k"]), Int(-1));

    assert_eq!(q(c, &["EXPIRE", "k", "100"]), Int(1));
    assert_eq!(q(c, &["TTL", "k"]), Int(100));
    let pttl = int(q(c, &["PTTL", "k"]));
    assert!(pttl > 95_000 && pttl <= 100_000, "PTTL {pttl}");
    let et = int(q(c, &["EXPIRETIME", "k"]));
    assert!((et - (now_secs() + 100)).abs() <= 2, "EXPIRETIME {et}");

    assert_eq!(q(c, &["PEXPIRE", "k", "50000"]), Int(1));
    let pttl = int(q(c, &["PTTL", "k"]));
    assert!(pttl > 45_000 && pttl <= 50_000, "PTTL {pttl}");
    assert_eq!(q(c, &["TTL", "k"]), Int(50));
    let pet = int(q(c, &["PEXPIRETIME", "k"]));
    assert!(
        (pet - (now_ms() + 50_000)).abs() <= 2_000,
        "PEXPIRETIME {pet}"
    );

    let at = now_secs() + 1000;
    assert_eq!(q(c, &["EXPIREAT", "k", &at.to_string()]), Int(1));
    assert_eq!(q(c, &["EXPIRETIME", "k"]), Int(at));
    assert_eq!(q(c, &["PEXPIRETIME", "k"]), Int(at * 1000));
    let ttl = int(q(c, &["TTL", "k"]));
    assert!((998..=1000).contains(&ttl), "TTL {ttl}");

    let pat = at * 1000 + 456;
    assert_eq!(q(c, &["PEXPIREAT", "k", &pat.to_string()]), Int(1));
    assert_eq!(q(c, &["PEXPIRETIME", "k"]), Int(pat));
    assert_eq!(q(c, &["EXPIRETIME", "k"]), Int(at));
    // The value is untouched by expiry changes.
    assert_eq!(q(c, &["GET", "k"]), b("v"));

    // Hashes expire like strings.
    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    assert_eq!(q(c, &["EXPIRE", "h", "100"]), Int(1));
    assert_eq!(q(c, &["TTL", "h"]), Int(100));
    // Writing a hash field keeps the key's expiry.
    assert_eq!(q(c, &["HSET", "h", "g", "w"]), Int(1));
    assert_eq!(q(c, &["TTL", "h"]), Int(100));

    assert_eq!(err(c, &["EXPIRE", "k", "abc"]), NOT_INT);
    assert_eq!(err(c, &["EXPIRE", "k", "1.5"]), NOT_INT);
    assert_eq!(err(c, &["PEXPIRE", "k", ""]), NOT_INT);
    assert_eq!(err(c, &["EXPIREAT", "k", "soon"]), NOT_INT);
    assert_eq!(err(c, &["PEXPIREAT", "k", "1e12"]), NOT_INT);
    assert_eq!(
        err(c, &["EXPIRE", "k", "9223372036854775807"]),
        "ERR invalid expire time in 'expire' command"
    );
    assert_eq!(
        err(c, &["PEXPIRE", "k", "9223372036854775807"]),
        "ERR invalid expire time in 'pexpire' command"
    );
    assert_eq!(
        err(c, &["EXPIREAT", "k", "9223372036854775807"]),
        "ERR invalid expire time in 'expireat' command"
    );
    assert_eq!(q(c, &["PEXPIRETIME", "k"]), Int(pat));
    assert_eq!(err(c, &["EXPIRE", "k"]), arity("expire"));
    assert_eq!(err(c, &["PEXPIREAT", "k"]), arity("pexpireat"));
    assert_eq!(err(c, &["TTL"]), arity("ttl"));
    assert_eq!(err(c, &["PTTL", "a", "b"]), arity("pttl"));
    assert_eq!(err(c, &["EXPIRETIME"]), arity("expiretime"));
    assert_eq!(err(c, &["PEXPIRETIME"]), arity("pexpiretime"));
}

#[test]
fn expire_nx_xx_gt_lt() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["SET", "k", "v"]), ok());
    // On a key without expiry: XX and GT fail; NX and LT set.
    assert_eq!(q(c, &["EXPIRE", "k", "100", "XX"]), Int(0));
    assert_eq!(q(c, &["EXPIRE", "k", "100", "GT"]), Int(0));
    assert_eq!(q(c, &["TTL", "k"]), Int(-1));
    assert_eq!(q(c, &["EXPIRE", "k", "100", "NX"]), Int(1));
    assert_eq!(q(c, &["TTL", "k"]), Int(100));
    assert_eq!(q(c, &["EXPIRE", "k", "200", "NX"]), Int(0));
    assert_eq!(q(c, &["TTL", "k"]), Int(100));
    assert_eq!(q(c, &["EXPIRE", "k", "200", "XX"]), Int(1));
    assert_eq!(q(c, &["TTL", "k"]), Int(200));
    assert_eq!(q(c, &["EXPIRE", "k", "100", "GT"]), Int(0));
    // Equal expiry times are neither greater nor less.
    let t = (now_ms() + 200_000).to_string();
    assert_eq!(q(c, &["PEXPIREAT", "k", &t, "XX"]), Int(1));
    assert_eq!(q(c, &["PEXPIREAT", "k", &t, "GT"]), Int(0));
    assert_eq!(q(c, &["PEXPIREAT", "k", &t, "LT"]), Int(0));
    assert_eq!(q(c, &["PEXPIRETIME", "k"]), Int(t.parse().unwrap()));
    assert_eq!(q(c, &["EXPIRE", "k", "300", "GT"]), Int(1));
    assert_eq!(q(c, &["TTL", "k"]), Int(300));
    assert_eq!(q(c, &["EXPIRE", "k", "400", "LT"]), Int(0));
    assert_eq!(q(c, &["EXPIRE", "k", "150", "lt"]), Int(1));
    assert_eq!(q(c, &["TTL", "k"]), Int(150));
    assert_eq!(q(c, &["EXPIRE", "k", "500", "XX", "GT"]), Int(1));
    assert_eq!(q(c, &["TTL", "k"]), Int(500));
    assert_eq!(q(c, &["EXPIRE", "k", "50", "LT", "XX"]), Int(1));
    assert_eq!(q(c, &["TTL", "k"]), Int(50));

    assert_eq!(q(c, &["SET", "p", "v"]), ok());
    assert_eq!(q(c, &["EXPIRE", "p", "100", "LT"]), Int(1));
    assert_eq!(q(c, &["TTL", "p"]), Int(100));
    // The same flags on PEXPIRE, EXPIREAT and PEXPIREAT.
    assert_eq!(q(c, &["PEXPIRE", "p", "50000", "GT"]), Int(0));
    assert_eq!(q(c, &["PEXPIRE", "p", "500000", "GT"]), Int(1));
    assert_eq!(q(c, &["TTL", "p"]), Int(500));
    let at = now_secs() + 1000;
    assert_eq!(q(c, &["EXPIREAT", "p", &at.to_string(), "NX"]), Int(0));
    assert_eq!(q(c, &["EXPIREAT", "p", &at.to_string(), "XX"]), Int(1));
    assert_eq!(q(c, &["EXPIRETIME", "p"]), Int(at));
    let later = (at + 10) * 1000;
    assert_eq!(q(c, &["PEXPIREAT", "p", &later.to_string(), "LT"]), Int(0));
    assert_eq!(q(c, &["PEXPIREAT", "p", &later.to_string(), "GT"]), Int(1));
    assert_eq!(q(c, &["PEXPIRETIME", "p"]), Int(later));

    // Incompatible combinations.
    for cmd in ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"] {
        for flags in [
            &["NX", "XX"][..],
            &["XX", "NX"],
            &["NX", "GT"],
            &["NX", "LT"],
            &["LT", "NX"],
        ] {
            let mut args = vec![cmd, "k", "100"];
            args.extend_from_slice(flags);
            assert_eq!(err(c, &args), NX_XX, "{args:?}");
        }
        for flags in [&["GT", "LT"][..], &["LT", "GT"], &["XX", "GT", "LT"]] {
            let mut args = vec![cmd, "k", "100"];
            args.extend_from_slice(flags);
            assert_eq!(err(c, &args), GT_LT, "{args:?}");
        }
        assert_eq!(
            err(c, &[cmd, "k", "100", "BOGUS"]),
            "ERR Unsupported option BOGUS"
        );
    }
    assert_eq!(q(c, &["TTL", "k"]), Int(50));
    // Flags on a missing key.
    assert_eq!(q(c, &["EXPIRE", "missing", "100", "NX"]), Int(0));
    assert_eq!(q(c, &["EXISTS", "missing"]), Int(0));
}

#[test]
fn negative_or_past_expiry_deletes() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(
        q(
            c,
            &["MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5"]
        ),
        ok()
    );
    assert_eq!(q(c, &["EXPIRE", "a", "-1"]), Int(1));
    assert_eq!(q(c, &["EXISTS", "a"]), Int(0));
    assert_eq!(q(c, &["GET", "a"]), Nil);
    assert_eq!(q(c, &["PEXPIRE", "b", "0"]), Int(1));
    assert_eq!(q(c, &["EXISTS", "b"]), Int(0));
    assert_eq!(q(c, &["EXPIREAT", "c", "1"]), Int(1));
    assert_eq!(q(c, &["EXISTS", "c"]), Int(0));
    assert_eq!(
        q(c, &["PEXPIREAT", "d", &(now_ms() - 1000).to_string()]),
        Int(1)
    );
    assert_eq!(q(c, &["EXISTS", "d"]), Int(0));
    assert_eq!(q(c, &["TTL", "d"]), Int(-2));
    assert_eq!(q(c, &["EXPIRE", "a", "-1"]), Int(0));
    // GT on a key without expiry fails even for a past time; LT deletes.
    assert_eq!(q(c, &["EXPIRE", "e", "-1", "GT"]), Int(0));
    assert_eq!(q(c, &["GET", "e"]), b("5"));
    assert_eq!(q(c, &["EXPIRE", "e", "-1", "LT"]), Int(1));
    assert_eq!(q(c, &["EXISTS", "e"]), Int(0));
    // A hash too.
    assert_eq!(q(c, &["HSET", "h", "f1", "v", "f2", "v"]), Int(2));
    assert_eq!(q(c, &["EXPIRE", "h", "0"]), Int(1));
    assert_eq!(q(c, &["EXISTS", "h"]), Int(0));
    assert_eq!(q(c, &["HLEN", "h"]), Int(0));
    assert_eq!(q(c, &["HSET", "h", "f3", "v"]), Int(1));
    assert_eq!(sorted(q(c, &["HKEYS", "h"])), strs(&["f3"]));
    assert_eq!(q(c, &["DBSIZE"]), Int(1));
}

#[test]
fn persist() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["PERSIST", "missing"]), Int(0));
    assert_eq!(q(c, &["SET", "k", "v"]), ok());
    assert_eq!(q(c, &["PERSIST", "k"]), Int(0));
    assert_eq!(q(c, &["EXPIRE", "k", "100"]), Int(1));
    assert_eq!(q(c, &["PERSIST", "k"]), Int(1));
    assert_eq!(q(c, &["TTL", "k"]), Int(-1));
    assert_eq!(q(c, &["PERSIST", "k"]), Int(0));
    assert_eq!(q(c, &["GET", "k"]), b("v"));
    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    assert_eq!(q(c, &["PEXPIRE", "h", "100000"]), Int(1));
    assert_eq!(q(c, &["PERSIST", "h"]), Int(1));
    assert_eq!(q(c, &["PTTL", "h"]), Int(-1));
    assert_eq!(err(c, &["PERSIST"]), arity("persist"));
}

#[test]
fn type_of_keys() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["TYPE", "missing"]), s("none"));
    assert_eq!(q(c, &["SET", "str", "v"]), ok());
    assert_eq!(q(c, &["TYPE", "str"]), s("string"));
    assert_eq!(q(c, &["SET", "num", "12"]), ok());
    assert_eq!(q(c, &["TYPE", "num"]), s("string"));
    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    assert_eq!(q(c, &["TYPE", "h"]), s("hash"));
    assert_eq!(q(c, &["DEL", "h"]), Int(1));
    assert_eq!(q(c, &["TYPE", "h"]), s("none"));
    assert_eq!(err(c, &["TYPE"]), arity("type"));
}

#[test]
fn keys_glob_patterns() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let all = [
        "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "hbllo", "hcllo", "a?b", "abc",
        "a[b", "x\\y",
    ];
    let mut mset = vec!["MSET"];
    for k in all {
        mset.push(k);
        mset.push("v");
    }
    assert_eq!(q(c, &mset), ok());
    let cases: &[(&str, &[&str])] = &[
        ("*", &all),
        (
            "h?llo",
            &["hello", "hallo", "hxllo", "h*llo", "hbllo", "hcllo"],
        ),
        (
            "h*llo",
            &[
                "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "hbllo", "hcllo",
            ],
        ),
        ("h[ae]llo", &["hello", "hallo"]),
        ("h[^e]llo", &["hallo", "hxllo", "h*llo", "hbllo", "hcllo"]),
        ("h[a-c]llo", &["hallo", "hbllo", "hcllo"]),
        ("h[c-a]llo", &["hallo", "hbllo", "hcllo"]),
        ("h\\*llo", &["h*llo"]),
        ("h\\?llo", &[]),
        ("a\\?b", &["a?b"]),
        ("a?b", &["a?b", "a[b"]),
        ("a\\[b", &["a[b"]),
        ("x\\\\y", &["x\\y"]),
        ("a*", &["a?b", "abc", "a[b"]),
        ("*c", &["abc"]),
        ("*e*", &["hello", "heeeello"]),
        ("hello", &["hello"]),
        ("HELLO", &[]),
        ("nomatch*", &[]),
        ("", &[]),
    ];
    for (pattern, want) in cases {
        assert_eq!(
            sorted(q(c, &["KEYS", pattern])),
            strs(want),
            "KEYS {pattern}"
        );
    }
    assert_eq!(q(c, &["HSET", "hash", "f", "v"]), Int(1));
    assert_eq!(sorted(q(c, &["KEYS", "has?"])), strs(&["hash"]));
    assert_eq!(err(c, &["KEYS"]), arity("keys"));
}

#[test]
fn scan_iterates_every_key_exactly_once() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let mut want = HashSet::new();
    let mut mset = redis::cmd("MSET");
    for i in 0..2000 {
        let k = format!("key:{i}");
        mset.arg(&k).arg(i);
        want.insert(k);
    }
    let r: Value = mset.query(c).unwrap();
    assert_eq!(r, ok());
    let mut hashes = HashSet::new();
    for i in 0..20 {
        let k = format!("hash:{i}");
        assert_eq!(q(c, &["HSET", &k, "f", "v"]), Int(1));
        hashes.insert(k);
    }
    assert_eq!(q(c, &["DBSIZE"]), Int(2020));
    let everything: HashSet<String> = want.union(&hashes).cloned().collect();

    // Default COUNT: many calls, every key once.
    let (keys, calls) = scan_all(c, &[]);
    assert_exactly_once(keys, &everything);
    assert!(
        calls >= 20,
        "SCAN with the default COUNT 10 took only {calls} calls"
    );

    let (keys, _) = scan_all(c, &["COUNT", "100"]);
    assert_exactly_once(keys, &everything);
    let (keys, _) = scan_all(c, &["count", "7"]);
    assert_exactly_once(keys, &everything);

    // A COUNT larger than the keyspace: one call.
    let (keys, calls) = scan_all(c, &["COUNT", "100000"]);
    assert_eq!(calls, 1);
    assert_exactly_once(keys, &everything);

    // MATCH
    let matching: HashSet<String> = (100..200).map(|i| format!("key:{i}")).collect();
    let (keys, _) = scan_all(c, &["MATCH", "key:1??"]);
    assert_exactly_once(keys, &matching);
    let (keys, _) = scan_all(c, &["MATCH", "key:1??", "COUNT", "50"]);
    assert_exactly_once(keys, &matching);
    let (keys, _) = scan_all(c, &["MATCH", "nothing*"]);
    assert!(keys.is_empty());

    // TYPE
    let (keys, _) = scan_all(c, &["TYPE", "hash"]);
    assert_exactly_once(keys, &hashes);
    let (keys, _) = scan_all(c, &["TYPE", "string", "COUNT", "200"]);
    assert_exactly_once(keys, &want);
    let (keys, _) = scan_all(c, &["MATCH", "hash:1*", "TYPE", "hash"]);
    let want_h: HashSet<String> = ["hash:1"]
        .into_iter()
        .map(String::from)
        .chain((10..20).map(|i| format!("hash:{i}")))
        .collect();
    assert_exactly_once(keys, &want_h);
    let (keys, _) = scan_all(c, &["MATCH", "hash:*", "TYPE", "string"]);
    assert!(keys.is_empty());
}

#[test]
fn scan_with_writes_during_iteration() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let mut mset = redis::cmd("MSET");
    for i in 0..1000 {
        mset.arg(format!("s:{i}")).arg(i);
    }
    let r: Value = mset.query(c).unwrap();
    assert_eq!(r, ok());
    let mut seen = Vec::new();
    let (mut cursor, keys) = scan_page(q(c, &["SCAN", "0", "COUNT", "50"]));
    seen.extend(keys);
    // Delete some keys and add others mid-iteration.
    let mut del = redis::cmd("DEL");
    let mut add = redis::cmd("MSET");
    for i in 0..100 {
        del.arg(format!("s:{}", i * 10));
        add.arg(format!("n:{i}")).arg(i);
    }
    let r: Value = del.query(c).unwrap();
    assert_eq!(r, Int(100));
    let r: Value = add.query(c).unwrap();
    assert_eq!(r, ok());
    while cursor != "0" {
        let (next, keys) = scan_page(q(c, &["SCAN", &cursor, "COUNT", "50"]));
        seen.extend(keys);
        cursor = next;
    }
    let seen: HashSet<String> = seen.into_iter().collect();
    // Every key present for the whole iteration is returned; nothing else is invented.
    for i in (0..1000).filter(|i| i % 10 != 0) {
        assert!(seen.contains(&format!("s:{i}")), "SCAN missed s:{i}");
    }
    for k in &seen {
        assert!(
            k.starts_with("s:") || k.starts_with("n:"),
            "SCAN returned {k}"
        );
    }
}

#[test]
fn scan_errors_and_empty() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(
        q(c, &["SCAN", "0"]),
        Value::Array(vec![b("0"), Value::Array(vec![])])
    );
    assert_eq!(q(c, &["SET", "k", "v"]), ok());
    assert_eq!(
        q(c, &["SCAN", "0"]),
        Value::Array(vec![b("0"), Value::Array(vec![b("k")])])
    );
    assert_eq!(err(c, &["SCAN", "abc"]), "ERR invalid cursor");
    assert_eq!(err(c, &["SCAN", "1x"]), "ERR invalid cursor");
    assert_eq!(
        err(c, &["SCAN", "18446744073709551616"]),
        "ERR invalid cursor"
    );
    assert_eq!(err(c, &["SCAN", "0", "COUNT", "0"]), SYNTAX);
    assert_eq!(err(c, &["SCAN", "0", "COUNT", "abc"]), NOT_INT);
    assert_eq!(err(c, &["SCAN", "0", "MATCH"]), SYNTAX);
    assert_eq!(err(c, &["SCAN", "0", "BOGUS", "x"]), SYNTAX);
    assert_eq!(err(c, &["SCAN"]), arity("scan"));
}

#[test]
fn rename() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(err(c, &["RENAME", "missing", "x"]), "ERR no such key");
    assert_eq!(err(c, &["RENAME", "missing", "missing"]), "ERR no such key");
    assert_eq!(q(c, &["EXISTS", "x"]), Int(0));

    assert_eq!(q(c, &["SET", "a", "1"]), ok());
    assert_eq!(q(c, &["RENAME", "a", "b"]), ok());
    assert_eq!(q(c, &["EXISTS", "a"]), Int(0));
    assert_eq!(q(c, &["GET", "b"]), b("1"));
    // Overwrites the destination.
    assert_eq!(q(c, &["SET", "c", "3"]), ok());
    assert_eq!(q(c, &["RENAME", "b", "c"]), ok());
    assert_eq!(q(c, &["GET", "c"]), b("1"));
    assert_eq!(q(c, &["EXISTS", "b"]), Int(0));
    assert_eq!(q(c, &["DBSIZE"]), Int(1));
    // Same name: OK, nothing changes.
    assert_eq!(q(c, &["RENAME", "c", "c"]), ok());
    assert_eq!(q(c, &["GET", "c"]), b("1"));

    // The expiry moves with the key.
    assert_eq!(q(c, &["SET", "t", "v", "EX", "100"]), ok());
    assert_eq!(q(c, &["RENAME", "t", "t2"]), ok());
    assert_eq!(q(c, &["TTL", "t2"]), Int(100));
    assert_eq!(q(c, &["TTL", "t"]), Int(-2));
    // The destination's old expiry does not survive.
    assert_eq!(q(c, &["SET", "dst", "old", "EX", "100"]), ok());
    assert_eq!(q(c, &["SET", "src", "new"]), ok());
    assert_eq!(q(c, &["RENAME", "src", "dst"]), ok());
    assert_eq!(q(c, &["GET", "dst"]), b("new"));
    assert_eq!(q(c, &["TTL", "dst"]), Int(-1));

    // Hashes move with all their fields, and replace the destination's fields.
    assert_eq!(
        q(c, &["HSET", "h", "f1", "v1", "f2", "v2", "f3", "v3"]),
        Int(3)
    );
    assert_eq!(q(c, &["HSET", "h2", "old", "x", "f1", "y"]), Int(2));
    assert_eq!(q(c, &["RENAME", "h", "h2"]), ok());
    assert_eq!(q(c, &["EXISTS", "h"]), Int(0));
    assert_eq!(q(c, &["HLEN", "h"]), Int(0));
    assert_eq!(q(c, &["HLEN", "h2"]), Int(3));
    assert_eq!(
        sorted(q(c, &["HGETALL", "h2"])),
        strs(&["f1", "f2", "f3", "v1", "v2", "v3"])
    );
    assert_eq!(q(c, &["HGET", "h2", "old"]), Nil);
    // A new hash under the old name starts empty.
    assert_eq!(q(c, &["HSET", "h", "n", "1"]), Int(1));
    assert_eq!(sorted(q(c, &["HKEYS", "h"])), strs(&["n"]));
    // A hash onto a string, and a string onto a hash.
    assert_eq!(q(c, &["RENAME", "h2", "c"]), ok());
    assert_eq!(q(c, &["TYPE", "c"]), s("hash"));
    assert_eq!(q(c, &["HLEN", "c"]), Int(3));
    assert_eq!(q(c, &["RENAME", "dst", "c"]), ok());
    assert_eq!(q(c, &["TYPE", "c"]), s("string"));
    assert_eq!(q(c, &["GET", "c"]), b("new"));
    assert_eq!(q(c, &["HSET", "c2", "z", "z"]), Int(1));
    assert_eq!(q(c, &["RENAME", "c", "c2"]), ok());
    assert_eq!(q(c, &["GET", "c2"]), b("new"));
    assert_eq!(err(c, &["RENAME", "a"]), arity("rename"));
}

#[test]
fn renamenx() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(err(c, &["RENAMENX", "missing", "x"]), "ERR no such key");
    assert_eq!(q(c, &["SET", "a", "1", "EX", "100"]), ok());
    assert_eq!(q(c, &["SET", "b", "2"]), ok());
    assert_eq!(q(c, &["RENAMENX", "a", "b"]), Int(0));
    assert_eq!(q(c, &["GET", "a"]), b("1"));
    assert_eq!(q(c, &["GET", "b"]), b("2"));
    assert_eq!(q(c, &["RENAMENX", "a", "a"]), Int(0));
    assert_eq!(q(c, &["RENAMENX", "a", "c"]), Int(1));
    assert_eq!(q(c, &["EXISTS", "a"]), Int(0));
    assert_eq!(q(c, &["GET", "c"]), b("1"));
    assert_eq!(q(c, &["TTL", "c"]), Int(100));
    // A hash destination counts as existing.
    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    assert_eq!(q(c, &["RENAMENX", "c", "h"]), Int(0));
    assert_eq!(q(c, &["TYPE", "h"]), s("hash"));
    assert_eq!(q(c, &["RENAMENX", "h", "h3"]), Int(1));
    assert_eq!(q(c, &["HGET", "h3", "f"]), b("v"));
    assert_eq!(q(c, &["EXISTS", "h"]), Int(0));
    assert_eq!(err(c, &["RENAMENX", "a"]), arity("renamenx"));
}

#[test]
fn randomkey() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["RANDOMKEY"]), Nil);
    assert_eq!(q(c, &["SET", "only", "v"]), ok());
    assert_eq!(q(c, &["RANDOMKEY"]), b("only"));
    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    assert_eq!(q(c, &["SET", "third", "v"]), ok());
    let keys = strs(&["only", "h", "third"]);
    let mut seen = HashSet::new();
    for _ in 0..100 {
        let k = text(&q(c, &["RANDOMKEY"]));
        assert!(keys.contains(&k), "RANDOMKEY returned {k}");
        seen.insert(k);
    }
    assert!(seen.len() >= 2, "RANDOMKEY is not random: {seen:?}");
    assert_eq!(q(c, &["FLUSHDB"]), ok());
    assert_eq!(q(c, &["RANDOMKEY"]), Nil);
    assert_eq!(err(c, &["RANDOMKEY", "x"]), arity("randomkey"));
}

#[test]
fn dbsize_flushdb_flushall() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["DBSIZE"]), Int(0));
    assert_eq!(q(c, &["MSET", "a", "1", "b", "2", "c", "3"]), ok());
    assert_eq!(q(c, &["HSET", "h", "f1", "v", "f2", "v"]), Int(2));
    assert_eq!(q(c, &["DBSIZE"]), Int(4));
    assert_eq!(q(c, &["SET", "a", "overwrite"]), ok());
    assert_eq!(q(c, &["DBSIZE"]), Int(4));
    assert_eq!(q(c, &["DEL", "a"]), Int(1));
    assert_eq!(q(c, &["DBSIZE"]), Int(3));
    assert_eq!(q(c, &["FLUSHDB"]), ok());
    assert_eq!(q(c, &["DBSIZE"]), Int(0));
    assert_eq!(q(c, &["GET", "b"]), Nil);
    assert_eq!(q(c, &["HLEN", "h"]), Int(0));
    assert_eq!(q(c, &["KEYS", "*"]), Value::Array(vec![]));
    // A hash written after the flush holds only its new fields.
    assert_eq!(q(c, &["HSET", "h", "f3", "v"]), Int(1));
    assert_eq!(sorted(q(c, &["HKEYS", "h"])), strs(&["f3"]));
    assert_eq!(q(c, &["SET", "x", "1", "EX", "100"]), ok());
    assert_eq!(q(c, &["DBSIZE"]), Int(2));
    assert_eq!(q(c, &["FLUSHALL"]), ok());
    assert_eq!(q(c, &["DBSIZE"]), Int(0));
    assert_eq!(q(c, &["EXISTS", "h", "x"]), Int(0));
    assert_eq!(q(c, &["SET", "y", "1"]), ok());
    assert_eq!(q(c, &["FLUSHDB", "ASYNC"]), ok());
    assert_eq!(q(c, &["DBSIZE"]), Int(0));
    assert_eq!(q(c, &["SET", "y", "1"]), ok());
    assert_eq!(q(c, &["FLUSHALL", "SYNC"]), ok());
    assert_eq!(q(c, &["DBSIZE"]), Int(0));
    assert_eq!(q(c, &["FLUSHDB", "sync"]), ok());
    assert_eq!(q(c, &["FLUSHALL", "async"]), ok());
    assert_eq!(err(c, &["FLUSHDB", "BOGUS"]), SYNTAX);
    assert_eq!(err(c, &["FLUSHALL", "BOGUS"]), SYNTAX);
    assert_eq!(err(c, &["DBSIZE", "x"]), arity("dbsize"));
}

#[test]
fn lazy_expiry() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["SET", "k", "v", "PX", "100"]), ok());
    assert_eq!(q(c, &["SET", "k2", "v", "PX", "100"]), ok());
    assert_eq!(q(c, &["SET", "k3", "v", "PX", "100"]), ok());
    assert_eq!(q(c, &["SET", "k4", "v", "PX", "100"]), ok());
    assert_eq!(q(c, &["SET", "stay", "v"]), ok());
    assert_eq!(q(c, &["EXISTS", "k"]), Int(1));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(q(c, &["GET", "k"]), Nil);
    assert_eq!(q(c, &["EXISTS", "k2"]), Int(0));
    assert_eq!(q(c, &["TTL", "k3"]), Int(-2));
    assert_eq!(q(c, &["PTTL", "k4"]), Int(-2));
    assert_eq!(q(c, &["TYPE", "k"]), s("none"));
    assert_eq!(sorted(q(c, &["KEYS", "*"])), strs(&["stay"]));
    let (keys, _) = scan_all(c, &[]);
    assert_eq!(keys, vec!["stay".to_string()]);
    assert_eq!(q(c, &["DBSIZE"]), Int(1));
    assert_eq!(q(c, &["RANDOMKEY"]), b("stay"));
    // Expired keys are gone for writes too.
    assert_eq!(q(c, &["SET", "k", "new", "NX"]), ok());
    assert_eq!(q(c, &["TTL", "k"]), Int(-1));
    assert_eq!(err(c, &["RENAME", "k2", "x"]), "ERR no such key");
    assert_eq!(q(c, &["EXPIRE", "k3", "100"]), Int(0));
    assert_eq!(q(c, &["PERSIST", "k4"]), Int(0));
    assert_eq!(q(c, &["DEL", "k4"]), Int(0));
}

#[test]
fn key_counts_follow_writes_on_both_engines() {
    for engine in ["fjall", "memory"] {
        let node = Node::start(&["--engine", engine]);
        let c = &mut node.conn();
        q(c, &["SET", "a", "1"]);
        q(c, &["SET", "b", "2", "EX", "100"]);
        q(c, &["MSET", "c", "3", "d", "4", "a", "5"]);
        q(c, &["HSET", "h", "f", "v"]);
        q(c, &["DEL", "a"]);
        q(c, &["EXPIRE", "c", "100"]);
        q(c, &["PERSIST", "b"]);
        q(c, &["RENAME", "d", "e"]);
        assert_eq!(q(c, &["DBSIZE"]), Int(4), "{engine}: b, c, e, h");
        let info: String = redis::cmd("INFO").arg("keyspace").query(c).unwrap();
        assert!(info.contains("db0:keys=4,expires=1,"), "{engine}: {info}");
        q(c, &["FLUSHALL"]);
        assert_eq!(q(c, &["DBSIZE"]), Int(0), "{engine}");
    }
}
