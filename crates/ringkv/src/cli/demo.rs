//! `ringkv demo`: a local N-node cluster in one command, for trying ringkv out. Starts one
//! `ringkv server` process per node on consecutive ports, says how to connect, and stops
//! them all on Ctrl-C.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;

/// Settings of `ringkv demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Number of nodes (1 to 9).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=9))]
    nodes: u16,
    /// Client port of the first node; node i listens on port + i, its cluster port + 10000.
    #[arg(long, default_value_t = 7001)]
    port: u16,
    /// Directory holding one data directory per node (kept, so a second run finds the data).
    #[arg(long, default_value = "./ringkv-demo")]
    dir: PathBuf,
    /// Number of shards.
    #[arg(long, default_value_t = 16)]
    shards: u32,
}

/// The node processes; dropping this stops them.
struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
        }
        for child in &mut self.0 {
            let _ = child.wait();
        }
    }
}

/// Runs the demo until Ctrl-C.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let last = u32::from(args.port) + u32::from(args.nodes) - 1 + 10000;
    if last > u32::from(u16::MAX) {
        bail!(
            "--port {} leaves no room for {} nodes and their cluster ports",
            args.port,
            args.nodes
        );
    }
    let ports: Vec<u16> = (0..args.nodes).map(|i| args.port + i).collect();
    for port in &ports {
        if TcpStream::connect(("127.0.0.1", *port)).is_ok() {
            bail!("port {port} is already in use; choose another first port with --port");
        }
    }
    let peers = ports
        .iter()
        .enumerate()
        .map(|(i, port)| format!("{}=127.0.0.1:{port}", i + 1))
        .collect::<Vec<_>>()
        .join(",");
    let exe = std::env::current_exe().context("cannot find the ringkv executable")?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let mut nodes = Nodes(Vec::new());
    for (i, port) in ports.iter().enumerate() {
        let dir = args.dir.join(format!("node{}", i + 1));
        let log = std::fs::File::create(args.dir.join(format!("node{}.log", i + 1)))?;
        let child = Command::new(&exe)
            .arg("server")
            .args(["--port", &port.to_string(), "--dir"])
            .arg(&dir)
            .args(["--node-id", &(i + 1).to_string(), "--peers", &peers])
            .args(["--shards", &args.shards.to_string()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("cannot start a node")?;
        nodes.0.push(child);
    }
    wait_until_ready(&mut nodes, &ports)?;
    println!(
        "ringkv demo: {} nodes, {} shards, data in {}",
        args.nodes,
        args.shards,
        args.dir.display()
    );
    for (i, port) in ports.iter().enumerate() {
        println!(
            "  node {}: 127.0.0.1:{port} (log {}/node{}.log)",
            i + 1,
            args.dir.display(),
            i + 1
        );
    }
    println!("connect with:  redis-cli -c -p {}", args.port);
    println!("Ctrl-C stops every node.");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = watch_children(&mut nodes) => {}
        }
    });
    println!("ringkv demo: stopping");
    Ok(())
}

/// Waits until every node listens and the cluster has a leader for every shard.
fn wait_until_ready(nodes: &mut Nodes, ports: &[u16]) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    for (i, port) in ports.iter().enumerate() {
        while TcpStream::connect(("127.0.0.1", *port)).is_err() {
            if let Some(status) = nodes.0[i].try_wait()? {
                bail!("node {} exited with {status}; see its log", i + 1);
            }
            if Instant::now() > deadline {
                bail!("node {} did not start listening on {port}", i + 1);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    while !cluster_ready(ports[0]) {
        if Instant::now() > deadline {
            bail!("the cluster did not get a leader for every shard in time");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Whether the node on `port` reports every shard with a leader (`cluster_state:ok`).
fn cluster_ready(port: u16) -> bool {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
        .and_then(|mut con| redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut con))
        .is_ok_and(|info| info.contains("cluster_state:ok"))
}

/// Returns when any node exits on its own.
async fn watch_children(nodes: &mut Nodes) {
    loop {
        for (i, child) in nodes.0.iter_mut().enumerate() {
            if let Ok(Some(status)) = child.try_wait() {
                eprintln!("ringkv demo: node {} exited with {status}", i + 1);
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
