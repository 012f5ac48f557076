//! Positional patches of a record: set some items of a MessagePack array of strings.
//!
//! Records are array-like msgspec Structs of text items, so item `k` of the master file is element
//! `k - 1` of a MessagePack array. Most events set a few items of a person's current record (a
//! 転居 sets the address and the register's own bookkeeping items); the Python layer would have to
//! decode 84 items, replace a few and encode them again, per event. A patch does the same on the
//! bytes: the core still does not know what an item means, only where it is.

use super::{Result, StoreError};

fn bad(why: &str) -> StoreError {
    StoreError::Corrupt(format!("record is not a MessagePack array of strings: {why}"))
}

/// The array length and the offset of its first element.
fn array_header(b: &[u8]) -> Result<(usize, usize)> {
    match *b.first().ok_or_else(|| bad("empty"))? {
        t @ 0x90..=0x9f => Ok(((t & 0x0f) as usize, 1)),
        0xdc if b.len() >= 3 => Ok((u16::from_be_bytes([b[1], b[2]]) as usize, 3)),
        0xdd if b.len() >= 5 => Ok((u32::from_be_bytes([b[1], b[2], b[3], b[4]]) as usize, 5)),
        _ => Err(bad("no array header")),
    }
}

/// (header length, body length) of the string at the start of `b`.
fn str_at(b: &[u8]) -> Result<(usize, usize)> {
    let (h, n) = match *b.first().ok_or_else(|| bad("truncated"))? {
        t @ 0xa0..=0xbf => (1, (t & 0x1f) as usize),
        0xd9 if b.len() >= 2 => (2, b[1] as usize),
        0xda if b.len() >= 3 => (3, u16::from_be_bytes([b[1], b[2]]) as usize),
        0xdb if b.len() >= 5 => (5, u32::from_be_bytes([b[1], b[2], b[3], b[4]]) as usize),
        _ => return Err(bad("an element is not a string")),
    };
    if b.len() < h + n {
        return Err(bad("truncated string"));
    }
    Ok((h, n))
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    let n = s.len();
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n < 256 {
        out.extend_from_slice(&[0xd9, n as u8]);
    } else if n < 65536 {
        out.push(0xda);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

/// Appends `payload` with the elements at `fields` (position, UTF-8 text; positions ascending)
/// replaced to `out`. Returns whether any element at a position of `must` changed.
pub fn patch_array(payload: &[u8], fields: &[(usize, &[u8])], must: &[usize], out: &mut Vec<u8>) -> Result<bool> {
    let (len, mut at) = array_header(payload)?;
    out.reserve(payload.len() + fields.iter().map(|f| f.1.len()).sum::<usize>());
    out.extend_from_slice(&payload[..at]);
    let mut next = fields.iter().peekable();
    let mut changed = false;
    for pos in 0..len {
        let (h, n) = str_at(&payload[at..])?;
        match next.peek() {
            Some(&&(p, v)) if p == pos => {
                next.next();
                if v != &payload[at + h..at + h + n] {
                    changed |= must.contains(&pos);
                }
                put_str(out, v);
            }
            _ => out.extend_from_slice(&payload[at..at + h + n]),
        }
        at += h + n;
    }
    if let Some((p, _)) = next.next() {
        return Err(StoreError::BadQuery(format!("item position {p} is past the record's {len} items")));
    }
    if at != payload.len() {
        return Err(bad("bytes after the array"));
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(items: &[&str]) -> Vec<u8> {
        let mut v = vec![0xdc, 0, items.len() as u8];
        for s in items {
            put_str(&mut v, s.as_bytes());
        }
        v
    }

    #[test]
    fn replaces_only_the_given_positions() {
        let long = "東".repeat(30); // 90 bytes: str8
        let p = arr(&["a", "", &long, "d"]);
        let mut out = b"head".to_vec();
        let ch = patch_array(&p, &[(1, "x".as_bytes()), (2, "y".repeat(300).as_bytes())], &[1], &mut out).unwrap();
        assert!(ch);
        assert_eq!(out, [&b"head"[..], &arr(&["a", "x", &"y".repeat(300), "d"])].concat());
        out.clear();
        // Same value at the must position: no change reported.
        let ch = patch_array(&p, &[(0, b"a"), (3, b"e")], &[0], &mut out).unwrap();
        assert!(!ch);
        assert_eq!(out, arr(&["a", "", &long, "e"]));
        out.clear();
        assert!(patch_array(&p, &[(4, b"z")], &[], &mut out).is_err());
        assert!(patch_array(&p[..p.len() - 1], &[], &[], &mut out).is_err());
        assert!(patch_array(&[0x93, 0x01, 0xa0, 0xa0], &[], &[], &mut out).is_err());
        let small = vec![0x92, 0xa1, b'q', 0xa0];
        out.clear();
        patch_array(&small, &[(1, b"r")], &[], &mut out).unwrap();
        assert_eq!(out, vec![0x92, 0xa1, b'q', 0xa1, b'r']);
    }
}
