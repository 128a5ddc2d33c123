//! `CLUSTER …`, `READONLY`, `READWRITE`, `ASKING`: what cluster-aware clients ask to learn
//! where slots live. A single node answers as Redis does with cluster support disabled.

use bytes::Bytes;
use ringkv_cluster::MetaCommand;
use ringkv_protocol::Frame;
use ringkv_shard::layout::slot_start;
use ringkv_shard::slot::key_slot;

use crate::cluster::Cluster;
use crate::dispatch::Session;
use crate::server::Shared;

/// Runs `READONLY`, `READWRITE` or `ASKING`.
pub(super) fn connection_mode(shared: &Shared, session: &mut Session, name: &str) -> Frame {
    if shared.log.cluster().is_none() {
        return disabled();
    }
    match name {
        "readonly" => session.readonly = true,
        "readwrite" => session.readonly = false,
        _ => {}
    }
    Frame::ok()
}

/// Runs a `CLUSTER` subcommand.
pub(super) async fn cluster(shared: &Shared, argv: &[Bytes]) -> Frame {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    if sub == "keyslot" {
        return match argv.len() {
            3 => Frame::Integer(i64::from(key_slot(&argv[2]))),
            _ => wrong_subcommand_arity(&sub),
        };
    }
    let Some(cluster) = shared.log.cluster() else {
        return disabled();
    };
    match (sub.as_str(), argv.len()) {
        ("myid", 2) => Frame::bulk(cluster.node_name(cluster.me())),
        ("info", 2) => Frame::bulk(info(cluster)),
        ("slots", 2) => slots(cluster),
        ("nodes", 2) => Frame::bulk(nodes(cluster)),
        ("countkeysinslot", 3) => match slot_arg(&argv[2]) {
            Some(slot) => Frame::Integer(shared.reader.keys_in_slot(slot) as i64),
            None => Frame::error("ERR Invalid slot"),
        },
        ("shards", 2) => shards(cluster),
        ("rebalance", 3 | 4) => rebalance(cluster, &argv[2..]).await,
        ("remove", 3) => match node_arg(&argv[2]) {
            Some(node) => cluster.change(MetaCommand::Leave { node }).await,
            None => Frame::error("ERR Invalid node id"),
        },
        ("getkeysinslot", 4) => keys_in_slot(shared, &argv[2], &argv[3]),
        ("meet", _) => Frame::error(
            "ERR This node is already in a cluster: only a node started with --await-join can meet one",
        ),
        (
            "myid" | "info" | "slots" | "nodes" | "shards" | "countkeysinslot" | "getkeysinslot"
            | "rebalance" | "remove",
            _,
        ) => wrong_subcommand_arity(&sub),
        _ => Frame::error(format!(
            "ERR unknown subcommand '{}'. Try CLUSTER HELP.",
            String::from_utf8_lossy(&argv[1])
        )),
    }
}

/// `CLUSTER REBALANCE STATUS|PAUSE|RESUME|MAXMOVES n`: the rebalancer's progress and controls.
async fn rebalance(cluster: &Cluster, args: &[Bytes]) -> Frame {
    let action = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let command = |paused, max_moves| MetaCommand::Rebalance { paused, max_moves };
    match (action.as_str(), args.len()) {
        ("status", 1) => cluster.rebalance_status().await,
        ("pause", 1) => cluster.change(command(Some(true), None)).await,
        ("resume", 1) => cluster.change(command(Some(false), None)).await,
        ("maxmoves", 2) => match std::str::from_utf8(&args[1])
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n > 0)
        {
            Some(n) => cluster.change(command(None, Some(n))).await,
            None => Frame::error("ERR max moves must be a positive integer"),
        },
        _ => Frame::error("ERR CLUSTER REBALANCE takes STATUS, PAUSE, RESUME or MAXMOVES <n>"),
    }
}

/// A node named by its decimal id or its 40-hex-character name.
fn node_arg(arg: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(arg).ok()?;
    if text.len() == 40 {
        u64::from_str_radix(text.trim_start_matches('0'), 16).ok()
    } else {
        text.parse().ok()
    }
}

/// `CLUSTER GETKEYSINSLOT slot count`: a range scan of the slot, never a full scan.
fn keys_in_slot(shared: &Shared, slot: &[u8], count: &[u8]) -> Frame {
    let Some(slot) = slot_arg(slot) else {
        return Frame::error("ERR Invalid slot");
    };
    let Some(count) = std::str::from_utf8(count)
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
    else {
        return Frame::error("ERR Invalid number of keys");
    };
    let start = slot_start(slot);
    let end = slot.checked_add(1).map(slot_start);
    match shared
        .reader
        .scan_keys(&start, end.as_ref().map(|e| &e[..]), count)
    {
        Ok(rows) => Frame::Array(
            rows.into_iter()
                .map(|(k, _)| Frame::Bulk(k.slice(2..)))
                .collect(),
        ),
        Err(e) => Frame::from(e),
    }
}

