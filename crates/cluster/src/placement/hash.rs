//! The stable hashes placement is built on. They decide where data lives, so their output
//! must never change between versions or platforms: they are written out here rather than
//! taken from a library whose algorithm could change, and tests pin known values.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a of `text`, passed through [`mix`] so that keys differing only in a trailing digit
/// (`"7-41"`, `"7-42"`) land far apart, which FNV-1a alone does not ensure.
pub(crate) fn stable_hash(text: &str) -> u64 {
    let fnv = text.bytes().fold(FNV_OFFSET, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    });
    mix(fnv)
}

/// MurmurHash3's 64-bit finaliser: a bijection on `u64` in which every input bit affects
/// every output bit.
pub(crate) fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A well-spread number for the pair (`shard`, `node`), used to break ties between equally
/// good candidates so that different shards prefer different nodes.
pub(crate) fn pair_hash(shard: usize, node: u64) -> u64 {
    mix(mix(shard as u64) ^ node)
}

/// Jump consistent hash (Lamping & Veach, 2014): the bucket in `0..buckets` of `key`.
/// Growing `buckets` by one moves only the keys that land in the new bucket. `buckets`
/// must be at least 1.
pub(crate) fn jump(mut key: u64, buckets: u32) -> u32 {
    let (mut bucket, mut next) = (-1_i64, 0_i64);
    while next < i64::from(buckets) {
        bucket = next;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        next = ((bucket + 1) as f64 * ((1_u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    bucket as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_matches_the_reference_golden_values() {
        let golden100 = [
            0, 55, 62, 8, 45, 59, 86, 97, 82, 59, 73, 37, 17, 56, 86, 21, 90, 37, 38, 83,
        ];
        for (key, want) in golden100.into_iter().enumerate() {
            assert_eq!(jump(key as u64, 100), want, "key {key}");
        }
        assert_eq!(jump(10_863_919_174_838_991, 11), 6);
        assert_eq!(jump(2_016_238_256_797_177_309, 11), 3);
        assert_eq!(jump(1_673_758_223_894_951_030, 11), 5);
        assert_eq!(jump(2, 100_001), 80_343);
        assert_eq!(jump(2201, 100_001), 22_152);
        assert_eq!(jump(2202, 100_001), 15_018);
    }

    #[test]
    fn stable_hash_is_pinned() {
        assert_eq!(stable_hash(""), mix(FNV_OFFSET));
        assert_eq!(stable_hash("a"), mix(0xaf63_dc4c_8601_ec8c));
        assert_eq!(stable_hash("shard-0"), 0xbf6fb5049b9234ec);
        assert_eq!(mix(0), 0);
    }
}
