//! Sorting (key, row) pairs of tens of millions of rows without an object per row.
//!
//! A 住民票コード is below 10^11 < 2^37 and a 個人番号 below 10^12 < 2^40, so a key and a row index
//! usually fit one u64 together (key in the high bits). Sorting those packed words is a parallel
//! LSD radix sort over the key bits only: stable, so rows of one key stay in row order, and a few
//! linear passes instead of n log n comparisons. Inputs already in key order (exchange files are
//! often written sorted) are detected in one pass and not sorted at all. When a key and a row do
//! not fit one word, (key, row) tuples are sorted by rayon's parallel sort instead.

use std::ops::Range;

use rayon::prelude::*;

/// Row indexes of the rows with `keep(row)`, in row order.
pub(crate) fn rows_where(n: usize, keep: impl Fn(usize) -> bool + Sync) -> Vec<u32> {
    (0..n).into_par_iter().filter(|&i| keep(i)).map(|i| i as u32).collect()
}

/// (key, row) pairs in key order (rows ascending within a key).
pub(crate) enum Sorted {
    Packed { v: Vec<u64>, row_bits: u32 },
    Pairs(Vec<(u64, u32)>),
}

impl Sorted {
    /// The pairs (`keys[row]`, row) of `rows` (ascending row indexes), sorted by key; also whether
    /// they were in key order already.
    pub fn build(keys: &[u64], rows: &[u32]) -> (Sorted, bool) {
        let max_key = rows.par_iter().map(|&r| keys[r as usize]).max().unwrap_or(0);
        let key_bits = 64 - max_key.leading_zeros();
        let row_bits = 64 - key_bits;
        let max_row = rows.last().copied().unwrap_or(0) as u64;
        if row_bits >= 64 || (row_bits > 0 && max_row < (1u64 << row_bits)) {
            let row_bits = row_bits.min(63);
            let mut v: Vec<u64> = rows.par_iter().map(|&r| (keys[r as usize] << row_bits) | r as u64).collect();
            let sorted = is_sorted(&v);
            if !sorted {
                radix_sort(&mut v, row_bits, 64);
            }
            (Sorted::Packed { v, row_bits }, sorted)
        } else {
            let mut v: Vec<(u64, u32)> = rows.par_iter().map(|&r| (keys[r as usize], r)).collect();
            let sorted = v.par_windows(2).all(|w| w[0] <= w[1]);
            if !sorted {
                v.par_sort_unstable();
            }
            (Sorted::Pairs(v), sorted)
        }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        match self {
            Sorted::Packed { v, .. } => v.len(),
            Sorted::Pairs(v) => v.len(),
        }
    }

    #[inline(always)]
    pub fn key(&self, i: usize) -> u64 {
        match self {
            Sorted::Packed { v, row_bits } => v[i] >> row_bits,
            Sorted::Pairs(v) => v[i].0,
        }
    }

    #[inline(always)]
    pub fn row(&self, i: usize) -> u32 {
        match self {
            Sorted::Packed { v, row_bits } => (v[i] & ((1u64 << row_bits) - 1)) as u32,
            Sorted::Pairs(v) => v[i].1,
        }
    }

    /// First position whose key is at least `key`.
    pub fn lower_bound(&self, key: u64) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.key(mid) < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Positions holding `key`.
    pub fn find(&self, key: u64) -> Range<usize> {
        let a = self.lower_bound(key);
        let mut b = a;
        while b < self.len() && self.key(b) == key {
            b += 1;
        }
        a..b
    }
}

fn is_sorted(v: &[u64]) -> bool {
    v.par_windows(2).all(|w| w[0] <= w[1])
}

/// A raw pointer that may cross threads: each thread writes a disjoint set of positions.
#[derive(Clone, Copy)]
struct Out(*mut u64);
unsafe impl Send for Out {}
unsafe impl Sync for Out {}
impl Out {
    #[inline(always)]
    fn at(self, i: usize) -> *mut u64 {
        // SAFETY (of the callers): `i` is within the output buffer and written by one thread only.
        unsafe { self.0.add(i) }
    }
}

