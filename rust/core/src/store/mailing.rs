//! 送付先情報 (mailing data): what the municipality sends to J-LIS so it can mail My Number
//! notices and card forms. It is kept only until sent and then under a year (L3061, L3075), and
//! never taken into backups (L5314): a backup ([`Store::rebuild_into`] with `skip_sent_mailing`)
//! leaves sent entries out, and a purge retires the sent entries whose year is up.
//!
//! `mailing`: mailing id (u64 BE, from the `next_mailing` counter, never reused) →
//! `state u8 (0 pending, 1 sent) | sent date (8 ASCII digits, zeros while pending) | person id
//! (u64 LE) | payload` (the 送付先 record as the Python layer encodes it).

use std::ops::Bound;

use super::history::DATE_LEN;
use super::{be, Db, Dbs, Result, Store, StoreError};

pub const PENDING: u8 = 0;
pub const SENT: u8 = 1;
const HEAD: usize = 1 + DATE_LEN + 8;

/// One mailing entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailingEntry {
    pub id: u64,
    pub sent: Option<[u8; DATE_LEN]>,
    pub person_id: u64,
    pub payload: Vec<u8>,
}

pub(crate) fn db(d: &Dbs) -> Result<&Db> {
    d.mailing.as_ref().ok_or_else(|| StoreError::NotAStore("the store has no mailing database (open it writable once)".into()))
}

/// True for a value of a sent entry.
pub(crate) fn is_sent(v: &[u8]) -> bool {
    v.first() == Some(&SENT)
}

/// The person an entry's value is about; None when the value is too short to be an entry.
fn person_of(v: &[u8]) -> Option<u64> {
    v.get(1 + DATE_LEN..HEAD).map(|b| u64::from_le_bytes(b.try_into().unwrap()))
}

fn parse(k: &[u8], v: &[u8]) -> Result<MailingEntry> {
    let (Ok(id), Some(person_id)) = (<[u8; 8]>::try_from(k), person_of(v)) else {
        return Err(StoreError::Corrupt("mailing entry malformed".into()));
    };
    Ok(MailingEntry {
        id: u64::from_be_bytes(id),
        sent: is_sent(v).then(|| v[1..1 + DATE_LEN].try_into().unwrap()),
        person_id,
        payload: v[HEAD..].to_vec(),
    })
}

/// Deletes every mailing entry, pending or sent, about one of `pids` (their persons are being
/// purged: an entry names its addressee); returns how many.
pub(crate) fn erase_of_persons(txn: &mut heed::RwTxn, d: &Dbs, pids: &std::collections::HashSet<u64>) -> Result<u64> {
    let Some(m) = d.mailing.as_ref() else { return Ok(0) };
    let mut doomed = Vec::new();
    for item in m.iter(txn)? {
        let (k, v) = item?;
        if k.len() == 8 && person_of(v).is_some_and(|p| pids.contains(&p)) {
            doomed.push(k.to_vec());
        }
    }
    for k in &doomed {
        m.delete(txn, k)?;
    }
    Ok(doomed.len() as u64)
}

fn sent_before(v: &[u8], before: &[u8; DATE_LEN]) -> bool {
    is_sent(v) && v.len() >= HEAD && v[1..1 + DATE_LEN] < before[..]
}

impl Store {
    /// Records mailing entries (pending) for persons; returns the first id (the rest follow).
    pub fn mailing_add(&self, person_ids: &[u64], payloads: &[&[u8]]) -> Result<u64> {
        if person_ids.len() != payloads.len() {
            return Err(StoreError::BadQuery("as many payloads as persons, please".into()));
        }
        self.write(|txn, d| {
            let m = db(d)?;
            let first = match d.meta.get(txn, b"next_mailing")? {
                Some(v) => u64::from_be_bytes(v.try_into().map_err(|_| StoreError::Corrupt("meta counter width".into()))?),
                None => 1,
            };
            let mut v = Vec::new();
            for (i, (&pid, p)) in person_ids.iter().zip(payloads).enumerate() {
                v.clear();
                v.push(PENDING);
                v.extend_from_slice(&[b'0'; DATE_LEN]);
                v.extend_from_slice(&pid.to_le_bytes());
                v.extend_from_slice(p);
                m.put_with_flags(txn, heed::PutFlags::APPEND, &be(first + i as u64), &v)?;
            }
            d.meta.put(txn, b"next_mailing", &be(first + person_ids.len() as u64))?;
            Ok(first)
        })
    }

