"""The register over time: events applied under the rules, and every version they leave.

:class:`Register` wraps a :class:`~jukistore.store.Store`. Writes are :class:`Event` values
checked against the event table (:mod:`jukistore.history.events`) and written by one native call
per batch, so a batch is one transaction whatever its kinds (a family moving in, a 転居 with its
世帯変更). Reads answer the questions of SPEC §4: every version of a person, the record valid on a
date, the record as the store knew it at a sequence number or a time, in bulk over numpy arrays,
and the change feed with the 8-item notification of each change.

Why the rules are checked here and again in the core: the Python layer knows what an event means
and names the item and row of a refusal; the core knows only versions, so the Python layer passes
the 更新順番号 it based each decision on (``expect_seq``) and the core refuses the write if the
person changed meanwhile (:class:`~jukistore.errors.ConcurrentChange`): no decision is ever
applied to a record other than the one it was made on.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterator, Mapping, NamedTuple, Sequence

import msgspec
import numpy as np
import numpy.typing as npt

from jukistore import dates, layouts
from jukistore.text import search_keys
from jukistore.errors import (
    AlreadyResident,
    ConcurrentChange,
    DuplicateNumber,
    FieldNotAllowed,
    IdentityConflict,
    InvalidRecord,
    NoSuchPerson,
    NotPermitted,
    PersonRemoved,
    QueryError,
    RecordError,
    RuleViolation,
    UpdateProhibited,
    mask,
    masked_text,
)
from jukistore.history.events import (
    ADDRESS_ESTABLISHED,
    CODE,
    MYNUMBER,
    PLANNED_DESTINATION,
    REMOVAL,
    REMOVED_BY_MOVE_OUT,
    RULES,
    EventCode,
    Rule,
    event_name,
)
from jukistore.records import JuminKihon, check_values, column_fault, encode_batch
from jukistore.store import (
    NO_MYNUMBER,
    SEX_CODES,
    LazyRecord,
    Operator,
    Person,
    Store,
    _decoder,
    _digit_column,
    _joined,
    _key_array,
    _person_id,
    _whole,
    address_key,
)

if TYPE_CHECKING:
    from jukistore.history.corrections import Corrections, Roles
    from jukistore.history.feed import Cursor, Feed

#: Entry flags of the core (rust/core/src/store/entry.rs).
FLAG_REMOVED, FLAG_PROHIBITED = 1, 2
UNKNOWN_DATE = "00000000"


# ---- master items by number --------------------------------------------------------------------

@lru_cache(maxsize=1)
def item_fields() -> dict[int, str]:
    """Master item number → field name, from the ``jumin_kihon`` layout (never hard-coded)."""
    return {it.no: it.field for it in layouts.load("jumin_kihon").items}


@lru_cache(maxsize=1)
def field_items() -> dict[str, int]:
    """Master field name → item number."""
    return {f: no for no, f in item_fields().items()}


#: seigo item number → master item number, used only if the layout names no source.
_SEIGO_FALLBACK = {1: 30, 2: 21, 3: 23, 4: 22, 5: 8, 6: 81, 7: 11, 8: 14}


@lru_cache(maxsize=None)
def projection(name: str = "seigo") -> tuple[tuple[str, str], ...]:
    """(projection field, master field) pairs of a projection layout, in order.

    Taken from each item's source mapping to the master layout; for the 8-item notification set
    (``seigo``) an item without one falls back to the item numbers of SPEC §1.
    """
    lay = layouts.load(name)
    f = item_fields()
    out = []
    for it in lay.items:
        sources = getattr(it, "sources", None)
        no = sources.get("jumin_kihon") if sources else None
        if no is None and getattr(lay, "source_layout", None) == "jumin_kihon":
            no = it.source if isinstance(it.source, int) else None
        if no is None and name == "seigo":
            no = _SEIGO_FALLBACK.get(it.no)
        if no is None:
            raise QueryError(f"layout {name} item {it.no} names no item of the master file")
        out.append((it.field, f[no]))
    return tuple(out)


def _project(rec: JuminKihon, pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {p: getattr(rec, m) for p, m in pairs}


# ---- what is written -----------------------------------------------------------------------------

#: Items to set: master item number or field name → text.
Changes = Mapping[int, str] | Mapping[str, str] | Mapping[int | str, str]

@dataclass(frozen=True, slots=True)
class Event:
    """One event to apply.

    ``date`` is the 異動年月日 (valid time) in any form :func:`jukistore.dates.parse` reads;
    ``notified`` the 届出年月日 (none for ex officio events). A registering event (転入, 出生,
    職権記載, 国外転入) carries the whole ``record``; any other names its ``person`` (a person id,
    or the :class:`~jukistore.store.Person` read before deciding, whose version is then expected)
    and the items it sets in ``changes`` (master item number or field name → text).
    ``expect_seq`` is the 更新順番号 the decision was based on (default: the Person's, else the one
    read while applying).
    """

    code: EventCode
    date: str
    person: int | Person | None = None
    changes: Changes | None = None
    record: JuminKihon | None = None
    notified: str | None = None
    expect_seq: int | None = None

    def __repr__(self) -> str:
        who = self.person.person_id if isinstance(self.person, Person) else self.person
        items = sorted(str(k) for k in self.changes) if self.changes else []
        return (f"Event({event_name(self.code)}, date={self.date!r}, person={who}, items={items}"
                f"{', record' if self.record is not None else ''})")


class Applied(NamedTuple):
    """What an applied event wrote: its 更新順番号 and the person (new persons get their id here)."""

    seq: int
    person_id: int
    event: EventCode


# ---- what is read --------------------------------------------------------------------------------

def _event(code: int) -> EventCode | int:
    try:
        return EventCode(code)
    except ValueError:
        return code


class Version(LazyRecord):
    """One stored version of a person: the record and when it was valid and recorded.

    ``valid_from`` is its 異動年月日 and ``notified`` its 届出年月日 (``YYYYMMDD``, ``00`` unknown);
    ``seq`` its 更新順番号. The record is decoded on first access (:class:`~jukistore.store.LazyRecord`).
    """

    __slots__ = ("person_id", "seq", "valid_from", "notified", "event", "flags", "code", "mynumber")

    def __init__(self, t: tuple[Any, ...]):
        pid, seq, vf, nt, ev, fl, code, mn, payload = t
        self.person_id: int = pid
        self.seq: int = seq
        self.valid_from: str = vf.decode()
        self.notified: str = nt.decode()
        self.event: EventCode | int = _event(ev)
        self.flags: int = fl
        self.code: str = f"{code:011d}"
        self.mynumber: str | None = None if mn is None else f"{mn:012d}"
        self._payload: bytes | None = payload
        self._record: JuminKihon | None = None

    @property
    def removed(self) -> bool:
        return bool(self.flags & FLAG_REMOVED)

    @property
    def prohibited(self) -> bool:
        """更新禁止フラグ (identity file item 31)."""
        return bool(self.flags & FLAG_PROHIBITED)

    def notification(self, layout: str = "seigo") -> dict[str, str]:
        """The projection of this version (by default the 8 items sent to the prefecture)."""
        return _project(self.record, projection(layout))

    def _key(self) -> tuple[Any, ...]:
        return (self.person_id, self.seq, self.valid_from, self.notified, int(self.event), self.flags, self.record)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Version(person_id={self.person_id}, seq={self.seq}, event={event_name(int(self.event))}, "
                f"valid_from={self.valid_from}, notified={self.notified}, code={mask(self.code)}, "
                f"mynumber={mask(self.mynumber)}, removed={self.removed}, prohibited={self.prohibited})")


class ChangeEntry:
    """One change of the change log: who changed which person, when, why, and the version written.

    ``version`` is None once the version was purged (the change itself is kept). ``notification``
    is the 8-item set sent to the prefecture for this change.
    """

    __slots__ = ("seq", "person_id", "timestamp_us", "event", "operator", "terminal", "version")

    def __init__(self, t: tuple[Any, ...]):
        seq, pid, ts, ev, op, term, v = t
        self.seq: int = seq
        self.person_id: int = pid
        self.timestamp_us: int = ts
        self.event: EventCode | int = _event(ev)
        self.operator: str = op
        self.terminal: str = term
        self.version: Version | None = None if v is None else Version(v)

    @property
    def timestamp(self) -> _dt.datetime:
        """Commit time (UTC)."""
        return _dt.datetime.fromtimestamp(self.timestamp_us / 1e6, _dt.timezone.utc)

    @property
    def notification(self) -> dict[str, str] | None:
        return None if self.version is None else self.version.notification()

    def __repr__(self) -> str:
        return (f"ChangeEntry(seq={self.seq}, person_id={self.person_id}, event={event_name(int(self.event))}, "
                f"operator={self.operator!r}, terminal={self.terminal!r}, at={self.timestamp.isoformat()})")


class Versions(Sequence[JuminKihon | None]):
    """Results of a batch query as columns: ``found``, ``seqs``, ``flags`` aligned with the keys
    asked for, records decoded only on request."""

    def __init__(self, person_ids: npt.NDArray[np.uint64], found: npt.NDArray[np.bool_],
                 seqs: npt.NDArray[np.uint64], flags: npt.NDArray[np.uint8], offsets: npt.NDArray[np.uint64],
                 data: npt.NDArray[np.uint8]):
        self.person_ids = person_ids
        self.found = found
        self.seqs = seqs
        self.flags = flags
        self.offsets = offsets
        self.data = data
        self._view = memoryview(data)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.found)

    def payload(self, i: int) -> memoryview:
        return self._view[int(self.offsets[i]) : int(self.offsets[i + 1])]

    def record(self, i: int) -> JuminKihon | None:
        return _decoder.decode(self.payload(i)) if self.found[i] else None

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        if isinstance(i, slice):
            return [self.record(j) for j in range(*i.indices(len(self)))]
        return self.record(i)

    def records(self) -> list[JuminKihon | None]:
        return [self.record(i) for i in range(len(self))]

    def notifications(self, layout: str = "seigo") -> list[dict[str, str] | None]:
        pairs = projection(layout)
        return [None if r is None else _project(r, pairs) for r in self.records()]

    def __repr__(self) -> str:
        return f"Versions({len(self)} keys, {int(self.found.sum())} found)"


# ---- planning an update --------------------------------------------------------------------------

class _State:
    """A person as the batch being planned sees them (after its earlier rows)."""

    __slots__ = ("record", "flags", "seq", "touched")

    def __init__(self, record: JuminKihon, flags: int, seq: int):
        self.record = record
        self.flags = flags
        self.seq = seq  # the stored version the batch starts from
        self.touched = False  # changed by an earlier row of this batch


def _removed(rec: JuminKihon) -> bool:
    """Removed as Store.load reads item 13: anything but "" and "0"."""
    return getattr(rec, item_fields()[13]) not in ("", "0")


def compact_date(value: object, field: str, row: int) -> str:
    """A date as the store keeps it (``YYYYMMDD``, ``00`` unknown), from any form dates.parse reads."""
    if isinstance(value, str) and len(value) == 8 and value.isascii() and value.isdigit():
        if int(value[4:6]) <= 12 and int(value[6:]) <= 31:
            return value
    if not isinstance(value, str):
        raise InvalidRecord(f"row {row}: field {field}: a date is text, got {type(value).__name__}", field=field, row=row)
    try:
        return dates.parse(value).compact()
    except dates.DateError as e:
        raise InvalidRecord(f"row {row}: field {field}: {e}", field=field, row=row) from None


def _code_text(code: object) -> str:
    """An event code as a refusal quotes it: a value that is no EventCode may be a number given in
    the wrong place, perhaps a 個人番号, and is masked like any quoted input."""
    return repr(code) if isinstance(code, EventCode) else masked_text(code)


def _digits(value: str, width: int, field: str, row: int, label: str) -> int:
    if not (isinstance(value, str) and len(value) == width and value.isascii() and value.isdigit()):
        raise InvalidRecord(f"row {row}: field {field}: {label} must be {width} ASCII digits, got {mask(value)}",
                            field=field, row=row)
    return int(value)


class Register:
    """Events and history over a store; see the module docstring.

    Rights come from the store's role register (``store.roles``): writes need the write right,
    corrections the propose and approve rights, 更新禁止 the approver role. Reads of history and
    changes go through the same check and access log as the store's own reads, so they need a
    store handle bound to an operator and a purpose (``store.acting(operator, purpose)``).
    """

    def __init__(self, store: Store):
        self.store = store
        self.roles: "Roles" = store.roles
        self._native = store._native

    def _require_role(self, operator: Operator, role: str, what: str) -> None:
        """Refuse (and log the refusal) an act needing ``role`` that ``operator`` does not hold."""
        if not self.roles.has_role(operator.operator_id, role):
            self.store.audit._refused(operator, role, what, self.store.purpose, f"does not hold the {role} role")
            raise NotPermitted(f"{what} needs the {role} role, which operator {operator.operator_id!r} does not hold")

    def _read(self, act: str) -> None:
        self.store._authorize("read", act)

    def __repr__(self) -> str:
        return f"Register({self.store!r})"

    @property
    def corrections(self) -> "Corrections":
        """Corrections (記載の修正) under dual control. A new handle each time (it holds nothing
        else): kept on the register it would be a reference cycle, and a register dropped by its
        caller would keep its store open until the garbage collector ran."""
        from jukistore.history.corrections import Corrections

        return Corrections(self)

    # ---- writes ----------------------------------------------------------------------------------

    def apply(self, events: Sequence[Event] | Event, *, operator: Operator) -> list[Applied]:
        """Apply events in order, all in one transaction: all are written or none.

        Each is checked against the event table first; a refusal is a typed error naming the
        event's row (0-based) and the item. 記載の修正 is refused here: it takes effect only through
        an approved proposal (:attr:`corrections`).
        """
        if isinstance(events, Event):
            events = [events]
        if not isinstance(operator, Operator):
            raise TypeError("operator must be a jukistore.store.Operator")
        events = list(events)
        for i, ev in enumerate(events):  # before the rights an event needs are looked up
            if not isinstance(ev, Event):
                raise QueryError(f"row {i}: expected an Event, got {type(ev).__name__}")
        # An event reserved to a role (更新禁止 and its lifting: the approver) needs that role,
        # checked per event in _plan; any other needs the write right.
        if any(getattr(RULES.get(ev.code), "role", None) is None for ev in events):  # type: ignore[call-overload]
            self.store._authorize("write", "apply", operator)
        updates = self._plan(events, operator)
        return self._write(updates, operator)

    def apply_many(self, code: EventCode, persons: npt.ArrayLike, date: str | npt.ArrayLike,
                   changes: Mapping[int | str, str | Sequence[str]] | None = None, *, operator: Operator,
                   notified: str | npt.ArrayLike | None = None,
                   expect_seqs: npt.ArrayLike | None = None) -> npt.NDArray[np.uint64]:
        """Apply one kind of event to many persons in one transaction, as columns; returns the
        更新順番号 of each.

        The same rules as :meth:`apply`, the same records written, at a fraction of the cost:
        ``persons`` is an array of distinct person ids, ``date`` and ``notified`` one date for all
        or one per person, ``changes`` maps items to one text for all or a sequence of texts, one
        per person. Nobody's record is decoded here: the core sets the items in place
        (:func:`jukistore_core::store::patch`), and keys are computed only for the items that
        change. For registrations, 転出取消, 転出確定 and mixed batches use :meth:`apply`.
        """
        if not isinstance(operator, Operator):
            raise TypeError("operator must be a jukistore.store.Operator")
        r = RULES.get(code)  # type: ignore[call-overload]
        if r is None or r.role is None:
            self.store._authorize("write", "apply_many", operator)
        if r is None or r.kind in ("register", "restore") or r.subject == "moved_out":
            raise QueryError(f"apply_many takes a change, removal or lock of current records, not {_code_text(code)}; "
                             f"use apply")
        if r.dual_control:
            raise NotPermitted(f"{r.code.name} takes effect only through an approved proposal")
        if r.role is not None:
            self._require_role(operator, r.role, r.code.name)
        f = item_fields()
        pids = _key_array(persons, "person_id", "apply_many")  # no float or bool taken for an id
        n = len(pids)
        if pids.ndim != 1 or len(np.unique(pids)) != n:
            raise QueryError("apply_many takes a one-dimensional array of distinct person ids")
        if n == 0:
            return np.zeros(0, dtype=np.uint64)
        # Caller's items: checked once for the whole column.
        cols: dict[int, list[str]] = {}
        faults: list[tuple[int, int, int, str]] = []  # (row, position, item, what is wrong)
        for key, value in (changes or {}).items():
            no = _item_no(key, cols, 0)
            if no not in r.items:
                raise FieldNotAllowed(f"row 0: field {f[no]}: {r.code.name} may not change item {no}", field=f[no], row=0)
            col = [value] * n if isinstance(value, str) else list(value)
            if len(col) != n:
                raise InvalidRecord(f"row 0: field {f[no]}: expected one text or {n} texts", field=f[no], row=0)
            bad = next((j for j, v in enumerate(col) if type(v) is not str), None)
            if bad is not None:
                raise InvalidRecord(f"row {bad}: field {f[no]}: expected text, got {type(col[bad]).__name__}",
                                    field=f[no], row=bad)
            fault = column_fault(JuminKihon, _positions()[no], col)
            if fault is not None:  # raised below, after the refusals apply gives first
                faults.append((fault[0], _positions()[no], no, fault[1]))
            cols[no] = col
        if r.must_change and not cols:
            first = f[min(r.must_change)]
            raise RuleViolation(f"row 0: field {first}: {r.code.name} changes none of the items it is for",
                                field=first, row=0)
        vf = _date_column(date, n, "date")
        nt = _date_column(notified, n, "notified") if notified is not None else None
        exp = None if expect_seqs is None else _seq_column(expect_seqs, "expect_seqs")
        if exp is not None and exp.shape != (n,):
            raise QueryError(f"apply_many takes {n} expected versions, one per person")
        if faults:
            # apply refuses by state, row by row, while it plans, and a value outside its item's
            # layout only once every row is planned (the first row's, then the first item's).
            self._refuse_state(r, pids, exp, cols)
            row, _, no, why = min(faults)
            raise InvalidRecord(f"row {row}: field {f[no]}: {why}", field=f[no], row=row)
        # The items written: the caller's, then the register's own.
        text = r.code.text
        vf_text = vf.astype("U8").tolist()
        nt_text = nt.astype("U8").tolist() if nt is not None else [""] * n
        items: dict[int, list[str]] = dict(cols)
        items.update({11: [text] * n, 14: vf_text, 15: nt_text})
        if r.establishes_address:
            items.update({16: vf_text, 17: [text] * n, 18: nt_text, 19: [text] * n})
        # Flags set and cleared on each current entry: each person's state (present, at the
        # expected version, removed or not, under 更新禁止 or not) is checked in the transaction
        # that writes, on the entry it replaces.
        set_flags = clear_flags = 0
        if r.kind == "remove":
            items.update({13: [r.removal or ""] * n, 54: vf_text, 55: nt_text, 57: [text] * n})
            set_flags = FLAG_REMOVED
        elif r.kind == "lock":
            set_flags = FLAG_PROHIBITED
        elif r.kind == "unlock":
            clear_flags = FLAG_PROHIBITED
        pos = _positions()
        order = sorted(items, key=lambda no: pos[no])
        must = [pos[no] for no in sorted(cols, key=lambda no: pos[no])] if r.must_change else []
        kw: dict[str, Any] = {}
        if 20 in cols:
            kw["name_keys"] = [k.encode() for k in search_keys(cols[20])]
        if 8 in cols:
            kw["addr_keys"] = [k.encode() for k in _joined(address_key, cols[8])]
        if 23 in cols:
            kw["birth_keys"] = [v.encode() for v in cols[23]]
        if 22 in cols:
            sx = [SEX_CODES.get(v) for v in cols[22]]
            if None in sx:
                i = sx.index(None)
                raise InvalidRecord(f"row {i}: field {f[22]}: unknown sex code {masked_text(cols[22][i])}", field=f[22], row=i)
            kw["sexes"] = np.array(sx, dtype=np.uint8)
        if CODE in cols:
            kw["codes"] = _digit_column(cols[CODE], 11, 0, f[CODE], "住民票コード", required=True)
        if MYNUMBER in cols:
            kw["mynumbers"] = _digit_column(cols[MYNUMBER], 12, 0, f[MYNUMBER], "個人番号", required=False)
        packed = np.full(n, UNKNOWN_DATE.encode(), dtype="S8") if nt is None else np.where(nt == b"", UNKNOWN_DATE.encode(), nt)
        try:
            return self._native.apply_patches(
                pids, exp, np.ascontiguousarray(vf).view(np.uint8),
                np.ascontiguousarray(packed.astype("S8")).view(np.uint8), int(r.code), [pos[no] for no in order],
                [items[no] for no in order], must, operator.operator_id, operator.terminal_id, self._now_us(),
                set_flags, clear_flags, r.subject == "resident", r.kind == "unlock", **kw,
                durable=self.store._durable())
        except RecordError as e:
            # Nothing was written. Report the refusal apply would: the first row refused by
            # state, in row order, before any other error.
            self._refuse_state(r, pids, exp)
            raise _column_error(e, cols) from None

    def _refuse_state(self, r: Rule, pids: npt.NDArray[np.uint64], exp: npt.NDArray[np.uint64] | None,
                      cols: dict[int, list[str]] | None = None) -> None:
        """Raise the refusal of the first row whose person's state (present, at the expected
        version, not removed, (not) under 更新禁止) ``r`` does not accept, read in one snapshot;
        with ``cols`` (the caller's items), also of a row they do not change where ``r`` must."""
        n = len(pids)
        cur = self.store._get_many(pids, by="person_id")
        removed = (cur.flags & FLAG_REMOVED) != 0
        locked = (cur.flags & FLAG_PROHIBITED) != 0
        checks: list[tuple[npt.NDArray[np.bool_], Any]] = [(~cur.found, None)]
        if exp is not None:
            checks.append((cur.found & (exp != cur.seqs), ConcurrentChange))
        if r.subject == "resident":
            checks.append((cur.found & removed, PersonRemoved))
        checks.append((cur.found & locked if r.kind != "unlock" else cur.found & ~locked,
                       UpdateProhibited if r.kind != "unlock" else RuleViolation))
        if cols and r.must_change:
            f = item_fields()
            same = np.array([bool(cur.found[i]) and all(getattr(cur.record(i), f[no]) == col[i] for no, col in cols.items())
                             for i in range(n)], dtype=bool)
            checks.append((same, "unchanged"))
        bad = np.zeros(n, dtype=bool)
        for m, _ in checks:
            bad |= m
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            for m, cls in checks:
                if m[i]:
                    break
            pid = int(pids[i])
            if cls is None:
                raise NoSuchPerson(f"row {i}: no person {pid}", row=i)
            if cls == "unchanged":
                first = item_fields()[min(r.must_change)]
                raise RuleViolation(f"row {i}: field {first}: {r.code.name} changes none of the items it is for",
                                    field=first, row=i)
            what = {ConcurrentChange: f"the person changed meanwhile (expected version {int(exp[i]) if exp is not None else 0}, "
                                      f"found {int(cur.seqs[i])})",
                    PersonRemoved: f"{r.code.name} does not apply to a removed person (除票)",
                    UpdateProhibited: "the record is under 更新禁止 (update prohibited)",
                    RuleViolation: "the record is not under 更新禁止"}[cls]
            raise cls(f"row {i}: {what}", row=i)

    def _now_us(self) -> int:
        return int(self.store.clock().timestamp() * 1_000_000)

    def _write(self, updates: list[dict[str, Any]], operator: Operator,
               proposal: tuple[int, int, bytes] | None = None) -> list[Applied]:
        if not updates:
            return []
        try:
            res = self._native.apply(updates, operator.operator_id, operator.terminal_id, self._now_us(), proposal,
                                     durable=self.store._durable())
        except RecordError as e:
            raise _row_error(e, updates) from None
        return [Applied(s, p, EventCode(u["event"])) for (s, p), u in zip(res, updates)]

    def _plan(self, events: Sequence[Event], operator: Operator, *, correction: bool = False) -> list[dict[str, Any]]:
        """Check every event against the rules and the records it applies to; build the updates."""
        if not isinstance(operator, Operator):
            raise TypeError("operator must be a jukistore.store.Operator")
        f = item_fields()
        n = len(events)
        rules: list[Rule] = []
        reg_rows: list[int] = []
        upd_rows: list[int] = []
        for i, ev in enumerate(events):  # Events: apply checked, the corrections built them
            if ev.changes is not None and not isinstance(ev.changes, Mapping):
                raise QueryError(f"row {i}: changes map items to text, got {type(ev.changes).__name__}")
            r = RULES.get(ev.code)  # type: ignore[call-overload]
            if r is None:
                raise QueryError(f"row {i}: event {_code_text(ev.code)} is not applied as an event "
                                 f"(the bulk registration is Store.load)")
            if r.dual_control and not correction:
                raise NotPermitted(f"row {i}: {r.code.name} takes effect only through an approved proposal")
            if r.role is not None:
                self._require_role(operator, r.role, f"row {i}: {r.code.name}")
            if r.kind == "register":
                if type(ev.record) is not JuminKihon or ev.person is not None or ev.changes:
                    raise QueryError(f"row {i}: {r.code.name} takes a whole record (record=JuminKihon) and no person")
                reg_rows.append(i)
            else:
                if ev.person is None or ev.record is not None:
                    raise QueryError(f"row {i}: {r.code.name} names a person and the items it changes, not a record")
                upd_rows.append(i)
            rules.append(r)

        # Everyone the batch touches, read in one snapshot per index.
        state: dict[int, _State] = {}
        pids_of: dict[int, int] = {}
        if upd_rows:
            pids = np.fromiter((_person_id(events[i].person, i) for i in upd_rows), dtype=np.uint64, count=len(upd_rows))
            cur = self.store._get_many(pids, by="person_id")
            for k, i in enumerate(upd_rows):
                pid = int(pids[k])
                pids_of[i] = pid
                if cur.found[k] and pid not in state:
                    state[pid] = _State(cur.record(k), int(cur.flags[k]), int(cur.seqs[k]))  # type: ignore[arg-type]
        links: dict[int, tuple[int, bool, int, bool]] = {}
        if reg_rows:
            codes = np.array([_digits(getattr(events[i].record, f[CODE]), 11, f[CODE], i, "住民票コード")
                              for i in reg_rows], dtype=np.uint64)
            mn_text = [getattr(events[i].record, f[MYNUMBER]) for i in reg_rows]
            mns = np.array([_digits(m, 12, f[MYNUMBER], i, "個人番号") if m else NO_MYNUMBER
                            for m, i in zip(mn_text, reg_rows)], dtype=np.uint64)
            by_code = self.store._get_many(codes, by="code")
            by_mn = self.store._get_many(mns, by="mynumber")
            for k, i in enumerate(reg_rows):
                pc = int(by_code.person_ids[k]) if by_code.found[k] else 0
                pm = int(by_mn.person_ids[k]) if by_mn.found[k] else 0
                links[i] = (pc, bool(by_code.superseded[k]), pm, bool(by_mn.superseded[k]))
                for hits, j in ((by_code, pc), (by_mn, pm)):
                    if j and j not in state:
                        state[j] = _State(hits.record(k), int(hits.flags[k]), int(hits.seqs[k]))  # type: ignore[arg-type]

        updates: list[dict[str, Any]] = []
        new_recs: list[JuminKihon] = []
        for i, ev in enumerate(events):
            r = rules[i]
            date = compact_date(ev.date, "date", i)
            notified = compact_date(ev.notified, "notified", i) if ev.notified else ""
            book = {f[11]: r.code.text, f[14]: date, f[15]: notified}
            if r.establishes_address:
                book.update({f[16]: date, f[17]: r.code.text, f[18]: notified, f[19]: r.code.text})
            if r.kind == "register":
                pid, st, rec, expect, flags = self._plan_register(i, ev, r, links[i], state, book, date)
            else:
                pid = pids_of[i]
                st = state.get(pid)
                if st is None:
                    raise NoSuchPerson(f"row {i}: no person {pid}", row=i)
                rec, expect, flags = self._plan_change(i, ev, r, st, book, date, notified)
            if st is not None:
                st.record, st.flags, st.touched = rec, flags, True
            new_recs.append(rec)
            updates.append({
                "person_id": pid, "flags": flags, "payload": b"",
                "valid_from": date.encode(), "notified": (notified or UNKNOWN_DATE).encode(),
                "event": int(r.code), "expect_seq": expect, "override_prohibited": r.kind == "unlock",
            })
        for u, payload in zip(updates, encode_batch(new_recs)):
            u["payload"] = payload
        check_values([u["payload"] for u in updates], new_recs)
        self._keys(new_recs, updates)
        assert len(updates) == n
        return updates

    def _plan_register(self, i: int, ev: Event, r: Rule, link: tuple[int, bool, int, bool],
                       state: dict[int, _State], book: dict[str, str], date: str
                       ) -> tuple[int, _State | None, JuminKihon, int, int]:
        f = item_fields()
        rec = ev.record
        assert rec is not None
        for no in sorted(REMOVAL):
            if getattr(rec, f[no]) not in ("", "0"):
                raise FieldNotAllowed(f"row {i}: field {f[no]}: a registration cannot be a removed record",
                                      field=f[no], row=i)
        if r.code == EventCode.出生 and getattr(rec, f[23]) != date:
            raise RuleViolation(f"row {i}: field {f[23]}: a birth's 異動年月日 is the birth date", field=f[23], row=i)
        pc, sup_c, pm, sup_m = link
        for pid, sup, no in ((pc, sup_c, CODE), (pm, sup_m, MYNUMBER)):
            if pid and sup:
                raise IdentityConflict(f"row {i}: field {f[no]}: {mask(getattr(rec, f[no]))} is a number its person "
                                       f"no longer uses", field=f[no], row=i)
        if pc and pm and pc != pm:
            raise IdentityConflict(f"row {i}: the 住民票コード and the 個人番号 belong to two different persons",
                                   field=f[MYNUMBER], row=i)
        pid = pc or pm
        if not pid:
            return 0, None, msgspec.structs.replace(rec, **book), 0, 0
        no = CODE if pc else MYNUMBER
        if r.code == EventCode.出生:
            raise DuplicateNumber(f"row {i}: field {f[no]}: {mask(getattr(rec, f[no]))} is already in use; "
                                  f"a birth takes new numbers", field=f[no], row=i)
        st = state[pid]
        if not st.flags & FLAG_REMOVED:
            raise AlreadyResident(f"row {i}: field {f[no]}: person {pid} is already a resident", field=f[no], row=i)
        if st.flags & FLAG_PROHIBITED:
            raise UpdateProhibited(f"row {i}: person {pid} is under 更新禁止", row=i)
        # The same person returns: their id and history continue. A number the record leaves empty
        # stays theirs (a number belongs to its person for life); the 宛名番号 too.
        keep = {}
        for k in (MYNUMBER, 12):
            if not getattr(rec, f[k]) and getattr(st.record, f[k]):
                keep[f[k]] = getattr(st.record, f[k])
        new = msgspec.structs.replace(rec, **keep, **book)
        return pid, st, new, 0 if st.touched else st.seq, st.flags & ~FLAG_REMOVED

    def _plan_change(self, i: int, ev: Event, r: Rule, st: _State, book: dict[str, str], date: str,
                     notified: str) -> tuple[JuminKihon, int, int]:
        f = item_fields()
        expect = ev.expect_seq if ev.expect_seq is not None else (
            ev.person.seq if isinstance(ev.person, Person) else None)
        if expect is not None and expect != st.seq:
            raise ConcurrentChange(f"row {i}: the person changed meanwhile (expected version {expect}, "
                                   f"found {st.seq})", row=i)
        removed = bool(st.flags & FLAG_REMOVED)
        if r.subject == "resident" and removed:
            raise PersonRemoved(f"row {i}: {r.code.name} does not apply to a removed person (除票)", row=i)
        if r.subject == "moved_out" and (not removed or getattr(st.record, f[13]) != REMOVED_BY_MOVE_OUT):
            raise RuleViolation(f"row {i}: field {f[13]}: {r.code.name} applies only to a person removed by 転出",
                                field=f[13], row=i)
        prohibited = bool(st.flags & FLAG_PROHIBITED)
        if prohibited and r.kind != "unlock":
            raise UpdateProhibited(f"row {i}: the record is under 更新禁止 (update prohibited)", row=i)
        if r.kind == "unlock" and not prohibited:
            raise RuleViolation(f"row {i}: the record is not under 更新禁止", row=i)
        changes: dict[str, str] = {}
        seen: dict[int, object] = {}
        for key, value in (ev.changes or {}).items():
            no = _item_no(key, seen, i)
            seen[no] = value
            if no not in r.items:
                raise FieldNotAllowed(f"row {i}: field {f[no]}: {r.code.name} may not change item {no}",
                                      field=f[no], row=i)
            if not isinstance(value, str):
                raise InvalidRecord(f"row {i}: field {f[no]}: expected text, got {type(value).__name__}",
                                    field=f[no], row=i)
            changes[f[no]] = value
        cur = st.record
        if r.must_change and not any(getattr(cur, k) != v for k, v in changes.items()):
            first = f[min(r.must_change)]
            raise RuleViolation(f"row {i}: field {first}: {r.code.name} changes none of the items it is for",
                                field=first, row=i)
        flags = st.flags
        if r.kind == "remove":
            changes.update({f[13]: r.removal or "", f[54]: date, f[55]: notified, f[57]: r.code.text})
            flags |= FLAG_REMOVED
        elif r.kind == "restore":
            changes.update({f[no]: "" for no in REMOVAL | PLANNED_DESTINATION})
            flags &= ~FLAG_REMOVED
        elif r.kind == "lock":
            flags |= FLAG_PROHIBITED
        elif r.kind == "unlock":
            flags &= ~FLAG_PROHIBITED
        changes.update(book)
        rec = msgspec.structs.replace(cur, **changes)
        return rec, 0 if st.touched else st.seq, flags

    @staticmethod
    def _keys(recs: list[JuminKihon], updates: list[dict[str, Any]]) -> None:
        """The index keys of each new version, computed as Store.load computes them."""
        if not recs:
            return
        f = item_fields()
        kana = [getattr(r, f[20]) for r in recs]
        addr = [getattr(r, f[8]) for r in recs]
        names = search_keys(kana)
        addrs = _joined(address_key, addr)
        for i, (rec, u) in enumerate(zip(recs, updates)):
            sex = SEX_CODES.get(getattr(rec, f[22]))
            if sex is None:
                raise InvalidRecord(f"row {i}: field {f[22]}: unknown sex code {masked_text(getattr(rec, f[22]))}", field=f[22], row=i)
            mn = getattr(rec, f[MYNUMBER])
            u["code"] = _digits(getattr(rec, f[CODE]), 11, f[CODE], i, "住民票コード")
            u["mynumber"] = _digits(mn, 12, f[MYNUMBER], i, "個人番号") if mn else None
            u["name_key"] = names[i].encode()
            u["birth_key"] = getattr(rec, f[23]).encode()
            u["addr_key"] = addrs[i].encode()
            u["sex"] = sex
            u["flags"] = (u["flags"] & ~FLAG_REMOVED) | (FLAG_REMOVED if _removed(rec) else 0)

    # ---- reads -----------------------------------------------------------------------------------

    def history(self, person: int | Person) -> list[Version]:
        """Every version of a person, oldest first (empty for an unknown person)."""
        pid = _person_id(person)
        self._read("history")
        out = [Version(t) for t in self._native.history(pid)]
        self.store._logged("history", [pid] if out else [])
        return out

    def as_of(self, person: int | Person, date: str, *, known_at: int | None = None) -> Version | None:
        """The version valid on ``date`` (the latest 異動年月日 on or before it; of equal dates the
        later recorded), as the store knows it now or as it knew it at ``known_at``."""
        d = compact_date(date, "date", 0).encode()
        pid = _person_id(person)
        _seq_arg(known_at, "known_at")
        self._read("as_of")
        t = self._native.as_of(pid, d, known_at)
        self.store._logged("as_of", [] if t is None else [pid])
        return None if t is None else Version(t)

    def as_known(self, person: int | Person, *, seq: int | None = None,
                 time: _dt.datetime | None = None) -> Version | None:
        """The person as the store held them at 更新順番号 ``seq`` or at ``time`` (what it would have
        sent then); None if the person did not exist yet."""
        if (seq is None) == (time is None):
            raise QueryError("as_known takes exactly one of seq and time")
        s = self.seq_at(time) if time is not None else _seq_arg(seq, "seq")
        pid = _person_id(person)
        self._read("as_known")
        t = self._native.as_known(pid, s) if s else None
        self.store._logged("as_known", [] if t is None else [pid])
        return None if t is None else Version(t)

    def seq_at(self, time: _dt.datetime) -> int:
        """The last 更新順番号 committed at or before ``time`` (0 if none); ``time`` must be aware."""
        return self._native.seq_at(_us(time))

    def _pids(self, keys: npt.ArrayLike, by: str) -> npt.NDArray[np.uint64]:
        arr = np.ascontiguousarray(np.asarray(keys), dtype=np.uint64)
        if arr.ndim != 1:
            raise QueryError("batch queries take a one-dimensional array of keys")
        if by == "person_id":
            return arr
        hits = self.store._get_many(arr, by=by)
        return np.where(hits.found, hits.person_ids, np.uint64(0))

    def as_of_many(self, keys: npt.ArrayLike, dates_: npt.ArrayLike | str, *, by: str = "person_id",
                   known_at: int | None = None) -> Versions:
        """``as_of`` for many persons in one snapshot: ``keys`` person ids (or numbers, with ``by``),
        ``dates_`` one date for all or an array of ``YYYYMMDD`` (``S8``/``U8``), one per key."""
        _seq_arg(known_at, "known_at")
        self._read("as_of_many")
        pids = self._pids(keys, by)
        n = len(pids)
        if isinstance(dates_, str):
            d = np.full(n, compact_date(dates_, "date", 0), dtype="S8")
        else:
            d = np.asarray(dates_)
            if d.shape != (n,) or not (d.dtype.kind == "U" or d.dtype == np.dtype("S8")):
                raise QueryError(f"dates must be one date or {n} dates YYYYMMDD as S8 or U8")
            d = _date_column(d, n, "date")  # each YYYYMMDD, as apply_many takes them
        packed = np.ascontiguousarray(d).view(np.uint8)
        res = Versions(pids, *self._native.as_of_many(pids, packed, known_at))
        self.store._logged("as_of_many", pids[res.found], keys=len(pids))
        return res

    def as_known_many(self, keys: npt.ArrayLike, seqs: npt.ArrayLike | int | None = None, *,
                      time: _dt.datetime | None = None, by: str = "person_id") -> Versions:
        """``as_known`` for many persons: at one sequence (or time) for all, or one sequence per key."""
        self._read("as_known_many")
        pids = self._pids(keys, by)
        if (seqs is None) == (time is None):
            raise QueryError("as_known_many takes exactly one of seqs and time")
        if time is not None:
            seqs = self.seq_at(time)
        s = np.full(len(pids), _seq_arg(seqs, "seqs"), dtype=np.uint64) if np.isscalar(seqs) else \
            _seq_column(seqs, "seqs")
        res = Versions(pids, *self._native.as_known_many(pids, s))
        self.store._logged("as_known_many", pids[res.found], keys=len(pids))
        return res

    def changes(self, since: int = 0, limit: int = 1000) -> list[ChangeEntry]:
        """Changes with 更新順番号 above ``since``, in order, at most ``limit``."""
        _page_args(since, limit, "limit")
        self._read("changes")
        out = [ChangeEntry(t) for t in self._native.changes(since, limit)]
        self.store._logged("changes", sorted({c.person_id for c in out}), since=since)
        return out

    def iter_changes(self, since: int = 0, batch: int = 1000) -> Iterator[ChangeEntry]:
        """Every change above ``since`` up to the last one committed when each page is read."""
        _page_args(since, batch, "batch", least=1)
        while True:
            page = self.changes(since, batch)
            yield from page
            if len(page) < batch:
                return
            since = page[-1].seq

    def last_seq(self) -> int:
        return self._native.last_seq()

    def feed(self, cursor: "Cursor | int | str | Any" = 0, *, batch_size: int = 1000) -> "Feed":
        """A :class:`~jukistore.history.feed.Feed` over this register from ``cursor``."""
        from jukistore.history.feed import Feed

        return Feed(self, cursor, batch_size=batch_size)


@lru_cache(maxsize=1)
def _positions() -> dict[int, int]:
    """Master item number → element position in a stored record (array-like Struct order)."""
    order = {name: k for k, name in enumerate(JuminKihon.__struct_fields__)}
    return {no: order[name] for no, name in item_fields().items()}


def _item_no(key: object, seen: Mapping[int, object], row: int) -> int:
    """The master item number a key of ``changes`` names (its number or its field name); refused
    (InvalidRecord naming the row) when it names none, is a bool (True is not item 1), or names an
    item already in ``seen`` (the same item by number and by name)."""
    f, fi = item_fields(), field_items()
    no = key if type(key) is int else fi.get(key) if isinstance(key, str) else None
    if no not in f:
        raise InvalidRecord(f"row {row}: no item {masked_text(key)} in the master record", field="changes", row=row)
    assert no is not None
    if no in seen:
        raise InvalidRecord(f"row {row}: field {f[no]}: item {no} given twice (by number and by name)",
                            field=f[no], row=row)
    return no


def _date_column(value: object, n: int, field: str) -> npt.NDArray[np.bytes_]:
    """One date for all or one per row, as ``S8`` (``YYYYMMDD``), checked without a loop."""
    if isinstance(value, str):
        return np.full(n, compact_date(value, field, 0).encode(), dtype="S8")
    arr = np.asarray(value)
    if arr.dtype.kind == "U" and arr.shape == (n,):
        # Checked before the cast, which would cut a longer value to 8 characters and fail on others.
        width = arr.dtype.itemsize // 4
        cps = np.ascontiguousarray(arr).view(np.uint32).reshape(n, width)
        ok = np.zeros(n, dtype=bool) if width < 8 else (((cps[:, :8] >= 48) & (cps[:, :8] <= 57)).all(axis=1)
                                                      & (cps[:, 8:] == 0).all(axis=1))
        bad = np.flatnonzero(~ok)
        if bad.size:
            i = int(bad[0])
            raise InvalidRecord(f"row {i}: field {field}: a date is 8 ASCII digits YYYYMMDD, got {len(arr[i])} characters",
                                field=field, row=i)
        arr = arr.astype("S8")
    if arr.dtype != np.dtype("S8") or arr.shape != (n,):
        raise InvalidRecord(f"row 0: field {field}: one date or {n} dates YYYYMMDD (S8/U8)", field=field, row=0)
    d = np.ascontiguousarray(arr).view(np.uint8).reshape(n, 8)
    digits = ((d >= 48) & (d <= 57)).all(axis=1)
    num = (d.astype(np.int32) - 48)
    month = num[:, 4] * 10 + num[:, 5]
    day = num[:, 6] * 10 + num[:, 7]
    ok = digits & (month <= 12) & (day <= 31)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise InvalidRecord(f"row {i}: field {field}: a date is YYYYMMDD, got {masked_text(arr[i])}", field=field, row=i)
    return arr


def _column_error(e: RecordError, cols: dict[int, list[str]]) -> RecordError:
    """A core refusal of apply_many restated with the master field name, the value masked."""
    row = e.row if e.row is not None else 0
    no = _CORE_FIELDS.get(e.field or "")
    if no is None:
        return e
    field = item_fields()[no]
    shown = mask(cols[no][row]) if no in cols and row < len(cols[no]) else "****"
    what = "is already in use" if isinstance(e, DuplicateNumber) else f"is invalid ({str(e).rsplit('(', 1)[-1]}"
    return type(e)(f"row {row}: field {field}: {shown} {what}", field=field, row=row)


def _seq_arg(v: Any, name: str) -> Any:
    """A 更新順番号 argument as given (None allowed), refused unless a whole number, 0 or more."""
    if v is not None and not _whole(v, 0):
        raise QueryError(f"{name} must be a 更新順番号: a whole number, 0 or more")
    return v


def _seq_column(v: npt.ArrayLike | None, name: str) -> npt.NDArray[np.uint64]:
    """An array of 更新順番号 as uint64; a negative or fractional one is refused, not wrapped
    around or cut (-1 would read as the end of time, 2.7 as 2)."""
    arr = np.asarray(v)
    if arr.dtype.kind not in "iu" or (arr.dtype.kind == "i" and arr.size and int(arr.min()) < 0):
        raise QueryError(f"{name} must be 更新順番号: whole numbers, 0 or more")
    return np.ascontiguousarray(arr, dtype=np.uint64)


def _page_args(since: object, size: object, name: str, least: int = 0) -> None:
    """Refuse a cursor or a page size the change log cannot be read with (pages of no change
    never reach the end of the log)."""
    for what, v, lo in (("since", since, 0), (name, size, least)):
        if not _whole(v, lo):
            raise QueryError(f"{what} must be a whole number, {lo} or more")


def _us(time: _dt.datetime) -> int:
    if not isinstance(time, _dt.datetime) or time.tzinfo is None:
        raise QueryError("a time must be a timezone-aware datetime")
    return int(time.timestamp() * 1_000_000)


_CORE_FIELDS = {"juminhyo_code": CODE, "mynumber": MYNUMBER}


def _row_error(e: RecordError, updates: list[dict[str, Any]]) -> RecordError:
    """A core refusal restated with the master field name and the value masked."""
    row = e.row if e.row is not None else 0
    no = _CORE_FIELDS.get(e.field or "")
    if no is None:
        return e
    field = item_fields()[no]
    value = updates[row].get("code" if no == CODE else "mynumber") if row < len(updates) else None
    shown = mask(f"{value:0{11 if no == CODE else 12}d}") if isinstance(value, int) else "****"
    what = "is already in use" if isinstance(e, DuplicateNumber) else f"is invalid ({str(e).rsplit('(', 1)[-1]}"
    err = type(e)(f"row {row}: field {field}: {shown} {what}", field=field, row=row)
    return err
