use super::*;

/// Everything the parser does with `chunks` fed in order: the requests, then the error if
/// any, or else the bytes left unconsumed.
#[derive(Debug, PartialEq)]
struct Run {
    requests: Vec<Vec<Vec<u8>>>,
    error: Option<ProtocolError>,
    rest: Vec<u8>,
}

fn run_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>, limits: Limits) -> Run {
    let mut parser = RequestParser::new(limits);
    let mut buf = BytesMut::new();
    let mut requests = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(args)) => {
                    assert!(!args.is_empty());
                    requests.push(args.iter().map(|a| a.to_vec()).collect());
                }
                Ok(None) => break,
                Err(e) => {
                    return Run {
                        requests,
                        error: Some(e),
                        rest: Vec::new(),
                    }
                }
            }
        }
    }
    Run {
        requests,
        error: None,
        rest: buf.to_vec(),
    }
}

/// Parses `input` in one piece, then one byte at a time and split at every position, and
/// checks all runs agree.
fn run(input: &[u8], limits: Limits) -> Run {
    let whole = run_chunks([input], limits);
    assert_eq!(run_chunks(input.chunks(1), limits), whole, "byte at a time");
    for split in 1..input.len() {
        let (a, b) = input.split_at(split);
        assert_eq!(run_chunks([a, b], limits), whole, "split at {split}");
    }
    whole
}

fn requests(input: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let out = run(input, Limits::default());
    assert_eq!(out.error, None);
    out.requests
}

fn error(input: &[u8], limits: Limits) -> ProtocolError {
    run(input, limits).error.expect("an error")
}

fn req(args: &[&[u8]]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.to_vec()).collect()
}

fn small() -> Limits {
    Limits {
        max_bulk_len: 8,
        max_multibulk_len: 3,
        max_inline_len: 16,
    }
}

#[test]
fn default_limits_match_redis() {
    let limits = Limits::default();
    assert_eq!(limits.max_bulk_len, 512 * 1024 * 1024);
    assert_eq!(limits.max_multibulk_len, 1024 * 1024);
    assert_eq!(limits.max_inline_len, 64 * 1024);
}

#[test]
fn pipelined_multibulk_requests() {
    let input =
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n*1\r\n$4\r\nPING\r\n*1\r\n$0\r\n\r\n";
    assert_eq!(
        requests(input),
        vec![
            req(&[b"SET", b"k", b"a\r\nb"]),
            req(&[b"PING"]),
            req(&[b""])
        ]
    );
}

#[test]
fn binary_safe_bulks() {
    let input = b"*2\r\n$4\r\n\0\r\n\xff\r\n$6\r\n*1\r\n$1\r\n";
    assert_eq!(requests(input), vec![req(&[b"\0\r\n\xff", b"*1\r\n$1"])]);
}

#[test]
fn empty_requests_are_skipped() {
    let input = b"*0\r\n*-1\r\n*-9223372036854775808\r\n\r\n\n   \r\n*1\r\n$4\r\nPING\r\n*0\r\n";
    let out = run(input, Limits::default());
    assert_eq!(out.requests, vec![req(&[b"PING"])]);
    assert_eq!(out.error, None);
    assert!(out.rest.is_empty());
}

#[test]
fn incomplete_requests_wait() {
    for input in [
        &b"*"[..],
        b"*2",
        b"*2\r",
        b"*2\r\n$3",
        b"*2\r\n$3\r",
        b"*2\r\n$3\r\nGET\r\n$5\r\nab",
        b"*2\r\n$3\r\nGET\r\n$5\r\nabcde\r",
        b"PING",
        b"PING\r",
    ] {
        let out = run(input, Limits::default());
        assert_eq!((out.requests.len(), out.error), (0, None), "{input:?}");
    }
}

#[test]
fn consumes_exactly_one_request() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET"[..]);
    let args = parser.parse(&mut buf).unwrap().unwrap();
    assert_eq!(args, vec![Bytes::from_static(b"PING")]);
    assert_eq!(&buf[..], b"*2\r\n$3\r\nGET");
    assert_eq!(parser.parse(&mut buf), Ok(None));
    buf.extend_from_slice(b"\r\n$1\r\nk\r\nPING\r\n");
    let args = parser.parse(&mut buf).unwrap().unwrap();
    assert_eq!(
        args,
        vec![Bytes::from_static(b"GET"), Bytes::from_static(b"k")]
    );
    assert_eq!(&buf[..], b"PING\r\n");
}

