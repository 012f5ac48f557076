"""A hash-chained, segmented, append-only log whose tampering can be detected and located.

Why a chain: an access or provision log is worth something in an audit only if nobody, the
store's own administrators included, can change, drop, add or reorder an entry unnoticed. Each
entry therefore carries its sequence number, the hash of the entry before it and its own hash
(SHA-256 over the previous hash and the entry's canonical bytes): changing any byte breaks that
entry's hash, deleting or inserting one breaks the sequence and the link of the next, reordering
breaks both.

A chain alone can be rewritten from the changed entry on. So every ``checkpoint_every`` entries,
and whenever a segment is closed, a *checkpoint* is sealed: (segment, entries in it, last sequence
number, last hash) with an HMAC under a key kept apart from the log. Checkpoints are themselves a
chain (each seals the previous one's MAC), so a deleted checkpoint is found too. Rewriting the log
undetectably needs the key.

Layout on disk, one directory per log::

    <dir>/<YYYYMM>.log     entries of one month, one JSON object per line
    <dir>/checkpoints      sealed checkpoints and retirements, one JSON object per line
    <dir>/lock             taken (flock) by a writer while appending

Retention (:meth:`Journal.retire`) deletes whole old segments but keeps their final checkpoints
and records a sealed retirement, so what remains still verifies: the first remaining entry links
to the sealed last hash of the segment before it, and a segment that disappears without a
retirement record is reported.

Concurrency and durability: many processes (and threads) may append; a writer takes an
exclusive ``flock`` on the lock file (and a thread lock), re-reads the chain's tail if another
process appended meanwhile, and writes its lines with one ``write``. Entries are not fsynced one
by one (that would cost a disk flush per read of the store); segment and checkpoint file are
fsynced at every checkpoint and on :meth:`Journal.close`. Appends may be *grouped*
(``append(..., sync=False)``, used for access entries): they are buffered in the process and
written together when ``flush_every`` are waiting, every ``flush_after`` seconds, at the next
synchronous append, on :meth:`Journal.flush` and :meth:`Journal.close`, and at interpreter exit.
So a process killed outright loses at most the reads of its last ``flush_after`` seconds from
the log, and a power cut the entries since the last checkpoint; entries are lost whole (a torn
last line is reported by :func:`verify`), never silently altered. Refusals, provision records and
grants are written synchronously.

The key: by default ``<store>/audit/key``, created on first use, readable by the owner only.
Anyone who can write that file can forge checkpoints, so for audits that must hold against the
store's own administrators, keep the key elsewhere (``key_path``, or ``JUKISTORE_AUDIT_KEY``
naming a file) on a host they cannot write to.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import msgspec

from jukistore import _core
from jukistore.errors import StoreCorrupt

#: Environment variable naming the file of the checkpoint key (overrides the store's default).
ENV_KEY = "JUKISTORE_AUDIT_KEY"
GENESIS = "0" * 64
SEGMENT_SUFFIX = ".log"
#: Most persons one entry made of coalesced single reads names (see Journal.append).
MERGE_PERSONS = 1024
CHECKPOINTS = "checkpoints"

Clock = Callable[[], _dt.datetime]

#: Journals of this process, flushed at exit so that buffered entries are not lost.
_open_journals: "weakref.WeakSet[Journal]" = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for j in list(_open_journals):
        try:
            j.close()
        except OSError:
            pass


_encode_sorted = msgspec.json.Encoder(order="sorted").encode


def _canonical(obj: Any) -> bytes:
    """Canonical JSON: keys sorted, no spaces, UTF-8 (what is hashed, and what is written)."""
    return _encode_sorted(obj)


def _entry_bytes(prev: str, seq: int, at: int, body: dict[str, Any]) -> tuple[bytes, str]:
    """The canonical bytes of an entry without its hash, and its hash (SHA-256 over those bytes,
    which include the previous entry's hash).

    The same bytes as ``_canonical({"at", "body", "prev", "seq"})``, put together around the
    encoded body (this runs once per entry written)."""
    raw = b'{"at":%d,"body":%b,"prev":"%b","seq":%d}' % (at, _encode_sorted(body), prev.encode("ascii"), seq)
    return raw, hashlib.sha256(raw).hexdigest()


def entry_hash(prev: str, seq: int, at: int, body: dict[str, Any]) -> str:
    """The hash of an entry: SHA-256 over the canonical entry, the previous hash included."""
    return _entry_bytes(prev, seq, at, body)[1]


def _us(t: _dt.datetime) -> int:
    """Microseconds since the epoch of an aware datetime (naive ones are taken as UTC)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    return (t - _EPOCH) // _dt.timedelta(microseconds=1)


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def _month_of(t_us: int) -> tuple[int, int, str]:
    """The month (UTC) holding ``t_us``: its first and next month's first microsecond, and the
    name of its segment."""
    d = _EPOCH + _dt.timedelta(microseconds=t_us)
    lo = _dt.datetime(d.year, d.month, 1, tzinfo=_dt.timezone.utc)
    hi = _dt.datetime(d.year + (d.month == 12), d.month % 12 + 1, 1, tzinfo=_dt.timezone.utc)
    return _us(lo), _us(hi), f"{d.year:04d}{d.month:02d}{SEGMENT_SUFFIX}"


def _flush_periodically(ref: "weakref.ref[Journal]", interval: float) -> None:
    """Write a journal's buffered entries every ``interval`` seconds (one thread per journal, started
    at its first buffered entry, so the append path signals nothing); ends with the journal, when
    it is closed, and when it is no longer the journal's flusher (closed, then appended to again,
    the journal starts a new one)."""
    while True:
        time.sleep(interval)
        j = ref()
        if j is None or j._closed or j._flusher is not threading.current_thread():
            return
        if j._buffer:
            try:
                j.flush()
            except OSError:  # the store's directory went away: nothing left to write to
                return
        del j


def load_key(path: str | os.PathLike[str]) -> bytes:
    """The checkpoint key in ``path``, created (32 random bytes, mode 0600) if missing.

    A new key is written and synced under a temporary name and then linked into place, so a
    reader (another journal of the store, another process) finds either no key or the whole key,
    never an empty file; of two writers racing, the first link wins and both use its key."""
    p = Path(path)
    try:
        key = p.read_bytes()
    except FileNotFoundError:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                os.write(fd, secrets.token_bytes(32))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, p)
            except FileExistsError:
                pass  # another writer's key is in place: use it
            except OSError:  # a file system without hard links: create in place, as a last resort
                _create_key_in_place(p, tmp.read_bytes())
            _sync_dir(p.parent)
        finally:
            os.unlink(tmp)
        key = p.read_bytes()
    if len(key) < 16:
        raise StoreCorrupt(f"audit key {p.name} is shorter than 16 bytes")
    return key


