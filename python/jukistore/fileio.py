"""Reading and writing the interchange files: fixed-width and CSV, UTF-8 and Shift_JIS (cp932).

Fixed-width format. A row is the fields of a layout in item order, each exactly ``width`` bytes
(:mod:`jukistore.layouts`): the value encoded in the file's encoding and padded on the right with
ASCII spaces; rows end with a line feed. Widths are bytes sized for UTF-8, so cp932 text always
fits. Fixed byte widths are what let a whole file be read as numpy columns over a memory map,
with no Python object per row (:func:`read_columns`). Because padding is spaces, a value may not
end with a space (nor hold a line feed): the writers refuse such a value rather than lose data.

CSV format. A header row of the layout's field names, then one row per record, RFC 4180 quoting.

cp932. A character cp932 cannot encode is written as a substitute (代替文字, ``〓`` by default) and
reported; a variation selector (IVS) cannot be written in cp932 either and is left out, and
reported too. Nothing is dropped silently: every write returns a :class:`WriteReport` listing every
substitution by row, field, position and character.

Errors. A malformed row gets a :class:`RecordFormatError` naming its line (1-based) and field.
Readers take ``errors="raise"`` (stop at the first) or ``errors="collect"`` (keep going and return
the errors beside the good records).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Sequence

import numpy as np
import numpy.typing as npt

from jukistore import layouts, records
from jukistore.errors import JukistoreError

SUBSTITUTE = "〓"
NEWLINE = b"\n"
_DIGIT_TYPES = frozenset({"digits", "count", "len", "seq"})
Errors = Literal["raise", "collect"]


class RecordFormatError(JukistoreError, ValueError):
    """A row of a file that does not fit its layout; ``row`` is the 1-based line."""

    def __init__(self, message: str, *, row: int, field: str | None = None):
        self.row = row
        self.field = field
        where = f"line {row}" + (f", field {field}" if field else "")
        super().__init__(f"{where}: {message}")


class ValueTooLong(RecordFormatError):
    """A value does not fit its field's width; it is never truncated."""


@dataclass(frozen=True)
class Substitution:
    """One character cp932 could not hold: where it was and what was written instead."""

    row: int
    field: str
    position: int
    char: str
    replacement: str

    @property
    def codepoint(self) -> str:
        return f"U+{ord(self.char):04X}"


@dataclass
class WriteReport:
    rows: int = 0
    substitutions: list[Substitution] = field(default_factory=list)


def _is_selector(ch: str) -> bool:
    o = ord(ch)
    return 0xFE00 <= o <= 0xFE0F or 0xE0100 <= o <= 0xE01EF


def encode_value(value: str, encoding: str, *, row: int, field: str, report: WriteReport,
                 substitute: str = SUBSTITUTE) -> bytes:
    """Encode one value; in cp932, substitute what cannot be encoded and report it."""
    try:
        return value.encode(encoding)
    except UnicodeEncodeError:
        pass
    out = []
    for pos, ch in enumerate(value):
        try:
            out.append(ch.encode(encoding))
        except UnicodeEncodeError:
            repl = "" if _is_selector(ch) else substitute
            report.substitutions.append(Substitution(row, field, pos, ch, repl))
            out.append(repl.encode(encoding))
    return b"".join(out)


def _check_value(value: str, row: int, field: str) -> None:
    if value.endswith(" ") or "\n" in value or "\r" in value:
        raise RecordFormatError("a value may not end with a space or hold a line break", row=row, field=field)


def _fields_of(layout: layouts.Layout, rec: Any) -> list[str]:
    if isinstance(rec, dict):
        return [rec.get(f, "") for f in layout.fields]
    return [getattr(rec, f) for f in layout.fields]


