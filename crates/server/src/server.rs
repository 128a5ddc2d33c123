//! Opening the store and listening: everything that happens once per process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use rand::Rng;
use ringkv_shard::{Reader, StateMachine};
use ringkv_storage::{Engine, FjallEngine, FjallOptions, MemoryEngine};
use tokio::net::{TcpListener, TcpSocket};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Notify;

use crate::clients::ClientRegistry;
use crate::cluster::{await_meet, has_identity, refuse_removed, Cluster, Formation};
use crate::config::{EngineKind, ServerConfig};
use crate::local_log::LocalLog;
use crate::replication::Replication;
use crate::stats::Stats;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// Address asked for.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The data directory could not be created or opened.
    #[error("cannot use data directory {}: {reason}", dir.display())]
    DataDir {
        /// Directory asked for.
        dir: PathBuf,
        /// Cause.
        reason: String,
    },
    /// The settings contradict each other.
    #[error("invalid settings: {0}")]
    Config(String),
    /// The cluster side of the node could not start.
    #[error("cannot start cluster: {0}")]
    Cluster(String),
    /// Starting a thread failed.
    #[error("cannot start: {0}")]
    Io(#[from] std::io::Error),
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub config: Arc<RwLock<ServerConfig>>,
    pub log: Replication,
    pub reader: Reader,
    pub clients: ClientRegistry,
    pub stats: Stats,
    pub started: Instant,
    pub run_id: String,
    pub local_addr: SocketAddr,
    /// The store under the log, kept to make it durable at shutdown.
    pub engine: Arc<dyn Engine>,
    /// Notified once `SHUTDOWN` made everything durable: the server is to end.
    pub shutdown: Notify,
    /// Set once a shutdown made every applied write durable; held while one does, so that
    /// a second one at the same time (`SHUTDOWN` and a signal) waits and finds it done.
    pub persisted: Mutex<bool>,
}

impl Shared {
    /// Stops applying writes and makes every applied one durable, so that the process can
    /// end without losing an acknowledged write whatever the fsync policy, as Redis fsyncs
    /// its AOF before it exits. On failure (the engine's error) writes resume.
    pub(crate) fn persist_for_shutdown(&self) -> Result<(), String> {
        let mut persisted = self.persisted.lock();
        if *persisted {
            return Ok(());
        }
        let sync = || self.engine.sync();
        match &self.log {
            Replication::Local(log) => log.close(sync),
            Replication::Cluster(_) => sync(),
        }
        .map_err(|e| e.to_string())?;
        *persisted = true;
        Ok(())
    }
}

