"""What a purge as of a date would erase, counted per rule, without personal data.

A plan is computed from one look at the store: removed persons with the date of their removal,
superseded versions with the date they were superseded, the legal holds, and (through the
:class:`Retirable` interface) the logs and mailing data kept elsewhere. Internal person ids are kept
in the plan for the run; :meth:`Plan.summary` is what may be printed or stored.

Dates as the register records them may lack a month or day (``00``) or be impossible (a 30
February copied from an old register): a clock start is then taken as the *latest* day it can
mean, so nothing is erased a day early.
"""

from __future__ import annotations

import calendar
import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

import numpy as np
import numpy.typing as npt

from jukistore import _core
from jukistore.history.register import FLAG_REMOVED
from jukistore.retention import rules as R
from jukistore.store import Store


class Retirable(Protocol):
    """Records kept by date outside the register (access log, provision records, mailing data).

    ``before`` is the first clock date that is *not* retired: every entry whose clock date (entry
    date, sent date) is earlier goes. Both methods must be idempotent and ``retire`` must leave no
    readable copy of what it retires in the files it owns.
    """

    def count_before(self, before: _dt.date) -> int: ...

    def retire(self, before: _dt.date) -> int: ...


def latest_day(compact: bytes) -> _dt.date:
    """The latest calendar day an 8-byte ``YYYYMMDD`` register date can mean."""
    y, m, d = int(compact[:4]), int(compact[4:6]), int(compact[6:8])
    if y == 0:
        raise ValueError("a date without a year cannot start a retention clock")
    m = 12 if m == 0 or m > 12 else m
    last = calendar.monthrange(y, m)[1]
    d = last if d == 0 or d > last else d
    return _dt.date(y, m, d)


@dataclass
class RuleCount:
    """How many records one rule makes due, and how many of them a legal hold keeps."""

    rule_id: str
    applies_to: str
    due: int = 0
    held: int = 0


@dataclass
class Plan:
    """What a purge as of ``as_of`` erases. ``person_ids``/``versions`` are for the run only."""

    as_of: _dt.date
    rules: R.Rules
    counts: dict[str, RuleCount]
    person_ids: npt.NDArray[np.uint64]
    version_pids: npt.NDArray[np.uint64]
    version_seqs: npt.NDArray[np.uint64]
    #: kind → (first clock date kept, entries due) for records kept by date.
    retire: dict[str, tuple[_dt.date, int]] = field(default_factory=dict)
    #: The rule id that makes each of ``person_ids`` and of the versions due (aligned with them).
    person_rules: list[str] = field(default_factory=list)
    version_rules: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not len(self.person_ids) and not len(self.version_pids) and not any(n for _, n in self.retire.values())

    def summary(self) -> dict[str, Any]:
        """Counts per rule and cut-off dates: nothing that names or identifies a person."""
        return {
            "as_of": self.as_of.isoformat(),
            "rules": [{"rule": c.rule_id, "applies_to": c.applies_to, "due": c.due, "held": c.held}
                      for c in self.counts.values()],
            "persons": int(len(self.person_ids)),
            "versions": int(len(self.version_pids)),
            "retire": {k: {"before": d.isoformat(), "due": n} for k, (d, n) in self.retire.items()},
        }


def _removal_dates(store: Store, pids: npt.NDArray[np.uint64], dates: bytes) -> bytes:
    """Each removed person's clock: the 異動年月日 of the version that removed them (the core's
    answer), or the record's 除票異動日 (item 54) or 除票届出日 (items 55, 56) where one can mean a
    later day: the 150 years run from the removal (消除した日, 施行令34条1項), which is no earlier
    than the day it was notified. A 除票 loaded from a master file is one version dated by its
    住民異動日 (item 14); its removal date is item 54, and a clock started earlier would erase it
    early. A date with an unknown month or day (00) counts as its latest possible day, as every
    clock date does; one without a year, or none, cannot be placed: with none placed, the clock
    of a removal recorded by an event stays where it is, and that of a 除票 loaded as such is
    unknown (no year: kept)."""
    if not len(pids):
        return dates
    out = np.frombuffer(dates, dtype="S8").copy()
    found = store._get_many(pids, by="person_id")
    for i in range(len(pids)):
        rec = found.record(i)
        known = [d.encode() for d in (getattr(rec, f, "") for f in _REMOVAL_DATES) if _placed(d)] if rec is not None else []
        if not known:
            if _loaded_removed(store._native, int(pids[i])):
                out[i] = b"00000000"  # removed before the load, on a day nobody recorded
            continue
        d = max(known, key=latest_day).decode()
        cur = bytes(out[i])
        if cur[:4] == b"0000" or latest_day(d.encode()) > latest_day(cur):
            out[i] = d.encode()
    return out.tobytes()


#: The record's dates of its removal: 除票異動日 (item 54) and 除票届出日 (items 55, 56). The
#: removal (消除) is no earlier than any of them: a death notified years later is removed then.
_REMOVAL_DATES = ("removal_change_date", "removal_notification_date", "removal_notification_date_2")


def _placed(d: str) -> bool:
    """Whether a register date can start a clock (eight digits with a year)."""
    return len(d) == 8 and d.isascii() and d.isdigit() and d[:4] != "0000"


def _loaded_removed(native: _core.NativeStore, person_id: int) -> bool:
    """Whether the person was already removed when loaded: the version that removed them (the
    first of the removed versions up to the current one) is the bulk load's (event 0), whose
    異動年月日 is the 住民異動日 (item 14), a day before the removal, not the removal's."""
    removing = None
    for v in reversed(native.history(person_id)):  # (person id, 更新順番号, 異動年月日, 届出年月日, event, flags, ...)
        if not v[5] & FLAG_REMOVED:
            break
        removing = v
    return removing is not None and removing[4] == 0


