//! History: every version of every person is kept.
//!
//! - `history`: 更新順番号 → version. Sequence numbers only grow, so every write appends its
//!   versions at the end of the tree (MDB_APPEND): a batch fills a few fresh pages instead of
//!   touching, and often splitting, one page per person it changes.
//! - each person's entry in `persons` lists the person's versions as (異動年月日, 更新順番号)
//!   pairs ([`super::entry`]): the valid-time index, written in the page an update rewrites
//!   anyway instead of in a tree of its own. "As valid on date D" is the greatest
//!   (date, 更新順番号) ≤ (D, MAX) of the list, so among versions with the same effective date the
//!   later recorded one wins, and a correction (記載の修正) dated like the version it corrects
//!   replaces it. "As known at sequence N" is the greatest 更新順番号 ≤ N of the list (a person
//!   has a handful).
//!
//! A version value is `valid_from (8 ASCII digits) | notified (8) | event (u16 LE) | entry`, the
//! entry without its version list.
//! Dates are the register's compact `YYYYMMDD` text; unknown parts are `00`, so they sort before
//! known ones, and byte order is date order.
//!
//! Updates run through [`Store::apply`]: the core keeps its indexes right (old numbers marked
//! superseded, search keys moved); the domain rules (which event may change what) are the Python
//! layer's, which passes the sequence it based its decision on so a concurrent change is caught.
//! An update with person id 0 registers a new person (転入, 出生, 職権記載) in the same transaction
//! as the other updates of its batch, so a batch of events is all or nothing whatever its kinds.
//!
//! Commit timestamps never go backwards in sequence order: a write whose clock reads earlier than
//! the last change is recorded at the last change's time. So "the last change at or before time T"
//! is a binary search over the change log ([`Store::seq_at`]), and "as known at T" is well defined
//! even when writers' clocks disagree.

use std::ops::Bound;

use rayon::prelude::*;

use heed::{PutFlags, RoTxn, RwTxn, WithoutTls};

use super::entry::{flags, version_ref, version_refs, Entry, NO_MYNUMBER};
use crate::ids::{Kind, Reason};
use super::load::{change_value, check_keys, WriteMeta};
use super::patch::patch_array;
use super::proposals::{put_step, StepWrite};
use super::{be, ik, index_value, next_counter, parse_index_value, Dbs, Result, Store, StoreError, CURRENT, SUPERSEDED};

pub const DATE_LEN: usize = 8;

/// A new version of an existing person, or (with `person_id` 0) a new person.
#[derive(Clone, Debug)]
pub struct Update<'a> {
    /// The person to update; 0 registers a new person (its numbers must never have been used).
    pub person_id: u64,
    pub code: u64,
    pub mynumber: u64,
    pub name_key: &'a [u8],
    pub birth_key: &'a [u8],
    pub addr_key: &'a [u8],
    pub sex: u8,
    pub flags: u8,
    pub payload: &'a [u8],
    /// 異動年月日: the date the change took effect (valid time).
    pub valid_from: [u8; DATE_LEN],
    /// 届出年月日: the date it was notified.
    pub notified: [u8; DATE_LEN],
    pub event: u16,
    /// The person's current 更新順番号 the caller based the update on; 0 skips the check.
    pub expect_seq: u64,
    /// Allows writing a person whose current version carries 更新禁止フラグ (the update that lifts it).
    pub override_prohibited: bool,
}

/// One stored version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub person_id: u64,
    pub seq: u64,
    pub valid_from: [u8; DATE_LEN],
    pub notified: [u8; DATE_LEN],
    pub event: u16,
    pub flags: u8,
    pub code: u64,
    pub mynumber: u64,
    pub payload: Vec<u8>,
}

/// One change of the change feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub seq: u64,
    pub person_id: u64,
    pub timestamp_us: i64,
    pub event: u16,
    pub operator: String,
    pub terminal: String,
    pub version: Option<Version>,
}

/// Some items of a person's current record to set, by position, with the index keys that change
/// (None keeps the current key or number).
#[derive(Clone, Debug)]
pub struct Patch<'a> {
    pub person_id: u64,
    /// The person's current 更新順番号 the caller based the change on; 0 skips the check.
    pub expect_seq: u64,
    pub valid_from: [u8; DATE_LEN],
    pub notified: [u8; DATE_LEN],
    /// (element position, UTF-8 text), positions ascending.
    pub fields: Vec<(usize, &'a [u8])>,
    pub code: Option<u64>,
    pub mynumber: Option<u64>,
    pub name_key: Option<&'a [u8]>,
    pub birth_key: Option<&'a [u8]>,
    pub addr_key: Option<&'a [u8]>,
    pub sex: Option<u8>,
}

