"""送付先情報 (mailing data): what the municipality sends to J-LIS so it can mail My Number notices.

The source document keeps this data for under a year after sending (L3061, L3075) and takes no
backups of it (L5314). So entries live in the store's ``mailing`` database only while pending and
for the short time after sending the rule allows (``mailing-1y`` in the retention rules, retired by
the next purge), and :func:`backup` never copies a sent entry. :meth:`Mailing.pending` is what an
export for sending may read; sent entries are never exported again.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from jukistore.dates import JST
from jukistore.errors import InvalidRecord, NoSuchPerson
from jukistore.records import Sofusaki, check_values, decode, encode_batch
from jukistore.store import Store, _key_array


@dataclass(frozen=True)
class MailingEntry:
    """One entry: its id, the person it is about, when it was sent (None while pending)."""

    id: int
    person_id: int
    sent: _dt.date | None
    record: Sofusaki

    def __repr__(self) -> str:  # the record is personal data: never in a repr
        return f"MailingEntry(id={self.id}, person_id={self.person_id}, sent={self.sent})"


class Mailing:
    """The mailing data of one store."""

    def __init__(self, store: Store):
        self._store = store
        self._native = store._native

    def add(self, records: Sequence[Sofusaki], person_ids: Sequence[int]) -> list[int]:
        """Record pending entries in one transaction; returns their ids."""
        if len(records) != len(person_ids):
            raise ValueError("as many person ids as records, please")
        for i, r in enumerate(records):
            if type(r) is not Sofusaki:
                raise InvalidRecord(f"row {i}: expected a Sofusaki record, got {type(r).__name__}", row=i)
        if not records:
            return []
        self._store._authorize("write", "mailing data added")
        pids = _key_array(person_ids, "person_id", "mailing add")  # no float or bool taken for an id
        found = self._store._get_many(pids, "person_id").found
        if not found.all():
            i = int(np.flatnonzero(~found)[0])
            raise NoSuchPerson(f"row {i}: no person {int(pids[i])}", row=i)
        payloads = encode_batch(records)
        check_values(payloads, records)
        first = self._native.mailing_add(pids.tolist(), payloads)
        return list(range(first, first + len(records)))

    def mark_sent(self, ids: Sequence[int], date: _dt.date) -> int:
        """Mark entries sent on ``date``; returns how many were pending."""
        self._store._authorize("write", "mailing data sent")
        if not isinstance(date, _dt.date):
            raise InvalidRecord(f"field date: a datetime.date, got {type(date).__name__}", field="date", row=0)
        if isinstance(date, _dt.datetime):
            date = date.date()
        # The year of keeping runs from the sending date: a later one would keep the entry longer.
        # Today is the register's, Japan's (UTC+9, no daylight saving time).
        today = self._store.clock().astimezone(JST).date()
        if date > today:
            raise InvalidRecord(f"field date: {date.isoformat()} is after today", field="date", row=0)
        checked = _key_array(ids, "id", "mark_sent").tolist()
        return int(self._native.mailing_mark_sent(checked, date.strftime("%Y%m%d").encode()))

    def entries(self) -> Iterator[MailingEntry]:
        """Every entry, in id order: a read of personal data by the bound operator, logged once
        for the whole mailing database."""
        self._store._authorize("read", "mailing entries")
        self._store._logged("mailing entries", None)
        after = 0
        while rows := self._native.mailing_list(after, 1000):
            for mid, sent, pid, payload in rows:
                day = _dt.datetime.strptime(sent.decode(), "%Y%m%d").date() if sent is not None else None
                yield MailingEntry(mid, pid, day, decode(Sofusaki, payload))
            after = rows[-1][0]

    def pending(self) -> list[MailingEntry]:
        """The entries not sent yet: the only ones an export for sending may read."""
        return [e for e in self.entries() if e.sent is None]


def backup(store: Store, dest: str | Path) -> Path:
    """A backup of the store in a new directory ``dest``: every database rebuilt into fresh pages,
    without any sent mailing entry (and so without stale bytes of anything erased). Returns the
    path of the backup's data file."""
    d = Path(dest)
    store._authorize("read", "backup")
    store._logged("backup", None)
    store._native.rebuild_into(str(d), True)
    return d / "data.mdb"
