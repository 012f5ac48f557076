"""History benchmarks against sqlite3, measured in one run on the same synthetic ward.

The ward (the size ``HISTORY_N`` of bench/sizes.py: 300,000 residents at the full scale, about
Sumida's size, 200,000 at the default one; plus its removed persons) lives through a decade of
events, year by year: 転居 (8% of residents a year), 世帯変更 (3%), 職権修正 of names (1%), 転出 (4%), 死亡 (1%), and registrations of new persons
(転入 4%, 出生 1%). Then:

- event application: jukistore ``Register.apply_many`` (one kind of event for many persons per
  transaction, rules checked, the core setting record items in place; neither side syncing to disk
  at every commit, and jukistore once more with an fsync per batch) against sqlite3 doing what a
  Python developer would write over a persons table and a history table: read the current
  records, decode them, set the items, encode, update and insert, one transaction per batch (it
  checks no rule, so it is charged less work); both produce the same records, checked byte for
  byte. The general path (``Register.apply`` with one Event object per event) and registrations
  (whole records) are timed on their own.
- batch as-of lookups: the record valid on a date for many (person, date) pairs: jukistore
  ``Register.as_of_many`` (one native call) against sqlite3 with an index on
  (person, 異動年月日, 更新順番号) and one correlated sub-query per pair over a temporary table of
  the pairs; answers checked equal.

Run ``python bench/bench_history.py`` for a table in one process, or ``python -m bench --suite
history`` for the pytest-benchmark suite and its report (there every round starts from a copy of
the same loaded store and database, and each side's records and answers are checked against the
other's). Targets: over 100,000 events a second and over 500,000 as-of lookups a second.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import msgspec
import numpy as np
import pytest

from jukistore import Store, synth
from jukistore.synth import events as synth_events
from jukistore.history import Event, EventCode, Register, item_fields
from jukistore.records import JuminKihon
from jukistore.store import Operator
from sizes import size

N = size("HISTORY_N")
YEARS = range(2015, 2025)
OP = Operator("bench", "bench-01")
ADMIN = Operator("bench-admin", "bench-01")
DECODER = msgspec.msgpack.Decoder(JuminKihon)
ENCODER = msgspec.msgpack.Encoder()
E = EventCode
#: Share of residents each year, by event.
RATES = {E.転居: 0.08, E.世帯変更: 0.03, E.職権修正: 0.01, E.転出: 0.04, E.死亡: 0.01}
NEW_RATE = 0.05


def _dates(rng: np.random.Generator, year: int, n: int) -> np.ndarray:
    start = dt.date(year, 1, 1).toordinal()
    days = rng.integers(0, 365, n) + start
    return np.array([dt.date.fromordinal(int(d)).strftime("%Y%m%d") for d in days], dtype="S8")


def plan_decade(n_persons: int, resident: np.ndarray, seed: int = 7) -> list[tuple[int, EventCode, np.ndarray, np.ndarray, dict[int, list[str]]]]:
    """Batches (year, event, person ids, dates, item columns) of a decade, in order
    (:func:`jukistore.synth.events.plan_years`); removals take persons out of the pool the later
    batches draw from."""
    batches = synth_events.plan_years(resident[:n_persons], [f"{y}0101" for y in YEARS], seed=seed, rates=RATES)
    per_year = len(RATES)
    return [(YEARS[i // per_year], b.code, b.persons, b.dates, b.changes) for i, b in enumerate(batches)]


# ---- sqlite3: the anchor -------------------------------------------------------------------------

SQL_SCHEMA = """
CREATE TABLE persons (pid INTEGER PRIMARY KEY, code INTEGER NOT NULL UNIQUE, mynumber INTEGER UNIQUE,
                      seq INTEGER NOT NULL, flags INTEGER NOT NULL, payload BLOB NOT NULL);
CREATE TABLE history (pid INTEGER NOT NULL, seq INTEGER NOT NULL, valid_from TEXT NOT NULL, notified TEXT NOT NULL,
                      event INTEGER NOT NULL, flags INTEGER NOT NULL, payload BLOB NOT NULL,
                      PRIMARY KEY (pid, seq)) WITHOUT ROWID;
