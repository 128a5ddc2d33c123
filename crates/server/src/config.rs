//! Server configuration: every setting with its documented default, the Redis-style names
//! `CONFIG GET/SET` uses, and which of them can change while the server runs.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Deserialize;

/// When writes reach stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// Acknowledge a write only after it is fsynced (group commit batches many per fsync). Default.
    Always,
    /// Hand writes to the OS at once and fsync once a second: an OS crash can lose the last second.
    Everysec,
    /// Hand writes to the OS, never fsync explicitly: an OS crash can lose recent writes.
    Never,
}

impl FsyncPolicy {
    /// How the Raft sync thread carries out this policy.
    pub fn sync_mode(self) -> ringkv_raft::SyncMode {
        match self {
            FsyncPolicy::Always => ringkv_raft::SyncMode::EachGroup,
            FsyncPolicy::Everysec => ringkv_raft::SyncMode::EverySecond,
            FsyncPolicy::Never => ringkv_raft::SyncMode::Never,
        }
    }
}

/// Which storage engine holds the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// fjall LSM tree on disk: durable. Default.
    Fjall,
    /// In memory only: nothing survives a restart (cache mode, with maxmemory/eviction).
    Memory,
}

/// What to do when `maxmemory` is reached (memory engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvictionPolicy {
    /// Refuse writes that would add data with an OOM error. Default.
    Noeviction,
    /// Evict the approximately least recently used keys.
    AllkeysLru,
    /// Evict the keys with the nearest expiry among those that have one.
    VolatileTtl,
}

macro_rules! keyword_enum {
    ($ty:ty { $($name:literal => $variant:expr),+ $(,)? }) => {
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.to_ascii_lowercase().as_str() {
                    $($name => Ok($variant),)+
                    _ => Err(format!("expected one of: {}", [$($name),+].join(", "))),
                }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let name = match self { $(v if *v == $variant => $name,)+ _ => unreachable!() };
                f.write_str(name)
            }
        }
    };
}

keyword_enum!(FsyncPolicy { "always" => FsyncPolicy::Always, "everysec" => FsyncPolicy::Everysec, "never" => FsyncPolicy::Never });
keyword_enum!(EngineKind { "fjall" => EngineKind::Fjall, "memory" => EngineKind::Memory });
keyword_enum!(EvictionPolicy {
    "noeviction" => EvictionPolicy::Noeviction,
    "allkeys-lru" => EvictionPolicy::AllkeysLru,
    "volatile-ttl" => EvictionPolicy::VolatileTtl,
});

/// Everything a server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on. Default `127.0.0.1`.
    pub bind: String,
    /// TCP port; 0 picks a free one. Default 6379.
    pub port: u16,
    /// Data directory. Default `./ringkv-data`.
    pub dir: PathBuf,
    /// Storage engine. Default fjall.
    pub engine: EngineKind,
    /// Fsync policy. Default always.
    pub fsync: FsyncPolicy,
    /// Most simultaneous clients. Default 10000.
    pub maxclients: usize,
    /// Password clients must `AUTH` with; None disables auth. Default none.
    pub requirepass: Option<String>,
    /// Memory limit in bytes for the memory engine; 0 = unlimited. Default 0.
    pub maxmemory: u64,
    /// What to do at the memory limit. Default noeviction.
    pub maxmemory_policy: EvictionPolicy,
    /// Seconds a client may leave its replies unread before it is disconnected. Default 60.
    pub client_output_timeout: u64,
    /// Cluster membership and replication; None runs a single node. Default none.
    pub cluster: Option<crate::cluster::ClusterConfig>,
    /// Threads serving clients; None chooses ([`ServerConfig::threads`]). Default none.
    pub threads: Option<usize>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1".to_owned(),
            port: 6379,
            dir: PathBuf::from("./ringkv-data"),
            engine: EngineKind::Fjall,
            fsync: FsyncPolicy::Always,
            maxclients: 10000,
            requirepass: None,
            maxmemory: 0,
            maxmemory_policy: EvictionPolicy::Noeviction,
            client_output_timeout: 60,
            cluster: None,
            threads: None,
        }
    }
}

/// Parses a Redis memory size: `1000`, `100kb`, `10mb`, `1gb`, `1k`, `1m`, `1g` (case-insensitive).
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("invalid memory size '{text}'"))?;
    let multiplier = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err(format!("invalid memory unit in '{text}'")),
    };
    n.checked_mul(multiplier)
        .ok_or_else(|| format!("memory size '{text}' is too large"))
}

