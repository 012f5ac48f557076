"""Fixed-width files, one record at a time.

A row is the fields of a layout in item order, each exactly ``Item.byte_width(encoding)`` bytes:
the value encoded and padded on the right with ASCII spaces (never full-width ones: a byte width
can be odd, and one padding byte keeps stripping exact). Rows end with a line feed (or CR LF when
asked; readers accept either). Values cannot end with a space or hold a line break
(:mod:`jukistore.fileio.values`), so stripping trailing spaces gives back exactly what was written,
and a line feed is always the end of a row: neither UTF-8 nor cp932 uses byte 0x0A inside a
character. Readers skip a byte order mark at the start of a UTF-8 file (Windows editors write
one) when the first line is a row without it; writers never write one.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from typing import Any

from jukistore.fileio.base import (PathLike, atomic_file, check_errors_mode, check_newline, handle, layout_of, passes,
                                   record_factory, values_getter)
from jukistore.fileio.problems import (Errors, RecordFormatError, RowLengthError, Substitution, UndecodableBytes,
                                       ValueTooLong, WriteReport)
from jukistore.fileio.values import SUBSTITUTE, RowChecker, check_substitute, encode_text
from jukistore.layouts import Layout, codec

_CHUNK = 1 << 22
#: Skipped at the start of a UTF-8 file, as the CSV reader and the reconciliation skip it.
UTF8_BOM = b"\xef\xbb\xbf"


def write_fixed(path: PathLike, layout: str | Layout, rows: Iterable[Any], *, encoding: str = "utf-8",
                substitute: str = SUBSTITUTE, newline: str = "\n") -> WriteReport:
    """Write records as a fixed-width file; return what was written and every substitution.

    ``rows`` are the layout's Structs, records a projection can be made from, mappings of field
    names, or sequences of values (see :func:`jukistore.fileio.base.values_getter`). A bad value
    raises an error naming its row and field and nothing is written (the file appears only when
    complete). Text the encoding cannot hold is written as ``substitute`` and reported.
    """
    lay = layout_of(layout)
    enc = codec(encoding)
    check_substitute(substitute, enc)
    nl = check_newline(newline)
    check, get = RowChecker(lay), values_getter(lay)
    plan = list(zip(lay.items, lay.byte_widths(enc)))
    rep = WriteReport(str(path), enc)
    with atomic_file(path) as fh:
        buf: list[bytes] = []
        for row, rec in enumerate(rows, 1):
            vals = get(rec, row)
            check(vals, row)
            parts = []
            for (item, width), v in zip(plan, vals):
                if item.is_text:
                    b, subs = encode_text(v, enc, substitute)
                    if subs:
                        rep.substitutions.extend(Substitution(row, item.field, *s) for s in subs)
                else:
                    b = v.encode("ascii")
                if len(b) > width:
                    raise ValueTooLong(row, item.field, f"{len(b)} bytes do not fit {width}")
                parts.append(b.ljust(width))
            parts.append(nl)
            buf.append(b"".join(parts))
            rep.rows = row
            if len(buf) >= 2048:
                fh.write(b"".join(buf))
                buf.clear()
        fh.write(b"".join(buf))
    return rep


def lines(path: PathLike) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line without its line feed) of a file; a last line may lack the feed."""
    with open(path, "rb") as fh:
        no, rest = 0, b""
        while chunk := fh.read(_CHUNK):
            parts = (rest + chunk).split(b"\n")
            rest = parts.pop()
            for line in parts:
                no += 1
                yield no, line
        if rest:
            yield no + 1, rest


def iter_fixed(path: PathLike, layout: str | Layout, *, encoding: str = "utf-8", errors: Errors = "raise",
               error_list: list[RecordFormatError] | None = None) -> Iterator[Any]:
    """The records of a fixed-width file, as the layout's Structs (see :func:`jukistore.fileio.iter_records`)."""
    lay = layout_of(layout)
    enc = codec(encoding)
    check_errors_mode(errors, error_list)
    size = lay.row_bytes(enc)
    unpack = struct.Struct("".join(f"{w}s" for w in lay.byte_widths(enc))).unpack
    check, make = RowChecker(lay), record_factory(lay)
    if enc == "utf-8" and only_bom(path):
        return
    for no, line in lines(path):
        if line.endswith(b"\r"):
            line = line[:-1]
        if no == 1 and enc == "utf-8" and has_bom(line, size):
            line = line[len(UTF8_BOM) :]
        if len(line) != size:
            handle(RowLengthError(no, None, f"{len(line)} bytes, expected {size}"), errors, error_list)
            continue
        parts = unpack(line)
        try:
            vals = [p.rstrip(b" ").decode(enc) for p in parts]
        except UnicodeDecodeError:
            field = next(i.field for i, p in zip(lay.items, parts) if not _decodes(p, enc))
            handle(UndecodableBytes(no, field, f"bytes not valid {enc}"), errors, error_list)
            continue
        if passes(check, vals, no, errors, error_list):
            yield make(vals)


def has_bom(first: bytes, size: int) -> bool:
    """The first line of a UTF-8 file (without its line end) starts with a byte order mark that is
    not part of the row: the line is a row of ``size`` bytes after the mark. A first value may
    itself start with U+FEFF, whose bytes are the mark's; its row is ``size`` bytes long with them."""
    return first.startswith(UTF8_BOM) and len(first) == size + len(UTF8_BOM)


def only_bom(path: PathLike) -> bool:
    """The file holds a byte order mark and nothing else (an empty file saved as UTF-8 "with BOM")."""
    if os.path.getsize(path) != len(UTF8_BOM):
        return False
    with open(path, "rb") as fh:
        return fh.read() == UTF8_BOM


def _decodes(b: bytes, enc: str) -> bool:
    try:
        b.rstrip(b" ").decode(enc)
        return True
    except UnicodeDecodeError:
        return False
