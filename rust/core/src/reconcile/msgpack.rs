//! Picking fields out of a stored record by position, without decoding it.
//!
//! The store keeps each record as an array-like MessagePack value (a msgspec Struct with
//! `array_like=True`: the items of the layout in order). Reconciling a store needs 8 of the 84
//! items of every person, so the core walks the array and returns the wanted strings as slices
//! of the stored bytes: no object per record, no copy, nothing decoded that is not needed.

/// Finds the elements at a fixed set of positions.
pub struct Picker {
    /// For each position up to the largest wanted: the output slot, if wanted.
    slot_of: Vec<Option<usize>>,
}

fn err(what: &str) -> String {
    format!("stored record is not array-like MessagePack: {what}")
}

fn be(d: &[u8], p: usize, n: usize) -> Result<usize, String> {
    let b = d.get(p..p + n).ok_or_else(|| err("truncated"))?;
    Ok(b.iter().fold(0usize, |a, &x| (a << 8) | x as usize))
}

/// Where the element at `p` ends. Nested arrays and maps are walked with a counter, not
/// recursion, so a hostile value cannot exhaust the stack.
fn skip(d: &[u8], mut p: usize) -> Result<usize, String> {
    let mut pending = 1usize;
    while pending > 0 {
        pending -= 1;
        let t = *d.get(p).ok_or_else(|| err("truncated"))?;
        p += 1;
        let (extra, children) = match t {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, 2 * (t & 0x0f) as usize),
            0x90..=0x9f => (0, (t & 0x0f) as usize),
            0xa0..=0xbf => ((t & 0x1f) as usize, 0),
            0xc4 | 0xd9 => (1 + be(d, p, 1)?, 0),
            0xc5 | 0xda => (2 + be(d, p, 2)?, 0),
            0xc6 | 0xdb => (4 + be(d, p, 4)?, 0),
            0xc7 => (2 + be(d, p, 1)?, 0),
            0xc8 => (3 + be(d, p, 2)?, 0),
            0xc9 => (5 + be(d, p, 4)?, 0),
            0xca => (4, 0),
            0xcb => (8, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xce | 0xd2 => (4, 0),
            0xcf | 0xd3 => (8, 0),
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xdc => (2, be(d, p, 2)?),
            0xdd => (4, be(d, p, 4)?),
            0xde => (2, 2 * be(d, p, 2)?),
            0xdf => (4, 2 * be(d, p, 4)?),
            0xc1 => return Err(err("reserved type byte")),
        };
        p += extra;
        if p > d.len() {
            return Err(err("truncated"));
        }
        pending += children;
    }
    Ok(p)
}

impl Picker {
    /// A picker of the elements at `positions` (distinct), into output slots in that order.
    pub fn new(positions: &[usize]) -> Result<Picker, String> {
        let max = positions.iter().copied().max().map_or(0, |m| m + 1);
        let mut slot_of = vec![None; max];
        for (slot, &p) in positions.iter().enumerate() {
            if slot_of[p].replace(slot).is_some() {
                return Err(format!("position {p} is asked for twice"));
            }
        }
        Ok(Picker { slot_of })
    }

    /// Fills `out[slot]` with the string at that slot's position: its bytes, empty for nil or for
    /// a position past the end of the array. Anything else there is an error.
    pub fn pick<'a>(&self, rec: &'a [u8], out: &mut [&'a [u8]]) -> Result<(), String> {
        out.iter_mut().for_each(|o| *o = &[]);
        let t = *rec.first().ok_or_else(|| err("empty"))?;
        let (n, mut p) = match t {
            0x90..=0x9f => ((t & 0x0f) as usize, 1),
            0xdc => (be(rec, 1, 2)?, 3),
            0xdd => (be(rec, 1, 4)?, 5),
            _ => return Err(err("not an array")),
        };
        for idx in 0..n.min(self.slot_of.len()) {
            match self.slot_of[idx] {
                None => p = skip(rec, p)?,
                Some(slot) => {
                    let t = *rec.get(p).ok_or_else(|| err("truncated"))?;
                    let (len, start) = match t {
                        0xa0..=0xbf => ((t & 0x1f) as usize, p + 1),
                        0xd9 => (be(rec, p + 1, 1)?, p + 2),
                        0xda => (be(rec, p + 1, 2)?, p + 3),
                        0xdb => (be(rec, p + 1, 4)?, p + 5),
                        0xc0 => (0, p + 1),
                        _ => return Err(err(&format!("element {idx} is not a string"))),
                    };
                    out[slot] = rec.get(start..start + len).ok_or_else(|| err("truncated"))?;
                    p = start + len;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Vec<u8> {
        let b = v.as_bytes();
        let mut out = match b.len() {
            0..=31 => vec![0xa0 | b.len() as u8],
            32..=255 => vec![0xd9, b.len() as u8],
            _ => vec![0xda, (b.len() >> 8) as u8, b.len() as u8],
        };
        out.extend_from_slice(b);
        out
    }

    #[test]
    fn picks_strings_and_skips_everything_else() {
        let long = "あ".repeat(40);
        let mut rec = vec![0xdc, 0, 8];
        rec.extend(s("zero"));
        rec.extend([0xcd, 1, 2]); // u16
        rec.extend([0x92, 0x01, 0x81, 0xa1, b'k', 0xc3]); // [1, {"k": true}]
        rec.extend(s(&long));
        rec.extend([0xc0]); // nil
        rec.extend([0xd7, 0, 1, 2, 3, 4, 5, 6, 7, 8]); // fixext8
        rec.extend(s(""));
        rec.extend(s("last"));
        let p = Picker::new(&[7, 0, 3, 4, 9]).unwrap();
        let mut out = [&b""[..]; 5];
        p.pick(&rec, &mut out).unwrap();
        assert_eq!(out[0], b"last");
        assert_eq!(out[1], b"zero");
        assert_eq!(out[2], long.as_bytes());
        assert_eq!(out[3], b"");
        assert_eq!(out[4], b""); // past the end
        assert!(Picker::new(&[1]).unwrap().pick(&rec, &mut out[..1]).is_err()); // an integer
        assert!(p.pick(&rec[..20], &mut out).is_err());
        assert!(p.pick(&[0x81], &mut out).is_err());
        assert!(Picker::new(&[1, 1]).is_err());
    }
}
