//! CSV files as sides: a header of field names, then RFC 4180 records (fields separated by
//! commas, quoted with double quotes, a quote inside doubled, records ending with LF or CRLF).
//!
//! Unlike a fixed-width file, a CSV field has no fixed place in its row, so the values of the
//! needed fields are copied into Arrow-like columns while the file is read once. Records that do
//! not have the header's number of fields, or whose quoting is broken, get the status
//! [`BAD_ROW`] and keep their line number; they do not stop the run. Blank lines are skipped.
//! Bytes are taken as they are (UTF-8 or cp932: no byte of a cp932 multi-byte character can be a
//! comma, a quote or a line feed).

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use super::column::Column;
use super::{parse_key, parse_mynumber, ReconcileError, Side, BAD_ROW};

/// Which fields of the file a side needs, by header name.
#[derive(Clone, Debug)]
pub struct CsvSpec {
    /// The fields to keep, by header name (bytes in the file's encoding); the indexes below point
    /// into this list.
    pub names: Vec<Vec<u8>>,
    pub key: usize,
    pub mynumber: Option<usize>,
    pub compared: Vec<usize>,
}

/// A CSV file read as a side.
pub struct CsvFile {
    pub keys: Vec<u64>,
    pub status: Vec<u8>,
    pub mynumbers: Vec<u64>,
    /// The 1-based line each record starts on.
    pub lines: Vec<u64>,
    /// Per kept field: Arrow-like (offsets, data).
    pub cols: Vec<(Vec<u64>, Vec<u8>)>,
    compared: Vec<usize>,
}

/// One field of a record: its bytes in the file, and whether it holds doubled quotes.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    escaped: bool,
}

/// Parses the record starting at `pos`: its fields, where the next record starts, how many line
/// feeds it consumed, and whether its quoting was broken.
fn record(d: &[u8], mut pos: usize, fields: &mut Vec<Span>) -> (usize, u64, bool) {
    fields.clear();
    let mut lines = 0;
    let mut bad = false;
    loop {
        if pos < d.len() && d[pos] == b'"' {
            let start = pos + 1;
            let mut i = start;
            let mut escaped = false;
            loop {
                match d[i..].iter().position(|&b| b == b'"') {
                    None => {
                        // Unterminated: the rest of the file is this field.
                        lines += d[start..].iter().filter(|&&b| b == b'\n').count() as u64;
                        fields.push(Span { start, end: d.len(), escaped });
                        return (d.len(), lines + 1, true);
                    }
                    Some(q) => {
                        i += q;
                        if d.get(i + 1) == Some(&b'"') {
                            escaped = true;
                            i += 2;
                        } else {
                            break;
                        }
                    }
                }
            }
            lines += d[start..i].iter().filter(|&&b| b == b'\n').count() as u64;
            fields.push(Span { start, end: i, escaped });
            pos = i + 1;
            // After the closing quote: a separator, a line end or the end of the file.
            let rest = d[pos..].iter().position(|&b| b == b',' || b == b'\n').map_or(d.len(), |p| pos + p);
            let tail = &d[pos..rest];
            if !(tail.is_empty() || tail == b"\r") {
                bad = true;
            }
            pos = rest;
        } else {
            let end = d[pos..].iter().position(|&b| b == b',' || b == b'\n').map_or(d.len(), |p| pos + p);
            let mut e = end;
            if e > pos && d[e - 1] == b'\r' && (e == d.len() || d[e] == b'\n') {
                e -= 1;
            }
            fields.push(Span { start: pos, end: e, escaped: false });
            pos = end;
        }
        match d.get(pos) {
            Some(b',') => pos += 1,
            Some(b'\n') => return (pos + 1, lines + 1, bad),
            _ => return (d.len(), lines + 1, bad),
        }
    }
}

fn push_value(col: &mut (Vec<u64>, Vec<u8>), d: &[u8], s: Option<Span>) {
    if let Some(s) = s {
        let v = &d[s.start..s.end];
        if s.escaped {
            let mut k = 0;
            while k < v.len() {
                col.1.push(v[k]);
                k += if v[k] == b'"' && v.get(k + 1) == Some(&b'"') { 2 } else { 1 };
            }
        } else {
            col.1.extend_from_slice(v);
        }
    }
    col.0.push(col.1.len() as u64);
}

