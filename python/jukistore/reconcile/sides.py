"""The two sides of a reconciliation: a store, a fixed-width or CSV file, or columns in memory.

Whatever its source, a side is the same thing to the native kernel: 住民票コード as integers with a
status per row (the check-digit reason, or a malformed row), 個人番号 as integers, and the compared
fields as byte columns. Files are read natively (a fixed-width file is memory-mapped and never
copied; a CSV file's needed fields are copied once), a store is read natively from its own pages,
and columns given in memory are borrowed as numpy buffers. So two files of ten million rows are
reconciled without one Python object per row.

The compared fields are every field of the layout but the 住民票コード (the join key): for
``seigo`` the 7 other reconciliation items, 個人番号 included, compared as text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from jukistore import _core, layouts, records
from jukistore.errors import ReconcileError
from jukistore.fileio.values import CP932_CHANGED, CP932_TWINS
from jukistore.layouts import Layout, codec

#: 個人番号 column values of a row with none, and of one that is not 12 ASCII digits.
MYNUMBER_EMPTY = 2**64 - 1
MYNUMBER_BAD = 2**64 - 2
#: Key status of a malformed row (beyond the identifier reason codes 0..3).
BAD_ROW = 4
#: The layout a store's records are kept in.
STORE_LAYOUT = "jumin_kihon"
#: JIS characters a cp932 file holds under another code point (〜 as ～, − as －, — as ―, ...),
#: folded to cp932's when a UTF-8 side meets a cp932 one; and their UTF-8 bytes, to find them.
_CP932_FORMS = str.maketrans({c: c.encode("cp932").decode("cp932") for c in CP932_CHANGED} | CP932_TWINS)
_CP932_FORMS_UTF8 = tuple(c.encode("utf-8") for c in CP932_CHANGED + "".join(CP932_TWINS))

Columns = Mapping[str, Any]
SideLike = Union["Side", "os.PathLike[str]", str, Columns, Any]


@dataclass(frozen=True)
class Plan:
    """Which items of a layout a reconciliation uses: the key, the 個人番号, the compared ones.

    Items are found by their Japanese names (住民票コード, 個人番号), so any layout holding them can be
    reconciled, not only ``seigo``.
    """

    layout: Layout
    key: int
    mynumber: int | None
    compared: tuple[int, ...]

    @property
    def compared_fields(self) -> tuple[str, ...]:
        return tuple(self.layout.items[i].field for i in self.compared)

    @property
    def key_field(self) -> str:
        return self.layout.items[self.key].field

    @property
    def mynumber_field(self) -> str | None:
        return None if self.mynumber is None else self.layout.items[self.mynumber].field


def plan(layout: str | Layout) -> Plan:
    """The reconciliation plan of a layout; :class:`ReconcileError` if it has no 住民票コード."""
    lay = layouts.load(layout) if isinstance(layout, str) else layout
    names = [i.name_ja for i in lay.items]
    fields = list(lay.fields)

    def find(name_ja: str, field: str) -> int | None:
        if name_ja in names:
            return names.index(name_ja)
        return fields.index(field) if field in fields else None

    key = find("住民票コード", "juminhyo_code")
    if key is None:
        raise ReconcileError(f"layout {lay.name} has no 住民票コード to join the sides on")
    if len(lay.items) > 129:
        raise ReconcileError(f"layout {lay.name} has {len(lay.items) - 1} fields to compare; at most 128")
    mn = find("個人番号", "mynumber")
    return Plan(lay, key, mn, tuple(i for i in range(len(lay.items)) if i != key))


class Side:
    """One side, read and ready: use :func:`open_side` (or the ``from_*`` constructors).

    ``kind`` is ``"store"``, ``"fixed"``, ``"csv"`` or ``"columns"``; ``source`` says where it came
    from (a path, or ``"columns"``). ``ref`` names how a row is found again by a person: ``"line"``
    (1-based, files), ``"person_id"`` (store) or ``"row"`` (0-based, columns).
    """

    def __init__(self, kind: str, source: str, plan: Plan, encoding: str, *,
                 native: Any = None, arrays: tuple[Any, ...] | None = None,
                 byte_columns: dict[int, tuple[Any, ...]] | None = None):
        self.kind = kind
        self.source = source
        self.plan = plan
        self.encoding = encoding
        self._native = native
        self._arrays = arrays
        #: For column sides: every layout item's bytes, as ("fixed", S array) or ("var", offsets, data).
        self._bytes = byte_columns or {}
        self._cache: dict[str, np.ndarray] = {}

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_store(cls, store: Any, plan: Plan) -> "Side":
        """Every person of a store (removed persons included), projected onto the plan's layout.

        ``store`` is a :class:`jukistore.store.Store` bound to an operator holding the provide right
        (reading a whole store is bulk output): the read is checked and written to its access log
        as one entry covering every person. A bare store directory is refused, since nobody would
        be accountable for the read. The store keeps master records (``jumin_kihon``); the layout
        must be that layout or a projection of it.
        """
        from jukistore.errors import NotPermitted

        if isinstance(store, (str, os.PathLike)):
            raise NotPermitted(f"reconciling a store needs the store opened with an operator and a purpose "
                               f"(Store.open(path, operator=..., purpose=...)), not the directory {Path(store).name!r}")
        store._authorize("provide", "reconcile")
        path = Path(store.path)
        lay = plan.layout
        if lay.name == STORE_LAYOUT:
            master_fields = list(lay.fields)
        elif STORE_LAYOUT in lay.sources:
            master_fields = [m for _, m in lay.projection_fields(STORE_LAYOUT)]
        else:
            raise ReconcileError(f"layout {lay.name} cannot be made from a store's {STORE_LAYOUT} records")
        order = records.record_class(STORE_LAYOUT).__struct_fields__
        positions = [order.index(f) for f in master_fields]
        native = _core.NativeSide.store(str(path), positions, plan.key, plan.mynumber, list(plan.compared))
        side = cls("store", str(path), plan, "utf-8", native=native)
        store._logged("reconcile", None, n=side.rows, layout=lay.name)
        return side

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], plan: Plan, *, encoding: str = "utf-8",
                  fingerprint: tuple[int, bool] | None = None) -> "Side":
        """A fixed-width file (memory-mapped) or, by the suffix ``.csv``, a CSV file with a header of
        field names (or Japanese item names).

        ``fingerprint`` = (seed, raw): fingerprint rows while reading a fixed-width file, of the
        values (raw False) or of the field bytes as they lie (raw True; both sides must then be
        fixed-width files of the same layout and encoding).
        """
        p = Path(path)
        enc = codec(encoding)
        lay = plan.layout
        if p.suffix.lower() == ".csv":
            names = _csv_header_names(p, lay, enc)
            # Two items may share a Japanese name (jumin_kihon has two 除票届出日): the core reads the
            # k-th column of a name for the k-th item of that name, as write_csv writes them.
            native = _core.NativeSide.csv(str(p), names, plan.key, plan.mynumber, list(plan.compared))
            return cls("csv", str(p), plan, enc, native=native)
        columns = list(zip(lay.byte_offsets(enc), lay.byte_widths(enc)))
        seed, raw = fingerprint if fingerprint else (None, False)
        native = _core.NativeSide.fixed(str(p), lay.row_bytes(enc), columns, plan.key, plan.mynumber,
                                        list(plan.compared), seed, raw)
        return cls("fixed", str(p), plan, enc, native=native)

    @classmethod
    def from_columns(cls, columns: Columns, plan: Plan, *,
                     superseded: tuple[npt.ArrayLike, npt.ArrayLike] | None = None) -> "Side":
        """Columns in memory, by field name: numpy arrays (``S``, ``U``, integer or object), lists of
        str, or ``(offsets, data)`` pairs laid out as Arrow lays out a string column.

        The 住民票コード may be integers (leading zeros implied) or text; so may the 個人番号
        (``2**64 - 1`` or an empty string for none). Every compared field must be present.
        ``superseded`` = (old codes, current codes) of persons of this side.
        """
        lay = plan.layout
        missing = [f for f in lay.fields if f not in columns]
        if missing:
            raise ReconcileError(f"columns lack the field(s) {', '.join(missing)} of layout {lay.name}")
        n = _length(plan.key_field, columns[plan.key_field])
        for f in lay.fields:
            if _length(f, columns[f]) != n:
                raise ReconcileError(f"column {f} has {_length(f, columns[f])} rows, {plan.key_field} has {n}")
        keys, status, key_bytes = _key_column(plan.key_field, columns[plan.key_field], n)
        byte_cols: dict[int, tuple[Any, ...]] = {plan.key: key_bytes}
        if plan.mynumber is not None:
            mns, mn_bytes = _mynumber_column(plan.mynumber_field, columns[plan.mynumber_field], n)  # type: ignore[arg-type,index]
            byte_cols[plan.mynumber] = mn_bytes
        else:
            mns = np.full(n, MYNUMBER_EMPTY, dtype=np.uint64)
        for i in plan.compared:
            if i != plan.mynumber:
                byte_cols[i] = _bytes_column(lay.items[i].field, columns[lay.items[i].field], n)
        old, new = (np.asarray(superseded[0], dtype=np.uint64), np.asarray(superseded[1], dtype=np.uint64)) \
            if superseded is not None else (np.empty(0, np.uint64), np.empty(0, np.uint64))
        if old.shape != new.shape:
            raise ReconcileError("superseded: the old and current code arrays differ in length")
        fields = [_field_tuple(byte_cols[i]) for i in plan.compared]
        arrays = (keys, status, mns, fields, np.ascontiguousarray(old), np.ascontiguousarray(new))
        return cls("columns", "columns", plan, "utf-8", arrays=arrays, byte_columns=byte_cols)

    # -- what the kernel takes ----------------------------------------------------------------

    def spec(self) -> Any:
        """The argument ``jukistore._core.reconcile`` takes for this side."""
        return self._native if self._native is not None else self._arrays

    @property
    def rows(self) -> int:
        return int(self._native.rows) if self._native is not None else len(self._arrays[0])  # type: ignore[index]

    @property
    def aligned(self) -> bool:
        """False when a fixed-width file had lines of another length (reported as bad rows)."""
        return bool(self._native.aligned) if self._native is not None else True

    def _array(self, name: str) -> np.ndarray:
        if name not in self._cache:
            if self._native is not None:
                self._cache[name] = getattr(self._native, name)()
            else:
                assert self._arrays is not None
                self._cache[name] = {"keys": self._arrays[0], "status": self._arrays[1],
                                     "mynumbers": self._arrays[2]}[name]
        return self._cache[name]

    def keys(self) -> npt.NDArray[np.uint64]:
        return self._array("keys")

    def status(self) -> npt.NDArray[np.uint8]:
        return self._array("status")

    def mynumbers(self) -> npt.NDArray[np.uint64]:
        return self._array("mynumbers")

    @property
    def ref(self) -> str:
        return {"fixed": "line", "csv": "line", "store": "person_id"}.get(self.kind, "row")

    def refs(self, rows: npt.NDArray[np.integer]) -> npt.NDArray[np.int64]:
        """How a person finds each row again (see :attr:`ref`); -1 where a row index is -1."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.full(len(rows), -1, dtype=np.int64)
        ok = rows >= 0
        if self.kind == "fixed":
            out[ok] = rows[ok] + 1
        elif self.kind == "csv":
            if "lines" not in self._cache:
                self._cache["lines"] = self._native.lines()
            out[ok] = self._cache["lines"][rows[ok]]
        elif self.kind == "store":
            if "person_ids" not in self._cache:
                self._cache["person_ids"] = self._native.persons()[0]
            out[ok] = self._cache["person_ids"][rows[ok]]
        else:
            out[ok] = rows[ok]
        return out

    def removed(self) -> npt.NDArray[np.bool_] | None:
        """Per row: whether the person is removed (除票); None unless the side is a store."""
        if self.kind != "store":
            return None
        return (self._native.persons()[1] & 1).astype(bool)

    def field_bytes(self, item: int, rows: npt.NDArray[np.integer]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint8]]:
        """Layout item ``item`` at ``rows`` as Arrow-like (offsets, data), padding removed."""
        r = np.ascontiguousarray(rows, dtype=np.uint32)
        if self._native is not None:
            return self._native.gather(item, r)
        col = self._bytes[item]
        if col[0] == "fixed":
            vals = np.char.rstrip(col[1][r.astype(np.intp)], b" ")
            return _var_of(list(vals))
        offsets, data = col[1], col[2]
        lens = (offsets[1:] - offsets[:-1])[r]
        out_off = np.zeros(len(r) + 1, dtype=np.uint64)
        np.cumsum(lens, out=out_off[1:])
        pieces = [data[int(offsets[k]):int(offsets[k + 1])] for k in r]
        return out_off, (np.concatenate(pieces) if pieces else np.empty(0, np.uint8))

    def values(self, item: int, rows: npt.NDArray[np.integer]) -> list[str]:
        """Layout item ``item`` at ``rows`` as text (bytes the encoding cannot read shown as U+FFFD)."""
        offsets, data = self.field_bytes(item, rows)
        raw = data.tobytes()
        return [raw[int(a):int(b)].decode(self.encoding, errors="replace") for a, b in zip(offsets[:-1], offsets[1:])]

    def to_utf8(self, *, cp932_forms: bool = False) -> "Side":
        """This side with its text re-encoded as UTF-8, to meet a side of another encoding.

        Bytes can only be compared within one encoding. This copies every compared value once
        (a Python string per value): the slow path, taken only when the encodings differ.
        ``cp932_forms`` (the other side is cp932): JIS characters that cp932 holds under another
        code point are written as cp932 holds them (〜 as ～, — as ―), since a cp932 copy of a
        UTF-8 side holds the same characters so; a UTF-8 side without them is returned as it is.
        """
        rows = np.arange(self.rows, dtype=np.uint32)
        if self.encoding == "utf-8" and (not cp932_forms or not self._holds_cp932_twins(rows)):
            return self
        fields = []
        for i in self.plan.compared:
            offsets, data = self.field_bytes(i, rows)
            # Every item, not only text ones: a malformed value (a date in full-width digits) is
            # the same value on both sides only once both are in one encoding.
            if len(data) and int(data.max()) >= 0x80:
                raw = data.tobytes()
                if self.encoding != "utf-8" or any(t in raw for t in _CP932_FORMS_UTF8):
                    table = _CP932_FORMS if cp932_forms else {}
                    enc = [raw[int(a):int(b)].decode(self.encoding, errors="replace").translate(table).encode("utf-8")
                           for a, b in zip(offsets[:-1], offsets[1:])]
                    offsets, data = _var_of(enc)
            fields.append(("var", offsets, data))
        old, new = self._native.superseded() if self._native is not None else self._arrays[4:6]  # type: ignore[index]
        arrays = (self.keys(), self.status(), self.mynumbers(), fields, old, new)
        side = Side(self.kind, self.source, self.plan, "utf-8", native=None, arrays=arrays)
        side._cache = dict(self._cache)
        side._orig = self  # type: ignore[attr-defined]
        return side

    def _holds_cp932_twins(self, rows: npt.NDArray[np.uint32]) -> bool:
        """Whether a text item of this (UTF-8) side holds a character cp932 holds under another
        code point: the text items only, since reading every item of a side costs seconds."""
        for i in self.plan.compared:
            if self.plan.layout.items[i].is_text:
                raw = self.field_bytes(i, rows)[1].tobytes()
                if any(t in raw for t in _CP932_FORMS_UTF8):
                    return True
        return False

    def __repr__(self) -> str:
        return f"Side(kind={self.kind!r}, source={self.source!r}, rows={self.rows}, encoding={self.encoding!r})"