/// What one update of a batch wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    pub seq: u64,
    /// The person updated, or the id given to a new person.
    pub person_id: u64,
}

/// Why an update was refused, beside the index errors of loads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    NoSuchPerson,
    UpdateProhibited,
    /// The person changed since the caller read it (its current sequence is `actual`).
    Conflict { expected: u64, actual: u64 },
    /// No proposal with this id.
    NoSuchProposal { id: u64 },
    /// The proposal's next step was written meanwhile (another operator decided it first).
    ProposalDecided { id: u64 },
    /// A patch leaves every item it is for as it was.
    NoChange,
    /// The event does not apply to a removed person (除票).
    PersonRemoved,
    /// The event lifts 更新禁止 from a record that is not under it.
    NotProhibited,
}

/// What one kind of event does to a person's entry flags, and the states it refuses; checked in
/// the transaction that writes, on the entry it replaces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlagRule {
    /// Entry flags the event sets, then those it clears.
    pub set: u8,
    pub clear: u8,
    /// Refuse a removed person ([`Refusal::PersonRemoved`]).
    pub refuse_removed: bool,
    /// The event lifts 更新禁止: it applies only to a record under it ([`Refusal::NotProhibited`]);
    /// any other event refuses such a record ([`Refusal::UpdateProhibited`]).
    pub unlock: bool,
}

pub(crate) fn hist_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// The version list of `pid` ([`super::entry::version_refs`] reads it), in 更新順番号 order;
/// empty for a person who is not in the store.
fn version_list<'t>(d: &Dbs, txn: &'t RoTxn<WithoutTls>, pid: u64) -> Result<&'t [u8]> {
    match d.persons.get(txn, &ik(pid))? {
        Some(raw) => Entry::versions_of(raw),
        None => Ok(&[]),
    }
}

/// The (異動年月日, 更新順番号) of every version of `pid`, in 更新順番号 order (none for a person
/// who is not in the store).
pub(crate) fn person_versions(d: &Dbs, txn: &RoTxn<WithoutTls>, pid: u64) -> Result<Vec<([u8; DATE_LEN], u64)>> {
    Ok(version_refs(version_list(d, txn, pid)?).collect())
}

/// The version of a list valid on `date` as known at `limit`: the greatest (date, 更新順番号)
/// with a date ≤ `date` and a 更新順番号 ≤ `limit`.
fn pick_valid(list: &[u8], date: &[u8; DATE_LEN], limit: u64) -> Option<u64> {
    version_refs(list).filter(|(d, s)| d <= date && *s <= limit).max().map(|(_, s)| s)
}

fn version_head(valid_from: &[u8; DATE_LEN], notified: &[u8; DATE_LEN], event: u16, out: &mut Vec<u8>) {
    out.extend_from_slice(valid_from);
    out.extend_from_slice(notified);
    out.extend_from_slice(&event.to_le_bytes());
}

/// Bytes of a stored version's head: 異動年月日, 届出年月日, event.
const VERSION_HEAD: usize = 2 * DATE_LEN + 2;

/// The entry part of a stored version (its flags at byte 1, as in a person's entry).
pub(crate) fn version_entry(v: &[u8]) -> Result<&[u8]> {
    v.get(VERSION_HEAD..).filter(|e| e.len() >= 2).ok_or_else(|| StoreError::Corrupt("version too short".into()))
}

/// A stored version: dates, event and the entry without its version list.
pub(crate) fn version_value(valid_from: &[u8; DATE_LEN], notified: &[u8; DATE_LEN], event: u16, entry: &Entry, out: &mut Vec<u8>) {
    out.clear();
    version_head(valid_from, notified, event, out);
    entry.encode_version_into(out);
}

pub(crate) fn parse_version(pid: u64, seq: u64, v: &[u8]) -> Result<Version> {
    if v.len() < VERSION_HEAD {
        return Err(StoreError::Corrupt(format!("version {seq} of person {pid} too short")));
    }
    let e = Entry::decode(&v[VERSION_HEAD..])?;
    Ok(Version {
        person_id: pid,
        seq,
        valid_from: v[..DATE_LEN].try_into().unwrap(),
        notified: v[DATE_LEN..2 * DATE_LEN].try_into().unwrap(),
        event: u16::from_le_bytes([v[16], v[17]]),
        flags: e.flags,
        code: e.code,
        mynumber: e.mynumber,
        payload: e.payload.to_vec(),
    })
}

