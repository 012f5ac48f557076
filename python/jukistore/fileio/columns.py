"""Fixed-width files as numpy columns, read and written without a Python object per row.

Reading maps the file and views it through a numpy structured dtype (``S<bytes>`` per field at its
byte offset): a column is a strided view of the file, produced in the time it takes to check the
file's structure, whatever its size. This works because every field has a fixed byte width (see
:mod:`jukistore.layouts`) and a line feed can only end a row.

The checks are the ones the row reader makes (:mod:`jukistore.fileio.values`), done a column at a
time: every line's length, and every value of the columns read. ASCII columns are checked on their
bytes; text columns are checked for control characters on their bytes and for their encoding and
character count when decoded (``decode=``), since both need the characters.

Writing fills a block of rows as a 2-D byte array, one column at a time, and writes the block.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from jukistore.fileio.base import PathLike, atomic_file, check_errors_mode, check_newline, layout_of
from jukistore.fileio.problems import (Errors, InvalidValue, RecordFormatError, RowLengthError, Substitution,
                                       UndecodableBytes, ValueTooLong, WriteReport)
from jukistore.fileio.values import CP932_CHANGED, SUBSTITUTE, check_substitute, encode_text, problem
from jukistore.layouts import DIGIT_TYPES, Item, Layout, codec

_SCAN = 1 << 26  # bytes per step when scanning a file for line feeds
_BLOCK = 1 << 26  # bytes per block when writing
_SP, _LF, _CR = 0x20, 0x0A, 0x0D
_CHANGED_CP = np.array([ord(c) for c in CP932_CHANGED], dtype=np.uint32)


class Columns(dict[str, np.ndarray]):
    """Columns by field name (numpy arrays, one value per row), and ``lines``: the 1-based line of
    each row in the file (rows left out by ``errors="collect"`` leave gaps)."""

    lines: npt.NDArray[np.int64]

    def __init__(self, data: Mapping[str, np.ndarray], lines: npt.NDArray[np.int64]):
        super().__init__(data)
        self.lines = lines


# ---- reading -----------------------------------------------------------------------------------

def read_columns(path: PathLike, layout: str | Layout, columns: Sequence[str] | None = None, *,
                 encoding: str = "utf-8", decode: bool | Sequence[str] = False, errors: Errors = "raise",
                 error_list: list[RecordFormatError] | None = None) -> Columns:
    """Columns of a fixed-width file: numpy ``S<bytes>`` arrays with their space padding, or ``str``
    arrays for the columns named in ``decode`` (``True``: all read), padding stripped.

    Bytes columns of a well-formed file are read-only views of a memory map: no copy, no Python
    object per row; keep the file unchanged while they are in use. A malformed line or value gives
    the error the row reader gives (:class:`RowLengthError`, :class:`InvalidValue`, ...), naming
    line and field: raised (the one on the earliest line), or with ``errors="collect"`` appended to
    ``error_list`` in line order while the columns keep only the good rows (then copies).
    """
    lay = layout_of(layout)
    enc = codec(encoding)
    check_errors_mode(errors, error_list)
    names = list(lay.fields if columns is None else columns)
    items = [lay.item(c) for c in names]
    wanted = set(names) if decode is True else set(decode or ())
    for f in wanted - set(names):
        raise ValueError(f"decode names {f!r}, which is not among the columns read")
    table, lines, errs = _table(path, lay, enc)
    recs = table.view(_dtype(lay, enc, table.shape[1])).reshape(len(table))
    order = {f: k for k, f in enumerate(lay.fields)}
    cols: dict[str, np.ndarray] = {c: recs[c] for c in names}
    taken = np.zeros(len(table), dtype=bool)
    for it in sorted(items, key=lambda i: order[i.field]):
        raw = _field_bytes(table, lay, enc, it)
        for bad, cls, msg in _value_problems(it, raw):
            new = bad & ~taken
            errs.extend(cls(int(lines[k]), it.field, msg) for k in np.flatnonzero(new))
            taken |= bad
    for it in items:
        if it.field in wanted:
            cols[it.field], bad_rows = _decode(cols[it.field], enc, it, lines, taken, errs)
            taken[bad_rows] = True
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
    out, bad = _decode_bytes(np.asarray(col), enc)
    if bad.size:
        k = int(bad[0])
        raise UndecodableBytes(int(lines[k]) if lines is not None else k + 1, field, f"bytes not valid {enc}")
    return out


def _dtype(lay: Layout, enc: str, itemsize: int) -> np.dtype[Any]:
    return np.dtype({"names": list(lay.fields), "formats": [f"S{w}" for w in lay.byte_widths(enc)],
                     "offsets": list(lay.byte_offsets(enc)), "itemsize": itemsize})


def _field_bytes(table: np.ndarray, lay: Layout, enc: str, it: Item) -> npt.NDArray[np.uint8]:
    k = lay.fields.index(it.field)
    off = lay.byte_offsets(enc)[k]
    return table[:, off : off + lay.byte_widths(enc)[k]]


def _table(path: PathLike, lay: Layout, enc: str) -> tuple[np.ndarray, npt.NDArray[np.int64], list[RecordFormatError]]:
    """The rows of a file as a 2-D uint8 array (a view of the file when it is well-formed), the line
    of each row, and an error for each line of the wrong length."""
    size = os.path.getsize(path)
    rb = lay.row_bytes(enc)
    if size == 0:
        return np.empty((0, rb), dtype=np.uint8), np.empty(0, dtype=np.int64), []
    buf = np.memmap(path, dtype=np.uint8, mode="r")
    for eol in (b"\n", b"\r\n"):
        stride = rb + len(eol)
        if size % stride == 0 and bytes(buf[rb:stride]) == eol:
            n = size // stride
            table = buf.reshape(n, stride)
            ends_ok = (table[:, rb:] == np.frombuffer(eol, dtype=np.uint8)).all()
            if ends_ok and _count_lf(buf) == n:
                return table, np.arange(1, n + 1, dtype=np.int64), []
    return _table_slow(buf, rb)


def _count_lf(buf: np.ndarray) -> int:
    return sum(int(np.count_nonzero(buf[s : s + _SCAN] == _LF)) for s in range(0, len(buf), _SCAN))


def _table_slow(buf: np.ndarray, rb: int) -> tuple[np.ndarray, npt.NDArray[np.int64], list[RecordFormatError]]:
    """Line by line, vectorised: find every line feed, keep the lines of the right length."""
    lf = np.concatenate([np.flatnonzero(buf[s : s + _SCAN] == _LF) + s for s in range(0, len(buf), _SCAN)])
    ends = lf if (len(lf) and lf[-1] == len(buf) - 1) else np.append(lf, len(buf))
    starts = np.concatenate(([0], lf + 1))[: len(ends)]
    cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == _CR) & (ends < len(buf))
    lengths = ends - starts - cr
    good = lengths == rb
    errs: list[RecordFormatError] = [RowLengthError(int(k) + 1, None, f"{int(lengths[k])} bytes, expected {rb}")
                                     for k in np.flatnonzero(~good)]
    g = np.flatnonzero(good)
    # Consecutive good lines with the same terminator lie at a fixed stride: one 2-D view each.
    stride = (ends - starts + (ends < len(buf)))[g]
    brk = np.flatnonzero((np.diff(g) != 1) | (np.diff(stride) != 0)) + 1
    parts = []
    for a, b in zip(np.concatenate(([0], brk)), np.concatenate((brk, [len(g)]))):
        if a == b:
            continue
        s0, st, cnt = int(starts[g[a]]), int(stride[a]), int(b - a)
        full = cnt * st if int(ends[g[b - 1]]) < len(buf) else (cnt - 1) * st + rb
        run = np.zeros((cnt, st), dtype=np.uint8)
        run.reshape(-1)[:full] = buf[s0 : s0 + full]
        parts.append(run[:, :rb])
    table = np.ascontiguousarray(np.concatenate(parts)) if parts else np.empty((0, rb), dtype=np.uint8)
    return table, (g + 1).astype(np.int64), errs


def _value_problems(it: Item, raw: np.ndarray) -> list[tuple[npt.NDArray[np.bool_], type[RecordFormatError], str]]:
    """Rows whose bytes break the item's rule, with the error the row reader gives, by rule.

    ``raw`` is the field's bytes with their space padding. The rules are those of
    :func:`jukistore.fileio.values.problem`, on bytes.
    """
    if not len(raw):
        return []
    t = it.type
    if it.is_text:
        return [(((raw < _SP) | (raw == 0x7F)).any(axis=1), InvalidValue, "holds a control character")]
    nonsp = raw != _SP
    used = nonsp.sum(axis=1)
    last = np.where(nonsp.any(axis=1), raw.shape[1] - np.argmax(nonsp[:, ::-1], axis=1), 0)
    if t in DIGIT_TYPES or t == "date":
        bad = (nonsp & ((raw < 0x30) | (raw > 0x39))).any(axis=1) | (used != last)
        if t == "date":
            return [(bad | ((last != 0) & (last != 8)), InvalidValue, "a date is 8 digits, YYYYMMDD")]
        return [(bad, InvalidValue, f"a {t} item holds a character other than 0-9")]
    if t == "bin":
        hexd = ((raw >= 0x30) & (raw <= 0x39)) | ((raw >= 0x41) & (raw <= 0x46))
        return [((nonsp & ~hexd).any(axis=1) | (used != last), InvalidValue,
                 "a bin item holds a character other than 0-9, A-F")]
    return [(((raw < _SP) | (raw > 0x7E)).any(axis=1), InvalidValue,
             f"a {t} item holds a character other than printable ASCII")]


def _decode(col: np.ndarray, enc: str, it: Item, lines: np.ndarray, taken: np.ndarray,
            errs: list[RecordFormatError]) -> tuple[np.ndarray, np.ndarray]:
    """Decode a column for ``read_columns``: errors for undecodable and too-long values."""
    out, bad = _decode_bytes(col, enc)
    bad = bad[~taken[bad]]
    errs.extend(UndecodableBytes(int(lines[k]), it.field, f"bytes not valid {enc}") for k in bad)
    if it.is_text and out.size:
        lens = np.strings.str_len(out)
        long_ = np.flatnonzero((lens > it.width) & ~taken)
        long_ = np.setdiff1d(long_, bad)
        errs.extend(ValueTooLong(int(lines[k]), it.field, f"{int(lens[k])} characters do not fit width {it.width}")
                    for k in long_)
        bad = np.union1d(bad, long_)
    return out, bad


def _decode_bytes(col: np.ndarray, enc: str, strip: bool = True) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.intp]]:
    """Strip (unless told not to) and decode a bytes column; rows that would not decode come back
    as "" and listed.

    ASCII columns convert in one numpy cast. Text columns are decoded as one buffer joined with line
    feeds (which no value holds) and split again: one decoder call instead of one per value.
    """
    stripped = np.strings.rstrip(col, b" ") if strip else col
    none = np.empty(0, dtype=np.intp)
    if stripped.size == 0:
        return stripped.astype("U1"), none
    if int(np.ascontiguousarray(stripped).view(np.uint8).max(initial=0)) < 0x80:
        return stripped.astype(f"U{max(stripped.dtype.itemsize, 1)}"), none
    values = stripped.tolist()
    try:
        return _str_array(b"\n".join(values).decode(enc).split("\n")), none
    except UnicodeDecodeError:
        pass
    out, bad = [], []
    for k, v in enumerate(values):
        try:
            out.append(v.decode(enc))
        except UnicodeDecodeError:
            out.append("")
            bad.append(k)
    return _str_array(out), np.array(bad, dtype=np.intp)


def _str_array(values: list[str]) -> npt.NDArray[np.str_]:
    """A str array as wide as its longest value (at least 1)."""
    return np.array(values, dtype=f"U{max(max(map(len, values), default=1), 1)}")


# ---- writing -----------------------------------------------------------------------------------

def write_fixed_columns(path: PathLike, layout: str | Layout, columns: Mapping[str, Any], *,
                        encoding: str = "utf-8", substitute: str = SUBSTITUTE, newline: str = "\n") -> WriteReport:
    """Write columns (field name → numpy ``str`` or ``bytes`` array, or list of ``str``) as a
    fixed-width file, a block of rows at a time; fields not given are written empty.

    The same file :func:`jukistore.fileio.write_fixed` writes for the same records, with the same
    checks and substitutions; the first bad value (lowest row, then item order) raises an error
    naming row and field and nothing is written. ``bytes`` columns are taken as already encoded in
    the file's encoding; text items given as bytes are decoded to be checked.
    """
    lay = layout_of(layout)
    enc = codec(encoding)
    check_substitute(substitute, enc)
    eol = np.frombuffer(check_newline(newline), dtype=np.uint8)
    cols = {f: _as_array(lay.item(f), v) for f, v in columns.items()}
    lengths = {f: len(v) for f, v in cols.items()}
    n = max(lengths.values(), default=0)
    for f, m in lengths.items():
        if m != n:
            raise ValueError(f"column {f} has {m} rows, others {n}")
    rb = lay.row_bytes(enc)
    stride = rb + len(eol)
    plan = [(it, off, w) for it, off, w in zip(lay.items, lay.byte_offsets(enc), lay.byte_widths(enc))
            if it.field in cols]
    rep = WriteReport(str(path), enc)
    step = max(1, _BLOCK // stride)
    with atomic_file(path) as fh:
        for s in range(0, n, step):
            m = min(step, n - s)
            block = np.full((m, stride), _SP, dtype=np.uint8)
            block[:, rb:] = eol
            first: list[tuple[int, int, RecordFormatError]] = []
            subs: list[Substitution] = []
            for order, (it, off, w) in enumerate(plan):
                raw, err, sub = _encode_column(it, cols[it.field][s : s + m], enc, substitute, s)
                if err is not None:
                    first.append((err.row, order, err))
                    continue
                subs.extend(sub)
                k = min(raw.shape[1], w)
                block[:, off : off + k] = np.where(raw[:, :k] == 0, _SP, raw[:, :k])
            if first:
                raise min(first, key=lambda t: (t[0], t[1]))[2]
            rank = {it.field: k for k, (it, _, _) in enumerate(plan)}
            rep.substitutions.extend(sorted(subs, key=lambda x: (x.row, rank[x.field], x.position)))
            block.tofile(fh)
            rep.rows = s + m
    return rep


def _as_array(it: Item, col: Any) -> np.ndarray:
    arr = np.asarray(col) if isinstance(col, np.ndarray) else np.asarray(list(col), dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"column {it.field} must be one-dimensional")
    if arr.dtype.kind in "SU":
        return arr
    if arr.dtype.kind == "O":
        for k, v in enumerate(arr.tolist()):
            if type(v) is not str or v.endswith("\x00"):  # numpy cannot hold a trailing NUL
                raise InvalidValue(k + 1, it.field, "holds a control character" if type(v) is str
                                   else f"is {type(v).__name__}, not str")
        return arr.astype(np.str_) if len(arr) else np.empty(0, dtype="U1")
    raise TypeError(f"column {it.field} has dtype {arr.dtype}: give text (str or bytes), e.g. ids.to_text")


def _encode_column(it: Item, col: np.ndarray, enc: str, substitute: str, row0: int
                   ) -> tuple[np.ndarray, RecordFormatError | None, list[Substitution]]:
    """A block of one column as a 2-D uint8 array of encoded values (NUL-padded), or its first error.

    Errors are found vectorised; the message for the first bad row comes from the scalar rule, so
    it is the one :func:`jukistore.fileio.write_fixed` gives.
    """
    none = np.empty((0, 0), dtype=np.uint8)
    if col.dtype.kind == "S" and not it.is_text:
        raw = _u8(col)
        return raw, _first(it, _bad_bytes(it, raw), lambda k: col[k].decode("latin-1"), row0), []
    if col.dtype.kind == "S":
        col, bad = _decode_bytes(col, enc, strip=False)
        if bad.size:
            return none, UndecodableBytes(row0 + int(bad[0]) + 1, it.field, f"bytes not valid {enc}"), []
    err = _first(it, _bad_chars(it, col), lambda k: str(col[k]), row0)
    if err is not None:
        return none, err, []
    if not it.is_text:
        raw = _u8(col.astype(f"S{max(col.dtype.itemsize // 4, 1)}"))
        return raw, _first(it, _bad_bytes(it, raw), lambda k: str(col[k]), row0), []
    subs: list[Substitution] = []
    try:
        if enc == "cp932" and np.isin(_u32(col), _CHANGED_CP).any():
            raise UnicodeError
        raw = _u8(np.strings.encode(col, enc))
    except UnicodeError:
        out = []
        for k, v in enumerate(col.tolist()):
            b, found = encode_text(v, enc, substitute)
            out.append(b)
            subs.extend(Substitution(row0 + k + 1, it.field, *x) for x in found)
        raw = _u8(np.array(out, dtype=f"S{max(max(map(len, out), default=1), 1)}"))
    return raw, None, subs


def _bad_chars(it: Item, col: np.ndarray) -> npt.NDArray[np.bool_]:
    """Rows of a str column with too many characters, a control character, a trailing space, or
    (ASCII items) a character outside printable ASCII."""
    cp = _u32(col)
    lens = np.strings.str_len(col)
    bad = lens > it.width
    if cp.shape[1]:
        inside = np.arange(cp.shape[1]) < lens[:, None]
        bad |= (((cp < _SP) | (cp == 0x7F) | ((cp > 0x7E) & (not it.is_text))) & inside).any(axis=1)
        bad |= (lens > 0) & (cp[np.arange(len(cp)), np.maximum(lens - 1, 0)] == _SP)
    return bad


def _bad_bytes(it: Item, raw: np.ndarray) -> npt.NDArray[np.bool_]:
    """Rows of an ASCII item's NUL-padded bytes that break its rule or its width, or end in a space."""
    if not raw.shape[1]:
        return np.zeros(len(raw), dtype=bool)
    nul = raw == 0
    lens = raw.shape[1] - np.argmax(~nul[:, ::-1], axis=1)
    lens[nul.all(axis=1)] = 0
    bad = (lens > it.width) | (nul & (np.arange(raw.shape[1]) < lens[:, None])).any(axis=1)
    bad |= (lens > 0) & (raw[np.arange(len(raw)), np.maximum(lens - 1, 0)] == _SP)
    for b, _, _ in _value_problems(it, np.where(nul, _SP, raw)):
        bad |= b
    return bad


def _first(it: Item, bad: np.ndarray, value: Any, row0: int) -> RecordFormatError | None:
    if not bad.any():
        return None
    k = int(np.argmax(bad))
    p = problem(it, value(k))
    cls, msg = p if p is not None else (InvalidValue, "holds a control character")
    return cls(row0 + k + 1, it.field, msg)


def _u8(s: np.ndarray) -> npt.NDArray[np.uint8]:
    s = np.ascontiguousarray(s)
    return s.view(np.uint8).reshape(len(s), s.dtype.itemsize)


def _u32(u: np.ndarray) -> npt.NDArray[np.uint32]:
    u = np.ascontiguousarray(u)
    return u.view(np.uint32).reshape(len(u), u.dtype.itemsize // 4)
