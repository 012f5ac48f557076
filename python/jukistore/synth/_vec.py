"""Vectorised text building on numpy ``S`` arrays of UTF-8 bytes.

Why bytes and not numpy ``U`` strings: the files are UTF-8, and encoding a ``U`` column costs a
Python call per value (about a second per million values and column). Every piece of text here
comes from a small pool that is encoded once; columns are then built by indexing pools and joining
byte arrays, which numpy does in C. A ``S`` array drops trailing NUL bytes, which UTF-8 text never
contains, so the bytes read back exactly.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import numpy.typing as npt

Bytes = npt.NDArray[np.bytes_]
Ints = npt.NDArray[np.integer]

EMPTY = np.bytes_(b"")
EPOCH_YEAR = 1970


def pool(strings: Iterable[str]) -> Bytes:
    """A list of str as one UTF-8 ``S`` array (encode once, index many times)."""
    data = [s.encode("utf-8") for s in strings]
    return np.array(data, dtype=f"S{max((len(b) for b in data), default=1) or 1}")


def cat(*parts: Bytes | np.bytes_) -> Bytes:
    """Row-wise concatenation of byte arrays (and scalars), like ``a + b + c`` per row."""
    out = np.asarray(parts[0])
    for p in parts[1:]:
        out = np.asarray(np.strings.add(out, p))
    return out


def combine(left: Bytes, right: Bytes, sep: bytes = b"") -> Bytes:
    """Every ``left[i] + sep + right[j]`` as a flat table indexed ``i * len(right) + j``.

    Names and addresses are combinations of a few pools; building the combination table once
    and indexing it is far cheaper than joining strings per person.
    """
    l = np.strings.add(left, np.bytes_(sep)) if sep else left
    return np.asarray(np.strings.add(l[:, None], right[None, :])).reshape(-1)


def where(mask: npt.NDArray[np.bool_], value: Bytes | bytes, other: Bytes | bytes = b"") -> Bytes:
    """``value`` where ``mask`` else ``other`` (default empty), kept as bytes.

    Most masked columns are sparse (foreign residents, removed persons), so the common case with
    an empty ``other`` starts from zeros (empty strings) and copies only the selected rows.
    """
    mask = np.asarray(mask, dtype=bool)
    if isinstance(other, (bytes, np.bytes_)) and not other:
        v = np.asarray(value)
        out = np.zeros(len(mask), dtype=v.dtype if v.dtype.kind == "S" else f"S{max(len(bytes(value)), 1)}")
        out[mask] = v[mask] if v.ndim else v
        return out
    return np.asarray(np.where(mask, value, other))


def scatter(n: int, rows: npt.NDArray[np.integer], values: Bytes) -> Bytes:
    """A column of ``n`` empty strings with ``values`` placed at ``rows``.

    For text only a few persons have (foreign residents, the removed): build it for those rows
    and scatter, instead of building it for everyone and masking.
    """
    v = np.asarray(values)
    out = np.zeros(n, dtype=v.dtype if v.dtype.kind == "S" and v.dtype.itemsize else "S1")
    np.put(out, np.asarray(rows, dtype=np.int64), v)  # np.put copies S items several times faster than out[rows] = v
    return out


def take(table: Bytes, index: npt.NDArray[np.integer] | int) -> Bytes:
    """``table[index]`` for byte strings: numpy's ``take`` copies ``S`` items several times faster
    than fancy indexing does, and generation is mostly such gathers."""
    return np.take(table, index)


_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), dtype=np.uint8).reshape(100, 2)


def digits(values: Ints, width: int) -> Bytes:
    """Non-negative integers as zero-padded ASCII of ``width`` digits (``S<width>``).

    Two digits per step through a 100-entry table: half the divisions of a digit-by-digit loop.
    """
    rest = np.asarray(values, dtype=np.int64).copy()
    out = np.empty((len(rest), width), dtype=np.uint8)
    k = width
    while k >= 2:
        out[:, k - 2 : k] = _PAIRS[rest % 100]
        rest //= 100
        k -= 2
    if k:
        out[:, 0] = (rest % 10).astype(np.uint8) + 48
    return out.view(f"S{width}").reshape(-1)


def numbers(values: Ints, upto: int) -> Bytes:
    """Small non-negative integers as plain ASCII numerals (no padding), by table lookup."""
    table = pool(str(i) for i in range(upto + 1))
    return table[np.asarray(values)]


def days(y: int, m: int, d: int) -> int:
    """Day number (days since 1970-01-01) of a calendar date."""
    return int(np.datetime64(f"{y:04d}-{m:02d}-{d:02d}", "D").astype(np.int64))


def parse_day(text: str) -> int:
    """Day number of a ``YYYYMMDD`` or ``YYYY-MM-DD`` string."""
    t = text.replace("-", "")
    return days(int(t[:4]), int(t[4:6]), int(t[6:8]))


def ymd(day_numbers: Ints) -> tuple[Ints, Ints, Ints]:
    """Year, month, day of day numbers, vectorised through numpy's calendar."""
    d = np.asarray(day_numbers, dtype="datetime64[D]")
    months = d.astype("datetime64[M]")
    y = months.astype("datetime64[Y]").astype(np.int64) + EPOCH_YEAR
    m = months.astype(np.int64) % 12 + 1
    dd = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, dd


def date_text(y: Ints, m: Ints, d: Ints) -> Bytes:
    """``YYYYMMDD`` from parts, as written: 0 parts give ``00``, impossible days are kept."""
    y, m, d = np.asarray(y), np.asarray(m), np.asarray(d)
    out = np.empty((len(y), 8), dtype=np.uint8)
    out[:, 0:2] = _PAIRS[y // 100]
    out[:, 2:4] = _PAIRS[y % 100]
    out[:, 4:6] = _PAIRS[m]
    out[:, 6:8] = _PAIRS[d]
    return out.view("S8").reshape(-1)


def day_text(day_numbers: Ints, present: npt.NDArray[np.bool_] | None = None) -> Bytes:
    """``YYYYMMDD`` of day numbers; empty where ``present`` is False.

    Dates of a ward span a century or so, far fewer days than persons: the text of every day in
    the range is built once and indexed, which beats calendar arithmetic per person.
    """
    dn = np.asarray(day_numbers, dtype=np.int64)
    if len(dn) == 0:
        return np.empty(0, dtype="S8")
    lo, hi = int(dn.min()), int(dn.max())
    span = np.arange(lo, hi + 1, dtype=np.int64)
    table = date_text(*ymd(span))
    text = table[dn - lo]
    return text if present is None else where(present, text)


def weighted(rng: np.random.Generator, weights: Sequence[float] | npt.NDArray[np.float64], n: int) -> npt.NDArray[np.intp]:
    """``n`` indices drawn with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(p / p.sum())
    cdf[-1] = 1.0
    return np.searchsorted(cdf, rng.random(n), side="right").astype(np.intp)


def pick_exact(rng: np.random.Generator, candidates: npt.NDArray[np.integer], rate: float, total: int) -> npt.NDArray[np.int64]:
    """``round(rate * total)`` distinct candidates (at least one when ``rate > 0``), sorted.

    Rare cases are planted in exact numbers rather than by coin flips, so a small ward still
    holds each of them and tests can rely on the count.
    """
    if rate <= 0 or len(candidates) == 0:
        return np.empty(0, dtype=np.int64)
    k = min(len(candidates), max(1, int(round(rate * total))))
    return np.sort(rng.choice(np.asarray(candidates, dtype=np.int64), size=k, replace=False))
