"""Inputs at the edges: keys, indexes, blank criteria, limits, numpy integers, CLI arguments."""
from __future__ import annotations

import numpy as np
import pytest

from jukistore import fileio
from jukistore.cli import main
from jukistore.errors import QueryError
from jukistore.ids import juminhyo, mynumber
from jukistore.store import Operator

from store_support import make_records, new_store

OP = Operator("clerk01", "term-07")


@pytest.fixture
def loaded(tmp_path):
    s = new_store(tmp_path / "s", roles={OP.operator_id: ["clerk"]})
    recs = make_records(3)
    s.load(recs, operator=OP)
    return s, recs


# ---- personal data in errors ---------------------------------------------------------------------

def test_get_many_bad_text_key_does_not_leak_the_mynumber(loaded):
    s, recs = loaded
    mn = recs[0].mynumber
    with pytest.raises(QueryError) as ei:
        s.get_many([mn + "x"], by="mynumber")
    assert mn not in str(ei.value) and "key 0" in str(ei.value)
    with pytest.raises(QueryError):
        s.get_many(np.array([mn.encode() + b"x"]), by="mynumber")
    with pytest.raises(QueryError):
        s.get_many(np.array([float(recs[0].juminhyo_code) + 0.7]))  # not truncated to a code
    with pytest.raises(QueryError):
        s.get_many([-1])
    assert s.get_many([mn], by="mynumber").found.all()  # digit strings still find
    assert s.get_many([int(recs[0].juminhyo_code)]).found.all()


# ---- Persons (get_many results) ------------------------------------------------------------------

def test_persons_negative_index_is_the_same_person_as_positive(loaded):
    s, recs = loaded
    keys = np.array([int(recs[0].juminhyo_code), int(recs[1].juminhyo_code)], dtype=np.uint64)
    res = s.get_many(keys)
    assert res.record(-2) == res.record(0)  # the offsets have one entry more than the keys
    assert res[-1].record == res[1].record
    with pytest.raises(IndexError):
        res.record(2)


# ---- get ------------------------------------------------------------------------------------------

def test_get_accepts_the_numpy_person_ids_get_many_returns(loaded):
    s, recs = loaded
    res = s.get_many(np.array([int(recs[0].juminhyo_code)], dtype=np.uint64))
    p = s.get(person_id=res.person_ids[0])  # a numpy uint64
    assert p is not None and p.record.juminhyo_code == recs[0].juminhyo_code


# ---- search ---------------------------------------------------------------------------------------

def test_search_blank_address_is_not_a_second_criterion(loaded):
    s, recs = loaded
    with pytest.raises(QueryError):
        s.search(name_kana=recs[0].name_kana, address="   ")  # one criterion, not two


def test_search_blank_name_and_address_is_a_query_error(loaded):
    s, _ = loaded
    with pytest.raises(QueryError):
        s.search(name_kana=" ", address=" ")


def test_search_limit_zero_returns_nothing(loaded):
    s, recs = loaded
    assert s.search(name_kana=recs[0].name_kana, birth_date=recs[0].birth_date, limit=0) == []


# ---- ids ------------------------------------------------------------------------------------------

def test_lenient_juminhyo_check_of_an_int_keeps_leading_zeros():
    base = "0123456789"
    bad = base + str((int(juminhyo.calc_check_digit(base)) + 1) % 10)
    with pytest.warns(juminhyo.ChecksumWarning):
        out = juminhyo.check(int(bad), strict=False)
    assert out == bad  # 11 digits, as validate() gives them


def test_bulk_explain_of_numpy_integers_in_a_list_matches_scalar():
    v = np.uint64(123456789018)
    assert mynumber.is_valid(v)
    assert mynumber.explain_many([v]).tolist() == [0]
    assert mynumber.explain_many(np.array([v], dtype=object)).tolist() == [0]


def test_to_text_does_not_truncate_too_long_numbers_into_other_valid_ones():
    too_long = 1_123_456_789_018   # 13 digits
    with pytest.raises((ValueError, OverflowError)):
        mynumber.to_text(np.array([too_long], dtype=np.uint64))  # not cut to another valid number


# ---- CLI ------------------------------------------------------------------------------------------

