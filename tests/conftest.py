"""Test-wide guard: a test must not leave threads running.

A test that starts threads and fails before stopping them would otherwise leave them running after
pytest has printed its summary; Python waits for such threads at exit, so the run never ends (and a
reader thread that logs every read fills the disk meanwhile). Each test's new threads must be gone
a few seconds after it; any left are reported as an error of that test, and if some still run
when pytest is done, the process exits with pytest's status instead of waiting for them.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Iterator

import pytest

GRACE = 5.0  # seconds a test's threads get to end after it


def _lingering(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since ``before`` that are alive and would keep the process from exiting
    (executor workers are joined and ended by the executor's own exit hook)."""
    return [t for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.daemon
            and not t.name.startswith("ThreadPoolExecutor")]


@pytest.fixture(autouse=True)
def _no_threads_left_running() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    left = _lingering(before)
    for t in left:
        t.join(timeout=GRACE / max(1, len(left)))
    left = [t for t in left if t.is_alive()]
    if left:
        pytest.fail(f"the test left {len(left)} thread(s) running: {', '.join(t.name for t in left)}",
                    pytrace=False)


_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _status
    _status = int(exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    left = _lingering({threading.main_thread()})
    if left:
        sys.stderr.write(f"\n{len(left)} thread(s) still running after the tests "
                         f"({', '.join(t.name for t in left)}): exiting without waiting for them\n")
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(_status or 1)
