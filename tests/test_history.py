"""History through its Python API: events and their rules, bitemporal reads, old numbers, dual
control of corrections, the change feed and the command line."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import msgspec
import numpy as np
import pytest

from jukistore import Store
from jukistore.cli import main as cli
from jukistore.errors import (
    AlreadyResident,
    ConcurrentChange,
    DuplicateNumber,
    FieldNotAllowed,
    IdentityConflict,
    InvalidRecord,
    NoSuchPerson,
    NoSuchProposal,
    NotPermitted,
    PersonRemoved,
    ProposalDecided,
    QueryError,
    RuleViolation,
    UpdateProhibited,
)
from jukistore.history import (
    RULES,
    ChangeEntry,
    Event,
    EventCode,
    Feed,
    FeedError,
    FileCursor,
    Register,
    State,
    projection,
)
from jukistore.history.events import ADDRESS, CORRECTABLE
from jukistore.ids import juminhyo, mynumber
from jukistore.store import Operator

from store_support import PURPOSE, READER, fields, make_records, new_store, with_field

CLERK = Operator("clerk01", "term-07")
CLERK2 = Operator("clerk02", "term-08")
CHIEF = Operator("chief01", "term-01")
ROLES = {"clerk01": ["clerk"], "clerk02": ["clerk"], "chief01": ["approver", "clerk"], "chief02": ["approver"]}
E = EventCode
F = fields()
T0 = dt.datetime(2024, 4, 1, 9, 0, tzinfo=dt.timezone.utc)


class Clock:
    """A clock tests move by hand; each reading advances one second."""

    def __init__(self, start: dt.datetime = T0):
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reg(tmp_path, clock) -> Register:
    s = new_store(tmp_path / "s", roles=ROLES, clock=clock)
    s.load(make_records(10, seed=21), operator=CLERK)
    return Register(s)


def fresh(n: int = 1, start: int = 1000, seed: int = 21):
    return make_records(n, seed=seed, start=start)


def code_of(rec) -> str:
    return getattr(rec, F[30])


def move(person, address: str, date: str = "20240401", **kw) -> Event:
    return Event(E.転居, date, person=person, changes={8: address}, **kw)


# ---- the table ----------------------------------------------------------------------------------

def test_event_table_codes_names_and_items():
    codes = [int(c) for c in EventCode]
    assert len(codes) == len(set(codes)) and codes[0] == 0
    assert EventCode.MOVE_IN is EventCode.転入 and EventCode(11).name == "転居"
    assert EventCode.転居.text == "11" and EventCode.転居.english == "MOVE_WITHIN"
    assert all(0 <= c < 2**16 for c in codes)
    assert set(RULES) == set(EventCode) - {EventCode.一括登録}
    assert RULES[E.転居].items == ADDRESS
    assert not {11, 12, 13, 14, 15, 30, 81} & CORRECTABLE
    for r in RULES.values():
        assert r.items <= frozenset(range(1, 85))
    # The synthetic ward writes the same 異動事由 codes into item 11.
    from jukistore.synth import codes as synth_codes

    for text, name in synth_codes.IDO_JIYU.items():
        if name in EventCode.__members__:
            assert EventCode[name].text == text, name


def test_projection_comes_from_the_layout():
    pairs = dict(projection("seigo"))
    assert len(pairs) == 8
    assert set(pairs.values()) == {F[n] for n in (30, 21, 23, 22, 8, 81, 11, 14)}


# ---- events and reads ---------------------------------------------------------------------------

def test_move_within_keeps_every_version_and_answers_in_both_times(reg, clock):
    p = reg.store.get(person_id=3)
    old_addr = getattr(p.record, F[8])
    before = reg.last_seq()
    t_before = clock.now
    [a] = reg.apply(move(p, "東京都墨田区押上一丁目1番1号", "20240401", notified="20240405"), operator=CLERK)
    assert a == (before + 1, 3, E.転居)
    h = reg.history(3)
    assert [v.seq for v in h] == [3, a.seq] and [v.event for v in h] == [E.一括登録, E.転居]
    v = h[-1]
    assert (v.valid_from, v.notified) == ("20240401", "20240405")
    rec = v.record
    assert getattr(rec, F[8]) == "東京都墨田区押上一丁目1番1号"
    assert (getattr(rec, F[11]), getattr(rec, F[14]), getattr(rec, F[15])) == ("11", "20240401", "20240405")
    assert (getattr(rec, F[16]), getattr(rec, F[17])) == ("20240401", "11")
    # Everything but the address and the register's own items is as before.
    assert msgspec.structs.replace(rec, **{F[n]: getattr(p.record, F[n]) for n in (8, 11, 14, 15, 16, 17, 18, 19)}) == p.record
    # Valid time: before the move date, the old address; from it on, the new.
    assert getattr(reg.as_of(p, "20240331").record, F[8]) == old_addr
    assert getattr(reg.as_of(p, "令和6年4月1日").record, F[8]) == "東京都墨田区押上一丁目1番1号"
    assert reg.as_of(p, "19990101") is None
    # ... as the store knew it before the move was recorded.
    assert getattr(reg.as_of(p, "20250101", known_at=before).record, F[8]) == old_addr
    # System time by sequence and by clock.
    assert reg.as_known(3, seq=before).seq == 3
    assert reg.as_known(3, seq=a.seq).seq == a.seq
    assert reg.as_known(3, time=t_before).seq == 3
    assert reg.as_known(3, time=clock.now).seq == a.seq
    assert reg.as_known(3, time=T0 - dt.timedelta(days=1)) is None
    with pytest.raises(QueryError):
        reg.as_known(3)
    with pytest.raises(QueryError):
        reg.as_known(3, time=dt.datetime(2024, 1, 1))  # naive
    # The search keys moved with the address.
    assert reg.store.search(name_kana=getattr(rec, F[20]), address="東京都墨田区押上一丁目") != []
    assert reg.store.verify().ok


def test_registrations_in_one_batch_with_updates(reg):
    fam = fresh(3)
    head = reg.store.get(person_id=1)
    batch = [Event(E.転入, "20240410", record=r, notified="20240412") for r in fam]
    batch.append(Event(E.世帯変更, "20240410", person=head, changes={1: "0000009999", 24: "01"}))
    res = reg.apply(batch, operator=CLERK)
    assert [a.person_id for a in res] == [11, 12, 13, 1]
    assert [a.seq for a in res] == [11, 12, 13, 14]
    for r, a in zip(fam, res):
        p = reg.store.get(code=code_of(r))
        assert p.person_id == a.person_id and not p.removed
        assert getattr(p.record, F[11]) == "01" and getattr(p.record, F[14]) == "20240410"
        assert reg.history(p)[0].event == E.転入
    assert getattr(reg.store.get(person_id=1).record, F[1]) == "0000009999"
    # A batch fails whole: the third event breaks a rule, nothing of the batch is written.
    more = fresh(2, start=2000)
    last = reg.last_seq()
    bad = [Event(E.転入, "20240501", record=more[0]), move(2, "東京都墨田区両国1-1"),
           Event(E.転居, "20240501", person=3, changes={21: "別名"})]
    with pytest.raises(FieldNotAllowed) as ei:
        reg.apply(bad, operator=CLERK)
    assert ei.value.row == 2 and ei.value.field == F[21]
    assert reg.last_seq() == last and reg.store.get(code=code_of(more[0])) is None
    # A duplicate number inside one batch is found by the core and named by row and field.
    twin = with_field(more[1], 30, code_of(more[0]))
    with pytest.raises(DuplicateNumber) as ei:
        reg.apply([Event(E.転入, "20240501", record=more[0]), Event(E.出生, "20240501",
                   record=with_field(twin, 23, "20240501"))], operator=CLERK)
    assert ei.value.row == 1 and ei.value.field == F[30] and code_of(more[0]) not in str(ei.value)
    assert reg.last_seq() == last
    assert reg.store.verify().ok


def test_registration_rules(reg):
    recs = make_records(10, seed=21)
    # Already resident: by 住民票コード, and by 個人番号 under a new code.
    with pytest.raises(AlreadyResident) as ei:
        reg.apply(Event(E.転入, "20240401", record=recs[4]), operator=CLERK)
    assert ei.value.row == 0 and ei.value.field == F[30]
    new_code = code_of(fresh(1, start=3000)[0])
    with pytest.raises(AlreadyResident):
        reg.apply(Event(E.転入, "20240401", record=with_field(recs[4], 30, new_code)), operator=CLERK)
    # Numbers of two different persons.
    mixed = with_field(recs[4], 81, getattr(recs[5], F[81]))
    with pytest.raises(IdentityConflict):
        reg.apply(Event(E.転入, "20240401", record=mixed), operator=CLERK)
    # A birth: numbers must be new, and the event date is the birth date.
    baby = fresh(1, start=3100)[0]
    with pytest.raises(RuleViolation) as ei:
        reg.apply(Event(E.出生, "20240401", record=baby), operator=CLERK)
    assert ei.value.field == F[23]
    with pytest.raises(DuplicateNumber):
        reg.apply(Event(E.出生, "20240401", record=with_field(recs[6], 23, "20240401")), operator=CLERK)
    [a] = reg.apply(Event(E.出生, "20240401", record=with_field(baby, 23, "20240401")), operator=CLERK)
    assert reg.store.get(person_id=a.person_id) is not None
    # A registration may not arrive removed.
    with pytest.raises(FieldNotAllowed):
        reg.apply(Event(E.転入, "20240401", record=with_field(fresh(1, start=3200)[0], 13, "1")), operator=CLERK)
    # Bad input is named by row and field, never shown whole.
    bad = with_field(fresh(1, start=3300)[0], 81, "12345")
    with pytest.raises(InvalidRecord) as ei:
        reg.apply(Event(E.転入, "20240401", record=bad), operator=CLERK)
    assert ei.value.field == F[81] and "12345" not in str(ei.value)
    mn = getattr(fresh(1, start=3400)[0], F[81])
    wrong = mn[:-1] + str((int(mn[-1]) + 1) % 10)
    with pytest.raises(InvalidRecord) as ei:
        reg.apply(Event(E.転入, "20240401", record=with_field(fresh(1, start=3400)[0], 81, wrong)), operator=CLERK)
    assert ei.value.field == F[81] and wrong not in str(ei.value) and "checksum" in str(ei.value)
    with pytest.raises(InvalidRecord):
        reg.apply(Event(E.転入, "2024-13-01", record=fresh(1, start=3500)[0]), operator=CLERK)
    with pytest.raises(QueryError):
        reg.apply(Event(E.転入, "20240401", person=1), operator=CLERK)
    with pytest.raises(QueryError):
        reg.apply(Event(E.一括登録, "20240401", record=fresh(1, start=3600)[0]), operator=CLERK)


def test_removal_and_return_keep_the_same_person(reg):
    p = reg.store.get(person_id=5)
    code, mn = getattr(p.record, F[30]), getattr(p.record, F[81])
    [out] = reg.apply(Event(E.転出, "20240501", person=p, changes={38: "大阪府大阪市北区1-1"}, notified="20240420"),
                      operator=CLERK)
    gone = reg.store.get(person_id=5)
    assert gone.removed and getattr(gone.record, F[13]) == "1" and getattr(gone.record, F[54]) == "20240501"
    # What the law does not allow on a 除票 is refused; what it allows works.
    with pytest.raises(PersonRemoved):
        reg.apply(move(5, "東京都墨田区向島1-1", "20240601"), operator=CLERK)
    with pytest.raises(PersonRemoved):
        reg.apply(Event(E.死亡, "20240601", person=5), operator=CLERK)
    with pytest.raises(RuleViolation):
        reg.apply(Event(E.転出確定, "20240601", person=6, changes={43: "x"}), operator=CLERK)  # not moved out
    reg.apply(Event(E.転出確定, "20240510", person=5, changes={43: "大阪府大阪市北区1-2"}), operator=CLERK)
    assert reg.store.get(person_id=5).removed
    # The person comes back years later under a new 住民票コード: linked by the 個人番号 to the same id.
    back = with_field(with_field(p.record, 30, code_of(fresh(1, start=4000)[0])), 8, "東京都墨田区立花1-1")
    [ret] = reg.apply(Event(E.転入, "20270401", record=back, notified="20270402"), operator=CLERK)
    assert ret.person_id == 5
    now = reg.store.get(person_id=5)
    assert not now.removed and getattr(now.record, F[13]) == "" and getattr(now.record, F[81]) == mn
    old = reg.store.get(code=code)
    assert old.person_id == 5 and old.superseded
    assert [v.event for v in reg.history(5)] == [E.一括登録, E.転出, E.転出確定, E.転入]
    assert reg.as_of(5, "20250101").removed and not reg.as_of(5, "20270401").removed
    # 転出取消 restores a moved-out person; a death is final for that.
    reg.apply(Event(E.転出, "20280101", person=5), operator=CLERK)
    reg.apply(Event(E.転出取消, "20280101", person=5), operator=CLERK)
    assert not reg.store.get(person_id=5).removed
    reg.apply(Event(E.死亡, "20290101", person=5, notified="20290102"), operator=CLERK)
    with pytest.raises(RuleViolation):
        reg.apply(Event(E.転出取消, "20290101", person=5), operator=CLERK)
    assert out.seq < ret.seq
    assert reg.store.verify().ok


def test_move_within_may_change_only_the_address(reg):
    with pytest.raises(FieldNotAllowed) as ei:
        reg.apply(Event(E.転居, "20240401", person=2, changes={8: "東京都墨田区1", 20: "ベツメイ"}), operator=CLERK)
    assert ei.value.field == F[20]
    cur = getattr(reg.store.get(person_id=2).record, F[8])
    with pytest.raises(RuleViolation):
        reg.apply(move(2, cur), operator=CLERK)  # moves nowhere
    with pytest.raises(InvalidRecord):
        reg.apply(Event(E.転居, "20240401", person=2, changes={"no_such_field": "x"}), operator=CLERK)
    with pytest.raises(NoSuchPerson):
        reg.apply(move(999, "東京都墨田区1"), operator=CLERK)
    # Field names work as well as item numbers.
    reg.apply(Event(E.転居, "20240401", person=2, changes={F[8]: "東京都墨田区1", F[10]: "202号"}), operator=CLERK)


def test_number_changes_keep_old_numbers_working(reg):
    p = reg.store.get(person_id=7)
    old_code, old_mn = getattr(p.record, F[30]), getattr(p.record, F[81])
    spare = fresh(2, start=5000)
    new_code, new_mn = code_of(spare[0]), getattr(spare[0], F[81])
    reg.apply(Event(E.住民票コード変更, "20240401", person=p, changes={30: new_code}), operator=CLERK)
    reg.apply(Event(E.個人番号変更, "20240402", person=7, changes={81: new_mn}), operator=CLERK)
    for kw in ({"code": old_code}, {"mynumber": old_mn}):
        q = reg.store.get(**kw)
        assert q.person_id == 7 and q.superseded and getattr(q.record, F[30]) == new_code
    for kw in ({"code": new_code}, {"mynumber": new_mn}):
        q = reg.store.get(**kw)
        assert q.person_id == 7 and not q.superseded
    # A number once used is never given to anyone else, nor taken back.
    with pytest.raises(DuplicateNumber) as ei:
        reg.apply(Event(E.住民票コード変更, "20240403", person=8, changes={30: old_code}), operator=CLERK)
    assert old_code not in str(ei.value)
    with pytest.raises(IdentityConflict):
        reg.apply(Event(E.転入, "20240403", record=with_field(spare[1], 30, old_code)), operator=CLERK)
    with pytest.raises(FieldNotAllowed):
        reg.apply(Event(E.住民票コード変更, "20240403", person=8, changes={81: getattr(spare[1], F[81])}), operator=CLERK)
    # History shows both numbers, each version with its own.
    assert [v.code for v in reg.history(7)] == [old_code, new_code, new_code]
    assert [v.mynumber for v in reg.history(7)][-1] == new_mn


def test_update_prohibited_and_concurrent_change(reg):
    p = reg.store.get(person_id=4)
    with pytest.raises(NotPermitted):
        reg.apply(Event(E.更新禁止, "20240401", person=p), operator=CLERK)
    reg.apply(Event(E.更新禁止, "20240401", person=p), operator=CHIEF)
    locked = reg.store.get(person_id=4)
    assert reg.history(4)[-1].prohibited
    with pytest.raises(UpdateProhibited):
        reg.apply(move(4, "東京都墨田区1"), operator=CLERK)
    with pytest.raises(UpdateProhibited):
        reg.apply(Event(E.更新禁止, "20240402", person=4), operator=CHIEF)
    # Lift and move in one batch.
    reg.apply([Event(E.更新禁止解除, "20240402", person=locked), move(4, "東京都墨田区2", "20240402")], operator=CHIEF)
    assert not reg.history(4)[-1].prohibited
    with pytest.raises(RuleViolation):
        reg.apply(Event(E.更新禁止解除, "20240403", person=4), operator=CHIEF)
    # A decision based on a version that is no longer current is refused.
    stale = reg.store.get(person_id=9)
    reg.apply(move(9, "東京都墨田区3"), operator=CLERK)
    with pytest.raises(ConcurrentChange) as ei:
        reg.apply(move(stale, "東京都墨田区4"), operator=CLERK2)
    assert ei.value.row == 0
    with pytest.raises(ConcurrentChange):
        reg.apply(move(9, "東京都墨田区4", expect_seq=stale.seq), operator=CLERK2)


def test_clock_going_back_keeps_as_known_by_time_defined(reg, clock):
    reg.apply(move(1, "東京都墨田区1"), operator=CLERK)
    t1 = clock.now
    clock.now -= dt.timedelta(hours=1)  # a writer whose clock is behind
    [a] = reg.apply(move(2, "東京都墨田区2"), operator=CLERK)
    ch = reg.changes(a.seq - 1, 1)[0]
    assert ch.timestamp == t1  # recorded no earlier than the change before it
    assert reg.seq_at(t1) == a.seq
    assert reg.seq_at(t1 - dt.timedelta(microseconds=1)) == a.seq - 2


def test_batch_queries_agree_with_single_ones(reg):
    rng = np.random.default_rng(5)
    for k in range(30):
        pid = int(rng.integers(1, 11))
        reg.apply(move(pid, f"東京都墨田区{k}", f"2024{k % 12 + 1:02d}{k % 28 + 1:02d}"), operator=CLERK)
    pids = rng.integers(1, 12, 200).astype(np.uint64)  # 11 does not exist
    days = np.array([f"2024{m:02d}15" for m in rng.integers(1, 13, 200)], dtype="S8")
    res = reg.as_of_many(pids, days)
    for i in range(200):
        v = reg.as_of(int(pids[i]), days[i].decode()) if pids[i] != 11 else None
        assert (v is None) == (not res.found[i])
        if v is not None:
            assert res.record(i) == v.record and res.seqs[i] == v.seq
    at = reg.last_seq() - 17
    res = reg.as_of_many(pids, "20241231", known_at=at)
    assert all(res.record(i) == (reg.as_of(int(p), "20241231", known_at=at) or _none).record
               for i, p in enumerate(pids) if p != 11)
    seqs = rng.integers(1, reg.last_seq() + 1, 200).astype(np.uint64)
    res = reg.as_known_many(pids, seqs)
    for i in range(200):
        v = reg.as_known(int(pids[i]), seq=int(seqs[i])) if pids[i] != 11 else None
        assert (res.record(i) if res.found[i] else None) == (v.record if v else None)
    # By number instead of person id; U8 dates; one sequence for all.
    codes = np.array([int(getattr(reg.store.get(person_id=int(p)).record, F[30])) if p != 11 else 1 for p in pids],
                     dtype=np.uint64)
    by_code = reg.as_of_many(codes, days.astype("U8"), by="code")
    assert by_code.records() == reg.as_of_many(pids, days).records()
    assert len(reg.as_known_many(pids, 5).records()) == 200
    assert reg.as_of_many(pids, days).notifications()[0] is None or len(reg.as_of_many(pids, days).notifications()[0]) == 8
    with pytest.raises(QueryError):
        reg.as_of_many(pids, days[:5])


class _none:
    record = None


def test_corrections_need_a_second_operator_with_the_role(reg, clock):
    p = reg.store.get(person_id=2)
    with pytest.raises(NotPermitted):
        reg.apply(Event(E.記載の修正, "20000401", person=p, changes={21: "x"}), operator=CHIEF)
    with pytest.raises(FieldNotAllowed):
        reg.corrections.propose(p, {30: "00000000000"}, operator=CLERK)
    last = reg.last_seq()
    pr = reg.corrections.propose(p, {21: "佐藤　花子", 23: "19300230"}, operator=CLERK, note="戸籍と照合")
    assert pr.state is State.PENDING and pr.base_seq == p.seq and pr.date == "20000401"
    assert reg.last_seq() == last and reg.store.get(person_id=2).record == p.record  # nothing changed yet
    with pytest.raises(NotPermitted):
        reg.corrections.approve(pr.id, operator=CLERK)  # the proposer
    with pytest.raises(NotPermitted):
        reg.corrections.approve(pr.id, operator=CLERK2)  # no approver role
    a = reg.corrections.approve(pr.id, operator=CHIEF, note="確認済")
    assert a.event == E.記載の修正 and a.person_id == 2
    rec = reg.store.get(person_id=2).record
    assert getattr(rec, F[21]) == "佐藤　花子" and getattr(rec, F[23]) == "19300230"  # an impossible date, as recorded
    done = reg.corrections.get(pr.id)
    assert done.state is State.APPROVED and done.seq == a.seq
    assert [(s.action, s.operator) for s in done.steps] == [("propose", "clerk01"), ("approve", "chief01")]
    assert done.steps[1].at > done.steps[0].at and done.steps[0].note == "戸籍と照合"
    # Dated like the version it corrects, the correction replaces it for that period.
    assert reg.as_of(2, "20100101").seq == a.seq
    assert reg.as_of(2, "20100101", known_at=last).seq == p.seq
    with pytest.raises(ProposalDecided):
        reg.corrections.approve(pr.id, operator=Operator("chief02", "t"))
    with pytest.raises(ProposalDecided):
        reg.corrections.reject(pr.id, operator=CHIEF)
    # Rejected and withdrawn proposals change nothing, and stay on record.
    r1 = reg.corrections.propose(3, {53: "備考"}, operator=CLERK)
    r2 = reg.corrections.propose(3, {53: "備考2"}, operator=CLERK2)
    with pytest.raises(NotPermitted):
        reg.corrections.withdraw(r1.id, operator=CLERK2)
    assert reg.corrections.reject(r1.id, operator=CHIEF, note="根拠なし").state is State.REJECTED
    assert reg.corrections.withdraw(r2.id, operator=CLERK2).state is State.WITHDRAWN
    assert getattr(reg.store.get(person_id=3).record, F[53]) == ""
    # An approval of a proposal whose person changed since is refused; the proposal stays open.
    r3 = reg.corrections.propose(4, {21: "鈴木　一郎"}, operator=CLERK)
    reg.apply(move(4, "東京都墨田区9"), operator=CLERK2)
    with pytest.raises(ConcurrentChange):
        reg.corrections.approve(r3.id, operator=CHIEF)
    assert reg.corrections.get(r3.id).state is State.PENDING
    assert [x.id for x in reg.corrections.pending()] == [r3.id]
    assert [x.state for x in reg.corrections.all()] == [State.APPROVED, State.REJECTED, State.WITHDRAWN, State.PENDING]
    assert len(reg.corrections.all(limit=2)) == 2 and reg.corrections.all(after=2)[0].id == 3
    with pytest.raises(NoSuchProposal):
        reg.corrections.get(99)
    # A removed person's record (除票) can be corrected too.
    reg.apply(Event(E.死亡, "20240601", person=6), operator=CLERK)
    r4 = reg.corrections.propose(6, {54: "20240531"}, operator=CLERK)
    reg.corrections.approve(r4.id, operator=CHIEF)
    assert getattr(reg.store.get(person_id=6).record, F[54]) == "20240531" and reg.store.get(person_id=6).removed


def test_proposals_are_durable_and_visible_to_another_process(reg):
    pr = reg.corrections.propose(2, {21: "佐藤　花"}, operator=CLERK)
    reg.corrections.approve(pr.id, operator=CHIEF)
    code = f"""
