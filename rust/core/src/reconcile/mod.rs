//! Reconciliation (整合性確認): two sides of 8-field rows keyed by 住民票コード, compared in bulk.
//!
//! Once a year every municipality's rows are compared with the prefecture's and the national
//! server's copies (SPEC §8): a ward has up to 2 M rows, a prefecture 14 M, the national server
//! 125 M. So nothing here allocates per row: a side is a set of columns (keys, a status per key,
//! 個人番号 as integers, compared fields as byte columns over a memory-mapped file or Arrow-like
//! buffers), and the result is a set of flat arrays (a class per row, and one item per finding).
//!
//! The steps, each parallel (rayon):
//! 1. the joinable rows of each side (a key with a valid check digit) are sorted as packed
//!    (key, row) words by a radix sort, or recognised as sorted already;
//! 2. a merge join walks both sorted lists: single rows on both sides are pairs, rows on one side
//!    only are candidates for "only here", keys seen twice on one side are duplicates; in
//!    fingerprint mode the join compares each pair's row fingerprints as it finds the pair, and
//!    keeps only the pairs whose fingerprints differ;
//! 3. a key only on one side that the other side (or its own) knows as a superseded 住民票コード of
//!    a person present on the other side is a stale copy, not a missing person;
//! 4. pairs are compared field by field (or first by a row fingerprint, see
//!    [`column::fingerprint`], and byte for byte only where fingerprints differ, on rows a side
//!    may read by position: [`Side::fetch`]), giving a bit mask of differing fields per pair;
//! 5. 個人番号 are bucketed and sorted once (see [`sort::repeated`]), both sides together less
//!    the pairs that hold one number alike, to find one number under two persons, within or across sides (two codes of one person,
//!    linked by supersession, are one person).
//!
//! Row indexes are u32 (a side holds fewer than 2^32 rows): half the memory of usize, for
//! arrays of tens of millions.

pub mod column;
pub mod csv;
pub mod fixed;
pub mod msgpack;
pub mod source_store;
pub mod sort;

use std::borrow::Cow;
use std::ops::Range;
use std::time::Instant;

use rayon::prelude::*;

pub use column::Column;
use sort::{rows_where, Pool, Sorted};

use crate::ids::{self, Kind, Reason};

/// 個人番号 column value of a row with none recorded (the store's `NO_MYNUMBER`).
pub const MYNUMBER_EMPTY: u64 = u64::MAX;
/// 個人番号 column value of a row whose number is not 12 ASCII digits.
pub const MYNUMBER_BAD: u64 = u64::MAX - 1;
/// Key status of a malformed row (a line of the wrong length, a CSV record with the wrong number
/// of fields), beyond the [`Reason`] codes 0..=3 that describe the key itself.
pub const BAD_ROW: u8 = 4;
/// "No row" in the row columns of the items.
pub const NONE: u32 = u32::MAX;

/// The class of each row of a side (exactly one per row).
pub mod class {
    /// On both sides, every compared field equal.
    pub const SAME: u8 = 0;
    /// On both sides, some compared field differs.
    pub const DIFFERENT: u8 = 1;
    /// Only on this side.
    pub const ONLY: u8 = 2;
    /// Its key appears more than once on this side (not compared).
    pub const DUPLICATE: u8 = 3;
    /// Its key is duplicated on the other side (not compared).
    pub const PAIRED_WITH_DUPLICATE: u8 = 4;
    /// Its key fails the check digit, length or format (not joined).
    pub const INVALID: u8 = 5;
    /// A stale copy under a superseded 住民票コード, or the current row such a copy points to.
    pub const SUPERSEDED: u8 = 6;
    /// The row itself is malformed (not joined).
    pub const BAD_ROW: u8 = 7;
    pub const NAMES: [&str; 8] =
        ["same", "different", "only", "duplicate", "paired_with_duplicate", "invalid", "superseded", "bad_row"];
}

/// The kinds of findings in [`Items`].
pub mod item {
    pub const DIFFERENT: u8 = 1;
    pub const ONLY_LEFT: u8 = 2;
    pub const ONLY_RIGHT: u8 = 3;
    pub const DUPLICATE: u8 = 4;
    pub const PAIRED_WITH_DUPLICATE: u8 = 5;
    pub const INVALID: u8 = 6;
    pub const SUPERSEDED: u8 = 7;
    pub const BAD_ROW: u8 = 8;
    pub const MYNUMBER_CONFLICT: u8 = 9;
    pub const INVALID_MYNUMBER: u8 = 10;
    /// A key accepted in lenient mode despite a check-digit mismatch (a warning).
    pub const LENIENT_KEY: u8 = 11;
    pub const NAMES: [&str; 12] = [
        "",
        "different",
        "only_left",
        "only_right",
        "duplicate",
        "paired_with_duplicate",
        "invalid",
        "superseded",
        "bad_row",
        "mynumber_conflict",
        "invalid_mynumber",
        "lenient_key",
    ];
}

/// Sides in the `side` column of [`Items`].
pub const LEFT: u8 = 0;
pub const RIGHT: u8 = 1;
pub const BOTH: u8 = 2;

/// Bits of the `reason` column of a 個人番号 conflict.
pub mod conflict {
    /// Two persons on the left hold the number.
    pub const WITHIN_LEFT: u8 = 1;
    pub const WITHIN_RIGHT: u8 = 2;
    /// The left and the right hold it under different persons.
    pub const ACROSS: u8 = 4;
}