def kind_of(obj: Any) -> str:
    """The kind of side ``obj`` would make, without reading it."""
    if isinstance(obj, Side):
        return obj.kind
    if isinstance(obj, (str, os.PathLike)):
        p = Path(obj)
        if p.is_dir():
            return "store"
        return "csv" if p.suffix.lower() == ".csv" else "fixed"
    if isinstance(obj, Mapping):
        return "columns"
    if hasattr(obj, "path") and hasattr(obj, "get_many"):
        return "store"
    raise ReconcileError(f"cannot reconcile a {type(obj).__name__}: give a Store, a store directory, a file or columns")


def open_side(obj: SideLike, plan_: Plan, *, encoding: str = "utf-8",
              fingerprint: tuple[int, bool] | None = None) -> Side:
    """A :class:`Side` from a Store, a store directory, a file path, a mapping of columns, or a Side."""
    kind = kind_of(obj)
    if isinstance(obj, Side):
        if obj.plan.layout.name != plan_.layout.name:
            raise ReconcileError(f"the side was read in layout {obj.plan.layout.name}, not {plan_.layout.name}")
        return obj
    if kind == "store":
        return Side.from_store(obj, plan_)
    if kind == "columns":
        assert isinstance(obj, Mapping)
        return Side.from_columns(obj, plan_)
    assert isinstance(obj, (str, os.PathLike))
    return Side.from_file(obj, plan_, encoding=encoding, fingerprint=fingerprint)


