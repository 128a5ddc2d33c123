//! String commands against a real server: replies, edge cases and Redis's error wording.

mod common;

use common::{err, ok, q, Node};
use redis::Value::{self, Int, Nil};

fn b(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

#[test]
fn set_and_its_options() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["SET", "k", "v"]), ok());
    assert_eq!(q(c, &["GET", "k"]), b("v"));
    assert_eq!(q(c, &["GET", "missing"]), Nil);
    assert_eq!(q(c, &["SET", "k", "w", "NX"]), Nil);
    assert_eq!(q(c, &["SET", "new", "w", "XX"]), Nil);
    assert_eq!(q(c, &["EXISTS", "new"]), Int(0));
    assert_eq!(q(c, &["SET", "k", "w", "XX", "GET"]), b("v"));
    assert_eq!(q(c, &["SET", "fresh", "x", "NX", "GET"]), Nil);
    assert_eq!(q(c, &["GET", "fresh"]), b("x"));
    assert_eq!(q(c, &["SET", "k", "v2", "EX", "100"]), ok());
    assert_eq!(q(c, &["TTL", "k"]), Int(100));
    assert_eq!(q(c, &["SET", "k", "v3", "KEEPTTL"]), ok());
    assert_eq!(q(c, &["TTL", "k"]), Int(100));
    assert_eq!(q(c, &["SET", "k", "v4"]), ok());
    assert_eq!(q(c, &["TTL", "k"]), Int(-1));
    assert_eq!(q(c, &["SET", "k", "v", "PX", "100000"]), ok());
    assert!(matches!(q(c, &["PTTL", "k"]), Int(n) if n > 99_000 && n <= 100_000));
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1000;
    assert_eq!(q(c, &["SET", "k", "v", "EXAT", &at.to_string()]), ok());
    assert_eq!(q(c, &["EXPIRETIME", "k"]), Int(at as i64));
    assert_eq!(
        q(c, &["SET", "k", "v", "PXAT", &(at * 1000).to_string()]),
        ok()
    );
    assert_eq!(q(c, &["PEXPIRETIME", "k"]), Int(at as i64 * 1000));
    assert_eq!(q(c, &["SET", "past", "v", "PXAT", "1"]), ok());
    assert_eq!(q(c, &["EXISTS", "past"]), Int(0));
    for bad in [
        &["NX", "XX"][..],
        &["EX", "1", "PX", "1"],
        &["EX", "1", "KEEPTTL"],
        &["GET", "GET"],
        &["EX"],
        &["BOGUS"],
    ] {
        let mut args = vec!["SET", "k", "v"];
        args.extend_from_slice(bad);
        assert_eq!(err(c, &args), "ERR syntax error", "{args:?}");
    }
    assert_eq!(
        err(c, &["SET", "k", "v", "EX", "0"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        err(c, &["SET", "k", "v", "PX", "-1"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        err(c, &["SET", "k", "v", "EX", "abc"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(c, &["SET", "k", "v", "EX", "9223372036854775807"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));
    assert_eq!(
        err(c, &["SET", "h", "v", "GET"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(q(c, &["SET", "h", "v"]), ok());
    assert_eq!(q(c, &["TYPE", "h"]), Value::SimpleString("string".into()));
    assert_eq!(
        err(c, &["SET", "k"]),
        "ERR wrong number of arguments for 'set' command"
    );
}

#[test]
fn setnx_setex_getset_getdel_getex() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["SETNX", "a", "1"]), Int(1));
    assert_eq!(q(c, &["SETNX", "a", "2"]), Int(0));
    assert_eq!(q(c, &["GET", "a"]), b("1"));
    assert_eq!(q(c, &["SETEX", "a", "50", "x"]), ok());
    assert_eq!(q(c, &["TTL", "a"]), Int(50));
    assert_eq!(
        err(c, &["SETEX", "a", "0", "x"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(
        err(c, &["PSETEX", "a", "-5", "x"]),
        "ERR invalid expire time in 'psetex' command"
    );
    assert_eq!(q(c, &["PSETEX", "a", "50000", "y"]), ok());
    assert!(matches!(q(c, &["PTTL", "a"]), Int(n) if n > 49_000));
    assert_eq!(q(c, &["GETSET", "a", "z"]), b("y"));
    assert_eq!(q(c, &["TTL", "a"]), Int(-1));
    assert_eq!(q(c, &["GETSET", "nope", "z"]), Nil);
    assert_eq!(q(c, &["GETDEL", "a"]), b("z"));
    assert_eq!(q(c, &["GETDEL", "a"]), Nil);
    assert_eq!(q(c, &["EXISTS", "a"]), Int(0));
    assert_eq!(q(c, &["SET", "g", "v"]), ok());
    assert_eq!(q(c, &["GETEX", "g"]), b("v"));
    assert_eq!(q(c, &["GETEX", "g", "EX", "30"]), b("v"));
    assert_eq!(q(c, &["TTL", "g"]), Int(30));
    assert_eq!(q(c, &["GETEX", "g", "PERSIST"]), b("v"));
    assert_eq!(q(c, &["TTL", "g"]), Int(-1));
    assert_eq!(q(c, &["GETEX", "g", "PX", "30000"]), b("v"));
    assert_eq!(q(c, &["TTL", "g"]), Int(30));
    assert_eq!(q(c, &["GETEX", "g", "PXAT", "1"]), b("v"));
    assert_eq!(q(c, &["EXISTS", "g"]), Int(0));
    assert_eq!(q(c, &["GETEX", "missing", "EX", "10"]), Nil);
    assert_eq!(err(c, &["GETEX", "g", "EX"]), "ERR syntax error");
    assert_eq!(
        err(c, &["GETEX", "g", "EX", "0"]),
        "ERR invalid expire time in 'getex' command"
    );
    q(c, &["HSET", "h", "f", "v"]);
    assert_eq!(
        err(c, &["GETDEL", "h"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(
        err(c, &["GET", "h"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
}

#[test]
fn mget_mset_msetnx() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["MSET", "a", "1", "b", "2", "a", "3"]), ok());
    q(c, &["HSET", "h", "f", "v"]);
    assert_eq!(
        q(c, &["MGET", "a", "b", "nope", "h"]),
        Value::Array(vec![b("3"), b("2"), Nil, Nil])
    );
    assert_eq!(q(c, &["DBSIZE"]), Int(3));
    assert_eq!(
        err(c, &["MSET", "a", "1", "b"]),
        "ERR wrong number of arguments for 'mset' command"
    );
    assert_eq!(q(c, &["MSETNX", "x", "1", "a", "9"]), Int(0));
    assert_eq!(q(c, &["EXISTS", "x"]), Int(0));
    assert_eq!(q(c, &["MSETNX", "x", "1", "y", "2"]), Int(1));
    assert_eq!(
        q(c, &["MGET", "x", "y"]),
        Value::Array(vec![b("1"), b("2")])
    );
    assert_eq!(
        err(c, &["MSETNX", "x"]),
        "ERR wrong number of arguments for 'msetnx' command"
    );
}

#[test]
fn append_strlen_ranges() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["APPEND", "s", "Hello"]), Int(5));
    assert_eq!(q(c, &["APPEND", "s", " World"]), Int(11));
    assert_eq!(q(c, &["STRLEN", "s"]), Int(11));
    assert_eq!(q(c, &["STRLEN", "nope"]), Int(0));
    assert_eq!(q(c, &["GETRANGE", "s", "0", "4"]), b("Hello"));
    assert_eq!(q(c, &["GETRANGE", "s", "-5", "-1"]), b("World"));
    assert_eq!(q(c, &["GETRANGE", "s", "0", "-1"]), b("Hello World"));
    assert_eq!(q(c, &["GETRANGE", "s", "6", "1000"]), b("World"));
    assert_eq!(q(c, &["GETRANGE", "s", "5", "3"]), b(""));
    assert_eq!(q(c, &["GETRANGE", "s", "-1", "-5"]), b(""));
    assert_eq!(q(c, &["GETRANGE", "s", "-100", "2"]), b("Hel"));
    assert_eq!(q(c, &["GETRANGE", "nope", "0", "-1"]), b(""));
    assert_eq!(
        err(c, &["GETRANGE", "s", "a", "1"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(q(c, &["SETRANGE", "s", "6", "Redis"]), Int(11));
    assert_eq!(q(c, &["GET", "s"]), b("Hello Redis"));
    assert_eq!(q(c, &["SETRANGE", "pad", "3", "x"]), Int(4));
    assert_eq!(
        q(c, &["GET", "pad"]),
        Value::BulkString(b"\0\0\0x".to_vec())
    );
    assert_eq!(q(c, &["SETRANGE", "s", "11", "!"]), Int(12));
    assert_eq!(q(c, &["SETRANGE", "empty", "5", ""]), Int(0));
    assert_eq!(q(c, &["EXISTS", "empty"]), Int(0));
    assert_eq!(
        err(c, &["SETRANGE", "s", "-1", "x"]),
        "ERR offset is out of range"
    );
    assert_eq!(
        err(c, &["SETRANGE", "s", "536870912", "x"]),
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
    q(c, &["HSET", "h", "f", "v"]);
    assert_eq!(
        err(c, &["APPEND", "h", "x"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(
        err(c, &["STRLEN", "h"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
}

#[test]
fn counters() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["INCR", "n"]), Int(1));
    assert_eq!(q(c, &["INCRBY", "n", "41"]), Int(42));
    assert_eq!(q(c, &["DECR", "n"]), Int(41));
    assert_eq!(q(c, &["DECRBY", "n", "-9"]), Int(50));
    assert_eq!(q(c, &["GET", "n"]), b("50"));
    q(c, &["SET", "big", "9223372036854775807"]);
    assert_eq!(
        err(c, &["INCR", "big"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        err(c, &["INCRBY", "big", "1"]),
        "ERR increment or decrement would overflow"
    );
    q(c, &["SET", "small", "-9223372036854775808"]);
    assert_eq!(
        err(c, &["DECR", "small"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        err(c, &["DECRBY", "n", "-9223372036854775808"]),
        "ERR decrement would overflow"
    );
    for v in ["abc", "1.5", " 1", "", "01"] {
        q(c, &["SET", "s", v]);
        assert_eq!(
            err(c, &["INCR", "s"]),
            "ERR value is not an integer or out of range",
            "{v:?}"
        );
    }
    assert_eq!(
        err(c, &["INCRBY", "n", "x"]),
        "ERR value is not an integer or out of range"
    );
    q(c, &["SET", "ttl", "1", "EX", "100"]);
    q(c, &["INCR", "ttl"]);
    assert_eq!(q(c, &["TTL", "ttl"]), Int(100), "INCR keeps the TTL");
    q(c, &["SET", "f", "10.50"]);
    assert_eq!(q(c, &["INCRBYFLOAT", "f", "0.1"]), b("10.6"));
    assert_eq!(q(c, &["INCRBYFLOAT", "f", "-5"]), b("5.6"));
    q(c, &["SET", "f", "5.0e3"]);
    assert_eq!(q(c, &["INCRBYFLOAT", "f", "2.0e2"]), b("5200"));
    assert_eq!(q(c, &["INCRBYFLOAT", "new", "3"]), b("3"));
    q(c, &["SET", "s", "abc"]);
    assert_eq!(
        err(c, &["INCRBYFLOAT", "s", "1"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        err(c, &["INCRBYFLOAT", "f", "abc"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        err(c, &["INCRBYFLOAT", "f", "inf"]),
        "ERR increment would produce NaN or Infinity"
    );
    q(c, &["HSET", "h", "f", "v"]);
    assert_eq!(
        err(c, &["INCR", "h"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
}

#[test]
fn binary_safe_keys_and_values() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let bytes: Vec<u8> = (0..=255u8).collect();
    let key: Vec<u8> = [b"k\r\n\0".as_slice(), &bytes].concat();
    let () = redis::cmd("SET").arg(&key).arg(&bytes).query(c).unwrap();
    let got: Vec<u8> = redis::cmd("GET").arg(&key).query(c).unwrap();
    assert_eq!(got, bytes);
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(c).unwrap();
    assert_eq!(keys, vec![key]);
}
