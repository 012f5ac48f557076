"""The access log and the provision record of one store, and the check that precedes every read.

One :class:`Audit` per store directory per process (shared by every :class:`~jukistore.store.Store`
opened on it) holds three journals under ``<store>/audit/``: ``access`` (every read of personal
data, and every refusal), ``provision`` (提供記録) and ``roles`` (grants and revocations).

What an access entry holds: operator, terminal, purpose, the act (``get_many``, ``search``,
``changes``…), the outcome (``ok`` or ``refused``) and the internal person ids touched — never a
name, an address or a number; a search records which criteria were given, not their values. A
batch read is one entry covering all its persons, so logging costs one append per call, not per
record. Person ids of a large batch are stored packed (little-endian uint64, base64) to keep that
append cheap; :func:`persons_of` reads both forms.
"""

from __future__ import annotations

import base64
import datetime as _dt
import os
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import numpy.typing as npt

from jukistore.access.journal import ENV_KEY, Entry, Journal, Report, verify
from jukistore.access.roles import RoleRegistry, roles_with
from jukistore.errors import NotPermitted

if TYPE_CHECKING:
    from jukistore.store import Operator

#: Retention (SPEC §6): access logs 7 years, provision records 5 years; grants are kept.
RETENTION_YEARS = {"access": 7, "provision": 5}
#: Up to this many person ids an entry lists them as JSON numbers; more are packed.
INLINE_PERSONS = 32

_audits: "weakref.WeakValueDictionary[str, Audit]" = weakref.WeakValueDictionary()
_audits_lock = threading.Lock()


def pack_persons(ids: npt.ArrayLike) -> dict[str, Any]:
    """The ``persons`` part of an entry: count and ids (a list, or packed when many)."""
    if isinstance(ids, list) and len(ids) <= INLINE_PERSONS:
        return {"n": len(ids), "persons": [int(x) for x in ids]}
    arr = np.ascontiguousarray(np.asarray(ids), dtype="<u8")
    if len(arr) <= INLINE_PERSONS:
        return {"n": int(len(arr)), "persons": [int(x) for x in arr]}
    return {"n": int(len(arr)), "persons_b64": base64.b64encode(arr.tobytes()).decode("ascii")}


def persons_of(body: dict[str, Any]) -> npt.NDArray[np.uint64]:
    """The person ids an entry names (empty for one covering the whole store, see ``scope``)."""
    if "persons_b64" in body:
        return np.frombuffer(base64.b64decode(body["persons_b64"]), dtype="<u8").astype(np.uint64)
    return np.asarray(body.get("persons", []), dtype=np.uint64)


