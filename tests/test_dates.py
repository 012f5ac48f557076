"""Recorded dates: every listed form, era boundaries, incomplete and impossible dates, ordering."""

from __future__ import annotations

import datetime
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jukistore import dates
from jukistore.dates import (
    DateError,
    DateFormatError,
    EraError,
    ImpossibleDateError,
    IncompleteDateError,
    RecordedDate,
    parse,
)
from jukistore.errors import JukistoreError

# --------------------------------------------------------------------------------------------
# Examples of every accepted form


@pytest.mark.parametrize(
    "text, expected, era",
    [
        ("1980-03-01", (1980, 3, 1), None),
        ("1980/3/1", (1980, 3, 1), None),
        ("1980.3.1", (1980, 3, 1), None),
        ("19800301", (1980, 3, 1), None),
        ("1980年3月1日", (1980, 3, 1), None),
        ("１９８０年３月１日", (1980, 3, 1), None),
        ("昭和55年3月1日", (1980, 3, 1), "昭和"),
        ("昭和５５年３月１日", (1980, 3, 1), "昭和"),
        ("昭和55年 3月 1日生", (1980, 3, 1), "昭和"),
        ("㍼55年3月1日", (1980, 3, 1), "昭和"),
        ("昭55年3月1日", (1980, 3, 1), "昭和"),
        ("昭和五十五年三月一日", (1980, 3, 1), "昭和"),
        ("S55.3.1", (1980, 3, 1), "昭和"),
        ("s55.03.01", (1980, 3, 1), "昭和"),
        ("Ｓ５５．３．１", (1980, 3, 1), "昭和"),
        ("S55/3/1", (1980, 3, 1), "昭和"),
        ("S550301", (1980, 3, 1), "昭和"),
        ("令和元年5月1日", (2019, 5, 1), "令和"),
        ("R1.5.1", (2019, 5, 1), "令和"),
        ("R元.5.1", (2019, 5, 1), "令和"),
        ("H31.4.30", (2019, 4, 30), "平成"),
        ("平成元年1月8日", (1989, 1, 8), "平成"),
        ("明治45年7月29日", (1912, 7, 29), "明治"),
        ("M45.7.29", (1912, 7, 29), "明治"),
        ("大正元年7月30日", (1912, 7, 30), "大正"),
        ("T15.12.24", (1926, 12, 24), "大正"),
    ],
)
def test_listed_forms(text: str, expected: tuple[int, int, int], era: str | None) -> None:
    d = parse(text)
    assert (d.year, d.month, d.day) == expected
    assert d.era == era
    assert d.text == text
    assert not d.era_mismatch
    assert d.is_valid_calendar_date
    assert d.to_date() == datetime.date(*expected)


@pytest.mark.parametrize(
    "text, expected, iso, kanji, short",
    [
        ("昭和55年不詳", (1980, 0, 0), "1980-00-00", "昭和55年不詳", "S55.0.0"),
        ("昭和55年月日不詳", (1980, 0, 0), "1980-00-00", "昭和55年不詳", "S55.0.0"),
        ("1980-00-00", (1980, 0, 0), "1980-00-00", "昭和55年不詳", "S55.0.0"),
        ("19800300", (1980, 3, 0), "1980-03-00", "昭和55年3月不詳", "S55.3.0"),
        ("1980年3月", (1980, 3, 0), "1980-03-00", "昭和55年3月不詳", "S55.3.0"),
        ("1980-03", (1980, 3, 0), "1980-03-00", "昭和55年3月不詳", "S55.3.0"),
        ("昭和55年3月日不詳", (1980, 3, 0), "1980-03-00", "昭和55年3月不詳", "S55.3.0"),
        ("昭和55年3月不詳", (1980, 3, 0), "1980-03-00", "昭和55年3月不詳", "S55.3.0"),
        ("昭和55年不詳月5日", (1980, 0, 5), "1980-00-05", "昭和55年不詳月5日", "S55.0.5"),
        ("不詳", (0, 0, 0), "0000-00-00", "不詳", "不詳"),
        ("年月日不詳", (0, 0, 0), "0000-00-00", "不詳", "不詳"),
    ],
)
def test_unknown_parts_kept(
    text: str, expected: tuple[int, int, int], iso: str, kanji: str, short: str
) -> None:
    d = parse(text)
    assert (d.year, d.month, d.day) == expected
    assert d.isoformat() == iso
    assert d.compact() == iso.replace("-", "")
    assert d.wareki() == kanji
    assert d.wareki("short") == short
    assert not d.is_complete
    assert not d.is_valid_calendar_date
    assert not d.is_impossible
    with pytest.raises(IncompleteDateError):
        d.to_date()
    # the printed forms read back to the same date
    assert parse(kanji) == d and parse(short) == d and parse(iso) == d


