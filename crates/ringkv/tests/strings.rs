//! String commands against a real `ringkv server`: exact replies, reply types and Redis 7's
//! error wording, edge cases included. Every test starts its own node, so tests run in parallel
//! and share nothing.

mod common;

use common::{arity, b, err, ok, q, Node};
use redis::Value::{self, Int, Nil};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";

fn bytes(v: &[u8]) -> Value {
    Value::BulkString(v.to_vec())
}

fn arr(items: Vec<Value>) -> Value {
    Value::Array(items)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Asserts that PTTL of `key` lies in `(lo, hi]`.
fn assert_pttl(c: &mut redis::Connection, key: &str, lo: i64, hi: i64) {
    match q(c, &["PTTL", key]) {
        Int(n) => assert!(n > lo && n <= hi, "PTTL {key} = {n}, want ({lo}, {hi}]"),
        other => panic!("PTTL {key} = {other:?}"),
    }
}

#[test]
fn get_and_set_basics() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["GET", "missing"]), Nil);
    assert_eq!(q(c, &["SET", "k", "v"]), ok());
    assert_eq!(q(c, &["GET", "k"]), b("v"));
    assert_eq!(q(c, &["SET", "k", "v2"]), ok());
    assert_eq!(q(c, &["GET", "k"]), b("v2"));
    assert_eq!(q(c, &["SET", "empty", ""]), ok());
    assert_eq!(q(c, &["GET", "empty"]), b(""));
    assert_eq!(q(c, &["EXISTS", "empty"]), Int(1));
    assert_eq!(q(c, &["STRLEN", "empty"]), Int(0));
    // Lower-case and mixed-case command names and options work.
    assert_eq!(q(c, &["set", "lc", "x", "ex", "100"]), ok());
    assert_eq!(q(c, &["gEt", "lc"]), b("x"));
    assert_eq!(q(c, &["TTL", "lc"]), Int(100));
    // Integers are stored as their text.
    assert_eq!(q(c, &["SET", "n", "12345"]), ok());
    assert_eq!(q(c, &["GET", "n"]), b("12345"));
    assert_eq!(q(c, &["STRLEN", "n"]), Int(5));
    // Arity errors name the command in lower case, whatever case was sent.
    assert_eq!(err(c, &["GET"]), arity("get"));
    assert_eq!(err(c, &["GeT", "a", "b"]), arity("get"));
    assert_eq!(err(c, &["SET", "k"]), arity("set"));
    assert_eq!(err(c, &["SET"]), arity("set"));
}

#[test]
fn set_expiry_options() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["SET", "ex", "v", "EX", "100"]), ok());
    assert_eq!(q(c, &["TTL", "ex"]), Int(100));
    assert_pttl(c, "ex", 95_000, 100_000);

    assert_eq!(q(c, &["SET", "px", "v", "PX", "50000"]), ok());
    assert_pttl(c, "px", 45_000, 50_000);
    assert_eq!(q(c, &["TTL", "px"]), Int(50));

    let at = now_secs() + 1000;
    assert_eq!(q(c, &["SET", "exat", "v", "EXAT", &at.to_string()]), ok());
    assert_eq!(q(c, &["EXPIRETIME", "exat"]), Int(at as i64));
    assert_eq!(q(c, &["PEXPIRETIME", "exat"]), Int(at as i64 * 1000));

    let pat = at * 1000 + 123;
    assert_eq!(q(c, &["SET", "pxat", "v", "PXAT", &pat.to_string()]), ok());
    assert_eq!(q(c, &["PEXPIRETIME", "pxat"]), Int(pat as i64));
    assert_eq!(q(c, &["EXPIRETIME", "pxat"]), Int(at as i64));

    // KEEPTTL keeps the expiry; a plain SET removes it.
    assert_eq!(q(c, &["SET", "ex", "v2", "KEEPTTL"]), ok());
    assert_eq!(q(c, &["GET", "ex"]), b("v2"));
    assert_pttl(c, "ex", 90_000, 100_000);
    assert_eq!(q(c, &["SET", "ex", "v3"]), ok());
    assert_eq!(q(c, &["TTL", "ex"]), Int(-1));
    // KEEPTTL on a key without expiry, or a missing key, leaves it persistent.
    assert_eq!(q(c, &["SET", "kt", "v", "KEEPTTL"]), ok());
    assert_eq!(q(c, &["TTL", "kt"]), Int(-1));

    // An absolute time in the past: the write succeeds and the key is gone at once.
    assert_eq!(q(c, &["SET", "past", "v", "PXAT", "1"]), ok());
    assert_eq!(q(c, &["GET", "past"]), Nil);
    assert_eq!(q(c, &["EXISTS", "past"]), Int(0));
    assert_eq!(q(c, &["SET", "past2", "v", "EXAT", "1"]), ok());
    assert_eq!(q(c, &["EXISTS", "past2"]), Int(0));
    assert_eq!(q(c, &["TTL", "past2"]), Int(-2));

    // Option order does not matter.
    assert_eq!(q(c, &["SET", "ord", "v", "GET", "EX", "100", "NX"]), Nil);
    assert_eq!(q(c, &["TTL", "ord"]), Int(100));
}

