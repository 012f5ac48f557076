//! The record store: one LMDB environment per directory, opened once per process.
//!
//! Databases (all created at open, in one write transaction, as LMDB wants):
//! - `meta`: store-wide settings and counters (municipality, next person id, next sequence).
//! - `persons`: person id → person entry ([`entry::Entry`]).
//! - `by_code`, `by_mynumber`: 住民票コード / 個人番号 → person id (u64 BE) and a
//!   status byte (current or superseded). Entries are never reused for another person.
//! - `idx_name`, `idx_birth`: 4情報 search keys → person ids (sorted duplicates).
//!   These three are MDB_INTEGERKEY databases: keys are native-endian u64 compared as integers.
//! - `changes`: 更新順番号 (u64 BE) → who changed which person, when, and why.
//! - `history`: every version by 更新順番号; each person's entry lists the person's versions by
//!   (異動年月日, 更新順番号); see [`history`].
//! - `proposals`: changes waiting for a second operator, and the decisions on them; see
//!   [`proposals`].
//!
//! - `mailing`: 送付先情報 waiting to be sent or sent, erased within a year of sending and never
//!   copied into a backup once sent; see [`mailing`].
//! - `holds` (in `meta`, keys `hold/` + person id): legal holds that keep a person from purge; see
//!   [`purge`].
//!
//! Exclusive use: every handle holds a shared `flock` on `jukistore.lock` in the directory for as
//! long as it is open; a purge opens the store exclusively (an exclusive lock, refused while anyone
//! else has it open) because it swaps a rebuilt data file in, which no other open handle may see.
//!
//! Concurrency: LMDB gives one writer and many readers across threads and processes, readers never
//! blocked. Each call runs in one transaction. Growing the map is only safe with no transaction
//! open in this process, so every transaction holds a read guard of `resize` and growth takes the
//! write guard.

pub mod entry;
mod history;
mod load;
mod mailing;
pub mod patch;
mod proposals;
mod purge;
mod read;
mod reuse;
mod verify;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use heed::types::Bytes;
use heed::{Database, DatabaseFlags, Env, EnvFlags, EnvOpenOptions, RoTxn, RwTxn, WithoutTls};

pub use history::{Applied, Change, FlagRule, Patch, Refusal, Update, Version, VersionColumns, DATE_LEN};
pub use proposals::{ProposalStep, StepWrite};
pub use purge::{Erased, Rebuilt, RemovedPersons, SupersededVersions};
pub use mailing::MailingEntry;
pub use load::{LoadOptions, LoadReceipt, NewPerson, WriteMeta};
pub use read::{Found, GetMany, Lookup};
pub use verify::VerifyReport;

type Db = Database<Bytes, Bytes>;

/// Index value status: the number is the person's current one, or one they used to have.
pub const CURRENT: u8 = 0;
pub const SUPERSEDED: u8 = 1;

