//! PyO3 bindings of jukistore-core, imported in Python as `jukistore._core`.
//!
//! Thin on purpose: argument conversion, releasing the GIL, and mapping errors to the typed
//! exceptions of `jukistore.errors`. Logic lives in jukistore-core.

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::{PyOverflowError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt, PyList, PyString};

use jukistore_core::ids::{self, Kind, Reason};
use jukistore_core::reconcile::msgpack::Picker;

mod bound;
mod person;

/// Large blocks mapped directly: see `jukistore_core::alloc`.
#[global_allocator]
static GLOBAL: jukistore_core::alloc::DirectLarge = jukistore_core::alloc::DirectLarge;

mod tally;
mod reconcile;
mod store;

fn kind_of(name: &str) -> PyResult<Kind> {
    Kind::from_name(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown identifier kind {name:?}; expected one of mynumber, juminhyo, lgcode, corporate"
        ))
    })
}

/// Occurrences of each needle (at least 8 bytes) in the files, summed over the files.
#[pyfunction]
fn scan_files<'py>(py: Python<'py>, paths: Vec<std::path::PathBuf>, needles: Vec<Vec<u8>>) -> PyResult<Bound<'py, PyArray1<u64>>> {
    use jukistore_core::scan::{self, ScanError};
    let r = py.detach(|| scan::scan_files(&paths, &needles));
    match r {
        Ok(v) => Ok(PyArray1::from_vec(py, v)),
        Err(ScanError::Short { index, len }) => {
            Err(PyValueError::new_err(format!("needle {index}: {len} bytes, at least {} needed", scan::MIN_NEEDLE)))
        }
        Err(e @ ScanError::Io(..)) => Err(pyo3::exceptions::PyOSError::new_err(e.to_string())),
    }
}

/// Reason code for one text value.
#[pyfunction]
fn explain_one(kind: &str, value: &str) -> PyResult<u8> {
    Ok(kind_of(kind)?.explain_str(value) as u8)
}

/// The check digit of a base given as text of exactly `len - 1` ASCII digits.
#[pyfunction]
fn check_digit(kind: &str, base: &str) -> PyResult<u8> {
    let kind = kind_of(kind)?;
    let b = base.as_bytes();
    if b.len() != kind.len() - 1 || !b.iter().all(u8::is_ascii_digit) {
        return Err(PyValueError::new_err(format!(
            "a {} base is {} ASCII digits",
            kind.name(),
            kind.len() - 1
        )));
    }
    let digits: Vec<u8> = b.iter().map(|c| c - b'0').collect();
    Ok(kind.check_digit_digits(&digits))
}

/// Reason codes for an array of unsigned integers.
#[pyfunction]
fn explain_u64<'py>(py: Python<'py>, kind: &str, values: PyReadonlyArray1<'py, u64>) -> PyResult<Bound<'py, PyArray1<u8>>> {
    let kind = kind_of(kind)?;
    let v = values.as_slice()?;
    let out = py.detach(|| {
        let mut out = vec![0u8; v.len()];
        ids::explain_u64_many(kind, v, &mut out);
        out
    });
    Ok(PyArray1::from_vec(py, out))
}

/// Reason codes for packed fixed-width fields of `width` code units each (bytes or UCS-4).
fn explain_packed<'py, T: numpy::Element + Copy + Into<u32> + Sync>(
    py: Python<'py>,
    kind: &str,
    data: PyReadonlyArray1<'py, T>,
    width: usize,
) -> PyResult<Bound<'py, PyArray1<u8>>> {
    let kind = kind_of(kind)?;
    let d = data.as_slice()?;
    let n = if width == 0 { 0 } else { d.len() / width };
    if width != 0 && d.len() % width != 0 {
        return Err(PyValueError::new_err("data length is not a multiple of width"));
    }
    let out = py.detach(|| {
        let mut out = vec![0u8; n];
        ids::explain_units_many(kind, d, width, &mut out);
        out
    });
    Ok(PyArray1::from_vec(py, out))
}

/// Reason codes for packed fixed-width byte fields (a numpy `S` array viewed as uint8).
#[pyfunction]
fn explain_bytes<'py>(py: Python<'py>, kind: &str, data: PyReadonlyArray1<'py, u8>, width: usize) -> PyResult<Bound<'py, PyArray1<u8>>> {
    explain_packed(py, kind, data, width)
}

