"""Text of names and addresses: kana search keys and 外字 counting.

Two jobs, kept apart on purpose:

- **Search keys.** :func:`normalize_kana`, :func:`seionka` and :func:`search_key` fold spelling
  variants together (half-width and full-width katakana, hiragana, voiced marks, small kana) so
  that a 4情報 search meets every spelling of a name. They are for keys only: stored names and
  addresses keep their exact code points, variation selectors and private-use characters
  included (SPEC §5). Nothing here is applied to stored text.
- **外字.** The identity and mailing files carry a count of characters outside JIS X 0208 (外字数)
  and their positions. :func:`gaiji_count` and :func:`gaiji_positions` compute them from the
  stored text without changing it.

JIS X 0208 membership is taken from Python's own codecs: a character belongs if ``euc_jp`` or
``cp932`` decodes it from a code point of the JIS X 0208 rows (1-8 and 16-84). Decoding, not
encoding, matters: ``cp932`` also *encodes* NEC and IBM extensions (①, 髙, 﨑) which sit outside
those rows, and the two codecs map a few JIS X 0208 characters to different code points (〜 and ～,
− and －, ‖ and ∥, ¢ £ ¬ and their full-width forms), so both sets of mappings are accepted.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "JIS_X_0208",
    "seionka",
    "normalize_kana",
    "search_key",
    "is_jis_x0208",
    "is_private_use",
    "is_variation_selector",
    "is_gaiji",
    "gaiji_count",
    "gaiji_positions",
    "has_ivs",
]

# --------------------------------------------------------------------------------------------
# Kana folding

_HALFWIDTH_KANA = re.compile("[\uff61-\uff9f]+")
_HIRAGANA_TO_KATAKANA = {c: c + 0x60 for c in range(0x3041, 0x3097)}
_HIRAGANA_TO_KATAKANA |= {0x309D: 0x30FD, 0x309E: 0x30FE}  # ゝゞ → ヽヾ
_VOICED = "\u3099"  # combining dakuten
_SEMI_VOICED = "\u309a"  # combining handakuten
_MARK_AS_COMBINING = {
    "\u3099": _VOICED,
    "\u309b": _VOICED,  # ゛
    "\u309a": _SEMI_VOICED,
    "\u309c": _SEMI_VOICED,  # ゜
}
_MARK_AFTER_KANA = re.compile("([\u30a1-\u30ff])([\u3099-\u309c])")
_SPACES = re.compile(r"\s+")
#: Where kana that can be small or voiced live: hiragana, katakana, the phonetic extensions
#: (small ㇰ-ㇿ) and the small kana of the Kana Extended/Small Kana Extension blocks.
_KANA_RANGES = ((0x3041, 0x3100), (0x31F0, 0x3200), (0x1B100, 0x1B170))


def _widen(text: str) -> str:
    """Half-width katakana (and their ﾞﾟ) to full width; other characters untouched.

    NFKC is applied to the half-width runs only: on whole text it would also rewrite
    compatibility ideographs and other characters a name must keep.
    """
    return _HALFWIDTH_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def _to_katakana(text: str) -> str:
    """Hiragana to katakana (ゝゞ to ヽヾ); letters without a katakana twin (ゟ) stay."""
    return text.translate(_HIRAGANA_TO_KATAKANA)


def _build_compose_table() -> dict[tuple[str, str], str]:
    """(base, combining mark) → precomposed katakana, from Unicode's own decompositions."""
    table = {}
    for code in range(0x30A1, 0x3100):
        parts = unicodedata.normalize("NFD", chr(code))
        if len(parts) == 2 and parts[1] in (_VOICED, _SEMI_VOICED):
            table[(parts[0], parts[1])] = chr(code)
    return table


