//! The registry of connected clients, for `CLIENT LIST/INFO/ID` and `INFO clients`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

/// What the server knows about one connection.
pub struct ClientInfo {
    /// Unique, increasing id (`CLIENT ID`).
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Local address the client connected to.
    pub laddr: SocketAddr,
    /// When the connection was accepted.
    pub created: Instant,
    /// Name set with `CLIENT SETNAME` or `HELLO … SETNAME`.
    pub name: Mutex<String>,
    /// Last command's name.
    pub last_command: Mutex<&'static str>,
    /// Milliseconds since `created` of the last command.
    pub last_active_ms: AtomicU64,
    /// RESP protocol version in use (2 or 3).
    pub resp: AtomicU64,
}

impl ClientInfo {
    /// The `CLIENT LIST` line describing this client.
    pub fn describe(&self) -> String {
        let age = self.created.elapsed();
        let idle = age.as_millis() as u64
            - self
                .last_active_ms
                .load(Ordering::Relaxed)
                .min(age.as_millis() as u64);
        format!(
            "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.name.lock(),
            age.as_secs(),
            idle / 1000,
            self.last_command.lock(),
            self.resp.load(Ordering::Relaxed),
        )
    }
}

/// All connected clients.
#[derive(Default)]
pub struct ClientRegistry {
    next_id: AtomicU64,
    clients: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
}

impl ClientRegistry {
    /// Registers a new connection.
    pub fn register(&self, addr: SocketAddr, laddr: SocketAddr) -> Arc<ClientInfo> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let info = Arc::new(ClientInfo {
            id,
            addr,
            laddr,
            created: Instant::now(),
            name: Mutex::new(String::new()),
            last_command: Mutex::new("NULL"),
            last_active_ms: AtomicU64::new(0),
            resp: AtomicU64::new(2),
        });
        self.clients.lock().insert(id, info.clone());
        info
    }

    /// Removes a closed connection.
    pub fn unregister(&self, id: u64) {
        self.clients.lock().remove(&id);
    }

    /// Number of connected clients.
    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    /// Whether no client is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `CLIENT LIST` text.
    pub fn list(&self) -> String {
        self.clients
            .lock()
            .values()
            .map(|c| c.describe() + "\n")
            .collect()
    }
}
