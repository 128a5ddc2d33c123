//! Running one request: find the command, check arity and authentication, then either run
//! it here (server and connection commands) or plan it in the shard's command layer and
//! propose its mutation.

use std::sync::Arc;
use std::time::Instant;

use crate::clients::ClientInfo;
use crate::cluster::Route;
use crate::server::Shared;
use bytes::Bytes;
use ringkv_protocol::{Frame, ProtocolVersion};
use ringkv_shard::command::{self, args::wrong_arity, CommandSpec, Ctx, Family, Plan};
use ringkv_shard::Mutation;

/// Per-connection state that commands can change.
pub(crate) struct Session {
    pub client: Arc<ClientInfo>,
    pub protocol: ProtocolVersion,
    pub authenticated: bool,
    /// `READONLY` was sent: reads may be served by a follower replica.
    pub readonly: bool,
    /// When the requests now running were read from the client: a read in a cluster must
    /// see every write acknowledged before then.
    pub arrived: Instant,
}

/// What running a request produced.
pub(crate) enum Outcome {
    /// A reply computed from data already visible: flush only after that data is durable.
    Read(Frame),
    /// A write to propose (to the shard of `route` in a cluster); its reply is known once it
    /// is applied and durable.
    Write(Option<Route>, Mutation),
    /// A reply that depends on no data (errors, server commands).
    Reply(Frame),
    /// Reply, then close the connection.
    Close(Frame),
}

/// Runs one request: `spec` is its command as [`command::lookup`] found it (None: unknown),
/// and `now` the clock its reads and writes use.
pub(crate) async fn execute(
    shared: &Shared,
    session: &mut Session,
    spec: Option<&'static CommandSpec>,
    argv: &[Bytes],
    now: u64,
) -> Outcome {
    let Some(spec) = spec else {
        return Outcome::Reply(command::unknown_command(argv));
    };
    if !session.authenticated && !matches!(spec.name, "auth" | "hello" | "quit") {
        return Outcome::Reply(Frame::error("NOAUTH Authentication required."));
    }
    if !spec.arity_ok(argv.len()) {
        return Outcome::Reply(wrong_arity(spec.name));
    }
    *session.client.last_command.lock() = spec.name;
    if matches!(spec.family, Family::Connection | Family::Server) && spec.handler.is_none() {
        return crate::admin::run(shared, session, spec.name, argv).await;
    }
    let route = match shared.log.cluster() {
        Some(cluster) => match cluster
            .route(spec, argv, session.readonly, session.arrived)
            .await
        {
            Ok(route) => route,
            Err(refusal) => return Outcome::Reply(refusal),
        },
        None => None,
    };
    let ctx = Ctx {
        reader: &shared.reader,
        now,
    };
    match command::plan(spec, &ctx, argv) {
        Plan::Reply(frame @ Frame::Error(_)) => Outcome::Reply(frame),
        Plan::Reply(frame) => Outcome::Read(frame),
        Plan::Write(mutation) => {
            if spec.flags.contains(&"denyoom") {
                if let Err(oom) = crate::eviction::make_room(shared).await {
                    return Outcome::Reply(oom);
                }
            }
            Outcome::Write(route, mutation)
        }
    }
}
