//! The connection handshake: the server sends a random nonce and the client answers with
//! HMAC-SHA256(cluster secret, nonce). Without a configured secret the server accepts any
//! answer; with one, a wrong answer closes the connection before any RPC is read.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Length of the nonce and of the answer.
pub const LEN: usize = 32;

/// The answer to `nonce` for `secret` (an empty secret when none is configured).
pub fn answer(secret: &[u8], nonce: &[u8; LEN]) -> [u8; LEN] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(nonce);
    mac.finalize().into_bytes().into()
}

/// Server side: challenges the peer; Ok when it may go on.
pub async fn challenge<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    stream: &mut S,
    secret: Option<&[u8]>,
) -> std::io::Result<()> {
    let nonce: [u8; LEN] = rand::random();
    stream.write_all(&nonce).await?;
    let mut reply = [0u8; LEN];
    stream.read_exact(&mut reply).await?;
    let ok = match secret {
        None => true,
        Some(secret) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
            mac.update(&nonce);
            mac.verify_slice(&reply).is_ok()
        }
    };
    if !ok {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "peer does not know the cluster secret",
        ));
    }
    stream.write_all(&[1]).await
}

/// Client side: answers the server's challenge.
pub async fn respond<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    stream: &mut S,
    secret: Option<&[u8]>,
) -> std::io::Result<()> {
    let mut nonce = [0u8; LEN];
    stream.read_exact(&mut nonce).await?;
    stream
        .write_all(&answer(secret.unwrap_or_default(), &nonce))
        .await?;
    let mut accepted = [0u8; 1];
    stream.read_exact(&mut accepted).await.map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "peer refused the cluster secret",
        )
    })?;
    Ok(())
}
