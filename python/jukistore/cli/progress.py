"""A small progress bar on stderr, silent when stderr is not a terminal (CI logs stay readable)."""

from __future__ import annotations

import sys
import time
from types import TracebackType


class Progress:
    """``with Progress("load", total) as bar: bar.update(done)``; redraws at most 10 times a second."""

    def __init__(self, label: str, total: int | None, *, stream=None, force: bool = False):  # type: ignore[no-untyped-def]
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = force or self.stream.isatty()
        self.done = 0
        self._t0 = time.perf_counter()
        self._last = 0.0

    def __enter__(self) -> "Progress":
        return self

    def update(self, done: int) -> None:
        self.done = done
        now = time.perf_counter()
        if self.enabled and now - self._last >= 0.1:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.done / max(now - self._t0, 1e-9)
        if self.total:
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(frac * 30)
            if self.total <= 10:  # a few phases, not items: a rate would mean nothing
                text = f"\r{self.label:10} [{bar:<30}] step {self.done}/{self.total}"
            else:
                text = f"\r{self.label:10} [{bar:<30}] {self.done:>12,}/{self.total:,} {rate:>12,.0f}/s"
        else:
            text = f"\r{self.label:10} {self.done:>12,} {rate:>12,.0f}/s"
        self.stream.write(text)
        self.stream.flush()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self.enabled:
            self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()
