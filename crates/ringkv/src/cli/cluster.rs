//! `ringkv cluster …`: cluster administration from the command line. `status`, `nodes` and
//! `shards` ask a running node (`--host`, see `cluster_admin`); `add` brings a waiting node
//! in (see `add`); `rebalance`, `pause`, `resume` and `remove` steer the rebalancer through
//! it (see `rebalance`); `placement-sim` compares the placement strategies on simulated
//! clusters: the work is done by `ringkv_cluster::placement::sim`, this file only reads the
//! arguments and prints the rows as a table or as JSON.

mod add;
pub(super) mod rebalance;

use std::fmt::Write as _;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use ringkv_cluster::placement::sim::{simulate, SimConfig, SimRow, Weights, MAX_RANDOM_WEIGHT};
use ringkv_cluster::placement::MAX_SHARDS;
use ringkv_cluster::Strategy;
use serde::Serialize;

use super::cluster_admin::{self, Query};

/// The largest simulated cluster.
const MAX_NODES: usize = 1000;

/// Settings of `ringkv cluster`.
#[derive(Args, Debug)]
pub struct ClusterArgs {
    /// A node of the cluster to ask, host:port (its client port).
    #[arg(long, global = true, default_value = "127.0.0.1:6379")]
    host: String,
    #[command(subcommand)]
    command: ClusterCommand,
}

/// Subcommands of `ringkv cluster`.
#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// The cluster's state, its nodes and shards, how many shards each node leads, and the
    /// rebalancer's state with every node's load.
    Status(StatusArgs),
    /// Every node: id, address, flags, and the slot ranges it leads.
    Nodes(OutputArgs),
    /// Every shard: its slots, leader, replicas and health.
    Shards(OutputArgs),
    /// Compare placement strategies on simulated clusters: how evenly each spreads replicas,
    /// and how many replicas move when a node joins or leaves, against the ideal minimum.
    PlacementSim(PlacementSimArgs),
    /// Move shards toward an even spread over the nodes, or with --dry-run show the moves.
    Rebalance(RebalanceArgs),
    /// Start no new shard moves until `resume`; moves under way finish.
    Pause,
    /// Let shard moves start again.
    Resume,
    /// Add a node started with --await-join: it joins, then replicas move onto it.
    Add(AddArgs),
    /// Drain a node: its replicas move to other nodes, then it leaves the cluster.
    Remove(RemoveArgs),
}

/// How `status`, `nodes` and `shards` print.
#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Settings of `ringkv cluster status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    output: OutputArgs,
    /// Then show the rebalancing progress until no shard move is planned or under way.
    #[arg(long)]
    watch: bool,
}

/// Settings of `ringkv cluster rebalance`.
#[derive(Args, Debug)]
pub struct RebalanceArgs {
    /// Only show the shard moves planned and under way; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Most shard moves at once, from now on.
    #[arg(long, value_name = "N", conflicts_with = "dry_run",
        value_parser = clap::value_parser!(u32).range(1..))]
    max_moves: Option<u32>,
    /// Show progress until every shard move is done.
    #[arg(long, conflicts_with = "dry_run")]
    wait: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Settings of `ringkv cluster add`.
#[derive(Args, Debug)]
pub struct AddArgs {
    /// The new node's client address, host:port.
    node: String,
    /// Show progress until the replicas that move onto it are there.
    #[arg(long)]
    wait: bool,
}

/// Settings of `ringkv cluster remove`.
#[derive(Args, Debug)]
pub struct RemoveArgs {
    /// The node: its id, its 40-hex name, or its client address host:port.
    node: String,
    /// Show progress until the node has handed off its replicas and is gone.
    #[arg(long)]
    wait: bool,
}

impl ClusterArgs {
    /// Runs the subcommand, printing to stdout.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            ClusterCommand::Status(s) => {
                cluster_admin::run(&self.host, Query::Status, s.output.json)?;
                match s.watch {
                    true => rebalance::watch(&self.host),
                    false => Ok(()),
                }
            }
            ClusterCommand::Nodes(o) => cluster_admin::run(&self.host, Query::Nodes, o.json),
            ClusterCommand::Shards(o) => cluster_admin::run(&self.host, Query::Shards, o.json),
            ClusterCommand::PlacementSim(args) => args.run(),
            ClusterCommand::Rebalance(r) if r.dry_run => rebalance::dry_run(&self.host, r.json),
            ClusterCommand::Rebalance(r) => {
                rebalance::start(&self.host, r.max_moves, r.wait, r.json)
            }
            ClusterCommand::Pause => rebalance::set_paused(&self.host, true),
            ClusterCommand::Resume => rebalance::set_paused(&self.host, false),
            ClusterCommand::Add(a) => add::add(&self.host, &a.node, a.wait),
            ClusterCommand::Remove(r) => rebalance::remove(&self.host, &r.node, r.wait),
        }
    }
}

