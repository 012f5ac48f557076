"""The event table: every 異動 the register records, its code, and what it may change.

Why a table and not code per event: the rules of the identity node (SPEC §4, L4268-4272) are
all of one shape — *this event, on a person in this state, may set these items and no others* —
so they are data, checked in one place (:func:`jukistore.history.Register.apply`), and readable
by a clerk or an auditor as a table (``jukistore.history.events.RULES``).

Codes. ``0`` is the initial bulk registration (:meth:`jukistore.store.Store.load`). The others are
this project's own (the official 異動事由 code table is not in the source document) and agree with
the 異動事由 table the synthetic ward writes into item 11: two digits, 0x entering the register,
1x changes of residence inside it, 2x leaving it, 3x amendments, 4x numbers, 5x the record
itself, 6x locks. An event writes its code into item 11 (異動事由) as two-digit text.

Items are named by their number in the master layout (``jumin_kihon``), never by field name, so a
renamed field cannot silently widen a rule.

Decisions, each a reading of the law the register follows:

- Registration (転入, 出生, 職権記載, 国外転入) links to an existing person only through the
  person's own numbers (住民票コード or 個人番号), never through similar 4情報: a removed person who
  returns keeps their person id and history; a resident cannot be registered twice
  (:class:`~jukistore.errors.AlreadyResident`); numbers of one record pointing to two persons, or
  an old (superseded) number, are refused (:class:`~jukistore.errors.IdentityConflict`). A birth
  links to nobody: its numbers must be new, and its 異動年月日 is the birth date.
- A 転居 may change only the address items (4-10); the register sets the 住定 items (16-19).
  A move into another household is a 転居 and a 世帯変更 in one batch (one transaction).
- A removed person (除票) may only be: registered again (転入, 職権記載, 国外転入: the same person id),
  restored by 転出取消 (a 転出 cancelled before the move), completed by 転出確定 (the destination's
  notice of the 転入 there, items 41-45), corrected by 記載の修正 (a 除票 may be corrected), and
  locked or unlocked (更新禁止, 更新禁止解除). Anything else is :class:`~jukistore.errors.PersonRemoved`.
- 記載の修正 (correction) may change every item except the numbers (30, 81: their own events),
  the 宛名番号 (12), and the items the register keeps itself (11, 13-15); it takes effect only when
  a second operator with the approver role approves it (:mod:`jukistore.history.corrections`).
- 住民票コード変更 and 個人番号変更 change only their number, only for residents; the old number keeps
  finding the person, marked superseded, and is never given to anyone else.
- 更新禁止 and 更新禁止解除 (identity file item 31) need the approver role; while a record is locked
  every other event on it is refused (:class:`~jukistore.errors.UpdateProhibited`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal


class EventCode(IntEnum):
    """異動事由: the reason of a change, as the change log and item 11 record it.

    Members are named in Japanese (``EventCode.転入``); English aliases (``EventCode.MOVE_IN``)
    name the same members.
    """

    一括登録 = 0
    転入 = 1
    出生 = 2
    職権記載 = 3
    国外転入 = 4
    転出取消 = 5
    転居 = 11
    世帯変更 = 12
    転出 = 21
    死亡 = 22
    職権消除 = 23
    国外転出 = 24
    転出確定 = 25
    記載事項変更 = 31
    職権修正 = 32
    記載の修正 = 33
    在留資格等変更 = 34
    通称変更 = 35
    住民票コード変更 = 41
    個人番号変更 = 42
    改製 = 51
    更新禁止 = 61
    更新禁止解除 = 62

    # English aliases (same members).
    LOAD = 0
    MOVE_IN = 1
    BIRTH = 2
    EX_OFFICIO_ENTRY = 3
    MOVE_IN_FROM_ABROAD = 4
    MOVE_OUT_CANCELLED = 5
    MOVE_WITHIN = 11
    HOUSEHOLD_CHANGE = 12
    MOVE_OUT = 21
    DEATH = 22
    EX_OFFICIO_REMOVAL = 23
    MOVE_ABROAD = 24
    MOVE_OUT_CONFIRMED = 25
    NOTIFIED_CHANGE = 31
    EX_OFFICIO_AMENDMENT = 32
    CORRECTION = 33
    RESIDENCE_STATUS_CHANGE = 34
    ALIAS_CHANGE = 35
    CODE_CHANGE = 41
    MYNUMBER_CHANGE = 42
    REWRITE = 51
    LOCK = 61
    UNLOCK = 62

    @property
    def text(self) -> str:
        """The code as item 11 (異動事由) holds it: two digits."""
        return f"{int(self):02d}"

    @property
    def english(self) -> str:
        return _ENGLISH[self]


_ENGLISH = {m: n for n, m in EventCode.__members__.items() if n.isascii()}


def event_name(code: int) -> str:
    """The Japanese name of an event code, or ``'?<code>'`` for a code this table lacks."""
    try:
        return EventCode(code).name
    except ValueError:
        return f"?{code}"


# ---- item groups of the master file (jumin_kihon item numbers) ---------------------------------

HOUSEHOLD = frozenset({1, 2, 3, 24})
ADDRESS = frozenset({4, 5, 6, 7, 8, 9, 10})
#: 住定異動日・事由, 住定届出日・事由: set by the register when an address is established.
ADDRESS_ESTABLISHED = frozenset({16, 17, 18, 19})
#: 異動事由, 住民異動日, 住民届出日: set by the register on every event.
BOOKKEEPING = frozenset({11, 14, 15})
#: 除票区分, 除票異動日, 除票届出日 (twice), 除票届出事由: set by removal and restoration.
REMOVAL = frozenset({13, 54, 55, 56, 57})
NAMES = frozenset({20, 21})
FAMILY_REGISTER = frozenset({25, 26, 27, 28, 29, 83, 84})
PREVIOUS_ADDRESS = frozenset(range(31, 36))
PLANNED_DESTINATION = frozenset(range(36, 41))
CONFIRMED_DESTINATION = frozenset(range(41, 46))
LAST_REGISTRATION = frozenset(range(46, 51))
REMARKS = frozenset({53})
FOREIGN_IDENTITY = frozenset({58, 59, 62, 63, 64, 65})
FOREIGN_ALIAS = frozenset({60, 61, 80})
FOREIGN_STATUS = frozenset({66, 67, 68, 69, 70, 71})
CODE, MYNUMBER, ATENA = 30, 81, 12
ALL_ITEMS = frozenset(range(1, 85))
#: What a correction may touch: everything but the numbers, the person key and what the register keeps.
CORRECTABLE = ALL_ITEMS - BOOKKEEPING - {13, CODE, MYNUMBER, ATENA}

#: 除票区分 (item 13) written by each removal; "" and "0" mean not removed (as Store.load reads it).
REMOVED_BY_MOVE_OUT, REMOVED_BY_DEATH, REMOVED_EX_OFFICIO = "1", "2", "3"

#: Role an operator needs to approve a correction or to lock and unlock a record.
APPROVER = "approver"

Kind = Literal["register", "change", "remove", "restore", "lock", "unlock"]
Subject = Literal["resident", "removed", "any", "moved_out"]


@dataclass(frozen=True)
class Rule:
    """What one event does and may do.

    ``kind``: ``register`` takes a whole record (a new person, or a removed one returning);
    ``change`` sets some items of an existing record; ``remove`` makes a 除票; ``restore`` undoes a
    removal; ``lock``/``unlock`` set and lift 更新禁止. ``subject``: whom a non-registering event may
    apply to (``moved_out``: a person removed by 転出). ``items``: master items the caller may
    set. ``must_change``: the event is pointless unless one of these differs from the current
    record. ``dual_control``: only through an approved proposal. ``role``: needed to apply it.
    """

    code: EventCode
    kind: Kind
    subject: Subject = "resident"
    items: frozenset[int] = frozenset()
    must_change: frozenset[int] = frozenset()
    removal: str | None = None
    establishes_address: bool = False
    dual_control: bool = False
    role: str | None = None
    note: str = field(default="", compare=False)


E = EventCode
RULES: dict[EventCode, Rule] = {r.code: r for r in [
    Rule(E.転入, "register", establishes_address=True, note="from another municipality"),
    Rule(E.出生, "register", establishes_address=True, note="numbers must be new; 異動年月日 = birth date"),
    Rule(E.職権記載, "register", establishes_address=True, note="ex officio entry, or restoring a removed person"),
    Rule(E.国外転入, "register", establishes_address=True, note="from abroad"),
    Rule(E.転出取消, "restore", subject="moved_out", note="a 転出 cancelled before the move"),
    Rule(E.転居, "change", items=ADDRESS, must_change=ADDRESS, establishes_address=True),
    Rule(E.世帯変更, "change", items=HOUSEHOLD, must_change=HOUSEHOLD),
    Rule(E.転出, "remove", items=PLANNED_DESTINATION | REMARKS, removal=REMOVED_BY_MOVE_OUT),
    Rule(E.国外転出, "remove", items=PLANNED_DESTINATION | REMARKS, removal=REMOVED_BY_MOVE_OUT),
    Rule(E.死亡, "remove", items=REMARKS, removal=REMOVED_BY_DEATH),
    Rule(E.職権消除, "remove", items=REMARKS, removal=REMOVED_EX_OFFICIO),
    Rule(E.転出確定, "change", subject="moved_out", items=CONFIRMED_DESTINATION, must_change=CONFIRMED_DESTINATION,
         note="the destination's notice of the 転入 there"),
    Rule(E.記載事項変更, "change", items=FOREIGN_IDENTITY, must_change=FOREIGN_IDENTITY,
         note="foreign resident's notified change (nationality, true name)"),
    Rule(E.職権修正, "change", items=NAMES | FAMILY_REGISTER | {22, 23, 24} | REMARKS,
         must_change=NAMES | FAMILY_REGISTER | {22, 23, 24} | REMARKS, note="from a 戸籍 notice"),
    Rule(E.記載の修正, "change", subject="any", items=CORRECTABLE, must_change=CORRECTABLE, dual_control=True),
    Rule(E.在留資格等変更, "change", items=FOREIGN_STATUS, must_change=FOREIGN_STATUS, note="法務大臣 notice"),
    Rule(E.通称変更, "change", items=FOREIGN_ALIAS, must_change=FOREIGN_ALIAS),
    Rule(E.住民票コード変更, "change", items=frozenset({CODE}), must_change=frozenset({CODE})),
    Rule(E.個人番号変更, "change", items=frozenset({MYNUMBER}), must_change=frozenset({MYNUMBER})),
    Rule(E.改製, "change", note="the record rewritten as a fresh 住民票; the old version is kept"),
    Rule(E.更新禁止, "lock", subject="any", role=APPROVER),
    Rule(E.更新禁止解除, "unlock", subject="any", role=APPROVER),
]}
del E


def rule(code: int) -> Rule:
    """The rule of an event code; ``KeyError`` for the bulk load (0) and unknown codes."""
    return RULES[EventCode(code)]
