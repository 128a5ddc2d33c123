//! Applying string mutations (`SET`, `INCR`, `APPEND`, …).

use bytes::{Bytes, BytesMut};
use ringkv_protocol::Frame;

use super::Txn;
use crate::error::{Result, NOT_FLOAT, NOT_INTEGER, WRONGTYPE};
use crate::mutation::{Condition, GetExExpiry, SetExpiry, SetReply};
use crate::number::{add_floats, integer_text, parse_f64, parse_i64};
use crate::value::{Kind, Stored};

/// Largest string value, as Redis's `proto-max-bulk-len`.
pub const MAX_STRING_LEN: usize = 512 * 1024 * 1024;

/// Error for strings that would grow past [`MAX_STRING_LEN`].
pub const TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

/// Loads `key` as a string: Ok(Err(reply)) when it holds another type.
fn load_string(
    txn: &mut Txn<'_>,
    key: &Bytes,
) -> Result<std::result::Result<Option<Stored>, Frame>> {
    Ok(match txn.load(key)? {
        Some(s) if s.kind != Kind::String => Err(Frame::error(WRONGTYPE)),
        other => Ok(other),
    })
}

/// Stores `value` with `expire_at`, or deletes the key when that time has already passed.
fn store_or_expire(
    txn: &mut Txn<'_>,
    key: &Bytes,
    value: Bytes,
    expire_at: u64,
    old: Option<&Stored>,
) -> Result<()> {
    if expire_at != 0 && expire_at <= txn.now {
        if let Some(o) = old {
            txn.remove(key, o)?;
        }
        return Ok(());
    }
    txn.store(key, Stored::string(value, expire_at), old)
}

pub(super) fn set(
    txn: &mut Txn<'_>,
    key: &Bytes,
    value: &Bytes,
    condition: Condition,
    expiry: SetExpiry,
    reply: SetReply,
) -> Result<Frame> {
    let old = txn.load(key)?;
    if reply == SetReply::Old && old.as_ref().is_some_and(|o| o.kind != Kind::String) {
        return Ok(Frame::error(WRONGTYPE));
    }
    let apply = match condition {
        Condition::Always => true,
        Condition::IfAbsent => old.is_none(),
        Condition::IfPresent => old.is_some(),
    };
    if apply {
        let expire_at = match expiry {
            SetExpiry::Clear => 0,
            SetExpiry::Keep => old.as_ref().map_or(0, |o| o.expire_at),
            SetExpiry::At(at) => at,
        };
        store_or_expire(txn, key, value.clone(), expire_at, old.as_ref())?;
    }
    Ok(match reply {
        SetReply::Ok if apply => Frame::ok(),
        SetReply::Ok => Frame::Null,
        SetReply::Flag => Frame::Integer(i64::from(apply)),
        SetReply::Old => old.map_or(Frame::Null, |o| Frame::Bulk(o.payload)),
    })
}

pub(super) fn mset(txn: &mut Txn<'_>, pairs: &[(Bytes, Bytes)], all_absent: bool) -> Result<Frame> {
    if all_absent {
        for (key, _) in pairs {
            if txn.load(key)?.is_some() {
                return Ok(Frame::Integer(0));
            }
        }
    }
    for (key, value) in pairs {
        let old = txn.load(key)?;
        txn.store(key, Stored::string(value.clone(), 0), old.as_ref())?;
    }
    Ok(if all_absent {
        Frame::Integer(1)
    } else {
        Frame::ok()
    })
}

pub(super) fn append(txn: &mut Txn<'_>, key: &Bytes, value: &Bytes) -> Result<Frame> {
    let old = match load_string(txn, key)? {
        Ok(old) => old,
        Err(reply) => return Ok(reply),
    };
    let current = old.as_ref().map_or(&[][..], |o| &o.payload[..]);
    if current.len() + value.len() > MAX_STRING_LEN {
        return Ok(Frame::error(TOO_BIG));
    }
    let mut joined = BytesMut::with_capacity(current.len() + value.len());
    joined.extend_from_slice(current);
    joined.extend_from_slice(value);
    let len = joined.len() as i64;
    let expire_at = old.as_ref().map_or(0, |o| o.expire_at);
    txn.store(
        key,
        Stored::string(joined.freeze(), expire_at),
        old.as_ref(),
    )?;
    Ok(Frame::Integer(len))
}