impl ServerConfig {
    /// Threads serving clients: as configured, else one for a single node (its writes are
    /// applied one at a time in any case, as redis-server runs its commands on one thread;
    /// more threads only hand writes between them), else one per core (a cluster node
    /// applies the writes of many shards at once).
    pub fn threads(&self) -> usize {
        self.threads.unwrap_or_else(|| match self.cluster {
            None => 1,
            Some(_) => std::thread::available_parallelism().map_or(1, |n| n.get()),
        })
    }

    /// Names `CONFIG GET` knows, in the order it lists them.
    pub const NAMES: [&'static str; 14] = [
        "bind",
        "port",
        "dir",
        "engine",
        "fsync",
        "maxclients",
        "requirepass",
        "maxmemory",
        "maxmemory-policy",
        "client-output-timeout",
        "threads",
        "save",
        "appendonly",
        "appendfsync",
    ];

    /// The value of a setting as `CONFIG GET` shows it.
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "bind" => self.bind.clone(),
            "port" => self.port.to_string(),
            "dir" => self.dir.display().to_string(),
            "engine" => self.engine.to_string(),
            "fsync" => self.fsync.to_string(),
            "maxclients" => self.maxclients.to_string(),
            "requirepass" => self.requirepass.clone().unwrap_or_default(),
            "maxmemory" => self.maxmemory.to_string(),
            "maxmemory-policy" => self.maxmemory_policy.to_string(),
            "client-output-timeout" => self.client_output_timeout.to_string(),
            "threads" => self.threads().to_string(),
            // What Redis tools ask of persistence: no RDB snapshots; the durable engine's log
            // is the append-only file, fsynced as `--fsync` says.
            "save" => String::new(),
            "appendonly" => match self.engine {
                EngineKind::Fjall => "yes",
                EngineKind::Memory => "no",
            }
            .to_owned(),
            "appendfsync" => match self.fsync {
                FsyncPolicy::Always => "always",
                FsyncPolicy::Everysec => "everysec",
                FsyncPolicy::Never => "no",
            }
            .to_owned(),
            _ => return None,
        })
    }

    /// Changes a setting at run time (`CONFIG SET`). Err explains why not, in Redis's words.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let bad = |why: String| {
            format!("CONFIG SET failed (possibly related to argument '{name}') - {why}")
        };
        match name {
            "bind" | "port" | "dir" | "engine" | "threads" | "save" | "appendonly" => {
                return Err(bad("can't set immutable config".to_owned()))
            }
            "fsync" => self.fsync = value.parse().map_err(bad)?,
            "appendfsync" => {
                self.fsync = match value.to_ascii_lowercase().as_str() {
                    "no" => FsyncPolicy::Never,
                    other => other.parse().map_err(bad)?,
                }
            }
            "maxclients" => {
                self.maxclients = value
                    .parse()
                    .map_err(|_| bad("argument couldn't be parsed into an integer".to_owned()))?
            }
            "requirepass" => self.requirepass = (!value.is_empty()).then(|| value.to_owned()),
            "maxmemory" => self.maxmemory = parse_memory(value).map_err(bad)?,
            "maxmemory-policy" => self.maxmemory_policy = value.parse().map_err(bad)?,
            "client-output-timeout" => {
                self.client_output_timeout = value
                    .parse()
                    .map_err(|_| bad("argument couldn't be parsed into an integer".to_owned()))?
            }
            _ => {
                return Err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{name}'"
                ))
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("100"), Ok(100));
        assert_eq!(parse_memory("1kb"), Ok(1024));
        assert_eq!(parse_memory("2MB"), Ok(2 * 1024 * 1024));
        assert_eq!(parse_memory("1g"), Ok(1_000_000_000));
        assert!(parse_memory("ten").is_err());
        assert!(parse_memory("1tb").is_err());
    }

    #[test]
    fn a_single_node_serves_from_one_thread_unless_told_otherwise() {
        let mut c = ServerConfig::default();
        assert_eq!(c.threads(), 1);
        assert_eq!(c.get("threads").as_deref(), Some("1"));
        c.threads = Some(3);
        assert_eq!(c.threads(), 3);
    }

    #[test]
    fn get_and_set() {
        let mut c = ServerConfig::default();
        assert_eq!(c.get("fsync").as_deref(), Some("always"));
        c.set("maxmemory-policy", "allkeys-lru").unwrap();
        assert_eq!(c.maxmemory_policy, EvictionPolicy::AllkeysLru);
        assert!(c.set("port", "1").unwrap_err().contains("immutable"));
        assert!(c.set("threads", "4").unwrap_err().contains("immutable"));
        assert!(c
            .set("nosuch", "1")
            .unwrap_err()
            .starts_with("Unknown option"));
        assert!(c.set("fsync", "sometimes").is_err());
    }
}
