//! String commands: `GET`, `SET` and its options, `INCR` family, ranges, `MGET`/`MSET`.

use bytes::Bytes;
use ringkv_protocol::Frame;

use super::args::{absolute_ms, float, int, is, pairs, syntax, wrong_arity, Reply};
use super::{Ctx, Plan};
use crate::error::WRONGTYPE;
use crate::mutation::{Condition, GetExExpiry, Mutation, SetExpiry, SetReply};
use crate::state_machine::MAX_STRING_LEN;
use crate::value::{Kind, Stored};

/// Reads `key` as a string (None if missing), or the `WRONGTYPE` reply.
fn read_string(ctx: &Ctx<'_>, key: &[u8]) -> Reply<Option<Stored>> {
    match ctx.reader.get(key, ctx.now)? {
        Some(s) if s.kind != Kind::String => Err(Frame::error(WRONGTYPE)),
        other => Ok(other),
    }
}

/// An absolute expiry from an `EX`/`PX`/`EXAT`/`PXAT` value, or Redis's invalid-expire error.
fn expiry_at(ctx: &Ctx<'_>, option: &[u8], value: &[u8], command: &str) -> Reply<u64> {
    let n = int(value)?;
    let invalid = || Frame::error(format!("ERR invalid expire time in '{command}' command"));
    if n <= 0 {
        return Err(invalid());
    }
    let (unit, base) = match option.to_ascii_lowercase().as_slice() {
        b"ex" => (1000, ctx.now),
        b"px" => (1, ctx.now),
        b"exat" => (1000, 0),
        _ => (1, 0),
    };
    absolute_ms(n, unit, base)
        .map(|at| at as u64)
        .ok_or_else(invalid)
}

pub(super) fn get(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    Ok(Plan::Reply(
        read_string(ctx, &argv[1])?.map_or(Frame::Null, |s| Frame::Bulk(s.payload)),
    ))
}

pub(super) fn set(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let mut condition = Condition::Always;
    let mut expiry = SetExpiry::Clear;
    let mut reply = SetReply::Ok;
    let mut i = 3;
    while i < argv.len() {
        let opt = &argv[i];
        let next = argv.get(i + 1);
        if is(opt, "nx") && condition == Condition::Always {
            condition = Condition::IfAbsent;
        } else if is(opt, "xx") && condition == Condition::Always {
            condition = Condition::IfPresent;
        } else if is(opt, "get") && reply == SetReply::Ok {
            reply = SetReply::Old;
        } else if is(opt, "keepttl") && expiry == SetExpiry::Clear {
            expiry = SetExpiry::Keep;
        } else if let Some(arg) = next.filter(|_| {
            ["ex", "px", "exat", "pxat"].iter().any(|o| is(opt, o)) && expiry == SetExpiry::Clear
        }) {
            expiry = SetExpiry::At(expiry_at(ctx, opt, arg, "set")?);
            i += 1;
        } else {
            return Err(syntax());
        }
        i += 1;
    }
    Ok(Plan::Write(Mutation::Set {
        key: argv[1].clone(),
        value: argv[2].clone(),
        condition,
        expiry,
        reply,
    }))
}

pub(super) fn setnx(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let (key, value) = (argv[1].clone(), argv[2].clone());
    Ok(Plan::Write(Mutation::Set {
        key,
        value,
        condition: Condition::IfAbsent,
        expiry: SetExpiry::Clear,
        reply: SetReply::Flag,
    }))
}

fn set_with_ttl(ctx: &Ctx<'_>, argv: &[Bytes], option: &str, command: &str) -> Reply<Plan> {
    let at = expiry_at(ctx, option.as_bytes(), &argv[2], command)?;
    let (key, value) = (argv[1].clone(), argv[3].clone());
    Ok(Plan::Write(Mutation::Set {
        key,
        value,
        condition: Condition::Always,
        expiry: SetExpiry::At(at),
        reply: SetReply::Ok,
    }))
}

pub(super) fn setex(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    set_with_ttl(ctx, argv, "ex", "setex")
}

pub(super) fn psetex(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    set_with_ttl(ctx, argv, "px", "psetex")
}

