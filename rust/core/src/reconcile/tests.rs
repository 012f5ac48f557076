//! Each result class on small hand-made sides, then a large random case against a plain model.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

fn code(i: u64) -> u64 {
    let base = 1_000_000_000 + i * 7919;
    Kind::Juminhyo.join(base, Kind::Juminhyo.check_digit_u64(base))
}

fn mn(i: u64) -> u64 {
    let base = 20_000_000_000 + i * 104_729;
    Kind::MyNumber.join(base, Kind::MyNumber.check_digit_u64(base))
}

/// A side held in memory: keys, 個人番号 and text fields per row.
#[derive(Clone, Default)]
struct Owned {
    keys: Vec<u64>,
    status: Vec<u8>,
    mns: Vec<u64>,
    cols: Vec<(Vec<u64>, Vec<u8>)>,
    sup_old: Vec<u64>,
    sup_new: Vec<u64>,
}

impl Owned {
    fn new(nf: usize) -> Owned {
        Owned { cols: vec![(vec![0], Vec::new()); nf], ..Default::default() }
    }

    fn row(mut self, key: u64, m: u64, fields: &[&str]) -> Owned {
        self.keys.push(key);
        self.status.push(Kind::Juminhyo.explain_u64(key) as u8);
        self.mns.push(m);
        assert_eq!(fields.len(), self.cols.len());
        for (c, f) in self.cols.iter_mut().zip(fields) {
            c.1.extend_from_slice(f.as_bytes());
            c.0.push(c.1.len() as u64);
        }
        self
    }

    fn bad(mut self) -> Owned {
        let nf = self.cols.len();
        self = self.row(0, MYNUMBER_EMPTY, &vec![""; nf]);
        *self.status.last_mut().unwrap() = BAD_ROW;
        self
    }

    fn superseded(mut self, old: u64, new: u64) -> Owned {
        self.sup_old.push(old);
        self.sup_new.push(new);
        self
    }

    fn side(&self) -> Side<'_> {
        let mut s = Side::new(&self.keys, &self.status, &self.mns, self.cols.iter().map(|(o, d)| Column::Var { offsets: o, data: d }).collect());
        s.superseded_old = &self.sup_old;
        s.superseded_new = &self.sup_new;
        s
    }
}

fn run(l: &Owned, r: &Owned) -> Report {
    let exact = reconcile(&l.side(), &r.side(), &Options::default()).unwrap();
    let fp = reconcile(&l.side(), &r.side(), &Options { fingerprint: true, ..Options::default() }).unwrap();
    assert_eq!(exact.items, fp.items, "fingerprint mode agrees with exact mode");
    assert_eq!((&exact.left_class, &exact.right_class), (&fp.left_class, &fp.right_class));
    exact
}

/// (class, left_row, right_row) of every finding, for compact assertions.
fn found(r: &Report) -> Vec<(u8, u32, u32)> {
    (0..r.items.len()).map(|i| (r.items.class[i], r.items.left_row[i], r.items.right_row[i])).collect()
}

#[test]
fn identical_sides_agree() {
    let mut s = Owned::new(2);
    for i in 0..100 {
        s = s.row(code(i), mn(i), &[&format!("name{i}"), "addr"]);
    }
    let r = run(&s, &s);
    assert!(r.items.is_empty());
    assert_eq!((r.pairs, r.same), (100, 100));
    assert!(r.left_class.iter().chain(&r.right_class).all(|&c| c == class::SAME));
    assert!(r.left_sorted && r.right_sorted);
}

#[test]
fn only_on_one_side() {
    let l = Owned::new(1).row(code(1), mn(1), &["a"]).row(code(2), mn(2), &["b"]);
    let r = Owned::new(1).row(code(3), mn(3), &["c"]).row(code(2), mn(2), &["b"]);
    let rep = run(&l, &r);
    assert_eq!(found(&rep), vec![(item::ONLY_LEFT, 0, NONE), (item::ONLY_RIGHT, NONE, 0)]);
    assert_eq!(rep.left_class, vec![class::ONLY, class::SAME]);
    assert_eq!(rep.right_class, vec![class::ONLY, class::SAME]);
    assert_eq!(rep.items.key, vec![code(1), code(3)]);
}

