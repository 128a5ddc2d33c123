//! One client connection: read what the client sent, run every complete request in order,
//! and write all the replies of that batch with one flush.
//!
//! Consecutive writes are proposed as one group and their replies awaited together, so a
//! pipeline of writes takes the log's lock once and shares one fsync. Any other command waits for the writes before it
//! runs, so a pipeline always sees its own writes. A client that leaves its replies unread stops
//! being read (back-pressure) and is disconnected after `client-output-timeout`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use ringkv_protocol::{Frame, Limits, ProtocolVersion, RequestParser};
use ringkv_shard::{command, Mutation};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::Instrument;

use crate::cluster::Route;
use crate::dispatch::{execute, Outcome, Session};
use crate::server::{now_ms, Shared};
use crate::stats::Stats;

/// Initial size of the read and write buffers.
const BUFFER: usize = 16 * 1024;
/// Encoded replies held before they are written out mid-batch.
const FLUSH_AT: usize = 256 * 1024;
/// Most writes of a pipeline proposed as one group.
const MAX_GROUP: usize = 1024;

/// Serves one client until it disconnects.
pub(crate) async fn serve(shared: Arc<Shared>, socket: TcpStream, addr: SocketAddr) {
    Stats::add(&shared.stats.connections_received, 1);
    let _ = socket.set_nodelay(true);
    let laddr = socket.local_addr().unwrap_or(shared.local_addr);
    let mut conn = Connection {
        socket,
        out: BytesMut::with_capacity(BUFFER),
        written: 0,
    };
    if shared.clients.len() >= shared.config.read().maxclients {
        Stats::add(&shared.stats.rejected_connections, 1);
        conn.out
            .extend_from_slice(b"-ERR max number of clients reached\r\n");
        let _ = conn.flush(Duration::from_secs(1)).await;
        return;
    }
    let client = shared.clients.register(addr, laddr);
    let authenticated = shared.config.read().requirepass.is_none();
    let mut session = Session {
        client: client.clone(),
        protocol: ProtocolVersion::Resp2,
        authenticated,
        readonly: false,
        arrived: Instant::now(),
    };
    let span = tracing::debug_span!("client", id = client.id, %addr);
    if let Err(e) = conn
        .run(&shared, &mut session)
        .instrument(span.clone())
        .await
    {
        span.in_scope(|| tracing::debug!(error = %e, "connection closed"));
    }
    Stats::add(&shared.stats.net_output_bytes, conn.written);
    shared.clients.unregister(client.id);
}

struct Connection {
    socket: TcpStream,
    out: BytesMut,
    written: u64,
}

impl Connection {
    async fn run(&mut self, shared: &Shared, session: &mut Session) -> std::io::Result<()> {
        let mut input = BytesMut::with_capacity(BUFFER);
        let mut parser = RequestParser::new(Limits::default());
        let mut writes: Vec<(Option<Route>, Mutation)> = Vec::new();
        loop {
            let n = self.socket.read_buf(&mut input).await?;
            if n == 0 {
                return Ok(());
            }
            Stats::add(&shared.stats.net_input_bytes, n as u64);
            session.arrived = Instant::now();
            let timeout = Duration::from_secs(shared.config.read().client_output_timeout.max(1));
            let now = now_ms();
            // The position of the last write this batch's replies may depend on: nothing is
            // sent before it is durable.
            let mut seen = 0;
            let mut commands = 0;
            let mut close = false;
            loop {
                let argv = match parser.parse(&mut input) {
                    Ok(Some(argv)) => argv,
                    Ok(None) => break,
                    Err(e) => {
                        self.resolve(shared, &mut writes, now, &mut seen, session.protocol)
                            .await;
                        Frame::error(format!("ERR {e}")).encode(&mut self.out, session.protocol);
                        close = true;
                        break;
                    }
                };
                commands += 1;
                let spec = command::lookup(&argv[0]);
                let is_write = spec.is_some_and(|s| s.is_write());
                if !writes.is_empty() && (!is_write || writes.len() >= MAX_GROUP) {
                    self.resolve(shared, &mut writes, now, &mut seen, session.protocol)
                        .await;
                }
                match execute(shared, session, spec, argv, now).await {
                    Outcome::Write(route, mutation) => writes.push((route, mutation)),
                    Outcome::Read(frame) => {
                        seen = seen.max(shared.log.visible());
                        frame.encode(&mut self.out, session.protocol);
                    }
                    Outcome::Reply(frame) => {
                        self.resolve(shared, &mut writes, now, &mut seen, session.protocol)
                            .await;
                        frame.encode(&mut self.out, session.protocol);
                    }
                    Outcome::Close(frame) => {
                        self.resolve(shared, &mut writes, now, &mut seen, session.protocol)
                            .await;
                        frame.encode(&mut self.out, session.protocol);
                        close = true;
                        break;
                    }
                }
                if writes.is_empty() && self.out.len() >= FLUSH_AT {
                    self.flush_durable(shared, seen, timeout).await?;
                }
            }
            Stats::add(&shared.stats.commands_processed, commands);
            self.resolve(shared, &mut writes, now, &mut seen, session.protocol)
                .await;
            self.flush_durable(shared, seen, timeout).await?;
            if close {
                return Ok(());
            }
            session.client.last_active_ms.store(
                session.client.created.elapsed().as_millis() as u64,
                Ordering::Relaxed,
            );
        }
    }

    /// Proposes the writes gathered so far as one group, waits for their replies and encodes
    /// them in order; `seen` grows to cover them.
    async fn resolve(
        &mut self,
        shared: &Shared,
        writes: &mut Vec<(Option<Route>, Mutation)>,
        now: u64,
        seen: &mut u64,
        protocol: ProtocolVersion,
    ) {
        if writes.is_empty() {
            return;
        }
        for proposed in shared.log.propose_all(writes.drain(..), now) {
            for frame in proposed.replies().await {
                frame.encode(&mut self.out, protocol);
            }
        }
        *seen = (*seen).max(shared.log.visible());
    }

    /// Flushes the replies once every write up to `seen` is durable. If persisting failed,
    /// they are never sent: the connection is closed instead.
    async fn flush_durable(
        &mut self,
        shared: &Shared,
        seen: u64,
        timeout: Duration,
    ) -> std::io::Result<()> {
        if !shared.log.wait_durable(seen).await {
            return Err(std::io::Error::other("writes could not be made durable"));
        }
        self.flush(timeout).await
    }

    /// Writes the encoded replies; a client that reads none of them for `timeout` is dropped.
    /// Replies that fit in the socket's buffer are written at once, without arming a timer.
    ///
    /// First the task yields, so that the other connections its thread has ready run their
    /// requests before any of the replies goes out, as redis-server writes the replies of an
    /// event-loop round together before it waits for more. Replies written one by one between
    /// requests each woke a client thread that had gone back to sleep (`sock_def_readable`,
    /// 15% of a one-thread node's CPU under `SET -P 16`, against 4% when they go out
    /// together: `docs/single-node.md`).
    async fn flush(&mut self, timeout: Duration) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        tokio::task::yield_now().await;
        let sent = match self.socket.try_write(&self.out) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e),
        };
        self.written += sent as u64;
        if sent == self.out.len() {
            self.out.clear();
            return Ok(());
        }
        self.out.advance(sent);
        match tokio::time::timeout(timeout, self.socket.write_all(&self.out)).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "client did not read its replies",
                ));
            }
        }
        self.written += self.out.len() as u64;
        self.out.clear();
        if self.out.capacity() > 4 * FLUSH_AT {
            self.out = BytesMut::with_capacity(BUFFER);
        }
        Ok(())
    }
}
