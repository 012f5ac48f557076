//! Binding of the LMDB store: `jukistore._core.NativeStore`, wrapped by `jukistore.store.Store`.

use std::path::PathBuf;
use std::sync::Arc;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use jukistore_core::store::{
    entry::NO_MYNUMBER, mask, Found, LoadOptions, Lookup, NewPerson, OpenOptions, Store, StoreError, WriteMeta,
};

/// Raises the matching exception of `jukistore.errors`.
fn to_py(py: Python<'_>, e: StoreError) -> PyErr {
    let (cls, msg, field, row): (&str, String, Option<&str>, Option<usize>) = match &e {
        StoreError::Invalid { row, field, .. } => ("InvalidRecord", e.to_string(), Some(*field), Some(*row)),
        StoreError::Duplicate { row, field, value } => {
            let width = if *field == "mynumber" { 12 } else { 11 };
            let m = format!("row {row}: field {field}: {} is already in use", mask(*value, width));
            ("DuplicateNumber", m, Some(*field), Some(*row))
        }
        StoreError::TooLarge { row, field, .. } => ("InvalidRecord", e.to_string(), Some(*field), Some(*row)),
        StoreError::Corrupt(_) => ("StoreCorrupt", e.to_string(), None, None),
        StoreError::NotAStore(_) => ("NotAStore", e.to_string(), None, None),
        StoreError::Exists(_) => ("StoreExists", e.to_string(), None, None),
        StoreError::ReadOnly => ("ReadOnlyStore", e.to_string(), None, None),
        StoreError::Forked => ("ForkedStore", e.to_string(), None, None),
        StoreError::BadQuery(_) => ("QueryError", e.to_string(), None, None),
        StoreError::Lmdb(_) | StoreError::Io(_) => ("LmdbError", e.to_string(), None, None),
    };
    let build = || -> PyResult<PyErr> {
        let module = py.import("jukistore.errors")?;
        let class = module.getattr(cls)?;
        let kwargs = PyDict::new(py);
        if field.is_some() || row.is_some() {
            kwargs.set_item("field", field)?;
            kwargs.set_item("row", row)?;
        }
        let inst = class.call((msg.clone(),), Some(&kwargs))?;
        Ok(PyErr::from_value(inst))
    };
    build().unwrap_or_else(|err| err)
}

fn lookup(how: &str) -> PyResult<Lookup> {
    match how {
        "code" => Ok(Lookup::Code),
        "mynumber" => Ok(Lookup::MyNumber),
        "person_id" => Ok(Lookup::PersonId),
        _ => Err(pyo3::exceptions::PyValueError::new_err(format!("unknown lookup {how:?}"))),
    }
}

fn found_tuple<'py>(py: Python<'py>, f: Found) -> PyResult<Bound<'py, PyTuple>> {
    let mn: Option<u64> = if f.mynumber == NO_MYNUMBER { None } else { Some(f.mynumber) };
    PyTuple::new(
        py,
        [
            f.person_id.into_pyobject(py)?.into_any(),
            pyo3::types::PyBool::new(py, f.superseded).to_owned().into_any(),
            f.flags.into_pyobject(py)?.into_any(),
            f.seq.into_pyobject(py)?.into_any(),
            f.code.into_pyobject(py)?.into_any(),
            mn.into_pyobject(py)?.into_any(),
            PyBytes::new(py, &f.payload).into_any(),
        ],
    )
}

/// An open store. Methods release the GIL while LMDB works.
#[pyclass(module = "jukistore._core", frozen)]
pub struct NativeStore {
    inner: Arc<Store>,
}

#[pymethods]
impl NativeStore {
    /// Creates a store in a new (or empty) directory.
    #[staticmethod]
    #[pyo3(signature = (path, municipality, map_size=None))]
    fn create(py: Python<'_>, path: PathBuf, municipality: &str, map_size: Option<usize>) -> PyResult<Self> {
        let mut o = OpenOptions::default();
        if let Some(m) = map_size {
            o.map_size = m;
        }
        let r = py.detach(|| Store::create(&path, municipality, &o));
        r.map(|inner| NativeStore { inner }).map_err(|e| to_py(py, e))
    }

