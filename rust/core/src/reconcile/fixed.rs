//! Fixed-width files as sides: memory-mapped, read once in order, never copied.
//!
//! A row is the fields of a layout, each `width` bytes padded with spaces, then a line feed
//! (see `jukistore.fileio`). Reading a side parses the key and the 個人番号 of every row into
//! integer columns and fingerprints the compared fields; the compared fields themselves stay in
//! the file and are seen through [`Column::Fixed`] windows. Why map rather than read: the page
//! cache already holds the file, so the one pass over it copies nothing, and a comparison in
//! exact mode reads the fields in place.
//!
//! Resident memory stays bounded: while reading, the pages of each finished block of rows are
//! dropped from this process's mapping (`MADV_DONTNEED`; they stay in the page cache), and the
//! few rows needed later (pairs whose fingerprints differ, samples, the detail) are read by
//! position ([`FixedFile::fetch`], [`FixedFile::gather`]) rather than through the map, where one
//! touch can map a whole 2 MB folio of the page cache. A 4.9 GB file of 10 M rows thus costs its
//! integer columns and fingerprints (33 bytes a row), not its size.
//!
//! Malformed files do not stop the run: when the file is not a whole number of rows of the
//! layout's width, or a row does not end with a line feed where it should, the file is split at
//! its line feeds instead, every line becomes a row, and lines of the wrong length get the status
//! [`BAD_ROW`]. Row `i` is always line `i + 1`. A trailing carriage return is accepted.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use memmap2::{Mmap, UncheckedAdvice};
use rayon::prelude::*;

use super::column::{push_field, trim, Column, Fingerprinter};
use super::{parse_key, parse_mynumber, ReconcileError, Side, VarColumns, BAD_ROW, MYNUMBER_EMPTY};

/// Where a field lies in a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub offset: usize,
    pub width: usize,
}

/// The fields of a layout that a side needs.
#[derive(Clone, Debug)]
pub struct FixedSpec {
    /// Bytes of a row without its line feed.
    pub record_width: usize,
    /// The 住民票コード field.
    pub key: Field,
    /// The 個人番号 field, if the layout has one.
    pub mynumber: Option<Field>,
    /// The compared fields, in comparison order.
    pub compared: Vec<Field>,
}

/// How rows are fingerprinted while read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fingerprint {
    /// The compared values with their padding removed: comparable with any other kind of side.
    Trimmed(u64),
    /// The compared fields' bytes as they lie in the row, padding included: comparable only with
    /// a file of the same field widths, and cheaper (no trimming, and one hash over a contiguous
    /// run of fields without copying). Equal raw bytes mean equal trimmed values, so this never
    /// hides a difference; values equal but padded differently only cost a byte comparison.
    Raw(u64),
}

/// Seeds of raw fingerprints are tagged so that they never pass for trimmed ones.
pub const RAW_TAG: u64 = 0x7261_775f_6669_7865;

/// Rows per block while reading: big enough to amortise the thread hand-off, small enough that
/// the mapped pages of the blocks in flight stay a few megabytes each.
const BLOCK: usize = 1 << 15;
const PAGE: usize = 4096;
/// Bytes ahead of the row being read that are prefetched (a few rows).
const AHEAD: usize = 2048;


/// A fixed-width file read as a side.
pub struct FixedFile {
    path: String,
    file: File,
    map: Option<Mmap>,
    spec: FixedSpec,
    stride: usize,
    /// Line starts (plus one past the end) when the rows are not all of one length.
    starts: Option<Vec<u64>>,
    pub keys: Vec<u64>,
    pub status: Vec<u8>,
    pub mynumbers: Vec<u64>,
    fingerprints: Option<(Vec<u128>, u64)>,
}

struct Out<'a> {
    keys: &'a mut [u64],
    status: &'a mut [u8],
    mynumbers: &'a mut [u64],
    fps: &'a mut [u128],
}