@pytest.fixture
def cli_store(tmp_path, monkeypatch):
    recs = make_records(5, seed=9)
    path = tmp_path / "m.txt"
    fileio.write_fixed(path, "jumin_kihon", recs)
    store = tmp_path / "store"
    admin = ["--operator", "admin01", "--terminal", "t-0"]
    assert main(["init", str(store), "--municipality", "131075", *admin]) == 0
    assert main(["operators", "grant", str(store), "clerk", "clerk", *admin]) == 0
    monkeypatch.setenv("JUKISTORE_OPERATOR", "clerk")
    monkeypatch.setenv("JUKISTORE_TERMINAL", "t-1")
    monkeypatch.setenv("JUKISTORE_PURPOSE", "test")
    return store, path, recs


def test_cli_search_negative_limit_is_a_usage_error(cli_store, capsys):
    store, path, recs = cli_store
    assert main(["load", str(store), str(path)]) == 0
    r = recs[0]
    assert main(["search", str(store), "--name-kana", r.name_kana, "--birth-date", r.birth_date,
                 "--limit", "-1"]) == 2


def test_cli_load_unknown_encoding_is_a_usage_error(cli_store):
    store, path, _ = cli_store
    assert main(["load", str(store), str(path), "--encoding", "bogus"]) == 2


def test_a_key_given_as_text_has_its_own_length(loaded):
    """"0" + a 住民票コード is not that code: text keys are 11 (code) or 12 (個人番号) digits."""
    s, recs = loaded
    code, mn = recs[0].juminhyo_code, recs[0].mynumber
    assert s.get(code=code) is not None and s.get(mynumber=mn) is not None
    for bad in ("0" + code, code[1:]):
        with pytest.raises(QueryError, match="11 digits"):
            s.get(code=bad)
    with pytest.raises(QueryError) as ei:
        s.get(mynumber="0" + mn)
    assert mn not in str(ei.value)
    assert s.get(code=int(code)) is not None  # an integer's leading zeros are implied


@pytest.mark.parametrize("value", [5, None, b"x", 1.5], ids=["int", "None", "bytes", "float"])
def test_a_value_that_is_not_text_is_refused_before_anything_is_written(tmp_path, value):
    """Records are encoded without checking types; a value of another type used to be stored,
    and every later read of that record (get, history, the change feed) failed. Each write path
    now refuses it, naming the field and row, and writes nothing of the batch."""
    import msgspec

    from jukistore.errors import InvalidRecord
    from jukistore.history import Event, EventCode, Register
    from jukistore.mailing import Mailing
    from jukistore.records import Sofusaki

    s = new_store(tmp_path / "s", roles={OP.operator_id: ["clerk"]})
    recs = make_records(4, seed=61)
    s.load(recs[:2], operator=OP)
    bad = msgspec.structs.replace(recs[3], remarks=value)
    with pytest.raises(InvalidRecord, match="row 1: field remarks: expected text") as e:
        s.load([recs[2], bad], operator=OP)
    assert (e.value.field, e.value.row) == ("remarks", 1)
    assert s.stats()["persons"] == 2
    reg = Register(s)
    with pytest.raises(InvalidRecord, match="field atena_number: expected text"):
        reg.apply(Event(EventCode.転入, "20240101", record=msgspec.structs.replace(recs[3], atena_number=value)), operator=OP)
    assert s.stats()["persons"] == 2 and reg.last_seq() == 2
    m = Mailing(s)
    with pytest.raises(InvalidRecord, match="row 1: field addressee_name_kanji: expected text"):
        m.add([Sofusaki(), Sofusaki(addressee_name_kanji=value)], [1, 2])
    assert m.pending() == []
    [mid] = m.add([Sofusaki(addressee_name_kanji="墨田　花子")], [1])
    assert [e.id for e in m.pending()] == [mid]
    assert len(s.get_many(np.array([1, 2]), by="person_id").records()) == 2  # every record still reads


def test_the_text_check_reads_every_string_form_and_refuses_what_is_not_an_array():
    """MessagePack strings come in four header forms by length; other bytes are not a record."""
    import msgspec

    from jukistore import _core
    from jukistore.records import encode

    rec = make_records(1, seed=62)[0]
    for n in (0, 31, 32, 255, 256, 70_000):  # fixstr, str8 edge, str8, str16, str16, str32
        assert _core.first_value_fault([encode(msgspec.structs.replace(rec, remarks="x" * n))]) is None
    assert _core.first_value_fault([encode(rec), encode(msgspec.structs.replace(rec, remarks=7))]) == (1, 52)
    assert _core.first_value_fault([b"\x01"]) == (0, -1)  # not an array
    assert _core.first_value_fault([encode(rec)[:-1]]) == (0, -1)  # cut short
    assert _core.first_value_fault([encode(rec) + b"\xa0"]) == (0, -1)  # trailing bytes


