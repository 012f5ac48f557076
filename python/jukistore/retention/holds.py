"""Legal holds: a person under a hold is kept by every purge, whatever the rules say.

A hold is kept in the store itself (so it travels with the data and a purge cannot miss it), with
who placed it, from which terminal, when, and a case reference. The case reference is an
identifier of the matter (a court or audit file number), never personal data: it is printed in
plans and kept in receipts' counts only.
"""

from __future__ import annotations

import datetime as _dt

import msgspec

from jukistore.errors import QueryError
from jukistore.store import Operator, Store, _person_id


class Hold(msgspec.Struct, frozen=True):
    """One legal hold on one person."""

    person_id: int
    case: str
    operator_id: str
    terminal_id: str
    placed_at: str  # ISO 8601, UTC


_enc = msgspec.json.Encoder()
#: A person's holds are stored as one value: a list of holds, one per case (a single hold in
#: stores written before a person could be held for more than one case).
_dec = msgspec.json.Decoder(list[Hold] | Hold)


def _decode(value: bytes) -> list[Hold]:
    got = _dec.decode(value)
    return got if isinstance(got, list) else [got]


def _encode(holds: list[Hold]) -> bytes:
    """A person's holds as stored: one hold as itself (as stores kept it before a person could be
    held for several cases), several as a list; :func:`_decode` reads both."""
    return _enc.encode(holds[0] if len(holds) == 1 else holds)


def _of(store: Store, person_id: int) -> list[Hold]:
    """The holds on one person, one per case."""
    return next((_decode(v) for pid, v in store._native.holds() if pid == person_id), [])


def _check_case(case: object) -> str:
    if type(case) is not str or not case.strip():
        raise QueryError("a legal hold needs a case reference (text)")
    return case


def place(store: Store, person_id: int, *, case: str, operator: Operator) -> Hold:
    """Place (or renew) a hold on a person for a case; raises NoSuchPerson for an unknown id.

    A person may be held for several cases: each keeps them until its own hold is lifted."""
    if not isinstance(operator, Operator):
        raise TypeError("operator must be a jukistore.store.Operator")
    person_id = _person_id(person_id)
    case = _check_case(case)
    store._authorize("write", "legal hold", operator)
    at = store.clock().astimezone(_dt.timezone.utc).isoformat()
    h = Hold(person_id, case, operator.operator_id, operator.terminal_id, at)
    others = [o for o in _of(store, person_id) if o.case != case]
    store._native.hold_put(person_id, _encode([*others, h]))
    store.audit.accessed(operator, f"legal hold {case}", "hold placed", [int(person_id)])
    return h


def lift(store: Store, person_id: int, *, operator: Operator, case: str | None = None) -> bool:
    """Lift the hold of ``case`` on a person (every hold on them when no case is given); False
    when there was none. The person stays held while another case holds them.

    The operator needs the write right, and the lifting is recorded in the access log: once the
    hold is gone from the store, the log is what says who lifted it and when.
    """
    if not isinstance(operator, Operator):
        raise TypeError("operator must be a jukistore.store.Operator")
    person_id = _person_id(person_id)
    if case is not None:
        case = _check_case(case)
    store._authorize("write", "legal hold lifted", operator)
    if case is None:
        gone = bool(store._native.hold_delete(person_id))
    else:
        current = _of(store, person_id)
        rest = [h for h in current if h.case != case]
        gone = len(rest) < len(current)
        if gone and rest:
            store._native.hold_put(person_id, _encode(rest))
        elif gone:
            store._native.hold_delete(person_id)
    if gone:
        what = "legal hold lifted" if case is None else f"legal hold {case} lifted"
        store.audit.accessed(operator, what, "hold lifted", [int(person_id)])
    return gone


def holds(store: Store) -> list[Hold]:
    """Every hold, in person id order (a person's holds in the order they were placed)."""
    return [h for _, v in store._native.holds() for h in _decode(v)]
