//! Binding of reconciliation: `jukistore._core.NativeSide` (a fixed-width file, a CSV file or a
//! store read into columns) and `jukistore._core.reconcile`, wrapped by `jukistore.reconcile`.
//!
//! A side given as numpy arrays is borrowed for the call, never copied; a NativeSide owns its
//! integer columns and (for fixed-width files) a read-only map of the file. Every call releases
//! the GIL while it works.

use std::path::PathBuf;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use jukistore_core::reconcile::csv::{CsvFile, CsvSpec};
use jukistore_core::reconcile::fixed::{Field, Fingerprint, FixedFile, FixedSpec};
use jukistore_core::reconcile::source_store::{StorePositions, StoreSide};
use jukistore_core::reconcile::{self as rc, Column, Options, ReconcileError, Side};
use jukistore_core::store::{OpenOptions, Store, StoreError};

/// Raises the matching exception: OS errors as OSError (FileNotFoundError and so on, by errno),
/// the rest as `jukistore.errors.ReconcileError` or the store's error classes.
fn to_py(py: Python<'_>, e: ReconcileError) -> PyErr {
    let (cls, msg) = match &e {
        ReconcileError::Io { path, source } => {
            return match source.raw_os_error() {
                Some(errno) => PyOSError::new_err((errno, source.to_string(), path.clone())),
                None => PyOSError::new_err(e.to_string()),
            };
        }
        ReconcileError::Store(StoreError::NotAStore(_)) => ("NotAStore", e.to_string()),
        ReconcileError::Store(StoreError::Corrupt(_)) => ("StoreCorrupt", e.to_string()),
        ReconcileError::Store(StoreError::Lmdb(_) | StoreError::Io(_)) => ("LmdbError", e.to_string()),
        ReconcileError::Store(_) => ("StoreError", e.to_string()),
        ReconcileError::Input(_) | ReconcileError::Format { .. } => ("ReconcileError", e.to_string()),
    };
    let build = || -> PyResult<PyErr> {
        let class = py.import("jukistore.errors")?.getattr(cls)?;
        Ok(PyErr::from_value(class.call1((msg.clone(),))?))
    };
    build().unwrap_or_else(|err| err)
}

enum Inner {
    Fixed { file: FixedFile, columns: Vec<Field> },
    Csv(CsvFile),
    Store(StoreSide),
}

/// One side read natively: a fixed-width file (memory-mapped), a CSV file or a store.
#[pyclass(module = "jukistore._core", frozen)]
pub struct NativeSide {
    inner: Inner,
}

fn field_list(columns: &[(usize, usize)], idx: &[usize]) -> PyResult<Vec<Field>> {
    idx.iter()
        .map(|&i| {
            columns
                .get(i)
                .map(|&(offset, width)| Field { offset, width })
                .ok_or_else(|| PyValueError::new_err(format!("column {i} is not among the {} columns", columns.len())))
        })
        .collect()
}

#[pymethods]
impl NativeSide {
    /// Maps and reads a fixed-width file. `columns` are (offset, width) of every field of the
    /// layout; `key`, `mynumber` and `compared` index into them. With `seed`, rows are
    /// fingerprinted while read: their trimmed values, or with `raw` the field bytes as they lie
    /// (only comparable with a file of the same field widths).
    #[staticmethod]
    #[pyo3(signature = (path, record_width, columns, key, mynumber, compared, seed=None, raw=false))]
    #[allow(clippy::too_many_arguments)]
    fn fixed(
        py: Python<'_>,
        path: PathBuf,
        record_width: usize,
        columns: Vec<(usize, usize)>,
        key: usize,
        mynumber: Option<usize>,
        compared: Vec<usize>,
        seed: Option<u64>,
        raw: bool,
    ) -> PyResult<Self> {
        let spec = FixedSpec {
            record_width,
            key: field_list(&columns, &[key])?[0],
            mynumber: mynumber.map(|m| field_list(&columns, &[m])).transpose()?.map(|v| v[0]),
            compared: field_list(&columns, &compared)?,
        };
        let columns: Vec<Field> = columns.iter().map(|&(offset, width)| Field { offset, width }).collect();
        let fp = seed.map(|s| if raw { Fingerprint::Raw(s) } else { Fingerprint::Trimmed(s) });
        let file = py.detach(|| FixedFile::open(&path, spec, fp)).map_err(|e| to_py(py, e))?;
        Ok(NativeSide { inner: Inner::Fixed { file, columns } })
    }