#[test]
fn set_expiry_really_expires() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["SET", "short", "v", "PX", "100"]), ok());
    assert_eq!(q(c, &["GET", "short"]), b("v"));
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(q(c, &["GET", "short"]), Nil);
    assert_eq!(q(c, &["EXISTS", "short"]), Int(0));
    assert_eq!(q(c, &["TTL", "short"]), Int(-2));
    // Writing the expired key again creates a fresh persistent key.
    assert_eq!(q(c, &["APPEND", "short", "x"]), Int(1));
    assert_eq!(q(c, &["GET", "short"]), b("x"));
    assert_eq!(q(c, &["TTL", "short"]), Int(-1));
}

#[test]
fn set_conditions_and_get() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    // NX
    assert_eq!(q(c, &["SET", "k", "v1", "NX"]), ok());
    assert_eq!(q(c, &["SET", "k", "v2", "NX"]), Nil);
    assert_eq!(q(c, &["GET", "k"]), b("v1"));
    // XX
    assert_eq!(q(c, &["SET", "absent", "v", "XX"]), Nil);
    assert_eq!(q(c, &["EXISTS", "absent"]), Int(0));
    assert_eq!(q(c, &["SET", "k", "v3", "XX"]), ok());
    assert_eq!(q(c, &["GET", "k"]), b("v3"));
    // GET returns the old value (nil when there was none) and sets.
    assert_eq!(q(c, &["SET", "k", "v4", "GET"]), b("v3"));
    assert_eq!(q(c, &["GET", "k"]), b("v4"));
    assert_eq!(q(c, &["SET", "g", "first", "GET"]), Nil);
    assert_eq!(q(c, &["GET", "g"]), b("first"));
    // NX + GET (allowed since Redis 7.0): returns the old value, does not set.
    assert_eq!(q(c, &["SET", "k", "v5", "NX", "GET"]), b("v4"));
    assert_eq!(q(c, &["GET", "k"]), b("v4"));
    assert_eq!(q(c, &["SET", "nxg", "v", "NX", "GET"]), Nil);
    assert_eq!(q(c, &["GET", "nxg"]), b("v"));
    // XX + GET
    assert_eq!(q(c, &["SET", "k", "v6", "XX", "GET"]), b("v4"));
    assert_eq!(q(c, &["GET", "k"]), b("v6"));
    assert_eq!(q(c, &["SET", "xxg", "v", "XX", "GET"]), Nil);
    assert_eq!(q(c, &["EXISTS", "xxg"]), Int(0));
    // A failed NX does not touch the expiry.
    assert_eq!(q(c, &["SET", "t", "v", "EX", "100"]), ok());
    assert_eq!(q(c, &["SET", "t", "w", "NX", "EX", "5"]), Nil);
    assert_eq!(q(c, &["TTL", "t"]), Int(100));
    // XX with EX sets the new expiry.
    assert_eq!(q(c, &["SET", "t", "w", "XX", "EX", "200"]), ok());
    assert_eq!(q(c, &["TTL", "t"]), Int(200));
}

#[test]
fn set_on_hash_key() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    // SET ... GET on a hash: WRONGTYPE, and the hash is untouched.
    assert_eq!(err(c, &["SET", "h", "x", "GET"]), WRONGTYPE);
    assert_eq!(q(c, &["TYPE", "h"]), Value::SimpleString("hash".into()));
    assert_eq!(q(c, &["HGET", "h", "f"]), b("v"));
    // NX on an existing hash: nothing happens.
    assert_eq!(q(c, &["SET", "h", "x", "NX"]), Nil);
    assert_eq!(q(c, &["TYPE", "h"]), Value::SimpleString("hash".into()));
    // A plain SET replaces the hash by a string.
    assert_eq!(q(c, &["SET", "h", "x"]), ok());
    assert_eq!(q(c, &["TYPE", "h"]), Value::SimpleString("string".into()));
    assert_eq!(q(c, &["GET", "h"]), b("x"));
    assert_eq!(err(c, &["HGET", "h", "f"]), WRONGTYPE);
    // XX on a hash replaces it too.
    assert_eq!(q(c, &["HSET", "h2", "f", "v"]), Int(1));
    assert_eq!(q(c, &["SET", "h2", "s", "XX"]), ok());
    assert_eq!(q(c, &["GET", "h2"]), b("s"));
}

