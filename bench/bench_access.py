"""What access logging costs a read: ``get_many`` and ``search`` with and without the check and log.

The logged call is the public one (``Store.get_many``, ``Store.search`` on a handle bound to an
operator): it checks the operator's right in the role register and appends one hash-chained
entry naming every person read. The unlogged call is the same public method on a handle whose
check and log are switched off (:class:`Unlogged`, a benchmark-only subclass), so the ratio is
exactly what the check and the log add. The target (issue 8) is at most 1.3× for both.

On a synthetic ward (``jukistore.synth.ward``) of ``ACCESS_N`` persons (bench/sizes.py: 100,000 at
the default scale), ``get_many`` of ``ACCESS_KEYS`` random 住民票コード per call (10,000) and
4情報 searches (name + birth date) of persons picked at random.

In the pytest-benchmark suite the unlogged handle is the anchor, named "unlogged baseline": the
report's speed-up column then reads logged ÷ unlogged rate, so 0.77× means logging costs 1.3×.
The ratio is reported, not asserted (timings on a shared machine are too noisy for a bound).

Run ``python bench/bench_access.py [N]`` for a table, or ``python -m bench --suite access`` for
the pytest-benchmark suite and its report.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jukistore import synth
from jukistore.history import item_fields
from jukistore.store import Operator, Store
from bench_store import best_of
from sizes import size

N = size("ACCESS_N")
KEYS = size("ACCESS_KEYS")
SEARCHES = 200
ADMIN = Operator("bench-admin", "bench-00")
CLERK = Operator("bench-clerk", "bench-01")


def make_store(n: int, path: Path) -> tuple[Store, np.ndarray, list[tuple[str, str]]]:
    """A ward of ``n`` persons loaded into a store bound to a clerk; its codes; search keys."""
    ward = synth.ward(n, seed=7)
    store = Store.create(path, "131075", administrator=ADMIN)
    store.roles.grant(CLERK.operator_id, "clerk", by=ADMIN)
    recs = list(ward.records())
    store.load(recs, operator=CLERK, batch_size=50_000, durable=False)
    f = item_fields()
    codes = ward.column(30).astype(np.uint64)
    rng = np.random.default_rng(3)
    picks = rng.integers(0, n, SEARCHES)
    qs = [(getattr(recs[i], f[20]), getattr(recs[i], f[23])) for i in picks]
    return store.acting(CLERK, "benchmark of access logging"), codes, qs


class Unlogged(Store):
    """A handle with the check and the log switched off: the baseline, never for real use."""

    def _authorize(self, right: str, act: str, operator: Operator | None = None) -> Operator:
        return operator or self.operator  # type: ignore[return-value]

    def _logged(self, act: str, persons: Any, **detail: object) -> None:
        return None


def unlogged(store: Store) -> Store:
    return Unlogged(store._native, store.clock, audit=store.audit, operator=store.operator, purpose=store.purpose)


def run(n: int = N, keys: int = KEYS) -> dict[str, float]:
    """Seconds per call (best of several rounds) of each read, logged and unlogged."""
    with tempfile.TemporaryDirectory() as tmp:
        store, codes, qs = make_store(n, Path(tmp) / "store")
        rng = np.random.default_rng(5)
        ask = rng.choice(codes, size=keys, replace=keys > len(codes))
        base = unlogged(store)
        res: dict[str, float] = {}
        for _ in range(3):  # alternate, so that a busy moment of the machine hits both
            for label, s in (("unlogged", base), ("logged", store)):
                t = best_of(lambda: s.get_many(ask), 7)
                res[f"get_many {label}"] = min(res.get(f"get_many {label}", t), t)
                t = best_of(lambda: [s.search(name_kana=k, birth_date=b) for k, b in qs], 7) / len(qs)
                res[f"search {label}"] = min(res.get(f"search {label}", t), t)
        reports = store.audit.verify()
        assert all(r.ok for r in reports.values())
        store.audit.close()
    return res


def table(res: dict[str, float], n: int, keys: int) -> str:
    lines = [f"Access logging, {n:,} persons, get_many of {keys:,} keys, {os.cpu_count()} CPUs", "",
             "| read | unlogged | logged | logged / unlogged |", "|---|---:|---:|---:|"]
    for op in ("get_many", "search"):
        u, lg = res[f"{op} unlogged"], res[f"{op} logged"]
        lines.append(f"| {op} | {u * 1e3:.3f} ms | {lg * 1e3:.3f} ms | {lg / u:.2f}× |")
    return "\n".join(lines)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else N
    print(table(run(n), n, KEYS))


# ---- pytest-benchmark suite ---------------------------------------------------------------------

BASELINE = "unlogged baseline"


@pytest.fixture(scope="module")
def bound(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, np.ndarray, list[tuple[str, str]]]:
    """The store bound to a clerk, the keys of one get_many call, the search keys."""
    store, codes, qs = make_store(N, tmp_path_factory.mktemp("access") / "store")
    ask = np.random.default_rng(5).choice(codes, size=KEYS, replace=KEYS > len(codes))
    return store, ask, qs


def _entries(store: Store) -> int:
    return len(list(store.audit.access.entries()))


@pytest.mark.parametrize("impl", ["jukistore", BASELINE])
def test_get_many(measure: Any, impl: str, bound: tuple[Store, np.ndarray, list[tuple[str, str]]]) -> None:
    """``get_many`` of ACCESS_KEYS codes, checked and logged (jukistore) or not (the baseline);
    both return the same records, and only the logged call adds to the access log."""
    store, ask, _ = bound
    handle = store if impl == "jukistore" else unlogged(store)
    before = _entries(store)
    got = measure(handle.get_many, ask, group="access: get_many, logged vs unlogged", impl=impl, items=len(ask),
                  unit="lookups", rounds=7)
    assert got.found.all()
    assert (_entries(store) > before) == (impl == "jukistore")
    want = unlogged(store).get_many(ask[:200])
    assert [bytes(got.payload(i)) for i in range(200)] == [bytes(want.payload(i)) for i in range(200)]


@pytest.mark.parametrize("impl", ["jukistore", BASELINE])
def test_search(measure: Any, impl: str, bound: tuple[Store, np.ndarray, list[tuple[str, str]]]) -> None:
    """4情報 searches, each finding at least the person its keys came from, logged or not."""
    store, _, qs = bound
    handle = store if impl == "jukistore" else unlogged(store)
    before = _entries(store)
    got = measure(lambda: [handle.search(name_kana=k, birth_date=b) for k, b in qs],
                  group="access: 4情報 search, logged vs unlogged", impl=impl, items=len(qs), unit="queries", rounds=5)
    assert all(len(found) >= 1 for found in got)
    assert (_entries(store) > before) == (impl == "jukistore")


def test_audit_log_verifies(bound: tuple[Store, np.ndarray, list[tuple[str, str]]]) -> None:
    """After the logged reads the hash-chained logs still verify."""
    store, ask, _ = bound
    store.get_many(ask[:10])
    assert all(r.ok for r in store.audit.verify().values())


if __name__ == "__main__":
    main()