pub(crate) fn parse_change(seq: u64, v: &[u8]) -> Result<(u64, i64, u16, String, String)> {
    let bad = || StoreError::Corrupt(format!("change {seq} malformed"));
    if v.len() < 20 {
        return Err(bad());
    }
    let pid = u64::from_le_bytes(v[..8].try_into().unwrap());
    let ts = i64::from_le_bytes(v[8..16].try_into().unwrap());
    let event = u16::from_le_bytes([v[16], v[17]]);
    let mut at = 18;
    let mut strs = Vec::new();
    for _ in 0..2 {
        let n = *v.get(at).ok_or_else(bad)? as usize;
        let s = v.get(at + 1..at + 1 + n).ok_or_else(bad)?;
        strs.push(String::from_utf8_lossy(s).into_owned());
        at += 1 + n;
    }
    let term = strs.pop().unwrap();
    let op = strs.pop().unwrap();
    Ok((pid, ts, event, op, term))
}

/// The timestamp of the last change, if any.
pub(crate) fn last_change_ts(d: &Dbs, txn: &RoTxn<WithoutTls>) -> Result<Option<i64>> {
    match d.changes.last(txn)? {
        None => Ok(None),
        Some((_, v)) if v.len() >= 16 => Ok(Some(i64::from_le_bytes(v[8..16].try_into().unwrap()))),
        Some(_) => Err(StoreError::Corrupt("change value too short".into())),
    }
}

/// The commit timestamp to record: the caller's, or the last change's when the caller's clock is
/// behind it, so timestamps never decrease along the change log.
pub(crate) fn commit_ts(d: &Dbs, txn: &RoTxn<WithoutTls>, ts: i64) -> Result<i64> {
    Ok(match last_change_ts(d, txn)? {
        Some(last) if last > ts => last,
        _ => ts,
    })
}

fn refuse(row: usize, r: Refusal) -> StoreError {
    StoreError::Refused { row, refusal: r }
}

fn move_number(txn: &mut RwTxn, db: &super::Db, pid: u64, old: u64, new: u64, row: usize, field: &'static str) -> Result<bool> {
    if old == new {
        return Ok(false);
    }
    insert_number(txn, db, pid, new, row, field)?;
    if old != NO_MYNUMBER {
        db.put(txn, &ik(old), &index_value(pid, SUPERSEDED))?;
    }
    Ok(supersedes(old, new))
}

/// Whether replacing number `old` by `new` makes `old` a superseded number of the person (what
/// [`move_number`] returns).
fn supersedes(old: u64, new: u64) -> bool {
    old != new && old != NO_MYNUMBER
}

/// Indexes a new person's number; a number anyone ever used (superseded ones included) is refused.
fn insert_number(txn: &mut RwTxn, db: &super::Db, pid: u64, n: u64, row: usize, field: &'static str) -> Result<()> {
    if n == NO_MYNUMBER {
        return Ok(());
    }
    match db.put_with_flags(txn, PutFlags::NO_OVERWRITE, &ik(n), &index_value(pid, CURRENT)) {
        Ok(()) => Ok(()),
        Err(heed::Error::Mdb(heed::MdbError::KeyExist)) => Err(StoreError::Duplicate { row, field, value: n }),
        Err(e) => Err(e.into()),
    }
}

fn move_key(txn: &mut RwTxn, db: &super::Db, pid: u64, old: &[u8], new: &[u8]) -> Result<()> {
    if old == new {
        return Ok(());
    }
    if !old.is_empty() {
        db.delete_one_duplicate(txn, old, &be(pid))?;
    }
    if !new.is_empty() {
        db.put(txn, new, &be(pid))?;
    }
    Ok(())
}