def _plain_letter(char: str) -> str:
    """The full-size, unvoiced katakana a letter folds to (the letter itself if none)."""
    parts = unicodedata.normalize("NFD", char)
    if len(parts) == 2 and parts[1] in (_VOICED, _SEMI_VOICED):
        char = parts[0]
    name = unicodedata.name(char, "")
    if "SMALL" in name:
        try:
            return unicodedata.lookup(name.replace("SMALL ", "").replace("HIRAGANA", "KATAKANA"))
        except KeyError:
            return char
    return char


def _build_seion_table() -> dict[int, str | None]:
    """str.translate table: voiced → unvoiced, small → full size, marks removed."""
    table: dict[int, str | None] = {ord(m): None for m in ("\u3099", "\u309a", "\u309b", "\u309c")}
    for low, high in _KANA_RANGES:
        for code in range(low, high):
            plain = _plain_letter(chr(code))
            if plain != chr(code):
                table[code] = plain
    return table


_COMPOSE = _build_compose_table()
_SEION = _build_seion_table()


def _compose_marks(text: str) -> str:
    """Join a katakana with a following voiced mark (combining or ゛゜) where a letter exists."""

    def join(match: re.Match[str]) -> str:
        base, mark = match.group(1), _MARK_AS_COMBINING[match.group(2)]
        return _COMPOSE.get((base, mark), match.group())

    return _MARK_AFTER_KANA.sub(join, text)


def normalize_kana(text: str) -> str:
    """Fold the ways one kana spelling is typed, for search keys only.

    Half-width katakana become full width with ﾞﾟ joined (ｶﾞ → ガ), hiragana become katakana,
    a kana followed by a separate ゛/゜ or combining mark is joined, and runs of ASCII or
    full-width spaces become one ASCII space (ends trimmed). Every other character, including
    kanji, variation selectors and private-use characters, passes through unchanged. Never
    store the result in place of the recorded text.
    """
    folded = _compose_marks(_to_katakana(_widen(text)))
    return _SPACES.sub(" ", folded).strip()


def seionka(kana: str) -> str:
    """清音化かな: the kana with voiced marks removed and small kana made full size.

    The identity file keeps this form so that names spelled with and without 濁点 or small
    kana meet (ジュンペイ, シュンヘイ → シユンヘイ). Half-width katakana and hiragana are turned
    into full-width katakana first; ー, spaces and non-kana characters are kept. Idempotent.
    For search keys only: never applied to stored text.
    """
    return _to_katakana(_widen(kana)).translate(_SEION)


def search_key(kana: str) -> str:
    """The key a kana name is indexed and searched by: :func:`seionka` of the normalised kana,
    with spaces removed (so that ヤマダ タロウ and ヤマダタロウ meet)."""
    return seionka(normalize_kana(kana)).replace(" ", "")


#: Characters whose search key depends on their neighbours: half-width kana (NFKC joins a letter
#: and its ﾞﾟ) and voicing marks (joined to the kana before them). Text without them is keyed
#: one character at a time.
_KEY_CONTEXT = re.compile("[\uff61-\uff9f\u3099-\u309c]")
#: Table value of a character the search key drops (spaces).
_KEY_DROP = 0xFFFFFFFF


@lru_cache(maxsize=1)
def _key_table() -> "np.ndarray":
    """Every code point's search key as a table: built from :func:`search_key` itself, applied to
    each character it can change (hiragana, small and voiced kana, white space); others map to
    themselves."""
    import numpy as np

    table = np.arange(0x110000, dtype=np.uint32)
    changed = set(_HIRAGANA_TO_KATAKANA) | set(_SEION) | {c for c in range(0x10000) if chr(c).isspace()}
    for code in changed:
        key = search_key(chr(code))
        assert len(key) <= 1, f"U+{code:04X} keys to {len(key)} characters"  # the tables map 1 → 0 or 1
        table[code] = ord(key) if key else _KEY_DROP
    return table


