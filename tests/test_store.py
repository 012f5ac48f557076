"""The store through its Python API: loads, reads, errors, verify, and a model-based property test."""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jukistore import Store
from jukistore.errors import (
    DuplicateNumber,
    ForkedStore,
    InvalidRecord,
    NotAStore,
    QueryError,
    ReadOnlyStore,
    StoreExists,
)
from jukistore.ids import juminhyo, mynumber
from jukistore.store import Operator

from store_support import ADMIN, PURPOSE, READER, fields, make_records, new_store, open_store, with_field

OP = Operator("clerk01", "term-07")
ROLES = {OP.operator_id: ["clerk"]}


@pytest.fixture
def store(tmp_path):
    return new_store(tmp_path / "s", roles=ROLES)


def test_load_then_get_by_every_key(store):
    recs = make_records(300, seed=1)
    rep = store.load(recs, operator=OP, batch_size=128)
    assert (rep.loaded, rep.batches, rep.first_person_id, rep.last_seq) == (300, 3, 1, 300)
    f = fields()
    for i in (0, 150, 299):
        code = getattr(recs[i], f[30])
        p = store.get(code=code)
        assert p is not None and p.record == recs[i] and p.person_id == i + 1 and not p.superseded
        assert store.get(mynumber=getattr(recs[i], f[81])).person_id == i + 1
        assert store.get(person_id=i + 1).record == recs[i]
    assert store.get(code="00000000000") is None
    assert store.get(person_id=10_000) is None
    with pytest.raises(QueryError):
        store.get(code="1", mynumber="2")
    assert store.verify().ok


def test_a_load_without_fsync_per_batch_is_whole_on_disk_when_it_returns(store):
    """``durable=False``: no fsync per batch, write-back started after each commit, one sync at
    the end. What it wrote is all there for another process, and later writes sync again."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    recs = make_records(700, seed=5)
    rep = store.load(recs, operator=OP, batch_size=100, durable=False)
    assert (rep.loaded, rep.batches) == (700, 7)
    store.load(make_records(10, seed=5, start=700), operator=OP)  # durable again
    f = fields()
    script = (
        "import sys\n"
        "from store_support import open_store\n"
        "s = open_store(sys.argv[1], readonly=True)\n"
        "print(s.stats()['persons'], s.verify().ok, s.get(code=sys.argv[2]).person_id)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(store.path), getattr(recs[699], f[30])],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})
    assert out.stdout.split() == ["710", "True", "700"]


def test_get_many_columns(store):
    recs = make_records(500, seed=2)
    store.load(recs, operator=OP)
    f = fields()
    codes = np.array([int(getattr(r, f[30])) for r in recs], dtype=np.uint64)
    ask = np.concatenate([codes[::-1], np.array([1, 2], dtype=np.uint64)])
    res = store.get_many(ask)
    assert len(res) == 502
    assert res.found[:500].all() and not res.found[500:].any()
    assert (res.person_ids[:500] == np.arange(500, 0, -1)).all()
    assert res.record(0) == recs[-1]
    assert res.record(500) is None and res[501] is None
    assert res[1].record == recs[-2]
    # Large enough to be split across threads: same answers.
    many = np.tile(codes, 40)
    big = store.get_many(many)
    assert big.found.all() and (big.person_ids == np.tile(np.arange(1, 501), 40)).all()
    assert big.record(20_000 - 1) == recs[-1]


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    """A store of 400 persons, one in five without a 個人番号, and the numbers of each."""
    s = new_store(tmp_path_factory.mktemp("walk") / "s", roles=ROLES)
    recs = make_records(400, seed=12)
    f = fields()
    recs = [with_field(r, 81, "") if i % 5 == 0 else r for i, r in enumerate(recs)]
    s.load(recs, operator=OP)
    codes = [int(getattr(r, f[30])) for r in recs]
    mns = [int(getattr(r, f[81])) for r in recs if getattr(r, f[81])]
    return s, {"code": codes, "mynumber": mns, "person_id": list(range(1, 401))}


@given(st.sampled_from(["code", "mynumber", "person_id"]), st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_get_many_equals_one_get_per_key(walked, by, data):
    """Bulk gets walk each tree in key order, stepping between near keys and seeking far ones;
    whatever the keys (dense, sparse, repeated, absent, beyond either end), each answer is the
    single get's."""
    s, known = walked
    pool = known[by]
    present = data.draw(st.lists(st.sampled_from(pool), max_size=300))
    absent = data.draw(st.lists(st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 2**64 - 1, 401])),
                                max_size=20))
    keys = data.draw(st.permutations(present + absent))
    res = s.get_many(np.array(keys, dtype=np.uint64), by=by)
    for i, k in enumerate(keys):
        one = s.get(**{by: k})
        if one is None:
            assert not res.found[i] and res[i] is None
        else:
            got = res[i]
            assert (got.person_id, got.seq, got.removed, got.superseded) == (
                one.person_id, one.seq, one.removed, one.superseded)
            assert got.record == one.record


