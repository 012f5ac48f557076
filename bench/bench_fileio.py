"""Reading fixed-width master files: columns over a memory map against row-by-row readers.

``JUKISTORE_BENCH_ROWS`` rows (default 1,000,000) of the 84-item master layout are written once
with the vectorised column writer; then, in one run: jukistore ``read_columns`` (4 columns,
padding stripped and decoded), jukistore ``iter_records`` (every field, a Struct per row; on a
subsample, scaled) and the standard ``csv`` module reading the same rows as CSV (subsample, scaled).
``python bench/bench_fileio.py`` prints the table; ``pytest bench/bench_fileio.py
--benchmark-enable`` runs the same as pytest-benchmark cases.
"""

from __future__ import annotations

import csv
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from jukistore import fileio, layouts
from jukistore.ids import juminhyo, mynumber

ROWS = int(os.environ.get("JUKISTORE_BENCH_ROWS", "1000000"))
COLUMNS = ["juminhyo_code", "mynumber", "name_kanji", "birth_date"]


def make_file(path: Path, n: int) -> None:
    rng = np.random.default_rng(3)
    names = np.array(["山田　太郎", "佐藤　花子", "髙橋　純平", "渡辺　学", "葛\U000e0100西　翔"])
    cols = {
        "juminhyo_code": juminhyo.to_text(juminhyo.generate(n, 1)),
        "mynumber": mynumber.to_text(mynumber.generate(n, 1)),
        "name_kanji": names[rng.integers(0, len(names), n)],
        "name_kana": np.array(["ヤマダ タロウ"] * n),
        "birth_date": np.char.encode(np.char.add(rng.integers(1930, 2025, n).astype("U4"), "0301"), "ascii"),
        "address": np.array(["東京都墨田区吾妻橋一丁目23番1号"] * n),
        "sex": rng.integers(1, 3, n).astype("U1"),
    }
    fileio.write_fixed_columns(path, "jumin_kihon", cols)


def read_columns(path: Path) -> dict[str, np.ndarray]:
    cols = fileio.read_columns(path, "jumin_kihon", COLUMNS)
    return {c: fileio.decode_column(v) for c, v in cols.items()}


def rows_records(path: Path, limit: int) -> int:
    n = 0
    for _ in fileio.iter_records(path, "jumin_kihon"):
        n += 1
        if n >= limit:
            break
    return n


def rows_csv(path: Path, limit: int) -> int:
    n = 0
    with open(path, newline="", encoding="utf-8") as fh:
        rd = csv.reader(fh)
        next(rd)
        for _ in rd:
            n += 1
            if n >= limit:
                break
    return n


def run(n: int = ROWS) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "master.txt"
        t0 = time.perf_counter()
        make_file(p, n)
        write_rate = n / (time.perf_counter() - t0)
        sub = min(n, 100_000)
        c = Path(tmp) / "master.csv"
        # The CSV anchor file holds the same first `sub` rows.
        fileio.write_csv(c, "jumin_kihon", itertools.islice(fileio.iter_records(p, "jumin_kihon"), sub))
        os.sync()
        read_columns(p)  # warm the page cache
        res = {"write columns (rows/s)": write_rate}
        t0 = time.perf_counter()
        cols = read_columns(p)
        res["read_columns, 4 columns decoded"] = n / (time.perf_counter() - t0)
        assert len(cols["juminhyo_code"]) == n
        t0 = time.perf_counter()
        rows_records(p, sub)
        res["iter_records, Struct per row"] = sub / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        rows_csv(c, sub)
        res["csv module, list per row"] = sub / (time.perf_counter() - t0)
        return res


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else ROWS
    width = layouts.load("jumin_kihon").record_width + 1
    res = run(n)
    anchor = res["csv module, list per row"]
    print(f"Fixed-width master file, {n:,} rows of {width:,} bytes, {os.cpu_count()} CPUs\n")
    print("| reader | rows/s | x csv module |\n|---|---:|---:|")
    for k, v in res.items():
        print(f"| {k} | {v:,.0f} | {'' if k.startswith('write') else f'{v / anchor:.1f}'} |")


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("fio") / "master.txt"
    make_file(p, int(os.environ.get("JUKISTORE_BENCH_ROWS", "20000")))
    return p


def test_read_columns(benchmark, master: Path) -> None:  # type: ignore[no-untyped-def]
    cols = benchmark(read_columns, master)
    assert (np.char.str_len(cols["juminhyo_code"]) == 11).all()


def test_iter_records(benchmark, master: Path) -> None:  # type: ignore[no-untyped-def]
    assert benchmark(rows_records, master, 2000) == 2000


if __name__ == "__main__":
    main()