/// What can go wrong.
#[derive(Debug)]
pub enum ReconcileError {
    /// The sides do not fit together or are malformed as described.
    Input(String),
    /// A file could not be read.
    Io { path: String, source: std::io::Error },
    /// A file's header or structure makes it unreadable as a whole.
    Format { path: String, message: String },
    Store(crate::store::StoreError),
}

impl std::fmt::Display for ReconcileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReconcileError::Input(s) => write!(f, "{s}"),
            ReconcileError::Io { path, source } => write!(f, "{path}: {source}"),
            ReconcileError::Format { path, message } => write!(f, "{path}: {message}"),
            ReconcileError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReconcileError {}

impl From<crate::store::StoreError> for ReconcileError {
    fn from(e: crate::store::StoreError) -> Self {
        ReconcileError::Store(e)
    }
}

/// One side of a reconciliation, borrowed.
pub struct Side<'a> {
    /// 住民票コード per row (meaningful where `status` is ok, or checksum in lenient mode).
    pub keys: &'a [u64],
    /// Per row: a [`Reason`] code of the key (0 ok, 1 length, 2 format, 3 checksum) or [`BAD_ROW`].
    pub status: &'a [u8],
    /// 個人番号 per row, or [`MYNUMBER_EMPTY`] / [`MYNUMBER_BAD`].
    pub mynumbers: &'a [u64],
    /// The compared fields, in the same order on both sides.
    pub fields: Vec<Column<'a>>,
    /// Superseded 住民票コード of this side's persons and the current code of each (pairs
    /// `superseded_old[i]` → `superseded_new[i]`, any order).
    pub superseded_old: &'a [u64],
    pub superseded_new: &'a [u64],
    /// Row fingerprints computed while reading, and the seed they were computed with.
    pub fingerprints: Option<(&'a [u128], u64)>,
    /// Reads the compared fields of a few rows, for sides whose fields lie in a file: used for
    /// the byte comparison of pairs whose fingerprints differ, instead of reading `fields`.
    /// Why: a mapped file makes every page it touches resident (with the page cache's large
    /// folios, up to 2 MB a touch), so random reads through the map would bring whole files into
    /// the resident set; positional reads copy only the rows asked for.
    pub fetch: Option<&'a Fetch<'a>>,
}

/// Owned Arrow-like columns: per field (offsets, data).
pub type VarColumns = Vec<(Vec<u64>, Vec<u8>)>;

/// See [`Side::fetch`]: the compared fields of `rows`, each as Arrow-like (offsets, data) aligned
/// with `rows`.
pub type Fetch<'a> = dyn Fn(&[u32]) -> Result<VarColumns, ReconcileError> + Sync + 'a;

impl<'a> Side<'a> {
    pub fn new(keys: &'a [u64], status: &'a [u8], mynumbers: &'a [u64], fields: Vec<Column<'a>>) -> Self {
        Side { keys, status, mynumbers, fields, superseded_old: &[], superseded_new: &[], fingerprints: None, fetch: None }
    }

    pub fn rows(&self) -> usize {
        self.keys.len()
    }

    fn validate(&self, name: &str) -> Result<(), ReconcileError> {
        let n = self.keys.len();
        let bad = |m: String| ReconcileError::Input(format!("{name} side: {m}"));
        if n >= NONE as usize {
            return Err(bad(format!("{n} rows; at most {} rows a side", NONE - 1)));
        }
        if self.status.len() != n || self.mynumbers.len() != n {
            return Err(bad(format!(
                "{} keys, {} statuses, {} 個人番号: one of each per row",
                n,
                self.status.len(),
                self.mynumbers.len()
            )));
        }
        if let Some(&s) = self.status.iter().find(|&&s| s > BAD_ROW) {
            return Err(bad(format!("unknown key status {s}")));
        }
        if self.superseded_old.len() != self.superseded_new.len() {
            return Err(bad("superseded codes: old and new lists differ in length".into()));
        }
        if let Some((fp, _)) = self.fingerprints {
            if fp.len() != n {
                return Err(bad(format!("{} fingerprints for {n} rows", fp.len())));
            }
        }
        for (i, c) in self.fields.iter().enumerate() {
            c.validate(n).map_err(|m| bad(format!("field {i}: {m}")))?;
        }
        Ok(())
    }
}

/// How to reconcile.
#[derive(Clone, Debug)]
pub struct Options {
    /// Reject keys whose check digit fails the assumed 住民票コード rule (SPEC §2). When false,
    /// such keys are joined like valid ones and listed as [`item::LENIENT_KEY`] warnings.
    pub strict: bool,
    /// Compare pairs by row fingerprint first, and byte for byte only where fingerprints differ
    /// (see [`column::fingerprint`]); false compares every pair byte for byte.
    pub fingerprint: bool,
    /// Fingerprint seed (pick a fresh random one per run).
    pub seed: u64,
    /// Pairs compared byte for byte per batch of [`Side::fetch`] reads (bounds the rows held).
    pub batch: usize,
    /// The compared field holding the 個人番号 as text, when there is one. Both sides'
    /// `mynumbers` must then be parsed from exactly that text, so that a pair found equal in that
    /// field holds one number: the 個人番号 check then needs no look-up per pair.
    pub mynumber_field: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options { strict: true, fingerprint: false, seed: 0x6a75_6b69_7374_6f72, batch: 1 << 14, mynumber_field: None }
    }
}

