"""Fixed-width files written from columns, a block of rows at a time, without a Python object per row.

A block is a 2-D uint8 array of rows, filled one column at a time and written in one call; blocks
are about 64 MB, so a million-row file never sits in memory whole. Values are checked by column
with the rules of :mod:`jukistore.fileio.values`; only text cp932 cannot hold is handled value by
value (to substitute and report it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from jukistore.fileio.base import PathLike, atomic_file, check_newline, layout_of
from jukistore.fileio.problems import InvalidValue, RecordFormatError, Substitution, UndecodableBytes, WriteReport
from jukistore.fileio.values import CP932_CHANGED, SUBSTITUTE, check_substitute, encode_text, problem
from jukistore.fileio.vec import (SP, byte_problems, decode_bytes, nul_lengths, nul_padded_problems, u8, u32,
                                  utf8_chars, utf8_problems)
from jukistore.layouts import Item, Layout, codec

_BLOCK = 1 << 26  # bytes of rows written at a time
_CHANGED_CP = np.array([ord(c) for c in CP932_CHANGED], dtype=np.uint32)
Encoded = tuple[npt.NDArray[np.uint8], RecordFormatError | None, list[Substitution]]


def write_fixed_columns(path: PathLike, layout: str | Layout, columns: Mapping[str, Any], *,
                        encoding: str = "utf-8", substitute: str = SUBSTITUTE, newline: str = "\n") -> WriteReport:
    """Write columns (field name → numpy ``str`` or ``bytes`` array, or list of ``str``) as a
    fixed-width file; fields not given are written empty.

    The file is the one :func:`jukistore.fileio.write_fixed` writes for the same records, with the
    same checks and the same substitutions reported: the first bad value (lowest row, then item
    order) raises the error ``write_fixed`` would, and nothing is written. ``bytes`` columns are
    taken as already encoded in the file's encoding (and checked).
    """
    lay = layout_of(layout)
    enc = codec(encoding)
    check_substitute(substitute, enc)
    eol = np.frombuffer(check_newline(newline), dtype=np.uint8)
    cols = {f: _as_array(lay.item(f), v) for f, v in columns.items()}
    n = max((len(v) for v in cols.values()), default=0)
    for f, v in cols.items():
        if len(v) != n:
            raise ValueError(f"column {f} has {len(v)} rows, others {n}")
    rb = lay.row_bytes(enc)
    stride = rb + len(eol)
    plan = [(it, off, w) for it, off, w in zip(lay.items, lay.byte_offsets(enc), lay.byte_widths(enc))
            if it.field in cols]
    rank = {it.field: k for k, (it, _, _) in enumerate(plan)}
    rep = WriteReport(str(path), enc)
    step = max(1, _BLOCK // stride)
    whole = np.empty((min(step, n), stride), dtype=np.uint8)  # one buffer, refilled: fresh pages cost more
    with atomic_file(path) as fh:
        for s in range(0, n, step):
            m = min(step, n - s)
            block = whole[:m]
            block[:, :rb] = SP
            block[:, rb:] = eol
            errs: list[RecordFormatError] = []
            subs: list[Substitution] = []
            for it, off, w in plan:
                raw, err, found = _encode(it, cols[it.field][s : s + m], enc, substitute, s)
                if err is not None:
                    errs.append(err)
                    continue
                subs.extend(found)
                k = min(raw.shape[1], w)
                block[:, off : off + k] = np.where(raw[:, :k] == 0, SP, raw[:, :k])
            if errs:
                raise min(errs, key=lambda e: (e.row, rank[e.field or ""]))
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
            if type(v) is not str:
                raise InvalidValue(k + 1, it.field, f"is {type(v).__name__}, not str")
            if v.endswith("\x00"):  # a numpy str array would drop it silently
                raise InvalidValue(k + 1, it.field, "holds a control character")
        return arr.astype(np.str_) if len(arr) else np.empty(0, dtype="U1")
    raise TypeError(f"column {it.field} has dtype {arr.dtype}: give text (str or bytes), e.g. ids.to_text")


def _encode(it: Item, col: np.ndarray, enc: str, substitute: str, row0: int) -> Encoded:
    """A block of one column as a 2-D NUL-padded uint8 array of encoded values, or its first error.

    Bad rows are found vectorised; the message for the first comes from the scalar rule, so it is
    the one ``write_fixed`` gives.
    """
    none = np.empty((0, 0), dtype=np.uint8)
    if col.dtype.kind == "S":
        raw = u8(col)
        if not it.is_text:
            return raw, _first(it, nul_padded_problems(it, raw), lambda k: col[k].decode("latin-1"), row0), []
        if enc == "utf-8":
            undecodable = utf8_problems(raw)
            if undecodable.any():
                return none, UndecodableBytes(row0 + int(np.argmax(undecodable)) + 1, it.field, "bytes not valid utf-8"), []
            return raw, _first(it, _bad_text_bytes(it, raw), lambda k: col[k].decode(), row0), []
        col, bad = decode_bytes(col, enc, strip=False)  # cp932 bytes: checked as text, encoded again
        if bad.size:
            return none, UndecodableBytes(row0 + int(bad[0]) + 1, it.field, f"bytes not valid {enc}"), []
    err = _first(it, _bad_chars(it, col), lambda k: str(col[k]), row0)
    if err is not None:
        return none, err, []
    if not it.is_text:
        raw = u8(col.astype(f"S{max(col.dtype.itemsize // 4, 1)}"))
        return raw, _first(it, nul_padded_problems(it, raw), lambda k: str(col[k]), row0), []
    raw_or_none = _encode_text(col, enc)
    if raw_or_none is not None:
        return raw_or_none, None, []
    out: list[bytes] = []
    subs: list[Substitution] = []
    for k, v in enumerate(col.tolist()):
        b, found = encode_text(v, enc, substitute)
        out.append(b)
        subs.extend(Substitution(row0 + k + 1, it.field, *x) for x in found)
    return u8(np.array(out, dtype=f"S{max(max(map(len, out), default=1), 1)}")), None, subs


def _encode_text(col: np.ndarray, enc: str) -> npt.NDArray[np.uint8] | None:
    """A str column encoded, or None when some value needs a substitution.

    numpy encodes value by value, so only the values that are not empty are given to it: many
    items of the master (foreign residents', removed persons') are empty in most rows.
    """
    if enc == "cp932" and np.isin(u32(col), _CHANGED_CP).any():
        return None
    full = np.flatnonzero(np.strings.str_len(col))
    try:
        if len(full) == len(col):
            return u8(np.strings.encode(col, enc))
        out = np.zeros((len(col), 1), dtype=np.uint8)
        if len(full):
            part = u8(np.strings.encode(col[full], enc))
            out = np.zeros((len(col), part.shape[1]), dtype=np.uint8)
            out[full] = part
        return out
    except UnicodeEncodeError:
        return None


def _bad_chars(it: Item, col: np.ndarray) -> npt.NDArray[np.bool_]:
    """Rows of a str column with too many characters, a control character, a trailing space, or
    (ASCII items) a character outside printable ASCII."""
    cp = u32(col)
    lens = np.strings.str_len(col)
    bad = lens > it.width
    if cp.shape[1]:
        inside = np.arange(cp.shape[1]) < lens[:, None]
        wrong = (cp < SP) | (cp == 0x7F)
        if not it.is_text:
            wrong |= cp > 0x7E
        bad |= (wrong & inside).any(axis=1)
        bad |= (lens > 0) & (cp[np.arange(len(cp)), np.maximum(lens - 1, 0)] == SP)
    return bad


def _ends_badly(raw: npt.NDArray[np.uint8], lens: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
    """Rows of NUL-padded bytes holding a NUL before their end, or ending in a space."""
    if not raw.shape[1]:
        return np.zeros(len(raw), dtype=bool)
    inner_nul = ((raw == 0) & (np.arange(raw.shape[1]) < lens[:, None])).any(axis=1)
    return inner_nul | ((lens > 0) & (raw[np.arange(len(raw)), np.maximum(lens - 1, 0)] == SP))


def _bad_text_bytes(it: Item, raw: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Rows of a text item's NUL-padded UTF-8 with too many characters, a control character, or
    ending badly."""
    lens = nul_lengths(raw)
    bad = (utf8_chars(raw) > it.width) | _ends_badly(raw, lens)
    for b, _, _ in byte_problems(it, np.where(raw == 0, SP, raw)):
        bad |= b
    return bad


def _first(it: Item, bad: npt.NDArray[np.bool_], value: Callable[[int], str], row0: int) -> RecordFormatError | None:
    if not bad.any():
        return None
    k = int(np.argmax(bad))
    p = problem(it, value(k))
    cls, msg = p if p is not None else (InvalidValue, "holds a control character")
    return cls(row0 + k + 1, it.field, msg)
