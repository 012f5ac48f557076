"""Layouts are well-formed data and the record Structs follow them item for item."""

from __future__ import annotations

import msgspec
import pytest

from jukistore import layouts, records
from jukistore.layouts import LayoutError


EXPECTED = {"jumin_kihon": 84, "honnin_kakunin": 40, "sofusaki": 67, "seigo": 8, "yon_joho": 4}


@pytest.mark.parametrize("name,count", EXPECTED.items())
def test_item_counts(name: str, count: int) -> None:
    lay = layouts.load(name)
    assert len(lay.items) == count
    assert [i.no for i in lay.items] == list(range(1, count + 1))


@pytest.mark.parametrize("name", ["jumin_kihon", "honnin_kakunin", "sofusaki"])
def test_struct_fields_match_layout_items_in_order(name: str) -> None:
    lay = layouts.load(name)
    cls = records.RECORDS[name]
    assert cls.__struct_fields__ == lay.fields
    assert all(w > 0 for w in (i.width for i in lay.items))


def test_duplicated_source_names_stay_distinct_items() -> None:
    lay = layouts.load("jumin_kihon")
    assert lay.by_no(55).name_ja == lay.by_no(56).name_ja == "除票届出日"
    assert lay.by_no(76).name_ja == lay.by_no(78).name_ja == "外国人住定異動事由"
    assert lay.by_no(55).field != lay.by_no(56).field and lay.by_no(76).field != lay.by_no(78).field
    assert lay.by_no(56).note and lay.by_no(78).note


def test_seigo_is_the_eight_notification_fields() -> None:
    src = layouts.load("jumin_kihon")
    names = [src.by_no(i.source).name_ja for i in layouts.load("seigo").items]
    assert names == ["住民票コード", "漢字氏名", "生年月日", "性別コード", "現住所", "個人番号", "異動事由", "住民異動日"]


def test_known_widths() -> None:
    lay = layouts.load("jumin_kihon")
    assert lay.item("juminhyo_code").width == 11
    assert lay.item("mynumber").width == 12
    assert lay.item("birth_date").width == 8
    assert lay.item("postal_code").width == 7
    assert lay.record_width == sum(i.width for i in lay.items)
    assert layouts.load("jumin_kihon").offsets()[1] == lay.items[0].width


def test_unknown_layout_is_a_typed_error() -> None:
    with pytest.raises(LayoutError, match="no layout"):
        layouts.load("nope")


def test_records_round_trip_and_mask_mynumber() -> None:
    r = records.JuminKihon(juminhyo_code="00000000019", mynumber="000000000019", name_kanji="葛\U000e0100飾\ue000")
    b = records.encode(r)
    assert records.decode(records.JuminKihon, b) == r
    assert msgspec.msgpack.decode(b)[layouts.load("jumin_kihon").by_no(81).no - 1] == "000000000019"
    assert "000000000019" not in repr(r) and "0019" in repr(r)
    assert records.project(r, "yon_joho")["name"] == "葛\U000e0100飾\ue000"