/// What can go wrong in the store. `row` is the 0-based position in the batch given by the caller.
#[derive(Debug)]
pub enum StoreError {
    Lmdb(heed::Error),
    Io(std::io::Error),
    /// A value failed validation (check digit, length); `reason` is an ids::Reason name.
    Invalid { row: usize, field: &'static str, reason: &'static str },
    /// The number is already used, by another person or earlier in the batch.
    Duplicate { row: usize, field: &'static str, value: u64 },
    /// A key or value does not fit LMDB's limits.
    TooLarge { row: usize, field: &'static str, len: usize },
    /// The store's files do not hold what they should.
    Corrupt(String),
    /// Not a store, or a store of another format.
    NotAStore(String),
    /// The store was created already.
    Exists(String),
    /// A write on a store opened read-only.
    ReadOnly,
    /// The handle was inherited through fork; LMDB forbids using it in the child.
    Forked,
    /// A search that does not name enough of the 4情報, or a write without operator.
    BadQuery(String),
    /// An update the store refuses (unknown person, 更新禁止, changed meanwhile).
    Refused { row: usize, refusal: Refusal },
    /// The store is in exclusive use (a purge), or this handle was closed by swapping its file.
    Busy(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Lmdb(e) => write!(f, "LMDB: {e}"),
            StoreError::Io(e) => write!(f, "I/O: {e}"),
            StoreError::Invalid { row, field, reason } => write!(f, "row {row}: field {field}: invalid ({reason})"),
            StoreError::Duplicate { row, field, .. } => write!(f, "row {row}: field {field}: number already in use"),
            StoreError::TooLarge { row, field, len } => write!(f, "row {row}: field {field}: {len} bytes is too long"),
            StoreError::Corrupt(s) => write!(f, "store is inconsistent: {s}"),
            StoreError::NotAStore(s) => write!(f, "not a jukistore store: {s}"),
            StoreError::Exists(s) => write!(f, "a store already exists at {s}"),
            StoreError::ReadOnly => write!(f, "store is opened read-only"),
            StoreError::Forked => write!(
                f,
                "this process was forked from one that has the store open; LMDB forbids using it here: \
                 open stores in a fresh process (multiprocessing 'spawn') or only after forking"
            ),
            StoreError::BadQuery(s) => write!(f, "{s}"),
            StoreError::Busy(s) => write!(f, "{s}"),
            StoreError::Refused { row, refusal } => match refusal {
                Refusal::NoSuchPerson => write!(f, "row {row}: no such person"),
                Refusal::UpdateProhibited => write!(f, "row {row}: the record is under 更新禁止 (update prohibited)"),
                Refusal::Conflict { expected, actual } => {
                    write!(f, "row {row}: the person changed meanwhile (expected version {expected}, found {actual})")
                }
                Refusal::NoSuchProposal { id } => write!(f, "no proposal {id}"),
                Refusal::ProposalDecided { id } => write!(f, "proposal {id} was decided meanwhile"),
                Refusal::NoChange => write!(f, "row {row}: the event changes none of the items it is for"),
                Refusal::PersonRemoved => write!(f, "row {row}: the event does not apply to a removed person (除票)"),
                Refusal::NotProhibited => write!(f, "row {row}: the record is not under 更新禁止"),
            },
        }
    }
}

impl std::error::Error for StoreError {}

impl From<heed::Error> for StoreError {
    fn from(e: heed::Error) -> Self {
        StoreError::Lmdb(e)
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e)
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Databases of a store, all opened at environment open.
#[derive(Clone, Copy)]
pub(crate) struct Dbs {
    pub meta: Db,
    pub persons: Db,
    pub by_code: Db,
    pub by_mynumber: Db,
    pub idx_name: Db,
    pub idx_birth: Db,
    pub changes: Db,
    pub history: Db,
    /// Absent only in a store created before proposals existed and opened read-only.
    pub proposals: Option<Db>,
    /// 送付先情報 (mailing data for J-LIS); absent in an older store opened read-only. See
    /// [`mailing`].
    pub mailing: Option<Db>,
}

/// Options for opening a store.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    pub readonly: bool,
    /// Initial map size in bytes; the map grows by doubling when full.
    pub map_size: usize,
    /// Opens the store for exclusive use (a purge): refused while any other handle, in this
    /// process or another, has it open, and keeps everyone else out until this handle closes.
    pub exclusive: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { readonly: false, map_size: 1 << 30, exclusive: false }
    }
}

/// An open store. Cheap to share: clone the `Arc` you get from [`Store::open`].
pub struct Store {
    /// The read transaction single gets reuse; first, so it is dropped before the environment
    /// it borrows.
    reads: reuse::Reuse,
    env: Env<WithoutTls>,
    pub(crate) dbs: Dbs,
    path: PathBuf,
    readonly: bool,
    pid: u32,
    /// The process's fork count when opened ([`forks`]): a different count means a forked child.
    forks_at_open: u32,
    resize: RwLock<()>,
    /// Serialises writers of this process (LMDB would too, but holding our resize guard while
    /// waiting on LMDB's writer lock could stall growth).
    writer: Mutex<()>,
    /// The shared (or, for a purge, exclusive) lock on `jukistore.lock`, released when dropped.
    _lock: Option<std::fs::File>,
    exclusive: bool,
    /// Set once this handle's data file was replaced ([`Store::swap_in`]): it must not be used.
    closed: std::sync::atomic::AtomicBool,
    /// Unsynced loads under way, and while there are any, the thread that starts each of their
    /// commits' write-back (see [`Store::unsynced_begin`]).
    unsynced: Mutex<Unsynced>,
    /// See [`Store::forced_syncs`].
    forced_syncs: std::sync::atomic::AtomicU64,
}

