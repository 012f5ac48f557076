//! Events through `apply_with`: new persons in a batch of updates, commit timestamps that never go
//! backwards (and `seq_at` over them), and proposals decided once, atomically with their change.

use jukistore_core::ids::{self, Kind};
use jukistore_core::store::entry::NO_MYNUMBER;
use jukistore_core::store::{Lookup, OpenOptions, Refusal, StepWrite, Store, StoreError, Update, WriteMeta};

fn meta(ts: i64) -> WriteMeta<'static> {
    WriteMeta { operator: "op1", terminal: "t1", timestamp_us: ts, event: 0 }
}

fn numbers(start: u64, n: usize) -> (Vec<u64>, Vec<u64>) {
    let mut codes = vec![0; n];
    let mut mns = vec![0; n];
    ids::generate(Kind::Juminhyo, start, n, 7, &mut codes).unwrap();
    ids::generate(Kind::MyNumber, start, n, 7, &mut mns).unwrap();
    (codes, mns)
}

fn new_person(code: u64, mynumber: u64, payload: &'static [u8]) -> Update<'static> {
    Update {
        person_id: 0,
        code,
        mynumber,
        name_key: "ヤマダタロウ".as_bytes(),
        birth_key: b"19800301",
        addr_key: "東京都墨田区".as_bytes(),
        sex: 1,
        flags: 0,
        payload,
        valid_from: *b"20200401",
        notified: *b"20200402",
        event: 1,
        expect_seq: 0,
        override_prohibited: false,
    }
}

#[test]
fn new_persons_and_updates_in_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path(), "131075", &OpenOptions::default()).unwrap();
    let (codes, mns) = numbers(0, 4);
    let a = s.apply_with(&[new_person(codes[0], mns[0], b"a"), new_person(codes[1], NO_MYNUMBER, b"b")], &meta(10), None).unwrap();
    assert_eq!(a.iter().map(|x| (x.seq, x.person_id)).collect::<Vec<_>>(), vec![(1, 1), (2, 2)]);
    // An update of person 1 and a new person together; then a batch whose new person reuses a
    // number fails whole, naming its row.
    let mut up = new_person(codes[0], mns[0], b"a2");
    up.person_id = 1;
    up.expect_seq = 1;
    let a = s.apply_with(&[up.clone(), new_person(codes[2], mns[2], b"c")], &meta(20), None).unwrap();
    assert_eq!(a.iter().map(|x| (x.seq, x.person_id)).collect::<Vec<_>>(), vec![(3, 1), (4, 3)]);
    let mut up2 = up.clone();
    up2.expect_seq = 3;
    match s.apply_with(&[up2, new_person(codes[3], mns[0], b"d")], &meta(30), None) {
        Err(StoreError::Duplicate { row: 1, field: "mynumber", .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(s.last_seq().unwrap(), 4);
    assert!(s.get(Lookup::Code, codes[3]).unwrap().is_none());
    assert_eq!(s.get(Lookup::PersonId, 1).unwrap().unwrap().payload, b"a2");
    // A new person may not claim an expected version.
    let mut bad = new_person(codes[3], mns[3], b"d");
    bad.expect_seq = 5;
    assert!(matches!(s.apply_with(&[bad], &meta(40), None), Err(StoreError::BadQuery(_))));
    // Person ids continue after those given out by apply.
    let d = s.apply_with(&[new_person(codes[3], mns[3], b"d")], &meta(40), None).unwrap();
    assert_eq!(d[0].person_id, 4);
    assert!(s.verify().unwrap().is_clean(), "{:?}", s.verify().unwrap().problems);
}

#[test]
fn commit_times_never_go_backwards_and_seq_at_finds_them() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path(), "131075", &OpenOptions::default()).unwrap();
    assert_eq!(s.seq_at(i64::MAX).unwrap(), 0);
    let (codes, mns) = numbers(100, 6);
    // Clocks: 100, 200, 150 (behind: recorded as 200), 300, 300, 400.
    for (i, ts) in [100, 200, 150, 300, 300, 400].into_iter().enumerate() {
        s.apply_with(&[new_person(codes[i], mns[i], b"x")], &meta(ts), None).unwrap();
    }
    let ts: Vec<i64> = s.changes(0, 10).unwrap().iter().map(|c| c.timestamp_us).collect();
    assert_eq!(ts, vec![100, 200, 200, 300, 300, 400]);
    for (t, want) in [(99, 0), (100, 1), (199, 1), (200, 3), (299, 3), (300, 5), (399, 5), (400, 6), (i64::MAX, 6)] {
        assert_eq!(s.seq_at(t).unwrap(), want, "at {t}");
    }
}

