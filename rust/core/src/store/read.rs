//! Reads: by number, by person id, in bulk, and by 4情報.

use std::ops::Bound;

use heed::{RoTxn, WithoutTls};
use rayon::prelude::*;

use super::entry::Entry;
use super::{ik, parse_index_value, Dbs, Result, Store, StoreError, SUPERSEDED};

/// Which index a lookup goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    Code,
    MyNumber,
    PersonId,
}

/// One person found: its id, whether it was found through a superseded number, its entry header
/// fields and payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub person_id: u64,
    pub superseded: bool,
    pub flags: u8,
    pub seq: u64,
    pub code: u64,
    pub mynumber: u64,
    pub payload: Vec<u8>,
}

/// Results of a bulk get, as columns: no object per record.
#[derive(Clone, Debug, Default)]
pub struct GetMany {
    pub found: Vec<bool>,
    pub person_ids: Vec<u64>,
    pub superseded: Vec<bool>,
    /// Entry flags (bit 0: removed) and the 更新順番号 of the current version; 0 when not found.
    pub flags: Vec<u8>,
    pub seqs: Vec<u64>,
    /// `offsets[i]..offsets[i+1]` is the payload of key `i` in `data` (empty when not found).
    pub offsets: Vec<u64>,
    pub data: Vec<u8>,
}

fn resolve(d: &Dbs, txn: &RoTxn<WithoutTls>, how: Lookup, key: u64) -> Result<Option<(u64, bool)>> {
    let db = match how {
        Lookup::PersonId => return Ok(Some((key, false))),
        Lookup::Code => &d.by_code,
        Lookup::MyNumber => &d.by_mynumber,
    };
    match db.get(txn, &ik(key))? {
        None => Ok(None),
        Some(v) => {
            let (pid, status) = parse_index_value(v)?;
            Ok(Some((pid, status == SUPERSEDED)))
        }
    }
}

fn person<'t>(d: &Dbs, txn: &'t RoTxn<WithoutTls>, pid: u64) -> Result<Option<&'t [u8]>> {
    Ok(d.persons.get(txn, &ik(pid))?)
}

/// Below this many keys a bulk get stays on one thread.
const PARALLEL_GET: usize = 1 << 14;

impl Store {
    /// One person by 住民票コード, 個人番号 or person id.
    pub fn get(&self, how: Lookup, key: u64) -> Result<Option<Found>> {
        self.read_reusing(|txn, d| {
            let Some((pid, superseded)) = resolve(d, txn, how, key)? else { return Ok(None) };
            let Some(raw) = person(d, txn, pid)? else {
                if how == Lookup::PersonId {
                    return Ok(None);
                }
                return Err(StoreError::Corrupt(format!("index points to missing person {pid}")));
            };
            let (flags, seq, code, mynumber, payload) = Entry::head_of(raw)?;
            Ok(Some(Found { person_id: pid, superseded, flags, seq, code, mynumber, payload: payload.to_vec() }))
        })
    }

    /// Many persons at once, from one snapshot. Large inputs are split across cores, each part
    /// in its own read transaction; the transactions are all begun first and must share one LMDB
    /// transaction id (else they are begun again), so every part sees the same snapshot.
    pub fn get_many(&self, how: Lookup, keys: &[u64]) -> Result<GetMany> {
        if keys.len() < PARALLEL_GET {
            return self.read(|txn, d| Ok(assemble(vec![lookup_part(d, txn, how, keys)?])));
        }
        let parts = rayon::current_num_threads().clamp(1, 8);
        let size = keys.len().div_ceil(parts);
        self.read_snapshot(parts, |mut txns, d| {
            let found: Vec<Result<Part>> =
                txns.par_iter_mut().zip(keys.par_chunks(size)).map(|(txn, part)| lookup_part(d, txn, how, part)).collect();
            Ok(assemble(found.into_iter().collect::<Result<Vec<_>>>()?))
        })?
    }