thread_local! {
    /// Set by [`unsynced_writes`] on the thread that runs it.
    static UNSYNCED_WRITES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with this thread's writes unsynced while an unsynced load is under way (between
/// [`Store::unsynced_begin`] and [`Store::unsynced_end`]): its commits skip fsync, and the
/// load's end syncs them. Outside such a load, writes sync as always.
pub fn unsynced_writes<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            UNSYNCED_WRITES.with(|u| u.set(self.0));
        }
    }
    let _restore = Restore(UNSYNCED_WRITES.with(|u| u.replace(true)));
    f()
}

/// See [`Store::unsynced_begin`].
#[derive(Default)]
struct Unsynced {
    loads: usize,
    writeback: Option<Writeback>,
}

/// A thread that starts the write-back of the data file when told to (see [`Store::unsynced_begin`]):
/// the committing thread only sends a message; the thread's `sync_file_range` call, which can
/// wait on the disk queue, slowed each batch of a load when the committing thread made it.
struct Writeback {
    /// Signals the thread; dropping it ends the thread.
    tell: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The process's fork count when the thread started: in a forked child the thread does not
    /// exist, and is not joined.
    forks_at_start: u32,
}

impl Writeback {
    /// The thread, on Linux (elsewhere there is no `sync_file_range`, and no thread).
    fn start(path: &Path) -> Option<Writeback> {
        if !cfg!(target_os = "linux") {
            return None;
        }
        let file = std::fs::File::open(path).ok()?;
        let (tell, told) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("jukistore-writeback".into())
            .spawn(move || {
                while told.recv().is_ok() {
                    #[cfg(target_os = "linux")]
                    {
                        use std::os::fd::AsRawFd;
                        // SAFETY: a valid descriptor; the call only starts write-back of the
                        // file's dirty pages.
                        unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
                    }
                }
            })
            .ok()?;
        Some(Writeback { tell: Some(tell), thread: Some(thread), forks_at_start: forks() })
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        drop(self.tell.take());
        if let Some(t) = self.thread.take() {
            if forks() == self.forks_at_start {
                let _ = t.join();
            } else {
                // A forked child: the thread stayed in the parent.
                std::mem::forget(t);
            }
        }
    }
}

static FORKS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

extern "C" fn forked_child() {
    FORKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// How many times this process's image was forked since it first opened a store, counted by an
/// `atfork` handler: every call checks it (a handle inherited across fork must not be used), and
/// reading an atomic costs nothing where asking the kernel for the process id is a system call.
fn forks() -> u32 {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        // SAFETY: registers a handler that only increments an atomic (async-signal-safe).
        unsafe { libc::pthread_atfork(None, None, Some(forked_child)) };
    });
    FORKS.load(std::sync::atomic::Ordering::Relaxed)
}

/// The name of the lock file every handle holds a lock on.
pub const LOCK_FILE: &str = "jukistore.lock";

