"""The record Structs follow their layouts item for item, encode compactly, project, and never show a
full 個人番号 in repr."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jukistore import layouts, records
from jukistore.layouts import LayoutError

ALL = {**records.RECORDS, **records.PROJECTIONS}
MN = "000000000019"  # not a real number: a synthetic value with a valid check digit
TEXT = st.text(st.sampled_from(list("山田葛飾髙﨑𠮷ヤマダ　 ABC123") + ["\U000e0100", "\ue000", "\uf8ff"]), max_size=10)


def test_a_struct_for_every_layout() -> None:
    assert sorted(ALL) == layouts.names()
    assert set(records.RECORDS) == {"jumin_kihon", "honnin_kakunin", "sofusaki"}


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_item_is_exactly_one_field_in_order(name: str) -> None:
    cls = records.record_class(name)
    assert cls.layout_name == name
    assert cls.__struct_fields__ == layouts.load(name).fields
    for f in msgspec.structs.fields(cls):
        assert f.type is str and f.default == ""


@pytest.mark.parametrize("name", sorted(ALL))
def test_records_are_frozen_array_like_and_round_trip(name: str) -> None:
    cls = records.record_class(name)
    lay = layouts.load(name)
    first = lay.items[0].field
    rec = cls(**{first: "x"})
    with pytest.raises(AttributeError):
        setattr(rec, first, "y")
    data = records.encode(rec)
    arr = msgspec.msgpack.decode(data)
    assert arr[0] == "x" and len(arr) == len(lay.items)
    assert records.decode(cls, data) == rec
    assert records.values(rec) == tuple(arr)


@settings(max_examples=50, deadline=None)
@given(st.fixed_dictionaries({f: TEXT for f in layouts.load("honnin_kakunin").fields}))
def test_msgpack_keeps_text_byte_for_byte(d: dict[str, str]) -> None:
    rec = records.HonninKakunin(**d)
    back = records.decode(records.HonninKakunin, records.encode(rec))
    assert back == rec and all(getattr(back, f).encode() == v.encode() for f, v in d.items())


def test_positions_are_item_numbers() -> None:
    rec = records.JuminKihon(juminhyo_code="12345678901", mynumber=MN)
    arr = msgspec.msgpack.decode(records.encode(rec))
    lay = layouts.load("jumin_kihon")
    assert arr[lay.item("juminhyo_code").no - 1] == "12345678901" and arr[lay.item("mynumber").no - 1] == MN


def test_decode_refuses_what_is_not_a_record() -> None:
    with pytest.raises(msgspec.ValidationError):
        records.decode(records.YonJoho, msgspec.msgpack.encode([1, 2, 3, 4]))


@pytest.mark.parametrize("name", [n for n in sorted(ALL) if "mynumber" in layouts.load(n).fields])
def test_repr_masks_the_mynumber(name: str) -> None:
    cls = records.record_class(name)
    rec: Any = cls(mynumber=MN, **{layouts.load(name).items[0].field: "x"})
    shown = [repr(rec), str(rec), f"{rec}", f"{rec!r}", repr([rec]), str(dict(rich=list(rec.__rich_repr__())))]
    for s in shown:
        assert MN not in s and "********0019" in s
    assert "mynumber='********0019'" in repr(rec) and rec.mynumber == MN


def test_repr_leaves_out_empty_fields() -> None:
    assert repr(records.YonJoho(name="山田　太郎")) == f"YonJoho(name={'山田　太郎'!r})"
    assert repr(records.Seigo()) == "Seigo()"


def test_project_from_master_and_identity() -> None:
    master = records.JuminKihon(juminhyo_code="12345678901", name_kanji="葛\U000e0100飾", birth_date="19450300", sex="1",
                                address="東京都墨田区", mynumber=MN, change_reason="01", change_date="20250105",
                                household_number="1", atena_number="7")
    seigo = records.project(master, "seigo")
    assert seigo == records.Seigo(juminhyo_code="12345678901", name="葛\U000e0100飾", birth_date="19450300", sex="1",
                                  address="東京都墨田区", mynumber=MN, change_reason="01", change_date="20250105")
    ident = records.HonninKakunin(juminhyo_code="12345678901", name_kanji="葛\U000e0100飾", birth_date="19450300",
                                  sex="1", address="東京都墨田区", mynumber=MN, change_reason="01", change_date="20250105")
    assert records.project(ident, "seigo") == seigo
    assert records.project(ident, "yon_joho") == records.project(master, "yon_joho") == records.YonJoho(
        name="葛\U000e0100飾", birth_date="19450300", sex="1", address="東京都墨田区")
    kankei = records.project(master, "jumin_kankei")
    assert (kankei.atena_number, kankei.household_number, kankei.mynumber) == ("7", "1", MN)  # type: ignore[attr-defined]
    assert records.project(seigo, "seigo") is seigo
    with pytest.raises(LayoutError, match="cannot be made from 'honnin_kakunin'"):
        records.project(ident, "jumin_kankei")
    with pytest.raises(LayoutError, match="no record class"):
        records.record_class("nope")


_ITEMS = sorted({(i.type, i.width): i for n in sorted(ALL) for i in layouts.load(n).items}.values(),
                key=lambda i: (i.type, i.width))
_EDGE = st.sampled_from(list("0189AFafGz ~-\x00\x1f\x7f\x80\x85\u2028\u3000\uff10\u00e9\u00b2\u0660漢ｱ") +
                        ["\U000e0100", "\U00020bb7", "\ue000"])


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_ITEMS), st.one_of(st.text(_EDGE, max_size=12), st.text(max_size=12),
                                          st.text(st.characters(codec="utf-8"), max_size=260),
                                          st.from_regex(r"[0-9A-F]{0,9}", fullmatch=True)))
def test_the_core_value_check_agrees_with_the_layout_rules(item: layouts.Item, value: str) -> None:
    """The write paths check values in the core; the file readers and writers with
    jukistore.fileio.values.problem. The two must accept exactly the same values for every item:
    one refusing what the other takes stores what cannot be exported, or refuses what could."""
    from jukistore import _core
    from jukistore.fileio.values import problem

    cls = _cls_of(item)
    kinds, widths = records._value_rules(cls)
    k = cls.__struct_fields__.index(item.field)
    got = _core.first_column_fault(msgspec.msgpack.encode([value]), kinds[k], widths[k])
    assert (got is None) == (problem(item, value) is None), (item.type, item.width, value, got)


def _cls_of(item: layouts.Item) -> type[records.Record]:
    return next(c for n, c in sorted(ALL.items()) if item in layouts.load(n).items)


@pytest.mark.parametrize("item", _ITEMS, ids=lambda i: f"{i.type}{i.width}")
def test_the_core_value_check_agrees_at_the_width(item: layouts.Item) -> None:
    """At the item's width and one past it, in one-byte and in multi-byte characters."""
    from jukistore import _core
    from jukistore.fileio.values import problem

    cls = _cls_of(item)
    kinds, widths = records._value_rules(cls)
    k = cls.__struct_fields__.index(item.field)
    for ch in ("9", "A", "漢", "\U00020bb7", "\u3000"):
        for n in (item.width - 1, item.width, item.width + 1):
            v = ch * n
            got = _core.first_column_fault(msgspec.msgpack.encode([v]), kinds[k], widths[k])
            assert (got is None) == (problem(item, v) is None), (ch, n)