    /// Persons matching the 4情報 given: at least two of name key, birth key and address prefix.
    /// The name and birth keys are exact (the name key is 清音化 kana computed by the caller); the
    /// address matches as a prefix of the normalised address; sex only narrows. Returns person ids
    /// in ascending order, at most `limit`.
    pub fn search(
        &self,
        name_key: Option<&[u8]>,
        birth_key: Option<&[u8]>,
        addr_prefix: Option<&[u8]>,
        sex: Option<u8>,
        limit: usize,
    ) -> Result<Vec<Found>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let given = [name_key.is_some(), birth_key.is_some(), addr_prefix.is_some()].iter().filter(|&&b| b).count();
        if given < 2 {
            return Err(StoreError::BadQuery("a 4情報 search needs at least two of name, birth date and address".into()));
        }
        self.read(|txn, d| {
            // Drive from the exact index with fewer candidates, check the rest on the entry.
            let mut candidates: Vec<u64> = Vec::new();
            let sets: Vec<(&super::Db, &[u8])> = [(&d.idx_name, name_key), (&d.idx_birth, birth_key)]
                .into_iter()
                .filter_map(|(db, k)| k.map(|k| (db, k)))
                .collect();
            // Count each candidate list only up to the smallest seen so far: a common name can
            // have thousands of entries where a birth date has a handful.
            let mut best: Option<(u64, &super::Db, &[u8])> = None;
            for (db, k) in sets.into_iter().rev() {
                let cap = best.map_or(u64::MAX, |(m, _, _)| m);
                let n = match db.get_duplicates(txn, k)? {
                    Some(it) => it.take(cap.min(usize::MAX as u64) as usize).count() as u64,
                    None => 0,
                };
                if n < cap {
                    best = Some((n, db, k));
                }
            }
            let (_, db, k) = best.expect("at least one exact key is given");
            if let Some(it) = db.get_duplicates(txn, k)? {
                for item in it {
                    let (_, v) = item?;
                    candidates.push(u64::from_be_bytes(v.try_into().map_err(|_| StoreError::Corrupt("index value width".into()))?));
                }
            }
            let mut out = Vec::new();
            for pid in candidates {
                let Some(raw) = person(d, txn, pid)? else {
                    return Err(StoreError::Corrupt(format!("search index points to missing person {pid}")));
                };
                let e = Entry::decode(raw)?;
                let ok = name_key.is_none_or(|k| e.name_key == k)
                    && birth_key.is_none_or(|k| e.birth_key == k)
                    && addr_prefix.is_none_or(|k| e.addr_key.starts_with(k))
                    && sex.is_none_or(|s| e.sex == s);
                if ok {
                    out.push(Found {
                        person_id: pid,
                        superseded: false,
                        flags: e.flags,
                        seq: e.seq,
                        code: e.code,
                        mynumber: e.mynumber,
                        payload: e.payload.to_vec(),
                    });
                    if out.len() >= limit {
                        break;
                    }
                }
            }
            Ok(out)
        })
    }
}

/// The lookups of one part of a bulk get; payloads borrow from the part's transaction.
struct Part<'t> {
    found: Vec<bool>,
    pids: Vec<u64>,
    superseded: Vec<bool>,
    flags: Vec<u8>,
    seqs: Vec<u64>,
    payloads: Vec<&'t [u8]>,
}

/// Looks up `part` in two passes that each walk their B-tree in key order: numbers → person ids
/// in number order, then entries in person-id order (the file order of `persons`). Random keys
/// otherwise cost a cache miss per tree level per lookup; sorted, neighbours share their path.
fn lookup_part<'t>(d: &Dbs, txn: &'t RoTxn<WithoutTls>, how: Lookup, part: &[u64]) -> Result<Part<'t>> {
    let n = part.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_unstable_by_key(|&i| part[i as usize]);
    let mut pids = vec![0u64; n];
    let mut found = vec![false; n];
    let mut superseded = vec![false; n];
    let index = match how {
        Lookup::Code => Some(&d.by_code),
        Lookup::MyNumber => Some(&d.by_mynumber),
        Lookup::PersonId => None,
    };
    match index {
        Some(db) => walk(db, txn, order.iter().map(|&i| (i as usize, part[i as usize])), |i, v| {
            let (pid, status) = parse_index_value(v)?;
            pids[i] = pid;
            superseded[i] = status == SUPERSEDED;
            found[i] = true;
            Ok(())
        })?,
        None => {
            for &i in &order {
                pids[i as usize] = part[i as usize];
                found[i as usize] = true;
            }
        }
    }
    order.retain(|&i| found[i as usize]);
    order.sort_unstable_by_key(|&i| pids[i as usize]);
    let mut payloads: Vec<&[u8]> = vec![&[]; n];
    let mut flags = vec![0u8; n];
    let mut seqs = vec![0u64; n];
    let mut present = vec![false; n];
    walk(&d.persons, txn, order.iter().map(|&i| (i as usize, pids[i as usize])), |i, raw| {
        payloads[i] = Entry::payload_of(raw)?;
        flags[i] = raw[1];
        seqs[i] = u64::from_le_bytes(raw[4..12].try_into().unwrap());
        present[i] = true;
        Ok(())
    })?;
    for &i in &order {
        let i = i as usize;
        if !present[i] {
            if how != Lookup::PersonId {
                return Err(StoreError::Corrupt(format!("index points to missing person {}", pids[i])));
            }
            found[i] = false;
            pids[i] = 0;
        }
    }
    Ok(Part { found, pids, superseded, flags, seqs, payloads })
}