/// Takes the store-wide lock: shared for ordinary use, exclusive for a purge. A directory that
/// cannot hold the lock file (a read-only copy) is opened without it when opened read-only.
fn take_lock(dir: &Path, exclusive: bool, readonly: bool) -> Result<Option<std::fs::File>> {
    let f = match std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(dir.join(LOCK_FILE)) {
        Ok(f) => f,
        Err(_) if readonly && !exclusive => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let r = if exclusive { f.try_lock() } else { f.try_lock_shared() };
    match r {
        Ok(()) => Ok(Some(f)),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Busy(if exclusive {
            format!("{}: the store is open elsewhere; a purge needs it to itself", dir.display())
        } else {
            format!("{}: the store is being purged; open it when the purge has finished", dir.display())
        })),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

const MAX_DBS: u32 = 16;
const MAX_READERS: u32 = 1024;
pub const FORMAT_VERSION: &[u8] = b"jukistore-3";

fn registry() -> &'static Mutex<HashMap<(u32, PathBuf), Weak<Store>>> {
    static R: OnceLock<Mutex<HashMap<(u32, PathBuf), Weak<Store>>>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(HashMap::new()))
}

impl Store {
    /// Creates a new store in `path` (created if missing; must not hold a store yet).
    pub fn create(path: &Path, municipality: &str, opts: &OpenOptions) -> Result<Arc<Store>> {
        std::fs::create_dir_all(path)?;
        if path.join("data.mdb").exists() {
            return Err(StoreError::Exists(path.display().to_string()));
        }
        let store = Self::open_env(path, opts, true)?;
        store.write(|txn, dbs| {
            dbs.meta.put(txn, b"format", FORMAT_VERSION)?;
            dbs.meta.put(txn, b"municipality", municipality.as_bytes())?;
            dbs.meta.put(txn, b"next_person", &1u64.to_be_bytes())?;
            dbs.meta.put(txn, b"next_seq", &1u64.to_be_bytes())?;
            Ok(())
        })?;
        Ok(store)
    }

    /// Opens an existing store. Within one process the same directory yields the same handle.
    pub fn open(path: &Path, opts: &OpenOptions) -> Result<Arc<Store>> {
        if !path.join("data.mdb").exists() {
            return Err(StoreError::NotAStore(format!("{}: no data.mdb", path.display())));
        }
        let store = Self::open_env(path, opts, false)?;
        let rtxn = store.read_txn()?;
        match store.dbs.meta.get(&rtxn, b"format")? {
            Some(v) if v == FORMAT_VERSION => {}
            Some(_) => return Err(StoreError::NotAStore("unknown format version".into())),
            None => return Err(StoreError::NotAStore("no format marker".into())),
        }
        drop(rtxn);
        if store.readonly != opts.readonly && !opts.readonly {
            return Err(StoreError::ReadOnly);
        }
        Ok(store)
    }

