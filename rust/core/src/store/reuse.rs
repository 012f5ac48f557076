//! A read transaction kept from one single get to the next, while it still sees the newest
//! snapshot.
//!
//! Beginning an LMDB read transaction allocates it and claims a reader slot under the lock
//! file's mutex, and its first use of each named database looks that database up again in the
//! main one. For a single get by number that is about a tenth of the call. So a get reuses the
//! transaction of the previous get as long as no write has committed since (its id is still the
//! environment's last transaction id): that is exactly the snapshot a new transaction would see.
//!
//! An open transaction keeps the pages of its snapshot from being reused by writers, here and in
//! other processes. So a thread of the store drops the transaction once no get has used it for
//! [`IDLE`] (it lives at most twice that after the last get), and the store drops it before
//! resizing or replacing its map. A get never waits for it: if another thread is using it, the
//! get begins its own.

use std::mem::ManuallyDrop;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, TryLockError};
use std::thread::JoinHandle;
use std::time::Duration;

use heed::{Env, RoTxn, WithoutTls};

use super::forks;

/// How long a kept transaction may go unused before it is dropped.
pub(crate) const IDLE: Duration = Duration::from_millis(25);

#[derive(Default)]
pub(crate) struct Slot {
    txn: Option<RoTxn<'static, WithoutTls>>,
    /// Gets served, so the reaper can tell whether any came since it last looked.
    uses: u64,
    stop: bool,
}

impl Slot {
    /// The kept transaction (a leased slot always has one).
    pub(crate) fn txn(&self) -> &RoTxn<'static, WithoutTls> {
        self.txn.as_ref().expect("a leased slot holds a transaction")
    }
}

struct Shared {
    slot: Mutex<Slot>,
    wake: Condvar,
}

/// The kept read transaction of one store handle, and the thread that drops it when idle.
pub(crate) struct Reuse {
    /// Leaked in a forked child (see `Drop`).
    shared: ManuallyDrop<Arc<Shared>>,
    reaper: Mutex<Option<JoinHandle<()>>>,
    forks_at_open: u32,
}

impl Reuse {
    pub(crate) fn new(forks_at_open: u32) -> Reuse {
        Reuse {
            shared: ManuallyDrop::new(Arc::new(Shared { slot: Mutex::new(Slot::default()), wake: Condvar::new() })),
            reaper: Mutex::new(None),
            forks_at_open,
        }
    }

    /// The kept transaction, renewed first if a write committed since it began; None when
    /// another thread is using it (the caller begins its own). The caller must hold the store's
    /// resize guard for reading, as for any read.
    pub(crate) fn lease(&self, env: &Env<WithoutTls>) -> heed::Result<Option<MutexGuard<'_, Slot>>> {
        let mut slot = match self.shared.slot.try_lock() {
            Ok(s) => s,
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
        };
        if slot.stop {
            return Ok(None);
        }
        let last = env.info().last_txn_id;
        if slot.txn.as_ref().is_some_and(|t| t.id() != last) {
            slot.txn = None;
        }
        if slot.txn.is_none() {
            if !self.start_reaper() {
                return Ok(None);
            }
            let txn = env.read_txn()?;
            // SAFETY: the transaction borrows `env`, the field of the `Store` that owns this
            // `Reuse`; `Store` declares `reads` before `env`, and `Reuse::drop` drops the
            // transaction and joins the reaper, so it never outlives `env`. (Borrowing rather
            // than holding a clone of the environment lets a forked child, which leaks the
            // transaction, still close its environment.)
            slot.txn = Some(unsafe { std::mem::transmute::<RoTxn<'_, WithoutTls>, RoTxn<'static, WithoutTls>>(txn) });
            // The reaper may be waiting for a transaction to watch.
            self.shared.wake.notify_one();
        }
        slot.uses = slot.uses.wrapping_add(1);
        Ok(Some(slot))
    }

    /// Drops the kept transaction (before the map is resized or the data file replaced).
    pub(crate) fn clear(&self) {
        self.shared.slot.lock().unwrap_or_else(|e| e.into_inner()).txn = None;
    }

    /// Whether a transaction is kept now.
    #[cfg(test)]
    pub(crate) fn holds(&self) -> bool {
        self.shared.slot.lock().unwrap().txn.is_some()
    }

    /// Starts the reaper once; false if no thread could be started (then nothing is kept).
    fn start_reaper(&self) -> bool {
        let mut reaper = self.reaper.lock().unwrap_or_else(|e| e.into_inner());
        if reaper.is_some() {
            return true;
        }
        let shared = Arc::clone(&self.shared);
        match std::thread::Builder::new().name("jukistore-reads".into()).spawn(move || reap(&shared)) {
            Ok(h) => {
                *reaper = Some(h);
                true
            }
            Err(_) => false,
        }
    }
}