    /// Reads a CSV file with a header; `names` are the header names (bytes in the file's encoding)
    /// of the fields to keep, the indexes point into them.
    #[staticmethod]
    #[pyo3(signature = (path, names, key, mynumber, compared))]
    fn csv(py: Python<'_>, path: PathBuf, names: Vec<Vec<u8>>, key: usize, mynumber: Option<usize>, compared: Vec<usize>) -> PyResult<Self> {
        let n = names.len();
        if key >= n || mynumber.is_some_and(|m| m >= n) || compared.iter().any(|&c| c >= n) {
            return Err(PyValueError::new_err("a field index lies outside the names given"));
        }
        let spec = CsvSpec { names, key, mynumber, compared };
        let file = py.detach(|| CsvFile::open(&path, spec)).map_err(|e| to_py(py, e))?;
        Ok(NativeSide { inner: Inner::Csv(file) })
    }

    /// Reads every person of the store at `path`; `positions` are the kept items' positions in a
    /// stored record, the indexes point into them.
    #[staticmethod]
    #[pyo3(signature = (path, positions, key, mynumber, compared))]
    fn store(py: Python<'_>, path: PathBuf, positions: Vec<usize>, key: usize, mynumber: Option<usize>, compared: Vec<usize>) -> PyResult<Self> {
        let pos = StorePositions { fields: positions, key, mynumber, compared };
        let r = py.detach(|| -> Result<StoreSide, ReconcileError> {
            let store = Store::open(&path, &OpenOptions { readonly: true, ..Default::default() })?;
            StoreSide::read(&store, &pos)
        });
        Ok(NativeSide { inner: Inner::Store(r.map_err(|e| to_py(py, e))?) })
    }

    /// "fixed", "csv" or "store".
    #[getter]
    fn kind(&self) -> &'static str {
        match self.inner {
            Inner::Fixed { .. } => "fixed",
            Inner::Csv(_) => "csv",
            Inner::Store(_) => "store",
        }
    }

    #[getter]
    fn rows(&self) -> usize {
        self.with_side(|s| s.rows())
    }

    /// False when a fixed-width file had lines of another length (rows were split at line feeds).
    #[getter]
    fn aligned(&self) -> bool {
        match &self.inner {
            Inner::Fixed { file, .. } => file.aligned(),
            _ => true,
        }
    }

    /// 住民票コード per row (a copy).
    fn keys<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        PyArray1::from_slice(py, self.with_side(|s| s.keys.to_vec()).as_slice())
    }

    /// Key status per row: 0 ok, 1 length, 2 format, 3 checksum, 4 malformed row.
    fn status<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u8>> {
        PyArray1::from_vec(py, self.with_side(|s| s.status.to_vec()))
    }

    /// 個人番号 per row; 2**64-1 none, 2**64-2 not 12 digits.
    fn mynumbers<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        PyArray1::from_vec(py, self.with_side(|s| s.mynumbers.to_vec()))
    }

    /// The 1-based line of each row (files), or None (a store).
    fn lines<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<u64>>> {
        match &self.inner {
            Inner::Fixed { file, .. } => Some(PyArray1::from_vec(py, (1..=file.rows() as u64).collect())),
            Inner::Csv(c) => Some(PyArray1::from_slice(py, &c.lines)),
            Inner::Store(_) => None,
        }
    }

    /// (person_ids, flags) of a store side, else None.
    #[allow(clippy::type_complexity)]
    fn persons<'py>(&self, py: Python<'py>) -> Option<(Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u8>>)> {
        match &self.inner {
            Inner::Store(s) => Some((PyArray1::from_slice(py, &s.person_ids), PyArray1::from_slice(py, &s.flags))),
            _ => None,
        }
    }

    /// (old, current) superseded 住民票コード known to this side.
    fn superseded<'py>(&self, py: Python<'py>) -> (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u64>>) {
        let (o, n) = self.with_side(|s| (s.superseded_old.to_vec(), s.superseded_new.to_vec()));
        (PyArray1::from_vec(py, o), PyArray1::from_vec(py, n))
    }

    /// Values of column `column` at `rows`, Arrow-like (offsets, data), padding removed.
    #[allow(clippy::type_complexity)]
    fn gather<'py>(
        &self,
        py: Python<'py>,
        column: usize,
        rows: PyReadonlyArray1<'py, u32>,
    ) -> PyResult<(Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u8>>)> {
        let rows = rows.as_slice()?;
        let (o, d) = match &self.inner {
            Inner::Fixed { file, columns } => {
                let f = *columns.get(column).ok_or_else(|| PyValueError::new_err(format!("no column {column}")))?;
                py.detach(|| file.gather(f, rows)).map_err(|e| to_py(py, e))?
            }
            Inner::Csv(c) => {
                if column >= c.cols.len() {
                    return Err(PyValueError::new_err(format!("no column {column}")));
                }
                py.detach(|| gather_var(c.column(column), c.rows(), rows))
            }
            Inner::Store(s) => {
                if column >= s.cols.len() {
                    return Err(PyValueError::new_err(format!("no column {column}")));
                }
                py.detach(|| gather_var(s.column(column), s.rows(), rows))
            }
        };
        Ok((PyArray1::from_vec(py, o), PyArray1::from_vec(py, d)))
    }

    /// Drops the file's pages from this process's mapping (no-op for other sides).
    fn release(&self) {
        if let Inner::Fixed { file, .. } = &self.inner {
            file.release();
        }
    }

    fn __repr__(&self) -> String {
        format!("NativeSide(kind={:?}, rows={})", self.kind(), self.rows())
    }
}