#[test]
fn bulks_are_not_copied() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"[..]);
    let start = buf.as_ptr() as usize;
    let args = parser.parse(&mut buf).unwrap().unwrap();
    assert_eq!(args[0].as_ptr() as usize, start + 8);
    assert_eq!(args[1].as_ptr() as usize, start + 17);
}

#[test]
fn asking_for_more_lets_go_of_the_last_request_and_its_buffer() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::with_capacity(4096);
    buf.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*1\r\n$4\r\nPING\r\n");
    let args = parser.parse(&mut buf).unwrap().unwrap();
    assert_eq!(args, [&b"SET"[..], b"k", b"v"]);
    let args = parser.parse(&mut buf).unwrap().unwrap();
    assert_eq!(args, [&b"PING"[..]]);
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert!(
        buf.try_reclaim(4096),
        "no argument holds on to the input buffer"
    );
}

#[test]
fn a_long_request_is_followed_by_short_ones_with_only_their_own_arguments() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::new();
    buf.extend_from_slice(b"*2000\r\n");
    for _ in 0..2000 {
        buf.extend_from_slice(b"$1\r\nx\r\n");
    }
    buf.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n");
    assert_eq!(parser.parse(&mut buf).unwrap().unwrap().len(), 2000);
    assert_eq!(
        parser.parse(&mut buf).unwrap().unwrap(),
        [&b"GET"[..], b"k"]
    );
    assert_eq!(parser.parse(&mut buf).unwrap().unwrap(), [&b"PING"[..]]);
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert!(parser.args.capacity() <= KEPT_ARGS);
}

#[test]
fn waiting_for_a_big_bulk_makes_room_for_it() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(&b"*1\r\n$100000\r\nab"[..]);
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert!(buf.capacity() >= 100_002);
}

#[test]
fn bytes_after_bulk_data_are_skipped_unchecked() {
    let input = b"*1\r\n$1\r\naXY*1\r\n$1\r\nb\r\n";
    assert_eq!(requests(input), vec![req(&[b"a"]), req(&[b"b"])]);
}

#[test]
fn header_lines_need_only_a_byte_after_cr() {
    let input = b"*1\rX$1\rYa\r\n";
    assert_eq!(requests(input), vec![req(&[b"a"])]);
}

#[test]
fn inline_requests() {
    let input =
        b"PING\r\nSET k \"hello world\"\nGET 'it\\'s'\r\n  ECHO \"\\x41\\n\" \"\" \r\nPING\r\r\n";
    assert_eq!(
        requests(input),
        vec![
            req(&[b"PING"]),
            req(&[b"SET", b"k", b"hello world"]),
            req(&[b"GET", b"it's"]),
            req(&[b"ECHO", b"A\n", b""]),
            req(&[b"PING"]),
        ]
    );
}

#[test]
fn inline_and_multibulk_mix() {
    let input = b"PING\r\n*1\r\n$4\r\nPING\r\nECHO *\r\n";
    assert_eq!(
        requests(input),
        vec![req(&[b"PING"]), req(&[b"PING"]), req(&[b"ECHO", b"*"])]
    );
}

#[test]
fn string2ll_is_strict() {
    assert_eq!(string2ll(b"0"), Some(0));
    assert_eq!(string2ll(b"12"), Some(12));
    assert_eq!(string2ll(b"-12"), Some(-12));
    assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
    assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
    for bad in [
        &b""[..],
        b"-",
        b"-0",
        b"00",
        b"01",
        b"+1",
        b" 1",
        b"1 ",
        b"1a",
        b"0x10",
        b"9223372036854775808",
        b"-9223372036854775809",
        b"99999999999999999999",
        b"000000000000000000001",
    ] {
        assert_eq!(string2ll(bad), None, "{bad:?}");
    }
}

#[test]
fn invalid_multibulk_length() {
    use ProtocolError::InvalidMultibulkLength as E;
    for input in [
        &b"*x\r\n"[..],
        b"*\r\n",
        b"*-0\r\n",
        b"*01\r\n",
        b"*+1\r\n",
        b"* 1\r\n",
        b"*1 \r\n",
        b"*1048577\r\n",
        b"*3000000000\r\n",
        b"*9223372036854775808\r\n",
    ] {
        assert_eq!(error(input, Limits::default()), E, "{input:?}");
    }
    assert_eq!(error(b"*4\r\n", small()), E);
    assert_eq!(run(b"*3\r\n", small()).error, None);
    assert_eq!(E.to_string(), "Protocol error: invalid multibulk length");
}