#[test]
fn set_syntax_and_expire_errors() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    for bad in [
        &["NX", "XX"][..],
        &["XX", "NX"],
        &["EX", "10", "PX", "10000"],
        &["PX", "10", "EX", "10"],
        &["EX", "10", "EXAT", "9999999999"],
        &["PX", "10", "PXAT", "9999999999999"],
        &["EXAT", "9999999999", "PXAT", "9999999999999"],
        &["EX", "10", "KEEPTTL"],
        &["KEEPTTL", "PX", "10"],
        &["EX"],
        &["PX"],
        &["EXAT"],
        &["PXAT"],
        &["BOGUS"],
        &["NX", "BOGUS"],
        &["10"],
    ] {
        let mut args = vec!["SET", "k", "v"];
        args.extend_from_slice(bad);
        assert_eq!(err(c, &args), SYNTAX, "{args:?}");
    }
    assert_eq!(q(c, &["EXISTS", "k"]), Int(0));

    for bad in [
        &["EX", "0"][..],
        &["EX", "-1"],
        &["PX", "0"],
        &["PX", "-100"],
        &["EXAT", "0"],
        &["EXAT", "-5"],
        &["PXAT", "0"],
        &["EX", "9223372036854775807"],
    ] {
        let mut args = vec!["SET", "k", "v"];
        args.extend_from_slice(bad);
        assert_eq!(
            err(c, &args),
            "ERR invalid expire time in 'set' command",
            "{args:?}"
        );
    }
    assert_eq!(q(c, &["EXISTS", "k"]), Int(0));

    for bad in [
        &["EX", "abc"][..],
        &["EX", "1.5"],
        &["EX", ""],
        &["PX", "10ms"],
        &["EXAT", "x"],
        &["PXAT", "1e3"],
        &["EX", "99999999999999999999"],
    ] {
        let mut args = vec!["SET", "k", "v"];
        args.extend_from_slice(bad);
        assert_eq!(err(c, &args), NOT_INT, "{args:?}");
    }
    assert_eq!(q(c, &["EXISTS", "k"]), Int(0));
}