/// Writes one update (a new person when its id is 0) as version `seq`; returns the person id.
#[allow(clippy::too_many_arguments)]
fn write_row(
    txn: &mut RwTxn,
    d: &Dbs,
    row: usize,
    u: &Update,
    seq: u64,
    ts: i64,
    meta: &WriteMeta,
    next_pid: &mut u64,
    buf: &mut Vec<u8>,
    versions: &mut Vec<u8>,
) -> Result<u64> {
    versions.clear();
    let (pid, old_codes, old_mns) = if u.person_id == 0 {
        if u.expect_seq != 0 {
            return Err(StoreError::BadQuery(format!("row {row}: a new person has no version to expect")));
        }
        let pid = *next_pid;
        *next_pid += 1;
        insert_number(txn, &d.by_code, pid, u.code, row, "juminhyo_code")?;
        insert_number(txn, &d.by_mynumber, pid, u.mynumber, row, "mynumber")?;
        move_key(txn, &d.idx_name, pid, b"", u.name_key)?;
        move_key(txn, &d.idx_birth, pid, b"", u.birth_key)?;
        (pid, Vec::new(), Vec::new())
    } else {
        let pid = u.person_id;
        let raw = d.persons.get(txn, &ik(pid))?.ok_or_else(|| refuse(row, Refusal::NoSuchPerson))?.to_vec();
        let cur = Entry::decode(&raw)?;
        if u.expect_seq != 0 && cur.seq != u.expect_seq {
            return Err(refuse(row, Refusal::Conflict { expected: u.expect_seq, actual: cur.seq }));
        }
        if cur.flags & flags::UPDATE_PROHIBITED != 0 && !u.override_prohibited {
            return Err(refuse(row, Refusal::UpdateProhibited));
        }
        let mut old_codes = cur.old_codes.clone();
        let mut old_mns = cur.old_mynumbers.clone();
        if move_number(txn, &d.by_code, pid, cur.code, u.code, row, "juminhyo_code")? {
            old_codes.push(cur.code);
        }
        if move_number(txn, &d.by_mynumber, pid, cur.mynumber, u.mynumber, row, "mynumber")? {
            old_mns.push(cur.mynumber);
        }
        move_key(txn, &d.idx_name, pid, cur.name_key, u.name_key)?;
        move_key(txn, &d.idx_birth, pid, cur.birth_key, u.birth_key)?;
        versions.extend_from_slice(cur.versions);
        (pid, old_codes, old_mns)
    };
    versions.extend_from_slice(&version_ref(&u.valid_from, seq));
    let entry = Entry {
        flags: u.flags,
        sex: u.sex,
        seq,
        code: u.code,
        mynumber: u.mynumber,
        old_codes,
        old_mynumbers: old_mns,
        versions,
        name_key: u.name_key,
        birth_key: u.birth_key,
        addr_key: u.addr_key,
        payload: u.payload,
    };
    buf.clear();
    entry.encode_into(buf);
    d.persons.put(txn, &ik(pid), buf)?;
    version_value(&u.valid_from, &u.notified, u.event, &entry, buf);
    d.history.put_with_flags(txn, PutFlags::APPEND, &hist_key(seq), buf)?;
    let m = WriteMeta { event: u.event, timestamp_us: ts, ..meta.clone() };
    d.changes.put_with_flags(txn, PutFlags::APPEND, &be(seq), &change_value(pid, &m))?;
    Ok(pid)
}

impl Store {
    /// Applies updates in one transaction, all or nothing; returns the new 更新順番号 of each.
    pub fn apply(&self, updates: &[Update], meta: &WriteMeta) -> Result<Vec<u64>> {
        Ok(self.apply_with(updates, meta, None)?.into_iter().map(|a| a.seq).collect())
    }

    /// Applies updates in one transaction, all or nothing, and with them (in the same transaction)
    /// the next step of a proposal, when given: an approved correction and its approval are
    /// committed together or not at all. The step records the first 更新順番号 of the batch.
    pub fn apply_with(&self, updates: &[Update], meta: &WriteMeta, step: Option<StepWrite>) -> Result<Vec<Applied>> {
        if meta.operator.is_empty() || meta.terminal.is_empty() {
            return Err(StoreError::BadQuery("a write needs an operator id and a terminal id".into()));
        }
        for (row, u) in updates.iter().enumerate() {
            super::load::check_numbers(u.code, u.mynumber, row, true)?;
            check_keys(u.name_key, u.birth_key, u.addr_key, row)?;
        }
        self.write(|txn, d| {
            let mut seq = next_counter(d, txn, b"next_seq")?;
            let mut next_pid = next_counter(d, txn, b"next_person")?;
            let first_pid = next_pid;
            let ts = commit_ts(d, txn, meta.timestamp_us)?;
            let mut out = Vec::with_capacity(updates.len());
            let (mut buf, mut versions) = (Vec::new(), Vec::new());
            if let Some(st) = &step {
                put_step(txn, d, st, seq)?;
            }
            for (row, u) in updates.iter().enumerate() {
                let pid = write_row(txn, d, row, u, seq, ts, meta, &mut next_pid, &mut buf, &mut versions)?;
                out.push(Applied { seq, person_id: pid });
                seq += 1;
            }
            d.meta.put(txn, b"next_seq", &be(seq))?;
            if next_pid != first_pid {
                d.meta.put(txn, b"next_person", &be(next_pid))?;
            }
            Ok(out)
        })
    }

