"""Corrections (記載の修正) under dual control.

The source document (L3178-3182, L3987) requires that a correction entered by one operator is
checked by another and approved by the official in charge before it changes the register. So a
correction is first a *proposal*: it names the person, the version it was based on, the items and
their new values. It changes nothing until a different operator holding the approver role approves
it; then the correction is written, in the same transaction as the approval, against exactly the
version the proposer saw (if the person changed meanwhile the approval fails with
:class:`~jukistore.errors.ConcurrentChange` and the proposal stays open: reject it and propose
again on the new version).

Every proposal and every decision (approval, rejection, withdrawal) is kept in the store's
``proposals`` database, never overwritten: the audit can always say who proposed what, who decided,
when, from which terminal, and which 更新順番号 the correction became. Two approvers deciding at
once cannot both win: the core writes a decision only if none exists.

Roles are a small interface (:class:`Roles`): whatever answers ``has_role(operator_id, role)``.
:class:`jukistore.access.roles.RoleRegistry` (the store's own register of grants and revocations,
``store.roles``) is what a :class:`Register` uses; :class:`StaticRoles` is a fixed mapping for
code that needs the protocol without a store.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Iterable, Mapping, Protocol

import msgspec

from jukistore.errors import NoSuchProposal, NotPermitted, ProposalDecided, QueryError, StoreCorrupt
from jukistore.history.events import APPROVER, RULES, EventCode
from jukistore.store import Operator, Person, _person, _person_id

if TYPE_CHECKING:
    from jukistore.history.register import Applied, Changes, Register


class Roles(Protocol):
    """Answers whether an operator holds a role now."""

    def has_role(self, operator_id: str, role: str) -> bool: ...


class StaticRoles:
    """Roles from a fixed mapping ``{operator_id: {role, ...}}``."""

    def __init__(self, grants: Mapping[str, Iterable[str]]):
        self._grants = {op: frozenset(roles) for op, roles in grants.items()}

    def has_role(self, operator_id: str, role: str) -> bool:
        return role in self._grants.get(operator_id, ())

    def __repr__(self) -> str:
        return f"StaticRoles({len(self._grants)} operators)"


#: No operator holds any role.
NO_ROLES = StaticRoles({})


class State(str, Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


_DECISIONS = {"approve": State.APPROVED, "reject": State.REJECTED, "withdraw": State.WITHDRAWN}


class _StepValue(msgspec.Struct, omit_defaults=True):
    """What a step stores: the act, who did it, from where, when; step 0 also the proposal."""

    action: str
    operator: str
    terminal: str
    at_us: int
    note: str = ""
    person_id: int = 0
    base_seq: int = 0
    changes: dict[str, str] = {}
    date: str = ""
    notified: str = ""


_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(_StepValue)


@dataclass(frozen=True)
class Step:
    """One recorded act on a proposal."""

    step: int
    action: str
    operator: str
    terminal: str
    at: _dt.datetime
    note: str
    #: The 更新順番号 written with this step (an approval), else 0.
    seq: int


@dataclass(frozen=True)
class Proposal:
    """A proposed correction and what became of it.

    ``changes`` maps master field names to the proposed values; ``base_seq`` is the version it was
    proposed on; ``seq`` the 更新順番号 of the correction once approved.
    """

    id: int
    person_id: int
    base_seq: int
    changes: Mapping[str, str]
    date: str
    notified: str
    proposer: str
    state: State
    steps: tuple[Step, ...] = field(repr=False)
    seq: int | None = None

    def __repr__(self) -> str:
        return (f"Proposal(id={self.id}, person_id={self.person_id}, state={self.state.value}, "
                f"items={sorted(self.changes)}, proposer={self.proposer!r}, seq={self.seq})")


def _proposal(rows: list[tuple[int, int, int, bytes]]) -> Proposal:
    steps = []
    first: _StepValue | None = None
    for pid, step, seq, raw in rows:
        v = _dec.decode(raw)
        if step == 0:
            first = v
        steps.append(Step(step, v.action, v.operator, v.terminal,
                          _dt.datetime.fromtimestamp(v.at_us / 1e6, _dt.timezone.utc), v.note, seq))
    if first is None:
        raise StoreCorrupt(f"proposal {rows[0][0]} has no step 0")
    last = steps[-1]
    state = _DECISIONS.get(last.action, State.PENDING) if len(steps) > 1 else State.PENDING
    return Proposal(id=rows[0][0], person_id=first.person_id, base_seq=first.base_seq, changes=first.changes,
                    date=first.date, notified=first.notified, proposer=first.operator, state=state,
                    steps=tuple(steps), seq=last.seq if state is State.APPROVED else None)


class Corrections:
    """Proposals of 記載の修正 and their decisions; use :attr:`Register.corrections`."""

    def __init__(self, register: "Register"):
        self._reg = register
        self._native = register._native

    def _step(self, action: str, op: Operator, note: str, **kw: object) -> bytes:
        if not isinstance(op, Operator):
            raise TypeError("operator must be a jukistore.store.Operator")
        if type(note) is not str:  # stored as it is, it would make every later read of the proposals fail
            from jukistore.errors import InvalidRecord

            raise InvalidRecord(f"row 0: field note: expected text, got {type(note).__name__}", field="note", row=0)
        return _enc.encode(_StepValue(action, op.operator_id, op.terminal_id, self._reg._now_us(), note, **kw))  # type: ignore[arg-type]

    def propose(self, person: int | Person, changes: "Changes", *, operator: Operator,
                date: str | None = None, notified: str | None = None, note: str = "") -> Proposal:
        """Propose a correction of ``person``: ``changes`` maps master items (number or field name)
        to their corrected text. ``date`` is the 異動年月日 of the correction, by default that of the
        version it corrects, so that it replaces that version for the same period.

        The correction is checked now against the rules (which items, which person) and again
        when approved; nothing in the register changes until then.
        """
        from jukistore.history.register import Event, Version, compact_date

        pid = _person_id(person)
        self._reg.store._authorize("propose", "propose correction", operator)
        t = self._native.get("person_id", pid)
        cur = None if t is None else _person(t)
        if cur is None:
            from jukistore.errors import NoSuchPerson

            raise NoSuchPerson(f"no person {pid}", row=0)
        base = person.seq if isinstance(person, Person) else cur.seq
        if date is None:  # the store's own read, deciding a write (the proposal records the operator)
            known = self._native.as_known(pid, cur.seq)
            v = None if known is None else Version(known)
            date = v.valid_from if v is not None else compact_date(self._reg.store.clock().strftime("%Y%m%d"), "date", 0)
        ev = Event(EventCode.記載の修正, date, person=pid, changes=changes, notified=notified, expect_seq=base)
        self._reg._plan([ev], operator, correction=True)  # refuses what an approval would refuse
        fields = _field_changes(changes)
        value = self._step("propose", operator, note, person_id=pid, base_seq=base, changes=fields,
                           date=compact_date(date, "date", 0),
                           notified=compact_date(notified, "notified", 0) if notified else "")
        return self._get(self._native.propose(value))

    def _decide(self, proposal_id: int, action: str, operator: Operator, note: str) -> Proposal:
        if not isinstance(operator, Operator):
            raise TypeError("operator must be a jukistore.store.Operator")
        p = self._get(proposal_id)
        if p.state is not State.PENDING:
            raise ProposalDecided(f"proposal {proposal_id} is {p.state.value}")
        audit = self._reg.store.audit
        what = f"proposal {proposal_id}: {action}"
        if action == "withdraw":
            if operator.operator_id != p.proposer:
                audit._refused(operator, "propose", what, self._reg.store.purpose, "not the proposer")
                raise NotPermitted(f"only the proposer may withdraw proposal {proposal_id}")
        else:
            if operator.operator_id == p.proposer:
                audit._refused(operator, APPROVER, what, self._reg.store.purpose, "the proposer deciding their own")
                raise NotPermitted(f"proposal {proposal_id}: the proposer may not {action} their own correction")
            self._reg._require_role(operator, APPROVER, f"proposal {proposal_id}: {action}")
        return p

    def approve(self, proposal_id: int, *, operator: Operator, note: str = "") -> "Applied":
        """Approve a pending proposal: the correction is written with the approval, atomically.

        Needs a different operator than the proposer, holding the approver role.
        """
        from jukistore.history.register import Event

        p = self._decide(proposal_id, "approve", operator, note)
        ev = Event(EventCode.記載の修正, p.date, person=p.person_id, changes=p.changes,
                   notified=p.notified or None, expect_seq=p.base_seq)
        updates = self._reg._plan([ev], operator, correction=True)
        value = self._step("approve", operator, note)
        return self._reg._write(updates, operator, proposal=(proposal_id, 1, value))[0]

    def reject(self, proposal_id: int, *, operator: Operator, note: str = "") -> Proposal:
        """Reject a pending proposal (an approver other than the proposer)."""
        self._decide(proposal_id, "reject", operator, note)
        self._native.proposal_step(proposal_id, 1, self._step("reject", operator, note))
        return self._get(proposal_id)

    def withdraw(self, proposal_id: int, *, operator: Operator, note: str = "") -> Proposal:
        """Withdraw one's own pending proposal."""
        self._decide(proposal_id, "withdraw", operator, note)
        self._native.proposal_step(proposal_id, 1, self._step("withdraw", operator, note))
        return self._get(proposal_id)

    def get(self, proposal_id: int) -> Proposal:
        """A proposal and its decisions (a read of personal data: checked and logged)."""
        store = self._reg.store
        store._authorize("read", "proposal")
        p = self._get(proposal_id)
        store._logged("proposal", [p.person_id], proposal=proposal_id)
        return p

    def _get(self, proposal_id: int) -> Proposal:
        rows = self._native.proposal(proposal_id)
        if not rows:
            raise NoSuchProposal(f"no proposal {proposal_id}")
        return _proposal(rows)

    def all(self, after: int = 0, limit: int | None = None) -> list[Proposal]:
        """Proposals with ids above ``after``, oldest first (one access-log entry for them all)."""
        store = self._reg.store
        store._authorize("read", "proposals")
        out: list[Proposal] = []
        while limit is None or len(out) < limit:
            page = self._native.proposals(after, 1000 if limit is None else min(1000, limit - len(out)))
            if not page:
                break
            group: list[tuple[int, int, int, bytes]] = []
            for row in page:
                if group and row[0] != group[0][0]:
                    out.append(_proposal(group))
                    group = []
                group.append(row)
            out.append(_proposal(group))
            after = page[-1][0]
        store._logged("proposals", sorted({p.person_id for p in out}))
        return out

    def pending(self) -> list[Proposal]:
        return [p for p in self.all() if p.state is State.PENDING]


def _field_changes(changes: "Changes") -> dict[str, str]:
    from jukistore.history.register import _item_no, item_fields

    f = item_fields()
    seen: dict[int, object] = {}
    for k, v in changes.items():
        seen[_item_no(k, seen, 0)] = v
    return {f[no]: v for no, v in seen.items()}  # type: ignore[misc]


assert RULES[EventCode.記載の修正].dual_control
