"""Dates as the register records them: western or 和暦, complete or not, possible or not.

Why a type of its own: the standard requires a store to accept a date *as recorded*. Old
registers hold birth dates with the month or day unknown (年月日不詳) and dates that never existed
(a 30 February copied from a handwritten register). Such a date must still be stored unchanged,
printed back, sorted and compared, so :class:`datetime.date` cannot hold it. A
:class:`RecordedDate` keeps the three numbers exactly as written, with ``0`` for an unknown part,
and only turns into a :class:`datetime.date` on request.

The stored form is :meth:`RecordedDate.compact`, eight ASCII digits ``YYYYMMDD`` with ``00`` for
an unknown part (``19800300``); :func:`parse` reads it back byte for byte. The bulk helpers
(:func:`parse_compact_many`, :func:`to_ordinal_key` ...) work on numpy arrays of that form.

Decisions:

- A 和暦 date outside its era's span (平成31年5月1日, which is 令和元年) is accepted and flagged with
  :attr:`RecordedDate.era_mismatch`, because registers do contain such dates. Its numbers are the
  plain arithmetic ones (平成31年 = 2019), so it sorts and compares where a reader expects, and
  :meth:`RecordedDate.wareki` prints it in the era actually in force.
- 明治 dates up to 明治5年12月 were reckoned in the old lunisolar calendar. They are converted by
  year arithmetic only (month and day kept as written), which is what registers do; the result is
  not an astronomical conversion.
- Western years must be written with four digits (``55年`` without an era is refused rather than
  guessed). Year ``0`` means the year is unknown; ``不詳`` alone is the fully unknown date.
- A month above 12 or a day above 31 is refused: those are typing errors, not recorded dates.
"""

from __future__ import annotations

import calendar
import datetime
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal, Sequence, Union

import numpy as np
import numpy.typing as npt

from jukistore.errors import JukistoreError, masked_text

__all__ = [
    "ERAS",
    "COMPACT_DTYPE",
    "Era",
    "RecordedDate",
    "DateError",
    "DateFormatError",
    "IncompleteDateError",
    "ImpossibleDateError",
    "EraError",
    "parse",
    "parse_compact_many",
    "to_ordinal_key",
    "is_valid_calendar_many",
    "format_compact_many",
]


# --------------------------------------------------------------------------------------------
# Errors


class DateError(JukistoreError, ValueError):
    """A date could not be read or used as asked.

    The message names the date text it was given (and the row, for bulk input) and nothing else,
    so it is safe to log.
    """

    def __init__(self, message: str, *, text: str | None = None, row: int | None = None):
        self.text = text
        self.row = row
        parts = [message]
        if text is not None:
            parts[0] = f"{message}: {masked_text(text)}"
        if row is not None:
            parts.append(f"row {row}")
        super().__init__("; ".join(parts))


class DateFormatError(DateError):
    """The text is not a date in any recorded form jukistore reads."""


class IncompleteDateError(DateError):
    """The date has an unknown year, month or day, so it names no single calendar day."""


class ImpossibleDateError(DateError):
    """The date was recorded as written but no such calendar day exists (e.g. 30 February)."""


class EraError(DateError):
    """No 和暦 era covers the date (it is before 明治 or its year is unknown)."""


# --------------------------------------------------------------------------------------------
# Eras


@dataclass(frozen=True)
class Era:
    """One era (元号): its names and the first day it was in force."""

    name: str  #: e.g. 昭和
    letter: str  #: e.g. S, the initial used in short forms
    start: tuple[int, int, int]  #: first day in force, (year, month, day)

    @property
    def abbreviation(self) -> str:
        """The one-kanji short name (昭) written on forms."""
        return self.name[0]


#: The eras in order; each runs until the next one starts (令和 has no end).
ERAS: tuple[Era, ...] = (
    Era("明治", "M", (1868, 1, 25)),
    Era("大正", "T", (1912, 7, 30)),
    Era("昭和", "S", (1926, 12, 25)),
    Era("平成", "H", (1989, 1, 8)),
    Era("令和", "R", (2019, 5, 1)),
)

_ERA_BY_TOKEN: dict[str, Era] = {}
for _era in ERAS:
    _ERA_BY_TOKEN[_era.name] = _era
    _ERA_BY_TOKEN[_era.abbreviation] = _era
    _ERA_BY_TOKEN[_era.letter] = _era
    _ERA_BY_TOKEN[_era.letter.lower()] = _era
