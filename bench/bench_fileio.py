"""Fixed-width files as numpy columns, against per-row readers and the csv module.

Measured in one run, on ``FILEIO_ROWS`` rows (bench/sizes.py; 1,000,000 at the default scale) of
the ``seigo`` layout
(the 8 reconciliation items: the file that arrives at ward, prefecture and national scale) in
UTF-8, 493 bytes a row:

- ``write_fixed_columns``: the vectorised column writer, every value checked, against a Python
  loop padding each encoded value to its width (the same bytes, nothing checked);
- ``read_columns``: all 8 columns as bytes, every line and every ASCII value checked, and 4
  columns decoded to str;
- anchors, on the first ``FILEIO_SUBSAMPLE`` rows (100,000 at the default scale; rates are per row,
  so they compare): jukistore ``iter_records`` (a checked Struct per row), a bare Python loop
  slicing and decoding each line with no checks (the floor of any per-row reader in Python), and
  the ``csv`` module reading the same rows as CSV;
- the 84-item master layout (7.8 KB a row in UTF-8): ``read_columns`` of 4 columns on
  ``FILEIO_MASTER_ROWS`` rows (100,000 at the default scale), against the slicing loop cutting
  the same 4 fields out of each line.

Results are checked equal to what was written. ``python bench/bench_fileio.py`` prints a table;
``python -m bench --suite fileio`` runs the same cases under pytest-benchmark and reports them
(``JUKISTORE_BENCH_FILEIO_ROWS`` and the like override the sizes).
"""

from __future__ import annotations

import csv
import itertools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jukistore import fileio, layouts
from jukistore.ids import juminhyo, mynumber
from sizes import size

ROWS = size("FILEIO_ROWS")
SUBSAMPLE = size("FILEIO_SUBSAMPLE")
MASTER_ROWS = size("FILEIO_MASTER_ROWS")
DECODED = ["juminhyo_code", "mynumber", "name", "birth_date"]
MASTER_COLUMNS = ["juminhyo_code", "mynumber", "name_kanji", "birth_date"]

SURNAMES = ["山田", "佐藤", "鈴木", "髙橋", "渡辺", "葛\U000e0100西", "𠮷田", "齋藤", "小林", "中村"]
GIVEN = ["太郎", "花子", "純平", "学", "翔", "陽菜", "蓮", "結衣", "大輝", "美咲"]
TOWNS = ["吾妻橋", "向島", "押上", "両国", "錦糸", "業平", "本所", "東駒形", "墨田", "立花"]


def columns(n: int, name_field: str = "name", seed: int = 7) -> dict[str, np.ndarray]:
    """Synthetic columns: generated numbers, names with 外字 and IVS, addresses, dates."""
    rng = np.random.default_rng(seed)
    names = np.array([f"{s}\u3000{g}" for s in SURNAMES for g in GIVEN])
    towns = np.array([f"東京都墨田区{t}{d}丁目" for t in TOWNS for d in "一二三四五"])
    born = rng.integers(1930, 2025, n).astype("S4")
    md = np.char.add(rng.integers(1, 13, n).astype("S2"), b"15")
    return {
        "juminhyo_code": juminhyo.to_text(juminhyo.generate(n, seed)),
        "mynumber": mynumber.to_text(mynumber.generate(n, seed)),
        name_field: names[rng.integers(0, len(names), n)],
        "birth_date": np.char.add(born, np.char.zfill(md, 4)),
        "sex": rng.integers(1, 3, n).astype("S1"),
        "address": np.char.add(towns[rng.integers(0, len(towns), n)], rng.integers(1, 40, n).astype("U2")),
        "change_reason": np.full(n, b"01"),
        "change_date": np.full(n, b"20250105"),
    }


def read_bytes(path: Path) -> fileio.Columns:
    return fileio.read_columns(path, "seigo")


def read_decoded(path: Path) -> fileio.Columns:
    return fileio.read_columns(path, "seigo", DECODED, decode=True)


def rows_records(path: Path) -> int:
    return sum(1 for _ in fileio.iter_records(path, "seigo"))


def rows_sliced(path: Path) -> int:
    """The floor of a per-row reader: slice each line at the byte offsets and decode, nothing checked."""
    lay = layouts.load("seigo")
    spans = [(o, o + w) for o, w in zip(lay.byte_offsets(), lay.byte_widths())]
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            [line[a:b].rstrip(b" ").decode() for a, b in spans]
            n += 1
    return n