#[test]
fn setnx_setex_psetex() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["SETNX", "k", "v1"]), Int(1));
    assert_eq!(q(c, &["SETNX", "k", "v2"]), Int(0));
    assert_eq!(q(c, &["GET", "k"]), b("v1"));
    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    assert_eq!(q(c, &["SETNX", "h", "v"]), Int(0));
    assert_eq!(q(c, &["TYPE", "h"]), Value::SimpleString("hash".into()));
    assert_eq!(err(c, &["SETNX", "k"]), arity("setnx"));

    assert_eq!(q(c, &["SETEX", "e", "100", "v"]), ok());
    assert_eq!(q(c, &["GET", "e"]), b("v"));
    assert_eq!(q(c, &["TTL", "e"]), Int(100));
    // SETEX overwrites value and expiry, whatever the type.
    assert_eq!(q(c, &["SETEX", "h", "50", "s"]), ok());
    assert_eq!(q(c, &["GET", "h"]), b("s"));
    assert_eq!(q(c, &["TTL", "h"]), Int(50));
    assert_eq!(
        err(c, &["SETEX", "e", "0", "v"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(
        err(c, &["SETEX", "e", "-10", "v"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(err(c, &["SETEX", "e", "abc", "v"]), NOT_INT);
    assert_eq!(
        err(c, &["SETEX", "e", "9223372036854775807", "v"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(err(c, &["SETEX", "e", "10"]), arity("setex"));
    assert_eq!(q(c, &["GET", "e"]), b("v"));

    assert_eq!(q(c, &["PSETEX", "p", "100000", "v"]), ok());
    assert_eq!(q(c, &["GET", "p"]), b("v"));
    assert_pttl(c, "p", 95_000, 100_000);
    assert_eq!(
        err(c, &["PSETEX", "p", "0", "v"]),
        "ERR invalid expire time in 'psetex' command"
    );
    assert_eq!(
        err(c, &["PSETEX", "p", "-5", "v"]),
        "ERR invalid expire time in 'psetex' command"
    );
    assert_eq!(err(c, &["PSETEX", "p", "1.5", "v"]), NOT_INT);
    assert_eq!(err(c, &["PSETEX", "p", "10", "v", "x"]), arity("psetex"));
}

#[test]
fn getset_and_getdel() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["GETSET", "k", "v1"]), Nil);
    assert_eq!(q(c, &["GET", "k"]), b("v1"));
    assert_eq!(q(c, &["EXPIRE", "k", "100"]), Int(1));
    assert_eq!(q(c, &["GETSET", "k", "v2"]), b("v1"));
    assert_eq!(q(c, &["GET", "k"]), b("v2"));
    // GETSET is a SET: it removes the expiry.
    assert_eq!(q(c, &["TTL", "k"]), Int(-1));
    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    assert_eq!(err(c, &["GETSET", "h", "v"]), WRONGTYPE);
    assert_eq!(q(c, &["HGET", "h", "f"]), b("v"));
    assert_eq!(err(c, &["GETSET", "k"]), arity("getset"));

    assert_eq!(q(c, &["GETDEL", "k"]), b("v2"));
    assert_eq!(q(c, &["EXISTS", "k"]), Int(0));
    assert_eq!(q(c, &["GETDEL", "k"]), Nil);
    assert_eq!(err(c, &["GETDEL", "h"]), WRONGTYPE);
    assert_eq!(q(c, &["EXISTS", "h"]), Int(1));
    assert_eq!(err(c, &["GETDEL"]), arity("getdel"));
    assert_eq!(err(c, &["GETDEL", "a", "b"]), arity("getdel"));
}

#[test]
fn getex_options() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["GETEX", "missing"]), Nil);
    assert_eq!(q(c, &["GETEX", "missing", "EX", "100"]), Nil);
    assert_eq!(q(c, &["EXISTS", "missing"]), Int(0));

    assert_eq!(q(c, &["SET", "k", "v"]), ok());
    assert_eq!(q(c, &["GETEX", "k"]), b("v"));
    assert_eq!(q(c, &["TTL", "k"]), Int(-1));
    assert_eq!(q(c, &["GETEX", "k", "EX", "100"]), b("v"));
    assert_eq!(q(c, &["TTL", "k"]), Int(100));
    // Without options the expiry stays.
    assert_eq!(q(c, &["GETEX", "k"]), b("v"));
    assert_eq!(q(c, &["TTL", "k"]), Int(100));
    assert_eq!(q(c, &["GETEX", "k", "PX", "50000"]), b("v"));
    assert_pttl(c, "k", 45_000, 50_000);
    let at = now_secs() + 1000;
    assert_eq!(q(c, &["GETEX", "k", "EXAT", &at.to_string()]), b("v"));
    assert_eq!(q(c, &["EXPIRETIME", "k"]), Int(at as i64));
    let pat = at * 1000 + 7;
    assert_eq!(q(c, &["GETEX", "k", "PXAT", &pat.to_string()]), b("v"));
    assert_eq!(q(c, &["PEXPIRETIME", "k"]), Int(pat as i64));
    assert_eq!(q(c, &["GETEX", "k", "PERSIST"]), b("v"));
    assert_eq!(q(c, &["TTL", "k"]), Int(-1));
    assert_eq!(q(c, &["GETEX", "k", "persist"]), b("v"));
    assert_eq!(q(c, &["TTL", "k"]), Int(-1));

    for bad in [
        &["EX", "10", "PX", "10000"][..],
        &["PERSIST", "EX", "10"],
        &["EX", "10", "PERSIST"],
        &["EXAT", "9999999999", "PXAT", "9999999999999"],
        &["EX"],
        &["KEEPTTL"],
        &["NX"],
        &["BOGUS"],
    ] {
        let mut args = vec!["GETEX", "k"];
        args.extend_from_slice(bad);
        assert_eq!(err(c, &args), SYNTAX, "{args:?}");
    }
    for bad in [
        &["EX", "0"][..],
        &["EX", "-1"],
        &["PX", "0"],
        &["PXAT", "-1"],
    ] {
        let mut args = vec!["GETEX", "k"];
        args.extend_from_slice(bad);
        assert_eq!(
            err(c, &args),
            "ERR invalid expire time in 'getex' command",
            "{args:?}"
        );
    }
    assert_eq!(err(c, &["GETEX", "k", "EX", "abc"]), NOT_INT);
    assert_eq!(
        err(c, &["GETEX", "k", "EX", "9223372036854775807"]),
        "ERR invalid expire time in 'getex' command"
    );
    assert_eq!(q(c, &["GET", "k"]), b("v"));
    assert_eq!(q(c, &["TTL", "k"]), Int(-1));

    // An absolute time in the past returns the value and deletes the key.
    assert_eq!(q(c, &["GETEX", "k", "PXAT", "1"]), b("v"));
    assert_eq!(q(c, &["EXISTS", "k"]), Int(0));

    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    assert_eq!(err(c, &["GETEX", "h"]), WRONGTYPE);
    assert_eq!(err(c, &["GETEX", "h", "EX", "10"]), WRONGTYPE);
    assert_eq!(q(c, &["TTL", "h"]), Int(-1));
    assert_eq!(err(c, &["GETEX"]), arity("getex"));
}

#[test]
fn mget_mset_msetnx() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["MSET", "a", "1", "b", "2", "c", "3"]), ok());
    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    assert_eq!(
        q(c, &["MGET", "a", "missing", "b", "h", "c", "a"]),
        arr(vec![b("1"), Nil, b("2"), Nil, b("3"), b("1")])
    );
    assert_eq!(q(c, &["MGET", "nothing"]), arr(vec![Nil]));
    assert_eq!(err(c, &["MGET"]), arity("mget"));

    // MSET overwrites, removes expiries, and replaces other types.
    assert_eq!(q(c, &["EXPIRE", "a", "100"]), Int(1));
    assert_eq!(q(c, &["MSET", "a", "10", "h", "str"]), ok());
    assert_eq!(q(c, &["GET", "a"]), b("10"));
    assert_eq!(q(c, &["TTL", "a"]), Int(-1));
    assert_eq!(q(c, &["TYPE", "h"]), Value::SimpleString("string".into()));
    // The last of repeated keys wins.
    assert_eq!(q(c, &["MSET", "d", "x", "d", "y"]), ok());
    assert_eq!(q(c, &["GET", "d"]), b("y"));

    assert_eq!(err(c, &["MSET", "a", "1", "b"]), arity("mset"));
    assert_eq!(err(c, &["MSET", "a"]), arity("mset"));
    assert_eq!(err(c, &["MSET"]), arity("mset"));
    assert_eq!(q(c, &["GET", "a"]), b("10"));

    assert_eq!(q(c, &["MSETNX", "n1", "1", "n2", "2"]), Int(1));
    assert_eq!(q(c, &["MGET", "n1", "n2"]), arr(vec![b("1"), b("2")]));
    // One existing key: nothing is set.
    assert_eq!(q(c, &["MSETNX", "n3", "3", "n1", "x"]), Int(0));
    assert_eq!(q(c, &["MGET", "n1", "n3"]), arr(vec![b("1"), Nil]));
    // A key of another type counts as existing.
    assert_eq!(q(c, &["HSET", "h2", "f", "v"]), Int(1));
    assert_eq!(q(c, &["MSETNX", "n4", "4", "h2", "x"]), Int(0));
    assert_eq!(q(c, &["EXISTS", "n4"]), Int(0));
    assert_eq!(q(c, &["TYPE", "h2"]), Value::SimpleString("hash".into()));
    assert_eq!(err(c, &["MSETNX", "a", "1", "b"]), arity("msetnx"));
    assert_eq!(err(c, &["MSETNX"]), arity("msetnx"));
}