class Audit:
    """The journals of one store and the permission check; see the module docstring."""

    def __init__(self, store_dir: str | os.PathLike[str], key_path: str | os.PathLike[str] | None = None,
                 *, clock: Any = None):
        base = Path(store_dir) / "audit"
        self.dir = base
        self.key_path = Path(key_path or os.environ.get(ENV_KEY) or base / "key")
        # Reads are many: a larger group and a longer sealing interval keep the log's cost per
        # read small (see bench/bench_access.py); provisions and grants are few and sealed often.
        self.access = Journal(base / "access", self.key_path, clock=clock, checkpoint_every=4096, flush_every=1024)
        self.provision = Journal(base / "provision", self.key_path, clock=clock)
        self.roles = RoleRegistry(Journal(base / "roles", self.key_path, clock=clock),
                                  on_refused=lambda op, right, act, why: self._refused(op, right, act, None, why))
        self._lock = threading.Lock()

    @classmethod
    def of(cls, store_dir: str | os.PathLike[str], key_path: str | os.PathLike[str] | None = None,
           *, clock: Any = None) -> "Audit":
        """The process's Audit for a store directory (one per directory, like the native handle)."""
        k = os.path.realpath(store_dir)
        with _audits_lock:
            a = _audits.get(k)
            if a is None or (key_path is not None and Path(key_path) != a.key_path):
                a = _audits[k] = cls(store_dir, key_path, clock=clock)
            return a

    def journals(self) -> dict[str, Journal]:
        return {"access": self.access, "provision": self.provision, "roles": self.roles.journal}

    def __repr__(self) -> str:
        return f"Audit({str(self.dir)!r})"

    # ---- the check ---------------------------------------------------------------------------------

    def authorize(self, operator: "Operator | None", right: str, act: str, purpose: str | None = None) -> "Operator":
        """Return ``operator`` if it may use ``right``; else log the refusal and raise NotPermitted.

        Refused: no operator, an operator the store does not know, one whose roles were revoked,
        one whose roles lack the right.
        """
        if operator is None:
            self._refused(None, right, act, purpose, "no operator bound to the store handle")
            raise NotPermitted(f"{act}: reading or writing personal data needs an operator: open the store "
                               f"with operator= and purpose=, or use store.acting(operator, purpose)")
        if self.roles.has_right(operator.operator_id, right):
            return operator
        if not self.roles.known(operator.operator_id):
            why = "unknown operator"
        elif not self.roles.roles_of(operator.operator_id):
            why = "operator's roles were revoked"
        else:
            why = f"no role with the {right} right"
        self._refused(operator, right, act, purpose, why)
        raise NotPermitted(f"{act}: operator {operator.operator_id!r} may not ({why}; the {right} right "
                           f"is held by the roles {', '.join(roles_with(right)) or 'none'})")

    def _refused(self, operator: "Operator | None", right: str, act: str, purpose: str | None, why: str) -> None:
        self.access.append({"op": operator.operator_id if operator else "", "term": operator.terminal_id if operator else "",
                            "purpose": purpose or "", "act": act, "outcome": "refused", "right": right,
                            "reason": why, "n": 0, "persons": []}, sync=True)

    # ---- recording ----------------------------------------------------------------------------------

    def accessed(self, operator: "Operator", purpose: str, act: str, persons: npt.ArrayLike | None,
                 **detail: Any) -> None:
        """Record a read of personal data: one entry for the whole call. ``persons`` None means the
        whole store (``scope: all``, with ``detail['n']`` the count).

        Group commit: the entry is buffered and written with others within ``flush_after``
        seconds (see :meth:`Journal.append`); refusals and provision records are written at once."""
        self.accessed_in(None, operator, purpose, act, persons, **detail)

    def accessed_in(self, group: tuple[Any, ...] | None, operator: "Operator", purpose: str, act: str,
                    persons: npt.ArrayLike | None, **detail: Any) -> None:
        """:meth:`accessed` with the call's :meth:`group` given by a caller that keeps it
        (``Store.get`` compares the open entry's group with its own by identity)."""
        if type(persons) is list and len(persons) <= INLINE_PERSONS:
            if group is None:
                group = self.group(operator, purpose, act, **detail)
            if self.access.merge(group, persons):  # one more call of the entry being built
                return
        body: dict[str, Any] = {"op": operator.operator_id, "term": operator.terminal_id, "purpose": purpose,
                                "act": act, "outcome": "ok", **detail}
        if persons is None:
            body["scope"] = "all"
        elif type(persons) is list and len(persons) <= INLINE_PERSONS:
            body["n"] = len(persons)
            body["persons"] = persons
        else:
            body.update(pack_persons(persons))
        self.access.append(body, sync=False, group=group)

    def group(self, operator: "Operator", purpose: str, act: str, **detail: Any) -> tuple[Any, ...]:
        """The key under which consecutive reads share one entry (see :meth:`accessed`)."""
        return (operator.operator_id, operator.terminal_id, purpose, act, *detail.items())

    def provided(self, operator: "Operator", recipient: str, legal_basis: str, projection: str,
                 fields: list[str], persons: npt.ArrayLike, approved_by: "Operator | None", purpose: str) -> Entry:
        """Record a provision (提供記録): when, to whom, by whom, on what basis, whose data, which items."""
        body: dict[str, Any] = {"op": operator.operator_id, "term": operator.terminal_id, "purpose": purpose,
                                "recipient": recipient, "legal_basis": legal_basis, "projection": projection,
                                "fields": fields}
        if approved_by is not None:
            body["approved_by"] = approved_by.operator_id
            body["approved_term"] = approved_by.terminal_id
        body.update(pack_persons(persons))
        entry = self.provision.append(body)
        assert entry is not None
        return entry

    # ---- upkeep -------------------------------------------------------------------------------------

    def verify(self) -> dict[str, Report]:
        """Every journal verified (chain, checkpoints, retirements)."""
        return {name: verify(j) for name, j in self.journals().items()}

    def retire(self, today: _dt.date | None = None, *, years: dict[str, int] | None = None) -> dict[str, list[str]]:
        """Delete whole segments past retention (access 7 years, provision 5 by default), keeping
        their sealed checkpoints; returns the segments deleted per journal. Grants are never retired."""
        today = today or _dt.date.today()
        keep = {**RETENTION_YEARS, **(years or {})}
        out = {}
        for name in ("access", "provision"):
            cutoff = _years_before(today, keep[name])
            out[name] = getattr(self, name).retire(cutoff)
        return out

    def retirables(self) -> dict[str, "JournalRetirement"]:
        """The journals a purge retires by their own rules (``access_log``, ``provision_record``)."""
        return {"access_log": JournalRetirement(self.access), "provision_record": JournalRetirement(self.provision)}

    def flush(self) -> None:
        """Write every buffered entry now."""
        for j in self.journals().values():
            j.flush()

    def close(self) -> None:
        """Seal and close every journal (fsync included)."""
        for j in self.journals().values():
            j.close()


class JournalRetirement:
    """A journal as a purge retires it (:class:`jukistore.retention.plan.Retirable`): whole
    segments whose month ended before the cut-off, counted in entries.

    Segments are the unit because the chain is sealed per segment: deleting whole segments keeps
    every remaining entry verifiable from the retired segment's checkpoint.
    """

    def __init__(self, journal: Journal):
        self.journal = journal

    def _due(self, before: _dt.date) -> dict[str, int]:
        """Entries of each segment the journal would retire."""
        self.journal.flush()
        out = {}
        for seg in self.journal.retirable(before):
            with open(self.journal.dir / seg, "rb") as f:
                out[seg] = sum(1 for _ in f)
        return out

    def count_before(self, before: _dt.date) -> int:
        return sum(self._due(before).values())

    def retire(self, before: _dt.date) -> int:
        counts = self._due(before)
        return sum(counts.get(seg, 0) for seg in self.journal.retire(before))


def _years_before(d: _dt.date, years: int) -> _dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def search(audit: Audit, *, operator: str | None = None, person: int | None = None,
           since: _dt.datetime | None = None, until: _dt.datetime | None = None,
           journal: str = "access") -> Iterator[Entry]:
    """Entries of a journal by operator, person (internal id) and period [since, until).

    The operator of an entry is the one who acted: ``op`` in the access log and the provision
    record, ``by`` (who granted or revoked) in the roles log."""
    j = audit.journals()[journal]
    for e in j.entries(since=since, until=until):
        if operator is not None and e.body.get("op", e.body.get("by")) != operator:
            continue
        if person is not None:
            if e.body.get("scope") == "all":
                pass  # a whole-store read covers everyone
            elif not (persons_of(e.body) == person).any():
                continue
        yield e
