//! Command-line interface: `ringkv server` and its settings, taken from flags, `RINGKV_*`
//! environment variables and an optional TOML file, in that order of precedence; the
//! `ringkv cluster …` admin commands (in `cluster`); and `ringkv demo` (in `demo`).

mod cluster;
mod cluster_admin;
mod demo;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use ringkv_server::{
    parse_addr, parse_memory, parse_peers, ClusterConfig, EngineKind, EvictionPolicy, Formation,
    FsyncPolicy, Server, ServerConfig, CLUSTER_PORT_OFFSET,
};
use serde::Deserialize;

/// ringkv: a distributed, persistent key-value store that speaks the Redis protocol.
#[derive(Parser, Debug)]
#[command(name = "ringkv", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant, reason = "parsed once at startup")]
enum Command {
    /// Run a node: serves Redis clients with its data stored durably in --dir.
    Server(ServerArgs),
    /// Cluster administration: status, nodes, shards, placement planning.
    Cluster(cluster::ClusterArgs),
    /// Start a local N-node cluster on consecutive ports in one command; Ctrl-C stops it.
    Demo(demo::DemoArgs),
}

/// Settings of `ringkv server`. Each flag can also come from the environment variable named
/// in its help, or from the TOML file given with --config (keys as the flag names).
#[derive(Args, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ServerArgs {
    /// TOML file with settings; flags and environment variables override it.
    #[arg(long, env = "RINGKV_CONFIG")]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1].
    #[arg(long, env = "RINGKV_BIND")]
    bind: Option<String>,
    /// TCP port for clients; 0 picks a free port [default: 6379].
    #[arg(long, env = "RINGKV_PORT")]
    port: Option<u16>,
    /// Data directory, created if missing [default: ./ringkv-data].
    #[arg(long, env = "RINGKV_DIR")]
    dir: Option<PathBuf>,
    /// Storage engine: fjall (durable, on disk) or memory (nothing persisted; a cache) [default: fjall].
    #[arg(long, env = "RINGKV_ENGINE")]
    engine: Option<EngineKind>,
    /// always: acknowledge writes only once fsynced (group commit); everysec: fsync once a
    /// second, an OS crash may lose the last second; never: leave it to the OS [default: always].
    #[arg(long, env = "RINGKV_FSYNC")]
    fsync: Option<FsyncPolicy>,
    /// Most simultaneous client connections; more are refused with an error [default: 10000].
    #[arg(long, env = "RINGKV_MAXCLIENTS")]
    maxclients: Option<usize>,
    /// Password clients must send with AUTH (or HELLO … AUTH) before other commands [default: none].
    #[arg(long, env = "RINGKV_REQUIREPASS")]
    requirepass: Option<String>,
    /// Memory limit of the memory engine, e.g. 100mb or 2gb; 0 means no limit [default: 0].
    #[arg(long, env = "RINGKV_MAXMEMORY", value_parser = parse_memory)]
    #[serde(default, deserialize_with = "memory_size")]
    maxmemory: Option<u64>,
    /// At maxmemory: noeviction (refuse writes with OOM), allkeys-lru (evict least recently
    /// used keys), volatile-ttl (evict keys nearest to expiry) [default: noeviction].
    #[arg(long, env = "RINGKV_MAXMEMORY_POLICY")]
    maxmemory_policy: Option<EvictionPolicy>,
    /// Seconds a client may leave its replies unread before it is disconnected [default: 60].
    #[arg(long, env = "RINGKV_CLIENT_OUTPUT_TIMEOUT")]
    client_output_timeout: Option<u64>,
    /// Threads serving clients. A single node applies its writes one at a time whatever
    /// this says, as redis-server does; more threads serve reads in parallel, where cores
    /// are not shared with the clients [default: 1 for a single node, one per core for a
    /// cluster node].
    #[arg(long, env = "RINGKV_THREADS")]
    threads: Option<usize>,
    /// Run as a cluster node: with no --peers or --join, the first node of a new cluster (or
    /// a member restarting with its --dir) [default: single node, no cluster].
    #[arg(long, env = "RINGKV_CLUSTER")]
    #[serde(default)]
    cluster: bool,
    /// Join the cluster of the node at host:port[@cluster-port] (implies --cluster).
    #[arg(long, env = "RINGKV_JOIN", conflicts_with = "peers")]
    join: Option<String>,
    /// Wait to be added to a cluster by `ringkv cluster add` (CLUSTER MEET) instead of
    /// forming or joining one; a member restarting with its --dir rejoins at once (implies
    /// --cluster).
    #[arg(long, env = "RINGKV_AWAIT_JOIN", conflicts_with_all = ["peers", "join"])]
    #[serde(default)]
    await_join: bool,
    /// This node's id in a static cluster (with --peers).
    #[arg(long, env = "RINGKV_NODE_ID", requires = "peers")]
    node_id: Option<u64>,
    /// Every node of a static cluster, this one included: id=host:port[@cluster-port],...
    /// The cluster port defaults to the client port + 10000 (implies --cluster).
    #[arg(long, env = "RINGKV_PEERS", requires = "node_id")]
    peers: Option<String>,
    /// This node's cluster port (Raft traffic) [default: client port + 10000].
    #[arg(long, env = "RINGKV_CLUSTER_PORT")]
    cluster_port: Option<u16>,
    /// This node's relative capacity: a node of weight 2 holds twice the replicas [default: 1].
    #[arg(long, env = "RINGKV_WEIGHT")]
    weight: Option<u32>,
    /// This node's failure domain (rack, zone); replicas of a shard go to distinct zones [default: none].
    #[arg(long, env = "RINGKV_ZONE")]
    zone: Option<String>,
    /// Seconds a node may be unreachable before its replicas are re-created on other nodes [default: 60].
    #[arg(long, env = "RINGKV_DEAD_AFTER")]
    dead_after: Option<u64>,
    /// Number of shards of the cluster, each a Raft group [default: 64].
    #[arg(long, env = "RINGKV_SHARDS")]
    shards: Option<u32>,
    /// Replicas of each shard, capped by the number of nodes [default: 3].
    #[arg(long, env = "RINGKV_REPLICAS")]
    replicas: Option<usize>,
    /// Secret every node of the cluster must know to talk to the others [default: none].
    #[arg(long, env = "RINGKV_CLUSTER_SECRET")]
    cluster_secret: Option<String>,
    /// Milliseconds between a shard leader's heartbeats [default: 100].
    #[arg(long, env = "RINGKV_RAFT_HEARTBEAT_MS")]
    raft_heartbeat_ms: Option<u64>,
    /// Milliseconds without a leader before a replica starts an election; a random time
    /// between this and twice this is used [default: 300].
    #[arg(long, env = "RINGKV_RAFT_ELECTION_MS")]
    raft_election_ms: Option<u64>,
    /// Log entries after which a shard snapshots its data and drops older entries [default: 10000].
    #[arg(long, env = "RINGKV_RAFT_SNAPSHOT_LOGS")]
    raft_snapshot_logs: Option<u64>,
}

