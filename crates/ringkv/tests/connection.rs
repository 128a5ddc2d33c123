//! Connection and server commands against a real `ringkv server`: PING/ECHO/QUIT, HELLO and
//! RESP3, AUTH with `--requirepass`, SELECT, CLIENT, INFO, CONFIG, COMMAND, TIME, DEBUG, error
//! wording for unknown commands and wrong arity, pipelining, and inline commands over a raw
//! socket. Every test starts its own node.

mod common;

use common::{arity, b, err, ok, q, Node};
use redis::Value::{self, Int, Nil};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const NOT_INT: &str = "ERR value is not an integer or out of range";
const NOAUTH: &str = "NOAUTH Authentication required.";
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
        Value::SimpleString(s) => s.clone(),
        Value::VerbatimString { text, .. } => text.clone(),
        other => panic!("expected a string, got {other:?}"),
    }
}

/// The entries of a map reply, whether RESP3 (Map) or RESP2 (flat array of pairs).
fn entries(v: &Value) -> Vec<(String, Value)> {
    match v {
        Value::Map(items) => items.iter().map(|(k, v)| (text(k), v.clone())).collect(),
        Value::Array(items) => {
            assert_eq!(items.len() % 2, 0, "odd-length map: {items:?}");
            items
                .chunks(2)
                .map(|p| (text(&p[0]), p[1].clone()))
                .collect()
        }
        other => panic!("expected a map, got {other:?}"),
    }
}

fn field(v: &Value, name: &str) -> Value {
    entries(v)
        .into_iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name:?} in {v:?}"))
        .1
}

/// Whether `v` contains the string `s` anywhere (as a bulk or simple string, or a map key).
fn contains_str(v: &Value, s: &str) -> bool {
    match v {
        Value::BulkString(b) => b == s.as_bytes(),
        Value::SimpleString(t) => t == s,
        Value::Array(items) | Value::Set(items) => items.iter().any(|i| contains_str(i, s)),
        Value::Map(items) => items
            .iter()
            .any(|(k, v)| contains_str(k, s) || contains_str(v, s)),
        _ => false,
    }
}

fn raw_conn(node: &Node) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", node.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Sends `send` and asserts the next bytes received are exactly `want`.
fn exchange(s: &mut TcpStream, send: &[u8], want: &[u8]) {
    s.write_all(send).unwrap();
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got).unwrap_or_else(|e| {
        panic!(
            "reading the reply to {:?}: {e}",
            String::from_utf8_lossy(send)
        )
    });
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(want),
        "reply to {:?}",
        String::from_utf8_lossy(send)
    );
}

/// Asserts the server closes `s` without sending anything more.
fn assert_closed(s: &mut TcpStream) {
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("expected EOF, got {:?}", String::from_utf8_lossy(&buf[..n])),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("expected EOF, got {e}"),
    }
}

#[test]
fn ping_echo() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["PING"]), Value::SimpleString("PONG".into()));
    assert_eq!(q(c, &["ping"]), Value::SimpleString("PONG".into()));
    assert_eq!(q(c, &["PING", "hello world"]), b("hello world"));
    assert_eq!(q(c, &["PING", ""]), b(""));
    assert_eq!(err(c, &["PING", "a", "b"]), arity("ping"));
    assert_eq!(q(c, &["ECHO", "hello"]), b("hello"));
    assert_eq!(q(c, &["ECHO", ""]), b(""));
    let bin: Vec<u8> = (0..=255u8).collect();
    let r: Value = redis::cmd("ECHO").arg(&bin).query(c).unwrap();
    assert_eq!(r, Value::BulkString(bin));
    assert_eq!(err(c, &["ECHO"]), arity("echo"));
    assert_eq!(err(c, &["ECHO", "a", "b"]), arity("echo"));
}