def write_fixed(path: str | os.PathLike[str], layout: str | layouts.Layout, rows: Iterable[Any], *,
                encoding: str = "utf-8", substitute: str = SUBSTITUTE) -> WriteReport:
    """Write records (Structs or dicts of field → str) as a fixed-width file.

    Writes to a temporary file and renames it into place, so a failed write leaves nothing behind.
    """
    lay = layouts.load(layout) if isinstance(layout, str) else layout
    rep = WriteReport()
    tmp = Path(f"{path}.tmp")
    try:
        with open(tmp, "wb") as fh:
            buf = []
            for i, rec in enumerate(rows, 1):
                parts = []
                for it, v in zip(lay.items, _fields_of(lay, rec)):
                    _check_value(v, i, it.field)
                    b = encode_value(v, encoding, row=i, field=it.field, report=rep, substitute=substitute)
                    if len(b) > it.width:
                        raise ValueTooLong(f"{len(b)} bytes do not fit width {it.width}", row=i, field=it.field)
                    parts.append(b.ljust(it.width, b" "))
                parts.append(NEWLINE)
                buf.append(b"".join(parts))
                if len(buf) >= 4096:
                    fh.write(b"".join(buf))
                    buf = []
                rep.rows = i
            fh.write(b"".join(buf))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return rep


def write_csv(path: str | os.PathLike[str], layout: str | layouts.Layout, rows: Iterable[Any], *,
              encoding: str = "utf-8", substitute: str = SUBSTITUTE) -> WriteReport:
    """Write records as CSV with a header of field names (atomically, like :func:`write_fixed`)."""
    lay = layouts.load(layout) if isinstance(layout, str) else layout
    rep = WriteReport()
    tmp = Path(f"{path}.tmp")
    try:
        with open(tmp, "wb") as fh:
            sio = io.StringIO()
            w = csv.writer(sio, lineterminator="\n")
            w.writerow(lay.fields)
            fh.write(sio.getvalue().encode(encoding))
            for i, rec in enumerate(rows, 1):
                sio.seek(0)
                sio.truncate()
                w.writerow(_fields_of(lay, rec))
                line = sio.getvalue()
                if encoding.lower().replace("-", "_") in ("cp932", "shift_jis", "sjis", "ms932"):
                    # Substitute per field so positions are reported within the field.
                    vals = _fields_of(lay, rec)
                    fixed = []
                    for it, v in zip(lay.items, vals):
                        b = encode_value(v, encoding, row=i, field=it.field, report=rep, substitute=substitute)
                        fixed.append(b.decode(encoding))
                    sio.seek(0)
                    sio.truncate()
                    w.writerow(fixed)
                    line = sio.getvalue()
                fh.write(line.encode(encoding))
                rep.rows = i
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return rep


def _as_bytes_column(col: Any, encoding: str, n: int) -> npt.NDArray[np.bytes_]:
    arr = np.asarray(col)
    if arr.dtype.kind == "S":
        return arr
    if arr.dtype.kind in ("U", "O"):
        return np.char.encode(arr.astype("U"), encoding)
    raise TypeError(f"column of dtype {arr.dtype}: give str or bytes")


def write_fixed_columns(path: str | os.PathLike[str], layout: str | layouts.Layout,
                        columns: dict[str, Any], *, encoding: str = "utf-8") -> WriteReport:
    """Write columns (field → numpy str/bytes array or list) as a fixed-width file, vectorised.

    Missing fields are written empty. Text must be encodable (use :func:`write_fixed` for cp932 with
    substitution); a value longer than its width, or ending with a space, is an error naming the
    first such row and field.
    """
    lay = layouts.load(layout) if isinstance(layout, str) else layout
    n = len(next(iter(columns.values()))) if columns else 0
    width = lay.record_width + 1
    out = np.full((n, width), ord(" "), dtype=np.uint8)
    out[:, -1] = ord("\n")
    for it, off in zip(lay.items, lay.offsets()):
        if it.field not in columns:
            continue
        b = _as_bytes_column(columns[it.field], encoding, n)
        if len(b) != n:
            raise ValueError(f"column {it.field} has {len(b)} rows, expected {n}")
        lens = np.char.str_len(b)
        too_long = np.flatnonzero(lens > it.width)
        if too_long.size:
            raise ValueTooLong(f"{int(lens[too_long[0]])} bytes do not fit width {it.width}",
                               row=int(too_long[0]) + 1, field=it.field)
        w = min(b.dtype.itemsize, it.width)
        if w == 0:
            continue
        raw = np.ascontiguousarray(b).view(np.uint8).reshape(n, b.dtype.itemsize)[:, :w]
        last = raw[np.arange(n), np.maximum(lens - 1, 0)]
        bad = np.flatnonzero((lens > 0) & ((last == ord(" ")) | (last == ord("\n"))))
        if bad.size:
            raise RecordFormatError("a value may not end with a space or line break", row=int(bad[0]) + 1, field=it.field)
        block = out[:, off : off + w]
        mask = raw != 0
        block[mask] = raw[mask]
    rep = WriteReport(rows=n)
    tmp = Path(f"{path}.tmp")
    out.tofile(tmp)
    os.replace(tmp, path)
    return rep


