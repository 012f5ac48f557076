"""Fixed-width files read as numpy columns, without a Python object per row.

The file is memory-mapped and viewed through a numpy structured dtype (``S<bytes>`` per field at
its byte offset): a column is a strided view of the file. This works because every field has a
fixed byte width (see :mod:`jukistore.layouts`) and a line feed can only end a row.

The checks are the row reader's (:mod:`jukistore.fileio.values`), made a column at a time. One
pass over the file counts its control bytes: when they are exactly the line ends, every line has
the row width and no value holds a control character. ASCII columns are then checked on their
bytes; text columns need the characters for their encoding and width, so those are checked when
decoded (``decode=``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from jukistore.fileio.base import PathLike, check_errors_mode, layout_of
from jukistore.fileio.fixed import UTF8_BOM, has_bom
from jukistore.fileio.problems import Errors, RecordFormatError, RowLengthError, UndecodableBytes, ValueTooLong
from jukistore.fileio.vec import byte_problems, decode_bytes
from jukistore.layouts import Item, Layout, codec

_SCAN = 1 << 19  # bytes per step when scanning a file: small enough for the temporaries to stay in cache
_LF, _CR = 0x0A, 0x0D


class Columns(dict[str, np.ndarray]):
    """Columns by field name (numpy arrays, one value per row), and ``lines``: the 1-based line of
    each row in the file (rows left out by ``errors="collect"`` leave gaps)."""

    lines: npt.NDArray[np.int64]

    def __init__(self, data: Mapping[str, np.ndarray], lines: npt.NDArray[np.int64]):
        super().__init__(data)
        self.lines = lines


def read_columns(path: PathLike, layout: str | Layout, columns: Sequence[str] | None = None, *,
                 encoding: str = "utf-8", decode: bool | Sequence[str] = False, errors: Errors = "raise",
                 error_list: list[RecordFormatError] | None = None) -> Columns:
    """Columns of a fixed-width file: numpy ``S<bytes>`` arrays with their space padding, or ``str``
    arrays, padding stripped, for the columns named in ``decode`` (``True``: every column read).

    Bytes columns of a well-formed file are read-only views of a memory map: no copy, no Python
    object per row; keep the file unchanged while they are in use. A malformed line or value gives
    the error the row reader gives (:class:`RowLengthError`, :class:`InvalidValue`, ...), naming
    line and field: raised (the one on the earliest line), or with ``errors="collect"`` appended to
    ``error_list`` in line order while the columns keep only the good rows (as copies).
    """
    lay = layout_of(layout)
    enc = codec(encoding)
    check_errors_mode(errors, error_list)
    names = list(lay.fields if columns is None else columns)
    items = sorted((lay.item(c) for c in names), key=lambda i: i.no)
    wanted = set(names) if decode is True else set(decode or ())
    if wanted - set(names):
        raise ValueError(f"decode names {sorted(wanted - set(names))}, which are not among the columns read")
    table, lines, errs, clean = _table(path, lay, enc)
    recs = table.view(_dtype(lay, enc, table.shape[1])).reshape(len(table))
    cols: dict[str, np.ndarray] = {c: recs[c] for c in names}
    taken = np.zeros(len(table), dtype=bool)
    offsets, widths = dict(zip(lay.fields, lay.byte_offsets(enc))), dict(zip(lay.fields, lay.byte_widths(enc)))
    for it in items:  # in item order, so a row's error names its first bad field, as the row reader's does
        raw = table[:, offsets[it.field] : offsets[it.field] + widths[it.field]]
        for bad, cls, msg in byte_problems(it, raw, clean):
            errs.extend(cls(int(lines[k]), it.field, msg) for k in np.flatnonzero(bad & ~taken))
            taken |= bad
    for it in items:
        if it.field in wanted:
            cols[it.field] = _decode(cols[it.field], enc, it, lines, taken, errs)
    if errs:
        errs.sort(key=lambda e: e.row)
        if errors == "raise":
            raise errs[0]
        assert error_list is not None
        error_list.extend(errs)
        keep = ~taken
        cols = {c: v[keep] for c, v in cols.items()}
        lines = lines[keep]
    return Columns(cols, lines)


def decode_column(col: np.ndarray, encoding: str = "utf-8", *, field: str | None = None,
                  lines: npt.NDArray[np.int64] | None = None) -> npt.NDArray[np.str_]:
    """A bytes column with its padding stripped, decoded; bytes the encoding cannot read raise
    :class:`UndecodableBytes` naming the row (``lines[k]``, or ``k + 1``) and ``field``."""
    enc = codec(encoding)
    out, bad = decode_bytes(np.asarray(col), enc)
    if bad.size:
        k = int(bad[0])
        raise UndecodableBytes(int(lines[k]) if lines is not None else k + 1, field, f"bytes not valid {enc}")
    return out


def _dtype(lay: Layout, enc: str, itemsize: int) -> np.dtype[Any]:
    return np.dtype({"names": list(lay.fields), "formats": [f"S{w}" for w in lay.byte_widths(enc)],
                     "offsets": list(lay.byte_offsets(enc)), "itemsize": itemsize})


def _decode(col: np.ndarray, enc: str, it: Item, lines: np.ndarray, taken: np.ndarray,
            errs: list[RecordFormatError]) -> np.ndarray:
    """Decode a column for ``read_columns``, adding an error for each value that does not decode or
    has more characters than the width (and marking its row as taken)."""
    out, bad = decode_bytes(col, enc)
    bad = bad[~taken[bad]]
    errs.extend(UndecodableBytes(int(lines[k]), it.field, f"bytes not valid {enc}") for k in bad)
    taken[bad] = True
    if it.is_text and out.size:
        lens = np.strings.str_len(out)
        long_ = np.flatnonzero((lens > it.width) & ~taken)
        errs.extend(ValueTooLong(int(lines[k]), it.field, f"{int(lens[k])} characters do not fit width {it.width}")
                    for k in long_)
        taken[long_] = True
    return out


def _table(path: PathLike, lay: Layout, enc: str
           ) -> tuple[np.ndarray, npt.NDArray[np.int64], list[RecordFormatError], bool]:
    """The rows of a file as a 2-D uint8 array (a view of the file when it is well-formed), the line
    of each row, an error for each line of the wrong length, and whether the rows are known to
    hold no control character."""
    size = os.path.getsize(path)
    rb = lay.row_bytes(enc)
    buf = np.memmap(path, dtype=np.uint8, mode="r") if size else np.empty(0, dtype=np.uint8)
    if enc == "utf-8" and (_starts_with_bom(buf, rb) or (size == len(UTF8_BOM) and bytes(buf) == UTF8_BOM)):
        buf = buf[len(UTF8_BOM) :]
        size -= len(UTF8_BOM)
    if size == 0:
        return np.empty((0, rb), dtype=np.uint8), np.empty(0, dtype=np.int64), [], True
    for eol in (b"\n", b"\r\n"):
        stride = rb + len(eol)
        if size % stride or bytes(buf[rb:stride]) != eol:
            continue
        n = size // stride
        table = buf.reshape(n, stride)
        if not (table[:, rb:] == np.frombuffer(eol, dtype=np.uint8)).all():
            break
        controls, dels = _scan(buf)
        if controls == n * len(eol):  # only the line ends: rows of the right length, no control characters
            return table, np.arange(1, n + 1, dtype=np.int64), [], dels == 0
        if _count(buf, _LF) == n:  # every line the right length; some value holds a control character
            return table, np.arange(1, n + 1, dtype=np.int64), [], False
        break
    table, lines, errs = _table_slow(buf, rb)
    return table, lines, errs, False


def _starts_with_bom(buf: np.ndarray, rb: int) -> bool:
    """The file's first line is a byte order mark and a row (see :func:`jukistore.fileio.fixed.has_bom`)."""
    head = bytes(buf[: rb + len(UTF8_BOM) + 2])
    first = head.split(b"\n", 1)[0]
    return has_bom(first[:-1] if first.endswith(b"\r") else first, rb)