@pytest.mark.parametrize("text", ["1980-02-30", "昭和55年2月30日", "S55.2.30", "19800230"])
def test_impossible_kept_as_recorded(text: str) -> None:
    d = parse(text)
    assert (d.year, d.month, d.day) == (1980, 2, 30)
    assert d.is_complete
    assert d.is_impossible
    assert not d.is_valid_calendar_date
    assert d.isoformat() == "1980-02-30"
    assert d.compact() == "19800230"
    assert d.wareki() == "昭和55年2月30日"
    with pytest.raises(ImpossibleDateError) as info:
        d.to_date()
    assert text in str(info.value)


def test_leap_days() -> None:
    assert parse("2000-02-29").is_valid_calendar_date
    assert not parse("1900-02-29").is_valid_calendar_date
    assert parse("1900-02-29").is_impossible
    # with the year unknown, 29 February is possible (some year has it) but 30 is not
    assert not RecordedDate(0, 2, 29).is_impossible
    assert RecordedDate(0, 2, 30).is_impossible


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "55年3月1日",  # western year without era is not guessed
        "80/3/1",
        "昭和0年1月1日",
        "S0.1.1",
        "1980-13-01",
        "1980-01-32",
        "19801301",
        "19800132",
        "1980-3/1",
        "1980030",
        "198003011",
        "X55.3.1",
        "昭和55年3月1日日",
        "昭和55年十十月1日",
    ],
)
def test_rejected_forms(text: str) -> None:
    with pytest.raises(DateFormatError) as info:
        parse(text)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, JukistoreError)
    assert repr(text) in str(info.value)


def test_non_text_rejected() -> None:
    with pytest.raises(DateFormatError):
        parse(19800301)  # type: ignore[arg-type]


@pytest.mark.parametrize("parts", [(10000, 1, 1), (1980, 13, 1), (1980, 1, 32), (-1, 1, 1)])
def test_constructor_ranges(parts: tuple[int, int, int]) -> None:
    with pytest.raises(DateError):
        RecordedDate(*parts)


def test_constructor_refuses_bool_and_float() -> None:
    with pytest.raises(DateError):
        RecordedDate(True, 1, 1)  # type: ignore[arg-type]
    with pytest.raises(DateError):
        RecordedDate(1980.0, 1, 1)  # type: ignore[arg-type]


def test_error_hierarchy() -> None:
    for cls in (DateFormatError, IncompleteDateError, ImpossibleDateError, EraError):
        assert issubclass(cls, DateError)
    assert issubclass(DateError, ValueError) and issubclass(DateError, JukistoreError)


# --------------------------------------------------------------------------------------------
# Eras


BOUNDARIES = [
    # (western day, kanji, short)
    ((1912, 7, 29), "明治45年7月29日", "M45.7.29"),
    ((1912, 7, 30), "大正元年7月30日", "T1.7.30"),
    ((1926, 12, 24), "大正15年12月24日", "T15.12.24"),
    ((1926, 12, 25), "昭和元年12月25日", "S1.12.25"),
    ((1989, 1, 7), "昭和64年1月7日", "S64.1.7"),
    ((1989, 1, 8), "平成元年1月8日", "H1.1.8"),
    ((2019, 4, 30), "平成31年4月30日", "H31.4.30"),
    ((2019, 5, 1), "令和元年5月1日", "R1.5.1"),
    ((1868, 1, 25), "明治元年1月25日", "M1.1.25"),
]


@pytest.mark.parametrize("western, kanji, short", BOUNDARIES)
def test_era_boundaries_round_trip(western: tuple[int, int, int], kanji: str, short: str) -> None:
    d = RecordedDate.from_date(datetime.date(*western))
    assert d.wareki() == kanji
    assert d.wareki("short") == short
    for text in (kanji, short, short.lower()):
        back = parse(text)
        assert back == d
        assert not back.era_mismatch
        assert back.wareki() == kanji
        assert back.to_date() == datetime.date(*western)


def test_before_meiji_has_no_era() -> None:
    d = parse("1868-01-24")
    with pytest.raises(EraError):
        d.wareki()
    with pytest.raises(EraError):
        RecordedDate(0, 3, 1).wareki()


