"""Reconciliation through the Python API: every kind of side, the result's forms, the errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from jukistore import fileio, ids, layouts
from jukistore.errors import ReconcileError
from jukistore.reconcile import Side, open_side, plan, planted, reconcile
from store_support import seigo_rows

SEED = 11


@pytest.fixture(scope="module")
def base() -> dict[str, np.ndarray]:
    return planted.synthetic(400, SEED, gaiji=False)


def kinds_in(result) -> dict[str, int]:  # type: ignore[no-untyped-def]
    c = result.summary["counts"]
    return {k: v for k, v in c.items() if v and k not in ("left_rows", "right_rows", "pairs", "same")}


def test_identical_columns_agree(base: dict[str, np.ndarray]) -> None:
    r = reconcile(base, base)
    assert r.agree
    assert kinds_in(r) == {}
    assert r.summary["counts"]["pairs"] == r.summary["counts"]["same"] == 400
    assert (r.left_class == 0).all() and (r.right_class == 0).all()
    assert r.summary["mode"] == "exact"
    assert len(r.detail["class"]) == 0
    assert pl.DataFrame(r.detail).height == 0


def test_every_kind_of_finding_in_columns(base: dict[str, np.ndarray]) -> None:
    counts = planted.Counts(different=4, only_left=2, only_right=3, duplicate_left=1, duplicate_right=2,
                            invalid_left=1, invalid_right=2, superseded_left=1, superseded_right=2,
                            conflict_across=1, conflict_both=1, invalid_mynumber_right=1)
    p = planted.plant(base, counts, seed=3, base_seed=SEED)
    for exact in (True, False):
        r = reconcile(*p.sides(), exact=exact)
        assert not r.agree
        assert r.summary["counts"] == p.expected["counts"]
        assert r.summary["fields"] == p.expected["fields"]
        assert planted.findings(r) == p.expected["findings"]
        assert r.summary["mode"] == ("exact" if exact else "fingerprint")


def test_the_result_as_json_table_and_files_masks_mynumbers_outside_the_detail(base: dict[str, np.ndarray],
                                                                                tmp_path: Path) -> None:
    p = planted.plant(base, planted.Counts(conflict_across=2, invalid_mynumber_right=1, different=3), seed=5,
                      base_seed=SEED)
    r = reconcile(*p.sides())
    numbers = {m for m, _, _ in p.expected["findings"]["mynumber_conflict"]}
    numbers |= {x.decode() for x in p.right["mynumber"]}
    text = r.to_json() + r.table() + repr(r)
    assert not any(m in text for m in numbers), "a full 個人番号 in the summary"
    summary = json.loads(r.to_json())
    assert summary["counts"]["mynumber_conflicts"] == 2
    assert summary["samples"]["mynumber_conflict"][0]["mynumber"].startswith("********")
    assert "整合性確認" in r.table() and "DIFFER" in r.table()
    paths = r.write(tmp_path / "out")
    assert set(paths) == {"summary", "detail_csv", "detail"}
    df = pl.read_parquet(paths["detail"])
    assert df.height == len(r.detail["class"])
    conflicts = df.filter(pl.col("class") == "mynumber_conflict")
    assert set(conflicts["mynumber"]) <= numbers and conflicts.height == 6
    assert pl.read_csv(paths["detail_csv"], infer_schema=False).height == df.height
    diff = df.filter(pl.col("class") == "different")
    for f in ("name", "address", "birth_date"):
        both = diff.filter(pl.col("fields").str.contains(f))
        assert (both[f"{f}_left"] != both[f"{f}_right"]).all()
    assert json.loads(paths["summary"].read_text())["counts"] == r.summary["counts"]


def test_fixed_width_files_in_both_encodings_and_csv(base: dict[str, np.ndarray], tmp_path: Path) -> None:
    counts = planted.Counts(different=5, only_left=2, only_right=2, duplicate_right=1, invalid_left=1,
                            conflict_across=1, invalid_mynumber_right=1)
    p = planted.plant(base, counts, seed=9, base_seed=SEED)
    for enc in ("utf-8", "cp932"):
        d = tmp_path / enc
        d.mkdir()
        lf, rf = p.write(d, encoding=enc)
        r = reconcile(lf, rf, encoding=enc)
        assert r.summary["counts"] == p.expected["counts"]
        assert planted.findings(r) == p.expected["findings"]
        assert r.summary["mode"] == "fingerprint" and r.summary["left"]["kind"] == "fixed"
        # Rows are found again by line.
        only = r.detail["class"] == "only_left"
        assert (r.detail["left_line"][only] == r.detail["left_row"][only] + 1).all()
        # Exact mode gives the same findings.
        assert planted.findings(reconcile(lf, rf, encoding=enc, exact=True)) == p.expected["findings"]
    d = tmp_path / "csv"
    d.mkdir()
    lc, rc = p.write(d, csv=True)
    r = reconcile(lc, rc)
    assert r.summary["left"]["kind"] == "csv"
    assert r.summary["counts"] == p.expected["counts"]
    assert planted.findings(r) == p.expected["findings"]
    # A UTF-8 fixed-width file against a cp932 one: text is re-encoded, the findings stay.
    r = reconcile(tmp_path / "utf-8" / "left.dat", tmp_path / "cp932" / "right.dat", left_encoding="utf-8",
                  right_encoding="cp932")
    assert r.summary["counts"] == p.expected["counts"]
    assert planted.findings(r) == p.expected["findings"]
    # A file against columns, and a CSV against a fixed-width file.
    assert planted.findings(reconcile(p.left, tmp_path / "utf-8" / "right.dat")) == p.expected["findings"]
    assert planted.findings(reconcile(lc, tmp_path / "utf-8" / "right.dat")) == p.expected["findings"]


def test_csv_with_japanese_header_and_crlf(base: dict[str, np.ndarray], tmp_path: Path) -> None:
    rows = [{f: base[f][i].decode() for f in base} for i in range(50)]
    fileio.write_csv(tmp_path / "a.csv", "seigo", rows, header="name_ja")
    text = (tmp_path / "a.csv").read_text(encoding="utf-8").replace("\n", "\r\n")
    (tmp_path / "b.csv").write_text(text, encoding="utf-8", newline="")
    r = reconcile(tmp_path / "a.csv", tmp_path / "b.csv")
    assert r.agree and r.summary["counts"]["pairs"] == 50


def test_bad_lines_are_reported_by_line_and_do_not_stop_the_run(base: dict[str, np.ndarray], tmp_path: Path) -> None:
    p = planted.plant(base, planted.Counts(different=2, only_left=1), seed=4, base_seed=SEED)
    lf, rf = p.write(tmp_path, bad_lines_right=3)
    r = reconcile(lf, rf)
    assert r.summary["counts"] == p.expected["counts"]
    assert r.summary["right"]["aligned"] is False
    bad = r.detail["class"] == "bad_row"
    lines = r.detail["right_line"][bad]
    text = Path(rf).read_bytes().split(b"\n")
    assert all(text[k - 1].startswith(b"malformed line") for k in lines)
    assert len(r.summary["samples"]["bad_row"]) == 3


def test_unsorted_and_sorted_sides_give_the_same_findings(base: dict[str, np.ndarray]) -> None:
    p = planted.plant(base, planted.Counts(different=3, only_left=2, only_right=2, duplicate_left=1), seed=8,
                      base_seed=SEED)
    order = np.argsort(p.left["juminhyo_code"], kind="stable")
    left_sorted = {f: v[order] for f, v in p.left.items()}
    a, b = reconcile(p.left, p.right), reconcile(left_sorted, p.right)
    assert b.summary["left"]["sorted"] and not a.summary["left"]["sorted"]
    assert planted.findings(a) == planted.findings(b) == p.expected["findings"]


def test_columns_of_every_form() -> None:
    codes = ids.juminhyo.generate(6, 2)
    mns = ids.mynumber.generate(6, 2)
    names = ["山田\u3000太郎", "𠮷田\u3000花子", "葛\U000E0100西\u3000一", "", "佐藤", "鈴木"]
    left = {"juminhyo_code": codes, "name": names, "birth_date": ["19800101"] * 6, "sex": np.array([1, 2] * 3),
            "address": np.array(["東京都"] * 6), "mynumber": mns, "change_reason": [b"A1"] * 6,
            "change_date": np.array(["20200101"] * 6, dtype=object)}
    enc = [n.encode() for n in names]
    offsets = np.cumsum([0] + [len(x) for x in enc]).astype(np.uint64)
    right = dict(left, juminhyo_code=ids.juminhyo.to_text(codes), mynumber=ids.mynumber.to_text(mns).astype(str),
                 name=(offsets, np.frombuffer(b"".join(enc), dtype=np.uint8)), sex=np.array(["1", "2"] * 3))
    assert reconcile(left, right).agree
    right["name"] = names[:5] + ["鈴木\U000E0100"]  # a variation selector is a difference
    r = reconcile(left, right)
    assert r.summary["counts"]["different"] == 1 and r.summary["fields"]["name"] == 1
    # 個人番号 missing: the sentinel, or empty text.
    left["mynumber"] = np.where(np.arange(6) == 0, np.uint64(2**64 - 1), mns)
    right["mynumber"] = [""] + list(ids.mynumber.to_text(mns[1:]).astype(str))
    right["name"] = names
    assert reconcile(left, right).agree


def test_lenient_keys_are_joined_and_warned(base: dict[str, np.ndarray]) -> None:
    p = planted.plant(base, planted.Counts(invalid_left=2), seed=2, base_seed=SEED)
    right = dict(p.right)
    right["juminhyo_code"] = p.left["juminhyo_code"].copy()  # both sides carry the same bad codes
    strict = reconcile(p.left, right)
    assert strict.summary["counts"]["invalid_left"] == 2 and not strict.agree
    lenient = reconcile(p.left, right, strict=False)
    c = lenient.summary["counts"]
    assert lenient.agree and c["lenient_keys_left"] == c["lenient_keys_right"] == 2
    assert c["pairs"] == len(base["name"])
    assert "lenient" in lenient.table()


def test_the_store_as_a_side(tmp_path: Path) -> None:
    from jukistore import synth
    from jukistore.history import Event, EventCode, Register
    from jukistore.errors import NotPermitted
    from jukistore.store import Operator

    from store_support import new_store

    ward = synth.ward(300, seed=3)
    op = Operator("clerk1", "t1")
    store = new_store(tmp_path / "store", roles={op.operator_id: ["clerk"]})
    store.load(ward.records(), operator=op)
    cols = ward.by_field()
    proj = {f: cols[m] for f, m in plan("seigo").layout.projection_fields("jumin_kihon")}
    fileio.write_fixed_columns(tmp_path / "export.dat", "seigo", {f: np.char.decode(v, "utf-8") for f, v in proj.items()})
    r = reconcile(store, tmp_path / "export.dat")
    assert r.agree, r.table()
    assert r.summary["left"]["kind"] == "store" and r.summary["left"]["rows"] == len(ward)
    # A person gets a new 住民票コード; the old export still carries the old one: a stale copy.
    p = store.get(person_id=5)
    assert p is not None
    old = getattr(p.record, "juminhyo_code")
    new = ids.juminhyo.to_text(ids.juminhyo.generate(1, 3, start=10**6))[0].decode()
    Register(store).apply(Event(EventCode.住民票コード変更, "20250401", person=p, changes={30: new}), operator=op)
    with pytest.raises(NotPermitted):  # a bare directory: nobody accountable for the read
        reconcile(tmp_path / "store", tmp_path / "export.dat")
    r = reconcile(store, tmp_path / "export.dat")
    assert not r.agree
    reads = [e.body for e in store.audit.access.entries() if e.body["act"] == "reconcile"]
    assert [(b["scope"], b["n"], b["op"]) for b in reads] == [("all", len(ward), "reader01")] * 2
    f = planted.findings(r)
    assert f["superseded"] == [("right", old, new)]
    assert r.summary["counts"]["only_left"] == r.summary["counts"]["only_right"] == 0
    assert r.summary["counts"]["mynumber_conflicts"] == 0
    sup = r.detail["class"] == "superseded"
    assert r.detail["left_person_id"][sup].tolist() == [5]


def test_errors(base: dict[str, np.ndarray], tmp_path: Path) -> None:
    nokey = layouts.parse('[[items]]\nno = 1\nname_ja = "氏名"\nname_en = "Name"\nfield = "name"\ntype = "kanji"\n'
                          'width = 3\n', "nokey")
    with pytest.raises(ReconcileError, match="住民票コード"):
        plan(nokey)
    with pytest.raises(FileNotFoundError):
        reconcile(tmp_path / "missing.dat", tmp_path / "missing2.dat")
    with pytest.raises(ReconcileError, match="lack"):
        reconcile({"juminhyo_code": base["juminhyo_code"]}, base)
    short = dict(base, name=base["name"][:3])
    with pytest.raises(ReconcileError, match="rows"):
        reconcile(short, base)
    with pytest.raises(ReconcileError, match="cannot reconcile"):
        reconcile(42, base)
    (tmp_path / "h.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ReconcileError, match="header"):
        reconcile(tmp_path / "h.csv", base)
    with pytest.raises(ValueError):
        reconcile(base, base, encoding="latin-1")


def test_sides_can_be_read_once_and_reused(base: dict[str, np.ndarray], tmp_path: Path) -> None:
    p = planted.plant(base, planted.Counts(different=2), seed=1, base_seed=SEED)
    lf, rf = p.write(tmp_path)
    pl_ = plan("seigo")
    left = open_side(lf, pl_)
    assert isinstance(left, Side) and left.rows == len(base["name"])
    assert "rows=400" in repr(left)
    r1, r2 = reconcile(left, rf), reconcile(left, rf)
    assert planted.findings(r1) == planted.findings(r2) == p.expected["findings"]


def test_whole_master_files_with_more_than_64_compared_items(tmp_path: Path) -> None:
    from jukistore import synth

    ward = synth.ward(200, seed=4)
    cols = {f: np.char.decode(v, "utf-8") for f, v in ward.by_field().items()}
    fileio.write_fixed_columns(tmp_path / "a.dat", "jumin_kihon", cols)
    lay = layouts.load("jumin_kihon")
    late = lay.by_no(84).field  # past the 64th compared item
    changed = dict(cols)
    changed[late] = cols[late].copy()
    changed[late][7] = "9" if changed[late][7] != "9" else "8"
    fileio.write_fixed_columns(tmp_path / "b.dat", "jumin_kihon", changed)
    r = reconcile(tmp_path / "a.dat", tmp_path / "b.dat", "jumin_kihon")
    assert r.summary["counts"]["different"] == 1 and r.summary["fields"][late] == 1
    assert r.detail["fields"].tolist() == [late] and r.detail["mask"][0] == 0 and r.detail["mask_hi"][0] != 0


def _with_headers_swapped(tmp_path: Path, rows: list[dict[str, str]], a: str, b: str) -> tuple[Path, Path]:
    """A seigo CSV of ``rows``, and a copy whose header names columns ``a`` and ``b`` the other
    way round (an export with two headers swapped)."""
    ok = tmp_path / "ok.csv"
    fileio.write_csv(ok, "seigo", rows)
    head, *body = ok.read_text(encoding="utf-8").splitlines()
    swapped = head.replace(a, "TMP").replace(b, a).replace("TMP", b)
    bad = tmp_path / "swapped.csv"
    bad.write_text("\n".join([swapped, *body]) + "\n", encoding="utf-8")
    return ok, bad


def test_a_mynumber_in_the_key_column_is_masked_in_the_summary(tmp_path: Path) -> None:
    """An export with the 住民票コード and 個人番号 headers swapped puts 12-digit numbers where the
    keys go: reported as invalid keys, and masked in the summary like any 個人番号."""
    rows = seigo_rows(5, 41)
    r = reconcile(*_with_headers_swapped(tmp_path, rows, "juminhyo_code", "mynumber"))
    text = r.to_json() + r.table() + repr(r)
    numbers = [row["mynumber"] for row in rows if row["mynumber"]]
    assert numbers and r.summary["counts"]["invalid_right"] == 5
    assert [m for m in numbers if m in text] == []
    assert any(m[-4:] in text for m in numbers)


def test_a_well_formed_crlf_file_is_not_called_malformed(tmp_path: Path) -> None:
    rows = seigo_rows(5, 42)
    lf, crlf = tmp_path / "lf.dat", tmp_path / "crlf.dat"
    fileio.write_fixed(lf, "seigo", rows)
    fileio.write_fixed(crlf, "seigo", rows, newline="\r\n")
    r = reconcile(lf, crlf)
    assert r.agree and r.summary["right"]["aligned"] is True
    assert "malformed lines" not in r.table()
    crlf.write_bytes(crlf.read_bytes() + b"short line\r\n")
    r = reconcile(lf, crlf)
    assert r.summary["counts"]["bad_rows_right"] == 1 and r.summary["right"]["aligned"] is False
    assert "malformed lines" in r.table()


def test_a_non_ascii_value_outside_a_text_item_is_the_same_in_both_encodings(tmp_path: Path) -> None:
    """A date typed in full-width digits is malformed, but the same malformed value on both
    sides: a UTF-8 side against a cp932 one must not call it a difference."""
    rows = seigo_rows(3, 43)
    rows[1]["birth_date"] = "１９９８０４"
    head = ",".join(layouts.load("seigo").fields)
    body = [",".join(r[f] for f in head.split(",")) for r in rows]
    text = "\n".join([head, *body]) + "\n"
    (tmp_path / "u.csv").write_text(text, encoding="utf-8")
    (tmp_path / "s.csv").write_text(text, encoding="cp932")
    r = reconcile(tmp_path / "u.csv", tmp_path / "s.csv", right_encoding="cp932")
    assert r.summary["counts"]["different"] == 0, r.summary["samples"]
    assert r.agree


def test_a_mynumber_in_another_compared_column_is_masked_in_the_summary(tmp_path: Path) -> None:
    """An export with the 個人番号 and 異動年月日 headers swapped puts 12-digit numbers in a field
    that is not the 個人番号: the summary's samples mask them all the same."""
    rows = seigo_rows(5, 41)
    r = reconcile(*_with_headers_swapped(tmp_path, rows, "change_date", "mynumber"))
    assert r.summary["fields"]["change_date"] == 5
    text = r.to_json() + r.table() + repr(r)
    numbers = [row["mynumber"] for row in rows if row["mynumber"]]
    assert numbers and [m for m in numbers if m in text] == []
    assert any(m[-4:] in text for m in numbers)
    # The detail, written only on request, keeps the values as they are.
    assert set(r.detail_values()["change_date_right"].tolist()) >= set(numbers)


