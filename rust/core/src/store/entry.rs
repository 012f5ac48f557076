//! The person entry: what the `persons` database holds for each internal person id.
//!
//! The core does not know what a record means; Python hands it MessagePack bytes (the payload).
//! But the core must be able to check its own indexes (`verify`) and filter search results
//! without decoding the payload, so an entry carries, beside the payload, the keys it is indexed
//! under: the current and superseded 住民票コード and 個人番号, the 4情報 search keys and flags.
//!
//! A person's entry also lists the person's versions (異動年月日, 更新順番号), in 更新順番号 order:
//! the valid-time index of the history, kept in the page an update rewrites anyway. Versions
//! stored in `history` carry an entry with an empty list.
//!
//! Layout (integers little-endian; these are values, never compared as keys):
//! ```text
//! u8 format (=2) | u8 flags | u8 sex | u8 reserved | u64 seq | u64 code | u64 mynumber
//! u16 n_old_codes | u16 n_old_mynumbers | u16 name_len | u16 birth_len | u16 addr_len | u32 n_versions
//! [u64; n_old_codes] | [u64; n_old_mynumbers] | [(date: 8 ASCII digits, seq: u64 BE); n_versions]
//! name | birth | addr | payload (to the end)
//! ```

use super::StoreError;

pub const FORMAT: u8 = 2;
/// Bytes of one (異動年月日, 更新順番号) of a person's version list.
pub const VERSION_REF: usize = 16;
/// No 個人番号 recorded (a value no valid 12-digit number can take).
pub const NO_MYNUMBER: u64 = u64::MAX;

/// Entry flags.
pub mod flags {
    /// The person is removed (除票): 転出, 死亡, 職権消除.
    pub const REMOVED: u8 = 1;
    /// 更新禁止フラグ: the record must not be updated.
    pub const UPDATE_PROHIBITED: u8 = 2;
}

const FIXED: usize = 4 + 8 * 3 + 2 * 5 + 4;

/// A decoded person entry borrowing from the stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub flags: u8,
    pub sex: u8,
    pub seq: u64,
    pub code: u64,
    pub mynumber: u64,
    pub old_codes: Vec<u64>,
    pub old_mynumbers: Vec<u64>,
    /// The person's versions, [`VERSION_REF`] bytes each (see [`version_refs`]).
    pub versions: &'a [u8],
    pub name_key: &'a [u8],
    pub birth_key: &'a [u8],
    pub addr_key: &'a [u8],
    pub payload: &'a [u8],
}

fn u16_at(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// One version reference: (異動年月日, 更新順番号).
pub fn version_ref(date: &[u8; 8], seq: u64) -> [u8; VERSION_REF] {
    let mut r = [0u8; VERSION_REF];
    r[..8].copy_from_slice(date);
    r[8..].copy_from_slice(&seq.to_be_bytes());
    r
}

/// The (異動年月日, 更新順番号) pairs of a version list.
pub fn version_refs(list: &[u8]) -> impl Iterator<Item = ([u8; 8], u64)> + '_ {
    list.chunks_exact(VERSION_REF).map(|c| (c[..8].try_into().unwrap(), u64::from_be_bytes(c[8..].try_into().unwrap())))
}

impl<'a> Entry<'a> {
    pub fn encoded_len(&self) -> usize {
        FIXED
            + 8 * (self.old_codes.len() + self.old_mynumbers.len())
            + self.versions.len()
            + self.name_key.len()
            + self.birth_key.len()
            + self.addr_key.len()
            + self.payload.len()
    }