    /// Applies one kind of event to many persons in one transaction, all or nothing: each patch
    /// sets some items of the person's current record by position (see [`super::patch`]), so the
    /// caller never decodes and encodes whole records. Each person's state is checked on the
    /// entry the write replaces: it must exist, be at `expect_seq` (when not 0) and pass `rule`;
    /// a row whose items at the `must` positions all keep their values is refused
    /// ([`Refusal::NoChange`]). The new flags are the current ones with `rule` applied. Returns
    /// the 更新順番号 of each.
    pub fn apply_patches(&self, patches: &[Patch], event: u16, must: &[usize], rule: FlagRule, meta: &WriteMeta) -> Result<Vec<u64>> {
        if meta.operator.is_empty() || meta.terminal.is_empty() {
            return Err(StoreError::BadQuery("a write needs an operator id and a terminal id".into()));
        }
        for (row, p) in patches.iter().enumerate() {
            if p.person_id == 0 {
                return Err(refuse(row, Refusal::NoSuchPerson));
            }
            if p.fields.windows(2).any(|w| w[0].0 >= w[1].0) {
                return Err(StoreError::BadQuery(format!("row {row}: item positions must ascend")));
            }
            if let Some(c) = p.code {
                super::load::check_numbers(c, NO_MYNUMBER, row, true)?;
            }
            if let Some(m) = p.mynumber.filter(|&m| m != NO_MYNUMBER) {
                let r = Kind::MyNumber.explain_u64(m);
                if r != Reason::Ok {
                    return Err(StoreError::Invalid { row, field: "mynumber", reason: r.name() });
                }
            }
            check_keys(p.name_key.unwrap_or(b""), p.birth_key.unwrap_or(b""), p.addr_key.unwrap_or(b""), row)?;
        }
        // Rows are written in person order (each keeps the 更新順番号 of its place in the batch):
        // the `persons` writes walk the tree once instead of jumping between its pages.
        let mut order: Vec<usize> = (0..patches.len()).collect();
        order.sort_by_key(|&r| patches[r].person_id);
        self.write(|txn, d| {
            let first_seq = next_counter(d, txn, b"next_seq")?;
            let ts = commit_ts(d, txn, meta.timestamp_us)?;
            // Each row's version (dates, event, entry) is built in `arena`, for `history` to
            // append in 更新順番号 order once every person is written.
            let mut arena: Vec<u8> = Vec::with_capacity(patches.len() * 1024);
            let mut spans = vec![(0usize, 0usize); patches.len()];
            let (mut old_name, mut old_birth) = (Vec::new(), Vec::new());
            let (mut entry_buf, mut versions) = (Vec::new(), Vec::new());
            for &row in &order {
                let p = &patches[row];
                let (pid, seq) = (p.person_id, first_seq + row as u64);
                let key = ik(pid);
                let start = arena.len();
                version_head(&p.valid_from, &p.notified, event, &mut arena);
                // One lookup: the cursor that finds the person's entry writes the new one.
                let (old_code, old_mn, code, mynumber) = {
                    let mut at = d.persons.range_mut(txn, &(Bound::Included(&key[..]), Bound::Included(&key[..])))?;
                    let raw = match at.next().transpose()? {
                        Some((k, v)) if k == key => v,
                        _ => return Err(refuse(row, Refusal::NoSuchPerson)),
                    };
                    let mut cur = Entry::decode(raw)?;
                    if p.expect_seq != 0 && cur.seq != p.expect_seq {
                        return Err(refuse(row, Refusal::Conflict { expected: p.expect_seq, actual: cur.seq }));
                    }
                    if rule.refuse_removed && cur.flags & flags::REMOVED != 0 {
                        return Err(refuse(row, Refusal::PersonRemoved));
                    }
                    match (cur.flags & flags::UPDATE_PROHIBITED != 0, rule.unlock) {
                        (true, false) => return Err(refuse(row, Refusal::UpdateProhibited)),
                        (false, true) => return Err(refuse(row, Refusal::NotProhibited)),
                        _ => {}
                    }
                    let code = p.code.unwrap_or(cur.code);
                    let mynumber = p.mynumber.unwrap_or(cur.mynumber);
                    let mut old_codes = std::mem::take(&mut cur.old_codes);
                    let mut old_mynumbers = std::mem::take(&mut cur.old_mynumbers);
                    // The numbers' index entries move below, once the cursor is done with.
                    if supersedes(cur.code, code) {
                        old_codes.push(cur.code);
                    }
                    if supersedes(cur.mynumber, mynumber) {
                        old_mynumbers.push(cur.mynumber);
                    }
                    let entry = Entry {
                        flags: (cur.flags | rule.set) & !rule.clear,
                        sex: p.sex.unwrap_or(cur.sex),
                        seq,
                        code,
                        mynumber,
                        old_codes,
                        old_mynumbers,
                        versions: {
                            versions.clear();
                            versions.extend_from_slice(cur.versions);
                            versions.extend_from_slice(&version_ref(&p.valid_from, seq));
                            &versions
                        },
                        name_key: p.name_key.unwrap_or(cur.name_key),
                        birth_key: p.birth_key.unwrap_or(cur.birth_key),
                        addr_key: p.addr_key.unwrap_or(cur.addr_key),
                        payload: b"",
                    };
                    // The new entry (with the version list) for `persons`, the payload patched
                    // once; the version for `history` is the same entry without the list.
                    entry_buf.clear();
                    entry.encode_into(&mut entry_buf);
                    let head = entry_buf.len();
                    if !patch_array(cur.payload, &p.fields, must, &mut entry_buf)? && !must.is_empty() {
                        return Err(refuse(row, Refusal::NoChange));
                    }
                    if p.name_key.is_some() {
                        old_name.clear();
                        old_name.extend_from_slice(cur.name_key);
                    }
                    if p.birth_key.is_some() {
                        old_birth.clear();
                        old_birth.extend_from_slice(cur.birth_key);
                    }
                    let (old_code, old_mn) = (cur.code, cur.mynumber);
                    entry.encode_version_into(&mut arena);
                    arena.extend_from_slice(&entry_buf[head..]);
                    // SAFETY: nothing read through the cursor (`raw`, `cur`, `entry`) is used from
                    // here on.
                    unsafe { at.put_current(&key, &entry_buf)? };
                    (old_code, old_mn, code, mynumber)
                };
                move_number(txn, &d.by_code, pid, old_code, code, row, "juminhyo_code")?;
                move_number(txn, &d.by_mynumber, pid, old_mn, mynumber, row, "mynumber")?;
                if let Some(k) = p.name_key {
                    move_key(txn, &d.idx_name, pid, &old_name, k)?;
                }
                if let Some(k) = p.birth_key {
                    move_key(txn, &d.idx_birth, pid, &old_birth, k)?;
                }
                spans[row] = (start, arena.len());
            }
            // Versions and changes in 更新順番号 order: both append at the end of their tree.
            let mut change = change_value(0, &WriteMeta { event, timestamp_us: ts, ..meta.clone() });
            for (row, p) in patches.iter().enumerate() {
                let seq = first_seq + row as u64;
                let (a, b) = spans[row];
                d.history.put_with_flags(txn, PutFlags::APPEND, &hist_key(seq), &arena[a..b])?;
                change[..8].copy_from_slice(&p.person_id.to_le_bytes());
                d.changes.put_with_flags(txn, PutFlags::APPEND, &be(seq), &change)?;
            }
            let next = first_seq + patches.len() as u64;
            d.meta.put(txn, b"next_seq", &be(next))?;
            Ok((first_seq..next).collect())
        })
    }

