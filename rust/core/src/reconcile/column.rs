//! Columns of compared values, and row fingerprints.
//!
//! A side's compared fields are columns of byte strings that are never copied: a field of a
//! memory-mapped fixed-width file is a window at a fixed offset of every row ([`Column::Fixed`],
//! or [`Column::Lines`] when the rows are not all of the same length), and values held in memory
//! are laid out as Arrow lays out a string column ([`Column::Var`]). Values are compared as bytes:
//! the files and the store hold text byte for byte (外字, IVS), so byte equality is the only
//! equality that never hides a difference.

use xxhash_rust::const_xxh3::const_custom_default_secret;
use xxhash_rust::xxh3::{xxh3_128_with_secret, xxh3_128_with_seed};

/// One compared field of a side.
#[derive(Clone, Copy, Debug)]
pub enum Column<'a> {
    /// Row `i`'s value is `data[i * stride + offset ..][..width]` with trailing padding (ASCII
    /// spaces, and NULs as numpy pads `S` arrays) removed: a fixed-width file pads with spaces and
    /// a value may not end with one (see the layouts), so trimming loses nothing.
    Fixed { data: &'a [u8], width: usize, stride: usize, offset: usize },
    /// As `Fixed`, but row `i` starts at `starts[i]`: a fixed-width file whose lines are not all
    /// of one length (a malformed line must not shift every row after it).
    Lines { data: &'a [u8], starts: &'a [u64], width: usize, offset: usize },
    /// Row `i`'s value is `data[offsets[i]..offsets[i + 1]]`, compared as is.
    Var { offsets: &'a [u64], data: &'a [u8] },
}

/// `v` without trailing spaces and NULs. Padding is skipped eight bytes at a time: a 320-byte
/// address field of a UTF-8 file is mostly padding, and a byte loop over it would cost more than
/// hashing the row.
#[inline(always)]
pub fn trim(v: &[u8]) -> &[u8] {
    const SPACES: u64 = u64::from_le_bytes([b' '; 8]);
    let mut n = v.len();
    while n >= 8 {
        let w = u64::from_le_bytes(v[n - 8..n].try_into().unwrap());
        if w != SPACES && w != 0 {
            break;
        }
        n -= 8;
    }
    while n > 0 && (v[n - 1] == b' ' || v[n - 1] == 0) {
        n -= 1;
    }
    &v[..n]
}

impl<'a> Column<'a> {
    /// The value of `row` (padding removed for the fixed forms). Rows outside the column, and
    /// short malformed lines, read as empty rather than panicking; the side validation and the
    /// row status keep such rows out of every comparison.
    #[inline(always)]
    pub fn get(&self, row: usize) -> &'a [u8] {
        match *self {
            Column::Fixed { data, width, stride, offset } => {
                let at = row * stride + offset;
                match data.get(at..at + width) {
                    Some(v) => trim(v),
                    None => &[],
                }
            }
            Column::Lines { data, starts, width, offset } => {
                let Some(&s) = starts.get(row) else { return &[] };
                let at = s as usize + offset;
                match data.get(at..at + width) {
                    Some(v) => trim(v),
                    None => &[],
                }
            }
            Column::Var { offsets, data } => {
                let (Some(&a), Some(&b)) = (offsets.get(row), offsets.get(row + 1)) else { return &[] };
                data.get(a as usize..b as usize).unwrap_or(&[])
            }
        }
    }

    /// Checks that the column holds `n` rows, so that [`Column::get`] never falls back to empty
    /// for a row the caller described.
    pub fn validate(&self, n: usize) -> Result<(), String> {
        match *self {
            Column::Fixed { data, width, stride, offset } => {
                if n == 0 {
                    return Ok(());
                }
                if offset + width > stride {
                    return Err(format!("a field at offset {offset} of width {width} does not fit a row of {stride} bytes"));
                }
                let need = (n - 1) * stride + offset + width;
                if data.len() < need {
                    return Err(format!("{n} rows of {stride} bytes need {need} bytes, the buffer has {}", data.len()));
                }
                Ok(())
            }
            Column::Lines { starts, .. } => {
                if starts.len() < n {
                    return Err(format!("{} line starts for {n} rows", starts.len()));
                }
                Ok(())
            }
            Column::Var { offsets, data } => {
                if offsets.len() != n + 1 {
                    return Err(format!("{} offsets for {n} rows (expected {})", offsets.len(), n + 1));
                }
                if offsets.windows(2).any(|w| w[0] > w[1]) {
                    return Err("offsets decrease".into());
                }
                if offsets[n] as usize > data.len() {
                    return Err(format!("the last offset {} lies past the {} bytes of data", offsets[n], data.len()));
                }
                Ok(())
            }
        }
    }
}