# ---- helpers -------------------------------------------------------------------------------------

def _csv_header_names(path: Path, lay: Layout, enc: str) -> list[bytes]:
    """The header names to look for, as bytes in the file's encoding: the layout's field names, or
    its Japanese item names when the header uses those (:func:`jukistore.fileio.write_csv` writes
    either)."""
    with open(path, "rb") as fh:
        first = fh.readline()
    text = first.decode("utf-8-sig" if enc == "utf-8" else enc, errors="replace")
    header = {h.strip('"') for h in text.rstrip("\r\n").split(",")}
    if not set(lay.fields) <= header and {i.name_ja for i in lay.items} <= header:
        return [i.name_ja.encode(enc) for i in lay.items]
    return [f.encode(enc) for f in lay.fields]


def _length(name: str, v: Any) -> int:
    if isinstance(v, tuple) and len(v) == 2:
        return len(v[0]) - 1
    if isinstance(v, (str, bytes)) or not hasattr(v, "__len__") or np.ndim(v) == 0 and isinstance(v, np.ndarray):
        raise ReconcileError(f"column {name}: a {type(v).__name__}, not a column of values")
    return len(v)


def _array(name: str, v: Any) -> np.ndarray:
    """A column given as values (not an Arrow-like pair) as a 1-D numpy array."""
    arr = np.asarray(v)
    if arr.ndim != 1:
        raise ReconcileError(f"column {name}: {arr.ndim} dimensions; give one value per row")
    if arr.size == 0 and arr.dtype.kind == "f":  # an empty list: no rows, of no type
        return np.empty(0, dtype="S1")
    return arr