    /// Opens an existing store; the same directory gives the same handle within a process.
    #[staticmethod]
    #[pyo3(signature = (path, readonly=false, map_size=None))]
    fn open(py: Python<'_>, path: PathBuf, readonly: bool, map_size: Option<usize>) -> PyResult<Self> {
        let mut o = OpenOptions { readonly, ..Default::default() };
        if let Some(m) = map_size {
            o.map_size = m;
        }
        let r = py.detach(|| Store::open(&path, &o));
        r.map(|inner| NativeStore { inner }).map_err(|e| to_py(py, e))
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_path_buf()
    }

    #[getter]
    fn readonly(&self) -> bool {
        self.inner.readonly()
    }

    /// Loads one batch in one transaction; returns (first_person_id, first_seq, count, lenient_rows).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (codes, mynumbers, name_keys, birth_keys, addr_keys, sexes, flags, payloads, operator, terminal, timestamp_us, event, juminhyo_strict=true))]
    fn load<'py>(
        &self,
        py: Python<'py>,
        codes: PyReadonlyArray1<'py, u64>,
        mynumbers: PyReadonlyArray1<'py, u64>,
        name_keys: &Bound<'py, PyList>,
        birth_keys: &Bound<'py, PyList>,
        addr_keys: &Bound<'py, PyList>,
        sexes: PyReadonlyArray1<'py, u8>,
        flags: PyReadonlyArray1<'py, u8>,
        payloads: &Bound<'py, PyList>,
        operator: &str,
        terminal: &str,
        timestamp_us: i64,
        event: u16,
        juminhyo_strict: bool,
    ) -> PyResult<(u64, u64, u64, Vec<usize>)> {
        let codes = codes.as_slice()?;
        let mns = mynumbers.as_slice()?;
        let sexes = sexes.as_slice()?;
        let flg = flags.as_slice()?;
        let n = codes.len();
        for (what, len) in [
            ("mynumbers", mns.len()),
            ("name_keys", name_keys.len()),
            ("birth_keys", birth_keys.len()),
            ("addr_keys", addr_keys.len()),
            ("sexes", sexes.len()),
            ("flags", flg.len()),
            ("payloads", payloads.len()),
        ] {
            if len != n {
                return Err(pyo3::exceptions::PyValueError::new_err(format!("{what} has {len} items, codes has {n}")));
            }
        }
        let bytes_of = |l: &Bound<'py, PyList>| -> PyResult<Vec<Bound<'py, PyBytes>>> {
            l.iter().map(|o| o.cast_into::<PyBytes>().map_err(PyErr::from)).collect()
        };
        let (nk, bk, ak, pl) = (bytes_of(name_keys)?, bytes_of(birth_keys)?, bytes_of(addr_keys)?, bytes_of(payloads)?);
        let persons: Vec<NewPerson> = (0..n)
            .map(|i| NewPerson {
                code: codes[i],
                mynumber: mns[i],
                name_key: nk[i].as_bytes(),
                birth_key: bk[i].as_bytes(),
                addr_key: ak[i].as_bytes(),
                sex: sexes[i],
                flags: flg[i],
                payload: pl[i].as_bytes(),
            })
            .collect();
        let meta = WriteMeta { operator, terminal, timestamp_us, event };
        let opts = LoadOptions { juminhyo_strict };
        let store = &self.inner;
        let r = py.detach(|| store.load(&persons, &meta, &opts));
        let r = r.map_err(|e| to_py(py, e))?;
        Ok((r.first_person_id, r.first_seq, r.count, r.lenient_rows))
    }

    /// (person_id, superseded, flags, seq, code, mynumber or None, payload) or None.
    fn get<'py>(&self, py: Python<'py>, how: &str, key: u64) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let how = lookup(how)?;
        let store = &self.inner;
        let r = py.detach(|| store.get(how, key)).map_err(|e| to_py(py, e))?;
        r.map(|f| found_tuple(py, f)).transpose()
    }

    /// Columns (found, person_ids, superseded, flags, seqs, offsets, data) for many keys.
    #[allow(clippy::type_complexity)]
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        how: &str,
        keys: PyReadonlyArray1<'py, u64>,
    ) -> PyResult<(
        Bound<'py, PyArray1<bool>>,
        Bound<'py, PyArray1<u64>>,
        Bound<'py, PyArray1<bool>>,
        Bound<'py, PyArray1<u8>>,
        Bound<'py, PyArray1<u64>>,
        Bound<'py, PyArray1<u64>>,
        Bound<'py, PyArray1<u8>>,
    )> {
        let how = lookup(how)?;
        let keys = keys.as_slice()?;
        let store = &self.inner;
        let r = py.detach(|| store.get_many(how, keys)).map_err(|e| to_py(py, e))?;
        Ok((
            PyArray1::from_vec(py, r.found),
            PyArray1::from_vec(py, r.person_ids),
            PyArray1::from_vec(py, r.superseded),
            PyArray1::from_vec(py, r.flags),
            PyArray1::from_vec(py, r.seqs),
            PyArray1::from_vec(py, r.offsets),
            PyArray1::from_vec(py, r.data),
        ))
    }

    /// 4情報 search; a list of tuples as `get` returns.
    #[pyo3(signature = (name_key=None, birth_key=None, addr_prefix=None, sex=None, limit=1000))]
    fn search<'py>(
        &self,
        py: Python<'py>,
        name_key: Option<Vec<u8>>,
        birth_key: Option<Vec<u8>>,
        addr_prefix: Option<Vec<u8>>,
        sex: Option<u8>,
        limit: usize,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let store = &self.inner;
        let r = py
            .detach(|| store.search(name_key.as_deref(), birth_key.as_deref(), addr_prefix.as_deref(), sex, limit))
            .map_err(|e| to_py(py, e))?;
        r.into_iter().map(|f| found_tuple(py, f)).collect()
    }

    /// (persons, problems, more): problems described without personal data.
    fn verify(&self, py: Python<'_>) -> PyResult<(u64, Vec<String>, u64)> {
        let store = &self.inner;
        let r = py.detach(|| store.verify()).map_err(|e| to_py(py, e))?;
        Ok((r.persons, r.problems, r.more))
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let store = &self.inner;
        let r = py.detach(|| store.stats()).map_err(|e| to_py(py, e))?;
        let d = PyDict::new(py);
        for (k, v) in r {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    fn meta<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let store = &self.inner;
        let r = py.detach(|| store.meta_get(key)).map_err(|e| to_py(py, e))?;
        Ok(r.map(|v| PyBytes::new(py, &v)))
    }

    /// fsync at every commit (True, the default) or only when asked (False, for bulk loads).
    fn set_sync(&self, py: Python<'_>, on: bool) -> PyResult<()> {
        let store = &self.inner;
        py.detach(|| store.set_sync(on)).map_err(|e| to_py(py, e))
    }

    fn force_sync(&self, py: Python<'_>) -> PyResult<()> {
        let store = &self.inner;
        py.detach(|| store.force_sync()).map_err(|e| to_py(py, e))
    }

    /// Writes a compacted copy of the data file to `dest` (free pages left out).
    fn copy_compacted(&self, py: Python<'_>, dest: PathBuf) -> PyResult<()> {
        let store = &self.inner;
        py.detach(|| store.copy_compacted(&dest)).map_err(|e| to_py(py, e))
    }

    fn __repr__(&self) -> String {
        format!("NativeStore({:?}, readonly={})", self.inner.path().display().to_string(), self.inner.readonly())
    }
}