def rows_csv(path: Path) -> int:
    with open(path, newline="", encoding="utf-8") as fh:
        rd = csv.reader(fh)
        next(rd)
        return sum(1 for _ in rd)


def read_master(path: Path) -> fileio.Columns:
    return fileio.read_columns(path, "jumin_kihon", MASTER_COLUMNS, decode=True)


class Files:
    """The files every case reads, written once and checked against the columns they came from."""

    def __init__(self, directory: Path, rows: int, subsample: int, master_rows: int):
        self.cols = columns(rows)
        self.seigo = directory / "seigo.dat"
        t0 = time.perf_counter()
        fileio.write_fixed_columns(self.seigo, "seigo", self.cols)
        self.write_seconds = time.perf_counter() - t0
        self.sub = directory / "sub.dat"
        self.sub_csv = directory / "sub.csv"
        k = min(subsample, rows)
        fileio.write_fixed_columns(self.sub, "seigo", {f: v[:k] for f, v in self.cols.items()})
        fileio.write_csv(self.sub_csv, "seigo", itertools.islice(fileio.iter_records(self.seigo, "seigo"), k))
        self.master = directory / "master.dat"
        fileio.write_fixed_columns(self.master, "jumin_kihon", columns(master_rows, "name_kanji", seed=8))
        self.rows, self.subsample, self.master_rows = rows, k, master_rows
        self.check()

    def check(self) -> None:
        got = read_decoded(self.seigo)
        for f in DECODED:
            want = self.cols[f]
            assert (got[f] == (want.astype(str) if want.dtype.kind == "S" else want)).all(), f
        assert len(read_bytes(self.seigo)["sex"]) == self.rows
        assert rows_records(self.sub) == rows_sliced(self.sub) == rows_csv(self.sub_csv) == self.subsample
        assert len(read_master(self.master)["name_kanji"]) == self.master_rows