    /// Every version of a person, oldest first.
    pub fn history(&self, pid: u64) -> Result<Vec<Version>> {
        self.read(|txn, d| {
            person_versions(d, txn, pid)?
                .into_iter()
                .map(|(_, s)| parse_version(pid, s, stored_version(d, txn, pid, s)?))
                .collect()
        })
    }

    /// The version valid on `date` as the store knows it now, or as it knew it at `known_at`.
    pub fn as_of(&self, pid: u64, date: &[u8; DATE_LEN], known_at: Option<u64>) -> Result<Option<Version>> {
        self.read(|txn, d| as_of_in(d, txn, pid, date, known_at))
    }

    /// The version the store held at sequence `seq` (what it would have sent then).
    pub fn as_known(&self, pid: u64, seq: u64) -> Result<Option<Version>> {
        self.read(|txn, d| as_known_in(d, txn, pid, seq))
    }

    /// Batch `as_of`: one snapshot, results in the order asked.
    pub fn as_of_many(&self, pids: &[u64], dates: &[[u8; DATE_LEN]], known_at: Option<u64>) -> Result<Vec<Option<Version>>> {
        self.read(|txn, d| pids.iter().zip(dates).map(|(&p, dt)| as_of_in(d, txn, p, dt, known_at)).collect())
    }

