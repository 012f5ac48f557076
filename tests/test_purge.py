"""Purge: what is due is erased down to its bytes, what is not due is untouched, holds are kept.

Persons get distinctive synthetic names (no other record can hold their bytes), so a byte search of
the store's files is exact: a purged person's name or number found anywhere is a failure, a kept
person's found is the evidence that the search would see them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from jukistore import Store
from jukistore.errors import NotPermitted, StoreBusy
from jukistore.history import Register
from jukistore.history.events import EventCode as E
from jukistore.history.register import Event
from jukistore.retention import holds, plan, purge
from jukistore.retention.receipt import receipts
from jukistore.store import Operator
from store_support import fields, make_records, new_store, open_store, with_field

OP = Operator("op-run", "term-1")
APPROVER = Operator("op-approve", "term-2")
ROLES = {"op-run": ["clerk"], "op-approve": ["approver"]}
AS_OF = dt.date(2026, 11, 27)
#: A clock for purges as of 2176 (a run refuses a date after its clock's today).
IN_2176 = lambda: dt.datetime(2176, 1, 2, tzinfo=dt.timezone.utc)  # noqa: E731

KANA = "ァィゥェォッャュョヮヰヱ"
KANJI = "龘靐齉爩鱻麤龗灪籱驫"


def distinctive(k: int) -> tuple[str, str]:
    """A kana and a kanji name no other test person shares (k < 10000)."""
    a, b, c, d = k // 1000, (k // 100) % 10, (k // 10) % 10, k % 10
    kana = f"ヴヴ{KANA[a]}{KANA[b]}{KANA[c]}{KANA[d]} ヺヺ{KANA[d]}{KANA[c]}"
    kanji = f"鬱{KANJI[a]}{KANJI[b]}{KANJI[c]}{KANJI[d]}　{KANJI[d]}{KANJI[c]}鬯"
    return kana, kanji


def build(tmp: Path, groups: dict[str, tuple[int, str | None]], seed: int = 5):
    """A store with groups of persons: name → (count, removal date or None for residents)."""
    recs, who = [], []
    k = 0
    for group, (n, removed) in groups.items():
        for r in make_records(n, seed=seed, start=k):
            kana, kanji = distinctive(k)
            r = with_field(with_field(r, 20, kana), 21, kanji)
            if removed:
                r = with_field(with_field(with_field(r, 13, "1"), 14, removed), 54, removed)
            recs.append(r)
            who.append(group)
            k += 1
    store = new_store(tmp / "s", roles=ROLES)
    rep = store.load(recs, operator=OP)
    ids = {g: [rep.first_person_id + i for i, w in enumerate(who) if w == g] for g in groups}
    path = store.path
    del store  # a purge needs the store to itself: no handle may stay open
    return path, recs, ids, who


def samples(rec) -> list[bytes]:
    """The bytes that must be gone once the person is purged (as stored and as text)."""
    from jukistore.store import _key_fields, name_key

    f = _key_fields()
    code, mn = getattr(rec, f["code"]), getattr(rec, f["mynumber"])
    return [getattr(rec, f["kanji"]).encode(), getattr(rec, f["kana"]).encode(),
            name_key(getattr(rec, f["kana"])).encode(), code.encode(), mn.encode(),
            int(code).to_bytes(8, "little"), int(mn).to_bytes(8, "little")]


def found(store_dir: Path, needle: bytes) -> list[str]:
    return [p.name for p in store_dir.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.fixture
def ward(tmp_path):
    return build(tmp_path, {
        "due": (12, "20100315"),        # 5 years ran out in 2015: erased
        "edge_due": (2, "20140619"),    # the last day the 5-year rule governs
        "edge_kept": (2, "20140620"),   # still kept on 2019-06-20: 150 years
        "kept_removed": (4, "20200101"),
        "resident": (10, None),
    })


def test_plan_counts_per_rule_and_holds_without_personal_data(ward):
    path, recs, ids, who = ward
    store = open_store(path)
    holds.place(store, ids["due"][0], case="case-2026-17", operator=OP)
    p = plan.make_plan(store, AS_OF)
    s = p.summary()
    by_rule = {r["rule"]: r for r in s["rules"]}
    assert by_rule["removed-5y"] == {"rule": "removed-5y", "applies_to": "removed_person", "due": 14, "held": 1}
    assert by_rule["removed-150y"]["due"] == 0
    assert sorted(p.person_ids.tolist()) == sorted(ids["due"][1:] + ids["edge_due"])
    text = json.dumps(s, ensure_ascii=False).encode()
    for rec in recs:
        for b in samples(rec):
            assert b not in text


def test_purge_erases_every_byte_of_the_due_and_nothing_else(ward):
    path, recs, ids, who = ward
    store = open_store(path)
    held = ids["due"][0]
    holds.place(store, held, case="case-2026-17", operator=OP)
    gone = set(ids["due"][1:] + ids["edge_due"])
    before = {pid: store.get(person_id=pid) for g in ids.values() for pid in g}
    for pid in gone:  # the bytes are there before: the search can see them
        assert all(found(path, b) for b in samples(before[pid].record))
    del store
    receipt = purge.run(path, AS_OF, operator=OP, approver=APPROVER, batch_size=5)
    store = open_store(path)
    assert store.verify().ok
    for pid, person in before.items():
        if pid in gone:
            assert store.get(person_id=pid) is None
            for b in samples(person.record):
                assert found(path, b) == [], (pid, b)
        else:
            after = store.get(person_id=pid)
            assert after == person  # untouched, byte for byte the same record and version
            assert found(path, samples(person.record)[0]) == ["data.mdb"]
    assert receipt.persons_purged == len(gone)
    assert receipt.scan["number_hits"] == 0 and receipt.scan["name_hits"] == 0
    assert receipt.scan["persons_sampled"] == len(gone) and receipt.scan["verify_clean"]
    assert receipt.file_bytes_after < receipt.file_bytes_before
    # The change log keeps every 更新順番号; the purged persons' entries carry no version.
    feed = Register(store).changes(0, 10_000)
    assert [c.seq for c in feed] == list(range(1, len(before) + 1))
    assert {c.person_id for c in feed if c.version is None} == gone
    assert not (path / purge.JOURNAL).exists() and not (path / purge.WORK_DIR).exists()


def test_an_erase_without_the_rebuild_leaves_the_bytes_in_the_file(ward):
    """Why the rebuild exists: LMDB keeps a deleted record's bytes in its freed pages."""
    path, recs, ids, who = ward
    store = open_store(path)
    victim = store.get(person_id=ids["due"][3])
    store._native.erase_persons(np.array([victim.person_id], dtype=np.uint64), [])
    assert store.get(person_id=victim.person_id) is None
    assert any(found(store.path, b) for b in samples(victim.record))


