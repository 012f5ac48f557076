"""Layouts are well-formed data: every item of the three files, projections that map back to them,
widths that hold real data, and a loader that refuses a broken layout with a clear message."""

from __future__ import annotations

import re

import pytest

from jukistore import layouts
from jukistore.layouts import LayoutError

COUNTS = {"jumin_kihon": 84, "honnin_kakunin": 40, "sofusaki": 67, "seigo": 8, "jumin_kankei": 17, "yon_joho": 4}
RECORDS = ("jumin_kihon", "honnin_kakunin", "sofusaki")


def test_names_lists_every_layout() -> None:
    assert layouts.names() == sorted(COUNTS)


@pytest.mark.parametrize("name,count", COUNTS.items())
def test_items_are_complete_and_well_formed(name: str, count: int) -> None:
    lay = layouts.load(name)
    assert lay.name == name and lay.title_ja and len(lay.items) == count
    if name in RECORDS:
        assert [i.no for i in lay.items] == list(range(1, count + 1))
        assert not lay.is_projection and lay.sources == ()
    assert len(set(lay.fields)) == count
    for i in lay.items:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", i.field) and i.name_ja and i.name_en
        assert i.type in layouts.TYPES and i.width > 0
        assert i.width == 8 if i.type == "date" else True
        assert lay.item(i.field) is i and lay.by_no(i.no) is i
    assert lay.record_width == sum(i.width for i in lay.items)


def test_load_is_cached() -> None:
    assert layouts.load("seigo") is layouts.load("seigo")


def test_widths_hold_real_data() -> None:
    k = layouts.load("jumin_kihon")
    expect = {"juminhyo_code": 11, "mynumber": 12, "residence_card_number": 12, "postal_code": 7,
              "municipality_code": 6, "birth_date": 8, "name_kanji": 32, "name_kana": 64, "address": 80}
    assert {f: k.item(f).width for f in expect} == expect
    h = layouts.load("honnin_kakunin")
    assert (h.item("juminhyo_code").width, h.item("mynumber").width, h.item("old_juminhyo_code").width) == (11, 12, 11)
    s = layouts.load("sofusaki")
    assert s.item("mynumber").width == 12 and s.item("address").width >= 80


def test_every_mynumber_item_is_the_masked_field() -> None:
    for name in COUNTS:
        for i in layouts.load(name).items:
            assert (i.name_ja == "個人番号") == (i.field == "mynumber")


def test_duplicated_source_names_stay_distinct_items() -> None:
    lay = layouts.load("jumin_kihon")
    assert lay.by_no(55).name_ja == lay.by_no(56).name_ja == "除票届出日"
    assert lay.by_no(76).name_ja == lay.by_no(78).name_ja == "外国人住定異動事由"
    assert lay.by_no(55).field != lay.by_no(56).field and lay.by_no(76).field != lay.by_no(78).field
    assert "repeats" in lay.by_no(56).note and "repeats" in lay.by_no(78).note


def test_seigo_is_the_eight_notification_items_of_master_and_identity() -> None:
    seigo = layouts.load("seigo")
    assert [i.name_ja for i in seigo.items] == ["住民票コード", "氏名", "生年月日", "性別", "住所", "個人番号", "異動事由",
                                                "異動年月日"]
    master = [layouts.load("jumin_kihon").by_no(i.sources["jumin_kihon"]).name_ja for i in seigo.items]
    assert master == ["住民票コード", "漢字氏名", "生年月日", "性別コード", "現住所", "個人番号", "異動事由", "住民異動日"]
    ident = [layouts.load("honnin_kakunin").by_no(i.sources["honnin_kakunin"]).name_ja for i in seigo.items]
    assert ident == ["住民票コード", "漢字氏名", "生年月日", "性別", "住所", "個人番号", "異動事由", "異動年月日"]


def test_yon_joho_and_jumin_kankei() -> None:
    assert [i.name_ja for i in layouts.load("yon_joho").items] == ["氏名", "生年月日", "性別", "住所"]
    kankei = layouts.load("jumin_kankei")
    assert kankei.sources == ("jumin_kihon",)
    assert {"juminhyo_code", "mynumber", "household_number", "relationship_code", "address"} <= set(kankei.fields)
    assert "honseki" not in kankei.fields  # 戸籍の表示 needs its own legal basis


@pytest.mark.parametrize("name", ["seigo", "jumin_kankei", "yon_joho"])
def test_projection_items_match_their_sources(name: str) -> None:
    lay = layouts.load(name)
    assert lay.is_projection and lay.sources and lay.source_layout == lay.sources[0]
    for src in lay.sources:
        pairs = lay.projection_fields(src)
        assert [p for p, _ in pairs] == list(lay.fields)
        for i in lay.items:
            s = layouts.load(src).by_no(i.sources[src])
            assert s.type == i.type and s.width <= i.width
    assert lay.items[0].source == lay.items[0].sources[lay.sources[0]]
    with pytest.raises(LayoutError, match="cannot be made from"):
        lay.projection_fields("sofusaki")


def test_byte_geometry_of_fixed_width_rows() -> None:
    lay = layouts.load("seigo")
    assert lay.item("juminhyo_code").byte_width("utf-8") == 11
    assert lay.item("name").byte_width("utf-8") == 32 * 4 and lay.item("name").byte_width("cp932") == 32 * 2
    for enc in ("utf-8", "cp932"):
        widths = lay.byte_widths(enc)
        assert lay.row_bytes(enc) == sum(widths)
        assert list(lay.byte_offsets(enc)) == [sum(widths[:k]) for k in range(len(widths))]


