//! Binding of the LMDB store: `jukistore._core.NativeStore`, wrapped by `jukistore.store.Store`.

use std::path::PathBuf;
use std::sync::Arc;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::person::Person;
use crate::tally::Tally;
use jukistore_core::store::{
    entry::NO_MYNUMBER, mask, Change, Erased, FlagRule, Found, LoadOptions, Lookup, NewPerson, OpenOptions, Patch, ProposalStep,
    Refusal, StepWrite, Store, StoreError, Update, Version, WriteMeta, DATE_LEN, LoadReceipt,
};

fn erased_dict(py: Python<'_>, r: Erased) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("persons", r.persons)?;
    d.set_item("versions", r.versions)?;
    d.set_item("index_entries", r.index_entries)?;
    d.set_item("changes_marked", r.changes_marked)?;
    d.set_item("proposal_steps", r.proposal_steps)?;
    d.set_item("mailing_entries", r.mailing_entries)?;
    Ok(d)
}

/// Raises the matching exception of `jukistore.errors`.
pub(crate) fn to_py(py: Python<'_>, e: StoreError) -> PyErr {
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
        StoreError::Busy(_) => ("StoreBusy", e.to_string(), None, None),
        StoreError::Lmdb(_) | StoreError::Io(_) => ("LmdbError", e.to_string(), None, None),
        StoreError::Refused { refusal: Refusal::NoSuchProposal { .. }, .. } => ("NoSuchProposal", e.to_string(), None, None),
        StoreError::Refused { refusal: Refusal::ProposalDecided { .. }, .. } => ("ProposalDecided", e.to_string(), None, None),
        StoreError::Refused { row, refusal } => {
            let cls = match refusal {
                Refusal::NoSuchPerson => "NoSuchPerson",
                Refusal::UpdateProhibited => "UpdateProhibited",
                Refusal::Conflict { .. } => "ConcurrentChange",
                Refusal::NoChange | Refusal::NotProhibited => "RuleViolation",
                Refusal::PersonRemoved => "PersonRemoved",
                Refusal::NoSuchProposal { .. } | Refusal::ProposalDecided { .. } => unreachable!(),
            };
            (cls, e.to_string(), None, Some(*row))
        }
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

/// Packed `S8` dates (a numpy `S8` array viewed as uint8) as fixed arrays.
fn dates(data: &PyReadonlyArray1<'_, u8>, n: usize, what: &str) -> PyResult<Vec<[u8; DATE_LEN]>> {
    let d = data.as_slice()?;
    if d.len() != n * DATE_LEN {
        return Err(pyo3::exceptions::PyValueError::new_err(format!("{what}: expected {n} dates of 8 bytes")));
    }
    Ok(d.chunks_exact(DATE_LEN).map(|c| c.try_into().unwrap()).collect())
}

fn version_tuple<'py>(py: Python<'py>, v: Version) -> PyResult<Bound<'py, PyTuple>> {
    let mn: Option<u64> = if v.mynumber == NO_MYNUMBER { None } else { Some(v.mynumber) };
    PyTuple::new(
        py,
        [
            v.person_id.into_pyobject(py)?.into_any(),
            v.seq.into_pyobject(py)?.into_any(),
            PyBytes::new(py, &v.valid_from).into_any(),
            PyBytes::new(py, &v.notified).into_any(),
            v.event.into_pyobject(py)?.into_any(),
            v.flags.into_pyobject(py)?.into_any(),
            v.code.into_pyobject(py)?.into_any(),
            mn.into_pyobject(py)?.into_any(),
            PyBytes::new(py, &v.payload).into_any(),
        ],
    )
}

fn change_tuple<'py>(py: Python<'py>, c: Change) -> PyResult<Bound<'py, PyTuple>> {
    let v = c.version.map(|v| version_tuple(py, v)).transpose()?;
    PyTuple::new(
        py,
        [
            c.seq.into_pyobject(py)?.into_any(),
            c.person_id.into_pyobject(py)?.into_any(),
            c.timestamp_us.into_pyobject(py)?.into_any(),
            c.event.into_pyobject(py)?.into_any(),
            c.operator.into_pyobject(py)?.into_any(),
            c.terminal.into_pyobject(py)?.into_any(),
            v.into_pyobject(py)?.into_any(),
        ],
    )
}

type VersionColumns<'py> = (
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u8>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u8>>,
);

