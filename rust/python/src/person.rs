//! `jukistore._core.Person`: one person as a lookup found them, re-exported as
//! `jukistore.store.Person`.
//!
//! Native because a service answering one lookup at a time pays for every object made per call:
//! built here, a person is one allocation holding the ids and the stored bytes, where a Python
//! class cost a tuple, six integers and an `__init__`. The record is decoded from the stored
//! MessagePack on first access, by the decoder `jukistore.store` registers at import
//! ([`register`]), so a lookup that only needs ids or state never decodes 84 fields.

use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyTuple};

use jukistore_core::store::{entry::NO_MYNUMBER, mask, Found};

/// (decode, numbers): `decode(payload) -> JuminKihon`, `numbers(record) -> (code, mynumber)`,
/// both masked by `jukistore.errors.mask`.
static SUPPORT: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

/// Registers the record decoder and the function giving a record's two numbers, masked (for
/// `repr`).
#[pyfunction]
pub fn register_person_support(py: Python<'_>, decode: Py<PyAny>, numbers: Py<PyAny>) {
    let _ = SUPPORT.set(py, (decode, numbers));
}

fn support(py: Python<'_>) -> PyResult<&(Py<PyAny>, Py<PyAny>)> {
    SUPPORT.get(py).ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("import jukistore.store first"))
}

enum Payload {
    /// Bytes copied out of the store by a native lookup.
    Owned(Vec<u8>),
    /// A bytes-like object given from Python (a memoryview into a batch's buffer).
    Object(Py<PyAny>),
    /// Built from a record; nothing to decode.
    None,
}

/// One person as found: the internal id, the current master record and its state.
///
/// ``superseded`` is true when the person was found through a number they no longer use; the
/// record is decoded from its stored bytes on first access.
#[pyclass(module = "jukistore._core", name = "Person", frozen)]
pub struct Person {
    #[pyo3(get)]
    person_id: u64,
    #[pyo3(get)]
    seq: u64,
    #[pyo3(get)]
    removed: bool,
    #[pyo3(get)]
    superseded: bool,
    /// 住民票コード and 個人番号 as stored beside the record (for `repr` without decoding).
    numbers: Option<(u64, u64)>,
    payload: Payload,
    record: PyOnceLock<Py<PyAny>>,
}

impl Person {
    pub fn found(f: Found) -> Person {
        Person {
            person_id: f.person_id,
            seq: f.seq,
            removed: f.flags & 1 == 1,
            superseded: f.superseded,
            numbers: Some((f.code, f.mynumber)),
            payload: Payload::Owned(f.payload),
            record: PyOnceLock::new(),
        }
    }
}

#[pymethods]
impl Person {
    #[new]
    #[pyo3(signature = (person_id, payload, seq, removed, superseded=false, record=None))]
    fn new(
        person_id: u64,
        payload: Option<Py<PyAny>>,
        seq: u64,
        removed: bool,
        superseded: bool,
        record: Option<Py<PyAny>>,
    ) -> PyResult<Person> {
        let cell = PyOnceLock::new();
        let payload = match (payload, record) {
            (_, Some(r)) => {
                Python::attach(|py| cell.set(py, r)).ok();
                Payload::None
            }
            (Some(p), None) => Payload::Object(p),
            (None, None) => return Err(pyo3::exceptions::PyValueError::new_err("a Person needs its payload or its record")),
        };
        Ok(Person { person_id, seq, removed, superseded, numbers: None, payload, record: cell })
    }

    /// The master record (`jukistore.records.JuminKihon`), decoded on first access.
    #[getter]
    fn record(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if let Some(r) = self.record.get(py) {
            return Ok(r.clone_ref(py));
        }
        let (decode, _) = support(py)?;
        let r = match &self.payload {
            Payload::Owned(b) => decode.call1(py, (PyBytes::new(py, b),))?,
            Payload::Object(o) => decode.call1(py, (o.clone_ref(py),))?,
            Payload::None => unreachable!("a Person built from a record has it"),
        };
        Ok(self.record.get_or_init(py, || r).clone_ref(py))
    }

    fn __richcmp__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let Ok(other) = other.cast::<Person>() else { return Ok(py.NotImplemented()) };
        let key = |p: &Bound<'_, Person>| -> PyResult<Bound<'_, PyTuple>> {
            let g = p.get();
            (g.person_id, g.seq, g.removed, g.superseded, g.record(py)?).into_pyobject(py)
        };
        match op {
            CompareOp::Eq | CompareOp::Ne => {
                let eq = key(slf)?.eq(key(other)?)?;
                Ok((eq == matches!(op, CompareOp::Eq)).into_pyobject(py)?.to_owned().into_any().unbind())
            }
            _ => Ok(py.NotImplemented()),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let (code, mn) = match self.numbers {
            Some((c, m)) => (
                mask(c, 11),
                if m == NO_MYNUMBER { String::new() } else { mask(m, 12) },
            ),
            None => {
                let (_, numbers) = support(py)?;
                numbers.call1(py, (self.record(py)?,))?.extract(py)?
            }
        };
        Ok(format!(
            "Person(person_id={}, code={code}, mynumber={mn}, seq={}, removed={}, superseded={})",
            self.person_id,
            self.seq,
            py_bool(self.removed),
            py_bool(self.superseded)
        ))
    }
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}