/// Drops the kept transaction when a whole [`IDLE`] passed without a get; waits while none is kept.
fn reap(shared: &Shared) {
    let mut slot = shared.slot.lock().unwrap_or_else(|e| e.into_inner());
    let mut seen = None;
    while !slot.stop {
        if slot.txn.is_none() {
            seen = None;
            slot = shared.wake.wait(slot).unwrap_or_else(|e| e.into_inner());
            continue;
        }
        if seen == Some(slot.uses) {
            slot.txn = None;
            continue;
        }
        seen = Some(slot.uses);
        slot = shared.wake.wait_timeout(slot, IDLE).unwrap_or_else(|e| e.into_inner()).0;
    }
}

impl Drop for Reuse {
    fn drop(&mut self) {
        if forks() != self.forks_at_open {
            // A forked child: the transaction's reader slot is the parent's, and aborting it here
            // would free that slot under the parent's reads; the reaper stayed in the parent.
            // So both are left alone (leaked); the transaction does not keep the environment
            // open (see `lease`).
            std::mem::forget(self.reaper.get_mut().unwrap_or_else(|e| e.into_inner()).take());
            return;
        }
        {
            let mut slot = self.shared.slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.txn = None;
            slot.stop = true;
        }
        self.shared.wake.notify_all();
        if let Some(h) = self.reaper.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
        // SAFETY: dropped once, here, and never used again.
        unsafe { ManuallyDrop::drop(&mut self.shared) };
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{LoadOptions, Lookup, NewPerson, OpenOptions, Store, WriteMeta};

    fn load(s: &Store, codes: &[u64], payload: &[u8]) {
        let meta = WriteMeta { operator: "op1", terminal: "t1", timestamp_us: 1, event: 0 };
        let ps: Vec<NewPerson> = codes
            .iter()
            .map(|&code| NewPerson {
                code,
                mynumber: crate::store::entry::NO_MYNUMBER,
                name_key: b"NAME",
                birth_key: b"19800101",
                addr_key: b"addr",
                sex: 1,
                flags: 0,
                payload,
                valid_from: *b"20100101",
                notified: *b"20100102",
            })
            .collect();
        s.load(&ps, &meta, &LoadOptions::default()).unwrap();
    }

    /// Whether a get leaves its transaction kept (a few tries: the reaper may drop it if this
    /// thread is descheduled for a whole idle period between the get and the look).
    fn kept(s: &Store, code: u64) -> bool {
        (0..10).any(|_| s.get(Lookup::Code, code).unwrap().is_some() && s.reads.holds())
    }

    #[test]
    fn a_kept_transaction_sees_every_commit_and_is_dropped_when_idle() {
        let dir = tempfile::tempdir().unwrap();
        // A small map, so that the loads below make it grow while a transaction is kept.
        let s = Store::create(dir.path(), "131075", &OpenOptions { map_size: 1 << 20, ..Default::default() }).unwrap();
        let mut codes = vec![0u64; 4000];
        crate::ids::generate(crate::ids::Kind::Juminhyo, 0, codes.len(), 3, &mut codes).unwrap();
        load(&s, &codes[..10], b"first");
        assert_eq!(s.get(Lookup::Code, codes[0]).unwrap().unwrap().payload, b"first");
        assert!(kept(&s, codes[0]));
        assert!(s.get(Lookup::Code, codes[10]).unwrap().is_none());
        let before = s.map_size();
        // Written by another thread while this one keeps its transaction: the next get must
        // see the commit, not the kept snapshot.
        std::thread::scope(|t| {
            t.spawn(|| {
                for part in codes[10..3999].chunks(500) {
                    load(&s, part, &[b'x'; 200]);
                }
            });
        });
        assert!(s.map_size() > before, "the map grew meanwhile");
        assert_eq!(s.get(Lookup::Code, codes[10]).unwrap().unwrap().person_id, 11);
        assert!(s.get(Lookup::Code, codes[3999]).unwrap().is_none());
        // A commit with no growth, while this thread keeps using its transaction (so the reaper
        // never drops it meanwhile).
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|t| {
            t.spawn(|| {
                load(&s, &codes[3999..], b"last");
                done.store(true, std::sync::atomic::Ordering::Release);
            });
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                assert!(s.get(Lookup::Code, codes[0]).unwrap().is_some());
            }
        });
        assert_eq!(s.get(Lookup::Code, codes[3999]).unwrap().unwrap().person_id, 4000);
        std::thread::sleep(super::IDLE * 4);
        assert!(!s.reads.holds(), "an idle transaction is dropped");
        // And taken again by the next get.
        assert_eq!(s.get(Lookup::Code, codes[1]).unwrap().unwrap().person_id, 2);
        assert!(kept(&s, codes[1]));
        assert!(s.verify().unwrap().is_clean());
    }
}
