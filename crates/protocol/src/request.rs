//! Incremental parsing of client requests: RESP multibulk (`*N\r\n$len\r\n…`) as clients
//! send it, and inline commands (`SET k v\r\n`) as redis-cli and telnet send them.
//!
//! The parser keeps its position inside a partly received request, so a huge multibulk
//! arriving in many reads is parsed in time proportional to its size, never rescanned.
//! Bulk arguments are split off the input buffer without copying. Limits follow Redis
//! (`proto-max-bulk-len`, the multibulk count limit, `PROTO_INLINE_MAX_SIZE`), and every
//! violation is a [`ProtocolError`] worded like Redis's; the caller replies and closes.
//! Parsing produces argument vectors only; what they mean is the command layer's business.

use bytes::{Buf, Bytes, BytesMut};

/// Size limits of a request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest bulk argument. Default 512 MiB.
    pub max_bulk_len: usize,
    /// Most arguments in one request. Default 1024 × 1024.
    pub max_multibulk_len: usize,
    /// Longest inline request, and longest length line of a multibulk. Default 64 KiB.
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
    /// Multibulk count line without a newline within the limit.
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    /// Multibulk count not a number, or over the limit.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// Bulk length line without a newline within the limit.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// A multibulk element that is not a bulk string.
    #[error("Protocol error: expected '$', got '{0}'")]
    ExpectedBulk(char),
    /// Bulk length not a number, negative, or over the limit.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
}

/// Where the parser is inside a multibulk request.
#[derive(Debug)]
struct Multibulk {
    remaining: usize,
    args: Vec<Bytes>,
    bulk_len: Option<usize>,
}

/// Parses requests from a connection's input buffer, one at a time.
#[derive(Debug)]
pub struct RequestParser {
    limits: Limits,
    partial: Option<Multibulk>,
}

/// Position of the `\r` of the first `\r\n`-terminated line, None if no complete line yet.
fn line_end(buf: &[u8]) -> Option<usize> {
    let cr = memchr::memchr(b'\r', buf)?;
    (cr + 1 < buf.len()).then_some(cr)
}

/// Parses a length like Redis's `string2ll`, strictly.
fn parse_len(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let (negative, rest) = match digits[0] {
        b'-' => (true, &digits[1..]),
        _ => (false, digits),
    };
    if rest.is_empty()
        || (rest[0] == b'0' && rest.len() > 1)
        || !rest.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let mut n: i64 = 0;
    for &d in rest {
        n = n.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
    }
    Some(if negative { -n } else { n })
}

