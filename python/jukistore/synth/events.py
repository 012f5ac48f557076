"""A synthetic year of residency events for a loaded ward: who moves, who leaves, who arrives.

Why: a register is not a snapshot. Demos, tests and benchmarks need the changes a ward lives
through in a year — 転居 within the ward, 世帯変更, 転出 and 死亡 that remove persons, 転入 of
newcomers — in realistic proportions and deterministic from a seed, so that history, the change
feed, reconciliation and retention all have something to work on.

:func:`plan_year` returns the year as :class:`Batch` es of one event kind each (the form
:meth:`jukistore.history.Register.apply_many` takes), drawn from the residents of a ward loaded
in row order (person id = row + 1). :func:`newcomers` picks whole records for 転入 from a second
synthetic ward, keeping only those whose numbers the first ward does not use (a number is never
given to two persons).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from jukistore.history.events import EventCode
from jukistore.records import JuminKihon

E = EventCode

#: Share of current residents each event reaches in a year (Sumida's order of magnitude: about a
#: tenth of a ward moves within it or away each year).
RATES: dict[EventCode, float] = {E.転居: 0.08, E.世帯変更: 0.03, E.転出: 0.04, E.死亡: 0.01}
#: Newcomers (転入) per current resident in a year.
MOVE_IN_RATE = 0.04


@dataclass
class Batch:
    """One kind of event for many persons: ids (distinct, sorted), one 異動年月日 each, and the
    items it sets (master item number → one text per person)."""

    code: EventCode
    persons: npt.NDArray[np.uint64]
    dates: npt.NDArray[np.bytes_]
    changes: dict[int | str, str | Sequence[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.persons)


def _dates(rng: np.random.Generator, start: _dt.date, n: int) -> npt.NDArray[np.bytes_]:
    days = rng.integers(0, 365, n) + start.toordinal()
    return np.array([_dt.date.fromordinal(int(d)).strftime("%Y%m%d") for d in days], dtype="S8")


def plan_year(resident: npt.ArrayLike, start: str | _dt.date = "20250402", seed: int = 0,
              rates: dict[EventCode, float] | None = None) -> list[Batch]:
    """A year of changes to the residents of a ward loaded in row order.

    ``resident`` is a boolean per person (person id = index + 1): who may be reached. Each event
    of ``rates`` (default :data:`RATES`; 転居, 世帯変更, 職権修正 of names, 転出, 死亡) takes its
    share of those still resident, in the order of the mapping; removals (転出, 死亡) take persons
    out of the pool the later batches draw from, so no batch touches a removed person. Dates fall
    in the year from ``start`` (``YYYYMMDD``).
    """
    return plan_years(resident, [start], seed, rates)


def plan_years(resident: npt.ArrayLike, starts: list[str | _dt.date], seed: int = 0,
               rates: dict[EventCode, float] | None = None) -> list[Batch]:
    """Several years of changes (see :func:`plan_year`), one year from each of ``starts`` in
    order, persons removed in one year staying removed in the next."""
    rng = np.random.default_rng(seed)
    alive = np.array(resident, dtype=bool, copy=True)
    out: list[Batch] = []
    for start in starts:
        first = start if isinstance(start, _dt.date) else _dt.datetime.strptime(start, "%Y%m%d").date()
        for code, rate in (rates or RATES).items():
            pool = np.flatnonzero(alive) + 1
            k = int(len(pool) * rate)
            pids = np.sort(rng.choice(pool, k, replace=False)).astype(np.uint64)
            d = _dates(rng, first, k)
            tag = f"{first.year}{int(code):02d}"
            changes: dict[int | str, str | Sequence[str]]
            if code == E.転居:
                changes = {8: [f"東京都墨田区押上{tag}-{i % 999 + 1}番{i % 9 + 1}号" for i in range(k)]}
            elif code == E.世帯変更:
                changes = {1: [f"9{tag}{i:05d}" for i in range(k)], 24: ["01"] * k}
            elif code == E.職権修正:  # a name corrected from a 戸籍 notice
                changes = {20: [f"アラタ{tag}{i % 97}" for i in range(k)], 21: [f"新田　{tag}{i}" for i in range(k)]}
            else:
                changes = {}
            if code in (E.転出, E.死亡):
                alive[pids.astype(np.int64) - 1] = False
            out.append(Batch(code, pids, d, changes))
    return out


def newcomers(used_codes: set[str], used_mynumbers: set[str], count: int, seed: int = 1) -> list[JuminKihon]:
    """``count`` whole records for 転入, from a second ward, none reusing a number in ``used_*``.

    The second ward has its own number sequences, so a clash is rare, but a number once used is
    never given to another person: clashing records are skipped.
    """
    from jukistore import synth
    from jukistore.history.register import item_fields

    if count <= 0:
        return []
    f = item_fields()
    extra = synth.ward(int(count * 1.1) + 10, seed=seed, removed_fraction=0.0)
    out = []
    for r in extra.records():
        if getattr(r, f[30]) in used_codes or getattr(r, f[81]) in used_mynumbers:
            continue
        out.append(r)  # type: ignore[arg-type]
        if len(out) == count:
            break
    return out  # type: ignore[return-value]