/// Findings, one per entry, as columns. Which columns mean something depends on `class`:
/// - different: rows on both sides, `key`, `mask` (bit i = compared field i differs, for fields
///   0..64) and `mask_hi` (bit i = field 64 + i);
/// - only_left / only_right: the row and `key`;
/// - duplicate / paired_with_duplicate: one entry per row, `group` numbers the key;
/// - invalid: the row, `reason` (the key's [`Reason`] code), `key` as parsed (0 if unparsable);
/// - superseded: `side` is the side holding the stale row, whose row is set; the other side's row
///   is the person's current row; `key` is the superseded code, `other_key` the current one;
/// - bad_row: the row;
/// - mynumber_conflict: one entry per row holding the number, `mynumber`, `group` numbers the
///   number, `reason` has [`conflict`] bits;
/// - invalid_mynumber: the row, `mynumber` ([`MYNUMBER_BAD`] if not 12 digits), `reason`;
/// - lenient_key: the row and `key`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Items {
    pub class: Vec<u8>,
    pub side: Vec<u8>,
    pub left_row: Vec<u32>,
    pub right_row: Vec<u32>,
    pub key: Vec<u64>,
    pub mask: Vec<u64>,
    pub mask_hi: Vec<u64>,
    pub other_key: Vec<u64>,
    pub mynumber: Vec<u64>,
    pub group: Vec<u32>,
    pub reason: Vec<u8>,
}

/// One finding, as pushed onto [`Items`].
#[derive(Clone, Copy, Debug)]
struct It {
    class: u8,
    side: u8,
    left_row: u32,
    right_row: u32,
    key: u64,
    mask: u128,
    other_key: u64,
    mynumber: u64,
    group: u32,
    reason: u8,
}

impl It {
    fn new(class: u8, side: u8, row: u32, key: u64) -> It {
        let (left_row, right_row) = if side == LEFT { (row, NONE) } else { (NONE, row) };
        It { class, side, left_row, right_row, key, mask: 0, other_key: 0, mynumber: MYNUMBER_EMPTY, group: 0, reason: 0 }
    }
}

impl Items {
    fn push(&mut self, it: It) {
        self.class.push(it.class);
        self.side.push(it.side);
        self.left_row.push(it.left_row);
        self.right_row.push(it.right_row);
        self.key.push(it.key);
        self.mask.push(it.mask as u64);
        self.mask_hi.push((it.mask >> 64) as u64);
        self.other_key.push(it.other_key);
        self.mynumber.push(it.mynumber);
        self.group.push(it.group);
        self.reason.push(it.reason);
    }

    fn extend(&mut self, its: impl IntoIterator<Item = It>) {
        for it in its {
            self.push(it);
        }
    }

    pub fn len(&self) -> usize {
        self.class.len()
    }

    pub fn is_empty(&self) -> bool {
        self.class.is_empty()
    }
}

/// The result: a class per row of each side, the findings, and counts.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub left_class: Vec<u8>,
    pub right_class: Vec<u8>,
    pub items: Items,
    /// Keys present once on each side (compared).
    pub pairs: u64,
    /// Pairs with every compared field equal.
    pub same: u64,
    /// Differing pairs per compared field.
    pub field_counts: Vec<u64>,
    /// Whether each side's joinable keys were in order already (no sort needed).
    pub left_sorted: bool,
    pub right_sorted: bool,
    /// Pairs compared byte for byte after their fingerprints differed (fingerprint mode).
    pub compared_bytes: u64,
    /// Seconds per step.
    pub timings: Vec<(&'static str, f64)>,
}

/// (old → current) 住民票コード, sorted for lookups.
struct Supersession {
    old: Vec<u64>,
    new: Vec<u64>,
}

impl Supersession {
    fn of(s: &Side) -> Supersession {
        let mut p: Vec<(u64, u64)> = s.superseded_old.iter().copied().zip(s.superseded_new.iter().copied()).collect();
        p.sort_unstable();
        p.dedup_by_key(|x| x.0);
        Supersession { old: p.iter().map(|x| x.0).collect(), new: p.iter().map(|x| x.1).collect() }
    }

    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        self.old.binary_search(&k).ok().map(|i| self.new[i])
    }
}

/// Writes to distinct positions of a slice from many threads.
#[derive(Clone, Copy)]
struct Scatter(*mut u8);
unsafe impl Send for Scatter {}
unsafe impl Sync for Scatter {}
impl Scatter {
    /// SAFETY: callers write each position from one thread only, within the slice's length.
    #[inline(always)]
    unsafe fn set(self, i: usize, v: u8) {
        unsafe { *self.0.add(i) = v };
    }
}

fn set_all(classes: &mut [u8], rows: &[u32], v: u8) {
    let n = classes.len();
    assert!(rows.iter().all(|&r| (r as usize) < n));
    let out = Scatter(classes.as_mut_ptr());
    // SAFETY: every row index is in range (checked above) and appears in `rows` at most once (a
    // row belongs to one pair), so no position is written by two threads.
    rows.par_chunks(1 << 14).for_each(|c| c.iter().for_each(|&r| unsafe { out.set(r as usize, v) }));
}

