//! The store as a side: every person (removed persons included, as the annual reconciliation
//! sends them), their current record's compared fields, and the superseded 住民票コード of each.
//!
//! Built only on the store's public reads: persons in id order through bulk gets (one snapshot per
//! block of ids), fields picked out of the stored MessagePack by position ([`super::msgpack`]),
//! and superseded codes from the change feed (a version whose 住民票コード is not the person's
//! current one carries a code the person used to have).

use super::column::Column;
use super::msgpack::Picker;
use super::{parse_key, parse_mynumber, ReconcileError, Side, MYNUMBER_EMPTY};
use crate::store::{Lookup, Store};

/// Which items of a stored record a side needs.
#[derive(Clone, Debug)]
pub struct StorePositions {
    /// Positions of the kept items in a stored record (item number − 1 for the master layout);
    /// the indexes below point into this list.
    pub fields: Vec<usize>,
    pub key: usize,
    pub mynumber: Option<usize>,
    pub compared: Vec<usize>,
}

/// The store's persons as columns.
pub struct StoreSide {
    pub person_ids: Vec<u64>,
    /// Entry flags per person (bit 0: removed).
    pub flags: Vec<u8>,
    pub keys: Vec<u64>,
    pub status: Vec<u8>,
    pub mynumbers: Vec<u64>,
    /// Per kept item: Arrow-like (offsets, data).
    pub cols: Vec<(Vec<u64>, Vec<u8>)>,
    compared: Vec<usize>,
    pub superseded_old: Vec<u64>,
    pub superseded_new: Vec<u64>,
}

/// Person ids per bulk get: a few hundred megabytes of payloads at most.
const BLOCK: u64 = 1 << 18;
const CHANGES: usize = 1 << 16;

impl StoreSide {
    pub fn read(store: &Store, pos: &StorePositions) -> Result<StoreSide, ReconcileError> {
        let nf = pos.fields.len();
        if pos.key >= nf || pos.mynumber.is_some_and(|m| m >= nf) || pos.compared.iter().any(|&c| c >= nf) {
            return Err(ReconcileError::Input("a field index lies outside the kept fields".into()));
        }
        let picker = Picker::new(&pos.fields).map_err(ReconcileError::Input)?;
        let next = store
            .meta_get("next_person")?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| ReconcileError::Input("the store has no person counter".into()))?;
        let mut s = StoreSide {
            person_ids: Vec::new(),
            flags: Vec::new(),
            keys: Vec::new(),
            status: Vec::new(),
            mynumbers: Vec::new(),
            cols: vec![(vec![0u64], Vec::new()); nf],
            compared: pos.compared.clone(),
            superseded_old: Vec::new(),
            superseded_new: Vec::new(),
        };
        let mut start = 1u64;
        while start < next {
            let ids: Vec<u64> = (start..(start + BLOCK).min(next)).collect();
            start += BLOCK;
            let got = store.get_many(Lookup::PersonId, &ids)?;
            let mut out: Vec<&[u8]> = vec![&[]; nf];
            for i in 0..ids.len() {
                if !got.found[i] {
                    continue;
                }
                let rec = &got.data[got.offsets[i] as usize..got.offsets[i + 1] as usize];
                picker
                    .pick(rec, &mut out)
                    .map_err(|e| ReconcileError::Input(format!("person {}: {e}", got.person_ids[i])))?;
                let (key, st) = parse_key(out[pos.key]);
                s.person_ids.push(got.person_ids[i]);
                s.flags.push(got.flags[i]);
                s.keys.push(key);
                s.status.push(st);
                s.mynumbers.push(pos.mynumber.map_or(MYNUMBER_EMPTY, |m| parse_mynumber(out[m])));
                for (c, v) in s.cols.iter_mut().zip(&out) {
                    c.1.extend_from_slice(v);
                    c.0.push(c.1.len() as u64);
                }
            }
        }
        // Current code per person id, then every version under another code is a superseded one.
        let mut current = vec![0u64; next as usize];
        for (&pid, &k) in s.person_ids.iter().zip(&s.keys) {
            current[pid as usize] = k;
        }
        let mut pairs: Vec<(u64, u64)> = Vec::new();
        let mut since = 0u64;
        loop {
            let changes = store.changes(since, CHANGES)?;
            let Some(last) = changes.last() else { break };
            since = last.seq;
            for c in &changes {
                if let Some(v) = &c.version {
                    let now = current.get(v.person_id as usize).copied().unwrap_or(0);
                    if now != 0 && v.code != now {
                        pairs.push((v.code, now));
                    }
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        s.superseded_old = pairs.iter().map(|p| p.0).collect();
        s.superseded_new = pairs.iter().map(|p| p.1).collect();
        Ok(s)
    }

    pub fn rows(&self) -> usize {
        self.keys.len()
    }

    pub fn column(&self, c: usize) -> Column<'_> {
        Column::Var { offsets: &self.cols[c].0, data: &self.cols[c].1 }
    }

    pub fn side(&self) -> Side<'_> {
        let mut s = Side::new(&self.keys, &self.status, &self.mynumbers, self.compared.iter().map(|&c| self.column(c)).collect());
        s.superseded_old = &self.superseded_old;
        s.superseded_new = &self.superseded_new;
        s
    }
}
