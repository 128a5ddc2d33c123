//! Argument parsing shared by the command families, with Redis's error wording.

use bytes::Bytes;
use ringkv_protocol::Frame;

use crate::error::{NOT_FLOAT, NOT_INTEGER, SYNTAX};
use crate::number::{parse_f64, parse_i64};

/// A command's early reply: an error (or a short-circuit answer) instead of a plan.
pub type Reply<T> = std::result::Result<T, Frame>;

/// Parses an integer argument.
pub fn int(arg: &[u8]) -> Reply<i64> {
    parse_i64(arg).ok_or_else(|| Frame::error(NOT_INTEGER))
}

/// Parses a float argument.
pub fn float(arg: &[u8]) -> Reply<f64> {
    parse_f64(arg).ok_or_else(|| Frame::error(NOT_FLOAT))
}

/// `ERR syntax error`.
pub fn syntax() -> Frame {
    Frame::error(SYNTAX)
}

/// `ERR wrong number of arguments for '<name>' command`.
pub fn wrong_arity(name: &str) -> Frame {
    Frame::error(format!(
        "ERR wrong number of arguments for '{}' command",
        name.to_ascii_lowercase()
    ))
}

/// Whether `arg` equals the ASCII keyword `word`, ignoring case.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Pairs up `key value key value …` arguments.
pub fn pairs(args: &[Bytes]) -> Vec<(Bytes, Bytes)> {
    args.chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect()
}

/// Turns a relative or absolute time argument into absolute Unix ms, as `SET`/`EXPIRE` do.
/// `unit_ms` is 1000 for seconds, 1 for ms; `base` is `now` for relative times, 0 for absolute.
/// None when the result overflows.
pub fn absolute_ms(value: i64, unit_ms: i64, base: u64) -> Option<i64> {
    value
        .checked_mul(unit_ms)?
        .checked_add(i64::try_from(base).ok()?)
}

/// `SCAN`-style options: `MATCH pattern`, `COUNT n`, `TYPE t` (when `allow_type`), `NOVALUES` (when `allow_novalues`).
#[derive(Debug, Default)]
pub struct ScanOptions {
    /// Glob pattern the returned names must match.
    pub pattern: Option<Bytes>,
    /// How many entries to aim for.
    pub count: usize,
    /// Type filter (`SCAN … TYPE`).
    pub kind: Option<Bytes>,
    /// Return field names only (`HSCAN … NOVALUES`).
    pub no_values: bool,
}

impl ScanOptions {
    /// Parses the options after the cursor.
    pub fn parse(args: &[Bytes], allow_type: bool, allow_novalues: bool) -> Reply<Self> {
        let mut opts = ScanOptions {
            count: 10,
            ..Default::default()
        };
        let mut i = 0;
        while i < args.len() {
            let has_value = i + 1 < args.len();
            if is(&args[i], "match") && has_value {
                opts.pattern = Some(args[i + 1].clone());
                i += 2;
            } else if is(&args[i], "count") && has_value {
                let n = int(&args[i + 1])?;
                if n < 1 {
                    return Err(syntax());
                }
                opts.count = n as usize;
                i += 2;
            } else if allow_type && is(&args[i], "type") && has_value {
                opts.kind = Some(args[i + 1].clone());
                i += 2;
            } else if allow_novalues && is(&args[i], "novalues") {
                opts.no_values = true;
                i += 1;
            } else {
                return Err(syntax());
            }
        }
        Ok(opts)
    }
}

/// Parses a `SCAN` cursor.
pub fn cursor(arg: &[u8]) -> Reply<u64> {
    std::str::from_utf8(arg)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| Frame::error("ERR invalid cursor"))
}
