//! `jukistore._core.RightsClock` and `jukistore._core.BoundGet`: the single get of a handle bound
//! to an operator, checked and logged in one native call.
//!
//! `Store.get` on a bound handle must check the operator's read right and add the person to the
//! access log; done in Python, those steps cost a third of a lookup. A `BoundGet` is armed by the
//! checked get (`jukistore.store._CheckedGet`) with what it saw: the role register's generation
//! at which the operator held the read right, and the tally of the access-log entry its calls
//! join. While the generation is unchanged, the register's recheck interval has not run out and
//! the tally still takes calls, the next get by the same kind of key needs nothing the checked
//! get would decide differently, and is answered here; otherwise the checked get runs, before any
//! lookup here, and arms it again. So no read skips the check or the log.
//!
//! A handle's `get` attribute is this object's `get` (set per instance by `Store`): a lookup
//! answered here then runs no Python frame at all.
//!
//! The GIL is held throughout (no `detach`): a tally is closed by Python code, which cannot run
//! while a lookup holds the tally's lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::PyInt;

use jukistore_core::store::{Lookup, Store};

use crate::person::Person;
use crate::store::{lookup, to_py, NativeStore};
use crate::tally::Tally;

/// CLOCK_MONOTONIC in nanoseconds: the clock of Python's `time.monotonic`.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out pointer; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// What a role register (`jukistore.access.roles.RoleRegistry`) publishes for native checks:
/// a generation that changes whenever its rights tables change, when (monotonic nanoseconds) it
/// last looked at the roles journal, and its recheck interval. A check holds while the
/// generation is the one it was armed at and the interval has not run out since the look, the
/// rule of `RoleRegistry.has_right` with the interval as it is now.
#[pyclass(module = "jukistore._core", frozen)]
pub struct RightsClock {
    generation: AtomicU64,
    looked_ns: AtomicU64,
    interval_ns: AtomicU64,
}

#[pymethods]
impl RightsClock {
    #[new]
    fn new() -> RightsClock {
        RightsClock { generation: AtomicU64::new(0), looked_ns: AtomicU64::new(0), interval_ns: AtomicU64::new(0) }
    }

