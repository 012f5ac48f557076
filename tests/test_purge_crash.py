"""Crash safety of purge: a purging process killed with SIGKILL at random moments, many times.

After every kill the store opens, ``verify()`` is clean, no person already erased is back, and
leftovers of the rebuild exist only beside a journal that says the purge is unfinished. A final
run completes the purge: every due person's bytes are gone, every other record is intact.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from jukistore import Store
from jukistore.retention import purge
from jukistore.retention.receipt import receipts
from store_support import open_store
from test_purge import build, found, samples

CHILD = """
import datetime as dt, sys
from jukistore.retention import purge
from jukistore.retention.receipt import receipts
from jukistore.store import Operator
purge.run(sys.argv[1], dt.date(2026, 11, 27), operator=Operator("op-run", "t1"),
          approver=Operator("op-approve", "t2"), batch_size=10)
print("done", flush=True)
"""


def _check_after_kill(path, due, before, erased):
    """The store as a kill left it: consistent, nothing erased back, leftovers only mid-purge."""
    assert (path / "data.mdb").exists()
    if (path / purge.WORK_DIR).exists():
        assert (path / purge.JOURNAL).exists()
    store = open_store(path)
    rep = store.verify()
    assert rep.ok, rep.problems
    now_gone = {p for p in due if store.get(person_id=p) is None}
    assert erased <= now_gone, "an erased person came back"
    for p, person in before.items():
        if p not in due:
            assert store.get(person_id=p) == person
    return now_gone


def _check_finished(path, due, before, kept_pid):
    assert not (path / purge.JOURNAL).exists() and not (path / purge.WORK_DIR).exists()
    store = open_store(path)
    assert store.verify().ok
    for p, person in before.items():
        if p in due:
            assert store.get(person_id=p) is None
        else:
            assert store.get(person_id=p) == person
    # Every due person's bytes were searched by the run's own scan (its receipt); here a sample of
    # them is searched independently.
    blob = b"".join(f.read_bytes() for f in path.rglob("*") if f.is_file())
    for p in random.Random(len(due)).sample(sorted(due), 40):
        for b in samples(before[p].record):
            assert b not in blob
    last = receipts(path)[-1]
    assert last.scan["number_hits"] == 0 and last.scan["name_hits"] == 0
    assert found(path, samples(before[kept_pid].record)[0]) == ["data.mdb"]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_purge_never_loses_consistency_and_a_rerun_finishes(tmp_path):
    rng = random.Random(20261127)
    # How long a whole purge takes here, process start included: the kills fall within it.
    path, *_ = build(tmp_path / "calibrate", {"due": (3000, "20100315"), "kept": (300, "20200101"),
                                              "resident": (500, None)})
    t = time.monotonic()
    subprocess.run([sys.executable, "-c", CHILD, str(path)], check=True, capture_output=True, timeout=120)
    whole = time.monotonic() - t
    kills = rounds = 0
    phases: Counter[str] = Counter()
    deadline = time.monotonic() + 45
    while kills < 20 and time.monotonic() < deadline:
        rounds += 1
        path, recs, ids, who = build(tmp_path / f"r{rounds}", {
            "due": (3000, "20100315"), "kept": (300, "20200101"), "resident": (500, None)})
        due = set(ids["due"])
        store = open_store(path)
        before = {p: store.get(person_id=p) for g in ids.values() for p in g}
        del store
        erased: set[int] = set()
        while time.monotonic() < deadline:
            child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0.2, whole))
            child.send_signal(signal.SIGKILL)
            _, err = child.communicate()
            if child.returncode == 0:
                break  # finished before the kill
            assert child.returncode == -signal.SIGKILL, err.decode()
            kills += 1
            j = path / purge.JOURNAL
            phases[json.loads(j.read_bytes())["phase"] if j.exists() else "none"] += 1
            erased = _check_after_kill(path, due, before, erased)
        # A rerun finishes whatever the last kill interrupted.
        done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        _check_finished(path, due, before, ids["kept"][0])
    assert kills >= 12, f"only {kills} kills in {rounds} rounds"
    print(f"{kills} kills over {rounds} purges; journal phase at the kills: {dict(phases)}")