#[test]
fn differing_fields_have_masks_and_counts() {
    let l = Owned::new(3).row(code(1), mn(1), &["a", "x", "1"]).row(code(2), mn(2), &["b", "y", "2"]).row(code(3), mn(3), &["c", "z", "3"]);
    // Right in another order; row 2 differs in fields 0 and 2, row 1 in field 1 (a value vs empty).
    let r = Owned::new(3).row(code(3), mn(3), &["c", "z", "3"]).row(code(2), mn(2), &["B", "y", "22"]).row(code(1), mn(1), &["a", "", "1"]);
    let rep = run(&l, &r);
    assert_eq!(found(&rep), vec![(item::DIFFERENT, 0, 2), (item::DIFFERENT, 1, 1)]);
    assert_eq!(rep.items.mask, vec![0b010, 0b101]);
    assert_eq!(rep.items.side, vec![BOTH, BOTH]);
    assert_eq!(rep.field_counts, vec![1, 1, 1]);
    assert_eq!((rep.pairs, rep.same), (3, 1));
    assert_eq!(rep.left_class, vec![class::DIFFERENT, class::DIFFERENT, class::SAME]);
    assert!(!rep.right_sorted);
}

#[test]
fn duplicate_keys_are_listed_not_compared() {
    let l = Owned::new(1).row(code(1), mn(1), &["a"]).row(code(1), mn(1), &["a2"]).row(code(2), mn(2), &["b"]);
    let r = Owned::new(1).row(code(1), mn(1), &["zz"]).row(code(2), mn(2), &["b"]).row(code(2), mn(2), &["b"]);
    let rep = run(&l, &r);
    assert_eq!(
        found(&rep),
        vec![
            (item::DUPLICATE, 0, NONE),
            (item::DUPLICATE, 1, NONE),
            (item::PAIRED_WITH_DUPLICATE, NONE, 0),
            (item::PAIRED_WITH_DUPLICATE, 2, NONE),
            (item::DUPLICATE, NONE, 1),
            (item::DUPLICATE, NONE, 2),
        ]
    );
    assert_eq!(rep.items.group, vec![0, 0, 0, 1, 1, 1]);
    assert_eq!(rep.pairs, 0);
    assert_eq!(rep.left_class, vec![class::DUPLICATE, class::DUPLICATE, class::PAIRED_WITH_DUPLICATE]);
}

#[test]
fn invalid_keys_are_not_joined_and_lenient_mode_joins_checksum_failures() {
    let wrong = code(5) ^ 1; // last digit changed: a checksum failure
    assert_eq!(Kind::Juminhyo.explain_u64(wrong), Reason::Checksum);
    let l = Owned::new(1).row(wrong, mn(5), &["a"]).row(code(6), mn(6), &["b"]).row(123_456_789_012, MYNUMBER_EMPTY, &["c"]);
    let r = Owned::new(1).row(wrong, mn(5), &["a"]).row(code(6), mn(6), &["b"]);
    let rep = run(&l, &r);
    assert_eq!(found(&rep), vec![(item::INVALID, 0, NONE), (item::INVALID, 2, NONE), (item::INVALID, NONE, 0)]);
    assert_eq!(rep.items.reason, vec![Reason::Checksum as u8, Reason::Length as u8, Reason::Checksum as u8]);
    let opts = Options { strict: false, ..Options::default() };
    let rep = reconcile(&l.side(), &r.side(), &opts).unwrap();
    assert_eq!(found(&rep), vec![(item::INVALID, 2, NONE), (item::LENIENT_KEY, 0, NONE), (item::LENIENT_KEY, NONE, 0)]);
    assert_eq!(rep.pairs, 2);
}

