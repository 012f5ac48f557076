//! Store behaviour through the public API: loads are all-or-nothing, numbers are unique across
//! all time, reads find what was written, verify finds corruption, the map grows.

use jukistore_core::ids::{self, Kind};
use jukistore_core::store::entry::NO_MYNUMBER;
use jukistore_core::store::{unsynced_writes, LoadOptions, Lookup, NewPerson, OpenOptions, Store, StoreError, WriteMeta};

fn meta() -> WriteMeta<'static> {
    WriteMeta { operator: "op1", terminal: "t1", timestamp_us: 1_700_000_000_000_000, event: 1 }
}

struct Batch {
    codes: Vec<u64>,
    mns: Vec<u64>,
    names: Vec<Vec<u8>>,
    payloads: Vec<Vec<u8>>,
}

fn batch(start: u64, n: usize) -> Batch {
    let mut codes = vec![0; n];
    let mut mns = vec![0; n];
    ids::generate(Kind::Juminhyo, start, n, 1, &mut codes).unwrap();
    ids::generate(Kind::MyNumber, start, n, 1, &mut mns).unwrap();
    let names = (0..n).map(|i| format!("ヤマダ{}", (start as usize + i) % 50).into_bytes()).collect();
    let payloads = (0..n).map(|i| format!("payload-{}", start as usize + i).into_bytes()).collect();
    Batch { codes, mns, names, payloads }
}

fn persons(b: &Batch) -> Vec<NewPerson<'_>> {
    (0..b.codes.len())
        .map(|i| NewPerson {
            code: b.codes[i],
            mynumber: b.mns[i],
            name_key: &b.names[i],
            birth_key: b"19800301",
            addr_key: "東京都墨田区吾妻橋".as_bytes(),
            sex: (i % 2 + 1) as u8,
            flags: 0,
            payload: &b.payloads[i],
            valid_from: *b"20000401",
            notified: *b"20000402",
        })
        .collect()
}

#[test]
fn load_get_search_verify() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path(), "131075", &OpenOptions::default()).unwrap();
    let b = batch(0, 1000);
    let r = s.load(&persons(&b), &meta(), &LoadOptions::default()).unwrap();
    assert_eq!((r.first_person_id, r.first_seq, r.count), (1, 1, 1000));
    let f = s.get(Lookup::Code, b.codes[10]).unwrap().unwrap();
    assert_eq!(f.person_id, 11);
    assert_eq!(f.payload, b.payloads[10]);
    let f = s.get(Lookup::MyNumber, b.mns[20]).unwrap().unwrap();
    assert_eq!(f.person_id, 21);
    assert!(s.get(Lookup::Code, 12345).unwrap().is_none());
    let gm = s.get_many(Lookup::Code, &[b.codes[5], 7, b.codes[999]]).unwrap();
    assert_eq!(gm.found, vec![true, false, true]);
    assert_eq!(&gm.data[gm.offsets[2] as usize..gm.offsets[3] as usize], &b.payloads[999][..]);
    let hits = s.search(Some("ヤマダ3".as_bytes()), Some(b"19800301"), None, None, 100).unwrap();
    assert_eq!(hits.len(), 20);
    let hits = s.search(Some("ヤマダ3".as_bytes()), None, Some("東京都墨田区".as_bytes()), Some(2), 100).unwrap();
    assert!(hits.iter().all(|h| (h.person_id - 1) % 2 == 1));
    assert!(matches!(s.search(Some(b"x"), None, None, None, 10), Err(StoreError::BadQuery(_))));
    let rep = s.verify().unwrap();
    assert!(rep.is_clean(), "{:?}", rep.problems);
    assert_eq!(rep.persons, 1000);
}