/// Reads a memory size written as a number of bytes or as a string like "100mb".
fn memory_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Option::<Size>::deserialize(d)? {
        None => Ok(None),
        Some(Size::Bytes(n)) => Ok(Some(n)),
        Some(Size::Text(t)) => parse_memory(&t).map(Some).map_err(serde::de::Error::custom),
    }
}

impl ServerArgs {
    /// Fills settings missing here from `file`.
    fn or(self, file: ServerArgs) -> ServerArgs {
        ServerArgs {
            config: self.config,
            bind: self.bind.or(file.bind),
            port: self.port.or(file.port),
            dir: self.dir.or(file.dir),
            engine: self.engine.or(file.engine),
            fsync: self.fsync.or(file.fsync),
            maxclients: self.maxclients.or(file.maxclients),
            requirepass: self.requirepass.or(file.requirepass),
            maxmemory: self.maxmemory.or(file.maxmemory),
            maxmemory_policy: self.maxmemory_policy.or(file.maxmemory_policy),
            client_output_timeout: self.client_output_timeout.or(file.client_output_timeout),
            threads: self.threads.or(file.threads),
            cluster: self.cluster || file.cluster,
            join: self.join.or(file.join),
            await_join: self.await_join || file.await_join,
            node_id: self.node_id.or(file.node_id),
            peers: self.peers.or(file.peers),
            cluster_port: self.cluster_port.or(file.cluster_port),
            weight: self.weight.or(file.weight),
            zone: self.zone.or(file.zone),
            dead_after: self.dead_after.or(file.dead_after),
            shards: self.shards.or(file.shards),
            replicas: self.replicas.or(file.replicas),
            cluster_secret: self.cluster_secret.or(file.cluster_secret),
            raft_heartbeat_ms: self.raft_heartbeat_ms.or(file.raft_heartbeat_ms),
            raft_election_ms: self.raft_election_ms.or(file.raft_election_ms),
            raft_snapshot_logs: self.raft_snapshot_logs.or(file.raft_snapshot_logs),
        }
    }

