"""The exceptions jukistore raises, in one small hierarchy.

Callers catch :class:`JukistoreError` for anything the package reports on purpose. Validation
errors also subclass :class:`ValueError`, as python-stdnum's do, so code written against stdnum
keeps working. Messages never carry a full 個人番号: use :func:`mask` for anything shown.
"""

from __future__ import annotations


def mask(value: object, keep: int = 4) -> str:
    """Mask all but the last ``keep`` characters of an identifier for display."""
    text = "" if value is None else str(value)
    if len(text) <= keep:
        return "*" * len(text)
    return "*" * (len(text) - keep) + text[-keep:]


def masked_text(value: object) -> str:
    """``repr`` of a value refused as input, with every run of 12 or more digits masked to its last 4:
    a value given in the wrong field may be a 個人番号, which no message may show in full. Digits
    written in groups (``1234-5678-9012``, ``1234 - 5678 - 9012``, with up to three spaces, hyphens,
    dashes, long vowel marks, dots, slashes or underscores between them, half- or full-width) are
    one run."""
    return repr(mask_digits(value if isinstance(value, str) else repr(value)))


def mask_digits(text: str) -> str:
    """``text`` with every run of 12 or more digits (grouped as :func:`masked_text` says) masked to
    its last 4: for values shown from a field that should not hold a 個人番号 but may."""
    import re

    return re.sub(_GROUPED_DIGITS, lambda m: mask(re.sub(r"\D", "", m.group())), text)


#: 12 or more digits, with up to three separators between any two: what a 個人番号 typed in groups
#: looks like (hyphens and dashes U+2010-2015, minus signs, the katakana long vowel mark an input
#: method gives for "-", full-width forms).
_GROUPED_DIGITS = r"\d(?:[\s\-\u2010-\u2015\u2212\u30fc\uff0d\uff70._/\uff0e\uff0f\uff3f]{0,3}\d){11,}"


class JukistoreError(Exception):
    """Base of every error jukistore raises on purpose."""


class ValidationError(JukistoreError, ValueError):
    """A value is not a valid identifier (python-stdnum's ``ValidationError`` role)."""

    reason = "invalid"

    def __init__(self, message: str | None = None, *, field: str | None = None, row: int | None = None):
        self.field = field
        self.row = row
        parts = [message or self.__class__.__doc__ or self.reason]
        if field is not None:
            parts.append(f"field {field}")
        if row is not None:
            parts.append(f"row {row}")
        super().__init__("; ".join(p.strip().rstrip(".") for p in parts))


class InvalidLength(ValidationError):
    """The value has the wrong number of digits."""

    reason = "length"


class InvalidFormat(ValidationError):
    """The value holds something other than ASCII digits (or is not text at all)."""

    reason = "format"


class InvalidChecksum(ValidationError):
    """The check digit does not match."""

    reason = "checksum"


class InvalidComponent(ValidationError):
    """A part of the value is out of its allowed range."""

    reason = "component"


class StoreError(JukistoreError):
    """Something about a store: its files, its state, or a write it refused."""


class RecordError(StoreError, ValueError):
    """A record in a write was refused; ``row`` is its 0-based position in the batch given."""

    def __init__(self, message: str, *, field: str | None = None, row: int | None = None):
        self.field = field
        self.row = row
        super().__init__(message)


class InvalidRecord(RecordError):
    """A record holds a value that fails validation (a check digit, a length, a required item)."""


class DuplicateNumber(RecordError):
    """A 住民票コード or 個人番号 is already used, by another person or earlier in the batch."""


class StoreCorrupt(StoreError):
    """The store's files do not hold what they should."""


class NotAStore(StoreError, FileNotFoundError):
    """The directory holds no jukistore store (or one of an unknown format)."""


class StoreExists(StoreError, FileExistsError):
    """A store already exists where one was to be created."""


class ReadOnlyStore(StoreError, PermissionError):
    """A write was attempted on a store opened read-only."""


class ForkedStore(StoreError):
    """A store handle inherited through ``fork`` was used; open the store again in the child."""


class StoreBusy(StoreError):
    """The store is in exclusive use (a purge), or a handle was closed when its file was replaced."""


class QueryError(StoreError, ValueError):
    """A query that cannot be answered as asked (e.g. a 4情報 search naming too few items)."""


class LmdbError(StoreError, OSError):
    """An error reported by LMDB itself."""


class RefusedUpdate(RecordError):
    """An update the register refuses; ``row`` is its position in the batch of updates."""


class NoSuchPerson(RefusedUpdate, LookupError):
    """The person to update is not in the store."""


class UpdateProhibited(RefusedUpdate):
    """The record carries 更新禁止フラグ (update prohibited)."""


class ConcurrentChange(RefusedUpdate):
    """The person changed after the caller read it; read again and decide again."""


# ---- history: the register's rules and dual control ---------------------------------------------

class RuleViolation(RefusedUpdate):
    """An event the register's rules refuse (SPEC §4); ``field`` names the item, ``row`` the event."""


class AlreadyResident(RuleViolation):
    """A 転入, 出生 or 職権記載 for a person who is already a resident of the register."""


class PersonRemoved(RuleViolation):
    """A change to a removed person (除票) other than those the law allows on a 除票."""


class FieldNotAllowed(RuleViolation):
    """An event changes an item it may not change (a 転居 that changes the name, say)."""


class IdentityConflict(RuleViolation):
    """The numbers of one event point to different persons, or to an old (superseded) number."""


class NotPermitted(StoreError, PermissionError):
    """The operator lacks the role an act needs, or may not decide their own proposal."""


class NoSuchProposal(StoreError, LookupError):
    """No proposal has this id."""


class ProposalDecided(StoreError):
    """The proposal was approved, rejected or withdrawn already (possibly just now, by another operator)."""


class ReconcileError(JukistoreError, ValueError):
    """Two sides cannot be reconciled as given: a layout or file that does not fit, or sides
    whose fields differ."""