def timed(fn: Callable[[Path], Any], path: Path, rows: int, repeat: int = 3) -> float:
    """Rows a second, best of ``repeat``."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(path)
        best = min(best, time.perf_counter() - t0)
    return rows / best


def run(rows: int = ROWS) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        files = Files(Path(tmp), rows, SUBSAMPLE, MASTER_ROWS)
        write = rows / files.write_seconds
        return {
            "write_fixed_columns (8 columns, checked)": write,
            "read_columns: 8 bytes columns, checked": timed(read_bytes, files.seigo, rows),
            "read_columns: 4 columns decoded to str": timed(read_decoded, files.seigo, rows),
            "iter_records: checked Struct per row": timed(rows_records, files.sub, files.subsample, 1),
            "Python loop slicing lines, unchecked": timed(rows_sliced, files.sub, files.subsample, 1),
            "csv module, list per row (anchor)": timed(rows_csv, files.sub_csv, files.subsample, 1),
            "master file: read_columns, 4 of 84 decoded": timed(read_master, files.master, files.master_rows),
        }


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else ROWS
    res = run(rows)
    anchor = res["csv module, list per row (anchor)"]
    print(f"seigo fixed-width UTF-8, {rows:,} rows of {layouts.load('seigo').row_bytes() + 1:,} bytes "
          f"(anchors on {min(SUBSAMPLE, rows):,}); master {MASTER_ROWS:,} rows of "
          f"{layouts.load('jumin_kihon').row_bytes() + 1:,} bytes; {os.cpu_count()} CPUs\n")
    print("| case | rows/s | x csv module |\n|---|---:|---:|")
    for k, v in res.items():
        print(f"| {k} | {v:,.0f} | {v / anchor:.1f} |")


# ---- pytest-benchmark suite ---------------------------------------------------------------------


def write_loop(path: Path, cols: dict[str, np.ndarray]) -> None:
    """The anchor writer: each value encoded and padded with spaces to its byte width, row by row."""
    lay = layouts.load("seigo")
    widths = lay.byte_widths()
    values = [[v if isinstance(v, bytes) else v.encode() for v in cols[it.field].tolist()] for it in lay.items]
    with open(path, "wb") as fh:
        for row in zip(*values):
            fh.write(b"".join(v.ljust(w, b" ") for v, w in zip(row, widths)) + b"\n")


def sliced_columns(path: Path, layout: str, fields: list[str]) -> dict[str, list[str]]:
    """The floor of a per-row reader: ``fields`` sliced out of each line and decoded, nothing checked."""
    lay = layouts.load(layout)
    spans = {it.field: (o, o + w) for it, o, w in zip(lay.items, lay.byte_offsets(), lay.byte_widths())}
    cut = [spans[f] for f in fields]
    out: list[list[str]] = [[] for _ in fields]
    with open(path, "rb") as fh:
        for line in fh:
            for col, (a, b) in zip(out, cut):
                col.append(line[a:b].rstrip(b" ").decode())
    return dict(zip(fields, out))


def csv_columns(path: Path, fields: list[str]) -> dict[str, list[str]]:
    """The csv module reading the same rows as CSV, a list per row, ``fields`` kept."""
    with open(path, newline="", encoding="utf-8") as fh:
        rd = csv.reader(fh)
        header = next(rd)
        at = [header.index(f) for f in fields]
        out: list[list[str]] = [[] for _ in fields]
        for row in rd:
            for col, k in zip(out, at):
                col.append(row[k])
    return dict(zip(fields, out))


def as_text(values: Any) -> list[str]:
    """A column as a list of str, whatever array form it came in."""
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(values).tolist()]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Files]:
    """The files every case reads, removed at the end of the module."""
    directory = tmp_path_factory.mktemp("fileio")
    yield Files(directory, ROWS, SUBSAMPLE, MASTER_ROWS)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize("impl", ["jukistore", "Python loop, padded lines"])
def test_write(measure: Any, impl: str, files: Files, tmp_path: Path) -> None:
    """All rows of the seigo file written from columns; both writers must produce the same bytes."""
    out = tmp_path / "w.dat"
    fn = (lambda: fileio.write_fixed_columns(out, "seigo", files.cols)) if impl == "jukistore" else (lambda: write_loop(out, files.cols))
    measure(fn, group="fileio: write the seigo file from columns", impl=impl, items=files.rows, unit="rows", rounds=3)
    assert out.read_bytes() == files.seigo.read_bytes()
    out.unlink()


READERS = ["jukistore", "jukistore, 4 columns decoded to str", "jukistore, iter_records (a Struct per row)",
           "Python loop slicing lines, unchecked", "csv module, list per row"]


@pytest.mark.parametrize("impl", READERS)
def test_read(measure: Any, impl: str, files: Files) -> None:
    """The seigo file read: jukistore ``read_columns`` (all 8 columns as checked bytes, or 4 decoded to
    str) on all rows; ``iter_records`` and the anchors on the subsample (rates are per row)."""
    group = "fileio: read the seigo file"
    if impl == "jukistore":
        got = measure(read_bytes, files.seigo, group=group, impl=impl, items=files.rows, unit="rows", rounds=5)
        assert all(len(got[f]) == files.rows for f in files.cols)
        assert as_text(got["juminhyo_code"]) == as_text(files.cols["juminhyo_code"])
        return
    if impl.startswith("jukistore, 4"):
        got = measure(read_decoded, files.seigo, group=group, impl=impl, items=files.rows, unit="rows", rounds=5)
        for f in DECODED:
            assert as_text(got[f]) == as_text(files.cols[f]), f
        return
    k = files.subsample
    if impl.startswith("jukistore, iter"):
        got = measure(lambda: list(fileio.iter_records(files.sub, "seigo")), group=group, impl=impl, items=k,
                      unit="rows", rounds=3)
        assert [r.name for r in got] == as_text(files.cols["name"][:k])
        return
    if impl.startswith("Python"):
        got = measure(sliced_columns, files.sub, "seigo", DECODED, group=group, impl=impl, items=k, unit="rows", rounds=3)
    else:
        got = measure(csv_columns, files.sub_csv, DECODED, group=group, impl=impl, items=k, unit="rows", rounds=3)
    for f in DECODED:
        assert got[f] == as_text(files.cols[f][:k]), f


@pytest.mark.parametrize("impl", ["jukistore", "Python loop slicing lines, unchecked"])
def test_read_master(measure: Any, impl: str, files: Files) -> None:
    """4 of the 84 columns of the master file (7.8 KB a row), decoded to str."""
    group = "fileio: read 4 of 84 columns of the master file"
    if impl == "jukistore":
        got = measure(read_master, files.master, group=group, impl=impl, items=files.master_rows, unit="rows", rounds=3)
    else:
        got = measure(sliced_columns, files.master, "jumin_kihon", MASTER_COLUMNS, group=group, impl=impl,
                      items=files.master_rows, unit="rows", rounds=2)
    want = columns(files.master_rows, "name_kanji", seed=8)
    for f in MASTER_COLUMNS:
        assert as_text(got[f]) == as_text(want[f]), f


if __name__ == "__main__":
    main()
