//! The command table: every command ringkv knows, with Redis's arity, flags, key positions
//! and documentation, as `COMMAND INFO`/`COMMAND DOCS` report them and routing needs them.

use std::collections::HashMap;
use std::sync::OnceLock;

use ahash::RandomState;
use bytes::Bytes;

use super::{hashes, keys, strings, Handler};

/// The group a command belongs to (as `COMMAND DOCS` reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// String commands.
    String,
    /// Keyspace commands.
    Generic,
    /// Hash commands.
    Hash,
    /// Connection commands (executed by the server).
    Connection,
    /// Server commands (executed by the server).
    Server,
}

impl Family {
    /// The group name Redis uses.
    pub fn name(self) -> &'static str {
        match self {
            Family::String => "string",
            Family::Generic => "generic",
            Family::Hash => "hash",
            Family::Connection => "connection",
            Family::Server => "server",
        }
    }
}

/// One command's description.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: exact count if positive, minimum count if negative (name included).
    pub arity: i32,
    /// Redis command flags.
    pub flags: &'static [&'static str],
    /// Position of the first key (0: none).
    pub first_key: i32,
    /// Position of the last key (-1: the last argument).
    pub last_key: i32,
    /// Step between keys.
    pub step: i32,
    /// Group.
    pub family: Family,
    /// One-line summary.
    pub summary: &'static str,
    /// Redis version that introduced it.
    pub since: &'static str,
    /// Implementation for data commands; None for commands the server runs.
    pub handler: Option<Handler>,
}

impl CommandSpec {
    /// Whether `argc` arguments (name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// Whether the command changes data.
    pub fn is_write(&self) -> bool {
        self.flags.contains(&"write")
    }

    /// The key arguments of a request for this command.
    pub fn keys<'a>(&self, argv: &'a [Bytes]) -> impl Iterator<Item = &'a Bytes> {
        let first = self.first_key.max(0) as usize;
        let last = if self.last_key < 0 {
            argv.len() as i64 + i64::from(self.last_key)
        } else {
            i64::from(self.last_key)
        };
        let end = if self.first_key == 0 {
            0
        } else {
            (last.max(0) as usize + 1).min(argv.len())
        };
        argv.get(first..end.max(first))
            .unwrap_or(&[])
            .iter()
            .step_by(self.step.max(1) as usize)
    }
}

const R: &[&str] = &["readonly", "fast"];
const RS: &[&str] = &["readonly"];
const W: &[&str] = &["write", "denyoom"];
const WF: &[&str] = &["write", "fast"];
const WD: &[&str] = &["write", "denyoom", "fast"];
const C: &[&str] = &["fast", "stale", "loading", "noscript"];
const A: &[&str] = &["admin", "noscript", "loading", "stale"];

macro_rules! cmd {
    ($name:literal, $arity:expr, $flags:expr, $first:expr, $last:expr, $step:expr, $family:ident, $since:literal, $summary:literal, $handler:expr) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            step: $step,
            family: Family::$family,
            summary: $summary,
            since: $since,
            handler: $handler,
        }
    };
}

