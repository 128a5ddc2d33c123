//! Keyspace commands: `DEL`, `EXISTS`, expiry, `TYPE`, `KEYS`/`SCAN`, `RENAME`, `FLUSHALL`.
//!
//! `SCAN` cursors are slot numbers: each call returns whole slots, so a key present for the
//! whole iteration is returned exactly once, whatever is written meanwhile.

use bytes::Bytes;
use rand::Rng;
use ringkv_protocol::Frame;

use super::args::{absolute_ms, cursor, int, is, Reply, ScanOptions};
use super::{Ctx, Plan};
use crate::glob::matches;
use crate::layout::{slot_start, split_data_key};
use crate::mutation::{ExpireCondition, Mutation};
use crate::slot::SLOT_COUNT;
use crate::value::Stored;

/// Entries read per engine call when walking the keyspace.
const CHUNK: usize = 1024;

pub(super) fn del(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    Ok(Plan::Write(Mutation::Del {
        keys: argv[1..].to_vec(),
    }))
}

pub(super) fn exists(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let mut n = 0;
    for key in &argv[1..] {
        n += i64::from(ctx.reader.get(key, ctx.now)?.is_some());
    }
    Ok(Plan::Reply(Frame::Integer(n)))
}

fn expire_plan(ctx: &Ctx<'_>, argv: &[Bytes], unit_ms: i64, relative: bool) -> Reply<Plan> {
    let value = int(&argv[2])?;
    let mut condition = ExpireCondition::default();
    for opt in &argv[3..] {
        let flag = if is(opt, "nx") {
            &mut condition.if_none
        } else if is(opt, "xx") {
            &mut condition.if_some
        } else if is(opt, "gt") {
            &mut condition.greater
        } else if is(opt, "lt") {
            &mut condition.less
        } else {
            return Err(Frame::error(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(opt)
            )));
        };
        *flag = true;
    }
    if condition.if_none && (condition.if_some || condition.greater || condition.less) {
        return Err(Frame::error(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if condition.greater && condition.less {
        return Err(Frame::error(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let base = if relative { ctx.now } else { 0 };
    let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
    let at = absolute_ms(value, unit_ms, base)
        .ok_or_else(|| Frame::error(format!("ERR invalid expire time in '{name}' command")))?;
    Ok(Plan::Write(Mutation::Expire {
        key: argv[1].clone(),
        at: at.max(0) as u64,
        condition,
    }))
}

pub(super) fn expire(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    expire_plan(ctx, argv, 1000, true)
}

pub(super) fn pexpire(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    expire_plan(ctx, argv, 1, true)
}

pub(super) fn expireat(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    expire_plan(ctx, argv, 1000, false)
}

pub(super) fn pexpireat(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    expire_plan(ctx, argv, 1, false)
}

/// Replies -2 for a missing key, -1 for no expiry, else `f(expire_at)`.
fn expiry_reply(ctx: &Ctx<'_>, key: &[u8], f: impl Fn(u64) -> i64) -> Reply<Plan> {
    Ok(Plan::Reply(Frame::Integer(
        match ctx.reader.get(key, ctx.now)? {
            None => -2,
            Some(s) if s.expire_at == 0 => -1,
            Some(s) => f(s.expire_at),
        },
    )))
}

pub(super) fn ttl(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    expiry_reply(ctx, &argv[1], |at| {
        ((at.saturating_sub(ctx.now) + 500) / 1000) as i64
    })
}

pub(super) fn pttl(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    expiry_reply(ctx, &argv[1], |at| at.saturating_sub(ctx.now) as i64)
}

pub(super) fn expiretime(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    expiry_reply(ctx, &argv[1], |at| (at / 1000) as i64)
}

pub(super) fn pexpiretime(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    expiry_reply(ctx, &argv[1], |at| at as i64)
}

pub(super) fn persist(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    Ok(Plan::Write(Mutation::Persist {
        key: argv[1].clone(),
    }))
}

pub(super) fn type_of(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let name = ctx
        .reader
        .get(&argv[1], ctx.now)?
        .map_or("none", |s| s.kind.name());
    Ok(Plan::Reply(Frame::simple(name)))
}

/// The live keys among `rows` that pass the pattern and type filters.
fn live_keys(
    ctx: &Ctx<'_>,
    rows: &[(Bytes, Bytes)],
    pattern: Option<&[u8]>,
    kind: Option<&[u8]>,
    out: &mut Vec<Frame>,
) {
    for (storage_key, raw) in rows {
        let Some(stored) = Stored::decode(raw.clone()) else {
            continue;
        };
        let (_, key) = split_data_key(storage_key);
        if stored.is_expired(ctx.now)
            || pattern.is_some_and(|p| !matches(p, key))
            || kind.is_some_and(|k| !k.eq_ignore_ascii_case(stored.kind.name().as_bytes()))
        {
            continue;
        }
        out.push(Frame::Bulk(storage_key.slice(2..)));
    }
}

/// Scans `Keys` from `start` to `end` in chunks, feeding rows to `visit` while it returns true.
fn walk(
    ctx: &Ctx<'_>,
    mut start: Vec<u8>,
    end: Option<&[u8]>,
    mut visit: impl FnMut(&[(Bytes, Bytes)]) -> bool,
) -> Reply<()> {
    loop {
        let rows = ctx.reader.scan_keys(&start, end, CHUNK)?;
        let more = visit(&rows);
        match rows.last() {
            Some((last, _)) if more && rows.len() == CHUNK => {
                start = last.to_vec();
                start.push(0);
            }
            _ => return Ok(()),
        }
    }
}

pub(super) fn keys(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let mut out = Vec::new();
    let pattern = (&argv[1][..] != b"*").then_some(&argv[1][..]);
    walk(ctx, Vec::new(), None, |rows| {
        live_keys(ctx, rows, pattern, None, &mut out);
        true
    })?;
    Ok(Plan::Reply(Frame::Array(out)))
}

pub(super) fn scan(ctx: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    let start_slot = cursor(&argv[1])?;
    let opts = ScanOptions::parse(&argv[2..], true, false)?;
    let (pattern, kind) = (opts.pattern.as_deref(), opts.kind.as_deref());
    let mut out = Vec::new();
    let mut next = 0;
    if start_slot < SLOT_COUNT as u64 {
        let rows = ctx
            .reader
            .scan_keys(&slot_start(start_slot as u16), None, opts.count)?;
        live_keys(ctx, &rows, pattern, kind, &mut out);
        if let (Some((last, _)), true) = (rows.last(), rows.len() == opts.count) {
            let (last_slot, _) = split_data_key(last);
            let mut from = last.to_vec();
            from.push(0);
            let end = (usize::from(last_slot) + 1 < SLOT_COUNT).then(|| slot_start(last_slot + 1));
            walk(ctx, from, end.as_ref().map(|e| &e[..]), |rows| {
                live_keys(ctx, rows, pattern, kind, &mut out);
                true
            })?;
            next = if end.is_some() {
                u64::from(last_slot) + 1
            } else {
                0
            };
        }
    }
    Ok(Plan::Reply(Frame::Array(vec![
        Frame::bulk(next.to_string()),
        Frame::Array(out),
    ])))
}

fn rename_plan(argv: &[Bytes], only_if_absent: bool) -> Reply<Plan> {
    Ok(Plan::Write(Mutation::Rename {
        from: argv[1].clone(),
        to: argv[2].clone(),
        only_if_absent,
    }))
}

pub(super) fn rename(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    rename_plan(argv, false)
}

pub(super) fn renamenx(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    rename_plan(argv, true)
}

pub(super) fn randomkey(ctx: &Ctx<'_>, _: &[Bytes]) -> Reply<Plan> {
    if ctx.reader.dbsize() == 0 {
        return Ok(Plan::Reply(Frame::Null));
    }
    let from = rand::thread_rng().gen_range(0..SLOT_COUNT as u16);
    for start in [slot_start(from).to_vec(), Vec::new()] {
        let mut found = None;
        walk(ctx, start, None, |rows| {
            let mut live = Vec::new();
            live_keys(ctx, rows, None, None, &mut live);
            found = live.into_iter().next();
            found.is_none()
        })?;
        if let Some(key) = found {
            return Ok(Plan::Reply(key));
        }
    }
    Ok(Plan::Reply(Frame::Null))
}

pub(super) fn dbsize(ctx: &Ctx<'_>, _: &[Bytes]) -> Reply<Plan> {
    Ok(Plan::Reply(Frame::Integer(ctx.reader.dbsize() as i64)))
}

pub(super) fn flush(_: &Ctx<'_>, argv: &[Bytes]) -> Reply<Plan> {
    match &argv[1..] {
        [] => {}
        [mode] if is(mode, "async") || is(mode, "sync") => {}
        _ => return Err(super::args::syntax()),
    }
    Ok(Plan::Write(Mutation::FlushAll))
}
