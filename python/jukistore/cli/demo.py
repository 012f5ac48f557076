"""``jukistore demo``: the main job end to end on a synthetic ward (see :mod:`jukistore.demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from jukistore.cli import EXIT_FINDING, EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from jukistore.demo import DEFAULT_RESIDENTS, DEFAULT_SEED

    p = sub.add_parser("demo", help="the main job on a synthetic ward: load, validate, events, reconcile, verify, with a report")
    p.add_argument("--residents", type=int, default=DEFAULT_RESIDENTS, help=f"current residents (default {DEFAULT_RESIDENTS:,})")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--dir", type=Path, default=Path("jukistore-demo"), help="working directory (replaced)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from jukistore.demo import Demo

    steps = Demo(residents=args.residents, seed=args.seed, directory=args.dir).run()
    ok = all(s.data.get("ok", True) for s in steps)
    return EXIT_OK if ok else EXIT_FINDING
