//! The text of a double reply, as Redis 7.2's `d2string` writes it for both RESP3 `,` doubles
//! and their RESP2 bulk-string form.
//!
//! The rules, in Redis's order: `nan`, `inf`, `-inf`; `0` and `-0`; integral values within
//! ±(2^63-1)/2 print as integers; everything else prints the shortest round-trip digits laid
//! out like `fpconv_dtoa` (`0.001`, `1.5e-7`, `1e+300`). The digits come from `ryu`, which is
//! always the shortest; Redis's Grisu2 is too in nearly every case, but this module does not
//! reproduce the rare values where Grisu2 prints a longer string. Parsing doubles is not done
//! here.

/// Longest text: a sign, 17 digits, 7 padding zeros or `0.` and 5 zeros, or an exponent.
const MAX_LEN: usize = 32;

/// A formatted double held on the stack.
pub(super) struct DoubleText {
    buf: [u8; MAX_LEN],
    len: usize,
}

impl DoubleText {
    /// Formats `d`.
    pub(super) fn new(d: f64) -> Self {
        let mut text = DoubleText {
            buf: [0; MAX_LEN],
            len: 0,
        };
        if d.is_nan() {
            text.push(b"nan");
        } else if d.is_infinite() {
            text.push(if d > 0.0 { b"inf" } else { b"-inf" });
        } else if d == 0.0 {
            text.push(if d.is_sign_negative() { b"-0" } else { b"0" });
        } else if let Some(n) = exact_integer(d) {
            text.push(itoa::Buffer::new().format(n).as_bytes());
        } else {
            text.push_shortest(d);
        }
        text
    }

    /// The text.
    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn push_zeros(&mut self, count: usize) {
        self.buf[self.len..self.len + count].fill(b'0');
        self.len += count;
    }

    /// A finite, non-zero, non-integral (or huge) value, laid out like `fpconv_dtoa`.
    fn push_shortest(&mut self, d: f64) {
        if d < 0.0 {
            self.push(b"-");
        }
        let mut ryu = ryu::Buffer::new();
        let (digits, k) = Digits::of(ryu.format_finite(d.abs()).as_bytes());
        let digits = digits.as_bytes();
        let n = digits.len() as i32;
        let exp = (k + n - 1).abs();
        if k >= 0 && exp < n + 7 {
            self.push(digits);
            self.push_zeros(k as usize);
        } else if k < 0 && (k > -7 || exp < 4) {
            let int_len = n + k;
            if int_len <= 0 {
                self.push(b"0.");
                self.push_zeros(int_len.unsigned_abs() as usize);
                self.push(digits);
            } else {
                let (int, frac) = digits.split_at(int_len as usize);
                self.push(int);
                self.push(b".");
                self.push(frac);
            }
        } else {
            self.push(&digits[..1]);
            if digits.len() > 1 {
                self.push(b".");
                self.push(&digits[1..]);
            }
            self.push(if k + n - 1 < 0 { b"e-" } else { b"e+" });
            self.push(itoa::Buffer::new().format(exp).as_bytes());
        }
    }
}

/// `d` as an integer when Redis's `double2ll` would print it as one.
fn exact_integer(d: f64) -> Option<i64> {
    let bound = (i64::MAX / 2) as f64;
    if !(-bound..=bound).contains(&d) {
        return None;
    }
    let n = d as i64;
    (n as f64 == d).then_some(n)
}

/// Significant decimal digits, without leading or trailing zeros.
struct Digits {
    buf: [u8; MAX_LEN],
    len: usize,
}

