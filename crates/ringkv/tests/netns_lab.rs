//! Tests of the network-namespace lab used by the partition tests: wiring, partitions and
//! healing, processes started inside a node's namespace, and cleanup. Every test needs root and
//! working `ip netns`; without them it prints `skipping: <reason>` and passes.

#[allow(dead_code)]
#[path = "common/netns.rs"]
mod netns;

use netns::NetLab;
use nix::sys::signal::Signal;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a connect may take before the peer counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Creates a lab with `$nodes` nodes, or prints why it cannot and returns from the test.
macro_rules! lab_or_skip {
    ($nodes:expr) => {
        match netns::available() {
            Ok(()) => NetLab::new($nodes).expect("create lab"),
            Err(reason) => {
                println!("skipping: {reason}");
                return;
            }
        }
    };
}

/// A TCP server inside a node's namespace that answers every connection with the peer's IP
/// address, so a client learns both that it got through and where it was seen coming from.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(lab: &NetLab, node: usize) -> Server {
        let ip = lab.node_ip(node);
        let listener = lab
            .enter_node(node, || TcpListener::bind((ip, 0)))
            .expect("bind inside node namespace");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, peer)) => {
                        stream.set_nonblocking(false).unwrap();
                        let _ = writeln!(stream, "{}", peer.ip());
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
        });
        Server {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Where a client connection starts from.
#[derive(Clone, Copy, Debug)]
enum Origin {
    Hub,
    Node(usize),
}

/// Connects from `from` to `server` and returns the address the server saw the client at.
fn reach(lab: &NetLab, from: Origin, server: &Server) -> io::Result<IpAddr> {
    let addr = server.addr;
    let attempt = move || -> io::Result<IpAddr> {
        let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply)?;
        reply
            .trim()
            .parse()
            .map_err(|e| io::Error::new(ErrorKind::InvalidData, format!("{reply:?}: {e}")))
    };
    match from {
        Origin::Hub => lab.enter_hub(attempt),
        Origin::Node(i) => lab.enter_node(i, attempt),
    }
}

/// Asserts that a connection from `from` to `server` gets through and is seen as coming from
/// `seen_as`.
fn assert_reaches(lab: &NetLab, from: Origin, server: &Server, seen_as: IpAddr) {
    match reach(lab, from, server) {
        Ok(peer) => assert_eq!(peer, seen_as, "{from:?} -> {}", server.addr),
        Err(e) => panic!("{from:?} cannot reach {}: {e}", server.addr),
    }
}

/// Asserts that a connection from `from` to `server` times out, as it does when packets are
/// silently dropped.
fn assert_cut(lab: &NetLab, from: Origin, server: &Server) {
    let started = Instant::now();
    match reach(lab, from, server) {
        Ok(peer) => panic!("{from:?} reached {} as {peer}", server.addr),
        Err(e) => assert_eq!(
            e.kind(),
            ErrorKind::TimedOut,
            "{from:?} -> {}: expected a timeout, got {e}",
            server.addr
        ),
    }
    assert!(started.elapsed() >= CONNECT_TIMEOUT);
}

#[test]
fn listener_in_a_node_is_reachable_from_other_nodes_and_the_hub() {
    let lab = lab_or_skip!(2);
    assert_eq!(lab.nodes(), 2);
    assert_ne!(lab.node_ip(0), lab.node_ip(1));
    let server = Server::start(&lab, 0);
    assert_eq!(server.addr.ip(), IpAddr::V4(lab.node_ip(0)));
    assert_reaches(&lab, Origin::Node(1), &server, lab.node_ip(1).into());
    assert_reaches(&lab, Origin::Hub, &server, lab.hub_ip().into());
    assert_reaches(&lab, Origin::Node(0), &server, lab.node_ip(0).into());
}

#[test]
fn partition_cuts_between_groups_only_and_heal_restores() {
    let lab = lab_or_skip!(3);
    let s0 = Server::start(&lab, 0);
    let s2 = Server::start(&lab, 2);
    lab.partition(&[&[0], &[1, 2]]);
    std::thread::scope(|s| {
        s.spawn(|| assert_cut(&lab, Origin::Node(1), &s0));
        s.spawn(|| assert_cut(&lab, Origin::Node(2), &s0));
        s.spawn(|| assert_cut(&lab, Origin::Node(0), &s2));
        assert_reaches(&lab, Origin::Node(1), &s2, lab.node_ip(1).into());
        assert_reaches(&lab, Origin::Hub, &s0, lab.hub_ip().into());
        assert_reaches(&lab, Origin::Hub, &s2, lab.hub_ip().into());
        assert_reaches(&lab, Origin::Node(0), &s0, lab.node_ip(0).into());
    });
    lab.heal();
    assert_reaches(&lab, Origin::Node(1), &s0, lab.node_ip(1).into());
    assert_reaches(&lab, Origin::Node(0), &s2, lab.node_ip(0).into());
    assert_reaches(&lab, Origin::Node(2), &s0, lab.node_ip(2).into());
}

