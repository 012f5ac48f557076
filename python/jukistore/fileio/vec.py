"""Vectorised pieces of the columnar reader and writer: byte rules, UTF-8 in and out.

Every function works on whole columns (2-D uint8 arrays of a field's bytes, or numpy str arrays),
never on one value at a time; the rules are those of :func:`jukistore.fileio.values.problem`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from jukistore.fileio.problems import InvalidValue, RecordFormatError
from jukistore.layouts import DIGIT_TYPES, Item

SP = 0x20
Bad = tuple[npt.NDArray[np.bool_], type[RecordFormatError], str]

def byte_problems(it: Item, raw: npt.NDArray[np.uint8], clean: bool = False) -> list[Bad]:
    """Rows whose space-padded bytes break the item's rule, with the error the row reader gives.

    ``clean`` says the caller already knows the bytes hold no control character (a whole-file
    scan found none), which is then all a text item needs. Bad bytes are found element-wise on a
    contiguous copy; rows are reduced only when some byte is bad, which in a good file none is.
    """
    if not len(raw) or not raw.shape[1]:
        return []
    t = it.type
    raw = np.ascontiguousarray(raw)
    if it.is_text:
        return [] if clean else [(_rows((raw < SP) | (raw == 0x7F)), InvalidValue, "holds a control character")]
    if t in ("code", "flag", "alnum"):
        m = (raw > 0x7E) if clean else ((raw < SP) | (raw > 0x7E))
        return [(_rows(m), InvalidValue, f"a {t} item holds a character other than printable ASCII")]
    sp = raw == SP
    ok = (raw - np.uint8(0x30)) < 10
    if t == "bin":
        ok |= (raw - np.uint8(0x41)) < 6
    m = ~(ok | sp)
    m[:, 1:] |= sp[:, :-1] & ok[:, 1:]  # a space before a character: a space inside the value
    if t == "date":  # 8 wide: all digits or all padding
        m[:, 0] |= ok[:, 0] & sp[:, -1]
        return [(_rows(m), InvalidValue, "a date is 8 digits, YYYYMMDD")]
    if t == "bin":
        return [(_rows(m), InvalidValue, "a bin item holds a character other than 0-9, A-F")]
    assert t in DIGIT_TYPES
    return [(_rows(m), InvalidValue, f"a {t} item holds a character other than 0-9")]


def _rows(m: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    return np.asarray(m.any(axis=1), dtype=bool) if m.any() else np.zeros(len(m), dtype=bool)


def u8(s: np.ndarray) -> npt.NDArray[np.uint8]:
    """A bytes (``S``) array as a 2-D uint8 array, one row per value, NUL-padded."""
    s = np.ascontiguousarray(s)
    return s.view(np.uint8).reshape(len(s), s.dtype.itemsize)


def u32(u: np.ndarray) -> npt.NDArray[np.uint32]:
    """A str (``U``) array as a 2-D array of code points, one row per value, 0-padded."""
    u = np.ascontiguousarray(u)
    return u.view(np.uint32).reshape(len(u), u.dtype.itemsize // 4)


def nul_lengths(raw: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp]:
    """Length of each NUL-padded row: up to its last non-NUL byte."""
    if not raw.shape[1]:
        return np.zeros(len(raw), dtype=np.intp)
    nz = raw != 0
    lens = raw.shape[1] - np.argmax(nz[:, ::-1], axis=1)
    lens[~nz.any(axis=1)] = 0
    return lens


def nul_padded_problems(it: Item, raw: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Rows of an ASCII item's NUL-padded bytes (values to write) that break its rule, are wider
    than the item, hold a NUL before their end or end in a space."""
    if not raw.shape[1]:
        return np.zeros(len(raw), dtype=bool)
    t = it.type
    table = _PRINTABLE_W if t in ("code", "flag", "alnum") else (_HEX_W if t == "bin" else _DIGIT_W)
    cls = table[raw]
    bad = (cls == 0).any(axis=1) | ((cls[:, :-1] == 2) & (cls[:, 1:] != 2)).any(axis=1)  # a NUL inside
    lens = (cls != 2).sum(axis=1)
    if raw.shape[1] > it.width:
        bad |= lens > it.width
    if t == "date":
        bad |= (lens != 0) & (lens != 8)
    elif table is _PRINTABLE_W:
        bad |= (lens > 0) & (raw[np.arange(len(raw)), np.maximum(lens - 1, 0)] == SP)
    return bad


# Byte classes of values to write: 0 = not allowed, 1 = allowed, 2 = NUL (numpy's padding).
_DIGIT_W = np.zeros(256, dtype=np.uint8)
_DIGIT_W[0x30:0x3A] = 1
_DIGIT_W[0] = 2
_HEX_W = _DIGIT_W.copy()
_HEX_W[0x41:0x47] = 1
_PRINTABLE_W = np.zeros(256, dtype=np.uint8)
_PRINTABLE_W[0x20:0x7F] = 1
_PRINTABLE_W[0] = 2


def utf8_problems(raw: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Rows of NUL-padded bytes that are not valid UTF-8.

    One decoder call checks the whole column: padding (NUL) is valid UTF-8 and no character can
    span a NUL, so the column decodes as one buffer exactly when every value does, provided no
    value starts with a continuation byte (which could complete the previous row's last
    character). Only a column that fails is checked value by value.
    """
    bad = (raw[:, 0] & 0xC0) == 0x80 if raw.shape[1] else np.zeros(len(raw), dtype=bool)
    try:
        raw.tobytes().decode("utf-8")
        return bad
    except UnicodeDecodeError:
        pass
    out = np.zeros(len(raw), dtype=bool)
    for k, row in enumerate(raw):
        try:
            row.tobytes().decode("utf-8")
        except UnicodeDecodeError:
            out[k] = True
    return out | bad


def utf8_chars(raw: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp]:
    """Characters in each NUL-padded row of valid UTF-8: bytes that do not continue a character."""
    return (((raw & 0xC0) != 0x80) & (raw != 0)).sum(axis=1)


def decode_bytes(col: np.ndarray, enc: str, strip: bool = True) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.intp]]:
    """Strip (unless told not to) and decode a bytes column; rows that do not decode come back as ""
    and listed.

    ASCII columns convert in one numpy cast. Text columns are decoded as one buffer joined with
    line feeds (which no value holds) and split again: one decoder call instead of one per value.
    """
    stripped = np.strings.rstrip(col, b" ") if strip else np.asarray(col)
    none = np.empty(0, dtype=np.intp)
    if stripped.size == 0:
        return np.empty(0, dtype="U1"), none
    if int(u8(stripped).max(initial=0)) < 0x80:
        return stripped.astype(f"U{max(stripped.dtype.itemsize, 1)}"), none
    values = stripped.tolist()
    try:
        return str_array(b"\n".join(values).decode(enc).split("\n")), none
    except UnicodeDecodeError:
        pass
    out, bad = [], []
    for k, v in enumerate(values):
        try:
            out.append(v.decode(enc))
        except UnicodeDecodeError:
            out.append("")
            bad.append(k)
    return str_array(out), np.array(bad, dtype=np.intp)


def str_array(values: list[str]) -> npt.NDArray[np.str_]:
    """A str array as wide as its longest value (at least 1)."""
    return np.array(values, dtype=f"U{max(max(map(len, values), default=1), 1)}")
