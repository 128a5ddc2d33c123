//! Connection and server commands against a real server: HELLO/RESP3, AUTH, CLIENT, INFO,
//! CONFIG, COMMAND, pipelining and inline commands.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{err, ok, q, Node};
use redis::Value::{self, Int, Nil};

fn b(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn map_get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Map(pairs) => pairs.iter().find(|(k, _)| k == &b(key)).map(|(_, v)| v),
        Value::Array(items) => items.chunks(2).find(|p| p[0] == b(key)).map(|p| &p[1]),
        _ => None,
    }
}

fn text(v: Value) -> String {
    match v {
        Value::BulkString(s) => String::from_utf8(s).unwrap(),
        Value::VerbatimString { text, .. } => text,
        other => panic!("{other:?}"),
    }
}

#[test]
fn ping_echo_select_time_debug_errors() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["PING"]), Value::SimpleString("PONG".into()));
    assert_eq!(q(c, &["PING", "hi"]), b("hi"));
    assert_eq!(q(c, &["ECHO", "x y"]), b("x y"));
    assert_eq!(q(c, &["SELECT", "0"]), ok());
    assert_eq!(err(c, &["SELECT", "1"]), "ERR DB index is out of range");
    let Value::Array(t) = q(c, &["TIME"]) else {
        panic!()
    };
    assert_eq!(t.len(), 2);
    assert!(text(t[0].clone()).parse::<u64>().unwrap() > 1_700_000_000);
    assert!(text(t[1].clone()).parse::<u64>().unwrap() < 1_000_000);
    assert_eq!(q(c, &["DEBUG", "SLEEP", "0"]), ok());
    assert_eq!(
        err(c, &["foo", "a", "b"]),
        "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
    );
    assert_eq!(
        err(c, &["GET"]),
        "ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        err(c, &["GET", "a", "b"]),
        "ERR wrong number of arguments for 'get' command"
    );
}

#[test]
fn hello_switches_to_resp3() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(
        err(c, &["HELLO", "4"]),
        "NOPROTO unsupported protocol version"
    );
    let hello = q(c, &["HELLO", "3"]);
    assert!(matches!(hello, Value::Map(_)), "{hello:?}");
    assert_eq!(map_get(&hello, "server"), Some(&b("redis")));
    assert_eq!(map_get(&hello, "proto"), Some(&Int(3)));
    assert!(matches!(map_get(&hello, "id"), Some(Int(_))));
    assert_eq!(map_get(&hello, "mode"), Some(&b("standalone")));
    assert_eq!(map_get(&hello, "role"), Some(&b("master")));
    assert!(map_get(&hello, "version").is_some());
    q(c, &["HSET", "h", "f", "v"]);
    assert_eq!(q(c, &["HGETALL", "h"]), Value::Map(vec![(b("f"), b("v"))]));
    assert_eq!(q(c, &["GET", "missing"]), Nil);
    let hello2 = q(c, &["HELLO", "2"]);
    assert!(matches!(hello2, Value::Array(_)), "{hello2:?}");
}

