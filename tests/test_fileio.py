"""Fixed-width and CSV files: byte-for-byte round trips, cp932 substitutions reported exactly, errors
naming row and field in both modes, and the columnar reader and writer agreeing with the row ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jukistore import fileio, layouts, records
from jukistore.fileio import (ColumnCountError, HeaderError, InvalidValue, RecordFormatError, RowLengthError,
                              UndecodableBytes, ValueTooLong)
from jukistore.fileio.values import CP932_CHANGED, is_selector, problem
from store_support import seigo_rows

NAMES = layouts.names()
MN = "000000000019"  # synthetic: a valid check digit, not a real number

# Text as registers hold it: kana (full and half width), kanji with 外字 (髙 﨑 in cp932's extensions,
# 𠮷 outside it), IVS sequences, private-use characters (inside and outside cp932's user area),
# Latin, spaces inside a value, and the characters cp932 reads back as others (〜 − ¢) or holds as
# another (—).
TEXT_CHARS = (list("ヤマダタロウｼﾞｭﾝ山田髙﨑𠮷葛飾区一丁目１２ABCxyz-・〜−¢—\"',　 😀")
              + ["葛\U000e0100", "\U000e0100", "\ue000", "\ue757", "\ue758", "\uf8ff"])
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


def _text(width: int) -> st.SearchStrategy[str]:
    short = st.lists(st.sampled_from(TEXT_CHARS), max_size=8).map("".join)
    full = st.text(st.sampled_from(["𠮷", "\U000e0100", "山", "ｱ", "A"]), min_size=width, max_size=width)
    return st.one_of(short, short, full).map(lambda s: s[:width].rstrip(" "))


def _value(it: layouts.Item) -> st.SearchStrategy[str]:
    if it.type in layouts.DIGIT_TYPES:
        return st.text("0123456789", max_size=it.width)
    if it.type == "date":
        return st.sampled_from(["", "19800301", "19450000", "19800230", "20250105", "00000000"])
    if it.type == "bin":
        return st.text("0123456789ABCDEF", max_size=it.width)
    if not it.is_text:
        return st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=it.width).map(str.rstrip)
    return _text(it.width)


def record(name: str) -> st.SearchStrategy[Any]:
    cls = records.record_class(name)
    return st.fixed_dictionaries({it.field: _value(it) for it in layouts.load(name).items}).map(lambda d: cls(**d))


def columns_of(name: str, recs: list[Any]) -> dict[str, np.ndarray]:
    return {f: np.array([getattr(r, f) for r in recs], dtype=str) for f in layouts.load(name).fields}


# ---- round trips -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_utf8_round_trips_byte_for_byte(tmp_path: Path, name: str) -> None:
    @SETTINGS
    @given(st.lists(record(name), min_size=1, max_size=4))
    def check(recs: list[Any]) -> None:
        for fmt, write in (("dat", fileio.write_fixed), ("csv", fileio.write_csv)):
            p, q = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
            rep = write(p, name, recs)
            assert rep.rows == len(recs) and rep.ok
            back, errs = fileio.read_records(p, name)
            assert back == recs and errs == []
            for r, b in zip(recs, back):
                assert records.encode(r) == records.encode(b)  # every field, byte for byte
            write(q, name, back)
            assert p.read_bytes() == q.read_bytes()
        p = tmp_path / "a.dat"
        assert p.stat().st_size == len(recs) * (layouts.load(name).row_bytes("utf-8") + 1)
        fileio.write_fixed_columns(tmp_path / "c.dat", name, columns_of(name, recs))
        assert (tmp_path / "c.dat").read_bytes() == p.read_bytes()
        cols = fileio.read_columns(p, name, decode=True)
        assert {f: list(v) for f, v in cols.items()} == {f: [getattr(r, f) for r in recs] for f in cols}
        assert list(cols.lines) == list(range(1, len(recs) + 1))

    check()


def test_ivs_and_private_use_survive_exactly(tmp_path: Path) -> None:
    name = "葛\U000e0100飾\ue000𠮷"
    rec = records.JuminKihon(name_kanji=name, address="東京都葛\U000e0100飾区", mynumber=MN)
    for fmt in ("dat", "csv"):
        p = tmp_path / f"a.{fmt}"
        (fileio.write_csv if fmt == "csv" else fileio.write_fixed)(p, "jumin_kihon", [rec])
        assert name.encode() in p.read_bytes()
        (back,), _ = fileio.read_records(p, "jumin_kihon")
        assert back.name_kanji.encode() == name.encode() and back == rec


def test_a_value_at_full_width_of_four_byte_characters_fits(tmp_path: Path) -> None:
    it = layouts.load("jumin_kihon").item("name_kanji")
    rec = records.JuminKihon(name_kanji="𠮷" * it.width)
    for enc in ("utf-8", "cp932"):
        rep = fileio.write_fixed(tmp_path / "a.dat", "jumin_kihon", [rec], encoding=enc)
        assert rep.rows == 1


# ---- cp932 -------------------------------------------------------------------------------------

def cp932_model(value: str) -> tuple[str, list[tuple[int, str, str]]]:
    """What a cp932 file holds for ``value``, and what changed, worked out character by character."""
    out, subs = [], []
    for pos, ch in enumerate(value):
        try:
            back = ch.encode("cp932").decode("cp932")
        except UnicodeEncodeError:
            if ch == "\u2014":  # the JIS dash, held as cp932's
                subs.append((pos, ch, "\u2015"))
                out.append("\u2015")
                continue
            repl = "" if is_selector(ch) else "〓"
            subs.append((pos, ch, repl))
            out.append(repl)
            continue
        if back != ch:
            subs.append((pos, ch, back))
        out.append(back)
    while "".join(out).endswith(" "):  # spaces a change leaves at the end go too
        last = max(k for k, o in enumerate(out) if o)
        out[last] = ""
        subs.append((last, " ", ""))
    return "".join(out), sorted(subs)


def test_the_list_of_characters_cp932_changes_is_complete() -> None:
    changed = set()
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        try:
            if chr(cp).encode("cp932").decode("cp932") != chr(cp):
                changed.add(chr(cp))
        except UnicodeEncodeError:
            pass
    assert changed == set(CP932_CHANGED)


@pytest.mark.parametrize("name", ["jumin_kihon", "honnin_kakunin", "sofusaki"])
def test_cp932_keeps_what_it_can_and_reports_the_rest(tmp_path: Path, name: str) -> None:
    lay = layouts.load(name)

    @SETTINGS
    @given(st.lists(record(name), min_size=1, max_size=4))
    def check(recs: list[Any]) -> None:
        expected_subs, expected = [], []
        for row, r in enumerate(recs, 1):
            vals = {}
            for it in lay.items:
                v = getattr(r, it.field)
                held, subs = cp932_model(v) if it.is_text else (v, [])
                vals[it.field] = held
                expected_subs += [(row, it.field, *s) for s in subs]
            expected.append(type(r)(**vals))
        reports = {}
        for fmt, write in (("dat", fileio.write_fixed), ("csv", fileio.write_csv)):
            p = tmp_path / f"a.{fmt}"
            reports[fmt] = rep = write(p, name, recs, encoding="Shift_JIS")
            assert [(s.row, s.field, s.position, s.char, s.replacement) for s in rep.substitutions] == expected_subs
            back, errs = fileio.read_records(p, name, encoding="cp932")
            assert back == expected and errs == []
            # what cp932 holds, it holds byte for byte
            q = tmp_path / f"b.{fmt}"
            assert write(q, name, back, encoding="cp932").ok and q.read_bytes() == p.read_bytes()
        p = tmp_path / "a.dat"
        assert p.stat().st_size == len(recs) * (lay.row_bytes("cp932") + 1)
        rep = fileio.write_fixed_columns(tmp_path / "c.dat", name, columns_of(name, recs), encoding="cp932")
        assert rep.substitutions == reports["dat"].substitutions
        assert (tmp_path / "c.dat").read_bytes() == p.read_bytes()
        cols = fileio.read_columns(p, name, encoding="cp932", decode=True)
        assert {f: list(v) for f, v in cols.items()} == {f: [getattr(r, f) for r in expected] for f in cols}

    check()


def test_each_substitution_names_row_field_position_and_code_point(tmp_path: Path) -> None:
    recs = [records.JuminKihon(address="東京都"), records.JuminKihon(name_kanji="𠮷野\U000e0100", address="1〜2")]
    rep = fileio.write_csv(tmp_path / "a.csv", "jumin_kihon", recs, encoding="cp932")
    assert [(s.row, s.field, s.position, s.codepoint, s.replacement) for s in rep.substitutions] == [
        (2, "address", 1, "U+301C", "～"), (2, "name_kanji", 0, "U+20BB7", "〓"), (2, "name_kanji", 2, "U+E0100", "")]
    assert str(rep.substitutions[1]) == "row 2, field name_kanji, position 0: U+20BB7 written as U+3013"
    assert rep.by_field() == {"name_kanji": 2, "address": 1} and not rep.ok
    assert "3 characters substituted in 1 rows" in str(rep)


def test_the_substitute_is_configurable(tmp_path: Path) -> None:
    rec = records.YonJoho(name="𠮷田")
    rep = fileio.write_fixed(tmp_path / "a.dat", "yon_joho", [rec], encoding="cp932", substitute="?")
    assert rep.substitutions[0].replacement == "?"
    assert fileio.read_records(tmp_path / "a.dat", "yon_joho", encoding="cp932")[0][0].name == "?田"
    for bad in ("??", "𠮷", "", "\n", "〜"):
        with pytest.raises(ValueError, match="substitute"):
            fileio.write_fixed(tmp_path / "b.dat", "yon_joho", [rec], encoding="cp932", substitute=bad)
    assert fileio.substitute_text("𠮷\U000e0100", "cp932") == ("〓", [(0, "𠮷", "〓"), (1, "\U000e0100", "")])


def test_utf8_substitutes_only_lone_surrogates(tmp_path: Path) -> None:
    rep = fileio.write_fixed(tmp_path / "a.dat", "yon_joho", [records.YonJoho(name="a\udc80b")])
    assert [(s.position, s.codepoint, s.replacement) for s in rep.substitutions] == [(1, "U+DC80", "〓")]


# ---- malformed files ---------------------------------------------------------------------------

def _fixed_file(tmp_path: Path, n: int = 4) -> tuple[Path, list[records.Seigo]]:
    recs = [records.Seigo(juminhyo_code=f"{i:011d}", name=f"山田{i}", birth_date="19800101", mynumber=MN)
            for i in range(n)]
    p = tmp_path / "a.dat"
    fileio.write_fixed(p, "seigo", recs)
    return p, recs


def _lines(p: Path) -> list[bytes]:
    return p.read_bytes().split(b"\n")[:-1]


def _put(line: bytes, field: str, raw: bytes) -> bytes:
    lay = layouts.load("seigo")
    k = lay.fields.index(field)
    off, w = lay.byte_offsets()[k], lay.byte_widths()[k]
    return line[:off] + raw.ljust(w) + line[off + w :]


def _both_readers(p: Path, name: str = "seigo", **kw: Any) -> list[list[tuple[int, str | None, type]]]:
    """The errors of the row reader and of the columnar reader (all columns), collected."""
    out = []
    _, errs = fileio.read_records(p, name, errors="collect", **kw)
    out.append([(e.row, e.field, type(e)) for e in errs])
    if p.suffix != ".csv":
        cerrs: list[RecordFormatError] = []
        fileio.read_columns(p, name, errors="collect", error_list=cerrs, decode=True, **kw)
        out.append([(e.row, e.field, type(e)) for e in cerrs])
    return out


def test_malformed_fixed_rows_name_line_and_field_in_both_modes(tmp_path: Path) -> None:
    p, recs = _fixed_file(tmp_path, 6)
    lines = _lines(p)
    lines[1] = _put(lines[1], "juminhyo_code", b"0000000X001")  # a letter in a digits item
    lines[2] = lines[2][:-3]  # a short line
    lines[3] = _put(lines[3], "name", b"\xff\xfe")  # not UTF-8
    lines[4] = _put(lines[4], "birth_date", b"1980")  # not 8 digits
    p.write_bytes(b"\n".join(lines) + b"\n")
    expected = [(2, "juminhyo_code", InvalidValue), (3, None, RowLengthError), (4, "name", UndecodableBytes),
                (5, "birth_date", InvalidValue)]
    for errs in _both_readers(p):
        assert errs == expected
    good, _ = fileio.read_records(p, "seigo", errors="collect")
    assert good == [recs[0], recs[5]]  # the short line does not shift the rows after it
    cols = fileio.read_columns(p, "seigo", errors="collect", error_list=[], decode=["name"])
    assert list(cols.lines) == [1, 6] and list(cols["name"]) == [recs[0].name, recs[5].name]
    with pytest.raises(InvalidValue) as ei:
        fileio.read_records(p, "seigo")
    assert (ei.value.row, ei.value.field) == (2, "juminhyo_code")
    assert str(ei.value) == "row 2, field juminhyo_code: a digits item holds a character other than 0-9"
    with pytest.raises(InvalidValue) as ei:
        fileio.read_columns(p, "seigo")
    assert (ei.value.row, ei.value.field) == (2, "juminhyo_code")


def test_value_errors_never_quote_the_value(tmp_path: Path) -> None:
    p, _ = _fixed_file(tmp_path, 2)
    lines = _lines(p)
    lines[0] = _put(lines[0], "mynumber", b"12345678901X")
    p.write_bytes(b"\n".join(lines) + b"\n")
    for read in (fileio.read_records, fileio.read_columns):
        with pytest.raises(InvalidValue) as ei:
            read(p, "seigo")
        assert "12345678901" not in str(ei.value) and ei.value.field == "mynumber"


@pytest.mark.parametrize("raw", [b"12 4", b"\x001", "１".encode(), b"-12"])
def test_columnar_and_row_readers_agree_on_bad_ascii_values(tmp_path: Path, raw: bytes) -> None:
    p, _ = _fixed_file(tmp_path, 3)
    lines = _lines(p)
    lines[2] = _put(lines[2], "mynumber", raw)
    p.write_bytes(b"\n".join(lines) + b"\n")
    rows, cols = _both_readers(p)
    assert rows == cols == [(3, "mynumber", InvalidValue)]


def test_control_characters_and_over_wide_text_are_errors_when_read(tmp_path: Path) -> None:
    p, _ = _fixed_file(tmp_path, 3)
    lines = _lines(p)
    lines[0] = _put(lines[0], "name", b"a\tb")
    lines[1] = _put(lines[1], "name", b"A" * 40)  # fits 128 bytes, but not 32 characters
    p.write_bytes(b"\n".join(lines) + b"\n")
    rows, cols = _both_readers(p)
    assert rows == cols == [(1, "name", InvalidValue), (2, "name", ValueTooLong)]


def test_line_endings_and_a_missing_last_line_feed(tmp_path: Path) -> None:
    p, recs = _fixed_file(tmp_path, 3)
    crlf = tmp_path / "crlf.dat"
    crlf.write_bytes(p.read_bytes().replace(b"\n", b"\r\n"))
    assert fileio.read_records(crlf, "seigo")[0] == recs
    cols = fileio.read_columns(crlf, "seigo", decode=True)
    assert list(cols["juminhyo_code"]) == [r.juminhyo_code for r in recs]
    assert fileio.write_fixed(tmp_path / "w.dat", "seigo", recs, newline="\r\n").rows == 3
    assert (tmp_path / "w.dat").read_bytes() == crlf.read_bytes()
    nolf = tmp_path / "nolf.dat"
    nolf.write_bytes(p.read_bytes()[:-1])
    assert fileio.read_records(nolf, "seigo")[0] == recs
    assert list(fileio.read_columns(nolf, "seigo", decode=True)["name"]) == [r.name for r in recs]
    blank = tmp_path / "blank.dat"
    blank.write_bytes(p.read_bytes() + b"\n")
    for errs in _both_readers(blank):
        assert errs == [(4, None, RowLengthError)]


def test_fast_columns_are_views_of_the_file(tmp_path: Path) -> None:
    p, recs = _fixed_file(tmp_path, 5)
    cols = fileio.read_columns(p, "seigo", ["juminhyo_code", "name"])
    col = cols["juminhyo_code"]
    assert col.dtype == np.dtype("S11") and not col.flags.writeable and not col.flags.owndata
    assert list(np.strings.rstrip(cols["name"], b" ")) == [r.name.encode() for r in recs]
    assert list(fileio.decode_column(cols["name"])) == [r.name for r in recs]
    empty = tmp_path / "empty.dat"
    empty.write_bytes(b"")
    assert len(fileio.read_columns(empty, "seigo")["name"]) == 0 and fileio.read_records(empty, "seigo") == ([], [])


def test_decode_column_names_the_row(tmp_path: Path) -> None:
    col = np.array([b"ok", b"\xff"], dtype="S4")
    with pytest.raises(UndecodableBytes) as ei:
        fileio.decode_column(col, field="name", lines=np.array([7, 9]))
    assert (ei.value.row, ei.value.field) == (9, "name")


def test_malformed_csv_rows_name_line_and_field(tmp_path: Path) -> None:
    recs = [records.YonJoho(name=f"山田{i}", birth_date="19800101", sex="1") for i in range(5)]
    p = tmp_path / "a.csv"
    fileio.write_csv(p, "yon_joho", recs)
    lines = p.read_bytes().split(b"\n")
    lines[2] = lines[2] + b",extra"  # record 2 on line 3
    lines[3] = lines[3].replace(b"19800101", b"1980010X")
    lines[4] = lines[4].replace("山田".encode(), b"\xff\xfe")
    p.write_bytes(b"\n".join(lines))
    expected = [(3, None, ColumnCountError), (4, "birth_date", InvalidValue), (5, "name", UndecodableBytes)]
    assert _both_readers(p, "yon_joho") == [expected]
    good, _ = fileio.read_records(p, "yon_joho", errors="collect")
    assert good == [recs[0], recs[4]]
    with pytest.raises(ColumnCountError) as ei:
        fileio.read_records(p, "yon_joho")
    assert ei.value.row == 3 and ei.value.field is None


def test_csv_headers(tmp_path: Path) -> None:
    rec = records.YonJoho(name="山田, \"太郎\"", sex="2")
    p = tmp_path / "a.csv"
    fileio.write_csv(p, "yon_joho", [rec], header="name_ja")
    assert p.read_text(encoding="utf-8").splitlines()[0] == "氏名,生年月日,性別,住所"
    assert fileio.read_records(p, "yon_joho")[0] == [rec]
    fileio.write_csv(p, "yon_joho", [rec], header=None)
    assert fileio.iter_csv(p, "yon_joho", header=False).__next__() == rec
    with pytest.raises(HeaderError) as ei:
        fileio.read_records(p, "yon_joho", errors="collect")
    assert ei.value.row == 1
    bom = tmp_path / "bom.csv"
    fileio.write_csv(bom, "yon_joho", [rec])
    bom.write_bytes(b"\xef\xbb\xbf" + bom.read_bytes().replace(b"\n", b"\r\n"))
    assert fileio.read_records(bom, "yon_joho")[0] == [rec]


# ---- writers refuse what they could not read back ----------------------------------------------

BAD = [("sex", "12", ValueTooLong), ("name", "山" * 33, ValueTooLong), ("name", "山田 ", InvalidValue),
       ("name", "山\n田", InvalidValue), ("name", "a\x00b", InvalidValue), ("birth_date", "1980010", InvalidValue),
       ("juminhyo_code", "１２３", InvalidValue), ("mynumber", "12345678901X", InvalidValue),
       ("change_reason", "０１", InvalidValue), ("change_reason", "0 ", InvalidValue)]


@pytest.mark.parametrize("field,value,cls", BAD)
def test_writers_refuse_bad_values_naming_row_and_field(tmp_path: Path, field: str, value: str,
                                                         cls: type[RecordFormatError]) -> None:
    recs = [records.Seigo(name="山田"), records.Seigo(**{field: value})]
    messages = set()
    for write, target in ((fileio.write_fixed, "a.dat"), (fileio.write_csv, "a.csv")):
        with pytest.raises(cls) as ei:
            write(tmp_path / target, "seigo", recs)
        assert (ei.value.row, ei.value.field) == (2, field) and value not in str(ei.value)
        assert not (tmp_path / target).exists()
        messages.add(str(ei.value))
    with pytest.raises(cls) as ei:
        fileio.write_fixed_columns(tmp_path / "c.dat", "seigo", columns_of("seigo", recs))
    messages.add(str(ei.value))
    assert len(messages) == 1 and not (tmp_path / "c.dat").exists()
    p = problem(layouts.load("seigo").item(field), value)
    assert p is not None and p[0] is cls


def test_column_writer_reports_the_first_bad_row_then_item(tmp_path: Path) -> None:
    cols = {"sex": np.array(["1", "1", "22"]), "name": np.array(["a", "b ", "c "]), "mynumber": [MN, MN, "x"]}
    with pytest.raises(InvalidValue) as ei:
        fileio.write_fixed_columns(tmp_path / "a.dat", "seigo", cols)
    assert (ei.value.row, ei.value.field) == (2, "name")
    with pytest.raises(InvalidValue, match="is int"):
        fileio.write_fixed_columns(tmp_path / "a.dat", "seigo", {"name": ["a", 3]})
    with pytest.raises(TypeError, match="give text"):
        fileio.write_fixed_columns(tmp_path / "a.dat", "seigo", {"mynumber": np.array([1, 2], dtype=np.uint64)})
    with pytest.raises(ValueError, match="rows"):
        fileio.write_fixed_columns(tmp_path / "a.dat", "seigo", {"sex": ["1"], "name": ["a", "b"]})
    with pytest.raises(layouts.LayoutError, match="no field"):
        fileio.write_fixed_columns(tmp_path / "a.dat", "seigo", {"nmae": ["a"]})


def test_column_writer_takes_bytes_and_leaves_missing_fields_empty(tmp_path: Path) -> None:
    recs = [records.Seigo(juminhyo_code="12345678901", name="葛\U000e0100飾"), records.Seigo(name="山田", sex="2")]
    fileio.write_fixed(tmp_path / "a.dat", "seigo", recs)
    cols = {"juminhyo_code": np.array([b"12345678901", b""]), "name": np.array(["葛\U000e0100飾".encode(), "山田".encode()]),
            "sex": np.array([b"", b"2"])}
    rep = fileio.write_fixed_columns(tmp_path / "b.dat", "seigo", cols)
    assert rep.rows == 2 and (tmp_path / "b.dat").read_bytes() == (tmp_path / "a.dat").read_bytes()
    with pytest.raises(UndecodableBytes) as ei:
        fileio.write_fixed_columns(tmp_path / "c.dat", "seigo", {"name": np.array([b"ok", b"\xff"])})
    assert (ei.value.row, ei.value.field) == (2, "name")


def test_column_writer_in_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jukistore.fileio import colwrite as columns

    monkeypatch.setattr(columns, "_BLOCK", 1000)  # two rows a block
    recs = [records.Seigo(juminhyo_code=f"{i:011d}", name="𠮷" if i % 3 else "山") for i in range(7)]
    rep = fileio.write_fixed_columns(tmp_path / "a.dat", "seigo", columns_of("seigo", recs), encoding="cp932")
    ref = fileio.write_fixed(tmp_path / "b.dat", "seigo", recs, encoding="cp932")
    assert rep.rows == 7 and rep.substitutions == ref.substitutions
    assert (tmp_path / "a.dat").read_bytes() == (tmp_path / "b.dat").read_bytes()
    bad = columns_of("seigo", recs)
    bad["sex"] = np.array(["1"] * 5 + ["x1", "1"])
    with pytest.raises(ValueTooLong) as ei:
        fileio.write_fixed_columns(tmp_path / "c.dat", "seigo", bad)
    assert ei.value.row == 6 and not (tmp_path / "c.dat").exists()


# ---- what writers take -------------------------------------------------------------------------

def test_writers_take_structs_dicts_tuples_and_project_master_records(tmp_path: Path) -> None:
    master = records.JuminKihon(juminhyo_code="12345678901", name_kanji="山田", mynumber=MN, household_number="1")
    seigo = records.project(master, "seigo")
    fileio.write_fixed(tmp_path / "a.dat", "seigo", [master, seigo, {"name": "山田", "juminhyo_code": "12345678901",
                                                                     "mynumber": MN}, records.values(seigo)])
    assert fileio.read_records(tmp_path / "a.dat", "seigo")[0] == [seigo] * 4
    with pytest.raises(InvalidValue) as ei:
        fileio.write_csv(tmp_path / "b.csv", "seigo", [{"nmae": "x"}])
    assert ei.value.field == "nmae"
    with pytest.raises(InvalidValue, match="cannot be written as jumin_kankei"):
        fileio.write_csv(tmp_path / "b.csv", "jumin_kankei", [records.HonninKakunin()])
    with pytest.raises(InvalidValue, match="3 values for 8 fields"):
        fileio.write_fixed(tmp_path / "b.dat", "seigo", [("a", "b", "c")])
    with pytest.raises(InvalidValue, match="is int, not str"):
        fileio.write_fixed(tmp_path / "b.dat", "seigo", [{"sex": 1}])


def test_count_rows_and_options(tmp_path: Path) -> None:
    p, recs = _fixed_file(tmp_path, 4)
    assert fileio.count_rows(p, "seigo") == 4
    c = tmp_path / "a.csv"
    fileio.write_csv(c, "seigo", recs)
    assert fileio.count_rows(c, "seigo") == 4
    assert fileio.read_records(c, "seigo", format="csv")[0] == recs
    with pytest.raises(ValueError, match="errors must be"):
        fileio.read_records(p, "seigo", errors="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="error_list"):
        list(fileio.iter_records(p, "seigo", errors="collect"))
    with pytest.raises(ValueError, match="unsupported encoding"):
        fileio.write_fixed(p, "seigo", recs, encoding="latin-1")
    with pytest.raises(ValueError, match="newline"):
        fileio.write_fixed(p, "seigo", recs, newline="\r")


def test_blank_lines_in_csv_are_not_records(tmp_path: Path) -> None:
    """As the reconciliation reads them: a blank line (an editor's last line) is skipped, and the
    rows after it keep their line numbers."""
    from jukistore.reconcile import reconcile

    rows = seigo_rows(3, 43)
    p = tmp_path / "a.csv"
    fileio.write_csv(p, "seigo", rows)
    head, first, *rest = p.read_bytes().split(b"\n")
    p.write_bytes(b"\n".join([head, first, b"", *rest]) + b"\n")
    recs, problems = fileio.read_records(p, "seigo")
    assert len(recs) == 3 and problems == []
    assert reconcile(p, p).summary["counts"]["bad_rows_left"] == 0
    p.write_bytes(p.read_bytes().replace(b"\n\n", b"\nnot,a,row\n", 1))
    recs, problems = fileio.read_records(p, "seigo", errors="collect")
    assert len(recs) == 3 and [e.row for e in problems] == [3]


def test_row_and_column_readers_agree_on_a_last_line_ending_in_cr(tmp_path: Path) -> None:
    """A CR LF file whose final LF was lost ends in a bare CR: both readers take it as the line end."""
    rows = seigo_rows(3, 44)
    p = tmp_path / "a.dat"
    fileio.write_fixed(p, "seigo", rows, newline="\r\n")
    p.write_bytes(p.read_bytes()[:-1])
    e1: list[Any] = []
    recs = list(fileio.iter_fixed(p, "seigo", errors="collect", error_list=e1))
    e2: list[Any] = []
    cols = fileio.read_columns(p, "seigo", errors="collect", error_list=e2)
    assert (len(recs), e1) == (3, []) and (len(cols["name"]), e2) == (3, [])


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_utf8_byte_order_mark_before_a_fixed_width_file(tmp_path: Path, newline: str) -> None:
    """Windows editors save UTF-8 with a byte order mark; the CSV reader, ``ids validate`` and the
    reconciliation skip it, and so do both fixed-width readers (the rows keep their line numbers)."""
    rows = seigo_rows(3, 45)
    p = tmp_path / "a.dat"
    fileio.write_fixed(p, "seigo", rows, newline=newline)
    recs = fileio.read_records(p, "seigo")[0]
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    assert fileio.read_records(p, "seigo") == (recs, [])
    cols = fileio.read_columns(p, "seigo", decode=["name"])
    assert list(cols["name"]) == [r.name for r in recs] and list(cols.lines) == [1, 2, 3]
    p.write_bytes(p.read_bytes()[:-1])  # and without the last line feed (the slow path)
    assert fileio.read_records(p, "seigo") == (recs, [])
    assert list(fileio.read_columns(p, "seigo", decode=True)["name"]) == [r.name for r in recs]
    lines = p.read_bytes().split(b"\n")
    p.write_bytes(b"\n".join([lines[0], lines[1][:-5], *lines[2:]]))  # a bad second row is still line 2
    for errs in _both_readers(p):
        assert errs == [(2, None, RowLengthError)]
    only = tmp_path / "bom.dat"
    only.write_bytes(b"\xef\xbb\xbf")
    assert fileio.read_records(only, "seigo") == ([], []) and len(fileio.read_columns(only, "seigo")["name"]) == 0
    # A first value that starts with U+FEFF (its bytes are the mark's) is a value, not a mark.
    zw = tmp_path / "zw.dat"
    rec = records.YonJoho(name="\ufeff山田", birth_date="19800301", sex="1")
    fileio.write_fixed(zw, "yon_joho", [rec, rec])
    assert fileio.read_records(zw, "yon_joho") == ([rec, rec], [])
    assert list(fileio.read_columns(zw, "yon_joho", decode=True)["name"]) == [rec.name] * 2


def test_the_jis_dash_as_u2014_is_written_as_cp932s_dash(tmp_path: Path) -> None:
    """JIS X 0208's dash (1区29点) is U+2015 in cp932 and U+2014 in JIS X 0213 and most UTF-8 data,
    and is no 外字 (:mod:`jukistore.text`). A cp932 file holds it as cp932's dash, reported as a
    change like 〜 → ～, rather than as the substitute for a character the file cannot hold."""
    from jukistore.text import gaiji_count

    rec = records.YonJoho(name="山田—太郎", address="吾妻橋1—2")
    assert gaiji_count(rec.name) == 0
    assert fileio.substitute_text(rec.name, "cp932") == ("山田―太郎", [(2, "—", "―")])
    for fmt, write in (("dat", fileio.write_fixed), ("csv", fileio.write_csv)):
        p = tmp_path / f"a.{fmt}"
        rep = write(p, "yon_joho", [rec], encoding="cp932")
        assert [(s.field, s.position, s.replacement) for s in rep.substitutions] == [("name", 2, "―"), ("address", 4, "―")]
        back = fileio.read_records(p, "yon_joho", encoding="cp932")[0]
        assert [(b.name, b.address) for b in back] == [("山田―太郎", "吾妻橋1―2")]
    rep = fileio.write_fixed_columns(tmp_path / "c.dat", "yon_joho", columns_of("yon_joho", [rec]), encoding="cp932")
    assert (tmp_path / "c.dat").read_bytes() == (tmp_path / "a.dat").read_bytes()
    assert len(rep.substitutions) == 2


def test_a_headerless_csv_whose_first_value_starts_with_u_feff(tmp_path: Path) -> None:
    """The UTF-8 reader drops a byte order mark, so a first value starting with U+FEFF (whose bytes
    are the mark's) lost it; the writer puts a mark before such a file, and the value survives."""
    rec = records.YonJoho(name="\ufeff山田", sex="1")
    p = tmp_path / "a.csv"
    fileio.write_csv(p, "yon_joho", [rec, rec], header=None)
    assert list(fileio.iter_csv(p, "yon_joho", header=False)) == [rec, rec]
    fileio.write_csv(p, "yon_joho", [records.YonJoho(name="山田\ufeff")], header=None)
    assert not p.read_bytes().startswith(b"\xef\xbb\xbf")  # no mark when none is needed