#[test]
fn invalid_bulk_length() {
    use ProtocolError::InvalidBulkLength as E;
    for input in [
        &b"*1\r\n$abc\r\n"[..],
        b"*1\r\n$\r\n",
        b"*1\r\n$-1\r\n",
        b"*1\r\n$-5\r\n",
        b"*1\r\n$-0\r\n",
        b"*1\r\n$01\r\n",
        b"*1\r\n$+1\r\n",
        b"*1\r\n$536870913\r\n",
        b"*2\r\n$1\r\na\r\n$99999999999999999999\r\n",
    ] {
        assert_eq!(error(input, Limits::default()), E, "{input:?}");
    }
    assert_eq!(run(b"*1\r\n$536870912\r\n", Limits::default()).error, None);
    assert_eq!(error(b"*1\r\n$9\r\n", small()), E);
    assert_eq!(run(b"*1\r\n$8\r\n", small()).error, None);
    assert_eq!(E.to_string(), "Protocol error: invalid bulk length");
}

#[test]
fn expected_dollar() {
    let e = |input: &[u8]| error(input, Limits::default());
    assert_eq!(e(b"*1\r\n+foo\r\n"), ProtocolError::ExpectedBulk(b'+'));
    assert_eq!(e(b"*1\r\nPING\r\n"), ProtocolError::ExpectedBulk(b'P'));
    assert_eq!(
        e(b"*2\r\n$1\r\na\r\n:1\r\n"),
        ProtocolError::ExpectedBulk(b':')
    );
    assert_eq!(e(b"*1\r\n\r\n"), ProtocolError::ExpectedBulk(b'\r'));
    assert_eq!(
        ProtocolError::ExpectedBulk(b'+').to_string(),
        "Protocol error: expected '$', got '+'"
    );
    assert_eq!(
        ProtocolError::ExpectedBulk(b'\r').to_string(),
        "Protocol error: expected '$', got ' '"
    );
    assert_eq!(
        ProtocolError::ExpectedBulk(b'\n').to_string(),
        "Protocol error: expected '$', got ' '"
    );
}

#[test]
fn unbalanced_quotes() {
    use ProtocolError::UnbalancedQuotes as E;
    for input in [
        &b"SET k \"abc\r\n"[..],
        b"SET k \"abc\"def\r\n",
        b"SET k 'abc\n",
        b"PING\r\nSET k 'a'b\r\n",
    ] {
        assert_eq!(error(input, Limits::default()), E, "{input:?}");
    }
    assert_eq!(
        E.to_string(),
        "Protocol error: unbalanced quotes in request"
    );
    let out = run(b"PING\r\nSET k 'a'b\r\n", Limits::default());
    assert_eq!(out.requests, vec![req(&[b"PING"])]);
}

#[test]
fn too_big_inline_request() {
    let e = ProtocolError::TooBigInline;
    assert_eq!(error(&[b'a'; 17], small()), e);
    assert_eq!(run(&[b'a'; 16], small()).error, None);
    let mut line = vec![b'a'; 16];
    line.push(b'\n');
    assert_eq!(run(&line, small()).requests, vec![vec![vec![b'a'; 16]]]);
    line.insert(0, b'a');
    assert_eq!(error(&line, small()), e);
    let big = vec![b'a'; 64 * 1024 + 1];
    assert_eq!(
        run_chunks([&big[..]], Limits::default()).error,
        Some(e.clone())
    );
    assert_eq!(e.to_string(), "Protocol error: too big inline request");
}

#[test]
fn too_big_mbulk_count_string() {
    let e = ProtocolError::TooBigMultibulkCount;
    assert_eq!(error(b"*1111111111111111", small()), e);
    assert_eq!(run(b"*111111111111111", small()).error, None);
    assert_eq!(run(b"*111111111111111\r", small()).error, None);
    assert_eq!(error(b"*1111111111111111\r", small()), e);
    let mut big = b"*".to_vec();
    big.extend(vec![b'1'; 64 * 1024]);
    assert_eq!(
        run_chunks([&big[..]], Limits::default()).error,
        Some(e.clone())
    );
    assert_eq!(e.to_string(), "Protocol error: too big mbulk count string");
}

