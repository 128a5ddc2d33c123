//! Incremental parsing of client requests: RESP multibulk (`*N\r\n$len\r\n…`) as clients
//! send it, and inline commands (`SET k v\r\n`) as redis-cli and telnet send them.
//!
//! The rules are Redis 7's `processMultibulkBuffer` and `processInlineBuffer`, messages
//! included. The parser keeps its place inside a partly received request (the bulks read so
//! far, the length of the bulk being waited for, how much of a header line was already
//! searched), so a huge request arriving in many reads is parsed in time proportional to its
//! size, never rescanned. Bulk arguments, and inline arguments without quotes, are split off
//! the input buffer without copying. Header and inline lines are searched like C's `strchr`:
//! a NUL byte ends the search, so such a line never completes and fails once the buffer
//! outgrows `max_inline_len`, as in Redis. Line limits count from the start of the line, not
//! from how much happened to be buffered, so results never depend on how input was split
//! into reads. Parsing produces argument vectors only: what they mean, and replying to or
//! closing a connection after an error, are the caller's business.

mod inline;

use bytes::{Buf, Bytes, BytesMut};

/// Size limits of a request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest bulk argument (`proto-max-bulk-len`). Default 512 MiB.
    pub max_bulk_len: usize,
    /// Most arguments in one multibulk request. Default 1024 × 1024, the limit of Redis
    /// before 7.0 (Redis 7 accepts up to `i32::MAX`).
    pub max_multibulk_len: usize,
    /// Longest inline request, and longest multibulk header line (`PROTO_INLINE_MAX_SIZE`).
    /// Default 64 KiB.
    pub max_inline_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: 1024 * 1024,
            max_inline_len: 64 * 1024,
        }
    }
}

/// A request that breaks the protocol. Display is Redis's message without the `ERR ` prefix.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ProtocolError {
    /// Inline request without a newline within the limit.
    #[error("Protocol error: too big inline request")]
    TooBigInline,
    /// Inline request with a quote that is not closed, or closed but not followed by a space.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// Multibulk count line without a CR within the limit.
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    /// Multibulk count not a number, or over the limit.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// Bulk length line without a CR within the limit.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// A multibulk element that does not start with `$`; holds the byte found instead.
    #[error("Protocol error: expected '$', got '{}'", shown(*.0))]
    ExpectedBulk(u8),
    /// Bulk length not a number, negative, or over the limit.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
}

/// A byte as Redis's error formatting shows it: CR and LF become spaces. A byte above ASCII,
/// which Redis writes raw, is shown as the Unicode character of the same number, since the
/// message is text.
fn shown(byte: u8) -> char {
    match byte {
        b'\r' | b'\n' => ' ',
        other => char::from(other),
    }
}

/// Parses requests from a connection's input buffer, one at a time.
#[derive(Debug)]
pub struct RequestParser {
    limits: Limits,
    /// Bytes at the front of the buffer already searched for the end of the current header
    /// or inline line. At least `max_inline_len + 1` once the search can no longer succeed.
    scanned: usize,
    /// The multibulk request being read, once its count line has been parsed.
    multibulk: Option<Multibulk>,
    /// The arguments of the request being read, or of the one last returned; the vector is
    /// reused from one request to the next.
    args: Vec<Bytes>,
}

/// Capacity of the argument vector beyond which a parser lets it go after a request,
/// instead of keeping it for the next one.
const KEPT_ARGS: usize = 1024;

/// Progress inside a multibulk request.
#[derive(Debug)]
struct Multibulk {
    /// Bulks still to read.
    remaining: usize,
    /// Length of the bulk whose header was read but whose data has not fully arrived.
    bulk_len: Option<usize>,
}

/// Outcome of looking for the end of a line.
enum Line {
    /// The terminator is at this index, and the line is complete.
    End(usize),
    /// More bytes are needed.
    Incomplete,
    /// No terminator within the limit.
    TooLong,
}