/// Walks two sorted lists key by key: `f(key, positions in a, positions in b, acc)` once per
/// distinct key, in parallel over key ranges; the accumulators come back in key order.
fn merge_runs<A: Send>(
    a: &Sorted,
    b: &Sorted,
    init: impl Fn(usize, usize) -> A + Sync,
    ahead: impl Fn(usize, usize) + Sync,
    f: impl Fn(u64, Range<usize>, Range<usize>, &mut A) + Sync,
) -> Vec<A> {
    let (big, total) = if a.len() >= b.len() { (a, a.len() + b.len()) } else { (b, a.len() + b.len()) };
    let parts = if total < 1 << 16 { 1 } else { rayon::current_num_threads() * 8 };
    let mut splits: Vec<u64> = (1..parts).map(|s| big.key(big.len() * s / parts)).collect();
    splits.dedup();
    let mut bounds = vec![(0usize, 0usize)];
    bounds.extend(splits.iter().map(|&k| (a.lower_bound(k), b.lower_bound(k))));
    bounds.push((a.len(), b.len()));
    bounds
        .par_windows(2)
        .map(|w| {
            let ((a0, b0), (a1, b1)) = (w[0], w[1]);
            let mut acc = init(a1 - a0, b1 - b0);
            let (mut i, mut j) = (a0, b0);
            while i < a1 || j < b1 {
                ahead(i, j);
                let k = match (i < a1, j < b1) {
                    (true, true) => a.key(i).min(b.key(j)),
                    (true, false) => a.key(i),
                    _ => b.key(j),
                };
                let mut ie = i;
                while ie < a1 && a.key(ie) == k {
                    ie += 1;
                }
                let mut je = j;
                while je < b1 && b.key(je) == k {
                    je += 1;
                }
                f(k, i..ie, j..je, &mut acc);
                i = ie;
                j = je;
            }
            acc
        })
        .collect()
}

struct JoinPart {
    /// The pairs to compare: every pair, or in fingerprint mode those whose fingerprints differ.
    pl: Vec<u32>,
    pr: Vec<u32>,
    pairs: u64,
    only_l: Vec<u32>,
    only_r: Vec<u32>,
    dups: Vec<It>,
    groups: u32,
}

impl JoinPart {
    /// With `all_pairs`, room for as many pairs as the shorter list can make: growing vectors of
    /// millions of entries would copy them, and fault in fresh pages, several times over.
    fn with_capacity(a: usize, b: usize, all_pairs: bool) -> JoinPart {
        let n = if all_pairs { a.min(b) } else { 0 };
        JoinPart {
            pl: Vec::with_capacity(n),
            pr: Vec::with_capacity(n),
            pairs: 0,
            only_l: Vec::new(),
            only_r: Vec::new(),
            dups: Vec::new(),
            groups: 0,
        }
    }
}

