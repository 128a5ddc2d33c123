//! `COMMAND`, `COMMAND COUNT/INFO/DOCS/LIST/GETKEYS`: the command table as Redis clients
//! and redis-cli read it.

use bytes::Bytes;
use ringkv_protocol::Frame;
use ringkv_shard::command::args::wrong_arity;
use ringkv_shard::command::{lookup, CommandSpec, COMMANDS};

/// Runs `COMMAND` and its subcommands.
pub(super) fn command(argv: &[Bytes]) -> Frame {
    let Some(sub) = argv.get(1) else {
        return Frame::Array(COMMANDS.iter().map(info).collect());
    };
    let sub = String::from_utf8_lossy(sub).to_ascii_lowercase();
    match sub.as_str() {
        "count" => Frame::Integer(COMMANDS.len() as i64),
        "info" => {
            let specs: Vec<Frame> = match argv.len() {
                2 => COMMANDS.iter().map(info).collect(),
                _ => argv[2..]
                    .iter()
                    .map(|n| lookup(n).map_or(Frame::NullArray, info))
                    .collect(),
            };
            Frame::Array(specs)
        }
        "docs" => {
            let specs: Vec<&CommandSpec> = match argv.len() {
                2 => COMMANDS.iter().collect(),
                _ => argv[2..].iter().filter_map(|n| lookup(n)).collect(),
            };
            Frame::Map(
                specs
                    .into_iter()
                    .map(|s| (Frame::bulk(s.name), docs(s)))
                    .collect(),
            )
        }
        "list" => Frame::Array(COMMANDS.iter().map(|s| Frame::bulk(s.name)).collect()),
        "getkeys" if argv.len() >= 3 => match lookup(&argv[2]) {
            None => Frame::error("ERR Invalid command specified"),
            Some(spec) if !spec.arity_ok(argv.len() - 2) => {
                Frame::error("ERR Invalid number of arguments specified for command")
            }
            Some(spec) => {
                let keys: Vec<Frame> = spec
                    .keys(&argv[2..])
                    .map(|k| Frame::Bulk(k.clone()))
                    .collect();
                if keys.is_empty() {
                    Frame::error("ERR The command has no key arguments")
                } else {
                    Frame::Array(keys)
                }
            }
        },
        "getkeys" => wrong_arity("command|getkeys"),
        _ => Frame::error(format!(
            "ERR unknown subcommand '{}'. Try COMMAND HELP.",
            String::from_utf8_lossy(&argv[1])
        )),
    }
}

/// One `COMMAND INFO` entry.
fn info(spec: &CommandSpec) -> Frame {
    Frame::Array(vec![
        Frame::bulk(spec.name),
        Frame::Integer(i64::from(spec.arity)),
        Frame::Set(spec.flags.iter().map(|f| Frame::simple(f)).collect()),
        Frame::Integer(i64::from(spec.first_key)),
        Frame::Integer(i64::from(spec.last_key)),
        Frame::Integer(i64::from(spec.step)),
        Frame::Set(Vec::new()),
        Frame::Set(Vec::new()),
        Frame::Array(Vec::new()),
        Frame::Array(Vec::new()),
    ])
}

/// One `COMMAND DOCS` entry.
fn docs(spec: &CommandSpec) -> Frame {
    Frame::Map(vec![
        (Frame::bulk("summary"), Frame::bulk(spec.summary)),
        (Frame::bulk("since"), Frame::bulk(spec.since)),
        (Frame::bulk("group"), Frame::bulk(spec.family.name())),
    ])
}
