//! Erasure: persons and versions whose retention period has ended are deleted, and the store is
//! rebuilt into a fresh file so that their bytes are gone from disk, not just unreachable.
//!
//! The core does not know retention rules (they are data, read by the Python layer); it offers
//! the pieces a purge is made of:
//! - candidates: removed persons with the date of their removal ([`Store::removed_persons`]) and
//!   superseded versions with the date they were superseded ([`Store::superseded_versions`]);
//! - legal holds, kept in `meta` under `hold/` + person id (u64 BE), which the caller checks;
//! - [`Store::erase_persons`] / [`Store::erase_versions`]: one write transaction per batch,
//!   idempotent (erasing what is gone already is a no-op), so a purge killed between batches and
//!   run again ends in the same state;
//! - [`Store::rebuild_into`]: a fresh environment filled by walking every database with cursors.
//!   LMDB's own compacting copy writes whole pages as they are, free space inside a page
//!   included, and that space may still hold deleted records; pages written fresh hold only what
//!   was put into them;
//! - [`Store::swap_in`]: the rebuilt file renamed over `data.mdb` (atomic), the directory synced,
//!   on a handle opened exclusively so that nobody else has the old file open.
//!
//! A change-log entry of an erased version is kept (the 更新順番号 stays taken, the feed ordered)
//! but marked purged: its version, the personal payload, is gone.

use std::ops::Bound;
use std::path::Path;

use heed::{EnvFlags, EnvOpenOptions, PutFlags, RwTxn};

use super::entry::{Entry, NO_MYNUMBER};
use super::entry::{version_refs, VERSION_REF};
use super::history::{hist_key, version_entry, DATE_LEN};
use super::{be, create_dbs, ik, parse_index_value, registry, Db, Dbs, Result, Store, StoreError};

/// Marker byte appended to a change-log value whose version was erased.
pub const CHANGE_PURGED: u8 = 0x01;

const HOLD_PREFIX: &[u8] = b"hold/";

/// Removed persons and the 異動年月日 of their current version (the removal, or a correction
/// dated like it): when the retention clock of a 除票 starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemovedPersons {
    pub pids: Vec<u64>,
    pub dates: Vec<[u8; DATE_LEN]>,
}

/// Superseded versions (not a person's current one) of persons who are not removed, with the
/// 異動年月日 of the version that superseded each: when the clock of a 履歴 starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SupersededVersions {
    pub pids: Vec<u64>,
    pub seqs: Vec<u64>,
    pub dates: Vec<[u8; DATE_LEN]>,
}

/// What one erase batch deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Erased {
    /// Persons deleted (absent ones are not counted: erasing is idempotent).
    pub persons: u64,
    /// Versions deleted from `history` (and from their person's list).
    pub versions: u64,
    /// Entries deleted from `by_code`, `by_mynumber`, `idx_name`, `idx_birth`.
    pub index_entries: u64,
    /// Change-log entries marked purged.
    pub changes_marked: u64,
    /// Proposal steps deleted.
    pub proposal_steps: u64,
    /// Mailing entries (pending or sent) about the persons, deleted.
    pub mailing_entries: u64,
}

/// What a rebuild wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rebuilt {
    pub entries: u64,
    pub bytes: u64,
}

fn hold_key(pid: u64) -> Vec<u8> {
    let mut k = HOLD_PREFIX.to_vec();
    k.extend_from_slice(&be(pid));
    k
}

/// Where the operator and terminal strings of a change value end (the value proper).
fn change_len(v: &[u8]) -> Option<usize> {
    let mut at = 18;
    for _ in 0..2 {
        let n = *v.get(at)? as usize;
        at += 1 + n;
    }
    (at <= v.len()).then_some(at)
}

/// Marks change `seq` purged if it is not yet; true when it changed.
fn mark_change(txn: &mut RwTxn, d: &Dbs, seq: u64) -> Result<bool> {
    let Some(v) = d.changes.get(txn, &be(seq))? else { return Ok(false) };
    let end = change_len(v).ok_or_else(|| StoreError::Corrupt(format!("change {seq} malformed")))?;
    if v.len() > end {
        return Ok(false);
    }
    let mut nv = v.to_vec();
    nv.push(CHANGE_PURGED);
    d.changes.put(txn, &be(seq), &nv)?;
    Ok(true)
}