#[test]
fn append_and_strlen() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["STRLEN", "k"]), Int(0));
    assert_eq!(q(c, &["APPEND", "k", "Hello"]), Int(5));
    assert_eq!(q(c, &["APPEND", "k", " World"]), Int(11));
    assert_eq!(q(c, &["GET", "k"]), b("Hello World"));
    assert_eq!(q(c, &["STRLEN", "k"]), Int(11));
    assert_eq!(q(c, &["APPEND", "k", ""]), Int(11));
    // APPEND keeps the expiry.
    assert_eq!(q(c, &["EXPIRE", "k", "100"]), Int(1));
    assert_eq!(q(c, &["APPEND", "k", "!"]), Int(12));
    assert_eq!(q(c, &["TTL", "k"]), Int(100));
    // APPEND to an integer value.
    assert_eq!(q(c, &["SET", "n", "10"]), ok());
    assert_eq!(q(c, &["APPEND", "n", "5"]), Int(3));
    assert_eq!(q(c, &["INCR", "n"]), Int(106));
    // APPEND of an empty string to a missing key creates an empty string.
    assert_eq!(q(c, &["APPEND", "e", ""]), Int(0));
    assert_eq!(q(c, &["EXISTS", "e"]), Int(1));
    assert_eq!(q(c, &["GET", "e"]), b(""));

    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    assert_eq!(err(c, &["APPEND", "h", "x"]), WRONGTYPE);
    assert_eq!(err(c, &["STRLEN", "h"]), WRONGTYPE);
    assert_eq!(err(c, &["APPEND", "k"]), arity("append"));
    assert_eq!(err(c, &["STRLEN"]), arity("strlen"));
}

#[test]
fn getrange() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["SET", "k", "Hello World"]), ok());
    let cases: &[(&str, &str, &str)] = &[
        ("0", "4", "Hello"),
        ("6", "10", "World"),
        ("-5", "-1", "World"),
        ("0", "-1", "Hello World"),
        ("-1", "-1", "d"),
        ("0", "0", "H"),
        ("10", "10", "d"),
        ("0", "100", "Hello World"),
        ("6", "100", "World"),
        ("-100", "4", "Hello"),
        ("-100", "-1", "Hello World"),
        ("5", "3", ""),
        ("-1", "-5", ""),
        ("11", "20", ""),
        ("100", "200", ""),
        ("3", "-9", ""),
        ("-3", "100", "rld"),
    ];
    for (start, end, want) in cases {
        assert_eq!(
            q(c, &["GETRANGE", "k", start, end]),
            b(want),
            "GETRANGE k {start} {end}"
        );
    }
    assert_eq!(q(c, &["GETRANGE", "missing", "0", "-1"]), b(""));
    assert_eq!(q(c, &["SET", "e", ""]), ok());
    assert_eq!(q(c, &["GETRANGE", "e", "0", "-1"]), b(""));
    assert_eq!(q(c, &["SET", "n", "1234"]), ok());
    assert_eq!(q(c, &["GETRANGE", "n", "1", "2"]), b("23"));
    assert_eq!(err(c, &["GETRANGE", "k", "a", "1"]), NOT_INT);
    assert_eq!(err(c, &["GETRANGE", "k", "0", "1.5"]), NOT_INT);
    assert_eq!(err(c, &["GETRANGE", "k", "0"]), arity("getrange"));
    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    assert_eq!(err(c, &["GETRANGE", "h", "0", "-1"]), WRONGTYPE);
}

