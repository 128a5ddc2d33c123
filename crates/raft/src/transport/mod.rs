//! The transport between nodes: one TCP connection per peer carries the RPCs of every Raft
//! group, tagged by group id, so heartbeats and appends of many groups share connections
//! and are written together (one `write` per batch of queued frames).
//!
//! Frames, all integers big-endian:
//! - request: `len u32 ++ id u64 ++ group u32 ++ kind u8 ++ payload`
//! - response: `len u32 ++ id u64 ++ status u8 ++ payload`
//!
//! where `len` counts the bytes after itself. A connection starts with a handshake that
//! proves the client knows the cluster secret and names the node it means to reach
//! ([`auth`]).

pub mod auth;
pub mod client;
pub mod server;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::types::GroupId;

/// Largest frame accepted (snapshot chunks are far smaller).
pub const MAX_FRAME: usize = 256 << 20;

/// The RPCs nodes send each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Raft AppendEntries (also the heartbeat).
    AppendEntries = 1,
    /// Raft RequestVote.
    Vote = 2,
    /// One chunk of a snapshot.
    InstallSnapshot = 3,
    /// A cluster administration request, answered by the node's [`AdminHandler`](crate::node::AdminHandler).
    Admin = 4,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        match b {
            1 => Some(Kind::AppendEntries),
            2 => Some(Kind::Vote),
            3 => Some(Kind::InstallSnapshot),
            4 => Some(Kind::Admin),
            _ => None,
        }
    }
}

/// How the receiving node answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The payload is the group's answer.
    Ok = 0,
    /// The receiving node hosts no such group.
    NoGroup = 1,
    /// The request could not be decoded.
    BadRequest = 2,
}

/// A decoded request frame.
#[derive(Debug)]
pub struct Request {
    /// Matches the response to the request.
    pub id: u64,
    /// Raft group addressed.
    pub group: GroupId,
    /// What is asked.
    pub kind: Kind,
    /// The serialized RPC.
    pub payload: Bytes,
}

/// Appends a request frame to `out`.
pub fn encode_request(out: &mut BytesMut, id: u64, group: GroupId, kind: Kind, payload: &[u8]) {
    out.put_u32((8 + 4 + 1 + payload.len()) as u32);
    out.put_u64(id);
    out.put_u32(group);
    out.put_u8(kind as u8);
    out.put_slice(payload);
}

/// Appends a response frame to `out`.
pub fn encode_response(out: &mut BytesMut, id: u64, status: Status, payload: &[u8]) {
    out.put_u32((8 + 1 + payload.len()) as u32);
    out.put_u64(id);
    out.put_u8(status as u8);
    out.put_slice(payload);
}

/// Takes one complete frame body off the front of `buf`, if there is one.
pub fn take_frame(buf: &mut BytesMut) -> std::io::Result<Option<Bytes>> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is too large"),
        ));
    }
    if buf.len() < 4 + len {
        buf.reserve(4 + len - buf.len());
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Decodes a request frame body.
pub fn decode_request(mut body: Bytes) -> Option<Request> {
    if body.len() < 13 {
        return None;
    }
    let id = body.get_u64();
    let group = body.get_u32();
    let kind = Kind::from_u8(body.get_u8())?;
    Some(Request {
        id,
        group,
        kind,
        payload: body,
    })
}

/// Decodes a response frame body into (id, status, payload).
pub fn decode_response(mut body: Bytes) -> Option<(u64, Status, Bytes)> {
    if body.len() < 9 {
        return None;
    }
    let id = body.get_u64();
    let status = match body.get_u8() {
        0 => Status::Ok,
        1 => Status::NoGroup,
        _ => Status::BadRequest,
    };
    Some((id, status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_split_anywhere() {
        let mut wire = BytesMut::new();
        encode_request(&mut wire, 7, 3, Kind::Vote, b"abc");
        encode_response(&mut wire, 7, Status::NoGroup, b"");
        let bytes = wire.freeze();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for b in bytes.iter() {
            buf.put_u8(*b);
            while let Some(f) = take_frame(&mut buf).unwrap() {
                frames.push(f);
            }
        }
        let req = decode_request(frames[0].clone()).unwrap();
        assert_eq!(
            (req.id, req.group, req.kind, &req.payload[..]),
            (7, 3, Kind::Vote, &b"abc"[..])
        );
        let (id, status, payload) = decode_response(frames[1].clone()).unwrap();
        assert_eq!((id, status, payload.len()), (7, Status::NoGroup, 0));
    }

    #[test]
    fn oversized_frames_are_refused() {
        let mut buf = BytesMut::new();
        buf.put_u32(u32::MAX);
        assert!(take_frame(&mut buf).is_err());
    }
}