#[test]
fn failing_batch_writes_nothing_and_numbers_stay_unique() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path(), "131075", &OpenOptions::default()).unwrap();
    let b = batch(0, 100);
    s.load(&persons(&b), &meta(), &LoadOptions::default()).unwrap();
    // A batch reusing an existing code fails whole, naming the row.
    let mut b2 = batch(100, 50);
    b2.codes[30] = b.codes[3];
    match s.load(&persons(&b2), &meta(), &LoadOptions::default()) {
        Err(StoreError::Duplicate { row: 30, field: "juminhyo_code", .. }) => {}
        other => panic!("{other:?}"),
    }
    // A duplicate within one batch names the later row.
    let mut b3 = batch(100, 50);
    b3.mns[40] = b3.mns[7];
    match s.load(&persons(&b3), &meta(), &LoadOptions::default()) {
        Err(StoreError::Duplicate { row: 40, field: "mynumber", .. }) => {}
        other => panic!("{other:?}"),
    }
    // A bad check digit fails the batch before anything is written.
    let mut b4 = batch(100, 50);
    b4.mns[12] += 1;
    match s.load(&persons(&b4), &meta(), &LoadOptions::default()) {
        Err(StoreError::Invalid { row: 12, field: "mynumber", reason: "checksum" }) => {}
        other => panic!("{other:?}"),
    }
    let stats: std::collections::HashMap<_, _> = s.stats().unwrap().into_iter().collect();
    assert_eq!(stats["persons"], 100);
    assert_eq!(stats["by_code"], 100);
    assert!(s.get(Lookup::Code, b2.codes[0]).unwrap().is_none());
    assert!(s.verify().unwrap().is_clean());
    // Lenient 住民票コード mode accepts a checksum mismatch and reports it.
    let mut b5 = batch(200, 10);
    b5.codes[4] = if b5.codes[4] % 10 == 9 { b5.codes[4] - 1 } else { b5.codes[4] + 1 };
    assert!(s.load(&persons(&b5), &meta(), &LoadOptions::default()).is_err());
    let r = s.load(&persons(&b5), &meta(), &LoadOptions { juminhyo_strict: false, ..LoadOptions::default() }).unwrap();
    assert_eq!(r.lenient_rows, vec![4]);
    let _ = NO_MYNUMBER;
}

#[test]
fn map_grows_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path(), "131075", &OpenOptions { readonly: false, map_size: 1 << 20, exclusive: false }).unwrap();
    let before = s.map_size();
    for k in 0..10 {
        let b = batch(k * 2000, 2000);
        s.load(&persons(&b), &meta(), &LoadOptions::default()).unwrap();
    }
    assert!(s.map_size() > before);
    assert_eq!(s.verify().unwrap().persons, 20_000);
    let big: Vec<u64> = batch(0, 20_000).codes;
    let gm = s.get_many(Lookup::Code, &big).unwrap();
    assert!(gm.found.iter().all(|&f| f));
    assert_eq!(gm.person_ids[19_999], 20_000);
}

#[test]
fn reopening_while_another_thread_drops_the_last_handle_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::create(dir.path(), "131075", &OpenOptions::default()).unwrap());
    for _ in 0..300 {
        let s = Store::open(dir.path(), &OpenOptions::default()).unwrap();
        // A get keeps a read transaction, so the drop below also stops a thread: a longer window.
        assert!(s.get(Lookup::PersonId, 1).unwrap().is_none());
        let t = std::thread::spawn(move || drop(s));
        let again = Store::open(dir.path(), &OpenOptions::default());
        t.join().unwrap();
        assert!(again.is_ok(), "{:?}", again.err());
    }
}

#[test]
fn same_directory_same_handle_and_readonly_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let a = Store::create(dir.path(), "131075", &OpenOptions::default()).unwrap();
    let b = Store::open(dir.path(), &OpenOptions::default()).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    drop(a);
    drop(b);
    let r = Store::open(dir.path(), &OpenOptions { readonly: true, ..Default::default() }).unwrap();
    let bt = batch(0, 3);
    assert!(matches!(r.load(&persons(&bt), &meta(), &LoadOptions::default()), Err(StoreError::ReadOnly)));
    assert!(matches!(Store::create(dir.path(), "131075", &OpenOptions::default()), Err(StoreError::Exists(_))));
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(Store::open(empty.path(), &OpenOptions::default()), Err(StoreError::NotAStore(_))));
}