CREATE INDEX history_valid ON history (pid, valid_from, seq);
CREATE TABLE changes (seq INTEGER PRIMARY KEY, pid INTEGER NOT NULL, ts INTEGER NOT NULL, event INTEGER NOT NULL,
                      operator TEXT NOT NULL, terminal TEXT NOT NULL);
"""


class SqliteRegister:
    """What a Python developer would write over sqlite3 for the same history."""

    def __init__(self, path: Path, *, existing: bool = False, seq: int = 0, synchronous: str = "NORMAL"):
        """A new database at ``path``, or (``existing``) one already loaded whose last 更新順番号 is ``seq``."""
        self.con = sqlite3.connect(path, isolation_level=None)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute(f"PRAGMA synchronous={synchronous}")
        if not existing:
            self.con.executescript(SQL_SCHEMA)
        self.seq = seq
        self.f = item_fields()

    def load(self, records: list[JuminKihon], first_pid: int = 1) -> None:
        """Whole records as new persons, ids from ``first_pid`` on, 50,000 a transaction."""
        f = self.f
        con = self.con
        for s in range(0, len(records), 50_000):
            part = records[s : s + 50_000]
            rows, hist, ch = [], [], []
            for i, r in enumerate(part):
                pid = first_pid + s + i
                self.seq += 1
                payload = ENCODER.encode(r)
                flags = 0 if getattr(r, f[13]) in ("", "0") else 1
                mn = getattr(r, f[81])
                rows.append((pid, int(getattr(r, f[30])), int(mn) if mn else None, self.seq, flags, payload))
                hist.append((pid, self.seq, getattr(r, f[14]) or "00000000", getattr(r, f[15]) or "00000000", 0, flags, payload))
                ch.append((self.seq, pid, 0, 0, OP.operator_id, OP.terminal_id))
            con.execute("BEGIN")
            con.executemany("INSERT INTO persons VALUES (?,?,?,?,?,?)", rows)
            con.executemany("INSERT INTO history VALUES (?,?,?,?,?,?,?)", hist)
            con.executemany("INSERT INTO changes VALUES (?,?,?,?,?,?)", ch)
            con.execute("COMMIT")

    def apply(self, code: EventCode, pids: np.ndarray, dates: np.ndarray, cols: dict[int, list[str]]) -> None:
        """Read, decode, set the items, encode, write: one transaction."""
        f = self.f
        text = f"{int(code):02d}"
        removal = {E.転出: "1", E.死亡: "2"}.get(code)
        con = self.con
        ts = int(time.time() * 1e6)
        con.execute("BEGIN")
        ids = [int(p) for p in pids]
        cur: dict[int, tuple[bytes, int]] = {}
        for s in range(0, len(ids), 900):
            part = ids[s : s + 900]
            q = f"SELECT pid, payload, flags FROM persons WHERE pid IN ({','.join('?' * len(part))})"
            for pid, payload, flags in con.execute(q, part):
                cur[pid] = (payload, flags)
        upd, hist, ch = [], [], []
        ds = dates.astype("U8").tolist()
        for i, pid in enumerate(ids):
            payload, flags = cur[pid]
            d = ds[i]
            items = {f[no]: col[i] for no, col in cols.items()}
            items.update({f[11]: text, f[14]: d, f[15]: ""})
            if code == E.転居:
                items.update({f[16]: d, f[17]: text, f[18]: "", f[19]: text})
            if removal:
                items.update({f[13]: removal, f[54]: d, f[55]: "", f[57]: text})
                flags |= 1
            new = ENCODER.encode(msgspec.structs.replace(DECODER.decode(payload), **items))
            self.seq += 1
            upd.append((self.seq, flags, new, pid))
            hist.append((pid, self.seq, d, "00000000", int(code), flags, new))
            ch.append((self.seq, pid, ts, int(code), OP.operator_id, OP.terminal_id))
        con.executemany("UPDATE persons SET seq=?, flags=?, payload=? WHERE pid=?", upd)
        con.executemany("INSERT INTO history VALUES (?,?,?,?,?,?,?)", hist)
        con.executemany("INSERT INTO changes VALUES (?,?,?,?,?,?)", ch)
        con.execute("COMMIT")

    def as_of_many(self, pids: np.ndarray, dates: np.ndarray) -> list[bytes | None]:
        con = self.con
        con.execute("CREATE TEMP TABLE IF NOT EXISTS q (i INTEGER PRIMARY KEY, pid INTEGER, d TEXT)")
        con.execute("DELETE FROM q")
        con.execute("BEGIN")
        con.executemany("INSERT INTO q VALUES (?,?,?)", zip(range(len(pids)), pids.tolist(), dates.astype("U8").tolist()))
        con.execute("COMMIT")
        rows = con.execute(
            "SELECT (SELECT payload FROM history h WHERE h.pid = q.pid AND h.valid_from <= q.d "
            "ORDER BY h.valid_from DESC, h.seq DESC LIMIT 1) FROM q ORDER BY q.i").fetchall()
        return [r[0] for r in rows]


# ---- the run -------------------------------------------------------------------------------------

def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    r = fn()
    return time.perf_counter() - t0, r


def newcomers_for(records: list[JuminKihon], n: int) -> list[JuminKihon]:
    """New persons for a decade of registrations: a second ward's records whose numbers the first
    does not use."""
    f = item_fields()
    extra = synth.ward(int(n * NEW_RATE * len(YEARS) * 1.1), seed=12, removed_fraction=0.0)
    used_c = {getattr(r, f[30]) for r in records}
    used_m = {getattr(r, f[81]) for r in records}
    fresh = [r for r in extra.records() if getattr(r, f[30]) not in used_c and getattr(r, f[81]) not in used_m]
    return fresh[: int(n * NEW_RATE * len(YEARS))]


def run(n: int = N, out: Callable[[str], None] = print, lookups: int = size("HISTORY_LOOKUPS")) -> dict[str, float]:
    """All measurements in one process; returns rates (per second)."""
    res: dict[str, float] = {}
    t0 = time.perf_counter()
    w = synth.ward(n, seed=11)
    records = list(w.records())
    resident = np.asarray(w.current_mask, dtype=bool)
    batches = plan_decade(len(records), resident)
    n_events = sum(len(b[2]) for b in batches)
    newcomers = newcomers_for(records, n)
    out(f"ward of {len(records):,} persons ({int(resident.sum()):,} residents), a decade of {n_events:,} changes and "
        f"{len(newcomers):,} registrations, prepared in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.create(Path(tmp) / "store", "131075", administrator=ADMIN)
        store.roles.grant(OP.operator_id, "clerk", by=ADMIN)
        store = store.acting(OP, "benchmark")
        store.load(records, operator=OP, batch_size=50_000, durable=False)
        reg = Register(store)
        sq = SqliteRegister(Path(tmp) / "anchor.sqlite")
        sq.load(records)

        # Events: the decade's changes, year by year, one transaction per (year, kind). Neither
        # side syncs to disk at each commit (sqlite3 WAL with synchronous=NORMAL; jukistore with
        # sync off and one sync at the end): a process crash loses nothing committed on either.
        t_s = 0.0
        t0 = time.perf_counter()
        with store.unsynced():  # its end is the one sync, timed with jukistore
            for year, code, pids, d, cols in batches:
                reg.apply_many(code, pids, d, cols, operator=OP)
                t_s += timed(lambda: sq.apply(code, pids, d, cols))[0]
        t_j = time.perf_counter() - t0 - t_s
        res["events: jukistore apply_many"] = n_events / t_j
        res["events: sqlite3 read-modify-write"] = n_events / t_s
        # The same with an fsync at every commit (full durability, the store's default): a year of 転居.
        rng = np.random.default_rng(3)
        alive = np.flatnonzero((store.get_many(np.arange(1, len(records) + 1), by="person_id").flags & 1) == 0) + 1
        movers = np.sort(rng.choice(alive, int(len(alive) * RATES[E.転居]), replace=False)).astype(np.uint64)
        t = timed(lambda: reg.apply_many(E.転居, movers, "20250301", {8: [f"東京都墨田区立花{i}" for i in range(len(movers))]},
                                         operator=OP))[0]
        res["events: jukistore apply_many, fsync per batch"] = len(movers) / t
        # The general path, one Event object per event (a year of 転居 again, into new addresses).
        pick = rng.choice(alive, min(len(alive), 50_000), replace=False)
        evs = [Event(E.転居, "20250401", person=int(p), changes={8: f"東京都墨田区向島{i}"}) for i, p in enumerate(pick)]
        res["events: jukistore apply (Event objects)"] = len(evs) / timed(lambda: reg.apply(evs, operator=OP))[0]
        # Registrations: whole records, 10,000 a transaction.
        regs = [Event(E.転入, "20250402", record=r) for r in newcomers]
        t_r = sum(timed(lambda k=k: reg.apply(regs[k : k + 10_000], operator=OP))[0] for k in range(0, len(regs), 10_000))
        res["registrations: jukistore apply (whole records)"] = len(regs) / t_r if regs else 0.0

        # The same records on both sides (the anchor did the same work).
        sample = rng.choice(len(records), min(20_000, len(records)), replace=False) + 1
        mine = store.get_many(sample.astype(np.uint64), by="person_id")
        theirs = {}
        for s in range(0, len(sample), 900):
            part = [int(x) for x in sample[s : s + 900]]
            theirs.update(sq.con.execute(f"SELECT pid, payload FROM persons WHERE pid IN ({','.join('?' * len(part))})", part))
        changed = {int(p) for p in pick} | {int(p) for p in movers}
        checked = [i for i, p in enumerate(sample) if int(p) not in changed]
        assert all(bytes(mine.payload(i)) == theirs[int(sample[i])] for i in checked), "records differ from the anchor's"

        # As-of lookups: random persons of the initial ward on random days of the decade.
        m = lookups
        pids = (rng.integers(0, len(records), m) + 1).astype(np.uint64)
        days = np.concatenate([_dates(rng, y, m // len(YEARS) + 1) for y in YEARS])[:m]
        rng.shuffle(days)
        reg.as_of_many(pids[:1000], days[:1000])  # warm the map
        t, got = min((timed(lambda: reg.as_of_many(pids, days)) for _ in range(3)), key=lambda x: x[0])
        res["as_of batch: jukistore as_of_many"] = m / t
        k = min(m, 200_000)
        t, want = timed(lambda: sq.as_of_many(pids[:k], days[:k]))
        res["as_of batch: sqlite3 correlated sub-query"] = k / t
        # Answers agree (the events after the decade are dated 2025: not seen here).
        assert [bytes(got.payload(i)) if got.found[i] else None for i in range(k)] == want, "as_of answers differ"
        sq.con.close()
    return res


def main() -> None:
    t0 = time.perf_counter()
    res = run()
    print(f"\n{'measurement':52} {'per second':>14}")
    for k, v in res.items():
        print(f"{k:52} {v:>14,.0f}")
    ev = res["events: jukistore apply_many"]
    print(f"\nevents: jukistore / sqlite3 = {ev / res['events: sqlite3 read-modify-write']:.1f}x "
          f"(target 100,000/s: {'met' if ev >= 100_000 else 'missed'})")
    lk = res["as_of batch: jukistore as_of_many"]
    print(f"as_of:  jukistore / sqlite3 = {lk / res['as_of batch: sqlite3 correlated sub-query']:.1f}x "
          f"(target 500,000/s: {'met' if lk >= 500_000 else 'missed'})")
    print(f"total {time.perf_counter() - t0:.0f} s")


# ---- pytest-benchmark suite ---------------------------------------------------------------------
# Every round starts from a copy of the same loaded store and sqlite3 database (copied untimed), so
# rounds and implementations do the same work; results are compared with a reference state built
# once by both engines and checked equal between them.


class Ward:
    """The synthetic ward, its decade of events, its newcomers and its loaded template files."""

    def __init__(self, n: int, directory: Path):
        w = synth.ward(n, seed=11)
        self.records = list(w.records())
        self.resident = np.asarray(w.current_mask, dtype=bool)
        self.batches = plan_decade(len(self.records), self.resident)
        self.events = sum(len(b[2]) for b in self.batches)
        self.newcomers = newcomers_for(self.records, n)
        rng = np.random.default_rng(3)
        alive = np.flatnonzero(self.resident) + 1
        #: A year of 転居: 8% of residents, into new addresses.
        self.movers = np.sort(rng.choice(alive, int(len(alive) * RATES[E.転居]), replace=False)).astype(np.uint64)
        self.addresses = [f"東京都墨田区立花{i}" for i in range(len(self.movers))]
        self.dir = directory
        store = Store.create(directory / "template.store", "131075", administrator=ADMIN)
        store.roles.grant(OP.operator_id, "clerk", by=ADMIN)
        store.load(self.records, operator=OP, batch_size=50_000, durable=False)
        store.sync()
        store.audit.close()
        del store
        sq = SqliteRegister(directory / "template.sqlite")
        sq.load(self.records)
        sq.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sq.con.close()
        self.copies = 0
        self.made: list[Path] = []

    def fresh(self, impl: str, *, synchronous: str = "NORMAL", keep: bool = False) -> Any:
        """A copy of the loaded template: a Register over a store, or a SqliteRegister. Copies
        not marked ``keep`` are removed by :meth:`discard` after each test (they take gigabytes)."""
        self.copies += 1
        if impl.startswith("jukistore"):
            path = self.dir / f"copy-{self.copies}.store"
            shutil.copytree(self.dir / "template.store", path)
            side: Any = Register(Store.open(path, operator=OP, purpose="benchmark"))
        else:
            path = self.dir / f"copy-{self.copies}.sqlite"
            shutil.copyfile(self.dir / "template.sqlite", path)
            side = SqliteRegister(path, existing=True, seq=len(self.records), synchronous=synchronous)
        if not keep:
            self.made.append(path)
        return side

    def discard(self) -> None:
        """Remove the copies made since the last call (open handles keep their data until closed)."""
        for path in self.made:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                    p.unlink(missing_ok=True)
        self.made.clear()


def payloads(side: Any, pids: np.ndarray) -> list[bytes]:
    """The current record bytes of ``pids`` in a Register or a SqliteRegister."""
    if isinstance(side, Register):
        got = side.store.get_many(pids.astype(np.uint64), by="person_id")
        assert got.found.all()
        return [bytes(got.payload(i)) for i in range(len(pids))]
    out: dict[int, bytes] = {}
    for s in range(0, len(pids), 900):
        part = [int(x) for x in pids[s : s + 900]]
        out.update(side.con.execute(f"SELECT pid, payload FROM persons WHERE pid IN ({','.join('?' * len(part))})", part))
    return [out[int(p)] for p in pids]


def apply_decade(side: Any, ward: Ward) -> Any:
    """The decade's changes, one transaction per (year, kind), neither engine syncing at each
    commit (sqlite3 WAL with synchronous=NORMAL; jukistore sync off and one sync at the end)."""
    if isinstance(side, Register):
        with side.store.unsynced():
            for _year, code, pids, d, cols in ward.batches:
                side.apply_many(code, pids, d, cols, operator=OP)
    else:
        for _year, code, pids, d, cols in ward.batches:
            side.apply(code, pids, d, cols)
    return side


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    """The ward and its templates; every file is removed at the end of the module."""
    w = Ward(N, tmp_path_factory.mktemp("history"))
    yield w
    shutil.rmtree(w.dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def discard_copies(ward: Ward) -> Iterator[None]:
    """Each test's copies removed after it."""
    yield
    ward.discard()


