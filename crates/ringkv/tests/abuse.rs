//! Abuse: malformed, oversized, slow and greedy clients never crash the server and never
//! disturb other clients.
//!
//! Every test sends its bad input on one raw TCP connection, checks the exact reply bytes
//! (Redis 7's wording) and that the server closed that connection, then checks that a second,
//! well-behaved client is still served and still sees the key written before the abuse.
//! Raw sockets rather than a client library, because the point is to send what no library
//! would and to see exactly which bytes come back.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::Node;

/// Key written before every abuse and read back after it.
const CANARY: &str = "abuse:canary";
const CANARY_VALUE: &str = "still here";

/// Starts a node with `extra` flags and writes the canary key.
fn start(extra: &[&str]) -> Node {
    let node = Node::start(extra);
    let mut c = node.conn();
    let _: () = redis::cmd("SET")
        .arg(CANARY)
        .arg(CANARY_VALUE)
        .query(&mut c)
        .unwrap();
    node
}

/// The server process is alive, a new client gets PONG, and the canary key is intact.
fn assert_healthy(node: &mut Node) {
    assert!(
        node.is_running(),
        "server exited; log:\n{}",
        node.log_text()
    );
    let mut c = node.conn();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    let value: Option<String> = redis::cmd("GET").arg(CANARY).query(&mut c).unwrap();
    assert_eq!(
        value.as_deref(),
        Some(CANARY_VALUE),
        "the key written before the abuse is gone"
    );
}

/// `connected_clients` from `INFO clients`.
fn connected_clients(c: &mut redis::Connection) -> usize {
    let info: String = redis::cmd("INFO").arg("clients").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .unwrap_or_else(|| panic!("no connected_clients in INFO clients:\n{info}"))
        .trim()
        .parse()
        .unwrap()
}

/// Resident memory of a running process in MB, from /proc/<pid>/status.
fn rss_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("cannot read the status of server process {pid}: {e}"));
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS for server process {pid}"));
    kb / 1024
}

/// Polls `check` every 50 ms until it holds or `timeout` passes.
fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `INFO clients` counts exactly `n` clients, so that connections closed a moment
/// ago (the canary writer, the harness's readiness probe) no longer blur later counts.
fn settle(c: &mut redis::Connection, n: usize) {
    let mut seen = 0;
    let settled = eventually(Duration::from_secs(5), || {
        seen = connected_clients(c);
        seen == n
    });
    assert!(settled, "connected_clients stays at {seen}, expected {n}");
}

/// A request as a RESP array of bulk strings.
fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A raw client connection with read and write timeouts.
struct Raw {
    s: TcpStream,
}

impl Raw {
    fn connect(node: &Node) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", node.port)).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        Raw { s }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    /// Reads until `n` bytes arrived, the server closed, or the read timeout passed.
    fn read_up_to(&mut self, n: usize) -> Vec<u8> {
        let mut got = Vec::with_capacity(n);
        let mut buf = [0u8; 4096];
        while got.len() < n {
            let want = (n - got.len()).min(buf.len());
            match self.s.read(&mut buf[..want]) {
                Ok(0) | Err(_) => break,
                Ok(k) => got.extend_from_slice(&buf[..k]),
            }
        }
        got
    }

    /// Reads exactly the reply `expected`.
    fn expect(&mut self, expected: &[u8]) {
        let got = self.read_up_to(expected.len());
        assert_eq!(text(&got), text(expected), "unexpected reply");
    }

    /// Reads whatever else arrives until the server closes the connection (EOF or reset).
    /// Returns the bytes read and whether the connection was closed within `within`.
    fn until_closed(&mut self, within: Duration) -> (Vec<u8>, bool) {
        let deadline = Instant::now() + within;
        let mut extra = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        self.s
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        while Instant::now() < deadline {
            match self.s.read(&mut buf) {
                Ok(0) => return (extra, true),
                Ok(k) => {
                    let keep = k.min(1024usize.saturating_sub(extra.len()));
                    extra.extend_from_slice(&buf[..keep]);
                }
                Err(e) if is_timeout(&e) => {}
                Err(_) => return (extra, true),
            }
        }
        (extra, false)
    }
}

