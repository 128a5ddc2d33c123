//! Applying hash mutations (`HSET`, `HDEL`, `HINCRBY`, …). Each field is its own storage
//! entry; the key's entry holds the field count.

use bytes::Bytes;
use ringkv_protocol::Frame;

use super::Txn;
use crate::error::{Result, WRONGTYPE};
use crate::layout::{field_key, fields_prefix};
use crate::mutation::HashSetReply;
use crate::number::{add_floats, parse_f64, parse_i64};
use crate::value::{Kind, Stored};

/// Loads `key` as a hash: Ok(Err(reply)) when it holds another type.
fn load_hash(txn: &mut Txn<'_>, key: &Bytes) -> Result<std::result::Result<Option<Stored>, Frame>> {
    Ok(match txn.load(key)? {
        Some(s) if s.kind != Kind::Hash => Err(Frame::error(WRONGTYPE)),
        other => Ok(other),
    })
}

/// Writes the hash header with `len` fields, or deletes the key when it has none left.
fn store_header(txn: &mut Txn<'_>, key: &Bytes, len: u64, old: Option<&Stored>) -> Result<()> {
    match (len, old) {
        (0, Some(o)) => txn.remove(key, o),
        (0, None) => Ok(()),
        (n, _) => txn.store(key, Stored::hash(n, old.map_or(0, |o| o.expire_at)), old),
    }
}

pub(super) fn hset(
    txn: &mut Txn<'_>,
    key: &Bytes,
    pairs: &[(Bytes, Bytes)],
    only_if_absent: bool,
    reply: HashSetReply,
) -> Result<Frame> {
    let old = match load_hash(txn, key)? {
        Ok(old) => old,
        Err(reply) => return Ok(reply),
    };
    let prefix = fields_prefix(key);
    let mut len = old.as_ref().map_or(0, Stored::hash_len);
    let mut added = 0;
    for (field, value) in pairs {
        let fk = field_key(&prefix, field);
        let exists = txn.field(&fk)?.is_some();
        if exists && only_if_absent {
            continue;
        }
        if !exists {
            added += 1;
            len += 1;
        }
        txn.put_field(fk, value);
    }
    if added > 0 {
        store_header(txn, key, len, old.as_ref())?;
    }
    Ok(match reply {
        HashSetReply::Added => Frame::Integer(added),
        HashSetReply::Ok => Frame::ok(),
        HashSetReply::Flag => Frame::Integer(added.min(1)),
    })
}

pub(super) fn hdel(txn: &mut Txn<'_>, key: &Bytes, fields: &[Bytes]) -> Result<Frame> {
    let old = match load_hash(txn, key)? {
        Ok(Some(old)) => old,
        Ok(None) => return Ok(Frame::Integer(0)),
        Err(reply) => return Ok(reply),
    };
    let prefix = fields_prefix(key);
    let mut removed = 0;
    for field in fields {
        let fk = field_key(&prefix, field);
        if txn.field(&fk)?.is_some() {
            txn.delete_field(fk);
            removed += 1;
        }
    }
    if removed > 0 {
        store_header(txn, key, old.hash_len().saturating_sub(removed), Some(&old))?;
    }
    Ok(Frame::Integer(removed as i64))
}

/// Reads field `field` of the hash at `key` for an increment: (old hash, field key, current value).
type FieldForUpdate = (Option<Stored>, Vec<u8>, Option<Bytes>);

fn load_field(
    txn: &mut Txn<'_>,
    key: &Bytes,
    field: &[u8],
) -> Result<std::result::Result<FieldForUpdate, Frame>> {
    let old = match load_hash(txn, key)? {
        Ok(old) => old,
        Err(reply) => return Ok(Err(reply)),
    };
    let fk = field_key(&fields_prefix(key), field);
    let current = if old.is_some() { txn.field(&fk)? } else { None };
    Ok(Ok((old, fk, current)))
}

fn store_field(
    txn: &mut Txn<'_>,
    key: &Bytes,
    old: Option<&Stored>,
    fk: Vec<u8>,
    is_new: bool,
    value: &[u8],
) -> Result<()> {
    txn.put_field(fk, value);
    if is_new {
        store_header(txn, key, old.map_or(0, Stored::hash_len) + 1, old)?;
    }
    Ok(())
}

pub(super) fn hincr_by(txn: &mut Txn<'_>, key: &Bytes, field: &Bytes, delta: i64) -> Result<Frame> {
    let (old, fk, current) = match load_field(txn, key, field)? {
        Ok(parts) => parts,
        Err(reply) => return Ok(reply),
    };
    let value = match &current {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => return Ok(Frame::error("ERR hash value is not an integer")),
        },
    };
    let Some(next) = value.checked_add(delta) else {
        return Ok(Frame::error("ERR increment or decrement would overflow"));
    };
    store_field(
        txn,
        key,
        old.as_ref(),
        fk,
        current.is_none(),
        itoa::Buffer::new().format(next).as_bytes(),
    )?;
    Ok(Frame::Integer(next))
}

pub(super) fn hincr_by_float(
    txn: &mut Txn<'_>,
    key: &Bytes,
    field: &Bytes,
    delta: f64,
) -> Result<Frame> {
    let (old, fk, current) = match load_field(txn, key, field)? {
        Ok(parts) => parts,
        Err(reply) => return Ok(reply),
    };
    if current.as_deref().is_some_and(|v| parse_f64(v).is_none()) {
        return Ok(Frame::error("ERR hash value is not a float"));
    }
    let Some(text) = add_floats(current.as_deref(), delta) else {
        return Ok(Frame::error("ERR increment would produce NaN or Infinity"));
    };
    store_field(
        txn,
        key,
        old.as_ref(),
        fk,
        current.is_none(),
        text.as_bytes(),
    )?;
    Ok(Frame::Bulk(Bytes::from(text)))
}
