//! Fuzzes `RequestParser` with arbitrary bytes fed in arbitrary pieces.
//!
//! Checks that parsing never panics, that the outcome (requests, then the error or the
//! unconsumed tail) is the same whether the input arrives whole or split into reads, that no
//! request is empty or breaks the limits, and that every request survives re-encoding as a
//! multibulk. It does not check the meaning of requests: that is the command parser's target.
//!
//! Input layout: byte 0 picks the limits (bit 0: tiny limits that the fuzzer can reach) and
//! how many of the following bytes are read sizes (bits 1-4); the rest is the stream.

#![no_main]

use bytes::{BufMut, Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use ringkv_protocol::{Limits, ProtocolError, RequestParser};

/// Limits small enough for short fuzz inputs to hit every "too big" path.
const TINY: Limits = Limits {
    max_bulk_len: 16,
    max_multibulk_len: 4,
    max_inline_len: 32,
};

/// What the parser made of a stream.
#[derive(Debug, PartialEq)]
struct Outcome {
    requests: Vec<Vec<Bytes>>,
    error: Option<ProtocolError>,
    /// Unconsumed bytes, when no error stopped parsing.
    rest: Vec<u8>,
}

fn parse_reads<'a>(reads: impl IntoIterator<Item = &'a [u8]>, limits: Limits) -> Outcome {
    let mut parser = RequestParser::new(limits);
    let mut buf = BytesMut::new();
    let mut requests = Vec::new();
    for read in reads {
        buf.extend_from_slice(read);
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(args)) => requests.push(args.to_vec()),
                Ok(None) => break,
                Err(error) => {
                    return Outcome {
                        requests,
                        error: Some(error),
                        rest: Vec::new(),
                    }
                }
            }
        }
    }
    Outcome {
        requests,
        error: None,
        rest: buf.to_vec(),
    }
}

/// Splits `stream` into reads whose sizes cycle through `sizes` (each 1 to 256 bytes).
fn reads<'a>(stream: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = stream;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (read, tail) = rest.split_at(rest.len().min(usize::from(size) + 1));
        out.push(read);
        rest = tail;
    }
    out
}

fn multibulk(args: &[Bytes]) -> BytesMut {
    let mut out = BytesMut::new();
    out.put_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.put_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.put_slice(arg);
        out.put_slice(b"\r\n");
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let limits = if control & 1 == 1 { TINY } else { Limits::default() };
    let size_count = usize::from((control >> 1) & 0x0f).min(rest.len());
    let (sizes, stream) = rest.split_at(size_count);

    let whole = parse_reads([stream], limits);
    if !sizes.is_empty() {
        assert_eq!(parse_reads(reads(stream, sizes), limits), whole, "split reads");
    }
    assert_eq!(parse_reads(stream.chunks(1), limits), whole, "byte at a time");

    for args in &whole.requests {
        assert!(!args.is_empty(), "empty request");
        assert!(args.iter().all(|arg| arg.len() <= limits.max_bulk_len.max(limits.max_inline_len)));
        let mut encoded = multibulk(args);
        let mut parser = RequestParser::new(Limits::default());
        let reparsed = parser.parse(&mut encoded);
        assert_eq!(reparsed, Ok(Some(&args[..])), "re-encoded request");
        assert!(encoded.is_empty());
    }
});
