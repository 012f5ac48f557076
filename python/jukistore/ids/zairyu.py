"""在留カード等番号 (residence card or special permanent resident certificate number).

Two letters, eight digits, two letters (e.g. ``AB12345678CD``). There is no public check digit,
so only the form is checked. A new card gets a new number: store it per card, never use it as a
key for a person.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

import numpy as np
import numpy.typing as npt

from jukistore.errors import InvalidFormat, InvalidLength, mask
from jukistore.ids._common import FORMAT, LENGTH, OK, REASONS

KIND = "zairyu"
LENGTH_ = 12
_FORM = re.compile(r"[A-Z]{2}[0-9]{8}[A-Z]{2}")


def compact(number: object) -> str:
    """Upper-case ASCII without separators or whitespace (full-width forms converted)."""
    if not isinstance(number, str):
        raise InvalidFormat(f"expected str, got {type(number).__name__}")
    text = unicodedata.normalize("NFKC", number).strip().upper()
    return text.replace(" ", "").replace("-", "")


def _code(text: str) -> int:
    if len(text) != LENGTH_:
        return LENGTH
    return OK if _FORM.fullmatch(text) else FORMAT


def validate(number: object) -> str:
    """Return the compacted number or raise InvalidLength / InvalidFormat."""
    text = compact(number)
    code = _code(text)
    if code == LENGTH:
        raise InvalidLength(f"在留カード等番号 {mask(text)}: 12 characters expected")
    if code == FORMAT:
        raise InvalidFormat(f"在留カード等番号 {mask(text)}: two letters, eight digits, two letters expected")
    return text


def is_valid(number: object) -> bool:
    """True when :func:`validate` would succeed."""
    try:
        return _code(compact(number)) == OK
    except InvalidFormat:
        return False


def explain(number: object) -> str:
    """The reason name for one value."""
    try:
        return REASONS[_code(compact(number))]
    except InvalidFormat:
        return "format"


def format(number: object) -> str:
    """The number as printed on the card (no separators)."""
    return compact(number)


def explain_many(values: npt.NDArray[np.generic] | Sequence[object]) -> npt.NDArray[np.uint8]:
    """A reason code per value, taken as is (no compacting). Format only, so no native kernel."""
    seq = values.tolist() if isinstance(values, np.ndarray) else list(values)
    out = np.empty(len(seq), dtype=np.uint8)
    for i, v in enumerate(seq):
        if isinstance(v, bytes):
            v = v.decode("ascii", "replace")
        out[i] = _code(v) if isinstance(v, str) else FORMAT
    return out


def is_valid_many(values: npt.NDArray[np.generic] | Sequence[object]) -> npt.NDArray[np.bool_]:
    """A boolean per value."""
    return explain_many(values) == OK