def test_search_by_4jouhou(store):
    recs = make_records(200, seed=3)
    store.load(recs, operator=OP)
    f = fields()
    r = recs[7]
    birth = getattr(r, f[23])
    # ジュンペイ written with voiced marks finds the record stored under the same reading; 清音化 makes
    # シユンヘイ (unvoiced, large kana) match too.
    hits = store.search(name_kana=getattr(r, f[20]), birth_date=birth)
    assert [h.record for h in hits] == [r]
    hits = store.search(name_kana=getattr(r, f[20]).replace("ジュンペイ", "シユンヘイ"), birth_date=birth)
    assert r in [h.record for h in hits]
    addr = getattr(r, f[8])
    hits = store.search(birth_date=birth, address=addr[:8])
    assert r in [h.record for h in hits]
    hits = store.search(name_kana=getattr(r, f[20]), address="東京都墨田区", sex=getattr(r, f[22]))
    assert all(getattr(h.record, f[22]) == getattr(r, f[22]) for h in hits) and r in [h.record for h in hits]
    other_sex = "1" if getattr(r, f[22]) == "2" else "2"
    assert r not in [h.record for h in store.search(name_kana=getattr(r, f[20]), birth_date=birth, sex=other_sex)]
    with pytest.raises(QueryError):
        store.search(name_kana="ヤマダ", sex="1")


def test_an_address_stored_with_a_variation_selector_is_found_as_typed(store):
    """葛飾区 is often recorded with 葛 + VS17 (the ward's glyph); a clerk types the plain 葛. The
    record keeps the selector, the address key does not, so both spellings find the person."""
    from jukistore.store import address_key

    f = fields()
    recs = make_records(3, seed=6)
    r = recs[1] = with_field(recs[1], 8, "東京都葛\U000e0100飾区立石五丁目1番1号")
    store.load(recs, operator=OP)
    birth = getattr(r, f[23])
    for typed in ("東京都葛飾区", "東京都葛\U000e0100飾区", "東京都葛\ufe00飾区立石"):
        assert [h.record for h in store.search(birth_date=birth, address=typed)] == [r]
    kept = store.get(code=getattr(r, f[30])).record
    assert getattr(kept, f[8]) == "東京都葛\U000e0100飾区立石五丁目1番1号"
    assert address_key("東京都 葛\U000e0100飾区\u3000１丁目") == "東京都葛飾区1丁目"



def test_addresses_match_across_the_code_points_of_one_jis_character(store):
    """JIS X 0208 has one MINUS SIGN and one WAVE DASH, which EUC-JP converters write as U+2212 and
    U+301C and cp932 ones (and a cp932 file read back) as U+FF0D and U+FF5E; a clerk types either,
    or ASCII. An address recorded in one form is found by the others."""
    from jukistore.store import address_key

    f = fields()
    recs = make_records(4, seed=7)
    recs[1] = with_field(recs[1], 8, "東京都墨田区吾妻橋1\u221223\u221220")
    recs[2] = with_field(recs[2], 8, "東京都墨田区押上1\u301c3番地")
    recs[3] = with_field(recs[3], 8, "東京都墨田区向島1\uff0d2\u2015\u2014")
    store.load(recs, operator=OP)
    for k, typed in ((1, "吾妻橋1\uff0d23\uff0d2"), (1, "吾妻橋1-23"), (1, "吾妻橋１－２３－２０"),
                     (2, "押上1\uff5e3"), (2, "押上1~3番"), (3, "向島1\u22122")):
        hits = store.search(birth_date=getattr(recs[k], f[23]), address="東京都墨田区" + typed)
        assert [h.record for h in hits] == [recs[k]], typed
    assert address_key("1\u22122\u301c3\u2016\u00a2\u2014") == address_key("1\uff0d2\uff5e3\u2225\uffe0\u2015")

