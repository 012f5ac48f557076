//! Times bulk and single reads on a synthetic store (a development aid: `cargo run --release --example getmany_timing`).

use jukistore_core::ids::{self, Kind};
use jukistore_core::store::{LoadOptions, Lookup, NewPerson, OpenOptions, Store, WriteMeta};
use std::time::Instant;

fn main() {
    let n = 200_000;
    let dir = std::env::temp_dir().join(format!("jk-timing-{}", std::process::id()));
    let s = Store::create(&dir, "131075", &OpenOptions::default()).unwrap();
    let mut codes = vec![0; n];
    let mut mns = vec![0; n];
    ids::generate(Kind::Juminhyo, 0, n, 1, &mut codes).unwrap();
    ids::generate(Kind::MyNumber, 0, n, 1, &mut mns).unwrap();
    let payload = vec![0x90u8; 225];
    let persons: Vec<NewPerson> = (0..n)
        .map(|i| NewPerson {
            code: codes[i],
            mynumber: mns[i],
            name_key: "ヤマダ".as_bytes(),
            birth_key: b"19800101",
            addr_key: b"x",
            sex: 1,
            flags: 0,
            payload: &payload,
            valid_from: *b"20000101",
            notified: *b"20000101",
        })
        .collect();
    let meta = WriteMeta { operator: "o", terminal: "t", timestamp_us: 0, event: 0 };
    let t = Instant::now();
    for c in persons.chunks(10_000) {
        s.load(c, &meta, &LoadOptions::default()).unwrap();
    }
    println!("load {:?}", t.elapsed());
    let keys: Vec<u64> = (0..1_000_000).map(|i| codes[(i * 7919) % n]).collect();
    for k in [1000usize, 10_000, 100_000, 1_000_000] {
        let t = Instant::now();
        let r = s.get_many(Lookup::Code, &keys[..k]).unwrap();
        let dt = t.elapsed().as_secs_f64();
        println!("get_many {k}: {:.0}/s ({} found)", k as f64 / dt, r.found.iter().filter(|&&f| f).count());
    }
    let t = Instant::now();
    for &k in &keys[..100_000] {
        s.get(Lookup::Code, k).unwrap();
    }
    println!("get: {:.2} us", t.elapsed().as_secs_f64() * 1e6 / 100_000.0);
    std::fs::remove_dir_all(&dir).ok();
}
