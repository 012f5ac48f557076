"""Test-wide guards: a test must not leave threads running, nor run for ever.

A test that starts threads and fails before stopping them would otherwise leave them running after
pytest has printed its summary; Python waits for such threads at exit, so the run never ends (and a
reader thread that logs every read fills the disk meanwhile). Each test's new threads must be gone
a few seconds after it; any left are reported as an error of that test, and if some still run
when pytest is done, the process exits with pytest's status instead of waiting for them.

A test that hangs (a deadlock, a loop waiting for what never comes) is stopped after ``LIMIT``
seconds, far above the slowest test: every thread's stack is printed and the run exits with a
failure, rather than using up the time of the whole run.
"""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
from typing import Iterator

import pytest

GRACE = 5.0  # seconds a test's threads get to end after it
LIMIT = 900  # seconds any one test may take (the slowest takes about 40)


def _lingering(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since ``before`` that are alive and would keep the process from exiting
    (executor workers are joined and ended by the executor's own exit hook)."""
    return [t for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.daemon
            and not t.name.startswith("ThreadPoolExecutor")]


def _stderr_fd(config: pytest.Config) -> int:
    """The run's own stderr: pytest captures file descriptor 2 during a test, and what goes there
    is lost when the process exits from a hang (the capture's saved descriptor, where it is)."""
    capman = config.pluginmanager.getplugin("capturemanager")
    err = getattr(getattr(capman, "_global_capturing", None), "err", None)
    fd = getattr(err, "targetfd_save", None)
    return fd if isinstance(fd, int) else 2


@pytest.fixture(autouse=True)
def _no_threads_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    before = set(threading.enumerate())
    faulthandler.dump_traceback_later(LIMIT, exit=True, file=_stderr_fd(request.config))
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
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
