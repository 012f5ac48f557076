"""Reading and writing the interchange files: fixed-width and CSV, UTF-8 and Shift_JIS (cp932).

Formats, for every layout of :mod:`jukistore.layouts`:

- fixed-width (:mod:`.fixed`): each field a fixed number of bytes, derived from its character
  width and the encoding, padded with ASCII spaces; one row a line. Read a record at a time
  (:func:`iter_records`) or as numpy columns over a memory map (:func:`read_columns`); written
  from records (:func:`write_fixed`) or, vectorised, from columns (:func:`write_fixed_columns`).
- CSV (:mod:`.csvio`): a header of field names, then one row per record.

Both hold the same values (:mod:`.values`): text of at most ``width`` characters, ASCII items as
their type says, no control characters, no trailing space. UTF-8 files round-trip every such value
byte for byte, 外字, IVS sequences and private-use characters included.

cp932 cannot hold every character. A writer substitutes ``〓`` (or the ``substitute`` given) for a
character it cannot hold, writes a variation selector's base character alone and the JIS dash
U+2014 as cp932's U+2015, and reports every change, by row, field, position and code point, in the
:class:`WriteReport` it returns; nothing is dropped silently.

Errors name the row (the 1-based line of the file) and the field, and never quote the value.
Readers take ``errors="raise"`` (stop at the first malformed row) or ``errors="collect"`` (keep the
good rows, and append an error for each bad one to ``error_list``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from jukistore.fileio.base import PathLike, layout_of
from jukistore.fileio.columns import Columns, decode_column, read_columns
from jukistore.fileio.colwrite import write_fixed_columns
from jukistore.fileio.csvio import iter_csv, write_csv
from jukistore.fileio.fixed import iter_fixed, write_fixed
from jukistore.fileio.problems import (ColumnCountError, Errors, HeaderError, InvalidValue, RecordFormatError,
                                       RowLengthError, Substitution, UndecodableBytes, ValueTooLong, WriteReport)
from jukistore.fileio.values import SUBSTITUTE, substitute_text
from jukistore.layouts import Layout, codec

__all__ = [
    "SUBSTITUTE", "ColumnCountError", "Columns", "Errors", "HeaderError", "InvalidValue", "RecordFormatError",
    "RowLengthError", "Substitution", "UndecodableBytes", "ValueTooLong", "WriteReport", "count_rows",
    "decode_column", "iter_csv", "iter_fixed", "iter_records", "read_columns", "read_records", "substitute_text",
    "write_csv", "write_fixed", "write_fixed_columns",
]

Format = Literal["fixed", "csv"]


def _format(path: PathLike, format: Format | None) -> Format:
    if format is None:
        return "csv" if Path(path).suffix.lower() == ".csv" else "fixed"
    if format not in ("fixed", "csv"):
        raise ValueError(f'format must be "fixed" or "csv", not {format!r}')
    return format


def iter_records(path: PathLike, layout: str | Layout, *, encoding: str = "utf-8", errors: Errors = "raise",
                 error_list: list[RecordFormatError] | None = None, format: Format | None = None) -> Iterator[Any]:
    """The records of a file, one at a time, as the layout's Structs (:mod:`jukistore.records`).

    ``format`` is ``"fixed"`` or ``"csv"``; by default a ``.csv`` suffix means CSV. With
    ``errors="collect"`` a malformed row is skipped and its error appended to ``error_list``.
    """
    if _format(path, format) == "csv":
        return iter_csv(path, layout, encoding=encoding, errors=errors, error_list=error_list)
    return iter_fixed(path, layout, encoding=encoding, errors=errors, error_list=error_list)


def read_records(path: PathLike, layout: str | Layout, *, encoding: str = "utf-8", errors: Errors = "raise",
                 format: Format | None = None) -> tuple[list[Any], list[RecordFormatError]]:
    """All records of a file, and the errors collected (always empty with ``errors="raise"``)."""
    errs: list[RecordFormatError] = []
    recs = list(iter_records(path, layout, encoding=encoding, errors=errors, error_list=errs, format=format))
    return recs, errs


def count_rows(path: PathLike, layout: str | Layout, *, encoding: str = "utf-8", format: Format | None = None) -> int:
    """Rows in a file, cheaply: from the size of a fixed-width file, from line feeds in CSV.

    An estimate for progress bars; a malformed fixed-width file may hold another number of rows.
    """
    if _format(path, format) == "csv":
        with open(path, "rb") as fh:
            lines = sum(buf.count(b"\n") for buf in iter(lambda: fh.read(1 << 22), b""))
        return max(lines - 1, 0)
    return os.path.getsize(path) // (layout_of(layout).row_bytes(codec(encoding)) + 1)
