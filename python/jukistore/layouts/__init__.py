"""Record layouts as data: the three files of the register and the projections made from them.

Each layout is a TOML file beside this module (the repository also shows the folder as ``layouts/``
at its root). A *record* layout (``jumin_kihon``, ``honnin_kakunin``, ``sofusaki``) lists every item
of a file with its number in the source document, Japanese and English names, the Python field
name, a type and a width. A *projection* (``seigo``, ``yon_joho``, ``jumin_kankei``) is a subset
that recipients receive; each of its items names the item it is taken from in every layout it can
be made from (``source = { jumin_kihon = 30, honnin_kakunin = 1 }``).

Width unit: characters, and why. ``width`` is the most characters (Unicode code points; a
variation selector counts as one) a value may hold. It is a property of the item, not of a file
format, so one rule holds for records, CSV and fixed-width files in either encoding: a value that
fits its width can be written to every file, and a value that does not is refused everywhere.
Fixed-width files still need a fixed number of *bytes* per field, both because real interchange
files count bytes and because a memory-mapped file can only be read as numpy columns when every
field sits at a fixed byte offset. So the byte width of a field is derived from its character
width and the file's encoding (:meth:`Item.byte_width`):

- ASCII types (digits, count, len, seq, ts, date, code, flag, alnum, bin): 1 byte a character, in
  every encoding (their values must be ASCII);
- text types (kana, kanji, text): 2 bytes a character in cp932, which is exactly how legacy
  Shift_JIS files size 全角 fields, and 4 in UTF-8, the longest a character can be there.

The cost is size: UTF-8 fixed-width files reserve 4 bytes for every text character although most
kanji take 3. The alternative, byte widths sized for typical UTF-8 text, would make a long name
with a few 4-byte characters (𠮷, IVS sequences) fit a CSV file but not a fixed-width one.

Shift_JIS means Microsoft's cp932 (Windows-31J) throughout: it is what municipal systems write,
and unlike Python's strict ``shift_jis`` codec it holds the NEC and IBM extensions (髙, 﨑) and
maps the private-use area U+E000-U+E757 to the user-defined rows where 外字 live.
"""

from __future__ import annotations

import keyword
import re
import tomllib
from collections.abc import Mapping
import dataclasses
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jukistore.errors import JukistoreError

#: Types whose values are ASCII digits only.
DIGIT_TYPES = frozenset({"digits", "count", "len", "seq", "ts"})
#: Types whose values are ASCII (1 byte a character in every file).
ASCII_TYPES = DIGIT_TYPES | {"date", "code", "flag", "alnum", "bin"}
#: Types that hold any text: kana, kanji, 外字, IVS sequences, private-use characters.
TEXT_TYPES = frozenset({"kana", "kanji", "text"})
TYPES = ASCII_TYPES | TEXT_TYPES

#: Bytes a text character may take in a fixed-width file, by encoding.
TEXT_BYTES = {"utf-8": 4, "cp932": 2}

_ENCODING_NAMES = {
    "utf-8": "utf-8", "utf8": "utf-8", "u8": "utf-8",
    "cp932": "cp932", "ms932": "cp932", "windows-31j": "cp932", "shift_jis": "cp932",
    "shift-jis": "cp932", "sjis": "cp932", "s_jis": "cp932", "mskanji": "cp932",
}
_FIELD = re.compile(r"[a-z][a-z0-9_]*\Z")
_ITEM_KEYS = {"no", "name_ja", "name_en", "field", "type", "width", "note", "source"}
_LAYOUT_KEYS = {"name", "title_ja", "title_en", "kind", "note", "sources", "items"}


class LayoutError(JukistoreError, ValueError):
    """A layout is unknown, or its file is malformed (the message names the layout and item)."""


def codec(encoding: str) -> str:
    """The codec a file encoding name stands for: ``"utf-8"`` or ``"cp932"``.

    Every Shift_JIS spelling means cp932 (see the module docstring). Other encodings are refused:
    fixed-width byte widths are defined for these two only.
    """
    c = _ENCODING_NAMES.get(encoding.strip().lower().replace(" ", ""))
    if c is None:
        raise ValueError(f"unsupported encoding {encoding!r}: use utf-8 or cp932 (Shift_JIS)")
    return c