#[test]
fn quit_closes_the_connection() {
    let node = Node::start(&[]);
    let mut s = raw_conn(&node);
    exchange(&mut s, b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n");
    exchange(&mut s, b"*1\r\n$4\r\nQUIT\r\n", b"+OK\r\n");
    assert_closed(&mut s);
    // Commands pipelined after QUIT are not executed.
    let mut s = raw_conn(&node);
    exchange(
        &mut s,
        b"QUIT\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n1\r\n",
        b"+OK\r\n",
    );
    assert_closed(&mut s);
    let c = &mut node.conn();
    assert_eq!(q(c, &["EXISTS", "after"]), Int(0));
    // Through the client library.
    assert_eq!(q(c, &["QUIT"]), ok());
    assert!(redis::cmd("PING").query::<Value>(c).is_err());
}

#[test]
fn hello_and_resp3() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let id = match q(c, &["CLIENT", "ID"]) {
        Int(n) => n,
        other => panic!("CLIENT ID replied {other:?}"),
    };
    // HELLO without a version: the current protocol (RESP2, a flat array).
    let h = q(c, &["HELLO"]);
    assert!(matches!(h, Value::Array(_)), "HELLO in RESP2: {h:?}");
    assert_eq!(field(&h, "proto"), Int(2));
    let h = q(c, &["HELLO", "2"]);
    assert!(matches!(h, Value::Array(_)), "HELLO 2: {h:?}");
    assert_eq!(field(&h, "proto"), Int(2));

    let h = q(c, &["HELLO", "3"]);
    let Value::Map(_) = h else {
        panic!("HELLO 3 is not a map: {h:?}")
    };
    let keys: Vec<String> = entries(&h).into_iter().map(|(k, _)| k).collect();
    for k in [
        "server", "version", "proto", "id", "mode", "role", "modules",
    ] {
        assert!(keys.contains(&k.to_string()), "HELLO 3 lacks {k}: {h:?}");
    }
    assert_eq!(field(&h, "proto"), Int(3));
    assert_eq!(field(&h, "id"), Int(id));
    assert!(!text(&field(&h, "server")).is_empty());
    assert!(!text(&field(&h, "version")).is_empty());
    assert_eq!(text(&field(&h, "role")), "master");

    // Now replies are RESP3.
    assert_eq!(q(c, &["HSET", "h", "a", "1", "b", "2"]), Int(2));
    match q(c, &["HGETALL", "h"]) {
        Value::Map(items) => {
            let mut items: Vec<(String, String)> =
                items.iter().map(|(k, v)| (text(k), text(v))).collect();
            items.sort();
            assert_eq!(
                items,
                vec![("a".into(), "1".into()), ("b".into(), "2".into())]
            );
        }
        other => panic!("HGETALL in RESP3 is not a map: {other:?}"),
    }
    assert_eq!(q(c, &["HGETALL", "missing"]), Value::Map(vec![]));
    assert_eq!(q(c, &["GET", "missing"]), Nil);
    assert_eq!(q(c, &["PING"]), Value::SimpleString("PONG".into()));
    assert_eq!(q(c, &["SET", "k", "v"]), ok());
    assert_eq!(q(c, &["GET", "k"]), b("v"));
    assert_eq!(q(c, &["EXISTS", "k"]), Int(1));
    // INCRBYFLOAT stays a bulk string in RESP3.
    assert_eq!(q(c, &["INCRBYFLOAT", "f", "1.5"]), b("1.5"));
    assert_eq!(
        q(c, &["MGET", "k", "missing"]),
        Value::Array(vec![b("v"), Nil])
    );
    assert!(matches!(
        q(c, &["CONFIG", "GET", "maxmemory"]),
        Value::Map(_)
    ));
    assert_eq!(
        err(c, &["GET"]),
        "ERR wrong number of arguments for 'get' command"
    );
    // And back to RESP2.
    let h = q(c, &["HELLO", "2"]);
    assert!(matches!(h, Value::Array(_)), "HELLO 2: {h:?}");
    assert!(matches!(q(c, &["HGETALL", "h"]), Value::Array(_)));

    assert_eq!(
        err(c, &["HELLO", "4"]),
        "NOPROTO unsupported protocol version"
    );
    assert_eq!(
        err(c, &["HELLO", "1"]),
        "NOPROTO unsupported protocol version"
    );
    assert_eq!(
        err(c, &["HELLO", "abc"]),
        "ERR Protocol version is not an integer or out of range"
    );
    // A failed HELLO leaves the protocol alone.
    assert!(matches!(q(c, &["HGETALL", "h"]), Value::Array(_)));
}

