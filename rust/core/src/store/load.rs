//! Bulk loads: a batch of new persons is one transaction, all or nothing.

use heed::{PutFlags, RwTxn};

use super::entry::{Entry, NO_MYNUMBER};
use super::history::{commit_ts, hist_key, version_value, DATE_LEN};
use super::{be, ik, index_value, next_counter, Result, Store, StoreError, CURRENT};
use crate::ids::{Kind, Reason};

/// One new person as the Python layer hands it over: the keys it computed from the record and the
/// record itself as MessagePack.
#[derive(Clone, Debug)]
pub struct NewPerson<'a> {
    pub code: u64,
    /// [`NO_MYNUMBER`] when the person has none recorded.
    pub mynumber: u64,
    pub name_key: &'a [u8],
    pub birth_key: &'a [u8],
    pub addr_key: &'a [u8],
    pub sex: u8,
    pub flags: u8,
    pub payload: &'a [u8],
    /// 異動年月日 of the loaded version (`YYYYMMDD`, `00` for unknown parts).
    pub valid_from: [u8; DATE_LEN],
    /// 届出年月日 of the loaded version.
    pub notified: [u8; DATE_LEN],
}

/// Who writes, and when: every write carries an operator and a terminal.
#[derive(Clone, Debug)]
pub struct WriteMeta<'a> {
    pub operator: &'a str,
    pub terminal: &'a str,
    /// Commit time, microseconds since the Unix epoch (from the caller's clock, so tests can move it).
    pub timestamp_us: i64,
    /// Event code recorded in the change log (the Python layer owns the code table).
    pub event: u16,
}

#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Reject 住民票コード whose check digit fails the assumed rule (else accept and count them).
    pub juminhyo_strict: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { juminhyo_strict: true }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadReceipt {
    pub first_person_id: u64,
    pub first_seq: u64,
    pub count: u64,
    /// 住民票コード accepted in lenient mode despite a check-digit mismatch (batch rows).
    pub lenient_rows: Vec<usize>,
}

/// LMDB's default maximum key size.
const MAX_KEY: usize = 511;

/// Checks both numbers; returns whether the 住民票コード passed only because `strict` is off.
pub(crate) fn check_numbers(code: u64, mynumber: u64, row: usize, strict: bool) -> Result<bool> {
    let mut lenient = false;
    match Kind::Juminhyo.explain_u64(code) {
        Reason::Ok => {}
        Reason::Checksum if !strict => lenient = true,
        r => return Err(StoreError::Invalid { row, field: "juminhyo_code", reason: r.name() }),
    }
    if mynumber != NO_MYNUMBER {
        let r = Kind::MyNumber.explain_u64(mynumber);
        if r != Reason::Ok {
            return Err(StoreError::Invalid { row, field: "mynumber", reason: r.name() });
        }
    }
    Ok(lenient)
}

fn validate(p: &NewPerson, row: usize, opts: &LoadOptions, lenient: &mut Vec<usize>) -> Result<()> {
    if check_numbers(p.code, p.mynumber, row, opts.juminhyo_strict)? {
        lenient.push(row);
    }
    check_keys(p.name_key, p.birth_key, p.addr_key, row)
}

/// Search keys must fit LMDB's key size, the address key the entry's u16 length.
pub(crate) fn check_keys(name: &[u8], birth: &[u8], addr: &[u8], row: usize) -> Result<()> {
    for (field, key) in [("name_key", name), ("birth_key", birth)] {
        if key.len() > MAX_KEY {
            return Err(StoreError::TooLarge { row, field, len: key.len() });
        }
    }
    if addr.len() > u16::MAX as usize {
        return Err(StoreError::TooLarge { row, field: "addr_key", len: addr.len() });
    }
    Ok(())
}

/// Encodes a change-log value: person, time, event, operator, terminal.
pub(crate) fn change_value(pid: u64, meta: &WriteMeta) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + 8 + 2 + 2 + meta.operator.len() + meta.terminal.len());
    v.extend_from_slice(&pid.to_le_bytes());
    v.extend_from_slice(&meta.timestamp_us.to_le_bytes());
    v.extend_from_slice(&meta.event.to_le_bytes());
    for s in [meta.operator, meta.terminal] {
        let b = s.as_bytes();
        v.push(b.len().min(255) as u8);
        v.extend_from_slice(&b[..b.len().min(255)]);
    }
    v
}

