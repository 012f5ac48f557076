"""What access logging costs a read: ``get_many`` and ``search`` with and without the check and log.

The logged call is the public one (``Store.get_many``, ``Store.search`` on a handle bound to an
operator): it checks the operator's right in the role register and appends one hash-chained
entry naming every person read. The unlogged call is the same public method on a handle whose
check and log are switched off (:class:`Unlogged`, a benchmark-only subclass), so the ratio is
exactly what the check and the log add. The target (issue 8) is at most 1.3× for both.

On a synthetic ward (``jukistore.synth.ward``) of ``JUKISTORE_BENCH_ACCESS_N`` persons (default
20,000), ``get_many`` of ``JUKISTORE_BENCH_ACCESS_KEYS`` random 住民票コード per call (default
10,000) and 4情報 searches (name + birth date) of persons picked at random.

Run ``python bench/bench_access.py [N]`` for a table, or ``pytest bench/bench_access.py
--benchmark-enable`` for pytest-benchmark.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from jukistore import synth
from jukistore.history import item_fields
from jukistore.store import Operator, Store

N = int(os.environ.get("JUKISTORE_BENCH_ACCESS_N", "20000"))
KEYS = int(os.environ.get("JUKISTORE_BENCH_ACCESS_KEYS", "10000"))
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


def best_of(fn: Callable[[], Any], rounds: int = 7) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


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
                t = best_of(lambda: s.get_many(ask))
                res[f"get_many {label}"] = min(res.get(f"get_many {label}", t), t)
                t = best_of(lambda: [s.search(name_kana=k, birth_date=b) for k, b in qs]) / len(qs)
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

@pytest.fixture(scope="module")
def bound(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    store, codes, qs = make_store(N, tmp_path_factory.mktemp("access") / "store")
    ask = np.random.default_rng(5).choice(codes, size=KEYS, replace=KEYS > len(codes))
    return store, ask, qs


def test_get_many_unlogged(benchmark, bound) -> None:  # type: ignore[no-untyped-def]
    store, ask, _ = bound
    assert benchmark(unlogged(store).get_many, ask).found.all()


def test_get_many_logged(benchmark, bound) -> None:  # type: ignore[no-untyped-def]
    store, ask, _ = bound
    before = len(list(store.audit.access.entries()))
    assert benchmark(store.get_many, ask).found.all()
    assert len(list(store.audit.access.entries())) > before


def test_search_unlogged(benchmark, bound) -> None:  # type: ignore[no-untyped-def]
    store, _, qs = bound
    k, b = qs[0]
    assert benchmark(unlogged(store).search, name_kana=k, birth_date=b)


def test_search_logged(benchmark, bound) -> None:  # type: ignore[no-untyped-def]
    store, _, qs = bound
    k, b = qs[0]
    assert benchmark(store.search, name_kana=k, birth_date=b)


def test_logging_costs_at_most_30_percent() -> None:
    """The issue's bound, measured on a small ward so the check runs with the suite."""
    n = min(N, 20_000)
    res = run(n, min(KEYS, 10_000))
    for op in ("get_many", "search"):
        ratio = res[f"{op} logged"] / res[f"{op} unlogged"]
        assert ratio <= 1.3, f"{op}: logged/unlogged = {ratio:.2f}"


if __name__ == "__main__":
    main()
