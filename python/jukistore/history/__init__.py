"""History: every version kept, bitemporal queries, residency events and the change feed.

What is here (SPEC §4):

- :class:`Register` applies :class:`Event` values (転入, 出生, 転居, 転出, 死亡, 職権記載, 職権消除,
  記載の修正, 改製, 住民票コード変更, 個人番号変更, 世帯変更 and the foreign-resident events) under the
  rules of the event table (:mod:`jukistore.history.events`), one transaction per batch;
- reads: :meth:`Register.history`, :meth:`Register.as_of` (valid time), :meth:`Register.as_known`
  (system time, by sequence or by time), their batch forms over numpy arrays, and
  :meth:`Register.changes`;
- :class:`Feed`: the change log from a cursor, with the 8-item notification of each change;
- :class:`Corrections`: 記載の修正 proposed by one operator, approved by another.

Example::

    from jukistore.history import Event, EventCode, Register

    reg = Register(store)
    p = store.get(code="...")
    reg.apply([Event(EventCode.転居, "20240401", person=p, changes={8: "東京都墨田区押上一丁目1番1号"},
                     notified="20240405")], operator=op)
    reg.as_of(p, "20240331").record      # the address before the move
"""

from jukistore.history.corrections import Corrections, Proposal, Roles, State, StaticRoles
from jukistore.history.events import APPROVER, RULES, EventCode, Rule, event_name
from jukistore.history.feed import Cursor, Feed, FeedError, FileCursor, MemoryCursor
from jukistore.history.register import (
    Applied,
    ChangeEntry,
    Event,
    Register,
    Version,
    Versions,
    item_fields,
    projection,
)

__all__ = [
    "APPROVER",
    "Applied",
    "ChangeEntry",
    "Corrections",
    "Cursor",
    "Event",
    "EventCode",
    "Feed",
    "FeedError",
    "FileCursor",
    "MemoryCursor",
    "Proposal",
    "RULES",
    "Register",
    "Roles",
    "Rule",
    "State",
    "StaticRoles",
    "Version",
    "Versions",
    "event_name",
    "item_fields",
    "projection",
]
