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

/// Row indexes of the rows with `keep(row)`, in row order. By chunks of rows, each scanned by
/// one thread in a plain loop: the rows wanted are usually few, and a parallel filter split down
/// to single rows costs more than the scan.
pub(crate) fn rows_where(n: usize, keep: impl Fn(usize) -> bool + Sync) -> Vec<u32> {
    const CHUNK: usize = 1 << 16;
    let parts: Vec<Vec<u32>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| (c * CHUNK..((c + 1) * CHUNK).min(n)).filter(|&i| keep(i)).map(|i| i as u32).collect())
        .collect();
    parts.concat()
}

/// Large u64 buffers kept for reuse within one reconciliation. Why: a fresh buffer of tens of
/// megabytes costs a page fault per 4 KB page on first touch, and on a virtual machine those
/// faults cost more than the radix passes that fill the buffer; four sorts of ten million keys
/// each need a buffer and a scratch buffer.
#[derive(Default)]
pub(crate) struct Pool {
    free: Vec<Vec<u64>>,
}

impl Pool {
    /// An empty buffer with room for `n` values (the roomiest kept one, if any is big enough).
    pub fn take(&mut self, n: usize) -> Vec<u64> {
        match self.free.iter().position(|v| v.capacity() >= n) {
            Some(i) => {
                let mut v = self.free.swap_remove(i);
                v.clear();
                v
            }
            None => Vec::with_capacity(n),
        }
    }

    pub fn give(&mut self, v: Vec<u64>) {
        if v.capacity() >= 1 << 16 {
            self.free.push(v);
        }
    }
}

/// (key, row) pairs in key order (rows ascending within a key).
pub(crate) enum Sorted {
    Packed { v: Vec<u64>, row_bits: u32 },
    Pairs(Vec<(u64, u32)>),
}

impl Sorted {
    /// The pairs (`keys[row]`, row) of the rows with `keep(row)`, sorted by key; also whether they
    /// were in key order already. Counting, packing and the order check are one parallel pass
    /// over the keys; the radix sort follows only when needed.
    pub fn build(keys: &[u64], keep: impl Fn(usize) -> bool + Sync, pool: &mut Pool) -> (Sorted, bool) {
        let n = keys.len();
        let parts = (rayon::current_num_threads() * 4).max(1);
        let chunk = n.div_ceil(parts).max(1);
        let ranges: Vec<Range<usize>> = (0..n.div_ceil(chunk)).map(|c| c * chunk..((c + 1) * chunk).min(n)).collect();
        let stats: Vec<(usize, u64)> = ranges
            .par_iter()
            .map(|r| r.clone().filter(|&i| keep(i)).fold((0, 0), |(c, m), i| (c + 1, m.max(keys[i]))))
            .collect();
        let total: usize = stats.iter().map(|s| s.0).sum();
        let max_key = stats.iter().map(|s| s.1).max().unwrap_or(0);
        let key_bits = 64 - max_key.leading_zeros();
        let row_bits = (64 - key_bits).min(63);
        if key_bits == 64 || (n > 0 && (n - 1) as u64 >= 1u64 << row_bits) {
            let mut v: Vec<(u64, u32)> = (0..n).into_par_iter().filter(|&i| keep(i)).map(|i| (keys[i], i as u32)).collect();
            let sorted = v.par_windows(2).all(|w| w[0] <= w[1]);
            if !sorted {
                v.par_sort_unstable();
            }
            return (Sorted::Pairs(v), sorted);
        }
        let mut v = pool.take(total);
        let mut at = Vec::with_capacity(stats.len());
        let mut acc = 0;
        for s in &stats {
            at.push(acc);
            acc += s.0;
        }
        let out = Out(v.as_mut_ptr());
        // Per chunk: (in order, first value, last value).
        let order: Vec<(bool, u64, u64)> = ranges
            .par_iter()
            .zip(at.par_iter())
            .map(|(r, &start)| {
                let (mut k, mut ok, mut first, mut last) = (start, true, None, 0u64);
                for i in r.clone() {
                    if keep(i) {
                        let x = (keys[i] << row_bits) | i as u64;
                        ok &= x >= last;
                        first.get_or_insert(x);
                        last = x;
                        // SAFETY: chunk c writes positions at[c]..at[c] + count[c], within the
                        // capacity `total`, and no other chunk writes them.
                        unsafe { *out.at(k) = x };
                        k += 1;
                    }
                }
                (ok, first.unwrap_or(u64::MAX), last)
            })
            .collect();
        // SAFETY: the pass above wrote all `total` positions.
        unsafe { v.set_len(total) };
        let mut sorted = order.iter().all(|o| o.0);
        let mut prev = 0u64;
        for &(_, first, last) in &order {
            if first != u64::MAX {
                sorted &= first >= prev;
                prev = last;
            }
        }
        if !sorted {
            let mut scratch = pool.take(total);
            radix_sort_with(&mut v, row_bits, (row_bits + key_bits).min(64), &mut scratch);
            pool.give(scratch);
        }
        (Sorted::Packed { v, row_bits }, sorted)
    }