@pytest.mark.parametrize(
    "text, in_force",
    [
        ("平成31年5月1日", "令和元年5月1日"),
        ("H31.5.1", "令和元年5月1日"),
        ("昭和64年1月8日", "平成元年1月8日"),
        ("大正元年7月29日", "明治45年7月29日"),
        ("明治45年7月30日", "大正元年7月30日"),
        ("令和元年4月30日", "平成31年4月30日"),
        ("昭和100年1月1日", "令和7年1月1日"),
        ("平成32年不詳", "令和2年不詳"),
    ],
)
def test_era_mismatch_accepted_and_flagged(text: str, in_force: str) -> None:
    d = parse(text)
    assert d.era_mismatch
    assert d.text == text
    assert d.wareki() == in_force
    assert d == parse(in_force)
    assert not parse(in_force).era_mismatch


def test_partial_date_straddling_eras_keeps_its_era() -> None:
    showa = parse("昭和64年1月不詳")
    heisei = parse("平成元年1月不詳")
    assert showa == heisei == parse("1989-01-00")
    assert not showa.era_mismatch and not heisei.era_mismatch
    assert showa.wareki() == "昭和64年1月不詳"
    assert heisei.wareki() == "平成元年1月不詳"
    # written in western form: the later era
    assert parse("1989-01-00").wareki() == "平成元年1月不詳"
    assert parse("2019-00-00").wareki() == "令和元年不詳"
    assert not parse("平成31年不詳").era_mismatch
    # 大正 began on 30 July: a July with unknown day may still be 大正 (31 July is)
    assert not parse("大正元年7月不詳").era_mismatch
    assert parse("大正元年7月不詳").wareki() == "大正元年7月不詳"
    assert parse("明治45年7月不詳").wareki() == "明治45年7月不詳"
    assert parse("1912-07-00").wareki() == "大正元年7月不詳"
    assert parse("大正元年6月不詳").era_mismatch
    assert parse("昭和元年12月不詳").wareki("short") == "S1.12.0"


def test_meiji_lunisolar_dates_keep_their_era() -> None:
    d = parse("明治元年1月1日")
    assert (d.year, d.month, d.day) == (1868, 1, 1)
    assert d.era_mismatch  # before 1868-01-25 in the Gregorian reckoning
    assert d.wareki() == "明治元年1月1日"


def test_wareki_style_checked() -> None:
    with pytest.raises(ValueError):
        parse("1980-03-01").wareki("long")  # type: ignore[arg-type]


ERA_DAYS = st.dates(min_value=datetime.date(1868, 1, 25), max_value=datetime.date(2300, 12, 31))


@settings(max_examples=300, deadline=None)
@given(ERA_DAYS, st.sampled_from(["kanji", "short"]))
def test_wareki_round_trip(day: datetime.date, style: str) -> None:
    d = RecordedDate.from_date(day)
    text = d.wareki(style)  # type: ignore[arg-type]
    back = parse(text)
    assert back == d
    assert back.to_date() == day
    assert not back.era_mismatch
    assert back.wareki(style) == text  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.integers(1869, 2300), st.integers(0, 12), st.integers(0, 31))
def test_wareki_round_trip_incomplete_and_impossible(year: int, month: int, day: int) -> None:
    d = RecordedDate(year, month, day)
    for style in ("kanji", "short"):
        back = parse(d.wareki(style))  # type: ignore[arg-type]
        assert (back.year, back.month, back.day) == (year, month, day)
        assert back.compact() == d.compact()


# --------------------------------------------------------------------------------------------
# The stored form


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 9999), st.integers(0, 12), st.integers(0, 31))
def test_compact_round_trip_byte_for_byte(year: int, month: int, day: int) -> None:
    text = f"{year:04d}{month:02d}{day:02d}"
    d = parse(text)
    assert (d.year, d.month, d.day) == (year, month, day)
    assert d.compact() == text
    assert RecordedDate(year, month, day).compact() == text
    assert parse(d.isoformat()).compact() == text
    assert d.key == int(text)


def test_equality_ignores_form_and_hash_agrees() -> None:
    forms = ["1980-03-01", "S55.3.1", "昭和55年3月1日", "19800301", "１９８０/３/１"]
    parsed = [parse(t) for t in forms]
    assert len(set(parsed)) == 1
    assert len({p.text for p in parsed}) == len(forms)
    assert parse("1980-03-01") != parse("1980-03-00")
    assert parse("1980-03-01") != "1980-03-01"


