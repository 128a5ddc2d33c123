//! Key → slot mapping, exactly as Redis Cluster computes it: CRC16 (XMODEM) of the
//! key, or of its `{hash tag}` when one is present, modulo 16384.
//!
//! This module only hashes; which shard or node owns a slot is decided elsewhere.

/// Number of hash slots in a ringkv cluster (fixed, like Redis Cluster).
pub const SLOT_COUNT: usize = 16384;

/// Every slot.
pub const ALL_SLOTS: std::ops::RangeInclusive<u16> = 0..=(SLOT_COUNT as u16 - 1);

/// `CRC16[k][b]`: the CRC of byte `b` followed by `k` zero bytes, so that eight bytes fold
/// into the checksum with eight independent lookups (slicing-by-8) instead of eight chained
/// ones.
const fn crc16_tables() -> [[u16; 256]; 8] {
    let mut tables = [[0u16; 256]; 8];
    let mut b = 0;
    while b < 256 {
        let mut crc = (b as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        tables[0][b] = crc;
        b += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut b = 0;
        while b < 256 {
            let prev = tables[k - 1][b];
            tables[k][b] = (prev << 8) ^ tables[0][(prev >> 8) as usize];
            b += 1;
        }
        k += 1;
    }
    tables
}

static CRC16: [[u16; 256]; 8] = crc16_tables();

/// CRC16-XMODEM, the checksum Redis Cluster uses for key hashing.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut chunks = bytes.chunks_exact(8);
    let mut crc = 0u16;
    for chunk in &mut chunks {
        let [hi, lo] = crc.to_be_bytes();
        crc = CRC16[7][usize::from(chunk[0] ^ hi)]
            ^ CRC16[6][usize::from(chunk[1] ^ lo)]
            ^ CRC16[5][usize::from(chunk[2])]
            ^ CRC16[4][usize::from(chunk[3])]
            ^ CRC16[3][usize::from(chunk[4])]
            ^ CRC16[2][usize::from(chunk[5])]
            ^ CRC16[1][usize::from(chunk[6])]
            ^ CRC16[0][usize::from(chunk[7])];
    }
    chunks.remainder().iter().fold(crc, |crc, &b| {
        (crc << 8) ^ CRC16[0][usize::from(((crc >> 8) as u8) ^ b)]
    })
}

/// Whether `key` holds a `{`, tested eight bytes at a time: most keys have no hash tag, and
/// a call into `memchr` costs more than the whole test on a key of a few dozen bytes.
fn has_open_brace(key: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const BRACES: u64 = ONES * b'{' as u64;
    let mut chunks = key.chunks_exact(8);
    let in_chunks = chunks.by_ref().any(|chunk| {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes")) ^ BRACES;
        x.wrapping_sub(ONES) & !x & (ONES << 7) != 0
    });
    in_chunks || chunks.remainder().contains(&b'{')
}

/// The part of `key` that is hashed: the content of the first non-empty `{...}`, else the whole key.
fn hash_tag(key: &[u8]) -> &[u8] {
    if !has_open_brace(key) {
        return key;
    }
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&b| b == b'}') {
            if len > 0 {
                return &key[open + 1..open + 1 + len];
            }
        }
    }
    key
}

/// The hash slot of `key`.
pub fn key_slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key)) & (SLOT_COUNT as u16 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_cluster_slots() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(
            key_slot(b"{user1000}.following"),
            key_slot(b"{user1000}.followers")
        );
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(key_slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") & 16383);
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(key_slot(b""), 0);
    }

    /// The bit-by-bit definition, to check the sliced tables against.
    fn crc16_bitwise(bytes: &[u8]) -> u16 {
        let mut crc = 0u16;
        for &b in bytes {
            crc ^= u16::from(b) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc
    }

    #[test]
    fn a_brace_is_found_wherever_it_is() {
        for len in 0..40 {
            let mut key = vec![b'a'; len];
            assert!(!has_open_brace(&key));
            for at in 0..len {
                key[at] = b'{';
                assert!(has_open_brace(&key), "length {len}, brace at {at}");
                key[at] = b'{' ^ 0x80;
                assert!(!has_open_brace(&key), "length {len}, lookalike at {at}");
                key[at] = b'a';
            }
        }
    }

    #[test]
    fn sliced_checksum_matches_the_bitwise_definition_at_every_length() {
        let bytes: Vec<u8> = (0..200u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for len in 0..bytes.len() {
            assert_eq!(
                crc16(&bytes[..len]),
                crc16_bitwise(&bytes[..len]),
                "length {len}"
            );
        }
    }
}