#[test]
fn hello_setname() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let h = q(c, &["HELLO", "3", "SETNAME", "viahello"]);
    assert_eq!(field(&h, "proto"), Int(3));
    assert_eq!(q(c, &["CLIENT", "GETNAME"]), b("viahello"));
}

#[test]
fn auth_with_requirepass() {
    let node = Node::start(&["--requirepass", "s3cret"]);
    let c = &mut node.conn();
    assert_eq!(err(c, &["GET", "k"]), NOAUTH);
    assert_eq!(err(c, &["SET", "k", "v"]), NOAUTH);
    assert_eq!(err(c, &["PING"]), NOAUTH);
    // Unknown commands and arity are checked before authentication, like Redis.
    assert_eq!(
        err(c, &["FOO"]),
        "ERR unknown command 'FOO', with args beginning with: "
    );
    assert_eq!(err(c, &["AUTH", "wrong"]), WRONGPASS);
    assert_eq!(err(c, &["AUTH", "default", "wrong"]), WRONGPASS);
    assert_eq!(err(c, &["AUTH", "someone", "s3cret"]), WRONGPASS);
    assert_eq!(err(c, &["GET", "k"]), NOAUTH);
    assert_eq!(err(c, &["AUTH", "a", "b", "c"]), "ERR syntax error");
    assert_eq!(err(c, &["AUTH"]), arity("auth"));
    let hello = err(c, &["HELLO", "3"]);
    assert!(hello.starts_with("NOAUTH "), "HELLO 3 before AUTH: {hello}");
    assert_eq!(q(c, &["AUTH", "s3cret"]), ok());
    assert_eq!(q(c, &["GET", "k"]), Nil);
    assert_eq!(q(c, &["SET", "k", "v"]), ok());
    assert_eq!(q(c, &["PING"]), Value::SimpleString("PONG".into()));
    // A wrong password later does not log the client out.
    assert_eq!(err(c, &["AUTH", "wrong"]), WRONGPASS);
    assert_eq!(q(c, &["GET", "k"]), b("v"));

    // AUTH with the default user.
    let c2 = &mut node.conn();
    assert_eq!(err(c2, &["GET", "k"]), NOAUTH);
    assert_eq!(q(c2, &["AUTH", "default", "s3cret"]), ok());
    assert_eq!(q(c2, &["GET", "k"]), b("v"));

    // HELLO 3 AUTH.
    let c3 = &mut node.conn();
    assert_eq!(
        err(c3, &["HELLO", "3", "AUTH", "default", "wrong"]),
        WRONGPASS
    );
    assert_eq!(err(c3, &["GET", "k"]), NOAUTH);
    let h = q(c3, &["HELLO", "3", "AUTH", "default", "s3cret"]);
    assert!(matches!(h, Value::Map(_)), "HELLO 3 AUTH: {h:?}");
    assert_eq!(field(&h, "proto"), Int(3));
    assert_eq!(q(c3, &["GET", "k"]), b("v"));
    assert_eq!(q(c3, &["HSET", "h", "f", "v"]), Int(1));
    assert!(matches!(q(c3, &["HGETALL", "h"]), Value::Map(_)));

    // The client library authenticating from the URL.
    let url = format!("redis://:s3cret@127.0.0.1:{}/", node.port);
    let c4 = &mut redis::Client::open(url).unwrap().get_connection().unwrap();
    assert_eq!(q(c4, &["GET", "k"]), b("v"));
    let url = format!("redis://:nope@127.0.0.1:{}/", node.port);
    assert!(redis::Client::open(url).unwrap().get_connection().is_err());

    // Before AUTH over a raw socket.
    let mut s = raw_conn(&node);
    exchange(
        &mut s,
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        b"-NOAUTH Authentication required.\r\n",
    );
    exchange(&mut s, b"AUTH s3cret\r\n", b"+OK\r\n");
    exchange(&mut s, b"GET k\r\n", b"$1\r\nv\r\n");
}

