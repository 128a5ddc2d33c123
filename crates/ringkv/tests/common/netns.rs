//! Test support: a private IPv4 network built from Linux network namespaces, for multi-process
//! fault tests that need to partition a cluster for real.
//!
//! Topology of a lab with `n` nodes (`R` is a per-lab second octet):
//!
//! ```text
//!        namespace rk<pid>x<k>hub
//!   +-------------------------------------+
//!   |  br0 (bridge) 10.R.0.254/24         |
//!   |    |          |           |         |
//!   |   n0         n1   ...   n<n-1>      |   hub ends of the veth pairs, bridge ports
//!   +----|----------|-----------|---------+
//!        |          |           |
//!      eth0       eth0        eth0          node ends, one per node namespace
//!   10.R.0.1/24 10.R.0.2/24  10.R.0.n/24
//!   rk<pid>x<k>n0 ...        rk<pid>x<k>n<n-1>
//! ```
//!
//! Every interface and address lives inside a namespace created by the lab; nothing is ever
//! created in, or moved through, the namespace the test process runs in. `lo` is up in every
//! namespace. Code running in the hub namespace (see [`NetLab::enter_hub`]) reaches every node
//! through the bridge address, which is how a test client keeps talking to all nodes while they
//! are partitioned from each other.
//!
//! Partitions ([`NetLab::partition`]) are made with static neighbour (ARP) entries inside the
//! node namespaces: node `a` is told that node `b`'s address lives at a MAC address nobody owns,
//! and vice versa. The bridge floods such frames and every receiver discards them, so packets
//! between the two nodes silently vanish, like with a DROP firewall rule or a pulled cable:
//! connects time out, established connections stall and retransmit, and nothing answers with an
//! error. Traffic within a group and between any node and the hub is untouched. Only `ip`
//! (iproute2) is needed: no iptables, nft or ebtables, and no tc actions.
//!
//! Dropping a [`NetLab`] deletes its namespaces, which also destroys the veth pairs and the
//! bridge. Processes started with [`NetLab::command`] are the caller's to kill.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use nix::sched::{setns, CloneFlags};

/// Directory where `ip netns` keeps its namespace files.
const NETNS_DIR: &str = "/var/run/netns";

/// Prefix of every namespace name created by this module.
const PREFIX: &str = "rk";

/// A locally administered unicast MAC address that no interface in a lab has. Neighbour entries
/// pointing at it make the kernel send frames that nobody accepts.
const BLACKHOLE_MAC: &str = "02:72:6b:00:00:00";

/// Name of the node end of each veth pair, inside the node's namespace.
const NODE_IF: &str = "eth0";

/// Name of the bridge inside the hub namespace.
const BRIDGE: &str = "br0";

/// Host part of the bridge address.
const HUB_HOST: u8 = 254;

/// Distinguishes labs created by the same process.
static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A set of network namespaces wired together through a bridge; see the module documentation.
pub struct NetLab {
    prefix: String,
    octet: u8,
    nodes: usize,
    /// Every namespace created so far, deleted on drop.
    created: Vec<String>,
    /// Node pairs `(a, b)`, `a < b`, currently cut off from each other.
    cuts: Mutex<Vec<(usize, usize)>>,
}

/// Checks whether labs can be created here: Ok when running as root and a namespace can be
/// created and deleted with `ip netns`; otherwise the reason, meant for a
/// `skipping: <reason>` message. The probe runs once per process.
pub fn available() -> Result<(), String> {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT.get_or_init(probe).clone()
}

/// The uncached check behind [`available`].
fn probe() -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .ok_or("no Uid line in /proc/self/status")?;
    if euid != "0" {
        return Err(format!(
            "network namespace tests need root (effective uid is {euid})"
        ));
    }
    let name = format!(
        "{PREFIX}{}x{}probe",
        std::process::id(),
        LAB_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    ip(&["netns", "add", &name]).map_err(|e| format!("`ip netns` does not work here: {e}"))?;
    ip(&["netns", "del", &name]).map_err(|e| format!("`ip netns del` failed: {e}"))
}

/// Runs `ip` with `args`, turning a failure into an error that quotes the command line and
/// `ip`'s stderr.
fn ip(args: &[&str]) -> io::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run `ip`: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "`ip {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Returns the pid embedded in a namespace name made by this module (`rk<pid>x<k><suffix>`,
/// suffix `hub`, `probe` or `n<i>`), or None if `name` does not have that shape.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, rest) = rest.split_once('x')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let suffix = &rest[digits..];
    let suffix_ok = suffix == "hub"
        || suffix == "probe"
        || suffix
            .strip_prefix('n')
            .is_some_and(|i| !i.is_empty() && i.bytes().all(|c| c.is_ascii_digit()));
    if digits == 0 || !suffix_ok || !pid.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