/// Settings of `ringkv cluster placement-sim`.
#[derive(Args, Debug)]
pub struct PlacementSimArgs {
    /// Cluster sizes: A..B (both included) or a single number, from 2 to 1000.
    #[arg(long, default_value = "3..12", value_name = "A..B", value_parser = parse_node_range)]
    nodes: NodeRange,
    /// Report every STEP-th size of the range (the last one always).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    step: u32,
    /// Shards in the cluster.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_SHARDS)))]
    shards: u32,
    /// Replicas per shard (capped at the number of nodes).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=16))]
    replicas: u32,
    /// Strategy to simulate, or all of them.
    #[arg(long, value_enum, default_value_t = StrategyChoice::All)]
    strategy: StrategyChoice,
    /// Node weights: random (1 to 4) or equal.
    #[arg(long, value_enum, default_value_t = WeightChoice::Random)]
    weights: WeightChoice,
    /// Zones the nodes are spread over, round-robin.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    zones: u32,
    /// Seed of the random weights and of which node leaves.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// `--strategy`: one strategy or all.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum StrategyChoice {
    Ketama,
    Jump,
    Balanced,
    All,
}

/// `--weights`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum WeightChoice {
    Random,
    Equal,
}

/// An inclusive range of cluster sizes.
#[derive(Clone, Copy, Debug)]
struct NodeRange {
    first: usize,
    last: usize,
}

fn parse_node_range(text: &str) -> Result<NodeRange, String> {
    let number = |part: &str| {
        part.trim()
            .parse::<usize>()
            .map_err(|_| format!("expected A..B or a number, like 3..50, not {text:?}"))
    };
    let (first, last) = match text.split_once("..") {
        Some((a, b)) => (number(a)?, number(b)?),
        None => (number(text)?, number(text)?),
    };
    if first > last {
        return Err(format!("the range {first}..{last} is empty"));
    }
    if first < 2 || last > MAX_NODES {
        return Err(format!(
            "node counts must be between 2 and {MAX_NODES} (one node leaves)"
        ));
    }
    Ok(NodeRange { first, last })
}

/// What `--json` prints: the settings, then one object per row.
#[derive(Serialize)]
struct Report<'a> {
    shards: u32,
    replicas: u32,
    weights: &'static str,
    zones: u32,
    seed: u64,
    rows: &'a [SimRow],
}

impl PlacementSimArgs {
    fn run(self) -> anyhow::Result<()> {
        let rows = simulate(&self.config()).context("placement simulation failed")?;
        let output = match self.json {
            true => serde_json::to_string_pretty(&Report {
                shards: self.shards,
                replicas: self.replicas,
                weights: self.weights_name(),
                zones: self.zones,
                seed: self.seed,
                rows: &rows,
            })?,
            false => self.table(&rows),
        };
        println!("{output}");
        Ok(())
    }

    fn config(&self) -> SimConfig {
        let NodeRange { first, last } = self.nodes;
        let mut node_counts: Vec<usize> = (first..=last).step_by(self.step as usize).collect();
        if node_counts.last() != Some(&last) {
            node_counts.push(last);
        }
        SimConfig {
            node_counts,
            shards: self.shards,
            replicas: self.replicas as usize,
            strategies: match self.strategy {
                StrategyChoice::Ketama => vec![Strategy::Ketama],
                StrategyChoice::Jump => vec![Strategy::Jump],
                StrategyChoice::Balanced => vec![Strategy::Balanced],
                StrategyChoice::All => Strategy::ALL.to_vec(),
            },
            weights: match self.weights {
                WeightChoice::Random => Weights::Random,
                WeightChoice::Equal => Weights::Equal,
            },
            zones: self.zones as usize,
            seed: self.seed,
        }
    }

    fn weights_name(&self) -> &'static str {
        match self.weights {
            WeightChoice::Random => "random",
            WeightChoice::Equal => "equal",
        }
    }

    /// The rows as an aligned table under a two-line heading.
    fn table(&self, rows: &[SimRow]) -> String {
        let weights = match self.weights {
            WeightChoice::Random => format!("random weights 1-{MAX_RANDOM_WEIGHT}"),
            WeightChoice::Equal => "equal weights".to_string(),
        };
        let mut out = format!(
            "{} shards x {} replicas, {weights}, {} zone(s), seed {}\n",
            self.shards, self.replicas, self.zones, self.seed
        );
        out.push_str(
            "load, leaders: the busiest node's count / its fair share (1.00 is perfect)\n",
        );
        out.push_str(
            "join, leave: replicas moved when a node joins / leaves, vs the ideal minimum\n\n",
        );
        out.push_str("strategy  nodes  load  leaders  join moved/ideal  leave moved/ideal\n");
        let mut previous_nodes = None;
        for row in rows {
            if previous_nodes.is_some_and(|n| n != row.nodes) && self.strategy_count() > 1 {
                out.push('\n');
            }
            previous_nodes = Some(row.nodes);
            let join = format!("{}/{}", row.join_moved, row.join_ideal);
            let leave = format!("{}/{}", row.leave_moved, row.leave_ideal);
            let _ = writeln!(
                out,
                "{:<8}  {:>5}  {:>4.2}  {:>7.2}  {:>16}  {:>17}",
                row.strategy.name(),
                row.nodes,
                row.max_load_ratio,
                row.max_leader_ratio,
                join,
                leave
            );
        }
        out.trim_end().to_string()
    }

    fn strategy_count(&self) -> usize {
        match self.strategy {
            StrategyChoice::All => Strategy::ALL.len(),
            _ => 1,
        }
    }
}
