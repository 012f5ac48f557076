"""Fixed-width and CSV files: byte-for-byte round trips, cp932 substitutions, row/field errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jukistore import fileio, layouts, records
from jukistore.fileio import RecordFormatError, ValueTooLong

# Text as registers hold it: kana, kanji (外字 included), IVS sequences, private use, Latin.
CHARS = st.sampled_from(list("ヤマダタロウｼﾞｭﾝ山田髙﨑𠮷葛飾区一丁目ABCxyz-・　") + ["\U000e0100", "\ue000", "\ue8ff"])


def _fit(s: str, max_bytes: int) -> str:
    """The longest prefix of ``s`` that fits ``max_bytes`` in UTF-8, without trailing spaces."""
    out = ""
    for ch in s:
        if len((out + ch).encode()) > max_bytes:
            break
        out += ch
    return out.rstrip(" ").lstrip("\U000e0100")


def _text(max_bytes: int) -> st.SearchStrategy[str]:
    return st.lists(CHARS, max_size=12).map("".join).map(lambda s: _fit(s, max_bytes))


def _value(it: layouts.Item) -> st.SearchStrategy[str]:
    if it.type in ("digits", "count", "len", "seq", "code", "flag"):
        return st.text("0123456789", max_size=min(it.width, 12))
    if it.type == "date":
        return st.sampled_from(["", "19800301", "19450000", "19800230", "20250105"])
    return _text(it.width)


def _record(name: str) -> st.SearchStrategy[object]:
    lay = layouts.load(name)
    cls = records.RECORDS[name]
    return st.fixed_dictionaries({it.field: _value(it) for it in lay.items}).map(lambda d: cls(**d))


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("name", ["jumin_kihon", "honnin_kakunin", "sofusaki"])
def test_utf8_round_trips_byte_for_byte(tmp_path, name: str) -> None:
    @SETTINGS
    @given(st.lists(_record(name), min_size=1, max_size=5))
    def check(recs: list[object]) -> None:
        for kind in ("txt", "csv"):
            p, q = tmp_path / f"a.{kind}", tmp_path / f"b.{kind}"
            write = fileio.write_csv if kind == "csv" else fileio.write_fixed
            rep = write(p, name, recs)
            assert rep.rows == len(recs) and rep.substitutions == []
            back, errs = fileio.read_records(p, name)
            assert back == recs and errs == []
            write(q, name, back)
            assert p.read_bytes() == q.read_bytes()

    check()


@SETTINGS
@given(st.lists(_record("jumin_kihon"), min_size=1, max_size=4))
def test_columns_agree_with_rows_and_the_column_writer(tmp_path, recs: list[object]) -> None:
    p, q = tmp_path / "a.txt", tmp_path / "b.txt"
    fileio.write_fixed(p, "jumin_kihon", recs)
    cols = fileio.read_columns(p, "jumin_kihon")
    for f in ("name_kanji", "juminhyo_code", "address"):
        assert list(fileio.decode_column(cols[f])) == [getattr(r, f) for r in recs]
    fileio.write_fixed_columns(q, "jumin_kihon", {f: np.array([getattr(r, f) for r in recs]) for f in cols})
    assert p.read_bytes() == q.read_bytes()


@SETTINGS
@given(st.lists(st.fixed_dictionaries({f: _text(layouts.load("jumin_kihon").item(f).width)
                                       for f in ("name_kanji", "address", "name_kana")}), min_size=1, max_size=5))
def test_cp932_keeps_what_it_can_and_reports_the_rest(tmp_path, rows: list[dict[str, str]]) -> None:
    recs = [records.JuminKihon(**r) for r in rows]
    p = tmp_path / "sjis.txt"
    rep = fileio.write_fixed(p, "jumin_kihon", recs, encoding="cp932")
    back, _ = fileio.read_records(p, "jumin_kihon", encoding="cp932")
    expected_subs = []
    for i, r in enumerate(recs, 1):
        for it in layouts.load("jumin_kihon").items:
            v = getattr(r, it.field)
            out = []
            for pos, ch in enumerate(v):
                try:
                    ch.encode("cp932")
                    out.append(ch)
                except UnicodeEncodeError:
                    repl = "" if 0xE0100 <= ord(ch) <= 0xE01EF else "〓"
                    expected_subs.append((i, it.field, pos, ch, repl))
                    out.append(repl)
            assert getattr(back[i - 1], it.field) == "".join(out)
    assert [(s.row, s.field, s.position, s.char, s.replacement) for s in rep.substitutions] == expected_subs


def test_cp932_reports_each_substitution_with_its_codepoint(tmp_path) -> None:
    rec = records.JuminKihon(name_kanji="𠮷野\U000e0100", address="東京都")
    rep = fileio.write_csv(tmp_path / "a.csv", "jumin_kihon", [rec], encoding="cp932")
    assert [(s.field, s.position, s.codepoint, s.replacement) for s in rep.substitutions] == [
        ("name_kanji", 0, "U+20BB7", "〓"), ("name_kanji", 2, "U+E0100", "")]
    back, _ = fileio.read_records(tmp_path / "a.csv", "jumin_kihon", encoding="cp932")
    assert back[0].name_kanji == "〓野"


def test_malformed_rows_name_line_and_field(tmp_path) -> None:
    recs = [records.JuminKihon(juminhyo_code=f"{i:011d}") for i in range(3)]
    p = tmp_path / "a.txt"
    fileio.write_fixed(p, "jumin_kihon", recs)
    data = bytearray(p.read_bytes())
    off = layouts.load("jumin_kihon").offsets()[29] + layouts.load("jumin_kihon").record_width + 1
    data[off] = ord("X")  # a letter in the 住民票コード of line 2
    p.write_bytes(bytes(data))
    with pytest.raises(RecordFormatError) as ei:
        fileio.read_records(p, "jumin_kihon")
    assert (ei.value.row, ei.value.field) == (2, "juminhyo_code")
    good, errs = fileio.read_records(p, "jumin_kihon", errors="collect")
    assert len(good) == 2 and [(e.row, e.field) for e in errs] == [(2, "juminhyo_code")]
    p.write_bytes(bytes(data) + b"short\n")
    good, errs = fileio.read_records(p, "jumin_kihon", errors="collect")
    assert [e.row for e in errs] == [2, 4]
    with pytest.raises(RecordFormatError):
        fileio.read_columns(p, "jumin_kihon")

    c = tmp_path / "a.csv"
    fileio.write_csv(c, "jumin_kihon", recs)
    lines = c.read_text().splitlines()
    lines[3] = lines[3] + ",extra"
    c.write_text("\n".join(lines) + "\n")
    good, errs = fileio.read_records(c, "jumin_kihon", errors="collect")
    assert len(good) == 2 and [e.row for e in errs] == [4]


def test_writers_refuse_values_that_would_not_come_back(tmp_path) -> None:
    with pytest.raises(ValueTooLong) as ei:
        fileio.write_fixed(tmp_path / "a.txt", "jumin_kihon", [records.JuminKihon(), records.JuminKihon(sex="12345678901")])
    assert (ei.value.row, ei.value.field) == (2, "sex")
    assert not (tmp_path / "a.txt").exists()
    with pytest.raises(RecordFormatError) as ei:
        fileio.write_fixed(tmp_path / "a.txt", "jumin_kihon", [records.JuminKihon(address="墨田区 ")])
    assert ei.value.field == "address"
    with pytest.raises(ValueTooLong) as ei:
        fileio.write_fixed_columns(tmp_path / "b.txt", "jumin_kihon", {"sex": np.array(["1", "2" * 9])})
    assert (ei.value.row, ei.value.field) == (2, "sex")