@dataclass(frozen=True)
class Item:
    """One item of a layout.

    ``sources`` (projections only) maps a layout name to the number of the item this one is taken
    from in that layout.
    """

    no: int
    name_ja: str
    name_en: str
    field: str
    type: str
    width: int
    note: str = ""
    sources: Mapping[str, int] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_text(self) -> bool:
        """True for kana, kanji and text items (any characters); False for ASCII items."""
        return self.type in TEXT_TYPES

    @property
    def source(self) -> int | None:
        """The source item number in the first source layout (projections), else None."""
        return next(iter(self.sources.values()), None)

    def byte_width(self, encoding: str = "utf-8") -> int:
        """Bytes this item takes in a fixed-width file of ``encoding`` (see the module docstring)."""
        return self.width * (TEXT_BYTES[codec(encoding)] if self.is_text else 1)


@dataclass(frozen=True)
class Layout:
    """A layout: its items in order, and the byte geometry of its fixed-width rows."""

    name: str
    title_ja: str
    title_en: str
    kind: str
    items: tuple[Item, ...]
    sources: tuple[str, ...] = ()
    note: str = ""

    @cached_property
    def fields(self) -> tuple[str, ...]:
        return tuple(i.field for i in self.items)

    @cached_property
    def _by_field(self) -> dict[str, Item]:
        return {i.field: i for i in self.items}

    @cached_property
    def _by_no(self) -> dict[int, Item]:
        return {i.no: i for i in self.items}

    @property
    def is_projection(self) -> bool:
        return self.kind == "projection"

    @property
    def source_layout(self) -> str | None:
        """The first layout a projection is made from (the master file for all shipped ones)."""
        return self.sources[0] if self.sources else None

    @property
    def record_width(self) -> int:
        """Characters in one record at full width: the sum of the item widths."""
        return sum(i.width for i in self.items)

    def item(self, field: str) -> Item:
        try:
            return self._by_field[field]
        except KeyError:
            raise LayoutError(f"layout {self.name} has no field {field!r}") from None

    def by_no(self, no: int) -> Item:
        try:
            return self._by_no[no]
        except KeyError:
            raise LayoutError(f"layout {self.name} has no item {no}") from None

    def byte_widths(self, encoding: str = "utf-8") -> tuple[int, ...]:
        """Bytes of each field in a fixed-width row of ``encoding``, in item order."""
        return tuple(i.byte_width(encoding) for i in self.items)

    def byte_offsets(self, encoding: str = "utf-8") -> tuple[int, ...]:
        """Byte offset of each field in a fixed-width row of ``encoding``."""
        out, at = [], 0
        for w in self.byte_widths(encoding):
            out.append(at)
            at += w
        return tuple(out)

    def row_bytes(self, encoding: str = "utf-8") -> int:
        """Bytes of one fixed-width row of ``encoding``, without its line terminator."""
        return sum(self.byte_widths(encoding))

    def projection_fields(self, source: str | None = None) -> list[tuple[str, str]]:
        """(projection field, source field) pairs, in order, for making this projection from ``source``."""
        src_name = source or self.source_layout
        if src_name is None or src_name not in self.sources:
            raise LayoutError(f"layout {self.name} cannot be made from {src_name!r}; sources: {self.sources}")
        src = load(src_name)
        return [(i.field, src.by_no(i.sources[src_name]).field) for i in self.items]


def names() -> list[str]:
    """Names of every layout shipped with the package."""
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))


@lru_cache(maxsize=None)
def load(name: str) -> Layout:
    """The shipped layout called ``name`` (cached); :class:`LayoutError` when unknown or malformed."""
    res = resources.files(__name__) / f"{name}.toml"
    if not res.is_file():
        raise LayoutError(f"no layout {name!r}; known: {', '.join(names())}")
    return parse(res.read_text(encoding="utf-8"), name)


def load_file(path: str | Path) -> Layout:
    """A layout from a TOML file elsewhere (not cached); its name must match the file name."""
    p = Path(path)
    return parse(p.read_text(encoding="utf-8"), p.stem)


