"""The change feed: follow the register with a cursor, resume after a restart.

Every write gets the next 更新順番号 and commits whole, so the change log read in sequence order has
no gaps and never reorders: a follower that remembers the last sequence it has *finished with*
can always continue from there. That is all a :class:`Feed` is: the change log read from a cursor,
in batches, and a cursor that moves only when the caller says a batch is done.

Delivery: a batch is handed out again until it is committed, so a consumer that stops (or is
killed) between handling a batch and committing it sees that batch again on restart. To get every
change exactly once, commit the cursor together with the effect of the batch — keep the cursor in
the same database transaction as the effect, or in the same file, or write the effect keyed by
``seq`` so that doing it twice is doing it once (every entry carries its ``seq``). The
:class:`FileCursor` here is a small file replaced atomically (written, synced, renamed), for
consumers whose effects are elsewhere and idempotent by ``seq``.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Protocol

from jukistore.errors import JukistoreError

if TYPE_CHECKING:
    from jukistore.history.register import ChangeEntry, Register
    from jukistore.store import Store


class FeedError(JukistoreError):
    """A cursor that cannot be read, or a commit that would move a cursor backwards."""


class Cursor(Protocol):
    """Where a follower keeps the last 更新順番号 it finished with."""

    def load(self) -> int: ...

    def save(self, seq: int) -> None: ...


class MemoryCursor:
    """A cursor held in memory (the caller stores ``position`` wherever it likes)."""

    def __init__(self, position: int = 0):
        self.position = position

    def load(self) -> int:
        return self.position

    def save(self, seq: int) -> None:
        self.position = seq

    def __repr__(self) -> str:
        return f"MemoryCursor({self.position})"


class FileCursor:
    """A cursor in a small text file, replaced atomically so a crash leaves the old or the new one.

    A missing file is position 0 (a new follower starts at the beginning).
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def load(self) -> int:
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return 0
        except UnicodeDecodeError:
            text = ""
        if not (text.isascii() and text.isdigit()):
            raise FeedError(f"cursor file {self.path} does not hold a sequence number")
        return int(text)

    def save(self, seq: int) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, f"{seq}\n".encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dfd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def __repr__(self) -> str:
        return f"FileCursor({str(self.path)!r})"


class Feed:
    """The change log from a cursor, in batches; see the module docstring.

    ``cursor`` is a :class:`Cursor`, a position (int, kept in memory) or a path (a
    :class:`FileCursor`). ``source`` is a :class:`~jukistore.history.Register` or a Store.
    """

    def __init__(self, source: "Register | Store", cursor: Cursor | int | str | os.PathLike[str] = 0, *,
                 batch_size: int = 1000):
        from jukistore.history.register import Register

        self.register = source if isinstance(source, Register) else Register(source)
        if isinstance(cursor, int):
            cursor = MemoryCursor(cursor)
        elif isinstance(cursor, (str, os.PathLike)):
            cursor = FileCursor(cursor)
        self.cursor: Cursor = cursor
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            from jukistore.errors import QueryError

            raise QueryError("batch_size must be a whole number, 1 or more")
        self.batch_size = batch_size
        self._position = cursor.load()
        if self._position < 0:
            raise FeedError(f"a cursor is a sequence number, 0 or more, not {self._position}")

    @property
    def position(self) -> int:
        """The last 更新順番号 committed (finished with)."""
        return self._position

    def poll(self, limit: int | None = None) -> list["ChangeEntry"]:
        """The next changes after the cursor, oldest first (empty when caught up). The cursor does
        not move: the same changes come again until :meth:`commit`.

        A cursor past the store's last change is refused (:class:`FeedError`): the store was
        restored from an older copy, or the cursor is another store's. Waiting would hand out the
        changes that take its numbers next as if they were already done with."""
        batch = self.register.changes(self._position, limit or self.batch_size)
        if not batch and self._position > (last := self.register.last_seq()):
            raise FeedError(f"cursor at {self._position} is past the last change of the store ({last}): "
                            f"restored from an older copy, or the cursor of another store?")
        return batch

    def commit(self, seq: "int | ChangeEntry") -> None:
        """Record that every change up to ``seq`` is done with."""
        s = seq if isinstance(seq, int) else seq.seq
        if s < self._position:
            raise FeedError(f"cursor at {self._position} cannot move back to {s}")
        if s > self.register.last_seq():
            raise FeedError(f"cannot commit {s}: the last change is {self.register.last_seq()}")
        self.cursor.save(s)
        self._position = s

    def batches(self, *, follow: bool = False, wait: float = 0.2,
                stop: threading.Event | Callable[[], bool] | None = None) -> Iterator[list["ChangeEntry"]]:
        """Yield batches after the cursor; each is committed when the next is asked for (so only
        once the consumer has handled it). With ``follow`` wait for new changes (polling every
        ``wait`` seconds) until ``stop`` is set or returns true; else end when caught up.
        """
        def stopped() -> bool:
            if stop is None:
                return False
            return stop.is_set() if isinstance(stop, threading.Event) else bool(stop())

        while not stopped():
            batch = self.poll()
            if batch:
                yield batch
                self.commit(batch[-1].seq)
            elif not follow:
                return
            elif isinstance(stop, threading.Event):
                stop.wait(wait)
            else:
                time.sleep(wait)

    def __iter__(self) -> Iterator["ChangeEntry"]:
        """Every change after the cursor up to now, one at a time, committing batch by batch."""
        for batch in self.batches():
            yield from batch

    def __repr__(self) -> str:
        return f"Feed(position={self._position}, cursor={self.cursor!r})"