#[test]
fn setrange() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["SET", "k", "Hello World"]), ok());
    assert_eq!(q(c, &["SETRANGE", "k", "6", "Redis"]), Int(11));
    assert_eq!(q(c, &["GET", "k"]), b("Hello Redis"));
    // Past the end: zero padding.
    assert_eq!(q(c, &["SETRANGE", "k", "13", "!"]), Int(14));
    assert_eq!(q(c, &["GET", "k"]), bytes(b"Hello Redis\0\0!"));
    // Overlapping the end.
    assert_eq!(q(c, &["SET", "o", "abc"]), ok());
    assert_eq!(q(c, &["SETRANGE", "o", "2", "XYZ"]), Int(5));
    assert_eq!(q(c, &["GET", "o"]), b("abXYZ"));
    // Missing key: padded from zero.
    assert_eq!(q(c, &["SETRANGE", "new", "5", "hi"]), Int(7));
    assert_eq!(q(c, &["GET", "new"]), bytes(b"\0\0\0\0\0hi"));
    assert_eq!(q(c, &["SETRANGE", "new0", "0", "hi"]), Int(2));
    assert_eq!(q(c, &["GET", "new0"]), b("hi"));
    // Empty value: no change, reply is the current length; a missing key is not created.
    assert_eq!(q(c, &["SETRANGE", "none", "0", ""]), Int(0));
    assert_eq!(q(c, &["SETRANGE", "none", "10", ""]), Int(0));
    assert_eq!(q(c, &["EXISTS", "none"]), Int(0));
    assert_eq!(q(c, &["SETRANGE", "o", "100", ""]), Int(5));
    assert_eq!(q(c, &["GET", "o"]), b("abXYZ"));
    // SETRANGE keeps the expiry.
    assert_eq!(q(c, &["EXPIRE", "o", "100"]), Int(1));
    assert_eq!(q(c, &["SETRANGE", "o", "0", "A"]), Int(5));
    assert_eq!(q(c, &["TTL", "o"]), Int(100));
    assert_eq!(q(c, &["GET", "o"]), b("AbXYZ"));
    // Integer values are strings too.
    assert_eq!(q(c, &["SET", "n", "1234"]), ok());
    assert_eq!(q(c, &["SETRANGE", "n", "1", "9"]), Int(4));
    assert_eq!(q(c, &["GET", "n"]), b("1934"));

    assert_eq!(
        err(c, &["SETRANGE", "k", "-1", "x"]),
        "ERR offset is out of range"
    );
    assert_eq!(
        err(c, &["SETRANGE", "none", "-1", "x"]),
        "ERR offset is out of range"
    );
    assert_eq!(err(c, &["SETRANGE", "k", "abc", "x"]), NOT_INT);
    // 512 MB is the largest string.
    assert_eq!(
        err(c, &["SETRANGE", "big", "536870912", "x"]),
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
    assert_eq!(q(c, &["EXISTS", "big"]), Int(0));
    assert_eq!(err(c, &["SETRANGE", "k", "0"]), arity("setrange"));
    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    assert_eq!(err(c, &["SETRANGE", "h", "0", "x"]), WRONGTYPE);
    assert_eq!(q(c, &["GET", "k"]), bytes(b"Hello Redis\0\0!"));
}

#[test]
fn incr_decr_family() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["INCR", "n"]), Int(1));
    assert_eq!(q(c, &["INCR", "n"]), Int(2));
    assert_eq!(q(c, &["INCRBY", "n", "10"]), Int(12));
    assert_eq!(q(c, &["INCRBY", "n", "-20"]), Int(-8));
    assert_eq!(q(c, &["DECR", "n"]), Int(-9));
    assert_eq!(q(c, &["DECRBY", "n", "-9"]), Int(0));
    assert_eq!(q(c, &["DECRBY", "n", "5"]), Int(-5));
    assert_eq!(q(c, &["GET", "n"]), b("-5"));
    assert_eq!(q(c, &["DECR", "m"]), Int(-1));
    assert_eq!(q(c, &["INCRBY", "ib", "7"]), Int(7));
    assert_eq!(q(c, &["DECRBY", "db", "7"]), Int(-7));
    // INCR keeps the expiry.
    assert_eq!(q(c, &["SET", "t", "41", "EX", "100"]), ok());
    assert_eq!(q(c, &["INCR", "t"]), Int(42));
    assert_eq!(q(c, &["TTL", "t"]), Int(100));
    assert_eq!(q(c, &["GET", "t"]), b("42"));

    // Values that are not canonical 64-bit integers.
    for bad in [
        "abc", "1.5", " 1", "1 ", "", "+1", "01", "-0", "1e3", "0x10", "--1", "-",
    ] {
        assert_eq!(q(c, &["SET", "bad", bad]), ok());
        for cmd in [
            &["INCR", "bad"][..],
            &["DECR", "bad"],
            &["INCRBY", "bad", "1"],
            &["DECRBY", "bad", "1"],
        ] {
            assert_eq!(err(c, cmd), NOT_INT, "{cmd:?} on {bad:?}");
        }
        assert_eq!(q(c, &["GET", "bad"]), b(bad));
    }
    assert_eq!(q(c, &["SET", "big", "9223372036854775808"]), ok());
    assert_eq!(err(c, &["INCR", "big"]), NOT_INT);
    // Bad increments.
    for bad in ["abc", "1.5", "", "9223372036854775808", " 1"] {
        assert_eq!(err(c, &["INCRBY", "n", bad]), NOT_INT, "INCRBY {bad:?}");
        assert_eq!(err(c, &["DECRBY", "n", bad]), NOT_INT, "DECRBY {bad:?}");
    }
    assert_eq!(q(c, &["GET", "n"]), b("-5"));

    // Overflow leaves the value unchanged.
    assert_eq!(q(c, &["SET", "max", "9223372036854775807"]), ok());
    let overflow = "ERR increment or decrement would overflow";
    assert_eq!(err(c, &["INCR", "max"]), overflow);
    assert_eq!(err(c, &["INCRBY", "max", "1"]), overflow);
    assert_eq!(err(c, &["DECRBY", "max", "-1"]), overflow);
    assert_eq!(q(c, &["GET", "max"]), b("9223372036854775807"));
    assert_eq!(q(c, &["INCRBY", "max", "0"]), Int(i64::MAX));
    assert_eq!(q(c, &["SET", "min", "-9223372036854775808"]), ok());
    assert_eq!(err(c, &["DECR", "min"]), overflow);
    assert_eq!(err(c, &["DECRBY", "min", "1"]), overflow);
    assert_eq!(err(c, &["INCRBY", "min", "-1"]), overflow);
    assert_eq!(q(c, &["GET", "min"]), b("-9223372036854775808"));
    assert_eq!(q(c, &["INCR", "min"]), Int(i64::MIN + 1));
    assert_eq!(
        q(c, &["INCRBY", "fresh", "-9223372036854775808"]),
        Int(i64::MIN)
    );
    assert_eq!(
        err(c, &["DECRBY", "z", "-9223372036854775808"]),
        "ERR decrement would overflow"
    );
    assert_eq!(q(c, &["EXISTS", "z"]), Int(0));

    assert_eq!(q(c, &["HSET", "h", "f", "1"]), Int(1));
    for cmd in [
        &["INCR", "h"][..],
        &["DECR", "h"],
        &["INCRBY", "h", "1"],
        &["DECRBY", "h", "1"],
    ] {
        assert_eq!(err(c, cmd), WRONGTYPE, "{cmd:?}");
    }
    assert_eq!(err(c, &["INCR"]), arity("incr"));
    assert_eq!(err(c, &["INCR", "a", "b"]), arity("incr"));
    assert_eq!(err(c, &["INCRBY", "a"]), arity("incrby"));
    assert_eq!(err(c, &["DECR"]), arity("decr"));
    assert_eq!(err(c, &["DECRBY", "a"]), arity("decrby"));
}