def _var_of(values: Sequence[bytes]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint8]]:
    lens = np.fromiter((len(v) for v in values), dtype=np.uint64, count=len(values))
    offsets = np.zeros(len(values) + 1, dtype=np.uint64)
    np.cumsum(lens, out=offsets[1:])
    return offsets, np.frombuffer(b"".join(values), dtype=np.uint8).copy()


def _text_bytes(name: str, v: Any, n: int) -> np.ndarray | tuple[Any, ...]:
    """A column as a numpy ``S`` array (UTF-8), or an Arrow-like (offsets, data) pair as given."""
    if isinstance(v, tuple) and len(v) == 2:
        offsets = np.ascontiguousarray(v[0], dtype=np.uint64)
        data = np.ascontiguousarray(v[1], dtype=np.uint8)
        if len(offsets) != n + 1:
            raise ReconcileError(f"column {name}: {len(offsets)} offsets for {n} rows")
        return ("var", offsets, data)
    arr = _array(name, v)
    if arr.dtype.kind == "S":
        return np.ascontiguousarray(arr)
    if arr.dtype.kind == "U":
        return np.ascontiguousarray(np.char.encode(arr, "utf-8")) if arr.size else arr.astype("S1")
    if arr.dtype.kind in "iub":
        return np.ascontiguousarray(arr.astype(str).astype("S"))
    if arr.dtype.kind == "O":
        enc = [b"" if x is None else (x if isinstance(x, bytes) else str(x).encode("utf-8")) for x in arr.tolist()]
        return ("var", *_var_of(enc))
    raise ReconcileError(f"column {name}: cannot compare values of dtype {arr.dtype}")


