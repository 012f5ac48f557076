"""``jukistore ids``: check files of identifiers in bulk.

``jukistore ids validate --kind KIND FILE`` reads one value per line and reports how many are
valid, how many fail and why, and the line numbers of the first failures. It never prints a value:
a file of My Numbers is personal data, and a report is often pasted into tickets and logs.

The file is read in one piece and split with numpy; the values go to the kind's ``explain_many`` as
one fixed-width byte array, so a file of millions of lines costs no Python object per line. Lines
with bytes outside ASCII or with NUL bytes (rare, and invalid anyway) are decoded as UTF-8 and
checked as text, so that their length counts characters as the scalar API does.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np
import numpy.typing as npt

from jukistore.cli import CliError
from jukistore.ids import MODULES, REASONS

#: Identifier kinds the command accepts, with the number of characters of each.
KINDS: dict[str, int] = {"mynumber": 12, "juminhyo": 11, "lgcode": 6, "corporate": 13, "zairyu": 12}
EXIT_OK, EXIT_FINDING = 0, 1
_BOM = b"\xef\xbb\xbf"

VALIDATE_HELP = """\
Check one identifier per line of FILE ('-' reads standard input).

Each line is checked exactly as written, with two exceptions: a trailing carriage return is
dropped (CRLF files work) and so is a UTF-8 byte-order mark at the start of the file. Spaces,
hyphens and full-width digits are format errors here; normalise with the Python compact()
first if the file needs it.

Blank lines: the newline that ends the last line does not start another value, but an empty line
anywhere else is a value, counted as invalid with reason 'length', so that line numbers in the
report always match the file.

The report gives counts by reason (length, format, checksum) and the numbers of the first invalid
lines (1-based). It never prints the values themselves.

Exit status: 0 if every value is valid (or the file is empty), 1 if some are not, 2 on a usage or
read error.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``ids`` group and its ``validate`` command to the top-level parser."""
    group = subparsers.add_parser(
        "ids",
        help="check identifiers (個人番号, 住民票コード, ...) in bulk",
        description="Check Japanese public identifiers in bulk.",
    )
    actions = group.add_subparsers(dest="ids_command", metavar="ACTION")
    actions.required = True
    validate = actions.add_parser(
        "validate",
        help="check a file of identifiers, one per line",
        description=VALIDATE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument(
        "--kind",
        required=True,
        choices=list(KINDS),
        help="mynumber (個人番号), juminhyo (住民票コード), lgcode (地方公共団体コード), "
        "corporate (法人番号) or zairyu (在留カード等番号)",
    )
    validate.add_argument("file", metavar="FILE", help="file with one value per line, or - for standard input")
    validate.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    validate.add_argument(
        "--first",
        type=_non_negative,
        default=10,
        metavar="N",
        help="how many invalid line numbers to list (default 10)",
    )
    validate.set_defaults(func=run_validate)


def _non_negative(text: str) -> int:
    """argparse type for --first: a count, so negative numbers are a usage error (exit 2)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def read_input(path: str) -> bytes:
    """All bytes of ``path``, or of standard input for ``-``."""
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CliError(f"cannot read {path}: {e.strerror or e}") from None