impl FixedFile {
    /// Maps and reads `path`. With `seed`, fingerprints the compared fields of every row.
    pub fn open(path: &Path, spec: FixedSpec, fp: Option<Fingerprint>) -> Result<FixedFile, ReconcileError> {
        let name = path.display().to_string();
        let io = |source| ReconcileError::Io { path: name.clone(), source };
        let rw = spec.record_width;
        for f in std::iter::once(&spec.key).chain(&spec.mynumber).chain(&spec.compared) {
            if f.offset + f.width > rw {
                return Err(ReconcileError::Input(format!(
                    "a field at offset {} of width {} does not fit a row of {rw} bytes",
                    f.offset, f.width
                )));
            }
        }
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len() as usize;
        // SAFETY: the map is read-only and private to this object; a file truncated by another
        // process while mapped would fault, as with any reader of a changing file — the files
        // reconciled are exchange files, not files being written.
        let map = if len == 0 { None } else { Some(unsafe { Mmap::map(&file) }.map_err(io)?) };
        let mut f = FixedFile {
            path: name.clone(),
            file,
            map,
            spec,
            stride: rw + 1,
            starts: None,
            keys: Vec::new(),
            status: Vec::new(),
            mynumbers: Vec::new(),
            fingerprints: None,
        };
        if !f.read(fp, true) {
            f.starts = Some(line_starts(f.data(), bom_len(f.data(), rw)));
            f.read(fp, false);
        }
        Ok(f)
    }

