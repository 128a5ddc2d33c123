//! `ringkv cluster rebalance|pause|resume|remove`, and the rebalancing part of `status`. The
//! rebalancer runs on the meta leader; any node forwards these commands to it. This module
//! only asks and shows: it reads the rebalancer's state from `CLUSTER REBALANCE STATUS` (JSON
//! in a bulk string), steers it with `CLUSTER REBALANCE PAUSE|RESUME|MAXMOVES` and
//! `CLUSTER REMOVE`, and when told to wait, polls the state under a progress bar.

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::cli::cluster_admin::{connect, table};

/// Time between two polls of the rebalancer's state.
const POLL: Duration = Duration::from_millis(500);
/// How long polls may keep failing before a wait gives up.
const RETRY_FOR: Duration = Duration::from_secs(10);

/// The rebalancer's state, as `CLUSTER REBALANCE STATUS` reports it.
#[derive(Debug, Deserialize, Serialize)]
pub struct Status {
    epoch: u64,
    paused: bool,
    max_moves: u32,
    nodes: Vec<Node>,
    /// Shard moves under way.
    moving: Vec<Move>,
    /// Shard moves planned, not started yet.
    pending: Vec<Move>,
}

/// A node as the rebalancer sees it.
#[derive(Debug, Deserialize, Serialize)]
struct Node {
    id: u64,
    /// The id as 40 hex digits, as `CLUSTER NODES` shows it.
    name: String,
    /// Client address, host:port.
    client: String,
    /// "active", or "leaving" while it is drained.
    state: String,
    /// Whether it has reported in recently.
    up: bool,
    weight: u32,
    zone: String,
    replicas: u64,
    leaders: u64,
}

/// One shard's change of replicas, each list preferred leader first.
#[derive(Debug, Deserialize, Serialize)]
struct Move {
    shard: u32,
    slots: String,
    from: Vec<u64>,
    to: Vec<u64>,
}

/// What a move changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    /// Replicas go to other nodes.
    Move,
    /// The same nodes keep the data; only the preferred leader changes.
    Leader,
}

impl Move {
    fn kind(&self) -> Kind {
        let (mut from, mut to) = (self.from.clone(), self.to.clone());
        from.sort_unstable();
        to.sort_unstable();
        if from == to {
            Kind::Leader
        } else {
            Kind::Move
        }
    }
}

impl Status {
    fn remaining(&self) -> u64 {
        (self.moving.len() + self.pending.len()) as u64
    }
}

/// Moves done out of all seen so far. The total only grows: when new moves appear, they
/// are added to it rather than taken off what is done.
#[derive(Debug, Default, PartialEq)]
struct Progress {
    done: u64,
    total: u64,
}

impl Progress {
    fn update(&mut self, remaining: u64) {
        self.total = self.total.max(self.done + remaining);
        self.done = self.total - remaining;
    }
}

/// `rebalance --dry-run`: the moves under way and planned, as tables or JSON.
pub fn dry_run(host: &str, json: bool) -> anyhow::Result<()> {
    let status = fetch(&mut connect(host)?)?;
    let text = match json {
        true => plan_json(&status)?,
        false => plan_table(&status),
    };
    println!("{text}");
    Ok(())
}

/// `rebalance`: sets the most moves at once if asked, lets moves start, and says how many
/// there are; with `wait`, follows them until the cluster is balanced.
pub fn start(host: &str, max_moves: Option<u32>, wait: bool, json: bool) -> anyhow::Result<()> {
    let mut con = connect(host)?;
    if let Some(n) = max_moves {
        command(&mut con, &["REBALANCE", "MAXMOVES", &n.to_string()])?;
    }
    command(&mut con, &["REBALANCE", "RESUME"])?;
    let status = fetch(&mut con)?;
    let (planned, under_way) = (status.pending.len(), status.moving.len());
    if !json {
        println!(
            "rebalancing: {planned} moves planned, {under_way} under way, max {} at once",
            status.max_moves
        );
    }
    if wait && status.remaining() > 0 {
        follow_moves(host, &status)?.finish_and_clear();
    }
    let balanced = wait || status.remaining() == 0;
    match json {
        true => println!(
            "{}",
            serde_json::json!({"planned": planned, "under_way": under_way,
                "max_moves": status.max_moves, "balanced": balanced})
        ),
        false if balanced => println!("balanced"),
        false => {}
    }
    Ok(())
}

/// `pause` and `resume`.
pub fn set_paused(host: &str, paused: bool) -> anyhow::Result<()> {
    let (word, done) = match paused {
        true => ("PAUSE", "paused"),
        false => ("RESUME", "resumed"),
    };
    command(&mut connect(host)?, &["REBALANCE", word])?;
    println!("rebalancing {done}");
    Ok(())
}