_ERA_BY_NAME = {era.name: era for era in ERAS}

#: The register's days are Japan's (no daylight saving time): "today" for a purge or a mailing
#: is today there.
JST = datetime.timezone(datetime.timedelta(hours=9))
_FAR_FUTURE = (10000, 1, 1)


def _era_end(era: Era) -> tuple[int, int, int]:
    """The first day *after* the era (exclusive end)."""
    index = ERAS.index(era)
    return ERAS[index + 1].start if index + 1 < len(ERAS) else _FAR_FUTURE


def _era_at(day: tuple[int, int, int]) -> Era | None:
    """The era in force on ``day`` (compared as numbers, so impossible days work too)."""
    found = None
    for era in ERAS:
        if era.start <= day:
            found = era
    return found


# --------------------------------------------------------------------------------------------
# The recorded date

Style = Literal["kanji", "short"]


def _check_part(name: str, value: object, high: int) -> int:
    """Refuse non-integers and out-of-range parts before they reach a stored record."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise DateFormatError(f"{name} must be an integer, got {type(value).__name__}")
    if not 0 <= int(value) <= high:
        raise DateFormatError(f"{name} out of range 0-{high}", text=str(value))
    return int(value)


def _days_in_month(year: int, month: int) -> int:
    """Days in a month; an unknown year (0) allows 29 February, since some year has it."""
    return calendar.monthrange(year or 2000, month)[1]


def _rebuild(year: int, month: int, day: int, text: str, era: str | None) -> "RecordedDate":
    """Pickle support: rebuild through the validating constructor."""
    return RecordedDate(year, month, day, text=text, era=era)


class RecordedDate:
    """A date exactly as recorded: ``year``, ``month``, ``day`` with 0 for an unknown part.

    Immutable and hashable. Two recorded dates are equal when their numbers are equal, whatever
    form they were written in (``S55.3.1 == 1980-03-01``); ``text`` keeps the form. Ordering is
    by (year, month, day) as numbers, so an unknown part (0) sorts before every known value of the
    same year or month, and an impossible date (1980-02-30) sorts by its numbers between its
    neighbours. ``era`` is the era name the date was written in, or ``None`` for a western date.
    """

    __slots__ = ("_year", "_month", "_day", "_text", "_era")

    _year: int
    _month: int
    _day: int
    _text: str
    _era: str | None

    def __init__(
        self,
        year: int,
        month: int = 0,
        day: int = 0,
        *,
        text: str | None = None,
        era: str | None = None,
    ) -> None:
        y = _check_part("year", year, 9999)
        m = _check_part("month", month, 12)
        d = _check_part("day", day, 31)
        if era is not None and (era not in _ERA_BY_NAME or y == 0):
            raise DateFormatError("era must be a known era name with a known year", text=str(era))
        object.__setattr__(self, "_year", y)
        object.__setattr__(self, "_month", m)
        object.__setattr__(self, "_day", d)
        object.__setattr__(self, "_era", era)
        object.__setattr__(self, "_text", f"{y:04d}{m:02d}{d:02d}" if text is None else text)

    @classmethod
    def from_date(cls, value: datetime.date) -> "RecordedDate":
        """A complete recorded date for a calendar day (text in ISO form)."""
        return cls(value.year, value.month, value.day, text=value.isoformat())

    # -- immutability and identity -----------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._year, self._month, self._day, self._text, self._era))

    def __repr__(self) -> str:
        return f"RecordedDate({self._year}, {self._month}, {self._day}, text={self._text!r})"

    def __str__(self) -> str:
        return self.isoformat()

    # -- parts -------------------------------------------------------------------------------

    @property
    def year(self) -> int:
        """Western year; 0 when unknown."""
        return self._year

    @property
    def month(self) -> int:
        """Month 1-12; 0 when unknown."""
        return self._month

    @property
    def day(self) -> int:
        """Day 1-31 (possibly impossible for the month); 0 when unknown."""
        return self._day

    @property
    def text(self) -> str:
        """The text the date was read from, unchanged (the compact form if built from numbers)."""
        return self._text

    @property
    def era(self) -> str | None:
        """The era name the date was written in (昭和 ...), ``None`` if written in western form."""
        return self._era

    @property
    def key(self) -> int:
        """Integer sort key ``y*10000 + m*100 + d``; equal to ``int(self.compact())``."""
        return self._year * 10000 + self._month * 100 + self._day

    # -- comparison --------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RecordedDate):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, RecordedDate):
            return NotImplemented
        return self.key < other.key

    def __le__(self, other: object) -> bool:
        if not isinstance(other, RecordedDate):
            return NotImplemented
        return self.key <= other.key

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, RecordedDate):
            return NotImplemented
        return self.key > other.key

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, RecordedDate):
            return NotImplemented
        return self.key >= other.key

    # -- what kind of date -------------------------------------------------------------------

    @property
    def is_complete(self) -> bool:
        """Year, month and day are all known (the day may still be impossible)."""
        return bool(self._year and self._month and self._day)

    @property
    def is_valid_calendar_date(self) -> bool:
        """Complete and a day that exists in the (proleptic Gregorian) calendar."""
        return self.is_complete and self._day <= _days_in_month(self._year, self._month)

    @property
    def is_impossible(self) -> bool:
        """The known parts cannot name any real day (30 February), whatever the unknown ones are."""
        if not (self._month and self._day):
            return False
        return self._day > _days_in_month(self._year, self._month)

    def _bounds(self) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """The earliest and latest day the recorded numbers may stand for."""
        y, m, d = self._year, self._month, self._day
        return (y, m or 1, d or 1), (y, m or 12, d or 31)

    @property
    def era_mismatch(self) -> bool:
        """Written in an era that was not in force on any day the date may stand for.

        平成31年5月1日 is such a date (令和 began on 2019-05-01); 昭和64年1月不詳 is not, since
        1-7 January 1989 were 昭和. Always ``False`` for western dates.
        """
        if self._era is None:
            return False
        era = _ERA_BY_NAME[self._era]
        low, high = self._bounds()
        return not (low < _era_end(era) and high >= era.start)

    # -- conversions -------------------------------------------------------------------------

    def to_date(self) -> datetime.date:
        """The calendar day, or a typed error when the date is incomplete or impossible."""
        if not self.is_complete:
            raise IncompleteDateError("date has unknown parts", text=self._text)
        if not self.is_valid_calendar_date:
            raise ImpossibleDateError("no such calendar day", text=self._text)
        return datetime.date(self._year, self._month, self._day)

    def isoformat(self) -> str:
        """``YYYY-MM-DD`` with ``00`` for unknown parts, impossible days kept (1980-02-30)."""
        return f"{self._year:04d}-{self._month:02d}-{self._day:02d}"

    def compact(self) -> str:
        """``YYYYMMDD`` with ``00`` for unknown parts: the form record fields store."""
        return f"{self._year:04d}{self._month:02d}{self._day:02d}"

    def wareki(self, style: Style = "kanji") -> str:
        """The date in 和暦: ``昭和55年3月1日`` (kanji) or ``S55.3.1`` (short).

        Kanji style writes year 1 as 元年 and unknown parts as 不詳 (``昭和55年3月不詳``); short
        style writes them as 0 (``S55.3.0``). Both read back through :func:`parse`. The era is
        the one in force; for a partial date that straddles an era change, the era it was written
        in is kept if it fits, otherwise the later era is used (1989 with unknown month is 平成元年).
        """
        if style not in ("kanji", "short"):
            raise ValueError(f"style must be 'kanji' or 'short', not {style!r}")
        if self._year == 0:
            if self._month or self._day:
                raise EraError("cannot write a date with an unknown year in 和暦", text=self._text)
            return "不詳"
        era = self._choose_era()
        number = self._year - era.start[0] + 1
        if style == "short":
            return f"{era.letter}{number}.{self._month}.{self._day}"
        return f"{era.name}{'元' if number == 1 else number}年{self._kanji_month_day()}"

    def _choose_era(self) -> Era:
        """The era to print the date in (see :meth:`wareki`)."""
        low, high = self._bounds()
        in_force = _era_at(high)
        if self._era is not None and (in_force is None or not self.era_mismatch):
            return _ERA_BY_NAME[self._era]
        if in_force is None:
            raise EraError("date is before 明治 (1868-01-25)", text=self._text)
        return in_force

    def _kanji_month_day(self) -> str:
        """The part after 年 in kanji style, with 不詳 for unknown parts."""
        m, d = self._month, self._day
        if not m and not d:
            return "不詳"
        if not d:
            return f"{m}月不詳"
        return f"{m or '不詳'}月{d}日"


# --------------------------------------------------------------------------------------------
# Parsing

_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_WHITESPACE = re.compile(r"\s+")
_ERA = r"(?P<era>明治|大正|昭和|平成|令和|[明大昭平令MTSHRmtshr])"
_KNUM = r"[0-9]+|[〇一二三四五六七八九十]+"

_UNKNOWN = re.compile(r"(?:年月日)?不詳")
_COMPACT = re.compile(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})")
_WESTERN = re.compile(r"(?P<y>[0-9]{4})(?P<s>[-/.])(?P<m>[0-9]{1,2})(?:(?P=s)(?P<d>[0-9]{1,2}))?")
_ERA_SHORT = re.compile(
    _ERA + r"(?P<y>[0-9]{1,3}|元)(?P<s>[-/.])(?P<m>[0-9]{1,2})(?P=s)(?P<d>[0-9]{1,2})"
)
_ERA_PACKED = re.compile(r"(?P<era>[MTSHRmtshr])(?P<y>[0-9]{2})(?P<m>[0-9]{2})(?P<d>[0-9]{2})")
_KANJI = re.compile(
    rf"{_ERA}?(?P<y>{_KNUM}|元)年"
    rf"(?:(?P<m>{_KNUM}|不詳)月(?:(?P<d>{_KNUM}|不詳)日|日?不詳)?|(?:月日)?不詳)?生?"
)
_KANJI_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")}


def _number(token: str | None) -> int:
    """Read a number written in ASCII or kanji digits; ``None``, 不詳 and 元 have fixed values."""
    if token is None or token == "不詳":
        return 0
    if token == "元":
        return 1
    if token.isascii():
        return int(token)
    if "十" not in token:
        return int("".join(str(_KANJI_DIGITS[c]) for c in token))
    tens, _, ones = token.partition("十")
    if "十" in ones or len(tens) > 1 or len(ones) > 1 or "〇" in tens + ones:
        raise ValueError(token)
    return (_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)


def _normalise(text: str) -> str:
    """Fold the spellings of one form together: full-width digits and signs, dashes, spacing.

    NFKC also expands the one-character era signs (㍼ → 昭和, ㋿ → 令和).
    """
    folded = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return _WHITESPACE.sub("", folded)


def _from_match(match: re.Match[str], original: str) -> RecordedDate:
    """Build the date from a matched form, turning era years into western years."""
    groups = match.groupdict()
    try:
        year, month, day = (_number(groups.get(k)) for k in ("y", "m", "d"))
    except (KeyError, ValueError):
        raise DateFormatError("not a number in date", text=original) from None
    era_token = groups.get("era")
    if era_token is None:
        if len(groups["y"]) != 4:
            raise DateFormatError("a western year needs four digits, or an era", text=original)
        return _build(year, month, day, original, None)
    if year == 0:
        raise DateFormatError("era year 0 does not exist", text=original)
    era = _ERA_BY_TOKEN[era_token]
    return _build(era.start[0] - 1 + year, month, day, original, era.name)


def _build(year: int, month: int, day: int, original: str, era: str | None) -> RecordedDate:
    """Construct, reporting range errors against the text the caller gave."""
    if year > 9999 or month > 12 or day > 31:
        raise DateFormatError("month, day or year out of range", text=original)
    return RecordedDate(year, month, day, text=original, era=era)


def parse(text: str) -> RecordedDate:
    """Read a date in any recorded form, keeping unknown and impossible parts as written.

    Western: ``1980-03-01``, ``1980/3/1``, ``1980.3.1``, ``1980-03`` (day unknown), ``19800301``,
    ``19800300``, ``1980年3月1日``, ``1980年3月``. 和暦: ``昭和55年3月1日``, ``昭55年3月1日``,
    ``昭和五十五年三月一日``, ``S55.3.1``, ``s55/03/01``, ``S550301``, ``令和元年5月1日``, ``R元.5.1``.
    Unknown parts: ``0``/``00``, or 不詳 in kanji forms (``昭和55年不詳``, ``昭和55年月日不詳``,
    ``昭和55年3月日不詳``, ``不詳``). Full-width characters and inner spaces are accepted; a
    trailing 生 (as printed after birth dates) is ignored. The text is kept in ``.text``.
    """
    if not isinstance(text, str):
        raise DateFormatError(f"expected str, got {type(text).__name__}")
    normal = _normalise(text)
    if _UNKNOWN.fullmatch(normal):
        return RecordedDate(0, 0, 0, text=text)
    for pattern in (_COMPACT, _WESTERN, _ERA_SHORT, _ERA_PACKED, _KANJI):
        match = pattern.fullmatch(normal)
        if match:
            return _from_match(match, text)
    raise DateFormatError("not a recognised date form", text=text)


# --------------------------------------------------------------------------------------------
# Bulk forms over compact text

#: The structured dtype of :func:`parse_compact_many`; 0 marks an unknown part.
COMPACT_DTYPE = np.dtype([("year", "<u2"), ("month", "u1"), ("day", "u1")])

BulkInput = Union[npt.NDArray[Any], Sequence[str], Sequence[bytes]]
_DIGIT_WEIGHTS = np.array([1000, 100, 10, 1], dtype=np.int32)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.uint8)


def _code_units(values: BulkInput) -> tuple[npt.NDArray[np.uint32], npt.NDArray[Any]]:
    """The input as an (n, width) array of code units, plus the original array for messages."""
    array = np.asarray(values)
    if array.dtype.kind not in "SU":
        raise DateFormatError(f"expected an array of S8 or U8 text, got dtype {array.dtype}")
    flat = np.ascontiguousarray(array.reshape(-1))
    unit = np.uint8 if array.dtype.kind == "S" else np.uint32
    width = array.dtype.itemsize // np.dtype(unit).itemsize
    units = flat.view(unit).reshape(flat.shape[0], width).astype(np.uint32)
    if width < 8:
        units = np.pad(units, ((0, 0), (0, 8 - width)))
    return units, flat


def _first_bad(bad: npt.NDArray[np.bool_], flat: npt.NDArray[Any], message: str) -> None:
    """Raise for the first bad row, naming its text and position."""
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = flat[row]
        shown = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        raise DateFormatError(message, text=shown, row=row)


def parse_compact_many(values: BulkInput) -> npt.NDArray[Any]:
    """Read many compact ``YYYYMMDD`` dates at once into a :data:`COMPACT_DTYPE` array.

    As strict as the stored form: exactly eight ASCII digits, month 0-12, day 0-31. Impossible
    days are kept (check with :func:`is_valid_calendar_many`). The output has the input's shape.
    """
    units, flat = _code_units(values)
    digits = units[:, :8] - ord("0")
    bad = (digits > 9).any(axis=1) | (units[:, 8:] != 0).any(axis=1)
    _first_bad(bad, flat, "not an 8-digit compact date")
    digits = digits.astype(np.int32)
    year = digits[:, :4] @ _DIGIT_WEIGHTS
    month = digits[:, 4] * 10 + digits[:, 5]
    day = digits[:, 6] * 10 + digits[:, 7]
    _first_bad((month > 12) | (day > 31), flat, "month or day out of range")
    out = np.empty(flat.shape[0], dtype=COMPACT_DTYPE)
    out["year"], out["month"], out["day"] = year, month, day
    return out.reshape(np.shape(values))


def _as_parts(values: BulkInput) -> npt.NDArray[Any]:
    """Accept either compact text or an already parsed :data:`COMPACT_DTYPE` array."""
    array = np.asarray(values)
    if array.dtype.names is not None:
        return array
    return parse_compact_many(array)


def to_ordinal_key(values: BulkInput) -> npt.NDArray[np.int32]:
    """int32 sort keys ``y*10000 + m*100 + d``: the same order as :class:`RecordedDate`."""
    parts = _as_parts(values)
    return (
        parts["year"].astype(np.int32) * 10000
        + parts["month"].astype(np.int32) * 100
        + parts["day"].astype(np.int32)
    )


def is_valid_calendar_many(values: BulkInput) -> npt.NDArray[np.bool_]:
    """Which dates are complete, real days: :attr:`RecordedDate.is_valid_calendar_date` in bulk."""
    parts = _as_parts(values)
    year = parts["year"].astype(np.int32)
    month = parts["month"].astype(np.intp)
    day = parts["day"]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    limit = _MONTH_DAYS[month] + ((month == 2) & leap)
    valid: npt.NDArray[np.bool_] = (year > 0) & (month > 0) & (day > 0) & (day <= limit)
    return valid


def format_compact_many(values: BulkInput) -> npt.NDArray[np.bytes_]:
    """Write parsed dates back as an S8 array of compact text (the inverse of parsing)."""
    parts = np.asarray(values)
    key = to_ordinal_key(parts).reshape(-1).astype(np.int64)
    powers = 10 ** np.arange(7, -1, -1, dtype=np.int64)
    digits = (key[:, None] // powers) % 10 + ord("0")
    return digits.astype(np.uint8).view("S8").reshape(parts.shape)
