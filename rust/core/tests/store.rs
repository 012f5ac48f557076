//! Store behaviour through the public API: loads are all-or-nothing, numbers are unique across
//! all time, reads find what was written, verify finds corruption, the map grows.

use jukistore_core::ids::{self, Kind};
use jukistore_core::store::entry::NO_MYNUMBER;
use jukistore_core::store::{LoadOptions, Lookup, NewPerson, OpenOptions, Store, StoreError, WriteMeta};

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
    let r = s.load(&persons(&b5), &meta(), &LoadOptions { juminhyo_strict: false }).unwrap();
    assert_eq!(r.lenient_rows, vec![4]);
    let _ = NO_MYNUMBER;
}

#[test]
fn map_grows_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path(), "131075", &OpenOptions { readonly: false, map_size: 1 << 20 }).unwrap();
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
