"""A synthetic ward: the columns of its master file, the planted cases, records and files.

Why columns first: a million persons as Python objects take longer to build than to generate.
The columns are numpy ``S`` arrays of UTF-8 bytes keyed by master item number, the form the
vectorised fixed-width writer and the bulk identifier checks take as they are. Records (msgspec
Structs) are made from them on demand, a chunk at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import msgspec
import numpy as np
import numpy.typing as npt

from jukistore import layouts
from jukistore.synth.planted import Truth

LAYOUT = "jumin_kihon"
Format = Literal["fixed", "csv", "both"]
FIXED_NAME, CSV_NAME = "jumin_kihon.dat", "jumin_kihon.csv"
_CHUNK = 20_000


def _joined(cols: list[npt.NDArray[np.bytes_]]) -> list[str]:
    """Every value of ``cols`` (equal lengths), row by row, decoded with one call.

    The ``S`` arrays' bytes are laid side by side with a line feed after each value, the NUL
    padding numpy keeps is dropped, and the buffer is decoded once and split: no bytes object per
    value, and no value holds a line feed.
    """
    n = len(cols[0]) if cols else 0
    if n == 0:
        return []
    widths = [c.dtype.itemsize for c in cols]
    m = np.zeros((n, sum(widths) + len(cols)), dtype=np.uint8)
    at = 0
    for c, w in zip(cols, widths):
        m[:, at : at + w] = np.ascontiguousarray(c).view(np.uint8).reshape(n, w)
        m[:, at + w] = 0x0A
        at += w + 1
    return m[m != 0].tobytes().decode("utf-8").split("\n")[:-1]


def decode_column(col: npt.NDArray[np.bytes_]) -> list[str]:
    """A UTF-8 bytes column as a list of str."""
    return _joined([col])


@dataclass
class Ward:
    """A generated ward.

    ``columns`` maps master item number (1..84) to a numpy ``S`` array of UTF-8 bytes, one value
    per person; an empty value is ``b""``. Rows are current residents first (grouped by
    household, head first), then removed persons. ``truth`` lists the planted cases by row.
    """

    columns: dict[int, npt.NDArray[np.bytes_]]
    truth: Truth
    seed: int
    as_of: str
    residents: int
    removed: int
    households: int
    foreign: int
    _layout: layouts.Layout = field(default_factory=lambda: layouts.load(LAYOUT), repr=False)

    def __len__(self) -> int:
        return len(self.columns[1])

    def __repr__(self) -> str:
        return (f"Ward(seed={self.seed}, as_of={self.as_of}, residents={self.residents}, removed={self.removed}, "
                f"households={self.households}, foreign={self.foreign})")

    @property
    def layout(self) -> layouts.Layout:
        """The master layout (住民基本台帳ファイル) the columns follow."""
        return self._layout

    def _no(self, key: int | str) -> int:
        return key if isinstance(key, int) else self._layout.item(key).no

    def column(self, key: int | str) -> npt.NDArray[np.bytes_]:
        """One column by item number or field name (UTF-8 bytes)."""
        return self.columns[self._no(key)]

    def text(self, key: int | str) -> list[str]:
        """One column decoded to str."""
        return decode_column(self.column(key))

    def by_field(self) -> dict[str, npt.NDArray[np.bytes_]]:
        """The columns keyed by the layout's field names, in item order."""
        return {it.field: self.columns[it.no] for it in self._layout.items}

    @cached_property
    def removed_mask(self) -> npt.NDArray[np.bool_]:
        """True for removed persons (除票区分 other than 0)."""
        return self.columns[13] != b"0"

    @property
    def current_mask(self) -> npt.NDArray[np.bool_]:
        """True for current residents."""
        return ~self.removed_mask

    def record_type(self) -> type[msgspec.Struct]:
        """The Struct of the master record (:class:`jukistore.records.JuminKihon`)."""
        from jukistore.records import JuminKihon

        return JuminKihon

    def records(self, start: int = 0, stop: int | None = None) -> Iterator[msgspec.Struct]:
        """The persons as JuminKihon Structs, rows ``start`` to ``stop``, built a chunk at a time."""
        cls = self.record_type()
        nos = [it.no for it in self._layout.items]
        stop = len(self) if stop is None else min(stop, len(self))
        k = len(nos)
        for lo in range(start, stop, _CHUNK):
            hi = min(lo + _CHUNK, stop)
            flat = _joined([self.columns[no][lo:hi] for no in nos])
            rows = [flat[i : i + k] for i in range(0, len(flat), k)]
            yield from msgspec.convert(rows, list[cls])  # type: ignore[valid-type]

    def record(self, row: int) -> msgspec.Struct:
        """One person as a Struct."""
        return next(self.records(row, row + 1))

    def summary(self) -> dict[str, int]:
        """Counts for display: persons, households, foreign residents and planted cases (no personal data)."""
        return {"rows": len(self), "residents": self.residents, "removed": self.removed,
                "households": self.households, "foreign": self.foreign, **self.truth.counts()}

    def write(self, directory: str | Path, format: Format = "both", *, encoding: str = "utf-8",
              reports: list[object] | None = None) -> list[Path]:
        """Write the master file into ``directory``: fixed-width (``jumin_kihon.dat``), CSV, or both.

        The fixed-width file goes through the vectorised column writer of :mod:`jukistore.fileio`
        (no Python object per row); CSV through its record writer. In cp932 the text columns are
        handed over decoded, so the writer can substitute what cp932 cannot hold (𠮷, IVS) and
        report it; pass a list as ``reports`` to receive the writers' reports.
        """
        from jukistore import fileio

        if format not in ("fixed", "csv", "both"):
            raise ValueError(f"format must be fixed, csv or both, not {format!r}")
        enc = layouts.codec(encoding)
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        if format in ("fixed", "both"):
            path = out / FIXED_NAME
            cols: dict[str, np.ndarray] = self.by_field()
            if enc != "utf-8":  # bytes columns must already be in the file's encoding
                cols = {it.field: np.array(decode_column(cols[it.field])) if it.is_text else cols[it.field]
                        for it in self._layout.items}
            rep = fileio.write_fixed_columns(path, self._layout, cols, encoding=enc)
            written.append(path)
            if reports is not None:
                reports.append(rep)
        if format in ("csv", "both"):
            path = out / CSV_NAME
            rep = fileio.write_csv(path, self._layout, self.records(), encoding=enc)
            written.append(path)
            if reports is not None:
                reports.append(rep)
        return written