@pytest.mark.parametrize("ids", [[1.7, 2.9], [True], np.array([1.0]), [-1]], ids=["floats", "bool", "float array", "negative"])
def test_person_ids_that_are_not_whole_numbers_are_refused_not_truncated(tmp_path, ids):
    """apply_many and Mailing.add took 1.7 for person 1 and True for person 1: the wrong person
    was changed. Such ids are now refused, and nothing is written."""
    import datetime as dt

    from jukistore.errors import QueryError as QE
    from jukistore.history import EventCode, Register
    from jukistore.mailing import Mailing
    from jukistore.records import Sofusaki

    s = new_store(tmp_path / "s", roles={OP.operator_id: ["clerk"]})
    s.load(make_records(3, seed=63), operator=OP)
    reg = Register(s)
    with pytest.raises(QE, match="apply_many by person_id: key"):
        reg.apply_many(EventCode.死亡, ids, "20240101", operator=OP)
    assert reg.last_seq() == 3
    m = Mailing(s)
    with pytest.raises(QE, match="mailing add by person_id: key"):
        m.add([Sofusaki()] * len(ids), ids)
    [mid] = m.add([Sofusaki()], [1])
    with pytest.raises(QE, match="mark_sent by id: key"):
        m.mark_sent(ids, dt.date(2024, 1, 1))
    assert [e.id for e in m.pending()] == [mid]


def test_a_mynumber_given_in_the_wrong_place_is_masked_in_the_error(tmp_path):
    """Values refused as a sex code, a date or an item key were quoted in full; a 個人番号 in the
    wrong column (shifted input) then reached the message. Runs of 12 or more digits are masked."""
    import re

    import msgspec

    from jukistore.errors import InvalidRecord, JukistoreError
    from jukistore.history import Event, EventCode, Register

    s = new_store(tmp_path / "s", roles={OP.operator_id: ["clerk"]})
    recs = make_records(3, seed=64)
    s.load(recs[:2], operator=OP)
    mn = recs[0].mynumber
    reg = Register(s)
    calls = [
        lambda: reg.apply(Event(EventCode.職権修正, "20240101", person=1, changes={22: mn}), operator=OP),
        lambda: reg.apply(Event(EventCode.転居, mn, person=1, changes={8: "東京都墨田区押上1-1"}), operator=OP),
        lambda: reg.apply_many(EventCode.職権修正, [1], "20240101", {22: mn}, operator=OP),
        lambda: reg.apply(Event(EventCode.職権修正, "20240101", person=1, changes={int(mn): "x"}), operator=OP),
        lambda: reg.corrections.propose(1, {21: "山田　一郎"}, operator=OP, date=mn),
        lambda: s.load([msgspec.structs.replace(recs[2], change_date=mn)], operator=OP),
        lambda: s.load([msgspec.structs.replace(recs[2], sex=mn)], operator=OP),
    ]
    for call in calls:
        with pytest.raises(JukistoreError) as e:
            call()
        text = str(e.value)
        assert mn not in text and not re.search(r"\d{12}", text), text
        assert isinstance(e.value, (InvalidRecord, QueryError)) or "date" in text, text
        assert getattr(e.value, "field", None) != mn