#[test]
fn incrbyfloat() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["INCRBYFLOAT", "f", "1.5"]), b("1.5"));
    assert_eq!(q(c, &["GET", "f"]), b("1.5"));
    assert_eq!(q(c, &["INCRBYFLOAT", "f", "1.5"]), b("3"));
    assert_eq!(q(c, &["GET", "f"]), b("3"));

    assert_eq!(q(c, &["SET", "k", "10.50"]), ok());
    assert_eq!(q(c, &["INCRBYFLOAT", "k", "0.1"]), b("10.6"));
    assert_eq!(q(c, &["INCRBYFLOAT", "k", "-5"]), b("5.6"));
    assert_eq!(q(c, &["GET", "k"]), b("5.6"));
    assert_eq!(q(c, &["SET", "k", "5.0e3"]), ok());
    assert_eq!(q(c, &["INCRBYFLOAT", "k", "2.0e2"]), b("5200"));
    assert_eq!(q(c, &["GET", "k"]), b("5200"));
    // Integers work too and the result has no trailing ".0".
    assert_eq!(q(c, &["SET", "i", "3"]), ok());
    assert_eq!(q(c, &["INCRBYFLOAT", "i", "3"]), b("6"));
    assert_eq!(q(c, &["INCR", "i"]), Int(7));
    assert_eq!(q(c, &["INCRBYFLOAT", "i", "-7"]), b("0"));
    assert_eq!(q(c, &["INCRBYFLOAT", "neg", "-0.25"]), b("-0.25"));
    // Redis computes in long double and prints with 17 significant digits.
    assert_eq!(q(c, &["SET", "p", "0.1"]), ok());
    assert_eq!(q(c, &["INCRBYFLOAT", "p", "0.2"]), b("0.3"));
    // Fixed-point output, never an exponent.
    assert_eq!(
        q(c, &["INCRBYFLOAT", "big", "1e20"]),
        b("100000000000000000000")
    );
    assert_eq!(q(c, &["INCRBYFLOAT", "small", "1.5e-5"]), b("0.000015"));
    assert_eq!(q(c, &["INCRBYFLOAT", "small", "-1.5e-5"]), b("0"));
    // INCRBYFLOAT keeps the expiry.
    assert_eq!(q(c, &["SET", "t", "1", "EX", "100"]), ok());
    assert_eq!(q(c, &["INCRBYFLOAT", "t", "0.5"]), b("1.5"));
    assert_eq!(q(c, &["TTL", "t"]), Int(100));

    let not_float = "ERR value is not a valid float";
    assert_eq!(q(c, &["SET", "s", "abc"]), ok());
    assert_eq!(err(c, &["INCRBYFLOAT", "s", "1"]), not_float);
    assert_eq!(q(c, &["SET", "s", "1.5x"]), ok());
    assert_eq!(err(c, &["INCRBYFLOAT", "s", "1"]), not_float);
    assert_eq!(q(c, &["SET", "s", ""]), ok());
    assert_eq!(err(c, &["INCRBYFLOAT", "s", "1"]), not_float);
    assert_eq!(err(c, &["INCRBYFLOAT", "k", "abc"]), not_float);
    assert_eq!(err(c, &["INCRBYFLOAT", "k", ""]), not_float);
    assert_eq!(q(c, &["GET", "k"]), b("5200"));
    assert_eq!(
        err(c, &["INCRBYFLOAT", "k", "inf"]),
        "ERR increment would produce NaN or Infinity"
    );
    assert_eq!(q(c, &["GET", "k"]), b("5200"));

    assert_eq!(q(c, &["HSET", "h", "f", "1"]), Int(1));
    assert_eq!(err(c, &["INCRBYFLOAT", "h", "1"]), WRONGTYPE);
    assert_eq!(err(c, &["INCRBYFLOAT", "k"]), arity("incrbyfloat"));
}

