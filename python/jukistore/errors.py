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