    /// Hands the buffer back to the pool.
    pub fn recycle(self, pool: &mut Pool) {
        if let Sorted::Packed { v, .. } = self {
            pool.give(v);
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

/// A raw pointer that may cross threads: each thread writes a disjoint set of positions.
#[derive(Clone, Copy)]
pub(crate) struct Out(*mut u64);
unsafe impl Send for Out {}
unsafe impl Sync for Out {}
impl Out {
    /// Writes into the spare capacity of `v` (set its length once every position is written).
    pub fn new(v: &mut Vec<u64>) -> Out {
        Out(v.as_mut_ptr())
    }

    /// SAFETY: `i` is below the capacity of the buffer and no other thread writes it.
    #[inline(always)]
    pub unsafe fn write(self, i: usize, x: u64) {
        unsafe { *self.0.add(i) = x };
    }

    #[inline(always)]
    fn at(self, i: usize) -> *mut u64 {
        // SAFETY (of the callers): `i` is within the output buffer and written by one thread only.
        unsafe { self.0.add(i) }
    }
}

/// Sorts `v` stably by bits `lo..hi` (bits above `hi` must be zero, or equal for all values):
/// one most-significant-digit pass splits the values into buckets of a few thousand by their top
/// bits, then each bucket is sorted by the remaining bits with least-significant-digit passes
/// while it sits in the processor's cache.
///
/// Why this shape: every pass over the whole array reads and writes it in memory, and memory
/// bandwidth, not arithmetic, is what such a pass costs; an LSD sort of a 住民票コード (37 bits)
/// takes three. Here only the first pass goes through memory; the passes within a bucket stay in
/// cache. Buckets are sorted in parallel. Small arrays, and bits few enough for one pass, use the
/// plain LSD sort.
pub fn radix_sort(v: &mut Vec<u64>, lo: u32, hi: u32) {
    radix_sort_with(v, lo, hi, &mut Vec::new());
}

/// Values a bucket of the first pass holds on average: small enough that the bucket and its
/// scratch stay in a core's cache while the remaining passes run.
const BUCKET: usize = 1 << 12;
/// Digits of the passes within a bucket (a histogram of 2^bits counters must stay small next to
/// a bucket of [`BUCKET`] values).
const IN_CACHE_BITS: u32 = 10;

/// [`radix_sort`] with a scratch buffer to reuse (its contents are overwritten; on return it
/// may hold the other buffer).
pub(crate) fn radix_sort_with(v: &mut Vec<u64>, lo: u32, hi: u32, scratch: &mut Vec<u64>) {
    let n = v.len();
    if n < 2 || hi <= lo {
        return;
    }
    let total = hi - lo;
    let top = (usize::BITS - (n / BUCKET).leading_zeros()).min(16);
    if n < 1 << 16 || total <= 14 || top < 4 || total <= top {
        lsd_sort_with(v, lo, hi, scratch);
        return;
    }
    // First pass: by the `top` highest bits, from `v` into `scratch`.
    let shift = hi - top;
    let buckets = 1usize << top;
    let mask = (buckets - 1) as u64;
    scratch.clear();
    scratch.reserve(n);
    let parts = (rayon::current_num_threads() * 2).max(1);
    let chunk = n.div_ceil(parts);
    let hists = histograms(v, chunk, shift, mask);
    // Keys crowded into a few buckets (not spread over their range) would leave one thread
    // sorting most of them: sort those by whole passes instead.
    let largest = (0..buckets).map(|b| hists.iter().map(|h| h[b]).sum::<usize>()).max().unwrap_or(0);
    if largest > (n / 16).max(1 << 18) {
        lsd_sort_with(v, lo, hi, scratch);
        return;
    }
    let (offs, starts) = digit_offsets(&hists, buckets);
    scatter(v, Out(scratch.as_mut_ptr()), chunk, shift, mask, offs);
    // SAFETY: the pass above wrote all n positions (the histograms sum to n).
    unsafe { scratch.set_len(n) };
    // Then each bucket, from `scratch` back into `v`, in cache.
    let mut pieces: Vec<(&mut [u64], &mut [u64])> = Vec::with_capacity(buckets);
    let (mut rest_s, mut rest_v): (&mut [u64], &mut [u64]) = (&mut scratch[..], &mut v[..]);
    for b in 0..buckets {
        let len = starts[b + 1] - starts[b];
        let (s_here, s_rest) = std::mem::take(&mut rest_s).split_at_mut(len);
        let (v_here, v_rest) = std::mem::take(&mut rest_v).split_at_mut(len);
        rest_s = s_rest;
        rest_v = v_rest;
        if len > 0 {
            pieces.push((s_here, v_here));
        }
    }
    pieces.into_par_iter().with_min_len(8).for_each_init(Vec::new, |hist, (src, dst)| {
        sort_in_cache(src, dst, lo, shift, hist);
    });
}

/// Sorts `src` stably by bits `lo..hi` into `dst` (same length); `src` is scratch afterwards.
fn sort_in_cache(src: &mut [u64], dst: &mut [u64], lo: u32, hi: u32, hist: &mut Vec<usize>) {
    let n = src.len();
    let total = hi.saturating_sub(lo);
    if n <= 32 || total == 0 {
        dst.copy_from_slice(src);
        if total > 0 {
            let mask = if total >= 64 { u64::MAX } else { ((1u64 << total) - 1) << lo };
            // Insertion sort: stable, and quickest at this size.
            for i in 1..n {
                let x = dst[i];
                let mut j = i;
                while j > 0 && dst[j - 1] & mask > x & mask {
                    dst[j] = dst[j - 1];
                    j -= 1;
                }
                dst[j] = x;
            }
        }
        return;
    }
    let passes = total.div_ceil(IN_CACHE_BITS);
    let per = total.div_ceil(passes);
    let (mut a, mut b): (&mut [u64], &mut [u64]) = (src, dst);
    let mut in_dst = false;
    let mut shift = lo;
    while shift < hi {
        let bits = per.min(hi - shift);
        let buckets = 1usize << bits;
        let mask = (buckets - 1) as u64;
        hist.clear();
        hist.resize(buckets, 0);
        for &x in a.iter() {
            hist[((x >> shift) & mask) as usize] += 1;
        }
        if hist.contains(&n) {
            shift += bits;
            continue;
        }
        let mut at = 0;
        for h in hist.iter_mut() {
            let c = *h;
            *h = at;
            at += c;
        }
        for &x in a.iter() {
            let d = ((x >> shift) & mask) as usize;
            b[hist[d]] = x;
            hist[d] += 1;
        }
        std::mem::swap(&mut a, &mut b);
        in_dst = !in_dst;
        shift += bits;
    }
    if !in_dst {
        // The sorted values are in `a`, which is the original `src`: `b` is `dst`.
        b.copy_from_slice(a);
    }
}

/// Sorts `v` stably by bits `lo..hi`: LSD radix, in as few passes of at most 14 bits as cover
/// the bits, each pass split across threads (for arrays too small, or bits too few, for
/// [`radix_sort_with`]'s first pass to pay).
fn lsd_sort_with(v: &mut Vec<u64>, lo: u32, hi: u32, scratch: &mut Vec<u64>) {
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
    let passes = total.div_ceil(14);
    let per = total.div_ceil(passes);
    scratch.clear();
    scratch.reserve(n);
    let parts = rayon::current_num_threads().max(1);
    let chunk = n.div_ceil(parts);
    let mut in_v = true; // the data currently lives in `v`
    let mut shift = lo;
    while shift < hi {
        let bits = per.min(hi - shift);
        let buckets = 1usize << bits;
        let mask = (buckets - 1) as u64;
        let src: &[u64] = if in_v { &v[..] } else { &scratch[..] };
        let hists = histograms(src, chunk, shift, mask);
        // A pass where every key has the same digit changes nothing.
        let single = (0..buckets).any(|b| hists.iter().map(|h| h[b]).sum::<usize>() == n);
        if !single {
            let (offs, _) = digit_offsets(&hists, buckets);
            // The scratch buffer is written through a raw pointer before it is first read, so
            // it is never zeroed (a fresh page costs a fault either way; zeroing costs a pass).
            let (src, out): (&[u64], Out) =
                if in_v { (&v[..], Out(scratch.as_mut_ptr())) } else { (&scratch[..], Out(v.as_mut_ptr())) };
            scatter(src, out, chunk, shift, mask, offs);
            if in_v {
                // SAFETY: the pass above wrote all n positions (the histograms sum to n).
                unsafe { scratch.set_len(n) };
            }
            in_v = !in_v;
        }
        shift += bits;
    }
    if !in_v {
        std::mem::swap(v, scratch);
    }
}

/// Values, and which of them to take (by position), for [`repeated`].
pub(crate) type Source<'a> = (&'a [u64], &'a (dyn Fn(usize) -> bool + Sync));

/// The values that occur more than once among `values[i]` for the `i` with `take(i)`, over all
/// the given sources together: sorted, each once.
///
/// Why not sort them all and compare neighbours: that is a pass to count, one to copy, the
/// sort's passes and one to compare, each over the whole array in memory. Here a first pass
/// counts the values per bucket of their top bits (bits 28 and up, so that 12-digit numbers
/// spread over a few thousand buckets), a second copies them into their buckets, and each bucket
/// is then sorted and scanned while it sits in cache, in parallel. Values crowded into few
/// buckets are sorted whole instead.
pub(crate) fn repeated(sources: &[Source<'_>], pool: &mut Pool) -> Vec<u64> {
    const CHUNK: usize = 1 << 16;
    const SHIFT: u32 = 28;
    const BUCKETS: usize = 1 << 12;
    let bucket = |x: u64| ((x >> SHIFT) as usize).min(BUCKETS - 1);
    // Chunks of rows of every source, in order.
    let chunks: Vec<(usize, Range<usize>)> = sources
        .iter()
        .enumerate()
        .flat_map(|(k, (v, _))| (0..v.len().div_ceil(CHUNK)).map(move |c| (k, c * CHUNK..((c + 1) * CHUNK).min(v.len()))))
        .collect();
    let hists: Vec<Vec<u32>> = chunks
        .par_iter()
        .map(|(k, r)| {
            let (v, take) = sources[*k];
            let mut h = vec![0u32; BUCKETS];
            for i in r.clone() {
                if take(i) {
                    h[bucket(v[i])] += 1;
                }
            }
            h
        })
        .collect();
    let sizes: Vec<usize> = (0..BUCKETS).map(|b| hists.iter().map(|h| h[b] as usize).sum()).collect();
    let total: usize = sizes.iter().sum();
    let largest = sizes.iter().copied().max().unwrap_or(0);
    let mut all = pool.take(total);
    let out = Out::new(&mut all);
    if largest > (total / 16).max(1 << 18) {
        // Crowded: copy in row order, sort whole, compare neighbours.
        let mut at = 0;
        let starts: Vec<usize> = hists
            .iter()
            .map(|h| {
                let s = at;
                at += h.iter().map(|&c| c as usize).sum::<usize>();
                s
            })
            .collect();
        chunks.par_iter().zip(starts).for_each(|((k, r), mut at)| {
            let (v, take) = sources[*k];
            for i in r.clone() {
                if take(i) {
                    // SAFETY: chunk c writes the positions it counted, all below `total`.
                    unsafe { out.write(at, v[i]) };
                    at += 1;
                }
            }
        });
        // SAFETY: the chunks wrote all `total` positions.
        unsafe { all.set_len(total) };
        let mut scratch = pool.take(total);
        let bits = 64 - all.par_iter().copied().max().unwrap_or(0).leading_zeros();
        radix_sort_with(&mut all, 0, bits, &mut scratch);
        pool.give(scratch);
        // By chunks, each with the value after it (a value repeated across two chunks is found by
        // both; `dedup` keeps one).
        let parts: Vec<Vec<u64>> = (0..total.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut got = Vec::new();
                push_repeats(&all[c * CHUNK..((c + 1) * CHUNK + 1).min(total)], &mut got);
                got
            })
            .collect();
        pool.give(all);
        let mut found = parts.concat();
        found.dedup();
        return found;
    }
    // Offsets of each (chunk, bucket), buckets in order.
    let mut offs = vec![vec![0u32; BUCKETS]; hists.len()];
    let mut starts = Vec::with_capacity(BUCKETS + 1);
    let mut at = 0usize;
    for b in 0..BUCKETS {
        starts.push(at);
        for (c, h) in hists.iter().enumerate() {
            offs[c][b] = at as u32;
            at += h[b] as usize;
        }
    }
    starts.push(total);
    assert!(total < u32::MAX as usize);
    chunks.par_iter().zip(offs.into_par_iter()).for_each(|((k, r), mut o)| {
        let (v, take) = sources[*k];
        for i in r.clone() {
            if take(i) {
                let b = bucket(v[i]);
                // SAFETY: each (chunk, bucket) has its own range of `all`, sized by that chunk's
                // count, so every position below `total` is written exactly once.
                unsafe { out.write(o[b] as usize, v[i]) };
                o[b] += 1;
            }
        }
    });
    // SAFETY: the pass above wrote all `total` positions.
    unsafe { all.set_len(total) };
    let found: Vec<Vec<u64>> = (0..BUCKETS)
        .into_par_iter()
        .with_min_len(16)
        .map_init(
            || (Vec::new(), Vec::new()),
            |(sorted, hist), b| {
                let piece = &all[starts[b]..starts[b + 1]];
                if piece.len() < 2 {
                    return Vec::new();
                }
                let mut src = piece.to_vec();
                sorted.clear();
                sorted.resize(piece.len(), 0);
                // The last bucket also holds every value beyond 2^40: sort it on all bits.
                let hi = if b == BUCKETS - 1 { 64 } else { SHIFT };
                sort_in_cache(&mut src, sorted, 0, hi, hist);
                let mut got = Vec::new();
                push_repeats(sorted, &mut got);
                got
            },
        )
        .collect();
    pool.give(all);
    found.concat()
}

/// Appends each value that `sorted` holds more than once, once.
fn push_repeats(sorted: &[u64], got: &mut Vec<u64>) {
    for w in sorted.windows(2) {
        if w[0] == w[1] && got.last() != Some(&w[0]) {
            got.push(w[0]);
        }
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
        for &n in &[0usize, 1, 5, 4095, 4096, 100_003, 300_001] {
            // Few distinct keys (long runs of one key), then many (37-bit keys as 住民票コード),
            // then keys crowded into a few buckets of the first pass.
            for (modulus, spread) in [(1000u64, 1u64), (100_000_000_000, 1), (50, 1 << 30)] {
                let v: Vec<u64> = (0..n as u64).map(|i| (((mix(i) % modulus) * spread) << 20) | i).collect();
                let hi = 20 + 64 - v.iter().map(|x| x >> 20).max().unwrap_or(0).leading_zeros();
                let mut a = v.clone();
                radix_sort(&mut a, 20, hi);
                let mut b = v.clone();
                b.sort_by_key(|x| x >> 20); // stable
                assert_eq!(a, b, "n={n} modulus={modulus}");
                let mut c = v.clone();
                radix_sort(&mut c, 20, 64);
                assert_eq!(c, b, "n={n} modulus={modulus}, hi 64");
            }
        }
        // Values sorted on all their bits, duplicates kept (as the 個人番号 are).
        let v: Vec<u64> = (0..200_000u64).map(|i| mix(i) % 1_000_000_000_000 / 3 * 3).chain(0..5000).collect();
        let mut a = v.clone();
        radix_sort(&mut a, 0, 40);
        let mut b = v;
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn repeated_values_across_sources() {
        let mut pool = Pool::default();
        for (n, modulus) in [(0usize, 1u64), (10, 5), (300_000, 1_000_000_000_000), (300_000, 200_000), (300_000, 1 << 20)] {
            let a: Vec<u64> = (0..n as u64).map(|i| mix(i) % modulus).collect();
            let mut b: Vec<u64> = (0..n as u64 / 2).map(|i| mix(i + 7_777_777) % modulus).collect();
            b.extend([u64::MAX - 5, u64::MAX - 5, 1 << 50, (1 << 50) + 1]);
            let keep_a = |i: usize| !i.is_multiple_of(3);
            let keep_b = |i: usize| i % 5 != 1;
            let got = repeated(&[(&a, &keep_a), (&b, &keep_b)], &mut pool);
            let mut all: Vec<u64> = a.iter().enumerate().filter(|(i, _)| keep_a(*i)).map(|(_, &x)| x).collect();
            all.extend(b.iter().enumerate().filter(|(i, _)| keep_b(*i)).map(|(_, &x)| x));
            all.sort();
            let mut want: Vec<u64> = all.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
            want.dedup();
            assert_eq!(got, want, "n={n} modulus={modulus}");
        }
    }

    #[test]
    fn sorted_build_packed_and_pairs() {
        let keys: Vec<u64> = (0..50_000u64).map(|i| mix(i) % 100_000_000_000).collect();
        let rows: Vec<u32> = (0..50_000u32).filter(|r| r % 7 != 0).collect();
        let mut pool = Pool::default();
        let (s, was) = Sorted::build(&keys, |r| r % 7 != 0, &mut pool);
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
        let (s, _) = Sorted::build(&wide, |_| true, &mut pool);
        assert!(matches!(s, Sorted::Pairs(_)));
        assert_eq!((0..4).map(|i| (s.key(i), s.row(i))).collect::<Vec<_>>(), vec![(1, 3), (5, 1), (u64::MAX - 3, 0), (u64::MAX - 3, 2)]);
        assert_eq!(s.find(u64::MAX - 3), 2..4);
        assert_eq!(s.find(4), 1..1);
        // Already sorted input is recognised.
        let (s, was) = Sorted::build(&[1, 2, 2, 9], |_| true, &mut pool);
        assert!(was);
        assert_eq!(s.find(2), 1..3);
        let (s, was) = Sorted::build(&[], |_| true, &mut pool);
        assert!(was && s.len() == 0);
        // Sorted within chunks but not across them.
        let keys: Vec<u64> = (0..100_000u64).map(|i| (i * 31) % 100_000).collect();
        let (s, was) = Sorted::build(&keys, |_| true, &mut pool);
        assert!(!was);
        assert!((1..s.len()).all(|i| s.key(i - 1) <= s.key(i)));
        let (s, was) = Sorted::build(&keys, |i| i < 3000, &mut pool);
        assert!(was && s.len() == 3000);
    }
}

/// Per chunk of `src` (in parallel), how many keys fall in each bucket of the digit
/// `(key >> shift) & mask`.
/// Where one counting pass writes: chunk `c`'s values of digit `b` go from `offs[c][b]` on
/// (digits in order, chunks in order within a digit, so the pass is stable); and where each
/// digit's values start, with the total last.
fn digit_offsets(hists: &[Vec<usize>], buckets: usize) -> (Vec<Vec<usize>>, Vec<usize>) {
    let mut offs = vec![vec![0usize; buckets]; hists.len()];
    let mut starts = Vec::with_capacity(buckets + 1);
    let mut at = 0;
    for b in 0..buckets {
        starts.push(at);
        for (c, h) in hists.iter().enumerate() {
            offs[c][b] = at;
            at += h[b];
        }
    }
    starts.push(at);
    (offs, starts)
}

/// One counting pass: each chunk of `src` (as [`histograms`] cut it) written to `out` at the
/// offsets [`digit_offsets`] gave it.
fn scatter(src: &[u64], out: Out, chunk: usize, shift: u32, mask: u64, offs: Vec<Vec<usize>>) {
    src.par_chunks(chunk).zip(offs.into_par_iter()).for_each(|(c, mut o)| {
        for &x in c {
            let d = ((x >> shift) & mask) as usize;
            // SAFETY: the offsets give each (chunk, digit) its own range of `out`, sized by that
            // chunk's histogram, so every position is written exactly once.
            unsafe { *out.at(o[d]) = x };
            o[d] += 1;
        }
    });
}

fn histograms(src: &[u64], chunk: usize, shift: u32, mask: u64) -> Vec<Vec<usize>> {
    let buckets = mask as usize + 1;
    src.par_chunks(chunk)
        .map(|c| {
            let mut h = vec![0usize; buckets];
            for &x in c {
                h[((x >> shift) & mask) as usize] += 1;
            }
            h
        })
        .collect()
}