/// Sends `input` on a fresh connection, expects exactly the reply `expected` and then the
/// connection closed by the server, and finally a healthy server.
fn reply_then_close(node: &mut Node, input: &[u8], expected: &[u8]) {
    let mut raw = Raw::connect(node);
    raw.send(input);
    let got = raw.read_up_to(expected.len());
    assert_eq!(text(&got), text(expected), "reply to {:?}", text(input));
    let (extra, closed) = raw.until_closed(Duration::from_secs(3));
    assert!(
        extra.is_empty(),
        "more bytes after the protocol error for {:?}: {:?}",
        text(input),
        text(&extra)
    );
    assert!(
        closed,
        "connection still open after the protocol error for {:?}",
        text(input)
    );
    assert_healthy(node);
}

const INVALID_BULK_LENGTH: &[u8] = b"-ERR Protocol error: invalid bulk length\r\n";
const INVALID_MULTIBULK_LENGTH: &[u8] = b"-ERR Protocol error: invalid multibulk length\r\n";

#[test]
fn bulk_length_over_512_mib() {
    let mut node = start(&[]);
    reply_then_close(&mut node, b"*1\r\n$536870913\r\n", INVALID_BULK_LENGTH);
}

#[test]
fn negative_or_non_numeric_bulk_length() {
    let mut node = start(&[]);
    reply_then_close(&mut node, b"*1\r\n$-5\r\n", INVALID_BULK_LENGTH);
    reply_then_close(&mut node, b"*1\r\n$abc\r\n", INVALID_BULK_LENGTH);
}

#[test]
fn multibulk_count_over_limit_or_non_numeric() {
    let mut node = start(&[]);
    // ringkv caps a request at 1M arguments (Redis 7 itself waits for up to INT_MAX of them).
    reply_then_close(&mut node, b"*1048577\r\n", INVALID_MULTIBULK_LENGTH);
    // Over INT_MAX: rejected by Redis 7 as well.
    reply_then_close(&mut node, b"*2147483648\r\n", INVALID_MULTIBULK_LENGTH);
    reply_then_close(&mut node, b"*x\r\n", INVALID_MULTIBULK_LENGTH);
}

#[test]
fn argument_that_is_not_a_bulk_string() {
    let mut node = start(&[]);
    reply_then_close(
        &mut node,
        b"*1\r\n+foo\r\n",
        b"-ERR Protocol error: expected '$', got '+'\r\n",
    );
}

#[test]
fn inline_request_with_unbalanced_quotes() {
    let mut node = start(&[]);
    reply_then_close(
        &mut node,
        b"SET k \"abc\r\n",
        b"-ERR Protocol error: unbalanced quotes in request\r\n",
    );
}