#[test]
fn auth_without_a_password() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let e = err(c, &["AUTH", "whatever"]);
    assert!(
        e.starts_with("ERR AUTH <password> called without any password configured"),
        "{e}"
    );
    // The default user has no password: any password works for it.
    assert_eq!(q(c, &["AUTH", "default", "whatever"]), ok());
    assert_eq!(q(c, &["PING"]), Value::SimpleString("PONG".into()));
    let h = q(c, &["HELLO", "3", "AUTH", "default", "anything"]);
    assert_eq!(field(&h, "proto"), Int(3));
}

#[test]
fn select() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["SET", "k", "v"]), ok());
    assert_eq!(q(c, &["SELECT", "0"]), ok());
    assert_eq!(q(c, &["GET", "k"]), b("v"));
    let e = err(c, &["SELECT", "1"]);
    assert!(e.starts_with("ERR "), "SELECT 1: {e}");
    // Still on db 0.
    assert_eq!(q(c, &["GET", "k"]), b("v"));
    assert_eq!(err(c, &["SELECT", "abc"]), NOT_INT);
    assert_eq!(err(c, &["SELECT"]), arity("select"));
}

#[test]
fn client_commands() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let other = &mut node.conn();
    let id = match q(c, &["CLIENT", "ID"]) {
        Int(n) => n,
        v => panic!("CLIENT ID replied {v:?}"),
    };
    let other_id = match q(other, &["CLIENT", "ID"]) {
        Int(n) => n,
        v => panic!("CLIENT ID replied {v:?}"),
    };
    assert_ne!(id, other_id);
    assert_eq!(q(c, &["CLIENT", "ID"]), Int(id));

    assert_eq!(q(c, &["CLIENT", "GETNAME"]), Nil);
    assert_eq!(q(c, &["CLIENT", "SETNAME", "myconn"]), ok());
    assert_eq!(q(c, &["CLIENT", "GETNAME"]), b("myconn"));
    assert_eq!(q(c, &["client", "getname"]), b("myconn"));
    assert_eq!(q(other, &["CLIENT", "GETNAME"]), Nil);
    assert_eq!(
        err(c, &["CLIENT", "SETNAME", "bad name"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    assert_eq!(
        err(c, &["CLIENT", "SETNAME", "bad\nname"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    assert_eq!(q(c, &["CLIENT", "GETNAME"]), b("myconn"));

    let list = text(&q(c, &["CLIENT", "LIST"]));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "CLIENT LIST: {list}");
    let mine = lines
        .iter()
        .find(|l| l.starts_with(&format!("id={id} ")))
        .unwrap_or_else(|| panic!("CLIENT LIST lacks id={id}: {list}"));
    assert!(mine.contains(" name=myconn "), "CLIENT LIST: {list}");
    assert!(mine.contains(" addr=127.0.0.1:"), "CLIENT LIST: {list}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("id={other_id} "))),
        "CLIENT LIST lacks id={other_id}: {list}"
    );

    let info = text(&q(c, &["CLIENT", "INFO"]));
    assert!(
        info.starts_with(&format!("id={id} ")),
        "CLIENT INFO: {info}"
    );
    assert!(info.contains(" name=myconn "), "CLIENT INFO: {info}");
    assert_eq!(info.trim_end().lines().count(), 1, "CLIENT INFO: {info}");

    // An empty name removes the name.
    assert_eq!(q(c, &["CLIENT", "SETNAME", ""]), ok());
    assert_eq!(q(c, &["CLIENT", "GETNAME"]), Nil);

    assert_eq!(err(c, &["CLIENT", "SETNAME"]), arity("client|setname"));
    assert_eq!(
        err(c, &["CLIENT", "BOGUS"]),
        "ERR unknown subcommand 'BOGUS'. Try CLIENT HELP."
    );
    assert_eq!(err(c, &["CLIENT"]), arity("client"));
}

#[test]
fn info() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let ks = text(&q(c, &["INFO", "keyspace"]));
    assert!(ks.starts_with("# Keyspace\r\n"), "INFO keyspace: {ks:?}");
    assert!(!ks.contains("db0"), "empty keyspace: {ks:?}");

    assert_eq!(q(c, &["MSET", "a", "1", "b", "2", "c", "3"]), ok());
    assert_eq!(q(c, &["SET", "t", "v", "EX", "100"]), ok());
    assert_eq!(q(c, &["HSET", "h", "f", "v"]), Int(1));

    let all = text(&q(c, &["INFO"]));
    assert!(all.contains("# Server\r\n"), "INFO: {all}");
    assert!(all.contains("\r\nredis_version:"), "INFO: {all}");
    assert!(all.contains("# Keyspace\r\n"), "INFO: {all}");
    assert!(
        all.contains("\r\ndb0:keys=5,expires=1,avg_ttl="),
        "INFO: {all}"
    );
    // Every line is a section header, a field, or empty.
    for line in all.split("\r\n") {
        assert!(
            line.is_empty() || line.starts_with("# ") || line.contains(':'),
            "INFO line {line:?}"
        );
    }

    let ks = text(&q(c, &["INFO", "keyspace"]));
    assert!(ks.starts_with("# Keyspace\r\n"), "INFO keyspace: {ks:?}");
    assert!(
        ks.contains("db0:keys=5,expires=1,avg_ttl="),
        "INFO keyspace: {ks:?}"
    );
    assert!(!ks.contains("# Server"), "INFO keyspace: {ks:?}");
    assert!(!ks.contains("redis_version"), "INFO keyspace: {ks:?}");
    assert_eq!(ks.matches("# ").count(), 1, "INFO keyspace: {ks:?}");
    let ks2 = text(&q(c, &["INFO", "KEYSPACE"]));
    assert!(ks2.starts_with("# Keyspace\r\n"), "INFO KEYSPACE: {ks2:?}");

    let server = text(&q(c, &["INFO", "server"]));
    assert!(
        server.starts_with("# Server\r\n"),
        "INFO server: {server:?}"
    );
    assert!(server.contains("redis_version:"));
    assert!(!server.contains("# Keyspace"));

    assert_eq!(q(c, &["DEL", "a", "t"]), Int(2));
    let ks = text(&q(c, &["INFO", "keyspace"]));
    assert!(
        ks.contains("db0:keys=3,expires=0,"),
        "INFO keyspace: {ks:?}"
    );
}

#[test]
fn config_get_set() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(
        q(c, &["CONFIG", "GET", "maxmemory"]),
        Value::Array(vec![b("maxmemory"), b("0")])
    );
    assert_eq!(
        q(c, &["CONFIG", "GET", "maxmemory-policy"]),
        Value::Array(vec![b("maxmemory-policy"), b("noeviction")])
    );
    assert_eq!(
        q(c, &["CONFIG", "GET", "no-such-option"]),
        Value::Array(vec![])
    );
    let all = q(c, &["CONFIG", "GET", "*"]);
    let pairs = entries(&all);
    assert!(pairs.len() > 3, "CONFIG GET *: {all:?}");
    assert!(pairs.iter().any(|(k, _)| k == "maxmemory"), "{all:?}");
    assert!(pairs.iter().any(|(k, _)| k == "port"), "{all:?}");
    assert_eq!(text(&field(&all, "port")), node.port.to_string());
    // Glob patterns and several parameters at once.
    let mm = entries(&q(c, &["CONFIG", "GET", "maxmemory*"]));
    let mut names: Vec<String> = mm.into_iter().map(|(k, _)| k).collect();
    names.sort();
    assert!(names.contains(&"maxmemory".to_string()), "{names:?}");
    assert!(names.contains(&"maxmemory-policy".to_string()), "{names:?}");
    assert!(
        names.iter().all(|n| n.starts_with("maxmemory")),
        "{names:?}"
    );
    let two = entries(&q(c, &["CONFIG", "GET", "maxmemory", "port"]));
    assert_eq!(two.len(), 2);

    assert_eq!(q(c, &["CONFIG", "SET", "maxmemory", "10mb"]), ok());
    assert_eq!(
        q(c, &["CONFIG", "GET", "maxmemory"]),
        Value::Array(vec![b("maxmemory"), b("10485760")])
    );
    assert_eq!(q(c, &["CONFIG", "SET", "maxmemory", "0"]), ok());
    assert_eq!(
        q(c, &["CONFIG", "GET", "maxmemory"]),
        Value::Array(vec![b("maxmemory"), b("0")])
    );
    assert_eq!(
        q(c, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]),
        ok()
    );
    assert_eq!(
        q(c, &["CONFIG", "GET", "maxmemory-policy"]),
        Value::Array(vec![b("maxmemory-policy"), b("allkeys-lru")])
    );

    let e = err(c, &["CONFIG", "SET", "port", "1"]);
    assert!(e.starts_with("ERR "), "{e}");
    assert!(e.contains("can't set immutable config"), "{e}");
    assert_eq!(
        text(&field(&q(c, &["CONFIG", "GET", "port"]), "port")),
        node.port.to_string()
    );
    let e = err(c, &["CONFIG", "SET", "no-such-option", "1"]);
    assert!(e.starts_with("ERR Unknown option"), "{e}");
    let e = err(c, &["CONFIG", "SET", "maxmemory", "lots"]);
    assert!(e.starts_with("ERR "), "{e}");
    assert_eq!(
        q(c, &["CONFIG", "GET", "maxmemory"]),
        Value::Array(vec![b("maxmemory"), b("0")])
    );
    assert_eq!(err(c, &["CONFIG", "GET"]), arity("config|get"));
    assert_eq!(err(c, &["CONFIG"]), arity("config"));

    // What redis-benchmark and other Redis tools ask about persistence.
    assert_eq!(
        q(c, &["CONFIG", "GET", "save"]),
        Value::Array(vec![b("save"), b("")])
    );
    assert_eq!(
        q(c, &["CONFIG", "GET", "appendonly"]),
        Value::Array(vec![b("appendonly"), b("yes")])
    );
    assert_eq!(
        q(c, &["CONFIG", "GET", "appendfsync"]),
        Value::Array(vec![b("appendfsync"), b("always")])
    );
    assert_eq!(q(c, &["CONFIG", "SET", "appendfsync", "no"]), ok());
    assert_eq!(
        q(c, &["CONFIG", "GET", "fsync"]),
        Value::Array(vec![b("fsync"), b("never")])
    );
    assert_eq!(q(c, &["CONFIG", "SET", "appendfsync", "always"]), ok());
    let e = err(c, &["CONFIG", "SET", "appendonly", "no"]);
    assert!(e.contains("can't set immutable config"), "{e}");
}

#[test]
fn command_introspection() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let count = match q(c, &["COMMAND", "COUNT"]) {
        Int(n) => n,
        v => panic!("COMMAND COUNT replied {v:?}"),
    };
    assert!(count > 50, "COMMAND COUNT {count}");
    match q(c, &["COMMAND"]) {
        Value::Array(items) => assert_eq!(items.len() as i64, count),
        v => panic!("COMMAND replied {v:?}"),
    }

    let info = q(c, &["COMMAND", "INFO", "get"]);
    let Value::Array(entries) = &info else {
        panic!("COMMAND INFO get: {info:?}")
    };
    assert_eq!(entries.len(), 1);
    let Value::Array(get) = &entries[0] else {
        panic!("COMMAND INFO get: {info:?}")
    };
    assert_eq!(get[0], b("get"));
    assert_eq!(get[1], Int(2), "arity");
    assert!(matches!(get[2], Value::Array(_) | Value::Set(_)), "flags");
    assert_eq!(get[3], Int(1), "first key");
    assert_eq!(get[4], Int(1), "last key");
    assert_eq!(get[5], Int(1), "step");

    let info = q(c, &["COMMAND", "INFO", "set", "nosuchcommand", "mset"]);
    let Value::Array(entries) = &info else {
        panic!("COMMAND INFO: {info:?}")
    };
    assert_eq!(entries.len(), 3);
    let Value::Array(set) = &entries[0] else {
        panic!("{info:?}")
    };
    assert_eq!(set[0], b("set"));
    assert_eq!(set[1], Int(-3));
    assert_eq!(entries[1], Nil);
    let Value::Array(mset) = &entries[2] else {
        panic!("{info:?}")
    };
    assert_eq!(mset[1], Int(-3));
    assert_eq!(mset[3], Int(1));
    assert_eq!(mset[4], Int(-1));
    assert_eq!(mset[5], Int(2));

    let docs = q(c, &["COMMAND", "DOCS", "get"]);
    assert!(contains_str(&docs, "get"), "COMMAND DOCS get: {docs:?}");
    assert!(contains_str(&docs, "summary"), "COMMAND DOCS get: {docs:?}");
    let get_docs = field(&docs, "get");
    assert!(!text(&field(&get_docs, "summary")).is_empty());
}

