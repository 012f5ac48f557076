"""Shared machinery of the identifier modules: compacting, the scalar checks and the bulk forms.

Each identifier module (``mynumber``, ``juminhyo`` ...) is a thin front on these functions, with
the python-stdnum names users already know. The arithmetic itself lives in the Rust core, so the
scalar and the bulk paths cannot disagree.
"""

from __future__ import annotations

import unicodedata
from typing import Sequence, Union

import numpy as np
import numpy.typing as npt

from jukistore import _core
from jukistore.errors import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError, mask

#: Reason codes returned by ``explain_many``; index = code.
REASONS: tuple[str, ...] = ("ok", "length", "format", "checksum")
OK, LENGTH, FORMAT, CHECKSUM = 0, 1, 2, 3

_ERRORS: dict[int, type[ValidationError]] = {
    LENGTH: InvalidLength,
    FORMAT: InvalidFormat,
    CHECKSUM: InvalidChecksum,
}

#: Characters ``compact`` removes (ASCII and full-width separators and spaces) or replaces (lone
#: surrogates, which cannot cross into the core as UTF-8, become U+FFFD, so they stay one character).
_SEPARATORS = {**str.maketrans("", "", " -\u3000\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\u30fc"), **dict.fromkeys(range(0xD800, 0xE000), 0xFFFD)}

BulkInput = Union[npt.NDArray[np.generic], Sequence[object]]


def _as_int(number: object) -> int | None:
    """Python and numpy integers (not bools) as int; None for anything else."""
    if isinstance(number, (int, np.integer)) and not isinstance(number, (bool, np.bool_)):
        return int(number)
    return None


def compact(number: object) -> str:
    """Return the number as bare ASCII digits.

    Full-width digits become ASCII (NFKC), separators and surrounding whitespace are removed.
    This is the only place jukistore is lenient about form; the bulk functions never are.
    """
    as_int = _as_int(number)
    if as_int is not None:
        if as_int < 0:
            raise InvalidFormat("negative integer")
        if as_int >= 10**40:
            raise InvalidLength("integer far too long")  # str() fails past 4300 digits
        return str(as_int)
    if not isinstance(number, str):
        raise InvalidFormat(f"expected str, got {type(number).__name__}")
    text = unicodedata.normalize("NFKC", number).strip()
    return text.translate(_SEPARATORS)


def explain(kind: str, number: object, *, length: int) -> int:
    """Reason code for one value after compacting; never raises for bad input."""
    as_int = _as_int(number)
    if as_int is not None:
        if as_int < 0:
            return FORMAT
        if as_int >= 10**length:
            return LENGTH
        return int(_core.explain_one(kind, str(as_int).zfill(length)))
    try:
        text = compact(number)
    except ValidationError as e:
        return LENGTH if isinstance(e, InvalidLength) else FORMAT
    return int(_core.explain_one(kind, text))


def validate(kind: str, number: object, *, length: int, label: str) -> str:
    """Compact and check a number; return it compacted or raise a typed error.

    Integers are accepted with their leading zeros implied. Errors say what is wrong and show the
    value masked to its last four digits.
    """
    as_int = _as_int(number)
    if as_int is not None:
        if as_int < 0:
            raise InvalidFormat(f"{label}: negative integer")
        if as_int >= 10**length:
            shown = mask(str(as_int)) if as_int < 10**4000 else "(over 4000 digits)"
            raise InvalidLength(f"{label} {shown}: more than {length} digits")
        text = str(as_int).zfill(length)
    else:
        text = compact(number)
    code = int(_core.explain_one(kind, text))
    if code != OK:
        raise _ERRORS[code](f"{label} {mask(text)}: {_ERRORS[code].__doc__}")
    return text


def calc_check_digit(kind: str, base: str, *, length: int) -> str:
    """The check digit of a base of ``length - 1`` ASCII digits."""
    if len(base) != length - 1:
        raise InvalidLength(f"a base has {length - 1} digits")
    if not (base.isascii() and base.isdigit()):
        raise InvalidFormat("a base is ASCII digits only")
    return str(_core.check_digit(kind, base))


def explain_many(kind: str, values: BulkInput, *, length: int) -> npt.NDArray[np.uint8]:
    """A reason code per value (see :data:`REASONS`), without a Python object per value.

    Accepts a numpy integer array (leading zeros implied; negative values are a format error,
    values of more than ``length`` digits a length error), a numpy fixed-width bytes (``S``) or
    str (``U``) array, or a list of str (anything else in the list is a format error). Values are
    taken as they are: no separators, whitespace or full-width digits, which are format errors.
    Large inputs are checked on all cores with the GIL released.
    """
    if isinstance(values, np.ndarray):
        return _explain_array(kind, values)
    if isinstance(values, (list, tuple)):
        return _core.explain_list(kind, list(values))
    raise TypeError(f"expected a numpy array or a list of str, got {type(values).__name__}")


