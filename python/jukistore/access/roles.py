"""Roles, their rights, and the store's register of who holds which role.

The rights of each role are data (``layouts/access/roles.toml``), so a municipality can read and
adjust them without reading code. Who holds a role is kept in the store itself, as a hash-chained
journal of grants and revocations (``<store>/audit/roles/``): the current roles are what replaying
it gives, and the journal is the record of every grant and revocation (who, by whom, when, from
which terminal) that the source document asks for. It answers ``has_role(operator_id, role)``,
so dual control (corrections, purge approvals) plugs into it through the
:class:`~jukistore.history.corrections.Roles` protocol.
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
import time
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Callable, Iterable

from jukistore import _core
from jukistore.access.journal import Journal
from jukistore.errors import NotPermitted, QueryError

if TYPE_CHECKING:
    from jukistore.store import Operator

CLERK, APPROVER, AUDITOR, ADMINISTRATOR = "clerk", "approver", "auditor", "administrator"

#: Every right a role may carry (see roles.toml for what each allows).
RIGHTS = frozenset({"read", "write", "propose", "approve", "provide", "approve_bulk", "purge_approve",
                    "audit", "grant"})


@lru_cache(maxsize=1)
def rights_table() -> dict[str, frozenset[str]]:
    """Role → rights, from ``layouts/access/roles.toml``; an unknown right is an error naming it."""
    text = (resources.files("jukistore.layouts") / "access" / "roles.toml").read_text(encoding="utf-8")
    return parse_rights(text)


def parse_rights(text: str) -> dict[str, frozenset[str]]:
    data = tomllib.loads(text)
    out: dict[str, frozenset[str]] = {}
    for role, spec in data.get("roles", {}).items():
        rights = spec.get("rights")
        if not isinstance(rights, list) or not all(isinstance(r, str) for r in rights):
            raise QueryError(f"roles.{role}.rights must be a list of right names")
        unknown = set(rights) - RIGHTS
        if unknown:
            raise QueryError(f"roles.{role}.rights: unknown right {sorted(unknown)[0]!r}")
        out[role] = frozenset(rights)
    return out


def roles_with(right: str) -> list[str]:
    """The roles carrying ``right``."""
    return sorted(r for r, rights in rights_table().items() if right in rights)


@dataclass(frozen=True)
class Grant:
    """One grant or revocation as recorded."""

    action: str  # "grant" or "revoke"
    operator_id: str
    role: str
    by: str
    terminal: str
    at: _dt.datetime
    note: str


class RoleRegistry:
    """The store's operators and their roles; see the module docstring.

    Reads replay the journal and follow it when another process grants or revokes: a change of
    the journal's newest segment is noticed by its size. That look at the files is made at most
    every ``recheck`` seconds (default 0.02), so that a read costs no file-system call; a grant or
    revocation made in this process is seen at once, one made in another process within
    ``recheck`` seconds.

    Threads share one registry. One thread at a time looks at the files (``_lock``), and the time
    of that look is published only after the tables it built: a thread that skips the look because
    it is recent therefore reads complete tables, never the empty ones of a registry still being
    replayed.
    """

    def __init__(self, journal: Journal, on_refused: "Callable[[Operator, str, str, str], None] | None" = None):
        self.journal = journal
        self._on_refused = on_refused  # (operator, right, act, why): logs a refusal
        self._roles: dict[str, set[str]] = {}
        self._seen: tuple[str, int] | None = None  # (newest segment, its size) last replayed
        self._history: list[Grant] = []
        self._rights: dict[str, frozenset[str]] = {}
        #: The generation of the rights tables, the time of the last look and the recheck
        #: interval, for native checks (``Store.get`` on a bound handle, see
        #: :class:`jukistore._core.BoundGet`).
        self.clock = _core.RightsClock()
        self.recheck = 0.02
        self._checked = -1.0  # monotonic time of the last look at the files, set after its tables
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RoleRegistry({len(self.operators())} operators)"

    @property
    def recheck(self) -> float:
        """Seconds between looks at the roles journal; a change applies to checks at once."""
        return self._recheck

    @recheck.setter
    def recheck(self, seconds: float) -> None:
        self._recheck = seconds
        self.clock.set_interval(min(max(0, int(seconds * 1e9)), 2**64 - 1))

    def _refresh(self) -> None:
        if time.monotonic() - self._checked < self.recheck:
            return
        with self._lock:
            now = time.monotonic()
            if now - self._checked < self.recheck:  # another thread looked while this one waited
                return
            changed = self._replay_if_changed()
            self._checked = now
            self.clock.looked(changed, int(now * 1e9))

    def _replay_if_changed(self) -> bool:
        state = self._state()
        if state == self._seen and (state is not None or not self._history):
            return False
        roles, history = self._replay()
        self._rights = _rights_of(roles)
        self._roles, self._history, self._seen = roles, history, state
        return True

    def _state(self) -> tuple[str, int] | None:
        """(newest segment, its size): what tells that the journal changed."""
        segs = self.journal._segments()
        if not segs:
            return None
        try:
            return (segs[-1], os.stat(self.journal.dir / segs[-1]).st_size)
        except FileNotFoundError:
            return None

    def _replay(self) -> tuple[dict[str, set[str]], list[Grant]]:
        """Roles held now and every grant and revocation, from the journal's files."""
        roles: dict[str, set[str]] = {}
        history: list[Grant] = []
        for e in self.journal.entries():
            b = e.body
            g = Grant(b["action"], b["operator"], b["role"], b["by"], b["terminal"], e.time, b.get("note", ""))
            history.append(g)
            held = roles.setdefault(g.operator_id, set())
            if g.action == "grant":
                held.add(g.role)
            else:
                held.discard(g.role)
        return roles, history

    # ---- questions ---------------------------------------------------------------------------

    def has_role(self, operator_id: str, role: str) -> bool:
        self._refresh()
        return role in self._roles.get(operator_id, ())

    def roles_of(self, operator_id: str) -> frozenset[str]:
        self._refresh()
        return frozenset(self._roles.get(operator_id, ()))

    def rights_of(self, operator_id: str) -> frozenset[str]:
        self._refresh()
        return self._rights.get(operator_id, frozenset())

    def has_right(self, operator_id: str, right: str) -> bool:
        if time.monotonic() - self._checked >= self.recheck:  # (the check of _refresh, inlined: per read)
            self._refresh()
        return right in self._rights.get(operator_id, ())

    def known(self, operator_id: str) -> bool:
        """Whether the operator was ever granted a role (a revoked operator is still known)."""
        self._refresh()
        return operator_id in self._roles

    def operators(self) -> dict[str, frozenset[str]]:
        """Every operator ever granted a role, with the roles held now (empty when all revoked)."""
        self._refresh()
        return {op: frozenset(r) for op, r in sorted(self._roles.items())}

    def history(self) -> list[Grant]:
        """Every grant and revocation, oldest first."""
        self._refresh()
        return list(self._history)

    # ---- changes -------------------------------------------------------------------------------

    def grant(self, operator_id: str, role: str, *, by: "Operator", note: str = "") -> Grant:
        """Grant ``role`` to ``operator_id``; ``by`` must hold the grant right and be another
        operator: an administrator grants but reads no resident data, and one who could grant
        themselves the clerk role would undo that. The refusal is logged."""
        if isinstance(operator_id, str) and operator_id == by.operator_id:
            if self._on_refused is not None:
                self._on_refused(by, "grant", f"grant {role}", "a role granted to oneself")
            raise NotPermitted(f"operator {by.operator_id!r} may not grant roles to themselves "
                               f"(another operator with the grant right grants them)")
        return self._change("grant", operator_id, role, by, note)

    def revoke(self, operator_id: str, role: str, *, by: "Operator", note: str = "") -> Grant:
        """Revoke ``role`` from ``operator_id``; ``by`` must hold the grant right. An administrator
        may not revoke their own administrator role (a store must keep someone who can grant)."""
        if operator_id == by.operator_id and role == ADMINISTRATOR:
            raise NotPermitted(f"operator {by.operator_id!r} may not revoke their own {ADMINISTRATOR} role")
        return self._change("revoke", operator_id, role, by, note)

    def _change(self, action: str, operator_id: str, role: str, by: "Operator", note: str) -> Grant:
        # A role no longer in the rights table (roles.toml changed) carries no rights, but an
        # operator still recorded as holding it can have it revoked, so the record says so.
        if action == "grant" and role not in rights_table():
            raise QueryError(f"unknown role {role!r}: one of {', '.join(sorted(rights_table()))}")
        if not isinstance(role, str) or not role:
            raise QueryError("role must be a non-empty string")
        if not isinstance(operator_id, str) or not operator_id:
            raise QueryError("operator_id must be a non-empty string")

        def check() -> None:
            # On the journal as it is under its lock: two administrators revoking each other at
            # once must not both pass (the store would be left with nobody who can grant).
            roles, _ = self._replay()
            if "grant" not in _rights_of(roles).get(by.operator_id, ()):
                raise _Refused("no role with the grant right")
            if action == "revoke" and role not in roles.get(operator_id, ()):
                raise QueryError(f"operator {operator_id!r} does not hold the {role} role")

        try:
            return self._record(action, operator_id, role, by, note, check)
        except _Refused as r:
            if self._on_refused is not None:
                self._on_refused(by, "grant", f"{action} {role}", r.why)
            raise NotPermitted(f"operator {by.operator_id!r} may not {action} roles ({r.why})") from None

    def _record(self, action: str, operator_id: str, role: str, by: "Operator", note: str,
                check: "Callable[[], None]") -> Grant:
        e = self.journal.append_checked({"action": action, "operator": operator_id, "role": role,
                                         "by": by.operator_id, "terminal": by.terminal_id, "note": note}, check)
        self.journal.checkpoint()  # grants are rare and decisive: seal each at once
        with self._lock:  # after any look in progress, so that it cannot hide this change
            self._seen = None
            self._checked = -1.0
            self.clock.expire()
        return Grant(action, operator_id, role, by.operator_id, by.terminal_id, e.time, note)

    def bootstrap(self, administrator: "Operator") -> None:
        """The first grant of a new store: ``administrator`` gets the administrator role, granted
        by itself (recorded as such). Refused once anyone holds a role."""
        def check() -> None:
            if self._replay()[0]:
                raise NotPermitted("the store already has operators; grant roles through an administrator")

        self._record("grant", administrator.operator_id, ADMINISTRATOR, administrator, "store created", check)


def _rights_of(roles: dict[str, set[str]]) -> dict[str, frozenset[str]]:
    """Operator → the rights of the roles they hold."""
    table = rights_table()
    return {op: frozenset(r for role in held for r in table.get(role, ())) for op, held in roles.items()}


class _Refused(Exception):
    """A role change refused under the journal's lock; logged and raised as NotPermitted after."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def require_roles(names: Iterable[str]) -> None:
    """Refuse role names that the rights table does not know (a typo would grant nothing)."""
    for n in names:
        if n not in rights_table():
            raise QueryError(f"unknown role {n!r}: one of {', '.join(sorted(rights_table()))}")