def _scan(buf: np.ndarray) -> tuple[int, int]:
    """Bytes below 0x20 and bytes 0x7F in ``buf``, counted in one pass of blocks."""
    lo = de = 0
    for s in range(0, len(buf), _SCAN):
        block = buf[s : s + _SCAN]
        lo += int(np.count_nonzero(block < 0x20))
        de += int(np.count_nonzero(block == 0x7F))
    return lo, de


def _count(buf: np.ndarray, byte: int) -> int:
    return sum(int(np.count_nonzero(buf[s : s + _SCAN] == byte)) for s in range(0, len(buf), _SCAN))


def _table_slow(buf: np.ndarray, rb: int) -> tuple[np.ndarray, npt.NDArray[np.int64], list[RecordFormatError]]:
    """Line by line, vectorised: find every line feed, keep the lines of the right length (copied)."""
    size = len(buf)
    lf = np.concatenate([np.flatnonzero(buf[s : s + _SCAN] == _LF) + s for s in range(0, size, _SCAN)])
    ends = lf if (len(lf) and lf[-1] == size - 1) else np.append(lf, size)  # a last line may lack its feed
    starts = np.concatenate(([0], lf + 1))[: len(ends)]
    # A CR before the line's end is the line end's, on the last line too (a CR LF file whose
    # final LF was lost), as the row reader and the reconciliation read it.
    cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == _CR)
    lengths = ends - starts - cr
    good = lengths == rb
    errs: list[RecordFormatError] = [RowLengthError(int(k) + 1, None, f"{int(lengths[k])} bytes, expected {rb}")
                                     for k in np.flatnonzero(~good)]
    g = np.flatnonzero(good)
    table = np.empty((len(g), rb), dtype=np.uint8)
    # Consecutive good lines with the same line end lie at a fixed stride: copy each run as one 2-D view.
    stride = (ends - starts + (ends < size))[g]
    brk = np.flatnonzero((np.diff(g) != 1) | (np.diff(stride) != 0)) + 1
    for a, b in zip(np.concatenate(([0], brk)), np.concatenate((brk, [len(g)]))) if len(g) else ():
        s0, st, cnt = int(starts[g[a]]), int(stride[a]), int(b - a)
        avail = min(cnt * st, size - s0)  # the last run may end without a line feed
        run = np.zeros(cnt * st, dtype=np.uint8)
        run[:avail] = buf[s0 : s0 + avail]
        table[a:b] = run.reshape(cnt, st)[:, :rb]
    return table, (g + 1).astype(np.int64), errs
