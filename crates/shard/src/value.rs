//! The stored form of a Redis value in the `Keys` table: a 9-byte header (type, absolute
//! expiry in ms, 0 = none) followed by the payload — the string itself, or for a hash its
//! field count (the fields live in the `Fields` table).

use bytes::{Buf, Bytes};

/// The Redis type of a stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string (`SET`, `INCR`, …).
    String = 0,
    /// A hash, one storage entry per field.
    Hash = 1,
}

impl Kind {
    /// The name `TYPE` replies with.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Hash => "hash",
        }
    }
}

/// Length of the header in front of every stored value.
pub const HEADER_LEN: usize = 9;

/// A decoded `Keys` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The Redis type.
    pub kind: Kind,
    /// Absolute expiry in Unix milliseconds; 0 means none.
    pub expire_at: u64,
    /// The string (for strings) or the encoded field count (for hashes).
    pub payload: Bytes,
}

impl Stored {
    /// A string value.
    pub fn string(value: Bytes, expire_at: u64) -> Self {
        Stored {
            kind: Kind::String,
            expire_at,
            payload: value,
        }
    }

    /// A hash header holding `fields` fields.
    pub fn hash(fields: u64, expire_at: u64) -> Self {
        Stored {
            kind: Kind::Hash,
            expire_at,
            payload: Bytes::copy_from_slice(&fields.to_be_bytes()),
        }
    }

    /// Decodes a stored value; `None` for bytes that are not one (corruption).
    pub fn decode(bytes: Bytes) -> Option<Self> {
        if bytes.len() < HEADER_LEN {
            return None;
        }
        let kind = match bytes[0] {
            0 => Kind::String,
            1 => Kind::Hash,
            _ => return None,
        };
        let expire_at = u64::from_be_bytes(bytes[1..9].try_into().ok()?);
        let mut payload = bytes;
        payload.advance(HEADER_LEN);
        Some(Stored {
            kind,
            expire_at,
            payload,
        })
    }

    /// Encodes the value for storage.
    pub fn encode(&self) -> Vec<u8> {
        encode_parts(self.kind, self.expire_at, &self.payload)
    }

    /// The header stored in front of the payload.
    pub fn header(&self) -> [u8; HEADER_LEN] {
        let mut h = [0; HEADER_LEN];
        h[0] = self.kind as u8;
        h[1..].copy_from_slice(&self.expire_at.to_be_bytes());
        h
    }

    /// Whether the value has expired at `now` (ms).
    pub fn is_expired(&self, now: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now
    }

    /// The field count of a hash header.
    pub fn hash_len(&self) -> u64 {
        self.payload
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_be_bytes)
    }
}

/// Encodes a value from its parts without building a [`Stored`].
pub fn encode_parts(kind: Kind, expire_at: u64, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER_LEN + payload.len());
    v.push(kind as u8);
    v.extend_from_slice(&expire_at.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let s = Stored::string(Bytes::from_static(b"hello"), 42);
        assert_eq!(s.encode()[..HEADER_LEN], s.header());
        assert_eq!(Stored::decode(Bytes::from(s.encode())), Some(s));
        let h = Stored::hash(3, 0);
        let d = Stored::decode(Bytes::from(h.encode())).unwrap();
        assert_eq!(d.hash_len(), 3);
        assert!(!d.is_expired(u64::MAX));
        assert!(Stored::decode(Bytes::from_static(b"\x07short")).is_none());
    }
}