#[test]
fn binary_safe_keys_and_values() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let all: Vec<u8> = (0..=255u8).collect();
    let key: Vec<u8> = [b"bin\r\n\0key".as_slice(), &all].concat();
    let set: Value = redis::cmd("SET").arg(&key).arg(&all).query(c).unwrap();
    assert_eq!(set, ok());
    let got: Value = redis::cmd("GET").arg(&key).query(c).unwrap();
    assert_eq!(got, bytes(&all));
    let len: Value = redis::cmd("STRLEN").arg(&key).query(c).unwrap();
    assert_eq!(len, Int(256));
    let exists: Value = redis::cmd("EXISTS").arg(&key).query(c).unwrap();
    assert_eq!(exists, Int(1));
    // A key that differs only after a NUL byte is a different key.
    let other: Value = redis::cmd("GET").arg(b"bin\r\n\0kez").query(c).unwrap();
    assert_eq!(other, Nil);
    let range: Value = redis::cmd("GETRANGE")
        .arg(&key)
        .arg(9)
        .arg(14)
        .query(c)
        .unwrap();
    assert_eq!(range, bytes(&[9, 10, 11, 12, 13, 14]));
    let app: Value = redis::cmd("APPEND")
        .arg(&key)
        .arg(b"\r\n\0")
        .query(c)
        .unwrap();
    assert_eq!(app, Int(259));
    let got: Value = redis::cmd("GET").arg(&key).query(c).unwrap();
    assert_eq!(got, bytes(&[all.as_slice(), b"\r\n\0"].concat()));
    let sr: Value = redis::cmd("SETRANGE")
        .arg(&key)
        .arg(0)
        .arg(b"\xff\x00")
        .query(c)
        .unwrap();
    assert_eq!(sr, Int(259));
    let head: Value = redis::cmd("GETRANGE")
        .arg(&key)
        .arg(0)
        .arg(2)
        .query(c)
        .unwrap();
    assert_eq!(head, bytes(b"\xff\x00\x02"));

    // Every single-byte key and value.
    let mut mset = redis::cmd("MSET");
    for i in 0..=255u8 {
        mset.arg(vec![i]).arg(vec![i, i, b'\n', i]);
    }
    let r: Value = mset.query(c).unwrap();
    assert_eq!(r, ok());
    let mut mget = redis::cmd("MGET");
    for i in 0..=255u8 {
        mget.arg(vec![i]);
    }
    let r: Value = mget.query(c).unwrap();
    let want: Vec<Value> = (0..=255u8).map(|i| bytes(&[i, i, b'\n', i])).collect();
    assert_eq!(r, arr(want));
    // Empty key.
    let r: Value = redis::cmd("SET").arg(b"").arg(b"\0").query(c).unwrap();
    assert_eq!(r, ok());
    let r: Value = redis::cmd("GET").arg(b"").query(c).unwrap();
    assert_eq!(r, bytes(b"\0"));
    // A large value survives the round trip.
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let r: Value = redis::cmd("SET").arg("big").arg(&big).query(c).unwrap();
    assert_eq!(r, ok());
    let r: Value = redis::cmd("GET").arg("big").query(c).unwrap();
    assert_eq!(r, bytes(&big));
}

#[test]
fn string_commands_on_a_hash_are_wrongtype() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["HSET", "h", "f", "1"]), Int(1));
    for cmd in [
        &["GET", "h"][..],
        &["SET", "h", "v", "GET"],
        &["SET", "h", "v", "XX", "GET"],
        &["GETSET", "h", "v"],
        &["GETDEL", "h"],
        &["GETEX", "h", "PERSIST"],
        &["APPEND", "h", "v"],
        &["STRLEN", "h"],
        &["GETRANGE", "h", "0", "1"],
        &["SETRANGE", "h", "0", "v"],
        &["INCR", "h"],
        &["INCRBY", "h", "2"],
        &["DECR", "h"],
        &["DECRBY", "h", "2"],
        &["INCRBYFLOAT", "h", "2"],
    ] {
        assert_eq!(err(c, cmd), WRONGTYPE, "{cmd:?}");
    }
    assert_eq!(q(c, &["HGETALL", "h"]), arr(vec![b("f"), b("1")]));
}