#[test]
fn time_and_debug_sleep() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let t = q(c, &["TIME"]);
    let Value::Array(parts) = &t else {
        panic!("TIME: {t:?}")
    };
    assert_eq!(parts.len(), 2, "TIME: {t:?}");
    assert!(matches!(parts[0], Value::BulkString(_)), "TIME: {t:?}");
    assert!(matches!(parts[1], Value::BulkString(_)), "TIME: {t:?}");
    let secs: u64 = text(&parts[0]).parse().unwrap();
    let micros: u64 = text(&parts[1]).parse().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.abs_diff(now) <= 2, "TIME {secs} vs {now}");
    assert!(micros < 1_000_000, "TIME micros {micros}");
    assert_eq!(err(c, &["TIME", "x"]), arity("time"));

    assert_eq!(q(c, &["DEBUG", "SLEEP", "0"]), ok());
    let start = Instant::now();
    assert_eq!(q(c, &["DEBUG", "SLEEP", "0.2"]), ok());
    assert!(start.elapsed() >= Duration::from_millis(190));
}

#[test]
fn unknown_command_and_arity_errors() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(
        err(c, &["foo", "a", "b"]),
        "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
    );
    assert_eq!(
        err(c, &["foo"]),
        "ERR unknown command 'foo', with args beginning with: "
    );
    assert_eq!(
        err(c, &["FOO", "x"]),
        "ERR unknown command 'FOO', with args beginning with: 'x' "
    );
    assert_eq!(err(c, &["GET"]), arity("get"));
    assert_eq!(err(c, &["GET", "a", "b"]), arity("get"));
    assert_eq!(err(c, &["get"]), arity("get"));
    assert_eq!(err(c, &["HGET", "h"]), arity("hget"));
    // The connection is still fine after errors.
    assert_eq!(q(c, &["PING"]), Value::SimpleString("PONG".into()));

    // The exact bytes.
    let mut s = raw_conn(&node);
    exchange(
        &mut s,
        b"*3\r\n$3\r\nfoo\r\n$1\r\na\r\n$1\r\nb\r\n",
        b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n",
    );
    exchange(
        &mut s,
        b"*1\r\n$3\r\nGET\r\n",
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
}