impl RequestParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestParser {
            limits,
            scanned: 0,
            multibulk: None,
            args: Vec::new(),
        }
    }

    /// Parses the next complete request from the front of `buf`, consuming exactly its bytes.
    ///
    /// `Ok(None)`: more bytes are needed; progress so far is kept, and `buf` may have been
    /// grown to fit a bulk being waited for. Empty requests (`*0`, `*-1`, blank inline lines)
    /// are consumed and skipped, so a returned request is never empty. `buf` must be the same
    /// buffer on every call, with new bytes appended at its end. The arguments returned are
    /// the parser's until the next call, which drops them (so that `buf`'s memory, which they
    /// share, can be reused). `Err`: the client broke the protocol; reply `-ERR <error>` and
    /// close, without calling `parse` again.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<&[Bytes]>, ProtocolError> {
        Ok(self.read_request(buf)?.then_some(&self.args[..]))
    }

    /// Reads the next request's arguments into `args`; false if more bytes are needed.
    fn read_request(&mut self, buf: &mut BytesMut) -> Result<bool, ProtocolError> {
        loop {
            if let Some(multibulk) = self.multibulk.as_mut() {
                if !multibulk.read_bulks(buf, &mut self.scanned, &self.limits, &mut self.args)? {
                    return Ok(false);
                }
                self.multibulk = None;
                return Ok(true);
            }
            self.release_args();
            match buf.first() {
                None => return Ok(false),
                Some(b'*') => match self.multibulk_count(buf)? {
                    None => return Ok(false),
                    Some(0) => continue,
                    Some(count) => {
                        self.args.reserve(count.min(KEPT_ARGS));
                        self.multibulk = Some(Multibulk::new(count));
                    }
                },
                Some(_) => match self.inline(buf)? {
                    None => return Ok(false),
                    Some(args) if args.is_empty() => continue,
                    Some(args) => {
                        self.args = args;
                        return Ok(true);
                    }
                },
            }
        }
    }

    /// Drops the last request's arguments, which hold on to the input buffer, so that it can
    /// be reused; their vector is kept for the next request unless it grew large.
    fn release_args(&mut self) {
        if self.args.capacity() > KEPT_ARGS {
            self.args = Vec::new();
        } else {
            self.args.clear();
        }
    }

    /// Reads `*<count>\r\n`; `Some(0)` for an empty request (a count of zero or less).
    fn multibulk_count(&mut self, buf: &mut BytesMut) -> Result<Option<usize>, ProtocolError> {
        if let Some(count) =
            take_quick_header(buf, &mut self.scanned, self.limits.max_multibulk_len)
        {
            return Ok(Some(count));
        }
        let end = match find_line(buf, b'\r', &mut self.scanned, &self.limits) {
            Line::End(end) => end,
            Line::Incomplete => return Ok(None),
            Line::TooLong => return Err(ProtocolError::TooBigMultibulkCount),
        };
        let count = string2ll(&buf[1..end])
            .filter(|&n| usize::try_from(n).map_or(true, |n| n <= self.limits.max_multibulk_len))
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        buf.advance(end + 2);
        Ok(Some(usize::try_from(count).unwrap_or(0)))
    }

    /// Reads one inline line; an empty request for a blank line.
    fn inline(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let newline = match find_line(buf, b'\n', &mut self.scanned, &self.limits) {
            Line::End(newline) => newline,
            Line::Incomplete => return Ok(None),
            Line::TooLong => return Err(ProtocolError::TooBigInline),
        };
        let line = buf.split_to(newline + 1).freeze();
        let end = if newline > 0 && line[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        inline::split_args(&line.slice(..end)).map(Some)
    }
}

impl Multibulk {
    fn new(count: usize) -> Self {
        Multibulk {
            remaining: count,
            bulk_len: None,
        }
    }

    /// Reads bulks from `buf` into `args`; true once all have arrived.
    fn read_bulks(
        &mut self,
        buf: &mut BytesMut,
        scanned: &mut usize,
        limits: &Limits,
        args: &mut Vec<Bytes>,
    ) -> Result<bool, ProtocolError> {
        while self.remaining > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => match bulk_header(buf, scanned, limits)? {
                    Some(len) => {
                        self.bulk_len = Some(len);
                        len
                    }
                    None => return Ok(false),
                },
            };
            let needed = len.saturating_add(2);
            if buf.len() < needed {
                buf.reserve(needed - buf.len());
                return Ok(false);
            }
            args.push(buf.split_to(len).freeze());
            // Redis skips the two bytes after the data without looking at them.
            buf.advance(2);
            self.bulk_len = None;
            self.remaining -= 1;
        }
        Ok(true)
    }
}