#[test]
fn a_superseded_code_is_a_stale_copy_not_a_missing_person() {
    // The person now under code(2) used code(1) before; the left still has the old code.
    let l = Owned::new(1).row(code(1), mn(1), &["a"]).row(code(3), mn(3), &["c"]);
    let r = Owned::new(1).row(code(3), mn(3), &["c"]).row(code(2), mn(1), &["a"]).superseded(code(1), code(2));
    let rep = run(&l, &r);
    assert_eq!(found(&rep), vec![(item::SUPERSEDED, 0, 1)]);
    assert_eq!((rep.items.key[0], rep.items.other_key[0], rep.items.side[0]), (code(1), code(2), LEFT));
    assert_eq!(rep.left_class, vec![class::SUPERSEDED, class::SAME]);
    assert_eq!(rep.right_class, vec![class::SAME, class::SUPERSEDED]);
    // No 個人番号 conflict: both codes are one person.
    assert!(!rep.items.class.contains(&item::MYNUMBER_CONFLICT));
    // The same when the side holding the stale row carries the list, and mirrored.
    let l2 = l.clone().superseded(code(1), code(2));
    let r2 = Owned { sup_old: vec![], sup_new: vec![], ..r.clone() };
    let rep2 = run(&l2, &r2);
    assert_eq!(found(&rep2), vec![(item::SUPERSEDED, 0, 1)]);
    let rep3 = run(&r, &l);
    assert_eq!(found(&rep3), vec![(item::SUPERSEDED, 1, 0)]);
    assert_eq!(rep3.items.side, vec![RIGHT]);
    // A superseded code whose current code is not on the other side: only on one side.
    let r4 = Owned::new(1).row(code(3), mn(3), &["c"]).superseded(code(1), code(2));
    let rep4 = run(&l, &r4);
    assert_eq!(found(&rep4), vec![(item::ONLY_LEFT, 0, NONE)]);
    // Both the stale and the current row on the left: the stale one is listed, the current compared.
    let l5 = l.clone().row(code(2), mn(1), &["a"]);
    let rep5 = run(&l5, &r);
    assert_eq!(found(&rep5), vec![(item::SUPERSEDED, 0, 1)]);
    assert_eq!(rep5.right_class, vec![class::SAME, class::SAME]);
}

#[test]
fn one_mynumber_under_two_codes() {
    // Within the left (rows 0 and 1), and across (left row 2 and right row 1).
    let l = Owned::new(1).row(code(1), mn(1), &["a"]).row(code(2), mn(1), &["b"]).row(code(3), mn(3), &["c"]);
    let r = Owned::new(1).row(code(1), mn(1), &["a"]).row(code(4), mn(3), &["d"]).row(code(3), mn(5), &["c"]);
    let rep = run(&l, &r);
    let conflicts: Vec<(u8, u32, u32, u8, u32)> = (0..rep.items.len())
        .filter(|&i| rep.items.class[i] == item::MYNUMBER_CONFLICT)
        .map(|i| (rep.items.side[i], rep.items.left_row[i], rep.items.right_row[i], rep.items.reason[i], rep.items.group[i]))
        .collect();
    let (w, a) = (conflict::WITHIN_LEFT | conflict::ACROSS, conflict::ACROSS);
    assert_eq!(
        conflicts,
        vec![(LEFT, 0, NONE, w, 0), (LEFT, 1, NONE, w, 0), (RIGHT, NONE, 0, w, 0), (LEFT, 2, NONE, a, 1), (RIGHT, NONE, 1, a, 1)]
    );
    let g0 = rep.items.class.iter().position(|&c| c == item::MYNUMBER_CONFLICT).unwrap();
    assert_eq!(rep.items.mynumber[g0], mn(1));
    // Conflicts are findings beside the join: code(2) is still only on the left.
    assert!(found(&rep).contains(&(item::ONLY_LEFT, 1, NONE)));
}

#[test]
fn conflicts_found_through_the_compared_number_field_equal_those_looked_up() {
    // Field 1 is the 個人番号 as text; conflicts within, across, on differing and equal pairs.
    let t = |m: u64| if m == MYNUMBER_EMPTY { String::new() } else { m.to_string() };
    let rows_l = [(1, mn(1)), (2, mn(1)), (3, mn(3)), (5, mn(5)), (6, MYNUMBER_EMPTY), (7, mn(7))];
    let rows_r = [(1, mn(1)), (4, mn(3)), (3, mn(9)), (5, mn(5)), (6, mn(7)), (8, mn(8))];
    let (mut l, mut r) = (Owned::new(2), Owned::new(2));
    for &(k, m) in &rows_l {
        l = l.row(code(k), m, &["x", &t(m)]);
    }
    for &(k, m) in &rows_r {
        r = r.row(code(k), m, &["x", &t(m)]);
    }
    for fingerprint in [false, true] {
        let base = Options { fingerprint, ..Options::default() };
        let looked_up = reconcile(&l.side(), &r.side(), &base).unwrap();
        let through = reconcile(&l.side(), &r.side(), &Options { mynumber_field: Some(1), ..base.clone() }).unwrap();
        assert_eq!(looked_up.items, through.items);
        let groups: std::collections::HashSet<u64> =
            (0..through.items.len()).filter(|&i| through.items.class[i] == item::MYNUMBER_CONFLICT).map(|i| through.items.mynumber[i]).collect();
        assert_eq!(groups, [mn(1), mn(3), mn(7)].into_iter().collect());
    }
    assert!(reconcile(&l.side(), &r.side(), &Options { mynumber_field: Some(2), ..Options::default() }).is_err());
}