def test_purge_is_idempotent(ward):
    path, recs, ids, who = ward
    store = open_store(path)
    del store
    first = purge.run(path, AS_OF, operator=OP, approver=APPROVER)
    size = (path / "data.mdb").stat().st_size
    second = purge.run(path, AS_OF, operator=OP, approver=APPROVER)
    assert first.persons_purged == 14 and second.persons_purged == 0
    assert (path / "data.mdb").stat().st_size == size
    assert second.scan["verify_clean"] and second.scan["persons_after"] == first.scan["persons_after"]
    assert len(receipts(path)) == 2


def test_a_person_under_legal_hold_survives_and_is_purged_once_lifted(ward):
    path, recs, ids, who = ward
    store = open_store(path)
    pid = ids["due"][0]
    holds.place(store, pid, case="case-9", operator=OP)
    assert [h.person_id for h in holds.holds(store)] == [pid]
    del store
    r = purge.run(path, AS_OF, operator=OP, approver=APPROVER)
    assert next(x for x in r.rules if x["id"] == "removed-5y")["held"] == 1
    store = open_store(path)
    kept = store.get(person_id=pid)
    assert kept is not None and all(found(path, b) for b in samples(kept.record))
    assert holds.lift(store, pid, operator=OP)
    del store
    purge.run(path, AS_OF, operator=OP, approver=APPROVER)
    store = open_store(path)
    assert store.get(person_id=pid) is None
    assert not any(found(path, b) for b in samples(kept.record))


def test_the_2019_boundary_in_a_store(ward):
    path, recs, ids, who = ward
    store = open_store(path)
    del store
    purge.run(path, dt.date(2019, 6, 20), operator=OP, approver=APPROVER)
    store = open_store(path)
    assert all(store.get(person_id=p) is None for p in ids["edge_due"] + ids["due"])
    assert all(store.get(person_id=p) is not None for p in ids["edge_kept"] + ids["kept_removed"])


def test_150_years_on_every_removed_record_and_superseded_version_goes(ward):
    path, recs, ids, who = ward
    store = open_store(path)
    reg = Register(store)
    mover = ids["resident"][0]
    passing = "東京都墨田区鬱鬯龘靐九丁目1番1号"  # an address only the superseded version holds
    final = "東京都墨田区両国九丁目2番2号"
    reg.apply(Event(E.転居, "20250101", person=mover, changes={8: passing}), operator=OP)
    reg.apply(Event(E.転居, "20260101", person=mover, changes={8: final}), operator=OP)
    assert len(reg.history(mover)) == 3 and found(path, passing.encode()) == ["data.mdb"]
    # Superseded on 2025-01-01 and 2026-01-01: kept through 2175-01-01 and 2176-01-01.
    assert plan.make_plan(store, dt.date(2176, 1, 1)).summary()["versions"] == 1
    p = plan.make_plan(store, dt.date(2176, 1, 2))
    assert p.summary()["versions"] == 2
    del reg, store, p
    r = purge.run(path, dt.date(2176, 1, 2), operator=OP, approver=APPROVER, clock=IN_2176)
    assert r.persons_purged == 20 and r.versions_purged == 2
    store = open_store(path)
    reg = Register(store)
    hist = reg.history(mover)
    assert len(hist) == 1 and hist[0].record.address == final
    assert found(path, passing.encode()) == []
    assert [c.version is None for c in reg.changes(0, 10_000) if c.person_id == mover] == [True, True, False]
    assert store.verify().ok


def test_purge_needs_a_different_operator_with_the_approver_role(ward):
    path, recs, ids, who = ward
    store = open_store(path)
    del store
    with pytest.raises(NotPermitted, match="own purge"):
        purge.run(path, AS_OF, operator=OP, approver=OP)
    with pytest.raises(NotPermitted, match="approver"):
        purge.run(path, AS_OF, operator=OP, approver=Operator("op-x", "t"))
    store = open_store(path)
    assert all(store.get(person_id=p) is not None for p in ids["due"])
    assert not (path / purge.JOURNAL).exists()


def test_purge_refuses_a_store_open_elsewhere(ward):
    path, recs, ids, who = ward
    store = open_store(path)
    with pytest.raises(StoreBusy):
        purge.run(store.path, AS_OF, operator=OP, approver=APPROVER)
    assert store.get(person_id=ids["due"][0]) is not None


def test_receipt_names_the_operators_and_holds_no_personal_data(ward):
    path, recs, ids, who = ward
    store = open_store(path)
    gone = sorted(ids["due"] + ids["edge_due"])
    del store
    r = purge.run(path, AS_OF, operator=OP, approver=APPROVER)
    [stored] = receipts(path)
    assert stored == r
    assert r.operator == {"operator_id": "op-run", "terminal_id": "term-1"}
    assert r.approver == {"operator_id": "op-approve", "terminal_id": "term-2"}
    assert r.as_of == "2026-11-27"
    assert r.purged_ids_digest == purge.digest_ids(gone, [], [])
    assert r.purged_ids_digest != purge.digest_ids(gone[1:], [], [])
    rule = next(x for x in r.rules if x["id"] == "removed-5y")
    assert rule["due"] == 14 and "施行令" in rule["basis"]
    raw = r.to_json()
    for rec in recs:
        for b in samples(rec):
            assert b not in raw


