"""Crash safety: a loading process killed with SIGKILL at random moments, many times.

After every kill the store opens, ``verify()`` is clean, every batch the loader acknowledged is
there, and every batch is either wholly present or wholly absent (a batch that committed just
before the kill, before its acknowledgement was printed, may be present).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from jukistore import Store

from store_support import fields, make_records, new_store, open_store

HERE = Path(__file__).parent
BATCH = 300
SEED = 21

LOADER = f"""
import os
import sys
sys.path.insert(0, {str(HERE)!r})
from jukistore import Store, Operator
from store_support import make_records
s = Store.open(sys.argv[1])
k = s.stats()["persons"] // {BATCH}
op = Operator("loader", "crash-test")
while True:
    s.load(make_records({BATCH}, seed={SEED}, start=k * {BATCH}), operator=op, batch_size={BATCH},
           durable=sys.argv[2] == "durable")
    os.write(1, b"ACK %d\\n" % k)  # one write: a kill cannot tear the line
    k += 1
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("mode", ["durable", "unsynced"])
def test_sigkill_during_loads_never_leaves_a_partial_batch(tmp_path, mode):
    """Unsynced loads (``durable=False``) too: a killed process loses nothing committed (what LMDB
    wrote without fsync is in the page cache); only a system crash could."""
    path = tmp_path / "s"
    new_store(path, roles={"loader": ["clerk"]})
    rng = random.Random(5)
    f = fields()
    acked = -1
    kills = 0
    for _ in range(12):
        p = subprocess.Popen([sys.executable, "-c", LOADER, str(path), mode], stdout=subprocess.PIPE)
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True)  # type: ignore[arg-type]
        reader.start()
        time.sleep(rng.uniform(0.3, 1.5))
        p.send_signal(signal.SIGKILL)
        p.wait()
        reader.join()
        kills += 1
        for line in lines:
            m = re.fullmatch(rb"ACK (\d+)\n", line)
            if m:  # anything else is not an acknowledgement (a kill can cut the last line short)
                acked = max(acked, int(m[1]))

        s = open_store(path)
        rep = s.verify()
        assert rep.ok, rep.problems[:5]
        n = s.stats()["persons"]
        assert n % BATCH == 0, f"{n} persons is not a whole number of batches"
        assert n // BATCH >= acked + 1, "an acknowledged batch is missing"
        # Every batch present is present whole, with the right records, and nothing beyond.
        loaded = make_records(n + BATCH, seed=SEED)
        codes = np.array([int(getattr(r, f[30])) for r in loaded], dtype=np.uint64)
        found = s.get_many(codes).found
        assert found[:n].all() and not found[n:].any()
    assert kills == 12
    assert acked >= 1, "the loader never got going; the test proved nothing"