def test_wrong_kinds_of_input_get_errors_that_name_what_is_wrong(tmp_path):
    """Inputs that ended in an AttributeError or TypeError from inside the library (naming no
    field or row) are refused with the library's own errors."""
    import msgspec

    from jukistore.errors import InvalidRecord
    from jukistore.history import Event, EventCode, Register

    s = new_store(tmp_path / "s", roles={OP.operator_id: ["clerk", "approver"]})
    recs = make_records(6, seed=65)
    s.load(recs[:2], operator=OP)
    for field, value in (("mynumber", None), ("address", None), ("birth_date", None), ("remarks", np.str_("x"))):
        with pytest.raises(InvalidRecord, match=f"row 1: field {field}: expected text") as e:
            s.load([recs[2], msgspec.structs.replace(recs[3], **{field: value})], operator=OP)
        assert (e.value.field, e.value.row) == (field, 1)
    assert s.stats()["persons"] == 2
    reg = Register(s)
    with pytest.raises(QueryError, match="row 1: expected an Event, got NoneType"):
        reg.apply([Event(EventCode.転居, "20240101", person=1, changes={8: "東京都墨田区押上1-1"}), None], operator=OP)  # type: ignore[list-item]
    with pytest.raises(QueryError, match="row 0: changes map items to text, got list"):
        reg.apply(Event(EventCode.転居, "20240101", person=1, changes=[(8, "x")]), operator=OP)  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="row 0: changes map items to text, got list"):
        reg.corrections.propose(1, [(8, "x")], operator=OP)  # type: ignore[arg-type]
    assert reg.last_seq() == 2
    p = reg.corrections.propose(1, {21: "山田　一郎"}, operator=OP)
    with pytest.raises(TypeError, match="operator must be"):
        reg.corrections.approve(p.id, operator=None)  # type: ignore[arg-type]


def test_mailing_refuses_unknown_persons_and_sending_dates_after_today(tmp_path):
    """An entry for a person the store does not hold was recorded, and a sending date in the
    future was taken, which would keep the entry past its year."""
    import datetime as dt

    from jukistore.errors import InvalidRecord, NoSuchPerson
    from jukistore.mailing import Mailing
    from jukistore.records import Sofusaki

    s = new_store(tmp_path / "s", roles={OP.operator_id: ["clerk"]})
    s.load(make_records(2, seed=66), operator=OP)
    m = Mailing(s)
    with pytest.raises(NoSuchPerson, match="row 1: no person 999"):
        m.add([Sofusaki(), Sofusaki()], [1, 999])
    assert m.pending() == []
    [mid] = m.add([Sofusaki()], [2])
    today = s.clock().date()
    with pytest.raises(InvalidRecord, match="is after today"):
        m.mark_sent([mid], today + dt.timedelta(days=2))
    assert m.mark_sent([mid], today) == 1


@pytest.mark.parametrize("item, value", [(23, "abc"), (23, "1999-01-01"), (23, "19991301"), (14, "20001340"), (15, "20009999")],
                         ids=["birth letters", "birth ISO", "birth month 13", "change day 40", "notified 9999"])
def test_load_refuses_dates_that_cannot_be_dates(tmp_path, item, value):
    """A birth date of letters or in ISO form was stored (search by birth date then never finds the
    person), and months above 12 or days above 31 passed in items 14 and 15."""
    from jukistore.errors import InvalidRecord

    from store_support import fields, with_field

    s = new_store(tmp_path / "s", roles={OP.operator_id: ["clerk"]})
    recs = make_records(2, seed=67)
    with pytest.raises(InvalidRecord, match=f"row 1: field {fields()[item]}") as e:
        s.load([recs[0], with_field(recs[1], item, value)], operator=OP)
    assert e.value.row == 1
    assert s.stats()["persons"] == 0
    s.load([recs[0], with_field(recs[1], 23, "19300000")], operator=OP)  # a date of unknown month and day stays