    /// The current generation (read before a check whose result arms a `BoundGet`).
    #[getter]
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A look at the journal, begun at `at_ns`, ended; `changed` when the tables were rebuilt
    /// (call after publishing them).
    fn looked(&self, changed: bool, at_ns: u64) {
        if changed {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        self.looked_ns.store(at_ns, Ordering::Release);
    }

    /// The recheck interval, as set now.
    fn set_interval(&self, interval_ns: u64) {
        self.interval_ns.store(interval_ns, Ordering::Release);
    }

    /// The tables changed in this process and must be looked at again before any native check.
    fn expire(&self) {
        self.looked_ns.store(0, Ordering::Release);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether a check armed at generation `armed` still holds now.
    #[pyo3(name = "holds")]
    fn holds_py(&self, armed: u64) -> bool {
        self.holds(armed)
    }
}

impl RightsClock {
    fn holds(&self, armed: u64) -> bool {
        if self.generation.load(Ordering::Acquire) != armed {
            return false;
        }
        let looked = self.looked_ns.load(Ordering::Acquire);
        looked != 0 && monotonic_ns().saturating_sub(looked) < self.interval_ns.load(Ordering::Acquire)
    }
}

const DISARMED: u64 = u64::MAX;

/// The native single get of one bound handle (see the module documentation).
#[pyclass(module = "jukistore._core", frozen)]
pub struct BoundGet {
    store: Arc<Store>,
    /// The handle's checked get (`jukistore.store._CheckedGet`), called as
    /// `checked(code, mynumber, person_id, this)` when the native get cannot answer.
    checked: Py<PyAny>,
    rights: Py<RightsClock>,
    /// The rights generation at which the handle's operator held the read right, or DISARMED.
    armed: AtomicU64,
    /// Per kind of key (code, mynumber, person_id): the tally of the access-log entry its gets join.
    tallies: [Mutex<Option<Py<Tally>>>; 3],
}

fn slot(how: Lookup) -> usize {
    match how {
        Lookup::Code => 0,
        Lookup::MyNumber => 1,
        Lookup::PersonId => 2,
    }
}

impl BoundGet {
    /// The lookup kind and key of a call naming exactly one key, given as an `int` of 0..2**64;
    /// None for anything else (the checked path validates and reports it).
    fn key(code: Option<&Bound<'_, PyAny>>, mynumber: Option<&Bound<'_, PyAny>>, person_id: Option<&Bound<'_, PyAny>>) -> Option<(Lookup, u64)> {
        let (how, value) = match (code, mynumber, person_id) {
            (Some(v), None, None) => (Lookup::Code, v),
            (None, Some(v), None) => (Lookup::MyNumber, v),
            (None, None, Some(v)) => (Lookup::PersonId, v),
            _ => return None,
        };
        if !value.is_exact_instance_of::<PyInt>() {
            return None;
        }
        // `unsigned long` is 64 bits on the platforms built for; its conversion is the short one.
        // SAFETY: `value` is an int; an error (negative, too large) is taken back at once.
        let k = unsafe { pyo3::ffi::PyLong_AsUnsignedLong(value.as_ptr()) };
        if k == std::os::raw::c_ulong::MAX && PyErr::take(value.py()).is_some() {
            return None;
        }
        Some((how, k as u64))
    }
}

#[pymethods]
impl BoundGet {
    #[new]
    fn new(store: &NativeStore, rights: Py<RightsClock>, checked: Py<PyAny>) -> BoundGet {
        BoundGet {
            store: store.inner.clone(),
            checked,
            rights,
            armed: AtomicU64::new(DISARMED),
            tallies: [Mutex::new(None), Mutex::new(None), Mutex::new(None)],
        }
    }

    /// Arms the get by `how` after the checked path: the operator held the read right at rights
    /// generation `generation`, and `tally` (or None) is the open entry its gets join.
    fn arm(&self, generation: u64, how: &str, tally: Option<Py<Tally>>) -> PyResult<()> {
        let i = slot(lookup(how)?);
        self.armed.store(generation, Ordering::Release);
        *self.tallies[i].lock().unwrap() = tally;
        Ok(())
    }

    /// One person by exactly one of 住民票コード, 個人番号 or person id; None when unknown
    /// (`jukistore.store.Store.get`, native: answered here when armed, else by the checked get).
    ///
    /// An old (superseded) number still finds its person, with ``superseded=True``.
    #[pyo3(signature = (*, code=None, mynumber=None, person_id=None))]
    fn get(
        slf: &Bound<'_, Self>,
        code: Option<&Bound<'_, PyAny>>,
        mynumber: Option<&Bound<'_, PyAny>>,
        person_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.get();
        match this.native(py, code, mynumber, person_id)? {
            Some(p) => Ok(p),
            None => this.checked.call1(py, (code, mynumber, person_id, slf)),
        }
    }
}

impl BoundGet {
    /// The native answer when armed: Some(Person or None), the call logged; None, before any
    /// lookup, when the checked get must run.
    fn native(
        &self,
        py: Python<'_>,
        code: Option<&Bound<'_, PyAny>>,
        mynumber: Option<&Bound<'_, PyAny>>,
        person_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let Some((how, key)) = Self::key(code, mynumber, person_id) else { return Ok(None) };
        if !self.rights.get().holds(self.armed.load(Ordering::Acquire)) {
            return Ok(None);
        }
        // Held through the lookup (only `arm` takes it otherwise, and that needs the GIL this call
        // holds), but not while Python objects are made: that may run a collection, and so Python
        // code that gets again.
        let mut held = self.tallies[slot(how)].lock().unwrap();
        let Some(tally) = held.as_ref() else { return Ok(None) };
        let store = &self.store;
        // The lookup runs under the tally's lock: the call is logged if and only if it is answered.
        let answer = tally.get().add_one_with(|| {
            let found = store.get(how, key)?;
            let pid = found.as_ref().map(|f| f.person_id);
            Ok((found, pid))
        });
        if answer.is_none() {
            // Closed or full: forget it (the checked get arms a new one).
            *held = None;
        }
        drop(held);
        match answer {
            None => Ok(None),
            Some(Err(e)) => Err(to_py(py, e)),
            Some(Ok(None)) => Ok(Some(py.None())),
            Some(Ok(Some(f))) => Ok(Some(Py::new(py, Person::found(f))?.into_any())),
        }
    }
}