#[test]
fn invalid_mynumbers_are_reported_and_still_compared() {
    let bad = mn(1) ^ 1;
    let l = Owned::new(1).row(code(1), bad, &["a"]).row(code(2), MYNUMBER_BAD, &["b"]).row(code(3), MYNUMBER_EMPTY, &["c"]);
    let r = Owned::new(1).row(code(1), mn(1), &["a"]).row(code(2), mn(2), &["b"]).row(code(3), mn(3), &["c"]);
    let rep = run(&l, &r);
    assert_eq!(found(&rep), vec![(item::INVALID_MYNUMBER, 0, NONE), (item::INVALID_MYNUMBER, 1, NONE)]);
    assert_eq!(rep.items.reason, vec![Reason::Checksum as u8, Reason::Format as u8]);
    assert_eq!(rep.same, 3);
}

#[test]
fn bad_rows_are_listed_and_skipped() {
    let l = Owned::new(1).row(code(1), mn(1), &["a"]).bad().row(code(2), mn(2), &["b"]);
    let r = Owned::new(1).bad().row(code(1), mn(1), &["a"]).row(code(2), mn(2), &["b"]);
    let rep = run(&l, &r);
    assert_eq!(found(&rep), vec![(item::BAD_ROW, 1, NONE), (item::BAD_ROW, NONE, 0)]);
    assert_eq!(rep.left_class[1], class::BAD_ROW);
    assert_eq!(rep.same, 2);
}

#[test]
fn more_than_64_fields_use_the_high_mask_word() {
    let nf = 70;
    let vals: Vec<String> = (0..nf).map(|i| format!("v{i}")).collect();
    let refs: Vec<&str> = vals.iter().map(String::as_str).collect();
    let l = Owned::new(nf).row(code(1), mn(1), &refs);
    let mut changed = refs.clone();
    changed[3] = "x";
    changed[66] = "y";
    let r = Owned::new(nf).row(code(1), mn(1), &changed);
    let rep = run(&l, &r);
    assert_eq!((rep.items.mask[0], rep.items.mask_hi[0]), (1 << 3, 1 << 2));
    assert_eq!(rep.field_counts.iter().sum::<u64>(), 2);
    assert_eq!((rep.field_counts[3], rep.field_counts[66]), (1, 1));
    let big = Owned::new(129).row(code(1), mn(1), &vec!["a"; 129]);
    assert!(reconcile(&big.side(), &big.side(), &Options::default()).is_err());
}

