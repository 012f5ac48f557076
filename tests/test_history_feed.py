"""The change feed across processes: a follower killed at random moments and restarted, while a
writer in another process keeps applying events, ends with every change exactly once, in order.

The follower keeps a journal (its output) and a :class:`~jukistore.history.FileCursor`: it
appends a batch to the journal and syncs it, then commits the cursor; on start it cuts the journal
back to the cursor, dropping a batch written but not committed. That is the recipe of
:mod:`jukistore.history.feed` for exactly-once delivery into a file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jukistore import Store
from jukistore.history import Register
from jukistore.store import Operator

from store_support import READER, make_records, new_store

HERE = Path(__file__).parent

WRITER = r"""
import random, sys, time
sys.path.insert(0, {here!r})
from jukistore import Store
from jukistore.history import Event, EventCode, Register
from jukistore.store import Operator
from store_support import READER, make_records, new_store
op = Operator("writer", "w-01")
reg = Register(Store.open({path!r}))
rng = random.Random(5)
done, pos = 0, 10_000
while done < {total}:
    n = min(rng.randint(1, 25), {total} - done)
    evs = []
    for _ in range(n):
        if rng.random() < 0.2:
            evs.append(Event(EventCode.転入, "20240401", record=make_records(1, seed=31, start=pos)[0]))
            pos += 1
        else:
            evs.append(Event(EventCode.転居, "20240401", person=rng.randint(1, 50),
                             changes={{8: f"東京都墨田区押上{{done}}-{{rng.randint(1, 99)}}"}}))
    reg.apply(evs, operator=op)
    done += n
    time.sleep(rng.random() * 0.04)
"""

FOLLOWER = r"""
import json, os, sys
from jukistore import Store
from jukistore.history import Feed, FileCursor, Register
from jukistore.store import Operator
journal, cursor, target = {journal!r}, {cursor!r}, {target}
cur = FileCursor(cursor)
pos = cur.load()
# Cut the journal back to the cursor: a batch written but not committed is dropped (it comes again).
kept = []
if os.path.exists(journal):
    with open(journal, encoding="utf-8") as fh:
        for line in fh:
            if line.endswith("\n") and int(line.split("\t", 1)[0]) <= pos:
                kept.append(line)
    with open(journal + ".tmp", "w", encoding="utf-8") as fh:
        fh.writelines(kept)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(journal + ".tmp", journal)
feed = Feed(Register(Store.open({path!r}, readonly=True, operator=Operator({reader!r}, "f-01"), purpose="都道府県への通知")),
            cur, batch_size={batch})
with open(journal, "a", encoding="utf-8") as out:
    for batch in feed.batches(follow=True, wait=0.005, stop=lambda: feed.position >= target):
        for ch in batch:
            out.write(f"{{ch.seq}}\t{{ch.person_id}}\t{{json.dumps(ch.notification, ensure_ascii=False)}}\n")
        out.flush()
        os.fsync(out.fileno())
print(feed.position)
"""


def test_follower_killed_and_restarted_gets_every_change_once(tmp_path):
    path = tmp_path / "s"
    s = new_store(path, roles={"loader": ["clerk"], "writer": ["clerk"]})
    s.load(make_records(50, seed=31), operator=Operator("loader", "l-01"))
    total = 1500
    target = 50 + total
    journal, cursor = tmp_path / "journal.tsv", tmp_path / "cursor"
    writer = subprocess.Popen([sys.executable, "-c", WRITER.format(here=str(HERE), path=str(path), total=total)])
    follower_code = FOLLOWER.format(journal=str(journal), cursor=str(cursor), target=target, path=str(path), batch=37,
                                   reader=READER.operator_id)
    kills = 0
    try:
        # Kill the follower at random moments while the writer writes.
        rng = __import__("random").Random(3)
        while writer.poll() is None and kills < 5:
            f = subprocess.Popen([sys.executable, "-c", follower_code], stdout=subprocess.DEVNULL)
            time.sleep(0.6 + rng.random() * 0.6)
            if f.poll() is None:
                f.send_signal(signal.SIGKILL)
                kills += 1
            f.wait()
        assert writer.wait(timeout=120) == 0
        # The last follower runs to the end.
        out = subprocess.run([sys.executable, "-c", follower_code], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert int(out.stdout) == target
    finally:
        if writer.poll() is None:
            writer.kill()
    assert kills >= 2, kills
    lines = journal.read_text(encoding="utf-8").splitlines()
    assert [int(line.split("\t")[0]) for line in lines] == list(range(1, target + 1))
    reg = Register(s)
    assert reg.last_seq() == target
    for line, ch in zip(lines[::97], reg.changes(0, target)[::97]):
        seq, pid, note = line.split("\t")
        assert (int(seq), int(pid), json.loads(note)) == (ch.seq, ch.person_id, ch.notification)
    assert os.path.exists(cursor) and int(cursor.read_text()) == target
    # Followers killed at random moments left a log that still verifies (a killed follower loses
    # only the entries it had not yet written, see the journal's group commit), and the follower
    # that ran to its end logged its polls of the feed.
    rep = s.audit.verify()["access"]
    assert rep.ok, rep.problems
    polls = [e for e in s.audit.access.entries() if e.body["act"] == "changes"]
    assert polls and polls[-1].body["op"] == READER.operator_id
