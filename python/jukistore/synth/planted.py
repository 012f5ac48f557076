"""The rare cases a synthetic ward plants on purpose, their rates, and the truth table.

Naive code breaks on a handful of things real registers hold: names with characters outside JIS
X 0208 (外字), with ideographic variation sequences or with private-use characters; birth dates
with an unknown day or month, or that never existed; persons whose 住民票コード or 個人番号 was
changed, so that an old number must still find them. Each is planted at a small, controlled rate
and listed in :class:`Truth`, so tests can find every instance without scanning text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Rows = npt.NDArray[np.int64]

#: Names of the cases in :attr:`Truth.cases`.
CASES: tuple[str, ...] = (
    "gaiji_name",  # 漢字氏名 holds a character outside JIS X 0208 (髙, 﨑, 𠮷 ...)
    "ivs_name",  # 漢字氏名 holds an ideographic variation sequence (葛 + U+E0100)
    "pua_name",  # 漢字氏名 holds a private-use character (U+E000..)
    "gaiji_katagaki",  # 現住所方書 holds 外字
    "birth_day_unknown",  # 生年月日 'YYYYMM00'
    "birth_month_unknown",  # 生年月日 'YYYY0000'
    "birth_impossible",  # 生年月日 not a calendar date ('19800230')
    "juminhyo_changed",  # 住民票コード reissued; the old code is in Truth.old_juminhyo
    "mynumber_changed",  # 個人番号 changed; the old number is in Truth.old_mynumber
    "no_mynumber",  # removed before My Number began (2015-10-05): item 81 empty
    "removed_before_2014_06_20",  # a 除票 the 5-year rule of that time would have erased
    "foreign_infant",  # 出生による経過滞在者: no residence card yet
)


@dataclass(frozen=True)
class Rates:
    """How often each planted case and each population trait occurs.

    Household-level rates (``*_households``) are the share of households chosen; all members of
    a chosen household who carry its surname show the case, because a family shares its
    spelling. Person-level rates are shares of all persons (current and removed), planted in
    exact numbers (at least one each when the rate is positive) so a small ward still has them.
    """

    foreign_households: float = 0.04
    gaiji_households: float = 0.004
    ivs_households: float = 0.0015
    pua_households: float = 0.001
    gaiji_katagaki_households: float = 0.001
    birth_day_unknown: float = 0.0004
    birth_month_unknown: float = 0.0002
    birth_impossible: float = 0.0002
    juminhyo_changed: float = 0.001
    mynumber_changed: float = 0.0005


@dataclass
class Truth:
    """Where the planted cases are: row indices (into the ward's columns) per case.

    ``old_juminhyo`` and ``old_mynumber`` pair each changed person's row with the number they
    held before (``S11`` / ``S12`` ASCII arrays aligned with ``*_rows``). Old numbers come from the
    same generator as current ones, so no number is ever held by two persons.
    """

    cases: dict[str, Rows] = field(default_factory=dict)
    old_juminhyo_rows: Rows = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    old_juminhyo: npt.NDArray[np.bytes_] = field(default_factory=lambda: np.empty(0, dtype="S11"))
    old_mynumber_rows: Rows = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    old_mynumber: npt.NDArray[np.bytes_] = field(default_factory=lambda: np.empty(0, dtype="S12"))

    @property
    def juminhyo_changes(self) -> list[tuple[int, str]]:
        """``(row, old 住民票コード)`` for every person whose code was changed."""
        return [(int(r), c.decode()) for r, c in zip(self.old_juminhyo_rows, self.old_juminhyo)]

    @property
    def mynumber_changes(self) -> list[tuple[int, str]]:
        """``(row, old 個人番号)`` for every person whose My Number was changed."""
        return [(int(r), c.decode()) for r, c in zip(self.old_mynumber_rows, self.old_mynumber)]

    def counts(self) -> dict[str, int]:
        """Number of rows per case (no personal data: safe to print)."""
        return {name: int(len(rows)) for name, rows in self.cases.items()}

    def __repr__(self) -> str:  # never show numbers, even synthetic ones
        return f"Truth({self.counts()})"