def split_lines(raw: bytes) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The bytes as an array and the start and end offset of every line, without its line break.

    A final newline ends the last line and does not start an empty one; one trailing ``\\r`` per
    line is dropped; a leading UTF-8 byte-order mark is skipped.
    """
    data = np.frombuffer(raw, dtype=np.uint8)
    first = len(_BOM) if raw.startswith(_BOM) else 0
    newlines = np.flatnonzero(data == ord("\n"))
    starts = np.concatenate(([first], newlines + 1)).astype(np.int64)
    ends = np.concatenate((newlines, [len(data)])).astype(np.int64)
    if starts[-1] == len(data):  # empty input, or a final newline
        starts, ends = starts[:-1], ends[:-1]
    if len(ends):
        ends -= (ends > starts) & (data[np.maximum(ends - 1, 0)] == ord("\r"))
    return data, starts, ends


def fixed_width(data: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.bytes_]:
    """Lines as a numpy ``S<width>`` array, NUL-padded; longer lines are cut to ``width`` bytes.

    ``width`` is one more than the identifier's length, so a cut line is still too long.
    """
    count = len(starts)
    lengths = ends - starts
    out = np.zeros((count, width), dtype=np.uint8)
    if count == 0 or len(data) == 0:
        return out.view(f"S{width}").reshape(-1)
    stride = starts[1] - starts[0] if count > 1 else 0
    uniform = count > 1 and (lengths == lengths[0]).all() and (np.diff(starts) == stride).all()
    if uniform:
        # Every line the same length and the same distance apart: one strided copy.
        k = min(int(lengths[0]), width)
        out[:, :k] = np.lib.stride_tricks.as_strided(data[starts[0] :], shape=(count, k), strides=(int(stride), 1))
    else:
        last = len(data) - 1
        for j in range(width):
            take = lengths > j
            out[:, j] = np.where(take, data[np.minimum(starts + j, last)], 0)
    return out.view(f"S{width}").reshape(-1)


def explain_lines(kind: str, raw: bytes) -> npt.NDArray[np.uint8]:
    """A reason code (see :data:`jukistore.ids.REASONS`) for every line of ``raw``."""
    module = MODULES[kind]
    data, starts, ends = split_lines(raw)
    count = len(starts)
    if count == 0:
        return np.zeros(0, dtype=np.uint8)
    codes: npt.NDArray[np.uint8] = module.explain_many(fixed_width(data, starts, ends, KINDS[kind] + 1))
    # Lines holding a NUL or a non-ASCII byte: in a fixed-width field a trailing NUL would pass
    # as padding and a UTF-8 character would count as several. Check those lines as text.
    odd_bytes = np.flatnonzero((data == 0) | (data >= 0x80))
    if len(odd_bytes):
        odd = np.unique(np.searchsorted(starts, odd_bytes, side="right") - 1)
        odd = odd[odd >= 0]  # a byte-order mark lies before the first line
        text = [bytes(data[starts[i] : ends[i]]).decode("utf-8", "replace") for i in odd.tolist()]
        codes[odd] = module.explain_many(text)
    return codes


def summarise(kind: str, codes: npt.NDArray[np.uint8], first: int) -> dict[str, Any]:
    """Counts by reason and the first invalid line numbers (1-based): no values."""
    counts = np.bincount(codes, minlength=len(REASONS))
    bad = np.flatnonzero(codes != 0)
    return {
        "kind": kind,
        "total": int(len(codes)),
        "valid": int(counts[0]),
        "invalid": int(len(bad)),
        "by_reason": {REASONS[r]: int(counts[r]) for r in range(1, len(REASONS))},
        "first_invalid_lines": [int(i) + 1 for i in bad[:first]],
    }


def format_text(summary: dict[str, Any]) -> str:
    """The summary for people: totals, non-zero reasons, then the first invalid line numbers."""
    lines = [f"{summary['kind']}: {summary['total']} checked, {summary['valid']} valid, {summary['invalid']} invalid"]
    for reason, count in summary["by_reason"].items():
        if count:
            lines.append(f"  {reason:<9} {count}")
    if summary["first_invalid_lines"]:
        shown = summary["first_invalid_lines"]
        more = " ..." if summary["invalid"] > len(shown) else ""
        lines.append(f"first invalid lines: {', '.join(map(str, shown))}{more}")
    return "\n".join(lines)


def run_validate(args: argparse.Namespace) -> int:
    """``jukistore ids validate``: exit 0 if all lines are valid, 1 if not (2 comes from CliError)."""
    raw = read_input(args.file)
    summary = summarise(args.kind, explain_lines(args.kind, raw), args.first)
    if args.json:
        print(json.dumps(summary))
    else:
        print(format_text(summary))
    return EXIT_OK if summary["invalid"] == 0 else EXIT_FINDING
