//! Applying keyspace mutations (`DEL`, `EXPIRE`, `RENAME`, `FLUSHALL`, active expiry).

use bytes::Bytes;
use ringkv_protocol::Frame;

use super::Txn;
use crate::error::Result;
use crate::layout::{field_key, fields_prefix};
use crate::mutation::ExpireCondition;
use crate::value::{Kind, Stored};

pub(super) fn del(txn: &mut Txn<'_>, keys: &[Bytes]) -> Result<Frame> {
    let mut removed = 0;
    for key in keys {
        if let Some(old) = txn.load(key)? {
            txn.remove(key, &old)?;
            removed += 1;
        }
    }
    Ok(Frame::Integer(removed))
}

pub(super) fn expire(
    txn: &mut Txn<'_>,
    key: &Bytes,
    at: u64,
    condition: ExpireCondition,
) -> Result<Frame> {
    let Some(old) = txn.load(key)? else {
        return Ok(Frame::Integer(0));
    };
    let allowed = condition.allows(old.expire_at, at);
    if !allowed {
        return Ok(Frame::Integer(0));
    }
    if at <= txn.now {
        txn.remove(key, &old)?;
    } else {
        let updated = Stored {
            expire_at: at,
            ..old.clone()
        };
        txn.store(key, updated, Some(&old))?;
    }
    Ok(Frame::Integer(1))
}

pub(super) fn persist(txn: &mut Txn<'_>, key: &Bytes) -> Result<Frame> {
    match txn.load(key)? {
        Some(old) if old.expire_at != 0 => {
            let updated = Stored {
                expire_at: 0,
                ..old.clone()
            };
            txn.store(key, updated, Some(&old))?;
            Ok(Frame::Integer(1))
        }
        _ => Ok(Frame::Integer(0)),
    }
}

pub(super) fn rename(
    txn: &mut Txn<'_>,
    from: &Bytes,
    to: &Bytes,
    only_if_absent: bool,
) -> Result<Frame> {
    let Some(source) = txn.load(from)? else {
        return Ok(Frame::error("ERR no such key"));
    };
    if from == to {
        return Ok(if only_if_absent {
            Frame::Integer(0)
        } else {
            Frame::ok()
        });
    }
    let target = txn.load(to)?;
    if only_if_absent && target.is_some() {
        return Ok(Frame::Integer(0));
    }
    if let Some(t) = &target {
        txn.remove(to, t)?;
    }
    if source.kind == Kind::Hash {
        let from_len = fields_prefix(from).len();
        let to_prefix = fields_prefix(to);
        for (k, v) in txn.scan_fields(from)? {
            let field = &k[from_len + 8..];
            txn.put_field(field_key(&to_prefix, field), &v);
        }
    }
    txn.store(to, source.clone(), None)?;
    txn.remove(from, &source)?;
    Ok(if only_if_absent {
        Frame::Integer(1)
    } else {
        Frame::ok()
    })
}

pub(super) fn delete_expired(txn: &mut Txn<'_>, keys: &[Bytes]) -> Result<Frame> {
    for key in keys {
        txn.load(key)?;
    }
    Ok(Frame::Integer(txn.expired as i64))
}
