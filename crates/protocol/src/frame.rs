//! Reply values (`Frame`) and their encoding in RESP2 or RESP3.
//!
//! Frames are only encoded here, never parsed: clients send requests, which
//! [`crate::request`] parses into plain argument vectors. RESP3-only types degrade to their
//! RESP2 equivalents (maps to flat arrays, doubles to bulk strings, booleans to integers) as
//! Redis does. Encoding never fails and never allocates beyond growing the output buffer.
//! Status and error lines cannot carry a line break, so CR and LF in them are written as
//! spaces, as Redis's `addReplyErrorFormat` does; choosing the wording is the caller's job.

mod double;

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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// RESP3 `,1.5`; RESP2 bulk string of the same text (Redis 7.2's `d2string`).
    Double(f64),
    /// RESP3 `#t`/`#f`; RESP2 integer 1/0.
    Boolean(bool),
    /// RESP3 `=N\r\ntxt:…`; RESP2 bulk string of the text.
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
            Frame::Simple(text) => status_line(out, b'+', text),
            Frame::Error(text) => status_line(out, b'-', text),
            Frame::Integer(n) => header(out, b':', *n),
            Frame::Bulk(data) => bulk(out, data),
            Frame::Null | Frame::NullArray if resp3 => out.put_slice(b"_\r\n"),
            Frame::Null => out.put_slice(b"$-1\r\n"),
            Frame::NullArray => out.put_slice(b"*-1\r\n"),
            Frame::Array(items) => {
                header(out, b'*', items.len());
                items.iter().for_each(|item| item.encode(out, version));
            }
            Frame::Map(pairs) => {
                if resp3 {
                    header(out, b'%', pairs.len());
                } else {
                    header(out, b'*', 2 * pairs.len());
                }
                for (key, value) in pairs {
                    key.encode(out, version);
                    value.encode(out, version);
                }
            }
            Frame::Set(items) => {
                header(out, if resp3 { b'~' } else { b'*' }, items.len());
                items.iter().for_each(|item| item.encode(out, version));
            }
            Frame::Double(d) => {
                let text = double::DoubleText::new(*d);
                if resp3 {
                    out.reserve(text.as_bytes().len() + 3);
                    out.put_u8(b',');
                    out.put_slice(text.as_bytes());
                    out.put_slice(b"\r\n");
                } else {
                    bulk(out, text.as_bytes());
                }
            }
            Frame::Boolean(b) if resp3 => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Frame::Boolean(b) => out.put_slice(if *b { b":1\r\n" } else { b":0\r\n" }),
            Frame::Verbatim(text) if resp3 => {
                header(out, b'=', text.len() + 4);
                out.reserve(text.len() + 6);
                out.put_slice(b"txt:");
                out.put_slice(text);
                out.put_slice(b"\r\n");
            }
            Frame::Verbatim(text) => bulk(out, text),
        }
    }
}

/// `+text` or `-text`, with any CR or LF inside `text` written as a space.
fn status_line(out: &mut BytesMut, prefix: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    let start = out.len();
    out.put_slice(text);
    if text.iter().any(|b| matches!(b, b'\r' | b'\n')) {
        for b in &mut out[start..] {
            if matches!(*b, b'\r' | b'\n') {
                *b = b' ';
            }
        }
    }
    out.put_slice(b"\r\n");
}

/// A prefix byte, a decimal number and CRLF: `:5`, `*3`, `%2`, ….
fn header(out: &mut BytesMut, prefix: u8, n: impl itoa::Integer) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n).as_bytes();
    out.reserve(digits.len() + 3);
    out.put_u8(prefix);
    out.put_slice(digits);
    out.put_slice(b"\r\n");
}