pub(super) fn set_range(
    txn: &mut Txn<'_>,
    key: &Bytes,
    offset: usize,
    value: &Bytes,
) -> Result<Frame> {
    let old = match load_string(txn, key)? {
        Ok(old) => old,
        Err(reply) => return Ok(reply),
    };
    let current = old.as_ref().map_or(&[][..], |o| &o.payload[..]);
    if value.is_empty() {
        return Ok(Frame::Integer(current.len() as i64));
    }
    if offset + value.len() > MAX_STRING_LEN {
        return Ok(Frame::error(TOO_BIG));
    }
    let mut out = BytesMut::from(current);
    if out.len() < offset + value.len() {
        out.resize(offset + value.len(), 0);
    }
    out[offset..offset + value.len()].copy_from_slice(value);
    let len = out.len() as i64;
    let expire_at = old.as_ref().map_or(0, |o| o.expire_at);
    txn.store(key, Stored::string(out.freeze(), expire_at), old.as_ref())?;
    Ok(Frame::Integer(len))
}

pub(super) fn incr_by(txn: &mut Txn<'_>, key: &Bytes, delta: i64) -> Result<Frame> {
    let old = match load_string(txn, key)? {
        Ok(old) => old,
        Err(reply) => return Ok(reply),
    };
    let current = match &old {
        None => 0,
        Some(o) => match parse_i64(&o.payload) {
            Some(n) => n,
            None => return Ok(Frame::error(NOT_INTEGER)),
        },
    };
    let Some(next) = current.checked_add(delta) else {
        return Ok(Frame::error("ERR increment or decrement would overflow"));
    };
    let expire_at = old.as_ref().map_or(0, |o| o.expire_at);
    txn.store(
        key,
        Stored::string(integer_text(next), expire_at),
        old.as_ref(),
    )?;
    Ok(Frame::Integer(next))
}

pub(super) fn incr_by_float(txn: &mut Txn<'_>, key: &Bytes, delta: f64) -> Result<Frame> {
    let old = match load_string(txn, key)? {
        Ok(old) => old,
        Err(reply) => return Ok(reply),
    };
    let current = old.as_ref().map(|o| &o.payload[..]);
    if current.is_some_and(|v| parse_f64(v).is_none()) {
        return Ok(Frame::error(NOT_FLOAT));
    }
    let Some(text) = add_floats(current, delta) else {
        return Ok(Frame::error("ERR increment would produce NaN or Infinity"));
    };
    let text = Bytes::from(text);
    let expire_at = old.as_ref().map_or(0, |o| o.expire_at);
    txn.store(key, Stored::string(text.clone(), expire_at), old.as_ref())?;
    Ok(Frame::Bulk(text))
}

pub(super) fn get_del(txn: &mut Txn<'_>, key: &Bytes) -> Result<Frame> {
    match load_string(txn, key)? {
        Err(reply) => Ok(reply),
        Ok(None) => Ok(Frame::Null),
        Ok(Some(old)) => {
            txn.remove(key, &old)?;
            Ok(Frame::Bulk(old.payload))
        }
    }
}

pub(super) fn get_ex(txn: &mut Txn<'_>, key: &Bytes, expiry: GetExExpiry) -> Result<Frame> {
    match load_string(txn, key)? {
        Err(reply) => Ok(reply),
        Ok(None) => Ok(Frame::Null),
        Ok(Some(old)) => {
            let expire_at = match expiry {
                GetExExpiry::Keep => return Ok(Frame::Bulk(old.payload)),
                GetExExpiry::Persist => 0,
                GetExExpiry::At(at) => at,
            };
            store_or_expire(txn, key, old.payload.clone(), expire_at, Some(&old))?;
            Ok(Frame::Bulk(old.payload))
        }
    }
}