fn gather_var(col: Column<'_>, n: usize, rows: &[u32]) -> (Vec<u64>, Vec<u8>) {
    let mut offsets = Vec::with_capacity(rows.len() + 1);
    offsets.push(0u64);
    let mut data = Vec::new();
    for &r in rows {
        if (r as usize) < n {
            data.extend_from_slice(col.get(r as usize));
        }
        offsets.push(data.len() as u64);
    }
    (offsets, data)
}

impl NativeSide {
    fn with_side<R>(&self, f: impl FnOnce(&Side<'_>) -> R) -> R {
        match &self.inner {
            Inner::Fixed { file, .. } => f(&file.side()),
            Inner::Csv(c) => f(&c.side()),
            Inner::Store(s) => f(&s.side()),
        }
    }
}

/// A side given as numpy arrays, borrowed for the call.
struct ArraySide<'py> {
    keys: PyReadonlyArray1<'py, u64>,
    status: PyReadonlyArray1<'py, u8>,
    mynumbers: PyReadonlyArray1<'py, u64>,
    fields: Vec<ArrayField<'py>>,
    sup_old: PyReadonlyArray1<'py, u64>,
    sup_new: PyReadonlyArray1<'py, u64>,
}

enum ArrayField<'py> {
    Fixed { data: PyReadonlyArray1<'py, u8>, width: usize, stride: usize, offset: usize },
    Var { offsets: PyReadonlyArray1<'py, u64>, data: PyReadonlyArray1<'py, u8> },
}

impl<'py> ArraySide<'py> {
    fn extract(t: &Bound<'py, PyAny>) -> PyResult<Self> {
        let t = t.cast::<PyTuple>().map_err(|_| {
            PyValueError::new_err("a side is a NativeSide or a tuple (keys, status, mynumbers, fields, superseded_old, superseded_new)")
        })?;
        if t.len() != 6 {
            return Err(PyValueError::new_err("an array side is a tuple of 6 items"));
        }
        let mut fields = Vec::new();
        for f in t.get_item(3)?.try_iter()? {
            let f = f?;
            let f = f.cast::<PyTuple>().map_err(|_| PyValueError::new_err("a field is a tuple"))?;
            let kind: String = f.get_item(0)?.extract()?;
            fields.push(match (kind.as_str(), f.len()) {
                ("fixed", 5) => ArrayField::Fixed {
                    data: f.get_item(1)?.extract()?,
                    width: f.get_item(2)?.extract()?,
                    stride: f.get_item(3)?.extract()?,
                    offset: f.get_item(4)?.extract()?,
                },
                ("var", 3) => ArrayField::Var { offsets: f.get_item(1)?.extract()?, data: f.get_item(2)?.extract()? },
                _ => {
                    return Err(PyValueError::new_err(
                        "a field is (\"fixed\", data, width, stride, offset) or (\"var\", offsets, data)",
                    ))
                }
            });
        }
        Ok(ArraySide {
            keys: t.get_item(0)?.extract()?,
            status: t.get_item(1)?.extract()?,
            mynumbers: t.get_item(2)?.extract()?,
            fields,
            sup_old: t.get_item(4)?.extract()?,
            sup_new: t.get_item(5)?.extract()?,
        })
    }

    fn side(&self) -> PyResult<Side<'_>> {
        let mut fields = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            fields.push(match f {
                ArrayField::Fixed { data, width, stride, offset } => {
                    Column::Fixed { data: data.as_slice()?, width: *width, stride: *stride, offset: *offset }
                }
                ArrayField::Var { offsets, data } => Column::Var { offsets: offsets.as_slice()?, data: data.as_slice()? },
            });
        }
        let mut s = Side::new(self.keys.as_slice()?, self.status.as_slice()?, self.mynumbers.as_slice()?, fields);
        s.superseded_old = self.sup_old.as_slice()?;
        s.superseded_new = self.sup_new.as_slice()?;
        Ok(s)
    }
}