    /// The mapped bytes.
    pub fn data(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    pub fn rows(&self) -> usize {
        self.keys.len()
    }

    /// Whether every line has the layout's width: read at a fixed stride, or split out line by
    /// line (CR LF line ends, a last line without its end) with no line of another length.
    pub fn aligned(&self) -> bool {
        self.starts.is_none() || !self.status.iter().any(|&s| s == BAD_ROW)
    }

    /// Reads every row into the integer columns. In the aligned attempt (`fast`), returns false as
    /// soon as the rows turn out not to be of one width.
    fn read(&mut self, fp: Option<Fingerprint>, fast: bool) -> bool {
        let data = self.map.as_deref().unwrap_or(&[]);
        let (rw, stride) = (self.spec.record_width, self.stride);
        let n = match &self.starts {
            None => {
                if !data.len().is_multiple_of(stride) {
                    return false;
                }
                data.len() / stride
            }
            Some(s) => s.len() - 1,
        };
        // Zeros the allocator need not write (fresh pages): every row's values are written
        // below, by the thread reading its block.
        let mut keys = vec![0u64; n];
        let mut status = vec![0u8; n];
        let mut mynumbers = vec![0u64; n];
        let mut fps = vec![0u128; if fp.is_some() { n } else { 0 }];
        let misaligned = AtomicBool::new(false);
        let starts = self.starts.as_deref();
        let spec = &self.spec;
        // The content of row `r` of the map (without its line end), or None when it is malformed.
        let line = |r: usize| -> Option<&[u8]> {
            let s = starts.expect("line starts");
            let (a, b) = (s[r] as usize, s[r + 1] as usize - 1);
            let mut l = &data[a..b.min(data.len())];
            if l.last() == Some(&b'\r') {
                l = &l[..l.len() - 1];
            }
            (l.len() == rw).then_some(l)
        };
        let byte_range = |r0: usize, r1: usize| match starts {
            None => (r0 * stride, r1 * stride),
            Some(s) => (s[r0] as usize, (s[r1] as usize).min(data.len())),
        };
        // Contiguous runs of the compared fields, for raw fingerprints.
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for f in &spec.compared {
            match runs.last_mut() {
                Some(r) if r.1 == f.offset => r.1 += f.width,
                _ => runs.push((f.offset, f.offset + f.width)),
            }
        }
        // One hasher for the whole read: XXH3's secret is derived from the seed once.
        let hasher = fp.map(|f| match f {
            Fingerprint::Trimmed(s) => Fingerprinter::new(s),
            Fingerprint::Raw(s) => Fingerprinter::new(s ^ RAW_TAG),
        });
        let fp_parts: Vec<&mut [u128]> =
            if fp.is_some() { fps.chunks_mut(BLOCK).collect() } else { (0..n.div_ceil(BLOCK)).map(|_| &mut [][..]).collect() };
        let blocks = keys
            .par_chunks_mut(BLOCK)
            .zip(status.par_chunks_mut(BLOCK))
            .zip(mynumbers.par_chunks_mut(BLOCK))
            .zip(fp_parts)
            .map(|(((keys, status), mynumbers), fps)| Out { keys, status, mynumbers, fps });
        blocks.enumerate().for_each(|(b, out)| {
            if fast && misaligned.load(Ordering::Relaxed) {
                return;
            }
            let r0 = b * BLOCK;
            let m = out.keys.len();
            let mut fbuf = Vec::with_capacity(rw + 4 * spec.compared.len());
            let (block_start, block_end) = byte_range(r0, r0 + m);
            // The block's pages mapped in one call rather than a fault every few pages
            // (Linux 5.14 and later; elsewhere, or if refused, the faults happen as before).
            #[cfg(target_os = "linux")]
            if let Some(map) = &self.map {
                let a = block_start / PAGE * PAGE;
                let _ = map.advise_range(memmap2::Advice::PopulateRead, a, block_end - a);
            }
            for k in 0..m {
                if fast {
                    // The bytes a few rows ahead are asked for early: the hardware's own
                    // prefetching stops at every 4 KB page boundary of the map.
                    let (a, z) = ((r0 + k) * stride + AHEAD, ((r0 + k + 1) * stride + AHEAD).min(block_end));
                    let mut at = a & !63;
                    while at < z {
                        super::prefetch(&data[at]);
                        at += 64;
                    }
                }
                let l = if fast {
                    let row = &data[(r0 + k) * stride..(r0 + k + 1) * stride];
                    if row[rw] != b'\n' || has_newline(&row[..rw]) {
                        misaligned.store(true, Ordering::Relaxed);
                        return;
                    }
                    &row[..rw]
                } else {
                    match line(r0 + k) {
                        Some(l) => l,
                        None => {
                            out.status[k] = BAD_ROW;
                            out.mynumbers[k] = MYNUMBER_EMPTY;
                            continue;
                        }
                    }
                };
                let (key, st) = parse_key(trim(&l[spec.key.offset..spec.key.offset + spec.key.width]));
                out.keys[k] = key;
                out.status[k] = st;
                out.mynumbers[k] = match spec.mynumber {
                    Some(m) => parse_mynumber(trim(&l[m.offset..m.offset + m.width])),
                    None => MYNUMBER_EMPTY,
                };
                match (fp, &hasher) {
                    (Some(Fingerprint::Trimmed(_)), Some(h)) => {
                        fbuf.clear();
                        for f in &spec.compared {
                            push_field(&mut fbuf, trim(&l[f.offset..f.offset + f.width]));
                        }
                        out.fps[k] = h.hash(&fbuf);
                    }
                    (Some(Fingerprint::Raw(_)), Some(h)) => {
                        out.fps[k] = if let [(a, z)] = runs[..] {
                            h.hash(&l[a..z])
                        } else {
                            fbuf.clear();
                            for &(a, z) in &runs {
                                fbuf.extend_from_slice(&l[a..z]);
                            }
                            h.hash(&fbuf)
                        };
                    }
                    _ => {}
                }
            }
            // Done with this block: drop its pages from the map (not from the page cache).
            self.drop_pages(block_start.div_ceil(PAGE) * PAGE, block_end / PAGE * PAGE);
        });
        if fast && misaligned.load(Ordering::Relaxed) {
            return false;
        }
        self.keys = keys;
        self.status = status;
        self.mynumbers = mynumbers;
        self.fingerprints = fp.map(|f| match f {
            Fingerprint::Trimmed(s) => (fps, s),
            Fingerprint::Raw(s) => (fps, s ^ RAW_TAG),
        });
        true
    }

    fn drop_pages(&self, from: usize, to: usize) {
        if let Some(m) = &self.map {
            if to > from {
                // SAFETY: the map is a read-only shared file mapping: dropped pages read back
                // from the file on the next access, with the same bytes. Failure only means the
                // pages stay resident.
                let _ = unsafe { m.unchecked_advise_range(UncheckedAdvice::DontNeed, from, to - from) };
            }
        }
    }

    /// Drops every page of the file from this process's mapping (they stay in the page cache).
    pub fn release(&self) {
        self.drop_pages(0, self.data().len());
    }

    /// A field of every row, as a column over the mapped file.
    pub fn column(&self, f: Field) -> Column<'_> {
        match &self.starts {
            None => Column::Fixed { data: self.data(), width: f.width, stride: self.stride, offset: f.offset },
            Some(s) => Column::Lines { data: self.data(), starts: s, width: f.width, offset: f.offset },
        }
    }