def test_columns_that_are_not_one_value_per_row_are_refused_by_name(base: dict[str, np.ndarray]) -> None:
    with pytest.raises(ReconcileError, match="name"):
        reconcile(dict(base, name=None), base)
    with pytest.raises(ReconcileError, match="name"):
        reconcile(dict(base, name=np.zeros((len(base["name"]), 2), dtype="S3")), base)
    with pytest.raises(ReconcileError, match="juminhyo_code"):
        reconcile(dict(base, juminhyo_code=base["juminhyo_code"].astype(float)), base)


def test_empty_columns_given_as_lists_are_a_side_of_no_rows(base: dict[str, np.ndarray]) -> None:
    r = reconcile({f: [] for f in base}, base)
    assert r.summary["counts"]["left_rows"] == 0
    assert r.summary["counts"]["only_right"] == len(base["name"])


def test_integer_keys_that_fail_are_shown_with_their_leading_zeros() -> None:
    bad = np.array([1234567890])  # 01234567890: the leading 0 implied
    bad = bad + (1 if ids.juminhyo.is_valid(f"{int(bad[0]):011d}") else 0)
    cols = planted.synthetic(1, 5, gaiji=False)
    left = dict(cols, juminhyo_code=bad.astype(np.uint64))
    r = reconcile(left, cols)
    assert r.summary["counts"]["invalid_left"] == 1
    shown = f"{int(bad[0]):011d}"
    assert r.summary["samples"]["invalid"][0]["key"] == shown
    assert r.detail["key"][r.detail["class"] == "invalid"].tolist() == [shown]


