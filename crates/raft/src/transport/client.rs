//! The calling side of the transport: one connection per peer node, shared by every group,
//! reconnected on demand. A writer task sends every frame queued at the moment in one write.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::{auth, decode_response, encode_request, take_frame, Kind, Status};
use crate::types::{GroupId, NodeId};

/// Why a call got no answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The peer could not be reached or the connection broke.
    #[error("peer {addr} unreachable: {reason}")]
    Unreachable {
        /// Peer's cluster address.
        addr: String,
        /// Cause.
        reason: String,
    },
    /// No answer in time.
    #[error("peer {0} did not answer in time")]
    Timeout(String),
    /// The peer answered with an error status.
    #[error("peer {addr} answered {status:?}")]
    Refused {
        /// Peer's cluster address.
        addr: String,
        /// Its answer.
        status: Status,
    },
}

/// Calls waiting for their answer, by request id; `None` once the connection has broken,
/// so that no call waits on it any more.
type Pending = Arc<Mutex<Option<HashMap<u64, oneshot::Sender<(Status, Bytes)>>>>>;

struct Conn {
    tx: mpsc::UnboundedSender<BytesMut>,
    pending: Pending,
}

/// A peer node, as the target of RPCs.
pub struct Peer {
    addr: String,
    /// The node meant at `addr`; None: whichever answers there.
    node: Option<NodeId>,
    secret: Option<Arc<[u8]>>,
    conn: tokio::sync::Mutex<Option<Arc<Conn>>>,
    next_id: AtomicU64,
}

impl Peer {
    /// Node `node` (None: whichever node is there) at cluster address `addr`; nothing
    /// connects until the first call, and a connection to another node is refused.
    pub fn new(addr: String, node: Option<NodeId>, secret: Option<Arc<[u8]>>) -> Peer {
        Peer {
            addr,
            node,
            secret,
            conn: tokio::sync::Mutex::new(None),
            next_id: AtomicU64::new(1),
        }
    }

    /// Sends one RPC to `group` on this peer and waits up to `timeout` for the answer.
    pub async fn call(
        &self,
        group: GroupId,
        kind: Kind,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<Bytes, CallError> {
        let conn = tokio::time::timeout(timeout, self.connection())
            .await
            .map_err(|_| CallError::Timeout(self.addr.clone()))??;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        match conn.pending.lock().as_mut() {
            Some(pending) => pending.insert(id, tx),
            None => return Err(self.unreachable("connection closed")),
        };
        let mut frame = BytesMut::with_capacity(17 + payload.len());
        encode_request(&mut frame, id, group, kind, payload);
        if conn.tx.send(frame).is_err() {
            forget(&conn.pending, id);
            return Err(self.unreachable("connection closed"));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok((Status::Ok, body))) => Ok(body),
            Ok(Ok((status, _))) => Err(CallError::Refused {
                addr: self.addr.clone(),
                status,
            }),
            Ok(Err(_)) => Err(self.unreachable("connection closed")),
            Err(_) => {
                forget(&conn.pending, id);
                Err(CallError::Timeout(self.addr.clone()))
            }
        }
    }

    fn unreachable(&self, reason: impl ToString) -> CallError {
        CallError::Unreachable {
            addr: self.addr.clone(),
            reason: reason.to_string(),
        }
    }

    async fn connection(&self) -> Result<Arc<Conn>, CallError> {
        let mut slot = self.conn.lock().await;
        let open = |c: &&Arc<Conn>| !c.tx.is_closed() && c.pending.lock().is_some();
        if let Some(conn) = slot.as_ref().filter(open) {
            return Ok(conn.clone());
        }
        let mut stream = TcpStream::connect(&self.addr)
            .await
            .map_err(|e| self.unreachable(e))?;
        let _ = stream.set_nodelay(true);
        auth::respond(&mut stream, self.secret.as_deref(), self.node)
            .await
            .map_err(|e| self.unreachable(e))?;
        let (read, write) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        tokio::spawn(write_frames(write, rx));
        tokio::spawn(read_responses(read, pending.clone()));
        let conn = Arc::new(Conn { tx, pending });
        *slot = Some(conn.clone());
        Ok(conn)
    }
}

/// Stops waiting for the answer to call `id`.
fn forget(pending: &Pending, id: u64) {
    if let Some(pending) = pending.lock().as_mut() {
        pending.remove(&id);
    }
}

/// Writes queued frames, everything waiting at once in one write.
pub(crate) async fn write_frames(
    mut socket: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<BytesMut>,
) {
    while let Some(mut out) = rx.recv().await {
        while let Ok(more) = rx.try_recv() {
            out.extend_from_slice(&more);
        }
        if socket.write_all(&out).await.is_err() {
            return;
        }
    }
}

async fn read_responses(mut socket: OwnedReadHalf, pending: Pending) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        loop {
            match take_frame(&mut buf) {
                Ok(Some(body)) => {
                    if let Some((id, status, payload)) = decode_response(body) {
                        let waiting = pending.lock().as_mut().and_then(|p| p.remove(&id));
                        if let Some(tx) = waiting {
                            let _ = tx.send((status, payload));
                        }
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    pending.lock().take();
                    return;
                }
            }
        }
        match socket.read_buf(&mut buf).await {
            Ok(n) if n > 0 => {}
            _ => {
                pending.lock().take();
                return;
            }
        }
    }
}
