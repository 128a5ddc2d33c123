//! Splitting an inline request line into arguments, exactly like Redis's `sdssplitargs`.
//!
//! Arguments are separated by whitespace. Double quotes allow `\n \r \t \b \a \\ \"` and
//! `\xHH` escapes (any other escaped byte stands for itself); single quotes allow only `\'`.
//! A closing quote must be followed by whitespace or the end of the line, and quotes may open
//! in the middle of an argument (`a"b c"` is one argument). Arguments without quotes are
//! slices of the line, not copies. Finding the line is the parser's job: the line given here
//! has no line terminator and, as in Redis, no NUL byte.

use bytes::Bytes;

use super::ProtocolError;

/// `isspace` in the C locale: what separates arguments, and what may follow a closing quote.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Bytes that end an unquoted argument. Vertical tab and form feed do not, as in Redis.
fn ends_unquoted(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

/// Splits `line` into arguments; an empty vector for a blank line.
pub(super) fn split_args(line: &Bytes) -> Result<Vec<Bytes>, ProtocolError> {
    let s = &line[..];
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < s.len() && is_space(s[p]) {
            p += 1;
        }
        if p == s.len() {
            return Ok(args);
        }
        let start = p;
        while p < s.len() && !ends_unquoted(s[p]) && s[p] != b'"' && s[p] != b'\'' {
            p += 1;
        }
        if p == s.len() || ends_unquoted(s[p]) {
            args.push(line.slice(start..p));
            continue;
        }
        let mut arg = s[start..p].to_vec();
        p = quoted(s, p, &mut arg)?;
        args.push(Bytes::from(arg));
    }
}

/// Continues an argument at `p`, where a quote opens, appending its bytes to `arg`. Returns
/// the position after the argument (and after the byte that ended it).
fn quoted(s: &[u8], mut p: usize, arg: &mut Vec<u8>) -> Result<usize, ProtocolError> {
    let (mut in_double, mut in_single) = (false, false);
    loop {
        let Some(&c) = s.get(p) else {
            return if in_double || in_single {
                Err(ProtocolError::UnbalancedQuotes)
            } else {
                Ok(p)
            };
        };
        let next = s.get(p + 1).copied();
        let mut done = false;
        if in_double {
            let hex = (next == Some(b'x'))
                .then(|| Some(hex_value(*s.get(p + 2)?)? * 16 + hex_value(*s.get(p + 3)?)?))
                .flatten();
            match (c, next, hex) {
                (b'\\', _, Some(byte)) => {
                    arg.push(byte);
                    p += 3;
                }
                (b'\\', Some(escaped), None) => {
                    arg.push(match escaped {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                    p += 1;
                }
                (b'"', _, _) => {
                    closing_quote(next)?;
                    done = true;
                }
                _ => arg.push(c),
            }
        } else if in_single {
            match (c, next) {
                (b'\\', Some(b'\'')) => {
                    arg.push(b'\'');
                    p += 1;
                }
                (b'\'', _) => {
                    closing_quote(next)?;
                    done = true;
                }
                _ => arg.push(c),
            }
        } else {
            match c {
                b'"' => in_double = true,
                b'\'' => in_single = true,
                c if ends_unquoted(c) => done = true,
                c => arg.push(c),
            }
        }
        p += 1;
        if done {
            return Ok(p);
        }
    }
}

/// A closing quote must be followed by whitespace or the end of the line.
fn closing_quote(next: Option<u8>) -> Result<(), ProtocolError> {
    match next {
        Some(b) if !is_space(b) => Err(ProtocolError::UnbalancedQuotes),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &[u8]) -> Result<Vec<Vec<u8>>, ProtocolError> {
        split_args(&Bytes::copy_from_slice(line))
            .map(|args| args.into_iter().map(|a| a.to_vec()).collect())
    }

    fn ok(line: &[u8], expected: &[&[u8]]) {
        let expected: Vec<Vec<u8>> = expected.iter().map(|a| a.to_vec()).collect();
        assert_eq!(
            split(line),
            Ok(expected),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }

    fn unbalanced(line: &[u8]) {
        assert_eq!(
            split(line),
            Err(ProtocolError::UnbalancedQuotes),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }

    #[test]
    fn plain_arguments() {
        ok(b"", &[]);
        ok(b"   \t ", &[]);
        ok(b"PING", &[b"PING"]);
        ok(b"  SET  k\tv  ", &[b"SET", b"k", b"v"]);
        ok(b"a\rb", &[b"a", b"b"]);
        ok(b"\x0bPING\x0c", &[b"PING\x0c"]);
        ok(b"a\x0bb", &[b"a\x0bb"]);
        ok(b"\xff\xfe", &[b"\xff\xfe"]);
    }

    #[test]
    fn unquoted_arguments_are_not_copied() {
        let line = Bytes::from_static(b"GET key");
        let args = split_args(&line).unwrap();
        assert_eq!(args[1].as_ptr(), line[4..].as_ptr());
    }

    #[test]
    fn double_quotes() {
        ok(br#"SET k "hello world""#, &[b"SET", b"k", b"hello world"]);
        ok(br#""""#, &[b""]);
        ok(br#""" x"#, &[b"", b"x"]);
        ok(
            br#""a\nb\rc\td\be\af\\g\"h\qi""#,
            &[b"a\nb\rc\td\x08e\x07f\\g\"hqi"],
        );
        ok(br#""\x41\x6a\x4A""#, &[b"AjJ"]);
        ok(br#""\x4""#, &[b"x4"]);
        ok(br#""\xzz""#, &[b"xzz"]);
        ok(br#""\x""#, &[b"x"]);
        ok(br#""it's""#, &[b"it's"]);
        ok(b"\"a\"\tb", &[b"a", b"b"]);
        ok(b"\"a\"\x0bb", &[b"a", b"b"]);
    }

    #[test]
    fn single_quotes() {
        ok(br"GET 'it\'s'", &[b"GET", b"it's"]);
        ok(br"'a\nb'", &[br"a\nb"]);
        ok(br"'a\\b'", &[br"a\\b"]);
        ok(br#"'say "hi"'"#, &[br#"say "hi""#]);
        ok(b"''", &[b""]);
    }

    #[test]
    fn quotes_inside_an_argument() {
        ok(br#"a"b c""#, &[b"ab c"]);
        ok(br#"a"b c" d"#, &[b"ab c", b"d"]);
        ok(br"x'y z'", &[b"xy z"]);
    }

    #[test]
    fn unbalanced_quotes() {
        unbalanced(br#""abc"#);
        unbalanced(br#"SET k "abc"def"#);
        unbalanced(br"'abc");
        unbalanced(br"'abc'def");
        unbalanced(br#""abc\"#);
        unbalanced(br#""abc\""#);
        unbalanced(br"'abc\'");
        unbalanced(br#"ab"cd"#);
    }
}