/// Deletes a number's index entry if it points to `pid` (a number is never another person's, but
/// an index entry is only ever removed for the person it names).
fn drop_number(txn: &mut RwTxn, db: &Db, pid: u64, n: u64) -> Result<u64> {
    if n == NO_MYNUMBER {
        return Ok(0);
    }
    let owner = match db.get(txn, &ik(n))? {
        Some(v) => parse_index_value(v)?.0,
        None => return Ok(0),
    };
    if owner != pid {
        return Ok(0);
    }
    Ok(db.delete(txn, &ik(n))? as u64)
}

/// Deletes stored versions (of one person: the caller read them from the person's list) and
/// marks their changes; returns (versions, changes marked).
fn drop_versions(txn: &mut RwTxn, d: &Dbs, seqs: &[u64]) -> Result<(u64, u64)> {
    let (mut nv, mut nc) = (0u64, 0u64);
    for &seq in seqs {
        nv += d.history.delete(txn, &hist_key(seq))? as u64;
        nc += mark_change(txn, d, seq)? as u64;
    }
    Ok((nv, nc))
}

impl Store {
    /// Every removed person and the day their removal's clock starts, in person id order: the
    /// 異動年月日 of the version that removed them, that is the first of the removed versions
    /// recorded last. A version recorded after the removal (a correction of the 除票, whatever
    /// date it bears) does not move the clock.
    pub fn removed_persons(&self) -> Result<RemovedPersons> {
        self.read(|txn, d| {
            let mut out = RemovedPersons::default();
            for item in d.persons.iter(txn)? {
                let (k, v) = item?;
                if v.len() < 2 || v[1] & super::entry::flags::REMOVED == 0 {
                    continue;
                }
                let pid = super::from_ik(k).ok_or_else(|| StoreError::Corrupt("persons key width".into()))?;
                let e = Entry::decode(v)?;
                // The list is in 更新順番号 order: walk back from the current version.
                let refs: Vec<([u8; DATE_LEN], u64)> = version_refs(e.versions).collect();
                let mut start: Option<[u8; DATE_LEN]> = None;
                for &(_, seq) in refs.iter().rev() {
                    let Some(ver) = d.history.get(txn, &hist_key(seq))? else {
                        break; // purged while the person was a resident: before any removal
                    };
                    if version_entry(ver)?[1] & super::entry::flags::REMOVED == 0 {
                        break;
                    }
                    start = Some(ver[..DATE_LEN].try_into().unwrap());
                }
                let start = start.ok_or_else(|| StoreError::Corrupt(format!("person {pid}: removed, but no removed version")))?;
                out.pids.push(pid);
                out.dates.push(start);
            }
            Ok(out)
        })
    }

    /// Every superseded version of a person who is not removed, with the 異動年月日 of the version
    /// recorded after it (the moment it stopped being current), in (person, 更新順番号) order.
    pub fn superseded_versions(&self) -> Result<SupersededVersions> {
        self.read(|txn, d| {
            let mut out = SupersededVersions::default();
            // Each listed version but the last, with the date of the one after it. A removed
            // person's versions are left out: the whole record goes by the 除票 rule.
            for item in d.persons.iter(txn)? {
                let (k, raw) = item?;
                let pid = super::from_ik(k).ok_or_else(|| StoreError::Corrupt("persons key width".into()))?;
                if raw.len() < 2 || raw[1] & super::entry::flags::REMOVED != 0 {
                    continue;
                }
                let list: Vec<([u8; DATE_LEN], u64)> = version_refs(Entry::versions_of(raw)?).collect();
                for w in list.windows(2) {
                    out.pids.push(pid);
                    out.seqs.push(w[0].1);
                    out.dates.push(w[1].0);
                }
            }
            Ok(out)
        })
    }