/// Reason codes for packed fixed-width UCS-4 fields (a numpy `U` array viewed as uint32).
#[pyfunction]
fn explain_ucs4<'py>(py: Python<'py>, kind: &str, data: PyReadonlyArray1<'py, u32>, width: usize) -> PyResult<Bound<'py, PyArray1<u8>>> {
    explain_packed(py, kind, data, width)
}

/// Reason codes for a list of Python objects; anything but a str is a format error.
#[pyfunction]
fn explain_list<'py>(py: Python<'py>, kind: &str, values: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyArray1<u8>>> {
    let kind = kind_of(kind)?;
    let mut out = Vec::with_capacity(values.len());
    for item in values.iter() {
        let r = if let Ok(s) = item.cast::<PyString>() {
            match s.to_str() {
                Ok(t) => kind.explain_str(t),
                // A lone surrogate is not a digit, but length is checked first, as for any str.
                Err(_) => {
                    if s.len()? == kind.len() {
                        Reason::Format
                    } else {
                        Reason::Length
                    }
                }
            }
        } else if item.is_instance_of::<PyBool>() {
            Reason::Format
        } else if let Some(i) = as_int(&item) {
            // Integers as in arrays and the scalar API: leading zeros implied.
            match i.extract::<u64>() {
                Ok(v) => kind.explain_u64(v),
                Err(_) => {
                    if i.lt(0)? {
                        Reason::Format
                    } else {
                        Reason::Length
                    }
                }
            }
        } else {
            Reason::Format
        };
        out.push(r as u8);
    }
    Ok(PyArray1::from_vec(py, out))
}

/// An int, or an integer of another type (numpy's) through `__index__`, as the scalar API takes it.
fn as_int<'py>(item: &Bound<'py, PyAny>) -> Option<Bound<'py, PyInt>> {
    if let Ok(i) = item.cast::<PyInt>() {
        return Some(i.clone());
    }
    if !item.hasattr("__index__").unwrap_or(false) {
        return None;
    }
    item.call_method0("__index__").ok()?.cast_into::<PyInt>().ok()
}

/// The index of the first item of a MessagePack array that is not a string, or that breaks the
/// rule `rule` gives for its index (None: only being a string is checked); usize::MAX when the
/// bytes are not a whole array; None when every item is good.
fn first_fault_item(b: &[u8], rule: impl Fn(usize) -> Option<ItemRule>) -> Option<usize> {
    const MALFORMED: Option<usize> = Some(usize::MAX);
    let be = |at: usize, n: usize| -> Option<usize> { b.get(at..at + n).map(|s| s.iter().fold(0usize, |a, &x| a << 8 | x as usize)) };
    let (n, mut at) = match b.first() {
        Some(&h @ 0x90..=0x9f) => ((h & 0x0f) as usize, 1),
        Some(0xdc) => match be(1, 2) { Some(n) => (n, 3), None => return MALFORMED },
        Some(0xdd) => match be(1, 4) { Some(n) => (n, 5), None => return MALFORMED },
        _ => return MALFORMED,
    };
    for i in 0..n {
        let (len, head) = match b.get(at) {
            Some(&h @ 0xa0..=0xbf) => (Some((h & 0x1f) as usize), 1),
            Some(0xd9) => (be(at + 1, 1), 2),
            Some(0xda) => (be(at + 1, 2), 3),
            Some(0xdb) => (be(at + 1, 4), 5),
            Some(_) => return Some(i),
            None => return MALFORMED,
        };
        let Some(len) = len else { return MALFORMED };
        let Some(value) = b.get(at + head..at + head + len) else { return MALFORMED };
        if let Some(rule) = rule(i) {
            if !rule.holds(value) {
                return Some(i);
            }
        }
        at += head + len;
    }
    if at == b.len() { None } else { MALFORMED }
}

/// What an item may hold, as `jukistore.fileio.values` states it: at most `width` characters,
/// no control character (U+0000-U+001F, U+007F), no trailing space, and by kind: any text (0),
/// ASCII digits (1), empty or 8 ASCII digits (2, a date), upper-case hexadecimal (3), printable
/// ASCII (4).
#[derive(Clone, Copy)]
struct ItemRule {
    kind: u8,
    width: u32,
}

