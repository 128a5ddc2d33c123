//! openraft's view of the transport: a [`Network`] per (group, target node) that serializes
//! Raft RPCs and sends them over the node-wide [`Peer`] connection to the target.

use std::collections::HashMap;
use std::sync::Arc;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::transport::client::{CallError, Peer};
use crate::transport::Kind;
use crate::types::{GroupId, NodeAddr, NodeId, TypeConfig};

/// A peer connection's cluster address and the node meant there (None: whichever answers).
type PeerKey = (String, Option<NodeId>);

/// Every peer connection of a node, by cluster address and the node meant there.
#[derive(Default)]
pub struct Peers {
    secret: Option<Arc<[u8]>>,
    by_addr: Mutex<HashMap<PeerKey, Arc<Peer>>>,
}

impl Peers {
    /// A registry whose connections prove knowledge of `secret`.
    pub fn new(secret: Option<Arc<[u8]>>) -> Peers {
        Peers {
            secret,
            by_addr: Mutex::default(),
        }
    }

    /// The connection to node `node` (None: whichever node is there) at cluster address
    /// `addr`.
    pub fn get(&self, addr: &str, node: Option<NodeId>) -> Arc<Peer> {
        self.by_addr
            .lock()
            .entry((addr.to_owned(), node))
            .or_insert_with(|| Arc::new(Peer::new(addr.to_owned(), node, self.secret.clone())))
            .clone()
    }
}

/// Creates the [`Network`]s of one group.
#[derive(Clone)]
pub struct GroupNetwork {
    /// The group whose RPCs these are.
    pub group: GroupId,
    /// The node's peer connections.
    pub peers: Arc<Peers>,
}

impl RaftNetworkFactory<TypeConfig> for GroupNetwork {
    type Network = Network;

    async fn new_client(&mut self, target: NodeId, node: &NodeAddr) -> Network {
        Network {
            group: self.group,
            target,
            peer: self.peers.get(&node.cluster, Some(target)),
        }
    }
}

/// RPCs of one group to one target node.
pub struct Network {
    group: GroupId,
    target: NodeId,
    peer: Arc<Peer>,
}

type Rpc<T, E> = Result<T, RPCError<NodeId, NodeAddr, E>>;

impl Network {
    async fn send<Q: Serialize, T: DeserializeOwned, E: std::error::Error + DeserializeOwned>(
        &self,
        kind: Kind,
        request: &Q,
        option: &RPCOption,
    ) -> Rpc<T, E> {
        let payload =
            bincode::serialize(request).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let reply = self
            .peer
            .call(self.group, kind, &payload, option.hard_ttl())
            .await
            .map_err(|e| match e {
                CallError::Unreachable { .. } => RPCError::Unreachable(Unreachable::new(&e)),
                _ => RPCError::Network(NetworkError::new(&e)),
            })?;
        let answer: Result<T, E> =
            bincode::deserialize(&reply).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for Network {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Rpc<AppendEntriesResponse<NodeId>, RaftError<NodeId>> {
        self.send(Kind::AppendEntries, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Rpc<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>> {
        self.send(Kind::InstallSnapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Rpc<VoteResponse<NodeId>, RaftError<NodeId>> {
        self.send(Kind::Vote, &rpc, &option).await
    }
}