impl Store {
    /// Loads a batch of new persons in one transaction. Every 住民票コード and 個人番号 must be
    /// valid and never used before (by anyone, removed persons included); the first failure aborts
    /// the whole batch and names its row and field.
    pub fn load(&self, persons: &[NewPerson], meta: &WriteMeta, opts: &LoadOptions) -> Result<LoadReceipt> {
        if meta.operator.is_empty() || meta.terminal.is_empty() {
            return Err(StoreError::BadQuery("a write needs an operator id and a terminal id".into()));
        }
        let mut lenient = Vec::new();
        for (row, p) in persons.iter().enumerate() {
            validate(p, row, opts, &mut lenient)?;
        }
        // Insert the random-keyed indexes in key order: B-tree inserts in order touch each page once.
        let mut by_code: Vec<usize> = (0..persons.len()).collect();
        by_code.sort_unstable_by_key(|&i| persons[i].code);
        let mut by_mn: Vec<usize> = (0..persons.len()).filter(|&i| persons[i].mynumber != NO_MYNUMBER).collect();
        by_mn.sort_unstable_by_key(|&i| persons[i].mynumber);

        self.write(|txn, d| {
            let first_pid = next_counter(d, txn, b"next_person")?;
            let first_seq = next_counter(d, txn, b"next_seq")?;
            let meta = &WriteMeta { timestamp_us: commit_ts(d, txn, meta.timestamp_us)?, ..meta.clone() };
            for (db, order, codes) in [(&d.by_code, &by_code, true), (&d.by_mynumber, &by_mn, false)] {
                if !insert_unique(txn, db, persons, order, first_pid, codes)? {
                    return Err(first_duplicate(txn, d, persons, first_pid)?);
                }
            }
            let mut buf = Vec::new();
            let mut vbuf = Vec::new();
            // Every change of the batch has the same time, event, operator and terminal: encode
            // them once and set each row's person (the value's first 8 bytes).
            let mut change = change_value(0, meta);
            for (row, p) in persons.iter().enumerate() {
                let pid = first_pid + row as u64;
                let seq = first_seq + row as u64;
                let vref = super::entry::version_ref(&p.valid_from, seq);
                let entry = Entry {
                    flags: p.flags,
                    sex: p.sex,
                    seq,
                    code: p.code,
                    mynumber: p.mynumber,
                    old_codes: Vec::new(),
                    old_mynumbers: Vec::new(),
                    versions: &vref,
                    name_key: p.name_key,
                    birth_key: p.birth_key,
                    addr_key: p.addr_key,
                    payload: p.payload,
                };
                buf.clear();
                entry.encode_into(&mut buf);
                // Person ids and sequence numbers only grow, and a new person's keys sort after
                // every existing one: append without searching.
                d.persons.put_with_flags(txn, PutFlags::APPEND, &ik(pid), &buf)?;
                version_value(&p.valid_from, &p.notified, meta.event, &entry, &mut vbuf);
                d.history.put_with_flags(txn, PutFlags::APPEND, &hist_key(seq), &vbuf)?;
                change[..8].copy_from_slice(&pid.to_le_bytes());
                d.changes.put_with_flags(txn, PutFlags::APPEND, &be(seq), &change)?;
            }
            // The search indexes in key order too (rows in order within a key: pids grow). A new
            // person's id is above every id already in the index, so each goes at the end of its
            // key's duplicates without searching them (LMDB refuses it, rather than misplacing it,
            // should that ever not hold).
            let names: Vec<&[u8]> = persons.iter().map(|p| p.name_key).collect();
            let births: Vec<&[u8]> = persons.iter().map(|p| p.birth_key).collect();
            for (db, keys) in [(&d.idx_name, &names), (&d.idx_birth, &births)] {
                let mut rows: Vec<usize> = (0..keys.len()).filter(|&i| !keys[i].is_empty()).collect();
                rows.sort_by_key(|&i| keys[i]);
                for row in rows {
                    db.put_with_flags(txn, PutFlags::APPEND_DUP, keys[row], &be(first_pid + row as u64))?;
                }
            }
            let n = persons.len() as u64;
            d.meta.put(txn, b"next_person", &be(first_pid + n))?;
            d.meta.put(txn, b"next_seq", &be(first_seq + n))?;
            Ok(LoadReceipt { first_person_id: first_pid, first_seq, count: n, lenient_rows: lenient.clone() })
        })
    }
}

/// Inserts the rows' numbers (`order`: the rows in the order of their numbers) into `db`, the
/// 住民票コード index if `codes` else the 個人番号 one; false at the first number already there.
fn insert_unique(txn: &mut RwTxn, db: &super::Db, persons: &[NewPerson], order: &[usize], first_pid: u64, codes: bool) -> Result<bool> {
    for &row in order {
        let p = &persons[row];
        let v = index_value(first_pid + row as u64, CURRENT);
        match db.put_with_flags(txn, PutFlags::NO_OVERWRITE, &ik(if codes { p.code } else { p.mynumber }), &v) {
            Ok(()) => {}
            Err(heed::Error::Mdb(heed::MdbError::KeyExist)) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

/// The refusal of a batch with a number already in use, at its first row (in row order, not in
/// the order the numbers were inserted) whose 住民票コード, or else 個人番号, is held by someone in
/// the store or by an earlier row of the batch. Rows of this batch already inserted are told from
/// the store's by their ids (`first_pid` on).
fn first_duplicate(txn: &RwTxn, d: &super::Dbs, persons: &[NewPerson], first_pid: u64) -> Result<StoreError> {
    let mut first: Option<(usize, &'static str, u64)> = None;
    for (db, field) in [(&d.by_code, "juminhyo_code"), (&d.by_mynumber, "mynumber")] {
        let mut seen = std::collections::HashSet::new();
        for (row, p) in persons.iter().enumerate() {
            if first.is_some_and(|(r, ..)| row >= r) {
                break;
            }
            let n = if field == "mynumber" { p.mynumber } else { p.code };
            if n == NO_MYNUMBER && field == "mynumber" {
                continue;
            }
            let held = match db.get(txn, &ik(n))? {
                Some(v) => super::parse_index_value(v)?.0 < first_pid,
                None => false,
            };
            if held || !seen.insert(n) {
                first = Some((row, field, n));
                break;
            }
        }
    }
    let (row, field, value) = first.ok_or_else(|| StoreError::Corrupt("a number refused as in use is in use nowhere".into()))?;
    Ok(StoreError::Duplicate { row, field, value })
}