    /// Marks entries sent on `date`; entries sent already keep their date. Returns how many changed;
    /// an unknown id is refused (row = its position).
    pub fn mailing_mark_sent(&self, ids: &[u64], date: &[u8; DATE_LEN]) -> Result<u64> {
        self.write(|txn, d| {
            let m = db(d)?;
            let mut n = 0;
            for (row, &id) in ids.iter().enumerate() {
                let v = m
                    .get(txn, &be(id))?
                    .ok_or(StoreError::BadQuery(format!("row {row}: no mailing entry {id}")))?;
                if is_sent(v) {
                    continue;
                }
                let mut nv = v.to_vec();
                nv[0] = SENT;
                nv[1..1 + DATE_LEN].copy_from_slice(date);
                m.put(txn, &be(id), &nv)?;
                n += 1;
            }
            Ok(n)
        })
    }

    /// Entries with ids above `after`, at most `limit`, in id order.
    pub fn mailing_list(&self, after: u64, limit: usize) -> Result<Vec<MailingEntry>> {
        self.read(|txn, d| {
            let m = db(d)?;
            let start = be(after.saturating_add(1));
            let mut out = Vec::new();
            for item in m.range(txn, &(Bound::Included(&start[..]), Bound::Unbounded))? {
                if out.len() >= limit {
                    break;
                }
                let (k, v) = item?;
                out.push(parse(k, v)?);
            }
            Ok(out)
        })
    }

    /// How many entries were sent before `before`.
    pub fn mailing_count_before(&self, before: &[u8; DATE_LEN]) -> Result<u64> {
        self.read(|txn, d| {
            let mut n = 0;
            for item in db(d)?.iter(txn)? {
                n += sent_before(item?.1, before) as u64;
            }
            Ok(n)
        })
    }

    /// Deletes the entries sent before `before` (pending ones are never touched); returns how many.
    /// The bytes leave the files with the rebuild that ends a purge.
    pub fn mailing_retire(&self, before: &[u8; DATE_LEN]) -> Result<u64> {
        self.write(|txn, d| {
            let m = db(d)?;
            let mut ids = Vec::new();
            for item in m.iter(txn)? {
                let (k, v) = item?;
                if sent_before(v, before) {
                    ids.push(k.to_vec());
                }
            }
            for k in &ids {
                m.delete(txn, k)?;
            }
            Ok(ids.len() as u64)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{OpenOptions, Store};

    #[test]
    fn sent_entries_retire_after_their_date_and_stay_out_of_backups() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::create(&dir.path().join("s"), "131075", &OpenOptions::default()).unwrap();
        let first = s.mailing_add(&[7, 8, 9], &[b"MAILPENDING-0001", b"MAILSENTOLD-0002", b"MAILSENTNEW-0003"]).unwrap();
        assert_eq!(first, 1);
        assert_eq!(s.mailing_mark_sent(&[2], b"20240101").unwrap(), 1);
        assert_eq!(s.mailing_mark_sent(&[3, 2], b"20250601").unwrap(), 1);
        assert!(s.mailing_mark_sent(&[99], b"20250601").is_err());
        let all = s.mailing_list(0, 10).unwrap();
        assert_eq!(all[1].sent, Some(*b"20240101"));
        assert_eq!((all[0].sent, all[0].person_id), (None, 7));
        assert_eq!(s.mailing_count_before(b"20250101").unwrap(), 1);
        let backup = dir.path().join("backup");
        s.rebuild_into(&backup, true).unwrap();
        let bytes = std::fs::read(backup.join("data.mdb")).unwrap();
        let has = |n: &[u8]| bytes.windows(n.len()).any(|w| w == n);
        assert!(has(b"MAILPENDING-0001") && !has(b"MAILSENTOLD-0002") && !has(b"MAILSENTNEW-0003"));
        assert_eq!(s.mailing_retire(b"20250101").unwrap(), 1);
        assert_eq!(s.mailing_retire(b"20250101").unwrap(), 0);
        let ids: Vec<u64> = s.mailing_list(0, 10).unwrap().iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![1, 3]);
        // Ids are never reused.
        assert_eq!(s.mailing_add(&[10], &[b"x"]).unwrap(), 4);
    }
}