def test_bad_batch_is_refused_whole_with_row_and_field(store):
    store.load(make_records(100, seed=4), operator=OP)
    f = fields()
    batch = make_records(50, seed=4, start=100)
    used = getattr(make_records(1, seed=4, start=3)[0], f[30])
    batch[20] = with_field(batch[20], 30, used)
    with pytest.raises(DuplicateNumber) as ei:
        store.load(batch, operator=OP)
    assert ei.value.row == 20 and ei.value.field == f[30]
    assert used not in str(ei.value)
    assert store.stats()["persons"] == 100
    assert store.get(code=getattr(batch[0], f[30])) is None

    bad = make_records(10, seed=4, start=200)
    mn = getattr(bad[4], f[81])
    bad[4] = with_field(bad[4], 81, mn[:-1] + str((int(mn[-1]) + 1) % 10))
    with pytest.raises(InvalidRecord) as ei:
        store.load(bad, operator=OP, batch_size=3)
    assert ei.value.row == 4 and ei.value.field == f[81]
    assert mn not in str(ei.value) and mn[-4:-1] in str(ei.value)
    assert ei.value.committed == 3  # the first batch of three went in; the failing batch did not
    assert store.stats()["persons"] == 103

    short = make_records(1, seed=4, start=300)
    with pytest.raises(InvalidRecord) as ei:
        store.load([with_field(short[0], 30, "123")], operator=OP)
    assert ei.value.field == f[30] and ei.value.row == 0

    # Batches are prepared while the one before is written: an error found while preparing the
    # third batch counts the two before it; one found by the core in the second leaves the third
    # (prepared meanwhile) unwritten.
    more = make_records(9, seed=4, start=400)
    more[7] = with_field(more[7], 30, "12345")
    with pytest.raises(InvalidRecord) as ei:
        store.load(more, operator=OP, batch_size=3)
    assert ei.value.row == 7 and ei.value.committed == 6
    assert store.stats()["persons"] == 109
    more = make_records(9, seed=4, start=500)
    code = getattr(more[4], f[30])
    more[4] = with_field(more[4], 30, code[:-1] + str((int(code[-1]) + 1) % 10))
    with pytest.raises(InvalidRecord) as ei:
        store.load(more, operator=OP, batch_size=3)
    assert ei.value.row == 4 and ei.value.committed == 3
    assert store.stats()["persons"] == 112
    assert store.get(code=getattr(more[8], f[30])) is None
    assert store.verify().ok


def test_a_batch_handed_over_after_one_that_fails_is_not_written(store):
    """A load hands the core its next batch before the last one is written; the core writes it only
    once that one has committed, and not at all if it failed."""
    from jukistore._core import LoadSkipped

    f = fields()
    first, second = make_records(5, seed=8), make_records(5, seed=8, start=100)
    code = getattr(first[2], f[30])
    first[2] = with_field(first[2], 30, code[:-1] + str((int(code[-1]) + 1) % 10))  # check digit off
    failing = store._prepare_batch(first, 0, OP, True)(None)
    after = store._prepare_batch(second, 5, OP, True)(failing)
    with pytest.raises(LoadSkipped):
        after.wait()  # waiting for the later one first is fine: it waits for the earlier one
    with pytest.raises(InvalidRecord) as ei:
        failing.wait()
    assert ei.value.row == 2
    assert store.stats()["persons"] == 0
    with pytest.raises(RuntimeError, match="already waited"):
        failing.wait()

    # In order: the second is written after the first, with the numbers after the first's.
    a = store._prepare_batch(make_records(3, seed=8, start=200), 0, OP, True)(None)
    b = store._prepare_batch(make_records(4, seed=8, start=300), 3, OP, True)(a)
    pid_b, seq_b, n_b, _ = b.wait()
    pid_a, seq_a, n_a, _ = a.wait()
    assert (n_a, n_b) == (3, 4) and pid_b == pid_a + 3 and seq_b == seq_a + 3

    # A handle dropped without waiting still lets its batch finish before it goes.
    c = store._prepare_batch(make_records(2, seed=8, start=400), 0, OP, True)(None)
    del c
    assert store.stats()["persons"] == 9
    assert store.verify().ok


