"""The values a file may hold, and how text is encoded into it.

One rule for every format and encoding, so that whatever one file holds another can hold too:

- a value is a ``str`` of at most ``width`` characters (code points);
- digits, count, len, seq and ts items hold ASCII digits; a date is empty or 8 ASCII digits
  (``YYYYMMDD``, ``00`` for an unknown month or day, impossible dates allowed); bin items hold
  upper-case hexadecimal; code, flag and alnum items hold printable ASCII;
- no value holds a control character (U+0000-U+001F, U+007F): a fixed-width row is a line, and a
  line break inside a value would break it and every line-oriented tool after it;
- no value ends with an ASCII space: fixed-width files pad with spaces, so a trailing space could
  not be told from padding. Leading spaces and a trailing ideographic space (U+3000) are kept.

Text that an encoding cannot hold is substituted and reported (:func:`encode_text`); nothing is
dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from operator import gt

from jukistore.fileio.problems import InvalidValue, RecordFormatError, ValueTooLong
from jukistore.layouts import ASCII_TYPES, DIGIT_TYPES, Item, Layout

#: The default substitute (代替文字): GETA MARK, the conventional mark for a missing glyph.
SUBSTITUTE = "〓"

#: Characters cp932 encodes but reads back as another character (¢ £ ¬ ‖ − 〜 become their
#: full-width forms); a test checks this list against the codec.
CP932_CHANGED = "\u00a2\u00a3\u00ac\u2016\u2212\u301c"

#: Characters cp932 cannot encode that are a JIS X 0208 character it holds under another code point,
#: written as that one: the dash of 1区29点 is U+2015 in cp932 but U+2014 in JIS X 0213 and most
#: UTF-8 data (:data:`jukistore.text.JIS_X_0208` counts both, so neither is 外字).
CP932_TWINS = {"\u2014": "\u2015"}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_SEP = re.compile(r"[\x00-\x1e\x7f]")
_HEX = re.compile(r"[0-9A-F]*\Z")
_DATES = re.compile(r"(?:(?:[0-9]{8})?\x1f)*\Z")
_CHANGED = re.compile(f"[{CP932_CHANGED}]")

Problem = tuple[type[RecordFormatError], str]


def problem(item: Item, value: object) -> Problem | None:
    """What is wrong with ``value`` for ``item`` (error class and message), or None."""
    if type(value) is not str:
        return InvalidValue, f"is {type(value).__name__}, not str"
    if len(value) > item.width:
        return ValueTooLong, f"{len(value)} characters do not fit width {item.width}"
    if not value:
        return None
    t = item.type
    if t in DIGIT_TYPES:
        if not (value.isascii() and value.isdigit()):
            return InvalidValue, f"a {t} item holds a character other than 0-9"
    elif t == "date":
        if len(value) != 8 or not (value.isascii() and value.isdigit()):
            return InvalidValue, "a date is 8 digits, YYYYMMDD"
    elif t == "bin":
        if not _HEX.match(value):
            return InvalidValue, "a bin item holds a character other than 0-9, A-F"
    elif t in ASCII_TYPES:
        if not (value.isascii() and value.isprintable()):
            return InvalidValue, f"a {t} item holds a character other than printable ASCII"
    elif _CONTROL.search(value):
        return InvalidValue, "holds a control character"
    if value[-1] == " ":
        return InvalidValue, "ends with a space (fixed-width files pad with spaces)"
    return None


def check_value(item: Item, value: object, row: int) -> None:
    """Raise the error for ``value`` in ``item`` at ``row``, if any."""
    p = problem(item, value)
    if p is not None:
        raise p[0](row, item.field, p[1])


def _pick(idx: Sequence[int]) -> Callable[[Sequence[str]], list[str]]:
    ix = tuple(idx)
    return lambda vals: [vals[i] for i in ix]


class RowChecker:
    """Checks a row of values against a layout, fast when the row is good.

    A per-field loop in Python costs more than decoding the row, so the usual case (a good row) is
    checked with a few whole-row string operations in C, grouped by rule; only a row that fails
    one is checked field by field, to name the first bad field in item order.
    """

    def __init__(self, layout: Layout):
        self.items = layout.items
        self.widths = [i.width for i in layout.items]
        types = [i.type for i in layout.items]
        self.digits = _pick([k for k, t in enumerate(types) if t in DIGIT_TYPES])
        self.dates = _pick([k for k, t in enumerate(types) if t == "date"])
        self.hex = _pick([k for k, t in enumerate(types) if t == "bin"])
        self.ascii = _pick([k for k, t in enumerate(types) if t in ("code", "flag", "alnum")])

    def __call__(self, vals: Sequence[str], row: int) -> None:
        if not self._looks_good(vals):
            for item, v in zip(self.items, vals):
                check_value(item, v, row)

    def _looks_good(self, vals: Sequence[str]) -> bool:
        try:
            joined = "\x1f".join(vals)
        except TypeError:
            return False
        if joined.count("\x1f") != len(vals) - 1 or _CONTROL_BUT_SEP.search(joined):
            return False
        if " \x1f" in joined or joined.endswith(" ") or any(map(gt, map(len, vals), self.widths)):
            return False
        d = "".join(self.digits(vals))
        if d and not (d.isascii() and d.isdigit()):
            return False
        if not _DATES.match("\x1f".join(self.dates(vals)) + "\x1f"):
            return False
        a = "".join(self.ascii(vals))
        if not (a.isascii() and a.isprintable()):
            return False
        return _HEX.match("".join(self.hex(vals))) is not None


def is_selector(ch: str) -> bool:
    """True for a variation selector (VS1-16, or the ideographic VS17-256 of IVS sequences)."""
    o = ord(ch)
    return 0xFE00 <= o <= 0xFE0F or 0xE0100 <= o <= 0xE01EF


def check_substitute(substitute: str, codec: str) -> None:
    """A substitute must be one character the encoding holds and reads back unchanged."""
    ok = len(substitute) == 1 and not _CONTROL.match(substitute) and substitute != " "
    try:
        ok = ok and substitute.encode(codec).decode(codec) == substitute
    except UnicodeError:
        ok = False
    if not ok:
        raise ValueError(f"the substitute must be one character {codec} holds as it is, not {substitute!r}")


def substitute_text(value: str, codec: str, substitute: str = SUBSTITUTE) -> tuple[str, list[tuple[int, str, str]]]:
    """``value`` as a file in ``codec`` will hold it, and what changed: (position, char, replacement).

    Kept: every character the codec encodes and reads back as itself (in cp932 that includes the
    private-use characters U+E000-U+E757, which map to the user-defined rows where 外字 live).
    Changed: a character the codec reads back as another (cp932: 〜 → ～, − → －, ...) is written
    as that code and reported with what it reads back as; so is the JIS dash U+2014, which cp932
    holds as U+2015 (:data:`CP932_TWINS`). Left out: a variation selector the codec
    cannot hold; the base character before it is written, which is the registered character's
    standard form. Substituted: anything else the codec cannot hold (𠮷, lone surrogates). Spaces
    a change leaves at the end are left out too (a value may not end with a space).
    """
    try:
        value.encode(codec)
        if codec != "cp932" or _CHANGED.search(value) is None:
            return value, []
    except UnicodeEncodeError:
        pass
    out: list[str] = []
    subs: list[tuple[int, str, str]] = []
    for pos, ch in enumerate(value):
        try:
            back = ch.encode(codec).decode(codec)
        except UnicodeError:
            if codec == "cp932" and ch in CP932_TWINS:
                subs.append((pos, ch, CP932_TWINS[ch]))
                out.append(CP932_TWINS[ch])
                continue
            repl = "" if is_selector(ch) else substitute
            subs.append((pos, ch, repl))
            out.append(repl)
            continue
        if back != ch:
            subs.append((pos, ch, back))
        out.append(back)
    # A substitution may leave a space at the end (a selector after a space); the value may not end
    # with one, so those spaces go too, reported.
    pos = len(value)
    while out and out[-1] in (" ", ""):
        pos -= 1
        if out.pop() == " ":
            subs.append((pos, " ", ""))
    subs.sort()
    return "".join(out), subs


def encode_text(value: str, codec: str, substitute: str = SUBSTITUTE) -> tuple[bytes, list[tuple[int, str, str]]]:
    """``value`` encoded for a file in ``codec``, substituted as :func:`substitute_text` says."""
    try:
        b = value.encode(codec)
        if codec != "cp932" or _CHANGED.search(value) is None:
            return b, []
    except UnicodeEncodeError:
        pass
    text, subs = substitute_text(value, codec, substitute)
    return text.encode(codec), subs