def test_cli_out_of_range_numbers_bad_rules_files_and_missing_keys_are_usage_errors(cli_store, tmp_path, capsys):
    """These ended in tracebacks (an OverflowError from the core, a UnicodeDecodeError), or, for
    a mistyped --key, in a new key and a false report of tampering."""
    store, path, recs = cli_store
    assert main(["load", str(store), str(path)]) == 0
    capsys.readouterr()
    code = recs[0].juminhyo_code
    huge = "9" * 23
    for argv in (["history", str(store), "--code", code, "--known-at", "-5"],
                 ["history", str(store), "--code", code, "--known-at", huge],
                 ["changes", str(store), "--since", huge],
                 ["search", str(store), "--name-kana", recs[0].name_kana, "--birth-date", recs[0].birth_date, "--limit", huge]):
        assert main(argv) == 2, argv
        assert "out of range" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe\x80")
    assert main(["purge", "plan", str(store), "--overrides", str(bad)]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    missing = tmp_path / "no-such-key"
    assert main(["audit", "verify", str(store), "--key", str(missing)]) == 2
    assert "no such key file" in capsys.readouterr().err and not missing.exists()


@pytest.mark.parametrize("item, value, why", [
    (53, "あ" * 101, "101 characters do not fit width 100"),
    (1, "12345a", "other than 0-9"),
    (21, "墨田\n太郎", "control character"),
    (8, "東京都墨田区押上一丁目1番 ", "ends with a space"),
    (52, "2024010", "8 digits"),
], ids=["too wide", "letter in digits", "line break", "trailing space", "short date"])
def test_a_value_outside_its_items_layout_is_refused_by_every_write(tmp_path, item, value, why):
    """Writes checked only the types of values: a value wider than its item, a letter in a digits
    item, a control character or a trailing space was stored, and every later export of the record
    (fixed-width or CSV) refused it. Every write path now refuses it, naming the field and row,
    before anything is written; what is stored can always be written out."""
    from jukistore.errors import InvalidRecord
    from jukistore.history import Event, EventCode, Register

    from store_support import fields, with_field

    f = fields()[item]
    s = new_store(tmp_path / "s", roles={OP.operator_id: ["clerk"]})
    recs = make_records(4, seed=71)
    s.load(recs[:2], operator=OP)
    with pytest.raises(InvalidRecord, match=f"row 1: field {f}: .*{why}") as e:
        s.load([recs[2], with_field(recs[3], item, value)], operator=OP)
    assert (e.value.field, e.value.row) == (f, 1)
    assert s.stats()["persons"] == 2
    reg = Register(s)
    with pytest.raises(InvalidRecord, match=f"row 0: field {f}: .*{why}"):
        reg.apply(Event(EventCode.転入, "20240101", record=with_field(recs[3], item, value)), operator=OP)
    code = {53: EventCode.職権修正, 1: EventCode.世帯変更, 21: EventCode.職権修正, 8: EventCode.転居}.get(item)
    if code is not None:
        with pytest.raises(InvalidRecord, match=f"row 1: field {f}: .*{why}"):
            reg.apply([Event(code, "20240102", person=1, changes={item: recs[1].address if item == 8 else "1"}),
                       Event(code, "20240102", person=2, changes={item: value})], operator=OP)
        with pytest.raises(InvalidRecord, match=f"row 1: field {f}: .*{why}") as e:
            reg.apply_many(code, np.array([1, 2]), "20240102", {item: ["1" if item != 8 else "東京都", value]}, operator=OP)
        assert (e.value.field, e.value.row) == (f, 1)
    assert reg.last_seq() == 2
    with pytest.raises(InvalidRecord, match=f"field {f}: .*{why}"):
        reg.corrections.propose(1, {item: value}, operator=OP) if item in (1, 8) else \
            reg.apply(Event(EventCode.転入, "20240101", record=with_field(recs[3], item, value)), operator=OP)
    assert reg.corrections.all() == [] and reg.last_seq() == 2
    out = tmp_path / "out.txt"
    fileio.write_fixed(out, "jumin_kihon", s.get_many(np.array([1, 2]), by="person_id").records())
    assert len(out.read_bytes().splitlines()) == 2  # what is stored can be written out


def test_mailing_refuses_a_value_outside_its_items_layout(tmp_path):
    from jukistore.errors import InvalidRecord
    from jukistore.mailing import Mailing
    from jukistore.records import Sofusaki

    s = new_store(tmp_path / "s", roles={OP.operator_id: ["clerk"]})
    s.load(make_records(2, seed=72), operator=OP)
    m = Mailing(s)
    with pytest.raises(InvalidRecord, match="row 1: field destination_postal_code: .*other than 0-9") as e:
        m.add([Sofusaki(destination_postal_code="1300001"), Sofusaki(destination_postal_code="130-001")], [1, 2])
    assert e.value.row == 1 and m.pending() == []
    assert len(m.add([Sofusaki(destination_postal_code="1300001")], [1])) == 1


def test_the_value_check_follows_each_kind_of_item():
    import msgspec

    from jukistore import _core

    enc = msgspec.msgpack.encode
    cases = [  # (kind, width, good, bad)
        (0, 3, ["", "漢字三", "a\u3000", " a"], ["漢字三四", "a ", "a\tb", "\x7f"]),
        (1, 4, ["", "0123"], ["12a", "１２", "12345", "1 2"]),
        (2, 8, ["", "20240229", "19300000", "20241399"], ["2024010", "2024-01-01", "202401011"]),
        (3, 4, ["", "0AF9"], ["0af9", "0G"]),
        (4, 4, ["", "a-Z~", " x"], ["é", "x\x1f", "abcde"]),
    ]
    for kind, width, good, bad in cases:
        assert _core.first_column_fault(enc(good), kind, width) is None, (kind, good)
        for v in bad:
            assert _core.first_column_fault(enc(good + [v]), kind, width) == len(good), (kind, v)
    assert _core.first_column_fault(b"\x01", 0, 3) == -1
    assert _core.first_value_fault([enc(["1", "x "]), enc(["1", "x"])], [1, 0], [1, 2]) == (0, 1)
    assert _core.first_value_fault([enc(["1", "x"]), enc(["1", "xyz"])], [1, 0], [1, 2]) == (1, 1)
    with pytest.raises(ValueError):
        _core.first_value_fault([], [1], [])


def test_text_utf8_cannot_hold_is_refused_naming_field_and_row(tmp_path):
    """A lone surrogate (what a decode with errors="surrogateescape" leaves in text) ended every
    write in msgspec's UnicodeEncodeError, naming neither field nor row."""
    from jukistore.errors import InvalidRecord
    from jukistore.history import Event, EventCode, Register
    from jukistore.mailing import Mailing
    from jukistore.records import Sofusaki

    from store_support import with_field

    s = new_store(tmp_path / "s", roles={OP.operator_id: ["clerk"]})
    recs = make_records(4, seed=73)
    s.load(recs[:2], operator=OP)
    bad = "山\udc8e"
    with pytest.raises(InvalidRecord, match="row 1: field remarks: .*cannot encode") as e:
        s.load([recs[2], with_field(recs[3], 53, bad)], operator=OP)
    assert (e.value.field, e.value.row) == ("remarks", 1) and s.stats()["persons"] == 2
    reg = Register(s)
    with pytest.raises(InvalidRecord, match="row 1: field name_kanji: .*cannot encode"):
        reg.apply([Event(EventCode.職権修正, "20240102", person=1, changes={21: "墨田　一"}),
                   Event(EventCode.職権修正, "20240102", person=2, changes={21: bad})], operator=OP)
    with pytest.raises(InvalidRecord, match="row 1: field name_kanji: .*cannot encode"):
        reg.apply_many(EventCode.職権修正, np.array([1, 2]), "20240102", {21: ["墨田　一", bad]}, operator=OP)
    assert reg.last_seq() == 2
    with pytest.raises(InvalidRecord, match="row 0: field addressee_name_kanji: .*cannot encode"):
        Mailing(s).add([Sofusaki(addressee_name_kanji=bad)], [1])
    assert Mailing(s).pending() == []


def test_the_cores_load_columns_match_the_columns_read_field_by_field():
    """A load reads its index columns from the encoded records in the core, and field by field
    (naming what is wrong) when any record is not in the plain form: both give the same columns,
    and the core gives none for a record the field-by-field read would refuse or read otherwise."""
    from jukistore import _core
    from jukistore.records import encode_batch
    from jukistore.store import _load_columns, _load_positions

    from store_support import with_field

    recs = make_records(40, seed=74)
    recs[3] = with_field(recs[3], 81, "")  # no 個人番号
    recs[5] = with_field(with_field(recs[5], 13, "1"), 23, "19300000")  # removed; birth of unknown month and day
    recs[6] = with_field(with_field(recs[6], 13, "0"), 15, "")  # 0 is not removed; notification date unknown
    recs[7] = with_field(recs[7], 22, "")
    fast = _core.load_columns(encode_batch(recs), _load_positions())
    slow = _load_columns(recs, 0)
    assert fast is not None
    for a, b in zip(fast, slow):
        assert (a.tolist() if hasattr(a, "tolist") else a) == (b.tolist() if hasattr(b, "tolist") else b)
    assert fast[3].tolist()[5:8] == [1, 0, 0] and fast[1][3] == 2**64 - 1
    for item, value in [(30, "1234567890"), (30, "１２３４５６７８９０１"), (81, "12345678901"), (22, "3"),
                        (23, "19301301"), (14, "2024011"), (15, "20240132")]:
        bad = list(recs)
        bad[9] = with_field(bad[9], item, value)
        assert _core.load_columns(encode_batch(bad), _load_positions()) is None, (item, value)


def test_get_many_of_no_keys_is_empty_whatever_the_container(loaded):
    """An empty list has no dtype of its own (numpy makes it float64): it is no keys, not a float."""
    s, _ = loaded
    for empty in ([], (), np.array([])):
        res = s.get_many(empty)
        assert len(res) == 0 and list(res) == [] and res.found.dtype == np.bool_
    assert len(s.get_many([], by="mynumber")) == 0


def test_get_many_text_keys_have_their_own_length_as_in_get(loaded):
    """As in get: "0" + a 住民票コード is not that code, nor 11 digits a 個人番号 with a leading 0."""
    s, recs = loaded
    code, mn = recs[0].juminhyo_code, recs[0].mynumber
    for bad in ("0" + code, code[1:]):
        with pytest.raises(QueryError, match="11 digits"):
            s.get_many([bad])
        with pytest.raises(QueryError, match="11 digits"):
            s.get_many(np.array([bad.encode()]))
    with pytest.raises(QueryError, match="12 digits") as ei:
        s.get_many([mn, "0" + mn], by="mynumber")
    assert mn not in str(ei.value) and "key 1" in str(ei.value)
    assert s.get_many([code]).found.all() and s.get_many([mn], by="mynumber").found.all()
    assert s.get_many(["1", "123456789012345"], by="person_id").found.tolist() == [True, False]


def test_persons_index_is_an_integer(loaded):
    """Persons is a sequence: a float or text is no position (a list raises TypeError); 1.5 was
    taken as 1 and "a" raised ValueError."""
    s, recs = loaded
    res = s.get_many([r.juminhyo_code for r in recs])
    assert res[np.int64(1)].person_id == res[1].person_id
    for bad in (1.5, np.float64(0.0), "a"):
        with pytest.raises(TypeError):
            res[bad]
        with pytest.raises(TypeError):
            res.record(bad)


def test_search_birth_date_out_of_range_is_refused_in_every_form(loaded):
    """19801301 is refused like 1980-13-01 (and as load refuses it), not searched and not found."""
    from jukistore.dates import DateError

    s, recs = loaded
    for bd in ("1980-13-01", "19801301", "19800132"):
        with pytest.raises(DateError):
            s.search(name_kana=recs[0].name_kana, birth_date=bd)
    assert s.search(name_kana=recs[0].name_kana, birth_date=recs[0].birth_date)


def test_search_blank_sex_is_no_criterion(loaded):
    """A blank criterion is no criterion (as blank name, date and address are): sex="" used to
    narrow to persons with no sex recorded, so a form's empty sex field found nobody."""
    s, recs = loaded
    r = recs[0]
    want = [p.person_id for p in s.search(name_kana=r.name_kana, birth_date=r.birth_date)]
    assert want
    for blank in ("", " ", "　"):
        assert [p.person_id for p in s.search(name_kana=r.name_kana, birth_date=r.birth_date, sex=blank)] == want



def test_search_limit_is_a_count(loaded):
    """limit is a whole number: True is not 1, 1.5 not 1, and a huge limit is no limit, not an
    OverflowError from the core."""
    s, recs = loaded
    r = recs[0]
    for bad in (True, 1.5, "3"):
        with pytest.raises(QueryError):
            s.search(name_kana=r.name_kana, birth_date=r.birth_date, limit=bad)
    assert len(s.search(name_kana=r.name_kana, birth_date=r.birth_date, limit=2**70)) == 1
    assert len(s.search(name_kana=r.name_kana, birth_date=r.birth_date, limit=np.int64(5))) == 1


def test_get_many_takes_a_misaligned_key_array(loaded):
    """A uint64 array viewed at an odd offset of a buffer (as read from a file or a packed record)
    is contiguous but not aligned; the core refused it with a TypeError about its memory."""
    s, recs = loaded
    buf = np.zeros(8 * 3 + 1, dtype=np.uint8)
    keys = buf[1:].view(np.uint64)
    keys[:] = [int(r.juminhyo_code) for r in recs]
    assert not keys.flags.aligned
    assert s.get_many(keys).person_ids.tolist() == [1, 2, 3]