def _superseded_dates(native: _core.NativeStore, rules: R.Rules, as_of: _dt.date,
                      vp: npt.NDArray[np.uint64], vs: npt.NDArray[np.uint64], dates: bytes) -> bytes:
    """Each superseded version's clock: the 異動年月日 of the version that replaced it (the core's
    answer), or the version's own 異動年月日, or the 届出年月日 of the version that replaced it,
    where one is later. A correction or event dated back before the version it replaces (an
    error fixed as of the day it was made) does not make the version older than it is: it was the
    record from its own date on, and until the change was notified. Only versions that the core's
    date would make due are looked at (one history read per person)."""
    arr = np.frombuffer(dates, dtype="S8")
    if not len(arr):
        return dates
    due, _ = _due_by_date(rules, "superseded_version", dates, as_of, {})
    if not due.any():
        return dates
    out = arr.copy()
    # person → 更新順番号 → (its own 異動年月日, the 届出年月日 of the version that replaced it)
    dates_of: dict[int, dict[int, tuple[str, str]]] = {}
    for i in np.flatnonzero(due).tolist():
        pid = int(vp[i])
        if pid not in dates_of:
            hist = sorted(native.history(pid), key=lambda v: v[1])  # (person id, 更新順番号, 異動年月日, 届出年月日, ...)
            dates_of[pid] = {int(v[1]): (v[2].decode(), nxt[3].decode() if nxt is not None else "")
                             for v, nxt in zip(hist, [*hist[1:], None])}
        own, replaced_notified = dates_of[pid].get(int(vs[i]), ("", ""))
        for d in (own, replaced_notified):
            if _placed(d) and latest_day(d.encode()) > latest_day(bytes(out[i])):
                out[i] = d.encode()
    return out.tobytes()


def _due_by_date(rules: R.Rules, kind: str, dates: bytes, as_of: _dt.date,
                 counts: dict[str, RuleCount]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """Due flags and governing-rule indexes per record, computed once per distinct date."""
    chain = rules.chain(kind)
    for r in chain:
        counts.setdefault(r.id, RuleCount(r.id, kind))
    arr = np.frombuffer(dates, dtype="S8")
    if not len(arr):
        return np.zeros(0, bool), np.zeros(0, np.intp)
    uniq, inv = np.unique(arr, return_inverse=True)
    index = {r.id: i for i, r in enumerate(chain)}
    due_u = np.zeros(len(uniq), bool)
    rule_u = np.zeros(len(uniq), np.intp)
    for i, d in enumerate(uniq.tolist()):
        if int(d[:4] or b"0") == 0:
            # 年月日不詳 with no year: the clock cannot be shown to have run out; kept.
            continue
        ok, rule = rules.due(kind, latest_day(d), as_of)
        due_u[i], rule_u[i] = ok, index[rule.id]
    return due_u[inv], rule_u[inv]


def make_plan(store: Store, as_of: _dt.date, *, rules: R.Rules | None = None,
              retirables: Mapping[str, Retirable] | None = None) -> Plan:
    """What a purge of ``store`` as of ``as_of`` would erase; holds are respected."""
    rules = rules if rules is not None else R.load(store=store.path)
    native = store._native
    counts: dict[str, RuleCount] = {}
    held = {pid for pid, _ in native.holds()}
    held_arr = np.fromiter(held, dtype=np.uint64, count=len(held))

    pids, dates = native.removed_persons()
    dates = _removal_dates(store, pids, dates)
    due, which = _due_by_date(rules, "removed_person", dates, as_of, counts)
    chain = rules.chain("removed_person")
    on_hold = np.isin(pids, held_arr)
    for i, r in enumerate(chain):
        mine = due & (which == i)
        counts[r.id].due += int(mine.sum())
        counts[r.id].held += int((mine & on_hold).sum())
    person_ids = np.ascontiguousarray(pids[due & ~on_hold], dtype=np.uint64)
    person_rules = [chain[i].id for i in which[due & ~on_hold].tolist()]

    vp, vs, vdates = native.superseded_versions()
    vdates = _superseded_dates(native, rules, as_of, vp, vs, vdates)
    vdue, vwhich = _due_by_date(rules, "superseded_version", vdates, as_of, counts)
    von_hold = np.isin(vp, held_arr)
    vchain = rules.chain("superseded_version")
    for i, r in enumerate(vchain):
        mine = vdue & (vwhich == i)
        counts[r.id].due += int(mine.sum())
        counts[r.id].held += int((mine & von_hold).sum())
    keep = vdue & ~von_hold
    version_rules = [vchain[i].id for i in vwhich[keep].tolist()]

    retire: dict[str, tuple[_dt.date, int]] = {}
    counted: dict[str, int] = {}
    if "mailing" in rules.kinds():
        before = rules.cutoff("mailing", as_of)
        counted["mailing"] = int(native.mailing_count_before(before.strftime("%Y%m%d").encode()))
        retire["mailing"] = (before, counted["mailing"])
    for kind, target in (retirables or {}).items():
        if kind not in R.KINDS or kind in ("removed_person", "superseded_version", "mailing"):
            raise R.RuleError(f"retirable {kind!r}: not a kind of record kept by date outside the store")
        before = rules.cutoff(kind, as_of)
        counted[kind] = int(target.count_before(before))
        retire[kind] = (before, counted[kind])
    for kind, n in counted.items():
        for r in rules.chain(kind):
            if r.in_force_on(as_of):
                counts.setdefault(r.id, RuleCount(r.id, kind)).due += n
    return Plan(as_of, rules, counts, person_ids,
                np.ascontiguousarray(vp[keep], dtype=np.uint64), np.ascontiguousarray(vs[keep], dtype=np.uint64),
                retire, person_rules, version_rules)
