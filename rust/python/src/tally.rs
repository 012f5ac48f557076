//! `jukistore._core.Tally`: the open access-log entry of a run of single lookups.
//!
//! The access log writes one entry for a run of single reads by one operator for one purpose
//! (`jukistore.access.journal.Journal.merge`). Kept in Python, adding a person to that entry cost
//! as much as the lookup itself; kept here, the lookup adds the person it found in the same native
//! call (`NativeStore.person(..., tally)`). The journal closes the tally when the entry is written
//! or another entry follows it; a lookup the tally refuses (closed, or full) is logged the slow
//! way, so no read goes unrecorded and none is recorded twice.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;

struct State {
    open: bool,
    persons: Vec<u64>,
    calls: u64,
    last_us: u64,
}

/// The persons, calls and time of the latest call of an open access-log entry.
#[pyclass(module = "jukistore._core", frozen)]
pub struct Tally {
    limit: usize,
    state: Mutex<State>,
}

impl Tally {
    /// Adds one call (with its person, if one was found) at the system time; false when refused.
    pub fn add_now(&self, person: Option<u64>) -> bool {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
        self.add_call(person.as_slice(), now)
    }

    /// Runs `f` (a lookup giving its result and the person it found) and adds its call at the
    /// system time, all under the tally's lock; None, without running `f`, when the tally is
    /// closed or full. A failed `f` adds nothing. Call with the GIL held and do not release it in
    /// `f`: `close` comes from Python, so it cannot then wait on this lock while holding the GIL.
    pub fn add_one_with<R, E>(&self, f: impl FnOnce() -> Result<(R, Option<u64>), E>) -> Option<Result<R, E>> {
        let mut s = self.state.lock().unwrap();
        if !s.open || s.persons.len() + 1 > self.limit {
            return None;
        }
        let (r, person) = match f() {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
        s.persons.extend(person);
        s.calls += 1;
        s.last_us = s.last_us.max(now);
        Some(Ok(r))
    }

    /// One more call naming `persons` at `at_us`; false when closed or it would overflow.
    fn add_call(&self, persons: &[u64], at_us: u64) -> bool {
        let mut s = self.state.lock().unwrap();
        if !s.open || s.persons.len() + persons.len() > self.limit {
            return false;
        }
        s.persons.extend_from_slice(persons);
        s.calls += 1;
        s.last_us = s.last_us.max(at_us);
        true
    }
}

#[pymethods]
impl Tally {
    /// A tally opened with the first call's persons at `at_us` (microseconds), holding at most
    /// `limit` persons.
    #[new]
    fn new(persons: Vec<u64>, at_us: u64, limit: usize) -> Tally {
        Tally { limit, state: Mutex::new(State { open: true, persons, calls: 1, last_us: at_us }) }
    }

    /// Adds one call's persons at `at_us`; false when the tally is closed or would overflow.
    fn add(&self, persons: Vec<u64>, at_us: u64) -> bool {
        self.add_call(&persons, at_us)
    }

    /// Closes the tally (it takes no more calls) and returns (persons, calls, last_us).
    fn close(&self) -> (Vec<u64>, u64, u64) {
        let mut s = self.state.lock().unwrap();
        s.open = false;
        (s.persons.clone(), s.calls, s.last_us)
    }
}