#[test]
fn proposals_are_decided_once_and_with_their_change() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path(), "131075", &OpenOptions::default()).unwrap();
    let (codes, mns) = numbers(200, 1);
    s.apply_with(&[new_person(codes[0], mns[0], b"v1")], &meta(1), None).unwrap();
    assert_eq!(s.propose(b"fix name").unwrap(), 1);
    assert_eq!(s.propose(b"fix birth").unwrap(), 2);
    // Approval of 1 together with its correction.
    let mut fix = new_person(codes[0], mns[0], b"v2");
    fix.person_id = 1;
    fix.expect_seq = 1;
    let a = s.apply_with(&[fix.clone()], &meta(2), Some(StepWrite { id: 1, step: 1, value: b"approved" })).unwrap();
    assert_eq!(a[0].seq, 2);
    let steps = s.proposal(1).unwrap();
    assert_eq!(steps.iter().map(|p| (p.step, p.seq, p.value.as_slice())).collect::<Vec<_>>(),
               vec![(0, 0, &b"fix name"[..]), (1, 2, &b"approved"[..])]);
    // A second decision of the same step loses, and its correction is not written.
    let mut again = fix.clone();
    again.expect_seq = 2;
    match s.apply_with(&[again], &meta(3), Some(StepWrite { id: 1, step: 1, value: b"approved too" })) {
        Err(StoreError::Refused { refusal: Refusal::ProposalDecided { id: 1 }, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(s.last_seq().unwrap(), 2);
    // A stale correction fails and leaves the proposal undecided.
    match s.apply_with(&[fix], &meta(3), Some(StepWrite { id: 2, step: 1, value: b"approved" })) {
        Err(StoreError::Refused { refusal: Refusal::Conflict { expected: 1, actual: 2 }, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(s.proposal(2).unwrap().len(), 1);
    s.proposal_step(&StepWrite { id: 2, step: 1, value: b"rejected" }).unwrap();
    assert!(matches!(s.proposal_step(&StepWrite { id: 9, step: 1, value: b"x" }),
                     Err(StoreError::Refused { refusal: Refusal::NoSuchProposal { id: 9 }, .. })));
    assert!(matches!(s.proposal_step(&StepWrite { id: 2, step: 3, value: b"x" }),
                     Err(StoreError::Refused { refusal: Refusal::NoSuchProposal { id: 2 }, .. })));
    let all = s.proposals(0, 10).unwrap();
    assert_eq!(all.iter().map(|p| (p.id, p.step)).collect::<Vec<_>>(), vec![(1, 0), (1, 1), (2, 0), (2, 1)]);
    let one = s.proposals(0, 1).unwrap();
    assert_eq!(one.iter().map(|p| (p.id, p.step)).collect::<Vec<_>>(), vec![(1, 0), (1, 1)]);
    assert_eq!(s.proposals(1, 10).unwrap().len(), 2);
    assert!(s.proposal(7).unwrap().is_empty());
    // Ids are never reused.
    assert_eq!(s.propose(b"third").unwrap(), 3);
}

#[test]
fn patches_set_items_by_position_and_keep_keys() {
    use jukistore_core::store::{FlagRule, Patch};
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path(), "131075", &OpenOptions::default()).unwrap();
    let (codes, mns) = numbers(300, 3);
    // Records: MessagePack arrays of three strings.
    let rec = |a: &str, b: &str, c: &str| -> Vec<u8> {
        let mut v = vec![0x93];
        for x in [a, b, c] {
            v.push(0xa0 | x.len() as u8);
            v.extend_from_slice(x.as_bytes());
        }
        v
    };
    let r1 = rec("a", "b", "c");
    let r2 = rec("d", "e", "f");
    let mut u1 = new_person(codes[0], mns[0], b"");
    u1.payload = &r1;
    let mut u2 = new_person(codes[1], mns[1], b"");
    u2.payload = &r2;
    s.apply_with(&[u1, u2], &meta(1), None).unwrap();
    let patch = |pid: u64, v: &'static [u8]| Patch {
        person_id: pid,
        expect_seq: pid,
        valid_from: *b"20240101",
        notified: *b"00000000",
        fields: vec![(1, v), (2, b"z")],
        code: None,
        mynumber: None,
        name_key: None,
        birth_key: None,
        addr_key: Some("新住所".as_bytes()),
        sex: None,
    };
    let seqs = s.apply_patches(&[patch(1, b"B"), patch(2, b"E")], 11, &[1], FlagRule::default(), &meta(2)).unwrap();
    assert_eq!(seqs, vec![3, 4]);
    assert_eq!(s.get(Lookup::PersonId, 1).unwrap().unwrap().payload, rec("a", "B", "z"));
    assert_eq!(s.history(2).unwrap()[1].payload, rec("d", "E", "z"));
    assert_eq!(s.history(2).unwrap()[1].event, 11);
    // The name key stayed: search by it still finds both.
    assert_eq!(s.search(Some("ヤマダタロウ".as_bytes()), Some(b"19800301"), None, None, 10).unwrap().len(), 2);
    // No change at the must position: refused, nothing written.
    let mut p = patch(1, b"B");
    p.expect_seq = 3;
    match s.apply_patches(&[p.clone()], 11, &[1], FlagRule::default(), &meta(3)) {
        Err(StoreError::Refused { row: 0, refusal: Refusal::NoChange }) => {}
        other => panic!("{other:?}"),
    }
    // A stale version, and a number already used, fail the batch whole.
    let mut q = patch(2, b"Q");
    q.expect_seq = 2;
    assert!(matches!(s.apply_patches(&[q], 11, &[1], FlagRule::default(), &meta(3)),
                     Err(StoreError::Refused { refusal: Refusal::Conflict { .. }, .. })));
    let mut q = patch(2, b"Q");
    q.expect_seq = 4;
    q.code = Some(codes[0]);
    assert!(matches!(s.apply_patches(&[q], 41, &[], FlagRule::default(), &meta(3)), Err(StoreError::Duplicate { row: 0, .. })));
    assert_eq!(s.last_seq().unwrap(), 4);
    p.fields = vec![(2, b"y"), (1, b"x")];
    assert!(matches!(s.apply_patches(&[p], 11, &[], FlagRule::default(), &meta(3)), Err(StoreError::BadQuery(_))));
    // The flag rule is checked on the entry written over, and applied to it.
    let refused = |r: Result<Vec<u64>, StoreError>| match r {
        Err(StoreError::Refused { row: 0, refusal }) => refusal,
        other => panic!("{other:?}"),
    };
    let mut r = patch(1, b"R");
    r.expect_seq = 3;
    let lock = FlagRule { set: 2, ..Default::default() };
    assert_eq!(s.apply_patches(&[r.clone()], 51, &[], lock, &meta(3)).unwrap(), vec![5]);
    r.expect_seq = 5;
    assert_eq!(refused(s.apply_patches(&[r.clone()], 11, &[], FlagRule::default(), &meta(3))), Refusal::UpdateProhibited);
    let unlock = FlagRule { clear: 2, unlock: true, ..Default::default() };
    assert_eq!(s.apply_patches(&[r.clone()], 52, &[], unlock, &meta(3)).unwrap(), vec![6]);
    r.expect_seq = 6;
    assert_eq!(refused(s.apply_patches(&[r.clone()], 52, &[], unlock, &meta(3))), Refusal::NotProhibited);
    let remove = FlagRule { set: 1, refuse_removed: true, ..Default::default() };
    assert_eq!(s.apply_patches(&[r.clone()], 61, &[], remove, &meta(3)).unwrap(), vec![7]);
    r.expect_seq = 0;
    assert_eq!(refused(s.apply_patches(&[r], 61, &[], remove, &meta(3))), Refusal::PersonRemoved);
    assert_eq!(s.get(Lookup::PersonId, 1).unwrap().unwrap().flags, 1);
    assert_eq!(s.history(1).unwrap().iter().map(|v| v.flags).collect::<Vec<_>>(), vec![0, 0, 2, 0, 1]);
    assert!(s.verify().unwrap().is_clean());
}

#[test]
fn batch_as_of_columns_agree_with_single_lookups_on_both_paths() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path(), "131075", &OpenOptions::default()).unwrap();
    let (codes, mns) = numbers(500, 40);
    let news: Vec<Update> = (0..40).map(|i| new_person(codes[i], mns[i], b"v0")).collect();
    s.apply_with(&news, &meta(1), None).unwrap();
    let dates: [&[u8; 8]; 4] = [b"20050101", b"20100101", b"20000101", b"20100101"];
    for (k, d) in dates.iter().enumerate() {
        let ups: Vec<Update> = (1..=40u64)
            .filter(|p| p % (k as u64 + 2) == 0)
            .map(|p| {
                let mut u = new_person(codes[p as usize - 1], mns[p as usize - 1], b"vk");
                u.person_id = p;
                u.valid_from = **d;
                u
            })
            .collect();
        s.apply_with(&ups, &meta(2), None).unwrap();
    }
    let last = s.last_seq().unwrap();
    for n in [1000usize, 40_000] {
        let pids: Vec<u64> = (0..n as u64).map(|i| (i * 7919) % 42 + 1).collect(); // 41, 42 unknown
        let ds: Vec<[u8; 8]> = (0..n).map(|i| *[b"19990101", b"20000401", b"20070707", b"20100101", b"20991231"][i % 5]).collect();
        for known in [None, Some(last - 10)] {
            let c = s.as_of_columns(&pids, &ds, known).unwrap();
            let one = s.as_of_many(&pids, &ds, known).unwrap();
            assert_eq!(c.found, one.iter().map(|v| v.is_some()).collect::<Vec<_>>());
            assert_eq!(c.seqs, one.iter().map(|v| v.as_ref().map_or(0, |v| v.seq)).collect::<Vec<_>>());
            for (i, v) in one.iter().enumerate() {
                let p = &c.data[c.offsets[i] as usize..c.offsets[i + 1] as usize];
                assert_eq!(p, v.as_ref().map_or(&[][..], |v| &v.payload[..]));
            }
        }
    }
}