class FakeLog:
    """Entries by date, as an access log or provision record keeper would retire them."""

    def __init__(self, dates: list[dt.date]):
        self.dates = dates
        self.calls: list[dt.date] = []

    def count_before(self, before: dt.date) -> int:
        return sum(d < before for d in self.dates)

    def retire(self, before: dt.date) -> int:
        self.calls.append(before)
        n = self.count_before(before)
        self.dates = [d for d in self.dates if d >= before]
        return n


def test_logs_and_provision_records_are_retired_by_their_own_rules(ward):
    path, recs, ids, who = ward
    store = open_store(path)
    access = FakeLog([dt.date(2019, 11, 26), dt.date(2019, 11, 27), dt.date(2024, 1, 1)])
    provision = FakeLog([dt.date(2021, 11, 26), dt.date(2021, 11, 27)])
    p = plan.make_plan(store, AS_OF, retirables={"access_log": access, "provision_record": provision})
    assert p.summary()["retire"] == {"access_log": {"before": "2019-11-27", "due": 1},
                                     "provision_record": {"before": "2021-11-27", "due": 1},
                                     "mailing": {"before": "2025-11-28", "due": 0}}
    del store
    r = purge.run(path, AS_OF, operator=OP, approver=APPROVER,
                  retirables={"access_log": access, "provision_record": provision})
    assert access.calls == [dt.date(2019, 11, 27)] and provision.calls == [dt.date(2021, 11, 27)]
    assert access.dates == [dt.date(2019, 11, 27), dt.date(2024, 1, 1)]
    assert r.retired == {"access_log": {"before": "2019-11-27", "count": 1},
                         "provision_record": {"before": "2021-11-27", "count": 1},
                         "mailing": {"before": "2025-11-28", "count": 0}}


def test_an_unfinished_purge_of_another_date_is_finished_first(ward):
    path, recs, ids, who = ward
    store = open_store(path)
    del store
    (path / purge.JOURNAL).write_bytes(b'{"run_id":"x","as_of":"2026-01-01","phase":"erase","operator":["a","b"],'
                                       b'"approver":["c","d"],"started_at":"","summary":{},"rules":[],'
                                       b'"person_ids":[],"version_pids":[],"version_seqs":[],"retire":{}}')
    with pytest.raises(purge.PurgeError, match="as of 2026-01-01"):
        purge.run(path, AS_OF, operator=OP, approver=APPROVER)


def test_cli_plan_and_run(ward, tmp_path, capsys):
    from jukistore.cli import main

    path, recs, ids, who = ward
    assert main(["purge", "hold", str(path), "--person-id", str(ids["due"][0]), "--case", "case-1",
                 "--operator", "op-run", "--terminal", "t1"]) == 0
    assert main(["purge", "plan", str(path), "--as-of", "2026-11-27", "--json"]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[out.index("{"):])
    assert summary["persons"] == 13
    assert main(["purge", "plan", str(path), "--as-of", "2026-11-27"]) == 0
    text = capsys.readouterr().out
    assert "removed-5y" in text and "13" in text
    # Self-approval is refused with exit 2 and changes nothing.
    assert main(["purge", "run", str(path), "--as-of", "2026-11-27", "--operator", "op-run", "--terminal", "t1",
                 "--approver", "op-run", "--approver-terminal", "t2"]) == 2
    assert main(["purge", "run", str(path), "--as-of", "2026-11-27", "--operator", "op-run", "--terminal", "t1",
                 "--approver", "op-approve", "--approver-terminal", "t2", "--json"]) == 0
    out = capsys.readouterr().out
    receipt = json.loads(out[out.index("{"):])
    assert receipt["persons_purged"] == 13 and receipt["approver"]["operator_id"] == "op-approve"
    everything = (out + text).encode()
    for rec in recs:
        for b in samples(rec):
            assert b not in everything
    assert main(["purge", "run", str(path), "--as-of", "2026-13-01", "--operator", "a", "--terminal", "t",
                 "--approver", "b", "--approver-terminal", "t"]) == 2


def _interrupt_purge(path: Path, as_of: dt.date) -> plan.Plan:
    """A purge interrupted before it erased anything: its journal lists what a plan as of
    ``as_of`` makes due, as a run started on that day would have written it."""
    from jukistore import _core
    from jukistore.retention.purge import _new_journal, _save

    native = _core.NativeStore.open(str(path), False, None, True)
    p = plan.make_plan(Store(native), as_of)
    day = dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.timezone.utc)
    _save(path, _new_journal(path, p, OP, APPROVER, lambda: day))
    return p


def test_a_hold_placed_while_a_purge_waits_to_be_resumed_is_respected(ward):
    path, recs, ids, who = ward
    # An interrupted purge: its journal lists the due persons, nothing erased yet.
    _interrupt_purge(path, AS_OF)
    store = open_store(path)
    late = ids["due"][5]
    holds.place(store, late, case="case-late", operator=OP)
    del store
    r = purge.run(path, AS_OF, operator=OP, approver=APPROVER)
    assert r.persons_purged == 13
    store = open_store(path)
    assert store.get(person_id=late) is not None
    assert store.get(person_id=ids["due"][4]) is None


def test_a_purged_code_with_the_value_of_a_kept_my_number_is_no_false_alarm(tmp_path):
    """A 住民票コード of one person may have the value of another's 個人番号 (with a leading zero):
    its 8-byte form rightly stays with the kept person, and the purge must not call that a leftover."""
    from jukistore.ids import juminhyo, mynumber

    codes = juminhyo.to_text(juminhyo.generate(200, seed=77)).astype("U11").tolist()
    shared = next(c for c in codes if mynumber.is_valid("0" + c))
    recs = make_records(2, seed=78)
    gone = with_field(with_field(with_field(with_field(recs[0], 30, shared), 13, "1"), 14, "20100101"), 54, "20100101")
    kept = with_field(recs[1], 81, "0" + shared)
    store = new_store(tmp_path / "s", roles=ROLES)
    store.load([gone, kept], operator=OP)
    path = store.path
    del store
    r = purge.run(path, AS_OF, operator=OP, approver=APPROVER)
    assert r.persons_purged == 1 and r.scan["number_hits"] == 0
    store = open_store(path)
    assert store.get(mynumber="0" + shared).record == kept
    assert store.get(code=shared) is None
    data = (path / "data.mdb").read_bytes()
    assert b"\xab" + shared.encode() not in data and b"\xac0" + shared.encode() in data