def test_a_load_stopped_by_its_caller_counts_every_batch_it_wrote(store):
    """The next batch is handed to the core before the last one is counted, and the core writes it
    whatever the caller does meanwhile: a load stopped from ``progress``, by its records or by
    Ctrl-C says in ``committed`` how many records it wrote, so that it can be resumed there."""
    class Stop(Exception):
        pass

    seen: list[int] = []

    def stop(n: int) -> None:
        seen.append(n)
        raise Stop

    recs = make_records(9, seed=8, start=600)
    with pytest.raises(Stop) as ei:
        store.load(recs, operator=OP, batch_size=3, progress=stop)
    assert seen == [3]
    assert ei.value.committed == store.stats()["persons"]
    store.load(recs[ei.value.committed:], operator=OP, batch_size=3)  # resumed: nothing twice
    assert store.stats()["persons"] == 9

    def interrupt(n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as ki:
        store.load(make_records(9, seed=8, start=700), operator=OP, batch_size=3, progress=interrupt)
    assert ki.value.committed == store.stats()["persons"] - 9

    def records():
        yield from make_records(6, seed=8, start=800)
        raise Stop

    with pytest.raises(Stop) as ei:
        store.load(records(), operator=OP, batch_size=3)
    assert ei.value.committed == 6 and store.stats()["persons"] == 9 + ki.value.committed + 6
    assert store.verify().ok


def test_juminhyo_lenient_mode(store):
    f = fields()
    recs = make_records(5, seed=5)
    code = getattr(recs[2], f[30])
    recs[2] = with_field(recs[2], 30, code[:-1] + str((int(code[-1]) + 1) % 10))
    assert not juminhyo.is_valid(getattr(recs[2], f[30]))
    with pytest.raises(InvalidRecord):
        store.load(recs, operator=OP)
    rep = store.load(recs, operator=OP, juminhyo_strict=False)
    assert rep.lenient_rows == [2]


def test_writes_need_an_operator(store):
    with pytest.raises(TypeError):
        store.load(make_records(1), operator=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Operator("", "t")


def test_open_create_readonly(tmp_path):
    p = tmp_path / "s"
    with pytest.raises(NotAStore):
        Store.open(p)
    s = new_store(p, roles=ROLES)
    assert s.municipality_code == "131075"
    with pytest.raises(StoreExists):
        Store.create(p, "131075", administrator=ADMIN)
    with pytest.raises(ValueError):
        Store.create(tmp_path / "t", "131076", administrator=ADMIN)  # bad check digit of the municipality code
    s.load(make_records(3), operator=OP)
    del s
    import gc

    gc.collect()
    ro = open_store(p, readonly=True)
    assert ro.get(person_id=1) is not None
    with pytest.raises(ReadOnlyStore):
        ro.load(make_records(1, start=10), operator=OP)
    with pytest.raises(ReadOnlyStore):
        ro.roles.grant("newcomer", "clerk", by=ADMIN)
    assert not ro.roles.known("newcomer")


def test_repr_masks_numbers(store):
    recs = make_records(1, seed=6)
    store.load(recs, operator=OP)
    f = fields()
    p = store.get(person_id=1)
    mn = getattr(recs[0], f[81])
    assert mn not in repr(p) and mn[-4:] in repr(p)


def test_threads_read_consistent_snapshots_while_one_writes(store):
    """Batches commit whole and in order: a reader sees a prefix of batches, never part of one."""
    batch, nb = 200, 15
    allrecs = make_records(batch * nb, seed=7)
    f = fields()
    codes = np.array([int(getattr(r, f[30])) for r in allrecs], dtype=np.uint64)
    bad: list[str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            found = store.get_many(codes).found
            n = int(found.sum())
            if n % batch or not found[:n].all():
                bad.append(f"saw {n} records, not a prefix of whole batches")

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for k in range(nb):
            store.load(allrecs[k * batch : (k + 1) * batch], operator=OP)
    finally:  # the readers stop whatever the loads did
        done.set()
        for t in threads:
            t.join()
    assert not bad
    assert store.verify().ok


# ---- model-based property test -----------------------------------------------------------------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(1, 40), st.sampled_from(["ok", "dup_code", "dup_mn", "bad_mn", "no_mn"])),
                min_size=1, max_size=6))
def test_loads_and_reads_match_a_plain_model(tmp_path_factory, plan):
    """Random batches, some with a planted fault, against a dict model of what must be stored."""
    s = new_store(tmp_path_factory.mktemp("m") / "s", roles=ROLES)
    f = fields()
    model: dict[str, object] = {}  # code -> record
    by_mn: dict[str, str] = {}
    pos = 0
    for size, fault in plan:
        recs = make_records(size, seed=11, start=pos)
        pos += size
        if fault == "dup_code" and model:
            recs[-1] = with_field(recs[-1], 30, next(iter(model)))
        elif fault == "dup_mn" and size > 1:
            recs[-1] = with_field(recs[-1], 81, getattr(recs[0], f[81]))
        elif fault == "bad_mn":
            mn = getattr(recs[0], f[81])
            recs[0] = with_field(recs[0], 81, mn[:-1] + str((int(mn[-1]) + 3) % 10))
        elif fault == "no_mn":
            recs[0] = with_field(recs[0], 81, "")
        codes = [getattr(r, f[30]) for r in recs]
        mns = [getattr(r, f[81]) for r in recs if getattr(r, f[81])]
        should_fail = (
            any(c in model for c in codes)
            or len(set(mns)) != len(mns)
            or any(m in by_mn for m in mns)
            or not all(mynumber.is_valid(m) for m in mns)
        )
        try:
            s.load(recs, operator=OP)
            assert not should_fail
            for r in recs:
                model[getattr(r, f[30])] = r
                if getattr(r, f[81]):
                    by_mn[getattr(r, f[81])] = getattr(r, f[30])
        except (DuplicateNumber, InvalidRecord):
            assert should_fail
    assert s.stats()["persons"] == len(model)
    for code, rec in model.items():
        assert s.get(code=code).record == rec
    for mn, code in by_mn.items():
        assert s.get(mynumber=mn).record == model[code]
    keys = np.array([int(c) for c in model] + [1], dtype=np.uint64)
    res = s.get_many(keys)
    assert res.records() == list(model.values()) + [None]
    assert s.verify().ok


READER_SCRIPT = """
import sys
import numpy as np
from jukistore import Store
from jukistore.store import Operator
path, batch, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
codes = np.load(sys.argv[4])
s = Store.open(path, readonly=True, operator=Operator(sys.argv[5], sys.argv[6]), purpose=sys.argv[7])
import os
print("ready", flush=True)
rounds = bad = 0
while not os.path.exists(stop) or rounds < 3:
    found = s.get_many(codes).found
    n = int(found.sum())
    if n % batch or not found[:n].all():
        bad += 1
    rounds += 1
print(rounds, bad, flush=True)
"""


def test_reader_processes_see_whole_batches_while_a_writer_loads(store, tmp_path):
    """Other processes read the same store during the loads: never a part of a batch."""
    import subprocess
    import sys

    batch, nb = 250, 12
    allrecs = make_records(batch * nb, seed=8)
    f = fields()
    codes = np.array([int(getattr(r, f[30])) for r in allrecs], dtype=np.uint64)
    np.save(tmp_path / "codes.npy", codes)
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, "-c", READER_SCRIPT, str(store.path), str(batch), str(stop),
                                 str(tmp_path / "codes.npy"), READER.operator_id, READER.terminal_id, PURPOSE],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    for p in readers:
        assert p.stdout.readline().strip() == "ready"
    for k in range(nb):
        store.load(allrecs[k * batch : (k + 1) * batch], operator=OP)
    stop.touch()
    for p in readers:
        out, _ = p.communicate(timeout=60)
        rounds, bad = map(int, out.split())
        # Enough rounds that reads overlapped the loads (each load commits with an fsync).
        assert p.returncode == 0 and rounds >= nb and bad == 0
    # Two processes logged every read into one chain, nothing lost or interleaved.
    reports = store.audit.verify()
    assert all(r.ok for r in reports.values()), reports
    assert reports["access"].entries >= 2 * nb


