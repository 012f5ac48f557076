"""Kana search keys (清音化かな) and 外字 counting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jukistore import text
from jukistore.text import (
    gaiji_count,
    gaiji_positions,
    has_ivs,
    is_gaiji,
    normalize_kana,
    search_key,
    seionka,
)

IVS_KUZU = "\u845b\U000e0100"  # 葛 + VS17, the 葛飾区 glyph

# --------------------------------------------------------------------------------------------
# 清音化


@pytest.mark.parametrize(
    "kana, expected",
    [
        ("ジュンペイ", "シユンヘイ"),
        ("ガッコウ", "カツコウ"),
        ("じゅんぺい", "シユンヘイ"),
        ("ｼﾞｭﾝﾍﾟｲ", "シユンヘイ"),
        ("パ", "ハ"),
        ("ヴ", "ウ"),
        ("ゔ", "ウ"),
        ("ヷヸヹヺ", "ワヰヱヲ"),
        ("ァィゥェォ", "アイウエオ"),
        ("ぁぃぅぇぉ", "アイウエオ"),
        ("ッャュョ", "ツヤユヨ"),
        ("ヮヵヶ", "ワカケ"),
        ("ゎゕゖ", "ワカケ"),
        ("ㇰㇱㇷㇿ", "クシフロ"),
        ("ヾゞ", "ヽヽ"),
        ("カ゛キ゜", "カキ"),  # standalone marks
        ("カ\u3099ハ\u309a", "カハ"),  # combining marks
        ("ｶﾞｷﾟ", "カキ"),
        ("ﾞﾟ", ""),
        ("ゲーム　ボーイ", "ケーム　ホーイ"),  # ー and spaces kept
        ("ｻｰﾋﾞｽ ｾﾝﾀｰ", "サーヒス センター"),
        ("山田 ジロウ", "山田 シロウ"),  # non-kana untouched
    ],
)
def test_seionka_examples(kana: str, expected: str) -> None:
    assert seionka(kana) == expected


KANA = st.characters(
    include_characters="゛゜ ー　\u3099\u309a",
    min_codepoint=0x3041,
    max_codepoint=0x30FF,
)
HALFWIDTH = st.characters(min_codepoint=0xFF61, max_codepoint=0xFF9F)
OTHER = st.sampled_from(["山", "田", "A", "-", IVS_KUZU, "\ue000", "﨑", "神", "\u795e"])
NAMES = st.lists(st.one_of(KANA, HALFWIDTH, OTHER), max_size=20).map("".join)

# Letters that must never survive 清音化: voiced, semi-voiced, small, hiragana, half-width.
_FORBIDDEN = set("ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポヴヷヸヹヺヾ"
                 "ァィゥェォッャュョヮヵヶ゛゜\u3099\u309a")


@settings(max_examples=300, deadline=None)
@given(NAMES)
def test_seionka_idempotent_and_complete(name: str) -> None:
    once = seionka(name)
    assert seionka(once) == once
    assert not _FORBIDDEN & set(once)
    assert not any("\u3041" <= c <= "\u3096" or "\uff61" <= c <= "\uff9f" for c in once)
    # the non-kana characters pass through unchanged and in order
    kept = "山田A-\ue000﨑神\u795e"
    assert [c for c in once if c in kept] == [c for c in name if c in kept]


@settings(max_examples=300, deadline=None)
@given(NAMES)
def test_search_key_folds_all_spellings(name: str) -> None:
    key = search_key(name)
    assert " " not in key and "\u3000" not in key
    assert search_key(key) == key
    assert search_key(seionka(name)) == key
    assert search_key(normalize_kana(name)) == key


#: Any text, weighted towards what keys differently: kana of every kind, marks, half-width
#: kana, spaces of every kind, NUL, surrogates and astral characters.
MIXED = st.lists(
    st.one_of(
        st.characters(min_codepoint=0x3040, max_codepoint=0x30FF),
        st.characters(min_codepoint=0xFF61, max_codepoint=0xFF9F),
        st.characters(min_codepoint=0x31F0, max_codepoint=0x31FF),
        st.characters(min_codepoint=0x1B100, max_codepoint=0x1B16F),
        st.sampled_from(list(" \u3000\t\n\x00\x85\u2028\u3099\u309a\u309b\u309c\ud800山")),
        st.characters(),
    ),
    max_size=12,
).map("".join)


@given(st.lists(MIXED, max_size=20))
@settings(max_examples=400)
def test_search_keys_equal_a_call_per_name(names: list[str]) -> None:
    """The batch form keys exactly as the single one, whatever the names hold."""
    assert text.search_keys(names) == [search_key(n) for n in names]


def test_search_keys_table_path_on_every_changed_character() -> None:
    """Every character the key changes, alone and between kana, through the table path."""
    import numpy as np

    table = text._key_table()
    codes = np.flatnonzero(table != np.arange(len(table), dtype=table.dtype)).tolist()
    changed = [chr(c) for c in codes if not text._KEY_CONTEXT.match(chr(c))]
    assert len(changed) > 150  # hiragana, small and voiced kana, spaces
    names = changed + [f"ア{c}カ" for c in changed]
    assert text.search_keys(names) == [search_key(n) for n in names]


def test_search_key_meets_spelling_variants() -> None:
    variants = ["ジュンペイ", "じゅんぺい", "ｼﾞｭﾝﾍﾟｲ", "シユンヘイ", "シ゛ュンヘ゜イ", " じゅん　ぺい "]
    assert {search_key(v) for v in variants} == {"シユンヘイ"}


# --------------------------------------------------------------------------------------------
# normalize_kana


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("ｼﾞｭﾝﾍﾟｲ", "ジュンペイ"),
        ("じゅんぺい", "ジュンペイ"),
        ("ｶﾞｯｺｳ", "ガッコウ"),
        ("ｳﾞｧ", "ヴァ"),
        ("カ゛ハ゜", "ガパ"),
        ("カ\u3099", "ガ"),
        ("ア゛", "ア゛"),  # no such letter: left as typed
        ("ヤマダ　　タロウ", "ヤマダ タロウ"),
        ("  ﾔﾏﾀﾞ ﾀﾛｳ  ", "ヤマダ タロウ"),
        ("ゝゞ", "ヽヾ"),
    ],
)
def test_normalize_kana_examples(raw: str, expected: str) -> None:
    assert normalize_kana(raw) == expected


@pytest.mark.parametrize(
    "stored",
    [
        IVS_KUZU + "飾区",
        "辻\U000e0101",  # 辻 with an IVS
        "\ue000\U000f0000\U00100000",  # private use, BMP and planes 15/16
        "神\u795e",  # compatibility ideograph and its unified twin stay distinct
        "髙﨑①",
        "ＡＢＣ１２３",  # full-width Latin is not kana: untouched
        "東京都墨田区吾妻橋1-23-20",
    ],
)
def test_stored_text_passes_through(stored: str) -> None:
    assert normalize_kana(stored) == stored
    assert seionka(stored) == stored
    assert normalize_kana("ヤマダ " + stored) == "ヤマダ " + stored


@settings(max_examples=300, deadline=None)
@given(NAMES)
def test_normalize_kana_idempotent_and_keeps_selectors(name: str) -> None:
    once = normalize_kana(name)
    assert normalize_kana(once) == once
    assert once.count("\U000e0100") == name.count("\U000e0100")
    assert once.count("\ue000") == name.count("\ue000")


# --------------------------------------------------------------------------------------------
# 外字


@pytest.mark.parametrize(
    "value, count, positions",
    [
        ("髙", 1, [0]),  # IBM extension in cp932, JIS X 0212 in euc_jp: not JIS X 0208
        ("高", 0, []),
        ("﨑", 1, [0]),  # IBM extension
        ("崎", 0, []),
        ("①", 1, [0]),  # NEC row 13
        ("\ue000", 1, [0]),
        ("\U000f0001", 1, [0]),
        ("\U00100001", 1, [0]),
        (IVS_KUZU, 0, []),  # the base is JIS X 0208; the selector adds nothing
        ("髙\U000e0100", 1, [0]),
        (IVS_KUZU + "髙", 1, [2]),
        ("\ufe00", 0, []),
        ("山田太郎", 0, []),
        ("ﾔﾏﾀﾞ ABC 123", 0, []),  # JIS X 0201: ASCII and half-width katakana
        ("¥‾", 0, []),
        ("〜～−－‖∥¢￠£￡¬￢—―", 0, []),  # both codecs' mappings of the same JIS X 0208 characters
        ("堯槇遙瑤凜熙", 0, []),  # row 84
        ("𠮷野家", 1, [0]),  # outside the BMP
        ("吉野家", 0, []),
        ("ｶ\u3099", 1, [1]),  # a stray combining mark is not a JIS X 0208 character
    ],
)
def test_gaiji_known_characters(value: str, count: int, positions: list[int]) -> None:
    assert gaiji_count(value) == count
    assert gaiji_positions(value) == positions


def test_has_ivs() -> None:
    assert has_ivs(IVS_KUZU)
    assert has_ivs("A\ufe0e")
    assert not has_ivs("葛飾区")
    assert not has_ivs("\ue000")


def test_jis_x0208_table() -> None:
    assert len(text.JIS_X_0208) >= 6879
    # every JIS X 0208 character euc_jp knows is in the table, from a two-byte code
    for char in "亜腕弌熙ぁヶΑЯ─╂":
        assert char.encode("euc_jp")[0] >= 0xA1 and len(char.encode("euc_jp")) == 2
        assert not is_gaiji(char)


def _cp932_range(lead_bytes: range, trail_low: int, trail_high: int) -> list[str]:
    chars = []
    for lead in lead_bytes:
        for trail in range(trail_low, trail_high + 1):
            try:
                chars.append(bytes((lead, trail)).decode("cp932"))
            except UnicodeDecodeError:
                pass
    return chars


@pytest.mark.parametrize(
    "name, chars",
    [
        ("NEC row 13", _cp932_range(range(0x87, 0x88), 0x40, 0x9C)),
        ("NEC-selected IBM", _cp932_range(range(0xED, 0xEF), 0x40, 0xFC)),
        ("IBM extensions", _cp932_range(range(0xFA, 0xFD), 0x40, 0xFC)),
        ("user-defined area", _cp932_range(range(0xF0, 0xF2), 0x40, 0xFC)),
    ],
)
def test_cp932_extensions_are_gaiji(name: str, chars: list[str]) -> None:
    assert len(chars) > 40
    # NEC row 13 repeats a few JIS X 0208 symbols (≒≡∫√⊥∠∵∩∪ ...), which are not 外字
    extensions = [c for c in chars if c not in text.JIS_X_0208]
    assert len(extensions) > 40
    assert all(is_gaiji(c) for c in extensions)
    assert gaiji_count("".join(extensions)) == len(extensions)


VS = st.sampled_from(["\ufe00", "\ufe0f", "\U000e0100", "\U000e01ef"])
STORED = st.lists(st.one_of(st.characters(), VS), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(STORED, st.data())
def test_variation_selectors_never_change_the_count(value: str, data: st.DataObject) -> None:
    count = gaiji_count(value)
    assert count == len(gaiji_positions(value))
    assert all(is_gaiji(value[i]) for i in gaiji_positions(value))
    at = data.draw(st.integers(0, len(value)))
    selector = data.draw(VS)
    with_selector = value[:at] + selector + value[at:]
    assert gaiji_count(with_selector) == count
    assert has_ivs(with_selector)