/// `remove`: drains `node` (an id, a 40-hex name or a client address); with `wait`, follows
/// its replicas moving away until it is gone.
pub fn remove(host: &str, node: &str, wait: bool) -> anyhow::Result<()> {
    let mut con = connect(host)?;
    let status = fetch(&mut con)?;
    let id = resolve(&status.nodes, node)?;
    command(&mut con, &["REMOVE", &id.to_string()])?;
    if !wait {
        println!("node {id} is leaving: its replicas move to other nodes");
        return Ok(());
    }
    let replicas = |s: &Status| s.nodes.iter().find(|n| n.id == id).map(|n| n.replicas);
    let mut progress = Progress::default();
    progress.update(replicas(&status).unwrap_or(0));
    let bar = progress_bar(&progress, format!("replicas moved off node {id}"));
    poll(host, |s| {
        let Some(left) = replicas(s) else {
            return true;
        };
        progress.update(left);
        show(&bar, &progress, s.paused);
        false
    })?;
    bar.finish_and_clear();
    println!("node {id} removed");
    Ok(())
}

/// `status --watch`: a progress bar of the shard moves until none is planned or under way.
pub fn watch(host: &str) -> anyhow::Result<()> {
    match status_if_known(&mut connect(host)?)? {
        Some(status) if status.remaining() > 0 => {
            follow_moves(host, &status)?.finish_with_message("balanced");
        }
        _ => {}
    }
    Ok(())
}

/// The rebalancer's state, or `None` when the node does not know `CLUSTER REBALANCE`.
pub fn status_if_known(con: &mut redis::Connection) -> anyhow::Result<Option<Status>> {
    match query_status(con) {
        Ok(text) => parse(&text).map(Some),
        Err(e) if e.code() == Some("ERR") && e.detail().is_some() => Ok(None),
        Err(e) => Err(server_error(e)),
    }
}

/// The rebalancing part of `status`.
pub fn section(status: Option<&Status>) -> String {
    let Some(s) = status else {
        return "rebalancing: not available".to_owned();
    };
    let header = format!(
        "rebalancing: {}, at most {} moves at once, {} under way, {} pending (epoch {})\n",
        if s.paused { "paused" } else { "running" },
        s.max_moves,
        s.moving.len(),
        s.pending.len(),
        s.epoch
    );
    let columns = [
        "id", "address", "state", "up", "weight", "zone", "replicas", "leaders",
    ];
    header
        + &table(
            &columns,
            s.nodes.iter().map(|n| {
                vec![
                    n.id.to_string(),
                    n.client.clone(),
                    n.state.clone(),
                    (if n.up { "yes" } else { "no" }).to_owned(),
                    n.weight.to_string(),
                    (if n.zone.is_empty() { "-" } else { &n.zone }).to_owned(),
                    n.replicas.to_string(),
                    n.leaders.to_string(),
                ]
            }),
        )
}

/// Follows the moves of `first` and any that join them under a progress bar, until none is
/// left; returns the bar for the caller to finish.
fn follow_moves(host: &str, first: &Status) -> anyhow::Result<ProgressBar> {
    let mut progress = Progress::default();
    progress.update(first.remaining());
    let bar = progress_bar(&progress, "shard moves done".to_owned());
    poll(host, |s| {
        progress.update(s.remaining());
        show(&bar, &progress, s.paused);
        s.remaining() == 0
    })?;
    Ok(bar)
}

fn progress_bar(progress: &Progress, what: String) -> ProgressBar {
    let style =
        ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {pos}/{len} {prefix} {msg}")
            .expect("the template is valid")
            .progress_chars("=> ");
    let bar = ProgressBar::new(progress.total)
        .with_style(style)
        .with_prefix(what);
    bar.enable_steady_tick(POLL);
    bar
}

fn show(bar: &ProgressBar, progress: &Progress, paused: bool) {
    bar.set_length(progress.total);
    bar.set_position(progress.done);
    bar.set_message(if paused { "(paused)" } else { "" });
}

/// Asks for the rebalancer's state every `POLL` until `step` returns true. A failed ask is
/// retried on a new connection, to `host` or to another node of the last answer, for up to
/// `RETRY_FOR`: a node restarting or leaving does not end the wait.
fn poll(host: &str, mut step: impl FnMut(&Status) -> bool) -> anyhow::Result<()> {
    let mut hosts = vec![host.to_owned()];
    let (mut con, mut attempt, mut failing_since) = (None, 0, None::<Instant>);
    loop {
        match fetch_from(&mut con, &hosts[attempt % hosts.len()]) {
            Ok(status) if step(&status) => return Ok(()),
            Ok(status) => {
                failing_since = None;
                hosts.truncate(1);
                hosts.extend(status.nodes.into_iter().map(|n| n.client));
            }
            Err(e) => {
                attempt += 1;
                if failing_since.get_or_insert_with(Instant::now).elapsed() > RETRY_FOR {
                    let secs = RETRY_FOR.as_secs();
                    return Err(e.context(format!("no answer from the cluster for {secs} s")));
                }
            }
        }
        sleep(POLL);
    }
}