impl ItemRule {
    fn holds(self, v: &[u8]) -> bool {
        if v.is_empty() {
            return true;
        }
        // UTF-8 from msgspec: one character per byte that does not continue one, so a value of
        // no more bytes than the width fits without counting (most values: ASCII, or short).
        if v[v.len() - 1] == b' '
            || (v.len() > self.width as usize && v.iter().filter(|&&c| c & 0xc0 != 0x80).count() > self.width as usize)
        {
            return false;
        }
        match self.kind {
            1 => v.iter().all(u8::is_ascii_digit),
            2 => v.len() == 8 && v.iter().all(u8::is_ascii_digit),
            3 => v.iter().all(|&c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c)),
            4 => v.iter().all(|&c| (0x20..0x7f).contains(&c)),
            _ => !v.iter().any(|&c| c < 0x20 || c == 0x7f),
        }
    }
}

/// (row, item) of the first record, encoded as the record classes encode (a MessagePack array of
/// strings), holding an item that is not a string or that breaks its rule (`kinds` and `widths`,
/// one per item: see `ItemRule`); item is -1 when the bytes are no such array. None when all are
/// good. The write paths call it before anything is written: a value of another type would be
/// stored and make every later read of the record fail, and a value outside its item's layout
/// would make every later export of it fail.
#[pyfunction]
#[pyo3(signature = (payloads, kinds=None, widths=None))]
fn first_value_fault(payloads: Vec<Bound<'_, PyBytes>>, kinds: Option<Vec<u8>>, widths: Option<Vec<u32>>) -> PyResult<Option<(usize, i64)>> {
    let (kinds, widths) = (kinds.unwrap_or_default(), widths.unwrap_or_default());
    if kinds.len() != widths.len() {
        return Err(pyo3::exceptions::PyValueError::new_err("one kind and one width per item"));
    }
    let rules: Vec<ItemRule> = kinds.iter().zip(&widths).map(|(&kind, &width)| ItemRule { kind, width }).collect();
    Ok(payloads.iter().enumerate().find_map(|(row, p)| {
        first_fault_item(p.as_bytes(), |i| rules.get(i).copied()).map(|k| (row, if k == usize::MAX { -1 } else { k as i64 }))
    }))
}

/// The index of the first value of a column (a MessagePack array of strings, as msgspec encodes a
/// list of str) that is not a string or breaks the one rule (`kind`, `width`: see `ItemRule`) of
/// the item it is for; -1 when the bytes are not such an array; None when all are good. The bulk
/// write of one item for many persons checks its column with it, before anything is written.
#[pyfunction]
fn first_column_fault(column: &Bound<'_, PyBytes>, kind: u8, width: u32) -> Option<i64> {
    let rule = ItemRule { kind, width };
    first_fault_item(column.as_bytes(), |_| Some(rule)).map(|k| if k == usize::MAX { -1 } else { k as i64 })
}

/// ASCII digits of exactly `width` as a number.
fn digits(v: &[u8], width: usize) -> Option<u64> {
    (v.len() == width && v.iter().all(u8::is_ascii_digit)).then(|| v.iter().fold(0u64, |a, &c| a * 10 + (c - b'0') as u64))
}

/// A recorded date as 8 ASCII bytes: empty is unknown (00000000); otherwise 8 digits with no
/// month above 12 and no day above 31 (00 is an unknown part; impossible days are kept).
fn date8(v: &[u8]) -> Option<[u8; 8]> {
    if v.is_empty() {
        return Some(*b"00000000");
    }
    digits(v, 8)?;
    let two = |k: usize| (v[k] - b'0') * 10 + (v[k + 1] - b'0');
    (two(4) <= 12 && two(6) <= 31).then(|| v.try_into().unwrap())
}

