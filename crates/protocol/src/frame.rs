//! Reply values (`Frame`) and their encoding in RESP2 or RESP3.
//!
//! Frames are only encoded here, never parsed: clients send requests, which
//! [`crate::request`] parses into plain argument vectors. RESP3-only types degrade to
//! their RESP2 equivalents (maps to flat arrays, doubles to bulk strings, …) as Redis does.

use bytes::{BufMut, Bytes, BytesMut};

/// The protocol a connection speaks, chosen with `HELLO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProtocolVersion {
    /// RESP2, the default.
    #[default]
    Resp2,
    /// RESP3.
    Resp3,
}

/// A reply value.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK`.
    Simple(Bytes),
    /// `-ERR …`: the text includes the error code prefix.
    Error(Bytes),
    /// `:1`.
    Integer(i64),
    /// `$3\r\nfoo`.
    Bulk(Bytes),
    /// Missing value: RESP2 `$-1`, RESP3 `_`.
    Null,
    /// Missing array: RESP2 `*-1`, RESP3 `_`.
    NullArray,
    /// `*N`.
    Array(Vec<Frame>),
    /// RESP3 `%N`; RESP2 flat array of 2N items.
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~N`; RESP2 array.
    Set(Vec<Frame>),
    /// RESP3 `,1.5`; RESP2 bulk string of the same text.
    Double(f64),
    /// RESP3 `#t`/`#f`; RESP2 integer 1/0.
    Boolean(bool),
    /// RESP3 `=N\r\ntxt:…`; RESP2 bulk string.
    Verbatim(Bytes),
}

impl Frame {
    /// `+OK`.
    pub fn ok() -> Frame {
        Frame::Simple(Bytes::from_static(b"OK"))
    }

    /// A static simple string.
    pub fn simple(s: &'static str) -> Frame {
        Frame::Simple(Bytes::from_static(s.as_bytes()))
    }

    /// An error reply; `msg` starts with its code (`ERR`, `WRONGTYPE`, …).
    pub fn error(msg: impl Into<String>) -> Frame {
        Frame::Error(Bytes::from(msg.into()))
    }

    /// A bulk string.
    pub fn bulk(b: impl Into<Bytes>) -> Frame {
        Frame::Bulk(b.into())
    }

    /// Appends the encoding of this frame to `out`.
    pub fn encode(&self, out: &mut BytesMut, version: ProtocolVersion) {
        let resp3 = version == ProtocolVersion::Resp3;
        match self {
            Frame::Simple(s) => line(out, b'+', s),
            Frame::Error(e) => line(out, b'-', e),
            Frame::Integer(n) => header(out, b':', *n),
            Frame::Bulk(b) => bulk(out, b'$', b),
            Frame::Null if resp3 => out.put_slice(b"_\r\n"),
            Frame::Null => out.put_slice(b"$-1\r\n"),
            Frame::NullArray if resp3 => out.put_slice(b"_\r\n"),
            Frame::NullArray => out.put_slice(b"*-1\r\n"),
            Frame::Array(items) => {
                header(out, b'*', items.len() as i64);
                items.iter().for_each(|f| f.encode(out, version));
            }
            Frame::Map(pairs) => {
                if resp3 {
                    header(out, b'%', pairs.len() as i64);
                } else {
                    header(out, b'*', 2 * pairs.len() as i64);
                }
                for (k, v) in pairs {
                    k.encode(out, version);
                    v.encode(out, version);
                }
            }
            Frame::Set(items) => {
                header(out, if resp3 { b'~' } else { b'*' }, items.len() as i64);
                items.iter().for_each(|f| f.encode(out, version));
            }
            Frame::Double(d) => {
                let text = format_double(*d);
                if resp3 {
                    line(out, b',', text.as_bytes());
                } else {
                    bulk(out, b'$', text.as_bytes());
                }
            }
            Frame::Boolean(b) if resp3 => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Frame::Boolean(b) => header(out, b':', i64::from(*b)),
            Frame::Verbatim(text) if resp3 => {
                header(out, b'=', text.len() as i64 + 4);
                out.put_slice(b"txt:");
                out.put_slice(text);
                out.put_slice(b"\r\n");
            }
            Frame::Verbatim(text) => bulk(out, b'$', text),
        }
    }
}

/// Doubles as Redis 7 writes them: shortest round-trip text, `inf`, `-inf`, `nan`.
fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".to_owned()
    } else if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{d}")
    }
}

fn line(out: &mut BytesMut, prefix: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    out.put_slice(text);
    out.put_slice(b"\r\n");
}

fn header(out: &mut BytesMut, prefix: u8, n: i64) {
    line(out, prefix, itoa::Buffer::new().format(n).as_bytes());
}

fn bulk(out: &mut BytesMut, prefix: u8, data: &[u8]) {
    header(out, prefix, data.len() as i64);
    out.reserve(data.len() + 2);
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: &Frame, v: ProtocolVersion) -> Vec<u8> {
        let mut out = BytesMut::new();
        f.encode(&mut out, v);
        out.to_vec()
    }

    #[test]
    fn encodes_both_protocols() {
        use ProtocolVersion::*;
        assert_eq!(enc(&Frame::ok(), Resp2), b"+OK\r\n");
        assert_eq!(enc(&Frame::error("ERR x"), Resp2), b"-ERR x\r\n");
        assert_eq!(enc(&Frame::Integer(-3), Resp3), b":-3\r\n");
        assert_eq!(enc(&Frame::bulk("foo"), Resp2), b"$3\r\nfoo\r\n");
        assert_eq!(enc(&Frame::Null, Resp2), b"$-1\r\n");
        assert_eq!(enc(&Frame::Null, Resp3), b"_\r\n");
        assert_eq!(enc(&Frame::NullArray, Resp2), b"*-1\r\n");
        assert_eq!(enc(&Frame::NullArray, Resp3), b"_\r\n");
        let map = Frame::Map(vec![(Frame::bulk("a"), Frame::Integer(1))]);
        assert_eq!(enc(&map, Resp2), b"*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&map, Resp3), b"%1\r\n$1\r\na\r\n:1\r\n");
        let set = Frame::Set(vec![Frame::simple("x")]);
        assert_eq!(enc(&set, Resp2), b"*1\r\n+x\r\n");
        assert_eq!(enc(&set, Resp3), b"~1\r\n+x\r\n");
        assert_eq!(enc(&Frame::Double(1.5), Resp3), b",1.5\r\n");
        assert_eq!(enc(&Frame::Double(1.5), Resp2), b"$3\r\n1.5\r\n");
        assert_eq!(enc(&Frame::Double(f64::NEG_INFINITY), Resp3), b",-inf\r\n");
        assert_eq!(enc(&Frame::Boolean(true), Resp3), b"#t\r\n");
        assert_eq!(enc(&Frame::Boolean(false), Resp2), b":0\r\n");
        assert_eq!(
            enc(&Frame::Verbatim(Bytes::from_static(b"hi")), Resp3),
            b"=6\r\ntxt:hi\r\n"
        );
        assert_eq!(
            enc(&Frame::Verbatim(Bytes::from_static(b"hi")), Resp2),
            b"$2\r\nhi\r\n"
        );
        assert_eq!(
            enc(&Frame::Array(vec![Frame::Integer(1), Frame::Null]), Resp2),
            b"*2\r\n:1\r\n$-1\r\n"
        );
    }
}
