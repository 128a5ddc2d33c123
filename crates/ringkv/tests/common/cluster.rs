//! Cluster harness: starts N real `ringkv server` processes that form one static cluster
//! (`--node-id`/`--peers`), or one node that others join (`--cluster`, `--join`,
//! `--await-join`), each with
//! its own data directory, on 127.0.0.1 or inside the network namespaces of a [`NetLab`];
//! kills (-9), pauses (SIGSTOP/SIGCONT) and restarts them, and prints their logs when a
//! test fails.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::free_port;
use super::netns::NetLab;

/// One node of a [`TestCluster`].
pub struct ClusterNode {
    /// Node id (1-based).
    pub id: u64,
    /// Host clients connect to.
    pub host: String,
    /// Client port.
    pub port: u16,
    /// Data directory (kept across restarts).
    pub dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    /// How the node forms or joins the cluster (`--node-id … --peers …`, `--cluster`, `--join …`).
    formation: Vec<String>,
    /// Flags of this node in place of the cluster's, after [`TestCluster::restart_with`].
    own_flags: Option<Vec<String>>,
}

impl ClusterNode {
    /// `redis://host:port/`.
    pub fn url(&self) -> String {
        format!("redis://{}:{}/", self.host, self.port)
    }

    /// Whether the process is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

/// A running cluster of real processes.
pub struct TestCluster {
    /// Its nodes, index i holding node id i + 1.
    pub nodes: Vec<ClusterNode>,
    extra: Vec<String>,
    lab: Option<Arc<NetLab>>,
    _tmp: tempfile::TempDir,
}

impl TestCluster {
    /// Starts `n` nodes on 127.0.0.1 with `extra` flags (say `--shards 4`).
    pub fn start(n: usize, extra: &[&str]) -> TestCluster {
        Self::start_on(n, extra, None)
    }

    /// Starts `n` nodes, inside `lab`'s namespaces when given, else on 127.0.0.1.
    pub fn start_on(n: usize, extra: &[&str], lab: Option<Arc<NetLab>>) -> TestCluster {
        let tmp = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        let mut peers = Vec::new();
        for i in 0..n {
            let (host, port, cport) = match &lab {
                Some(lab) => (lab.node_ip(i).to_string(), 6379, 16379),
                None => ("127.0.0.1".to_owned(), free_port(), free_port()),
            };
            peers.push(format!("{}={host}:{port}@{cport}", i + 1));
            nodes.push(ClusterNode {
                id: i as u64 + 1,
                host,
                port,
                dir: tmp.path().join(format!("n{}", i + 1)),
                log: tmp.path().join(format!("n{}.log", i + 1)),
                child: None,
                formation: Vec::new(),
                own_flags: None,
            });
        }
        let peers = peers.join(",");
        for node in &mut nodes {
            node.formation = vec![
                "--node-id".to_owned(),
                node.id.to_string(),
                "--peers".to_owned(),
                peers.clone(),
            ];
        }
        let mut cluster = TestCluster {
            nodes,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            lab,
            _tmp: tmp,
        };
        for i in 0..n {
            cluster.spawn(i);
        }
        for i in 0..n {
            cluster.wait_reachable(i);
        }
        cluster
    }