def test_immutable_and_picklable() -> None:
    d = parse("平成31年5月1日")
    with pytest.raises(AttributeError):
        d.year = 2000  # type: ignore[misc]
    back = pickle.loads(pickle.dumps(d))
    assert back == d and back.text == d.text and back.era == d.era and back.era_mismatch


# --------------------------------------------------------------------------------------------
# Ordering

PARTS = st.tuples(st.integers(0, 9999), st.integers(0, 12), st.integers(0, 31))


@settings(max_examples=200, deadline=None)
@given(st.lists(PARTS, max_size=30))
def test_sort_order_is_numeric_order(parts: list[tuple[int, int, int]]) -> None:
    recorded = sorted(RecordedDate(*p) for p in parts)
    assert [(r.year, r.month, r.day) for r in recorded] == sorted(parts)
    assert [r.compact() for r in recorded] == sorted(r.compact() for r in recorded)


@settings(max_examples=200, deadline=None)
@given(PARTS, PARTS)
def test_comparisons_agree(a: tuple[int, int, int], b: tuple[int, int, int]) -> None:
    x, y = RecordedDate(*a), RecordedDate(*b)
    assert (x < y) == (a < b)
    assert (x <= y) == (a <= b)
    assert (x > y) == (a > b)
    assert (x >= y) == (a >= b)
    assert (x == y) == (a == b)


@settings(max_examples=200, deadline=None)
@given(st.dates(), st.dates())
def test_order_matches_calendar_for_real_days(a: datetime.date, b: datetime.date) -> None:
    assert (RecordedDate.from_date(a) < RecordedDate.from_date(b)) == (a < b)


def test_unknown_sorts_before_known_and_impossible_between() -> None:
    seq = ["1980-00-00", "1980-00-15", "1980-01-00", "1980-01-01", "1980-02-29", "1980-02-30",
           "1980-02-31", "1980-03-00", "1980-03-01", "1981-00-00"]
    shuffled = [parse(t) for t in reversed(seq)]
    assert [d.isoformat() for d in sorted(shuffled)] == seq
    assert parse("不詳") < parse("0001-01-01")


# --------------------------------------------------------------------------------------------
# Bulk forms


@settings(max_examples=100, deadline=None)
@given(st.lists(PARTS, min_size=1, max_size=50), st.sampled_from(["S8", "U8"]))
def test_bulk_matches_scalar(parts: list[tuple[int, int, int]], dtype: str) -> None:
    texts = [f"{y:04d}{m:02d}{d:02d}" for y, m, d in parts]
    array = np.array(texts, dtype=dtype)
    parsed = dates.parse_compact_many(array)
    scalar = [parse(t) for t in texts]
    assert parsed.dtype == dates.COMPACT_DTYPE
    assert [tuple(int(v) for v in row) for row in parsed.tolist()] == parts
    keys = dates.to_ordinal_key(array)
    assert keys.dtype == np.int32
    assert keys.tolist() == [s.key for s in scalar]
    valid = [s.is_valid_calendar_date for s in scalar]
    assert dates.is_valid_calendar_many(parsed).tolist() == valid
    assert dates.format_compact_many(parsed).tolist() == [t.encode() for t in texts]
    order = np.argsort(keys, kind="stable")
    assert [scalar[i] for i in order] == sorted(scalar)


@pytest.mark.parametrize(
    "values, row",
    [
        ([b"19800301", b"1980030x"], 1),
        (["19800301", "19800301", "1980031"], 2),
        (["198003011"], 0),
        ([b"19801301"], 0),
        (["19800132", "19800101"], 0),
        (["１９８００３０１"], 0),
    ],
)
def test_bulk_names_the_bad_row(values: list[object], row: int) -> None:
    with pytest.raises(DateFormatError) as info:
        dates.parse_compact_many(values)  # type: ignore[arg-type]
    assert info.value.row == row


def test_bulk_leap_days() -> None:
    values = np.array([b"20000229", b"19000229", b"19960229", b"19970229", b"00000229"])
    assert dates.is_valid_calendar_many(values).tolist() == [True, False, True, False, False]


def test_bulk_keeps_shape() -> None:
    values = np.array([[b"19800301", b"19800300"], [b"00000000", b"20190501"]])
    assert dates.parse_compact_many(values).shape == (2, 2)
    assert dates.to_ordinal_key(values).tolist() == [[19800301, 19800300], [0, 20190501]]
    assert dates.format_compact_many(values).tolist() == values.tolist()


def test_bulk_refuses_numbers() -> None:
    with pytest.raises(DateFormatError):
        dates.parse_compact_many(np.array([19800301]))
