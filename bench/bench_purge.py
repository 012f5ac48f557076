"""Purge benchmark: half of a store's persons due, erased, the store rebuilt, the bytes proved gone.

A store of ``PURGE_N`` synthetic persons (bench/sizes.py: 200,000 at the default scale, the
issue's 2,000,000 at the full one; or the script's first argument) of whom every second one was
removed in 2010, so that a purge as of 2026 erases half of them under the 5-year rule of the time.
Measured:

- ``purge plan``: the candidates and the rule per distinct removal date;
- ``purge run``: erase (batches of 10,000, one transaction each), rebuild into a fresh file and swap
  it in, byte scan of every file for every purged number and a sample of names, ``verify()``; the
  receipt gives the phases' times and the data file's size before and after;
- the anchor: LMDB's own compacting copy (``mdb_env_copy`` with ``MDB_CP_COMPACT``) of the same
  store after the same erasure, its time and size, and how many purged samples it still holds (it
  copies pages as they are, free space inside a page included).

Run ``python bench/bench_purge.py 2000000`` for the table (the 2-million run needs about 3 GB of
disk in ``$TMPDIR``), or ``python -m bench --suite purge`` for the pytest-benchmark suite: there
the purge (erase, rebuild, scan, verify) and the anchor's compacting copy are one group, every
round on a fresh copy of the same store, so the ratio is the time of a proven purge against the
bare copy. Every run checks its result: the purged count, no sample found after the rebuild,
``verify()`` clean.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from bench_store import persons
from jukistore import Store, _core
from jukistore.retention import plan as P
from jukistore.retention import purge
from jukistore.store import Operator
from sizes import size

N = size("PURGE_N")
OP, APPROVER = Operator("bench", "bench-01"), Operator("bench-approver", "bench-02")
ADMIN = Operator("bench-admin", "bench-00")
AS_OF = dt.date(2026, 11, 27)


def build(n: int, path: Path) -> tuple[Store, list[Any]]:
    """A store of ``n`` persons, every second one removed in 2010 (due as of 2026)."""
    recs = persons(n)
    for i in range(0, n, 2):
        recs[i] = msgspec.structs.replace(recs[i], removal_category="1", change_date="20100315",
                                          removal_change_date="20100315")
    store = Store.create(path, "131075", administrator=ADMIN, map_size=1 << 33)
    store.roles.grant(OP.operator_id, "clerk", by=ADMIN)
    store.roles.grant(APPROVER.operator_id, "approver", by=ADMIN)
    store.load(recs, operator=OP, batch_size=20_000, durable=False)
    return store.acting(OP, "benchmark"), recs


def run_purge(path: Path) -> Any:
    """``purge.run`` as of 2026, the approver's right taken from the store's roles."""
    return purge.run(path, AS_OF, operator=OP, approver=APPROVER, batch_size=10_000)


def needles(recs: list[Any]) -> list[bytes]:
    """Every due person's numbers as the store holds them: MessagePack strings in the record, LMDB
    leaf nodes in the indexes (unless another person holds the same value as a number of the other
    kind), the code and My Number side by side in the entry and versions."""
    from jukistore.retention.purge import _LEAF_HEADER

    kept = {int(v) for r in recs[1::2] for v in (r.juminhyo_code, r.mynumber)}
    out: list[bytes] = []
    for r in recs[0::2]:
        for v, w in ((r.juminhyo_code, 11), (r.mynumber, 12)):
            out.append(bytes([0xA0 | w]) + v.encode())
            if int(v) not in kept:
                out.append(_LEAF_HEADER + int(v).to_bytes(8, sys.byteorder))
        out.append(int(r.juminhyo_code).to_bytes(8, "little") + int(r.mynumber).to_bytes(8, "little"))
    return out


def run(n: int, workdir: Path) -> dict[str, Any]:
    res: dict[str, Any] = {"n": n}
    t = time.perf_counter()
    store, recs = build(n, workdir / "store")
    res["load_s"] = time.perf_counter() - t
    path = store.path
    t = time.perf_counter()
    p = P.make_plan(store, AS_OF)
    res["plan_s"] = time.perf_counter() - t
    assert len(p.person_ids) == (n + 1) // 2, len(p.person_ids)
    due = np.ascontiguousarray(p.person_ids)
    # Anchor: the same erasure on a copy, then LMDB's compacting copy, and what bytes it keeps.
    anchor = workdir / "anchor"
    store.sync()
    del store, p
    shutil.copytree(path, anchor, ignore=shutil.ignore_patterns("*.lock", "lock.mdb"))
    a = _core.NativeStore.open(str(anchor))
    for i in range(0, len(due), 10_000):
        a.erase_persons(np.ascontiguousarray(due[i:i + 10_000]), [])
    (workdir / "anchor-copy").mkdir()
    t = time.perf_counter()
    a.copy_compacted(str(workdir / "anchor-copy" / "data.mdb"))
    res["anchor_copy_s"] = time.perf_counter() - t
    res["anchor_bytes"] = (workdir / "anchor-copy" / "data.mdb").stat().st_size
    del a
    samples = needles(recs)
    t = time.perf_counter()
    hits = _core.scan_files([str(workdir / "anchor-copy" / "data.mdb")], samples)
    res["anchor_scan_s"] = time.perf_counter() - t
    res["anchor_samples_found"] = int((hits > 0).sum())
    res["samples"] = len(samples)
    shutil.rmtree(anchor)
    shutil.rmtree(workdir / "anchor-copy")

    t = time.perf_counter()
    receipt = run_purge(path)
    res["run_s"] = time.perf_counter() - t
    res.update({f"{k}_s": v for k, v in receipt.timings.items()})
    res["bytes_before"], res["bytes_after"] = receipt.file_bytes_before, receipt.file_bytes_after
    res["receipt_scan"] = receipt.scan
    assert receipt.persons_purged == (n + 1) // 2
    assert receipt.scan["number_hits"] == 0 and receipt.scan["name_hits"] == 0 and receipt.scan["verify_clean"]
    hits = _core.scan_files([str(p) for p in path.rglob("*") if p.is_file()], samples)
    res["samples_found_after"] = int((hits > 0).sum())
    assert res["samples_found_after"] == 0
    return res


def table(r: dict[str, Any]) -> str:
    mb = 1 << 20
    s = r["receipt_scan"]
    return "\n".join([
        f"purge of {r['n'] // 2:,} of {r['n']:,} persons (load {r['load_s']:.1f} s, plan {r['plan_s']:.2f} s)",
        "| step | seconds |",
        "|---|---:|",
        f"| erase (batches of 10,000) | {r.get('erase_s', 0):.2f} |",
        f"| rebuild into a fresh file + swap | {r.get('rebuild_s', 0):.2f} |",
        f"| byte scan ({s['files']} files, {s['bytes'] / mb:,.0f} MB, {s['samples']:,} samples) + verify | "
        f"{r.get('scan_s', 0):.2f} |",
        f"| whole run | {r['run_s']:.2f} |",
        "",
        f"data file: {r['bytes_before'] / mb:,.1f} MB before, {r['bytes_after'] / mb:,.1f} MB after",
        f"anchor, LMDB compacting copy after the same erasure: {r['anchor_copy_s']:.2f} s, "
        f"{r['anchor_bytes'] / mb:,.1f} MB, purged samples still in it: {r['anchor_samples_found']:,} "
        f"of {r['samples']:,} (scan {r['anchor_scan_s']:.2f} s)",
        f"after the purge: {r['samples_found_after']} of {r['samples']:,} samples found in the store's files",
    ])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else N
    with tempfile.TemporaryDirectory(prefix="jukistore-purge-bench-") as d:
        print(table(run(n, Path(d))))


# ---- pytest-benchmark suite ---------------------------------------------------------------------

GROUP = "purge: half of a store"
ANCHOR = "LMDB compacting copy"


class Template:
    """The store built once; every round purges (or copies) a fresh copy of it."""

    def __init__(self, n: int, directory: Path):
        self.n, self.dir = n, directory
        store, self.recs = build(n, directory / "template")
        self.path = store.path
        store.sync()
        self.due = np.ascontiguousarray(P.make_plan(store, AS_OF).person_ids)
        store.audit.close()
        del store
        self.samples = needles(self.recs)
        self.copies = 0

    def fresh(self) -> Path:
        """A copy of the store's folder."""
        self.copies += 1
        path = self.dir / f"copy-{self.copies}"
        shutil.copytree(self.path, path, ignore=shutil.ignore_patterns("*.lock", "lock.mdb"))
        return path

    def erased(self) -> tuple[Any, Path]:
        """A copy with the due persons erased (as the purge erases them), and where to compact it."""
        a = _core.NativeStore.open(str(self.fresh()))
        for i in range(0, len(self.due), 10_000):
            a.erase_persons(np.ascontiguousarray(self.due[i:i + 10_000]), [])
        out = self.dir / f"compact-{self.copies}"
        out.mkdir()
        return a, out / "data.mdb"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The built store; every file removed at the end of the module."""
    directory = tmp_path_factory.mktemp("purge")
    yield Template(N, directory)
    shutil.rmtree(directory, ignore_errors=True)


def test_purge(measure: Any, template: Template) -> None:
    """``purge.run``: erase, rebuild into a fresh file, byte scan, verify; the result proved."""
    receipt = measure(run_purge, group=GROUP, impl="jukistore", items=len(template.due), unit="persons purged", rounds=2,
                      setup=lambda: ((template.fresh(),), {}))
    assert receipt.persons_purged == (template.n + 1) // 2 == len(template.due)
    assert receipt.scan["number_hits"] == 0 and receipt.scan["name_hits"] == 0 and receipt.scan["verify_clean"]
    assert receipt.file_bytes_after < receipt.file_bytes_before
    last = template.dir / f"copy-{template.copies}"
    hits = _core.scan_files([str(p) for p in last.rglob("*") if p.is_file()], template.samples)
    assert int((hits > 0).sum()) == 0


def test_compacting_copy(measure: Any, template: Template) -> None:
    """The anchor: LMDB's compacting copy of the same store after the same erasure (nothing proved:
    it copies pages as they are, so purged bytes left inside kept pages travel with it)."""
    state: dict[str, Any] = {}

    def prepare() -> tuple[tuple[Any, ...], dict[str, Any]]:
        state["native"], state["out"] = template.erased()
        return (state["native"], state["out"]), {}

    measure(lambda native, out: native.copy_compacted(str(out)), group=GROUP, impl=ANCHOR, items=len(template.due),
            unit="persons purged", rounds=2, setup=prepare)
    copy = _core.NativeStore.open(str(state["out"].parent))
    assert copy.stats()["persons"] == template.n - len(template.due)
    assert state["out"].stat().st_size < (template.path / "data.mdb").stat().st_size


if __name__ == "__main__":
    main()
