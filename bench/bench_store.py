"""Store benchmarks against sqlite3 and raw py-lmdb, measured in one run.

What is compared, on the same synthetic persons (the size ``STORE_N`` of bench/sizes.py: 1,000,000
at the full scale, 500,000 at the default one; ``JUKISTORE_BENCH_STORE_N`` overrides it):

- bulk load: jukistore ``Store.load`` from master records, against sqlite3 ``executemany`` of the
  same keys and the same MessagePack payloads into a table with the same indexes (the keys and
  payloads for sqlite are prepared outside its timing, so it is charged only for storing), both
  in transactions of ``LOAD_BATCH`` records;
- single get by 住民票コード and by 個人番号, one call at a time, record decoded: jukistore
  ``Store.get`` against sqlite3 ``SELECT`` and against raw py-lmdb reads of the same bytes (two
  ``txn.get`` calls on a compacted copy of the jukistore file, the floor of a Python call into LMDB);
- ``get_many`` of random keys: jukistore against sqlite3 ``IN (...)`` queries in chunks of 500;
- 4情報 search (name + birth date): jukistore against sqlite3 with indexes on both.

Run ``python bench/bench_store.py [N]`` for a table in one process, or ``python -m bench --suite
store`` for the pytest-benchmark suite and its report. Every timed call's answer is checked
against the records that were loaded.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import msgspec
import numpy as np
import pytest

from jukistore import Store
from jukistore.records import JuminKihon
from jukistore.store import NO_MYNUMBER, Operator, _key_fields, address_key, name_key
from sizes import size

N = size("STORE_N")
#: Records per load transaction, the same for both engines (jukistore's default batch).
LOAD_BATCH = 50_000
OP = Operator("bench", "bench-01")
ADMIN = Operator("bench-admin", "bench-01")
DECODER = msgspec.msgpack.Decoder(JuminKihon)
ENCODER = msgspec.msgpack.Encoder()


@dataclass
class Data:
    records: list[JuminKihon]
    codes: np.ndarray
    mynumbers: np.ndarray
    names: list[str]
    births: list[str]
    payloads: list[bytes]
    rows: list[tuple[Any, ...]]


SURNAMES = [("山田", "ヤマダ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("髙橋", "タカハシ"), ("渡辺", "ワタナベ"),
            ("伊藤", "イトウ"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ")]
GIVEN = [("太郎", "タロウ"), ("花子", "ハナコ"), ("純平", "ジュンペイ"), ("学", "マナブ"), ("翔", "ショウ"),
         ("陽菜", "ヒナ"), ("蓮", "レン"), ("結衣", "ユイ"), ("大輝", "ダイキ"), ("美咲", "ミサキ")]
TOWNS = ["吾妻橋", "向島", "押上", "両国", "錦糸", "業平", "本所", "東駒形", "墨田", "立花"]


def persons(n: int, seed: int = 1) -> list[JuminKihon]:
    """``n`` master records with distinct valid numbers and varied 4情報 (vectorised where it counts)."""
    from jukistore.ids import juminhyo, mynumber

    rng = np.random.default_rng(seed)
    codes = juminhyo.to_text(juminhyo.generate(n, seed)).astype("U11").tolist()
    mns = mynumber.to_text(mynumber.generate(n, seed)).astype("U12").tolist()
    sn = rng.integers(0, len(SURNAMES), n)
    gn = rng.integers(0, len(GIVEN), n)
    town = rng.integers(0, len(TOWNS), n)
    chome = rng.integers(1, 6, n)
    ban = rng.integers(1, 40, n)
    year = rng.integers(1925, 2025, n)
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    sex = rng.integers(1, 3, n)
    return [
        JuminKihon(
            household_number=f"{i // 2:010d}", juminhyo_code=codes[i], mynumber=mns[i],
            name_kanji=f"{SURNAMES[sn[i]][0]}　{GIVEN[gn[i]][0]}", name_kana=f"{SURNAMES[sn[i]][1]} {GIVEN[gn[i]][1]}",
            birth_date=f"{year[i]:04d}{month[i]:02d}{day[i]:02d}", sex=str(sex[i]),
            address=f"東京都墨田区{TOWNS[town[i]]}{chome[i]}丁目{ban[i]}番{i % 20 + 1}号",
            postal_code=f"13{town[i]:01d}{i % 10000:04d}", change_date="20200401", notification_date="20200402",
        )
        for i in range(n)
    ]


def make_data(n: int, seed: int = 1) -> Data:
    """Synthetic persons and the prepared sqlite rows (same keys, same payload bytes)."""
    records = persons(n, seed)
    f = _key_fields()
    codes = np.array([int(getattr(r, f["code"])) for r in records], dtype=np.uint64)
    mns = np.array([int(getattr(r, f["mynumber"]) or NO_MYNUMBER) for r in records], dtype=np.uint64)
    names = [name_key(getattr(r, f["kana"])) for r in records]
    births = [getattr(r, f["birth"]) for r in records]
    payloads = [ENCODER.encode(r) for r in records]
    rows = [
        (i + 1, int(codes[i]), None if mns[i] == NO_MYNUMBER else int(mns[i]), names[i], births[i],
         address_key(getattr(r, f["address"])), getattr(r, f["sex"]), payloads[i])
        for i, r in enumerate(records)
    ]
    return Data(records, codes, mns, names, births, payloads, rows)


def load_jukistore(d: Data, path: Path) -> Store:
    s = Store.create(path, "131075", administrator=ADMIN)
    s.roles.grant(OP.operator_id, "clerk", by=ADMIN)
    s.load(d.records, operator=OP, batch_size=LOAD_BATCH, durable=False)
    return s.acting(OP, "benchmark")


SQL_SCHEMA = """
CREATE TABLE persons (pid INTEGER PRIMARY KEY, code INTEGER NOT NULL UNIQUE, mynumber INTEGER UNIQUE,
                      name_key TEXT, birth TEXT, addr TEXT, sex TEXT, payload BLOB);