def search_keys(names: list[str]) -> list[str]:
    """:func:`search_key` of many names, equal to a call per name, at a fraction of the cost: the
    names are keyed together through one table look-up per character (numpy), unless one holds a
    character whose key depends on its neighbours (:data:`_KEY_CONTEXT`), a NUL or a lone
    surrogate, when each name goes through :func:`search_key`."""
    import numpy as np

    joined = "\x00".join(names)
    if not _KEY_CONTEXT.search(joined):
        try:
            codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        except UnicodeEncodeError:
            codes = None
        if codes is not None:
            keyed = _key_table()[codes]
            out = keyed[keyed != _KEY_DROP].tobytes().decode("utf-32-le").split("\x00")
            if len(out) == len(names):
                return out
    return [search_key(n) for n in names]


# --------------------------------------------------------------------------------------------
# 外字


def _sjis_bytes(row: int, cell: int) -> bytes:
    """The Shift_JIS bytes of a JIS X 0208 row/cell (区点)."""
    lead = (row + 1) // 2 + (0x80 if row <= 62 else 0xC0)
    if row % 2:
        trail = cell + (0x3F if cell <= 63 else 0x40)
    else:
        trail = cell + 0x9E
    return bytes((lead, trail))


def _build_jis_x0208() -> frozenset[str]:
    """Every character that ``euc_jp`` or ``cp932`` decodes from a JIS X 0208 code point."""
    chars: set[str] = set()
    for row in (*range(1, 9), *range(16, 85)):
        for cell in range(1, 95):
            euc = bytes((0xA0 + row, 0xA0 + cell))
            for codec, raw in (("euc_jp", euc), ("cp932", _sjis_bytes(row, cell))):
                try:
                    char = raw.decode(codec)
                except UnicodeDecodeError:
                    continue
                if len(char) == 1:
                    chars.add(char)
    # 1区29点 (the dash) is U+2015 in both codecs but U+2014 in JIS X 0213 and most modern data.
    chars.add("\u2014")
    return frozenset(chars)


#: The characters of JIS X 0208 (6,879 code points plus the alternative mappings noted above).
JIS_X_0208: frozenset[str] = _build_jis_x0208()
#: JIS X 0201: ASCII-range Roman (with ¥ and ‾) and half-width katakana; never 外字.
_JIS_X_0201_EXTRA = frozenset("\u00a5\u203e")


def is_variation_selector(char: str) -> bool:
    """A variation selector: standardized (U+FE00-FE0F) or ideographic (U+E0100-E01EF)."""
    code = ord(char)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


def is_private_use(char: str) -> bool:
    """A private-use code point (BMP area or planes 15 and 16), where MJ+ and vendor 外字 live."""
    code = ord(char)
    return 0xE000 <= code <= 0xF8FF or 0xF0000 <= code <= 0x10FFFD


def is_jis_x0208(char: str) -> bool:
    """The character is in JIS X 0208 (see :data:`JIS_X_0208`)."""
    return char in JIS_X_0208


@lru_cache(maxsize=8192)
def is_gaiji(char: str) -> bool:
    """外字: outside JIS X 0201 and JIS X 0208, or private use.

    ASCII and half-width katakana are not 外字. A variation selector is not a character of its
    own for this purpose and is never 外字 (its base is judged alone).
    """
    code = ord(char)
    if code < 0x80 or 0xFF61 <= code <= 0xFF9F or char in _JIS_X_0201_EXTRA:
        return False
    if is_variation_selector(char):
        return False
    return is_private_use(char) or char not in JIS_X_0208


def gaiji_positions(text: str) -> list[int]:
    """Indices into ``text`` (code points, as Python indexes it) of its 外字 characters.

    The index points at the base character; a following variation selector is not listed.
    """
    return [index for index, char in enumerate(text) if is_gaiji(char)]


def gaiji_count(text: str) -> int:
    """Number of 外字 in ``text`` (the 外字数 items); variation selectors add nothing."""
    return sum(1 for char in text if is_gaiji(char))


def has_ivs(text: str) -> bool:
    """The text holds a variation selector (IVS or standardized), so its glyphs are pinned
    beyond the code point and it must be stored and compared byte for byte."""
    return any(is_variation_selector(char) for char in text)