impl CsvFile {
    pub fn open(path: &Path, spec: CsvSpec) -> Result<CsvFile, ReconcileError> {
        let name = path.display().to_string();
        let io = |source| ReconcileError::Io { path: name.clone(), source };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        // SAFETY: read-only map of an exchange file that is not being written (see fixed.rs).
        let map = if len == 0 { None } else { Some(unsafe { Mmap::map(&file) }.map_err(io)?) };
        let d: &[u8] = map.as_deref().unwrap_or(&[]);
        let mut d = d;
        if d.starts_with(b"\xef\xbb\xbf") {
            d = &d[3..]; // a UTF-8 byte order mark is not part of the first field name
        }
        let mut spans = Vec::new();
        let (mut pos, nl, bad) = record(d, 0, &mut spans);
        if d.is_empty() || bad {
            return Err(ReconcileError::Format { path: name, message: "no readable CSV header".into() });
        }
        let header: Vec<&[u8]> = spans.iter().map(|s| &d[s.start..s.end]).collect();
        let mut at = Vec::with_capacity(spec.names.len());
        for (j, n) in spec.names.iter().enumerate() {
            // A name asked for twice (two items of one layout share a Japanese name) is read from
            // the header's columns of that name in order: the k-th time from the k-th column.
            let k = spec.names[..j].iter().filter(|m| *m == n).count();
            match header.iter().enumerate().filter(|(_, h)| **h == n.as_slice()).nth(k).map(|(i, _)| i) {
                Some(i) => at.push(i),
                None => {
                    let n = String::from_utf8_lossy(n);
                    return Err(ReconcileError::Format { path: name, message: format!("the CSV header has no field {n:?}") });
                }
            }
        }
        let ncols = header.len();
        let mut line = 1 + nl;
        let mut f = CsvFile {
            keys: Vec::new(),
            status: Vec::new(),
            mynumbers: Vec::new(),
            lines: Vec::new(),
            cols: vec![(vec![0u64], Vec::new()); spec.names.len()],
            compared: spec.compared.clone(),
        };
        while pos < d.len() {
            let (next, nl, bad) = record(d, pos, &mut spans);
            let start_line = line;
            line += nl;
            pos = next;
            if spans.len() == 1 && spans[0].end == spans[0].start && !bad {
                continue; // blank line
            }
            let ok = !bad && spans.len() == ncols;
            for (c, &i) in f.cols.iter_mut().zip(&at) {
                push_value(c, d, if ok { Some(spans[i]) } else { None });
            }
            let r = f.keys.len();
            let value = |c: usize| {
                let (o, v) = &f.cols[c];
                &v[o[r] as usize..o[r + 1] as usize]
            };
            let (key, st) = if ok { parse_key(value(spec.key)) } else { (0, BAD_ROW) };
            let mn = spec.mynumber.map_or(super::MYNUMBER_EMPTY, |m| parse_mynumber(value(m)));
            f.keys.push(key);
            f.status.push(st);
            f.mynumbers.push(mn);
            f.lines.push(start_line);
        }
        Ok(f)
    }

    pub fn rows(&self) -> usize {
        self.keys.len()
    }

    /// Column `c` of the kept fields.
    pub fn column(&self, c: usize) -> Column<'_> {
        Column::Var { offsets: &self.cols[c].0, data: &self.cols[c].1 }
    }

    pub fn side(&self) -> Side<'_> {
        Side::new(&self.keys, &self.status, &self.mynumbers, self.compared.iter().map(|&c| self.column(c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Kind;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f.flush().unwrap();
        f
    }

    fn spec() -> CsvSpec {
        CsvSpec { names: vec![b"code".to_vec(), b"name".to_vec(), b"mn".to_vec()], key: 0, mynumber: Some(2), compared: vec![1, 2] }
    }

    #[test]
    fn quoting_line_numbers_and_bad_records() {
        let base = 1_234_567_890u64;
        let code = format!("{base}{}", Kind::Juminhyo.check_digit_u64(base));
        let text = format!(
            "mn,name,code\r\n\
             ,\"a,b\",{code}\r\n\
             \"\",\"multi\nline \"\"q\"\"\",{code}\n\
             \n\
             1,2\n\
             123456789018,plain,00000000000\n\
             ,\"broken\"x,1\n\
             ,last,{code}"
        );
        let f = file(&text);
        let c = CsvFile::open(f.path(), spec()).unwrap();
        assert_eq!(c.rows(), 6);
        assert_eq!(c.lines, vec![2, 3, 6, 7, 8, 9]);
        let side = c.side();
        assert_eq!(side.fields[0].get(0), b"a,b");
        assert_eq!(side.fields[0].get(1), b"multi\nline \"q\"");
        // 00000000000 has a valid check digit (all zeros).
        assert_eq!(c.status, vec![0, 0, BAD_ROW, 0, BAD_ROW, 0]);
        assert_eq!(c.keys[3], 0);
        assert_eq!(c.mynumbers[3], 123456789018);
        assert_eq!(c.mynumbers[0], super::super::MYNUMBER_EMPTY);
        assert_eq!(side.fields[0].get(2), b"");
        assert_eq!(c.keys[0].to_string(), code);
    }

    #[test]
    fn a_name_asked_for_twice_reads_its_columns_in_order() {
        let f = file("code,d,mn,d\n00000000000,first,,second\n");
        let mut sp = spec();
        sp.names = vec![b"code".to_vec(), b"d".to_vec(), b"mn".to_vec(), b"d".to_vec()];
        sp.compared = vec![1, 3];
        let c = CsvFile::open(f.path(), sp).unwrap();
        assert_eq!(c.column(1).get(0), b"first");
        assert_eq!(c.column(3).get(0), b"second");
        // Asked for more often than the header has it: refused.
        let mut sp = spec();
        sp.names = vec![b"code".to_vec(), b"d".to_vec(), b"mn".to_vec(), b"d".to_vec(), b"d".to_vec()];
        sp.compared = vec![1, 3, 4];
        let f = file("code,d,mn,d\n00000000000,first,,second\n");
        assert!(matches!(CsvFile::open(f.path(), sp), Err(ReconcileError::Format { .. })));
    }

    #[test]
    fn header_problems() {
        let f = file("code,name\n1,2\n");
        assert!(matches!(CsvFile::open(f.path(), spec()), Err(ReconcileError::Format { .. })));
        let f = file("");
        assert!(matches!(CsvFile::open(f.path(), spec()), Err(ReconcileError::Format { .. })));
        let f = file("\u{feff}code,name,mn\n");
        assert_eq!(CsvFile::open(f.path(), spec()).unwrap().rows(), 0);
    }
}
