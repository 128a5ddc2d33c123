//! A new node waiting to be added to a cluster (`--await-join`). Until an operator (or
//! `ringkv cluster add`) sends it `CLUSTER MEET host port [cluster-port]` naming a member,
//! it answers on its client port only PING, AUTH, QUIT and CLUSTER INFO/MYID, and tells any
//! other command that it is not in a cluster yet. Then it joins through that member like
//! `--join`.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ringkv_protocol::{Frame, ProtocolVersion, RequestParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::config::parse_addr;

/// How long a connection may stay silent while the node waits.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Serves `listener` until a client sends a valid `CLUSTER MEET`; returns the cluster
/// address (`host:cport`) of the member it named. `password` is `--requirepass`.
pub async fn await_meet(listener: &TcpListener, password: Option<String>) -> String {
    tracing::info!("waiting to be added to a cluster (CLUSTER MEET host port)");
    let (met, mut meeting) = mpsc::channel(1);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => {
                    let (met, password) = (met.clone(), password.clone());
                    connections.spawn(serve(socket, password, met));
                }
                Err(e) => tracing::warn!(error = %e, "accept failed"),
            },
            Some(seed) = meeting.recv() => {
                tracing::info!(%seed, "asked to join a cluster");
                return seed;
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Answers one client until it disconnects, sends QUIT, or a MEET succeeds.
async fn serve(mut socket: TcpStream, password: Option<String>, met: mpsc::Sender<String>) {
    let mut parser = RequestParser::new(Default::default());
    let (mut input, mut output) = (BytesMut::with_capacity(4096), BytesMut::new());
    let mut authenticated = password.is_none();
    loop {
        let argv = match parser.parse(&mut input) {
            Ok(Some(argv)) => argv,
            Ok(None) => {
                match tokio::time::timeout(IDLE_TIMEOUT, socket.read_buf(&mut input)).await {
                    Ok(Ok(n)) if n > 0 => continue,
                    _ => return,
                }
            }
            Err(e) => {
                Frame::error(e.to_string()).encode(&mut output, ProtocolVersion::Resp2);
                let _ = socket.write_all(&output).await;
                return;
            }
        };
        if argv.is_empty() {
            continue;
        }
        let (reply, step) = answer(argv, password.as_deref(), &mut authenticated);
        reply.encode(&mut output, ProtocolVersion::Resp2);
        if socket.write_all(&output).await.is_err() {
            return;
        }
        output.clear();
        match step {
            Step::Stay => {}
            Step::Close => return,
            Step::Join(seed) => {
                let _ = met.send(seed).await;
                return;
            }
        }
    }
}

/// What the connection does after a reply.
#[derive(Debug, PartialEq)]
enum Step {
    Stay,
    Close,
    Join(String),
}

/// The reply to one command of a waiting node.
fn answer(argv: &[Bytes], password: Option<&str>, authenticated: &mut bool) -> (Frame, Step) {
    let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
    let sub = argv
        .get(1)
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase());
    let reply = match (name.as_str(), sub.as_deref(), argv.len()) {
        ("quit", _, _) => return (Frame::ok(), Step::Close),
        ("ping", _, 1) => Frame::simple("PONG"),
        ("ping", _, 2) => Frame::bulk(argv[1].clone()),
        ("auth", _, 2 | 3) => auth(argv, password, authenticated),
        ("auth", _, _) => Frame::error("ERR wrong number of arguments for 'auth' command"),
        _ if !*authenticated => Frame::error("NOAUTH Authentication required."),
        ("cluster", Some("info"), 2) => Frame::bulk(
            "cluster_enabled:1\r\ncluster_state:fail\r\ncluster_slots_assigned:0\r\n\
             cluster_known_nodes:1\r\ncluster_size:0\r\ncluster_current_epoch:0\r\n",
        ),
        ("cluster", Some("meet"), 4 | 5) => match meet_seed(&argv[2..]) {
            Ok(seed) => return (Frame::ok(), Step::Join(seed)),
            Err(e) => Frame::error(e),
        },
        ("cluster", Some("meet"), _) => {
            Frame::error("ERR wrong number of arguments for 'cluster|meet' command")
        }
        _ => Frame::error(
            "CLUSTERDOWN This node is waiting to be added to a cluster: \
             CLUSTER MEET <host> <port> [<cluster-port>], or ringkv cluster add",
        ),
    };
    (reply, Step::Stay)
}