#[test]
fn pipeline_of_1000_commands() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let mut pipe = redis::pipe();
    let mut want = Vec::new();
    for i in 0..250 {
        let k = format!("p:{i}");
        pipe.cmd("SET").arg(&k).arg(i);
        want.push(ok());
        pipe.cmd("GET").arg(&k);
        want.push(b(&i.to_string()));
        pipe.cmd("INCR").arg("counter");
        want.push(Int(i + 1));
        pipe.cmd("HSET")
            .arg("ph")
            .arg(format!("f{}", i % 100))
            .arg(i);
        want.push(Int(if i < 100 { 1 } else { 0 }));
    }
    let got: Vec<Value> = pipe.query(c).unwrap();
    assert_eq!(got.len(), 1000);
    assert_eq!(got, want);
    assert_eq!(q(c, &["GET", "counter"]), b("250"));
    assert_eq!(q(c, &["HLEN", "ph"]), Int(100));
    assert_eq!(q(c, &["DBSIZE"]), Int(252));

    // Raw RESP: many commands in one write, replies in order, an error in the middle.
    let mut s = raw_conn(&node);
    let mut send = Vec::new();
    let mut want = Vec::new();
    for i in 0..500 {
        let v = i.to_string();
        send.extend_from_slice(
            format!("*3\r\n$3\r\nSET\r\n$3\r\nraw\r\n${}\r\n{v}\r\n", v.len()).as_bytes(),
        );
        want.extend_from_slice(b"+OK\r\n");
        send.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$3\r\nraw\r\n");
        want.extend_from_slice(format!("${}\r\n{v}\r\n", v.len()).as_bytes());
        if i == 250 {
            send.extend_from_slice(b"*1\r\n$3\r\nGET\r\n");
            want.extend_from_slice(b"-ERR wrong number of arguments for 'get' command\r\n");
        }
    }
    exchange(&mut s, &send, &want);
}