    /// Starts the first node of a new cluster (`--cluster`) on 127.0.0.1 with `extra` flags;
    /// more join with [`TestCluster::join`].
    pub fn start_first(extra: &[&str]) -> TestCluster {
        let mut cluster = TestCluster {
            nodes: Vec::new(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            lab: None,
            _tmp: tempfile::tempdir().unwrap(),
        };
        cluster.add_node(vec!["--cluster".to_owned()]);
        cluster
    }

    /// Starts one more node that joins the cluster through the first node; its index.
    pub fn join(&mut self) -> usize {
        let first = &self.nodes[0];
        let seed = format!("{}:{}@{}", first.host, first.port, cluster_port(first));
        let i = self.add_node(vec!["--join".to_owned(), seed]);
        let id_file = self.nodes[i].dir.join("node-id");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::fs::read_to_string(&id_file)
            .ok()
            .map(|s| s.trim().to_owned())
            != Some(self.nodes[i].id.to_string())
        {
            assert!(
                Instant::now() < deadline,
                "node {} did not join as node {}:\n{}",
                i + 1,
                i + 1,
                self.log_text(i)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        i
    }

    /// Starts one more node that waits to be added (`--await-join`); its index.
    pub fn await_join(&mut self) -> usize {
        self.add_node(vec!["--await-join".to_owned()])
    }

    fn add_node(&mut self, mut formation: Vec<String>) -> usize {
        let i = self.nodes.len();
        let port = free_port();
        formation.extend(["--cluster-port".to_owned(), free_port().to_string()]);
        self.nodes.push(ClusterNode {
            id: i as u64 + 1,
            host: "127.0.0.1".to_owned(),
            port,
            dir: self._tmp.path().join(format!("n{}", i + 1)),
            log: self._tmp.path().join(format!("n{}.log", i + 1)),
            child: None,
            formation,
            own_flags: None,
        });
        self.spawn(i);
        self.wait_reachable(i);
        i
    }

    fn spawn(&mut self, i: usize) {
        let node = &self.nodes[i];
        let bin = env!("CARGO_BIN_EXE_ringkv");
        let mut cmd = match &self.lab {
            Some(lab) => lab.command(i, bin),
            None => Command::new(bin),
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .unwrap();
        cmd.arg("server")
            .args(["--bind", &node.host, "--port", &node.port.to_string()])
            .args(["--dir", node.dir.to_str().unwrap()])
            .args(&node.formation)
            .args(node.own_flags.as_ref().unwrap_or(&self.extra))
            .env("RINGKV_LOG", node_log_filter())
            .stdout(Stdio::null())
            .stderr(log);
        self.nodes[i].child = Some(cmd.spawn().expect("start ringkv"));
    }

    /// Whether node `i` accepts TCP connections on its client port.
    pub fn reachable(&self, i: usize) -> bool {
        let addr: SocketAddr = format!("{}:{}", self.nodes[i].host, self.nodes[i].port)
            .parse()
            .unwrap();
        let probe = move || TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok();
        match &self.lab {
            Some(lab) => lab.enter_hub(probe),
            None => probe(),
        }
    }

    fn wait_reachable(&mut self, i: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.nodes[i].child.as_mut().unwrap().try_wait().unwrap() {
                panic!("node {} exited with {status}:\n{}", i + 1, self.log_text(i));
            }
            if self.reachable(i) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("node {} did not start:\n{}", i + 1, self.log_text(i));
    }

    /// Node `i`'s log so far.
    pub fn log_text(&self, i: usize) -> String {
        std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
    }

    /// Kills node `i` with SIGKILL.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts node `i` again on its data directory (killing it first if it runs).
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn(i);
        self.wait_reachable(i);
    }

    /// Starts node `i` again and waits for it to exit by itself, as a node refusing to run
    /// does; its exit status.
    pub fn restart_refused(&mut self, i: usize) -> std::process::ExitStatus {
        self.kill(i);
        self.spawn(i);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut child = self.nodes[i].child.take().expect("just started");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("node {} kept running:\n{}", i + 1, self.log_text(i));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts node `i` again with `flags` in place of the cluster's extra flags.
    pub fn restart_with(&mut self, i: usize, flags: &[&str]) {
        self.nodes[i].own_flags = Some(flags.iter().map(|s| s.to_string()).collect());
        self.restart(i);
    }

    /// Freezes node `i` (SIGSTOP): it holds its sockets but answers nothing.
    pub fn pause(&self, i: usize) {
        self.signal(i, Signal::SIGSTOP);
    }

    /// Thaws node `i` (SIGCONT).
    pub fn resume(&self, i: usize) {
        self.signal(i, Signal::SIGCONT);
    }

    fn signal(&self, i: usize, signal: Signal) {
        let child = self.nodes[i].child.as_ref().expect("node is running");
        kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    }

    /// Client URLs of the running nodes.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.is_running())
            .map(ClusterNode::url)
            .collect()
    }

    /// A direct connection to node `i` that has sent `READONLY`, so it reads the node's own
    /// replica (leader or follower).
    pub fn readonly(&self, i: usize) -> redis::Connection {
        let mut con = redis::Client::open(self.nodes[i].url())
            .unwrap()
            .get_connection()
            .unwrap();
        let _: () = redis::cmd("READONLY").query(&mut con).unwrap();
        con
    }

    /// A cluster-aware client over the running nodes.
    pub fn client(&self) -> redis::cluster::ClusterClient {
        redis::cluster::ClusterClientBuilder::new(self.urls())
            .retries(30)
            .min_retry_wait(20)
            .max_retry_wait(400)
            .connection_timeout(Duration::from_secs(2))
            .response_timeout(Duration::from_secs(8))
            .build()
            .unwrap()
    }

    /// The node index leading the shard of `slot`, as running node `from` reports it
    /// (`CLUSTER SLOTS` lists the leader first).
    pub fn leader_of(&self, from: usize, slot: u16) -> Option<usize> {
        let mut con = redis::Client::open(self.nodes[from].url())
            .ok()?
            .get_connection_with_timeout(Duration::from_secs(2))
            .ok()?;
        let slots: Vec<Vec<redis::Value>> =
            redis::cmd("CLUSTER").arg("SLOTS").query(&mut con).ok()?;
        let entry = slots.into_iter().find(|e| {
            let bound = |i: usize| redis::from_redis_value::<u16>(&e[i]).unwrap();
            (bound(0)..=bound(1)).contains(&slot)
        })?;
        let (host, port, _): (String, u16, String) = redis::from_redis_value(&entry[2]).ok()?;
        self.nodes
            .iter()
            .position(|n| n.host == host && n.port == port)
    }

    /// Waits until every shard has a leader that a running node knows (`CLUSTER INFO`).
    pub fn wait_for_leaders(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let ok = self.nodes.iter().filter(|n| n.is_running()).all(|n| {
                redis::Client::open(n.url())
                    .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
                    .and_then(|mut con| redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut con))
                    .is_ok_and(|info| info.contains("cluster_state:ok"))
            });
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("shards did not all elect leaders in {timeout:?}");
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let failed = std::thread::panicking();
        for i in 0..self.nodes.len() {
            if self.nodes[i].is_running() {
                let _ = self.resume_quietly(i);
            }
            self.kill(i);
            if failed {
                eprintln!("---- log of node {} ----\n{}", i + 1, self.log_text(i));
            }
        }
    }
}

impl TestCluster {
    fn resume_quietly(&self, i: usize) -> nix::Result<()> {
        let child = self.nodes[i].child.as_ref().expect("running");
        kill(Pid::from_raw(child.id() as i32), Signal::SIGCONT)
    }
}

/// The cluster port a node of [`TestCluster::start_first`] or [`TestCluster::join`] was given.
fn cluster_port(node: &ClusterNode) -> String {
    let at = node
        .formation
        .iter()
        .position(|f| f == "--cluster-port")
        .expect("dynamic nodes get a cluster port");
    node.formation[at + 1].clone()
}

/// The nodes' log filter: `RINGKV_TEST_LOG` when set (for example `info,openraft=info` to
/// follow elections), otherwise ringkv's own info lines and warnings of the rest.
fn node_log_filter() -> String {
    std::env::var("RINGKV_TEST_LOG")
        .unwrap_or_else(|_| "info,openraft=warn,fjall=warn,lsm_tree=warn".to_owned())
}