/// `$len\r\ndata\r\n`.
fn bulk(out: &mut BytesMut, data: &[u8]) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(data.len()).as_bytes();
    out.reserve(digits.len() + data.len() + 5);
    out.put_u8(b'$');
    out.put_slice(digits);
    out.put_slice(b"\r\n");
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion::{Resp2, Resp3};

    fn enc(frame: &Frame, version: ProtocolVersion) -> Vec<u8> {
        let mut out = BytesMut::new();
        frame.encode(&mut out, version);
        out.to_vec()
    }

    /// Asserts the encoding in both versions.
    fn both(frame: Frame, resp2: &[u8], resp3: &[u8]) {
        assert_eq!(enc(&frame, Resp2), resp2, "RESP2 {frame:?}");
        assert_eq!(enc(&frame, Resp3), resp3, "RESP3 {frame:?}");
    }

    #[test]
    fn default_version_is_resp2() {
        assert_eq!(ProtocolVersion::default(), Resp2);
    }

    #[test]
    fn constructors() {
        assert_eq!(Frame::ok(), Frame::Simple(Bytes::from_static(b"OK")));
        assert_eq!(
            Frame::simple("PONG"),
            Frame::Simple(Bytes::from_static(b"PONG"))
        );
        assert_eq!(
            Frame::error("ERR x"),
            Frame::Error(Bytes::from_static(b"ERR x"))
        );
        assert_eq!(Frame::bulk("v"), Frame::Bulk(Bytes::from_static(b"v")));
        assert_eq!(
            Frame::bulk(vec![1u8, 2]),
            Frame::Bulk(Bytes::from(vec![1u8, 2]))
        );
    }

    #[test]
    fn scalars() {
        both(Frame::ok(), b"+OK\r\n", b"+OK\r\n");
        both(Frame::simple(""), b"+\r\n", b"+\r\n");
        both(
            Frame::error("WRONGTYPE Operation against a key"),
            b"-WRONGTYPE Operation against a key\r\n",
            b"-WRONGTYPE Operation against a key\r\n",
        );
        both(Frame::Integer(0), b":0\r\n", b":0\r\n");
        both(Frame::Integer(-3), b":-3\r\n", b":-3\r\n");
        both(
            Frame::Integer(i64::MIN),
            b":-9223372036854775808\r\n",
            b":-9223372036854775808\r\n",
        );
        both(Frame::bulk("foo"), b"$3\r\nfoo\r\n", b"$3\r\nfoo\r\n");
        both(Frame::bulk(""), b"$0\r\n\r\n", b"$0\r\n\r\n");
        both(
            Frame::bulk("a\r\nb"),
            b"$4\r\na\r\nb\r\n",
            b"$4\r\na\r\nb\r\n",
        );
        both(Frame::Null, b"$-1\r\n", b"_\r\n");
        both(Frame::NullArray, b"*-1\r\n", b"_\r\n");
        both(Frame::Boolean(true), b":1\r\n", b"#t\r\n");
        both(Frame::Boolean(false), b":0\r\n", b"#f\r\n");
        both(
            Frame::Verbatim(Bytes::from_static(b"hi")),
            b"$2\r\nhi\r\n",
            b"=6\r\ntxt:hi\r\n",
        );
        both(
            Frame::Verbatim(Bytes::new()),
            b"$0\r\n\r\n",
            b"=4\r\ntxt:\r\n",
        );
    }

    #[test]
    fn line_breaks_in_status_lines_become_spaces() {
        both(
            Frame::error("ERR unknown command 'a\r\nb'"),
            b"-ERR unknown command 'a  b'\r\n",
            b"-ERR unknown command 'a  b'\r\n",
        );
        both(
            Frame::Simple(Bytes::from_static(b"x\ny")),
            b"+x y\r\n",
            b"+x y\r\n",
        );
    }

    #[test]
    fn doubles() {
        both(Frame::Double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n");
        both(Frame::Double(3.0), b"$1\r\n3\r\n", b",3\r\n");
        both(Frame::Double(-0.0), b"$2\r\n-0\r\n", b",-0\r\n");
        both(Frame::Double(0.1), b"$3\r\n0.1\r\n", b",0.1\r\n");
        both(Frame::Double(1e300), b"$6\r\n1e+300\r\n", b",1e+300\r\n");
        both(Frame::Double(f64::INFINITY), b"$3\r\ninf\r\n", b",inf\r\n");
        both(
            Frame::Double(f64::NEG_INFINITY),
            b"$4\r\n-inf\r\n",
            b",-inf\r\n",
        );
        both(Frame::Double(f64::NAN), b"$3\r\nnan\r\n", b",nan\r\n");
    }

    #[test]
    fn aggregates() {
        both(
            Frame::Array(vec![Frame::Integer(1), Frame::Null]),
            b"*2\r\n:1\r\n$-1\r\n",
            b"*2\r\n:1\r\n_\r\n",
        );
        both(Frame::Array(vec![]), b"*0\r\n", b"*0\r\n");
        both(
            Frame::Map(vec![
                (Frame::bulk("a"), Frame::Integer(1)),
                (Frame::bulk("b"), Frame::Double(2.5)),
            ]),
            b"*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n$3\r\n2.5\r\n",
            b"%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n,2.5\r\n",
        );
        both(Frame::Map(vec![]), b"*0\r\n", b"%0\r\n");
        both(
            Frame::Set(vec![Frame::simple("x"), Frame::Boolean(true)]),
            b"*2\r\n+x\r\n:1\r\n",
            b"~2\r\n+x\r\n#t\r\n",
        );
        both(
            Frame::Array(vec![
                Frame::Array(vec![Frame::bulk("k")]),
                Frame::Set(vec![]),
                Frame::NullArray,
            ]),
            b"*3\r\n*1\r\n$1\r\nk\r\n*0\r\n*-1\r\n",
            b"*3\r\n*1\r\n$1\r\nk\r\n~0\r\n_\r\n",
        );
    }

    #[test]
    fn appends_to_existing_output() {
        let mut out = BytesMut::from(&b"+OK\r\n"[..]);
        Frame::Integer(7).encode(&mut out, Resp2);
        assert_eq!(&out[..], b"+OK\r\n:7\r\n");
    }
}