#[test]
fn inline_commands() {
    let node = Node::start(&[]);
    let mut s = raw_conn(&node);
    exchange(&mut s, b"PING\r\n", b"+PONG\r\n");
    exchange(&mut s, b"SET a b\r\n", b"+OK\r\n");
    exchange(&mut s, b"GET a\r\n", b"$1\r\nb\r\n");
    exchange(&mut s, b"SET k \"hello world\"\r\n", b"+OK\r\n");
    exchange(&mut s, b"GET k\r\n", b"$11\r\nhello world\r\n");
    exchange(&mut s, b"SET k2 'single quoted'\r\n", b"+OK\r\n");
    exchange(&mut s, b"GET k2\r\n", b"$13\r\nsingle quoted\r\n");
    // Escapes inside double quotes.
    exchange(&mut s, b"SET k3 \"a\\tb\\x41\\\"\"\r\n", b"+OK\r\n");
    exchange(&mut s, b"STRLEN k3\r\n", b":5\r\n");
    exchange(&mut s, b"GET k3\r\n", b"$5\r\na\tbA\"\r\n");
    // Extra spaces, lower case, LF only, empty lines.
    exchange(&mut s, b"  set   sp    x  \r\n", b"+OK\r\n");
    exchange(&mut s, b"get sp\n", b"$1\r\nx\r\n");
    exchange(&mut s, b"\r\nPING\r\n", b"+PONG\r\n");
    // Several inline commands in one write.
    exchange(
        &mut s,
        b"PING\r\nECHO hi\r\nINCR n\r\nINCR n\r\n",
        b"+PONG\r\n$2\r\nhi\r\n:1\r\n:2\r\n",
    );
    // Inline and RESP mixed.
    exchange(
        &mut s,
        b"GET a\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nGET a\r\n",
        b"$1\r\nb\r\n$1\r\nb\r\n$1\r\nb\r\n",
    );
    exchange(
        &mut s,
        b"GET\r\n",
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    exchange(&mut s, b"HSET h f \"v v\"\r\n", b":1\r\n");
    exchange(&mut s, b"HGET h f\r\n", b"$3\r\nv v\r\n");
    // Unbalanced quotes: a protocol error, and the connection is closed.
    exchange(
        &mut s,
        b"SET k \"abc\r\n",
        b"-ERR Protocol error: unbalanced quotes in request\r\n",
    );
    assert_closed(&mut s);
}
