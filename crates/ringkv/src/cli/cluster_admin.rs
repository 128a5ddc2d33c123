//! `ringkv cluster status|nodes|shards`: what a running cluster reports about itself, read
//! from one of its nodes with the Redis Cluster commands (`CLUSTER INFO/NODES/SHARDS`) and
//! shown as a table or as JSON. `status` adds the rebalancer's state, read by
//! `cluster::rebalance`.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context};
use redis::Value;
use serde::Serialize;

use super::cluster::rebalance;

/// What to ask the cluster.
#[derive(Clone, Copy, Debug)]
pub enum Query {
    /// Cluster state, node and shard counts, leaders per node.
    Status,
    /// One row per node.
    Nodes,
    /// One row per shard.
    Shards,
}

/// A shard as `CLUSTER SHARDS` describes it.
#[derive(Debug, Serialize)]
struct Shard {
    slots: String,
    leader: Option<String>,
    replicas: Vec<String>,
    health: String,
}

/// A node as `CLUSTER NODES` describes it.
#[derive(Debug, Serialize)]
struct Node {
    id: String,
    address: String,
    flags: String,
    slot_ranges_led: usize,
}

/// Prints the answer to `query` for the cluster that the node at `host` (`host:port`) belongs to.
pub fn run(host: &str, query: Query, json: bool) -> anyhow::Result<()> {
    let mut con = connect(host)?;
    let text = match query {
        Query::Status => status(&mut con, json)?,
        Query::Nodes => {
            let nodes = nodes(&mut con)?;
            if json {
                serde_json::to_string_pretty(&nodes)?
            } else {
                table(
                    &["id", "address", "flags", "slot ranges led"],
                    nodes.iter().map(|n| {
                        vec![
                            n.id.clone(),
                            n.address.clone(),
                            n.flags.clone(),
                            n.slot_ranges_led.to_string(),
                        ]
                    }),
                )
            }
        }
        Query::Shards => {
            let shards = shards(&mut con)?;
            if json {
                serde_json::to_string_pretty(&shards)?
            } else {
                table(
                    &["slots", "leader", "replicas", "health"],
                    shards.iter().map(|s| {
                        vec![
                            s.slots.clone(),
                            s.leader.clone().unwrap_or_else(|| "-".to_owned()),
                            s.replicas.join(" "),
                            s.health.clone(),
                        ]
                    }),
                )
            }
        }
    };
    println!("{text}");
    Ok(())
}

/// A connection to the node at `host` (`host:port`), with timeouts so that a dead node
/// fails fast.
pub fn connect(host: &str) -> anyhow::Result<redis::Connection> {
    let con = redis::Client::open(format!("redis://{host}/"))
        .with_context(|| format!("invalid address {host}"))?
        .get_connection_with_timeout(Duration::from_secs(3))
        .with_context(|| format!("cannot reach {host}"))?;
    con.set_read_timeout(Some(Duration::from_secs(5)))?;
    Ok(con)
}

fn status(con: &mut redis::Connection, json: bool) -> anyhow::Result<String> {
    let info: String = redis::cmd("CLUSTER")
        .arg("INFO")
        .query(con)
        .context("CLUSTER INFO failed")?;
    let fields: BTreeMap<&str, &str> = info
        .lines()
        .filter_map(|l| l.trim().split_once(':'))
        .collect();
    let shards = shards(con)?;
    let mut leaders: BTreeMap<String, usize> = BTreeMap::new();
    for leader in shards.iter().filter_map(|s| s.leader.clone()) {
        *leaders.entry(leader).or_default() += 1;
    }
    let led = shards.iter().filter(|s| s.leader.is_some()).count();
    let state = fields.get("cluster_state").copied().unwrap_or("unknown");
    let nodes = fields.get("cluster_known_nodes").copied().unwrap_or("0");
    let rebalance = rebalance::status_if_known(con)?;
    if json {
        return Ok(serde_json::to_string_pretty(&serde_json::json!({
            "state": state,
            "nodes": nodes.parse::<u64>().unwrap_or(0),
            "shards": shards.len(),
            "shards_with_leader": led,
            "leaders_per_node": leaders,
            "rebalance": rebalance,
        }))?);
    }
    let mut out = format!(
        "cluster state: {state}\nnodes: {nodes}\nshards: {} ({led} with a leader)\nleaders per node:",
        shards.len()
    );
    for (node, count) in &leaders {
        out.push_str(&format!("\n  {node}  {count}"));
    }
    out.push_str("\n\n");
    out.push_str(&rebalance::section(rebalance.as_ref()));
    Ok(out)
}

fn nodes(con: &mut redis::Connection) -> anyhow::Result<Vec<Node>> {
    let text: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query(con)
        .context("CLUSTER NODES failed")?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let parts: Vec<&str> = line.split_whitespace().collect();
            (parts.len() >= 8).then(|| Node {
                id: parts[0].to_owned(),
                address: parts[1].split('@').next().unwrap_or_default().to_owned(),
                flags: parts[2].to_owned(),
                slot_ranges_led: parts.len() - 8,
            })
        })
        .collect())
}

fn shards(con: &mut redis::Connection) -> anyhow::Result<Vec<Shard>> {
    let reply: Vec<Value> = redis::cmd("CLUSTER")
        .arg("SHARDS")
        .query(con)
        .context("CLUSTER SHARDS failed")?;
    reply.iter().map(shard).collect()
}

/// One `CLUSTER SHARDS` entry: `slots [a b] nodes [[id .. port .. ip .. role .. health ..] ..]`.
fn shard(entry: &Value) -> anyhow::Result<Shard> {
    let fields = pairs(entry)?;
    let slots: Vec<i64> = redis::from_redis_value(field(&fields, "slots")?)?;
    let mut shard = Shard {
        slots: slots
            .chunks(2)
            .map(|r| format!("{}-{}", r[0], r.get(1).unwrap_or(&r[0])))
            .collect::<Vec<_>>()
            .join(","),
        leader: None,
        replicas: Vec::new(),
        health: "online".to_owned(),
    };
    let Value::Array(nodes) = field(&fields, "nodes")? else {
        bail!("CLUSTER SHARDS: nodes is not a list");
    };
    for node in nodes {
        let node = pairs(node)?;
        let text = |name: &str| -> anyhow::Result<String> {
            Ok(redis::from_redis_value(field(&node, name)?)?)
        };
        let address = format!("{}:{}", text("ip")?, text("port")?);
        if text("role")? == "master" {
            shard.leader = Some(address.clone());
            shard.health = text("health")?;
        }
        shard.replicas.push(address);
    }
    Ok(shard)
}

fn pairs(value: &Value) -> anyhow::Result<Vec<(String, &Value)>> {
    let items: &[Value] = match value {
        Value::Array(items) => items,
        _ => bail!("unexpected reply: {value:?}"),
    };
    items
        .chunks(2)
        .map(|kv| {
            Ok((
                redis::from_redis_value(&kv[0])?,
                kv.get(1).unwrap_or(&Value::Nil),
            ))
        })
        .collect()
}

fn field<'a>(fields: &'a [(String, &'a Value)], name: &str) -> anyhow::Result<&'a Value> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| *v)
        .with_context(|| format!("reply has no {name}"))
}

/// `rows` under `header`, in columns aligned with two spaces between them.
pub fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = std::iter::once(header.iter().map(|h| h.to_string()).collect())
        .chain(rows)
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|r| {
            r.iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