from jukistore import Store
from jukistore.history import Register
from jukistore.store import Operator
r = Register(Store.open({str(reg.store.path)!r}, readonly=True, operator=Operator({READER.operator_id!r}, "t"),
                        purpose={PURPOSE!r}))
p = r.corrections.get({pr.id})
print(p.state.value, p.seq, [s.operator for s in p.steps])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[:2] == ["approved", str(reg.last_seq())] and "'chief01']" in out[-1]


def test_two_approvers_at_once_one_wins(reg):
    import threading

    pr = reg.corrections.propose(2, {53: "同時"}, operator=CLERK)
    ok, lost = [], []
    barrier = threading.Barrier(2)

    def approve(op):  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            ok.append(reg.corrections.approve(pr.id, operator=op))
        except (ProposalDecided, ConcurrentChange) as e:
            lost.append(e)

    ts = [threading.Thread(target=approve, args=(Operator(n, "t"),)) for n in ("chief01", "chief02")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(ok) == 1 and len(lost) == 1
    assert [v.event for v in reg.history(2)].count(E.記載の修正) == 1


# ---- the feed -----------------------------------------------------------------------------------

def test_changes_carry_the_8_item_notification(reg):
    [a] = reg.apply(move(1, "東京都墨田区錦糸1-1", "20240701"), operator=CLERK2)
    [c] = reg.changes(a.seq - 1, 10)
    assert isinstance(c, ChangeEntry) and (c.seq, c.person_id, c.event) == (a.seq, 1, E.転居)
    assert (c.operator, c.terminal) == ("clerk02", "term-08")
    note = c.notification
    pairs = dict(projection("seigo"))
    inv = {m: p for p, m in pairs.items()}
    assert note[inv[F[8]]] == "東京都墨田区錦糸1-1" and note[inv[F[11]]] == "11" and note[inv[F[14]]] == "20240701"
    mn = getattr(reg.store.get(person_id=1).record, F[81])
    assert mn not in repr(c) and mn not in repr(reg.history(1)[-1])
    all_ = list(reg.iter_changes(0, batch=3))
    assert [x.seq for x in all_] == list(range(1, reg.last_seq() + 1))


def test_feed_resumes_from_a_file_cursor(reg, tmp_path):
    cur = tmp_path / "cursor"
    feed = Feed(reg, cur, batch_size=4)
    got = []
    for batch in feed.batches():
        got.extend(c.seq for c in batch)
        if len(got) >= 8:
            break  # stop after handling two batches: the second is not committed
    assert got == list(range(1, 9)) and FileCursor(cur).load() == 4
    reg.apply(move(1, "東京都墨田区1"), operator=CLERK)
    again = Feed(reg.store, str(cur), batch_size=4)
    assert [c.seq for c in again] == list(range(5, 12)) and again.position == 11
    assert Feed(reg, cur).poll() == []
    with pytest.raises(FeedError):
        again.commit(3)
    with pytest.raises(FeedError):
        again.commit(99)
    cur.write_text("garbage")
    with pytest.raises(FeedError):
        Feed(reg, cur)
    mem = Feed(reg, 9)
    assert [c.seq for c in mem.poll()] == [10, 11]
    mem.commit(mem.poll()[-1])
    assert mem.position == 11


def test_a_cursor_the_store_cannot_continue_from_is_refused(reg, tmp_path):
    """A cursor past the store's last change (a store restored from an older copy, or a cursor
    of another store) would wait silently and then skip the changes that take its numbers; it is
    refused, as are a cursor file of bytes that are not a number and a negative position."""
    cur = tmp_path / "cursor"
    FileCursor(cur).save(reg.last_seq() + 5)
    feed = Feed(reg, cur)
    with pytest.raises(FeedError, match="past the last change"):
        feed.poll()
    with pytest.raises(FeedError, match="past the last change"):
        list(feed)
    cur.write_bytes(b"\xff\xfe1\n")
    with pytest.raises(FeedError):
        Feed(reg, cur)
    cur.write_text("\u00b2\n")  # a digit to str.isdigit, not to int
    with pytest.raises(FeedError):
        Feed(reg, cur)
    with pytest.raises(FeedError):
        Feed(reg, -1)


def test_a_page_size_below_one_is_refused_not_an_endless_or_empty_feed(reg):
    """A page of 0 changes made iter_changes fail with an IndexError and a Feed look caught up at
    once (and, following, wait for ever without handing out a change)."""
    with pytest.raises(QueryError):
        next(reg.iter_changes(0, 0))
    with pytest.raises(QueryError):
        Feed(reg, 0, batch_size=0)
    with pytest.raises(QueryError):
        reg.changes(-1, 5)
    assert [c.seq for c in Feed(reg, 8, batch_size=1)] == [9, 10]


@pytest.mark.parametrize("dates", [
    np.array([b"20240101", b"abcdefgh"]),
    np.array([b"20240101", b"20241399"]),
    np.array(["20240101", "2024-4-1"]),
    np.array(["20240101", "2024-04-01"]),  # cut to 8 characters it would read as 2024-04-
    np.array(["20240101", "\uff12\uff10\uff12\uff140101"]),
])
def test_as_of_many_refuses_dates_that_are_not_yyyymmdd(reg, dates):
    """One date per key is checked as apply_many checks it, not compared as bytes, which answered
    a malformed date with some version (or failed with a UnicodeEncodeError)."""
    with pytest.raises(InvalidRecord, match="row 1: field date"):
        reg.as_of_many([3, 4], dates)
    assert reg.as_of_many([3, 4], np.array(["20240101", "20240400"])).found.all()


@pytest.mark.parametrize("query", [
    lambda reg: reg.as_known_many([3], np.array([-1])),  # wrapped round to the end of time
    lambda reg: reg.as_known_many([3], np.array([2.7])),  # cut to 2
    lambda reg: reg.as_known_many([3], -1),
    lambda reg: reg.as_known(3, seq=-1),
    lambda reg: reg.as_known(3, seq=2.5),
    lambda reg: reg.as_of(3, "20240101", known_at=-1),
    lambda reg: reg.as_of_many([3], "20240101", known_at=-1),
    lambda reg: reg.apply_many(E.転居, [3], "20240401", {8: "東京都墨田区1"}, operator=CLERK, expect_seqs=[3.9]),
])
def test_a_sequence_number_that_is_negative_or_fractional_is_refused(reg, query):
    with pytest.raises(QueryError):
        query(reg)
    assert reg.as_known_many([3], np.array([3], dtype=np.int64)).seqs.tolist() == [3]


# ---- command line -------------------------------------------------------------------------------

def test_cli_history_and_changes(reg, capsys, monkeypatch):
    for var, value in (("OPERATOR", READER.operator_id), ("TERMINAL", READER.terminal_id), ("PURPOSE", PURPOSE)):
        monkeypatch.setenv(f"JUKISTORE_{var}", value)
    p = reg.store.get(person_id=2)
    old_code, mn = getattr(p.record, F[30]), getattr(p.record, F[81])
    reg.apply(move(2, "東京都墨田区業平1-1", "20240501"), operator=CLERK)
    reg.apply(Event(E.住民票コード変更, "20240601", person=2, changes={30: code_of(fresh(1, start=6000)[0])}),
              operator=CLERK)
    path = str(reg.store.path)
    assert cli(["history", path, "--code", old_code, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["person_id"] == 2 and out["found_by_superseded_number"] is True
    assert [v["event"] for v in out["versions"]] == ["一括登録", "転居", "住民票コード変更"]
    assert out["versions"][1]["operator"] == "clerk01" and out["versions"][1]["valid_from"] == "20240501"
    text = json.dumps(out, ensure_ascii=False)
    assert mn not in text and mn[-4:] in text
    assert cli(["history", path, "--code", old_code, "--as-of", "20240515", "--records"]) == 0
    txt = capsys.readouterr().out
    assert "東京都墨田区業平1-1" in txt and "1 version(s)" in txt and mn not in txt
    assert cli(["history", path, "--person-id", "2", "--as-of", "19000101"]) == 1
    capsys.readouterr()
    assert cli(["history", path, "--code", "00000000000"]) == 1
    assert cli(["history", path, "--code", old_code, "--as-of", "not a date"]) == 2
    capsys.readouterr()
    assert cli(["history", path, "--person-id", "2", "--show-mynumber", "--json"]) == 0
    assert mn in capsys.readouterr().out
    assert cli(["changes", path, "--since", "10", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["seq"] for r in rows] == [11, 12] and rows[0]["event"] == "転居"
    assert mn not in json.dumps(rows, ensure_ascii=False) and len(rows[0]["notification"]) == 8
    assert cli(["changes", path, "--since", "0", "--limit", "3"]) == 0
    c = capsys.readouterr()
    assert len(c.out.splitlines()) == 3 and "--since 3" in c.err and mn not in c.out
    assert cli(["changes", path, "--since", "0", "--limit", "1", "--show-mynumber", "--json"]) == 0
    assert getattr(make_records(1, seed=21)[0], F[81]) in capsys.readouterr().out
    assert cli(["changes", path, "--limit", "0"]) == 2


def test_numbers_in_tests_are_synthetic():
    r = fresh(1, start=7000)[0]
    assert juminhyo.is_valid(getattr(r, F[30])) and mynumber.is_valid(getattr(r, F[81]))


# ---- the column path ----------------------------------------------------------------------------

def _twin(tmp_path, name):  # type: ignore[no-untyped-def]
    s = new_store(tmp_path / name, roles=ROLES, clock=Clock())
    s.load(make_records(10, seed=21), operator=CLERK)
    return Register(s)


def test_apply_many_writes_what_apply_writes(tmp_path):
    a, b = _twin(tmp_path, "a"), _twin(tmp_path, "b")
    spare = fresh(3, start=8000)
    steps = [
        (E.転居, [1, 2, 3], "20240401", {8: ["東京都墨田区押上1", "東京都墨田区押上2", "東京都墨田区向島3"], 10: "101号"}, "20240403"),
        (E.世帯変更, [4, 5], "20240402", {1: "0000000777", 24: ["01", "04"]}, None),
        (E.職権修正, [6], "令和6年4月3日", {20: "サトウ ハナコ", 21: "佐藤　花子", 22: "1"}, "20240404"),
        (E.住民票コード変更, [7, 8], "20240404", {30: [code_of(r) for r in spare[:2]]}, None),
        (E.個人番号変更, [9], "20240405", {81: getattr(spare[2], F[81])}, None),
        (E.更新禁止, [2, 3], "20240406", None, None),
        (E.更新禁止解除, [2], "20240407", None, None),
        (E.転出, [1, 4], "20240408", {38: "大阪府大阪市"}, "20240401"),
        (E.死亡, [5], "20240409", None, "20240410"),
        (E.改製, [6, 7], "20240410", None, None),
        (E.在留資格等変更, [8], "20240411", {67: "07", 68: "留学"}, None),
    ]
    for code, pids, date, changes, notified in steps:
        op = CHIEF if code in (E.更新禁止, E.更新禁止解除) else CLERK
        evs = [Event(code, date, person=p, notified=notified,
                     changes={k: (v if isinstance(v, str) else v[i]) for k, v in (changes or {}).items()})
               for i, p in enumerate(pids)]
        got_a = [x.seq for x in a.apply(evs, operator=op)]
        got_b = b.apply_many(code, np.array(pids, dtype=np.uint64), date, changes, notified=notified, operator=op).tolist()
        assert got_a == got_b, code
    for pid in range(1, 11):
        ha, hb = a.history(pid), b.history(pid)
        assert ha == hb, pid
    assert [(c.seq, c.person_id, c.event) for c in a.changes()] == [(c.seq, c.person_id, c.event) for c in b.changes()]
    for s in (a.store, b.store):
        assert s.verify().ok
    name = "サトウ ハナコ"
    assert [p.person_id for p in a.store.search(name_kana=name, birth_date=getattr(a.store.get(person_id=6).record, F[23]))] == \
        [p.person_id for p in b.store.search(name_kana=name, birth_date=getattr(b.store.get(person_id=6).record, F[23]))] == [6]
    old = b.store.get(code=getattr(make_records(10, seed=21)[6], F[30]))
    assert old.person_id == 7 and old.superseded


def test_apply_many_refuses_as_apply_does(reg):
    reg.apply(Event(E.死亡, "20240401", person=3), operator=CLERK)
    with pytest.raises(PersonRemoved) as ei:
        reg.apply_many(E.転居, [1, 2, 3, 4], "20240402", {8: "東京都墨田区1"}, operator=CLERK)
    assert ei.value.row == 2
    with pytest.raises(NoSuchPerson) as ei:
        reg.apply_many(E.転居, [1, 99], "20240402", {8: "東京都墨田区1"}, operator=CLERK)
    assert ei.value.row == 1
    with pytest.raises(FieldNotAllowed):
        reg.apply_many(E.転居, [1], "20240402", {21: "x"}, operator=CLERK)
    with pytest.raises(RuleViolation) as ei:  # person 2 already lives there
        reg.apply_many(E.転居, [1, 2], "20240402", {8: ["東京都墨田区1", getattr(reg.store.get(person_id=2).record, F[8])]},
                       operator=CLERK)
    assert ei.value.row == 1
    with pytest.raises(ConcurrentChange):
        reg.apply_many(E.転居, [1], "20240402", {8: "東京都墨田区1"}, operator=CLERK, expect_seqs=[99])
    with pytest.raises(DuplicateNumber) as ei:
        used = getattr(make_records(10, seed=21)[0], F[30])
        reg.apply_many(E.住民票コード変更, [4, 5], "20240402", {30: [code_of(fresh(1, start=9000)[0]), used]}, operator=CLERK)
    assert ei.value.row == 1 and used not in str(ei.value)
    with pytest.raises(InvalidRecord):
        reg.apply_many(E.転居, [1], np.array(["20241301"], dtype="S8"), {8: "x"}, operator=CLERK)
    with pytest.raises(QueryError):
        reg.apply_many(E.転居, [1, 1], "20240402", {8: "x"}, operator=CLERK)
    with pytest.raises(QueryError):
        reg.apply_many(E.転入, [1], "20240402", operator=CLERK)
    with pytest.raises(NotPermitted):
        reg.apply_many(E.記載の修正, [1], "20240402", {21: "x"}, operator=CHIEF)
    with pytest.raises(NotPermitted):
        reg.apply_many(E.更新禁止, [1], "20240402", operator=CLERK)
    reg.apply_many(E.更新禁止, [6], "20240402", operator=CHIEF)
    with pytest.raises(UpdateProhibited):
        reg.apply_many(E.転居, [6], "20240402", {8: "x"}, operator=CLERK)
    assert reg.last_seq() == 12 and reg.store.verify().ok


def test_apply_many_refuses_by_state_before_a_value_outside_its_layout_as_apply_does(reg):
    """apply refuses by state (no such person, changed meanwhile, removed, 更新禁止, nothing
    changed) while it plans the rows, and a value outside its item's layout only once every row is
    planned; apply_many checked the caller's columns first and reported the value of a later row
    instead of the refusal apply gives for an earlier one."""
    reg.apply(Event(E.死亡, "20240401", person=3), operator=CLERK)
    reg.apply_many(E.更新禁止, [6], "20240402", operator=CHIEF)
    addr2 = getattr(reg.store.get(person_id=2).record, F[8])
    cases = [  # (persons, addresses, expect_seqs, the refusal and its row)
        ([3, 1], ["東京都墨田区1", "東京都墨田区2 "], None, (PersonRemoved, 0)),
        ([99, 1], ["東京都墨田区1", "東京都墨田区2 "], None, (NoSuchPerson, 0)),
        ([6, 1], ["東京都墨田区1", "東京都墨田区2\n"], None, (UpdateProhibited, 0)),
        ([1, 4], ["東京都墨田区1", "東" * 81], [99, 0], (ConcurrentChange, 0)),
        ([2, 1], [addr2, "東京都墨田区2 "], None, (RuleViolation, 0)),
        ([1, 2], ["東京都墨田区1 ", "東" * 81], None, (InvalidRecord, 0)),
    ]
    before = reg.last_seq()
    for pids, addrs, exp, (cls, row) in cases:
        events = [move(p, a, "20240403", expect_seq=None if exp is None else exp[k]) for k, (p, a) in enumerate(zip(pids, addrs))]
        with pytest.raises(cls) as one:
            reg.apply(events, operator=CLERK)
        with pytest.raises(cls) as many:
            reg.apply_many(E.転居, pids, "20240403", {8: addrs}, operator=CLERK,
                           expect_seqs=None if exp is None else [exp[0], reg.store.get(person_id=pids[1]).seq])
        assert (one.value.row, many.value.row) == (row, row), (pids, addrs)
    # Of two columns with a bad value, the first row's, then the first item's, as apply reports.
    with pytest.raises(InvalidRecord) as many:
        reg.apply_many(E.職権修正, [1, 2], "20240403", {53: ["ok", "bad "], 21: ["山田　", "山田 "]}, operator=CLERK)
    with pytest.raises(InvalidRecord) as one:
        reg.apply([Event(E.職権修正, "20240403", person=1, changes={53: "ok", 21: "山田　"}),
                   Event(E.職権修正, "20240403", person=2, changes={53: "bad ", 21: "山田 "})], operator=CLERK)
    assert (many.value.row, many.value.field) == (one.value.row, one.value.field) == (1, F[21])
    assert reg.last_seq() == before


def test_an_event_code_that_is_not_one_is_quoted_masked(reg):
    """A 個人番号 passed where the event code goes (arguments in the wrong order) was quoted in
    full by the refusal of apply and apply_many."""
    mn = "123456789018"
    for code in (mn, int(mn)):
        with pytest.raises(QueryError) as ei:
            reg.apply_many(code, [1], "20240402", operator=CLERK)  # type: ignore[arg-type]
        assert mn not in str(ei.value) and "9018" in str(ei.value)
        with pytest.raises(QueryError) as ei:
            reg.apply(Event(code, "20240402", person=1), operator=CLERK)  # type: ignore[arg-type]
        assert mn not in str(ei.value) and "9018" in str(ei.value)
    with pytest.raises(QueryError, match="not <EventCode.転入: 1>"):
        reg.apply_many(E.転入, [1], "20240402", operator=CLERK)


def test_apply_patches_checks_each_state_on_the_entry_it_replaces(reg):
    """The core checks presence, version, removal and 更新禁止 in the transaction that writes
    (apply_many reads nothing before it), refuses the batch whole, and sets the flags asked."""
    reg.apply(Event(E.死亡, "20240401", person=3), operator=CLERK)
    last = reg.last_seq()
    date, unknown = np.frombuffer(b"20240402", dtype=np.uint8), np.frombuffer(b"00000000", dtype=np.uint8)

    def patch(pids, expect=None, **kw):
        return reg._native.apply_patches(np.array(pids, dtype=np.uint64), expect, np.tile(date, len(pids)),
                                         np.tile(unknown, len(pids)), int(E.転居), [], [], [], "op", "t-1", 1, **kw)

    with pytest.raises(PersonRemoved) as ei:
        patch([1, 3], refuse_removed=True)
    assert ei.value.row == 1
    with pytest.raises(NoSuchPerson):
        patch([1, 99])
    with pytest.raises(ConcurrentChange):
        patch([1], np.array([99], dtype=np.uint64))
    with pytest.raises(RuleViolation):
        patch([1], unlock=True)
    assert reg.last_seq() == last
    patch([1], set_flags=2)
    with pytest.raises(UpdateProhibited):
        patch([1, 2])
    assert reg.last_seq() == last + 1
    patch([1], clear_flags=2, unlock=True)
    assert [v.prohibited for v in reg.history(1)][-2:] == [True, False]
    assert reg.store.verify().ok


@pytest.mark.parametrize("note", [None, 5, b"x"], ids=["None", "int", "bytes"])
def test_a_note_that_is_not_text_is_refused_and_leaves_the_proposals_readable(reg, note):
    """A note of another type used to be stored (propose wrote, then failed reading it back), and
    every later listing of the proposals failed."""
    from jukistore.errors import InvalidRecord

    C = reg.corrections
    with pytest.raises(InvalidRecord, match="field note: expected text"):
        C.propose(3, {21: "山田　次郎"}, operator=CLERK, note=note)
    p = C.propose(4, {21: "山田　三郎"}, operator=CLERK)
    with pytest.raises(InvalidRecord, match="field note: expected text"):
        C.approve(p.id, operator=CHIEF, note=note)
    assert [x.id for x in C.all()] == [x.id for x in C.pending()] == [p.id]


def test_a_proposal_without_a_date_reads_its_base_as_the_store_not_as_the_handle(tmp_path, clock):
    """The default date of a proposal comes from the version it corrects, read by the store for the
    write (not a read of personal data by the handle's operator): on an unbound handle it works,
    and no access entry names a reader who did not read."""
    s = new_store(tmp_path / "s", roles=ROLES, clock=clock)
    s.load(make_records(3, seed=21), operator=CLERK)
    unbound = Store.open(s.path, clock=clock)
    p = Register(unbound).corrections.propose(2, {21: "山田　四郎"}, operator=CLERK)
    assert p.date == Register(s).as_known(2, seq=2).valid_from
    acts = [e.body.get("act") for e in s.audit.access.entries()]
    assert "as_known" not in acts[:-1]  # (the last is the check above)


@pytest.mark.parametrize("dates", [["20240101", "202401311"], ["20240101", "２０２４０１０１"], ["20240101", "2024011"]],
                         ids=["nine digits", "full-width", "seven digits"])
def test_apply_many_refuses_dates_that_are_not_8_ascii_digits(reg, dates):
    """A date array was cast to 8 bytes: '202401311' was stored as 20240131, full-width digits
    raised an encoding error. Both are refused, naming the row, and nothing is written."""
    from jukistore.errors import InvalidRecord

    before = reg.last_seq()
    with pytest.raises(InvalidRecord, match="row 1: field date: a date is 8 ASCII digits") as e:
        reg.apply_many(E.転居, [1, 2], np.array(dates), {8: ["東京都墨田区押上1-1", "東京都墨田区押上1-2"]}, operator=CLERK)
    assert (e.value.field, e.value.row) == ("date", 1)
    assert reg.last_seq() == before
    assert reg.apply_many(E.転居, [1, 2], np.array(["20240101", "20240102"]), {8: ["東京都墨田区押上1-1", "東京都墨田区押上1-2"]},
                          operator=CLERK).tolist() == [before + 1, before + 2]


def test_item_keys_of_changes_are_numbers_or_names_once_each(reg):
    """True was taken for item 1, and the same item given by number and by name kept the second
    value silently; both are refused, naming the row. apply_many names the row of a bad value."""
    from jukistore.errors import InvalidRecord

    before = reg.last_seq()
    with pytest.raises(InvalidRecord, match="no item 'True'"):
        reg.apply(Event(E.世帯変更, "20240101", person=1, changes={True: "0000000099"}), operator=CLERK)
    with pytest.raises(InvalidRecord, match="no item 'True'"):
        reg.apply_many(E.世帯変更, [1], "20240101", {True: "0000000099"}, operator=CLERK)
    with pytest.raises(InvalidRecord, match="item 8 given twice"):
        reg.apply(Event(E.転居, "20240101", person=1, changes={8: "東京都墨田区押上1-1", F[8]: "東京都墨田区押上1-2"}),
                  operator=CLERK)
    with pytest.raises(InvalidRecord, match="item 21 given twice"):
        reg.corrections.propose(1, {21: "山田　一郎", F[21]: "山田　二郎"}, operator=CLERK)
    with pytest.raises(InvalidRecord, match="row 2: field address: expected text, got int") as e:
        reg.apply_many(E.転居, [1, 2, 3], "20240101", {8: ["東京都墨田区押上1-1", "東京都墨田区押上1-2", 3]}, operator=CLERK)
    assert e.value.row == 2
    assert reg.last_seq() == before