/// Reads a bulk's header (`$<len>\r\n`) from the front of `buf`; None until it has all
/// arrived.
fn bulk_header(
    buf: &mut BytesMut,
    scanned: &mut usize,
    limits: &Limits,
) -> Result<Option<usize>, ProtocolError> {
    if buf.first() == Some(&b'$') {
        if let Some(len) = take_quick_header(buf, scanned, limits.max_bulk_len) {
            return Ok(Some(len));
        }
    }
    let end = match find_line(buf, b'\r', scanned, limits) {
        Line::End(end) => end,
        Line::Incomplete => return Ok(None),
        Line::TooLong => return Err(ProtocolError::TooBigBulkCount),
    };
    if buf[0] != b'$' {
        return Err(ProtocolError::ExpectedBulk(buf[0]));
    }
    let len = string2ll(&buf[1..end])
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n <= limits.max_bulk_len)
        .ok_or(ProtocolError::InvalidBulkLength)?;
    buf.advance(end + 2);
    Ok(Some(len))
}

/// Consumes the header line at the front of `buf` if [`quick_header`] reads it and its number
/// is at most `max`, and returns that number; otherwise leaves `buf` to the general path.
fn take_quick_header(buf: &mut BytesMut, scanned: &mut usize, max: usize) -> Option<usize> {
    let (n, end) = quick_header(buf).filter(|&(n, _)| n <= max)?;
    *scanned = 0;
    buf.advance(end + 2);
    Some(n)
}

/// Most digits [`quick_header`] reads.
const QUICK_DIGITS: usize = 10;

/// The number of a header line at the front of `buf` (`*3\r\n`, `$16\r\n`: a type byte, a
/// digit other than zero, up to nine more digits, CR, and the byte after it) and where its
/// CR is, read in one pass: what nearly every request's headers look like. None for anything
/// else (a zero, a sign, a line not yet complete), which the general path, searching for the
/// line's end and then parsing its number as Redis does, reads and judges; on a line both
/// accept, both give the same number.
fn quick_header(buf: &[u8]) -> Option<(usize, usize)> {
    let first = *buf.get(1)?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut n = usize::from(first - b'0');
    for (i, &c) in buf.iter().enumerate().skip(2).take(QUICK_DIGITS) {
        match c {
            b'0'..=b'9' => n = n * 10 + usize::from(c - b'0'),
            b'\r' if buf.len() > i + 1 => return Some((n, i)),
            _ => return None,
        }
    }
    None
}

/// Finds the end of the line at the front of `buf`, searching only bytes not yet searched
/// (`scanned`), as C's `strchr` would (a NUL ends the search), and no further than
/// `max_inline_len + 1` bytes into the line. A CR-terminated line is complete only once the
/// byte after the CR has arrived too. Resets `scanned` when the line is complete.
fn find_line(buf: &[u8], terminator: u8, scanned: &mut usize, limits: &Limits) -> Line {
    let window_cap = limits.max_inline_len.saturating_add(1);
    let window = buf.len().min(window_cap);
    if *scanned < window {
        match find_either(terminator, 0, &buf[*scanned..window]) {
            Some(i) if buf[*scanned + i] == terminator => {
                let at = *scanned + i;
                let complete_len = if terminator == b'\r' { at + 2 } else { at + 1 };
                if buf.len() < complete_len {
                    *scanned = at;
                    return Line::Incomplete;
                }
                *scanned = 0;
                return Line::End(at);
            }
            Some(_) => *scanned = window_cap,
            None => *scanned = window,
        }
    }
    if buf.len() > limits.max_inline_len {
        Line::TooLong
    } else {
        Line::Incomplete
    }
}

/// Header lines searched byte by byte before [`memchr::memchr2`] takes over: most are a few
/// bytes long, shorter than what its vector search costs to set up.
const SHORT_LINE: usize = 16;

/// The first index in `hay` of `a` or `b`.
fn find_either(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    let head = hay.len().min(SHORT_LINE);
    match hay[..head].iter().position(|&c| c == a || c == b) {
        Some(i) => Some(i),
        None => memchr::memchr2(a, b, &hay[head..]).map(|i| i + head),
    }
}

/// Parses a number like Redis's `string2ll`: an optional `-`, then digits without leading
/// zeros (or a lone `0`), at most 20 bytes, within `i64`.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) {
        return None;
    }
    let mut magnitude: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

#[cfg(test)]
mod tests;