impl Digits {
    /// Splits ryu's text of a positive value (`123.45`, `0.001`, `1e-7`, `1.5e300`) into
    /// digits and the power of ten `k` such that the value is `digits × 10^k`.
    fn of(text: &[u8]) -> (Digits, i32) {
        let (mantissa, exponent) = match memchr::memchr(b'e', text) {
            Some(e) => (&text[..e], parse_exponent(&text[e + 1..])),
            None => (text, 0),
        };
        let mut digits = Digits {
            buf: [0; MAX_LEN],
            len: 0,
        };
        let mut fraction_digits = 0;
        let mut after_point = false;
        for &c in mantissa {
            if c == b'.' {
                after_point = true;
                continue;
            }
            if after_point {
                fraction_digits += 1;
            }
            if digits.len > 0 || c != b'0' {
                digits.buf[digits.len] = c;
                digits.len += 1;
            }
        }
        let mut k = exponent - fraction_digits;
        while digits.len > 1 && digits.buf[digits.len - 1] == b'0' {
            digits.len -= 1;
            k += 1;
        }
        (digits, k)
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// ryu's exponent: optional `-`, then digits.
fn parse_exponent(text: &[u8]) -> i32 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let magnitude = digits
        .iter()
        .fold(0i32, |acc, &d| acc * 10 + i32::from(d - b'0'));
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(d: f64) -> String {
        String::from_utf8(DoubleText::new(d).as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn special_values() {
        assert_eq!(text(f64::NAN), "nan");
        assert_eq!(text(-f64::NAN), "nan");
        assert_eq!(text(f64::INFINITY), "inf");
        assert_eq!(text(f64::NEG_INFINITY), "-inf");
        assert_eq!(text(0.0), "0");
        assert_eq!(text(-0.0), "-0");
    }

    #[test]
    fn integral_values_print_as_integers() {
        assert_eq!(text(1.0), "1");
        assert_eq!(text(-42.0), "-42");
        assert_eq!(text(1e15), "1000000000000000");
        assert_eq!(text(1e18), "1000000000000000000");
        assert_eq!(text(4611686018427387904.0), "4611686018427387904");
        assert_eq!(text(-4611686018427387904.0), "-4611686018427387904");
    }

    #[test]
    fn plain_decimals() {
        assert_eq!(text(1.5), "1.5");
        assert_eq!(text(-1.5), "-1.5");
        assert_eq!(text(0.1), "0.1");
        assert_eq!(text(0.3), "0.3");
        assert_eq!(text(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(text(4.25931), "4.25931");
        assert_eq!(text(123456.789), "123456.789");
        assert_eq!(text(0.000001), "0.000001");
        assert_eq!(text(0.0000015), "1.5e-6");
        assert_eq!(text(0.00012345), "1.2345e-4");
        assert_eq!(text(1234567.125), "1234567.125");
        assert_eq!(text(1.2345678e-3), "0.0012345678");
        assert_eq!(text(1.2345678), "1.2345678");
    }

    #[test]
    fn large_values() {
        assert_eq!(text(9223372036854775808.0), "9223372036854776000");
        assert_eq!(text(6917529027641082000.0), "6917529027641082000");
        assert_eq!(text(12345678901234567e3), "12345678901234567000");
        assert_eq!(text(1e19), "1e+19");
        assert_eq!(text(1e20), "1e+20");
        assert_eq!(text(1.5e22), "1.5e+22");
        assert_eq!(text(1e300), "1e+300");
        assert_eq!(text(-1e100), "-1e+100");
        assert_eq!(text(f64::MAX), "1.7976931348623157e+308");
    }

    #[test]
    fn small_values() {
        assert_eq!(text(1e-7), "1e-7");
        assert_eq!(text(1.5e-7), "1.5e-7");
        assert_eq!(text(-2.5e-10), "-2.5e-10");
        assert_eq!(text(1e-100), "1e-100");
        assert_eq!(text(f64::MIN_POSITIVE), "2.2250738585072014e-308");
        assert_eq!(text(5e-324), "5e-324");
    }

    #[test]
    fn output_round_trips() {
        for &d in &[0.1, 2.0 / 3.0, 1e-5, 123.456e7, 6.02214076e23, 1.0 / 3e10] {
            let t = text(d);
            assert_eq!(t.parse::<f64>().unwrap(), d, "{t}");
        }
    }
}
