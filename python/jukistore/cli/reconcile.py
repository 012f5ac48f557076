"""``jukistore reconcile LEFT RIGHT``: reconciliation (整合性確認) of two sides.

Each side is a store directory or a file in the layout (fixed-width, or CSV by its ``.csv``
suffix). Prints a summary table (or ``--json``), writes the detail with ``--out``, and exits 0 when
the sides agree, 1 when they differ, 2 on an error. The summary masks every 個人番号; only the
detail files written with ``--out`` carry them in full.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from jukistore.cli import EXIT_ERROR, EXIT_FINDING, EXIT_OK, CliError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("reconcile", help="compare two sides (stores or files) item by item (整合性確認)",
                       description="Reconcile two sides keyed by 住民票コード: exit 0 when they agree, 1 when "
                                   "they differ, 2 on an error.")
    p.add_argument("left", type=Path, help="a store directory, or a fixed-width or CSV (.csv) file")
    p.add_argument("right", type=Path, help="the same, for the other side")
    p.add_argument("--layout", default="seigo", help="layout of the files (default: seigo, the 8 items)")
    p.add_argument("--encoding", default="utf-8", help="encoding of the files: utf-8 (default) or cp932")
    p.add_argument("--left-encoding", help="encoding of the left file, if it differs")
    p.add_argument("--right-encoding", help="encoding of the right file, if it differs")
    p.add_argument("--out", type=Path, help="write summary.json, detail.csv and detail.parquet to this folder")
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    p.add_argument("--lenient-juminhyo", action="store_true",
                   help="join 住民票コード that fail the assumed check digit, and list them as warnings")
    p.add_argument("--exact", action="store_true", help="compare every pair byte for byte (no fingerprints)")
    p.add_argument("--samples", type=int, default=5, help="findings of each kind shown in the summary")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    from jukistore.cli.store import _operator_args

    _operator_args(p, purpose=True)  # for a store side: who reads it, and why (access log)
    p.set_defaults(func=cmd_reconcile)


class Steps:
    """Progress of a reconciliation on stderr: each step with the time so far.

    The steps are few and each can take seconds at tens of millions of rows, so a line per step
    tells a user what is happening; on a terminal each line replaces the one before.
    """

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self._t0 = time.perf_counter()
        self._open = False

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        text = f"[{time.perf_counter() - self._t0:6.1f} s] {message}"
        if self.tty:
            self.stream.write("\r\033[K" + text)
            self._open = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled and self._open:
            self.stream.write("\r\033[K")
            self.stream.flush()


def cmd_reconcile(args: argparse.Namespace) -> int:
    from jukistore.errors import JukistoreError
    from jukistore.reconcile import reconcile

    for side in (args.left, args.right):
        if not side.exists():
            raise CliError(f"{side}: no such file or store directory")
    from jukistore.cli.store import open_bound

    # A store side is read by an operator, for a purpose, into the store's access log.
    left, right = (open_bound(s, args) if s.is_dir() else s for s in (args.left, args.right))
    steps = Steps(enabled=not args.quiet)
    try:
        result = reconcile(left, right, args.layout, strict=not args.lenient_juminhyo,
                           exact=True if args.exact else None, encoding=args.encoding,
                           left_encoding=args.left_encoding, right_encoding=args.right_encoding,
                           samples=args.samples, progress=steps)
        if args.out is not None:
            steps(f"writing {args.out}")
            result.write(args.out)
    except (JukistoreError, ValueError, OSError) as e:
        steps.done()
        raise CliError(str(e)) from None
    except Exception as e:  # exit 1 means "the sides differ": any other failure must be 2
        steps.done()
        # Only the type: a library's message may quote the data it failed on.
        raise CliError(f"reconciliation failed: {type(e).__name__}") from None
    steps.done()
    print(result.to_json() if args.json else result.table())
    if args.out is not None and not args.json:
        print(f"\n  detail written to {args.out}")
    return EXIT_OK if result.agree else EXIT_FINDING


__all__ = ["register", "cmd_reconcile", "EXIT_ERROR"]