def _bytes_column(name: str, v: Any, n: int) -> tuple[Any, ...]:
    b = _text_bytes(name, v, n)
    return b if isinstance(b, tuple) else ("fixed", b)


def _field_tuple(col: tuple[Any, ...]) -> tuple[Any, ...]:
    """The kernel's form of a byte column: ("fixed", u8 buffer, width, stride, 0) or ("var", ...)."""
    if col[0] == "var":
        return col
    arr = col[1]
    w = arr.dtype.itemsize
    if w == 0 or len(arr) == 0:
        return ("var", np.zeros(len(arr) + 1, dtype=np.uint64), np.empty(0, dtype=np.uint8))
    return ("fixed", arr.view(np.uint8).reshape(-1), w, w, 0)


def fixed_array(offsets: npt.NDArray[np.uint64], data: npt.NDArray[np.uint8]) -> npt.NDArray[np.bytes_]:
    """Arrow-like values (``offsets``, ``data``, as :meth:`Side.field_bytes` gives them) as a
    numpy ``S`` array, one element per value."""
    raw = data.tobytes()
    s = np.array([raw[int(a):int(b)] for a, b in zip(offsets[:-1], offsets[1:])], dtype="S")
    return s if s.dtype.itemsize else s.astype("S1")


def _key_column(name: str, v: Any, n: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint8], tuple[Any, ...]]:
    """住民票コード as (integers, status, bytes column): integers as given, or parsed from text."""
    arr = None if isinstance(v, tuple) else _array(name, v)
    if arr is not None and arr.dtype.kind in "iu":
        neg = arr < 0 if arr.dtype.kind == "i" else np.zeros(n, dtype=bool)
        keys = np.where(neg, 0, arr).astype(np.uint64)
        status = _core.explain_u64("juminhyo", keys)
        status[neg] = 2
        # As text with the leading zeros an integer leaves implied: how a key that fails is shown.
        text = np.where(neg, arr.astype(str), np.strings.zfill(arr.astype(str), 11))
        return keys, status, ("fixed", np.asarray(text, dtype="S"))
    col = _bytes_column(name, v, n)
    if col[0] == "var":
        col = ("fixed", fixed_array(col[1], col[2]))
    s = col[1]
    w = s.dtype.itemsize
    status = _core.explain_bytes("juminhyo", np.ascontiguousarray(s).view(np.uint8).reshape(-1), w) if n else \
        np.empty(0, np.uint8)
    keys = np.zeros(n, dtype=np.uint64)
    ok = (status == 0) | (status == 3)
    if ok.any():
        keys[ok] = s[ok].astype(np.uint64)
    return keys, status, col