/// Appends one field to a fingerprint buffer: its length, then its bytes, so that moving bytes
/// from one field to the next changes the fingerprint.
#[inline(always)]
pub fn push_field(buf: &mut Vec<u8>, v: &[u8]) {
    buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
    buf.extend_from_slice(v);
}

/// A 128-bit fingerprint of the compared values of one row (XXH3-128, seeded per run).
///
/// Why: two large fixed-width files in different orders can only be compared byte for byte by
/// jumping between rows of both, which keeps both files mapped in memory at once (their size in
/// resident memory). Fingerprints are computed while each file is read once in order, so only
/// 16 bytes a row stay resident; pairs whose fingerprints differ are then compared byte for byte
/// to name the fields. Two different rows get the same fingerprint with probability about 2^-128
/// for data that is not crafted against the hash; `exact` mode skips fingerprints entirely.
#[inline]
pub fn fingerprint(fields: &[Column<'_>], row: usize, fp: &Fingerprinter, buf: &mut Vec<u8>) -> u128 {
    buf.clear();
    for c in fields {
        push_field(buf, c.get(row));
    }
    fp.hash(buf)
}

/// XXH3-128 with one seed, made once per run and shared by the threads that fingerprint rows.
///
/// Why not call `xxh3_128_with_seed` per row: for inputs over 240 bytes (a row of a UTF-8 file
/// with its padding is about 480), XXH3 first derives a 192-byte secret from the seed, which
/// took as long as hashing the row; here it is derived once. Inputs of 241 to 1024 bytes are then
/// hashed with AVX2 where the processor has it (checked once, at construction), the rest by the
/// portable code. Every path gives exactly `xxh3_128_with_seed(input, seed)`, so fingerprints made
/// by different sides, threads or machines agree.
pub struct Fingerprinter {
    seed: u64,
    secret: [u8; 192],
    avx2: bool,
}

impl Fingerprinter {
    pub fn new(seed: u64) -> Fingerprinter {
        #[cfg(target_arch = "x86_64")]
        let avx2 = std::arch::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        Fingerprinter { seed, secret: const_custom_default_secret(seed), avx2 }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    #[inline(always)]
    pub fn hash(&self, input: &[u8]) -> u128 {
        let n = input.len();
        if n <= 240 {
            return xxh3_128_with_seed(input, self.seed);
        }
        #[cfg(target_arch = "x86_64")]
        if self.avx2 && n <= 1024 {
            // SAFETY: the processor has AVX2 (checked in `new`); the length is in range.
            return unsafe { xxh3_128_mid_long_avx2(input, &self.secret) };
        }
        xxh3_128_with_secret(input, &self.secret)
    }

    /// The portable path only, for tests of the AVX2 path against it.
    #[cfg(test)]
    fn portable(seed: u64) -> Fingerprinter {
        Fingerprinter { avx2: false, ..Fingerprinter::new(seed) }
    }
}

/// XXH3-128 of 241 to 1024 bytes with the secret derived from the seed: XXH3's long-input
/// algorithm, which for at most 1024 bytes is one partial block (no scrambling): one 64-byte
/// stripe at a time into eight 64-bit accumulators (two AVX2 registers), the input's last 64
/// bytes as a final stripe, then the two halves merged from the accumulators.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn xxh3_128_mid_long_avx2(input: &[u8], secret: &[u8; 192]) -> u128 {
    use std::arch::x86_64::*;
    const P32_1: u64 = 0x9E37_79B1;
    const P32_2: u64 = 0x85EB_CA77;
    const P32_3: u64 = 0xC2B2_AE3D;
    const P64_1: u64 = 0x9E37_79B1_85EB_CA87;
    const P64_2: u64 = 0xC2B2_AE3D_27D4_EB4F;
    const P64_3: u64 = 0x1656_67B1_9E37_79F9;
    const P64_4: u64 = 0x85EB_CA77_C2B2_AE63;
    const P64_5: u64 = 0x27D4_EB2F_1656_67C5;
    let n = input.len();
    assert!(n > 240 && n <= 1024);
    let init: [u64; 8] = [P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1];
    let (ip, sp) = (input.as_ptr(), secret.as_ptr());
    // SAFETY (of every load): stripe `s < (n - 1) / 64` reads input[64s..64s + 64] and
    // secret[8s..8s + 64] with 8s + 64 <= 184; the last stripe reads input[n - 64..n] and
    // secret[121..185].
    let mut a0 = unsafe { _mm256_loadu_si256(init.as_ptr() as *const __m256i) };
    let mut a1 = unsafe { _mm256_loadu_si256(init.as_ptr().add(4) as *const __m256i) };
    // acc[i ^ 1] += data[i]; acc[i] += lo32(data[i] ^ key[i]) * hi32(data[i] ^ key[i]).
    let mut stripe = |at: *const u8, key: *const u8| unsafe {
        let d0 = _mm256_loadu_si256(at as *const __m256i);
        let d1 = _mm256_loadu_si256(at.add(32) as *const __m256i);
        let k0 = _mm256_xor_si256(d0, _mm256_loadu_si256(key as *const __m256i));
        let k1 = _mm256_xor_si256(d1, _mm256_loadu_si256(key.add(32) as *const __m256i));
        let p0 = _mm256_mul_epu32(k0, _mm256_shuffle_epi32(k0, 0b00_11_00_01));
        let p1 = _mm256_mul_epu32(k1, _mm256_shuffle_epi32(k1, 0b00_11_00_01));
        a0 = _mm256_add_epi64(a0, _mm256_add_epi64(_mm256_shuffle_epi32(d0, 0b01_00_11_10), p0));
        a1 = _mm256_add_epi64(a1, _mm256_add_epi64(_mm256_shuffle_epi32(d1, 0b01_00_11_10), p1));
    };
    for s in 0..(n - 1) / 64 {
        stripe(unsafe { ip.add(64 * s) }, unsafe { sp.add(8 * s) });
    }
    stripe(unsafe { ip.add(n - 64) }, unsafe { sp.add(192 - 64 - 7) });
    let mut acc = [0u64; 8];
    unsafe {
        _mm256_storeu_si256(acc.as_mut_ptr() as *mut __m256i, a0);
        _mm256_storeu_si256(acc.as_mut_ptr().add(4) as *mut __m256i, a1);
    }
    let word = |at: usize| u64::from_le_bytes(secret[at..at + 8].try_into().unwrap());
    let merge = |from: usize, start: u64| {
        let mut r = start;
        for i in 0..4 {
            let p = ((acc[2 * i] ^ word(from + 16 * i)) as u128) * ((acc[2 * i + 1] ^ word(from + 16 * i + 8)) as u128);
            r = r.wrapping_add(p as u64 ^ (p >> 64) as u64);
        }
        r ^= r >> 37;
        r = r.wrapping_mul(0x1656_6791_9E37_79F9);
        r ^ (r >> 32)
    };
    let lo = merge(11, (n as u64).wrapping_mul(P64_1));
    let hi = merge(192 - 64 - 11, !(n as u64).wrapping_mul(P64_2));
    lo as u128 | (hi as u128) << 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_lines_and_var_agree() {
        // Two rows "ab  " / "c\0\0\0" at offset 1 of 6-byte rows.
        let data = b"xab  |xc\0\0\0|";
        let fixed = Column::Fixed { data, width: 4, stride: 6, offset: 1 };
        let starts = [0u64, 6];
        let lines = Column::Lines { data, starts: &starts, width: 4, offset: 1 };
        let offsets = [0u64, 2, 3];
        let var = Column::Var { offsets: &offsets, data: b"abc" };
        for c in [fixed, lines, var] {
            c.validate(2).unwrap();
            assert_eq!(c.get(0), b"ab");
            assert_eq!(c.get(1), b"c");
        }
        let mut buf = Vec::new();
        let f = |c: Column| (fingerprint(&[c], 0, &Fingerprinter::new(7), &mut Vec::new()), fingerprint(&[c], 1, &Fingerprinter::new(7), &mut Vec::new()));
        assert_eq!(f(fixed), f(var));
        assert_eq!(f(lines), f(var));
        assert_ne!(fingerprint(&[var], 0, &Fingerprinter::new(7), &mut buf), fingerprint(&[var], 0, &Fingerprinter::new(8), &mut buf));
    }

    #[test]
    fn field_boundaries_matter() {
        let o1 = [0u64, 2];
        let o2 = [0u64, 1];
        let (a, b) = (Column::Var { offsets: &o1, data: b"ab" }, Column::Var { offsets: &o2, data: b"b" });
        let (c, d) = (Column::Var { offsets: &o2, data: b"a" }, Column::Var { offsets: &o1, data: b"bb" });
        let mut buf = Vec::new();
        // "ab" + "b" versus "a" + "bb": same bytes, different fields.
        let fp = Fingerprinter::new(1);
        assert_ne!(fingerprint(&[a, b], 0, &fp, &mut buf), fingerprint(&[c, d], 0, &fp, &mut buf));
    }

    #[test]
    fn trimming() {
        for (v, t) in [
            (&b""[..], &b""[..]),
            (b"   ", b""),
            (b"a", b"a"),
            (b"a b      \0\0         ", b"a b"),
            (b"\xe5\xa2\xa8 \0 \0 \0 \0 \0 \0 \0 \0        ", b"\xe5\xa2\xa8"),
            (b"12345678        ", b"12345678"),
            (b" x", b" x"),
        ] {
            assert_eq!(trim(v), t, "{v:?}");
        }
    }

    #[test]
    fn validation() {
        assert!(Column::Fixed { data: b"abc", width: 2, stride: 2, offset: 0 }.validate(2).is_err());
        assert!(Column::Fixed { data: b"abcd", width: 2, stride: 2, offset: 1 }.validate(2).is_err());
        assert!(Column::Fixed { data: b"", width: 2, stride: 2, offset: 0 }.validate(0).is_ok());
        assert!(Column::Var { offsets: &[0, 3, 2], data: b"abc" }.validate(2).is_err());
        assert!(Column::Var { offsets: &[0, 4], data: b"abc" }.validate(1).is_err());
        assert!(Column::Var { offsets: &[0], data: b"" }.validate(0).is_ok());
        // Out of range reads are empty, never a panic.
        assert_eq!(Column::Var { offsets: &[0, 9], data: b"abc" }.get(0), b"");
    }

    #[test]
    fn fingerprinter_is_xxh3_128_with_seed() {
        // Every length on either side of the paths' bounds (240, 1024), several seeds, inputs
        // that are not aligned: the AVX2 path (where the processor has it) and the portable one
        // both give exactly the reference value.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let data: Vec<u8> = (0..6000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for seed in [0u64, 1, 0xdead_beef, u64::MAX, super::super::fixed::RAW_TAG] {
            let (fast, portable) = (Fingerprinter::new(seed), Fingerprinter::portable(seed));
            for len in (0..=1100).chain([2047, 4096]) {
                for off in [0usize, 3, 1001] {
                    let v = &data[off..off + len];
                    let want = xxh3_128_with_seed(v, seed);
                    assert_eq!(fast.hash(v), want, "len {len} seed {seed}");
                    assert_eq!(portable.hash(v), want, "len {len} seed {seed}");
                }
            }
        }
    }
}
