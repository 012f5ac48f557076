"""The hash-chained journal: every kind of tampering found and located, retention that keeps
verification working, torn lines, and appends from several processes into one chain."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

import pytest

from jukistore.access.journal import Journal, verify
from jukistore.cli import main
from store_support import run_at_once

UTC = dt.timezone.utc


def at(month: int, i: int = 0) -> dt.datetime:
    return dt.datetime(2024, month, 1, tzinfo=UTC) + dt.timedelta(minutes=i)


def journal(tmp_path: Path, **kw) -> Journal:  # type: ignore[no-untyped-def]
    return Journal(tmp_path / "audit" / "access", tmp_path / "audit" / "key", checkpoint_every=10, **kw)


@pytest.fixture
def filled(tmp_path: Path) -> Journal:
    """25 entries in March 2024, one segment, checkpoints after entries 10 and 20."""
    j = journal(tmp_path)
    for i in range(25):
        j.append({"op": f"clerk{i % 3}", "act": "get_many", "n": i, "persons": [i, i + 1]}, at=at(3, i))
    return j


def seg_lines(j: Journal, name: str = "202403.log") -> list[bytes]:
    return (j.dir / name).read_bytes().splitlines(keepends=True)


def write_lines(j: Journal, lines: list[bytes], name: str = "202403.log") -> None:
    (j.dir / name).write_bytes(b"".join(lines))


def problems(j: Journal) -> list[str]:
    return [str(p) for p in verify(j).problems]


def test_an_untouched_journal_verifies(filled: Journal) -> None:
    rep = verify(filled)
    assert rep.ok and rep.entries == 25 and rep.checkpoints == 2 and rep.segments == ["202403.log"]


def test_a_flipped_byte_is_found_at_its_line(filled: Journal) -> None:
    lines = seg_lines(filled)
    k = 7  # 0-based: line 8, entry 8
    i = lines[k].index(b'"n":7') + 4
    lines[k] = lines[k][:i] + b"8" + lines[k][i + 1 :]  # still valid JSON, one digit changed
    write_lines(filled, lines)
    assert problems(filled) == ["202403.log line 8: entry 8 was changed (its hash does not match)"]


def test_a_byte_flip_that_breaks_the_json_is_found_too(filled: Journal) -> None:
    lines = seg_lines(filled)
    lines[3] = lines[3][:5] + bytes([lines[3][5] ^ 0x20]) + lines[3][6:]
    write_lines(filled, lines)
    found = problems(filled)
    assert found and found[0].startswith("202403.log line 4:")


def test_a_deleted_entry_is_found_where_the_gap_is(filled: Journal) -> None:
    lines = seg_lines(filled)
    del lines[4]  # entry 5
    write_lines(filled, lines)
    found = problems(filled)
    assert found[0] == "202403.log line 5: sequence 6 where 5 was expected (an entry deleted before this line)"


def test_an_inserted_entry_is_found(filled: Journal) -> None:
    lines = seg_lines(filled)
    lines.insert(12, lines[2])  # a copy of entry 3 put after entry 12
    write_lines(filled, lines)
    found = problems(filled)
    assert found[0].startswith("202403.log line 13: sequence 3 where 13 was expected")


def test_a_forged_entry_with_a_fresh_hash_is_found_by_its_link(filled: Journal) -> None:
    """Someone who recomputes the changed entry's own hash still breaks the next entry's link."""
    from jukistore.access.journal import entry_hash

    lines = seg_lines(filled)
    d = json.loads(lines[14])
    d["body"]["op"] = "someone-else"
    d["hash"] = entry_hash(d["prev"], d["seq"], d["at"], d["body"])
    lines[14] = json.dumps(d, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    write_lines(filled, lines)
    assert problems(filled) == ["202403.log line 16: entry 16 does not link to the entry before it "
                                "(an entry replaced, inserted or moved)"]


def test_reordered_entries_are_found(filled: Journal) -> None:
    lines = seg_lines(filled)
    lines[8], lines[9] = lines[9], lines[8]
    write_lines(filled, lines)
    found = problems(filled)
    assert found[0].startswith("202403.log line 9: sequence 10 where 9 was expected")
    assert any(p.startswith("202403.log line 10: sequence 9 where 11 was expected") for p in found)


def test_dropping_the_tail_of_a_closed_segment_is_found(tmp_path: Path) -> None:
    j = journal(tmp_path)
    for i in range(15):
        j.append({"n": i}, at=at(3, i))
    j.append({"n": 99}, at=at(4))  # closes March with a final checkpoint
    lines = seg_lines(j)
    write_lines(j, lines[:-2])  # entries 14 and 15 removed, chain of what is left still intact
    found = problems(j)
    assert "202403.log: sealed with 15 entries, holds 13 (entries deleted or added after it was closed)" in found
    assert any(p.startswith("202404.log line 1: sequence 16 where 14 was expected") for p in found)


def test_deleting_a_whole_segment_is_found(tmp_path: Path) -> None:
    j = journal(tmp_path)
    for m in (3, 4, 5):
        for i in range(3):
            j.append({"n": i}, at=at(m, i))
    (j.dir / "202404.log").unlink()
    found = problems(j)
    assert "202404.log: segment is missing and was not retired (deleted)" in found


def test_a_changed_or_deleted_checkpoint_is_found(filled: Journal) -> None:
    cp = filled.dir / "checkpoints"
    lines = cp.read_bytes().splitlines(keepends=True)
    d = json.loads(lines[0])
    d["count"] = 9
    cp.write_bytes(json.dumps(d).encode() + b"\n" + b"".join(lines[1:]))
    assert problems(filled) == ["checkpoints line 1: seal does not match (changed, or forged without the key)"]
    cp.write_bytes(b"".join(lines[1:]))
    assert problems(filled) == ["checkpoints line 1: does not follow the checkpoint before it "
                                "(one deleted, inserted or moved)"]


def test_a_rewritten_chain_fails_against_the_sealed_checkpoint(filled: Journal) -> None:
    """Rewriting every hash from a changed entry on makes a consistent chain, but not the one sealed."""
    from jukistore.access.journal import GENESIS, entry_hash

    lines = [json.loads(x) for x in seg_lines(filled)]
    lines[2]["body"]["op"] = "nobody"
    prev = GENESIS
    out = []
    for d in lines:
        d["prev"] = prev
        d["hash"] = prev = entry_hash(prev, d["seq"], d["at"], d["body"])
        out.append(json.dumps(d, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    write_lines(filled, out)
    assert problems(filled) == ["202403.log line 10: entry 10 differs from its sealed checkpoint",
                                "202403.log line 20: entry 20 differs from its sealed checkpoint"]


def test_retire_keeps_checkpoints_so_what_remains_verifies(tmp_path: Path) -> None:
    j = journal(tmp_path)
    for m in (1, 2, 3, 4):
        for i in range(12):
            j.append({"n": m * 100 + i}, at=at(m, i))
    assert j.retire(dt.date(2024, 3, 15)) == ["202401.log", "202402.log"]
    rep = verify(j)
    assert rep.ok, rep.problems
    assert rep.segments == ["202403.log", "202404.log"] and rep.retired == ["202401.log", "202402.log"]
    assert rep.entries == 24 and [e.seq for e in j.entries()][:1] == [25]
    # The newest segment is never retired, and appending goes on from the chain's end.
    assert j.retire(dt.date(2030, 1, 1)) == ["202403.log"]
    j.append({"n": 1}, at=at(4, 30))
    assert verify(j).ok and [e.seq for e in j.entries()] == list(range(37, 50))
    # Tampering with what remains is still found.
    lines = seg_lines(j, "202404.log")
    del lines[0]
    write_lines(j, lines, "202404.log")
    assert problems(j)[0] == "202404.log line 1: sequence 38 where 37 was expected (an entry deleted before this line)"


def test_a_retired_segment_that_reappears_is_reported(tmp_path: Path) -> None:
    j = journal(tmp_path)
    for m in (1, 2):
        j.append({"n": m}, at=at(m))
    saved = (j.dir / "202401.log").read_bytes()
    j.retire(dt.date(2024, 2, 1))
    (j.dir / "202401.log").write_bytes(saved)
    assert "202401.log: segment was recorded as retired but is present" in problems(j)


def test_a_torn_last_line_is_closed_reported_and_the_chain_goes_on(filled: Journal, tmp_path: Path) -> None:
    with open(filled.dir / "202403.log", "ab") as f:
        f.write(b'{"seq":26,"prev":"ab')  # a write cut short
    again = journal(tmp_path)  # another process, say
    e = again.append({"n": "after"}, at=at(3, 40))
    assert e.seq == 26 and e.line == 27
    found = problems(again)
    assert found == ["202403.log line 26: not an entry (changed bytes or a torn line)"]


def test_a_clock_going_back_does_not_reorder_segments(filled: Journal) -> None:
    filled.append({"n": "april"}, at=at(4))
    e = filled.append({"n": "late"}, at=at(3, 50))
    assert e.segment == "202404.log" and verify(filled).ok


APPENDER = """
import sys, datetime as dt
from jukistore.access.journal import Journal
j = Journal(sys.argv[1], sys.argv[2], checkpoint_every=7)
for i in range(int(sys.argv[3])):
    j.append({"who": sys.argv[4], "i": i})
