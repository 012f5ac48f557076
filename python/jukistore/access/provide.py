"""Provision of data to a recipient (提供): only its projection, and a record of every provision.

Recipients are data (``layouts/access/recipients.toml``): a name, the legal basis, the projection
it may receive (``seigo``, ``jumin_kankei``, ``yon_joho``, ``sofusaki`` or ``full``) and the size
above which a provision is bulk output. A provision returns the projection only — a recipient
entitled to the 4情報 never receives a 個人番号 by accident — and writes a provision record (日時,
提供先, 操作者, 法令上の根拠, 対象者, 提供項目) to the store's provision journal, plus an access
entry, since it is also a read. Bulk output needs a manager's prior approval: a second operator,
different from the one providing, holding the ``approve_bulk`` right.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from jukistore.errors import NotPermitted, QueryError

if TYPE_CHECKING:
    from jukistore.store import Operator, Store

PROJECTIONS = ("seigo", "jumin_kankei", "yon_joho", "sofusaki", "full")


@dataclass(frozen=True)
class Recipient:
    """One recipient as configured: id, name, legal basis, projection, bulk limit."""

    id: str
    name_ja: str
    legal_basis: str
    projection: str
    bulk_limit: int


@lru_cache(maxsize=1)
def recipients() -> dict[str, Recipient]:
    """The configured recipients, from ``layouts/access/recipients.toml``."""
    text = (resources.files("jukistore.layouts") / "access" / "recipients.toml").read_text(encoding="utf-8")
    return parse_recipients(text)


def parse_recipients(text: str) -> dict[str, Recipient]:
    """Recipients from TOML text; a missing or wrong item is an error naming recipient and item."""
    out = {}
    for rid, spec in tomllib.loads(text).get("recipients", {}).items():
        for key, typ in (("name_ja", str), ("legal_basis", str), ("projection", str), ("bulk_limit", int)):
            if not isinstance(spec.get(key), typ):
                raise QueryError(f"recipients.{rid}.{key}: missing or not a {typ.__name__}")
        if spec["projection"] not in PROJECTIONS:
            raise QueryError(f"recipients.{rid}.projection: {spec['projection']!r} is not one of {', '.join(PROJECTIONS)}")
        if not spec["legal_basis"].strip():
            raise QueryError(f"recipients.{rid}.legal_basis: a provision needs a legal basis")
        out[rid] = Recipient(rid, spec["name_ja"], spec["legal_basis"], spec["projection"], spec["bulk_limit"])
    return out


@lru_cache(maxsize=None)
def projection_pairs(name: str) -> tuple[tuple[str, str], ...]:
    """(field given to the recipient, master field) pairs of a projection; ``full``: every master field.

    A projection layout (``seigo``, ``jumin_kankei``, ``yon_joho``) names its master item for each
    of its items. ``sofusaki`` is a file layout of its own whose person items (住民票コード, 氏名,
    住所, 生年月日, 性別, 個人番号…) carry the master's field names; those are what the store holds
    and gives, the destination and batch items are the sender's to fill in.
    """
    from jukistore import layouts
    from jukistore.history.register import item_fields, projection

    master = item_fields()
    if name == "full":
        return tuple((f, f) for _, f in sorted(master.items()))
    lay = layouts.load(name)
    if lay.is_projection:
        return projection(name)
    held = set(master.values())
    pairs = tuple((it.field, it.field) for it in lay.items if it.field in held)
    if not pairs:
        raise QueryError(f"layout {name} shares no item with the master record")
    return pairs


@dataclass
class Provision:
    """What a recipient receives: one row per key asked for (None for a key not found), holding
    only the recipient's projection; ``person_ids`` are the persons handed over, each once, in
    ascending order; ``seq`` is the provision record's sequence number."""

    recipient: Recipient
    fields: list[str]
    rows: list[dict[str, str] | None]
    person_ids: npt.NDArray[np.uint64]
    seq: int

    def __repr__(self) -> str:
        found = sum(r is not None for r in self.rows)
        return (f"Provision(recipient={self.recipient.id!r}, projection={self.recipient.projection}, "
                f"{len(self.rows)} keys, {found} found, record {self.seq})")


def provide(store: "Store", recipient: str, keys: npt.ArrayLike, *, by: str = "person_id",
            operator: "Operator | None" = None, approved_by: "Operator | None" = None) -> Provision:
    """Provide ``recipient`` its projection of the persons ``keys`` (by person id, code or 個人番号).

    ``operator`` (default: the store's bound operator) needs the provide right; more persons than
    the recipient's ``bulk_limit`` also need ``approved_by``, another operator with the
    approve_bulk right. Refusals are logged; a provision is recorded before it is returned.
    """
    from jukistore.errors import masked_text
    from jukistore.store import Operator, _key_vector

    rec = recipients().get(recipient) if isinstance(recipient, str) else None
    act = f"provide to {recipient}" if rec is not None else f"provide to {masked_text(recipient)}"
    op = store._authorize("provide", act, operator)
    if rec is None:  # an attempt to hand data to someone not configured is an access refusal
        store.audit._refused(op, "provide", act, store.purpose, "unknown recipient")
        raise QueryError(f"unknown recipient {masked_text(recipient)}: one of {', '.join(sorted(recipients()))}")
    purpose = store.purpose or f"provision to {recipient} ({rec.legal_basis})"
    # The store's key check: no float or bool taken for a key, no 個人番号 quoted in an error.
    arr = _key_vector(keys, by, "provide")
    if len(arr) == 0:
        raise QueryError(f"{act}: no person named (a provision names at least one key)")
    if approved_by is not None and not isinstance(approved_by, Operator):
        raise TypeError("approved_by must be a jukistore.store.Operator")
    if len(arr) > rec.bulk_limit or approved_by is not None:  # an approver named is an approver checked
        if approved_by is None:
            store.audit._refused(op, "approve_bulk", act, purpose, f"bulk output of {len(arr)} persons without approval")
            raise NotPermitted(f"{act}: {len(arr)} persons is more than {rec.bulk_limit} (bulk output): it needs a "
                               f"manager's prior approval (approved_by=)")
        if approved_by.operator_id == op.operator_id:
            store.audit._refused(op, "approve_bulk", act, purpose, "approved by the operator providing")
            raise NotPermitted(f"{act}: the operator providing may not approve their own bulk output")
        store.audit.authorize(approved_by, "approve_bulk", act, purpose)
    res = store._get_many(arr, by=by)
    pairs = projection_pairs(rec.projection)
    rows: list[dict[str, str] | None] = []
    for i in range(len(res)):
        r = res.record(i)
        rows.append(None if r is None else {p: getattr(r, m) for p, m in pairs})
    # Whose data was handed over: each person once, however many keys named them.
    pids = np.unique(res.person_ids[res.found])
    fields = [p for p, _ in pairs]
    entry = store.audit.provided(op, rec.id, rec.legal_basis, rec.projection, fields, pids, approved_by, purpose)
    store.audit.accessed(op, purpose, "provide", pids, recipient=rec.id, provision=entry.seq)
    return Provision(rec, fields, rows, pids, entry.seq)


def describe(rec: Recipient) -> dict[str, Any]:
    return {"id": rec.id, "name_ja": rec.name_ja, "legal_basis": rec.legal_basis, "projection": rec.projection,
            "bulk_limit": rec.bulk_limit}
