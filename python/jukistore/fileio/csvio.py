"""CSV files, one record at a time.

A header row of the layout's field names (or, when asked, its Japanese item names), then one row
per record, quoted as RFC 4180 says where needed (a comma or a quote in a value), lines ending in a
line feed. Values follow the same rule as in fixed-width files (:mod:`jukistore.fileio.values`), so
the two formats hold exactly the same records and every row is one line. Readers accept CR LF and
a UTF-8 byte order mark, as spreadsheet programs write them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from jukistore.fileio.base import (PathLike, atomic_file, check_errors_mode, handle, layout_of, passes, record_factory,
                                   values_getter)
from jukistore.fileio.problems import (ColumnCountError, Errors, HeaderError, RecordFormatError, Substitution,
                                       UndecodableBytes, WriteReport)
from jukistore.fileio.values import SUBSTITUTE, RowChecker, check_substitute, substitute_text
from jukistore.layouts import Layout, codec

Header = Literal["field", "name_ja"]
_ESCAPED = re.compile(r"[\udc80-\udcff]")


def write_csv(path: PathLike, layout: str | Layout, rows: Iterable[Any], *, encoding: str = "utf-8",
              substitute: str = SUBSTITUTE, header: Header | None = "field") -> WriteReport:
    """Write records as CSV; return what was written and every substitution.

    Rows are taken as :func:`jukistore.fileio.write_fixed` takes them, checked by the same rule,
    and text the encoding cannot hold is substituted and reported the same way. ``header`` names
    the columns by field (default) or by Japanese item name, or is left out (None). A UTF-8 file
    without a header whose first value starts with U+FEFF begins with a byte order mark, which
    readers drop, so the value keeps its own.
    """
    lay = layout_of(layout)
    enc = codec(encoding)
    check_substitute(substitute, enc)
    check, get = RowChecker(lay), values_getter(lay)
    text = [(k, i.field) for k, i in enumerate(lay.items) if i.is_text]
    rep = WriteReport(str(path), enc)
    with atomic_file(path) as raw:
        fh = io.TextIOWrapper(raw, encoding=enc, newline="")
        w = csv.writer(fh, lineterminator="\n")
        if header is not None:
            w.writerow(_header(lay, header))
        for row, rec in enumerate(rows, 1):
            vals = list(get(rec, row))
            check(vals, row)
            for k, field in text:
                fixed, subs = substitute_text(vals[k], enc, substitute)
                if subs:
                    vals[k] = fixed
                    rep.substitutions.extend(Substitution(row, field, *s) for s in subs)
            if row == 1 and header is None and enc == "utf-8" and vals and vals[0].startswith("\ufeff"):
                fh.write("\ufeff")  # readers drop a byte order mark: one before the value's own keeps it
            w.writerow(vals)
            rep.rows = row
        fh.flush()
        fh.detach()
    return rep


def _header(lay: Layout, header: str) -> tuple[str, ...]:
    if header == "field":
        return lay.fields
    if header == "name_ja":
        return tuple(i.name_ja for i in lay.items)
    raise ValueError(f'header must be "field", "name_ja" or None, not {header!r}')


def iter_csv(path: PathLike, layout: str | Layout, *, encoding: str = "utf-8", errors: Errors = "raise",
             error_list: list[RecordFormatError] | None = None, header: bool = True) -> Iterator[Any]:
    """The records of a CSV file, as the layout's Structs (see :func:`jukistore.fileio.iter_records`).

    With ``header`` (default) the first line must name the fields, by field name or by Japanese
    item name, in order; a header that does not raises :class:`HeaderError` whatever ``errors``
    says, since no row can be read without knowing the columns. Row numbers are the line a row
    starts on.
    """
    lay = layout_of(layout)
    enc = codec(encoding)
    check_errors_mode(errors, error_list)
    check, make = RowChecker(lay), record_factory(lay)
    n = len(lay.items)
    with open(path, encoding="utf-8-sig" if enc == "utf-8" else enc, errors="surrogateescape", newline="") as fh:
        rd = csv.reader(fh, strict=True)
        prev = 0
        if header:
            try:
                first = next(rd, None)
            except csv.Error:
                first = []
            if first is None:
                return
            if tuple(first) not in (lay.fields, _header(lay, "name_ja")):
                raise HeaderError(1, None, f"the header does not name the fields of {lay.name} in order")
            prev = rd.line_num
        while True:
            try:
                vals = next(rd)
            except StopIteration:
                return
            except csv.Error as e:
                handle(RecordFormatError(prev + 1, None, f"not valid CSV ({e})"), errors, error_list)
                prev = rd.line_num
                continue
            no, prev = prev + 1, rd.line_num
            if not vals:  # a blank line (editors leave one at the end): no record, as reconcile reads it
                continue
            if len(vals) != n:
                handle(ColumnCountError(no, None, f"{len(vals)} columns, expected {n}"), errors, error_list)
                continue
            if _ESCAPED.search("".join(vals)):
                field = next(i.field for i, v in zip(lay.items, vals) if _ESCAPED.search(v))
                handle(UndecodableBytes(no, field, f"bytes not valid {enc}"), errors, error_list)
                continue
            if passes(check, vals, no, errors, error_list):
                yield make(vals)