pub(super) fn getset(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let (key, value) = (argv[1].clone(), argv[2].clone());
    Ok(Plan::Write(Mutation::Set {
        key,
        value,
        condition: Condition::Always,
        expiry: SetExpiry::Clear,
        reply: SetReply::Old,
    }))
}

pub(super) fn getdel(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    Ok(Plan::Write(Mutation::GetDel {
        key: argv[1].clone(),
    }))
}

pub(super) fn getex(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let expiry = match &argv[2..] {
        [] => GetExExpiry::Keep,
        [opt] if is(opt, "persist") => GetExExpiry::Persist,
        [opt, value] if ["ex", "px", "exat", "pxat"].iter().any(|o| is(opt, o)) => {
            GetExExpiry::At(expiry_at(ctx, opt, value, "getex")?)
        }
        _ => return Err(syntax()),
    };
    Ok(Plan::Write(Mutation::GetEx {
        key: argv[1].clone(),
        expiry,
    }))
}

pub(super) fn mget(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let mut values = Vec::with_capacity(argv.len() - 1);
    for key in &argv[1..] {
        let v = ctx.reader.get(key, ctx.now)?;
        values.push(match v {
            Some(s) if s.kind == Kind::String => Frame::Bulk(s.payload),
            _ => Frame::Null,
        });
    }
    Ok(Plan::Reply(Frame::Array(values)))
}

fn mset_like(argv: &[Bytes], all_absent: bool) -> Reply<Plan> {
    if argv.len().is_multiple_of(2) {
        return Err(wrong_arity(if all_absent { "msetnx" } else { "mset" }));
    }
    Ok(Plan::Write(Mutation::MSet {
        pairs: pairs(&argv[1..]),
        all_absent,
    }))
}

pub(super) fn mset(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    mset_like(argv, false)
}

pub(super) fn msetnx(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    mset_like(argv, true)
}

pub(super) fn append(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    Ok(Plan::Write(Mutation::Append {
        key: argv[1].clone(),
        value: argv[2].clone(),
    }))
}

pub(super) fn strlen(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let len = read_string(ctx, &argv[1])?.map_or(0, |s| s.payload.len());
    Ok(Plan::Reply(Frame::Integer(len as i64)))
}

pub(super) fn getrange(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let (mut start, mut end) = (int(&argv[2])?, int(&argv[3])?);
    let value = read_string(ctx, &argv[1])?.map_or_else(Bytes::new, |s| s.payload);
    let len = value.len() as i64;
    if (start < 0 && end < 0 && start > end) || len == 0 {
        return Ok(Plan::Reply(Frame::Bulk(Bytes::new())));
    }
    if start < 0 {
        start = (len + start).max(0);
    }
    if end < 0 {
        end = (len + end).max(0);
    }
    end = end.min(len - 1);
    if start > end {
        return Ok(Plan::Reply(Frame::Bulk(Bytes::new())));
    }
    Ok(Plan::Reply(Frame::Bulk(
        value.slice(start as usize..=end as usize),
    )))
}

pub(super) fn setrange(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let offset = int(&argv[2])?;
    if offset < 0 {
        return Err(Frame::error("ERR offset is out of range"));
    }
    if offset as u64 + argv[3].len() as u64 > MAX_STRING_LEN as u64 {
        return Err(Frame::error(crate::state_machine::TOO_BIG));
    }
    Ok(Plan::Write(Mutation::SetRange {
        key: argv[1].clone(),
        offset: offset as usize,
        value: argv[3].clone(),
    }))
}

fn incr_plan(key: &Bytes, delta: i64) -> Reply<Plan> {
    Ok(Plan::Write(Mutation::IncrBy {
        key: key.clone(),
        delta,
    }))
}

pub(super) fn incr(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    incr_plan(&argv[1], 1)
}

pub(super) fn decr(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    incr_plan(&argv[1], -1)
}

pub(super) fn incrby(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    incr_plan(&argv[1], int(&argv[2])?)
}

pub(super) fn decrby(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let delta = int(&argv[2])?;
    let negated = delta
        .checked_neg()
        .ok_or_else(|| Frame::error("ERR decrement would overflow"))?;
    incr_plan(&argv[1], negated)
}

pub(super) fn incrbyfloat(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let delta = float(&argv[2])?;
    Ok(Plan::Write(Mutation::IncrByFloat {
        key: argv[1].clone(),
        delta,
    }))
}
