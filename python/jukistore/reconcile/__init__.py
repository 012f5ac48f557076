"""Reconciliation (整合性確認): compare two sides of 8-field rows keyed by 住民票コード.

Once a year the 8 reconciliation items of every person (removed persons included) are compared
between the municipality and the prefecture and national servers; the municipality's master and
identity files are reconciled with each other too (SPEC §1, §8). A side is a store, a fixed-width
or CSV file in a layout, or columns in memory; sizes run from a ward (0.3–2 M rows) to a
prefecture (14 M) and the national server (125 M)::

    from jukistore.reconcile import reconcile
    result = reconcile("ward.dat", "prefecture.dat")          # layout "seigo"
    print(result.table())
    result.summary["counts"]["different"]
    polars.DataFrame(result.detail)
    result.write("out/")                                      # summary.json, detail.csv, detail.parquet

What it reports (counts in ``summary["counts"]``, one detail row per finding): pairs and which of
their fields differ; keys on one side only; keys duplicated within a side; keys failing the
check digit (not joined); keys that are a superseded 住民票コード of a person on the other side (a
stale copy, not a missing person); one 個人番号 under two persons, within or across sides; and
malformed rows of a file, by line number, which never stop the run.

How it stays fast: the work is native and parallel (see ``rust/core/src/reconcile``), with no
Python object per row. Fixed-width files are memory-mapped and read once in order; pairs are
compared by a per-row fingerprint first and byte for byte where fingerprints differ, reading those
few rows by position. Resident memory stays near 60 bytes a row of each side whatever the row
width (1.2 GiB for two files of 10 M rows, 4.9 GB each). ``exact=True`` compares every pair byte
for byte instead, through the map: exact by construction, but both files then become resident.
"""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from typing import Any

from jukistore import _core
from jukistore.layouts import Layout, codec
from jukistore.reconcile.report import CLASS_NAMES, ITEM_NAMES, Result
from jukistore.reconcile.sides import Plan, Side, SideLike, kind_of, open_side, plan

__all__ = ["CLASS_NAMES", "ITEM_NAMES", "Plan", "Result", "Side", "open_side", "plan", "reconcile"]

Progress = Callable[[str], None]


def reconcile(left: SideLike, right: SideLike, layout: str | Layout = "seigo", *, strict: bool = True,
              exact: bool | None = None, encoding: str = "utf-8", left_encoding: str | None = None,
              right_encoding: str | None = None, samples: int = 5, progress: Progress | None = None) -> Result:
    """Reconcile ``left`` with ``right`` in ``layout``; see the module docstring.

    A side is a :class:`jukistore.store.Store` or a store directory, a file path (fixed-width, or
    CSV by its ``.csv`` suffix) in ``encoding`` (or ``left_encoding`` / ``right_encoding``),
    a mapping of columns by field name, or a :class:`Side`.

    ``strict=False`` joins 住民票コード that fail the assumed check digit (SPEC §2) and lists them as
    warnings instead of invalid. ``exact``: None (default) compares by fingerprint when a side is
    a fixed-width file and byte for byte otherwise; True or False forces one (see the module
    docstring for what each costs). Two different rows get one fingerprint with a probability of
    about 2^-128 (XXH3-128 with a fresh random seed per run), unless crafted against the hash. ``samples`` findings
    of each kind go into the summary. ``progress`` is called with a short message as each step
    starts.
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    def step(name: str, message: str) -> None:
        if progress is not None:
            progress(message)
        timings[name] = time.perf_counter()

    def done(name: str) -> None:
        timings[name] = time.perf_counter() - timings[name]

    p = plan(layout)
    lenc, renc = codec(left_encoding or encoding), codec(right_encoding or encoding)
    kinds = (kind_of(left), kind_of(right))
    fingerprint = (exact is False) or (exact is None and "fixed" in kinds)
    seed = secrets.randbits(64)
    # Raw fingerprints (field bytes as they lie) need both sides to be files of one geometry.
    raw = fingerprint and kinds == ("fixed", "fixed") and lenc == renc
    fp = (seed, raw) if fingerprint else None
    # Both sides are read at once: each read is parallel inside, but part of it waits on the
    # kernel mapping pages, which the other side's read fills (10 M-row files: 1.51 s → 1.37 s).
    step("read", f"reading left ({kinds[0]}) and right ({kinds[1]})")
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="jukistore-read") as pool:
        lf = pool.submit(open_side, left, p, encoding=lenc, fingerprint=fp)
        rf = pool.submit(open_side, right, p, encoding=renc, fingerprint=fp)
        ls, rs = lf.result(), rf.result()
    done("read")
    if ls.encoding != rs.encoding:
        step("transcode", "re-encoding text as UTF-8")
        # One side is cp932 (the only other encoding): JIS characters it holds under another code
        # point than UTF-8 data does are compared in its form.
        ls, rs = ls.to_utf8(cp932_forms=True), rs.to_utf8(cp932_forms=True)
        done("transcode")
    step("compare", f"comparing {ls.rows:,} with {rs.rows:,} rows")
    # Every side parses its 個人番号 from the very text compared in that field, which lets the
    # kernel tell pairs holding one number from the comparison itself.
    mn_field = p.compared.index(p.mynumber) if p.mynumber is not None else None
    raw_result: dict[str, Any] = _core.reconcile(ls.spec(), rs.spec(), strict=strict, fingerprint=fingerprint,
                                                 seed=seed, mynumber_field=mn_field)
    done("compare")
    for k, v in raw_result["timings"].items():
        timings[f"compare.{k}"] = v
    step("report", "summarising")
    result = Result(_origin(ls), _origin(rs), p, raw_result, mode="fingerprint" if fingerprint else "exact",
                    strict=strict, samples=samples, timings={})
    done("report")
    timings["total"] = time.perf_counter() - t0
    result.summary["timings"] = {k: round(v, 6) for k, v in timings.items()}
    return result


def _origin(side: Side) -> Side:
    """The side as read (values of a re-encoded side are shown in its own encoding)."""
    return getattr(side, "_orig", side)