#[test]
fn inputs_that_do_not_fit_are_errors() {
    let l = Owned::new(1).row(code(1), mn(1), &["a"]);
    let r = Owned::new(2).row(code(1), mn(1), &["a", "b"]);
    assert!(matches!(reconcile(&l.side(), &r.side(), &Options::default()), Err(ReconcileError::Input(_))));
    let mut s = l.side();
    s.status = &[];
    assert!(reconcile(&s, &l.side(), &Options::default()).is_err());
    let mut s = l.side();
    s.fields = vec![Column::Fixed { data: b"abc", width: 4, stride: 4, offset: 0 }];
    assert!(reconcile(&s, &l.side(), &Options::default()).is_err());
    let e = Owned::new(1);
    let rep = reconcile(&e.side(), &e.side(), &Options::default()).unwrap();
    assert!(rep.items.is_empty() && rep.pairs == 0);
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Big enough to cross every parallel threshold; compared with a plain hash-map model.
#[test]
fn large_random_sides_match_a_plain_model() {
    let n = 150_000u64;
    let mut l = Owned::new(2);
    let mut r = Owned::new(2);
    let mut rrows: Vec<(u64, u64, String, String)> = Vec::new();
    for i in 0..n {
        let x = mix(i);
        let (k, m) = (code(i), mn(i));
        let (a, b) = (format!("n{}", x % 1000), format!("addr{}", i % 77));
        match x % 100 {
            0 => l = l.row(k, m, &[&a, &b]),                                      // only left
            1 => rrows.push((k, m, a, b)),                                        // only right
            2 => {
                l = l.row(k, m, &[&a, &b]);
                rrows.push((k, m, a.clone() + "x", b));                           // field 0 differs
            }
            3 => {
                l = l.row(k, m, &[&a, &b]).row(k, m, &[&a, &b]);                  // duplicate left
                rrows.push((k, m, a, b));
            }
            _ => {
                l = l.row(k, m, &[&a, &b]);
                rrows.push((k, m, a, b));
            }
        }
    }
    // The right side in a shuffled order.
    rrows.sort_by_key(|row| mix(row.0));
    for (k, m, a, b) in &rrows {
        r = r.row(*k, *m, &[a, b]);
    }
    // Fields of the right side read through a fetch hook, in batches of 100 rows.
    let fetched = AtomicUsize::new(0);
    let hook = |rows: &[u32]| -> Result<VarColumns, ReconcileError> {
        assert!(rows.len() <= 100);
        fetched.fetch_add(rows.len(), Ordering::Relaxed);
        let side = r.side();
        Ok(side
            .fields
            .iter()
            .map(|c| {
                let (mut o, mut d) = (vec![0u64], Vec::new());
                for &row in rows {
                    d.extend_from_slice(c.get(row as usize));
                    o.push(d.len() as u64);
                }
                (o, d)
            })
            .collect())
    };
    let mut rs = r.side();
    rs.fetch = Some(&hook);
    let opts = Options { fingerprint: true, batch: 100, ..Options::default() };
    let rep = reconcile(&l.side(), &rs, &opts).unwrap();
    assert_eq!(fetched.load(Ordering::Relaxed) as u64, rep.compared_bytes);
    let exact = reconcile(&l.side(), &r.side(), &Options::default()).unwrap();
    assert_eq!(rep.items, exact.items);
    assert!(rep.left_sorted && !rep.right_sorted);

    // The model.
    let mut lk: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, &k) in l.keys.iter().enumerate() {
        lk.entry(k).or_default().push(i);
    }
    let mut rk: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, &k) in r.keys.iter().enumerate() {
        rk.entry(k).or_default().push(i);
    }
    let val = |o: &Owned, c: usize, i: usize| {
        let (off, d) = &o.cols[c];
        d[off[i] as usize..off[i + 1] as usize].to_vec()
    };
    let mut want = HashMap::new();
    for (&k, ls) in &lk {
        match rk.get(&k) {
            None => *want.entry("only_left").or_insert(0) += 1,
            Some(rs) if ls.len() == 1 && rs.len() == 1 => {
                let (a, b) = (ls[0], rs[0]);
                if (0..2).any(|c| val(&l, c, a) != val(&r, c, b)) {
                    *want.entry("different").or_insert(0) += 1;
                }
            }
            Some(_) => *want.entry("dup_keys").or_insert(0) += 1,
        }
    }
    let only_right = rk.keys().filter(|k| !lk.contains_key(k)).count();
    let count = |c: u8| rep.items.class.iter().filter(|&&x| x == c).count();
    assert_eq!(count(item::ONLY_LEFT), want["only_left"]);
    assert_eq!(count(item::ONLY_RIGHT), only_right);
    assert_eq!(count(item::DIFFERENT), want["different"]);
    assert_eq!(rep.items.group.iter().zip(&rep.items.class).filter(|(_, &c)| c == item::DUPLICATE).map(|(g, _)| g).collect::<std::collections::HashSet<_>>().len(), want["dup_keys"]);
    assert_eq!(rep.field_counts, vec![want["different"] as u64, 0]);
    // Findings come in key order within a kind.
    let diff_keys: Vec<u64> = (0..rep.items.len()).filter(|&i| rep.items.class[i] == item::DIFFERENT).map(|i| rep.items.key[i]).collect();
    assert!(diff_keys.windows(2).all(|w| w[0] < w[1]));
    // Every row has exactly one class, consistent with the counts.
    let same_rows = rep.left_class.iter().filter(|&&c| c == class::SAME).count() as u64;
    assert_eq!(same_rows, rep.same);
}