def test_purge_retires_old_log_segments_and_records_itself(tmp_path):
    """Access logs go after 7 years and provision records after 5, whole segments at a time, by the
    same purge; the purge itself is one access entry naming both operators; the chains still verify."""
    from jukistore.access.log import Audit, search

    path, recs, ids, who = build(tmp_path, {"due": (3, "20100315"), "resident": (2, None)})
    a = Audit.of(path)
    for year in (2015, 2018, 2021, 2024):
        when = dt.datetime(year, 6, 1, tzinfo=dt.timezone.utc)
        a.access.append({"op": "x", "act": "get", "outcome": "ok", "n": 0, "persons": []}, at=when)
        a.provision.append({"op": "x", "recipient": "gakumu", "n": 0, "persons": []}, at=when)
    a.flush()
    p = plan.make_plan(open_store(path), AS_OF, retirables=a.retirables())
    # access: kept 7 years → before 2019-11-27 (2015, 2018); provision: 5 years → before 2021-11-27.
    assert p.summary()["retire"]["access_log"]["due"] == 2
    assert p.summary()["retire"]["provision_record"]["due"] == 3
    r = purge.run(path, AS_OF, operator=OP, approver=APPROVER)
    assert r.retired["access_log"]["count"] == 2 and r.retired["provision_record"]["count"] == 3
    assert all(rep.ok for rep in a.verify().values())
    mine = [e.body for e in search(a, operator="op-run") if e.body.get("act") == "purge"]
    assert len(mine) == 1 and mine[0]["approved_by"] == "op-approve" and mine[0]["n"] == 3
    # A refused approval is logged too.
    with pytest.raises(NotPermitted):
        purge.run(path, AS_OF, operator=OP, approver=Operator("op-x", "t9"))
    refused = [e.body for e in a.access.entries() if e.body.get("outcome") == "refused"]
    assert refused and refused[-1]["op"] == "op-x" and refused[-1]["right"] == "purge_approve"


def test_a_name_inside_a_kept_persons_longer_name_is_no_leftover(tmp_path):
    """Real registers are full of names inside longer names (林 in 小林, ハル in ハルト): the proof
    searches names as the store frames them, so the kept longer names do not fail it, while the
    purged person's own name is gone in every form."""
    recs = make_records(3, seed=91)
    gone = with_field(with_field(recs[0], 21, "林　ハル"), 20, "ハヤシ　ハル")
    gone = with_field(with_field(with_field(gone, 13, "1"), 14, "20100101"), 54, "20100101")
    kept = [with_field(with_field(recs[1], 21, "小林　ハル"), 20, "コバヤシ　ハル"),
            with_field(with_field(recs[2], 21, "林　ハルト"), 20, "ハヤシ　ハルト")]
    store = new_store(tmp_path / "s", roles=ROLES)
    store.load([gone, *kept], operator=OP)
    path = store.path
    del store
    r = purge.run(path, AS_OF, operator=OP, approver=APPROVER)
    assert r.persons_purged == 1 and r.scan["name_hits"] == 0 and r.scan["name_samples"] >= 4
    data = (path / "data.mdb").read_bytes()
    assert "小林　ハル".encode() in data and "ハヤシハルト".encode() in data  # kept, and seen
    assert b"\xac" + "林　ハル".encode() not in data and b"\xb2" + "ハヤシ　ハル".encode() not in data


class _Killed(Exception):
    pass


def test_a_person_who_returned_while_a_purge_waited_to_be_resumed_is_not_erased(tmp_path):
    """The run's list is fixed in its journal; while an interrupted run waits, the store is open
    to everyone. A removed person who comes back (a 転入 reuses the person id) meanwhile is a
    current resident again: the resumed run erases only what a plan made now would."""
    recs = make_records(4, seed=82)
    removed = [with_field(with_field(with_field(r, 13, "1"), 14, "20100315"), 54, "20100315") for r in recs[:2]]
    store = new_store(tmp_path / "s", roles=ROLES)
    rep = store.load(removed + recs[2:], operator=OP)
    a, b = rep.first_person_id, rep.first_person_id + 1
    path = store.path
    del store

    def die(phase: str, done: int, total: int) -> None:
        raise _Killed

    with pytest.raises(_Killed):
        purge.run(path, dt.date(2026, 11, 27), operator=OP, approver=APPROVER, batch_size=1, progress=die)
    assert (path / purge.JOURNAL).exists()
    store = open_store(path)
    back = with_field(recs[1], 8, "東京都墨田区立花1-1")
    [ret] = Register(store).apply(Event(E.転入, "20261201", record=back), operator=OP)
    assert ret.person_id == b and not store.get(person_id=b).removed
    del store
    receipt = purge.run(path, dt.date(2026, 11, 27), operator=OP, approver=APPROVER)
    store = open_store(path)
    assert store.get(person_id=a) is None
    assert store.get(person_id=b) is not None and store.get(person_id=b).record.address == "東京都墨田区立花1-1"
    assert receipt.persons_purged == 1 and store.verify().ok


def test_a_removal_date_with_no_year_keeps_its_record_and_stops_no_purge(tmp_path):
    """年月日不詳 with no year (00000000) is accepted as a date, but cannot start a retention
    clock: that record is kept, and everything else (mailing data included) is purged as usual."""
    from jukistore.mailing import Mailing
    from jukistore.records import Sofusaki

    recs = make_records(3, seed=81)
    unknown = with_field(with_field(with_field(recs[0], 13, "2"), 14, "00000000"), 54, "00000000")
    old = with_field(with_field(with_field(recs[2], 13, "1"), 14, "20100315"), 54, "20100315")
    store = new_store(tmp_path / "s", roles=ROLES)
    rep = store.load([unknown, recs[1], old], operator=OP)
    m = Mailing(store)
    [mid] = m.add([Sofusaki(destination_management_number="SFK0001QXZWMAIL")], [rep.first_person_id + 1])
    m.mark_sent([mid], dt.date(2024, 5, 1))
    path = store.path
    del store, m
    r = purge.run(path, dt.date(2026, 11, 27), operator=OP, approver=APPROVER)
    assert r.retired["mailing"]["count"] == 1 and r.persons_purged == 1
    store = open_store(path)
    assert store.get(person_id=rep.first_person_id) is not None
    assert store.get(person_id=rep.first_person_id + 2) is None