/// Reconciles `left` with `right`.
pub fn reconcile(left: &Side, right: &Side, opts: &Options) -> Result<Report, ReconcileError> {
    let mut timings = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&'static str, f64)>| {
        let now = Instant::now();
        timings.push((name, (now - clock).as_secs_f64()));
        clock = now;
    };
    left.validate("left")?;
    right.validate("right")?;
    let nf = left.fields.len();
    if nf != right.fields.len() {
        return Err(ReconcileError::Input(format!(
            "the left side has {nf} compared fields, the right side {}",
            right.fields.len()
        )));
    }
    if nf > 128 {
        return Err(ReconcileError::Input(format!("{nf} compared fields; at most 128")));
    }
    if opts.mynumber_field.is_some_and(|f| f >= nf) {
        return Err(ReconcileError::Input(format!("the 個人番号 field {:?} is not among the {nf} compared fields", opts.mynumber_field)));
    }
    let (sup_l, sup_r) = (Supersession::of(left), Supersession::of(right));
    let strict = opts.strict;
    let joinable = move |s: u8| s == Reason::Ok as u8 || (!strict && s == Reason::Checksum as u8);
    let initial = |s: &Side| -> Vec<u8> {
        s.status
            .par_iter()
            .map(|&st| if joinable(st) { class::SAME } else if st == BAD_ROW { class::BAD_ROW } else { class::INVALID })
            .collect()
    };
    let (mut lc, mut rc) = (initial(left), initial(right));

    // 1. Sort the joinable keys of each side.
    let mut pool = Pool::default();
    let (ls, left_sorted) = Sorted::build(left.keys, |i| joinable(left.status[i]), &mut pool);
    let (rs, right_sorted) = Sorted::build(right.keys, |i| joinable(right.status[i]), &mut pool);
    lap("sort", &mut timings);

    // 2. Merge join. Pairs are counted as they are found (their rows are SAME already); in
    // fingerprint mode their fingerprints are compared right there, while the join walks both sides in key order (the
    // rows of a pair lie anywhere in the fingerprint arrays: those of the rows a few keys ahead
    // are asked for early, so the misses overlap instead of queueing), and only the pairs whose
    // fingerprints differ are kept, to be compared byte for byte.
    let fps = if opts.fingerprint && nf > 0 { Some(pair_fingerprints(left, right, opts.seed)) } else { None };
    let fp_slices: Option<(&[u128], &[u128])> = fps.as_ref().map(|(a, b)| (a.as_ref(), b.as_ref()));
    // Right rows whose pair on the left holds the same 個人番号, looked up pair by pair when the
    // number is not a compared field (see step 5).
    let look_up_numbers = opts.mynumber_field.is_none();
    let mut covered = vec![0u8; if look_up_numbers { right.rows() } else { 0 }];
    let cset = Scatter(covered.as_mut_ptr());
    let (nl, nr) = (lc.len(), rc.len());
    let ahead = |i: usize, j: usize| {
        if let Some((fl, fr)) = fp_slices {
            if i + PREFETCH < ls.len() {
                prefetch(&fl[ls.row(i + PREFETCH) as usize]);
            }
            if j + PREFETCH < rs.len() {
                prefetch(&fr[rs.row(j + PREFETCH) as usize]);
            }
        }
    };
    let all_pairs = fp_slices.is_none();
    let init = |a: usize, b: usize| JoinPart::with_capacity(a, b, all_pairs);
    let parts = merge_runs(&ls, &rs, init, ahead, |k, a, b, acc| match (a.len(), b.len()) {
        (1, 1) => {
            let (x, y) = (ls.row(a.start), rs.row(b.start));
            acc.pairs += 1;
            assert!((x as usize) < nl && (y as usize) < nr);
            if look_up_numbers && left.mynumbers[x as usize] == right.mynumbers[y as usize] {
                // SAFETY: `y` is in range (checked above) and a right row is in one pair at
                // most, so no position of `covered` is written by two threads.
                unsafe { cset.set(y as usize, 1) };
            }
            if fp_slices.is_none_or(|(fl, fr)| fl[x as usize] != fr[y as usize]) {
                acc.pl.push(x);
                acc.pr.push(y);
            }
        }
        (1, 0) => acc.only_l.push(ls.row(a.start)),
        (0, 1) => acc.only_r.push(rs.row(b.start)),
        (na, nb) => {
            let group = acc.groups;
            acc.groups += 1;
            for (side, range, sorted, n_here) in [(LEFT, a, &ls, na), (RIGHT, b, &rs, nb)] {
                let cls = if n_here >= 2 { item::DUPLICATE } else { item::PAIRED_WITH_DUPLICATE };
                for i in range {
                    acc.dups.push(It { group, ..It::new(cls, side, sorted.row(i), k) });
                }
            }
        }
    });
    let mut pl = Vec::with_capacity(parts.iter().map(|p| p.pl.len()).sum());
    let mut pr = Vec::with_capacity(pl.capacity());
    let pairs: u64 = parts.iter().map(|p| p.pairs).sum();
    let (mut only_l, mut only_r, mut dups) = (Vec::new(), Vec::new(), Vec::new());
    let mut groups = 0u32;
    for p in parts {
        pl.extend_from_slice(&p.pl);
        pr.extend_from_slice(&p.pr);
        only_l.extend_from_slice(&p.only_l);
        only_r.extend_from_slice(&p.only_r);
        dups.extend(p.dups.into_iter().map(|it| It { group: it.group + groups, ..it }));
        groups += p.groups;
    }
    // Joinable rows start as SAME: every one of them is in exactly one pair, one unpaired key or
    // one group of a repeated key, and the last two are few. Marking those few here, rather than
    // each pair's two rows as they are found, spares two writes at random places per pair (at
    // 10 M rows a side, the join went from 0.29 s to 0.25 s).
    set_all(&mut lc, &only_l, class::ONLY);
    set_all(&mut rc, &only_r, class::ONLY);
    for it in &dups {
        let cls = if it.class == item::DUPLICATE { class::DUPLICATE } else { class::PAIRED_WITH_DUPLICATE };
        if it.side == LEFT {
            lc[it.left_row as usize] = cls;
        } else {
            rc[it.right_row as usize] = cls;
        }
    }
    lap("join", &mut timings);

    // 3. Stale copies under superseded codes.
    let stale = |rows: &[u32], side: &Side, other: &Sorted, sup_other: &Supersession, sup_own: &Supersession| -> Vec<(u32, u64, u64, u32)> {
        if sup_other.old.is_empty() && sup_own.old.is_empty() {
            return Vec::new();
        }
        rows.par_iter()
            .filter_map(|&row| {
                let k = side.keys[row as usize];
                let current = sup_other.get(k).or_else(|| sup_own.get(k))?;
                let at = other.find(current);
                (!at.is_empty() && current != k).then(|| (row, k, current, other.row(at.start)))
            })
            .collect()
    };
    let stale_l = stale(&only_l, left, &rs, &sup_r, &sup_l);
    let stale_r = stale(&only_r, right, &ls, &sup_l, &sup_r);
    for &(row, _, _, other) in &stale_l {
        lc[row as usize] = class::SUPERSEDED;
        if rc[other as usize] == class::ONLY {
            rc[other as usize] = class::SUPERSEDED;
        }
    }
    for &(row, _, _, other) in &stale_r {
        rc[row as usize] = class::SUPERSEDED;
        if lc[other as usize] == class::ONLY {
            lc[other as usize] = class::SUPERSEDED;
        }
    }
    only_l.retain(|&r| lc[r as usize] == class::ONLY);
    only_r.retain(|&r| rc[r as usize] == class::ONLY);
    lap("superseded", &mut timings);

    // 4. Compare the pairs.
    ls.recycle(&mut pool);
    rs.recycle(&mut pool);
    let (diff_idx, diff_mask) = compare(left, right, &pl, &pr, opts, fp_slices.is_some())?;
    let compared_bytes = if fp_slices.is_some() { pl.len() as u64 } else { 0 };
    drop(fps);
    let mut field_counts = vec![0u64; nf];
    for &m in &diff_mask {
        let mut m = m;
        while m != 0 {
            field_counts[m.trailing_zeros() as usize] += 1;
            m &= m - 1;
        }
    }
    let dl: Vec<u32> = diff_idx.iter().map(|&i| pl[i as usize]).collect();
    let dr: Vec<u32> = diff_idx.iter().map(|&i| pr[i as usize]).collect();
    set_all(&mut lc, &dl, class::DIFFERENT);
    set_all(&mut rc, &dr, class::DIFFERENT);
    lap("compare", &mut timings);

    // 5. 個人番号: invalid check digits, and one number under two persons.
    // Right rows whose pair on the left holds the same 個人番号: known from the comparison when the
    // number is a compared field (pairs found equal in it), else looked up pair by pair (in the
    // join).
    let covered: Vec<u8> = match opts.mynumber_field {
        Some(f) => {
            let mut differs: Vec<u32> = diff_mask.iter().zip(&dr).filter(|(&m, _)| m >> f & 1 == 1).map(|(_, &r)| r).collect();
            differs.sort_unstable();
            rc.par_iter()
                .enumerate()
                .map(|(r, &c)| (c == class::SAME || (c == class::DIFFERENT && differs.binary_search(&(r as u32)).is_err())) as u8)
                .collect()
        }
        None => covered,
    };
    drop(pl);
    drop(pr);
    let conflicts = mynumber_conflicts(left, right, &joinable, &sup_l, &sup_r, covered, &mut pool);
    lap("mynumber", &mut timings);
    let invalid_mn = |s: &Side, cls: &[u8], side: u8| -> Vec<It> {
        let reason = |i: usize| match s.mynumbers[i] {
            _ if cls[i] == class::BAD_ROW => Reason::Ok,
            MYNUMBER_EMPTY => Reason::Ok,
            MYNUMBER_BAD => Reason::Format,
            m => Kind::MyNumber.explain_u64(m),
        };
        rows_where(s.rows(), |i| reason(i) != Reason::Ok)
            .into_iter()
            .map(|r| {
                let i = r as usize;
                It { mynumber: s.mynumbers[i], reason: reason(i) as u8, ..It::new(item::INVALID_MYNUMBER, side, r, s.keys[i]) }
            })
            .collect()
    };
    let invalid_mn_l = invalid_mn(left, &lc, LEFT);
    let invalid_mn_r = invalid_mn(right, &rc, RIGHT);
    lap("mynumber_check", &mut timings);

    // Findings, grouped by kind.
    let mut items = Items::default();
    items.extend(diff_idx.iter().zip(&diff_mask).zip(dl.iter().zip(&dr)).map(|((_, &m), (&a, &b))| It {
        right_row: b,
        side: BOTH,
        mask: m,
        ..It::new(item::DIFFERENT, LEFT, a, left.keys[a as usize])
    }));
    items.extend(only_l.iter().map(|&r| It::new(item::ONLY_LEFT, LEFT, r, left.keys[r as usize])));
    items.extend(only_r.iter().map(|&r| It::new(item::ONLY_RIGHT, RIGHT, r, right.keys[r as usize])));
    items.extend(dups);
    for (st, side) in [(&stale_l, LEFT), (&stale_r, RIGHT)] {
        items.extend(st.iter().map(|&(row, old, current, other)| {
            let mut it = It { other_key: current, ..It::new(item::SUPERSEDED, side, row, old) };
            if side == LEFT {
                it.right_row = other;
            } else {
                it.left_row = other;
            }
            it
        }));
    }
    for (s, cls, side) in [(left, &lc, LEFT), (right, &rc, RIGHT)] {
        let rows = rows_where(s.rows(), |i| cls[i] == class::INVALID);
        items.extend(rows.iter().map(|&r| It { reason: s.status[r as usize], ..It::new(item::INVALID, side, r, s.keys[r as usize]) }));
    }
    for (s, cls, side) in [(left, &lc, LEFT), (right, &rc, RIGHT)] {
        let rows = rows_where(s.rows(), |i| cls[i] == class::BAD_ROW);
        items.extend(rows.iter().map(|&r| It::new(item::BAD_ROW, side, r, 0)));
    }
    items.extend(conflicts);
    items.extend(invalid_mn_l);
    items.extend(invalid_mn_r);
    if !strict {
        for (s, side) in [(left, LEFT), (right, RIGHT)] {
            let rows = rows_where(s.rows(), |i| s.status[i] == Reason::Checksum as u8);
            items.extend(rows.iter().map(|&r| It { reason: Reason::Checksum as u8, ..It::new(item::LENIENT_KEY, side, r, s.keys[r as usize]) }));
        }
    }
    lap("findings", &mut timings);

    Ok(Report {
        left_class: lc,
        right_class: rc,
        items,
        pairs,
        same: pairs - diff_mask.len() as u64,
        field_counts,
        left_sorted,
        right_sorted,
        compared_bytes,
        timings,
    })
}