/// The columns a load indexes, read from the encoded records (`positions`: where 住民票コード,
/// 個人番号, 性別, 消除事由, 生年月日, 異動年月日 and 届出年月日 lie in a record): (codes, 個人番号 (2^64 - 1 for
/// none), sex codes, removed flags, birth dates as given, change dates and notification dates as
/// 8 bytes each). Records are picked as the reconciliation picks them (`Picker`); the write paths
/// have already refused any that is not a whole array of strings. None when any record holds
/// anything but the plain form (11 and 12 ASCII digits, a sex code of 1, 2, 9 or empty, dates of
/// 8 digits or empty): the caller then reads the columns itself and names what is wrong. One pass in the core instead of a Python call per record and
/// item, in the thread that prepares a load's next batch.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn load_columns<'py>(
    py: Python<'py>,
    payloads: Vec<Bound<'py, PyBytes>>,
    positions: [usize; 7],
) -> PyResult<Option<(Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u8>>, Bound<'py, PyArray1<u8>>, Bound<'py, PyList>, Bound<'py, PyArray1<u8>>, Bound<'py, PyArray1<u8>>)>> {
    let picker = Picker::new(&positions).map_err(PyValueError::new_err)?;
    let n = payloads.len();
    let (mut codes, mut mns, mut sexes, mut flags) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut births, mut valid, mut notified) = (Vec::with_capacity(n), Vec::with_capacity(n * 8), Vec::with_capacity(n * 8));
    for p in &payloads {
        let mut item: [&[u8]; 7] = [&[]; 7];
        if picker.pick(p.as_bytes(), &mut item).is_err() {
            return Ok(None);
        }
        let [code, mn, sex, removed, birth, change, note] = item;
        let (Some(code), Some(sex)) = (digits(code, 11), match sex { b"1" => Some(1u8), b"2" => Some(2), b"9" => Some(9), b"" => Some(0), _ => None }) else {
            return Ok(None);
        };
        let mn = if mn.is_empty() { u64::MAX } else { match digits(mn, 12) { Some(m) => m, None => return Ok(None) } };
        let (Some(_), Some(change), Some(note)) = (date8(birth), date8(change), date8(note)) else { return Ok(None) };
        codes.push(code);
        mns.push(mn);
        sexes.push(sex);
        flags.push(u8::from(!(removed.is_empty() || removed == b"0")));
        births.push(birth);
        valid.extend_from_slice(&change);
        notified.extend_from_slice(&note);
    }
    let births = PyList::new(py, births.into_iter().map(|b| PyBytes::new(py, b)))?;
    Ok(Some((
        PyArray1::from_vec(py, codes),
        PyArray1::from_vec(py, mns),
        PyArray1::from_vec(py, sexes),
        PyArray1::from_vec(py, flags),
        births,
        PyArray1::from_vec(py, valid),
        PyArray1::from_vec(py, notified),
    )))
}

/// `n` distinct valid synthetic numbers, deterministic from `seed`, from position `start`.
#[pyfunction]
#[pyo3(signature = (kind, n, seed, start=0))]
fn generate<'py>(py: Python<'py>, kind: &str, n: usize, seed: u64, start: u64) -> PyResult<Bound<'py, PyArray1<u64>>> {
    let kind = kind_of(kind)?;
    let out = py.detach(|| {
        let mut out = vec![0u64; n];
        ids::generate(kind, start, n, seed, &mut out).map(|_| out)
    });
    match out {
        Ok(v) => Ok(PyArray1::from_vec(py, v)),
        Err(e) => Err(PyOverflowError::new_err(e.to_string())),
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("PARALLEL_MIN", ids::PARALLEL_MIN)?;
    m.add_function(wrap_pyfunction!(explain_one, m)?)?;
    m.add_function(wrap_pyfunction!(check_digit, m)?)?;
    m.add_function(wrap_pyfunction!(explain_u64, m)?)?;
    m.add_function(wrap_pyfunction!(explain_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(explain_ucs4, m)?)?;
    m.add_function(wrap_pyfunction!(explain_list, m)?)?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(scan_files, m)?)?;
    m.add_function(wrap_pyfunction!(first_value_fault, m)?)?;
    m.add_function(wrap_pyfunction!(first_column_fault, m)?)?;
    m.add_function(wrap_pyfunction!(load_columns, m)?)?;
    m.add_class::<store::NativeStore>()?;
    m.add_class::<store::PendingLoad>()?;
    m.add("LoadSkipped", m.py().get_type::<store::LoadSkipped>())?;
    m.add_class::<person::Person>()?;
    m.add_class::<tally::Tally>()?;
    m.add_class::<bound::RightsClock>()?;
    m.add_class::<bound::BoundGet>()?;
    m.add_function(wrap_pyfunction!(person::register_person_support, m)?)?;
    m.add_class::<reconcile::NativeSide>()?;
    m.add_function(wrap_pyfunction!(reconcile::reconcile, m)?)?;
    m.add_function(wrap_pyfunction!(reconcile::reconcile_codes, m)?)?;
    Ok(())
}
