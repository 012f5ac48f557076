"""Record layouts as data: the three files of the register and their projections.

Each layout is a TOML file beside this module (the repository also shows the folder as
``layouts/`` at its root). A *record* layout (``jumin_kihon``, ``honnin_kakunin``, ``sofusaki``)
lists every item of a file with its number in the source document, Japanese and English names, the
Python field name, a type and a width. A *projection* (``seigo``, ``yon_joho``, ``jumin_kankei``)
lists a subset of the master file; each item names its ``source`` item there.

Widths are bytes of a field in a fixed-width file, sized for UTF-8; cp932 text always fits in the
same width, so one layout serves both encodings and a fixed-width file can be read as columns
through a numpy structured dtype without decoding every row.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from jukistore.errors import JukistoreError

TYPES = frozenset({"digits", "kana", "kanji", "code", "date", "flag", "count", "len", "seq", "ts", "alnum", "bin", "text"})


class LayoutError(JukistoreError, ValueError):
    """A layout file is missing or malformed."""


@dataclass(frozen=True)
class Item:
    """One item of a layout."""

    no: int
    name_ja: str
    name_en: str
    field: str
    type: str
    width: int
    #: For projections: the item number in the source layout.
    source: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Layout:
    name: str
    title_ja: str
    title_en: str
    kind: str
    items: tuple[Item, ...]
    source_layout: str | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(i.field for i in self.items)

    @property
    def record_width(self) -> int:
        """Bytes of one fixed-width row, without the line terminator."""
        return sum(i.width for i in self.items)

    def item(self, field: str) -> Item:
        for i in self.items:
            if i.field == field:
                return i
        raise LayoutError(f"layout {self.name} has no field {field!r}")

    def by_no(self, no: int) -> Item:
        for i in self.items:
            if i.no == no:
                return i
        raise LayoutError(f"layout {self.name} has no item {no}")

    def offsets(self) -> tuple[int, ...]:
        """Byte offset of each field in a fixed-width row."""
        out, at = [], 0
        for i in self.items:
            out.append(at)
            at += i.width
        return tuple(out)


def names() -> list[str]:
    """Names of every layout shipped with the package."""
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))


@lru_cache(maxsize=None)
def load(name: str) -> Layout:
    """The layout called ``name`` (cached); raises :class:`LayoutError` when unknown or malformed."""
    res = resources.files(__name__) / f"{name}.toml"
    if not res.is_file():
        raise LayoutError(f"no layout {name!r}; known: {', '.join(names())}")
    try:
        raw = tomllib.loads(res.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise LayoutError(f"layout {name}: {e}") from None
    items = []
    for k, it in enumerate(raw.get("items", []), 1):
        try:
            item = Item(no=int(it["no"]), name_ja=it["name_ja"], name_en=it["name_en"], field=it["field"],
                        type=it["type"], width=int(it["width"]), source=it.get("source"), note=it.get("note", ""))
        except KeyError as e:
            raise LayoutError(f"layout {name}: item {k} lacks {e.args[0]}") from None
        if item.type not in TYPES:
            raise LayoutError(f"layout {name}: item {item.no} has unknown type {item.type!r}")
        if item.width <= 0:
            raise LayoutError(f"layout {name}: item {item.no} has width {item.width}")
        if not item.field.isidentifier():
            raise LayoutError(f"layout {name}: item {item.no} field {item.field!r} is not an identifier")
        items.append(item)
    for attr in ("no", "field"):
        vals = [getattr(i, attr) for i in items]
        if len(set(vals)) != len(vals):
            raise LayoutError(f"layout {name}: duplicate item {attr}")
    lay = Layout(name=raw.get("name", name), title_ja=raw.get("title_ja", ""), title_en=raw.get("title_en", ""),
                 kind=raw.get("kind", "record"), items=tuple(items), source_layout=raw.get("source_layout"))
    if lay.source_layout:
        src = load(lay.source_layout)
        for i in items:
            if i.source is None:
                raise LayoutError(f"layout {name}: projection item {i.no} names no source")
            src.by_no(i.source)
    return lay


def projection_fields(name: str) -> list[tuple[str, str]]:
    """(projection field, master field) pairs of a projection layout, in order."""
    lay = load(name)
    if not lay.source_layout:
        raise LayoutError(f"{name} is not a projection")
    src = load(lay.source_layout)
    return [(i.field, src.by_no(i.source).field) for i in lay.items if i.source is not None]