#[test]
fn endless_inline_request_is_cut_off() {
    const LIMIT: u64 = 1 << 30;
    const MAX_RSS_MB: u64 = 200;
    let mut node = start(&[]);
    let pid = node.pid();
    let raw = Raw::connect(&node);
    let mut reader = raw.s;
    reader
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut writer = reader.try_clone().unwrap();
    writer
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();

    // One thread streams 'a' bytes, never a newline, until a write fails (the server closed
    // or stopped reading) or 1 GiB is sent; this one reads the reply and watches the RSS.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let streamer = thread::spawn({
        let (stop, sent) = (stop.clone(), sent.clone());
        move || {
            let chunk = vec![b'a'; 64 * 1024];
            while !stop.load(Ordering::Relaxed) && sent.load(Ordering::Relaxed) < LIMIT {
                if writer.write_all(&chunk).is_err() {
                    break;
                }
                sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut reply, mut closed, mut max_rss) = (Vec::new(), false, 0);
    let mut streamer_done: Option<Instant> = None;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !closed {
        max_rss = max_rss.max(rss_mb(pid));
        if max_rss >= MAX_RSS_MB {
            break;
        }
        match reader.read(&mut buf) {
            Ok(0) => closed = true,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if is_timeout(&e) => {
                // The streamer gave up (all sent, or the server stopped reading without
                // closing): allow the reply a few more seconds, then stop waiting.
                if streamer.is_finished() {
                    let since = *streamer_done.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_secs(3) {
                        break;
                    }
                }
            }
            Err(_) => closed = true,
        }
    }
    stop.store(true, Ordering::Relaxed);
    streamer.join().unwrap();
    let sent = sent.load(Ordering::Relaxed);
    max_rss = max_rss.max(rss_mb(pid));

    assert_eq!(
        text(&reply),
        "-ERR Protocol error: too big inline request\r\n"
    );
    assert!(
        closed,
        "connection not closed after 'too big inline request' ({sent} bytes sent)"
    );
    assert!(
        sent < 64 << 20,
        "the server read {sent} bytes of one inline request before closing"
    );
    assert!(max_rss < MAX_RSS_MB, "server RSS reached {max_rss} MB");
    assert_healthy(&mut node);
}

#[test]
fn ten_thousand_idle_connections() {
    const WANTED: usize = 10_000;
    // Each connection costs this process one descriptor, and the default soft limit is
    // often 1024. The test harness's hard limit may be lower than what we ask for: then we
    // open as many as it allows, keeping 500 descriptors for the other tests running in
    // parallel, and require at least 5,000, still far beyond any realistic per-thread setup.
    let limit = rlimit::increase_nofile_limit(20_000).expect("raise the open-file limit") as usize;
    let count = WANTED.min(limit.saturating_sub(500));
    assert!(
        count >= 5_000,
        "open-file limit {limit} allows only {count} connections"
    );
    // maxclients defaults to 10000, as in Redis: leave room for the checking clients.
    let mut node = start(&["--maxclients", "10100"]);
    let mut admin = node.conn();
    settle(&mut admin, 1);

    // Connect in steps of 100 and let the server accept each step before the next: a listen
    // backlog is short (tokio's default is 128, Redis's tcp-backlog 511), and every SYN it
    // drops costs the client a 1 s retransmission. This test is about holding many idle
    // connections, not about bursts of connects.
    let mut idle = Vec::with_capacity(count);
    let opening = Instant::now();
    while idle.len() < count {
        for _ in 0..100.min(count - idle.len()) {
            match TcpStream::connect(("127.0.0.1", node.port)) {
                Ok(s) => idle.push(s),
                Err(e) => panic!("connection {} of {count} failed: {e}", idle.len() + 1),
            }
        }
        let step = Instant::now();
        loop {
            let seen = connected_clients(&mut admin);
            if seen > idle.len() {
                break;
            }
            assert!(
                step.elapsed() < Duration::from_secs(5),
                "the server accepted {} of {} connections",
                seen - 1,
                idle.len()
            );
            thread::sleep(Duration::from_millis(1));
        }
    }
    let opened = opening.elapsed();
    assert!(
        opened < Duration::from_secs(20),
        "opening {count} connections took {opened:?}"
    );
    let started = Instant::now();
    let mut fresh = Raw::connect(&node);
    fresh.send(b"PING\r\n");
    fresh.expect(b"+PONG\r\n");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "a new client waited {took:?} for PONG beside {count} idle ones"
    );

    let mut seen = 0;
    let all_counted = eventually(Duration::from_secs(10), || {
        seen = connected_clients(&mut admin);
        seen > count
    });
    assert!(
        all_counted,
        "INFO clients shows {seen} connected_clients with {count} idle connections open"
    );

    drop(idle);
    drop(fresh);
    let released = eventually(Duration::from_secs(10), || {
        seen = connected_clients(&mut admin);
        seen == 1
    });
    assert!(
        released,
        "connected_clients still {seen} after closing the idle connections"
    );
    assert_healthy(&mut node);
}

#[test]
fn maxclients_refuses_the_extra_client() {
    let mut node = start(&["--maxclients", "5"]);
    // The server counts a client until it has seen it go, so a connection closed a moment
    // ago (the canary writer, the harness's readiness probe) may still hold a place: retry.
    let mut clients: Vec<Raw> = Vec::new();
    for i in 0..5 {
        let mut reply = Vec::new();
        let admitted = eventually(Duration::from_secs(3), || {
            let mut c = Raw::connect(&node);
            c.send(b"PING\r\n");
            reply = c.read_up_to(7);
            if reply == b"+PONG\r\n" {
                clients.push(c);
                true
            } else {
                false
            }
        });
        assert!(
            admitted,
            "client {} of maxclients 5 refused: {:?}",
            i + 1,
            text(&reply)
        );
    }

    let mut sixth = Raw::connect(&node);
    sixth.expect(b"-ERR max number of clients reached\r\n");
    let (extra, closed) = sixth.until_closed(Duration::from_secs(3));
    assert!(
        extra.is_empty() && closed,
        "the refused client was not closed cleanly: {:?}",
        text(&extra)
    );

    // The admitted clients are unaffected.
    clients[0].send(&resp(&[b"GET", CANARY.as_bytes()]));
    clients[0].expect(format!("${}\r\n{CANARY_VALUE}\r\n", CANARY_VALUE.len()).as_bytes());
    // A place freed is a place for a new client.
    clients.pop();
    let mut reply = Vec::new();
    let readmitted = eventually(Duration::from_secs(3), || {
        let mut c = Raw::connect(&node);
        c.send(b"PING\r\n");
        reply = c.read_up_to(7);
        reply == b"+PONG\r\n"
    });
    assert!(
        readmitted,
        "no client admitted after one of 5 left: {:?}",
        text(&reply)
    );
    // Once everyone has left, the places are free again.
    drop(clients);
    let ping = |node: &Node| {
        let mut c = Raw::connect(node);
        c.send(b"PING\r\n");
        c.read_up_to(7) == b"+PONG\r\n"
    };
    assert!(eventually(Duration::from_secs(3), || ping(&node)));
    assert_healthy(&mut node);
}

