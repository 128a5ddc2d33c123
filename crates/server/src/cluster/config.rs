//! Settings of a cluster node: how it forms or joins its cluster, where it is reached, and
//! its Raft timings.

use std::time::Duration;

/// One node of the cluster as `--peers` names it: `id=host:port` or `id=host:port@cport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSpec {
    /// Node id.
    pub id: u64,
    /// Host clients and peers connect to.
    pub host: String,
    /// Client port.
    pub port: u16,
    /// Cluster port (Raft traffic); client port + 10000 unless given.
    pub cluster_port: u16,
}

/// Offset of the default cluster port from the client port, as in Redis Cluster.
pub const CLUSTER_PORT_OFFSET: u16 = 10000;

impl std::str::FromStr for PeerSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid peer '{s}': expected id=host:port or id=host:port@cport");
        let (id, addr) = s.trim().split_once('=').ok_or_else(bad)?;
        let id: u64 = id.trim().parse().map_err(|_| bad())?;
        let (host, port, cluster_port) = parse_addr(addr).map_err(|_| bad())?;
        if id == 0 {
            return Err(bad());
        }
        Ok(PeerSpec {
            id,
            host,
            port,
            cluster_port,
        })
    }
}

/// Parses a comma-separated `--peers` list.
pub fn parse_peers(s: &str) -> Result<Vec<PeerSpec>, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(str::parse)
        .collect()
}

/// Parses a node address `host:port` or `host:port@cport` into host, client port and cluster
/// port (client port + 10000 unless given).
pub fn parse_addr(s: &str) -> Result<(String, u16, u16), String> {
    let bad = || format!("invalid address '{s}': expected host:port or host:port@cport");
    let (addr, cport) = match s.trim().split_once('@') {
        Some((a, c)) => (a, Some(c.parse::<u16>().map_err(|_| bad())?)),
        None => (s.trim(), None),
    };
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let cluster_port = match cport {
        Some(c) => c,
        None => port.checked_add(CLUSTER_PORT_OFFSET).ok_or_else(bad)?,
    };
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((host.to_owned(), port, cluster_port))
}

/// How a node becomes part of its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Formation {
    /// A fixed set of nodes started together (`--node-id` with `--peers`): this node is
    /// `node_id`, one of `peers`.
    Static {
        /// This node's id.
        node_id: u64,
        /// Every node, this one included.
        peers: Vec<PeerSpec>,
    },
    /// The first node of a new cluster, or a member restarting (`--cluster`).
    Alone,
    /// A new member joining through the node at this cluster address (`--join`).
    Join(String),
    /// A new member that waits for `CLUSTER MEET` to name the node to join through, or a
    /// member restarting (`--await-join`).
    AwaitJoin,
}

/// How a clustered node runs.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// How the node forms or joins its cluster.
    pub formation: Formation,
    /// Host other nodes and clients reach this node at.
    pub host: String,
    /// This node's client port.
    pub port: u16,
    /// This node's cluster port (Raft traffic).
    pub cluster_port: u16,
    /// Relative capacity for placement. Default 1.
    pub weight: u32,
    /// Failure domain for placement. Default none.
    pub zone: String,
    /// How long a node may be unreachable before its replicas are re-created elsewhere.
    /// Default 60 s.
    pub dead_after: Duration,
    /// Number of shards. Default 64.
    pub shards: u32,
    /// Replicas per shard, capped by the node count. Default 3.
    pub replicas: usize,
    /// Secret nodes prove to each other; None: no check. Default none.
    pub secret: Option<String>,
    /// Leader heartbeat period. Default 100 ms.
    pub heartbeat: Duration,
    /// Shortest election timeout; the longest is twice it. Default 300 ms. A follower that
    /// heard from a leader also waits out that leader's lease (the longest timeout) first, so
    /// a new leader is elected about 0.9–1.2 s after the old one stops.
    pub election_timeout: Duration,
    /// Log entries after which a shard snapshots and compacts its log. Default 10000.
    pub snapshot_after: u64,
}

impl ClusterConfig {
    /// Checks the settings against each other.
    pub fn validate(&self) -> Result<(), String> {
        if let Formation::Static { node_id, peers } = &self.formation {
            if !peers.iter().any(|p| p.id == *node_id) {
                return Err(format!("--node-id {node_id} is not in --peers"));
            }
            let mut ids: Vec<u64> = peers.iter().map(|p| p.id).collect();
            ids.sort_unstable();
            ids.dedup();
            if ids.len() != peers.len() {
                return Err("--peers names a node id twice".to_owned());
            }
        }
        if self.port == 0 {
            return Err("a cluster node needs a fixed --port".to_owned());
        }
        if self.shards == 0 || self.shards > 16384 {
            return Err("--shards must be between 1 and 16384".to_owned());
        }
        if self.replicas == 0 {
            return Err("--replicas must be at least 1".to_owned());
        }
        if self.weight == 0 || self.weight > ringkv_cluster::placement::MAX_WEIGHT {
            return Err("--weight must be between 1 and 1000".to_owned());
        }
        if self.heartbeat.is_zero() || self.election_timeout <= self.heartbeat * 2 {
            return Err(
                "--raft-election-ms must be more than twice --raft-heartbeat-ms".to_owned(),
            );
        }
        Ok(())
    }

    /// This node's client address, `host:port`.
    pub fn client_addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// This node's cluster address, `host:cport`.
    pub fn cluster_addr(&self) -> String {
        format!("{}:{}", self.host, self.cluster_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_parse_with_and_without_cluster_port() {
        let peers = parse_peers("1=127.0.0.1:7001, 2=127.0.0.2:7002@9000").unwrap();
        assert_eq!(peers[0].cluster_port, 17001);
        assert_eq!(
            (
                peers[1].id,
                peers[1].host.as_str(),
                peers[1].port,
                peers[1].cluster_port
            ),
            (2, "127.0.0.2", 7002, 9000)
        );
        assert!(parse_peers("x=1:2").is_err());
        assert!(parse_peers("1=host").is_err());
        assert!(parse_peers("0=h:1").is_err());
    }
}