#[test]
fn isolate_cuts_one_node_from_all_others_and_a_new_partition_replaces_it() {
    let lab = lab_or_skip!(3);
    let s0 = Server::start(&lab, 0);
    let s2 = Server::start(&lab, 2);
    lab.isolate(2);
    std::thread::scope(|s| {
        s.spawn(|| assert_cut(&lab, Origin::Node(0), &s2));
        s.spawn(|| assert_cut(&lab, Origin::Node(1), &s2));
        s.spawn(|| assert_cut(&lab, Origin::Node(2), &s0));
        assert_reaches(&lab, Origin::Node(1), &s0, lab.node_ip(1).into());
        assert_reaches(&lab, Origin::Hub, &s2, lab.hub_ip().into());
    });
    lab.partition(&[&[0, 2], &[1]]);
    std::thread::scope(|s| {
        s.spawn(|| assert_cut(&lab, Origin::Node(1), &s0));
        assert_reaches(&lab, Origin::Node(0), &s2, lab.node_ip(0).into());
        assert_reaches(&lab, Origin::Node(2), &s0, lab.node_ip(2).into());
    });
    lab.heal();
    assert_reaches(&lab, Origin::Node(1), &s2, lab.node_ip(1).into());
}

/// Waits until `/proc/<pid>/cmdline` reads `expected`, i.e. the process has exec'd.
fn wait_for_cmdline(pid: u32, expected: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if cmdline == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pid {pid} runs {:?}, not {:?}",
            String::from_utf8_lossy(&cmdline),
            String::from_utf8_lossy(expected)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn command_runs_the_program_itself_inside_the_node_namespace() {
    let lab = lab_or_skip!(2);
    let mut child = lab
        .command(1, "sleep")
        .arg("30")
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn sleep");
    let pid = child.id();
    wait_for_cmdline(pid, b"sleep\x0030\x00");
    let ns = std::fs::read_link(format!("/proc/{pid}/ns/net"));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(Signal::SIGKILL as i32));
    let ns = ns.unwrap();
    let own = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_ne!(ns, own, "sleep ran in the test's own namespace");
    let node_ns = std::fs::metadata(format!("/var/run/netns/{}", lab.netns_name(1))).unwrap();
    assert_eq!(ns.to_str().unwrap(), format!("net:[{}]", node_ns.ino()));
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());

    let out = lab
        .command(0, "ip")
        .args(["-brief", "-4", "addr", "show"])
        .output()
        .expect("run ip in node 0");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("127.0.0.1/8"), "{text}");
    assert!(text.contains(&format!("{}/24", lab.node_ip(0))), "{text}");
    assert!(!text.contains(&lab.node_ip(1).to_string()), "{text}");
}

/// Names listed by `ip netns list`.
fn listed_namespaces() -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn dropping_the_lab_deletes_its_namespaces() {
    let lab = lab_or_skip!(2);
    let names = [lab.hub_netns(), lab.netns_name(0), lab.netns_name(1)];
    let before = listed_namespaces();
    for name in &names {
        assert!(before.contains(name), "{name} missing from {before:?}");
    }
    drop(lab);
    let after = listed_namespaces();
    for name in &names {
        assert!(!after.contains(name), "{name} still listed after drop");
    }
}

#[test]
fn cleanup_stale_deletes_namespaces_of_dead_processes_only() {
    let live = lab_or_skip!(1);
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let stale = format!("rk{dead_pid}x0n0");
    let status = Command::new("ip")
        .args(["netns", "add", &stale])
        .status()
        .unwrap();
    assert!(status.success());
    NetLab::cleanup_stale();
    let listed = listed_namespaces();
    assert!(!listed.contains(&stale), "{stale} survived cleanup");
    assert!(listed.contains(&live.hub_netns()));
    assert!(listed.contains(&live.netns_name(0)));
}