@pytest.fixture(scope="module")
def decade(ward: Ward) -> tuple[Register, SqliteRegister, np.ndarray, list[bytes]]:
    """Both engines after the decade (untimed), their records checked equal; a sample to compare with."""
    reg = apply_decade(ward.fresh("jukistore", keep=True), ward)
    sq = apply_decade(ward.fresh("sqlite3", keep=True), ward)
    rng = np.random.default_rng(5)
    sample = np.sort(rng.choice(len(ward.records), min(20_000, len(ward.records)), replace=False) + 1)
    want = payloads(reg, sample)
    assert payloads(sq, sample) == want, "jukistore and sqlite3 records differ after the decade"
    return reg, sq, sample, want


@pytest.mark.parametrize("impl", ["jukistore", "sqlite3"])
def test_events_decade(measure: Any, impl: str, ward: Ward, decade: tuple[Any, Any, np.ndarray, list[bytes]]) -> None:
    """A decade of changes: jukistore ``apply_many`` against sqlite3 read-modify-write."""
    side = measure(lambda s: apply_decade(s, ward), group="history: a decade of events, apply_many",
                   impl=impl, items=ward.events, unit="events", rounds=2,
                   setup=lambda: ((ward.fresh(impl),), {}))
    _, _, sample, want = decade
    assert payloads(side, sample) == want


