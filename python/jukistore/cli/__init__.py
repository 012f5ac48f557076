"""The ``jukistore`` command line.

Each subcommand group lives in its own module with a ``register(subparsers)`` function that adds
its parser and sets ``func`` on it; :data:`GROUPS` lists those modules in the order ``--help``
shows them. Exit codes: 0 success, 1 a negative finding (invalid numbers, an inconsistent store,
differing sides), 2 a usage or I/O error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from jukistore.errors import JukistoreError

#: Subcommand modules, each ``jukistore.cli.<name>`` with ``register(subparsers)``.
GROUPS: tuple[str, ...] = ("ids", "store", "history", "audit", "reconcile", "purge", "synth", "demo")

EXIT_OK, EXIT_FINDING, EXIT_ERROR = 0, 1, 2


class CliError(Exception):
    """A usage or I/O problem to report on stderr with exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jukistore", description="Record store for the Basic Resident Register (住民基本台帳).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in GROUPS:
        importlib.import_module(f"jukistore.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code or 0)
    try:
        return int(args.func(args))
    except CliError as e:
        print(f"jukistore: {e}", file=sys.stderr)
        return EXIT_ERROR
    except JukistoreError as e:  # a refusal (NotPermitted) or a bad argument the library names
        print(f"jukistore: {e}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as e:
        print(f"jukistore: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_ERROR
    except OverflowError:  # a number given beyond what the store counts (negative, or past 2**64)
        print("jukistore: a number given is out of range", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
