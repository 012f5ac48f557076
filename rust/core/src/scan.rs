//! Byte scan: how often each of many byte strings occurs in files, for proving that purged data is
//! gone from a store's files (every occurrence counts, at any offset, in live and free pages alike).
//!
//! Needles are at least [`MIN_NEEDLE`] bytes. Each needle is filed under one 8-byte window of it,
//! the one with the most distinct byte values (so that needles sharing a fixed header, such as LMDB
//! node headers, are filed under their variable part). Every file offset is tested: its 8 bytes
//! pick a bit in a filter of windows, and only on a set bit are the needles filed under that
//! window compared in full. With a few million needles the filter lets through a few percent of offsets,
//! so a scan runs near memory speed; files are split in parts scanned on all cores.

use std::collections::HashMap;
use std::path::PathBuf;

use rayon::prelude::*;

/// The shortest needle: its first 8 bytes are the filter key.
pub const MIN_NEEDLE: usize = 8;
const FILTER_BITS: u32 = 27;
const PART: usize = 64 << 20;

#[derive(Debug)]
pub enum ScanError {
    Io(PathBuf, std::io::Error),
    /// Needle `index` is shorter than [`MIN_NEEDLE`].
    Short { index: usize, len: usize },
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            ScanError::Short { index, len } => write!(f, "needle {index}: {len} bytes, at least {MIN_NEEDLE} needed"),
        }
    }
}

impl std::error::Error for ScanError {}

fn slot(prefix: u64) -> usize {
    (prefix.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FILTER_BITS)) as usize
}

struct Index<'a> {
    filter: Vec<u64>,
    /// Window → (needle, offset of the window in the needle).
    by_window: HashMap<u64, Vec<(u32, u32)>>,
    needles: &'a [Vec<u8>],
}

impl<'a> Index<'a> {
    fn new(needles: &'a [Vec<u8>]) -> Result<Self, ScanError> {
        let mut filter = vec![0u64; 1 << (FILTER_BITS - 6)];
        let mut by_window: HashMap<u64, Vec<(u32, u32)>> = HashMap::with_capacity(needles.len());
        for (i, n) in needles.iter().enumerate() {
            if n.len() < MIN_NEEDLE {
                return Err(ScanError::Short { index: i, len: n.len() });
            }
            let distinct = |w: &[u8]| {
                let mut seen = [false; 256];
                w.iter().filter(|&&b| !std::mem::replace(&mut seen[b as usize], true)).count()
            };
            let k = (0..=n.len() - 8).rev().max_by_key(|&k| distinct(&n[k..k + 8])).unwrap();
            let w = u64::from_le_bytes(n[k..k + 8].try_into().unwrap());
            let s = slot(w);
            filter[s >> 6] |= 1 << (s & 63);
            by_window.entry(w).or_default().push((i as u32, k as u32));
        }
        Ok(Index { filter, by_window, needles })
    }

    /// Counts needles whose window lies at offsets `from..to` of `b` (a needle may run past either).
    fn count(&self, b: &[u8], from: usize, to: usize, hits: &mut [u64]) {
        if b.len() < MIN_NEEDLE {
            return;
        }
        let last = to.min(b.len() - MIN_NEEDLE + 1);
        for at in from..last {
            let p = u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
            let s = slot(p);
            if self.filter[s >> 6] & (1 << (s & 63)) == 0 {
                continue;
            }
            if let Some(ids) = self.by_window.get(&p) {
                for &(i, k) in ids {
                    let n = &self.needles[i as usize];
                    let Some(start) = at.checked_sub(k as usize) else { continue };
                    if b.len() - start >= n.len() && &b[start..start + n.len()] == n.as_slice() {
                        hits[i as usize] += 1;
                    }
                }
            }
        }
    }
}

/// Occurrences of each needle in the files, summed over the files, in needle order.
pub fn scan_files(paths: &[PathBuf], needles: &[Vec<u8>]) -> Result<Vec<u64>, ScanError> {
    let index = Index::new(needles)?;
    let mut maps = Vec::with_capacity(paths.len());
    for p in paths {
        let f = std::fs::File::open(p).map_err(|e| ScanError::Io(p.clone(), e))?;
        let len = f.metadata().map_err(|e| ScanError::Io(p.clone(), e))?.len();
        if len == 0 {
            continue;
        }
        // SAFETY: read-only map of a file the caller holds still (the store is closed or exclusive).
        let m = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| ScanError::Io(p.clone(), e))?;
        maps.push(m);
    }
    let parts: Vec<(usize, usize, usize)> = maps
        .iter()
        .enumerate()
        .flat_map(|(f, m)| (0..m.len()).step_by(PART).map(move |s| (f, s, (s + PART).min(m.len()))))
        .collect();
    let total = parts
        .par_iter()
        .map(|&(f, s, e)| {
            let mut hits = vec![0u64; needles.len()];
            index.count(&maps[f], s, e, &mut hits);
            hits
        })
        .reduce(
            || vec![0u64; needles.len()],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        );
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_offset_and_across_parts() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let mut data = vec![0u8; 3 * PART + 5];
        let needle = b"NEEDLE-0123456789".to_vec();
        for at in [0, 17, PART - 3, 2 * PART + 1, data.len() - needle.len()] {
            data[at..at + needle.len()].copy_from_slice(&needle);
        }
        std::fs::write(&a, &data).unwrap();
        let b = dir.path().join("b");
        std::fs::write(&b, b"xxNEEDLE-0123456789xxOTHERNEEDLE").unwrap();
        let needles = vec![needle, b"OTHERNEEDLE".to_vec(), b"ABSENT-NEEDLE".to_vec(), b"NEEDLE-0123456780".to_vec()];
        let hits = scan_files(&[a.clone(), b], &needles).unwrap();
        assert_eq!(hits, vec![6, 1, 0, 0]);
        // Needles sharing a fixed header are told apart by their variable part, at a file's start too.
        let c = dir.path().join("c");
        std::fs::write(&c, b"\x09\0\0\0\0\0\x08\0ABCDEFGHxx\x09\0\0\0\0\0\x08\0ABCDEFGI").unwrap();
        let hdr = |s: &[u8]| [b"\x09\0\0\0\0\0\x08\0".as_slice(), s].concat();
        let hits = scan_files(&[c], &[hdr(b"ABCDEFGH"), hdr(b"ABCDEFGI"), hdr(b"ABCDEFGJ"), b"\x09\0\0\0\0\0\x08\0".to_vec()]).unwrap();
        assert_eq!(hits, vec![1, 1, 0, 2]);
        assert!(matches!(scan_files(&[], &[b"short".to_vec()]), Err(ScanError::Short { index: 0, len: 5 })));
    }
}