def test_a_correction_of_a_removed_record_does_not_move_its_clock(tmp_path):
    """The 150 years of a 除票 run from the removal. A correction recorded later, dated at any day
    (here before the removal), is a version of the 除票, not a new removal."""
    from jukistore.retention.plan import make_plan

    roles = {"clerk01": ["clerk"], "chief01": ["approver", "clerk"]}
    clerk, chief = Operator("clerk01", "term-07"), Operator("chief01", "term-01")
    store = new_store(tmp_path / "s", roles=roles)
    store.load(make_records(3, seed=78), operator=clerk)
    reg = Register(store)
    reg.apply(Event(E.死亡, "20200110", person=1, notified="20200111"), operator=clerk)
    assert make_plan(store, dt.date(2026, 11, 27)).person_ids.tolist() == []
    p = reg.corrections.propose(1, {21: "山田　太朗"}, operator=clerk, date="20000401")
    reg.corrections.approve(p.id, operator=chief)
    assert store.get(person_id=1).removed
    assert make_plan(store, dt.date(2026, 11, 27)).person_ids.tolist() == []
    # Removed on the day it was notified (2020-01-11, after the death of the 10th): kept through
    # 2170-01-11.
    assert make_plan(store, dt.date(2170, 1, 11)).person_ids.tolist() == []
    assert make_plan(store, dt.date(2170, 1, 12)).person_ids.tolist() == [1]


def test_a_purged_version_leaves_no_copy_in_the_correction_that_wrote_it(tmp_path):
    """A correction's values are those of the version its approval wrote; when that version is
    purged as superseded, the correction goes with it."""
    import gc

    roles = {"clerk01": ["clerk"], "chief01": ["approver", "clerk"], **ROLES}
    clerk, chief = Operator("clerk01", "term-07"), Operator("chief01", "term-01")
    store = new_store(tmp_path / "s", roles=roles)
    store.load(make_records(3, seed=80), operator=clerk)
    reg = Register(store)
    passing = "鬱鬯龘靐齉爩　鱻麤"
    p = reg.corrections.propose(2, {21: passing}, operator=clerk, date="20250101")
    reg.corrections.approve(p.id, operator=chief)
    q = reg.corrections.propose(2, {21: "山田　太郎"}, operator=clerk, date="20260101")
    reg.corrections.approve(q.id, operator=chief)
    assert passing.encode() in (store.path / "data.mdb").read_bytes()
    path = store.path
    del reg, store, p, q
    gc.collect()  # (Register.corrections refers back to its Register)
    r = purge.run(path, dt.date(2176, 1, 2), operator=OP, approver=APPROVER, clock=IN_2176)
    assert r.versions_purged == 2
    assert [f.name for f in path.rglob("*") if f.is_file() and passing.encode() in f.read_bytes()] == []
    store = open_store(path)
    assert store.get(person_id=2).record.name_kanji == "山田　太郎" and store.verify().ok


def test_a_register_dropped_with_its_corrections_used_closes_its_store(tmp_path):
    """Without a collection: the store can be purged (opened exclusively) in the same process."""
    import gc

    roles = {"clerk01": ["clerk"], **ROLES}
    store = new_store(tmp_path / "s", roles=roles)
    store.load(make_records(2, seed=84), operator=OP)
    reg = Register(store)
    reg.corrections.pending()
    path = store.path
    gc.disable()
    try:
        del reg, store
        purge.run(path, dt.date(2026, 11, 27), operator=OP, approver=APPROVER)
    finally:
        gc.enable()


def test_a_loaded_removed_record_is_kept_from_its_removal_date(tmp_path):
    """A 除票 loaded from a master file is dated by its 住民異動日 (item 14); its removal date is
    its 除票異動日 (item 54), and the clock starts there: removed in 2020, it is kept 150 years
    even if item 14 says 2000 (by which the old 5-year rule would have made it due)."""
    from jukistore.retention.plan import make_plan

    recs = make_records(2, seed=79)
    removed = with_field(with_field(with_field(recs[0], 13, "2"), 14, "20000401"), 54, "20200301")
    store = new_store(tmp_path / "s", roles=ROLES)
    store.load([removed, recs[1]], operator=OP)
    assert make_plan(store, dt.date(2026, 11, 27)).person_ids.tolist() == []
    assert make_plan(store, dt.date(2170, 3, 1)).person_ids.tolist() == []
    assert make_plan(store, dt.date(2170, 3, 2)).person_ids.tolist() == [1]


@pytest.mark.parametrize("removal, kept_until", [("20200000", "2170-12-31"), ("20200300", "2170-03-31")],
                         ids=["month and day unknown", "day unknown"])
def test_a_removal_date_with_unknown_parts_still_starts_the_clock(tmp_path, removal, kept_until):
    """A 除票異動日 with an unknown month or day was ignored, and the clock started at the 住民異動日
    of 2000: the old 5-year rule made a 2020 removal due decades early. It now counts as its latest
    possible day, as every clock date does."""
    from jukistore.retention.plan import make_plan

    recs = make_records(2, seed=83)
    removed = with_field(with_field(with_field(recs[0], 13, "2"), 14, "20000401"), 54, removal)
    store = new_store(tmp_path / "s", roles=ROLES)
    store.load([removed, recs[1]], operator=OP)
    assert make_plan(store, dt.date(2026, 11, 27)).person_ids.tolist() == []
    last = dt.date.fromisoformat(kept_until)
    assert make_plan(store, last).person_ids.tolist() == []
    assert make_plan(store, last + dt.timedelta(days=1)).person_ids.tolist() == [1]