    /// The cluster settings, when this node is to be part of a cluster.
    fn cluster(&self, bind: &str, port: u16) -> anyhow::Result<Option<ClusterConfig>> {
        let formation = match (self.node_id, &self.peers, &self.join) {
            (Some(node_id), Some(peers), None) => Formation::Static {
                node_id,
                peers: parse_peers(peers).map_err(anyhow::Error::msg)?,
            },
            (None, None, Some(seed)) => {
                let (host, _, cluster_port) = parse_addr(seed).map_err(anyhow::Error::msg)?;
                Formation::Join(format!("{host}:{cluster_port}"))
            }
            (None, None, None) if self.await_join => Formation::AwaitJoin,
            (None, None, None) if self.cluster => Formation::Alone,
            (None, None, None) => return Ok(None),
            _ => anyhow::bail!("use one of --node-id with --peers, --join or --await-join"),
        };
        let (host, port, cluster_port) = match &formation {
            Formation::Static { node_id, peers } => {
                let me = peers
                    .iter()
                    .find(|p| p.id == *node_id)
                    .with_context(|| format!("--node-id {node_id} is not in --peers"))?;
                (me.host.clone(), me.port, me.cluster_port)
            }
            _ => {
                let cluster_port = match self.cluster_port {
                    Some(p) => p,
                    None => port.checked_add(CLUSTER_PORT_OFFSET).context(
                        "--port is too high for the default cluster port; give --cluster-port",
                    )?,
                };
                (bind.to_owned(), port, cluster_port)
            }
        };
        Ok(Some(ClusterConfig {
            formation,
            host,
            port,
            cluster_port,
            weight: self.weight.unwrap_or(1),
            zone: self.zone.clone().unwrap_or_default(),
            dead_after: Duration::from_secs(self.dead_after.unwrap_or(60)),
            shards: self.shards.unwrap_or(64),
            replicas: self.replicas.unwrap_or(3),
            secret: self.cluster_secret.clone(),
            heartbeat: Duration::from_millis(self.raft_heartbeat_ms.unwrap_or(100)),
            election_timeout: Duration::from_millis(self.raft_election_ms.unwrap_or(300)),
            snapshot_after: self.raft_snapshot_logs.unwrap_or(10_000),
        }))
    }

    fn into_config(self) -> anyhow::Result<ServerConfig> {
        let args = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                let file: ServerArgs = toml::from_str(&text)
                    .with_context(|| format!("invalid config file {}", path.display()))?;
                self.or(file)
            }
            None => self,
        };
        let d = ServerConfig::default();
        let bind = args.bind.clone().unwrap_or(d.bind);
        let port = args.port.unwrap_or(d.port);
        let cluster = args.cluster(&bind, port)?;
        anyhow::ensure!(args.threads != Some(0), "--threads must be at least 1");
        Ok(ServerConfig {
            cluster,
            bind,
            port,
            dir: args.dir.unwrap_or(d.dir),
            engine: args.engine.unwrap_or(d.engine),
            fsync: args.fsync.unwrap_or(d.fsync),
            maxclients: args.maxclients.unwrap_or(d.maxclients),
            requirepass: args.requirepass.or(d.requirepass),
            maxmemory: args.maxmemory.unwrap_or(d.maxmemory),
            maxmemory_policy: args.maxmemory_policy.unwrap_or(d.maxmemory_policy),
            client_output_timeout: args
                .client_output_timeout
                .unwrap_or(d.client_output_timeout),
            threads: args.threads,
        })
    }
}

impl Cli {
    /// Runs the chosen subcommand to completion.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Server(args) => run_server(args.into_config()?),
            Command::Cluster(command) => command.run(),
            Command::Demo(args) => demo::run(args),
        }
    }
}

fn run_server(config: ServerConfig) -> anyhow::Result<()> {
    if let Err(e) = rlimit::increase_nofile_limit(config.maxclients as u64 + 128) {
        tracing::warn!(error = %e, "could not raise the open file limit");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(config.threads())
        .thread_name("ringkv-worker")
        .build()?;
    let served = runtime.block_on(async {
        let (engine, fsync, dir) = (config.engine, config.fsync, config.dir.clone());
        let server = Server::bind(config).await?;
        tracing::info!(addr = %server.local_addr(), %engine, %fsync, dir = %dir.display(), "ringkv ready to accept connections");
        server.run().await?;
        Ok(())
    });
    runtime.shutdown_background();
    if served.is_ok() {
        tracing::info!("ringkv is now ready to exit, bye bye");
    }
    served
}