/// Versions as columns (found, seqs, flags, offsets, data): no Python object per version.
fn version_columns(py: Python<'_>, r: Vec<Option<Version>>) -> VersionColumns<'_> {
    let (mut found, mut seqs, mut flags, mut offsets, mut data) =
        (Vec::with_capacity(r.len()), Vec::with_capacity(r.len()), Vec::with_capacity(r.len()), vec![0u64], Vec::new());
    offsets.reserve(r.len());
    for v in r {
        match v {
            Some(v) => {
                found.push(true);
                seqs.push(v.seq);
                flags.push(v.flags);
                data.extend_from_slice(&v.payload);
            }
            None => {
                found.push(false);
                seqs.push(0);
                flags.push(0);
            }
        }
        offsets.push(data.len() as u64);
    }
    (
        PyArray1::from_vec(py, found),
        PyArray1::from_vec(py, seqs),
        PyArray1::from_vec(py, flags),
        PyArray1::from_vec(py, offsets),
        PyArray1::from_vec(py, data),
    )
}

fn step_tuple(py: Python<'_>, p: ProposalStep) -> (u64, u32, u64, Bound<'_, PyBytes>) {
    (p.id, p.step, p.seq, PyBytes::new(py, &p.value))
}

fn date8(b: &[u8], what: &str) -> PyResult<[u8; DATE_LEN]> {
    b.try_into().map_err(|_| pyo3::exceptions::PyValueError::new_err(format!("{what} must be 8 bytes (YYYYMMDD)")))
}

pub(crate) fn lookup(how: &str) -> PyResult<Lookup> {
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
    pub(crate) inner: Arc<Store>,
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
    #[pyo3(signature = (path, readonly=false, map_size=None, exclusive=false))]
    fn open(py: Python<'_>, path: PathBuf, readonly: bool, map_size: Option<usize>, exclusive: bool) -> PyResult<Self> {
        let mut o = OpenOptions { readonly, exclusive, ..Default::default() };
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

    /// Starts loading one batch in one transaction, on a thread of the core's own; `wait()` on
    /// the returned handle gives (first_person_id, first_seq, count, lenient_rows). The batch is
    /// copied first, so the caller may prepare the next one meanwhile: the writing thread never
    /// needs the GIL, so it neither waits for it nor slows the thread that holds it.
    /// `durable=False`: see `written`.
    #[allow(clippy::too_many_arguments)]
    ///
    /// `after`: a batch started earlier; this one is written once that one has committed, and not
    /// at all if it failed (its `wait()` then raises `LoadSkipped`). A caller can so hand over the
    /// next batch before the last one is written, and the writing thread goes from one to the next
    /// without waiting for the caller.
    #[pyo3(signature = (codes, mynumbers, name_keys, birth_keys, addr_keys, sexes, flags, payloads, valid_from, notified, operator, terminal, timestamp_us, event, juminhyo_strict=true, durable=true, after=None))]
    fn begin_load<'py>(
        &self,
        codes: PyReadonlyArray1<'py, u64>,
        mynumbers: PyReadonlyArray1<'py, u64>,
        name_keys: &Bound<'py, PyList>,
        birth_keys: &Bound<'py, PyList>,
        addr_keys: &Bound<'py, PyList>,
        sexes: PyReadonlyArray1<'py, u8>,
        flags: PyReadonlyArray1<'py, u8>,
        payloads: &Bound<'py, PyList>,
        valid_from: PyReadonlyArray1<'py, u8>,
        notified: PyReadonlyArray1<'py, u8>,
        operator: String,
        terminal: String,
        timestamp_us: i64,
        event: u16,
        juminhyo_strict: bool,
        durable: bool,
        after: Option<&PendingLoad>,
    ) -> PyResult<PendingLoad> {
        let n = codes.len()?;
        // Checked before anything is copied.
        for (what, len) in [
            ("mynumbers", mynumbers.len()?),
            ("name_keys", name_keys.len()),
            ("birth_keys", birth_keys.len()),
            ("addr_keys", addr_keys.len()),
            ("sexes", sexes.len()?),
            ("flags", flags.len()?),
            ("payloads", payloads.len()),
        ] {
            if len != n {
                return Err(pyo3::exceptions::PyValueError::new_err(format!("{what} has {len} items, codes has {n}")));
            }
        }
        let batch = LoadBatch {
            valid_from: dates(&valid_from, n, "valid_from")?,
            notified: dates(&notified, n, "notified")?,
            codes: codes.as_slice()?.to_vec(),
            mynumbers: mynumbers.as_slice()?.to_vec(),
            sexes: sexes.as_slice()?.to_vec(),
            flags: flags.as_slice()?.to_vec(),
            texts: Texts::copy([name_keys, birth_keys, addr_keys, payloads])?,
        };
        let store = Arc::clone(&self.inner);
        let before = after.map(|p| Arc::clone(&p.outcome));
        let outcome = Arc::new(Outcome::default());
        let mine = Arc::clone(&outcome);
        let thread = std::thread::Builder::new()
            .name("jukistore-load".into())
            .spawn(move || {
                // Tells the batch after this one how it went, however it ends (a panic too).
                let mut report = Report { outcome: mine, ok: false };
                if let Some(b) = before {
                    if !b.wait() {
                        return Written::Skipped;
                    }
                }
                let persons = batch.persons();
                let meta = WriteMeta { operator: &operator, terminal: &terminal, timestamp_us, event };
                let opts = LoadOptions { juminhyo_strict };
                match written(durable, || store.load(&persons, &meta, &opts)) {
                    Ok(r) => {
                        report.ok = true;
                        Written::Committed(r)
                    }
                    Err(e) => Written::Failed(e),
                }
            })
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start the load's thread: {e}")))?;
        Ok(PendingLoad { thread: std::sync::Mutex::new(Some(thread)), outcome, pid: std::process::id() })
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

    /// The single lookup of `Store.get`: (the `Person` by code/mynumber/person_id or None,
    /// whether `tally` took the call for the access log). The GIL is kept: the lookup is shorter
    /// than releasing and taking it back.
    #[pyo3(signature = (how, key, tally=None))]
    fn person(&self, py: Python<'_>, how: &str, key: u64, tally: Option<&Tally>) -> PyResult<(Option<Person>, bool)> {
        let how = lookup(how)?;
        let found = self.inner.get(how, key).map_err(|e| to_py(py, e))?;
        let taken = tally.is_some_and(|t| t.add_now(found.as_ref().map(|f| f.person_id)));
        Ok((found.map(Person::found), taken))
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

    /// Starts an unsynced load: its batches (``load(..., durable=False)``) commit without fsync
    /// until the matching ``unsynced_end``; every other write meanwhile still syncs.
    fn unsynced_begin(&self, py: Python<'_>) -> PyResult<()> {
        let store = &self.inner;
        py.detach(|| store.unsynced_begin()).map_err(|e| to_py(py, e))
    }

    /// Writes of this handle that synced the file themselves during an unsynced load.
    #[getter]
    fn forced_syncs(&self) -> u64 {
        self.inner.forced_syncs()
    }

    /// Ends an unsynced load: syncs what it wrote; commits sync again after the last one ends.
    fn unsynced_end(&self, py: Python<'_>) -> PyResult<()> {
        let store = &self.inner;
        py.detach(|| store.unsynced_end()).map_err(|e| to_py(py, e))
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

    /// Removed persons and the 異動年月日 of their current version: (person ids, dates as 8-byte
    /// `YYYYMMDD` runs, concatenated).
    fn removed_persons<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyArray1<u64>>, Bound<'py, PyBytes>)> {
        let store = &self.inner;
        let r = py.detach(|| store.removed_persons()).map_err(|e| to_py(py, e))?;
        Ok((PyArray1::from_vec(py, r.pids), PyBytes::new(py, r.dates.as_flattened())))
    }

    /// Superseded versions of persons not removed: (person ids, 更新順番号, dates superseded).
    #[allow(clippy::type_complexity)]
    fn superseded_versions<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u64>>, Bound<'py, PyBytes>)> {
        let store = &self.inner;
        let r = py.detach(|| store.superseded_versions()).map_err(|e| to_py(py, e))?;
        Ok((PyArray1::from_vec(py, r.pids), PyArray1::from_vec(py, r.seqs), PyBytes::new(py, r.dates.as_flattened())))
    }

    /// Deletes persons entirely and the given proposals, in one transaction; returns counts.
    fn erase_persons<'py>(&self, py: Python<'py>, pids: PyReadonlyArray1<'py, u64>, proposal_ids: Vec<u64>) -> PyResult<Bound<'py, PyDict>> {
        let store = &self.inner;
        let p = pids.as_slice()?;
        let r = py.detach(|| store.erase_persons(p, &proposal_ids)).map_err(|e| to_py(py, e))?;
        erased_dict(py, r)
    }

    /// Deletes superseded versions (person, 更新順番号) in one transaction; returns counts.
    fn erase_versions<'py>(
        &self,
        py: Python<'py>,
        pids: PyReadonlyArray1<'py, u64>,
        seqs: PyReadonlyArray1<'py, u64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let store = &self.inner;
        let (p, q) = (pids.as_slice()?, seqs.as_slice()?);
        let r = py.detach(|| store.erase_versions(p, q)).map_err(|e| to_py(py, e))?;
        erased_dict(py, r)
    }

    /// Every 住民票コード and 個人番号 the persons hold or held: (codes, numbers).
    #[allow(clippy::type_complexity)]
    fn numbers_of<'py>(
        &self,
        py: Python<'py>,
        pids: PyReadonlyArray1<'py, u64>,
    ) -> PyResult<(Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u64>>)> {
        let store = &self.inner;
        let p = pids.as_slice()?;
        let (c, m) = py.detach(|| store.numbers_of(p)).map_err(|e| to_py(py, e))?;
        Ok((PyArray1::from_vec(py, c), PyArray1::from_vec(py, m)))
    }

    /// For each name key, whether a person outside `pids` holds it too.
    fn name_keys_shared(&self, py: Python<'_>, keys: Vec<Vec<u8>>, pids: PyReadonlyArray1<'_, u64>) -> PyResult<Vec<bool>> {
        let store = &self.inner;
        let p = pids.as_slice()?;
        let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        py.detach(|| store.name_keys_shared(&refs, p)).map_err(|e| to_py(py, e))
    }

    /// For each value, whether a person outside `pids` holds it as a code or My Number.
    fn numbers_shared(&self, py: Python<'_>, values: PyReadonlyArray1<'_, u64>, pids: PyReadonlyArray1<'_, u64>) -> PyResult<Vec<bool>> {
        let store = &self.inner;
        let (v, p) = (values.as_slice()?, pids.as_slice()?);
        py.detach(|| store.numbers_shared(v, p)).map_err(|e| to_py(py, e))
    }

    /// Records a legal hold on a person (the value is the caller's record of it).
    fn hold_put(&self, py: Python<'_>, person_id: u64, value: Vec<u8>) -> PyResult<()> {
        let store = &self.inner;
        py.detach(|| store.hold_put(person_id, &value)).map_err(|e| to_py(py, e))
    }

    /// Lifts a legal hold; False when there was none.
    fn hold_delete(&self, py: Python<'_>, person_id: u64) -> PyResult<bool> {
        let store = &self.inner;
        py.detach(|| store.hold_delete(person_id)).map_err(|e| to_py(py, e))
    }

    /// Every legal hold as (person id, value).
    fn holds<'py>(&self, py: Python<'py>) -> PyResult<Vec<(u64, Bound<'py, PyBytes>)>> {
        let store = &self.inner;
        let r = py.detach(|| store.holds()).map_err(|e| to_py(py, e))?;
        Ok(r.into_iter().map(|(p, v)| (p, PyBytes::new(py, &v))).collect())
    }

    /// Writes every database into a fresh environment in `dest` (without sent mailing entries when
    /// `skip_sent_mailing`: a backup); returns (entries, file bytes).
    #[pyo3(signature = (dest, skip_sent_mailing=false))]
    fn rebuild_into(&self, py: Python<'_>, dest: PathBuf, skip_sent_mailing: bool) -> PyResult<(u64, u64)> {
        let store = &self.inner;
        let r = py.detach(|| store.rebuild_into(&dest, skip_sent_mailing)).map_err(|e| to_py(py, e))?;
        Ok((r.entries, r.bytes))
    }

    /// Records pending mailing entries; returns the first id (the others follow in order).
    fn mailing_add(&self, py: Python<'_>, person_ids: Vec<u64>, payloads: Vec<Vec<u8>>) -> PyResult<u64> {
        let store = &self.inner;
        let refs: Vec<&[u8]> = payloads.iter().map(|p| p.as_slice()).collect();
        py.detach(|| store.mailing_add(&person_ids, &refs)).map_err(|e| to_py(py, e))
    }

    /// Marks mailing entries sent on `date` (8 bytes YYYYMMDD); returns how many changed.
    fn mailing_mark_sent(&self, py: Python<'_>, ids: Vec<u64>, date: &[u8]) -> PyResult<u64> {
        let store = &self.inner;
        let d = date8(date, "date")?;
        py.detach(|| store.mailing_mark_sent(&ids, &d)).map_err(|e| to_py(py, e))
    }

    /// Mailing entries with ids above `after`: (id, sent date or None, person id, payload).
    #[allow(clippy::type_complexity)]
    fn mailing_list<'py>(
        &self,
        py: Python<'py>,
        after: u64,
        limit: usize,
    ) -> PyResult<Vec<(u64, Option<Bound<'py, PyBytes>>, u64, Bound<'py, PyBytes>)>> {
        let store = &self.inner;
        let r = py.detach(|| store.mailing_list(after, limit)).map_err(|e| to_py(py, e))?;
        Ok(r.into_iter()
            .map(|e| (e.id, e.sent.map(|d| PyBytes::new(py, &d)), e.person_id, PyBytes::new(py, &e.payload)))
            .collect())
    }

    /// How many mailing entries were sent before `before` (8 bytes YYYYMMDD).
    fn mailing_count_before(&self, py: Python<'_>, before: &[u8]) -> PyResult<u64> {
        let store = &self.inner;
        let d = date8(before, "before")?;
        py.detach(|| store.mailing_count_before(&d)).map_err(|e| to_py(py, e))
    }

    /// Deletes mailing entries sent before `before`; returns how many.
    fn mailing_retire(&self, py: Python<'_>, before: &[u8]) -> PyResult<u64> {
        let store = &self.inner;
        let d = date8(before, "before")?;
        py.detach(|| store.mailing_retire(&d)).map_err(|e| to_py(py, e))
    }

    /// Renames a rebuilt data file over this store's (exclusive handles only); closes the handle.
    fn swap_in(&self, py: Python<'_>, new_data: PathBuf) -> PyResult<()> {
        let store = &self.inner;
        py.detach(|| store.swap_in(&new_data)).map_err(|e| to_py(py, e))
    }

    /// Applies updates in one transaction; each update is a dict with the keys of
    /// `jukistore_core::store::Update` (person_id 0 registers a new person). With `proposal`
    /// (id, step, value), that step of the proposal is written in the same transaction.
    /// Returns (更新順番号, person_id) of each.
    #[pyo3(signature = (updates, operator, terminal, timestamp_us, proposal=None, durable=true))]
    fn apply<'py>(
        &self,
        py: Python<'py>,
        updates: &Bound<'py, PyList>,
        operator: &str,
        terminal: &str,
        timestamp_us: i64,
        proposal: Option<(u64, u32, Vec<u8>)>,
        durable: bool,
    ) -> PyResult<Vec<(u64, u64)>> {
        struct Owned {
            person_id: u64,
            code: u64,
            mynumber: u64,
            name_key: Vec<u8>,
            birth_key: Vec<u8>,
            addr_key: Vec<u8>,
            sex: u8,
            flags: u8,
            payload: Vec<u8>,
            valid_from: [u8; DATE_LEN],
            notified: [u8; DATE_LEN],
            event: u16,
            expect_seq: u64,
            override_prohibited: bool,
        }
        let mut owned = Vec::with_capacity(updates.len());
        for item in updates.iter() {
            let d = item.cast_into::<PyDict>()?;
            let get = |k: &Bound<'py, pyo3::types::PyString>| -> PyResult<Bound<'py, PyAny>> {
                d.get_item(k)?.ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(k.to_string()))
            };
            let bytes = |k: &Bound<'py, pyo3::types::PyString>| -> PyResult<Vec<u8>> {
                Ok(get(k)?.cast_into::<PyBytes>()?.as_bytes().to_vec())
            };
            let mn: Option<u64> = get(intern!(py, "mynumber"))?.extract()?;
            owned.push(Owned {
                person_id: get(intern!(py, "person_id"))?.extract()?,
                code: get(intern!(py, "code"))?.extract()?,
                mynumber: mn.unwrap_or(NO_MYNUMBER),
                name_key: bytes(intern!(py, "name_key"))?,
                birth_key: bytes(intern!(py, "birth_key"))?,
                addr_key: bytes(intern!(py, "addr_key"))?,
                sex: get(intern!(py, "sex"))?.extract()?,
                flags: get(intern!(py, "flags"))?.extract()?,
                payload: bytes(intern!(py, "payload"))?,
                valid_from: date8(&bytes(intern!(py, "valid_from"))?, "valid_from")?,
                notified: date8(&bytes(intern!(py, "notified"))?, "notified")?,
                event: get(intern!(py, "event"))?.extract()?,
                expect_seq: get(intern!(py, "expect_seq"))?.extract()?,
                override_prohibited: get(intern!(py, "override_prohibited"))?.extract()?,
            });
        }
        let ups: Vec<Update> = owned
            .iter()
            .map(|o| Update {
                person_id: o.person_id,
                code: o.code,
                mynumber: o.mynumber,
                name_key: &o.name_key,
                birth_key: &o.birth_key,
                addr_key: &o.addr_key,
                sex: o.sex,
                flags: o.flags,
                payload: &o.payload,
                valid_from: o.valid_from,
                notified: o.notified,
                event: o.event,
                expect_seq: o.expect_seq,
                override_prohibited: o.override_prohibited,
            })
            .collect();
        let meta = WriteMeta { operator, terminal, timestamp_us, event: 0 };
        let step = proposal.as_ref().map(|(id, step, value)| StepWrite { id: *id, step: *step, value });
        let store = &self.inner;
        let r = py.detach(|| written(durable, || store.apply_with(&ups, &meta, step))).map_err(|e| to_py(py, e))?;
        Ok(r.into_iter().map(|a| (a.seq, a.person_id)).collect())
    }

    /// One kind of event for many persons in one transaction, as columns: the items at
    /// `positions` (ascending) of person i's record become `values[k][i]`; keys and numbers given
    /// replace the current ones (None keeps them). Each person's state is checked on the entry
    /// written over (at `expect_seqs[i]` when given, not removed when `refuse_removed`, under
    /// 更新禁止 exactly when `unlock`); the flags become the current ones with `set_flags` set and
    /// `clear_flags` cleared. A row whose items at `must` positions keep their values is refused.
    /// Returns the 更新順番号 of each row.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (person_ids, expect_seqs, valid_from, notified, event, positions, values, must, operator, terminal, timestamp_us, set_flags=0, clear_flags=0, refuse_removed=false, unlock=false, codes=None, mynumbers=None, name_keys=None, birth_keys=None, addr_keys=None, sexes=None, durable=true))]
    fn apply_patches<'py>(
        &self,
        py: Python<'py>,
        person_ids: PyReadonlyArray1<'py, u64>,
        expect_seqs: Option<PyReadonlyArray1<'py, u64>>,
        valid_from: PyReadonlyArray1<'py, u8>,
        notified: PyReadonlyArray1<'py, u8>,
        event: u16,
        positions: Vec<usize>,
        values: &Bound<'py, PyList>,
        must: Vec<usize>,
        operator: &str,
        terminal: &str,
        timestamp_us: i64,
        set_flags: u8,
        clear_flags: u8,
        refuse_removed: bool,
        unlock: bool,
        codes: Option<PyReadonlyArray1<'py, u64>>,
        mynumbers: Option<PyReadonlyArray1<'py, u64>>,
        name_keys: Option<Bound<'py, PyList>>,
        birth_keys: Option<Bound<'py, PyList>>,
        addr_keys: Option<Bound<'py, PyList>>,
        sexes: Option<PyReadonlyArray1<'py, u8>>,
        durable: bool,
    ) -> PyResult<Bound<'py, PyArray1<u64>>> {
        let err = |m: String| pyo3::exceptions::PyValueError::new_err(m);
        let pids = person_ids.as_slice()?;
        let n = pids.len();
        let exp = expect_seqs.as_ref().map(|a| a.as_slice()).transpose()?;
        let vf = dates(&valid_from, n, "valid_from")?;
        let nt = dates(&notified, n, "notified")?;
        if exp.is_some_and(|e| e.len() != n) {
            return Err(err(format!("expect_seqs needs {n} items")));
        }
        if values.len() != positions.len() {
            return Err(err(format!("{} value columns for {} positions", values.len(), positions.len())));
        }
        let cols: Vec<Vec<Bound<'py, pyo3::types::PyString>>> = values
            .iter()
            .map(|c| {
                let l = c.cast_into::<PyList>()?;
                if l.len() != n {
                    return Err(err(format!("a value column has {} items, not {n}", l.len())));
                }
                l.iter().map(|o| o.cast_into::<pyo3::types::PyString>().map_err(PyErr::from)).collect()
            })
            .collect::<PyResult<_>>()?;
        let strs: Vec<Vec<&str>> = cols.iter().map(|c| c.iter().map(|s| s.to_str()).collect::<PyResult<_>>()).collect::<PyResult<_>>()?;
        let opt_bytes = |l: &Option<Bound<'py, PyList>>, what: &str| -> PyResult<Option<Vec<Bound<'py, PyBytes>>>> {
            match l {
                None => Ok(None),
                Some(l) if l.len() == n => Ok(Some(l.iter().map(|o| o.cast_into::<PyBytes>().map_err(PyErr::from)).collect::<PyResult<_>>()?)),
                Some(l) => Err(err(format!("{what} has {} items, not {n}", l.len()))),
            }
        };
        let (nk, bk, ak) = (opt_bytes(&name_keys, "name_keys")?, opt_bytes(&birth_keys, "birth_keys")?, opt_bytes(&addr_keys, "addr_keys")?);
        let codes = codes.as_ref().map(|a| a.as_slice()).transpose()?;
        let mns = mynumbers.as_ref().map(|a| a.as_slice()).transpose()?;
        let sexes = sexes.as_ref().map(|a| a.as_slice()).transpose()?;
        for (what, len) in [("codes", codes.map(|c| c.len())), ("mynumbers", mns.map(|c| c.len())), ("sexes", sexes.map(|c| c.len()))] {
            if len.is_some_and(|l| l != n) {
                return Err(err(format!("{what} needs {n} items")));
            }
        }
        let patches: Vec<Patch> = (0..n)
            .map(|i| Patch {
                person_id: pids[i],
                expect_seq: exp.map_or(0, |e| e[i]),
                valid_from: vf[i],
                notified: nt[i],
                fields: positions.iter().zip(&strs).map(|(&p, col)| (p, col[i].as_bytes())).collect(),
                code: codes.map(|c| c[i]),
                mynumber: mns.map(|c| c[i]),
                name_key: nk.as_ref().map(|v| v[i].as_bytes()),
                birth_key: bk.as_ref().map(|v| v[i].as_bytes()),
                addr_key: ak.as_ref().map(|v| v[i].as_bytes()),
                sex: sexes.map(|c| c[i]),
            })
            .collect();
        let meta = WriteMeta { operator, terminal, timestamp_us, event };
        let store = &self.inner;
        let rule = FlagRule { set: set_flags, clear: clear_flags, refuse_removed, unlock };
        let r = py.detach(|| written(durable, || store.apply_patches(&patches, event, &must, rule, &meta))).map_err(|e| to_py(py, e))?;
        Ok(PyArray1::from_vec(py, r))
    }

    /// The last 更新順番号 committed at or before `timestamp_us` (0 when none).
    fn seq_at(&self, py: Python<'_>, timestamp_us: i64) -> PyResult<u64> {
        let store = &self.inner;
        py.detach(|| store.seq_at(timestamp_us)).map_err(|e| to_py(py, e))
    }

    /// Records a new proposal; returns its id.
    fn propose(&self, py: Python<'_>, value: Vec<u8>) -> PyResult<u64> {
        let store = &self.inner;
        py.detach(|| store.propose(&value)).map_err(|e| to_py(py, e))
    }

    /// Writes the next step of a proposal, if nobody wrote it first.
    fn proposal_step(&self, py: Python<'_>, id: u64, step: u32, value: Vec<u8>) -> PyResult<()> {
        let store = &self.inner;
        py.detach(|| store.proposal_step(&StepWrite { id, step, value: &value })).map_err(|e| to_py(py, e))
    }

    /// Steps (id, step, seq, value) of one proposal, in order.
    fn proposal<'py>(&self, py: Python<'py>, id: u64) -> PyResult<Vec<(u64, u32, u64, Bound<'py, PyBytes>)>> {
        let store = &self.inner;
        let r = py.detach(|| store.proposal(id)).map_err(|e| to_py(py, e))?;
        Ok(r.into_iter().map(|p| step_tuple(py, p)).collect())
    }

    /// Steps (id, step, seq, value) of the proposals with ids above `after`, at most `limit` proposals.
    #[pyo3(signature = (after=0, limit=1000))]
    fn proposals<'py>(&self, py: Python<'py>, after: u64, limit: usize) -> PyResult<Vec<(u64, u32, u64, Bound<'py, PyBytes>)>> {
        let store = &self.inner;
        let r = py.detach(|| store.proposals(after, limit)).map_err(|e| to_py(py, e))?;
        Ok(r.into_iter().map(|p| step_tuple(py, p)).collect())
    }

    /// Every version of a person, oldest first: tuples
    /// (person_id, seq, valid_from, notified, event, flags, code, mynumber, payload).
    fn history<'py>(&self, py: Python<'py>, person_id: u64) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let store = &self.inner;
        let r = py.detach(|| store.history(person_id)).map_err(|e| to_py(py, e))?;
        r.into_iter().map(|v| version_tuple(py, v)).collect()
    }

    #[pyo3(signature = (person_id, date, known_at=None))]
    fn as_of<'py>(&self, py: Python<'py>, person_id: u64, date: &[u8], known_at: Option<u64>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let date = date8(date, "date")?;
        let store = &self.inner;
        let r = py.detach(|| store.as_of(person_id, &date, known_at)).map_err(|e| to_py(py, e))?;
        r.map(|v| version_tuple(py, v)).transpose()
    }

    fn as_known<'py>(&self, py: Python<'py>, person_id: u64, seq: u64) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let store = &self.inner;
        let r = py.detach(|| store.as_known(person_id, seq)).map_err(|e| to_py(py, e))?;
        r.map(|v| version_tuple(py, v)).transpose()
    }

    /// Batch as_of over arrays: columns (found, seqs, flags, offsets, data) of payloads.
    #[allow(clippy::type_complexity)]
    #[pyo3(signature = (person_ids, dates, known_at=None))]
    fn as_of_many<'py>(
        &self,
        py: Python<'py>,
        person_ids: PyReadonlyArray1<'py, u64>,
        dates: PyReadonlyArray1<'py, u8>,
        known_at: Option<u64>,
    ) -> PyResult<VersionColumns<'py>> {
        let pids = person_ids.as_slice()?;
        let ds = self::dates(&dates, pids.len(), "dates")?;
        let store = &self.inner;
        let c = py.detach(|| store.as_of_columns(pids, &ds, known_at)).map_err(|e| to_py(py, e))?;
        Ok((
            PyArray1::from_vec(py, c.found),
            PyArray1::from_vec(py, c.seqs),
            PyArray1::from_vec(py, c.flags),
            PyArray1::from_vec(py, c.offsets),
            PyArray1::from_vec(py, c.data),
        ))
    }

    /// Batch as_known (person i as the store knew it at seqs[i]): columns as `as_of_many`.
    #[allow(clippy::type_complexity)]
    fn as_known_many<'py>(
        &self,
        py: Python<'py>,
        person_ids: PyReadonlyArray1<'py, u64>,
        seqs: PyReadonlyArray1<'py, u64>,
    ) -> PyResult<VersionColumns<'py>> {
        let pids = person_ids.as_slice()?;
        let seqs = seqs.as_slice()?;
        if seqs.len() != pids.len() {
            return Err(pyo3::exceptions::PyValueError::new_err(format!("seqs has {} items, person_ids has {}", seqs.len(), pids.len())));
        }
        let store = &self.inner;
        let r = py.detach(|| store.as_known_many(pids, seqs)).map_err(|e| to_py(py, e))?;
        Ok(version_columns(py, r))
    }

    /// Changes after `since`: tuples (seq, person_id, timestamp_us, event, operator, terminal, version).
    #[pyo3(signature = (since, limit=10_000))]
    fn changes<'py>(&self, py: Python<'py>, since: u64, limit: usize) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let store = &self.inner;
        let r = py.detach(|| store.changes(since, limit)).map_err(|e| to_py(py, e))?;
        r.into_iter().map(|c| change_tuple(py, c)).collect()
    }

    fn last_seq(&self, py: Python<'_>) -> PyResult<u64> {
        let store = &self.inner;
        py.detach(|| store.last_seq()).map_err(|e| to_py(py, e))
    }

    fn __repr__(&self) -> String {
        format!("NativeStore({:?}, readonly={})", self.inner.path().display().to_string(), self.inner.readonly())
    }
}

