"""What the readers and writers share: layouts by name, records to values, atomic files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import msgspec

from jukistore import layouts, records
from jukistore.fileio.problems import InvalidValue, RecordFormatError
from jukistore.layouts import Layout

PathLike = str | os.PathLike[str]
NEWLINES = ("\n", "\r\n")


def layout_of(layout: str | Layout) -> Layout:
    return layouts.load(layout) if isinstance(layout, str) else layout


def check_newline(newline: str) -> bytes:
    if newline not in NEWLINES:
        raise ValueError(f"newline must be '\\n' or '\\r\\n', not {newline!r}")
    return newline.encode("ascii")


def record_factory(lay: Layout) -> Callable[[list[str]], Any]:
    """Builds the layout's Struct from a list of field values (already checked)."""
    cls = records.record_class(lay.name)
    return lambda vals: msgspec.convert(vals, cls)


def values_getter(lay: Layout) -> Callable[[Any, int], Sequence[Any]]:
    """A function giving the field values of a row to write, in item order.

    A row may be the layout's own Struct, a record a projection can be made from (written as the
    projection), a mapping of field names (missing fields are empty; an unknown name is an error,
    to catch typos), or a sequence of values in item order.
    """
    cls = records.record_class(lay.name)
    fields = lay.fields
    known = frozenset(fields)

    def get(rec: Any, row: int) -> Sequence[Any]:
        if type(rec) is cls:
            return msgspec.structs.astuple(rec)
        if isinstance(rec, records.Record):
            if rec.layout_name not in lay.sources:
                raise InvalidValue(row, None, f"a {type(rec).__name__} cannot be written as {lay.name}")
            return msgspec.structs.astuple(records.project(rec, lay.name))
        if isinstance(rec, Mapping):
            extra = [k for k in rec if k not in known]
            if extra:
                raise InvalidValue(row, str(extra[0]), f"not a field of layout {lay.name}")
            return [rec.get(f, "") for f in fields]
        if isinstance(rec, (list, tuple)):
            if len(rec) != len(fields):
                raise InvalidValue(row, None, f"{len(rec)} values for {len(fields)} fields")
            return rec
        raise TypeError(f"row {row}: cannot write a {type(rec).__name__} as {lay.name}")

    return get


@contextmanager
def atomic_file(path: PathLike) -> Iterator[IO[bytes]]:
    """A file written beside ``path`` and renamed onto it on success, so a failed write leaves nothing."""
    final = Path(path)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            yield fh
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def handle(err: RecordFormatError, errors: str, error_list: list[RecordFormatError] | None) -> None:
    """Raise ``err``, or append it to ``error_list`` when collecting."""
    if errors == "raise":
        raise err
    assert error_list is not None
    error_list.append(err)


def passes(check: Callable[[list[str], int], None], vals: list[str], row: int, errors: str,
           error_list: list[RecordFormatError] | None) -> bool:
    """Whether row ``row``'s values pass ``check`` (a :class:`~jukistore.fileio.values.RowChecker`);
    a failure is raised or collected by :func:`handle`, and the reader skips the row."""
    try:
        check(vals, row)
    except RecordFormatError as e:
        handle(e, errors, error_list)
        return False
    return True


def check_errors_mode(errors: str, error_list: list[RecordFormatError] | None) -> None:
    if errors not in ("raise", "collect"):
        raise ValueError(f'errors must be "raise" or "collect", not {errors!r}')
    if errors == "collect" and error_list is None:
        raise ValueError('errors="collect" needs an error_list to append to')
