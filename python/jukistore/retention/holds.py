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
_dec = msgspec.json.Decoder(Hold)


def place(store: Store, person_id: int, *, case: str, operator: Operator) -> Hold:
    """Place (or renew) a hold on a person; raises NoSuchPerson for an unknown id."""
    if not isinstance(operator, Operator):
        raise TypeError("operator must be a jukistore.store.Operator")
    person_id = _person_id(person_id)
    if type(case) is not str or not case.strip():
        raise QueryError("a legal hold needs a case reference (text)")
    store._authorize("write", "legal hold", operator)
    at = store.clock().astimezone(_dt.timezone.utc).isoformat()
    h = Hold(person_id, case, operator.operator_id, operator.terminal_id, at)
    store._native.hold_put(person_id, _enc.encode(h))
    store.audit.accessed(operator, f"legal hold {case}", "hold placed", [int(person_id)])
    return h


def lift(store: Store, person_id: int, *, operator: Operator) -> bool:
    """Lift the hold on a person; False when there was none.

    The operator needs the write right, and the lifting is recorded in the access log: once the
    hold is gone from the store, the log is what says who lifted it and when.
    """
    if not isinstance(operator, Operator):
        raise TypeError("operator must be a jukistore.store.Operator")
    person_id = _person_id(person_id)
    store._authorize("write", "legal hold lifted", operator)
    gone = bool(store._native.hold_delete(person_id))
    if gone:
        store.audit.accessed(operator, "legal hold lifted", "hold lifted", [int(person_id)])
    return gone


def holds(store: Store) -> list[Hold]:
    """Every hold, in person id order."""
    return [_dec.decode(v) for _, v in store._native.holds()]
