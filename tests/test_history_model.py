"""A stateful property test of the register: random event sequences, rule violations included,
against a plain-Python model written from the rules as documented (not from the code).

After every step every query is checked against the model: each person's history, the version
valid on dates around every recorded 異動年月日 (now and as known at earlier sequences), the
version known at each sequence and at each commit time, the change feed from random cursors, the
batch forms, and lookups by current and superseded numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec
import numpy as np
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from jukistore.errors import (
    AlreadyResident,
    ConcurrentChange,
    DuplicateNumber,
    FieldNotAllowed,
    IdentityConflict,
    InvalidRecord,
    JukistoreError,
    NoSuchPerson,
    NotPermitted,
    PersonRemoved,
    RuleViolation,
    UpdateProhibited,
)
from jukistore import layouts
from jukistore.fileio.values import problem
from jukistore.history import Event, EventCode, Register, State
from jukistore.store import Operator

from store_support import fields, make_records, new_store, with_field

E = EventCode
F = fields()
CLERK = Operator("clerk01", "t1")
CHIEF = Operator("chief01", "t2")
APPROVERS = {"chief01"}

# The rules as the documentation states them: kind, whom they apply to, the items the caller may
# set, and whether one of them must actually change.
R = range
MODEL_RULES: dict[EventCode, tuple[str, str, frozenset[int], bool]] = {
    E.転居: ("change", "resident", frozenset(R(4, 11)), True),
    E.世帯変更: ("change", "resident", frozenset({1, 2, 3, 24}), True),
    E.転出: ("remove", "resident", frozenset(R(36, 41)) | {53}, False),
    E.国外転出: ("remove", "resident", frozenset(R(36, 41)) | {53}, False),
    E.死亡: ("remove", "resident", frozenset({53}), False),
    E.職権消除: ("remove", "resident", frozenset({53}), False),
    E.転出取消: ("restore", "moved_out", frozenset(), False),
    E.転出確定: ("change", "moved_out", frozenset(R(41, 46)), True),
    E.記載事項変更: ("change", "resident", frozenset({58, 59, 62, 63, 64, 65}), True),
    E.職権修正: ("change", "resident", frozenset({20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 53, 83, 84}), True),
    E.在留資格等変更: ("change", "resident", frozenset(R(66, 72)), True),
    E.通称変更: ("change", "resident", frozenset({60, 61, 80}), True),
    E.住民票コード変更: ("change", "resident", frozenset({30}), True),
    E.個人番号変更: ("change", "resident", frozenset({81}), True),
    E.改製: ("change", "resident", frozenset(), False),
    E.更新禁止: ("lock", "any", frozenset(), False),
    E.更新禁止解除: ("unlock", "any", frozenset(), False),
    E.記載の修正: ("change", "any", frozenset(R(1, 85)) - {11, 12, 13, 14, 15, 30, 81}, True),
}
REGISTER = (E.転入, E.出生, E.職権記載, E.国外転入)
REMOVAL_CATEGORY = {E.転出: "1", E.国外転出: "1", E.死亡: "2", E.職権消除: "3"}
TEXT = ["甲", "乙", "東京都墨田区押上一丁目1番", "東京都墨田区向島二丁目2番", "20200101", "01", ""]
ITEMS = layouts.load("jumin_kihon").items
ITEM = {it.no: it for it in ITEMS}


def fits(no: int, value: str) -> bool:
    """Whether master item ``no`` may hold ``value`` (the layout rules every write keeps)."""
    return problem(ITEM[no], value) is None


def misfit(rec: Any) -> bool:
    """Whether any item of ``rec`` holds a value its layout refuses."""
    return any(problem(item, getattr(rec, name)) is not None for item, name in zip(ITEMS, type(rec).__struct_fields__))


class Expected(Exception):
    def __init__(self, cls: type[Exception]):
        self.cls = cls


class MV(NamedTuple):
    seq: int
    valid_from: str
    notified: str
    event: int
    flags: int
    record: Any


def removed(rec: Any) -> bool:
    return getattr(rec, F[13]) not in ("", "0")


@dataclass
class Pending:
    ev: Event
    rows: int


class Model:
    def __init__(self) -> None:
        self.versions: dict[int, list[MV]] = {}
        self.code: dict[str, tuple[int, bool]] = {}
        self.mn: dict[str, tuple[int, bool]] = {}
        self.changes: list[tuple[int, int, int, str, str, int]] = []
        self.seq = 0
        self.next_pid = 1
        self.last_ts = -(2**62)

    def cur(self, pid: int) -> MV:
        return self.versions[pid][-1]

    def apply(self, evs: list[Event], op: Operator, ts_us: int, correction: bool = False) -> list[tuple[int, int]]:
        for ev in evs:
            if ev.code == E.記載の修正 and not correction:
                raise Expected(NotPermitted)
            if ev.code in (E.更新禁止, E.更新禁止解除) and op.operator_id not in APPROVERS:
                raise Expected(NotPermitted)
        work: dict[int, tuple[Any, int]] = {}
        code, mn = dict(self.code), dict(self.mn)
        rows: list[tuple[int, Any, int, int]] = []  # (pid or -k for new, record, flags, event)
        new = 0
        for ev in evs:
            date = ev.date
            notified = ev.notified or ""
            book = {F[11]: f"{int(ev.code):02d}", F[14]: date, F[15]: notified}
            if ev.code in REGISTER or ev.code == E.転居:
                book.update({F[16]: date, F[17]: f"{int(ev.code):02d}", F[18]: notified, F[19]: f"{int(ev.code):02d}"})
            if ev.code in REGISTER:
                rec = ev.record
                c, m = getattr(rec, F[30]), getattr(rec, F[81])
                if ev.code == E.出生 and getattr(rec, F[23]) != date:
                    raise Expected(RuleViolation)
                hc, hm = code.get(c), mn.get(m)
                if (hc and hc[1]) or (hm and hm[1]):
                    raise Expected(IdentityConflict)
                if hc and hm and hc[0] != hm[0]:
                    raise Expected(IdentityConflict)
                hit = hc or hm
                if hit is None:
                    new += 1
                    rows.append((-new, msgspec.structs.replace(rec, **book), 0, ev.code))
                    continue
                if ev.code == E.出生:
                    raise Expected(DuplicateNumber)
                pid = hit[0]
                prec, pflags = work.get(pid, (self.cur(pid).record, self.cur(pid).flags))
                if not pflags & 1:
                    raise Expected(AlreadyResident)
                if pflags & 2:
                    raise Expected(UpdateProhibited)
                rec = msgspec.structs.replace(rec, **book)
                flags = pflags & ~1
            else:
                pid = ev.person  # type: ignore[assignment]
                if pid not in self.versions:
                    raise Expected(NoSuchPerson)
                if ev.expect_seq is not None and ev.expect_seq != self.cur(pid).seq:
                    raise Expected(ConcurrentChange)
                prec, pflags = work.get(pid, (self.cur(pid).record, self.cur(pid).flags))
                kind, subject, items, must = MODEL_RULES[ev.code]
                is_removed = bool(pflags & 1)
                if subject == "resident" and is_removed:
                    raise Expected(PersonRemoved)
                if subject == "moved_out" and not (is_removed and getattr(prec, F[13]) == "1"):
                    raise Expected(RuleViolation)
                if pflags & 2 and kind != "unlock":
                    raise Expected(UpdateProhibited)
                if kind == "unlock" and not pflags & 2:
                    raise Expected(RuleViolation)
                ch = dict(ev.changes or {})
                for no in ch:
                    if no not in items:
                        raise Expected(FieldNotAllowed)
                sets = {F[no]: v for no, v in ch.items()}
                if must and not any(getattr(prec, k) != v for k, v in sets.items()):
                    raise Expected(RuleViolation)
                flags = pflags
                if kind == "remove":
                    sets.update({F[13]: REMOVAL_CATEGORY[ev.code], F[54]: date, F[55]: notified,
                                 F[57]: f"{int(ev.code):02d}"})
                elif kind == "restore":
                    sets.update({F[n]: "" for n in (13, 54, 55, 56, 57, 36, 37, 38, 39, 40)})
                elif kind == "lock":
                    flags |= 2
                elif kind == "unlock":
                    flags &= ~2
                sets.update(book)
                rec = msgspec.structs.replace(prec, **sets)
            flags = (flags & ~1) | (1 if removed(rec) else 0)
            work[pid] = (rec, flags)
            rows.append((pid, rec, flags, ev.code))
        # Every value fits its item (a 住民票コード is 11 digits): the register refuses any other
        # once every row is planned, before any number is checked against the store.
        if any(misfit(r) or not len(getattr(r, F[30])) == 11 for _, r, _, _ in rows):
            raise Expected(InvalidRecord)
        # Numbers: unique across all time, checked row by row as the store writes them.
        for pid, rec, _, _ in rows:
            c, m = getattr(rec, F[30]), getattr(rec, F[81])
            if pid < 0:
                for idx, v in ((code, c), (mn, m)):
                    if v in idx:
                        raise Expected(DuplicateNumber)
                    idx[v] = (pid, False)
            else:
                for idx, old, v in ((code, getattr(self.cur(pid).record, F[30]), c),
                                    (mn, getattr(self.cur(pid).record, F[81]), m)):
                    cur_v = next((k for k, (p, s) in idx.items() if p == pid and not s), old)
                    if v != cur_v:
                        if v in idx:
                            raise Expected(DuplicateNumber)
                        idx[v] = (pid, False)
                        idx[cur_v] = (pid, True)
        # Commit.
        ts = max(ts_us, self.last_ts)
        out = []
        new_ids: dict[int, int] = {}
        for (pid, rec, flags, ev_code), ev in zip(rows, evs):
            if pid < 0:
                new_ids[pid] = self.next_pid
                pid = self.next_pid
                self.next_pid += 1
                self.versions[pid] = []
            self.seq += 1
            self.versions[pid].append(MV(self.seq, ev.date, ev.notified or "00000000", int(ev_code), flags, rec))
            self.changes.append((self.seq, pid, int(ev_code), "", "", ts))
            out.append((self.seq, pid))
        self.code = {k: (new_ids.get(p, p), s) for k, (p, s) in code.items()}
        self.mn = {k: (new_ids.get(p, p), s) for k, (p, s) in mn.items()}
        self.last_ts = ts
        return out

    def as_of(self, pid: int, date: str, known_at: int | None = None) -> MV | None:
        vs = [v for v in self.versions[pid] if v.valid_from <= date and (known_at is None or v.seq <= known_at)]
        return max(vs, key=lambda v: (v.valid_from, v.seq)) if vs else None

    def as_known(self, pid: int, seq: int) -> MV | None:
        vs = [v for v in self.versions[pid] if v.seq <= seq]
        return vs[-1] if vs else None

    def seq_at(self, ts: int) -> int:
        return max((c[0] for c in self.changes if c[5] <= ts), default=0)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now

    @property
    def us(self) -> int:
        return int(self.now.timestamp() * 1_000_000)


dates = st.integers(0, 30 * 365).map(lambda d: (dt.date(2000, 1, 1) + dt.timedelta(days=d)).strftime("%Y%m%d"))
CHANGE_EVENTS = [c for c in MODEL_RULES if c != E.記載の修正]


@settings(max_examples=75, stateful_step_count=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
class RegisterMachine(RuleBasedStateMachine):
    counter = 0

    @initialize()
    def start(self) -> None:
        import tempfile

        RegisterMachine.counter += 1
        self.dir = tempfile.mkdtemp(prefix="hist-model-")
        self.clock = Clock()
        self.store = new_store(f"{self.dir}/s", clock=self.clock,
                               roles={CLERK.operator_id: ["clerk"], **{k: ["approver", "clerk"] for k in APPROVERS}})
        self.reg = Register(self.store)
        self.model = Model()
        self.pos = 0
        recs = self.fresh(4)
        self.store.load(recs, operator=CLERK)
        for i, r in enumerate(recs):
            self.model.seq += 1
            self.model.versions[i + 1] = [MV(i + 1, "20000401", "20000402", 0, 0, r)]
            self.model.code[getattr(r, F[30])] = (i + 1, False)
            self.model.mn[getattr(r, F[81])] = (i + 1, False)
            self.model.changes.append((i + 1, i + 1, 0, "", "", self.clock.us))
        self.model.next_pid = 5
        self.model.last_ts = self.clock.us

    def teardown(self) -> None:
        import shutil

        self.reg = None  # type: ignore[assignment]
        self.store = None  # type: ignore[assignment]
        shutil.rmtree(self.dir, ignore_errors=True)

    def fresh(self, n: int) -> list[Any]:
        out = make_records(n, seed=91, start=self.pos)
        self.pos += n
        return out

    def run(self, evs: list[Event], op: Operator) -> None:
        """Apply to both; they must agree on success or on the error class."""
        before = self.model.seq
        try:
            got = self.reg.apply(evs, operator=op)
        except JukistoreError as e:
            try:
                self.model.apply(evs, op, self.clock.us)
            except Expected as x:
                assert type(e) is x.cls, (e, x.cls, evs)
                assert self.reg.last_seq() == before
                event(f"refused: {x.cls.__name__}")
                return
            raise AssertionError(f"store refused what the model accepts: {e!r} {evs}")
        try:
            want = self.model.apply(evs, op, self.clock.us)
        except Expected as x:
            raise AssertionError(f"store accepted what the model refuses ({x.cls.__name__}): {evs}") from None
        assert [(a.seq, a.person_id) for a in got] == want
        for ev in evs:
            event(f"applied: {ev.code.name}")

    def pid(self, data: st.DataObject, code: EventCode | None = None) -> int:
        """A person for the event: mostly one it can apply to, sometimes any, rarely nobody."""
        m = self.model
        if data.draw(st.integers(0, 11)) == 0:
            return m.next_pid  # does not exist
        if code is not None and data.draw(st.integers(0, 4)) > 0:
            kind, subject, _, _ = MODEL_RULES[code]
            flags = {p: m.cur(p).flags for p in m.versions}
            if kind == "unlock":
                fit = [p for p, f in flags.items() if f & 2]
            elif subject == "moved_out":
                fit = [p for p, f in flags.items() if f == 1 and getattr(m.cur(p).record, F[13]) == "1"]
            elif subject == "resident":
                fit = [p for p, f in flags.items() if f == 0]
            else:
                fit = [p for p, f in flags.items() if not f & 2]
            if fit:
                return data.draw(st.sampled_from(fit))
        return data.draw(st.integers(1, m.next_pid - 1))

    def changes_for(self, data: st.DataObject, code: EventCode, pid: int) -> dict[int, str]:
        items = sorted(MODEL_RULES[code][2])
        ch: dict[int, str] = {}
        if code == E.住民票コード変更:
            pick = data.draw(st.sampled_from(["fresh", "fresh", "used", "same"]))
            used = list(self.model.code)
            if not used:  # no code in use yet: only a fresh one means anything
                pick = "fresh"
            ch[30] = (getattr(self.fresh(1)[0], F[30]) if pick == "fresh" else
                      data.draw(st.sampled_from(used)) if pick == "used" else
                      getattr(self.model.cur(pid).record, F[30]) if pid in self.model.versions else used[0])
        elif code == E.個人番号変更:
            pick = data.draw(st.sampled_from(["fresh", "fresh", "used"]))
            ch[81] = getattr(self.fresh(1)[0], F[81]) if pick == "fresh" else data.draw(st.sampled_from(list(self.model.mn)))
        elif items:
            for no in data.draw(st.lists(st.sampled_from(items), min_size=1, max_size=2, unique=True)):
                good = [v for v in TEXT if fits(no, v)]  # now and then one that does not fit
                ch[no] = data.draw(st.sampled_from(["1", "2"] if no == 22 else
                                                   TEXT if data.draw(st.integers(0, 9)) == 0 else good))
        if data.draw(st.integers(0, 14)) == 0:
            ch[data.draw(st.sampled_from([8, 21, 30, 1, 13]))] = "乙"  # maybe outside the event's items
        ch.pop(22, None) if ch.get(22) == "" else None
        return ch

    def change_event(self, data: st.DataObject) -> Event:
        code = data.draw(st.sampled_from(CHANGE_EVENTS))
        pid = self.pid(data, code)
        ch = self.changes_for(data, code, pid)
        expect = None
        if pid in self.model.versions and len(self.model.versions[pid]) > 1 and data.draw(st.integers(0, 7)) == 0:
            expect = self.model.versions[pid][-2].seq  # a decision made on an older version
        notified = data.draw(st.one_of(st.none(), dates))
        return Event(code, data.draw(dates), person=pid, changes=ch, notified=notified, expect_seq=expect)

    def register_event(self, data: st.DataObject, only_fresh: bool = False) -> Event:
        code = data.draw(st.sampled_from(REGISTER))
        rec = self.fresh(1)[0]
        date = data.draw(dates)
        variant = "fresh" if only_fresh else data.draw(st.sampled_from(
            ["fresh", "fresh", "resident", "returning", "mixed", "superseded", "bad_birth"]))
        people = list(self.model.versions)
        if variant in ("resident", "returning", "mixed"):
            p = self.model.cur(data.draw(st.sampled_from(people))).record
            rec = with_field(with_field(rec, 30, getattr(p, F[30])), 81, getattr(p, F[81]))
            if variant == "returning":
                rec = with_field(rec, 30, getattr(self.fresh(1)[0], F[30]))  # a new code, the same My Number
            if variant == "mixed":
                q = self.model.cur(data.draw(st.sampled_from(people))).record
                rec = with_field(rec, 81, getattr(q, F[81]))
        elif variant == "superseded":
            old = [c for c, (_, s) in self.model.code.items() if s]
            if old:
                rec = with_field(rec, 30, data.draw(st.sampled_from(old)))
        if code == E.出生 and variant != "bad_birth":
            rec = with_field(rec, 23, date)
        return Event(code, date, record=rec, notified=data.draw(st.one_of(st.none(), dates)))

    # ---- steps ----------------------------------------------------------------------------------

    @rule(data=st.data())
    def register(self, data: st.DataObject) -> None:
        self.run([self.register_event(data)], CLERK)

    @rule(data=st.data())
    def change(self, data: st.DataObject) -> None:
        ev = self.change_event(data)
        op = CHIEF if ev.code in (E.更新禁止, E.更新禁止解除) and data.draw(st.booleans()) else CLERK
        self.run([ev], op)

    @rule(data=st.data())
    def batch(self, data: st.DataObject) -> None:
        n = data.draw(st.integers(2, 4))
        evs = [self.register_event(data, only_fresh=True) if data.draw(st.integers(0, 3)) == 0
               else self.change_event(data) for _ in range(n)]
        self.run(evs, data.draw(st.sampled_from([CLERK, CHIEF])))

    @rule(data=st.data())
    def correction(self, data: st.DataObject) -> None:
        pid = self.pid(data, E.記載の修正)
        if pid not in self.model.versions:
            return
        ch = self.changes_for(data, E.記載の修正, pid)
        cur = self.model.cur(pid)
        ev = Event(E.記載の修正, cur.valid_from, person=pid, changes=ch, expect_seq=cur.seq)
        try:
            p = self.reg.corrections.propose(pid, ch, operator=CLERK)
        except JukistoreError as e:
            try:
                self.model.apply([ev], CHIEF, self.clock.us, correction=True)
            except Expected as x:
                assert type(e) is x.cls, (e, x.cls)
                event(f"proposal refused: {x.cls.__name__}")
                return
            raise AssertionError(f"proposal refused: {e!r}")
        if data.draw(st.booleans()):
            try:
                self.reg.corrections.approve(p.id, operator=CLERK)
                raise AssertionError("the proposer approved their own correction")
            except NotPermitted:
                pass
        a = self.reg.corrections.approve(p.id, operator=CHIEF)
        [want] = self.model.apply([ev], CHIEF, self.clock.us, correction=True)
        assert (a.seq, a.person_id) == want
        assert self.reg.corrections.get(p.id).state is State.APPROVED
        event("applied: correction")

    @rule(hours=st.integers(1, 48))
    def clock_goes_back(self, hours: int) -> None:
        self.clock.now -= dt.timedelta(hours=hours)

    # ---- every query against the model ----------------------------------------------------------

    @invariant()
    def queries_agree(self) -> None:
        if not hasattr(self, "model"):
            return
        m, reg = self.model, self.reg
        assert reg.last_seq() == m.seq
        seqs = sorted({0, 1, m.seq, m.seq // 2, max(m.seq - 3, 0)})
        for pid, vs in m.versions.items():
            h = reg.history(pid)
            assert [(v.seq, v.valid_from, v.notified, int(v.event), v.flags) for v in h] == \
                [(v.seq, v.valid_from, v.notified, v.event, v.flags) for v in vs]
            assert [v.record for v in h] == [v.record for v in vs]
            days = {v.valid_from for v in vs}
            probes = sorted(days | {d[:6] + "00" for d in days} | {"19990101", "20991231"})
            for d in probes:
                for k in (None, *seqs):
                    got = reg.as_of(pid, d, known_at=k)
                    want = m.as_of(pid, d, k)
                    assert (got.seq if got else None) == (want.seq if want else None), (pid, d, k)
            for s in seqs:
                got = reg.as_known(pid, seq=s) if s else None
                want = m.as_known(pid, s)
                assert (got.seq if got else None) == (want.seq if want else None)
        # System time by the clock: at every commit time and just before it.
        for ts in {c[5] for c in m.changes[-6:]}:
            for t in (ts, ts - 1):
                when = dt.datetime.fromtimestamp(0, dt.timezone.utc) + dt.timedelta(microseconds=t)
                assert reg.seq_at(when) == m.seq_at(t)
        # The feed from a few cursors.
        for since in seqs:
            feed = reg.changes(since, 1000)
            assert [(c.seq, c.person_id, int(c.event), c.timestamp_us) for c in feed] == \
                [(c[0], c[1], c[2], c[5]) for c in m.changes[since:]]
            assert all(c.version is not None and c.version.seq == c.seq for c in feed)
        # Lookups by every number ever used.
        for idx, how in ((m.code, "code"), (m.mn, "mynumber")):
            for num, (pid, sup) in idx.items():
                p = self.store.get(**{how: num})
                assert p is not None and (p.person_id, p.superseded) == (pid, sup), (how, pid, sup)
        # Batch forms.
        pids = np.array(list(m.versions) + [m.next_pid], dtype=np.uint64)
        for d in ("20100101", "20301231"):
            res = reg.as_of_many(pids, d, known_at=m.seq // 2 or None)
            for i, pid in enumerate(pids[:-1]):
                want = m.as_of(int(pid), d, m.seq // 2 or None)
                assert (int(res.seqs[i]) if res.found[i] else None) == (want.seq if want else None)
            assert not res.found[-1]
        assert self.store.verify().ok


TestRegister = RegisterMachine.TestCase