#[test]
fn too_big_bulk_count_string() {
    let e = ProtocolError::TooBigBulkCount;
    assert_eq!(error(b"*1\r\n$1111111111111111", small()), e);
    assert_eq!(run(b"*1\r\n$111111111111111", small()).error, None);
    assert_eq!(error(b"*1\r\nXXXXXXXXXXXXXXXXX", small()), e);
    let mut big = b"*1\r\n$".to_vec();
    big.extend(vec![b'1'; 64 * 1024]);
    assert_eq!(
        run_chunks([&big[..]], Limits::default()).error,
        Some(e.clone())
    );
    assert_eq!(e.to_string(), "Protocol error: too big bulk count string");
}

#[test]
fn a_cr_within_the_limit_completes_a_long_line() {
    let mut input = b"*".to_vec();
    input.extend(vec![b'1'; 15]);
    input.extend(b"\r\n");
    assert_eq!(
        error(&input, small()),
        ProtocolError::InvalidMultibulkLength
    );
}

#[test]
fn nul_ends_the_line_search_like_strchr() {
    for input in [
        &b"*1\0\r\n$1\r\na\r\n"[..],
        b"*1\r\n$1\0\r\na\r\n",
        b"PI\0NG\r\n",
    ] {
        let out = run(input, Limits::default());
        assert_eq!((out.requests.len(), out.error), (0, None), "{input:?}");
    }
    let mut input = b"PI\0NG\r\n".to_vec();
    input.extend(vec![b'x'; 20]);
    assert_eq!(error(&input, small()), ProtocolError::TooBigInline);
    let mut input = b"*1\r\n$1\0\r\n".to_vec();
    input.extend(vec![b'x'; 20]);
    assert_eq!(error(&input, small()), ProtocolError::TooBigBulkCount);
    assert_eq!(requests(b"*1\r\n$1\r\n\0\r\n"), vec![req(&[b"\0"])]);
}

#[test]
fn lines_are_searched_once() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(&b"SET k "[..]);
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert_eq!(parser.scanned, 6);
    buf.extend_from_slice(b"value");
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert_eq!(parser.scanned, 11);
    buf.extend_from_slice(b"\r\n*1\r");
    assert!(parser.parse(&mut buf).unwrap().is_some());
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert_eq!(parser.scanned, 2);
    buf.extend_from_slice(b"\n$4\r\nPING\r\n");
    assert!(parser.parse(&mut buf).unwrap().is_some());
    assert_eq!(parser.scanned, 0);
}

#[test]
fn many_arguments_in_small_reads() {
    let count = 20_000;
    let mut input = format!("*{count}\r\n").into_bytes();
    for i in 0..count {
        let arg = i.to_string();
        input.extend(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    let out = run_chunks(input.chunks(7), Limits::default());
    assert_eq!(out.error, None);
    assert_eq!(out.requests.len(), 1);
    assert_eq!(out.requests[0].len(), count);
    assert_eq!(
        out.requests[0][count - 1],
        (count - 1).to_string().into_bytes()
    );
}

#[test]
fn line_ends_are_found_before_and_after_the_byte_by_byte_head() {
    for at in [0, 5, SHORT_LINE - 1, SHORT_LINE, SHORT_LINE + 1, 100] {
        let mut hay = vec![b'x'; at];
        hay.extend_from_slice(b"\r\nrest\r\n");
        assert_eq!(find_either(b'\r', 0, &hay), Some(at), "CR at {at}");
        hay[at] = 0;
        assert_eq!(find_either(b'\r', 0, &hay), Some(at), "NUL at {at}");
    }
    assert_eq!(find_either(b'\r', 0, &[b'x'; 40]), None);
    assert_eq!(find_either(b'\r', 0, b""), None);
}

#[test]
fn the_quick_header_path_agrees_with_the_general_one() {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for number in [
        "0",
        "1",
        "9",
        "16",
        "100",
        "512",
        "999999999",
        "1000000000",
        "4294967296",
    ] {
        for sign in ["", "-", "+", "0"] {
            for end in ["\r\n", "\r", "\n", " \r\n", "\0\r\n", "x\r\n"] {
                lines.push(format!("${sign}{number}{end}").into_bytes());
                lines.push(format!("*{sign}{number}{end}").into_bytes());
            }
        }
    }
    let mut quick = 0;
    for line in &lines {
        let Some((n, end)) = quick_header(line) else {
            continue;
        };
        quick += 1;
        assert_eq!(line[end], b'\r', "{line:?}");
        assert!(line.len() > end + 1, "{line:?}");
        assert_eq!(string2ll(&line[1..end]), Some(n as i64), "{line:?}");
    }
    assert_eq!(
        quick,
        2 * 8,
        "every plain header of up to ten digits is read quickly"
    );
}