#[test]
fn key_and_mynumber_parsing() {
    for s in ["", "1", "123456789012", "1234567890x", "12345678901", "00000000000", "１２３"] {
        let (_, st) = parse_key(s.as_bytes());
        assert_eq!(st, Kind::Juminhyo.explain_units(s.as_bytes()) as u8, "{s}");
    }
    let c = code(9).to_string();
    assert_eq!(parse_key(format!("{c:0>11}").as_bytes()), (code(9), 0));
    // Every 11-digit text: the status the value itself gives.
    let mut z = 12345u64;
    for _ in 0..200_000 {
        z = z.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let v = (z >> 11) % 100_000_000_000;
        let text = format!("{v:011}");
        assert_eq!(parse_key(text.as_bytes()), (v, Kind::Juminhyo.explain_u64(v) as u8), "{text}");
    }
    assert_eq!(parse_mynumber(b""), MYNUMBER_EMPTY);
    assert_eq!(parse_mynumber(b"12345678901"), MYNUMBER_BAD);
    assert_eq!(parse_mynumber(b"12345678901x"), MYNUMBER_BAD);
    assert_eq!(parse_mynumber(b"123456789018"), 123_456_789_018);
    assert_eq!(key_status(&[code(1), code(1) ^ 1, 10u64.pow(11)]), vec![0, 3, 1]);
}

/// A record as the Python layer stores it: an array-like MessagePack value of strings.
fn record(values: &[&str]) -> Vec<u8> {
    let mut out = vec![0xdc, 0, values.len() as u8];
    for v in values {
        assert!(v.len() < 256);
        out.extend([0xd9, v.len() as u8]);
        out.extend_from_slice(v.as_bytes());
    }
    out
}

#[test]
fn the_store_as_a_side_with_its_superseded_codes() {
    use crate::store::{LoadOptions, NewPerson, OpenOptions, Store, Update, WriteMeta};
    use source_store::{StorePositions, StoreSide};

    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path(), "131075", &OpenOptions::default()).unwrap();
    let meta = WriteMeta { operator: "op", terminal: "t", timestamp_us: 1, event: 0 };
    let recs: Vec<Vec<u8>> = (0..3u64).map(|i| record(&[&format!("name{i}"), &code(i).to_string(), &mn(i).to_string()])).collect();
    let persons: Vec<NewPerson> = (0..3u64)
        .map(|i| NewPerson {
            code: code(i),
            mynumber: mn(i),
            name_key: b"k",
            birth_key: b"19800101",
            addr_key: b"a",
            sex: 1,
            flags: 0,
            payload: &recs[i as usize],
            valid_from: *b"20000101",
            notified: *b"20000101",
        })
        .collect();
    store.load(&persons, &meta, &LoadOptions::default()).unwrap();
    // Person 2 gets a new 住民票コード.
    let new_rec = record(&["name1", &code(10).to_string(), &mn(1).to_string()]);
    let up = Update {
        person_id: 2,
        code: code(10),
        mynumber: mn(1),
        name_key: b"k",
        birth_key: b"19800101",
        addr_key: b"a",
        sex: 1,
        flags: 0,
        payload: &new_rec,
        valid_from: *b"20200101",
        notified: *b"20200101",
        event: 1,
        expect_seq: 0,
        override_prohibited: false,
    };
    store.apply(&[up], &meta).unwrap();
    let pos = StorePositions { fields: vec![1, 0, 2], key: 0, mynumber: Some(2), compared: vec![1, 2] };
    let ss = StoreSide::read(&store, &pos).unwrap();
    assert_eq!(ss.person_ids, vec![1, 2, 3]);
    assert_eq!(ss.keys, vec![code(0), code(10), code(2)]);
    assert_eq!(ss.mynumbers, vec![mn(0), mn(1), mn(2)]);
    assert_eq!((ss.superseded_old.clone(), ss.superseded_new.clone()), (vec![code(1)], vec![code(10)]));
    assert_eq!(ss.side().fields[0].get(1), b"name1");
    // A file still carrying the old code: a stale copy, and no 個人番号 conflict.
    let file = Owned::new(2)
        .row(code(0), mn(0), &["name0", &mn(0).to_string()])
        .row(code(1), mn(1), &["name1", &mn(1).to_string()])
        .row(code(2), mn(2), &["name2", &mn(2).to_string()]);
    let rep = reconcile(&ss.side(), &file.side(), &Options::default()).unwrap();
    assert_eq!(found(&rep), vec![(item::SUPERSEDED, 1, 1)]);
    assert_eq!((rep.items.key[0], rep.items.other_key[0], rep.items.side[0]), (code(1), code(10), RIGHT));
    let bad = StorePositions { fields: vec![1, 1], key: 0, mynumber: None, compared: vec![] };
    assert!(StoreSide::read(&store, &bad).is_err());
}