use jukistore_core::store::{Refusal, Update};

fn update_of(s: &Store, pid: u64, valid_from: &[u8; 8], payload: &'static [u8]) -> Update<'static> {
    let cur = s.get(Lookup::PersonId, pid).unwrap().unwrap();
    Update {
        person_id: pid,
        code: cur.code,
        mynumber: cur.mynumber,
        name_key: "ヤマダ1".as_bytes(),
        birth_key: b"19800301",
        addr_key: "東京都墨田区向島".as_bytes(),
        sex: 1,
        flags: 0,
        payload,
        valid_from: *valid_from,
        notified: *valid_from,
        event: 3,
        expect_seq: cur.seq,
        override_prohibited: false,
    }
}

#[test]
fn history_as_of_as_known_and_feed() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path(), "131075", &OpenOptions::default()).unwrap();
    let b = batch(0, 10);
    s.load(&persons(&b), &meta(), &LoadOptions::default()).unwrap();
    // Person 2 moves within the ward on 2005-06-01 (seq 11), then a correction dated 2000-04-01
    // replaces the loaded version for its own period (seq 12).
    let seqs = s.apply(&[update_of(&s, 2, b"20050601", b"moved")], &meta()).unwrap();
    assert_eq!(seqs, vec![11]);
    let seqs = s.apply(&[update_of(&s, 2, b"20000401", b"corrected")], &meta()).unwrap();
    assert_eq!(seqs, vec![12]);
    let h = s.history(2).unwrap();
    assert_eq!(h.iter().map(|v| v.seq).collect::<Vec<_>>(), vec![2, 11, 12]);
    // As known at 11: the move. At 2: the load.
    assert_eq!(s.as_known(2, 11).unwrap().unwrap().payload, b"moved");
    assert_eq!(s.as_known(2, 5).unwrap().unwrap().payload, b.payloads[1]);
    assert!(s.as_known(2, 1).unwrap().is_none());
    // Valid on 2003: the correction (same effective date as the load, recorded later).
    assert_eq!(s.as_of(2, b"20030101", None).unwrap().unwrap().payload, b"corrected");
    // ... but as the store knew it at 11, the loaded version.
    assert_eq!(s.as_of(2, b"20030101", Some(11)).unwrap().unwrap().payload, b.payloads[1]);
    assert_eq!(s.as_of(2, b"20100101", None).unwrap().unwrap().payload, b"moved");
    assert!(s.as_of(2, b"19990101", None).unwrap().is_none());
    // The feed: every change once, in order, resumable from any cursor.
    let all = s.changes(0, 100).unwrap();
    assert_eq!(all.len(), 12);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    let tail = s.changes(10, 100).unwrap();
    assert_eq!(tail.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![11, 12]);
    assert_eq!(tail[0].version.as_ref().unwrap().payload, b"moved");
    assert_eq!(tail[0].operator, "op1");
    // A stale expect_seq is a conflict; nothing is written.
    let mut stale = update_of(&s, 2, b"20060101", b"late");
    stale.expect_seq = 11;
    assert!(matches!(
        s.apply(&[stale], &meta()),
        Err(StoreError::Refused { row: 0, refusal: Refusal::Conflict { expected: 11, actual: 12 } })
    ));
    assert!(s.verify().unwrap().is_clean());
}