@pytest.mark.parametrize("impl", ["jukistore", "jukistore, Event objects", "sqlite3"])
def test_events_move_synced(measure: Any, impl: str, ward: Ward) -> None:
    """A year of 転居 (8% of residents) in one transaction synced to disk at commit (the store's
    default, full durability; sqlite3 with synchronous=FULL): ``apply_many``, the general path
    with one Event object per event, and sqlite3 read-modify-write."""
    code, date = E.転居, "20250301"

    def j_many(reg: Register) -> Register:
        reg.apply_many(code, ward.movers, date, {8: ward.addresses}, operator=OP)
        return reg

    events = [Event(code, date, person=int(p), changes={8: a}) for p, a in zip(ward.movers, ward.addresses)]

    def j_events(reg: Register) -> Register:
        reg.apply(events, operator=OP)
        return reg

    def s_apply(sq: SqliteRegister) -> SqliteRegister:
        sq.apply(code, ward.movers, np.full(len(ward.movers), date.encode(), dtype="S8"), {8: ward.addresses})
        return sq

    fn = {"jukistore": j_many, "jukistore, Event objects": j_events, "sqlite3": s_apply}[impl]
    sync = "FULL"
    side = measure(fn, group="history: a year of 転居, synced at commit", impl=impl, items=len(ward.movers),
                   unit="events", rounds=2, setup=lambda: ((ward.fresh(impl, synchronous=sync),), {}))
    want = payloads(j_many(ward.fresh("jukistore")), ward.movers[:2000])
    assert payloads(side, ward.movers[:2000]) == want


