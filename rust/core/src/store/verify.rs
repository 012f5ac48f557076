//! `verify`: every index checked against the primary records, every inconsistency reported.
//!
//! Each index entry is checked to point at a person whose entry holds that key; then the number of
//! index entries is compared with the number of keys the persons hold. Index keys are unique (or
//! unique per duplicate value), so valid entries plus equal counts mean a one-to-one match without
//! a search per person.

use std::collections::HashMap;

use super::entry::{Entry, NO_MYNUMBER};
use super::{from_ik, mask, next_counter, parse_index_value, Result, Store, CURRENT, SUPERSEDED};

/// Problems found, described without personal data (numbers masked, names never shown).
#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    pub persons: u64,
    pub problems: Vec<String>,
    /// Problems beyond this many are counted, not described.
    pub more: u64,
}

const MAX_LISTED: usize = 1000;

impl VerifyReport {
    fn add(&mut self, p: String) {
        if self.problems.len() < MAX_LISTED {
            self.problems.push(p);
        } else {
            self.more += 1;
        }
    }

    pub fn is_clean(&self) -> bool {
        self.problems.is_empty() && self.more == 0
    }
}

struct Held {
    code: u64,
    mynumber: u64,
    old_codes: Vec<u64>,
    old_mynumbers: Vec<u64>,
    name: Vec<u8>,
    birth: Vec<u8>,
    seq: u64,
}

