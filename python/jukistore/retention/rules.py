"""Retention rules as data: loading them, municipal overrides, and when a record falls due.

The rules live in ``jukistore/rules/retention.toml`` (see the comments there for every field).
A record is judged by the chain of rule versions for its kind: the version in force on the day its
clock started, then each later version whose first day came while the record was still kept
(the transitional rule of the 2019 amendment of 施行令34条: 5 years became 150 for every 除票 whose
5 years had not yet run out on 2019-06-20).

Periods are counted as the Civil Code counts them (民法140条, 143条): the first day is not counted,
so the count starts the next day, and a period of N years ends on the day before the day with
that starting day's month and day N years on (on the last day of the month when there is no such
day): 150 years from 2022-02-28 end on 2172-02-29. A record under a *minimum* rule may be erased the day
after its period ends; a record under a *maximum* rule (mailing data, kept under a year) is erased
on the last day at the latest, so it is due from that day.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from jukistore.errors import JukistoreError

#: What a rule may apply to, and the clock each kind starts from.
KINDS: dict[str, str] = {
    "removed_person": "removal_date",
    "superseded_version": "superseded_date",
    "mailing": "sent_date",
    "access_log": "entry_date",
    "provision_record": "entry_date",
}
#: The longest period a rule may have, per unit: a thousand years.
MAX_PERIOD: dict[str, int] = {"y": 1000, "m": 12_000, "d": 366_000}
#: The name of a store's own override file (municipal rules), beside its data file.
OVERRIDE_FILE = "retention.toml"


class RuleError(JukistoreError, ValueError):
    """A retention rule or override is malformed; the message names the rule and field."""


@dataclass(frozen=True)
class Period:
    """A span of years, months or days."""

    n: int
    unit: str  # "y", "m" or "d"

    @classmethod
    def parse(cls, text: str, where: str) -> "Period":
        t = text.strip()
        if len(t) < 2 or t[-1] not in "ymd" or not t[:-1].isascii() or not t[:-1].isdigit():
            raise RuleError(f"{where}: field period: expected <n>y, <n>m or <n>d, got {text!r}")
        p = cls(int(t[:-1]), t[-1])
        if p.n > MAX_PERIOD[p.unit]:
            raise RuleError(f"{where}: field period: {p} is too long (at most {MAX_PERIOD[p.unit]}{p.unit})")
        return p

    def end(self, start: _dt.date) -> _dt.date:
        """The last day of the period whose clock started on ``start`` (民法140条, 143条).

        The first day is not counted: the count starts the next day (起算日). A period of months
        or years ends on the day before the day that corresponds to the 起算日 in the last month,
        or on that month's last day when it has no such day. So 150 years from 2022-02-28 end on
        2172-02-29, and one month from 30 April on 31 May."""
        if start >= _dt.date.max - _dt.timedelta(days=1):
            return _dt.date.max
        if self.unit == "d":
            days = min(self.n, (_dt.date.max - start).days)  # past the calendar: never ends
            return start + _dt.timedelta(days=days)
        first = start + _dt.timedelta(days=1)
        months = self.n * (12 if self.unit == "y" else 1)
        y, m = divmod(first.month - 1 + months, 12)
        year, month = first.year + y, m + 1
        if year > _dt.MAXYEAR:  # a clock date late in the calendar (a typo such as 9999): never ends
            return _dt.date.max
        last = calendar.monthrange(year, month)[1]
        if first.day > last:
            return _dt.date(year, month, last)
        return _dt.date(year, month, first.day) - _dt.timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.n}{self.unit}"


def _date(text: str, where: str, fieldname: str) -> _dt.date | None:
    if text == "":
        return None
    try:
        if len(text) != 10 or text[4] != "-" or text[7] != "-":
            raise ValueError(text)
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise RuleError(f"{where}: field {fieldname}: expected YYYY-MM-DD or empty, got {text!r}") from None


@dataclass(frozen=True)
class Rule:
    """One version of a retention rule."""

    id: str
    applies_to: str
    clock: str
    period: Period
    bound: str
    basis: str
    source: str
    in_force_from: _dt.date | None
    in_force_until: _dt.date | None
    #: The override that changed this rule (its basis), if any.
    override: str = ""

    def in_force_on(self, day: _dt.date) -> bool:
        return (self.in_force_from is None or self.in_force_from <= day) and (
            self.in_force_until is None or day <= self.in_force_until)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "applies_to": self.applies_to, "clock": self.clock, "period": str(self.period),
                "bound": self.bound, "basis": self.basis, "source": self.source,
                "in_force_from": self.in_force_from.isoformat() if self.in_force_from else "",
                "in_force_until": self.in_force_until.isoformat() if self.in_force_until else "",
                "override": self.override}


_FIELDS = ("id", "applies_to", "clock", "period", "bound", "basis", "source", "in_force_from", "in_force_until")


def _rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise RuleError(f"{where}: expected a table, got {type(raw).__name__}")
    for f in _FIELDS:
        if f not in raw:
            raise RuleError(f"{where}: field {f}: missing")
        if not isinstance(raw[f], str):
            raise RuleError(f"{where}: field {f}: expected text, got {type(raw[f]).__name__}")
    unknown = set(raw) - set(_FIELDS)
    if unknown:
        raise RuleError(f"{where}: unknown field {sorted(unknown)[0]}")
    where = f"rule {raw['id']!r}"
    kind = raw["applies_to"]
    if kind not in KINDS:
        raise RuleError(f"{where}: field applies_to: {kind!r} is not one of {', '.join(KINDS)}")
    if raw["clock"] != KINDS[kind]:
        raise RuleError(f"{where}: field clock: {kind} records are counted from {KINDS[kind]}, not {raw['clock']!r}")
    if raw["bound"] not in ("minimum", "maximum"):
        raise RuleError(f"{where}: field bound: expected minimum or maximum, got {raw['bound']!r}")
    if not raw["basis"].strip():
        raise RuleError(f"{where}: field basis: a rule needs its legal basis")
    r = Rule(raw["id"], kind, raw["clock"], Period.parse(raw["period"], where), raw["bound"], raw["basis"],
             raw["source"], _date(raw["in_force_from"], where, "in_force_from"),
             _date(raw["in_force_until"], where, "in_force_until"))
    if r.in_force_from and r.in_force_until and r.in_force_until < r.in_force_from:
        raise RuleError(f"{where}: field in_force_until: before in_force_from")
    return r


class Rules:
    """The rule versions of every kind, each kind's versions in the order they came into force."""

    def __init__(self, rules: Iterable[Rule]):
        self.rules: tuple[Rule, ...] = tuple(rules)
        ids = [r.id for r in self.rules]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise RuleError(f"rule {sorted(dup)[0]!r}: id used twice")
        self._by_kind: dict[str, list[Rule]] = {}
        for r in self.rules:
            self._by_kind.setdefault(r.applies_to, []).append(r)
        for kind, chain in self._by_kind.items():
            chain.sort(key=lambda r: r.in_force_from or _dt.date.min)
            for a, b in zip(chain, chain[1:]):
                if b.in_force_from is None:
                    raise RuleError(f"rule {b.id!r}: field in_force_from: needed after rule {a.id!r} for {kind}")
                if a.in_force_until is None or a.in_force_until >= b.in_force_from:
                    raise RuleError(f"rule {a.id!r}: field in_force_until: must end before rule {b.id!r} begins")

    def __iter__(self) -> Any:
        return iter(self.rules)

    def kinds(self) -> list[str]:
        return [k for k in KINDS if k in self._by_kind]

    def chain(self, kind: str) -> list[Rule]:
        if kind not in self._by_kind:
            raise RuleError(f"no retention rule for {kind}")
        return list(self._by_kind[kind])

    def governing(self, kind: str, start: _dt.date) -> tuple[Rule, _dt.date]:
        """The rule that governs a record whose clock started on ``start``, and its last day kept.

        Starts from the version in force on ``start`` (the first one for a start before any) and
        moves to each later version whose first day came while the record was still kept.
        """
        chain = self.chain(kind)
        i = 0
        for j, r in enumerate(chain):
            if r.in_force_from is None or r.in_force_from <= start:
                i = j
        end = chain[i].period.end(start)
        while i + 1 < len(chain):
            begins = chain[i + 1].in_force_from
            if begins is None or end < begins:
                break  # the period ran out before the next version began
            i += 1
            end = chain[i].period.end(start)
        return chain[i], end

    def due(self, kind: str, start: _dt.date, as_of: _dt.date) -> tuple[bool, Rule]:
        """Whether a record whose clock started on ``start`` is to be erased on ``as_of``."""
        rule, end = self.governing(kind, start)
        return (as_of >= end if rule.bound == "maximum" else as_of > end), rule

    def cutoff(self, kind: str, as_of: _dt.date) -> _dt.date:
        """For kinds with one rule in force: records whose clock started before this date are due.

        Used for logs, whose entries are retired by date rather than one by one.
        """
        lo, hi = _dt.date(1, 1, 1), as_of + _dt.timedelta(days=1)  # (a clock of as_of may be due too)
        if not self.due(kind, lo, as_of)[0]:
            return lo
        # due() is monotone in the start date for one rule version: find the first start not due.
        while (hi - lo).days > 1:
            mid = lo + _dt.timedelta(days=(hi - lo).days // 2)
            if self.due(kind, mid, as_of)[0]:
                lo = mid
            else:
                hi = mid
        return hi

    def with_overrides(self, overrides: dict[str, Any], where: str) -> "Rules":
        """These rules with a municipality's overrides applied.

        An override names a rule id, a new period and its own basis (the ordinance or decision).
        A minimum may only be lengthened and a maximum only shortened: a municipality may keep
        records longer than the law requires, never erase them sooner (and the reverse for mailing
        data, which must not be kept longer).
        """
        items = overrides.get("overrides", [])
        if not isinstance(items, list):
            raise RuleError(f"{where}: overrides must be an array of tables")
        by_id = {r.id: r for r in self.rules}
        for n, o in enumerate(items):
            at = f"{where}: override {n}"
            if not isinstance(o, dict):
                raise RuleError(f"{at}: expected a table, got {type(o).__name__}")
            for f in ("rule", "period", "basis"):
                if not isinstance(o.get(f), str) or not o[f].strip():
                    raise RuleError(f"{at}: field {f}: missing or empty")
            if set(o) - {"rule", "period", "basis"}:
                raise RuleError(f"{at}: unknown field {sorted(set(o) - {'rule', 'period', 'basis'})[0]}")
            if o["rule"] not in by_id:
                raise RuleError(f"{at}: field rule: no rule {o['rule']!r}")
            base = by_id[o["rule"]]
            p = Period.parse(o["period"], at)
            if base.bound == "minimum" and not _not_shorter(p, base.period):
                raise RuleError(f"{at}: field period: {p} is shorter than the law's minimum {base.period} for {base.id}")
            if base.bound == "maximum" and not _not_shorter(base.period, p):
                raise RuleError(f"{at}: field period: {p} is longer than the law's maximum {base.period} for {base.id}")
            by_id[base.id] = replace(base, period=p, override=o["basis"])
        return Rules(by_id[r.id] for r in self.rules)


def _not_shorter(a: Period, b: Period) -> bool:
    """True when period ``a`` is at least ``b`` from every start date."""
    probe = [_dt.date(2000, 1, 31), _dt.date(2000, 2, 29), _dt.date(2001, 3, 1), _dt.date(2003, 12, 31)]
    return all(a.end(d) >= b.end(d) for d in probe)


def _parse_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RuleError(f"{where}: {e}") from None


def load(path: str | Path | None = None, *, overrides: str | Path | None = None,
         store: str | Path | None = None) -> Rules:
    """The retention rules: the package's (or ``path``), with municipal overrides applied.

    Overrides come from ``overrides`` if given, else from ``retention.toml`` in the ``store``
    directory if there is one.
    """
    if path is None:
        text = resources.files("jukistore.rules").joinpath("retention.toml").read_text(encoding="utf-8")
        where = "retention.toml"
    else:
        text, where = _read_text(Path(path)), str(path)
    raw = _parse_toml(text, where)
    items = raw.get("rules")
    if not isinstance(items, list) or not items:
        raise RuleError(f"{where}: no [[rules]]")
    rules = Rules(_rule(r, f"{where}: rule {n}") for n, r in enumerate(items))
    opath = Path(overrides) if overrides is not None else (Path(store) / OVERRIDE_FILE if store is not None else None)
    if opath is not None and (overrides is not None or opath.exists()):
        rules = rules.with_overrides(_parse_toml(_read_text(opath), opath.name), opath.name)
    return rules


def _read_text(path: Path) -> str:
    """A rules file's text; RuleError when it is not UTF-8 (TOML is)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise RuleError(f"{path.name}: not UTF-8 text (byte {e.start})") from None
