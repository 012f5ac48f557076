"""Fixed-width files as numpy columns, against per-row readers and the csv module.

Measured in one run, on ``JUKISTORE_BENCH_ROWS`` rows (default 1,000,000) of the ``seigo`` layout
(the 8 reconciliation items: the file that arrives at ward, prefecture and national scale) in
UTF-8, 493 bytes a row:

- ``write_fixed_columns``: the vectorised column writer, every value checked;
- ``read_columns``: all 8 columns as bytes, every line and every ASCII value checked, and 4
  columns decoded to str;
- anchors, on the first ``JUKISTORE_BENCH_SUBSAMPLE`` rows (default 100,000; rates are per row,
  so they compare): jukistore ``iter_records`` (a checked Struct per row), a bare Python loop
  slicing and decoding each line with no checks (the floor of any per-row reader in Python), and
  the ``csv`` module reading the same rows as CSV;
- the 84-item master layout (7.8 KB a row in UTF-8): ``read_columns`` of 4 columns on
  ``JUKISTORE_BENCH_MASTER_ROWS`` rows (default 100,000).

Results are checked equal to what was written before anything is timed. ``python
bench/bench_fileio.py`` prints a table; ``pytest bench/bench_fileio.py --benchmark-enable`` runs the
same cases under pytest-benchmark (without ``--benchmark-enable`` each runs once, as a check).
"""

from __future__ import annotations

import csv
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jukistore import fileio, layouts
from jukistore.ids import juminhyo, mynumber

ROWS = int(os.environ.get("JUKISTORE_BENCH_ROWS", "1000000"))
SUBSAMPLE = int(os.environ.get("JUKISTORE_BENCH_SUBSAMPLE", "100000"))
MASTER_ROWS = int(os.environ.get("JUKISTORE_BENCH_MASTER_ROWS", "100000"))
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


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("fileio"), ROWS, SUBSAMPLE, MASTER_ROWS)


def test_write_columns(benchmark: Any, files: Files, tmp_path: Path) -> None:
    benchmark.pedantic(fileio.write_fixed_columns, args=(tmp_path / "w.dat", "seigo", files.cols), rounds=3)
    assert (tmp_path / "w.dat").read_bytes() == files.seigo.read_bytes()


def test_read_columns_bytes(benchmark: Any, files: Files) -> None:
    assert len(benchmark(read_bytes, files.seigo)["juminhyo_code"]) == files.rows


def test_read_columns_decoded(benchmark: Any, files: Files) -> None:
    assert len(benchmark(read_decoded, files.seigo)["name"]) == files.rows


def test_iter_records_subsample(benchmark: Any, files: Files) -> None:
    assert benchmark(rows_records, files.sub) == files.subsample


def test_python_slicing_subsample(benchmark: Any, files: Files) -> None:
    assert benchmark(rows_sliced, files.sub) == files.subsample


def test_csv_module_subsample(benchmark: Any, files: Files) -> None:
    assert benchmark(rows_csv, files.sub_csv) == files.subsample


def test_read_master_columns(benchmark: Any, files: Files) -> None:
    assert len(benchmark(read_master, files.master)["name_kanji"]) == files.master_rows


if __name__ == "__main__":
    main()