#[test]
fn number_changes_keep_old_numbers_findable_and_unique() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path(), "131075", &OpenOptions::default()).unwrap();
    let b = batch(0, 10);
    s.load(&persons(&b), &meta(), &LoadOptions::default()).unwrap();
    let fresh = batch(1000, 1);
    let mut u = update_of(&s, 3, b"20200101", b"new code");
    u.code = fresh.codes[0];
    u.mynumber = fresh.mns[0];
    s.apply(&[u], &meta()).unwrap();
    let old = s.get(Lookup::Code, b.codes[2]).unwrap().unwrap();
    assert!(old.superseded);
    assert_eq!(old.person_id, 3);
    assert_eq!(old.payload, b"new code");
    let new = s.get(Lookup::MyNumber, fresh.mns[0]).unwrap().unwrap();
    assert!(!new.superseded);
    // Nobody else may take the old number; the batch fails whole.
    let mut u1 = update_of(&s, 4, b"20200101", b"x");
    let mut u2 = update_of(&s, 5, b"20200101", b"y");
    u1.flags = 0;
    u2.code = b.codes[2];
    match s.apply(&[u1, u2], &meta()) {
        Err(StoreError::Duplicate { row: 1, field: "juminhyo_code", .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(s.history(4).unwrap().len(), 1);
    // Update-prohibited records refuse changes unless overridden.
    let mut p = update_of(&s, 6, b"20200101", b"frozen");
    p.flags = jukistore_core::store::entry::flags::UPDATE_PROHIBITED;
    s.apply(&[p], &meta()).unwrap();
    let q = update_of(&s, 6, b"20200102", b"thaw?");
    assert!(matches!(s.apply(&[q.clone()], &meta()), Err(StoreError::Refused { refusal: Refusal::UpdateProhibited, .. })));
    let mut q = q;
    q.override_prohibited = true;
    s.apply(&[q], &meta()).unwrap();
    // Name key moved: search finds the new key, not the old.
    assert!(s.verify().unwrap().is_clean(), "{:?}", s.verify().unwrap().problems);
}

#[test]
fn unsynced_loads_nest_and_other_writes_stay_synced() {
    // The first unsynced load starts the write-back thread and turns LMDB's no-sync flag on; a
    // second one overlapping it keeps both; the flag goes off only when the last one ends. A
    // write outside `unsynced_writes` meanwhile commits (and syncs itself after). A handle
    // dropped during an unsynced load ends the thread too.
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path(), "131075", &OpenOptions::default()).unwrap();
    assert!(matches!(s.unsynced_end(), Err(StoreError::BadQuery(_))));
    s.unsynced_begin().unwrap();
    let (a, b) = (batch(0, 300), batch(300, 300));
    unsynced_writes(|| s.load(&persons(&a), &meta(), &LoadOptions::default())).unwrap();
    s.unsynced_begin().unwrap();
    unsynced_writes(|| s.load(&persons(&b), &meta(), &LoadOptions::default())).unwrap();
    assert!(s.no_sync().unwrap());
    assert_eq!(s.forced_syncs(), 0, "the loads' own writes do not sync");
    s.load(&persons(&batch(600, 10)), &meta(), &LoadOptions::default()).unwrap();
    assert_eq!(s.forced_syncs(), 1, "a write outside them syncs itself");
    s.unsynced_end().unwrap();
    assert!(s.no_sync().unwrap(), "one unsynced load still runs");
    s.unsynced_end().unwrap();
    assert!(!s.no_sync().unwrap());
    s.load(&persons(&batch(620, 1)), &meta(), &LoadOptions::default()).unwrap();
    assert_eq!(s.forced_syncs(), 1, "no unsynced load: the commit syncs as LMDB does");
    s.unsynced_begin().unwrap();
    unsynced_writes(|| s.load(&persons(&batch(610, 10)), &meta(), &LoadOptions::default())).unwrap();
    drop(s);
    let s = Store::open(dir.path(), &OpenOptions::default()).unwrap();
    assert_eq!(s.get(Lookup::Code, b.codes[299]).unwrap().unwrap().person_id, 600);
    assert_eq!(s.get(Lookup::Code, batch(610, 10).codes[9]).unwrap().unwrap().person_id, 621);
    assert!(s.verify().unwrap().problems.is_empty());
}