/// A bound, ready-to-run server.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Server {
    /// Opens the data directory and binds the listening socket. A node started with
    /// `--await-join` serves only `CLUSTER MEET` on it until it is added to a cluster.
    pub async fn bind(mut config: ServerConfig) -> Result<Server, ServerError> {
        if let Some(cluster) = &config.cluster {
            cluster.validate().map_err(ServerError::Config)?;
            if config.engine == EngineKind::Memory {
                return Err(ServerError::Config(
                    "a cluster node needs the durable fjall engine (its Raft log and votes must survive restarts)".to_owned(),
                ));
            }
        }
        let engine = open_engine(&config)?;
        let store = engine.clone();
        let state_machine =
            StateMachine::open(engine.clone()).map_err(|e| ServerError::DataDir {
                dir: config.dir.clone(),
                reason: e.to_string(),
            })?;
        if let Some(cluster) = &config.cluster {
            refuse_removed(cluster, &config.dir, engine.as_ref()).map_err(ServerError::Cluster)?;
        }
        let reader = state_machine.reader();
        let addr = format!("{}:{}", config.bind, config.port);
        let listener = listen(&addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        let local_addr = listener.local_addr()?;
        if let Some(cluster) = config.cluster.as_mut() {
            if cluster.formation == Formation::AwaitJoin {
                cluster.formation = match has_identity(&config.dir) {
                    true => Formation::Alone,
                    false => {
                        Formation::Join(await_meet(&listener, config.requirepass.clone()).await)
                    }
                };
            }
        }
        let cluster = config.cluster.clone();
        let (bind, dir) = (config.bind.clone(), config.dir.clone());
        let config = Arc::new(RwLock::new(config));
        let log = match cluster {
            None => Replication::Local(LocalLog::start(state_machine, engine, config.clone())?),
            Some(cluster) => {
                let port = cluster.cluster_port;
                let addr = format!("{bind}:{port}");
                let peers = listen(&addr)
                    .await
                    .map_err(|source| ServerError::Bind { addr, source })?;
                let settings = config.clone();
                let sync_policy = Arc::new(move || settings.read().fsync.sync_mode());
                let cluster = Cluster::start(&cluster, state_machine, peers, &dir, sync_policy)
                    .await
                    .map_err(ServerError::Cluster)?;
                Replication::Cluster(cluster)
            }
        };
        let shared = Arc::new(Shared {
            config,
            log,
            reader,
            clients: ClientRegistry::default(),
            stats: Stats::default(),
            started: Instant::now(),
            run_id: run_id(),
            local_addr,
            engine: store,
            shutdown: Notify::new(),
            persisted: Mutex::new(false),
        });
        Ok(Server { listener, shared })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Serves clients until `SHUTDOWN`, SIGTERM or SIGINT, then returns with every applied
    /// write durable (Err: it could not be made durable after a signal). The caller ends the
    /// process without waiting for connections.
    pub async fn run(self) -> std::io::Result<()> {
        tokio::spawn(crate::maintenance::run(self.shared.clone()));
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = self.shared.shutdown.notified() => return Ok(()),
                _ = terminate.recv() => return self.shut_down("SIGTERM"),
                _ = interrupt.recv() => return self.shut_down("SIGINT"),
            };
            let (socket, addr) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            tokio::spawn(crate::connection::serve(self.shared.clone(), socket, addr));
        }
    }

    fn shut_down(&self, signal: &str) -> std::io::Result<()> {
        tracing::info!("received {signal}, making every write durable before exiting");
        self.shared
            .persist_for_shutdown()
            .map_err(|e| std::io::Error::other(format!("cannot persist data before exiting: {e}")))
    }
}

/// Pending connections the kernel queues before `accept`, as Redis's `tcp-backlog`.
const TCP_BACKLOG: u32 = 511;

/// Binds `addr` (`host:port`) with Redis's accept backlog (tokio's default is 128).
async fn listen(addr: &str) -> std::io::Result<TcpListener> {
    let not_found = || std::io::Error::new(std::io::ErrorKind::NotFound, "no address found");
    let addr = tokio::net::lookup_host(addr)
        .await?
        .next()
        .ok_or_else(not_found)?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(TCP_BACKLOG)
}

fn open_engine(config: &ServerConfig) -> Result<Arc<dyn Engine>, ServerError> {
    let data_dir_error = |reason: String| ServerError::DataDir {
        dir: config.dir.clone(),
        reason,
    };
    Ok(match config.engine {
        EngineKind::Memory => Arc::new(MemoryEngine::new()),
        EngineKind::Fjall => {
            std::fs::create_dir_all(&config.dir).map_err(|e| data_dir_error(e.to_string()))?;
            let probe = config.dir.join(".ringkv-write-test");
            std::fs::write(&probe, b"")
                .map_err(|e| data_dir_error(format!("not writable: {e}")))?;
            let _ = std::fs::remove_file(probe);
            Arc::new(
                FjallEngine::open(&config.dir, FjallOptions::default())
                    .map_err(|e| data_dir_error(e.to_string()))?,
            )
        }
    })
}

/// A 40-hex-character id for this process run (`INFO server` run_id).
fn run_id() -> String {
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).expect("digit below 16"))
        .collect()
}

/// Current Unix time in milliseconds.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