def _mynumber_column(name: str, v: Any, n: int) -> tuple[npt.NDArray[np.uint64], tuple[Any, ...]]:
    """個人番号 as (integers with the EMPTY/BAD sentinels, bytes column of 12-digit text)."""
    arr = None if isinstance(v, tuple) else _array(name, v)
    if arr is not None and arr.dtype.kind in "iu":
        m = arr.astype(np.uint64)
        empty = m == MYNUMBER_EMPTY
        text = np.strings.zfill(m.astype(str), 12).astype("S")
        text[empty] = b""
        big = (m >= 10**12) & ~empty
        out = m.copy()
        out[big] = MYNUMBER_BAD
        return out, ("fixed", text)
    col = _bytes_column(name, v, n)
    if col[0] == "var":
        col = ("fixed", fixed_array(col[1], col[2]))
    s = col[1]
    w = s.dtype.itemsize
    out = np.full(n, MYNUMBER_BAD, dtype=np.uint64)
    out[np.char.str_len(s) == 0] = MYNUMBER_EMPTY
    if n:
        reason = _core.explain_bytes("mynumber", np.ascontiguousarray(s).view(np.uint8).reshape(-1), w)
        form_ok = (reason == 0) | (reason == 3)
        if form_ok.any():
            out[form_ok] = s[form_ok].astype(np.uint64)
    return out, col