/// Sorts `v` stably by bits `lo..hi` (LSD radix, up to 11 bits a pass, in parallel).
pub(crate) fn radix_sort(v: &mut Vec<u64>, lo: u32, hi: u32) {
    let n = v.len();
    if n < 2 || hi <= lo {
        return;
    }
    if n < 1 << 12 {
        let mask = if hi - lo >= 64 { u64::MAX } else { ((1u64 << (hi - lo)) - 1) << lo };
        v.sort_by_key(|&x| x & mask);
        return;
    }
    let total = hi - lo;
    let passes = total.div_ceil(11);
    let per = total.div_ceil(passes);
    let mut scratch: Vec<u64> = vec![0; n];
    let parts = (rayon::current_num_threads() * 4).max(1);
    let chunk = n.div_ceil(parts);
    let mut in_v = true; // the data currently lives in `v`
    let mut shift = lo;
    while shift < hi {
        let bits = per.min(hi - shift);
        let buckets = 1usize << bits;
        let mask = (buckets - 1) as u64;
        let (src, dst): (&[u64], &mut [u64]) = if in_v { (&v[..], &mut scratch[..]) } else { (&scratch[..], &mut v[..]) };
        let hists: Vec<Vec<usize>> = src
            .par_chunks(chunk)
            .map(|c| {
                let mut h = vec![0usize; buckets];
                for &x in c {
                    h[((x >> shift) & mask) as usize] += 1;
                }
                h
            })
            .collect();
        // A pass where every key has the same digit changes nothing.
        let single = (0..buckets).any(|b| hists.iter().map(|h| h[b]).sum::<usize>() == n);
        if !single {
            let mut offs = vec![vec![0usize; buckets]; hists.len()];
            let mut at = 0;
            for b in 0..buckets {
                for (c, h) in hists.iter().enumerate() {
                    offs[c][b] = at;
                    at += h[b];
                }
            }
            let out = Out(dst.as_mut_ptr());
            src.par_chunks(chunk).zip(offs.into_par_iter()).for_each(|(c, mut o)| {
                for &x in c {
                    let d = ((x >> shift) & mask) as usize;
                    // SAFETY: the offsets give each (chunk, digit) its own range of `dst`, sized
                    // by the histogram of that chunk, so every position is written exactly once.
                    unsafe { *out.at(o[d]) = x };
                    o[d] += 1;
                }
            });
            in_v = !in_v;
        }
        shift += bits;
    }
    if !in_v {
        std::mem::swap(v, &mut scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[test]
    fn radix_sort_is_a_stable_sort_by_the_key_bits() {
        for &n in &[0usize, 1, 5, 4095, 4096, 100_003] {
            let v: Vec<u64> = (0..n as u64).map(|i| ((mix(i) % 1000) << 20) | i).collect();
            let mut a = v.clone();
            radix_sort(&mut a, 20, 64);
            let mut b = v.clone();
            b.sort_by_key(|x| x >> 20); // stable
            assert_eq!(a, b, "n={n}");
        }
    }

    #[test]
    fn sorted_build_packed_and_pairs() {
        let keys: Vec<u64> = (0..50_000u64).map(|i| mix(i) % 100_000_000_000).collect();
        let rows: Vec<u32> = (0..50_000u32).filter(|r| r % 7 != 0).collect();
        let (s, was) = Sorted::build(&keys, &rows);
        assert!(!was);
        assert!(matches!(s, Sorted::Packed { .. }));
        let mut want: Vec<(u64, u32)> = rows.iter().map(|&r| (keys[r as usize], r)).collect();
        want.sort();
        assert_eq!(s.len(), want.len());
        for (i, &(k, r)) in want.iter().enumerate() {
            assert_eq!((s.key(i), s.row(i)), (k, r));
        }
        // Keys too wide to share a word with the row: tuples.
        let wide: Vec<u64> = vec![u64::MAX - 3, 5, u64::MAX - 3, 1];
        let (s, _) = Sorted::build(&wide, &[0, 1, 2, 3]);
        assert!(matches!(s, Sorted::Pairs(_)));
        assert_eq!((0..4).map(|i| (s.key(i), s.row(i))).collect::<Vec<_>>(), vec![(1, 3), (5, 1), (u64::MAX - 3, 0), (u64::MAX - 3, 2)]);
        assert_eq!(s.find(u64::MAX - 3), 2..4);
        assert_eq!(s.find(4), 1..1);
        // Already sorted input is recognised.
        let (s, was) = Sorted::build(&[1, 2, 2, 9], &[0, 1, 2, 3]);
        assert!(was);
        assert_eq!(s.find(2), 1..3);
        let (s, was) = Sorted::build(&[], &[]);
        assert!(was && s.len() == 0);
    }
}