    /// Deletes persons entirely, in one write transaction: the entry (with its list of versions),
    /// every version, every index entry (current and superseded numbers, search keys), their legal-hold
    /// record, their mailing entries (pending or sent: each names its addressee); marks their
    /// change-log entries purged; deletes the given proposals (every step).
    /// Persons already gone are skipped, so a batch can be run again.
    pub fn erase_persons(&self, pids: &[u64], proposal_ids: &[u64]) -> Result<Erased> {
        self.write(|txn, d| {
            let mut out = Erased::default();
            for &pid in pids {
                if let Some(raw) = d.persons.get(txn, &ik(pid))? {
                    let raw = raw.to_vec();
                    let e = Entry::decode(&raw)?;
                    let seqs: Vec<u64> = version_refs(e.versions).map(|(_, s)| s).collect();
                    for n in std::iter::once(e.code).chain(e.old_codes.iter().copied()) {
                        out.index_entries += drop_number(txn, &d.by_code, pid, n)?;
                    }
                    for n in std::iter::once(e.mynumber).chain(e.old_mynumbers.iter().copied()) {
                        out.index_entries += drop_number(txn, &d.by_mynumber, pid, n)?;
                    }
                    if !e.name_key.is_empty() && d.idx_name.delete_one_duplicate(txn, e.name_key, &be(pid))? {
                        out.index_entries += 1;
                    }
                    if !e.birth_key.is_empty() && d.idx_birth.delete_one_duplicate(txn, e.birth_key, &be(pid))? {
                        out.index_entries += 1;
                    }
                    d.persons.delete(txn, &ik(pid))?;
                    out.persons += 1;
                    let (nv, nc) = drop_versions(txn, d, &seqs)?;
                    out.versions += nv;
                    out.changes_marked += nc;
                }
                d.meta.delete(txn, &hold_key(pid))?;
            }
            if !pids.is_empty() {
                let set: std::collections::HashSet<u64> = pids.iter().copied().collect();
                out.mailing_entries += super::mailing::erase_of_persons(txn, d, &set)?;
            }
            if let Some(pdb) = d.proposals {
                for &id in proposal_ids {
                    let lo = be(id);
                    let hi = be(id.saturating_add(1));
                    let range = (Bound::Included(&lo[..]), Bound::Excluded(&hi[..]));
                    out.proposal_steps += pdb.delete_range(txn, &range)? as u64;
                }
            }
            Ok(out)
        })
    }

    /// Deletes superseded versions `(pids[i], seqs[i])` in one write transaction and marks their
    /// changes purged. A person's current version is refused (it is the record itself).
    pub fn erase_versions(&self, pids: &[u64], seqs: &[u64]) -> Result<Erased> {
        if pids.len() != seqs.len() {
            return Err(StoreError::BadQuery("as many sequence numbers as persons, please".into()));
        }
        self.write(|txn, d| {
            let mut out = Erased::default();
            for (row, (&pid, &seq)) in pids.iter().zip(seqs).enumerate() {
                let mut listed = false;
                if let Some(raw) = d.persons.get(txn, &ik(pid))? {
                    let e = Entry::decode(raw)?;
                    if e.seq == seq {
                        return Err(StoreError::BadQuery(format!("row {row}: version {seq} is person {pid}'s current record")));
                    }
                    let at = version_refs(e.versions).position(|(_, s)| s == seq);
                    if let Some(k) = at {
                        let mut list = e.versions.to_vec();
                        list.drain(k * VERSION_REF..(k + 1) * VERSION_REF);
                        // A superseded number no remaining version holds goes with the version:
                        // out of the index, and out of the lists of old numbers that the person's
                        // entry and each later version carry.
                        // Copied: the versions are rewritten below, while the transaction is written.
                        let mut raw = Vec::new();
                        for (_, s) in version_refs(&list) {
                            if let Some(v) = d.history.get(txn, &hist_key(s))? {
                                raw.push((s, v.to_vec()));
                            }
                        }
                        let kept: Vec<(u64, &[u8], Entry)> = raw
                            .iter()
                            .map(|(s, v)| Ok((*s, &v[..], Entry::decode(version_entry(v)?)?)))
                            .collect::<Result<_>>()?;
                        let codes: Vec<u64> = std::iter::once(e.code).chain(kept.iter().map(|k| k.2.code)).collect();
                        let mns: Vec<u64> = std::iter::once(e.mynumber).chain(kept.iter().map(|k| k.2.mynumber)).collect();
                        let (old_codes, gone_codes): (Vec<u64>, Vec<u64>) = e.old_codes.iter().partition(|c| codes.contains(c));
                        let (old_mns, gone_mns): (Vec<u64>, Vec<u64>) = e.old_mynumbers.iter().partition(|m| mns.contains(m));
                        let entry = Entry { versions: &list, old_codes, old_mynumbers: old_mns, ..e }.encode();
                        d.persons.put(txn, &ik(pid), &entry)?;
                        if !gone_codes.is_empty() || !gone_mns.is_empty() {
                            for (s, v, ve) in kept {
                                if ve.old_codes.iter().any(|c| gone_codes.contains(c)) || ve.old_mynumbers.iter().any(|m| gone_mns.contains(m)) {
                                    let head = &v[..v.len() - version_entry(v)?.len()];
                                    let ve = Entry {
                                        old_codes: ve.old_codes.iter().copied().filter(|c| !gone_codes.contains(c)).collect(),
                                        old_mynumbers: ve.old_mynumbers.iter().copied().filter(|m| !gone_mns.contains(m)).collect(),
                                        ..ve
                                    };
                                    let mut nv = head.to_vec();
                                    ve.encode_version_into(&mut nv);
                                    d.history.put(txn, &hist_key(s), &nv)?;
                                }
                            }
                        }
                        for n in gone_codes {
                            out.index_entries += drop_number(txn, &d.by_code, pid, n)?;
                        }
                        for n in gone_mns {
                            out.index_entries += drop_number(txn, &d.by_mynumber, pid, n)?;
                        }
                        listed = true;
                    }
                }
                // A version the person does not list is not theirs (or gone): only its change is marked.
                let (nv, nc) = if listed { drop_versions(txn, d, &[seq])? } else { (0, mark_change(txn, d, seq)? as u64) };
                out.versions += nv;
                out.changes_marked += nc;
            }
            Ok(out)
        })
    }