    pub fn fingerprints(&self) -> Option<(&[u128], u64)> {
        self.fingerprints.as_ref().map(|(v, s)| (v.as_slice(), *s))
    }

    /// The side: keys, statuses and 個人番号 as read, compared fields over the map. Bind
    /// [`FixedFile::fetch`] as the side's `fetch` to read rows by position instead of through the
    /// map where only a few are needed.
    pub fn side(&self) -> Side<'_> {
        let mut s = Side::new(&self.keys, &self.status, &self.mynumbers, self.spec.compared.iter().map(|&f| self.column(f)).collect());
        s.fingerprints = self.fingerprints();
        s
    }

    /// The rows `rows` (each without its line end), read by position into one buffer: row `k`
    /// at `k * record_width`. Rows out of range or malformed read as spaces.
    fn read_rows(&self, rows: &[u32]) -> Result<Vec<u8>, ReconcileError> {
        let rw = self.spec.record_width;
        let mut raw = vec![b' '; rows.len() * rw];
        let failed = std::sync::Mutex::new(None);
        raw.par_chunks_mut(rw.max(1)).zip(rows.par_iter()).for_each(|(dst, &r)| {
            let r = r as usize;
            if rw == 0 || r >= self.rows() || self.status[r] == BAD_ROW {
                return;
            }
            let at = match &self.starts {
                None => (r * self.stride) as u64,
                Some(s) => s[r],
            };
            if let Err(e) = self.file.read_exact_at(dst, at) {
                failed.lock().unwrap().get_or_insert(e);
            }
        });
        match failed.into_inner().unwrap() {
            Some(source) => Err(ReconcileError::Io { path: self.path.clone(), source }),
            None => Ok(raw),
        }
    }

    /// The compared fields of `rows` (see [`super::Side::fetch`]), read by position.
    pub fn fetch(&self, rows: &[u32]) -> Result<VarColumns, ReconcileError> {
        let raw = self.read_rows(rows)?;
        Ok(self.spec.compared.par_iter().map(|&f| self.cut(&raw, rows.len(), f)).collect())
    }

    fn cut(&self, raw: &[u8], n: usize, f: Field) -> (Vec<u64>, Vec<u8>) {
        let rw = self.spec.record_width;
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0u64);
        let mut data = Vec::new();
        for k in 0..n {
            data.extend_from_slice(trim(&raw[k * rw + f.offset..k * rw + f.offset + f.width]));
            offsets.push(data.len() as u64);
        }
        (offsets, data)
    }

    /// The values of field `f` at `rows` (padding removed), Arrow-like, read by position; rows
    /// that are malformed lines or out of range give empty values.
    pub fn gather(&self, f: Field, rows: &[u32]) -> Result<(Vec<u64>, Vec<u8>), ReconcileError> {
        let mut offsets = vec![0u64];
        let mut data = Vec::new();
        for block in rows.chunks(1 << 16) {
            let raw = self.read_rows(block)?;
            let (o, d) = self.cut(&raw, block.len(), f);
            let base = data.len() as u64;
            offsets.extend(o[1..].iter().map(|x| x + base));
            data.extend_from_slice(&d);
        }
        Ok((offsets, data))
    }
}

