"""What readers and writers report: typed row errors and cp932 substitutions.

Errors name the row and the field but never quote the value: a value may be a 個人番号 or a name,
and error messages end up in logs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from jukistore.errors import JukistoreError

#: How readers treat a malformed row: stop at the first, or keep going and collect them all.
Errors = Literal["raise", "collect"]


class RecordFormatError(JukistoreError, ValueError):
    """A row that does not fit its layout.

    ``row`` is 1-based: the line of the file for readers (in CSV the header is line 1), the
    position of the record in the input for writers. ``field`` is None when the whole row is wrong
    (its length, its number of columns).
    """

    def __init__(self, row: int, field: str | None, message: str):
        self.row = row
        self.field = field
        self.reason = message
        super().__init__(f"row {row}" + (f", field {field}" if field else "") + f": {message}")

    def __reduce__(self) -> tuple[type[RecordFormatError], tuple[int, str | None, str]]:
        return type(self), (self.row, self.field, self.reason)


class RowLengthError(RecordFormatError):
    """A fixed-width line whose length is not the layout's row width."""


class ColumnCountError(RecordFormatError):
    """A CSV row with the wrong number of columns."""


class HeaderError(RecordFormatError):
    """A CSV header that does not name the layout's fields (or Japanese names) in order."""


class UndecodableBytes(RecordFormatError):
    """Bytes that are not valid in the file's encoding."""


class InvalidValue(RecordFormatError):
    """A value that breaks its item's rule: non-digits in a digits item, a control character, ..."""


class ValueTooLong(InvalidValue):
    """A value with more characters than its item's width; it is never truncated."""


@dataclass(frozen=True)
class Substitution:
    """One character a file could not hold as it was: where it was and what was written instead.

    ``position`` is the 0-based index in the original value (``value[position] == char``).
    ``replacement`` is the substitute (``〓`` by default), the character the file will read back
    as (cp932 writes WAVE DASH 〜 as the code it reads back as FULLWIDTH TILDE ～), or "" for a
    variation selector, which is left out: the base character before it is written.
    """

    row: int
    field: str
    position: int
    char: str
    replacement: str

    @property
    def codepoint(self) -> str:
        """The character as ``U+XXXX``."""
        return f"U+{ord(self.char):04X}"

    def __str__(self) -> str:
        repl = f"U+{ord(self.replacement):04X}" if self.replacement else "nothing"
        return f"row {self.row}, field {self.field}, position {self.position}: {self.codepoint} written as {repl}"


@dataclass
class WriteReport:
    """What a writer did: rows written and every substitution, in row and field order."""

    path: str
    encoding: str
    rows: int = 0
    substitutions: list[Substitution] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every character was written as given."""
        return not self.substitutions

    def by_field(self) -> Counter[str]:
        """Number of substitutions per field."""
        return Counter(s.field for s in self.substitutions)

    def __str__(self) -> str:
        rows = len({s.row for s in self.substitutions})
        return (f"{self.rows:,} rows written to {self.path} ({self.encoding}); "
                f"{len(self.substitutions):,} characters substituted in {rows:,} rows")