    /// Every 住民票コード and 個人番号 the given persons hold or held (superseded ones included), for
    /// the byte scan that proves a purge; persons absent are skipped.
    pub fn numbers_of(&self, pids: &[u64]) -> Result<(Vec<u64>, Vec<u64>)> {
        self.read(|txn, d| {
            let (mut codes, mut mns) = (Vec::new(), Vec::new());
            for &pid in pids {
                if let Some(raw) = d.persons.get(txn, &ik(pid))? {
                    let e = Entry::decode(raw)?;
                    codes.push(e.code);
                    codes.extend_from_slice(&e.old_codes);
                    mns.extend(std::iter::once(e.mynumber).chain(e.old_mynumbers.iter().copied()).filter(|&m| m != NO_MYNUMBER));
                }
            }
            Ok((codes, mns))
        })
    }

    /// For each 4情報 name key, whether a person outside `pids` holds it too (a namesake): such a
    /// name proves nothing in a byte scan, since the namesake's record rightly keeps it.
    pub fn name_keys_shared(&self, keys: &[&[u8]], pids: &[u64]) -> Result<Vec<bool>> {
        let own: std::collections::HashSet<u64> = pids.iter().copied().collect();
        self.read(|txn, d| {
            let mut out = Vec::with_capacity(keys.len());
            for k in keys {
                let mut shared = false;
                if !k.is_empty() && k.len() <= 511 {
                    if let Some(dups) = d.idx_name.get_duplicates(txn, k)? {
                        for item in dups {
                            let (_, v) = item?;
                            let pid = u64::from_be_bytes(v.try_into().map_err(|_| StoreError::Corrupt("idx_name value width".into()))?);
                            if !own.contains(&pid) {
                                shared = true;
                                break;
                            }
                        }
                    }
                }
                out.push(shared);
            }
            Ok(out)
        })
    }

    /// For each value, whether a person outside `pids` holds it as a 住民票コード or 個人番号 (current
    /// or superseded): a code of one person can have the value of another's My Number, and then
    /// its 8-byte form rightly stays in the store.
    pub fn numbers_shared(&self, values: &[u64], pids: &[u64]) -> Result<Vec<bool>> {
        let own: std::collections::HashSet<u64> = pids.iter().copied().collect();
        self.read(|txn, d| {
            let mut out = Vec::with_capacity(values.len());
            for &v in values {
                let mut shared = false;
                for db in [&d.by_code, &d.by_mynumber] {
                    if let Some(iv) = db.get(txn, &ik(v))? {
                        shared |= !own.contains(&parse_index_value(iv)?.0);
                    }
                }
                out.push(shared);
            }
            Ok(out)
        })
    }

    /// Records (or replaces) a legal hold on a person; `value` is the caller's record of it.
    pub fn hold_put(&self, pid: u64, value: &[u8]) -> Result<()> {
        self.write(|txn, d| {
            if d.persons.get(txn, &ik(pid))?.is_none() {
                return Err(StoreError::Refused { row: 0, refusal: super::Refusal::NoSuchPerson });
            }
            d.meta.put(txn, &hold_key(pid), value)?;
            Ok(())
        })
    }

