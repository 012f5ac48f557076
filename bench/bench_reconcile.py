"""Reconciliation (整合性確認) throughput: jukistore against a polars join and datacompy.

DESIGN.md asks that every performance claim be a ratio against a named anchor measured in the same
run. The task: two fixed-width files of the ``seigo`` layout (the 8 reconciliation items; UTF-8 by
default, 493 bytes a row), 10 million rows a side, already in the page cache, the right one a
shuffled copy of the left with differences planted at realistic rates (1% of persons with a
changed item, 0.05% only on one side or the other, duplicated and invalid keys). Every
implementation must report what the generator planted (pairs, differing pairs, only-left,
only-right, differences per field) before its time counts: a benchmark that computes something
else measures nothing.

- jukistore: ``jukistore.reconcile.reconcile(left, right)`` end to end, from file paths to the
  result (summary and detail columns).
- polars (the anchor a data engineer would write): both files read by polars' CSV reader as one
  line per row in a streaming pass, fields cut out by byte offset, padding stripped, the
  住民票コード and 個人番号 checked (check digits as column arithmetic), duplicate keys set aside, an
  inner join on the key with every field compared, anti-joins for the one-sided keys, one 個人番号
  under two keys by a group-by; end to end.
- datacompy (the anchor for "compare two tables" in pandas): ``datacompy.PandasCompare`` end to
  end, files read into pandas through polars (pandas' fixed-width reader counts characters, not
  bytes), on files of at most 200,000 rows: it keeps Python strings per value and cannot take
  10 M rows here; its rate is per row of those files.

Rates are rows of one side per second (a run reads twice as many). Each implementation runs in a
fresh child process, so its peak resident memory (``ru_maxrss``) is its own; times are the best of
a few runs. Targets: at least 5 M rows a second a side end to end, 5x polars, 50x datacompy, at
most 2 GiB resident memory at 10 M rows a side.

Run it either way:

    python bench/bench_reconcile.py            # generate (once), run everything, print the table
    python -m bench --suite reconcile         # pytest-benchmark, in this process, with the report

Rows come from the size ``RECONCILE_ROWS`` of bench/sizes.py (10,000,000 at the full scale,
5,000,000 at the default one; ``JUKISTORE_BENCH_RECONCILE_ROWS`` overrides it), the
encoding from JUKISTORE_BENCH_ENCODING (utf-8, or cp932: 269 bytes a row, measured for jukistore
alone since polars reads UTF-8 only); files are kept in JUKISTORE_BENCH_DIR
(default: a folder in the temporary directory) and reused while the generator stays the same.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from jukistore import ids, layouts
from jukistore.reconcile import planted
from sizes import size

N = size("RECONCILE_ROWS")
DATA_DIR = Path(os.environ.get("JUKISTORE_BENCH_DIR", Path(tempfile.gettempdir()) / "jukistore-bench-reconcile"))
SEED = 20_250_401
ENCODING = os.environ.get("JUKISTORE_BENCH_ENCODING", "utf-8")
LAYOUT = "seigo"
#: Distinct value rows the synthetic side cycles through (numbers are distinct for every row).
BASE_ROWS = 500_000
#: Planted differences, as fractions of the rows (and small fixed numbers for the rare kinds).
RATE_DIFFERENT, RATE_ONLY_LEFT, RATE_ONLY_RIGHT = 0.01, 0.0005, 0.0005
DUPLICATES_RIGHT, INVALID_RIGHT = 100, 100
#: datacompy's sample (it builds pandas frames of Python strings).
DATACOMPY_ROWS = 200_000
GENERATOR_VERSION = 1


# ---- data -------------------------------------------------------------------------------------

def _write_block(fh: Any, lay: layouts.Layout, cols: dict[str, npt.NDArray[np.bytes_]]) -> None:
    """Rows of ``cols`` (already valid and encoded) as fixed-width rows, one numpy fill per field."""
    n = len(next(iter(cols.values())))
    stride = lay.row_bytes(ENCODING) + 1
    block = np.full((n, stride), 0x20, dtype=np.uint8)
    block[:, -1] = 0x0A
    for it, off, w in zip(lay.items, lay.byte_offsets(ENCODING), lay.byte_widths(ENCODING)):
        col = np.ascontiguousarray(cols[it.field])
        raw = col.view(np.uint8).reshape(n, col.dtype.itemsize)
        k = min(col.dtype.itemsize, w)
        block[:, off:off + k] = np.where(raw[:, :k] == 0, 0x20, raw[:, :k])
    block.tofile(fh)


def _changed(col: npt.NDArray[np.bytes_], field: str, fresh_mynumbers: npt.NDArray[np.bytes_]) -> npt.NDArray[np.bytes_]:
    """Another valid value for every entry of ``col`` (vectorised): dates a year later, the other
    sex, a code nobody has, a character appended to names and addresses, a fresh 個人番号."""
    if field in ("birth_date", "change_date"):
        raw = col.astype("S8").view(np.uint8).reshape(-1, 8).copy()
        raw[:, 3] = (raw[:, 3] - 48 + 1) % 10 + 48
        return raw.view("S8").reshape(-1)
    if field == "sex":
        return np.where(col == b"1", b"2", b"1").astype("S1")
    if field == "change_reason":
        return np.full(len(col), b"Z9")
    if field == "mynumber":
        return fresh_mynumbers
    return np.char.add(col, "甲".encode(ENCODING))


def generate(n: int = N, directory: Path = DATA_DIR) -> tuple[Path, Path, dict[str, Any]]:
    """The two files and the counts every implementation must report (reused when present)."""
    directory.mkdir(parents=True, exist_ok=True)
    tag = f"{n}-{ENCODING}-v{GENERATOR_VERSION}"
    left, right, meta = directory / f"left-{tag}.dat", directory / f"right-{tag}.dat", directory / f"expected-{tag}.json"
    if left.exists() and right.exists() and meta.exists():
        return left, right, json.loads(meta.read_text())
    lay = layouts.load(LAYOUT)
    rng = np.random.default_rng(SEED)
    base = planted.synthetic(min(n, BASE_ROWS), SEED, gaiji=ENCODING == "utf-8")
    if ENCODING != "utf-8":
        for it in lay.items:
            if it.is_text:
                base[it.field] = np.char.encode(np.char.decode(base[it.field], "utf-8"), ENCODING)
    fields = [f for f in lay.fields if f != "juminhyo_code"]
    n_diff, n_ol, n_or = int(n * RATE_DIFFERENT), int(n * RATE_ONLY_LEFT), int(n * RATE_ONLY_RIGHT)
    n_dup, n_inv = min(DUPLICATES_RIGHT, n // 100), min(INVALID_RIGHT, n // 100)
    codes = ids.juminhyo.generate(n + n_or, SEED)
    mns = ids.mynumber.generate(n + n_or + n_diff, SEED)
    fresh_mns = ids.mynumber.to_text(mns[n + n_or:])
    # Which left rows are planted with what: disjoint sets.
    order = rng.permutation(n)
    diff, drop, dup, inv = np.split(order[: n_diff + n_ol + n_dup + n_inv], np.cumsum([n_diff, n_ol, n_dup]))
    diff_field = np.full(n, -1, dtype=np.int8)
    diff_field[diff] = np.arange(n_diff) % len(fields)
    diff_pos = np.full(n, -1, dtype=np.int64)
    diff_pos[diff] = np.arange(n_diff)
    # The right side: kept left rows, duplicated rows, new persons (sources >= n), shuffled.
    keep = np.ones(n, dtype=bool)
    keep[drop] = False
    sources = np.concatenate([np.flatnonzero(keep), dup, np.arange(n, n + n_or)])
    sources = sources[rng.permutation(len(sources))]
    invalid = np.zeros(n, dtype=bool)
    invalid[inv] = True

    def rows_of(src: npt.NDArray[np.int64], right_side: bool) -> dict[str, npt.NDArray[np.bytes_]]:
        cols = {f: v[src % len(base["name"])] for f, v in base.items()}
        cols["juminhyo_code"] = ids.juminhyo.to_text(codes[src])
        cols["mynumber"] = ids.mynumber.to_text(mns[src])
        if right_side:
            old = src < n
            bad = np.flatnonzero(old & invalid[np.minimum(src, n - 1)])
            raw = cols["juminhyo_code"].view(np.uint8).reshape(-1, 11).copy()
            raw[bad, 10] = (raw[bad, 10] - 48 + 1) % 10 + 48
            cols["juminhyo_code"] = raw.view("S11").reshape(-1)
            which = np.where(old, diff_field[np.minimum(src, n - 1)], -1)
            for k, f in enumerate(fields):
                at = np.flatnonzero(which == k)
                if len(at):
                    new = _changed(cols[f][at], f, fresh_mns[diff_pos[src[at]]])
                    col = cols[f].astype(f"S{max(cols[f].dtype.itemsize, new.dtype.itemsize)}")
                    col[at] = new
                    cols[f] = col
        return cols

    block = 1_000_000
    for path, src_all, is_right in ((left, np.arange(n), False), (right, sources, True)):
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            for s in range(0, len(src_all), block):
                _write_block(fh, lay, rows_of(src_all[s:s + block], is_right))
        os.replace(tmp, path)
    per_field = {f: int((diff_field[diff] == k).sum()) for k, f in enumerate(fields)}
    expected = {
        "rows": n,
        "pairs": int(n - n_ol - n_dup - n_inv),
        "different": int(n_diff),
        # Invalid keys are not joined: their left rows are only on the left.
        "only_left": n_ol + n_inv,
        "only_right": n_or,
        "fields": per_field,
    }
    meta.write_text(json.dumps(expected))
    return left, right, expected


def warm(*paths: Path) -> None:
    """Put the files in the page cache, in the same state before every run: dropped from it, then
    read back from disk.

    Why drop them first: how the page cache holds a file depends on how it got there. Read back
    from disk, it is held in large folios (up to 2 MB), which a memory map covers with 2 MB
    mappings; just written by the generator, it may be held in 4 KB pages, which cost a mapping
    each. At 10 M rows a side jukistore's reconciliation took 1.76 s in the first state and 2.13 s
    in the second, so without this step a run's result would depend on the files' history. Every
    implementation runs on the files in the same state."""
    for p in paths:
        with open(p, "rb") as fh:
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            while fh.read(1 << 24):
                pass


# ---- implementations ----------------------------------------------------------------------------
# Each takes the two paths and returns the counts every implementation must agree on.

def run_jukistore(left: Path, right: Path) -> dict[str, Any]:
    """jukistore end to end: both files read, joined, compared; summary and detail columns built."""
    from jukistore.reconcile import reconcile

    result = reconcile(left, right, LAYOUT, encoding=ENCODING)
    detail = result.detail  # part of the work: the findings as columns
    c = result.summary["counts"]
    return {"pairs": c["pairs"], "different": c["different"], "only_left": c["only_left"],
            "only_right": c["only_right"], "duplicate_keys": c["duplicate_keys"],
            "invalid": c["invalid_left"] + c["invalid_right"], "mynumber_conflicts": c["mynumber_conflicts"],
            "fields": dict(result.summary["fields"]), "findings": len(detail["class"])}


def _check_digit_ok(digits: Any, length: int) -> Any:
    """polars: whether an integer column of ``length``-digit numbers has a valid check digit
    (SPEC §2: weights n+1 for the n-th base digit from the right up to 6, n-5 beyond; 0 when the
    remainder is at most 1), written as column arithmetic."""
    import polars as pl

    base, check = digits // 10, digits % 10
    s = pl.lit(0, dtype=pl.Int64)
    for n in range(1, length):
        w = n + 1 if n <= 6 else n - 5
        s = s + ((base // 10 ** (n - 1)) % 10).cast(pl.Int64) * w
    r = s % 11
    return pl.when(r <= 1).then(0).otherwise(11 - r) == check


def _polars_side(path: Path) -> Any:
    """polars: a fixed-width file as a lazy frame: each line read as one value, fields cut out by
    byte offset (Binary slices), padding stripped into compact strings (so the lines themselves
    need not stay in memory), the key and 個人番号 parsed and their check digits checked."""
    import polars as pl

    lay = layouts.load(LAYOUT)
    line = pl.col("line").cast(pl.Binary)
    cols = [line.bin.slice(off, w).cast(pl.String).str.strip_chars_end(" ").alias(it.field)
            for it, off, w in zip(lay.items, lay.byte_offsets(ENCODING), lay.byte_widths(ENCODING))]
    lf = pl.scan_csv(path, has_header=False, separator="\x1f", quote_char=None, schema={"line": pl.String})
    key, mn = pl.col("juminhyo_code"), pl.col("mynumber")
    return (
        lf.select(cols)
        .with_columns(key=key.str.to_integer(strict=False).cast(pl.UInt64),
                      key_ok=(key.str.len_bytes() == 11) & key.str.contains(r"^[0-9]+$"),
                      mn_ok=(mn.str.len_bytes() == 12) & mn.str.contains(r"^[0-9]+$"))
        .with_columns(key_ok=pl.col("key_ok") & _check_digit_ok(pl.col("key"), 11))
    )


def run_polars(left: Path, right: Path) -> dict[str, Any]:
    """polars, written as a data engineer would: lazy scans, a join on the key, every field compared
    as bytes (both files share the layout, so padded bytes are equal exactly when values are), the
    same checks (check digits, duplicate keys, one 個人番号 under two keys) as column expressions,
    everything collected together so polars can share the scans."""
    import polars as pl

    fields = [f for f in layouts.load(LAYOUT).fields if f != "juminhyo_code"]
    # Each file is read once, in a streaming pass; every query below starts from the frames in memory.
    L, R = (f.lazy() for f in pl.collect_all([_polars_side(left), _polars_side(right)], engine="streaming"))
    lv, rv = L.filter(pl.col("key_ok")), R.filter(pl.col("key_ok"))
    dup_l = lv.group_by("key").len().filter(pl.col("len") > 1).select("key")
    dup_r = rv.group_by("key").len().filter(pl.col("len") > 1).select("key")
    dups = pl.concat([dup_l, dup_r]).unique()
    lu, ru = lv.join(dups, on="key", how="anti"), rv.join(dups, on="key", how="anti")
    pairs = lu.join(ru, on="key", how="inner", suffix="_r")
    neq = [(pl.col(f) != pl.col(f"{f}_r")).alias(f) for f in fields]
    compared = pairs.select(["key", *neq]).with_columns(differs=pl.any_horizontal(fields))
    per_field = compared.select([pl.col(f).sum() for f in fields] + [pl.len().alias("pairs"),
                                                                    pl.col("differs").sum().alias("different")])
    diff_rows = pairs.join(compared.filter("differs").select("key"), on="key", how="semi")
    only_l = lu.join(rv, on="key", how="anti").select(pl.len())
    only_r = ru.join(lv, on="key", how="anti").select(pl.len())
    holders = pl.concat([lv.filter("mn_ok").select("key", "mynumber"), rv.filter("mn_ok").select("key", "mynumber")])
    conflicts = holders.group_by("mynumber").agg(pl.col("key").n_unique().alias("n")).filter(pl.col("n") > 1).select(pl.len())
    invalid = pl.concat([L.filter(~pl.col("key_ok")).select(pl.len()), R.filter(~pl.col("key_ok")).select(pl.len())]).sum()
    pf, dr, ol, orr, cf, inv, dk = pl.collect_all([per_field, diff_rows, only_l, only_r, conflicts, invalid,
                                                   dups.select(pl.len())])
    return {"pairs": int(pf["pairs"][0]), "different": int(pf["different"][0]), "only_left": int(ol.item()),
            "only_right": int(orr.item()), "duplicate_keys": int(dk.item()), "invalid": int(inv.item()),
            "mynumber_conflicts": int(cf.item()), "fields": {f: int(pf[f][0]) for f in fields},
            "findings": dr.height}


def datacompy_frames(left: Path, right: Path) -> tuple[Any, Any]:
    """Both files as pandas frames of str (padding stripped), read with polars as above: datacompy
    takes pandas frames, and pandas' own fixed-width reader counts characters, not bytes."""
    fields = list(layouts.load(LAYOUT).fields)
    return tuple(_polars_side(p).select(fields).collect().to_pandas() for p in (left, right))  # type: ignore[return-value]


