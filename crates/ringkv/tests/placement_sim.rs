//! `ringkv cluster placement-sim`: the table and the JSON it prints, and one-line errors for
//! bad arguments.

use std::process::{Command, Output};

fn placement_sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringkv"))
        .args(["cluster", "placement-sim"])
        .args(args)
        .env("RINGKV_LOG", "off")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The data rows of the table: lines that start with a strategy name.
fn table_rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .filter(|l| {
            ["ketama ", "jump ", "balanced "]
                .iter()
                .any(|s| l.starts_with(s))
        })
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn the_table_has_a_row_per_size_and_strategy() {
    let table = stdout(&placement_sim(&[
        "--nodes",
        "3..6",
        "--shards",
        "64",
        "--replicas",
        "3",
    ]));
    assert!(table.contains("strategy  nodes  load  leaders"), "{table}");
    let rows = table_rows(&table);
    assert_eq!(rows.len(), 12, "{table}");
    for (row, (nodes, strategy)) in rows
        .iter()
        .zip((3..=6).flat_map(|n| ["ketama", "jump", "balanced"].map(move |s| (n, s))))
    {
        assert_eq!(row[0], strategy);
        assert_eq!(row[1], nodes.to_string());
        let load: f64 = row[2].parse().unwrap();
        assert!(load >= 1.0, "{row:?}");
        let (moved, ideal) = row[4].split_once('/').unwrap();
        let _: (usize, usize) = (moved.parse().unwrap(), ideal.parse().unwrap());
    }
    let balanced = rows.iter().filter(|r| r[0] == "balanced");
    for row in balanced {
        let load: f64 = row[2].parse().unwrap();
        assert!(load <= 1.2, "balanced is balanced: {row:?}");
    }
}

#[test]
fn one_strategy_a_single_size_and_a_step() {
    let table = stdout(&placement_sim(&["--nodes", "10", "--strategy", "jump"]));
    let rows = table_rows(&table);
    assert_eq!(rows.len(), 1, "{table}");
    assert_eq!(rows[0][..2], ["jump", "10"]);
    let table = stdout(&placement_sim(&[
        "--nodes",
        "3..12",
        "--step",
        "4",
        "--strategy",
        "ketama",
    ]));
    let sizes: Vec<String> = table_rows(&table)
        .into_iter()
        .map(|r| r[1].clone())
        .collect();
    assert_eq!(sizes, ["3", "7", "11", "12"]);
}

#[test]
fn json_carries_the_same_rows() {
    let args = ["--nodes", "4..5", "--weights", "equal", "--zones", "3"];
    let table = stdout(&placement_sim(&args));
    let json = stdout(&placement_sim(&[&args[..], &["--json"]].concat()));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["shards"], 64);
    assert_eq!(report["replicas"], 3);
    assert_eq!(report["weights"], "equal");
    assert_eq!(report["zones"], 3);
    let json_rows = report["rows"].as_array().unwrap();
    let text_rows = table_rows(&table);
    assert_eq!(json_rows.len(), text_rows.len());
    for (json, text) in json_rows.iter().zip(&text_rows) {
        assert_eq!(json["strategy"], text[0].as_str());
        assert_eq!(json["nodes"].to_string(), text[1]);
        assert_eq!(
            format!("{:.2}", json["max_load_ratio"].as_f64().unwrap()),
            text[2]
        );
        let join = format!("{}/{}", json["join_moved"], json["join_ideal"]);
        assert_eq!(join, text[4]);
        let leave = format!("{}/{}", json["leave_moved"], json["leave_ideal"]);
        assert_eq!(leave, text[5]);
        assert!(json["leave_node"].as_u64().is_some());
    }
}

#[test]
fn the_same_seed_gives_the_same_output_and_another_seed_another() {
    let run = |seed: &str| stdout(&placement_sim(&["--nodes", "5..8", "--seed", seed]));
    assert_eq!(run("7"), run("7"));
    assert_ne!(run("7"), run("8"));
}

#[test]
fn bad_arguments_are_one_clear_error() {
    for (args, expected) in [
        (&["--nodes", "50..3"][..], "the range 50..3 is empty"),
        (&["--nodes", "1..5"], "between 2 and 1000"),
        (&["--nodes", "abc"], "expected A..B or a number"),
        (&["--shards", "0"], "--shards"),
        (&["--shards", "20000"], "--shards"),
        (&["--replicas", "0"], "--replicas"),
        (&["--strategy", "round-robin"], "--strategy"),
        (&["--weights", "heavy"], "--weights"),
        (&["--bogus"], "--bogus"),
    ] {
        let out = placement_sim(args);
        assert!(
            matches!(out.status.code(), Some(1 | 2)),
            "{args:?}: {:?}",
            out.status
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