/// Entries stepped over, at most, before a walk seeks its next key with a descent instead.
const WALK_STEPS: usize = 8;

/// Finds `targets` (rows and integer keys, keys ascending) in an integer-keyed `db`, calling
/// `hit(row, value)` for each key present. Sorted keys of a bulk get are often neighbours in the
/// tree: the walk steps forward from the last entry (no descent from the root, no new cursor)
/// while the next key is within a few entries, and seeks it with one descent when it is not, so a
/// dense batch reads the tree almost sequentially and a sparse one costs a lookup per key.
fn walk<'t>(
    db: &super::Db,
    txn: &'t RoTxn<WithoutTls>,
    targets: impl Iterator<Item = (usize, u64)>,
    mut hit: impl FnMut(usize, &'t [u8]) -> Result<()>,
) -> Result<()> {
    let key_of = |k: &[u8]| u64::from_ne_bytes(k.try_into().expect("integer keys are 8 bytes"));
    let mut it: Option<heed::RoRange<'t, heed::types::Bytes, heed::types::Bytes>> = None;
    let mut cur: Option<(u64, &'t [u8])> = None;
    let mut exhausted = false;
    for (row, target) in targets {
        if exhausted {
            break; // every later key is beyond the last entry
        }
        let mut steps = 0;
        loop {
            if let Some((k, v)) = cur {
                if k == target {
                    hit(row, v)?;
                    break;
                }
                if k > target {
                    break; // absent
                }
            }
            if it.is_none() || steps >= WALK_STEPS {
                let start = ik(target);
                let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(&start[..]), Bound::Unbounded);
                let mut fresh = db.range(txn, &bounds)?;
                cur = fresh.next().transpose()?.map(|(k, v)| (key_of(k), v));
                it = Some(fresh);
                steps = 0;
                if cur.is_none() {
                    exhausted = true;
                    break;
                }
                continue;
            }
            cur = it.as_mut().unwrap().next().transpose()?.map(|(k, v)| (key_of(k), v));
            steps += 1;
            if cur.is_none() {
                exhausted = true;
                break;
            }
        }
    }
    Ok(())
}

/// Joins the parts in order into columns, copying payloads once into one buffer sized exactly
/// (in parallel, each part into its own region).
fn assemble(parts: Vec<Part>) -> GetMany {
    let n: usize = parts.iter().map(|p| p.found.len()).sum();
    let mut out = GetMany {
        found: Vec::with_capacity(n),
        person_ids: Vec::with_capacity(n),
        superseded: Vec::with_capacity(n),
        flags: Vec::with_capacity(n),
        seqs: Vec::with_capacity(n),
        offsets: Vec::with_capacity(n + 1),
        data: Vec::new(),
    };
    out.offsets.push(0);
    let mut total = 0u64;
    let mut part_sizes = Vec::with_capacity(parts.len());
    for p in &parts {
        let start = total;
        for s in &p.payloads {
            total += s.len() as u64;
            out.offsets.push(total);
        }
        part_sizes.push((total - start) as usize);
        out.found.extend_from_slice(&p.found);
        out.person_ids.extend_from_slice(&p.pids);
        out.superseded.extend_from_slice(&p.superseded);
        out.flags.extend_from_slice(&p.flags);
        out.seqs.extend_from_slice(&p.seqs);
    }
    let mut data = vec![0u8; total as usize];
    let mut regions = Vec::with_capacity(parts.len());
    let mut rest: &mut [u8] = &mut data;
    for &size in &part_sizes {
        let (head, tail) = rest.split_at_mut(size);
        regions.push(head);
        rest = tail;
    }
    regions.into_par_iter().zip(parts.par_iter()).for_each(|(region, p)| {
        let mut at = 0;
        for s in &p.payloads {
            region[at..at + s.len()].copy_from_slice(s);
            at += s.len();
        }
    });
    out.data = data;
    out
}