    fn open_env(path: &Path, opts: &OpenOptions, creating: bool) -> Result<Arc<Store>> {
        let canon = path.canonicalize()?;
        let pid = std::process::id();
        let mut reg = registry().lock().unwrap();
        if let Some(s) = reg.get(&(pid, canon.clone())).and_then(Weak::upgrade) {
            if opts.exclusive || s.exclusive {
                return Err(StoreError::Busy(format!("{}: the store is already open in this process", canon.display())));
            }
            return Ok(s);
        }
        let lock = take_lock(&canon, opts.exclusive, opts.readonly && !creating)?;
        let mut eo = EnvOpenOptions::new().read_txn_without_tls();
        eo.map_size(opts.map_size.max(1 << 20)).max_dbs(MAX_DBS).max_readers(MAX_READERS);
        let mut flags = EnvFlags::NO_READ_AHEAD;
        if opts.readonly && !creating {
            flags |= EnvFlags::READ_ONLY;
        }
        // SAFETY: the store is opened once per process (registry above), never with NO_LOCK, and
        // its files are only written through LMDB.
        unsafe { eo.flags(flags) };
        let closing_since = std::time::Instant::now();
        let env = loop {
            // SAFETY: as above.
            match unsafe { eo.open(&canon) } {
                Ok(env) => break env,
                // heed remembers every environment its process opened; a child of fork inherits
                // that memory, so it can neither use the parent's handle nor open the store again.
                Err(heed::Error::EnvAlreadyOpened) if reg.keys().any(|(p, path)| *p != pid && *path == canon) => {
                    return Err(StoreError::Forked);
                }
                // This process's last handle is being dropped on another thread (its registry
                // entry is dead, its environment not closed yet): wait for it to close.
                Err(heed::Error::EnvAlreadyOpened)
                    if reg.get(&(pid, canon.clone())).is_some_and(|w| w.strong_count() == 0)
                        && closing_since.elapsed() < std::time::Duration::from_secs(5) =>
                {
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
                Err(e) => return Err(e.into()),
            }
        };
        // A killed reader process leaves its slot behind.
        if !(opts.readonly && !creating) {
            env.clear_stale_readers()?;
        }
        let dbs = if opts.readonly && !creating {
            let rtxn = env.read_txn()?;
            let open = |name: &str| -> Result<Db> {
                env.open_database::<Bytes, Bytes>(&rtxn, Some(name))?
                    .ok_or_else(|| StoreError::NotAStore(format!("missing database {name}")))
            };
            let d = Dbs {
                meta: open("meta")?,
                persons: open("persons")?,
                by_code: open("by_code")?,
                by_mynumber: open("by_mynumber")?,
                idx_name: open("idx_name")?,
                idx_birth: open("idx_birth")?,
                changes: open("changes")?,
                history: open("history")?,
                proposals: env.open_database::<Bytes, Bytes>(&rtxn, Some("proposals"))?,
                mailing: env.open_database::<Bytes, Bytes>(&rtxn, Some("mailing"))?,
            };
            rtxn.commit()?;
            d
        } else {
            let mut wtxn = env.write_txn()?;
            let d = create_dbs(&env, &mut wtxn)?;
            wtxn.commit()?;
            d
        };
        let store = Arc::new(Store {
            reads: reuse::Reuse::new(forks()),
            env,
            dbs,
            path: canon.clone(),
            readonly: opts.readonly && !creating,
            pid,
            forks_at_open: forks(),
            resize: RwLock::new(()),
            writer: Mutex::new(()),
            _lock: lock,
            exclusive: opts.exclusive,
            closed: std::sync::atomic::AtomicBool::new(false),
            unsynced: Mutex::new(Unsynced::default()),
            forced_syncs: std::sync::atomic::AtomicU64::new(0),
        });
        reg.insert((pid, canon), Arc::downgrade(&store));
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn readonly(&self) -> bool {
        self.readonly
    }

    fn check_process(&self) -> Result<()> {
        if forks() != self.forks_at_open {
            return Err(StoreError::Forked);
        }
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(StoreError::Busy("this handle was closed when its data file was replaced; open the store again".into()));
        }
        Ok(())
    }

    /// Runs `f` in a read transaction (one consistent snapshot), adopting a map grown by another
    /// process if needed.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&RoTxn<WithoutTls>, &Dbs) -> Result<R>) -> Result<R> {
        self.check_process()?;
        let guard = self.resize.read().unwrap();
        let txn = match self.env.read_txn() {
            Ok(t) => t,
            Err(heed::Error::Mdb(heed::MdbError::MapResized)) => {
                drop(guard);
                self.adopt_map_size()?;
                return self.read(f);
            }
            Err(e) => return Err(e.into()),
        };
        let r = f(&txn, &self.dbs);
        drop(txn);
        drop(guard);
        r
    }

