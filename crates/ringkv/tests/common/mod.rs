//! Test harness: starts real `ringkv server` processes on free 127.0.0.1 ports with their own
//! data directories, waits until they accept connections, and kills them for real.

#![allow(dead_code)]

pub mod cluster;
pub mod netns;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `ringkv server` process.
pub struct Node {
    child: Option<Child>,
    /// Client port.
    pub port: u16,
    /// Data directory (kept across restarts).
    pub dir: PathBuf,
    args: Vec<String>,
    log: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

/// Lowest port handed out; below Linux's ephemeral range (32768 and up by default), so that
/// no outgoing connection takes a port between its check and its node's bind.
const FIRST_PORT: u16 = 20000;
/// Ports handed out lie in `FIRST_PORT..FIRST_PORT + PORT_SPAN`.
const PORT_SPAN: u16 = 12000;

/// A free TCP port on 127.0.0.1, never the same one twice in a test process: tests run in
/// parallel, and two of them given the same just-released port (as binding port 0 can do)
/// would start nodes of different clusters on one address and talk to each other's nodes.
/// Each process starts at its own offset, so processes started together rarely meet.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let offset = (std::process::id() % u32::from(PORT_SPAN)) as u16;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(n < PORT_SPAN, "every test port handed out");
        let port = FIRST_PORT + (offset + n) % PORT_SPAN;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl Node {
    /// Starts a node with default settings plus `extra` flags, in a fresh temporary directory.
    pub fn start(extra: &[&str]) -> Node {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let mut node = Node {
            child: None,
            port: 0,
            dir,
            args: extra.iter().map(|s| s.to_string()).collect(),
            log: tmp.path().join("server.log"),
            _tmp: Some(tmp),
        };
        node.spawn();
        node
    }

    /// Starts a node on an existing data directory.
    pub fn start_in(dir: &Path, extra: &[&str]) -> Node {
        let log = dir.with_extension("log");
        let mut node = Node {
            child: None,
            port: 0,
            dir: dir.to_path_buf(),
            args: extra.iter().map(|s| s.to_string()).collect(),
            log,
            _tmp: None,
        };
        node.spawn();
        node
    }

    fn spawn(&mut self) {
        for _ in 0..5 {
            self.port = free_port();
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
                .unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_ringkv"))
                .arg("server")
                .args([
                    "--port",
                    &self.port.to_string(),
                    "--dir",
                    self.dir.to_str().unwrap(),
                ])
                .args(&self.args)
                .env("RINGKV_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start ringkv");
            self.child = Some(child);
            if self.wait_ready(Duration::from_secs(20)) {
                return;
            }
            self.kill();
        }
        panic!("ringkv did not start; log:\n{}", self.log_text());
    }

    /// Waits until this node, and not some other process that happens to hold the port,
    /// answers on it: `CONFIG GET dir` must name this node's directory (or, with a password
    /// set, the node must still be running once something answers).
    fn wait_ready(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                eprintln!("ringkv exited early with {status}");
                return false;
            }
            match self.probe() {
                Some(reply) if reply.contains(self.dir.to_str().unwrap()) => return true,
                Some(reply) if reply.starts_with("-NOAUTH") => {
                    std::thread::sleep(Duration::from_millis(100));
                    return self.is_running();
                }
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        false
    }

    /// The raw reply to `CONFIG GET dir` on this node's port, if anything answers.
    fn probe(&self) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        stream.write_all(b"CONFIG GET dir\r\n").ok()?;
        let mut reply = [0u8; 4096];
        let n = stream.read(&mut reply).ok()?;
        Some(String::from_utf8_lossy(&reply[..n]).into_owned())
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `redis://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A synchronous client connection.
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap_or_else(|e| panic!("connect to {}: {e}; log:\n{}", self.url(), self.log_text()))
    }

    /// An async multiplexed client connection.
    pub async fn async_conn(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// Kills the process with SIGKILL and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills (SIGKILL) and starts again on the same directory with the same flags.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Waits up to `timeout` for the process to end by itself; how it ended, or None if it
    /// is still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut()?.try_wait().unwrap() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Starts the process again after it ended by itself, on the same directory and flags.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the node is still running");
        self.spawn();
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `cmd` expecting a Redis error; returns its full text ("ERR ...", "WRONGTYPE ...").
pub fn err_text(result: redis::RedisResult<redis::Value>) -> String {
    let e = result.expect_err("expected an error reply");
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

/// Runs `args` and returns the reply; panics on an error reply.
pub fn q(con: &mut redis::Connection, args: &[&str]) -> redis::Value {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(con)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

/// Runs `args` expecting an error reply; returns its full text.
pub fn err(con: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    err_text(cmd.query(con))
}

/// The `+OK` reply.
pub fn ok() -> redis::Value {
    redis::Value::Okay
}

/// A bulk-string reply holding `s`.
pub fn b(s: &str) -> redis::Value {
    redis::Value::BulkString(s.as_bytes().to_vec())
}

/// Redis's wrong-arity error for `cmd`.
pub fn arity(cmd: &str) -> String {
    format!("ERR wrong number of arguments for '{cmd}' command")
}

/// Owned, sorted copies of `list`.
pub fn strs(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// The bulk strings of an array reply, sorted.
pub fn sorted(v: redis::Value) -> Vec<String> {
    let redis::Value::Array(items) = v else {
        panic!("expected an array, got {v:?}")
    };
    let mut out: Vec<String> = items.iter().map(bulk_text).collect();
    out.sort();
    out
}

/// The text of a bulk-string reply.
fn bulk_text(v: &redis::Value) -> String {
    match v {
        redis::Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}