CREATE INDEX persons_name ON persons(name_key);
CREATE INDEX persons_birth ON persons(birth);
"""


def load_sqlite(d: Data, path: Path) -> sqlite3.Connection:
    """What a Python developer would write: one transaction per batch, executemany, WAL."""
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.executescript(SQL_SCHEMA)
    for i in range(0, len(d.rows), LOAD_BATCH):
        con.execute("BEGIN")
        con.executemany("INSERT INTO persons VALUES (?,?,?,?,?,?,?,?)", d.rows[i : i + LOAD_BATCH])
        con.execute("COMMIT")
    return con


class RawLmdb:
    """py-lmdb reading a compacted copy of a jukistore file: the floor of a Python call into LMDB."""

    def __init__(self, dirpath: Path):
        import lmdb

        self.env = lmdb.open(str(dirpath), readonly=True, lock=False, max_dbs=16, subdir=True)
        # The number and person databases are MDB_INTEGERKEY: native-endian u64 keys.
        self.by_code = self.env.open_db(b"by_code", create=False, integerkey=True)
        self.by_mn = self.env.open_db(b"by_mynumber", create=False, integerkey=True)
        self.persons = self.env.open_db(b"persons", create=False, integerkey=True)

    @staticmethod
    def payload(entry: bytes) -> bytes:
        n_oc, n_om, ln, lb, la, nv = struct.unpack_from("<5HI", entry, 28)  # entry.rs: header
        return entry[42 + 8 * (n_oc + n_om) + 16 * nv + ln + lb + la :]

    def get(self, key: int, db: Any) -> JuminKihon | None:
        b = self.get_bytes(key, db)
        return None if b is None else DECODER.decode(b)

    def get_bytes(self, key: int, db: Any) -> bytes | None:
        with self.env.begin() as txn:
            v = txn.get(key.to_bytes(8, sys.byteorder), db=db)
            if v is None:
                return None
            e = txn.get(int.from_bytes(v[:8], "big").to_bytes(8, sys.byteorder), db=self.persons)
        return self.payload(e)


def best_of(fn: Callable[[], Any], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(n: int = N, out: Callable[[str], None] = print) -> dict[str, float]:
    """All measurements in one process; returns rates (operations per second)."""
    rng = np.random.default_rng(7)
    t0 = time.perf_counter()
    d = make_data(n)
    out(f"prepared {n:,} synthetic persons in {time.perf_counter() - t0:.1f} s")
    res: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        t0 = time.perf_counter()
        store = load_jukistore(d, tmpd / "store")
        res["load jukistore"] = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        con = load_sqlite(d, tmpd / "anchor.sqlite")
        res["load sqlite3"] = n / (time.perf_counter() - t0)
        (tmpd / "copy").mkdir()
        store._native.copy_compacted(str(tmpd / "copy" / "data.mdb"))
        raw = RawLmdb(tmpd / "copy")
        # The loads leave a gigabyte or two for the kernel to write back: let it finish, so that the
        # reads below are measured on a quiet machine, for all three engines alike.
        os.sync()

        m = min(n, 20_000)
        pick = rng.integers(0, n, m)
        codes = [int(c) for c in d.codes[pick]]
        mns = [int(x) for x in d.mynumbers[pick] if x != NO_MYNUMBER]

        # One call at a time; "get" returns the stored record bytes (jukistore decodes lazily, on
        # first access to .record), "get+decode" also decodes them into a JuminKihon, for all three.
        def j_get(decode: bool, by: str, keys: list[int]) -> Callable[[], None]:
            def by_code() -> None:
                for k in keys:
                    p = store.get(code=k)
                    if decode:
                        p.record

            def by_mynumber() -> None:
                for k in keys:
                    p = store.get(mynumber=k)
                    if decode:
                        p.record
            return by_code if by == "code" else by_mynumber

        def s_get(decode: bool, col: str, keys: list[int]) -> Callable[[], None]:
            def f() -> None:
                cur = con.cursor()
                q = f"SELECT payload FROM persons WHERE {col}=?"
                for k in keys:
                    b = cur.execute(q, (k,)).fetchone()[0]
                    if decode:
                        DECODER.decode(b)
            return f

        def r_get(decode: bool, db: Any, keys: list[int]) -> Callable[[], None]:
            def f() -> None:
                for k in keys:
                    b = raw.get_bytes(k, db)
                    if decode:
                        DECODER.decode(b)
            return f

        for decode in (False, True):
            suffix = "+decode" if decode else ""
            for label, by, col, db, keys in [("code", "code", "code", raw.by_code, codes),
                                             ("mynumber", "mynumber", "mynumber", raw.by_mn, mns)]:
                res[f"get{suffix} by {label} jukistore"] = len(keys) / best_of(j_get(decode, by, keys))
                res[f"get{suffix} by {label} sqlite3"] = len(keys) / best_of(s_get(decode, col, keys))
                res[f"get{suffix} by {label} py-lmdb raw"] = len(keys) / best_of(r_get(decode, db, keys))

        many = d.codes[rng.integers(0, n, min(n, 1_000_000))]
        res["get_many jukistore"] = len(many) / best_of(lambda: store.get_many(many))
        sub = [int(c) for c in many[:100_000]]

        def s_many() -> None:
            cur = con.cursor()
            for i in range(0, len(sub), 500):
                chunk = sub[i : i + 500]
                cur.execute(f"SELECT code, payload FROM persons WHERE code IN ({','.join('?' * len(chunk))})", chunk).fetchall()

        res["get_many sqlite3"] = len(sub) / best_of(s_many)

        qs = [(d.records[i], d.names[i], d.births[i]) for i in rng.integers(0, n, 2000)]
        f = _key_fields()

        def j_search() -> None:
            for rec, _nk, b in qs:
                store.search(name_kana=getattr(rec, f["kana"]), birth_date=b)

        def s_search() -> None:
            cur = con.cursor()
            for rec, _nk, b in qs:
                # the name key is computed per query, as jukistore does
                rows = cur.execute("SELECT payload FROM persons WHERE name_key=? AND birth=?",
                                   (name_key(getattr(rec, f["kana"])), b)).fetchall()
                [DECODER.decode(r[0]) for r in rows]

        res["search jukistore"] = len(qs) / best_of(j_search)
        res["search sqlite3"] = len(qs) / best_of(s_search)
        con.close()
    return res


def table(res: dict[str, float], n: int) -> str:
    lines = [f"Store benchmark, {n:,} persons, {os.cpu_count()} CPUs", "",
             "| operation | jukistore /s | sqlite3 /s | py-lmdb raw /s | x sqlite3 | jukistore time / raw time |",
             "|---|---:|---:|---:|---:|---:|"]
    for op in ["load", "get by code", "get by mynumber", "get+decode by code", "get+decode by mynumber",
               "get_many", "search"]:
        j = res[f"{op} jukistore"]
        s = res.get(f"{op} sqlite3")
        r = res.get(f"{op} py-lmdb raw")
        lines.append(f"| {op} | {j:,.0f} | {s:,.0f} | {'' if r is None else f'{r:,.0f}'} | {j / s:.1f} | "
                     f"{'' if r is None else f'{r / j:.2f}'} |")
    return "\n".join(lines)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else N
    res = run(n)
    print(table(res, n))


# ---- pytest-benchmark suite ---------------------------------------------------------------------
# The same operations as run(), each a benchmark in a group shared by jukistore and its anchors.

#: Single lookups per timed call (one call at a time inside), get_many keys, 4情報 queries.
GETS, MANY, MANY_SQLITE, SEARCHES = 20_000, 1_000_000, 100_000, 2_000
KEY_LABEL = {"code": "住民票コード", "mynumber": "個人番号"}


@dataclass
class Loaded:
    """The persons, the jukistore store, the sqlite3 database and raw py-lmdb on a copy of the store."""

    d: Data
    store: Store
    con: sqlite3.Connection
    raw: RawLmdb
    tmp: Path


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """N persons loaded in each engine once, for the read benchmarks; files removed at the end."""
    d = make_data(N)
    tmp = tmp_path_factory.mktemp("store")
    store = load_jukistore(d, tmp / "store")
    con = load_sqlite(d, tmp / "anchor.sqlite")
    (tmp / "copy").mkdir()
    store._native.copy_compacted(str(tmp / "copy" / "data.mdb"))
    yield Loaded(d, store, con, RawLmdb(tmp / "copy"), tmp)
    con.close()
    shutil.rmtree(tmp, ignore_errors=True)


def _pick(n: int, k: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, min(n, k))


@pytest.mark.parametrize("impl", ["jukistore", "sqlite3"])
def test_load(measure: Any, impl: str, loaded: Loaded) -> None:
    """Bulk load of all N persons into an empty store or database (a fresh one every round)."""
    d = loaded.d
    rounds = iter(range(1_000))

    def fresh() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (d, loaded.tmp / f"load-{impl}-{next(rounds)}"), {}

    fn = load_jukistore if impl == "jukistore" else lambda d, p: load_sqlite(d, p.with_suffix(".sqlite"))
    got = measure(fn, group="store: bulk load", impl=impl, items=len(d.records), unit="persons", rounds=2, setup=fresh)
    mid = len(d.records) // 2
    if impl == "jukistore":
        assert got.stats()["persons"] == len(d.records)
        assert got.get(code=int(d.codes[mid])).record == d.records[mid]
    else:
        assert got.execute("SELECT count(*) FROM persons").fetchone()[0] == len(d.records)
        assert DECODER.decode(got.execute("SELECT payload FROM persons WHERE code=?", (int(d.codes[mid]),)).fetchone()[0]) == d.records[mid]
        got.close()
    for path in loaded.tmp.glob(f"load-{impl}-*"):  # every round's copy: gigabytes at the full scale
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
@pytest.mark.parametrize("by", ["code", "mynumber"])
@pytest.mark.parametrize("impl", ["jukistore", "sqlite3", "py-lmdb raw"])
def test_get(measure: Any, impl: str, by: str, decode: bool, loaded: Loaded) -> None:
    """Single lookups, one call at a time; with ``decoded`` each record is also decoded into a
    JuminKihon (jukistore decodes lazily, on first access to ``.record``)."""
    d, store, con, raw = loaded.d, loaded.store, loaded.con, loaded.raw
    pick = _pick(len(d.records), GETS, 11)
    keys = [int(k) for k in (d.codes if by == "code" else d.mynumbers)[pick]]

    def j_get() -> list[Any]:
        out = [store.get(code=k) if by == "code" else store.get(mynumber=k) for k in keys]
        return [p.record for p in out] if decode else out

    def s_get() -> list[Any]:
        cur = con.cursor()
        q = f"SELECT payload FROM persons WHERE {by}=?"
        out = [cur.execute(q, (k,)).fetchone()[0] for k in keys]
        return [DECODER.decode(b) for b in out] if decode else out

    def r_get() -> list[Any]:
        db = raw.by_code if by == "code" else raw.by_mn
        out = [raw.get_bytes(k, db) for k in keys]
        return [DECODER.decode(b) for b in out] if decode else out

    fn = {"jukistore": j_get, "sqlite3": s_get, "py-lmdb raw": r_get}[impl]
    what = "get + decode" if decode else "get"
    got = measure(fn, group=f"store: {what} by {KEY_LABEL[by]}", impl=impl, items=len(keys), unit="lookups", rounds=3)
    want = [d.records[i] for i in pick]
    if impl == "jukistore":
        got = got if decode else [p.record for p in got]
    elif not decode:
        got = [DECODER.decode(b) for b in got]
    assert got == want, f"{impl} returned other records"


@pytest.mark.parametrize("impl", ["jukistore", "sqlite3"])
def test_get_many(measure: Any, impl: str, loaded: Loaded) -> None:
    """Many random 住民票コード at once: jukistore ``get_many`` (one native call) against sqlite3
    ``IN (...)`` queries of 500 keys (on fewer keys: rates are per key)."""
    d, store, con = loaded.d, loaded.store, loaded.con
    pick = _pick(len(d.records), MANY if impl == "jukistore" else MANY_SQLITE, 13)
    if impl == "jukistore":
        keys = d.codes[pick]
        got = measure(store.get_many, keys, group="store: get_many by 住民票コード", impl=impl, items=len(keys),
                      unit="lookups", rounds=3)
        assert got.found.all() and len(got) == len(keys)
        sample = range(0, len(keys), max(1, len(keys) // 1000))
        assert all(DECODER.decode(got.payload(i)) == d.records[pick[i]] for i in sample)
        return
    sub = [int(c) for c in d.codes[pick]]

    def s_many() -> dict[int, bytes]:
        cur = con.cursor()
        out: dict[int, bytes] = {}
        for i in range(0, len(sub), 500):
            chunk = sub[i : i + 500]
            out.update(cur.execute(f"SELECT code, payload FROM persons WHERE code IN ({','.join('?' * len(chunk))})", chunk))
        return out

    got = measure(s_many, group="store: get_many by 住民票コード", impl=impl, items=len(sub), unit="lookups", rounds=3)
    assert len(got) == len(set(sub))
    assert all(DECODER.decode(got[int(d.codes[i])]) == d.records[i] for i in pick[:1000])


@pytest.mark.parametrize("impl", ["jukistore", "sqlite3"])
def test_search(measure: Any, impl: str, loaded: Loaded) -> None:
    """4情報 search by カナ name and birth date, records decoded; the name key is computed per
    query on both sides, as jukistore does."""
    d, store, con = loaded.d, loaded.store, loaded.con
    f = _key_fields()
    qs = [(getattr(d.records[i], f["kana"]), d.births[i]) for i in _pick(len(d.records), SEARCHES, 17)]

    def j_search() -> list[list[str]]:
        return [sorted(getattr(p.record, f["code"]) for p in store.search(name_kana=k, birth_date=b)) for k, b in qs]

    def s_search() -> list[list[str]]:
        cur = con.cursor()
        out = []
        for k, b in qs:
            rows = cur.execute("SELECT payload FROM persons WHERE name_key=? AND birth=?", (name_key(k), b)).fetchall()
            out.append(sorted(getattr(DECODER.decode(r[0]), f["code"]) for r in rows))
        return out

    got = measure(j_search if impl == "jukistore" else s_search, group="store: 4情報 search (カナ name + birth date)",
                  impl=impl, items=len(qs), unit="queries", rounds=3)
    # The answer: every person with that name key and birth date (each query's own person among them).
    want: dict[tuple[str, str], list[str]] = {}
    for r, nk, b in zip(d.records, d.names, d.births):
        want.setdefault((nk, b), []).append(getattr(r, f["code"]))
    assert got == [sorted(want[(name_key(k), b)]) for k, b in qs]


if __name__ == "__main__":
    main()