    /// Runs `f` with `n` read transactions that all see the same snapshot, for work split
    /// across threads (an LMDB transaction belongs to one thread at a time).
    pub(crate) fn read_snapshot<R>(
        &self,
        n: usize,
        f: impl FnOnce(Vec<RoTxn<'_, WithoutTls>>, &Dbs) -> R,
    ) -> Result<R> {
        self.check_process()?;
        let _guard = self.resize.read().unwrap();
        loop {
            let txns = (0..n).map(|_| self.env.read_txn()).collect::<heed::Result<Vec<_>>>()?;
            let id = txns[0].id();
            if txns.iter().all(|t| t.id() == id) {
                return Ok(f(txns, &self.dbs));
            }
        }
    }

    /// [`Store::read`] for one short lookup: in the read transaction kept from the previous one
    /// while no write has committed since (see `reuse`), else in a new one.
    pub(crate) fn read_reusing<R>(&self, f: impl Fn(&RoTxn<WithoutTls>, &Dbs) -> Result<R>) -> Result<R> {
        self.check_process()?;
        {
            let _guard = self.resize.read().unwrap();
            match self.reads.lease(&self.env) {
                Ok(Some(slot)) => return f(slot.txn(), &self.dbs),
                Ok(None) => {}
                // Grown by another process: the path below adopts the new size.
                Err(heed::Error::Mdb(heed::MdbError::MapResized)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.read(f)
    }

    pub(crate) fn read_txn(&self) -> Result<RoTxn<'_, WithoutTls>> {
        Ok(self.env.read_txn()?)
    }

    /// Runs `f` in a write transaction and commits it; on a full map, aborts, grows the map and
    /// runs `f` again from the start, so a batch is never half-written. The commit is on disk when
    /// this returns, unless this thread runs inside [`unsynced_writes`] during an unsynced load
    /// ([`Store::unsynced_begin`]). LMDB's no-sync flag belongs to the whole environment, so while
    /// an unsynced load runs, every other write syncs the file itself after its commit.
    pub(crate) fn write<R>(&self, mut f: impl FnMut(&mut RwTxn, &Dbs) -> Result<R>) -> Result<R> {
        let durable = !UNSYNCED_WRITES.with(|u| u.get());
        self.check_process()?;
        if self.readonly {
            return Err(StoreError::ReadOnly);
        }
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // LMDB reads its no-sync flag during the commit; unsynced_begin and unsynced_end change
        // it only while holding the writer lock, so it stays what it is now until this returns.
        let unsynced = self.unsynced_loads() > 0;
        loop {
            let guard = self.resize.read().unwrap();
            let mut txn = match self.env.write_txn() {
                Ok(t) => t,
                Err(heed::Error::Mdb(heed::MdbError::MapResized)) => {
                    drop(guard);
                    self.adopt_map_size()?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let full = match f(&mut txn, &self.dbs) {
                Ok(r) => match txn.commit() {
                    Ok(()) => {
                        if !durable {
                            self.start_writeback();
                        } else if unsynced {
                            self.env.force_sync()?;
                            self.forced_syncs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        return Ok(r);
                    }
                    Err(heed::Error::Mdb(heed::MdbError::MapFull)) => true,
                    Err(e) => return Err(e.into()),
                },
                Err(StoreError::Lmdb(heed::Error::Mdb(heed::MdbError::MapFull))) => {
                    txn.abort();
                    true
                }
                Err(e) => {
                    txn.abort();
                    return Err(e);
                }
            };
            debug_assert!(full);
            drop(guard);
            self.grow()?;
        }
    }

    fn grow(&self) -> Result<()> {
        let _g = self.resize.write().unwrap();
        self.reads.clear();
        let now = self.env.info().map_size;
        // SAFETY: the write guard means no transaction of this process is open.
        unsafe { self.env.resize(now * 2)? };
        Ok(())
    }

    fn adopt_map_size(&self) -> Result<()> {
        let _g = self.resize.write().unwrap();
        self.reads.clear();
        // SAFETY: as in grow; size 0 adopts the size another process set.
        unsafe { self.env.resize(0)? };
        Ok(())
    }

    /// Current map size in bytes.
    pub fn map_size(&self) -> usize {
        self.env.info().map_size
    }

    /// Starts an unsynced load: until the matching [`Store::unsynced_end`], commits do not sync
    /// (LMDB's `MDB_NOSYNC`), for bulk loads that sync once at the end. A process crash loses
    /// nothing committed, but a power cut or system crash before the sync can lose or corrupt
    /// what was written since the last sync. Only the load's own writes (made inside
    /// [`unsynced_writes`]) go unsynced: any other write meanwhile syncs after its commit.
    /// Loads may overlap; commits sync again when the last one ends.
    ///
    /// While a load is unsynced, a thread starts the write-back of each of its commits' pages,
    /// so that the final sync has little left to write (at 1 M persons it took 0.55 s of a 4.4 s
    /// load, and 0.07 s with write-back).
    pub fn unsynced_begin(&self) -> Result<()> {
        self.check_process()?;
        // The flag changes only between commits (see `write`).
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut u = self.unsynced.lock().unwrap_or_else(|e| e.into_inner());
        if u.loads == 0 {
            // SAFETY: toggling MDB_NOSYNC at run time is allowed by LMDB.
            unsafe { self.env.set_flags(EnvFlags::NO_SYNC, heed::FlagSetMode::Enable)? };
            u.writeback = Writeback::start(&self.path.join("data.mdb"));
        }
        u.loads += 1;
        Ok(())
    }

    /// Ends an unsynced load begun by [`Store::unsynced_begin`]: syncs the file, so that what the
    /// load wrote is on disk when this returns, and makes commits sync again after the last one.
    pub fn unsynced_end(&self) -> Result<()> {
        self.check_process()?;
        let old = {
            let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            let mut u = self.unsynced.lock().unwrap_or_else(|e| e.into_inner());
            if u.loads == 0 {
                return Err(StoreError::BadQuery("unsynced_end without unsynced_begin".into()));
            }
            u.loads -= 1;
            if u.loads == 0 {
                // SAFETY: as in unsynced_begin.
                unsafe { self.env.set_flags(EnvFlags::NO_SYNC, heed::FlagSetMode::Disable)? };
                u.writeback.take()
            } else {
                None
            }
        };
        // The thread is joined outside the lock: it may be waiting on the disk, and a
        // committing writer takes the lock to signal it.
        drop(old);
        self.env.force_sync()?;
        Ok(())
    }

    /// Whether commits currently skip fsync (an unsynced load is under way).
    pub fn no_sync(&self) -> Result<bool> {
        Ok(self.env.get_flags()? & EnvFlags::NO_SYNC.bits() != 0)
    }

    /// How many writes of this handle synced the file themselves because an unsynced load was
    /// under way (see [`Store::unsynced_begin`]): a diagnostic, counted since the handle opened.
    pub fn forced_syncs(&self) -> u64 {
        self.forced_syncs.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn unsynced_loads(&self) -> usize {
        self.unsynced.lock().unwrap_or_else(|e| e.into_inner()).loads
    }

    /// Starts writing back what the last commit left dirty, without waiting for it (see
    /// `Writeback`; Linux only, and only while a load is unsynced).
    fn start_writeback(&self) {
        #[cfg(target_os = "linux")]
        if let Some(tell) = self.unsynced.lock().unwrap_or_else(|e| e.into_inner()).writeback.as_ref().and_then(|w| w.tell.as_ref()) {
            // A request already waiting covers this commit too.
            let _ = tell.try_send(());
        }
    }

    pub fn force_sync(&self) -> Result<()> {
        Ok(self.env.force_sync()?)
    }

    pub fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.read(|txn, dbs| Ok(dbs.meta.get(txn, key.as_bytes())?.map(|v| v.to_vec())))
    }

    /// Counts of each database, and file sizes, for `stats()`.
    pub fn stats(&self) -> Result<Vec<(String, u64)>> {
        let mut out = self.read(|txn, d| {
            Ok(vec![
                ("persons".to_string(), d.persons.len(txn)?),
                ("by_code".to_string(), d.by_code.len(txn)?),
                ("by_mynumber".to_string(), d.by_mynumber.len(txn)?),
                ("idx_name".to_string(), d.idx_name.len(txn)?),
                ("idx_birth".to_string(), d.idx_birth.len(txn)?),
                ("changes".to_string(), d.changes.len(txn)?),
                ("history".to_string(), d.history.len(txn)?),
                ("last_seq".to_string(), next_counter(d, txn, b"next_seq")? - 1),
            ])
        })?;
        out.push(("map_size".into(), self.map_size() as u64));
        out.push(("file_size".into(), std::fs::metadata(self.path.join("data.mdb"))?.len()));
        out.push(("used_bytes".into(), self.env.non_free_pages_size()?));
        Ok(out)
    }

    /// Writes a compacted copy of the environment to `dest` (a new file), leaving out free pages.
    pub fn copy_compacted(&self, dest: &Path) -> Result<()> {
        self.check_process()?;
        let _g = self.resize.read().unwrap();
        self.env.copy_to_path(dest, heed::CompactionOption::Enabled)?;
        Ok(())
    }
}

/// Creates (or opens) every named database of a store in `wtxn`, with the flags the store uses.
/// Shared by [`Store::open`] and the rebuild of a purge, so both lay databases out alike.
pub(crate) fn create_dbs(env: &Env<WithoutTls>, wtxn: &mut RwTxn) -> Result<Dbs> {
    let plain = |txn: &mut RwTxn, name: &str| -> Result<Db> {
        Ok(env.database_options().types::<Bytes, Bytes>().name(name).create(txn)?)
    };
    // MDB_INTEGERKEY stays a database flag (not heed's comparator) so that any LMDB reader,
    // py-lmdb included, orders these keys as the store does.
    #[allow(deprecated)]
    let int = |txn: &mut RwTxn, name: &str| -> Result<Db> {
        Ok(env
            .database_options()
            .types::<Bytes, Bytes>()
            .name(name)
            .flags(DatabaseFlags::INTEGER_KEY)
            .create(txn)?)
    };
    let dup = |txn: &mut RwTxn, name: &str| -> Result<Db> {
        Ok(env
            .database_options()
            .types::<Bytes, Bytes>()
            .name(name)
            .flags(DatabaseFlags::DUP_SORT | DatabaseFlags::DUP_FIXED)
            .create(txn)?)
    };
    Ok(Dbs {
        meta: plain(wtxn, "meta")?,
        persons: int(wtxn, "persons")?,
        by_code: int(wtxn, "by_code")?,
        by_mynumber: int(wtxn, "by_mynumber")?,
        idx_name: dup(wtxn, "idx_name")?,
        idx_birth: dup(wtxn, "idx_birth")?,
        changes: plain(wtxn, "changes")?,
        history: plain(wtxn, "history")?,
        proposals: Some(plain(wtxn, "proposals")?),
        mailing: Some(plain(wtxn, "mailing")?),
    })
}

pub(crate) fn next_counter(d: &Dbs, txn: &RoTxn<WithoutTls>, key: &[u8]) -> Result<u64> {
    let v = d.meta.get(txn, key)?.ok_or_else(|| StoreError::Corrupt(format!("meta {:?} missing", String::from_utf8_lossy(key))))?;
    Ok(u64::from_be_bytes(v.try_into().map_err(|_| StoreError::Corrupt("meta counter width".into()))?))
}

/// Key bytes of the integer-keyed databases (`persons`, `by_code`, `by_mynumber`): native-endian
/// u64, which LMDB's MDB_INTEGERKEY compares as integers (a fraction of the cost of memcmp).
pub(crate) fn ik(v: u64) -> [u8; 8] {
    v.to_ne_bytes()
}

pub(crate) fn from_ik(k: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(k.try_into().ok()?))
}

pub(crate) fn be(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

pub(crate) fn index_value(pid: u64, status: u8) -> [u8; 9] {
    let mut v = [0u8; 9];
    v[..8].copy_from_slice(&pid.to_be_bytes());
    v[8] = status;
    v
}

pub(crate) fn parse_index_value(v: &[u8]) -> Result<(u64, u8)> {
    if v.len() != 9 {
        return Err(StoreError::Corrupt("index value width".into()));
    }
    Ok((u64::from_be_bytes(v[..8].try_into().unwrap()), v[8]))
}

/// Masks a number to its last four digits for messages.
pub fn mask(v: u64, width: usize) -> String {
    let s = format!("{v:0width$}");
    let keep = 4.min(s.len());
    format!("{}{}", "*".repeat(s.len() - keep), &s[s.len() - keep..])
}