    /// Lifts a legal hold; false when there was none.
    pub fn hold_delete(&self, pid: u64) -> Result<bool> {
        self.write(|txn, d| Ok(d.meta.delete(txn, &hold_key(pid))?))
    }

    /// Every legal hold, in person id order.
    pub fn holds(&self) -> Result<Vec<(u64, Vec<u8>)>> {
        self.read(|txn, d| {
            let mut out = Vec::new();
            for item in d.meta.prefix_iter(txn, HOLD_PREFIX)? {
                let (k, v) = item?;
                let pid = k
                    .get(HOLD_PREFIX.len()..)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(|| StoreError::Corrupt("hold key width".into()))?;
                out.push((pid, v.to_vec()));
            }
            Ok(out)
        })
    }

    /// Writes every database into a fresh environment in `dest` (a directory that must not hold a
    /// `data.mdb` yet), walking each with a cursor in key order; syncs and closes it. The new file
    /// holds only the live records: no free page and no stale byte of the old file comes along.
    ///
    /// With `skip_sent_mailing` the copy leaves out mailing entries already sent: that is a backup,
    /// which must never carry sent 送付先情報.
    pub fn rebuild_into(&self, dest: &Path, skip_sent_mailing: bool) -> Result<Rebuilt> {
        self.check_process()?;
        std::fs::create_dir_all(dest)?;
        if dest.join("data.mdb").exists() {
            return Err(StoreError::Exists(dest.display().to_string()));
        }
        let _g = self.resize.read().unwrap();
        let mut eo = EnvOpenOptions::new().read_txn_without_tls();
        eo.map_size(self.env.info().map_size).max_dbs(super::MAX_DBS).max_readers(super::MAX_READERS);
        // SAFETY: a new environment in a directory of its own, opened once and closed here.
        let env = unsafe {
            eo.flags(EnvFlags::NO_READ_AHEAD | EnvFlags::NO_SYNC);
            eo.open(dest)?
        };
        let mut wtxn = env.write_txn()?;
        let nd = create_dbs(&env, &mut wtxn)?;
        wtxn.commit()?;
        let rtxn = self.read_txn()?;
        let d = self.dbs;
        let mut pairs: Vec<(Db, Db, bool, bool)> = vec![
            (d.meta, nd.meta, false, false),
            (d.persons, nd.persons, false, false),
            (d.by_code, nd.by_code, false, false),
            (d.by_mynumber, nd.by_mynumber, false, false),
            (d.idx_name, nd.idx_name, true, false),
            (d.idx_birth, nd.idx_birth, true, false),
            (d.changes, nd.changes, false, false),
            (d.history, nd.history, false, false),
        ];
        if let (Some(a), Some(b)) = (d.proposals, nd.proposals) {
            pairs.push((a, b, false, false));
        }
        let mailing = d.mailing.zip(nd.mailing);
        if let Some((a, b)) = mailing {
            pairs.push((a, b, false, true));
        }
        // Commits every so many entries keep a write transaction's dirty pages bounded.
        const CHUNK: u64 = 200_000;
        let mut out = Rebuilt::default();
        for (src, dst, dup, is_mailing) in pairs {
            let mut w = env.write_txn()?;
            let mut n = 0u64;
            for item in src.iter(&rtxn)? {
                let (k, v) = item?;
                if skip_sent_mailing && is_mailing && super::mailing::is_sent(v) {
                    continue;
                }
                if dup {
                    dst.put(&mut w, k, v)?;
                } else {
                    dst.put_with_flags(&mut w, PutFlags::APPEND, k, v)?;
                }
                n += 1;
                if n.is_multiple_of(CHUNK) {
                    w.commit()?;
                    w = env.write_txn()?;
                }
            }
            w.commit()?;
            out.entries += n;
        }
        drop(rtxn);
        env.force_sync()?;
        let closing = env.prepare_for_closing();
        closing.wait();
        let f = std::fs::File::open(dest.join("data.mdb"))?;
        f.sync_all()?;
        out.bytes = f.metadata()?.len();
        Ok(out)
    }