GETTER_SCRIPT = """
import sys
import numpy as np
from jukistore import Store
from jukistore.store import Operator
path, batch, mark = sys.argv[1], int(sys.argv[2]), sys.argv[3]
codes = [int(c) for c in np.load(sys.argv[4])]
s = Store.open(path, readonly=True, operator=Operator(sys.argv[5], sys.argv[6]), purpose=sys.argv[7])
print("ready", flush=True)
rounds = bad = 0
while True:
    with open(mark) as f:
        k = int(f.read())
    if k < 0:
        break
    # The mark is written after batch k committed: its last record must be found.
    if s.get(code=codes[k * batch + batch - 1]) is None:
        bad += 1
    rounds += 1
print(rounds, bad, flush=True)
"""


def test_single_gets_in_another_process_see_each_commit_at_once(store, tmp_path):
    """A process getting one record at a time without pause finds a batch as soon as the writer's
    load has returned: the read transaction its gets keep is renewed after every commit."""
    import subprocess
    import sys

    batch, nb = 50, 20
    allrecs = make_records(batch * nb, seed=9)
    f = fields()
    np.save(tmp_path / "codes.npy", np.array([int(getattr(r, f[30])) for r in allrecs], dtype=np.uint64))
    mark = tmp_path / "mark"

    def put(k: int) -> None:  # whole, at once
        (tmp_path / "mark.tmp").write_text(str(k))
        (tmp_path / "mark.tmp").replace(mark)

    store.load(allrecs[:batch], operator=OP)
    put(0)
    p = subprocess.Popen([sys.executable, "-c", GETTER_SCRIPT, str(store.path), str(batch), str(mark),
                          str(tmp_path / "codes.npy"), READER.operator_id, READER.terminal_id, PURPOSE],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    for k in range(1, nb):
        store.load(allrecs[k * batch : (k + 1) * batch], operator=OP)
        put(k)
        time.sleep(0.01)  # let the reader get a while at this snapshot
    put(-1)
    out, _ = p.communicate(timeout=60)
    rounds, bad = map(int, out.split())
    assert p.returncode == 0 and rounds > nb and bad == 0


def _exit_code_of_child(child: Callable[[], int]) -> int:
    """Forks; the child runs ``child`` and exits with what it returns (1 if it raises)."""
    import os

    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = child()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_forked_child_cannot_use_the_parents_store(store):
    """LMDB forbids using an environment inherited through fork: the handle and a reopen both refuse."""
    store.load(make_records(5, seed=12), operator=OP)

    def child() -> int:
        with pytest.raises(ForkedStore):
            store.get(person_id=1)
        with pytest.raises(ForkedStore):
            Store.open(store.path, readonly=True)
        return 0

    assert _exit_code_of_child(child) == 0
    assert store.get(person_id=1) is not None


def test_a_forked_child_can_reopen_once_it_has_dropped_the_inherited_handle(tmp_path):
    """The parent's last get keeps its read transaction (and reader slot) at the fork; the child,
    having let go of every inherited handle, opens the store itself and reads, and the parent
    reads on unaffected."""
    import gc

    held = [new_store(tmp_path / "s", roles=ROLES)]  # the child lets go of it by emptying the list
    held[0].load(make_records(5, seed=13), operator=OP)
    path = held[0].path
    assert held[0].get(person_id=1) is not None  # kept until 25-50 ms after this

    def child() -> int:
        with pytest.raises(ForkedStore):
            held[0].get(person_id=1)
        held.clear()
        gc.collect()
        return 0 if open_store(path).get(person_id=2) is not None else 2

    assert _exit_code_of_child(child) == 0
    s = held[0]
    s.load(make_records(3, seed=13, start=5), operator=OP)
    assert s.get(person_id=8) is not None and s.verify().ok


def test_an_unsynced_block_is_this_threads_own(store):
    """Inside ``store.unsynced()`` this thread's writes skip fsync; another thread's writes meanwhile
    still sync (LMDB's no-sync flag is the environment's: the core syncs them itself). Blocks nest,
    and what a block wrote is all there when it ends."""
    seen: dict[str, bool] = {}
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        inside.wait(timeout=30)
        seen["other"] = store._durable()
        before = store._native.forced_syncs
        store.load(make_records(5, seed=31, start=500), operator=OP)  # durable, during the block
        seen["other synced its write"] = store._native.forced_syncs == before + 1
        leave.set()

    t = threading.Thread(target=other)
    t.start()
    try:
        with store.unsynced():
            seen["outer"] = store._durable()
            with store.unsynced():
                seen["nested"] = store._durable()
                store.load(make_records(20, seed=31), operator=OP)
                seen["block's own write unsynced"] = store._native.forced_syncs == 0
            seen["after nested"] = store._durable()
            inside.set()
            leave.wait(timeout=30)
    finally:
        inside.set()
        t.join()
    assert seen == {"outer": False, "nested": False, "block's own write unsynced": True, "after nested": False,
                    "other": True, "other synced its write": True}
    assert store._durable()
    assert store.stats()["persons"] == 25 and store.verify().ok


def test_readonly_open_refuses_writes_while_the_store_is_open_for_writing(tmp_path):
    """A process has one native handle per directory: a read-only open of a store this process has
    open for writing shares the writable one, and used to write through it. It refuses writes as a
    read-only handle of its own does, and the writable handle still writes."""
    from jukistore.retention import holds

    p = tmp_path / "s"
    s = new_store(p, roles=ROLES)
    s.load(make_records(3), operator=OP)
    ro = open_store(p, readonly=True)
    with pytest.raises(ReadOnlyStore):
        ro.load(make_records(1, start=10), operator=OP)
    with pytest.raises(ReadOnlyStore):
        ro.acting(READER, PURPOSE).load(make_records(1, start=10), operator=OP)
    with pytest.raises(ReadOnlyStore):
        holds.place(ro, 1, case="X-1", operator=OP)
    with pytest.raises(ReadOnlyStore):
        ro.roles.grant("newcomer", "clerk", by=ADMIN)
    with pytest.raises(ReadOnlyStore):
        ro.roles.revoke(READER.operator_id, "clerk", by=ADMIN)
    assert not s.roles.known("newcomer") and s.roles.has_role(READER.operator_id, "clerk")
    assert ro.roles.has_right(READER.operator_id, "read")
    assert ro.get(person_id=1) is not None and len(ro.get_many([1, 2, 3], by="person_id")) == 3
    assert ro.stats()["persons"] == 3 and ro.verify().ok
    s.load(make_records(1, start=10), operator=OP)
    assert ro.stats()["persons"] == 4


def test_a_source_failing_mid_load_says_how_many_records_went_in(tmp_path, capsys):
    """A file whose row 3 is cut short fails while the load reads it: the batches before it are
    written (one of them was already handed to the core), and the error, like a RecordError, counts
    them in ``committed``, which the CLI reports, so the file is not simply loaded again."""
    from jukistore import fileio
    from jukistore.cli import main
    from jukistore.fileio.problems import RecordFormatError

    recs = make_records(5, seed=9)
    good = tmp_path / "m.txt"
    fileio.write_fixed(good, "jumin_kihon", recs)
    raw = good.read_bytes()
    cut = tmp_path / "cut.txt"
    cut.write_bytes(raw[: 2 * len(raw) // 5 + 100])
    s = new_store(tmp_path / "s", roles=ROLES)
    with pytest.raises(RecordFormatError) as ei:
        s.load(fileio.iter_records(cut, "jumin_kihon"), operator=OP, batch_size=1)
    assert ei.value.committed == 2 == s.stats()["persons"]  # type: ignore[attr-defined]
    del s
    import gc

    gc.collect()
    env = ["--operator", OP.operator_id, "--terminal", OP.terminal_id]
    store = tmp_path / "s2"
    assert main(["init", str(store), "--municipality", "131075", "--operator", ADMIN.operator_id,
                 "--terminal", ADMIN.terminal_id]) == 0
    assert main(["operators", "grant", str(store), OP.operator_id, "clerk", "--operator", ADMIN.operator_id,
                 "--terminal", ADMIN.terminal_id]) == 0
    capsys.readouterr()
    assert main(["load", str(store), str(cut), "--batch-size", "1", *env]) == 2
    assert "2 records committed before it" in capsys.readouterr().err


def test_a_duplicate_is_reported_at_its_first_row(store):
    """The core checks a batch's numbers in their own order, so it named the row of the smallest
    number in use, not the first row using one: with rows 1 and 2 both taken, row 2 could be named
    and the file fixed there only to fail again at row 1."""
    recs = make_records(8)
    store.load(recs[:3], operator=OP)
    codes = [r.juminhyo_code for r in recs[:3]]
    lo, hi = sorted(range(3), key=lambda i: codes[i])[0], sorted(range(3), key=lambda i: codes[i])[-1]
    with pytest.raises(DuplicateNumber) as ei:
        store.load([recs[5], recs[hi], recs[lo]], operator=OP)  # the smaller code at row 2
    assert (ei.value.row, ei.value.field) == (1, "juminhyo_code") and codes[hi][-4:] in str(ei.value)
    # A 個人番号 in use at row 1 comes before a 住民票コード in use at row 2 (the core checks codes first).
    rows = [recs[6], with_field(recs[4], 81, recs[0].mynumber), with_field(recs[7], 30, codes[1])]
    with pytest.raises(DuplicateNumber) as ei:
        store.load(rows, operator=OP, batch_size=2)
    assert (ei.value.row, ei.value.field, ei.value.committed) == (1, "mynumber", 0)  # type: ignore[attr-defined]
    # Rows are counted over the whole load; a number repeated within the batch counts too.
    rows = [recs[4], recs[5], recs[6], with_field(recs[7], 30, recs[5].juminhyo_code), recs[1]]
    with pytest.raises(DuplicateNumber) as ei:
        store.load(rows, operator=OP, batch_size=2)
    assert ei.value.row == 3 and ei.value.field == "juminhyo_code"
    assert store.stats()["persons"] == 5 and store.verify().ok


def test_every_native_store_method_is_known_as_a_read_or_a_write():
    """A read-only open that shares the process's writable handle refuses the writes it knows by
    name: a native method added later must be sorted into reads or writes here first."""
    from jukistore import _core
    from jukistore.store import _NATIVE_WRITES

    reads = {"as_known", "as_known_many", "as_of", "as_of_many", "changes", "copy_compacted", "create",
             "force_sync", "forced_syncs", "get", "get_many", "history", "holds", "last_seq",
             "mailing_count_before", "mailing_list", "meta", "name_keys_shared", "numbers_of",
             "numbers_shared", "open", "path", "person", "proposal", "proposals", "readonly",
             "rebuild_into", "removed_persons", "search", "seq_at", "stats", "superseded_versions",
             "unsynced_begin", "unsynced_end", "verify"}
    public = {n for n in dir(_core.NativeStore) if not n.startswith("_")}
    assert _NATIVE_WRITES <= public, sorted(_NATIVE_WRITES - public)
    assert not reads & _NATIVE_WRITES
    assert public - _NATIVE_WRITES == reads, sorted((public - _NATIVE_WRITES) ^ reads)


def test_search_criteria_and_batch_sizes_of_the_wrong_type_are_query_errors(store):
    """``search(birth_date=19800101)`` ended in a TypeError from ``len``; ``load(batch_size=1.5)``
    loaded batches of one and a half records' slicing."""
    store.load(make_records(3, seed=12), operator=OP)
    for kw in ({"birth_date": 19800101, "address": "東京都"}, {"name_kana": b"\xe3\x82\xa2", "address": "東京都"},
               {"name_kana": "ヤマダ", "address": ["東京都"]}, {"name_kana": "ヤマダ", "address": "東京都", "sex": 1}):
        with pytest.raises(QueryError, match="must be text"):
            store.search(**kw)
    for size in (1.5, True, "10"):
        with pytest.raises(QueryError, match="batch_size"):
            store.load(make_records(2, seed=13, start=50), operator=OP, batch_size=size)
    assert store.stats()["persons"] == 3
