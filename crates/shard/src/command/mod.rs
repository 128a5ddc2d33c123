//! The command layer: turns a request (`Vec<Bytes>`) into either an immediate reply (reads,
//! errors) or a [`Mutation`] to propose, with Redis's arity and syntax errors.
//!
//! One file per command family. Connection and server commands (`PING`, `CLIENT`, `INFO`,
//! …) are described in the [`table`] here but executed by the server, which owns that state.

pub mod args;
mod hashes;
mod keys;
mod strings;
pub mod table;

use bytes::Bytes;
use ringkv_protocol::Frame;

use crate::error::ShardError;
use crate::mutation::Mutation;
use crate::reader::Reader;
pub use table::{lookup, CommandSpec, Family, COMMANDS};

/// What a data command needs to run: a read view and the clock.
pub struct Ctx<'a> {
    /// Read view of the shard.
    pub reader: &'a Reader,
    /// Current Unix time in ms (reads use it for expiry; writes fix it into the mutation).
    pub now: u64,
}

/// The outcome of planning a data command.
#[derive(Debug, PartialEq)]
pub enum Plan {
    /// The reply is known now (a read, or an error).
    Reply(Frame),
    /// Propose this mutation; its apply gives the reply.
    Write(Mutation),
}

/// A data command's implementation.
pub type Handler = fn(&Ctx<'_>, &[Bytes]) -> args::Reply<Plan>;

impl From<ShardError> for Frame {
    fn from(e: ShardError) -> Frame {
        Frame::error(format!("ERR {e}"))
    }
}

/// Plans a data command already found in the table and checked for arity.
pub fn plan(spec: &CommandSpec, ctx: &Ctx<'_>, argv: &[Bytes]) -> Plan {
    match spec.handler {
        Some(handler) => handler(ctx, argv).unwrap_or_else(Plan::Reply),
        None => Plan::Reply(Frame::error(format!(
            "ERR '{}' is not a data command",
            spec.name
        ))),
    }
}

/// `ERR unknown command` in Redis's words, quoting the first arguments.
pub fn unknown_command(argv: &[Bytes]) -> Frame {
    let name = String::from_utf8_lossy(argv.first().map_or(&[][..], |a| &a[..])).into_owned();
    let mut rest = String::new();
    for a in argv.iter().skip(1).take(64) {
        rest.push('\'');
        rest.push_str(&String::from_utf8_lossy(a));
        rest.push_str("' ");
    }
    Frame::error(format!(
        "ERR unknown command '{name}', with args beginning with: {rest}"
    ))
}