impl NetLab {
    /// Creates a lab with `nodes` node namespaces plus the hub namespace, wires them up and
    /// brings every interface up. Stale namespaces of dead processes are removed first (see
    /// [`NetLab::cleanup_stale`]). On error, whatever was created is deleted again.
    pub fn new(nodes: usize) -> io::Result<NetLab> {
        if nodes == 0 || nodes >= usize::from(HUB_HOST) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a lab has 1 to {} nodes, not {nodes}", HUB_HOST - 1),
            ));
        }
        NetLab::cleanup_stale();
        let pid = std::process::id();
        let k = LAB_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut lab = NetLab {
            prefix: format!("{PREFIX}{pid}x{k}"),
            octet: 1 + (pid.wrapping_mul(37).wrapping_add(k.wrapping_mul(101)) % 254) as u8,
            nodes,
            created: Vec::new(),
            cuts: Mutex::new(Vec::new()),
        };
        let hub = lab.hub_netns();
        lab.add_netns(&hub)?;
        ip(&["-n", &hub, "link", "add", BRIDGE, "type", "bridge"])?;
        ip(&["-n", &hub, "link", "set", BRIDGE, "up"])?;
        let hub_addr = format!("{}/24", lab.hub_ip());
        ip(&["-n", &hub, "addr", "add", &hub_addr, "dev", BRIDGE])?;
        for i in 0..nodes {
            let node = lab.netns_name(i);
            lab.add_netns(&node)?;
            let port = format!("n{i}");
            ip(&[
                "-n", &hub, "link", "add", &port, "type", "veth", "peer", "name", NODE_IF, "netns",
                &node,
            ])?;
            ip(&["-n", &hub, "link", "set", &port, "master", BRIDGE, "up"])?;
            let addr = format!("{}/24", lab.node_ip(i));
            ip(&["-n", &node, "addr", "add", &addr, "dev", NODE_IF])?;
            ip(&["-n", &node, "link", "set", NODE_IF, "up"])?;
        }
        Ok(lab)
    }

    /// Creates namespace `name`, records it for deletion on drop and brings its `lo` up.
    fn add_netns(&mut self, name: &str) -> io::Result<()> {
        ip(&["netns", "add", name])?;
        self.created.push(name.to_string());
        ip(&["-n", name, "link", "set", "lo", "up"])
    }

    /// Deletes namespaces left behind by processes that no longer run: those whose name has
    /// this module's shape (`rk<pid>x...`) and whose pid is gone or a zombie. Errors are
    /// ignored. Called by [`NetLab::new`].
    pub fn cleanup_stale() {
        let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            if let Some(pid) = owner_pid(name) {
                if !running(pid) {
                    let _ = ip(&["netns", "del", name]);
                }
            }
        }
    }

    /// Number of node namespaces.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// Address of node `i` (`10.R.0.(i+1)`).
    ///
    /// # Panics
    /// If `i` is not a node of this lab.
    pub fn node_ip(&self, i: usize) -> Ipv4Addr {
        self.check_node(i);
        let host = u8::try_from(i + 1).expect("new keeps node hosts below 254");
        Ipv4Addr::new(10, self.octet, 0, host)
    }

    /// Address of the bridge in the hub namespace (`10.R.0.254`); connections made from
    /// [`NetLab::enter_hub`] come from it.
    pub fn hub_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, self.octet, 0, HUB_HOST)
    }

    /// Name of node `i`'s namespace, usable with `ip -n`, `ip netns exec` and under
    /// `/var/run/netns`.
    ///
    /// # Panics
    /// If `i` is not a node of this lab.
    pub fn netns_name(&self, i: usize) -> String {
        self.check_node(i);
        format!("{}n{i}", self.prefix)
    }

    /// Name of the hub namespace.
    pub fn hub_netns(&self) -> String {
        format!("{}hub", self.prefix)
    }

    fn check_node(&self, i: usize) {
        assert!(
            i < self.nodes,
            "node {i} out of range: the lab has {} nodes",
            self.nodes
        );
    }

    /// A command that runs `program` inside node `i`'s namespace (`ip netns exec <ns>
    /// <program>`); add arguments, stdio and spawn it as usual. `ip netns exec` execs
    /// `program` in place, so the spawned child's pid is the program's own and killing the
    /// child kills the program.
    ///
    /// # Panics
    /// If `i` is not a node of this lab.
    pub fn command(&self, i: usize, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec"])
            .arg(self.netns_name(i))
            .arg(program);
        cmd
    }

    /// Runs `f` on a new thread that has joined the hub namespace, and returns its result.
    /// Sockets created inside `f` (for example by a tokio current-thread runtime built inside
    /// `f`) live in the hub namespace and reach every node at [`NetLab::node_ip`], whatever
    /// the partition. Sockets keep their namespace when they are moved to other threads;
    /// threads spawned by `f` start in the hub namespace too.
    ///
    /// # Panics
    /// If the namespace cannot be joined, or if `f` panics (the panic is propagated).
    pub fn enter_hub<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        enter(&self.hub_netns(), f)
    }

    /// Like [`NetLab::enter_hub`], but for node `i`'s namespace: sockets created inside `f`
    /// see the network exactly as a process started with [`NetLab::command`] does.
    ///
    /// # Panics
    /// If `i` is not a node of this lab, if the namespace cannot be joined, or if `f` panics.
    pub fn enter_node<T: Send>(&self, i: usize, f: impl FnOnce() -> T + Send) -> T {
        enter(&self.netns_name(i), f)
    }

    /// Cuts all traffic between nodes of different `groups`, silently dropping packets in
    /// both directions. Traffic within a group, and between any node and the hub, keeps
    /// working. Replaces any partition in force; nodes listed in no group keep talking to
    /// everybody.
    ///
    /// # Panics
    /// If a group names a node that does not exist or a node appears twice, or if `ip` fails.
    pub fn partition(&self, groups: &[&[usize]]) {
        let mut group_of = vec![None; self.nodes];
        for (g, members) in groups.iter().enumerate() {
            for &i in *members {
                self.check_node(i);
                assert!(group_of[i].is_none(), "node {i} is in two groups");
                group_of[i] = Some(g);
            }
        }
        let mut cuts = self.cuts.lock().unwrap();
        self.restore_all(&mut cuts);
        for a in 0..self.nodes {
            for b in a + 1..self.nodes {
                if let (Some(ga), Some(gb)) = (group_of[a], group_of[b]) {
                    if ga != gb {
                        cuts.push((a, b));
                        self.blackhole(a, b);
                        self.blackhole(b, a);
                    }
                }
            }
        }
    }

    /// Cuts node `i` off from every other node; it still talks to the hub. Replaces any
    /// partition in force.
    ///
    /// # Panics
    /// If `i` is not a node of this lab, or if `ip` fails.
    pub fn isolate(&self, i: usize) {
        self.check_node(i);
        let rest: Vec<usize> = (0..self.nodes).filter(|&j| j != i).collect();
        self.partition(&[&[i], &rest]);
    }

    /// Removes every cut made by [`NetLab::partition`] or [`NetLab::isolate`]; the next packet
    /// between two formerly separated nodes resolves the real address again with ARP.
    ///
    /// # Panics
    /// If `ip` fails.
    pub fn heal(&self) {
        self.restore_all(&mut self.cuts.lock().unwrap());
    }

    /// Removes the cuts listed in `cuts` and empties it.
    fn restore_all(&self, cuts: &mut Vec<(usize, usize)>) {
        for (a, b) in cuts.drain(..) {
            self.restore(a, b);
            self.restore(b, a);
        }
    }

    /// Makes node `from` send everything addressed to node `to` into the void.
    fn blackhole(&self, from: usize, to: usize) {
        let ns = self.netns_name(from);
        let to = self.node_ip(to).to_string();
        let args = [
            "-n",
            &ns,
            "neigh",
            "replace",
            &to,
            "lladdr",
            BLACKHOLE_MAC,
            "dev",
            NODE_IF,
            "nud",
            "permanent",
        ];
        ip(&args).unwrap_or_else(|e| panic!("cannot cut node {from} off: {e}"));
    }

    /// Undoes [`NetLab::blackhole`].
    fn restore(&self, from: usize, to: usize) {
        let ns = self.netns_name(from);
        let to = self.node_ip(to).to_string();
        ip(&["-n", &ns, "neigh", "del", &to, "dev", NODE_IF])
            .unwrap_or_else(|e| panic!("cannot reconnect node {from}: {e}"));
    }
}

/// Whether process `pid` exists and has not exited (a zombie has exited).
fn running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses and may contain any byte.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    state != Some("Z")
}

/// Runs `f` on a new thread that first joins the network namespace `name`.
fn enter<T: Send>(name: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = Path::new(NETNS_DIR).join(name);
    let ns = File::open(&path)
        .unwrap_or_else(|e| panic!("cannot open namespace {}: {e}", path.display()));
    std::thread::scope(|s| {
        let thread = s.spawn(move || {
            setns(&ns, CloneFlags::CLONE_NEWNET)
                .unwrap_or_else(|e| panic!("cannot join namespace {}: {e}", path.display()));
            drop(ns);
            f()
        });
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

impl Drop for NetLab {
    /// Deletes every namespace the lab created, which also destroys its veth pairs and bridge.
    /// Errors are ignored; processes started in the namespaces are not killed.
    fn drop(&mut self) {
        for name in self.created.iter().rev() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}
