//! The connection handshake: the server sends a random nonce and the client answers with
//! HMAC-SHA256(cluster secret, nonce) and the id of the node it means to reach. Without a
//! configured secret the server accepts any answer; with one, a wrong answer closes the
//! connection before any RPC is read. A server that is not the node the client meant (an
//! address now held by another node, or by a node of another cluster) says so and closes,
//! so Raft messages never reach a node they were not meant for.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::types::NodeId;

/// Length of the nonce and of the answer.
pub const LEN: usize = 32;

/// The server's verdict, sent after the client's answer: go on.
const ACCEPTED: u8 = 1;
/// The server's verdict: this is not the node the client meant.
const WRONG_NODE: u8 = 2;

/// The answer to `nonce` for `secret` (an empty secret when none is configured).
pub fn answer(secret: &[u8], nonce: &[u8; LEN]) -> [u8; LEN] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(nonce);
    mac.finalize().into_bytes().into()
}

/// Server side: challenges the peer; Ok when it may go on. `own` is this node's id.
pub async fn challenge<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    stream: &mut S,
    secret: Option<&[u8]>,
    own: NodeId,
) -> std::io::Result<()> {
    let nonce: [u8; LEN] = rand::random();
    stream.write_all(&nonce).await?;
    let mut reply = [0u8; LEN + 8];
    stream.read_exact(&mut reply).await?;
    let ok = match secret {
        None => true,
        Some(secret) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
            mac.update(&nonce);
            mac.verify_slice(&reply[..LEN]).is_ok()
        }
    };
    if !ok {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "peer does not know the cluster secret",
        ));
    }
    let meant = NodeId::from_be_bytes(reply[LEN..].try_into().expect("8 bytes"));
    if meant != 0 && meant != own {
        stream.write_all(&[WRONG_NODE]).await?;
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("peer meant node {meant}, this is node {own}"),
        ));
    }
    stream.write_all(&[ACCEPTED]).await
}

/// Client side: answers the server's challenge, for the node `meant` (None: whichever node
/// answers, as a node that has no id yet asks to join).
pub async fn respond<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    stream: &mut S,
    secret: Option<&[u8]>,
    meant: Option<NodeId>,
) -> std::io::Result<()> {
    let mut nonce = [0u8; LEN];
    stream.read_exact(&mut nonce).await?;
    let mut reply = [0u8; LEN + 8];
    reply[..LEN].copy_from_slice(&answer(secret.unwrap_or_default(), &nonce));
    reply[LEN..].copy_from_slice(&meant.unwrap_or(0).to_be_bytes());
    stream.write_all(&reply).await?;
    let mut verdict = [0u8; 1];
    match stream.read_exact(&mut verdict).await {
        Ok(_) if verdict[0] == ACCEPTED => Ok(()),
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("the node there is not node {}", meant.unwrap_or(0)),
        )),
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "peer refused the cluster secret",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `challenge` (node `own`, `server_secret`) and `respond` (`client_secret`, for
    /// node `meant`) conclude over one connection.
    async fn handshake(
        own: NodeId,
        server_secret: Option<&'static [u8]>,
        client_secret: Option<&'static [u8]>,
        meant: Option<NodeId>,
    ) -> (std::io::Result<()>, std::io::Result<()>) {
        let (mut server, mut client) = tokio::io::duplex(1024);
        let server = tokio::spawn(async move { challenge(&mut server, server_secret, own).await });
        let client = respond(&mut client, client_secret, meant).await;
        (server.await.unwrap(), client)
    }

    #[tokio::test]
    async fn the_node_meant_or_any_node_is_accepted_and_another_is_refused() {
        let (server, client) = handshake(2, None, None, Some(2)).await;
        assert!(server.is_ok() && client.is_ok());
        let (server, client) = handshake(2, Some(b"s"), Some(b"s"), None).await;
        assert!(server.is_ok() && client.is_ok());
        let (server, client) = handshake(2, None, None, Some(1)).await;
        assert_eq!(server.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
        let client = client.unwrap_err();
        assert_eq!(client.kind(), std::io::ErrorKind::InvalidInput);
        assert!(client.to_string().contains("not node 1"), "{client}");
    }

    #[tokio::test]
    async fn a_wrong_secret_is_refused_before_the_node_is_checked() {
        let (server, client) = handshake(2, Some(b"s"), Some(b"t"), Some(2)).await;
        assert_eq!(
            server.unwrap_err().kind(),
            std::io::ErrorKind::PermissionDenied
        );
        assert_eq!(
            client.unwrap_err().kind(),
            std::io::ErrorKind::PermissionDenied
        );
    }
}