def parse(text: str, name: str) -> Layout:
    """Parse and validate the TOML text of layout ``name``.

    Checked here so a broken layout fails at load with a message naming the item, not later as a
    misaligned file: known keys only, item numbers and fields unique and ascending, fields snake_case
    identifiers, widths positive (8 for dates), types known; projection items name a source item of
    the same type and no wider in every source layout.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise LayoutError(f"layout {name}: {e}") from None
    _check_keys(raw, _LAYOUT_KEYS, f"layout {name}")
    if raw.get("name", name) != name:
        raise LayoutError(f"layout {name}: file says name = {raw['name']!r}")
    kind = raw.get("kind", "record")
    if kind not in ("record", "projection"):
        raise LayoutError(f"layout {name}: kind must be record or projection, not {kind!r}")
    sources = tuple(raw.get("sources", ()))
    if (kind == "projection") != bool(sources):
        raise LayoutError(f"layout {name}: a projection, and only a projection, lists its sources")
    raw_items = raw.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise LayoutError(f"layout {name}: no [[items]]")
    items = tuple(_item(name, k, it, sources) for k, it in enumerate(raw_items, 1))
    nos = [i.no for i in items]
    if nos != sorted(set(nos)):
        raise LayoutError(f"layout {name}: item numbers must be unique and ascending")
    if kind == "record" and nos != list(range(1, len(nos) + 1)):
        raise LayoutError(f"layout {name}: record items must be numbered 1..{len(nos)}")
    seen: set[str] = set()
    for i in items:
        if i.field in seen:
            raise LayoutError(f"layout {name}, item {i.no}: duplicate field {i.field!r}")
        seen.add(i.field)
    lay = Layout(name=name, title_ja=str(raw.get("title_ja", "")), title_en=str(raw.get("title_en", "")),
                 kind=kind, items=items, sources=sources, note=str(raw.get("note", "")))
    for s in sources:
        _check_projection(lay, s)
    return lay


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = set(table) - allowed
    if extra:
        raise LayoutError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")


def _item(name: str, k: int, it: Any, sources: tuple[str, ...]) -> Item:
    where = f"layout {name}, item #{k}"
    if not isinstance(it, dict):
        raise LayoutError(f"{where}: not a table")
    _check_keys(it, _ITEM_KEYS, where)
    for key in ("no", "name_ja", "name_en", "field", "type", "width"):
        if key not in it:
            raise LayoutError(f"{where}: lacks {key}")
    no, width = it["no"], it["width"]
    if not isinstance(no, int) or no <= 0:
        raise LayoutError(f"{where}: no must be a positive integer")
    where = f"layout {name}, item {no}"
    if not isinstance(width, int) or width <= 0:
        raise LayoutError(f"{where}: width must be a positive integer, not {width!r}")
    fld = it["field"]
    if not isinstance(fld, str) or not _FIELD.match(fld) or keyword.iskeyword(fld):
        raise LayoutError(f"{where}: field {fld!r} is not a snake_case identifier")
    if it["type"] not in TYPES:
        raise LayoutError(f"{where}: unknown type {it['type']!r}")
    if it["type"] == "date" and width != 8:
        raise LayoutError(f"{where}: a date is 8 characters (YYYYMMDD), not {width}")
    src = it.get("source", {})
    if not isinstance(src, dict) or set(src) != set(sources) or not all(isinstance(v, int) for v in src.values()):
        if sources:
            raise LayoutError(f"{where}: source must give an item number in each of {list(sources)}")
        raise LayoutError(f"{where}: only projection items have a source")
    return Item(no=no, name_ja=str(it["name_ja"]), name_en=str(it["name_en"]), field=fld, type=it["type"],
                width=width, note=str(it.get("note", "")), sources=MappingProxyType({s: src[s] for s in sources}))


def _check_projection(lay: Layout, source: str) -> None:
    if source == lay.name:
        raise LayoutError(f"layout {lay.name}: a projection cannot be its own source")
    src = load(source)
    if src.is_projection:
        raise LayoutError(f"layout {lay.name}: source {source} is itself a projection")
    for i in lay.items:
        s = src.by_no(i.sources[source])
        if s.type != i.type or s.width > i.width:
            raise LayoutError(f"layout {lay.name}, item {i.no}: source {source} item {s.no} is "
                              f"{s.type}({s.width}), which does not fit {i.type}({i.width})")