/// The state from the node `con` is connected to, connecting to `host` first if it is not;
/// a failure drops the connection.
fn fetch_from(con: &mut Option<redis::Connection>, host: &str) -> anyhow::Result<Status> {
    let c = match con {
        Some(c) => c,
        None => con.insert(connect(host)?),
    };
    let status = fetch(c);
    if status.is_err() {
        *con = None;
    }
    status
}

fn fetch(con: &mut redis::Connection) -> anyhow::Result<Status> {
    parse(&query_status(con).map_err(server_error)?)
}

fn query_status(con: &mut redis::Connection) -> redis::RedisResult<String> {
    redis::cmd("CLUSTER")
        .arg("REBALANCE")
        .arg("STATUS")
        .query(con)
}

fn parse(text: &str) -> anyhow::Result<Status> {
    serde_json::from_str(text).context("CLUSTER REBALANCE STATUS answered with unexpected JSON")
}

/// Sends `CLUSTER <args>`, expecting +OK.
fn command(con: &mut redis::Connection, args: &[&str]) -> anyhow::Result<()> {
    redis::cmd("CLUSTER")
        .arg(args)
        .query::<()>(con)
        .map_err(server_error)
}

/// A Redis error in the server's words ("ERR Unknown node 9"), other errors as they are.
pub(super) fn server_error(e: redis::RedisError) -> anyhow::Error {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => anyhow!("{code} {detail}"),
        _ => anyhow!(e),
    }
}

/// The id of the node that `arg` names: a decimal id, a 40-hex name or a client address.
fn resolve(nodes: &[Node], arg: &str) -> anyhow::Result<u64> {
    let found = if arg.len() == 40 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
        nodes.iter().find(|n| n.name.eq_ignore_ascii_case(arg))
    } else if arg.contains(':') {
        nodes.iter().find(|n| n.client == arg)
    } else {
        let id: u64 = arg.parse().map_err(|_| {
            anyhow!("{arg:?} is not a node id, a 40-hex node name or a host:port address")
        })?;
        nodes.iter().find(|n| n.id == id)
    };
    found.map(|n| n.id).with_context(|| {
        format!("no node {arg} in the cluster (`ringkv cluster status` lists them)")
    })
}

/// What `rebalance --dry-run --json` prints: the moves, each with its kind.
#[derive(Serialize)]
struct Plan<'a> {
    moving: Vec<PlannedMove<'a>>,
    pending: Vec<PlannedMove<'a>>,
}

/// A move with its kind.
#[derive(Serialize)]
struct PlannedMove<'a> {
    #[serde(flatten)]
    step: &'a Move,
    kind: Kind,
}

fn plan_json(status: &Status) -> serde_json::Result<String> {
    fn with_kinds(moves: &[Move]) -> Vec<PlannedMove<'_>> {
        moves
            .iter()
            .map(|m| PlannedMove {
                step: m,
                kind: m.kind(),
            })
            .collect()
    }
    serde_json::to_string_pretty(&Plan {
        moving: with_kinds(&status.moving),
        pending: with_kinds(&status.pending),
    })
}

/// The moves under way, then those planned, each as a table; or a line saying there are none.
fn plan_table(status: &Status) -> String {
    if status.remaining() == 0 {
        return "balanced: no shard moves planned or under way".to_owned();
    }
    let nodes = |ids: &[u64]| ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let part = |title: &str, moves: &[Move]| {
        let rows = moves.iter().map(|m| {
            let kind = match m.kind() {
                Kind::Move => "move",
                Kind::Leader => "leader",
            };
            vec![
                m.shard.to_string(),
                m.slots.clone(),
                nodes(&m.from),
                nodes(&m.to),
                kind.into(),
            ]
        });
        let header = ["shard", "slots", "from", "to", "kind"];
        format!("{title} ({}):\n{}", moves.len(), table(&header, rows))
    };
    [("under way", &status.moving), ("planned", &status.pending)]
        .into_iter()
        .filter(|(_, moves)| !moves.is_empty())
        .map(|(title, moves)| part(title, moves))
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
#[path = "rebalance_tests.rs"]
mod tests;