/// Bit mask of the compared fields that differ between `left` row `a` and `right` row `b`.
#[inline]
fn mask_of(left: &Side, right: &Side, a: usize, b: usize) -> u128 {
    let mut m = 0u128;
    for (f, (cl, cr)) in left.fields.iter().zip(&right.fields).enumerate() {
        if cl.get(a) != cr.get(b) {
            m |= 1 << f;
        }
    }
    m
}

fn fingerprints_of(s: &Side, seed: u64) -> Vec<u128> {
    let hasher = column::Fingerprinter::new(seed);
    (0..s.rows())
        .into_par_iter()
        .map_init(|| Vec::with_capacity(512), |buf, i| column::fingerprint(&s.fields, i, &hasher, buf))
        .collect()
}

/// The compared fields of one side for a block of rows: the fetched values (row `k` of the block
/// at position `k`), or the side's own columns with the block's row numbers.
fn block_columns<'a>(side: &Side<'a>, got: &'a Option<VarColumns>, rows: &'a [u32]) -> Vec<(Column<'a>, Option<&'a [u32]>)> {
    match got {
        Some(cols) => cols.iter().map(|(o, d)| (Column::Var { offsets: o, data: d }, None)).collect(),
        None => side.fields.iter().map(|&c| (c, Some(rows))).collect(),
    }
}