@pytest.mark.parametrize("given,expected", [("UTF-8", "utf-8"), ("utf8", "utf-8"), ("Shift_JIS", "cp932"),
                                            ("sjis", "cp932"), ("CP932", "cp932"), ("Windows-31J", "cp932")])
def test_encoding_names(given: str, expected: str) -> None:
    assert layouts.codec(given) == expected


def test_other_encodings_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported encoding"):
        layouts.codec("latin-1")


def test_unknown_layout_and_item_are_typed_errors() -> None:
    with pytest.raises(LayoutError, match="no layout 'nope'"):
        layouts.load("nope")
    lay = layouts.load("yon_joho")
    with pytest.raises(LayoutError, match="no field 'x'"):
        lay.item("x")
    with pytest.raises(LayoutError, match="no item 9"):
        lay.by_no(9)


def _toml(*items: str, head: str = 'name = "t"\ntitle_ja = "t"\nkind = "record"') -> str:
    return head + "\n" + "\n".join(f"[[items]]\n{i}" for i in items)


GOOD1 = 'no = 1\nname_ja = "a"\nname_en = "a"\nfield = "a"\ntype = "digits"\nwidth = 3'
GOOD2 = 'no = 2\nname_ja = "b"\nname_en = "b"\nfield = "b"\ntype = "kanji"\nwidth = 10'


def test_a_good_layout_parses() -> None:
    lay = layouts.parse(_toml(GOOD1, GOOD2), "t")
    assert lay.fields == ("a", "b") and lay.row_bytes("utf-8") == 43


@pytest.mark.parametrize("text,message", [
    (_toml(GOOD1, GOOD1.replace('field = "a"', 'field = "c"')), "unique and ascending"),
    (_toml(GOOD1, GOOD2.replace('field = "b"', 'field = "a"')), r"item 2: duplicate field 'a'"),
    (_toml(GOOD1.replace("width = 3", "width = 0")), "item 1: width must be a positive integer"),
    (_toml(GOOD1.replace("width = 3", "width = -2")), "item 1: width must be a positive integer"),
    (_toml(GOOD1.replace('type = "digits"', 'type = "number"')), "item 1: unknown type 'number'"),
    (_toml(GOOD1.replace('type = "digits"\nwidth = 3', 'type = "date"\nwidth = 10')), "a date is 8 characters"),
    (_toml(GOOD1.replace('field = "a"', 'field = "Name"')), "not a snake_case identifier"),
    (_toml(GOOD1.replace('field = "a"', 'field = "class"')), "not a snake_case identifier"),
    (_toml(GOOD1 + "\nwidht = 3"), "unknown key"),
    (_toml(GOOD1.replace('name_en = "a"\n', "")), "lacks name_en"),
    (_toml(GOOD2), "numbered 1..1"),
    (_toml(GOOD1 + "\nsource = { jumin_kihon = 1 }"), "only projection items have a source"),
    (_toml(head='name = "t"'), "no \\[\\[items\\]\\]"),
    (_toml(GOOD1, head='name = "other"'), "file says name"),
    (_toml(GOOD1, head='name = "t"\nkind = "view"'), "kind must be"),
    ("name = [", "layout t"),
])
def test_malformed_layouts_are_refused_naming_the_item(text: str, message: str) -> None:
    with pytest.raises(LayoutError, match=message) as ei:
        layouts.parse(text, "t")
    assert str(ei.value).startswith("layout t")


PROJ = 'name = "t"\ntitle_ja = "t"\nkind = "projection"\nsources = ["jumin_kihon"]'


@pytest.mark.parametrize("item,message", [
    ('no = 1\nname_ja = "x"\nname_en = "x"\nfield = "x"\ntype = "digits"\nwidth = 11', "source must give"),
    ('no = 1\nname_ja = "x"\nname_en = "x"\nfield = "x"\ntype = "digits"\nwidth = 11\nsource = { jumin_kihon = 99 }',
     "no item 99"),
    ('no = 1\nname_ja = "x"\nname_en = "x"\nfield = "x"\ntype = "digits"\nwidth = 10\nsource = { jumin_kihon = 30 }',
     "does not fit"),
    ('no = 1\nname_ja = "x"\nname_en = "x"\nfield = "x"\ntype = "kanji"\nwidth = 11\nsource = { jumin_kihon = 30 }',
     "does not fit"),
])
def test_projection_sources_are_checked(item: str, message: str) -> None:
    with pytest.raises(LayoutError, match=message):
        layouts.parse(_toml(item, head=PROJ), "t")


def test_a_projection_names_its_sources() -> None:
    ok = 'no = 1\nname_ja = "x"\nname_en = "x"\nfield = "x"\ntype = "digits"\nwidth = 11\nsource = { jumin_kihon = 30 }'
    assert layouts.parse(_toml(ok, head=PROJ), "t").items[0].source == 30
    with pytest.raises(LayoutError, match="lists its sources"):
        layouts.parse(_toml(ok, head=PROJ.replace('sources = ["jumin_kihon"]', "")), "t")


def test_load_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "t.toml"
    p.write_text(_toml(GOOD1), encoding="utf-8")
    assert layouts.load_file(p).fields == ("a",)
