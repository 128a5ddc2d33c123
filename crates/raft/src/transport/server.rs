//! The answering side of the transport: accepts peer connections on the cluster port, checks
//! the cluster secret, and runs each request concurrently, answering in completion order.

use std::future::Future;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::client::write_frames;
use super::{auth, decode_request, encode_response, take_frame, Kind, Status};
use crate::types::{GroupId, NodeId};

/// What answers the requests of a connection.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request to `group`: a status and the serialized reply.
    fn handle(
        &self,
        group: GroupId,
        kind: Kind,
        payload: Bytes,
    ) -> impl Future<Output = (Status, Vec<u8>)> + Send;
}

/// Accepts peers on `listener` until the process ends, as node `own`.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    own: NodeId,
    secret: Option<Arc<[u8]>>,
    handler: Arc<H>,
) {
    loop {
        let (socket, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "cluster port accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let secret = secret.clone();
        let handler = handler.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_peer(socket, own, secret, handler).await {
                tracing::debug!(%addr, error = %e, "peer connection closed");
            }
        });
    }
}

async fn serve_peer<H: Handler>(
    mut socket: TcpStream,
    own: NodeId,
    secret: Option<Arc<[u8]>>,
    handler: Arc<H>,
) -> std::io::Result<()> {
    let _ = socket.set_nodelay(true);
    if let Err(e) = auth::challenge(&mut socket, secret.as_deref(), own).await {
        match e.kind() {
            std::io::ErrorKind::PermissionDenied => {
                tracing::warn!(peer = ?socket.peer_addr().ok(), "refused a peer without the cluster secret");
            }
            std::io::ErrorKind::InvalidInput => {
                tracing::warn!(peer = ?socket.peer_addr().ok(), error = %e, "refused a peer that meant another node");
            }
            _ => {}
        }
        return Err(e);
    }
    let (mut read, write) = socket.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(write_frames(write, rx));
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        while let Some(body) = take_frame(&mut buf)? {
            let tx = tx.clone();
            let Some(request) = decode_request(body) else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "bad request frame",
                ));
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let (status, reply) = handler
                    .handle(request.group, request.kind, request.payload)
                    .await;
                let mut out = BytesMut::with_capacity(13 + reply.len());
                encode_response(&mut out, request.id, status, &reply);
                let _ = tx.send(out);
            });
        }
        if read.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}
