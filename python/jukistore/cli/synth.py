"""``jukistore synth``: write a synthetic ward's master file for tests, demos and benchmarks.

``jukistore synth --residents N --seed S --out DIR [--format fixed|csv|both]`` generates a ward
(:func:`jukistore.synth.ward`) and writes its 住民基本台帳ファイル into DIR. The summary names
counts only (residents, removed persons, households, foreign residents, planted cases) and the files
written: even synthetic numbers are not printed, so the output can go anywhere a real run's could.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from jukistore.cli import CliError
from jukistore.layouts import codec

EXIT_OK = 0

HELP = """\
Generate a synthetic ward and write its master file (住民基本台帳ファイル) into DIR:
jumin_kihon.dat (fixed-width) and/or jumin_kihon.csv, UTF-8 unless --encoding says cp932.

The same --residents, --seed, --removed-fraction and --as-of always give the same files, byte for
byte. Every 住民票コード and 個人番号 is generated (valid, never repeated, never a real person's).

Exit status: 0 on success, 2 on a usage or write error.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``synth`` command to the top-level parser."""
    p = subparsers.add_parser("synth", help="write a synthetic ward's master file",
                              description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--residents", type=int, default=300_000, metavar="N",
                   help="current residents (default 300000); removed persons come on top")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--out", required=True, metavar="DIR", help="directory to write into (created if missing)")
    p.add_argument("--format", choices=("fixed", "csv", "both"), default="both", help="files to write (default both)")
    p.add_argument("--removed-fraction", type=float, default=None, metavar="F",
                   help="removed persons per resident (default 0.3)")
    p.add_argument("--as-of", default=None, metavar="YYYYMMDD", help="the ward's 'today' (default 20250401)")
    p.add_argument("--encoding", default="utf-8", help="utf-8 (default) or cp932")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    if args.residents < 1:
        raise CliError("--residents must be at least 1")
    if args.removed_fraction is not None and not 0 <= args.removed_fraction <= 5:
        raise CliError("--removed-fraction must be between 0 and 5")
    if args.as_of is not None and not re.fullmatch(r"(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])", args.as_of):
        raise CliError("--as-of must be a date YYYYMMDD")
    try:
        codec(args.encoding)
    except ValueError:
        raise CliError("--encoding must be utf-8 or cp932 (Shift_JIS)") from None
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {args.out} exists and is not a directory")


def run(args: argparse.Namespace) -> int:
    """Generate, write, summarise."""
    from jukistore import synth

    _check(args)
    kwargs = {}
    if args.removed_fraction is not None:
        kwargs["removed_fraction"] = args.removed_fraction
    if args.as_of is not None:
        kwargs["as_of"] = args.as_of
    t0 = time.perf_counter()
    try:
        ward = synth.ward(args.residents, args.seed, **kwargs)
    except ValueError as e:
        raise CliError(str(e)) from None
    t1 = time.perf_counter()
    reports: list[object] = []
    try:
        paths = ward.write(args.out, args.format, encoding=args.encoding, reports=reports)
    except ImportError as e:  # the file writers are part of jukistore.fileio
        raise CliError(f"cannot write files: {e}") from None
    except ValueError as e:
        raise CliError(f"cannot write files: {e}") from None
    t2 = time.perf_counter()
    summary = ward.summary()
    files = [{"path": str(p), "bytes": p.stat().st_size,
              "substitutions": len(getattr(r, "substitutions", ()))} for p, r in zip(paths, reports)]
    if args.json:
        json.dump({"summary": summary, "files": files, "seed": args.seed, "as_of": ward.as_of,
                   "seconds": {"generate": round(t1 - t0, 3), "write": round(t2 - t1, 3)}}, sys.stdout, ensure_ascii=False)
        print()
        return EXIT_OK
    print(f"ward (seed {args.seed}, as of {ward.as_of}): {summary['rows']:,} persons in {t1 - t0:.1f} s")
    print(f"  residents  {summary['residents']:>10,}")
    print(f"  removed    {summary['removed']:>10,}")
    print(f"  households {summary['households']:>10,}")
    print(f"  foreign    {summary['foreign']:>10,}")
    print("  planted cases:")
    for name in synth.CASES:
        print(f"    {name:<28}{summary.get(name, 0):>8,}")
    print(f"wrote in {t2 - t1:.1f} s:")
    for f in files:
        subs = f"; {f['substitutions']:,} characters substituted (not in {args.encoding})" if f["substitutions"] else ""
        print(f"  {f['path']}  ({f['bytes']:,} bytes{subs})")
    return EXIT_OK