def test_a_purged_persons_mailing_entries_go_with_them(tmp_path):
    """A person purged with a mailing entry still pending (never sent) or sent within the year:
    the entries name them (送付先 name, 住民票コード), so they are erased with the person; other
    persons' entries stay."""
    from jukistore.mailing import Mailing
    from jukistore.records import Sofusaki

    recs = make_records(2, seed=82)
    kana, kanji = distinctive(9001)
    old = with_field(with_field(with_field(recs[0], 13, "1"), 14, "20100315"), 54, "20100315")
    old = with_field(with_field(old, 20, kana), 21, kanji)
    store = new_store(tmp_path / "s", roles=ROLES)
    rep = store.load([old, recs[1]], operator=OP)
    gone, kept = rep.first_person_id, rep.first_person_id + 1
    code = getattr(old, fields()[30])
    m = Mailing(store)
    mail = lambda n: Sofusaki(destination_management_number=n, addressee_name_kanji=kanji, juminhyo_code=code)  # noqa: E731
    pending, sent, other = m.add([mail("SFK0001PENDING"), mail("SFK0002SENTNOW"), Sofusaki(destination_management_number="SFK0003OTHER")],
                                 [gone, gone, kept])
    m.mark_sent([sent], dt.date(2026, 10, 1))  # within the year: the mailing rule alone keeps it
    path = store.path
    del store, m
    assert found(path, kanji.encode()) and found(path, b"SFK0001PENDING")
    r = purge.run(path, AS_OF, operator=OP, approver=APPROVER)
    assert r.persons_purged == 1
    store = open_store(path)
    assert [e.id for e in Mailing(store).entries()] == [other]
    for needle in (kanji.encode(), b"SFK0001PENDING", b"SFK0002SENTNOW", code.encode()):
        assert found(path, needle) == [], needle


@pytest.mark.parametrize("bad", [True, 1.0, -1, "1", None], ids=["bool", "float", "negative", "text", "None"])
def test_a_hold_refuses_ids_and_cases_of_the_wrong_kind_and_the_list_stays_readable(ward, bad):
    """place(True) stored a hold the list of holds could no longer read; a case of bytes was stored
    and came back base64; numpy ids failed to encode. Ids and cases are checked first."""
    from jukistore.errors import QueryError

    path, recs, ids, who = ward
    store = open_store(path)
    with pytest.raises(QueryError):
        holds.place(store, bad, case="case-1", operator=OP)
    with pytest.raises(QueryError):
        holds.lift(store, bad, operator=OP)
    with pytest.raises(QueryError):
        holds.place(store, ids["due"][0], case=b"case-2", operator=OP)  # type: ignore[arg-type]
    h = holds.place(store, np.uint64(ids["due"][0]), case="case-3", operator=OP)
    assert type(h.person_id) is int
    assert [(x.person_id, x.case) for x in holds.holds(store)] == [(ids["due"][0], "case-3")]


def test_a_version_is_not_superseded_before_it_began(tmp_path):
    """A correction dated back before the version it replaces (an error fixed as of the day it was
    made) gave that version a clock started 130 years before the version itself: loaded as valid
    from 2000-04-01, it was due for erasure in 2020. Its clock starts no earlier than its own
    異動年月日, so it is kept 150 years from then."""
    roles = {"clerk01": ["clerk"], "chief01": ["approver", "clerk"]}
    clerk, chief = Operator("clerk01", "term-07"), Operator("chief01", "term-01")
    store = new_store(tmp_path / "s", roles=roles)
    store.load(make_records(3, seed=80), operator=clerk)  # valid from 2000-04-01
    reg = Register(store)
    p = reg.corrections.propose(2, {21: "山田　太朗"}, operator=clerk, date="18700101")
    reg.corrections.approve(p.id, operator=chief)
    reg.apply(Event(E.転居, "19900101", person=3, changes={8: "東京都墨田区両国九丁目2番2号"}), operator=clerk)
    assert plan.make_plan(store, AS_OF).summary()["versions"] == 0
    assert plan.make_plan(store, dt.date(2150, 4, 1)).summary()["versions"] == 0
    s = plan.make_plan(store, dt.date(2150, 4, 2)).summary()
    assert s["versions"] == 2
    assert {r["rule"]: r["due"] for r in s["rules"]}["superseded-150y"] == 2


def test_a_hold_placed_while_a_purge_waits_keeps_the_persons_superseded_versions(ward):
    """The resumed run kept every version its journal listed whenever the person's history was
    read by the wrong column (person id for 更新順番号), so a hold placed meanwhile did not keep
    the held person's superseded versions."""
    path, recs, ids, who = ward
    store = open_store(path)
    reg = Register(store)
    mover = ids["resident"][0]
    reg.apply(Event(E.転居, "20250101", person=mover, changes={8: "東京都墨田区鬱鬯龘靐九丁目1番1号"}), operator=OP)
    reg.apply(Event(E.転居, "20260101", person=mover, changes={8: "東京都墨田区両国九丁目2番2号"}), operator=OP)
    del reg, store
    as_of = dt.date(2176, 1, 2)
    assert _interrupt_purge(path, as_of).summary()["versions"] == 2
    store = open_store(path)
    holds.place(store, mover, case="case-late", operator=OP)
    del store
    r = purge.run(path, as_of, operator=OP, approver=APPROVER,
                  clock=lambda: dt.datetime(2176, 1, 2, tzinfo=dt.timezone.utc))
    assert r.versions_purged == 0
    store = open_store(path)
    assert len(Register(store).history(mover)) == 3