/// `AUTH [default] <password>` against `--requirepass`.
fn auth(argv: &[Bytes], password: Option<&str>, authenticated: &mut bool) -> Frame {
    let given = &argv[argv.len() - 1];
    match password {
        None if argv.len() == 2 => Frame::error(
            "ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        ),
        Some(p) if given.as_ref() != p.as_bytes() => {
            Frame::error("WRONGPASS invalid username-password pair or user is disabled.")
        }
        _ if argv.len() == 3 && !argv[1].eq_ignore_ascii_case(b"default") => {
            Frame::error("WRONGPASS invalid username-password pair or user is disabled.")
        }
        _ => {
            *authenticated = true;
            Frame::ok()
        }
    }
}

/// The member's cluster address from `host port [cluster-port]`.
fn meet_seed(args: &[Bytes]) -> Result<String, String> {
    let text: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let invalid = || {
        format!(
            "ERR Invalid node address specified: {}:{}",
            text[0], text[1]
        )
    };
    let addr = match text.get(2) {
        Some(cport) => format!("{}:{}@{cport}", text[0], text[1]),
        None => format!("{}:{}", text[0], text[1]),
    };
    let (host, _, cluster_port) = parse_addr(&addr).map_err(|_| invalid())?;
    Ok(format!("{host}:{cluster_port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], password: Option<&str>, authenticated: &mut bool) -> (Frame, Step) {
        let argv: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
        answer(&argv, password, authenticated)
    }

    #[test]
    fn meet_names_the_members_cluster_address() {
        let mut auth = true;
        let (reply, step) = run(&["CLUSTER", "MEET", "127.0.0.1", "7001"], None, &mut auth);
        assert_eq!(
            (reply, step),
            (Frame::ok(), Step::Join("127.0.0.1:17001".into()))
        );
        let (_, step) = run(&["cluster", "meet", "h", "7001", "9000"], None, &mut auth);
        assert_eq!(step, Step::Join("h:9000".into()));
    }

    #[test]
    fn bad_meets_and_other_commands_are_refused() {
        let mut auth = true;
        let (reply, step) = run(&["CLUSTER", "MEET", "h", "x"], None, &mut auth);
        assert_eq!(
            reply,
            Frame::error("ERR Invalid node address specified: h:x")
        );
        assert_eq!(step, Step::Stay);
        let (reply, _) = run(&["cluster", "meet", "h", "60000"], None, &mut auth);
        assert_eq!(
            reply,
            Frame::error("ERR Invalid node address specified: h:60000")
        );
        let (reply, _) = run(&["CLUSTER", "MEET", "h"], None, &mut auth);
        assert_eq!(
            reply,
            Frame::error("ERR wrong number of arguments for 'cluster|meet' command")
        );
        let (reply, _) = run(&["GET", "k"], None, &mut auth);
        assert!(matches!(reply, Frame::Error(e) if e.starts_with(b"CLUSTERDOWN ")));
    }

    #[test]
    fn a_password_guards_meet() {
        let mut auth = false;
        let meet = ["CLUSTER", "MEET", "h", "1"];
        let (reply, _) = run(&meet, Some("pw"), &mut auth);
        assert_eq!(reply, Frame::error("NOAUTH Authentication required."));
        let (reply, _) = run(&["AUTH", "nope"], Some("pw"), &mut auth);
        assert!(matches!(reply, Frame::Error(e) if e.starts_with(b"WRONGPASS")));
        assert_eq!(run(&["AUTH", "pw"], Some("pw"), &mut auth).0, Frame::ok());
        assert_eq!(
            run(&meet, Some("pw"), &mut auth).1,
            Step::Join("h:10001".into())
        );
    }
}
