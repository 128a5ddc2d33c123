//! `ringkv cluster add <node>`: adds a node started with `--await-join` to the cluster of
//! `--host`. It reads the member's own address from `CLUSTER NODES`, sends the new node
//! `CLUSTER MEET` with it, and waits until the new node answers as a member; the rebalancer
//! then moves replicas onto it (followed with `--wait`).

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};

use super::rebalance::{self, server_error};
use crate::cli::cluster_admin::connect;

/// How long the new node may take to join after `CLUSTER MEET`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Adds the node at `node` (host:port) to the cluster of `host`; with `wait`, follows the
/// shard moves onto it until the cluster is balanced.
pub fn add(host: &str, node: &str, wait: bool) -> anyhow::Result<()> {
    let (member_host, port, cport) = own_address(&mut connect(host)?)?;
    redis::cmd("CLUSTER")
        .arg("MEET")
        .arg(&member_host)
        .arg(port)
        .arg(cport)
        .query::<()>(&mut connect(node)?)
        .map_err(|e| anyhow!("{node} refused to join: {}", server_error(e)))?;
    let name = joined_name(node)?;
    println!("{node} joined the cluster as {name}; replicas move onto it");
    if wait {
        rebalance::watch(host)?;
        println!("balanced");
    }
    Ok(())
}

/// The address of the node `con` talks to, from the `myself` line of `CLUSTER NODES`.
fn own_address(con: &mut redis::Connection) -> anyhow::Result<(String, u16, u16)> {
    let nodes: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query(con)
        .map_err(|e| anyhow!("CLUSTER NODES failed: {}", server_error(e)))?;
    let line = nodes
        .lines()
        .find(|l| l.split(' ').nth(2).is_some_and(|f| f.contains("myself")))
        .context("CLUSTER NODES has no line for the node itself")?;
    let addr = line.split(' ').nth(1).unwrap_or_default();
    let addr = addr.split(',').next().unwrap_or_default();
    let bad = || anyhow!("unexpected address '{addr}' in CLUSTER NODES");
    let (client, cport) = addr.split_once('@').ok_or_else(bad)?;
    let (member_host, port) = client.rsplit_once(':').ok_or_else(bad)?;
    Ok((
        member_host.to_owned(),
        port.parse().map_err(|_| bad())?,
        cport.parse().map_err(|_| bad())?,
    ))
}

/// The new node's name once it answers `CLUSTER MYID` as a member.
fn joined_name(node: &str) -> anyhow::Result<String> {
    let deadline = Instant::now() + JOIN_TIMEOUT;
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        sleep(Duration::from_millis(200));
        let answer = connect(node).and_then(|mut con| {
            redis::cmd("CLUSTER")
                .arg("MYID")
                .query::<String>(&mut con)
                .map_err(server_error)
        });
        match answer {
            Ok(name) => return Ok(name),
            Err(e) => last = e.to_string(),
        }
    }
    bail!("{node} did not join within {JOIN_TIMEOUT:?}: {last}")
}