def _explain_array(kind: str, arr: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    if arr.ndim != 1:
        raise ValueError(f"expected a one-dimensional array, got {arr.ndim} dimensions")
    dt = arr.dtype
    if dt.kind == "u":
        return _core.explain_u64(kind, np.ascontiguousarray(arr, dtype=np.uint64))
    if dt.kind == "i":
        neg = np.less(arr, 0)
        out = _core.explain_u64(kind, np.ascontiguousarray(np.where(neg, 0, arr), dtype=np.uint64))
        out[neg] = FORMAT
        return out
    if dt.kind == "S":
        width = dt.itemsize
        data = np.ascontiguousarray(arr).view(np.uint8).reshape(-1)
        if width == 0:
            return np.full(len(arr), LENGTH, dtype=np.uint8)
        return _core.explain_bytes(kind, data, width)
    if dt.kind == "U":
        width = dt.itemsize // 4
        if width == 0:
            return np.full(len(arr), LENGTH, dtype=np.uint8)
        ucs4: npt.NDArray[np.uint32] = np.ascontiguousarray(arr, dtype=f"U{width}").view(np.uint32).reshape(-1)  # native order
        return _core.explain_ucs4(kind, ucs4, width)
    if dt.kind == "O":
        return _core.explain_list(kind, arr.tolist())
    raise TypeError(f"unsupported array dtype {dt}; use uint64, int64, S or U")


def is_valid_many(kind: str, values: BulkInput, *, length: int) -> npt.NDArray[np.bool_]:
    """True where a value is valid; see :func:`explain_many` for the accepted inputs."""
    return explain_many(kind, values, length=length) == OK


def generate(kind: str, n: int, seed: int, start: int = 0) -> npt.NDArray[np.uint64]:
    """``n`` distinct valid synthetic numbers as uint64, deterministic from ``seed``.

    The numbers are a keyed permutation of the whole number space, so they never repeat, and
    ``generate(k, n, s, start=i)`` continues the same sequence from position ``i``. They are random,
    not reserved: use them only for tests and synthetic data.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    return _core.generate(kind, int(n), int(seed) & 0xFFFF_FFFF_FFFF_FFFF, int(start))


def to_text(values: npt.NDArray[np.integer], length: int) -> npt.NDArray[np.bytes_]:
    """Integers as zero-padded fixed-width ASCII (numpy ``S<length>``), vectorised. A value of more
    than ``length`` digits (or negative) is refused: cut to its last digits, it would read as
    another number, perhaps a valid one."""
    raw = np.asarray(values)
    if raw.dtype.kind == "i" and raw.size and int(raw.min()) < 0:
        raise ValueError(f"to_text: value {int(np.argmin(raw))} is negative")
    v = np.asarray(raw, dtype=np.uint64)
    if v.size and int(v.max()) >= 10**length:
        raise ValueError(f"to_text: value {int(np.argmax(v))} has more than {length} digits")
    digits = np.empty((len(v), length), dtype=np.uint8)
    rest = v.copy()
    for k in range(length - 1, -1, -1):
        digits[:, k] = (rest % 10).astype(np.uint8) + ord("0")
        rest //= 10
    return digits.view(f"S{length}").reshape(-1)


class Identifier:
    """One check-digit identifier with python-stdnum's functions bound to it.

    The identifier modules expose these bound methods as module functions, so
    ``jukistore.ids.mynumber.validate(x)`` reads like ``stdnum.jp.in_.validate(x)``.
    """

    def __init__(self, kind: str, length: int, label: str, groups: tuple[int, ...], sep: str = " "):
        self.kind = kind
        self.length = length
        self.label = label
        self._groups = groups
        self._sep = sep

    def compact(self, number: object) -> str:
        """Bare ASCII digits: full-width digits converted, separators and whitespace removed."""
        return compact(number)

    def calc_check_digit(self, number: str) -> str:
        """The check digit for a base (the number without its check digit)."""
        return calc_check_digit(self.kind, number, length=self.length)

    def validate(self, number: object) -> str:
        """Return the compacted number, or raise InvalidLength, InvalidFormat or InvalidChecksum."""
        return validate(self.kind, number, length=self.length, label=self.label)

    def is_valid(self, number: object) -> bool:
        """True when :meth:`validate` would succeed; never raises."""
        return explain(self.kind, number, length=self.length) == OK

    def explain(self, number: object) -> str:
        """The reason name (``ok``, ``length``, ``format``, ``checksum``) for one value."""
        return REASONS[explain(self.kind, number, length=self.length)]

    def format(self, number: object) -> str:
        """The number in its usual printed form (groups of digits)."""
        text = compact(number)
        out, i = [], 0
        for g in self._groups:
            out.append(text[i : i + g])
            i += g
        if i < len(text):
            out.append(text[i:])
        return self._sep.join(p for p in out if p)

    def explain_many(self, values: BulkInput) -> npt.NDArray[np.uint8]:
        """A reason code per value; see :data:`REASONS` and :func:`explain_many`."""
        return explain_many(self.kind, values, length=self.length)

    def is_valid_many(self, values: BulkInput) -> npt.NDArray[np.bool_]:
        """A boolean per value; see :func:`explain_many` for accepted inputs."""
        return is_valid_many(self.kind, values, length=self.length)

    def generate(self, n: int, seed: int, start: int = 0) -> npt.NDArray[np.uint64]:
        """``n`` distinct valid synthetic numbers (uint64), deterministic from ``seed``."""
        return generate(self.kind, n, seed, start)

    def to_text(self, values: npt.NDArray[np.integer]) -> npt.NDArray[np.bytes_]:
        """Integers as zero-padded ASCII, a numpy ``S`` array of this identifier's length."""
        return to_text(values, self.length)