def _row_width(lay: layouts.Layout) -> int:
    return lay.record_width + len(NEWLINE)


def count_rows(path: str | os.PathLike[str], layout: str | layouts.Layout, *, encoding: str = "utf-8") -> int:
    """Rows in a fixed-width file (from its size) or a CSV file (lines after the header)."""
    lay = layouts.load(layout) if isinstance(layout, str) else layout
    p = Path(path)
    if p.suffix.lower() == ".csv":
        with open(p, "rb") as fh:
            return max(sum(buf.count(b"\n") for buf in iter(lambda: fh.read(1 << 20), b"")) - 1, 0)
    return p.stat().st_size // _row_width(lay)


def read_columns(path: str | os.PathLike[str], layout: str | layouts.Layout,
                 columns: Sequence[str] | None = None) -> dict[str, npt.NDArray[np.bytes_]]:
    """Columns of a fixed-width file as numpy ``S<width>`` arrays over a memory map.

    No Python object per row: the file is viewed through a structured dtype. Values keep their
    space padding as bytes; :func:`decode_column` strips and decodes a column when asked.
    """
    lay = layouts.load(layout) if isinstance(layout, str) else layout
    rw = _row_width(lay)
    size = os.path.getsize(path)
    if size % rw:
        raise RecordFormatError(f"file size {size} is not a multiple of the row width {rw}",
                                row=size // rw + 1)
    dt = np.dtype({"names": list(lay.fields) + ["_eol"],
                   "formats": [f"S{i.width}" for i in lay.items] + [f"S{len(NEWLINE)}"],
                   "offsets": list(lay.offsets()) + [lay.record_width], "itemsize": rw})
    n = size // rw
    if n == 0:
        return {c: np.empty(0, dtype=f"S{lay.item(c).width}") for c in (columns or lay.fields)}
    mm = np.memmap(path, dtype=dt, mode="r", shape=(n,))
    eol = mm["_eol"]
    bad = np.flatnonzero(eol != NEWLINE)
    if bad.size:
        raise RecordFormatError("row does not end with a line feed at its width", row=int(bad[0]) + 1)
    return {c: mm[c] for c in (columns or lay.fields)}


def decode_column(col: npt.NDArray[np.bytes_], encoding: str = "utf-8") -> npt.NDArray[np.str_]:
    """A bytes column with its padding stripped, decoded to str.

    ASCII columns (numbers, dates, codes) convert in one numpy cast; text columns are decoded as
    one joined buffer and split again, which is many times faster than decoding value by value.
    """
    stripped = np.char.rstrip(np.asarray(col), b" ")
    if stripped.size == 0:
        return stripped.astype("U1")
    if int(np.ascontiguousarray(stripped).view(np.uint8).max(initial=0)) < 0x80:
        return stripped.astype(f"U{max(stripped.dtype.itemsize, 1)}")
    items = stripped.tolist()
    if any(b"\n" in b for b in items):
        return np.char.decode(stripped, encoding)
    return np.array(b"\n".join(items).decode(encoding).split("\n"))


def _validate(it: layouts.Item, v: str, row: int) -> None:
    if it.type in _DIGIT_TYPES and v and not (v.isascii() and v.isdigit()):
        raise RecordFormatError(f"{it.type} field holds non-digits", row=row, field=it.field)
    if it.type == "date" and v and (len(v) != 8 or not (v.isascii() and v.isdigit())):
        raise RecordFormatError("a date is 8 digits YYYYMMDD", row=row, field=it.field)


def _record_class(lay: layouts.Layout) -> Any:
    return records.RECORDS.get(lay.name)


def iter_records(path: str | os.PathLike[str], layout: str | layouts.Layout, *, encoding: str = "utf-8",
                 errors: Errors = "raise", error_list: list[RecordFormatError] | None = None) -> Iterator[Any]:
    """Records of a fixed-width or CSV file (by suffix ``.csv``), one at a time.

    Yields Structs for the record layouts and dicts for projections. With ``errors="collect"`` bad
    rows are skipped and appended to ``error_list``.
    """
    lay = layouts.load(layout) if isinstance(layout, str) else layout
    cls = _record_class(lay)
    if errors == "collect" and error_list is None:
        raise ValueError('errors="collect" needs an error_list to append to')
    rows = _csv_rows(path, lay, encoding) if Path(path).suffix.lower() == ".csv" else _fixed_rows(path, lay, encoding)
    for row, values in rows:
        try:
            if isinstance(values, RecordFormatError):
                raise values
            for it, v in zip(lay.items, values):
                _validate(it, v, row)
            d = dict(zip(lay.fields, values))
            yield cls(**d) if cls else d
        except RecordFormatError as e:
            if errors == "raise":
                raise
            error_list.append(e)  # type: ignore[union-attr]


def read_records(path: str | os.PathLike[str], layout: str | layouts.Layout, *, encoding: str = "utf-8",
                 errors: Errors = "raise") -> tuple[list[Any], list[RecordFormatError]]:
    """All records of a file, and the errors collected (empty unless ``errors="collect"``)."""
    errs: list[RecordFormatError] = []
    recs = list(iter_records(path, layout, encoding=encoding, errors=errors, error_list=errs))
    return recs, errs


def _fixed_rows(path: str | os.PathLike[str], lay: layouts.Layout, encoding: str) -> Iterator[tuple[int, Any]]:
    rw = _row_width(lay)
    offs = lay.offsets()
    with open(path, "rb") as fh:
        row = 0
        while True:
            chunk = fh.read(rw * 4096)
            if not chunk:
                return
            for k in range(0, len(chunk), rw):
                row += 1
                line = chunk[k : k + rw]
                if len(line) != rw or not line.endswith(NEWLINE):
                    yield row, RecordFormatError(f"row is {len(line)} bytes, expected {rw}", row=row)
                    if len(line) != rw:
                        return
                    continue
                values = []
                err = None
                for it, off in zip(lay.items, offs):
                    raw = line[off : off + it.width].rstrip(b" ")
                    try:
                        values.append(raw.decode(encoding))
                    except UnicodeDecodeError:
                        err = RecordFormatError(f"bytes not valid {encoding}", row=row, field=it.field)
                        break
                yield row, (err if err else values)


def _csv_rows(path: str | os.PathLike[str], lay: layouts.Layout, encoding: str) -> Iterator[tuple[int, Any]]:
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        yield line, RecordFormatError(f"bytes not valid {encoding}", row=line)
        return
    rd = csv.reader(io.StringIO(text, newline=""))
    header = next(rd, None)
    if header is None:
        return
    if tuple(header) != lay.fields:
        yield 1, RecordFormatError("header does not name the layout's fields in order", row=1)
        return
    for values in rd:
        line = rd.line_num
        if len(values) != len(lay.items):
            yield line, RecordFormatError(f"{len(values)} columns, expected {len(lay.items)}", row=line)
            continue
        yield line, values
