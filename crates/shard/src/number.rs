//! Redis's number parsing and formatting: strict integers (no `+`, no spaces, no leading
//! zeros beyond "0"), floats as `strtold` accepts them, and `INCRBYFLOAT`'s arithmetic.
//!
//! Redis adds `INCRBYFLOAT` operands as `long double` and prints 17 decimals with trailing
//! zeros removed, so `0.1 + 0.2` is `0.3`, not f64's `0.30000000000000004`. Exact decimal
//! arithmetic (28 significant digits) gives the same text for the numbers people use; f64
//! stands in beyond the decimal range.

use std::str::FromStr;
use std::sync::LazyLock;

use bytes::Bytes;
use rust_decimal::Decimal;

/// Integers below this are formatted once, as Redis shares its small integer objects.
const SHARED_INTEGERS: i64 = 10_000;

/// The text of `0..SHARED_INTEGERS`, each a slice of one buffer made at first use.
static SHARED_TEXT: LazyLock<Box<[Bytes]>> = LazyLock::new(|| {
    let mut text = String::new();
    let mut ranges = Vec::new();
    for n in 0..SHARED_INTEGERS {
        let start = text.len();
        text.push_str(itoa::Buffer::new().format(n));
        ranges.push(start..text.len());
    }
    let text: &'static [u8] = Box::leak(text.into_bytes().into_boxed_slice());
    ranges
        .into_iter()
        .map(|range| Bytes::from_static(&text[range]))
        .collect()
});

/// The decimal text of `n`, without allocating for a small one.
pub fn integer_text(n: i64) -> Bytes {
    match usize::try_from(n) {
        Ok(i) if n < SHARED_INTEGERS => SHARED_TEXT[i].clone(),
        _ => Bytes::copy_from_slice(itoa::Buffer::new().format(n).as_bytes()),
    }
}

/// Parses a signed 64-bit integer the way Redis's `string2ll` does.
pub fn parse_i64(bytes: &[u8]) -> Option<i64> {
    ringkv_protocol::string2ll(bytes)
}

/// Parses a float as Redis does for `INCRBYFLOAT` and friends: no spaces, not NaN.
pub fn parse_f64(bytes: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text.is_empty()
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace)
    {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let value = match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        _ => text.parse::<f64>().ok()?,
    };
    (!value.is_nan()).then_some(value)
}

/// `current + delta` as `INCRBYFLOAT`/`HINCRBYFLOAT` store and reply it; None when the sum
/// is not finite. `current` is the stored text, None for a missing key or field (zero).
pub fn add_floats(current: Option<&[u8]>, delta: f64) -> Option<String> {
    let current_value = current.map_or(Some(0.0), parse_f64)?;
    let sum = current_value + delta;
    if !sum.is_finite() {
        return None;
    }
    let decimal = |text: &str| {
        Decimal::from_str(text)
            .or_else(|_| Decimal::from_scientific(text))
            .ok()
    };
    let current_decimal = match current {
        None => Some(Decimal::ZERO),
        Some(text) => std::str::from_utf8(text).ok().and_then(decimal),
    };
    let exact = current_decimal
        .zip(decimal(&format!("{delta}")))
        .and_then(|(a, b)| a.checked_add(b));
    Some(match exact {
        Some(d) => d.round_dp(17).normalize().to_string(),
        None => format_f64(sum),
    })
}

/// Formats a float like Redis's `INCRBYFLOAT` reply: plain decimal, no exponent, no trailing zeros.
fn format_f64(value: f64) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    format!("{value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_text_is_the_decimal_text_shared_or_not() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            9_999,
            10_000,
            10_001,
            -1,
            -10_000,
            i64::MIN,
            i64::MAX,
        ] {
            assert_eq!(integer_text(n), n.to_string().as_bytes(), "{n}");
        }
        for n in 0..SHARED_INTEGERS {
            assert_eq!(integer_text(n), n.to_string().as_bytes());
        }
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"10.5"), Some(10.5));
        assert_eq!(parse_f64(b"5.0e3"), Some(5000.0));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"abc"), None);
        assert_eq!(add_floats(Some(b"10.50"), 0.1).as_deref(), Some("10.6"));
        assert_eq!(add_floats(Some(b"10.6"), -5.0).as_deref(), Some("5.6"));
        assert_eq!(add_floats(Some(b"5.0e3"), 2.0e2).as_deref(), Some("5200"));
        assert_eq!(add_floats(Some(b"0.1"), 0.2).as_deref(), Some("0.3"));
        assert_eq!(add_floats(None, 3.0).as_deref(), Some("3"));
        assert_eq!(add_floats(Some(b"1"), -1.0).as_deref(), Some("0"));
        assert_eq!(
            add_floats(Some(b"1e300"), 1e300).as_deref().map(str::len),
            Some(301)
        );
        assert_eq!(add_floats(Some(b"1e308"), 1e308), None);
        assert_eq!(add_floats(Some(b"abc"), 1.0), None);
        assert_eq!(format_f64(1e20), "100000000000000000000");
    }
}
