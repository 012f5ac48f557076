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

# Byte classes for the ASCII rules: 0 = not allowed, 1 = allowed, 2 = space (padding).
_DIGIT = np.zeros(256, dtype=np.uint8)
_DIGIT[0x30:0x3A] = 1
_DIGIT[SP] = 2
_HEX = _DIGIT.copy()
_HEX[0x41:0x47] = 1
_PRINTABLE = np.zeros(256, dtype=np.uint8)
_PRINTABLE[0x21:0x7F] = 1
_PRINTABLE[SP] = 2
_CONTROL = np.zeros(256, dtype=bool)
_CONTROL[:SP] = True
_CONTROL[0x7F] = True


def byte_problems(it: Item, raw: npt.NDArray[np.uint8], clean: bool = False) -> list[Bad]:
    """Rows whose space-padded bytes break the item's rule, with the error the row reader gives.

    ``clean`` says the caller already knows the bytes hold no control character (a whole-file
    scan found none), which is then all a text item needs.
    """
    if not len(raw) or not raw.shape[1]:
        return []
    t = it.type
    if it.is_text:
        return [] if clean else [(_CONTROL[raw].any(axis=1), InvalidValue, "holds a control character")]
    if t in ("code", "flag", "alnum"):
        bad = (raw > 0x7E).any(axis=1) if clean else (_PRINTABLE[raw] == 0).any(axis=1)
        return [(bad, InvalidValue, f"a {t} item holds a character other than printable ASCII")]
    cls = (_HEX if t == "bin" else _DIGIT)[raw]
    # allowed bytes, then padding: a space followed by anything else is a space inside the value
    bad = (cls == 0).any(axis=1) | (cls[:, 1:] < cls[:, :-1]).any(axis=1)
    if t == "date":  # 8 wide: all digits or all padding
        bad |= (cls[:, 0] == 1) & (cls[:, -1] == 2)
        return [(bad, InvalidValue, "a date is 8 digits, YYYYMMDD")]
    if t == "bin":
        return [(bad, InvalidValue, "a bin item holds a character other than 0-9, A-F")]
    assert t in DIGIT_TYPES
    return [(bad, InvalidValue, f"a {t} item holds a character other than 0-9")]


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


def utf8_encode(u: np.ndarray) -> npt.NDArray[np.uint8] | None:
    """A str array encoded as UTF-8: a 2-D NUL-padded uint8 array, or None if it holds surrogates.

    numpy's ``strings.encode`` calls the codec once per value; this computes every byte from the
    code points at once. Each code point writes all four of its possible bytes at its offset, last
    bytes first: a byte a short character does not use lands where a later character's earlier
    byte goes, which is written after it, or past the value's end, which is cleared.
    """
    cp = u32(u)
    if ((cp >= 0xD800) & (cp <= 0xDFFF)).any():
        return None
    n, k = cp.shape
    nb = (cp != 0).astype(np.int32) + (cp >= 0x80) + (cp >= 0x800) + (cp >= 0x10000)
    ends = np.cumsum(nb, axis=1, dtype=np.int32)
    lens = ends[:, -1] if k else np.zeros(n, dtype=np.int32)
    width = int(lens.max(initial=0))
    out = np.zeros((n, width + 4), dtype=np.uint8)
    pos = (ends - nb) + (np.arange(n, dtype=np.int64) * (width + 4))[:, None]
    two, three = cp < 0x800, cp < 0x10000
    c6, c12 = cp >> 6, cp >> 12
    flat = out.reshape(-1)
    flat[pos + 3] = 0x80 | (cp & 0x3F)
    flat[pos + 2] = 0x80 | np.where(three, cp, c6) & 0x3F
    flat[pos + 1] = 0x80 | np.where(two, cp, np.where(three, c6, c12)) & 0x3F
    flat[pos] = np.where(cp < 0x80, cp, np.where(two, 0xC0 | c6, np.where(three, 0xE0 | c12, 0xF0 | (cp >> 18))))
    out[np.arange(width + 4) >= lens[:, None]] = 0
    return out[:, : max(width, 1)]


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