#[test]
fn auth_with_requirepass() {
    let node = Node::start(&["--requirepass", "s3cret"]);
    let c = &mut node.conn();
    assert_eq!(err(c, &["GET", "k"]), "NOAUTH Authentication required.");
    assert_eq!(
        err(c, &["AUTH", "wrong"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(
        err(c, &["AUTH", "bob", "s3cret"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(q(c, &["AUTH", "s3cret"]), ok());
    assert_eq!(q(c, &["SET", "k", "v"]), ok());
    let c2 = &mut node.conn();
    let hello = q(
        c2,
        &["HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "me"],
    );
    assert_eq!(map_get(&hello, "proto"), Some(&Int(3)));
    assert_eq!(q(c2, &["GET", "k"]), b("v"));
    assert_eq!(q(c2, &["CLIENT", "GETNAME"]), b("me"));
    let open = Node::start(&[]);
    let c3 = &mut open.conn();
    assert!(err(c3, &["AUTH", "x"])
        .starts_with("ERR AUTH <password> called without any password configured"));
}

#[test]
fn client_subcommands() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    assert_eq!(q(c, &["CLIENT", "GETNAME"]), Nil);
    assert_eq!(q(c, &["CLIENT", "SETNAME", "worker-1"]), ok());
    assert_eq!(q(c, &["CLIENT", "GETNAME"]), b("worker-1"));
    assert_eq!(
        err(c, &["CLIENT", "SETNAME", "bad name"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    let Int(id) = q(c, &["CLIENT", "ID"]) else {
        panic!()
    };
    let list = text(q(c, &["CLIENT", "LIST"]));
    assert!(list.contains("name=worker-1"), "{list}");
    assert!(list.contains(&format!("id={id} ")), "{list}");
    let info = text(q(c, &["CLIENT", "INFO"]));
    assert!(
        info.contains("name=worker-1") && info.contains("cmd=client"),
        "{info}"
    );
    assert!(err(c, &["CLIENT", "FOO"]).starts_with("ERR unknown subcommand 'FOO'"));
    assert_eq!(
        err(c, &["CLIENT", "SETNAME"]),
        "ERR wrong number of arguments for 'client|setname' command"
    );
}

#[test]
fn info_config_command() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    q(c, &["MSET", "a", "1", "b", "2"]);
    let info = text(q(c, &["INFO"]));
    for needle in [
        "# Server",
        "redis_version:",
        "# Clients",
        "connected_clients:",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Keyspace",
        "db0:keys=2",
    ] {
        assert!(info.contains(needle), "{needle} missing from {info}");
    }
    let keyspace = text(q(c, &["INFO", "keyspace"]));
    assert!(
        keyspace.starts_with("# Keyspace") && !keyspace.contains("# Server"),
        "{keyspace}"
    );
    let mm = q(c, &["CONFIG", "GET", "maxmemory"]);
    assert_eq!(map_get(&mm, "maxmemory"), Some(&b("0")));
    assert_eq!(q(c, &["CONFIG", "SET", "maxmemory", "10mb"]), ok());
    assert_eq!(
        map_get(&q(c, &["CONFIG", "GET", "maxmemory"]), "maxmemory"),
        Some(&b("10485760"))
    );
    let all = q(c, &["CONFIG", "GET", "*"]);
    assert_eq!(map_get(&all, "fsync"), Some(&b("always")));
    assert_eq!(map_get(&all, "port"), Some(&b(&node.port.to_string())));
    assert!(err(c, &["CONFIG", "SET", "port", "1"]).contains("can't set immutable config"));
    assert!(err(c, &["CONFIG", "SET", "nosuch", "1"]).starts_with("ERR Unknown option"));
    assert!(err(c, &["CONFIG", "SET", "maxmemory-policy", "bogus"])
        .starts_with("ERR CONFIG SET failed"));
    let Int(count) = q(c, &["COMMAND", "COUNT"]) else {
        panic!()
    };
    assert!(count > 50);
    let Value::Array(info) = q(c, &["COMMAND", "INFO", "get", "nosuch"]) else {
        panic!()
    };
    let Value::Array(get) = &info[0] else {
        panic!("{info:?}")
    };
    assert_eq!(get[0], b("get"));
    assert_eq!(get[1], Int(2));
    assert_eq!((&get[3], &get[4], &get[5]), (&Int(1), &Int(1), &Int(1)));
    assert_eq!(info[1], Nil);
    let docs = q(c, &["COMMAND", "DOCS", "get"]);
    let get_doc = map_get(&docs, "get").expect("docs for get");
    assert!(map_get(get_doc, "summary").is_some());
    let Value::Array(all) = q(c, &["COMMAND"]) else {
        panic!()
    };
    assert_eq!(all.len() as i64, count);
}

#[test]
fn pipelines_and_inline_commands() {
    let node = Node::start(&[]);
    let c = &mut node.conn();
    let mut pipe = redis::pipe();
    for i in 0..500 {
        pipe.cmd("SET").arg(format!("p{i}")).arg(i);
        pipe.cmd("GET").arg(format!("p{i}"));
    }
    let replies: Vec<Value> = pipe.query(c).unwrap();
    assert_eq!(replies.len(), 1000);
    for (i, pair) in replies.chunks(2).enumerate() {
        assert_eq!(pair[0], ok());
        assert_eq!(pair[1], b(&i.to_string()));
    }
    let mut raw = TcpStream::connect(("127.0.0.1", node.port)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    raw.write_all(b"PING\r\nSET a b\r\nSET k \"hello world\"\r\nGET k\n")
        .unwrap();
    let want = b"+PONG\r\n+OK\r\n+OK\r\n$11\r\nhello world\r\n";
    let mut got = vec![0u8; want.len()];
    raw.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
    raw.write_all(b"QUIT\r\n").unwrap();
    let mut rest = Vec::new();
    raw.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"+OK\r\n");
}