    /// Appends the encoded entry to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        self.encode_with(self.versions, out);
    }

    /// Appends the entry as a stored version holds it (without the version list) to `out`.
    pub fn encode_version_into(&self, out: &mut Vec<u8>) {
        self.encode_with(b"", out);
    }

    fn encode_with(&self, versions: &[u8], out: &mut Vec<u8>) {
        debug_assert!(versions.len().is_multiple_of(VERSION_REF));
        out.reserve(self.encoded_len());
        out.extend_from_slice(&[FORMAT, self.flags, self.sex, 0]);
        for v in [self.seq, self.code, self.mynumber] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for n in [
            self.old_codes.len(),
            self.old_mynumbers.len(),
            self.name_key.len(),
            self.birth_key.len(),
            self.addr_key.len(),
        ] {
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        out.extend_from_slice(&((versions.len() / VERSION_REF) as u32).to_le_bytes());
        for v in self.old_codes.iter().chain(&self.old_mynumbers) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(versions);
        out.extend_from_slice(self.name_key);
        out.extend_from_slice(self.birth_key);
        out.extend_from_slice(self.addr_key);
        out.extend_from_slice(self.payload);
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode_into(&mut v);
        v
    }

    /// Decodes an entry, checking every length against the buffer.
    pub fn decode(b: &'a [u8]) -> Result<Entry<'a>, StoreError> {
        let bad = |why: &str| StoreError::Corrupt(format!("person entry: {why}"));
        if b.len() < FIXED {
            return Err(bad("too short"));
        }
        if b[0] != FORMAT {
            return Err(bad("unknown format"));
        }
        let n_oc = u16_at(b, 28);
        let n_om = u16_at(b, 30);
        let (ln, lb, la) = (u16_at(b, 32), u16_at(b, 34), u16_at(b, 36));
        let nv = u32_at(b, 38);
        let mut at = FIXED;
        let need = at + 8 * (n_oc + n_om) + VERSION_REF * nv + ln + lb + la;
        if b.len() < need {
            return Err(bad("lengths exceed the entry"));
        }
        let old_codes = (0..n_oc).map(|i| u64_at(b, at + 8 * i)).collect();
        at += 8 * n_oc;
        let old_mynumbers = (0..n_om).map(|i| u64_at(b, at + 8 * i)).collect();
        at += 8 * n_om;
        let versions = &b[at..at + VERSION_REF * nv];
        at += VERSION_REF * nv;
        let name_key = &b[at..at + ln];
        at += ln;
        let birth_key = &b[at..at + lb];
        at += lb;
        let addr_key = &b[at..at + la];
        at += la;
        Ok(Entry {
            flags: b[1],
            sex: b[2],
            seq: u64_at(b, 4),
            code: u64_at(b, 12),
            mynumber: u64_at(b, 20),
            old_codes,
            old_mynumbers,
            versions,
            name_key,
            birth_key,
            addr_key,
            payload: &b[at..],
        })
    }

    /// Only the payload, without decoding the rest (the hot path of `get_many`).
    pub fn payload_of(b: &'a [u8]) -> Result<&'a [u8], StoreError> {
        if b.len() < FIXED || b[0] != FORMAT {
            return Err(StoreError::Corrupt("person entry: bad header".into()));
        }
        let n = 8 * (u16_at(b, 28) + u16_at(b, 30)) + VERSION_REF * u32_at(b, 38) + u16_at(b, 32) + u16_at(b, 34) + u16_at(b, 36);
        b.get(FIXED + n..).ok_or_else(|| StoreError::Corrupt("person entry: lengths exceed the entry".into()))
    }

    /// The flags, 更新順番号, the two current numbers and the payload, without decoding the rest
    /// (the hot path of a single get).
    pub fn head_of(b: &'a [u8]) -> Result<(u8, u64, u64, u64, &'a [u8]), StoreError> {
        let payload = Self::payload_of(b)?;
        Ok((b[1], u64_at(b, 4), u64_at(b, 12), u64_at(b, 20), payload))
    }

    /// Only the version list, without decoding the rest (the hot path of as-of lookups).
    pub fn versions_of(b: &'a [u8]) -> Result<&'a [u8], StoreError> {
        if b.len() < FIXED || b[0] != FORMAT {
            return Err(StoreError::Corrupt("person entry: bad header".into()));
        }
        let at = FIXED + 8 * (u16_at(b, 28) + u16_at(b, 30));
        b.get(at..at + VERSION_REF * u32_at(b, 38)).ok_or_else(|| StoreError::Corrupt("person entry: lengths exceed the entry".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let e = Entry {
            flags: flags::REMOVED,
            sex: 2,
            seq: 77,
            code: 12345678901,
            mynumber: NO_MYNUMBER,
            old_codes: vec![1, 2],
            old_mynumbers: vec![3],
            versions: &[version_ref(b"20200101", 5), version_ref(b"20240000", 77)].concat(),
            name_key: "ヤマダタロウ".as_bytes(),
            birth_key: b"19800301",
            addr_key: "東京都墨田区".as_bytes(),
            payload: b"\x93\x01\x02\x03",
        };
        let b = e.encode();
        assert_eq!(b.len(), e.encoded_len());
        assert_eq!(Entry::decode(&b).unwrap(), e);
        assert_eq!(Entry::payload_of(&b).unwrap(), e.payload);
        assert_eq!(Entry::versions_of(&b).unwrap(), e.versions);
        assert_eq!(version_refs(e.versions).collect::<Vec<_>>(), vec![(*b"20200101", 5), (*b"20240000", 77)]);
        let mut v = Vec::new();
        e.encode_version_into(&mut v);
        assert_eq!(Entry::decode(&v).unwrap(), Entry { versions: b"", ..e.clone() });
        assert!(Entry::decode(&b[..10]).is_err());
        let mut truncated = b.clone();
        truncated.truncate(FIXED + 8);
        assert!(Entry::decode(&truncated).is_err());
    }
}