def run_datacompy(left: Path, right: Path) -> dict[str, Any]:
    """datacompy end to end: both files read into pandas, compared joined on the 住民票コード."""
    import datacompy

    ldf, rdf = datacompy_frames(left, right)
    cmp = datacompy.PandasCompare(ldf, rdf, join_columns="juminhyo_code")
    stats = {c["column"]: int(c["unequal_cnt"]) for c in cmp.column_stats}
    mismatches = cmp.all_mismatch()
    return {"pairs": int(len(cmp.intersect_rows)), "different": int(len(mismatches)),
            "only_left": int(len(cmp.df1_unq_rows)), "only_right": int(len(cmp.df2_unq_rows)),
            "fields": {f: n for f, n in stats.items() if f != "juminhyo_code"}}


# ---- measuring -----------------------------------------------------------------------------------

def _peak_rss_mb() -> float:
    """Peak resident set of this process so far (ru_maxrss is in kilobytes on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(which: str, n: int, repeat: int) -> dict[str, Any]:
    """One implementation in this (fresh) process: best time of ``repeat`` runs, peak memory.
    datacompy runs on files of its own, of at most DATACOMPY_ROWS rows: it is per-row Python."""
    if which == "datacompy":
        n = min(n, DATACOMPY_ROWS)
    left, right, _ = generate(n)
    fn = {"jukistore": run_jukistore, "polars": run_polars, "datacompy": run_datacompy}[which]
    times = []
    counts: dict[str, Any] = {}
    for _ in range(repeat):
        warm(left, right)
        t = time.perf_counter()
        counts = fn(left, right)
        times.append(time.perf_counter() - t)
    return {"seconds": min(times), "all_seconds": times, "rows": n, "rss_mb": _peak_rss_mb(), "counts": counts}


def measure(which: str, n: int, repeat: int) -> dict[str, Any]:
    """Runs :func:`child` in a fresh interpreter, so the peak memory is that run's alone."""
    cmd = [sys.executable, __file__, "--child", which, "--rows", str(n), "--repeat", str(repeat)]
    env = dict(os.environ, JUKISTORE_BENCH_DIR=str(DATA_DIR))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        return {"error": (out.stderr or out.stdout).strip().splitlines()[-1] if (out.stderr or out.stdout) else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_counts(name: str, got: dict[str, Any], expected: dict[str, Any]) -> None:
    """Every implementation must find what the generator planted. datacompy does not check
    digits or duplicate keys, so its pairs and only-counts differ by the planted invalid and
    duplicate keys; its differing fields must still match."""
    keys = ("pairs", "different", "only_left", "only_right", "fields") if name != "datacompy" else ("fields",)
    for k in keys:
        want = expected[k]
        if got.get(k) != want:
            raise AssertionError(f"{name} found {k}={got.get(k)}, the generator planted {want}")


def load_average() -> float:
    return os.getloadavg()[0]


def table(n: int, rows: dict[str, dict[str, Any]], load: tuple[float, float]) -> str:
    """The results as a table: rate per side, ratios to jukistore, peak memory."""
    j = rows["jukistore"]
    rate_j = j["rows"] / j["seconds"]
    lines = [
        f"reconciliation of two {ENCODING} fixed-width files, {n:,} rows a side "
        f"({layouts.load(LAYOUT).row_bytes(ENCODING) + 1} bytes a row), in the page cache; "
        f"{os.cpu_count()} cores, load average {load[0]:.1f} before / {load[1]:.1f} after",
        "",
        f"{'implementation':<34}{'rows':>12}{'seconds':>10}{'rows/s a side':>16}{'jukistore is':>15}{'peak RSS':>12}",
    ]
    for name, r in rows.items():
        if "error" in r:
            lines.append(f"{name:<34}failed: {r['error']}")
            continue
        rate = r["rows"] / r["seconds"]
        ratio = "" if name == "jukistore" else f"{rate_j / rate:,.1f}x faster"
        label = {"jukistore": "jukistore.reconcile", "polars": "polars join diff",
                 "datacompy": "datacompy (smaller files)"}[name]
        lines.append(f"{label:<34}{r['rows']:>12,}{r['seconds']:>10.2f}{rate:>16,.0f}{ratio:>15}"
                     f"{r['rss_mb'] / 1024:>10.2f} GiB")
    lines.append("")
    lines.append(f"targets: >= 5,000,000 rows/s a side (jukistore: {rate_j:,.0f}); >= 5x polars; >= 50x datacompy; "
                 f"<= 2 GiB peak RSS (jukistore: {j['rss_mb'] / 1024:.2f} GiB)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--rows", type=int, default=N)
    ap.add_argument("--repeat", type=int, default=3, help="runs of jukistore (the best counts); polars runs twice")
    ap.add_argument("--child", choices=["jukistore", "polars", "datacompy"], help=argparse.SUPPRESS)
    ap.add_argument("--skip", action="append", default=[], choices=["polars", "datacompy"])
    args = ap.parse_args(argv)
    if ENCODING != "utf-8":
        # polars reads UTF-8 only: a cp932 file would need converting first, so the anchors run on
        # UTF-8 files and a cp932 run measures jukistore alone.
        args.skip = ["polars", "datacompy"]
    if args.child:
        print(json.dumps(child(args.child, args.rows, args.repeat)))
        return 0
    t = time.perf_counter()
    left, right, expected = generate(args.rows)
    print(f"data: {left.name}, {right.name} ({time.perf_counter() - t:.1f} s to generate or find)", file=sys.stderr)
    load0 = load_average()
    rows: dict[str, dict[str, Any]] = {}
    small = generate(min(args.rows, DATACOMPY_ROWS))[2]
    for name, repeat in (("jukistore", args.repeat), ("polars", min(args.repeat, 2)), ("datacompy", 1)):
        if name in args.skip:
            continue
        print(f"running {name} ...", file=sys.stderr)
        rows[name] = measure(name, args.rows, repeat)
        if "error" not in rows[name]:
            check_counts(name, rows[name]["counts"], expected if name != "datacompy" else small)
    for name in ("polars",):
        if name in rows and "error" not in rows[name]:
            for k in ("duplicate_keys", "invalid", "mynumber_conflicts"):
                if rows[name]["counts"][k] != rows["jukistore"]["counts"][k]:
                    raise AssertionError(f"{name} found {k}={rows[name]['counts'][k]}, jukistore "
                                         f"{rows['jukistore']['counts'][k]}")
    print(table(args.rows, rows, (load0, load_average())))
    return 0


# ---- pytest-benchmark ----------------------------------------------------------------------------
# In this process (the script above runs each implementation in its own, for its peak memory).

GROUP = "reconcile: two fixed-width files, end to end"


@pytest.fixture(scope="module")
def data() -> tuple[Path, Path, dict[str, Any]]:
    """The two files (generated once, then reused) in the page cache, and what was planted."""
    left, right, expected = generate(N)
    warm(left, right)
    return left, right, expected


@pytest.fixture(scope="module")
def jukistore_counts(data: tuple[Path, Path, dict[str, Any]]) -> dict[str, Any]:
    """jukistore's findings, for the checks the generator's counts do not cover."""
    return run_jukistore(data[0], data[1])


def test_jukistore(measure: Any, data: tuple[Path, Path, dict[str, Any]]) -> None:
    """``reconcile(left, right)`` from paths to summary and detail columns; rate in rows a side."""
    left, right, expected = data
    got = measure(run_jukistore, left, right, group=GROUP, impl="jukistore", items=expected["rows"], unit="rows a side",
                  rounds=3)
    check_counts("jukistore", got, expected)
    assert got["duplicate_keys"] > 0 and got["invalid"] > 0


def test_polars(measure: Any, data: tuple[Path, Path, dict[str, Any]], jukistore_counts: dict[str, Any]) -> None:
    """The polars join diff, with the same checks as column expressions."""
    pytest.importorskip("polars")
    if ENCODING != "utf-8":
        pytest.skip("polars reads UTF-8 only")
    left, right, expected = data
    got = measure(run_polars, left, right, group=GROUP, impl="polars", items=expected["rows"], unit="rows a side",
                  rounds=2)
    check_counts("polars", got, expected)
    for k in ("duplicate_keys", "invalid", "mynumber_conflicts"):
        assert got[k] == jukistore_counts[k], f"polars found {k}={got[k]}, jukistore {jukistore_counts[k]}"


def test_datacompy(measure: Any) -> None:
    """datacompy on files of at most DATACOMPY_ROWS rows (rates are per row a side)."""
    pytest.importorskip("datacompy")
    if ENCODING != "utf-8":
        pytest.skip("read through polars, which reads UTF-8 only")
    left, right, expected = generate(min(N, DATACOMPY_ROWS))
    warm(left, right)
    got = measure(run_datacompy, left, right, group=GROUP, impl="datacompy", items=expected["rows"],
                  unit="rows a side", rounds=1)
    check_counts("datacompy", got, expected)


if __name__ == "__main__":
    sys.exit(main())