/// Runs a write; with `durable` false, as one of an unsynced load's (`unsynced_begin`): its commits
/// skip fsync until the load ends. Other threads' writes are not affected.
fn written<R>(durable: bool, f: impl FnOnce() -> R) -> R {
    if durable {
        f()
    } else {
        jukistore_core::store::unsynced_writes(f)
    }
}

/// One batch of a load, owned, for the thread that writes it.
struct LoadBatch {
    codes: Vec<u64>,
    mynumbers: Vec<u64>,
    sexes: Vec<u8>,
    flags: Vec<u8>,
    valid_from: Vec<[u8; DATE_LEN]>,
    notified: Vec<[u8; DATE_LEN]>,
    texts: Texts<4>,
}

impl LoadBatch {
    fn persons(&self) -> Vec<NewPerson<'_>> {
        (0..self.codes.len())
            .map(|i| {
                let [name_key, birth_key, addr_key, payload] = self.texts.row(i);
                NewPerson {
                    code: self.codes[i],
                    mynumber: self.mynumbers[i],
                    name_key,
                    birth_key,
                    addr_key,
                    sex: self.sexes[i],
                    flags: self.flags[i],
                    payload,
                    valid_from: self.valid_from[i],
                    notified: self.notified[i],
                }
            })
            .collect()
    }
}

