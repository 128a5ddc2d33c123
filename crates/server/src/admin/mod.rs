//! Connection and server commands, which act on the session or the server rather than on
//! data: `PING`, `HELLO`, `AUTH`, `CLIENT`, `CONFIG`, `INFO`, `COMMAND`, `DEBUG`, `SHUTDOWN`, …

mod cluster;
mod commands;
mod info;

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ringkv_protocol::{Frame, ProtocolVersion};
use ringkv_shard::command::args::{is, syntax, wrong_arity};
use ringkv_shard::glob::matches;

use crate::config::ServerConfig;
use crate::dispatch::{Outcome, Session};
use crate::server::Shared;

/// The Redis version ringkv reports, for clients that adapt to the server's version.
pub(crate) const REDIS_VERSION: &str = "7.2.0";

/// Runs a connection or server command.
pub(crate) async fn run(
    shared: &Shared,
    session: &mut Session,
    name: &str,
    argv: &[Bytes],
) -> Outcome {
    let reply = match name {
        "ping" => match argv.len() {
            1 => Frame::simple("PONG"),
            2 => Frame::Bulk(argv[1].clone()),
            _ => wrong_arity("ping"),
        },
        "echo" => Frame::Bulk(argv[1].clone()),
        "quit" => return Outcome::Close(Frame::ok()),
        "hello" => hello(shared, session, argv),
        "auth" => auth(shared, session, argv),
        "select" => match &argv[1][..] {
            b"0" => Frame::ok(),
            _ if ringkv_shard::number::parse_i64(&argv[1]).is_none() => {
                Frame::error("ERR value is not an integer or out of range")
            }
            _ => Frame::error("ERR DB index is out of range"),
        },
        "client" => client(shared, session, argv),
        "config" => config(shared, argv),
        "info" => info::info(shared, argv),
        "command" => commands::command(argv),
        "time" => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            Frame::Array(vec![
                Frame::bulk(now.as_secs().to_string()),
                Frame::bulk(now.subsec_micros().to_string()),
            ])
        }
        "debug" => return debug(argv).await,
        "shutdown" => return shutdown(shared, argv).await,
        "cluster" => cluster::cluster(shared, argv).await,
        "readonly" | "readwrite" | "asking" => cluster::connection_mode(shared, session, name),
        _ => ringkv_shard::command::unknown_command(argv),
    };
    Outcome::Reply(reply)
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`: makes every applied write durable and
/// ends the process, closing the connection without a reply, as Redis does. ringkv keeps
/// its data on disk as it goes (or, with the memory engine, not at all): there is no
/// snapshot to take or skip, so the options other than `ABORT` change nothing; `ABORT`
/// never finds a shutdown to abort, since none waits.
async fn shutdown(shared: &Shared, argv: &[Bytes]) -> Outcome {
    let (mut save, mut nosave, mut when, mut abort) = (false, false, false, false);
    for arg in &argv[1..] {
        match arg.to_ascii_lowercase().as_slice() {
            b"save" => save = true,
            b"nosave" => nosave = true,
            b"now" | b"force" => when = true,
            b"abort" => abort = true,
            _ => return Outcome::Reply(syntax()),
        }
    }
    if (save && nosave) || (abort && (save || nosave || when)) {
        return Outcome::Reply(syntax());
    }
    if abort {
        return Outcome::Reply(Frame::error("ERR No shutdown in progress."));
    }
    if let Err(e) = shared.persist_for_shutdown() {
        tracing::error!(error = %e, "SHUTDOWN failed: the data could not be made durable");
        return Outcome::Reply(Frame::error("ERR Errors trying to SHUTDOWN. Check logs."));
    }
    tracing::info!("SHUTDOWN asked by a client; every write is durable, exiting");
    shared.shutdown.notify_one();
    std::future::pending().await
}

/// Checks credentials against `requirepass`; Err is the reply to send. `user` is None for
/// the one-argument `AUTH <password>`. Without `requirepass` the `default` user has no
/// password, as in Redis: any password is accepted for it by name.
fn check_password(shared: &Shared, user: Option<&[u8]>, password: &[u8]) -> Result<(), Frame> {
    let wrongpass =
        || Frame::error("WRONGPASS invalid username-password pair or user is disabled.");
    match (&shared.config.read().requirepass, user) {
        (None, None) => Err(Frame::error(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        )),
        (None, Some(b"default")) => Ok(()),
        (Some(p), None | Some(b"default")) if p.as_bytes() == password => Ok(()),
        _ => Err(wrongpass()),
    }
}

fn auth(shared: &Shared, session: &mut Session, argv: &[Bytes]) -> Frame {
    let (user, password) = match argv {
        [_, password] => (None, password),
        [_, user, password] => (Some(&user[..]), password),
        _ => return syntax(),
    };
    match check_password(shared, user, password) {
        Ok(()) => {
            session.authenticated = true;
            Frame::ok()
        }
        Err(reply) => reply,
    }
}

fn hello(shared: &Shared, session: &mut Session, argv: &[Bytes]) -> Frame {
    let mut protocol = session.protocol;
    if let Some(version) = argv.get(1) {
        protocol = match ringkv_shard::number::parse_i64(version) {
            Some(2) => ProtocolVersion::Resp2,
            Some(3) => ProtocolVersion::Resp3,
            Some(_) => return Frame::error("NOPROTO unsupported protocol version"),
            None => return Frame::error("ERR Protocol version is not an integer or out of range"),
        };
    }
    let mut name = None;
    let mut i = 2;
    while i < argv.len() {
        if is(&argv[i], "auth") && i + 2 < argv.len() {
            if let Err(reply) = check_password(shared, Some(&argv[i + 1]), &argv[i + 2]) {
                return reply;
            }
            session.authenticated = true;
            i += 3;
        } else if is(&argv[i], "setname") && i + 1 < argv.len() {
            name = Some(argv[i + 1].clone());
            i += 2;
        } else {
            return Frame::error(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&argv[i])
            ));
        }
    }
    if !session.authenticated {
        return Frame::error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(name) = name {
        if let Err(reply) = set_name(session, &name) {
            return reply;
        }
    }
    session.protocol = protocol;
    let resp = if protocol == ProtocolVersion::Resp3 {
        3
    } else {
        2
    };
    session.client.resp.store(resp, Ordering::Relaxed);
    Frame::Map(vec![
        (Frame::bulk("server"), Frame::bulk("redis")),
        (Frame::bulk("version"), Frame::bulk(REDIS_VERSION)),
        (Frame::bulk("proto"), Frame::Integer(resp as i64)),
        (Frame::bulk("id"), Frame::Integer(session.client.id as i64)),
        (Frame::bulk("mode"), Frame::bulk("standalone")),
        (Frame::bulk("role"), Frame::bulk("master")),
        (Frame::bulk("modules"), Frame::Array(Vec::new())),
    ])
}

fn set_name(session: &Session, name: &[u8]) -> Result<(), Frame> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(Frame::error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    *session.client.name.lock() = String::from_utf8_lossy(name).into_owned();
    Ok(())
}

fn client(shared: &Shared, session: &mut Session, argv: &[Bytes]) -> Frame {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    let arity_ok = match sub.as_str() {
        "setname" => argv.len() == 3,
        "getname" | "id" | "info" => argv.len() == 2,
        "list" => argv.len() == 2 || argv.len() == 4,
        "setinfo" => argv.len() == 4,
        _ => {
            return Frame::error(format!(
                "ERR unknown subcommand '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(&argv[1])
            ))
        }
    };
    if !arity_ok {
        return wrong_arity(&format!("client|{sub}"));
    }
    match sub.as_str() {
        "setname" => set_name(session, &argv[2]).map_or_else(|e| e, |()| Frame::ok()),
        "getname" => {
            let name = session.client.name.lock().clone();
            if name.is_empty() {
                Frame::Null
            } else {
                Frame::bulk(name)
            }
        }
        "id" => Frame::Integer(session.client.id as i64),
        "info" => Frame::Verbatim(Bytes::from(session.client.describe() + "\n")),
        "setinfo" => Frame::ok(),
        _ => Frame::Verbatim(Bytes::from(shared.clients.list())),
    }
}

fn config(shared: &Shared, argv: &[Bytes]) -> Frame {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "get" if argv.len() >= 3 => {
            let config = shared.config.read();
            let mut out = Vec::new();
            for name in ServerConfig::NAMES {
                if argv[2..]
                    .iter()
                    .any(|p| matches(&p.to_ascii_lowercase(), name.as_bytes()))
                {
                    out.push((
                        Frame::bulk(name),
                        Frame::bulk(config.get(name).unwrap_or_default()),
                    ));
                }
            }
            Frame::Map(out)
        }
        "set" if argv.len() >= 4 && argv.len().is_multiple_of(2) => {
            let mut updated = shared.config.read().clone();
            for pair in argv[2..].chunks_exact(2) {
                let name = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
                if let Err(why) = updated.set(&name, &String::from_utf8_lossy(&pair[1])) {
                    return Frame::error(format!("ERR {why}"));
                }
            }
            *shared.config.write() = updated;
            Frame::ok()
        }
        "get" | "set" => wrong_arity(&format!("config|{sub}")),
        _ => Frame::error(format!(
            "ERR unknown subcommand '{}'. Try CONFIG HELP.",
            String::from_utf8_lossy(&argv[1])
        )),
    }
}

async fn debug(argv: &[Bytes]) -> Outcome {
    if is(&argv[1], "sleep") && argv.len() == 3 {
        let seconds = match ringkv_shard::number::parse_f64(&argv[2]) {
            Some(s) if (0.0..=3600.0).contains(&s) => s,
            _ => return Outcome::Reply(Frame::error("ERR value is not a valid float")),
        };
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        return Outcome::Reply(Frame::ok());
    }
    Outcome::Reply(Frame::error(format!(
        "ERR unknown subcommand '{}'. Try DEBUG HELP.",
        String::from_utf8_lossy(&argv[1])
    )))
}