def test_a_purge_as_of_a_later_day_than_today_is_refused(ward, tmp_path, capsys):
    """A run as of a day after today erased records still to be kept (a typo in --as-of erased
    every 除票 of the next 150 years at once). A plan may look ahead; a run may not."""
    from jukistore.cli import main

    path, recs, ids, who = ward
    today = dt.datetime(2026, 11, 27, 14, 59, tzinfo=dt.timezone.utc)  # 23:59 on 27 November in Japan
    store = open_store(path)
    assert len(plan.make_plan(store, dt.date(2200, 1, 1)).person_ids) == 20
    del store
    with pytest.raises(purge.PurgeError, match="2026-11-28 is after today"):
        purge.run(path, dt.date(2026, 11, 28), operator=OP, approver=APPROVER, clock=lambda: today)
    with pytest.raises(purge.PurgeError, match="after today"):
        purge.run(path, dt.date(2200, 1, 1), operator=OP, approver=APPROVER)
    assert not (path / purge.JOURNAL).exists()
    store = open_store(path)
    assert all(store.get(person_id=p) is not None for g in ("edge_kept", "kept_removed") for p in ids[g])
    del store
    assert main(["purge", "run", str(path), "--as-of", "2200-01-01", "--operator", "op-run", "--terminal", "t1",
                 "--approver", "op-approve", "--approver-terminal", "t2"]) == 2  # a usage error, not a finding
    assert "--as-of 2200-01-01 is after today" in capsys.readouterr().err
    store = open_store(path)
    assert all(store.get(person_id=p) is not None for g in ("edge_kept", "kept_removed") for p in ids[g])
    del store
    # Today in Japan is a day ahead of UTC for nine hours of every day: that day may be purged.
    r = purge.run(path, dt.date(2026, 11, 28), operator=OP, approver=APPROVER,
                  clock=lambda: dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.timezone.utc))
    assert r.persons_purged == 14


def test_a_removal_dated_late_in_the_calendar_stops_no_plan(tmp_path):
    """A 除票 whose removal date is a typo late in the calendar (9999-12-31) made every plan raise
    OverflowError, counting 150 years past year 9999. Its period never ends: it is kept, and the
    others are planned as usual."""
    recs = make_records(3, seed=86)
    late = with_field(with_field(with_field(recs[0], 13, "1"), 14, "99991231"), 54, "99991231")
    old = with_field(with_field(with_field(recs[1], 13, "1"), 14, "20100315"), 54, "20100315")
    store = new_store(tmp_path / "s", roles=ROLES)
    rep = store.load([late, old, recs[2]], operator=OP)
    p = plan.make_plan(store, AS_OF)
    assert p.person_ids.tolist() == [rep.first_person_id + 1]


def _adds_up(r) -> bool:
    """The receipt's per-rule counts (due less held) make its persons and versions purged."""
    per_kind = {"removed_person": 0, "superseded_version": 0}
    for x in r.rules:
        if x["applies_to"] in per_kind:
            per_kind[x["applies_to"]] += x["due"] - x["held"]
    return per_kind == {"removed_person": r.persons_purged, "superseded_version": r.versions_purged}


def test_a_resumed_purge_receipt_counts_what_it_kept_after_all(ward):
    """A person held, or one who came back, while an interrupted purge waited is kept by the
    resumed run, but the receipt's per-rule counts were the first plan's: due 14 and held 0
    beside 13 persons purged. The receipt counts a person held meanwhile as held and one no
    longer due as not due."""
    path, recs, ids, who = ward
    _interrupt_purge(path, AS_OF)
    store = open_store(path)
    holds.place(store, ids["due"][5], case="case-late", operator=OP)
    back = with_field(with_field(with_field(recs[ids["due"][6] - ids["due"][0]], 13, ""), 54, ""), 8, "東京都墨田区立花1-1")
    [ret] = Register(store).apply(Event(E.転入, "20261120", record=back), operator=OP)
    assert ret.person_id == ids["due"][6]
    del store
    r = purge.run(path, AS_OF, operator=OP, approver=APPROVER)
    assert r.persons_purged == 12
    by_rule = {x["id"]: (x["due"], x["held"]) for x in r.rules}
    assert by_rule["removed-5y"] == (13, 1)
    assert _adds_up(r)


def test_two_cases_hold_one_person_until_both_are_lifted(ward, capsys):
    """A second case's hold on a person replaced the first one's (its record was lost), and
    lifting the hold for one case ended the other's too: the person was purged while a matter
    still needed them. Each case holds the person until its own hold is lifted."""
    from jukistore.cli import main

    path, recs, ids, who = ward
    pid = ids["due"][0]
    store = open_store(path)
    holds.place(store, pid, case="case-A", operator=OP)
    holds.place(store, pid, case="case-B", operator=OP)
    holds.place(store, pid, case="case-A", operator=OP)  # renewing a case does not add a hold
    assert sorted(h.case for h in holds.holds(store)) == ["case-A", "case-B"]
    assert holds.lift(store, pid, operator=OP, case="case-A")
    assert not holds.lift(store, pid, operator=OP, case="case-A")
    assert [h.case for h in holds.holds(store)] == ["case-B"]
    assert pid not in plan.make_plan(store, AS_OF).person_ids.tolist()
    del store
    assert main(["purge", "unhold", str(path), "--person-id", str(pid), "--case", "case-B",
                 "--operator", "op-run", "--terminal", "t1"]) == 0
    store = open_store(path)
    assert holds.holds(store) == []
    assert pid in plan.make_plan(store, AS_OF).person_ids.tolist()
    holds.place(store, pid, case="case-C", operator=OP)
    holds.place(store, pid, case="case-D", operator=OP)
    assert holds.lift(store, pid, operator=OP)  # without a case: every hold on the person
    assert holds.holds(store) == []


@pytest.mark.parametrize("removal", ["", "00000000"], ids=["empty", "year unknown"])
def test_a_loaded_removed_record_without_its_removal_date_is_kept(tmp_path, removal):
    """A 除票 loaded from a master file with no 除票異動日 (item 54) took its 住民異動日 (item 14,
    here 2000) as its removal date: the old 5-year rule made it due at once, though it may have
    been removed last year. When its removal date cannot be placed it cannot be shown due, as
    with every clock date without a year; a 除票 removed by an event keeps that event's date."""
    recs = make_records(4, seed=87)
    loaded = with_field(with_field(with_field(recs[0], 13, "2"), 14, "20000401"), 54, removal)
    dated = with_field(with_field(with_field(recs[1], 13, "1"), 14, "20100315"), 54, "20100315")
    store = new_store(tmp_path / "s", roles=ROLES)
    rep = store.load([loaded, dated, recs[2], recs[3]], operator=OP)
    first = rep.first_person_id
    reg = Register(store)
    reg.apply(Event(E.死亡, "20100110", person=first + 2, notified="20100111"), operator=OP)
    p = plan.make_plan(store, AS_OF)
    assert sorted(p.person_ids.tolist()) == [first + 1, first + 2]
    assert plan.make_plan(store, dt.date(2200, 1, 1)).person_ids.tolist().count(first) == 0