impl RequestParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestParser {
            limits,
            partial: None,
        }
    }

    /// Parses the next complete request from the front of `buf`, consuming exactly its bytes.
    /// `Ok(None)`: more bytes are needed (progress so far is kept). `Err`: the client broke
    /// the protocol; reply with `-ERR <error>` and close.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if let Some(partial) = self.partial.as_mut() {
                return Self::continue_multibulk(&self.limits, partial, buf)
                    .map(|done| done.then(|| self.partial.take().expect("partial request").args));
            }
            match buf.first() {
                None => return Ok(None),
                Some(b'*') => {
                    let Some(end) = line_end(buf) else {
                        if buf.len() > self.limits.max_inline_len {
                            return Err(ProtocolError::TooBigMultibulkCount);
                        }
                        return Ok(None);
                    };
                    let count = parse_len(&buf[1..end])
                        .filter(|&n| n <= self.limits.max_multibulk_len as i64)
                        .ok_or(ProtocolError::InvalidMultibulkLength)?;
                    buf.advance(end + 2);
                    if count > 0 {
                        let remaining = count as usize;
                        self.partial = Some(Multibulk {
                            remaining,
                            args: Vec::with_capacity(remaining.min(1024)),
                            bulk_len: None,
                        });
                    }
                }
                Some(_) => match self.parse_inline(buf)? {
                    Some(args) if args.is_empty() => continue,
                    other => return Ok(other),
                },
            }
        }
    }

    /// Reads bulk arguments of a multibulk; Ok(true) when all have arrived.
    fn continue_multibulk(
        limits: &Limits,
        partial: &mut Multibulk,
        buf: &mut BytesMut,
    ) -> Result<bool, ProtocolError> {
        while partial.remaining > 0 {
            let len = match partial.bulk_len {
                Some(len) => len,
                None => {
                    let Some(end) = line_end(buf) else {
                        if buf.len() > limits.max_inline_len {
                            return Err(ProtocolError::TooBigBulkCount);
                        }
                        return Ok(false);
                    };
                    if buf[0] != b'$' {
                        return Err(ProtocolError::ExpectedBulk(char::from(buf[0])));
                    }
                    let len = parse_len(&buf[1..end])
                        .filter(|&n| n >= 0 && n <= limits.max_bulk_len as i64)
                        .ok_or(ProtocolError::InvalidBulkLength)?
                        as usize;
                    buf.advance(end + 2);
                    partial.bulk_len = Some(len);
                    len
                }
            };
            if buf.len() < len + 2 {
                buf.reserve(len + 2 - buf.len());
                return Ok(false);
            }
            partial.args.push(buf.split_to(len).freeze());
            buf.advance(2);
            partial.bulk_len = None;
            partial.remaining -= 1;
        }
        Ok(true)
    }

    /// Parses one inline line; an empty Vec for a blank line.
    fn parse_inline(&self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let Some(newline) = memchr::memchr(b'\n', buf) else {
            if buf.len() > self.limits.max_inline_len {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(None);
        };
        let mut line = &buf[..newline];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let args = split_args(line)?;
        buf.advance(newline + 1);
        Ok(Some(args))
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

/// Splits an inline request into arguments like Redis's `sdssplitargs`.
fn split_args(line: &[u8]) -> Result<Vec<Bytes>, ProtocolError> {
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p == line.len() {
            return Ok(args);
        }
        let mut current = Vec::new();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = line.get(p).copied();
            if in_double {
                let Some(c) = c else {
                    return Err(ProtocolError::UnbalancedQuotes);
                };
                let next = line.get(p + 1).copied();
                if c == b'\\' && next == Some(b'x') {
                    if let (Some(h), Some(l)) = (
                        line.get(p + 2).copied().and_then(hex),
                        line.get(p + 3).copied().and_then(hex),
                    ) {
                        current.push(h * 16 + l);
                        p += 4;
                        continue;
                    }
                }
                if c == b'\\' && next.is_some() {
                    current.push(match next.expect("checked") {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                    p += 2;
                } else if c == b'"' {
                    if next.is_some_and(|n| !is_space(n)) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    p += 1;
                    break;
                } else {
                    current.push(c);
                    p += 1;
                }
            } else if in_single {
                let Some(c) = c else {
                    return Err(ProtocolError::UnbalancedQuotes);
                };
                let next = line.get(p + 1).copied();
                if c == b'\\' && next == Some(b'\'') {
                    current.push(b'\'');
                    p += 2;
                } else if c == b'\'' {
                    if next.is_some_and(|n| !is_space(n)) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    p += 1;
                    break;
                } else {
                    current.push(c);
                    p += 1;
                }
            } else {
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t' | 0) => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(c) => current.push(c),
                }
                p += 1;
            }
        }
        args.push(Bytes::from(current));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut parser = RequestParser::new(Limits::default());
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(args) = parser.parse(&mut buf)? {
            out.push(args);
        }
        Ok(out)
    }

    fn parse_bytewise(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut parser = RequestParser::new(Limits::default());
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for &b in input {
            buf.extend_from_slice(&[b]);
            while let Some(args) = parser.parse(&mut buf)? {
                out.push(args);
            }
        }
        Ok(out)
    }

    fn strs(reqs: &[Vec<Bytes>]) -> Vec<Vec<&[u8]>> {
        reqs.iter()
            .map(|r| r.iter().map(|a| &a[..]).collect())
            .collect()
    }

    #[test]
    fn multibulk_pipeline_and_split_reads() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n*1\r\n$4\r\nPING\r\n*0\r\n*-1\r\n*1\r\n$0\r\n\r\n";
        let whole = parse_all(input).unwrap();
        assert_eq!(
            strs(&whole),
            vec![vec![&b"SET"[..], b"k", b"a\r\nb"], vec![b"PING"], vec![b""]]
        );
        assert_eq!(whole, parse_bytewise(input).unwrap());
    }

    #[test]
    fn inline_commands() {
        let input = b"PING\r\n\r\nSET k \"hello world\"\nGET 'it\\'s'\r\n  ECHO \"\\x41\\n\"  \r\n";
        let whole = parse_all(input).unwrap();
        assert_eq!(
            strs(&whole),
            vec![
                vec![&b"PING"[..]],
                vec![b"SET", b"k", b"hello world"],
                vec![b"GET", b"it's"],
                vec![b"ECHO", b"A\n"]
            ]
        );
        assert_eq!(whole, parse_bytewise(input).unwrap());
    }

    #[test]
    fn errors_match_redis() {
        use ProtocolError::*;
        assert_eq!(parse_all(b"*1\r\n$536870913\r\n"), Err(InvalidBulkLength));
        assert_eq!(parse_all(b"*1\r\n$-5\r\n"), Err(InvalidBulkLength));
        assert_eq!(parse_all(b"*1\r\n$abc\r\n"), Err(InvalidBulkLength));
        assert_eq!(parse_all(b"*1048577\r\n"), Err(InvalidMultibulkLength));
        assert_eq!(parse_all(b"*x\r\n"), Err(InvalidMultibulkLength));
        assert_eq!(parse_all(b"*1\r\n+foo\r\n"), Err(ExpectedBulk('+')));
        assert_eq!(parse_all(b"SET k \"abc\r\n"), Err(UnbalancedQuotes));
        assert_eq!(parse_all(b"SET k \"abc\"def\r\n"), Err(UnbalancedQuotes));
        assert_eq!(parse_all(b"SET k 'abc\r\n"), Err(UnbalancedQuotes));
        assert_eq!(parse_all(&vec![b'a'; 65 * 1024]), Err(TooBigInline));
        let mut big_count = b"*".to_vec();
        big_count.extend(vec![b'1'; 65 * 1024]);
        assert_eq!(parse_all(&big_count), Err(TooBigMultibulkCount));
        let mut big_len = b"*1\r\n$".to_vec();
        big_len.extend(vec![b'1'; 65 * 1024]);
        assert_eq!(parse_all(&big_len), Err(TooBigBulkCount));
        assert_eq!(
            ProtocolError::ExpectedBulk('+').to_string(),
            "Protocol error: expected '$', got '+'"
        );
    }

    #[test]
    fn incomplete_input_waits() {
        let mut parser = RequestParser::new(Limits::default());
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$5\r\nab"[..]);
        assert_eq!(parser.parse(&mut buf), Ok(None));
        buf.extend_from_slice(b"cde\r\n");
        let args = parser.parse(&mut buf).unwrap().unwrap();
        assert_eq!(strs(&[args]), vec![vec![&b"GET"[..], b"abcde"]]);
        assert!(buf.is_empty());
    }
}