j.close()
"""


def test_processes_appending_at_once_make_one_chain(tmp_path: Path) -> None:
    d, key = tmp_path / "audit" / "access", tmp_path / "audit" / "key"
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, str(d), str(key), "300", f"p{k}"]) for k in range(3)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    j = Journal(d, key)
    rep = verify(j)
    assert rep.ok, rep.problems[:3]
    es = list(j.entries())
    assert [e.seq for e in es] == list(range(1, 901))
    for k in range(3):
        assert [e.body["i"] for e in es if e.body["who"] == f"p{k}"] == list(range(300))


def test_cli_audit_verify_names_the_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from store_support import new_store

    s = new_store(tmp_path / "s")
    s.get_many([1, 2, 3])
    s.get(person_id=1)
    s.audit.flush()  # reads are written in groups; the command reads the files
    assert main(["audit", "verify", str(s.path)]) == 0
    assert "intact" in capsys.readouterr().out
    seg = next((s.path / "audit" / "access").glob("*.log"))
    lines = seg.read_bytes().splitlines(keepends=True)
    seg.write_bytes(lines[1] + lines[0] + b"".join(lines[2:]))
    assert main(["audit", "verify", str(s.path), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert not out["ok"] and out["logs"]["roles"]["problems"] == []
    assert out["logs"]["access"]["problems"][0].startswith(f"{seg.name} line 1: sequence 2 where 1 was expected")


# ---- threads and the month's end ----------------------------------------------------------------

def test_entries_appended_by_threads_across_a_month_end_are_found_in_their_month(tmp_path: Path) -> None:
    """A thread that read 23:59:59 of the 31st and lost the lock to one that read 00:00 of the 1st
    writes its entry after February's segment was opened, so into it (the chain stays in order);
    a query for January 31st still finds every entry of that day."""
    from jukistore.access.journal import _us

    feb = dt.datetime(2024, 2, 1, tzinfo=UTC)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for attempt in range(10):
            tick = [0]
            tick_lock = threading.Lock()

            def clock() -> dt.datetime:  # strictly increasing, crossing into February
                with tick_lock:
                    tick[0] += 1
                    return feb + dt.timedelta(microseconds=tick[0] - 200)

            d = tmp_path / f"a{attempt}"
            d.mkdir()
            j = Journal(d / "audit" / "access", d / "audit" / "key", clock=clock, flush_every=64)
            barrier = threading.Barrier(4)

            def work(k: int) -> None:
                barrier.wait()
                for i in range(100):
                    j.append({"op": f"t{k}", "act": "get", "i": i, "n": 0, "persons": []}, sync=False)

            errors = run_at_once(*[lambda k=k: work(k) for k in range(4)])  # type: ignore[misc]
            assert not errors, errors
            j.close()
            day, end = feb - dt.timedelta(days=1), feb - dt.timedelta(microseconds=1)
            scanned = [e.seq for e in j.entries() if _us(day) <= e.at < _us(end)]
            queried = [e.seq for e in j.entries(since=day, until=end)]
            assert scanned and queried == scanned, f"attempt {attempt}"
            assert verify(j).ok
    finally:
        sys.setswitchinterval(old)


def test_an_entry_buffered_over_midnight_is_found_in_its_month(tmp_path: Path) -> None:
    """Without threads: a group-commit entry buffered at 23:59:59.9 and written after another
    writer of the log (a process) opened February goes into February's segment; a query for
    January 31st finds it."""
    feb = dt.datetime(2024, 2, 1, tzinfo=UTC)
    d, key = tmp_path / "audit" / "access", tmp_path / "audit" / "key"
    p1, p2 = Journal(d, key), Journal(d, key)  # two writers of one log, as two processes are
    p1.append({"op": "a", "act": "get", "n": 1, "persons": [7]}, at=feb - dt.timedelta(milliseconds=100), sync=False)
    p2.append({"op": "b", "act": "get", "n": 1, "persons": [8]}, at=feb + dt.timedelta(milliseconds=50))
    p1.flush()
    assert sorted(p.name for p in d.glob("*.log")) == ["202402.log"]
    found = [e.body["op"] for e in p1.entries(since=feb - dt.timedelta(days=1), until=feb - dt.timedelta(milliseconds=1))]
    assert found == ["a"]
    assert [e.body["op"] for e in p1.entries(since=feb)] == ["b"]
    assert verify(p1).ok


def test_journals_creating_the_key_at_once_all_read_the_whole_key(tmp_path: Path) -> None:
    """The key file is written under another name and linked into place: a journal reading it
    while another creates it finds no file or the whole key, never an empty one, and all agree."""
    from jukistore.access.log import Audit

    for attempt in range(300):
        d = tmp_path / f"s{attempt}"
        d.mkdir()
        a = Audit(d)  # three journals sharing <d>/audit/key, not created yet
        barrier = threading.Barrier(3)
        keys: list[bytes] = []

        def load(j: Journal) -> None:
            barrier.wait()
            keys.append(j.key)

        errors = run_at_once(*[lambda j=j: load(j) for j in a.journals().values()])  # type: ignore[misc]
        assert not errors, f"attempt {attempt}: {errors}"
        assert len(keys) == 3 and len(set(keys)) == 1 and len(keys[0]) == 32
        assert [p.name for p in (d / "audit").iterdir() if p.name.startswith(".key")] == []


def test_a_journal_closed_then_appended_to_keeps_one_flusher(tmp_path: Path) -> None:
    """Close ends the flusher thread; a buffered append after it starts a new one, and the old one
    ends rather than both running on."""
    import time

    j = journal(tmp_path, flush_after=0.01)
    old: list[threading.Thread] = []
    for k in range(3):
        j.append({"op": "a", "act": "get", "n": 1, "persons": [k]}, at=at(3, k), sync=False)
        assert j._flusher is not None
        old.append(j._flusher)
        j.close()
    j.append({"op": "a", "act": "get", "n": 1, "persons": [9]}, at=at(3, 9), sync=False)
    time.sleep(0.2)  # every old flusher wakes at least once
    assert [t.is_alive() for t in old] == [False] * 3
    assert j._flusher is not None and j._flusher.is_alive() and j._flusher not in old
    j.close()
    assert [e.body["persons"] for e in j.entries()] == [[0], [1], [2], [9]] and verify(j).ok


def test_verify_and_reads_during_retirement_see_it_whole(tmp_path: Path) -> None:
    """A retirement writes its record, then deletes the segment. Verification reads the records and
    the list of segments together under the journal's lock, and reads skip a segment deleted
    since they listed it: neither reports a deletion nor fails while another thread retires."""
    for r in range(4):
        (tmp_path / f"r{r}").mkdir()
        j = journal(tmp_path / f"r{r}")
        for m in range(1, 13):
            for i in range(5):
                j.append({"op": "clerk", "act": "get", "n": 1, "persons": [m * 10 + i]}, at=at(m, i))
        stop = threading.Event()
        reports: list[Any] = []
        errors: list[BaseException] = []

        def check() -> None:
            try:
                while not stop.is_set():
                    reports.append(verify(j))
                    sum(1 for _ in j.entries())
            except BaseException as e:  # noqa: BLE001 - reported by the test
                errors.append(e)

        t = threading.Thread(target=check)
        t.start()
        try:
            for m in range(2, 13):
                j.retire(dt.date(2024, m, 1))
        finally:
            stop.set()
            t.join()
        assert not errors, errors
        assert reports and all(rep.ok for rep in reports), [rep.problems for rep in reports if not rep.ok][:1]
        assert len(j._segments()) == 1 and verify(j).ok


def test_entries_wait_for_a_flush_in_progress(tmp_path: Path) -> None:
    """The flusher takes the buffer, then waits for the file lock (another writer holds it):
    entries() meanwhile waits for that flush rather than reading the files without the entry."""
    import time

    j = journal(tmp_path, flush_after=0.05)
    other = journal(tmp_path)  # another writer of the same log, as another process is
    lock = other._lock()
    try:
        j.append({"op": "me", "act": "get", "n": 1, "persons": [1]}, at=at(3), sync=False)
        time.sleep(0.3)  # the flusher has taken the buffer and waits for the lock
        reader = threading.Thread(target=lambda: found.extend(e.body["op"] for e in j.entries()))
        found: list[str] = []
        reader.start()
        time.sleep(0.2)
    finally:
        other._unlock(lock)
    reader.join(timeout=30)
    assert found == ["me"]


def test_verifying_a_copy_writes_nothing_into_it(tmp_path: Path, filled: Journal) -> None:
    """A copy of a journal without its lock file (a backup) is verified as it is."""
    import shutil

    copy = tmp_path / "copy" / "audit" / "access"
    shutil.copytree(filled.dir, copy, ignore=shutil.ignore_patterns("lock"))
    before = sorted(p.name for p in copy.iterdir())
    assert verify(Journal(copy, filled.key_path)).ok
    assert sorted(p.name for p in copy.iterdir()) == before


def test_a_torn_first_line_of_a_segment_does_not_stop_later_writers(tmp_path: Path) -> None:
    """A crash during the first write of a month leaves a segment beginning with a torn line; the
    writers after it, in other processes too, go on (the torn line is reported, not fatal)."""
    j = journal(tmp_path)
    for i in range(5):
        j.append({"n": i}, at=at(3, i))

    def torn(lines: list[bytes]) -> None:  # the process dies in the middle of this write
        if lines:
            os.write(j._fd, b"".join(lines)[:20])  # type: ignore[arg-type]
            raise OSError("killed")

    j._write = torn  # type: ignore[method-assign]
    with pytest.raises(OSError):
        j.append({"n": 5}, at=at(4, 0))  # seals March, opens April, and is cut short
    journal(tmp_path).append({"n": 6}, at=at(4, 1))
    e = journal(tmp_path).append({"n": 7}, at=at(4, 2))  # a third process reads the segment afresh
    assert e is not None and e.seq == 7
    assert problems(j) == ["202404.log line 1: not an entry (changed bytes or a torn line)"]


def test_a_torn_line_does_not_make_a_later_writer_miscount_the_segment(tmp_path: Path) -> None:
    """The final checkpoint counts the segment's entries whichever process seals it, so a torn line
    left by a crash is reported once, as itself, and not also as entries deleted or added."""
    j = journal(tmp_path)
    for i in range(5):
        j.append({"n": i}, at=at(3, i))
    with open(j.dir / "202403.log", "ab") as f:
        f.write(b'{"seq":6,"prev":"ab')  # a write cut short
    journal(tmp_path).append({"n": 5}, at=at(3, 10))  # closes the torn line
    later = journal(tmp_path)
    later.append({"n": 6}, at=at(3, 11))
    later.append({"n": 7}, at=at(4, 0))  # seals March
    assert problems(later) == ["202403.log line 6: not an entry (changed bytes or a torn line)"]


@pytest.mark.parametrize("edit", [
    lambda d: [1, 2],
    lambda d: {k: v for k, v in d.items() if k != "segment"},
    lambda d: {**d, "last_seq": "10"},
    lambda d: {**d, "count": None},
])
def test_a_checkpoint_record_of_the_wrong_shape_is_reported_not_fatal(filled: Journal, edit: Any) -> None:
    cp = filled.dir / "checkpoints"
    lines = cp.read_bytes().splitlines(keepends=True)
    lines[0] = json.dumps(edit(json.loads(lines[0]))).encode() + b"\n"
    cp.write_bytes(b"".join(lines))
    found = problems(filled)
    assert found and found[0].startswith("checkpoints line 1: ")


@pytest.mark.parametrize("old, new", [
    (b'"seq":8,', b'"seq":"8",'),
    (b'"prev":"', b'"prev":1,"was":"'),
    (b'"at":', b'"at":"x","was":'),
    (b'"body":{', b'"body":[],"was":{'),
])
def test_an_entry_with_fields_of_the_wrong_type_is_reported_not_fatal(filled: Journal, old: bytes, new: bytes) -> None:
    lines = seg_lines(filled)
    assert old in lines[7]
    lines[7] = lines[7].replace(old, new, 1)
    write_lines(filled, lines)
    found = problems(filled)
    assert found and found[0].startswith("202403.log line 8: ")


def test_deleted_checkpoints_of_a_closed_segment_are_found(tmp_path: Path) -> None:
    """Without its checkpoints a segment's chain can be rewritten by anyone; a closed segment always
    has a sealed final checkpoint, so one without it is reported."""
    j = journal(tmp_path)
    for m in (3, 4):
        for i in range(5):
            j.append({"n": i}, at=at(m, i))
    (j.dir / "checkpoints").unlink()
    assert problems(j) == ["202403.log: closed without a sealed final checkpoint (checkpoints deleted)"]


def test_a_torn_checkpoint_line_does_not_swallow_the_next_checkpoint(tmp_path: Path) -> None:
    """A crash while a checkpoint was written leaves a line without its newline; the next
    checkpoint is written on a line of its own, not glued to the torn one and lost with it."""
    j = journal(tmp_path)
    for i in range(12):
        j.append({"n": i}, at=at(3, i))
    with open(j.dir / "checkpoints", "ab") as f:
        f.write(b'{"count":12,"final":fa')  # cut short
    again = journal(tmp_path)
    for i in range(12, 22):
        again.append({"n": i}, at=at(3, i))  # seals a checkpoint after entry 21
    rep = verify(again)
    assert [str(p) for p in rep.problems] == ["checkpoints line 2: not a checkpoint record (changed or torn)"]
    assert rep.checkpoints == 2