    /// Batch `as_of` as columns, without a copy per version: each part of the batch is looked up
    /// in (person, date) order, so neighbouring lookups share their B-tree path; large batches are
    /// split across cores, every part reading the same snapshot.
    pub fn as_of_columns(&self, pids: &[u64], dates: &[[u8; DATE_LEN]], known_at: Option<u64>) -> Result<VersionColumns> {
        if pids.len() != dates.len() {
            return Err(StoreError::BadQuery("as many dates as persons, please".into()));
        }
        if pids.len() < PARALLEL_AS_OF {
            return self.read(|txn, d| Ok(columns(vec![as_of_part(d, txn, pids, dates, known_at)?])));
        }
        let parts = rayon::current_num_threads().clamp(1, 8);
        let size = pids.len().div_ceil(parts);
        self.read_snapshot(parts, |mut txns, d| {
            let found: Vec<Result<Vec<Hit>>> = txns
                .par_iter_mut()
                .zip(pids.par_chunks(size).zip(dates.par_chunks(size)))
                .map(|(txn, (p, dt))| as_of_part(d, txn, p, dt, known_at))
                .collect();
            Ok(columns(found.into_iter().collect::<Result<Vec<_>>>()?))
        })?
    }

    /// Batch `as_known`.
    pub fn as_known_many(&self, pids: &[u64], seqs: &[u64]) -> Result<Vec<Option<Version>>> {
        self.read(|txn, d| pids.iter().zip(seqs).map(|(&p, &s)| as_known_in(d, txn, p, s)).collect())
    }

    /// Changes with 更新順番号 > `since`, in order, at most `limit`, each with its version.
    pub fn changes(&self, since: u64, limit: usize) -> Result<Vec<Change>> {
        self.read(|txn, d| {
            let mut out = Vec::new();
            let start = be(since.saturating_add(1));
            for item in d.changes.range(txn, &(Bound::Included(&start[..]), Bound::Unbounded))? {
                if out.len() >= limit {
                    break;
                }
                let (k, v) = item?;
                let seq = u64::from_be_bytes(k.try_into().map_err(|_| StoreError::Corrupt("change key width".into()))?);
                let (pid, ts, event, operator, terminal) = parse_change(seq, v)?;
                let version = match d.history.get(txn, &hist_key(seq))? {
                    Some(v) => Some(parse_version(pid, seq, v)?),
                    None => None, // purged
                };
                out.push(Change { seq, person_id: pid, timestamp_us: ts, event, operator, terminal, version });
            }
            Ok(out)
        })
    }

    /// The last 更新順番号 committed at or before `timestamp_us` (0 when none was). Commit
    /// timestamps never decrease along the change log, so this is a binary search.
    pub fn seq_at(&self, timestamp_us: i64) -> Result<u64> {
        self.read(|txn, d| {
            let (mut lo, mut hi) = (0u64, next_counter(d, txn, b"next_seq")? - 1);
            // Invariant: the answer is in lo..=hi, and lo is 0 or a change at or before the time.
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                match d.changes.get_greater_than_or_equal_to(txn, &be(mid))? {
                    Some((k, v)) => {
                        let s = u64::from_be_bytes(k.try_into().map_err(|_| StoreError::Corrupt("change key width".into()))?);
                        let (_, ts, ..) = parse_change(s, v)?;
                        if s <= hi && ts <= timestamp_us {
                            lo = s;
                        } else {
                            hi = mid - 1;
                        }
                    }
                    None => hi = mid - 1,
                }
            }
            Ok(lo)
        })
    }

    /// The last 更新順番号 given out (0 for an empty store).
    pub fn last_seq(&self) -> Result<u64> {
        self.read(|txn, d| Ok(next_counter(d, txn, b"next_seq")? - 1))
    }

    /// The person id a number points to, and whether it is superseded (for the Python rules).
    pub fn resolve(&self, code: Option<u64>, mynumber: Option<u64>) -> Result<Option<(u64, bool)>> {
        self.read(|txn, d| {
            let (db, k) = match (code, mynumber) {
                (Some(c), _) => (&d.by_code, c),
                (None, Some(m)) => (&d.by_mynumber, m),
                _ => return Ok(None),
            };
            match db.get(txn, &ik(k))? {
                None => Ok(None),
                Some(v) => {
                    let (pid, st) = parse_index_value(v)?;
                    Ok(Some((pid, st == SUPERSEDED)))
                }
            }
        })
    }
}

