//! Proposals: changes that wait for a second operator (記載の修正 under dual control).
//!
//! A proposal is a list of steps, never overwritten: step 0 is the proposal itself, each later
//! step a decision about it (approval, rejection, withdrawal). The core does not know what the
//! steps mean (the Python layer encodes them); it keeps them durably beside the register, gives
//! out proposal ids, and makes deciding a race-free act: a step is written only if its
//! predecessor exists and it does not, so of two operators deciding at once exactly one wins.
//! An approval is written in the same transaction as the correction it approves
//! ([`Store::apply_with`]), and records the 更新順番号 that correction got.
//!
//! `proposals`: (proposal id u64 BE, step u32 BE) → (更新順番号 u64 LE, 0 for none) | value.

use std::ops::Bound;

use heed::{PutFlags, RoTxn, RwTxn, WithoutTls};

use super::history::Refusal;
use super::{be, Dbs, Result, Store, StoreError};

/// One stored step of a proposal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposalStep {
    pub id: u64,
    pub step: u32,
    /// The 更新順番号 written with this step (an approved correction), or 0.
    pub seq: u64,
    pub value: Vec<u8>,
}

/// A step to write: the next one of proposal `id`.
#[derive(Clone, Debug)]
pub struct StepWrite<'a> {
    pub id: u64,
    pub step: u32,
    pub value: &'a [u8],
}

fn key(id: u64, step: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&id.to_be_bytes());
    k[8..].copy_from_slice(&step.to_be_bytes());
    k
}

fn parse(k: &[u8], v: &[u8]) -> Result<ProposalStep> {
    if k.len() != 12 || v.len() < 8 {
        return Err(StoreError::Corrupt("proposal step malformed".into()));
    }
    Ok(ProposalStep {
        id: u64::from_be_bytes(k[..8].try_into().unwrap()),
        step: u32::from_be_bytes(k[8..].try_into().unwrap()),
        seq: u64::from_le_bytes(v[..8].try_into().unwrap()),
        value: v[8..].to_vec(),
    })
}

fn db(d: &Dbs) -> Result<&super::Db> {
    d.proposals.as_ref().ok_or_else(|| StoreError::NotAStore("the store has no proposals database (open it writable once)".into()))
}

/// Writes step `st` (recording `seq`) if its predecessor exists and it does not.
pub(crate) fn put_step(txn: &mut RwTxn, d: &Dbs, st: &StepWrite, seq: u64) -> Result<()> {
    let db = db(d)?;
    if st.step == 0 || db.get(txn, &key(st.id, st.step - 1))?.is_none() {
        return Err(StoreError::Refused { row: 0, refusal: Refusal::NoSuchProposal { id: st.id } });
    }
    let mut v = Vec::with_capacity(8 + st.value.len());
    v.extend_from_slice(&seq.to_le_bytes());
    v.extend_from_slice(st.value);
    match db.put_with_flags(txn, PutFlags::NO_OVERWRITE, &key(st.id, st.step), &v) {
        Ok(()) => Ok(()),
        Err(heed::Error::Mdb(heed::MdbError::KeyExist)) => {
            Err(StoreError::Refused { row: 0, refusal: Refusal::ProposalDecided { id: st.id } })
        }
        Err(e) => Err(e.into()),
    }
}

fn steps_in(d: &Dbs, txn: &RoTxn<WithoutTls>, after: u64, limit: usize) -> Result<Vec<ProposalStep>> {
    let db = db(d)?;
    let mut out: Vec<ProposalStep> = Vec::new();
    let mut ids = 0usize;
    let start = key(after.saturating_add(1), 0);
    for item in db.range(txn, &(Bound::Included(&start[..]), Bound::Unbounded))? {
        let (k, v) = item?;
        let s = parse(k, v)?;
        if out.last().is_none_or(|l| l.id != s.id) {
            if ids == limit {
                break;
            }
            ids += 1;
        }
        out.push(s);
    }
    Ok(out)
}

impl Store {
    /// Records a new proposal (its step 0) and returns its id (1, 2, ...; never reused).
    pub fn propose(&self, value: &[u8]) -> Result<u64> {
        self.write(|txn, d| {
            let pdb = db(d)?;
            // Ids come from a counter, never from the last key: an id is not reused even if the
            // proposals it named are erased one day.
            let id = match d.meta.get(txn, b"next_proposal")? {
                Some(v) => u64::from_be_bytes(v.try_into().map_err(|_| StoreError::Corrupt("meta counter width".into()))?),
                None => 1,
            };
            d.meta.put(txn, b"next_proposal", &be(id + 1))?;
            let mut v = Vec::with_capacity(8 + value.len());
            v.extend_from_slice(&0u64.to_le_bytes());
            v.extend_from_slice(value);
            pdb.put_with_flags(txn, PutFlags::APPEND, &key(id, 0), &v)?;
            Ok(id)
        })
    }

    /// Writes the next step of a proposal (a decision that changes nothing in the register).
    pub fn proposal_step(&self, st: &StepWrite) -> Result<()> {
        self.write(|txn, d| put_step(txn, d, st, 0))
    }

    /// Every step of one proposal, in order (empty when there is no such proposal).
    pub fn proposal(&self, id: u64) -> Result<Vec<ProposalStep>> {
        self.read(|txn, d| {
            let mut out = steps_in(d, txn, id.saturating_sub(1), 1)?;
            out.retain(|s| s.id == id);
            Ok(out)
        })
    }

    /// Steps of the proposals with ids above `after`, at most `limit` proposals, in id order.
    pub fn proposals(&self, after: u64, limit: usize) -> Result<Vec<ProposalStep>> {
        self.read(|txn, d| steps_in(d, txn, after, limit))
    }
}
