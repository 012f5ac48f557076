"""argparse types for the numbers the subcommands pass to the store.

Person ids, 更新順番号 and limits are unsigned 64-bit numbers in the store. A negative or larger
number is refused when the command line is read, as a usage error naming the option (exit 2),
instead of reaching the store as an ordinary value (a lookup that finds nothing, a limit that
lists nothing). Messages show the value given with any long digit run masked
(:func:`jukistore.errors.masked_text`): a number typed into the wrong option may be a 個人番号.
"""

from __future__ import annotations

import argparse

from jukistore.errors import masked_text

#: The largest number the store counts with (unsigned 64-bit).
U64_MAX = 2**64 - 1


def _whole_from(text: str, low: int) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {masked_text(text)}") from None
    if not low <= n <= U64_MAX:
        raise argparse.ArgumentTypeError(f"out of range: a whole number from {low} to {U64_MAX} is expected, "
                                         f"got {masked_text(text)}")
    return n


def whole(text: str) -> int:
    """A whole number from 0 that fits in 64 bits: a person id, a 更新順番号."""
    return _whole_from(text, 0)


def positive(text: str) -> int:
    """A whole number from 1 that fits in 64 bits: a limit (0 would list nothing)."""
    return _whole_from(text, 1)