#[test]
fn client_that_never_reads_is_disconnected() {
    const MAX_RSS_MB: u64 = 300;
    let mut node = start(&["--client-output-timeout", "2"]);
    let pid = node.pid();
    let mut other = node.conn();
    let mut raw = Raw::connect(&node);
    let value = vec![b'v'; 1 << 20];
    raw.send(&resp(&[b"SET", b"big", &value]));
    raw.expect(b"+OK\r\n");
    settle(&mut other, 2);

    // Ask for the 1 MiB value over and over and never read a reply, until the writes block
    // because the server has stopped reading (or it closed us, or 10 s passed).
    raw.s
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let gets = resp(&[b"GET", b"big"]).repeat(64);
    let flooding = Instant::now();
    let mut max_rss = 0;
    let mut requested = 0u64;
    while flooding.elapsed() < Duration::from_secs(10) {
        if raw.s.write_all(&gets).is_err() {
            break;
        }
        requested += 64;
        max_rss = max_rss.max(rss_mb(pid));
    }
    let stalled = Instant::now();

    // The well-behaved client keeps being served while the server gives up on the other.
    let mut seen = 2;
    let mut slowest = Duration::ZERO;
    let dropped = eventually(Duration::from_secs(10), || {
        max_rss = max_rss.max(rss_mb(pid));
        let t = Instant::now();
        let pong: String = redis::cmd("PING").query(&mut other).unwrap();
        assert_eq!(pong, "PONG");
        slowest = slowest.max(t.elapsed());
        seen = connected_clients(&mut other);
        seen == 1
    });
    assert!(
        dropped,
        "client that read none of {requested} 1 MiB replies still connected {:?} after its writes stalled (connected_clients {seen})",
        stalled.elapsed()
    );
    assert!(
        slowest < Duration::from_secs(1),
        "PING took {slowest:?} while another client was stalled"
    );
    assert!(
        max_rss < MAX_RSS_MB,
        "server RSS reached {max_rss} MB with a client not reading"
    );
    // The raw socket sees the close once the replies already in its buffers are drained.
    let (_, closed) = raw.until_closed(Duration::from_secs(10));
    assert!(closed, "the stalled connection was not closed");
    assert_healthy(&mut node);
}

#[test]
fn request_split_byte_by_byte() {
    let mut node = start(&[]);
    let mut raw = Raw::connect(&node);
    let trickle = |raw: &mut Raw, bytes: &[u8]| {
        for (i, b) in bytes.iter().enumerate() {
            raw.send(std::slice::from_ref(b));
            if i % 3 == 2 {
                thread::sleep(Duration::from_millis(1));
            }
        }
    };
    trickle(&mut raw, &resp(&[b"SET", b"split", b"value"]));
    raw.expect(b"+OK\r\n");
    trickle(&mut raw, &resp(&[b"GET", b"split"]));
    raw.expect(b"$5\r\nvalue\r\n");
    trickle(&mut raw, b"PING\r\n");
    raw.expect(b"+PONG\r\n");
    let mut c = node.conn();
    let value: Option<String> = redis::cmd("GET").arg("split").query(&mut c).unwrap();
    assert_eq!(value.as_deref(), Some("value"));
    assert_healthy(&mut node);
}

/// A key longer than the storage engine holds gets an error, not a crash or a hang.
#[test]
fn key_longer_than_the_storage_limit() {
    let node = Node::start(&[]);
    let mut con = node.conn();
    let key = "k".repeat(70_000);
    for args in [
        vec!["SET", key.as_str(), "v"],
        vec!["GET", key.as_str()],
        vec!["HSET", "h", key.as_str(), "v"],
    ] {
        let text = common::err(&mut con, &args);
        assert!(
            text.contains("longer than the storage limit of 65535 bytes"),
            "{text}"
        );
    }
    assert_eq!(common::q(&mut con, &["SET", "a", "b"]), common::ok());
    assert_eq!(common::q(&mut con, &["GET", "a"]), common::b("b"));
}