/// Below this many lookups a batch as-of stays on one thread.
const PARALLEL_AS_OF: usize = 1 << 14;

/// Results of a batch query as columns (found, 更新順番号, entry flags, payload offsets and bytes).
#[derive(Clone, Debug, Default)]
pub struct VersionColumns {
    pub found: Vec<bool>,
    pub seqs: Vec<u64>,
    pub flags: Vec<u8>,
    pub offsets: Vec<u64>,
    pub data: Vec<u8>,
}

/// One lookup's answer, borrowing the payload from its transaction.
type Hit<'t> = Option<(u64, u8, &'t [u8])>;

fn as_of_part<'t>(
    d: &Dbs,
    txn: &'t RoTxn<WithoutTls>,
    pids: &[u64],
    dates: &[[u8; DATE_LEN]],
    known_at: Option<u64>,
) -> Result<Vec<Hit<'t>>> {
    let mut order: Vec<u32> = (0..pids.len() as u32).collect();
    order.sort_unstable_by_key(|&i| (pids[i as usize], dates[i as usize]));
    let limit = known_at.unwrap_or(u64::MAX);
    let mut out: Vec<Hit<'t>> = vec![None; pids.len()];
    // First each person's list, in person order (consecutive lookups of one person read the
    // entry once), then the versions found, in 更新順番号 order: both walks go through their
    // tree once instead of jumping between its pages.
    let mut last: Option<(u64, &'t [u8])> = None;
    let mut hits: Vec<(u64, u32)> = Vec::with_capacity(order.len());
    for &i in &order {
        let (pid, date) = (pids[i as usize], &dates[i as usize]);
        let list = match last {
            Some((p, l)) if p == pid => l,
            _ => {
                let l = version_list(d, txn, pid)?;
                last = Some((pid, l));
                l
            }
        };
        if let Some(seq) = pick_valid(list, date, limit) {
            hits.push((seq, i));
        }
    }
    hits.sort_unstable();
    for (seq, i) in hits {
        let v = stored_version(d, txn, pids[i as usize], seq)?;
        let entry = version_entry(&v)?;
        out[i as usize] = Some((seq, entry[1], Entry::payload_of(entry)?));
    }
    Ok(out)
}

fn columns(parts: Vec<Vec<Hit>>) -> VersionColumns {
    let n: usize = parts.iter().map(|p| p.len()).sum();
    let bytes: usize = parts.iter().flatten().map(|h| h.map_or(0, |h| h.2.len())).sum();
    let mut c = VersionColumns {
        found: Vec::with_capacity(n),
        seqs: Vec::with_capacity(n),
        flags: Vec::with_capacity(n),
        offsets: Vec::with_capacity(n + 1),
        data: Vec::with_capacity(bytes),
    };
    c.offsets.push(0);
    for h in parts.iter().flatten() {
        c.found.push(h.is_some());
        c.seqs.push(h.map_or(0, |h| h.0));
        c.flags.push(h.map_or(0, |h| h.1));
        if let Some((_, _, p)) = h {
            c.data.extend_from_slice(p);
        }
        c.offsets.push(c.data.len() as u64);
    }
    c
}

/// A version a person's list names, which `history` must hold.
fn stored_version<'t>(d: &Dbs, txn: &'t RoTxn<WithoutTls>, pid: u64, seq: u64) -> Result<&'t [u8]> {
    d.history
        .get(txn, &hist_key(seq))?
        .ok_or_else(|| StoreError::Corrupt(format!("person {pid} lists missing version {seq}")))
}

fn as_known_in(d: &Dbs, txn: &RoTxn<WithoutTls>, pid: u64, seq: u64) -> Result<Option<Version>> {
    match version_refs(version_list(d, txn, pid)?).map(|(_, s)| s).filter(|&s| s <= seq).max() {
        Some(s) => Ok(Some(parse_version(pid, s, stored_version(d, txn, pid, s)?)?)),
        None => Ok(None),
    }
}

fn as_of_in(d: &Dbs, txn: &RoTxn<WithoutTls>, pid: u64, date: &[u8; DATE_LEN], known_at: Option<u64>) -> Result<Option<Version>> {
    match pick_valid(version_list(d, txn, pid)?, date, known_at.unwrap_or(u64::MAX)) {
        Some(seq) => Ok(Some(parse_version(pid, seq, stored_version(d, txn, pid, seq)?)?)),
        None => Ok(None),
    }
}
