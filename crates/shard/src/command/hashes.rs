//! Hash commands: `HSET`, `HGET`, `HGETALL`, `HINCRBY`, `HSCAN`, …
//!
//! `HSCAN` cursors are positions in the stable field-hash order of the storage layout, so a
//! field present for the whole iteration is returned exactly once.

use bytes::Bytes;
use ringkv_protocol::Frame;

use super::args::{cursor, float, int, pairs, wrong_arity, Reply, ScanOptions};
use super::{Ctx, Plan};
use crate::error::WRONGTYPE;
use crate::glob::matches;
use crate::mutation::{HashSetReply, Mutation};
use crate::value::{Kind, Stored};

/// Reads `key` as a hash (None if missing), or the `WRONGTYPE` reply.
fn read_hash(ctx: &Ctx<'_>, key: &[u8]) -> Reply<Option<Stored>> {
    match ctx.reader.get(key, ctx.now)? {
        Some(s) if s.kind != Kind::Hash => Err(Frame::error(WRONGTYPE)),
        other => Ok(other),
    }
}

fn hset_plan(argv: &[Bytes], name: &str, only_if_absent: bool, reply: HashSetReply) -> Reply<Plan> {
    if !argv.len().is_multiple_of(2) {
        return Err(wrong_arity(name));
    }
    Ok(Plan::Write(Mutation::HSet {
        key: argv[1].clone(),
        pairs: pairs(&argv[2..]),
        only_if_absent,
        reply,
    }))
}

pub(super) fn hset(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    hset_plan(argv, "hset", false, HashSetReply::Added)
}

pub(super) fn hmset(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    hset_plan(argv, "hmset", false, HashSetReply::Ok)
}

pub(super) fn hsetnx(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    hset_plan(argv, "hsetnx", true, HashSetReply::Flag)
}

/// One field's value, or None when the key or field is missing.
fn field(ctx: &Ctx<'_>, key: &[u8], name: &[u8]) -> Reply<Option<Bytes>> {
    Ok(match read_hash(ctx, key)? {
        Some(_) => ctx.reader.field(key, name)?,
        None => None,
    })
}

pub(super) fn hget(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    Ok(Plan::Reply(
        field(ctx, &argv[1], &argv[2])?.map_or(Frame::Null, Frame::Bulk),
    ))
}

pub(super) fn hmget(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let exists = read_hash(ctx, &argv[1])?.is_some();
    let mut out = Vec::with_capacity(argv.len() - 2);
    for name in &argv[2..] {
        let value = if exists {
            ctx.reader.field(&argv[1], name)?
        } else {
            None
        };
        out.push(value.map_or(Frame::Null, Frame::Bulk));
    }
    Ok(Plan::Reply(Frame::Array(out)))
}

pub(super) fn hdel(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    Ok(Plan::Write(Mutation::HDel {
        key: argv[1].clone(),
        fields: argv[2..].to_vec(),
    }))
}

pub(super) fn hexists(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    Ok(Plan::Reply(Frame::Integer(i64::from(
        field(ctx, &argv[1], &argv[2])?.is_some(),
    ))))
}

pub(super) fn hstrlen(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    Ok(Plan::Reply(Frame::Integer(
        field(ctx, &argv[1], &argv[2])?.map_or(0, |v| v.len() as i64),
    )))
}

pub(super) fn hlen(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    Ok(Plan::Reply(Frame::Integer(
        read_hash(ctx, &argv[1])?.map_or(0, |h| h.hash_len() as i64),
    )))
}

/// Every (field, value) of the hash at `key`.
fn all(ctx: &Ctx<'_>, key: &[u8]) -> Reply<Vec<(Bytes, Bytes)>> {
    Ok(match read_hash(ctx, key)? {
        Some(_) => ctx.reader.all_fields(key)?,
        None => Vec::new(),
    })
}

pub(super) fn hkeys(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    Ok(Plan::Reply(Frame::Array(
        all(ctx, &argv[1])?
            .into_iter()
            .map(|(f, _)| Frame::Bulk(f))
            .collect(),
    )))
}

pub(super) fn hvals(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    Ok(Plan::Reply(Frame::Array(
        all(ctx, &argv[1])?
            .into_iter()
            .map(|(_, v)| Frame::Bulk(v))
            .collect(),
    )))
}

pub(super) fn hgetall(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let fields = all(ctx, &argv[1])?;
    Ok(Plan::Reply(Frame::Map(
        fields
            .into_iter()
            .map(|(f, v)| (Frame::Bulk(f), Frame::Bulk(v)))
            .collect(),
    )))
}

pub(super) fn hincrby(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let delta = int(&argv[3])?;
    Ok(Plan::Write(Mutation::HIncrBy {
        key: argv[1].clone(),
        field: argv[2].clone(),
        delta,
    }))
}

pub(super) fn hincrbyfloat(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let delta = float(&argv[3])?;
    if !delta.is_finite() {
        return Err(Frame::error("ERR value is NaN or Infinity"));
    }
    Ok(Plan::Write(Mutation::HIncrByFloat {
        key: argv[1].clone(),
        field: argv[2].clone(),
        delta,
    }))
}

pub(super) fn hscan(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let position = cursor(&argv[2])?;
    let opts = ScanOptions::parse(&argv[3..], false, true)?;
    let page = match read_hash(ctx, &argv[1])? {
        Some(_) => ctx.reader.fields_page(&argv[1], position, opts.count)?,
        None => crate::reader::FieldPage {
            fields: Vec::new(),
            next: 0,
        },
    };
    let mut out = Vec::with_capacity(page.fields.len() * 2);
    for (f, v) in page.fields {
        if opts.pattern.as_deref().is_some_and(|p| !matches(p, &f)) {
            continue;
        }
        out.push(Frame::Bulk(f));
        if !opts.no_values {
            out.push(Frame::Bulk(v));
        }
    }
    Ok(Plan::Reply(Frame::Array(vec![
        Frame::bulk(page.next.to_string()),
        Frame::Array(out),
    ])))
}