/// Value `k` of a block column (see [`block_columns`]).
#[inline]
fn block_value<'a>(c: &(Column<'a>, Option<&[u32]>), k: usize) -> &'a [u8] {
    match c.1 {
        Some(rows) => c.0.get(rows[k] as usize),
        None => c.0.get(k),
    }
}

/// Pairs ahead whose fingerprints are prefetched.
const PREFETCH: usize = 16;

/// Hints the processor to bring `x`'s cache line in (no effect elsewhere than x86-64).
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and `x` is a valid reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch(x as *const T as *const i8, std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// The fingerprints of both sides' rows for the comparison: those the sides computed while
/// reading when they were made alike (same seed and form), otherwise computed here from the
/// trimmed values with the run's seed.
fn pair_fingerprints<'a>(left: &Side<'a>, right: &Side<'a>, seed: u64) -> (Cow<'a, [u128]>, Cow<'a, [u128]>) {
    let seed = match (left.fingerprints, right.fingerprints) {
        (Some((_, a)), Some((_, b))) if a == b => a,
        _ => seed,
    };
    let own = |s: &Side<'a>| -> Cow<'a, [u128]> {
        match s.fingerprints {
            Some((fp, sd)) if sd == seed => Cow::Borrowed(fp),
            _ => Cow::Owned(fingerprints_of(s, seed)),
        }
    };
    (own(left), own(right))
}

/// Compares the pairs (`pl[i]`, `pr[i]`) byte for byte; returns the indexes of differing pairs
/// and their masks. With `fetched`, the pairs are those whose fingerprints differed, and their
/// fields are read through the sides' [`Side::fetch`] where they have one, in batches.
fn compare(left: &Side, right: &Side, pl: &[u32], pr: &[u32], opts: &Options, fetched: bool) -> Result<(Vec<u32>, Vec<u128>), ReconcileError> {
    const CHUNK: usize = 1 << 14;
    if left.fields.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    if !fetched {
        let parts: Vec<(Vec<u32>, Vec<u128>)> = pl
            .par_chunks(CHUNK)
            .zip(pr.par_chunks(CHUNK))
            .enumerate()
            .map(|(c, (a, b))| {
                let (mut idx, mut masks) = (Vec::new(), Vec::new());
                for (k, (&x, &y)) in a.iter().zip(b).enumerate() {
                    let m = mask_of(left, right, x as usize, y as usize);
                    if m != 0 {
                        idx.push((c * CHUNK + k) as u32);
                        masks.push(m);
                    }
                }
                (idx, masks)
            })
            .collect();
        let (mut idx, mut masks) = (Vec::new(), Vec::new());
        for (i, m) in parts {
            idx.extend(i);
            masks.extend(m);
        }
        return Ok((idx, masks));
    }
    let (mut idx, mut masks) = (Vec::new(), Vec::new());
    let batch = opts.batch.max(1);
    for (c, (rows_l, rows_r)) in pl.chunks(batch).zip(pr.chunks(batch)).enumerate() {
        let got_l = left.fetch.map(|f| f(rows_l)).transpose()?;
        let got_r = right.fetch.map(|f| f(rows_r)).transpose()?;
        let (cl, cr) = (block_columns(left, &got_l, rows_l), block_columns(right, &got_r, rows_r));
        let found: Vec<(u32, u128)> = (0..rows_l.len())
            .into_par_iter()
            .map(|k| {
                let mut m = 0u128;
                for (f, (a, b)) in cl.iter().zip(&cr).enumerate() {
                    if block_value(a, k) != block_value(b, k) {
                        m |= 1 << f;
                    }
                }
                ((c * batch + k) as u32, m)
            })
            .filter(|x| x.1 != 0)
            .collect();
        for (i, m) in found {
            idx.push(i);
            masks.push(m);
        }
    }
    Ok((idx, masks))
}