def test_a_japanese_header_naming_two_items_alike_reads_each_item(tmp_path: Path) -> None:
    """jumin_kihon names two items 除票届出日 (and two 外国人住定異動事由): a CSV with the Japanese
    header, as write_csv writes it, must read each of them from its own column."""
    from jukistore import synth

    ward = synth.ward(30, seed=4)
    cols = {f: np.char.decode(v, "utf-8") for f, v in ward.by_field().items()}
    lay = layouts.load("jumin_kihon")
    twins = [i.field for i in lay.items if i.name_ja == "除票届出日"]
    assert len(twins) == 2
    n = len(cols[twins[0]])
    cols[twins[0]], cols[twins[1]] = np.full(n, "20200101"), np.full(n, "20210202")
    fileio.write_fixed_columns(tmp_path / "a.dat", "jumin_kihon", cols)
    recs = list(fileio.iter_records(tmp_path / "a.dat", "jumin_kihon"))
    for enc in ("utf-8", "cp932"):
        csv_path = tmp_path / f"ja-{enc}.csv"
        fileio.write_csv(csv_path, "jumin_kihon", recs, header="name_ja", encoding=enc)
        r = reconcile(tmp_path / "a.dat", csv_path, "jumin_kihon", right_encoding=enc)
        assert r.summary["fields"][twins[1]] == 0, r.summary["fields"]
        assert r.summary["right"]["source"] == str(csv_path)
        # Rows are still found again by their line in the file.
        assert r.right.refs(np.array([0, 1]))[0] == 2