/// Every command ringkv implements.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("get", 2, R, 1, 1, 1, String, "1.0.0", "Returns the string value of a key.", Some(strings::get)),
    cmd!("set", -3, W, 1, 1, 1, String, "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", Some(strings::set)),
    cmd!("setnx", 3, WD, 1, 1, 1, String, "1.0.0", "Set the string value of a key only when the key doesn't exist.", Some(strings::setnx)),
    cmd!("setex", 4, W, 1, 1, 1, String, "2.0.0", "Sets the string value and expiration time of a key.", Some(strings::setex)),
    cmd!("psetex", 4, W, 1, 1, 1, String, "2.6.0", "Sets both string value and expiration time in milliseconds of a key.", Some(strings::psetex)),
    cmd!("getset", 3, WD, 1, 1, 1, String, "1.0.0", "Returns the previous string value of a key after setting it to a new value.", Some(strings::getset)),
    cmd!("getdel", 2, WF, 1, 1, 1, String, "6.2.0", "Returns the string value of a key after deleting the key.", Some(strings::getdel)),
    cmd!("getex", -2, WF, 1, 1, 1, String, "6.2.0", "Returns the string value of a key after setting its expiration time.", Some(strings::getex)),
    cmd!("mget", -2, R, 1, -1, 1, String, "1.0.0", "Atomically returns the string values of one or more keys.", Some(strings::mget)),
    cmd!("mset", -3, W, 1, -1, 2, String, "1.0.1", "Atomically creates or modifies the string values of one or more keys.", Some(strings::mset)),
    cmd!("msetnx", -3, W, 1, -1, 2, String, "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist.", Some(strings::msetnx)),
    cmd!("append", 3, WD, 1, 1, 1, String, "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.", Some(strings::append)),
    cmd!("strlen", 2, R, 1, 1, 1, String, "2.2.0", "Returns the length of a string value.", Some(strings::strlen)),
    cmd!("getrange", 4, RS, 1, 1, 1, String, "2.4.0", "Returns a substring of the string stored at a key.", Some(strings::getrange)),
    cmd!("setrange", 4, W, 1, 1, 1, String, "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", Some(strings::setrange)),
    cmd!("incr", 2, WD, 1, 1, 1, String, "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", Some(strings::incr)),
    cmd!("incrby", 3, WD, 1, 1, 1, String, "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", Some(strings::incrby)),
    cmd!("incrbyfloat", 3, WD, 1, 1, 1, String, "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", Some(strings::incrbyfloat)),
    cmd!("decr", 2, WD, 1, 1, 1, String, "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", Some(strings::decr)),
    cmd!("decrby", 3, WD, 1, 1, 1, String, "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", Some(strings::decrby)),
    cmd!("del", -2, &["write"], 1, -1, 1, Generic, "1.0.0", "Deletes one or more keys.", Some(keys::del)),
    cmd!("unlink", -2, WF, 1, -1, 1, Generic, "4.0.0", "Asynchronously deletes one or more keys.", Some(keys::del)),
    cmd!("exists", -2, R, 1, -1, 1, Generic, "1.0.0", "Determines whether one or more keys exist.", Some(keys::exists)),
    cmd!("expire", -3, WF, 1, 1, 1, Generic, "1.0.0", "Sets the expiration time of a key in seconds.", Some(keys::expire)),
    cmd!("pexpire", -3, WF, 1, 1, 1, Generic, "2.6.0", "Sets the expiration time of a key in milliseconds.", Some(keys::pexpire)),
    cmd!("expireat", -3, WF, 1, 1, 1, Generic, "1.2.0", "Sets the expiration time of a key to a Unix timestamp.", Some(keys::expireat)),
    cmd!("pexpireat", -3, WF, 1, 1, 1, Generic, "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp.", Some(keys::pexpireat)),
    cmd!("ttl", 2, R, 1, 1, 1, Generic, "1.0.0", "Returns the expiration time in seconds of a key.", Some(keys::ttl)),
    cmd!("pttl", 2, R, 1, 1, 1, Generic, "2.6.0", "Returns the expiration time in milliseconds of a key.", Some(keys::pttl)),
    cmd!("expiretime", 2, R, 1, 1, 1, Generic, "7.0.0", "Returns the expiration time of a key as a Unix timestamp.", Some(keys::expiretime)),
    cmd!("pexpiretime", 2, R, 1, 1, 1, Generic, "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.", Some(keys::pexpiretime)),
    cmd!("persist", 2, WF, 1, 1, 1, Generic, "2.2.0", "Removes the expiration time of a key.", Some(keys::persist)),
    cmd!("type", 2, R, 1, 1, 1, Generic, "1.0.0", "Determines the type of value stored at a key.", Some(keys::type_of)),
    cmd!("keys", 2, RS, 0, 0, 0, Generic, "1.0.0", "Returns all key names that match a pattern.", Some(keys::keys)),
    cmd!("scan", -2, RS, 0, 0, 0, Generic, "2.8.0", "Iterates over the key names in the database.", Some(keys::scan)),
    cmd!("rename", 3, &["write"], 1, 2, 1, Generic, "1.0.0", "Renames a key and overwrites the destination.", Some(keys::rename)),
    cmd!("renamenx", 3, WF, 1, 2, 1, Generic, "1.0.0", "Renames a key only when the target key name doesn't exist.", Some(keys::renamenx)),
    cmd!("randomkey", 1, RS, 0, 0, 0, Generic, "1.0.0", "Returns a random key name from the database.", Some(keys::randomkey)),
    cmd!("dbsize", 1, R, 0, 0, 0, Server, "1.0.0", "Returns the number of keys in the database.", Some(keys::dbsize)),
    cmd!("flushdb", -1, &["write"], 0, 0, 0, Server, "1.0.0", "Remove all keys from the current database.", Some(keys::flush)),
    cmd!("flushall", -1, &["write"], 0, 0, 0, Server, "1.0.0", "Removes all keys from all databases.", Some(keys::flush)),
    cmd!("hset", -4, WD, 1, 1, 1, Hash, "2.0.0", "Creates or modifies the value of a field in a hash.", Some(hashes::hset)),
    cmd!("hsetnx", 4, WD, 1, 1, 1, Hash, "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist.", Some(hashes::hsetnx)),
    cmd!("hmset", -4, WD, 1, 1, 1, Hash, "2.0.0", "Sets the values of multiple fields.", Some(hashes::hmset)),
    cmd!("hget", 3, R, 1, 1, 1, Hash, "2.0.0", "Returns the value of a field in a hash.", Some(hashes::hget)),
    cmd!("hmget", -3, R, 1, 1, 1, Hash, "2.0.0", "Returns the values of all fields in a hash.", Some(hashes::hmget)),
    cmd!("hdel", -3, WF, 1, 1, 1, Hash, "2.0.0", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", Some(hashes::hdel)),
    cmd!("hexists", 3, R, 1, 1, 1, Hash, "2.0.0", "Determines whether a field exists in a hash.", Some(hashes::hexists)),
    cmd!("hlen", 2, R, 1, 1, 1, Hash, "2.0.0", "Returns the number of fields in a hash.", Some(hashes::hlen)),
    cmd!("hkeys", 2, RS, 1, 1, 1, Hash, "2.0.0", "Returns all fields in a hash.", Some(hashes::hkeys)),
    cmd!("hvals", 2, RS, 1, 1, 1, Hash, "2.0.0", "Returns all values in a hash.", Some(hashes::hvals)),
    cmd!("hgetall", 2, RS, 1, 1, 1, Hash, "2.0.0", "Returns all fields and values in a hash.", Some(hashes::hgetall)),
    cmd!("hincrby", 4, WD, 1, 1, 1, Hash, "2.0.0", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", Some(hashes::hincrby)),
    cmd!("hincrbyfloat", 4, WD, 1, 1, 1, Hash, "2.6.0", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", Some(hashes::hincrbyfloat)),
    cmd!("hstrlen", 3, R, 1, 1, 1, Hash, "3.2.0", "Returns the length of the value of a field.", Some(hashes::hstrlen)),
    cmd!("hscan", -3, RS, 1, 1, 1, Hash, "2.8.0", "Iterates over fields and values of a hash.", Some(hashes::hscan)),
    cmd!("ping", -1, C, 0, 0, 0, Connection, "1.0.0", "Returns the server's liveliness response.", None),
    cmd!("echo", 2, C, 0, 0, 0, Connection, "1.0.0", "Returns the given string.", None),
    cmd!("quit", -1, C, 0, 0, 0, Connection, "1.0.0", "Closes the connection.", None),
    cmd!("hello", -1, C, 0, 0, 0, Connection, "6.0.0", "Handshakes with the Redis server.", None),
    cmd!("auth", -2, C, 0, 0, 0, Connection, "1.0.0", "Authenticates the connection.", None),
    cmd!("select", 2, C, 0, 0, 0, Connection, "1.0.0", "Changes the selected database.", None),
    cmd!("client", -2, &["stale", "loading"], 0, 0, 0, Connection, "2.4.0", "A container for client connection commands.", None),
    cmd!("cluster", -2, &["stale", "loading"], 0, 0, 0, Server, "3.0.0", "A container for Redis Cluster commands.", None),
    cmd!("readonly", 1, C, 0, 0, 0, Connection, "3.0.0", "Enables read-only queries for a connection to a Redis Cluster replica node.", None),
    cmd!("readwrite", 1, C, 0, 0, 0, Connection, "3.0.0", "Enables read-write queries for a connection to a Redis Cluster replica node.", None),
    cmd!("asking", 1, C, 0, 0, 0, Connection, "3.0.0", "Signals that a cluster client is following an -ASK redirect.", None),
    cmd!("info", -1, &["stale", "loading"], 0, 0, 0, Server, "1.0.0", "Returns information and statistics about the server.", None),
    cmd!("config", -2, A, 0, 0, 0, Server, "2.0.0", "A container for server configuration commands.", None),
    cmd!("command", -1, &["stale", "loading"], 0, 0, 0, Server, "2.8.13", "Returns detailed information about all commands.", None),
    cmd!("time", 1, C, 0, 0, 0, Server, "2.6.0", "Returns the server time.", None),
    cmd!("debug", -2, A, 0, 0, 0, Server, "1.0.0", "A container for debugging commands.", None),
    cmd!("shutdown", -1, A, 0, 0, 0, Server, "1.0.0", "Synchronously saves the database(s) to disk and shuts down the Redis server.", None),
];

/// Finds a command by name, ignoring case.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    static INDEX: OnceLock<HashMap<&'static [u8], &'static CommandSpec, RandomState>> =
        OnceLock::new();
    let index = INDEX.get_or_init(|| COMMANDS.iter().map(|c| (c.name.as_bytes(), c)).collect());
    let mut lower = [0u8; 32];
    let lower = lower.get_mut(..name.len())?;
    for (l, b) in lower.iter_mut().zip(name) {
        *l = b.to_ascii_lowercase();
    }
    index.get(&*lower).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_keys_follow_positions() {
        assert_eq!(lookup(b"GeT").unwrap().name, "get");
        assert!(lookup(b"nosuchcommand").is_none());
        let argv: Vec<Bytes> = ["MSET", "a", "1", "b", "2"]
            .iter()
            .map(|s| Bytes::from(*s))
            .collect();
        let keys: Vec<_> = lookup(b"mset").unwrap().keys(&argv).collect();
        assert_eq!(keys, vec![&argv[1], &argv[3]]);
        let argv: Vec<Bytes> = ["PING"].iter().map(|s| Bytes::from(*s)).collect();
        assert_eq!(lookup(b"ping").unwrap().keys(&argv).count(), 0);
        assert!(lookup(b"get").unwrap().arity_ok(2));
        assert!(!lookup(b"get").unwrap().arity_ok(3));
        assert!(lookup(b"set").unwrap().arity_ok(5));
    }
}
