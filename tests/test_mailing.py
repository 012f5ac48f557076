"""送付先情報: kept while pending and under a year after sending, never in a backup once sent."""

from __future__ import annotations

import datetime as dt

from jukistore import Store
from jukistore.mailing import Mailing, backup
from jukistore.records import Sofusaki
from jukistore.retention import plan, purge
from jukistore.store import Operator
from store_support import make_records, new_store, open_store

OP, APPROVER = Operator("op-run", "t1"), Operator("op-approve", "t2")
ROLES = {"op-run": ["clerk"], "op-approve": ["approver"]}


def letter(k: int) -> Sofusaki:
    return Sofusaki(destination_management_number=f"SFK{k:04d}QXZWMAIL", name_kanji=f"鬱鬯郵送{'龘靐齉爩'[k % 4]}{k}号",
                    name_kana=f"ヴヺユウソウ{k}")


def setup(tmp_path):
    store = new_store(tmp_path / "s", roles=ROLES)
    rep = store.load(make_records(4, seed=11), operator=OP)
    m = Mailing(store)
    ids = m.add([letter(k) for k in range(4)], [rep.first_person_id + k for k in range(4)])
    m.mark_sent([ids[0]], dt.date(2025, 11, 27))  # a full year on 2026-11-27: erased that day
    m.mark_sent([ids[1]], dt.date(2025, 11, 28))  # still under a year
    m.mark_sent([ids[2]], dt.date(2024, 5, 1))
    return store, m, ids  # ids[3] pending


def blob(path) -> bytes:
    return b"".join(p.read_bytes() for p in path.rglob("*") if p.is_file())


def test_entries_pending_and_sent(tmp_path):
    store, m, ids = setup(tmp_path)
    got = {e.id: e.sent for e in m.entries()}
    assert got == {ids[0]: dt.date(2025, 11, 27), ids[1]: dt.date(2025, 11, 28), ids[2]: dt.date(2024, 5, 1),
                   ids[3]: None}
    assert [e.id for e in m.pending()] == [ids[3]]
    assert m.mark_sent([ids[0]], dt.date(2026, 1, 1)) == 0  # the first sending date stays
    assert "name" not in repr(m.pending()[0])


def test_a_backup_never_carries_sent_mailing_data(tmp_path):
    store, m, ids = setup(tmp_path)
    data = backup(store, tmp_path / "backup").read_bytes()
    assert letter(3).destination_management_number.encode() in data
    assert letter(3).name_kanji.encode() in data
    for k in range(3):
        assert letter(k).destination_management_number.encode() not in data
        assert letter(k).name_kanji.encode() not in data
    # The store itself still holds them until their year is up.
    assert letter(1).name_kanji.encode() in (store.path / "data.mdb").read_bytes()


def test_purge_erases_mailing_data_a_year_after_sending(tmp_path):
    store, m, ids = setup(tmp_path)
    p = plan.make_plan(store, dt.date(2026, 11, 27))
    assert p.summary()["retire"]["mailing"] == {"before": "2025-11-28", "due": 2}
    path = store.path
    del store, m
    r = purge.run(path, dt.date(2026, 11, 27), operator=OP, approver=APPROVER)
    assert r.retired["mailing"] == {"before": "2025-11-28", "count": 2}
    assert r.scan["name_hits"] == 0 and r.scan["name_samples"] >= 2
    everything = blob(path)
    for k in (0, 2):
        assert letter(k).destination_management_number.encode() not in everything
        assert letter(k).name_kanji.encode() not in everything
    for k in (1, 3):
        assert letter(k).name_kanji.encode() in everything
    store = open_store(path)
    assert sorted(e.id for e in Mailing(store).entries()) == [ids[1], ids[3]]
    assert store.verify().ok


def test_a_sending_date_after_today_in_japan_is_refused(tmp_path):
    """"Today" was taken where it is latest (UTC+14), five hours ahead of Japan: from 19:00 in
    Japan tomorrow's date was taken as a sending date, and the entry kept a day past its year.
    The register's today is Japan's."""
    import pytest

    from jukistore.errors import InvalidRecord

    now = [dt.datetime(2026, 11, 27, 11, 0, tzinfo=dt.timezone.utc)]  # 20:00 in Japan
    store = new_store(tmp_path / "s", roles=ROLES, clock=lambda: now[0])
    rep = store.load(make_records(2, seed=11), operator=OP)
    m = Mailing(store)
    ids = m.add([letter(0), letter(1)], [rep.first_person_id, rep.first_person_id + 1])
    with pytest.raises(InvalidRecord, match="2026-11-28 is after today"):
        m.mark_sent([ids[0]], dt.date(2026, 11, 28))
    assert m.mark_sent([ids[0]], dt.date(2026, 11, 27)) == 1
    now[0] = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.timezone.utc)  # 00:00 on 28 November in Japan
    assert m.mark_sent([ids[1]], dt.date(2026, 11, 28)) == 1


def test_a_purge_killed_after_retiring_counts_what_it_retired(tmp_path, monkeypatch):
    """A run killed after the mailing data was retired but before its journal said so retired
    nothing when started again, and its receipt said 0 entries beside a rule that made 2 due."""
    import pytest

    store, m, ids = setup(tmp_path)
    path = store.path
    del store, m
    real = purge._save

    class Killed(Exception):
        pass

    def save(p, j):
        if j.phase == "rebuild":
            raise Killed
        real(p, j)

    monkeypatch.setattr(purge, "_save", save)
    with pytest.raises(Killed):
        purge.run(path, dt.date(2026, 11, 27), operator=OP, approver=APPROVER)
    monkeypatch.setattr(purge, "_save", real)
    r = purge.run(path, dt.date(2026, 11, 27), operator=OP, approver=APPROVER)
    assert r.retired["mailing"] == {"before": "2025-11-28", "count": 2}
    assert {x["id"]: x["due"] for x in r.rules}["mailing-1y"] == 2