def test_jis_characters_cp932_holds_under_other_code_points_are_not_differences(tmp_path: Path) -> None:
    """〜 − — (and ¢ £ ¬ ‖) are JIS characters a cp932 file holds as ～ － ― (￠ ￡ ￢ ∥): a UTF-8
    side against a cp932 copy of it agrees on them; a character the copy lost (𠮷 → 〓) does not."""
    rows = seigo_rows(5, 44)
    rows[1]["address"] = "東京都墨田区向島一丁目1−2"
    rows[2]["name"] = "山田\u3000一〜"
    rows[3]["address"] = "東京都墨田区押上—ビル¢£¬‖"
    rows[4]["name"] = "𠮷田\u3000花子"
    fileio.write_fixed(tmp_path / "u.dat", "seigo", rows)
    fileio.write_fixed(tmp_path / "s.dat", "seigo", rows, encoding="cp932")
    fileio.write_csv(tmp_path / "s.csv", "seigo", rows, encoding="cp932")
    for right in ("s.dat", "s.csv"):
        for exact in (True, None):
            r = reconcile(tmp_path / "u.dat", tmp_path / right, right_encoding="cp932", exact=exact)
            assert r.summary["counts"]["different"] == 1, r.summary["samples"]
            assert planted.findings(r)["different"] == [(rows[4]["juminhyo_code"], "name")]
            r = reconcile(tmp_path / right, tmp_path / "u.dat", left_encoding="cp932", exact=exact)
            assert r.summary["counts"]["different"] == 1, r.summary["samples"]
    # Within one encoding the code points are compared as they are.
    other = [dict(row) for row in rows]
    other[2]["name"] = "山田\u3000一～"
    fileio.write_fixed(tmp_path / "u2.dat", "seigo", other)
    assert reconcile(tmp_path / "u.dat", tmp_path / "u2.dat").summary["counts"]["different"] == 1