/// `K` lists of bytes copied into one buffer: row `i` is the `i`-th item of each list.
struct Texts<const K: usize> {
    data: Vec<u8>,
    /// Where each item ends in `data`, row by row (`K` per row).
    ends: Vec<usize>,
}

impl<const K: usize> Texts<K> {
    fn copy(lists: [&Bound<'_, PyList>; K]) -> PyResult<Self> {
        let items: Vec<Vec<Bound<'_, PyBytes>>> = lists
            .iter()
            .map(|l| l.iter().map(|o| o.cast_into::<PyBytes>().map_err(PyErr::from)).collect())
            .collect::<PyResult<_>>()?;
        let rows = items.iter().map(Vec::len).min().unwrap_or(0);
        let total: usize = items.iter().flatten().map(|b| b.as_bytes().len()).sum();
        let mut data = Vec::with_capacity(total);
        let mut ends = Vec::with_capacity(rows * K);
        for i in 0..rows {
            for list in &items {
                data.extend_from_slice(list[i].as_bytes());
                ends.push(data.len());
            }
        }
        Ok(Texts { data, ends })
    }

    fn row(&self, i: usize) -> [&[u8]; K] {
        std::array::from_fn(|k| {
            let at = i * K + k;
            let start = if at == 0 { 0 } else { self.ends[at - 1] };
            &self.data[start..self.ends[at]]
        })
    }
}

/// Whether a batch committed, once it has finished: what the batch after it waits for.
#[derive(Default)]
struct Outcome {
    done: std::sync::Mutex<Option<bool>>,
    changed: std::sync::Condvar,
}

impl Outcome {
    /// Blocks until the batch has finished; true if it committed.
    fn wait(&self) -> bool {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(ok) = *done {
                return ok;
            }
            done = self.changed.wait(done).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Sets its batch's outcome when dropped: at the end of the thread, or while it unwinds.
struct Report {
    outcome: Arc<Outcome>,
    ok: bool,
}

impl Drop for Report {
    fn drop(&mut self) {
        *self.outcome.done.lock().unwrap_or_else(|e| e.into_inner()) = Some(self.ok);
        self.outcome.changed.notify_all();
    }
}

/// How a batch's thread ended.
enum Written {
    Committed(LoadReceipt),
    Failed(StoreError),
    /// The batch before failed, so this one was not written.
    Skipped,
}

/// A batch being loaded by the core's thread (see `NativeStore.begin_load`).
#[pyclass(module = "jukistore._core", frozen)]
pub struct PendingLoad {
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<Written>>>,
    outcome: Arc<Outcome>,
    /// The process that started the thread: a forked child has no such thread to wait for.
    pid: u32,
}

#[pymethods]
impl PendingLoad {
    /// Waits for the batch to commit or fail: (first_person_id, first_seq, count, lenient_rows),
    /// or the error of the batch. Once only.
    fn wait(&self, py: Python<'_>) -> PyResult<(u64, u64, u64, Vec<usize>)> {
        if std::process::id() != self.pid {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("a load started before fork cannot be waited for in the child"));
        }
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(thread) = thread else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("this load was already waited for"));
        };
        let r = py
            .detach(|| thread.join())
            .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("the load's thread panicked"))?;
        match r {
            Written::Committed(r) => Ok((r.first_person_id, r.first_seq, r.count, r.lenient_rows)),
            Written::Failed(e) => Err(to_py(py, e)),
            Written::Skipped => Err(LoadSkipped::new_err("not written: the batch before it failed")),
        }
    }
}

pyo3::create_exception!(_core, LoadSkipped, pyo3::exceptions::PyException, "A batch not written because the one before it failed.");

impl Drop for PendingLoad {
    /// A batch not waited for still finishes (committed or not) before its handle goes away, so
    /// that the caller's next write or sync comes after it.
    fn drop(&mut self) {
        let thread = self.thread.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            if std::process::id() == self.pid {
                // Without the GIL, as in `wait`: other Python threads go on meanwhile.
                let _ = Python::attach(|py| py.detach(|| t.join()));
            } else {
                // A forked child: the thread stayed in the parent (as for the core's threads).
                std::mem::forget(t);
            }
        }
    }
}