impl Store {
    pub fn verify(&self) -> Result<VerifyReport> {
        self.read(|txn, d| {
            let mut rep = VerifyReport::default();
            let mut persons: HashMap<u64, Held> = HashMap::new();
            let mut last_pid = 0u64;
            let (mut n_codes, mut n_mns, mut n_names, mut n_births) = (0u64, 0u64, 0u64, 0u64);
            for item in d.persons.iter(txn)? {
                let (k, v) = item?;
                let Some(pid) = from_ik(k) else {
                    rep.add("persons: key of wrong width".into());
                    continue;
                };
                last_pid = pid;
                match Entry::decode(v) {
                    Err(e) => rep.add(format!("person {pid}: {e}")),
                    Ok(e) => {
                        n_codes += 1 + e.old_codes.len() as u64;
                        n_mns += (e.mynumber != NO_MYNUMBER) as u64 + e.old_mynumbers.len() as u64;
                        n_names += !e.name_key.is_empty() as u64;
                        n_births += !e.birth_key.is_empty() as u64;
                        persons.insert(
                            pid,
                            Held {
                                code: e.code,
                                mynumber: e.mynumber,
                                old_codes: e.old_codes.clone(),
                                old_mynumbers: e.old_mynumbers.clone(),
                                name: e.name_key.to_vec(),
                                birth: e.birth_key.to_vec(),
                                seq: e.seq,
                            },
                        );
                    }
                }
            }
            rep.persons = persons.len() as u64;

            for (db, label, width, expected, is_code) in [
                (&d.by_code, "by_code", 11usize, n_codes, true),
                (&d.by_mynumber, "by_mynumber", 12, n_mns, false),
            ] {
                let mut n = 0u64;
                for item in db.iter(txn)? {
                    let (k, v) = item?;
                    n += 1;
                    let Some(key) = from_ik(k) else {
                        rep.add(format!("{label}: key of wrong width"));
                        continue;
                    };
                    let (pid, status) = match parse_index_value(v) {
                        Ok(x) => x,
                        Err(e) => {
                            rep.add(format!("{label} {}: {e}", mask(key, width)));
                            continue;
                        }
                    };
                    let Some(h) = persons.get(&pid) else {
                        rep.add(format!("{label} {}: points to missing person {pid}", mask(key, width)));
                        continue;
                    };
                    let (cur, old) = if is_code { (h.code, &h.old_codes) } else { (h.mynumber, &h.old_mynumbers) };
                    let ok = match status {
                        CURRENT => cur == key,
                        SUPERSEDED => old.contains(&key),
                        _ => false,
                    };
                    if !ok {
                        rep.add(format!("{label} {}: person {pid} does not hold this number with status {status}", mask(key, width)));
                    }
                }
                if n != expected {
                    rep.add(format!("{label}: {n} entries, persons hold {expected} numbers"));
                }
            }

            for (db, label, expected, is_name) in
                [(&d.idx_name, "idx_name", n_names, true), (&d.idx_birth, "idx_birth", n_births, false)]
            {
                let mut n = 0u64;
                for item in db.iter(txn)? {
                    let (k, v) = item?;
                    n += 1;
                    let Ok(vb) = <[u8; 8]>::try_from(v) else {
                        rep.add(format!("{label}: value of wrong width"));
                        continue;
                    };
                    let pid = u64::from_be_bytes(vb);
                    match persons.get(&pid) {
                        None => rep.add(format!("{label}: points to missing person {pid}")),
                        Some(h) => {
                            let held = if is_name { &h.name } else { &h.birth };
                            if held.as_slice() != k {
                                rep.add(format!("{label}: entry for person {pid} does not match the person's key"));
                            }
                        }
                    }
                }
                if n != expected {
                    rep.add(format!("{label}: {n} entries, persons hold {expected} keys"));
                }
            }

            let next_pid = next_counter(d, txn, b"next_person")?;
            if last_pid >= next_pid {
                rep.add(format!("meta next_person {next_pid} is not above the last person id {last_pid}"));
            }
            let next_seq = next_counter(d, txn, b"next_seq")?;
            let mut last_seq = 0;
            if let Some((k, _)) = d.changes.last(txn)? {
                last_seq = u64::from_be_bytes(k.try_into().unwrap_or([0; 8]));
            }
            if last_seq >= next_seq {
                rep.add(format!("meta next_seq {next_seq} is not above the last change {last_seq}"));
            }
            // Every version a person lists exists in `history` with the date listed, persons list
            // as many versions as history holds, and each person's current entry is its newest.
            let (mut n_listed, mut n_hist) = (0u64, 0u64);
            let mut newest: HashMap<u64, u64> = HashMap::new();
            for item in d.persons.iter(txn)? {
                let (k, raw) = item?;
                let Some(pid) = from_ik(k) else { continue };
                let Ok(list) = Entry::versions_of(raw) else { continue }; // reported above
                for (date, seq) in super::entry::version_refs(list) {
                    n_listed += 1;
                    let newer = newest.entry(pid).or_insert(seq);
                    *newer = (*newer).max(seq);
                    match d.history.get(txn, &super::history::hist_key(seq))? {
                        None => rep.add(format!("person {pid}: listed version {seq} is not in history")),
                        Some(v) if v.len() < 8 || v[..8] != date => {
                            rep.add(format!("person {pid}: listed version {seq} has another 異動年月日 in history"))
                        }
                        Some(_) => {}
                    }
                }
            }
            for item in d.history.iter(txn)? {
                let (k, _) = item?;
                n_hist += 1;
                if k.len() != 8 {
                    rep.add("history: key of wrong width".into());
                }
            }
            if n_listed != n_hist {
                rep.add(format!("persons list {n_listed} versions, history holds {n_hist}"));
            }
            for (pid, h) in &persons {
                if newest.get(pid) != Some(&h.seq) {
                    rep.add(format!("person {pid}: current version {} is not its newest in history", h.seq));
                }
            }
            for (pid, h) in &persons {
                match d.changes.get(txn, &h.seq.to_be_bytes())? {
                    None => rep.add(format!("person {pid}: its version {} has no change entry", h.seq)),
                    Some(c) if c.len() < 8 || u64::from_le_bytes(c[..8].try_into().unwrap()) != *pid => {
                        rep.add(format!("person {pid}: change {} belongs to another person", h.seq))
                    }
                    Some(_) => {}
                }
            }
            Ok(rep)
        })
    }
}