/// Whether `b` holds a line feed. Every byte of every row is checked (a line feed inside a row
/// means the file is not one row per stride), so this runs over the whole file: 32 bytes a step
/// where the processor has AVX2 (checked once at run time), else eight bytes a step without
/// branches (the classic "has a zero byte" test on the bytes XOR 0x0A), which the compiler
/// vectorises for SSE2.
#[inline(always)]
fn has_newline(b: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if b.len() >= 32 && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2 (checked just above).
        return unsafe { has_newline_avx2(b) };
    }
    has_newline_swar(b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn has_newline_avx2(b: &[u8]) -> bool {
    use std::arch::x86_64::*;
    let n = b.len();
    debug_assert!(n >= 32);
    let p = b.as_ptr();
    let nl = _mm256_set1_epi8(b'\n' as i8);
    let (mut a0, mut a1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    let mut i = 0;
    // SAFETY (of every load): each reads 32 bytes starting at most 32 before the end of `b`.
    while i + 64 <= n {
        a0 = _mm256_or_si256(a0, _mm256_cmpeq_epi8(unsafe { _mm256_loadu_si256(p.add(i) as *const __m256i) }, nl));
        a1 = _mm256_or_si256(a1, _mm256_cmpeq_epi8(unsafe { _mm256_loadu_si256(p.add(i + 32) as *const __m256i) }, nl));
        i += 64;
    }
    if i + 32 <= n {
        a0 = _mm256_or_si256(a0, _mm256_cmpeq_epi8(unsafe { _mm256_loadu_si256(p.add(i) as *const __m256i) }, nl));
        i += 32;
    }
    if i < n {
        // The last 32 bytes, overlapping bytes already checked.
        a1 = _mm256_or_si256(a1, _mm256_cmpeq_epi8(unsafe { _mm256_loadu_si256(p.add(n - 32) as *const __m256i) }, nl));
    }
    _mm256_movemask_epi8(_mm256_or_si256(a0, a1)) != 0
}

#[inline(always)]
fn has_newline_swar(b: &[u8]) -> bool {
    const LF: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut acc = 0u64;
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let x = u64::from_le_bytes(w.try_into().unwrap()) ^ LF;
        acc |= x.wrapping_sub(LO) & !x & HI;
    }
    acc != 0 || words.remainder().contains(&b'\n')
}

/// Start of every line, and one past the end of the last (a final line without a line feed is a
/// line too).
/// 3 when the file begins with a UTF-8 byte order mark (as Windows tools write) that makes its
/// first line exactly that much longer than a row; else 0. The rows then start after it.
fn bom_len(data: &[u8], rw: usize) -> usize {
    const BOM: &[u8] = b"\xef\xbb\xbf";
    if !data.starts_with(BOM) {
        return 0;
    }
    let mut end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    if end > 0 && data[end - 1] == b'\r' {
        end -= 1;
    }
    if end == rw + BOM.len() { BOM.len() } else { 0 }
}

/// Where each line starts (the first at `first`), plus one past the end of the last.
fn line_starts(data: &[u8], first: usize) -> Vec<u64> {
    const PART: usize = 1 << 22;
    let ends: Vec<Vec<u64>> = data
        .par_chunks(PART)
        .enumerate()
        .map(|(c, d)| d.iter().enumerate().filter(|(_, &b)| b == b'\n').map(|(i, _)| (c * PART + i) as u64 + 1).collect())
        .collect();
    let mut starts = Vec::with_capacity(ends.iter().map(Vec::len).sum::<usize>() + 2);
    starts.push(first as u64);
    for e in ends {
        starts.extend(e);
    }
    if data.last().is_some_and(|&b| b != b'\n') {
        starts.push(data.len() as u64 + 1);
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Kind, Reason};
    use std::io::Write;

    fn spec() -> FixedSpec {
        // key(11) name(6) mynumber(12)
        FixedSpec {
            record_width: 29,
            key: Field { offset: 0, width: 11 },
            mynumber: Some(Field { offset: 17, width: 12 }),
            compared: vec![Field { offset: 11, width: 6 }, Field { offset: 17, width: 12 }],
        }
    }

    fn code(i: u64) -> String {
        let base = 1_000_000_000 + i;
        format!("{base}{}", Kind::Juminhyo.check_digit_u64(base))
    }

    fn mn(i: u64) -> String {
        let base = 10_000_000_000 + i;
        format!("{base}{}", Kind::MyNumber.check_digit_u64(base))
    }

    fn write(lines: &[String]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for l in lines {
            f.write_all(l.as_bytes()).unwrap();
        }
        f.flush().unwrap();
        f
    }

    #[test]
    fn reads_keys_numbers_and_fields() {
        let rows: Vec<String> = (0..70_000u64).map(|i| format!("{}{:<6}{}\n", code(i), format!("n{}", i % 1000), mn(i))).collect();
        let f = write(&rows);
        let ff = FixedFile::open(f.path(), spec(), Some(Fingerprint::Trimmed(9))).unwrap();
        assert!(ff.aligned());
        assert_eq!(ff.rows(), 70_000);
        assert!(ff.status.iter().all(|&s| s == Reason::Ok as u8));
        assert_eq!(ff.keys[5].to_string(), code(5));
        assert_eq!(ff.mynumbers[69_999].to_string(), mn(69_999));
        let side = ff.side();
        assert_eq!(side.fields[0].get(123), b"n123");
        // Fingerprints equal those of the same values held in memory.
        let mut buf = Vec::new();
        let offs = [0u64, 4];
        let nm = mn(123);
        let offs2 = [0u64, 12];
        let var = [Column::Var { offsets: &offs, data: b"n123" }, Column::Var { offsets: &offs2, data: nm.as_bytes() }];
        assert_eq!(ff.fingerprints().unwrap().0[123], super::super::column::fingerprint(&var, 0, &Fingerprinter::new(9), &mut buf));
        let (o, d) = ff.gather(Field { offset: 11, width: 6 }, &[2, 1001, 99_999_999]).unwrap();
        assert_eq!(o, vec![0, 2, 4, 4]);
        assert_eq!(d, b"n2n1");
        let got = ff.fetch(&[1001, 2]).unwrap();
        assert_eq!(got[0], (vec![0, 2, 4], b"n1n2".to_vec()));
        assert_eq!(got[1].1, format!("{}{}", mn(1001), mn(2)).into_bytes());
    }

    #[test]
    fn a_utf8_byte_order_mark_before_the_first_row_is_skipped() {
        let rows: Vec<String> = (0..3u64).map(|i| format!("{}{:<6}{}\r\n", code(i), "x", mn(i))).collect();
        let mut with_bom = rows.clone();
        with_bom[0] = format!("\u{feff}{}", rows[0]);
        let f = write(&with_bom);
        let ff = FixedFile::open(f.path(), spec(), None).unwrap();
        assert!(ff.aligned());
        assert_eq!(ff.status, vec![0, 0, 0]);
        assert_eq!(ff.keys[0].to_string(), code(0));
        assert_eq!(ff.fetch(&[0]).unwrap()[1], (vec![0, 12], mn(0).into_bytes()));
        // Three bytes that do not stand before a whole row are not taken for a mark: here they are
        // the start of the row's 住民票コード, which is then malformed.
        with_bom[0] = format!("\u{feff}{}", &rows[0][3..]);
        let f = write(&with_bom);
        let ff = FixedFile::open(f.path(), spec(), None).unwrap();
        assert_eq!(ff.status, vec![Reason::Format as u8, 0, 0]);
    }

    #[test]
    fn malformed_lines_become_bad_rows_without_shifting_the_rest() {
        let mut rows: Vec<String> = (0..5u64).map(|i| format!("{}{:<6}{}\n", code(i), "x", mn(i))).collect();
        rows[1] = "short line\n".into();
        rows[3] = format!("{}{:<6}{}\r\n", code(3), "y", mn(3)); // CRLF is fine
        rows.push(format!("{}{:<6}{}", code(9), "z", "")); // last line without line feed, padded short
        let f = write(&rows);
        let ff = FixedFile::open(f.path(), spec(), None).unwrap();
        assert!(!ff.aligned());
        assert_eq!(ff.rows(), 6);
        assert_eq!(ff.status, vec![0, BAD_ROW, 0, 0, 0, BAD_ROW]);
        // Every line of the width, with CR LF ends and no end on the last: split out, but aligned.
        let crlf: Vec<String> = (0..3u64).map(|i| format!("{}{:<6}{}{}", code(i), "x", mn(i), if i < 2 { "\r\n" } else { "" })).collect();
        let f2 = write(&crlf);
        let ff2 = FixedFile::open(f2.path(), spec(), None).unwrap();
        assert!(ff2.aligned());
        assert_eq!(ff2.status, vec![0, 0, 0]);
        assert_eq!(ff.keys[2].to_string(), code(2));
        assert_eq!(ff.side().fields[0].get(3), b"y");
        assert_eq!(ff.fetch(&[3, 1]).unwrap()[0], (vec![0, 1, 1], b"y".to_vec()));
        // Padded to its width, a last line without a line feed is a row.
        let mut rows2 = rows.clone();
        rows2[5] = format!("{}{:<6}{:<12}", code(9), "z", "");
        let f2 = write(&rows2);
        let ff2 = FixedFile::open(f2.path(), spec(), None).unwrap();
        assert_eq!(ff2.status[5], 0);
        assert_eq!(ff2.mynumbers[5], MYNUMBER_EMPTY);
    }

    #[test]
    fn newline_test() {
        for n in (0..140).chain([491, 492, 493, 500]) {
            let mut v = vec![b'a'; n];
            assert!(!has_newline(&v) && !has_newline_swar(&v));
            for k in 0..n {
                v[k] = b'\n';
                assert!(has_newline(&v) && has_newline_swar(&v), "{n} {k}");
                v[k] = 0x8a; // a byte with the line feed's low bits
                assert!(!has_newline(&v) && !has_newline_swar(&v), "{n} {k}");
                v[k] = b'a';
            }
        }
    }

    #[test]
    fn key_reasons_and_empty_files() {
        let rows = vec![
            format!("{:<11}{:<6}{}\n", "12345", "a", mn(1)),
            format!("{:<11}{:<6}{}\n", "1234567890x", "a", "12345678901x"),
            format!("{}{:<6}{}\n", code(1)[..10].to_string() + "0", "a", mn(2)),
        ];
        let f = write(&rows);
        let ff = FixedFile::open(f.path(), spec(), None).unwrap();
        let want_third = Kind::Juminhyo.explain_str(&(code(1)[..10].to_string() + "0")) as u8;
        assert_eq!(ff.status, vec![Reason::Length as u8, Reason::Format as u8, want_third]);
        assert_eq!(ff.mynumbers[1], super::super::MYNUMBER_BAD);
        let e = write(&[]);
        let ff = FixedFile::open(e.path(), spec(), Some(Fingerprint::Raw(1))).unwrap();
        assert_eq!(ff.rows(), 0);
        assert!(FixedFile::open(Path::new("/nonexistent/x"), spec(), None).is_err());
    }
}
