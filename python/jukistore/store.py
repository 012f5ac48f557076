"""The record store: persons of one municipality in a memory-mapped LMDB file.

:class:`Store` is what other services import. The heavy lifting (indexes, transactions, bulk
reads) is in the Rust core (``jukistore._core.NativeStore``); this module turns master records
(:class:`jukistore.records.JuminKihon`) into the keys the core indexes, and the core's bytes back
into records.

Threads and processes: one :class:`Store` per directory per process is shared by all threads
(opening the same directory again returns the same native handle). Many processes may open the
same store: LMDB allows one writer at a time and readers are never blocked. After ``fork`` the
child must not use a store the parent had open: every call on the inherited handle, and every
attempt to open that store again in the child while an inherited handle is alive, raises
:class:`~jukistore.errors.ForkedStore`; a child that has let go of every inherited handle may
open the store itself. Use the ``spawn`` start method (or open stores only after forking) for
worker processes.
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
import unicodedata
from collections import deque
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import lru_cache, partial
from operator import attrgetter
from operator import index as _as_index
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence, TypeGuard, cast

import msgspec
import numpy as np
import numpy.typing as npt

from jukistore import _core, layouts, text
from jukistore.errors import (DuplicateNumber, InvalidRecord, QueryError, ReadOnlyStore, RecordError, mask,
                              masked_text)
from jukistore.fileio.values import CP932_CHANGED, CP932_TWINS
from jukistore.records import JuminKihon, check_values, encode_batch

if TYPE_CHECKING:
    from jukistore.access.log import Audit
    from jukistore.access.provide import Provision
    from jukistore.access.roles import RoleRegistry

#: Sentinel the core uses for "no 個人番号 recorded".
NO_MYNUMBER = 2**64 - 1
#: Change-log event code of an initial bulk registration (records carried over from a register).
EVENT_LOAD = 0

SEX_CODES = {"1": 1, "2": 2, "9": 9, "": 0}
#: Names of the 4情報 search criteria, as the access log records which were given (never values).
_CRITERIA = ("name_kana", "birth_date", "address", "sex")

Clock = Callable[[], _dt.datetime]


def utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class Operator(msgspec.Struct, frozen=True):
    """Who acts, from where: every write (and, with access logging, every read) names both.

    ``operator_id`` is the personal 操作者ID, ``terminal_id`` the 操作端末ID.
    """

    operator_id: str
    terminal_id: str

    def __post_init__(self) -> None:
        if not self.operator_id or not self.terminal_id:
            raise ValueError("an operator needs a non-empty operator_id and terminal_id")


@lru_cache(maxsize=1)
def _key_fields() -> dict[str, str]:
    """Field names of the master layout items the store indexes, found by item number."""
    lay = layouts.load("jumin_kihon")
    by_no = {it.no: it.field for it in lay.items}
    return {
        "household": by_no[1],
        "address": by_no[8],
        "removed": by_no[13],
        "kana": by_no[20],
        "kanji": by_no[21],
        "sex": by_no[22],
        "birth": by_no[23],
        "code": by_no[30],
        "mynumber": by_no[81],
        "change_date": by_no[14],
        "notified": by_no[15],
    }


#: Variation selectors (standardized VS1-16 and the ideographic VS17-256 of IVS sequences).
_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
#: The JIS X 0208 characters that EUC-JP and cp932 converters give different code points (see
#: :mod:`jukistore.text`), folded to cp932's as a cp932 file holds them: 〜 − ‖ ¢ £ ¬ and the
#: dash of 1区29点 (:data:`jukistore.fileio.values.CP932_CHANGED` and ``CP932_TWINS``).
_JIS_TWINS = str.maketrans({c: c.encode("cp932").decode("cp932") for c in CP932_CHANGED} | CP932_TWINS)
_TWIN_CHARS = re.compile(f"[{CP932_CHANGED}{''.join(CP932_TWINS)}]")


def address_key(address: str) -> str:
    """The form addresses are matched in: NFKC (full-width digits and letters folded), no spaces,
    no variation selectors, one code point for each JIS character.

    A selector only pins the glyph of the character before it (葛 + VS17 in 葛飾区), and no one can
    type it at a search, so the key drops it, as NFKC already folds the older glyph variants
    (compatibility ideographs). A JIS character with two code points (a minus sign is U+2212 from an
    EUC-JP source, U+FF0D from a cp932 one or after a cp932 file) keys as one, so 1−2 and 1-2 meet.
    Only for matching; the record keeps the address byte for byte.
    """
    # Both foldings are rare; a search (in C) first keeps the usual address at NFKC's cost.
    if _TWIN_CHARS.search(address):
        address = address.translate(_JIS_TWINS)
    folded = unicodedata.normalize("NFKC", address)
    if _SELECTORS.search(folded):
        folded = _SELECTORS.sub("", folded)
    return "".join(folded.split())


def name_key(kana: str) -> str:
    """The 清音化 kana search key of a name (see :func:`jukistore.text.search_key`)."""
    return text.search_key(kana)


class LazyRecord:
    """A master record kept as its stored bytes until first asked for: a lookup that only needs
    ids, numbers or state never pays for decoding 84 fields. Base of history's ``Version``
    (:class:`Person`, made per single lookup, does the same natively)."""

    __slots__ = ("_payload", "_record")

    _payload: bytes | memoryview | None
    _record: JuminKihon | None

    @property
    def record(self) -> JuminKihon:
        if self._record is None:
            self._record = _decoder.decode(self._payload)  # type: ignore[arg-type]
            self._payload = None
        return self._record


#: One person as found: the internal id (``person_id``), the current master record (``record``,
#: decoded from its stored bytes on first access), ``seq`` (更新順番号), ``removed``, and
#: ``superseded`` (true when found through a number the person no longer uses). Native
#: (``jukistore._core.Person``): a single lookup builds one object, not a tuple and a Python one.
Person = _core.Person


_decoder = msgspec.msgpack.Decoder(JuminKihon)

#: The native handle's methods that write the store (a read-only handle refuses them).
_NATIVE_WRITES = frozenset({"apply", "apply_patches", "begin_load", "erase_persons", "erase_versions", "hold_put",
                            "hold_delete", "mailing_add", "mailing_mark_sent", "mailing_retire", "propose",
                            "proposal_step", "swap_in"})


class _ReadOnlyView:
    """``target`` seen through a read-only handle: its methods named in ``writes`` raise
    :class:`ReadOnlyStore`; everything else (setting attributes too) is ``target``'s.

    A process has one native handle per directory, so a read-only open of a store the process
    already has open for writing shares the writable handle, and the store's role register (kept
    in its audit journals, not in LMDB); through these views that open refuses writes as a
    read-only handle of its own does."""

    __slots__ = ("target", "writes", "why")

    def __init__(self, target: Any, writes: frozenset[str], why: str):
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "writes", writes)
        object.__setattr__(self, "why", why)

    def __getattr__(self, name: str) -> Any:
        if name in self.writes:
            def refused(*args: object, **kwargs: object) -> None:
                raise ReadOnlyStore(self.why)
            return refused
        return getattr(self.target, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.target, name, value)


class _ReadOnlyNative(_ReadOnlyView):
    """A writable native handle seen read-only."""

    __slots__ = ()

    def __init__(self, native: _core.NativeStore):
        super().__init__(native, _NATIVE_WRITES, "store is opened read-only")

    @property
    def readonly(self) -> bool:
        return True


#: The role register's methods that write it (granting, revoking, and the first grant).
_ROLE_WRITES = frozenset({"grant", "revoke", "bootstrap"})


def _masked_numbers(record: JuminKihon) -> tuple[str, str]:
    """A record's 住民票コード and 個人番号, masked (for a person's ``repr``)."""
    f = _key_fields()
    return mask(getattr(record, f["code"])), mask(getattr(record, f["mynumber"]))


_core.register_person_support(_decoder.decode, _masked_numbers)


def _person(t: tuple) -> Person:  # type: ignore[type-arg]
    pid, superseded, flags, seq, _code, _mn, payload = t
    return Person(pid, payload, seq, bool(flags & 1), bool(superseded))


class Persons(Sequence[Person | None]):
    """Results of :meth:`Store.get_many` as columns; records are decoded only when asked for.

    ``found``, ``person_ids``, ``superseded``, ``flags`` (bit 0: removed) and ``seqs`` (更新順番号 of
    the current version) are numpy arrays aligned with the keys asked for;
    ``payload(i)`` is the stored MessagePack of key ``i`` (a memoryview, no copy).
    """

    def __init__(self, found: npt.NDArray[np.bool_], person_ids: npt.NDArray[np.uint64],
                 superseded: npt.NDArray[np.bool_], flags: npt.NDArray[np.uint8], seqs: npt.NDArray[np.uint64],
                 offsets: npt.NDArray[np.uint64], data: npt.NDArray[np.uint8]):
        self.found = found
        self.person_ids = person_ids
        self.superseded = superseded
        self.flags = flags
        self.seqs = seqs
        self.offsets = offsets
        self.data = data
        self._view = memoryview(data)  # type: ignore[arg-type]  # numpy arrays are buffers

    def __len__(self) -> int:
        return len(self.found)

    def _index(self, i: int) -> int:
        """``i`` as a position from the start (negative counts from the end, as in a list):
        ``offsets`` has one more entry than the keys, so a negative ``i`` must not reach it."""
        n = len(self.found)
        k = _as_index(i)  # an int or numpy integer; a float or text is a TypeError, as in a list
        k = k + n if k < 0 else k
        if not 0 <= k < n:
            raise IndexError(f"key {i} of {n}")
        return k

    def payload(self, i: int) -> memoryview:
        k = self._index(i)
        return self._view[int(self.offsets[k]) : int(self.offsets[k + 1])]

    def record(self, i: int) -> JuminKihon | None:
        """The record for key ``i``, or None when the key was not found."""
        i = self._index(i)
        if not self.found[i]:
            return None
        return _decoder.decode(self.payload(i))

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = self._index(i)
        if not self.found[i]:
            return None
        return Person(int(self.person_ids[i]), self.payload(i), int(self.seqs[i]), bool(self.flags[i] & 1),
                      bool(self.superseded[i]))

    def records(self) -> list[JuminKihon | None]:
        return [self.record(i) for i in range(len(self))]

    def __repr__(self) -> str:
        return f"Persons({len(self)} keys, {int(self.found.sum())} found)"


@dataclass
class LoadReport:
    """What a load wrote: counts, ids, and 住民票コード accepted only in lenient mode (rows)."""

    loaded: int = 0
    batches: int = 0
    first_person_id: int | None = None
    last_seq: int | None = None
    lenient_rows: list[int] = field(default_factory=list)


@dataclass
class VerifyReport:
    """Result of :meth:`Store.verify`; problems are described without personal data."""

    persons: int
    problems: list[str]
    more: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and not self.more


def _joined(fn: Callable[[str], str], values: list[str]) -> list[str]:
    """``fn`` applied to every value through one call on the values joined by NUL.

    The key functions (清音化, NFKC) map characters independently and keep NUL, so one call over the
    joined text equals a call per value, at a fraction of the cost. A value holding a NUL itself
    falls back to one call per value.
    """
    out = fn("\x00".join(values)).split("\x00")
    return out if len(out) == len(values) else [fn(v) for v in values]


def _batches(records: Iterable[JuminKihon], size: int) -> Iterator[list[JuminKihon]]:
    """The records in lists of ``size`` (the last one shorter)."""
    batch: list[JuminKihon] = []
    for rec in records:
        batch.append(rec)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _ascii_digit_rows(values: list[str], width: int) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.bool_]]:
    """The values as a ``U<width+1>`` array (longer ones cut, still detectably too long) and a mask of
    those that are exactly ``width`` ASCII digits, checked on the code points without a loop."""
    arr = np.array(values, dtype=f"U{width + 1}")
    cps = arr.view(np.uint32).reshape(len(values), width + 1)
    ok = (np.char.str_len(arr) == width) & ((cps[:, :width] >= 48) & (cps[:, :width] <= 57)).all(axis=1)
    return arr, ok


def _packed_digits(values: list[str], width: int) -> npt.NDArray[np.uint8] | None:
    """The values as one (n, width) array of ASCII digit bytes when every one is exactly ``width``
    ASCII digits (the common case, checked on the joined text); else None."""
    joined = "".join(values)
    if len(joined) != width * len(values) or not (joined.isascii() and joined.isdigit()):
        return None
    if values and set(map(len, values)) != {width}:
        return None
    return np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(len(values), width)


_POWERS = 10 ** np.arange(19, dtype=np.uint64)[::-1]


def _digit_column(values: list[str], width: int, offset: int, fieldname: str, label: str,
                  required: bool) -> npt.NDArray[np.uint64]:
    """ASCII-digit text of one width as uint64 (NO_MYNUMBER for empty, when allowed); the first bad
    value is an error naming its row, shown masked."""
    packed = _packed_digits(values, width)
    if packed is not None:
        return (packed - np.uint8(48)).astype(np.uint64) @ _POWERS[-width:]
    arr, ok = _ascii_digit_rows(values, width)
    empty = arr == ""
    bad = ~ok if required else ~(ok | empty)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidRecord(f"row {offset + i}: field {fieldname}: {label} must be {width} ASCII digits, "
                            f"got {mask(values[i])}", field=fieldname, row=offset + i)
    out = np.full(len(values), NO_MYNUMBER, dtype=np.uint64)
    if ok.any():
        out[ok] = arr[ok].astype(np.uint64)
    return out


def _date_column(values: list[str], offset: int, fieldname: str) -> npt.NDArray[np.uint8]:
    """Recorded dates as packed 8-byte ASCII (the history index sorts by them); empty is unknown."""
    packed = _packed_digits(values, 8)
    if packed is None:
        arr, ok = _ascii_digit_rows([v or "00000000" for v in values], 8)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise InvalidRecord(f"row {offset + i}: field {fieldname}: a date is 8 digits YYYYMMDD, got {masked_text(values[i])}",
                                field=fieldname, row=offset + i)
        packed = np.ascontiguousarray(arr.astype("S8")).view(np.uint8)
    # A month above 12 or a day above 31 is a typing error (see jukistore.dates); 00 is unknown.
    d = packed.reshape(-1, 8).astype(np.int16) - 48
    bad = (d[:, 4] * 10 + d[:, 5] > 12) | (d[:, 6] * 10 + d[:, 7] > 31)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidRecord(f"row {offset + i}: field {fieldname}: no month above 12 or day above 31, "
                            f"got {masked_text(values[i])}", field=fieldname, row=offset + i)
    return packed.reshape(-1)


class _CheckedGet:
    """The single get of one store handle, checked and logged in Python.

    The hot path of a service answering one lookup at a time. The handle's native get
    (:class:`jukistore._core.BoundGet`) answers a key given as an int while nothing this path
    decided has changed: the operator's rights (the role register's generation and recheck
    interval) and the access-log entry its gets join (its tally still open). Otherwise it calls
    this, before any lookup of its own; this path then arms it for the next call. It holds the
    handle's parts, not the handle: the native get holds it, and the handle holds the native get.
    """

    __slots__ = ("native", "audit", "operator", "purpose", "groups")

    def __init__(self, native: _core.NativeStore, audit: "Audit", operator: Operator | None, purpose: str | None,
                 groups: dict[str, tuple[object, ...]]):
        self.native, self.audit, self.operator, self.purpose, self.groups = native, audit, operator, purpose, groups

    def __call__(self, code: str | int | None, mynumber: str | int | None, person_id: int | None,
                 bound: _core.BoundGet) -> Person | None:
        if mynumber is None and person_id is None and code is not None:
            how, value = "code", code
        elif code is None and person_id is None and mynumber is not None:
            how, value = "mynumber", mynumber
        elif code is None and mynumber is None and person_id is not None:
            how, value = "person_id", person_id
        else:
            raise QueryError("get() takes exactly one of code, mynumber, person_id")
        operator, audit, purpose = self.operator, self.audit, self.purpose or ""
        generation = audit.roles.clock.generation  # read before the check whose result arms
        if operator is None or not audit.roles.has_right(operator.operator_id, "read"):
            operator = audit.authorize(operator, "read", "get", self.purpose)  # logs the refusal and raises
        key = value if type(value) is int and 0 <= value < 2**64 else _key_int(value, how)
        if key is None:
            audit.accessed(operator, purpose, "get", [], by=how)
            return None
        mine = self.groups[how]
        group, tally = audit.access.native_open
        p, logged = self.native.person(how, key, tally if group is mine else None)
        if not logged:
            audit.accessed_in(mine, operator, purpose, "get", [] if p is None else [p.person_id], by=how)
            group, tally = audit.access.native_open
        if group is mine:
            bound.arm(generation, how, tally)
        return p


class Store:
    """A municipality's register in one directory. Use :meth:`create` or :meth:`open`.

    Access control (SPEC §7): a handle may be *bound* to an operator and a purpose
    (``Store.open(path, operator=..., purpose=...)`` or :meth:`acting`). Every read of personal
    data on a bound handle checks the operator's rights in the store's role register
    (:attr:`roles`) and writes one access-log entry; on an unbound handle it is refused
    (:class:`~jukistore.errors.NotPermitted`, itself logged). Writes name their operator
    explicitly and are checked the same way; the change log records them.

    A handle's ``get`` is native (an instance attribute, see :meth:`get`): patch the class's
    ``get`` before opening a handle, or subclass, to change it.
    """

    def __init__(self, native: _core.NativeStore, clock: Clock = utc_now, *, audit: "Audit | None" = None,
                 operator: Operator | None = None, purpose: str | None = None):
        from jukistore.access.log import Audit

        self._native = native
        # Reads go to the handle itself (the native get and the checked path take no other).
        native = native.target if isinstance(native, _ReadOnlyNative) else native
        self.clock = clock
        self.audit: Audit = audit if audit is not None else Audit.of(native.path)
        if operator is not None and not isinstance(operator, Operator):
            raise TypeError("operator must be a jukistore.store.Operator")
        if operator is not None and not (isinstance(purpose, str) and purpose.strip()):
            raise QueryError("a store bound to an operator needs a purpose (利用目的), e.g. purpose=\"転入届の審査\"")
        self.operator = operator
        self.purpose = purpose
        # The access-log group of a single get by each key kind (what Audit.accessed would build
        # per call): a run of gets by one bound operator then joins one entry at a list append.
        self._get_groups = {} if operator is None or purpose is None else {
            how: self.audit.group(operator, purpose, "get", by=how) for how in ("code", "mynumber", "person_id")}
        # The single get of this handle (see _CheckedGet), also the instance's ``get`` unless a
        # subclass defines its own.
        checked = _CheckedGet(native, self.audit, operator, purpose, self._get_groups)
        self._bound = _core.BoundGet(native, self.audit.roles.clock, checked)
        if type(self).get is Store.get:
            vars(self)["get"] = self._bound.get

    @classmethod
    def create(cls, path: str | Path, municipality_code: str, *, administrator: Operator,
               map_size: int | None = None, clock: Clock = utc_now,
               audit_key: str | Path | None = None) -> "Store":
        """Create a store for the municipality (its 6-digit 地方公共団体コード, check digit included).

        ``administrator`` becomes the store's first operator, holding the administrator role (it
        grants the others their roles: :attr:`roles`). ``audit_key`` is the file of the key that
        seals the logs' checkpoints (default ``<store>/audit/key``; see :mod:`jukistore.access.journal`).
        The returned handle is not bound to an operator.
        """
        from jukistore.access.log import Audit
        from jukistore.ids import lgcode

        if not isinstance(administrator, Operator):
            raise TypeError("administrator must be a jukistore.store.Operator")
        code = lgcode.validate(municipality_code)
        native = _core.NativeStore.create(str(path), code, map_size)
        audit = Audit.of(native.path, audit_key)
        audit.roles.bootstrap(administrator)
        return cls(native, clock, audit=audit)

    @classmethod
    def open(cls, path: str | Path, readonly: bool = False, *, operator: Operator | None = None,
             purpose: str | None = None, clock: Clock = utc_now, audit_key: str | Path | None = None) -> "Store":
        """Open a store; with ``operator`` and ``purpose`` the handle is bound for reads."""
        from jukistore.access.log import Audit

        native = _core.NativeStore.open(str(path), readonly)
        audit = Audit.of(native.path, audit_key)
        if readonly and not native.readonly:  # the process's writable handle, shared: refuse its writes
            native = cast(_core.NativeStore, _ReadOnlyNative(native))
        return cls(native, clock, audit=audit, operator=operator, purpose=purpose)

    def acting(self, operator: Operator, purpose: str) -> "Store":
        """A handle on the same store bound to ``operator`` for ``purpose`` (shares everything else)."""
        return type(self)(self._native, self.clock, audit=self.audit, operator=operator, purpose=purpose)

    @property
    def roles(self) -> "RoleRegistry":
        """The store's operators and roles (grants and revocations are recorded; refused through
        a read-only handle)."""
        if self._native.readonly:
            return cast("RoleRegistry", _ReadOnlyView(self.audit.roles, _ROLE_WRITES, "store is opened read-only: roles are granted and revoked through a writable handle"))
        return self.audit.roles

    def _authorize(self, right: str, act: str, operator: Operator | None = None) -> Operator:
        """The operator (given, else the bound one) if it holds ``right``; else a logged refusal."""
        if operator is None:  # the bound operator, checked when bound
            return self.audit.authorize(self.operator, right, act, self.purpose)
        if not isinstance(operator, Operator):
            raise TypeError("operator must be a jukistore.store.Operator")
        return self.audit.authorize(operator, right, act, self.purpose)

    def _logged(self, act: str, persons: "npt.ArrayLike | None", **detail: object) -> None:
        """Record a read by the bound operator (called after :meth:`_authorize` succeeded)."""
        assert self.operator is not None and self.purpose is not None
        self.audit.accessed(self.operator, self.purpose, act, persons, **detail)

    def provide(self, recipient: str, keys: "npt.ArrayLike", *, by: str = "person_id",
                operator: Operator | None = None, approved_by: Operator | None = None) -> "Provision":
        """Data for ``recipient``: only its projection of the persons ``keys`` (see
        :func:`jukistore.access.provide.provide`); recorded in the provision record."""
        from jukistore.access.provide import provide

        return provide(self, recipient, keys, by=by, operator=operator, approved_by=approved_by)

    @property
    def path(self) -> Path:
        return Path(self._native.path)

    @property
    def municipality_code(self) -> str:
        v = self._native.meta("municipality")
        return v.decode() if v else ""

    def __repr__(self) -> str:
        who = f", operator={self.operator.operator_id!r}" if self.operator is not None else ""
        return f"Store({str(self.path)!r}, municipality={self.municipality_code}{who})"

    # ---- writes --------------------------------------------------------------------------

    def load(self, records: Iterable[JuminKihon], *, operator: Operator, batch_size: int = 50_000,
             juminhyo_strict: bool = True, durable: bool = True,
             progress: Callable[[int], None] | None = None) -> LoadReport:
        """Load new persons from master records, one transaction per batch.

        A record with a bad 住民票コード or 個人番号 (form or check digit), or a number already used
        by anyone (removed persons included) or earlier in the load, fails its whole batch with an
        :class:`~jukistore.errors.RecordError` naming the row (0-based over the whole load) and
        field; batches before it stay committed (the error's ``committed`` attribute counts them).
        Batches are handed to the core ahead of being counted, so a load stopped otherwise (an
        exception from ``progress`` or from ``records``, such as a file's row cut short, or Ctrl-C)
        may have written a batch more than ``progress`` reported: its exception's ``committed``
        counts every record the load wrote.
        ``durable=False`` skips fsync per batch and syncs once at the end: a process crash loses
        nothing committed, but a power cut or system crash before that sync can lose or corrupt
        what the load wrote (LMDB's ``MDB_NOSYNC``), so use it for a load that can be redone, such
        as the first load into a new store; writes made meanwhile by other threads still sync at
        each commit (LMDB's flag is the whole environment's, so the core syncs them itself).
        Larger batches cost fewer
        page copies: a batch rewrites every index page it touches, and random numbers touch
        pages all over the indexes (50,000 loads a 1 M-person ward about 1.5x faster than 10,000).
        """
        if not isinstance(operator, Operator):
            raise TypeError("operator must be a jukistore.store.Operator")
        if not _whole(batch_size, 1):
            raise QueryError(f"batch_size must be a whole number, 1 or more, got {masked_text(batch_size)}")
        self._authorize("write", "load", operator)
        report = LoadReport()
        if not durable:
            self._native.unsynced_begin()
        # The batches are written by another thread: tell each whether it is unsynced.
        batch_durable = durable and self._durable()
        # Pipelined: while a thread of the core writes one batch (without the GIL), this thread
        # prepares the next one and hands it over to be written right after; only then does it wait
        # for the one before, so the writer goes from batch to batch without waiting for Python.
        # Batches commit one after another, in order; one after a failed batch is not written, and
        # an error in a batch is raised only once the batches before it have committed.
        pending: deque[tuple[_core.PendingLoad, list[JuminKihon], int]] = deque()
        try:
            offset = 0
            for batch in _batches(records, batch_size):
                try:
                    begin = self._prepare_batch(batch, offset, operator, juminhyo_strict, batch_durable)
                except RecordError as e:
                    while pending:
                        self._committed(pending.popleft(), report, progress)
                    e.committed = report.loaded  # type: ignore[attr-defined]
                    raise
                pending.append((begin(pending[-1][0] if pending else None), batch, offset))
                offset += len(batch)
                while len(pending) > 1:
                    self._committed(pending.popleft(), report, progress)
            while pending:
                self._committed(pending.popleft(), report, progress)
        except BaseException as e:
            # The core writes a batch handed over to it whatever happens here (the next one is
            # handed over before the last is counted): whatever stops the load (an exception from
            # ``progress`` or from ``records``, Ctrl-C), count what it wrote, so that the
            # exception's ``committed`` says where the load stands.
            if getattr(e, "committed", None) is None:
                while pending:
                    try:
                        self._committed(pending.popleft(), report, None)
                    except Exception:
                        break  # a batch that failed: the ones after it are not written
                with suppress(AttributeError):
                    e.committed = report.loaded  # type: ignore[attr-defined]
            raise
        finally:
            # Batches still in flight after an error finish first (or are skipped after a failed
            # one): dropping a handle waits for its thread.
            pending.clear()
            if not durable:
                self._native.unsynced_end()
        return report

    def _prepare_batch(self, batch: list[JuminKihon], offset: int, op: Operator,
                       strict: bool, durable: bool = True) -> Callable[[_core.PendingLoad | None], _core.PendingLoad]:
        """The start of the core's load of one batch (rows ``offset``…), ready to call with the batch
        to write it after (or None); the records are checked
        here first: a bad one raises :class:`~jukistore.errors.InvalidRecord` naming its row."""
        f = _key_fields()
        for i, rec in enumerate(batch):
            if type(rec) is not JuminKihon:
                raise InvalidRecord(f"row {offset + i}: expected a JuminKihon record, got {type(rec).__name__}",
                                    row=offset + i)
        # Every value text first: one of another type would fail below without naming its field,
        # or be stored and fail every later read.
        payloads = encode_batch(batch, offset)
        check_values(payloads, batch, offset)
        # Columns of the batch, each computed in one pass (a Python call per record is the cost to
        # avoid here: this thread prepares the next batch while the core writes the last one).
        # The numbers, sex, removal and dates are read from the encoded records in the core; any
        # record not in their plain form sends the batch through the columns read here, which
        # name what is wrong.
        cols = _core.load_columns(payloads, _load_positions())
        if cols is None:
            cols = _load_columns(batch, offset)
        codes, mns, sexes, flags, births, valid, notified = cols
        names = [k.encode() for k in text.search_keys(list(map(attrgetter(f["kana"]), batch)))]
        addrs = [k.encode() for k in _joined(address_key, list(map(attrgetter(f["address"]), batch)))]
        ts = int(self.clock().timestamp() * 1_000_000)
        return partial(self._native.begin_load, codes, mns, names, births, addrs, sexes, flags, payloads, valid,
                       notified, op.operator_id, op.terminal_id, ts, EVENT_LOAD, strict, durable)

    def _committed(self, pending: "tuple[_core.PendingLoad, list[JuminKihon], int]",
                   report: LoadReport, progress: Callable[[int], None] | None) -> None:
        """Wait for a batch handed to the core; count it, or raise its error naming the row."""
        loading, batch, offset = pending
        try:
            first_pid, first_seq, count, lenient = loading.wait()
        except RecordError as e:
            f = _key_fields()
            at, core_field = e.row or 0, e.field
            row = offset + at
            fieldname = f["code"] if core_field == "juminhyo_code" else f["mynumber"] if core_field == "mynumber" \
                else core_field
            value = getattr(batch[at], fieldname, "") if fieldname else ""
            what = "is already in use" if isinstance(e, DuplicateNumber) else "is invalid"
            detail = str(e).rsplit(":", 1)[-1].strip() if not isinstance(e, DuplicateNumber) else ""
            msg = f"row {row}: field {fieldname}: {mask(value)} {what}" + (f" ({detail})" if detail else "")
            err = type(e)(msg, field=fieldname, row=row)
            err.committed = report.loaded  # type: ignore[attr-defined]
            raise err from None
        if report.first_person_id is None:
            report.first_person_id = first_pid
        report.loaded += count
        report.batches += 1
        report.last_seq = first_seq + count - 1
        report.lenient_rows.extend(offset + r for r in lenient)
        if progress:
            progress(report.loaded)

    # ---- reads ---------------------------------------------------------------------------

    def get(self, *, code: str | int | None = None, mynumber: str | int | None = None,
            person_id: int | None = None) -> Person | None:
        """One person by exactly one of 住民票コード, 個人番号 or person id; None when unknown.

        An old (superseded) number still finds its person, with ``superseded=True``.
        """
        # A handle's ``get`` is its native get, set on the instance in __init__ so that a lookup
        # it answers runs no Python frame; this method documents it and serves subclasses.
        return self._bound.get(code=code, mynumber=mynumber, person_id=person_id)

    def get_many(self, keys: npt.ArrayLike, *, by: str = "code") -> Persons:
        """Many persons at once from one snapshot; ``keys`` a numpy uint64 array (or sequence).

        Returns columns (:class:`Persons`) with no Python object per record until one is asked for.
        One access-log entry covers the whole call.
        """
        self._authorize("read", "get_many")
        res = self._get_many(keys, by)
        self._logged("get_many", res.person_ids[res.found], by=by, keys=len(res))
        return res

    def _get_many(self, keys: npt.ArrayLike, by: str = "code") -> Persons:
        """:meth:`get_many` without the check and the log: for the store's own reads that decide a
        write (the change log records the write) — never to hand records to a caller."""
        return Persons(*self._native.get_many(by, _key_vector(keys, by, "get_many")))

    def search(self, *, name_kana: str | None = None, birth_date: str | None = None, address: str | None = None,
               sex: str | None = None, limit: int = 100) -> list[Person]:
        """Persons matching the 4情報 given; at least two of name, birth date and address.

        ``name_kana`` matches by 清音化かな (ジュンペイ finds シユンヘイ), ``birth_date`` exactly (any form
        :func:`jukistore.dates.parse` reads), ``address`` as a prefix after NFKC and removing
        spaces; ``sex`` ('1' male, '2' female) only narrows.
        """
        from jukistore import dates

        if not _whole(limit, 0):
            raise QueryError(f"limit must be a whole number, 0 or more, got {masked_text(limit)}")
        limit = min(int(limit), 2**63 - 1)  # more than there are persons: no limit
        for name, value in (("name_kana", name_kana), ("birth_date", birth_date), ("address", address), ("sex", sex)):
            if value is not None and not isinstance(value, str):
                raise QueryError(f"{name} must be text, got {type(value).__name__}")
        # A criterion that is blank, or nothing once normalised, is no criterion: it would match
        # everyone and let one real criterion pass for two.
        nk = (name_key(name_kana).encode() if name_kana else b"") or None
        if (birth_date and len(birth_date) == 8 and birth_date.isascii() and birth_date.isdigit()
                and int(birth_date[4:6]) <= 12 and int(birth_date[6:]) <= 31):
            bk: bytes | None = birth_date.encode()  # already the stored form (else parse refuses it)
        else:
            bk = dates.parse(birth_date).compact().encode() if birth_date and birth_date.strip() else None
        ak = (address_key(address).encode() if address else b"") or None
        if sum(x is not None for x in (nk, bk, ak)) < 2:
            raise QueryError("a 4情報 search needs at least two of name_kana, birth_date and address")
        if isinstance(sex, str) and not sex.strip():
            sex = None  # blank: no criterion, as for the others (not "no sex recorded")
        sx = None if sex is None else SEX_CODES.get(sex)
        if sex is not None and sx is None:
            raise QueryError(f"unknown sex code {masked_text(sex)}")
        self._authorize("read", "search")
        found = self._search(nk, bk, ak, sx, limit)
        given = [k for k, v in zip(_CRITERIA, (nk, bk, ak, sx)) if v is not None]
        self._logged("search", [p.person_id for p in found], criteria=given)
        return found

    def _search(self, nk: bytes | None, bk: bytes | None, ak: bytes | None, sx: int | None, limit: int) -> list[Person]:
        """The native search on prepared keys, without the check and the log (the benchmark of
        logging compares :meth:`search` with this)."""
        return [_person(t) for t in self._native.search(nk, bk, ak, sx, limit)]

    # ---- upkeep --------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Check every index against the person entries; report every inconsistency."""
        persons, problems, more = self._native.verify()
        return VerifyReport(persons, problems, more)

    def stats(self) -> dict[str, int]:
        """Entry counts per database, the last 更新順番号, map and file sizes in bytes."""
        return dict(self._native.stats())

    def sync(self) -> None:
        """Flush everything committed to disk now."""
        self._native.force_sync()

    @contextmanager
    def unsynced(self) -> Iterator["Store"]:
        """A block whose writes, made by this thread through this store (any of its handles,
        :meth:`acting` ones included), commit without fsync; its end syncs once. For bulk work
        that can be redone (a first load, events replayed into a new copy): a process crash loses
        nothing committed, but a power cut or system crash before the end can lose or corrupt what
        the block wrote (LMDB's ``MDB_NOSYNC``). Writes of other threads meanwhile still sync at
        each commit; blocks may nest and overlap."""
        self._native.unsynced_begin()
        depths = _unsynced_depths()
        key = id(self._native)
        depths[key] = depths.get(key, 0) + 1
        try:
            yield self
        finally:
            depths[key] -= 1
            if not depths[key]:
                del depths[key]
            self._native.unsynced_end()

    def _durable(self) -> bool:
        """Whether this thread's writes sync at commit: False inside its :meth:`unsynced` block."""
        return id(self._native) not in _unsynced_depths()


_unsynced = threading.local()


def _unsynced_depths() -> dict[int, int]:
    """This thread's open :meth:`Store.unsynced` blocks: native handle id → depth."""
    d: dict[int, int] | None = getattr(_unsynced, "depths", None)
    if d is None:
        d = _unsynced.depths = {}
    return d


@lru_cache(maxsize=1)
def _load_positions() -> list[int]:
    """Where the columns of :func:`_load_columns` lie in an encoded master record."""
    f, order = _key_fields(), JuminKihon.__struct_fields__
    return [order.index(f[k]) for k in ("code", "mynumber", "sex", "removed", "birth", "change_date", "notified")]


def _load_columns(batch: Sequence[JuminKihon], offset: int) -> tuple[Any, ...]:
    """The columns a load indexes (as ``_core.load_columns`` gives them), read field by field; the
    first value not in its plain form is an error naming its field and row."""
    f = _key_fields()
    col = {k: list(map(attrgetter(f[k]), batch)) for k in ("code", "mynumber", "sex", "removed", "birth",
                                                            "change_date", "notified")}
    codes = _digit_column(col["code"], 11, offset, f["code"], "住民票コード", required=True)
    mns = _digit_column(col["mynumber"], 12, offset, f["mynumber"], "個人番号", required=False)
    sex_codes = list(map(SEX_CODES.get, col["sex"]))
    if None in sex_codes:
        i = sex_codes.index(None)
        raise InvalidRecord(f"row {offset + i}: field {f['sex']}: unknown sex code {masked_text(col['sex'][i])}",
                            field=f["sex"], row=offset + i)
    sexes = np.array(sex_codes, dtype=np.uint8)
    flags = (~np.isin(np.array(col["removed"], dtype=object), ["", "0"])).astype(np.uint8)
    _date_column(col["birth"], offset, f["birth"])  # checked as the other dates; kept as given
    births = [b.encode() for b in col["birth"]]
    valid = _date_column(col["change_date"], offset, f["change_date"])
    notified = _date_column(col["notified"], offset, f["notified"])
    return codes, mns, sexes, flags, births, valid, notified


def _person_id(person: object, row: int = 0) -> int:
    """A person named by a write or a read of one person: a :class:`Person` or a person id (an
    int or numpy integer from 1; not a bool, a float or a negative number, which would name
    another person or none)."""
    if isinstance(person, Person):
        return int(person.person_id)
    if isinstance(person, (int, np.integer)) and not isinstance(person, bool) and 0 < int(person) < 2**64:
        return int(person)
    raise QueryError(f"row {row}: a person is a person id or a Person, got {type(person).__name__}")


def _whole(v: object, least: int) -> bool:
    """Whether ``v`` is a whole number (Python or numpy; not a bool) of at least ``least``."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and bool(v >= least)


def _key_vector(keys: npt.ArrayLike, by: str, what: str) -> npt.NDArray[np.uint64]:
    """The keys of a batch read (``get_many``, ``provide``) by code, 個人番号 or person id: a
    known kind, checked by :func:`_key_array`, one-dimensional."""
    if by not in ("code", "mynumber", "person_id"):
        raise QueryError(f"{what} by {by!r}: use code, mynumber or person_id")
    arr = _key_array(keys, by, what)
    if arr.ndim != 1:
        raise QueryError(f"{what} takes a one-dimensional array of keys")
    return arr


def _key_array(keys: npt.ArrayLike, by: str, what: str = "get_many") -> npt.NDArray[np.uint64]:
    """Keys as a contiguous uint64 array. Integers as they are; text only as digits; anything else
    (floats, booleans, negative numbers, malformed text) is refused with an error that names the
    position, not the value (numpy's own message would quote a 個人番号 in full). ``what`` names
    the call in the message."""
    raw = np.asarray(keys)
    if raw.size == 0:  # no keys: numpy gives an empty list float64, which is no float key
        return np.empty(raw.shape, dtype=np.uint64)
    if raw.dtype.kind in "iu":
        if raw.dtype != np.uint64 and raw.size and int(raw.min()) < 0:
            i = int(np.argmin(raw))
            raise QueryError(f"{what} by {by}: key {i} is negative")
        # Native byte order, contiguous and aligned, as the core reads it (a view at an odd offset
        # of a buffer is contiguous but misaligned).
        return np.require(raw, dtype=np.uint64, requirements=["C", "A"])
    if raw.dtype.kind in "USO":
        out = np.empty(raw.size, dtype=np.uint64)
        for i, v in enumerate(raw.reshape(-1).tolist()):
            t = v.decode("ascii", "replace") if isinstance(v, bytes) else v
            if isinstance(t, (int, np.integer)) and not isinstance(t, bool) and 0 <= int(t) < 2**64:
                out[i] = int(t)
            elif _digits(t):
                # As in get: text has its own length ("0" + a 住民票コード is not that code).
                want = _TEXT_LENGTH.get(by)
                if want is not None and len(t) != want:
                    raise QueryError(f"{what} by {by}: key {i} must be {want} digits, got {len(t)} ({mask(t)})")
                out[i] = int(t)
            else:
                raise QueryError(f"{what} by {by}: key {i} is not a number in digits ({mask(str(t))})")
        return out.reshape(raw.shape)
    raise QueryError(f"{what} by {by}: keys must be unsigned integers or digit strings, not {raw.dtype}")


def _key_int(value: str | int, how: str) -> int | None:
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < 2**64 else None
    if _digits(value):
        # As text a number has its own length: "0" + a 住民票コード is not that code.
        want = _TEXT_LENGTH.get(how)
        if want is not None and len(value) != want:
            raise QueryError(f"{how} must be {want} digits, got {len(value)} ({mask(value)})")
        return int(value)
    raise QueryError(f"{how} must be digits, got {mask(str(value))}")


def _digits(value: object) -> TypeGuard[str]:
    """Whether ``value`` is text of ASCII digits that fits a uint64 (at most 19 of them)."""
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19


#: The length of each kind of key when given as text.
_TEXT_LENGTH = {"code": 11, "mynumber": 12}