enum Given<'a, 'py> {
    Native(&'a NativeSide),
    Arrays(ArraySide<'py>),
}

/// The side, and the fixed-width file whose rows are read by position when only a few are needed
/// (fingerprint mode).
fn side_of<'a>(g: &'a Given<'a, '_>, fingerprint: bool) -> PyResult<(Side<'a>, Option<&'a FixedFile>)> {
    match g {
        Given::Native(n) => Ok(match &n.inner {
            Inner::Fixed { file, .. } => (file.side(), fingerprint.then_some(file)),
            Inner::Csv(c) => (c.side(), None),
            Inner::Store(s) => (s.side(), None),
        }),
        Given::Arrays(a) => Ok((a.side()?, None)),
    }
}

/// Reconciles two sides; returns a dict of numpy arrays and counts (see `jukistore.reconcile`).
/// `mynumber_field`: the compared field holding the 個人番号 text the sides' numbers were parsed
/// from (see `Options::mynumber_field`).
#[pyfunction]
#[pyo3(signature = (left, right, strict=true, fingerprint=false, seed=0, batch=16384, mynumber_field=None))]
#[allow(clippy::too_many_arguments)]
pub fn reconcile<'py>(
    py: Python<'py>,
    left: &Bound<'py, PyAny>,
    right: &Bound<'py, PyAny>,
    strict: bool,
    fingerprint: bool,
    seed: u64,
    batch: usize,
    mynumber_field: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let (lb, rb) = (left.cast::<NativeSide>().ok(), right.cast::<NativeSide>().ok());
    let gl = match &lb {
        Some(b) => Given::Native(b.get()),
        None => Given::Arrays(ArraySide::extract(left)?),
    };
    let gr = match &rb {
        Some(b) => Given::Native(b.get()),
        None => Given::Arrays(ArraySide::extract(right)?),
    };
    let opts = Options { strict, fingerprint, seed, batch, mynumber_field };
    let (mut ls, lf) = side_of(&gl, fingerprint)?;
    let (mut rs, rf) = side_of(&gr, fingerprint)?;
    let fetch_l = lf.map(|f| move |rows: &[u32]| f.fetch(rows));
    let fetch_r = rf.map(|f| move |rows: &[u32]| f.fetch(rows));
    if let Some(h) = &fetch_l {
        ls.fetch = Some(h);
    }
    if let Some(h) = &fetch_r {
        rs.fetch = Some(h);
    }
    let report = py.detach(|| rc::reconcile(&ls, &rs, &opts)).map_err(|e| to_py(py, e))?;
    let d = PyDict::new(py);
    d.set_item("left_class", PyArray1::from_vec(py, report.left_class))?;
    d.set_item("right_class", PyArray1::from_vec(py, report.right_class))?;
    let it = report.items;
    d.set_item("class", PyArray1::from_vec(py, it.class))?;
    d.set_item("side", PyArray1::from_vec(py, it.side))?;
    d.set_item("left_row", PyArray1::from_vec(py, it.left_row))?;
    d.set_item("right_row", PyArray1::from_vec(py, it.right_row))?;
    d.set_item("key", PyArray1::from_vec(py, it.key))?;
    d.set_item("mask", PyArray1::from_vec(py, it.mask))?;
    d.set_item("mask_hi", PyArray1::from_vec(py, it.mask_hi))?;
    d.set_item("other_key", PyArray1::from_vec(py, it.other_key))?;
    d.set_item("mynumber", PyArray1::from_vec(py, it.mynumber))?;
    d.set_item("group", PyArray1::from_vec(py, it.group))?;
    d.set_item("reason", PyArray1::from_vec(py, it.reason))?;
    d.set_item("field_counts", PyArray1::from_vec(py, report.field_counts))?;
    d.set_item("pairs", report.pairs)?;
    d.set_item("same", report.same)?;
    d.set_item("left_sorted", report.left_sorted)?;
    d.set_item("right_sorted", report.right_sorted)?;
    d.set_item("compared_bytes", report.compared_bytes)?;
    let t = PyDict::new(py);
    for (k, v) in report.timings {
        t.set_item(k, v)?;
    }
    d.set_item("timings", t)?;
    Ok(d)
}

/// The names of the row classes and of the finding kinds, indexed by code.
#[pyfunction]
pub fn reconcile_codes() -> (Vec<&'static str>, Vec<&'static str>) {
    (rc::class::NAMES.to_vec(), rc::item::NAMES.to_vec())
}