/// `CLUSTER SHARDS`: each shard's slot range and its replicas, the leader marked `master`.
fn shards(cluster: &Cluster) -> Frame {
    let entries = cluster
        .shard_views()
        .into_iter()
        .map(|shard| {
            let leader = shard.leader.unwrap_or(shard.replicas[0]);
            let health = if shard.leader.is_some() {
                "online"
            } else {
                "loading"
            };
            let nodes = shard
                .replicas
                .iter()
                .map(|&node| {
                    let (host, port) = cluster.client_addr(node);
                    let role = if node == leader { "master" } else { "replica" };
                    Frame::Array(vec![
                        Frame::bulk("id"),
                        Frame::bulk(cluster.node_name(node)),
                        Frame::bulk("port"),
                        Frame::Integer(i64::from(port)),
                        Frame::bulk("ip"),
                        Frame::bulk(host.clone()),
                        Frame::bulk("endpoint"),
                        Frame::bulk(host),
                        Frame::bulk("role"),
                        Frame::bulk(role),
                        Frame::bulk("replication-offset"),
                        Frame::Integer(0),
                        Frame::bulk("health"),
                        Frame::bulk(health),
                    ])
                })
                .collect();
            Frame::Array(vec![
                Frame::bulk("slots"),
                Frame::Array(vec![
                    Frame::Integer(i64::from(*shard.slots.start())),
                    Frame::Integer(i64::from(*shard.slots.end())),
                ]),
                Frame::bulk("nodes"),
                Frame::Array(nodes),
            ])
        })
        .collect();
    Frame::Array(entries)
}

fn disabled() -> Frame {
    Frame::error("ERR This instance has cluster support disabled")
}

fn wrong_subcommand_arity(sub: &str) -> Frame {
    Frame::error(format!(
        "ERR wrong number of arguments for 'cluster|{sub}' command"
    ))
}

fn slot_arg(arg: &[u8]) -> Option<u16> {
    std::str::from_utf8(arg)
        .ok()?
        .parse::<u16>()
        .ok()
        .filter(|s| *s < 16384)
}

/// `CLUSTER INFO`.
fn info(cluster: &Cluster) -> String {
    let shards = cluster.shard_views();
    let led = shards.iter().filter(|s| s.leader.is_some()).count();
    let state = if led == shards.len() && !shards.is_empty() {
        "ok"
    } else {
        "fail"
    };
    let nodes = cluster.node_ids().len();
    format!(
        "cluster_enabled:1\r\ncluster_state:{state}\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:{nodes}\r\ncluster_size:{nodes}\r\ncluster_current_epoch:{epoch}\r\ncluster_my_epoch:{epoch}\r\ncluster_shards:{}\r\ncluster_shards_with_leader:{led}\r\n",
        shards.len(),
        epoch = cluster.epoch()
    )
}

/// `CLUSTER SLOTS`: each shard's range with its leader first, then its other replicas.
fn slots(cluster: &Cluster) -> Frame {
    let entries = cluster
        .shard_views()
        .into_iter()
        .map(|shard| {
            let mut entry = vec![
                Frame::Integer(i64::from(*shard.slots.start())),
                Frame::Integer(i64::from(*shard.slots.end())),
            ];
            let leader = shard.leader.unwrap_or(shard.replicas[0]);
            let others = shard.replicas.iter().copied().filter(|r| *r != leader);
            for node in std::iter::once(leader).chain(others) {
                let (host, port) = cluster.client_addr(node);
                entry.push(Frame::Array(vec![
                    Frame::bulk(host),
                    Frame::Integer(i64::from(port)),
                    Frame::bulk(cluster.node_name(node)),
                ]));
            }
            Frame::Array(entry)
        })
        .collect();
    Frame::Array(entries)
}

/// `CLUSTER NODES`: every node as a master of the slot ranges it leads.
fn nodes(cluster: &Cluster) -> String {
    let shards = cluster.shard_views();
    let mut out = String::new();
    for node in cluster.node_ids() {
        let (host, port) = cluster.client_addr(node);
        let flags = if node == cluster.me() {
            "myself,master"
        } else {
            "master"
        };
        out.push_str(&format!(
            "{} {host}:{port}@{} {flags} - 0 0 1 connected",
            cluster.node_name(node),
            cluster.cluster_port(node)
        ));
        for shard in shards
            .iter()
            .filter(|s| s.leader.unwrap_or(s.replicas[0]) == node)
        {
            out.push_str(&format!(" {}-{}", shard.slots.start(), shard.slots.end()));
        }
        out.push('\n');
    }
    out
}
