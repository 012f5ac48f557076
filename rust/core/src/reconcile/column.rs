//! Columns of compared values, and row fingerprints.
//!
//! A side's compared fields are columns of byte strings that are never copied: a field of a
//! memory-mapped fixed-width file is a window at a fixed offset of every row ([`Column::Fixed`],
//! or [`Column::Lines`] when the rows are not all of the same length), and values held in memory
//! are laid out as Arrow lays out a string column ([`Column::Var`]). Values are compared as bytes:
//! the files and the store hold text byte for byte (外字, IVS), so byte equality is the only
//! equality that never hides a difference.

use xxhash_rust::xxh3::xxh3_128_with_seed;

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
pub fn fingerprint(fields: &[Column<'_>], row: usize, seed: u64, buf: &mut Vec<u8>) -> u128 {
    buf.clear();
    for c in fields {
        push_field(buf, c.get(row));
    }
    xxh3_128_with_seed(buf, seed)
}

/// The fingerprint of a buffer built with [`push_field`].
#[inline(always)]
pub fn fingerprint_buf(buf: &[u8], seed: u64) -> u128 {
    xxh3_128_with_seed(buf, seed)
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
        let f = |c: Column| (fingerprint(&[c], 0, 7, &mut Vec::new()), fingerprint(&[c], 1, 7, &mut Vec::new()));
        assert_eq!(f(fixed), f(var));
        assert_eq!(f(lines), f(var));
        assert_ne!(fingerprint(&[var], 0, 7, &mut buf), fingerprint(&[var], 0, 8, &mut buf));
    }

    #[test]
    fn field_boundaries_matter() {
        let o1 = [0u64, 2];
        let o2 = [0u64, 1];
        let (a, b) = (Column::Var { offsets: &o1, data: b"ab" }, Column::Var { offsets: &o2, data: b"b" });
        let (c, d) = (Column::Var { offsets: &o2, data: b"a" }, Column::Var { offsets: &o1, data: b"bb" });
        let mut buf = Vec::new();
        // "ab" + "b" versus "a" + "bb": same bytes, different fields.
        assert_ne!(fingerprint(&[a, b], 0, 1, &mut buf), fingerprint(&[c, d], 0, 1, &mut buf));
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
}