    /// Puts `new_data` (a rebuilt `data.mdb`) in place of this store's data file: rename (atomic),
    /// then sync the directory. Only on a handle opened exclusively, so no other handle has the
    /// old file open; this handle is closed by it (every later call fails) and the store must be
    /// opened again.
    pub fn swap_in(&self, new_data: &Path) -> Result<()> {
        self.check_process()?;
        if !self.exclusive {
            return Err(StoreError::Busy("swapping the data file needs a handle opened exclusively".into()));
        }
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let _g = self.resize.write().unwrap();
        self.reads.clear();
        std::fs::File::open(new_data)?.sync_all()?;
        std::fs::rename(new_data, self.path.join("data.mdb"))?;
        std::fs::File::open(&self.path)?.sync_all()?;
        self.closed.store(true, std::sync::atomic::Ordering::Release);
        registry().lock().unwrap().remove(&(self.pid, self.path.clone()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{LoadOptions, NewPerson, OpenOptions, WriteMeta};

    fn person<'a>(code: u64, mynumber: u64, name: &'a [u8], payload: &'a [u8]) -> NewPerson<'a> {
        NewPerson {
            code,
            mynumber,
            name_key: name,
            birth_key: b"19800101",
            addr_key: b"addr",
            sex: 1,
            flags: super::super::entry::flags::REMOVED,
            payload,
            valid_from: *b"20100101",
            notified: *b"20100102",
        }
    }

    #[test]
    fn erase_rebuild_swap_leaves_no_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let (mut ids, mut mns) = ([0u64; 3], [0u64; 3]);
        crate::ids::generate(crate::ids::Kind::Juminhyo, 0, 3, 7, &mut ids).unwrap();
        crate::ids::generate(crate::ids::Kind::MyNumber, 0, 3, 7, &mut mns).unwrap();
        {
            let s = Store::create(&path, "131075", &OpenOptions::default()).unwrap();
            let meta = WriteMeta { operator: "op1", terminal: "t1", timestamp_us: 1, event: 0 };
            let ps = vec![
                person(ids[0], mns[0], b"ZQXJVWKEEP", b"KEEPPAYLOADKEEP"),
                person(ids[1], mns[1], b"ZQXJVWGONE", b"GONEPAYLOADGONE"),
                person(ids[2], mns[2], b"ZQXJVWHELD", b"HELDPAYLOADHELD"),
            ];
            s.load(&ps, &meta, &LoadOptions::default()).unwrap();
            let removed = s.removed_persons().unwrap();
            assert_eq!(removed.pids, vec![1, 2, 3]);
            assert_eq!(removed.dates[0], *b"20100101");
            s.hold_put(3, b"case 1").unwrap();
            assert_eq!(s.holds().unwrap(), vec![(3, b"case 1".to_vec())]);
            let e = s.erase_persons(&[2], &[]).unwrap();
            assert_eq!((e.persons, e.versions, e.index_entries, e.changes_marked), (1, 1, 4, 1));
            // Idempotent.
            assert_eq!(s.erase_persons(&[2], &[]).unwrap(), Erased::default());
            assert!(s.verify().unwrap().is_clean());
            let c = s.changes(0, 10).unwrap();
            assert_eq!(c.len(), 3);
            assert!(c[1].version.is_none() && c[0].version.is_some());
        }
        let s = Store::open(&path, &OpenOptions { exclusive: true, ..Default::default() }).unwrap();
        assert!(matches!(Store::open(&path, &OpenOptions::default()), Err(StoreError::Busy(_))));
        let tmp = path.join("rebuild");
        let r = s.rebuild_into(&tmp, false).unwrap();
        assert!(r.bytes > 0 && r.entries > 0);
        s.swap_in(&tmp.join("data.mdb")).unwrap();
        assert!(matches!(s.verify(), Err(StoreError::Busy(_))));
        drop(s);
        std::fs::remove_dir_all(&tmp).unwrap();
        let s = Store::open(&path, &OpenOptions::default()).unwrap();
        assert!(s.verify().unwrap().is_clean());
        assert_eq!(s.verify().unwrap().persons, 2);
        let bytes = std::fs::read(path.join("data.mdb")).unwrap();
        let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"KEEPPAYLOADKEEP") && has(b"ZQXJVWHELD"));
        assert!(!has(b"GONEPAYLOADGONE") && !has(b"ZQXJVWGONE"));
        assert!(!has(&ids[1].to_ne_bytes()) && !has(&mns[1].to_ne_bytes()));
        assert_eq!(s.holds().unwrap().len(), 1);
    }
}