/// 個人番号 held by more than one person: among the rows of both sides with a joinable key and a
/// 12-digit number, a number whose holders' keys, each mapped to the person's current code
/// through both sides' supersession lists, are not all one.
///
/// Nearly every number is held by one person, once on each side, and those two rows are a pair
/// of the join. So the numbers are searched once, not once per side: the left's numbers, plus the
/// right's except where the right row's pair on the left holds the same number (`covered`). A
/// number that then appears twice is a suspect; only the suspects' holders are collected and
/// checked.
fn mynumber_conflicts(
    left: &Side,
    right: &Side,
    joinable: &(impl Fn(u8) -> bool + Sync),
    sup_l: &Supersession,
    sup_r: &Supersession,
    covered: Vec<u8>,
    pool: &mut Pool,
) -> Vec<It> {
    let holds = |s: &Side, i: usize| joinable(s.status[i]) && s.mynumbers[i] < MYNUMBER_BAD;
    // The numbers held twice: among the left's, and the right's not covered by their pair.
    let take_l = |i: usize| holds(left, i);
    let take_r = |i: usize| covered[i] == 0 && holds(right, i);
    let suspects = sort::repeated(&[(left.mynumbers, &take_l), (right.mynumbers, &take_r)], pool);
    drop(covered);
    if suspects.is_empty() {
        return Vec::new();
    }
    // A bitmap of the suspects' low bits turns away nearly every row before a binary search.
    const FILTER_BITS: u32 = 20;
    let mut filter = vec![0u64; 1 << (FILTER_BITS - 6)];
    for &m in &suspects {
        let h = (m & ((1 << FILTER_BITS) - 1)) as usize;
        filter[h >> 6] |= 1 << (h & 63);
    }
    let suspect = |m: u64| {
        let h = (m & ((1 << FILTER_BITS) - 1)) as usize;
        filter[h >> 6] >> (h & 63) & 1 == 1 && suspects.binary_search(&m).is_ok()
    };
    // Every holder of a suspect number, grouped by number.
    let mut holders: Vec<(u64, u8, u32)> = Vec::new();
    for (s, side) in [(left, LEFT), (right, RIGHT)] {
        let rows = rows_where(s.rows(), |i| holds(s, i) && suspect(s.mynumbers[i]));
        holders.extend(rows.into_iter().map(|r| (s.mynumbers[r as usize], side, r)));
    }
    holders.par_sort_unstable();
    let canon = |k: u64| sup_l.get(k).or_else(|| sup_r.get(k)).unwrap_or(k);
    let key_of = |side: u8, row: u32| if side == LEFT { left.keys[row as usize] } else { right.keys[row as usize] };
    let mut out = Vec::new();
    let mut group = 0u32;
    for run in holders.chunk_by(|a, b| a.0 == b.0) {
        let cl: Vec<u64> = run.iter().filter(|h| h.1 == LEFT).map(|h| canon(key_of(h.1, h.2))).collect();
        let cr: Vec<u64> = run.iter().filter(|h| h.1 == RIGHT).map(|h| canon(key_of(h.1, h.2))).collect();
        let c0 = cl.first().or(cr.first()).copied().unwrap();
        if cl.iter().chain(&cr).all(|&c| c == c0) {
            continue;
        }
        let mut kind = 0;
        if cl.iter().any(|&c| c != cl[0]) {
            kind |= conflict::WITHIN_LEFT;
        }
        if cr.iter().any(|&c| c != cr[0]) {
            kind |= conflict::WITHIN_RIGHT;
        }
        if cl.iter().any(|&x| cr.iter().any(|&y| x != y)) {
            kind |= conflict::ACROSS;
        }
        for &(m, side, row) in run {
            out.push(It { mynumber: m, group, reason: kind, ..It::new(item::MYNUMBER_CONFLICT, side, row, key_of(side, row)) });
        }
        group += 1;
    }
    out
}

/// Parses a trimmed 住民票コード field: (value, reason). Length is checked before format, as
/// python-stdnum and [`Kind::explain_units`] do; the value is kept for checksum failures so that
/// lenient mode can join them.
#[inline(always)]
pub fn parse_key(v: &[u8]) -> (u64, u8) {
    if v.len() != Kind::Juminhyo.len() {
        return (0, Reason::Length as u8);
    }
    // The check digit from the digits as they are read (a multiply-add each), rather than from
    // the value (divisions): this runs for every row of every file.
    let mut digits = [0u8; 11];
    let mut x = 0u64;
    for (k, &c) in v.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return (0, Reason::Format as u8);
        }
        digits[k] = d;
        x = x * 10 + d as u64;
    }
    let ok = Kind::Juminhyo.check_digit_digits(&digits[..10]) == digits[10];
    (x, if ok { Reason::Ok as u8 } else { Reason::Checksum as u8 })
}

/// Parses a trimmed 個人番号 field: [`MYNUMBER_EMPTY`] for an empty one, [`MYNUMBER_BAD`] unless it
/// is exactly 12 ASCII digits.
#[inline(always)]
pub fn parse_mynumber(v: &[u8]) -> u64 {
    if v.is_empty() {
        return MYNUMBER_EMPTY;
    }
    if v.len() != Kind::MyNumber.len() {
        return MYNUMBER_BAD;
    }
    let mut x = 0u64;
    for &c in v {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return MYNUMBER_BAD;
        }
        x = x * 10 + d as u64;
    }
    x
}

/// Reason codes of integer keys (for sides given as integer columns).
pub fn key_status(keys: &[u64]) -> Vec<u8> {
    let mut out = vec![0u8; keys.len()];
    ids::explain_u64_many(Kind::Juminhyo, keys, &mut out);
    out
}

#[cfg(test)]
mod tests;