def _create_key_in_place(p: Path, key: bytes) -> None:
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_dir(d: Path) -> None:
    """Make a new name in ``d`` durable (where directories can be opened and synced)."""
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _seal(key: bytes, record: dict[str, Any]) -> str:
    return hmac.new(key, _canonical(record), hashlib.sha256).hexdigest()


@dataclass
class Entry:
    """One entry as read back: where it is (segment file and 1-based line) and what it says."""

    segment: str
    line: int
    seq: int
    prev: str
    at: int  # microseconds since the epoch, UTC
    body: dict[str, Any]
    hash: str

    @property
    def time(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.at / 1e6, _dt.timezone.utc)

    @property
    def iso(self) -> str:
        return self.time.isoformat(timespec="microseconds")


@dataclass
class Problem:
    """One finding of :func:`verify`: where (segment and line, or the checkpoint file) and what."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class Report:
    """Result of :func:`verify`: entries checked, segments, checkpoints, retired segments, problems."""

    name: str
    entries: int = 0
    segments: list[str] = field(default_factory=list)
    checkpoints: int = 0
    retired: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class Journal:
    """One hash-chained log in a directory; see the module docstring.

    ``checkpoint_every`` entries between sealed checkpoints (and one at every segment's end).
    """

    def __init__(self, directory: str | os.PathLike[str], key_path: str | os.PathLike[str], *,
                 clock: Clock | None = None, checkpoint_every: int = 1000, flush_every: int = 256,
                 flush_after: float = 0.2):
        self.dir = Path(directory)
        self.key_path = Path(key_path)
        self.clock = clock or (lambda: _dt.datetime.now(_dt.timezone.utc))
        self.checkpoint_every = checkpoint_every
        self.flush_every = flush_every
        self.flush_after = flush_after
        self._buffer: list[tuple[int, dict[str, Any]]] = []
        #: (group, tally) of the last buffered entry while later calls of its group may join it
        #: (see append); (None, None) otherwise.
        self._open: tuple[Any, _core.Tally | None] = (None, None)
        #: The same pair for native lookups, which add to a tally at the system time (so only
        #: with the default clock); read without the lock: a closed tally refuses.
        self.native_open: tuple[Any, _core.Tally | None] = (None, None)
        self._open_body: dict[str, Any] | None = None
        self._default_clock = clock is None
        self._month: tuple[int, int, str] = (0, 0, "")
        self._flusher: threading.Thread | None = None
        self._closed = False
        self._key: bytes | None = None
        self._fd: int | None = None  # open segment
        self._segment: str | None = None
        self._size = -1  # size of the open segment after our last append
        self._seq = 0
        self._hash = GENESIS
        self._since_checkpoint = 0
        self._line_count = 0  # lines of the open segment (a torn line left by a crash is one)
        self._entry_count = 0  # entries of the open segment: what its checkpoints count
        self._lock_fd: int | None = None
        self._tlock = threading.RLock()
        self._torn = False
        _open_journals.add(self)
        self._dirname = str(self.dir)

    @property
    def name(self) -> str:
        return self.dir.name

    def __repr__(self) -> str:
        return f"Journal({self.name!r})"

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = load_key(self.key_path)
        return self._key

    # ---- appending --------------------------------------------------------------------------

    def append(self, body: dict[str, Any], at: _dt.datetime | None = None, *, sync: bool = True,
               group: Any = None) -> Entry | None:
        """Append one entry (``body`` must be JSON: no personal data, no My Numbers).

        ``sync`` (the default) writes it, with any entries buffered before it, before returning it.
        ``sync=False`` buffers it (group commit): buffered entries are written together, in order,
        when ``flush_every`` are waiting, ``flush_after`` seconds after the first, at the next
        synchronous append, on :meth:`flush`, :meth:`close` and at interpreter exit; returns None.

        ``group`` (buffered entries only) marks the entry as one that later entries of the same
        group may join through :meth:`merge` while it waits in the buffer: a run of single reads
        by one operator for one purpose then costs one entry, as a batch read does, and still
        names every person read. Callers try :meth:`merge` first and append when it fails.
        """
        if at is not None:
            t = _us(at)
        elif self._default_clock:
            t = time.time_ns() // 1000
        else:
            t = _us(self.clock())
        with self._tlock:
            self._close_open()
            if group is not None and not sync:
                tally = _core.Tally(list(body["persons"]), t, MERGE_PERSONS)
                self._open, self._open_body = (group, tally), body
                if self._default_clock:
                    self.native_open = self._open
            self._buffer.append((t, body))
            if sync or len(self._buffer) >= self.flush_every:
                written = self._flush_locked(want=sync)
                return written[-1] if sync else None
            if self._flusher is None:
                self._closed = False
                self._flusher = threading.Thread(target=_flush_periodically, args=(weakref.ref(self), self.flush_after),
                                                 name=f"journal-{self.name}", daemon=True)
                self._flusher.start()
        return None

    def merge(self, group: Any, persons: list[int]) -> bool:
        """Add ``persons`` to the last buffered entry if its group is ``group`` (see :meth:`append`):
        its ``n`` grows, ``calls`` counts the calls it covers and ``last_at`` is the time of the
        latest (microseconds). False when there is no such entry or it is full: then append.

        The entry's persons are gathered in a native tally (:class:`jukistore._core.Tally`),
        which a native single lookup adds to directly (``Store.get``), and written into the entry
        when it is closed: when the buffer is written or another entry follows."""
        with self._tlock:
            g, tally = self._open
            if tally is None or group != g:
                return False
            return tally.add(persons, time.time_ns() // 1000 if self._default_clock else _us(self.clock()))

    def _close_open(self) -> None:
        """Close the open entry's tally and write what it gathered into the entry (lock held)."""
        _, tally = self._open
        if tally is None:
            return
        self._open = self.native_open = (None, None)
        persons, calls, last_us = tally.close()
        body, self._open_body = self._open_body, None
        if calls > 1 and body is not None:
            body["persons"] = persons
            body["n"] = len(persons)
            body["calls"] = calls
            body["last_at"] = last_us

    def __del__(self) -> None:
        try:
            self._flush_locked()
        except Exception:  # noqa: BLE001 - nothing to report to at collection time
            pass
        for fd in (self._fd, self._lock_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def flush(self) -> None:
        """Write the buffered entries now."""
        with self._tlock:
            self._flush_locked()

    def _flush_locked(self, want: bool = False) -> list[Entry]:
        """Write the buffer; with ``want`` return the entries written."""
        if not self._buffer:
            return []
        self._close_open()
        batch, self._buffer = self._buffer, []
        lock = self._lock()
        try:
            self._catch_up()
            return self._write_batch(batch, want)
        finally:
            self._unlock(lock)

    def append_checked(self, body: dict[str, Any], check: Callable[[], None]) -> Entry:
        """Append ``body`` synchronously unless ``check()`` raises, with the check made under the
        log's lock after every entry written so far (by any process): a decision taken on the log's
        content and the entry recording it cannot be separated by another writer's entry. The
        check must not append to this log. Its exception propagates; nothing is written then."""
        with self._tlock:
            self._flush_locked()
            lock = self._lock()
            try:
                self._catch_up()
                check()
                t = time.time_ns() // 1000 if self._default_clock else _us(self.clock())
                return self._write_batch([(t, body)], True)[-1]
            finally:
                self._unlock(lock)

    def _write_batch(self, batch: list[tuple[int, dict[str, Any]]], want: bool) -> list[Entry]:
        """Chain and write ``batch`` (lock held, tail caught up); with ``want`` return its entries.

        An entry stays in the open segment when that segment is of a later month than its time
        (its clock was read just before another writer opened the next month, or it waited in
        the group-commit buffer meanwhile): the chain stays in order, and :meth:`entries` looks
        for such entries in the segment after their month's."""
        out: list[Entry] = []
        pending: list[bytes] = []
        lo, hi, name = self._month
        for t, body in batch:
            if not lo <= t < hi:
                lo, hi, name = self._month = _month_of(t)
            segment = name
            if self._segment is not None and segment < self._segment:
                segment = self._segment  # a clock behind the log's last segment: stay in order
            if segment != self._segment:
                self._write(pending)
                if self._segment is not None:
                    self._checkpoint(final=True)
                self._open_segment(segment)
            seq, prev = self._seq + 1, self._hash
            raw, h = _entry_bytes(prev, seq, t, body)
            pending.append(raw[:-1] + b',"hash":"' + h.encode("ascii") + b'"}\n')
            self._line_count += 1
            self._entry_count += 1
            self._seq, self._hash = seq, h
            self._since_checkpoint += 1
            if want:
                out.append(Entry(segment, self._line_count, seq, prev, t, body, h))
            if self._since_checkpoint >= self.checkpoint_every:
                self._write(pending)
                self._checkpoint(final=False)
        self._write(pending)
        return out

    def _write(self, lines: list[bytes]) -> None:
        """Write (and clear) the lines for the open segment, in one call."""
        if not lines:
            return
        assert self._fd is not None
        data = b"".join(lines)
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self._size += len(data)
        lines.clear()

    def _lock(self) -> int:
        """The lock file, kept open, locked exclusively (creating the log directory at first use).

        Threads of one process share the open file, on which ``flock`` does not exclude them, so a
        thread lock is taken first; :meth:`_unlock` releases both."""
        self._tlock.acquire()
        try:
            if self._lock_fd is None:
                if not self.dir.parent.parent.is_dir():  # the store itself is gone: write nothing
                    raise FileNotFoundError(2, "no such directory", str(self.dir.parent.parent))
                self.dir.mkdir(parents=True, exist_ok=True)
                self._lock_fd = os.open(self.dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        except BaseException:
            self._tlock.release()
            raise
        return self._lock_fd

    def _unlock(self, fd: int) -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._tlock.release()

    def _segments(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self._dirname) if n.endswith(SEGMENT_SUFFIX))
        except FileNotFoundError:
            return []

    def _catch_up(self) -> None:
        """Under the lock: make the cached tail (segment, seq, hash) that of the files on disk."""
        segs = self._segments()
        last = segs[-1] if segs else None
        if last is None:
            self._close_fd()
            self._segment, self._size, self._line_count = None, -1, 0
            cp = self._last_checkpoint()
            self._seq, self._hash = (cp["last_seq"], cp["last_hash"]) if cp else (0, GENESIS)
            self._since_checkpoint = 0
            return
        if last == self._segment and self._fd is not None and os.fstat(self._fd).st_size == self._size:
            return  # nobody appended since our last entry
        self._close_fd()
        self._open_segment(last)
        tail = self._read_tail()
        if tail is not None:
            self._seq, self._hash = tail
            self._entry_count = self._seq - self._first_seq(last) + 1
            if self._torn:  # lines are no longer one per sequence number: count them
                with open(self.dir / last, "rb") as f:
                    self._line_count = sum(1 for _ in f)
                self._torn = False
            else:
                self._line_count = self._entry_count
        else:  # an empty segment: the chain continues from the checkpoint before it
            cp = self._last_checkpoint()
            self._seq, self._hash = (cp["last_seq"], cp["last_hash"]) if cp else (0, GENESIS)
        cp = self._last_checkpoint()
        self._since_checkpoint = self._seq - (cp["last_seq"] if cp else 0)

    def _open_segment(self, segment: str) -> None:
        self._close_fd()
        self._fd = os.open(self.dir / segment, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._segment = segment
        self._size = os.fstat(self._fd).st_size
        self._line_count = self._entry_count = 0

    def _first_seq(self, segment: str) -> int:
        """The sequence number of the segment's first entry. Lines before it that are not entries
        (a line torn by a crash during the segment's first write) are passed over: :func:`verify`
        reports them, and writing goes on."""
        with open(self.dir / segment, "rb") as f:
            for line in f:
                try:
                    return int(json.loads(line)["seq"])
                except (ValueError, KeyError, TypeError):
                    continue
        raise StoreCorrupt(f"audit log {self.name}: {segment} holds no entry; run verify")

    def _read_tail(self) -> tuple[int, str] | None:
        """(seq, hash) of the open segment's last entry, None when it holds none.

        A torn last line (a crash in the middle of a write, at worst a power cut) is closed with a
        newline and left in place — it is evidence, and :func:`verify` reports it — and the chain
        continues from the last whole entry."""
        assert self._segment is not None and self._fd is not None
        with open(self.dir / self._segment, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            if size == 0:
                return None
            f.seek(size - 1)
            if f.read(1) != b"\n":
                os.write(self._fd, b"\n")
                self._size = os.fstat(self._fd).st_size
                self._torn = True
            back = min(size, 65536)
            while True:
                f.seek(size - back)
                lines = f.read(back).split(b"\n")
                if back < size:
                    lines = lines[1:]  # the first may be cut
                for line in reversed(lines):
                    try:
                        e = json.loads(line)
                        return int(e["seq"]), str(e["hash"])
                    except (ValueError, KeyError, TypeError):
                        continue
                if back == size:
                    return None
                back = min(size, back * 4)

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # ---- checkpoints -------------------------------------------------------------------------

    def _checkpoint_lines(self) -> list[dict[str, Any]]:
        try:
            raw = (self.dir / CHECKPOINTS).read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for i, line in enumerate(raw.splitlines(), 1):
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"kind": "unreadable", "line": i})
        return out

    def _recent_checkpoint_lines(self) -> list[dict[str, Any]]:
        """The last records of the checkpoint file (its last 64 KiB, whole lines), oldest first."""
        try:
            with open(self.dir / CHECKPOINTS, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 65536))
                chunk = f.read()
        except FileNotFoundError:
            return []
        lines = chunk.splitlines()
        if size > 65536:
            lines = lines[1:]  # the first may be cut
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"kind": "unreadable"})
        return out

    def _last_checkpoint(self) -> dict[str, Any] | None:
        for cp in reversed(self._recent_checkpoint_lines()):
            if cp.get("kind") == "checkpoint":
                return cp
        for cp in reversed(self._checkpoint_lines()):
            if cp.get("kind") == "checkpoint":
                return cp
        return None

    def _append_sealed(self, record: dict[str, Any]) -> None:
        lines = self._recent_checkpoint_lines()
        record["prev_mac"] = lines[-1].get("mac", "") if lines else ""
        record["mac"] = _seal(self.key, record)
        fd = os.open(self.dir / CHECKPOINTS, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            # A line torn by a crash is closed first (it stays, as evidence verify reports), so
            # this record is a line of its own and not lost with it.
            size = os.fstat(fd).st_size
            torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
            os.write(fd, (b"\n" if torn else b"") + _canonical(record) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)

    def _checkpoint(self, *, final: bool) -> None:
        if self._segment is None:
            return
        if self._fd is not None:
            os.fsync(self._fd)
        self._append_sealed({"kind": "checkpoint", "segment": self._segment, "count": self._entry_count,
                             "last_seq": self._seq, "last_hash": self._hash, "final": final,
                             "sealed_at": self.clock().isoformat(timespec="seconds")})
        self._since_checkpoint = 0

    def checkpoint(self) -> None:
        """Seal a checkpoint now (after the last entry), e.g. before a backup or at shutdown."""
        self.flush()
        if not self.dir.exists():
            return
        lock = self._lock()
        try:
            self._catch_up()
            if self._segment is not None and self._since_checkpoint:
                self._checkpoint(final=False)
        finally:
            self._unlock(lock)

    def close(self) -> None:
        """Seal what was appended and close the segment (fsync included)."""
        with self._tlock:
            self._flush_locked()
            if self._fd is not None:
                self.checkpoint()
            self._close_fd()
            self._segment = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
            self._closed = True
            self._flusher = None

    # ---- retention ----------------------------------------------------------------------------

    def retire(self, before: _dt.date) -> list[str]:
        """Delete whole segments whose month ended before ``before``; never the newest segment.

        Each is sealed first (a final checkpoint if it has none), then a sealed retirement record
        is written, then the file is removed: verification of what remains continues from the
        retired segment's checkpoint. Returns the segment names deleted.
        """
        self.flush()
        if not self.dir.exists():
            return []
        lock = self._lock()
        gone: list[str] = []
        try:
            self._catch_up()
            finals = {cp["segment"] for cp in self._checkpoint_lines() if cp.get("kind") == "checkpoint" and cp.get("final")}
            for seg in self.retirable(before):
                if seg not in finals:  # closed before final checkpoints were kept: seal it now
                    last = self._tail_of(seg)
                    if last is not None:
                        self._append_sealed({"kind": "checkpoint", "segment": seg, "count": last[2],
                                             "last_seq": last[0], "last_hash": last[1], "final": True,
                                             "sealed_at": self.clock().isoformat(timespec="seconds")})
                self._append_sealed({"kind": "retired", "segment": seg,
                                     "at": self.clock().isoformat(timespec="seconds")})
                os.unlink(self.dir / seg)
                gone.append(seg)
        finally:
            self._unlock(lock)
        return gone

    def retirable(self, before: _dt.date) -> list[str]:
        """The segments :meth:`retire` would delete: whole months ended before ``before``, never
        the newest segment."""
        cutoff = f"{before.year:04d}{before.month:02d}{SEGMENT_SUFFIX}"
        return [seg for seg in self._segments()[:-1] if seg < cutoff]

    def _tail_of(self, seg: str) -> tuple[int, str, int] | None:
        """(seq, hash) of the segment's last entry and its count of entries; lines that are not
        entries (torn by a crash) are not counted, as a checkpoint counts."""
        last = None
        n = 0
        with open(self.dir / seg, "rb") as f:
            for line in f:
                try:
                    e = json.loads(line)
                    last = int(e["seq"]), str(e["hash"])
                except (ValueError, KeyError, TypeError):
                    continue
                n += 1
        return None if last is None else (*last, n)

    # ---- reading -------------------------------------------------------------------------------

    def entries(self, *, since: _dt.datetime | None = None, until: _dt.datetime | None = None) -> Iterator[Entry]:
        """Entries of the remaining segments in order, optionally within [since, until).

        Reading does not verify; a line that is not an entry is skipped (``verify`` reports it).
        Entries this process buffered are written first.

        An entry lies in its month's segment or a later one (see :meth:`_write_batch`): in the
        segment after it when written just after the next month's was opened. So with ``until``
        the segment after ``until``'s month is read too; an entry that waited longer than that
        month (a writer stopped with entries in its buffer) is found only without ``until``.
        """
        self.flush()  # (waits for a flush in progress in another thread, too)
        lo = None if since is None else _us(since)
        hi = None if until is None else _us(until)
        first = None if lo is None else _month_of(lo)[2]
        last = None if hi is None else _month_of(hi)[2]
        past_last = 0
        for seg in self._segments():
            if first is not None and seg < first:
                continue
            if last is not None and seg > last:
                past_last += 1
                if past_last > 1:
                    break
            try:
                f = open(self.dir / seg, "rb")
            except FileNotFoundError:  # retired since the segments were listed
                continue
            with f:
                for i, line in enumerate(f, 1):
                    try:
                        d = json.loads(line)
                        e = Entry(seg, i, d["seq"], d["prev"], d["at"], d["body"], d["hash"])
                    except (ValueError, KeyError, TypeError):
                        continue
                    if (lo is not None and e.at < lo) or (hi is not None and e.at >= hi):
                        continue
                    yield e


def verify(journal: Journal) -> Report:
    """Check a journal's chain and checkpoints; every finding names the segment and line.

    Finds: a changed entry (its hash), a deleted, inserted or reordered entry (sequence numbers
    and links), an entry or segment dropped at the end of a sealed segment (the checkpoint's count
    and hash), a deleted segment with no retirement record, a forged or deleted checkpoint (MAC
    and the checkpoints' own chain).
    """
    journal.flush()
    for _ in range(2):
        try:
            return _verify(journal)
        except FileNotFoundError:  # a segment retired while it was read: look again
            continue
    return _verify(journal)


def _checkpoints_and_segments(journal: Journal) -> tuple[list[dict[str, Any]], list[str]]:
    """The checkpoint records and the segment names, read under the journal's lock where it can
    be taken (not in a journal copied to read-only media, nor in a copy without its lock file,
    where nobody retires either: no lock file is created for a verification)."""
    if not journal.dir.is_dir():
        return [], []
    if not (journal.dir / "lock").exists():
        return journal._checkpoint_lines(), journal._segments()
    try:
        lock = journal._lock()
    except OSError:
        return journal._checkpoint_lines(), journal._segments()
    try:
        return journal._checkpoint_lines(), journal._segments()
    finally:
        journal._unlock(lock)


def _verify(journal: Journal) -> Report:
    """:func:`verify`'s work. The checkpoints and the list of segments are read together under
    the journal's lock, so that a retirement (its record written, then its segment deleted) is
    seen whole or not at all; the segments are read after, without it."""
    rep = Report(journal.name)
    cps, segs = _checkpoints_and_segments(journal)
    key = journal.key if cps else b""
    prev_mac = ""
    sealed: dict[str, list[dict[str, Any]]] = {}
    retired: set[str] = set()
    for i, cp in enumerate(cps, 1):
        where = f"{CHECKPOINTS} line {i}"
        if not isinstance(cp, dict) or cp.get("kind") == "unreadable":
            rep.problems.append(Problem(where, "not a checkpoint record (changed or torn)"))
            prev_mac = ""
            continue
        body = {k: v for k, v in cp.items() if k != "mac"}
        if not hmac.compare_digest(str(cp.get("mac", "")), _seal(key, body)):
            rep.problems.append(Problem(where, "seal does not match (changed, or forged without the key)"))
        elif cp.get("prev_mac", "") != prev_mac:
            rep.problems.append(Problem(where, "does not follow the checkpoint before it (one deleted, inserted or moved)"))
        prev_mac = str(cp.get("mac", ""))
        if not _well_formed(cp):
            rep.problems.append(Problem(where, "not a checkpoint record (fields missing or of the wrong type)"))
        elif cp["kind"] == "checkpoint":
            sealed.setdefault(cp["segment"], []).append(cp)
            rep.checkpoints += 1
        elif cp["kind"] == "retired":
            retired.add(cp["segment"])
    rep.segments = segs
    rep.retired = sorted(retired)
    for seg in sorted(sealed):
        if seg not in segs and seg not in retired:
            rep.problems.append(Problem(seg, "segment is missing and was not retired (deleted)"))
    for seg in segs:
        if seg in retired:
            rep.problems.append(Problem(seg, "segment was recorded as retired but is present"))
    for seg in segs[:-1]:  # every closed segment was sealed by a final checkpoint before the next began
        if seg not in retired and not any(cp.get("final") for cp in sealed.get(seg, [])):
            rep.problems.append(Problem(seg, "closed without a sealed final checkpoint (checkpoints deleted)"))
    # Where the chain of the remaining segments starts: after the last sealed checkpoint of the
    # segments before the first remaining one (none: at the genesis).
    seq, prev = 0, GENESIS
    if segs:
        before = [cp for s, lst in sealed.items() if s < segs[0] for cp in lst]
        if before:
            last = max(before, key=lambda c: c["last_seq"])
            seq, prev = last["last_seq"], last["last_hash"]
    at_seq: dict[int, tuple[str, str, int]] = {}  # seq -> (hash, segment, line)
    for seg in segs:
        n = 0  # entries in the segment (a line that is not one is reported, and not counted)
        with open(journal.dir / seg, "rb") as f:
            for line_no, line in enumerate(f, 1):
                where = f"{seg} line {line_no}"
                try:
                    d = json.loads(line)
                    e_seq, e_prev, e_at, e_body, e_hash = d["seq"], d["prev"], d["at"], d["body"], d["hash"]
                except (ValueError, KeyError, TypeError):
                    rep.problems.append(Problem(where, "not an entry (changed bytes or a torn line)"))
                    continue
                if not (type(e_seq) is int and type(e_at) is int and isinstance(e_prev, str)
                        and isinstance(e_hash, str) and isinstance(e_body, dict)):
                    rep.problems.append(Problem(where, "not an entry (a field of the wrong type)"))
                    continue
                n += 1
                rep.entries += 1
                if entry_hash(e_prev, e_seq, e_at, e_body) != e_hash:
                    rep.problems.append(Problem(where, f"entry {e_seq} was changed (its hash does not match)"))
                if e_seq != seq + 1:
                    what = ("deleted" if e_seq > seq + 1 else "inserted or moved")
                    rep.problems.append(Problem(where, f"sequence {e_seq} where {seq + 1} was expected "
                                                       f"(an entry {what} before this line)"))
                elif e_prev != prev:
                    rep.problems.append(Problem(where, f"entry {e_seq} does not link to the entry before it "
                                                       f"(an entry replaced, inserted or moved)"))
                seq, prev = e_seq, e_hash
                at_seq[e_seq] = (e_hash, seg, line_no)
        for cp in sealed.get(seg, []):
            got = at_seq.get(cp["last_seq"])
            if got is None or got[1] != seg:
                rep.problems.append(Problem(f"{seg}", f"sealed entry {cp['last_seq']} is missing (entries deleted "
                                                      f"up to the checkpoint)"))
            elif got[0] != cp["last_hash"]:
                rep.problems.append(Problem(f"{seg} line {got[2]}", f"entry {cp['last_seq']} differs from its sealed "
                                                                   f"checkpoint"))
            if cp.get("final") and cp["count"] != n:
                rep.problems.append(Problem(seg, f"sealed with {cp['count']} entries, holds {n} "
                                                 f"(entries deleted or added after it was closed)"))
    return rep


def _well_formed(cp: dict[str, Any]) -> bool:
    """Whether a checkpoint record has the fields :func:`verify` reads, of their types."""
    if cp.get("kind") == "retired":
        return isinstance(cp.get("segment"), str)
    if cp.get("kind") == "checkpoint":
        return (isinstance(cp.get("segment"), str) and type(cp.get("count")) is int
                and type(cp.get("last_seq")) is int and isinstance(cp.get("last_hash"), str))
    return False