def test_a_removal_notified_years_after_the_event_is_kept_from_its_notification(tmp_path):
    """The 150 years of a 除票 run from the day it was removed (施行令34条1項: 消除した日), which
    is no earlier than the day the removal was notified. A death of 2010 notified and recorded in
    2026 took the death's date as its clock, and the old 5-year rule made it due at once."""
    recs = make_records(3, seed=88)
    store = new_store(tmp_path / "s", roles=ROLES)
    rep = store.load(recs, operator=OP)
    pid = rep.first_person_id
    Register(store).apply(Event(E.死亡, "20100110", person=pid, notified="20261101"), operator=OP)
    assert plan.make_plan(store, AS_OF).person_ids.tolist() == []
    assert plan.make_plan(store, dt.date(2176, 11, 1)).person_ids.tolist() == []
    assert plan.make_plan(store, dt.date(2176, 11, 2)).person_ids.tolist() == [pid]


def test_a_version_superseded_by_a_late_notification_is_kept_from_it(tmp_path):
    """A 転居 of 2010 notified in 2026 changed the record in 2026: the version it replaced was
    the record until then, and its 150 years run from no earlier than that notification."""
    store = new_store(tmp_path / "s", roles=ROLES)
    rep = store.load(make_records(3, seed=89), operator=OP)  # valid from 2000-04-01
    pid = rep.first_person_id
    Register(store).apply(Event(E.転居, "20100101", person=pid, notified="20261101",
                                changes={8: "東京都墨田区両国九丁目2番2号"}), operator=OP)
    assert plan.make_plan(store, dt.date(2176, 11, 1)).summary()["versions"] == 0
    assert plan.make_plan(store, dt.date(2176, 11, 2)).summary()["versions"] == 1


def test_a_purge_resumed_by_other_operators_names_them_in_its_receipt(ward):
    """A run started by one pair of operators and finished by another checked the second pair's
    rights, but its receipt named only the first: nothing but the access log said who approved
    the erasures the second run made."""
    path, recs, ids, who = ward
    other_op, other_approver = Operator("op-run2", "term-5"), Operator("op-approve2", "term-6")
    store = open_store(path)
    from store_support import grant

    grant(store, {"op-run2": ["clerk"], "op-approve2": ["approver"]})
    del store

    def die(phase: str, done: int, total: int) -> None:
        raise _Killed

    with pytest.raises(_Killed):
        purge.run(path, AS_OF, operator=OP, approver=APPROVER, batch_size=1, progress=die)
    r = purge.run(path, AS_OF, operator=other_op, approver=other_approver)
    assert r.operator == {"operator_id": "op-run", "terminal_id": "term-1"}
    assert r.resumed_by == [{"operator_id": "op-run2", "terminal_id": "term-5",
                             "approver_id": "op-approve2", "approver_terminal_id": "term-6"}]
    assert purge.run(path, AS_OF, operator=OP, approver=APPROVER).resumed_by == []  # a run of its own


def test_a_superseded_number_goes_with_the_last_version_that_held_it(tmp_path):
    """After a 住民票コード変更 and a 個人番号変更, the versions holding the old numbers are kept 150
    years; once they are purged, the old numbers no longer find the person and no longer lie in
    the file. A number a remaining version still holds stays."""
    from jukistore.ids import juminhyo, mynumber

    f = fields()
    store = new_store(tmp_path / "s", roles=ROLES)
    recs = make_records(3, seed=91)  # valid from 2000-04-01
    pid = store.load(recs, operator=OP).first_person_id + 1
    old_code, old_mn = getattr(recs[1], f[30]), getattr(recs[1], f[81])
    new_code = juminhyo.to_text(juminhyo.generate(1, seed=92, start=990))[0].decode()
    new_mn = mynumber.to_text(mynumber.generate(1, seed=92, start=990))[0].decode()
    reg = Register(store)
    reg.apply(Event(E.住民票コード変更, "20250101", person=pid, changes={30: new_code}), operator=OP)
    reg.apply(Event(E.転居, "20250201", person=pid, changes={8: "東京都墨田区両国九丁目2番2号"}), operator=OP)
    reg.apply(Event(E.個人番号変更, "20250301", person=pid, changes={81: new_mn}), operator=OP)
    path = store.path
    del reg, store
    # As of 2175-02-15 the versions superseded in January and February 2025 are due: the loaded one
    # (old code, old 個人番号) and the code change's (new code, old 個人番号).
    r = purge.run(path, dt.date(2175, 2, 15), operator=OP, approver=APPROVER,
                  clock=lambda: dt.datetime(2175, 2, 15, tzinfo=dt.timezone.utc))
    assert r.versions_purged == 2
    store = open_store(path)
    assert store.get(code=old_code) is None
    assert store.get(mynumber=old_mn).person_id == pid  # still held by a kept version
    assert store.get(code=new_code).person_id == pid
    assert store.verify().ok
    data = (path / "data.mdb").read_bytes()
    assert int(old_code).to_bytes(8, "big") not in data and int(old_code).to_bytes(8, "little") not in data
    del store
    r = purge.run(path, dt.date(2175, 3, 15), operator=OP, approver=APPROVER,
                  clock=lambda: dt.datetime(2175, 3, 15, tzinfo=dt.timezone.utc))
    assert r.versions_purged == 1  # the 転居's version, the last to hold the old 個人番号
    store = open_store(path)
    assert store.get(mynumber=old_mn) is None
    assert store.get(mynumber=new_mn).person_id == pid
    assert store.verify().ok