@pytest.mark.parametrize("impl", ["jukistore", "sqlite3"])
def test_registrations(measure: Any, impl: str, ward: Ward) -> None:
    """Registrations (転入) of whole records, 10,000 a transaction: jukistore ``apply`` with Event
    objects against sqlite3 inserting the persons, history and change rows."""
    regs = ward.newcomers
    first = len(ward.records) + 1

    def j_reg(reg: Register) -> Register:
        evs = [Event(E.転入, "20250402", record=r) for r in regs]
        for k in range(0, len(evs), 10_000):
            reg.apply(evs[k : k + 10_000], operator=OP)
        return reg

    def s_reg(sq: SqliteRegister) -> SqliteRegister:
        for k in range(0, len(regs), 10_000):
            sq.load(regs[k : k + 10_000], first_pid=first + k)
        return sq

    side = measure(j_reg if impl == "jukistore" else s_reg, group="history: registrations (転入, whole records)",
                   impl=impl, items=len(regs), unit="persons", rounds=2, setup=lambda: ((ward.fresh(impl),), {}))
    new = np.arange(first, first + len(regs), max(1, len(regs) // 2000), dtype=np.uint64)
    got = [DECODER.decode(b) for b in payloads(side, new)]
    f = item_fields()
    assert [getattr(r, f[30]) for r in got] == [getattr(regs[int(p) - first], f[30]) for p in new]


@pytest.mark.parametrize("impl", ["jukistore", "sqlite3"])
def test_as_of_batch(measure: Any, impl: str, ward: Ward, decade: tuple[Any, Any, np.ndarray, list[bytes]]) -> None:
    """The record valid on a date for random (person, date) pairs over the decade: jukistore
    ``as_of_many`` (one native call) against a sqlite3 correlated sub-query per pair (on at most
    200,000 pairs: rates are per pair)."""
    reg, sq, _, _ = decade
    m = size("HISTORY_LOOKUPS")
    rng = np.random.default_rng(9)
    pids = (rng.integers(0, len(ward.records), m) + 1).astype(np.uint64)
    days = np.concatenate([_dates(rng, y, m // len(YEARS) + 1) for y in YEARS])[:m]
    rng.shuffle(days)
    k = min(m, 200_000)
    want = sq.as_of_many(pids[:k], days[:k])
    if impl == "jukistore":
        reg.as_of_many(pids[:1000], days[:1000])  # warm the map
        got = measure(reg.as_of_many, pids, days, group="history: as-of lookups, batch", impl=impl, items=m,
                      unit="lookups", rounds=3)
        assert len(got) == m
        assert [bytes(got.payload(i)) if got.found[i] else None for i in range(k)] == want
    else:
        got = measure(sq.as_of_many, pids[:k], days[:k], group="history: as-of lookups, batch", impl=impl,
                      items=k, unit="lookups", rounds=2)
        assert got == want and any(x is not None for x in want)


if __name__ == "__main__":
    main()
