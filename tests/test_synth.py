"""Synthetic wards: deterministic, valid numbers, believable rates, planted cases found, files.

Small wards keep the file fast; the rates are checked with tolerances that hold for them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from jukistore import dates, layouts, synth, text
from jukistore.cli import main
from jukistore.ids import juminhyo, lgcode, mynumber, zairyu
from jukistore.synth import codes
from jukistore.synth.planted import Rates

AS_OF = int(synth.AS_OF)
LAYOUT = layouts.load("jumin_kihon")


@pytest.fixture(scope="module")
def w() -> synth.Ward:
    return synth.ward(12_000, seed=7)


def s(col: np.ndarray) -> list[str]:
    return [b.decode() for b in col.tolist()]


def ages(ward: synth.Ward, rows: np.ndarray | None = None) -> np.ndarray:
    birth = ward.column(23).astype("U8")
    if rows is not None:
        birth = birth[rows]
    y = np.array([int(b[:4]) for b in birth])
    md = np.array([int(b[4:]) for b in birth])
    return AS_OF // 10000 - y - (md > AS_OF % 10000)


# ---- determinism --------------------------------------------------------------------------------

def test_same_seed_same_columns() -> None:
    a, b = synth.ward(3_000, seed=11), synth.ward(3_000, seed=11)
    assert sorted(a.columns) == list(range(1, 85))
    for no in a.columns:
        assert a.columns[no].dtype == b.columns[no].dtype
        assert np.array_equal(a.columns[no], b.columns[no]), no
    assert a.truth.counts() == b.truth.counts()
    assert a.truth.juminhyo_changes == b.truth.juminhyo_changes
    assert a.truth.mynumber_changes == b.truth.mynumber_changes


@pytest.mark.parametrize("kwargs", [{"residents": 0}, {"seed": -1}, {"removed_fraction": -0.1}, {"as_of": "2025-04-01"},
                                    {"as_of": "20250231"}, {"removed_since": "20200101"}])
def test_bad_arguments(kwargs: dict) -> None:  # type: ignore[type-arg]
    args = {"residents": 100, **kwargs}
    with pytest.raises(ValueError):
        synth.ward(**args)


def test_other_seed_other_ward() -> None:
    a, b = synth.ward(3_000, seed=11), synth.ward(3_000, seed=12)
    assert not np.array_equal(a.column(30), b.column(30))
    assert not np.array_equal(a.column(21), b.column(21))


def test_sizes_are_exact(w: synth.Ward) -> None:
    assert w.residents == 12_000
    assert w.removed == round(12_000 * synth.REMOVED_FRACTION)
    assert len(w) == w.residents + w.removed
    assert all(len(c) == len(w) for c in w.columns.values())
    assert int(w.current_mask.sum()) == w.residents
    # current residents come first, then the removed
    assert not w.removed_mask[: w.residents].any() and w.removed_mask[w.residents:].all()
    none = synth.ward(500, seed=1, removed_fraction=0)
    assert len(none) == none.residents == 500


# ---- numbers ------------------------------------------------------------------------------------

def test_numbers_are_valid(w: synth.Ward) -> None:
    assert juminhyo.is_valid_many(w.column(30)).all()
    mn = w.column(81)
    assert mynumber.is_valid_many(mn[mn != b""]).all()
    assert juminhyo.is_valid_many(w.truth.old_juminhyo).all()
    assert mynumber.is_valid_many(w.truth.old_mynumber).all()


def test_numbers_distinct_across_current_and_old(w: synth.Ward) -> None:
    codes_all = np.concatenate([w.column(30), w.truth.old_juminhyo])
    assert len(np.unique(codes_all)) == len(codes_all)
    mn = w.column(81)
    mn_all = np.concatenate([mn[mn != b""], w.truth.old_mynumber])
    assert len(np.unique(mn_all)) == len(mn_all)
    assert len(np.unique(w.column(12))) == len(w)  # 宛名番号
    cards = w.column(66)
    cards = cards[cards != b""]
    assert len(np.unique(cards)) == len(cards)


def test_number_changes_are_recorded(w: synth.Ward) -> None:
    jc, mc = w.truth.juminhyo_changes, w.truth.mynumber_changes
    assert len(jc) == round(Rates().juminhyo_changed * len(w))
    assert len(mc) == round(Rates().mynumber_changed * len(w))
    codes_now = w.column(30)
    for row, old in jc:
        assert codes_now[row].decode() != old and juminhyo.is_valid(old)
    mn = w.column(81)
    for row, old in mc:
        assert mn[row] != b"" and mn[row].decode() != old
    assert list(w.truth.old_juminhyo_rows) == sorted({r for r, _ in jc})


def test_my_number_missing_only_before_it_began(w: synth.Ward) -> None:
    mn = w.column(81)
    missing = np.flatnonzero(mn == b"")
    assert np.array_equal(missing, w.truth.cases["no_mynumber"])
    assert w.removed_mask[missing].all()
    removal = w.column(54)[missing].astype("U8").astype(int)
    assert (removal < int(codes.MYNUMBER_START)).all()
    assert (mn[w.current_mask] != b"").all()


# ---- rates and structure ------------------------------------------------------------------------

def test_households(w: synth.Ward) -> None:
    cur = w.current_mask
    hh = w.column(1)[cur]
    size = Counter(Counter(hh.tolist()).values())
    n_hh = sum(size.values())
    assert n_hh == w.households
    assert 1.55 < w.residents / n_hh < 1.9  # Sumida: ~290,000 residents in ~170,000 households
    assert 0.5 < size[1] / n_hh < 0.7
    heads = w.column(24)[cur] == codes.SETAINUSHI.encode()
    assert int(heads.sum()) == n_hh
    assert len(np.unique(hh[heads])) == n_hh  # one head per household
    # items 2/3 carry the head's names
    head_kanji = dict(zip(hh[heads].tolist(), w.column(21)[cur][heads].tolist()))
    assert all(head_kanji[h] == k for h, k in zip(hh.tolist(), w.column(3)[cur].tolist()))


def test_foreign_share(w: synth.Ward) -> None:
    foreign = w.column(64) != b""
    share = int(foreign[w.current_mask].sum()) / w.residents
    assert abs(share - Rates().foreign_households) < 0.015
    assert int(foreign[w.current_mask].sum()) == w.foreign
    assert set(w.column(64)[foreign].astype("U3")) <= set(codes.KOKUSEKI)
    assert (w.column(25)[foreign] == b"").all() and (w.column(27)[foreign] == b"").all()  # no 本籍
    cards = w.column(66)[foreign]
    has = cards != b""
    assert zairyu.is_valid_many(cards[has]).all()
    kubun = w.column(69)[foreign]
    assert set(kubun.astype("U1")) <= set(codes.KUBUN_30_45)
    status = w.column(67)[foreign]
    assert ((kubun == b"2") == (status == codes.TOKUBETSU_EIJUSHA.encode())).all()
    assert (w.column(70)[foreign][status == codes.EIJUSHA.encode()] == b"").all()  # permanent: no period
    assert set(w.column(70)[foreign][w.column(70)[foreign] != b""].astype("U8")) <= set(codes.ZAIRYU_KIKAN)


def test_removed_kinds_and_dates(w: synth.Ward) -> None:
    rem = w.removed_mask
    kinds = Counter(w.column(13)[rem].tolist())
    assert set(kinds) == {b"1", b"2", b"3"}
    assert 0.6 < kinds[b"1"] / w.removed < 0.76  # 転出 dominates
    removal = w.column(54)[rem].astype("U8").astype(int)
    assert (removal <= AS_OF).all() and (removal >= int(synth.REMOVED_SINCE)).all()
    old = removal < int(codes.RETENTION_150_FROM)
    assert np.array_equal(np.flatnonzero(rem)[old], w.truth.cases["removed_before_2014_06_20"])
    assert 0.15 < old.mean() < 0.45  # spread over decades, most after the 150-year rule began
    reason = w.column(11)[rem]
    assert set(reason.astype("U2")) <= {codes.TENSHUTSU, codes.KOKUGAI_TENSHUTSU, codes.SHIBO, codes.SHOKKEN_SHOJO}
    assert np.array_equal(w.column(57)[rem], reason)
    assert (w.column(54)[~rem] == b"").all() and (w.column(13)[~rem] == b"0").all()
    moved = rem & (w.column(13) == b"1")
    assert (w.column(38)[moved] != b"").all()  # planned destination of every 転出


def test_codes_come_from_the_tables(w: synth.Ward) -> None:
    for no in (11, 17, 19, 57, 76, 78):
        col = w.column(no)
        assert set(col[col != b""].astype("U2")) <= set(codes.IDO_JIYU), no
    assert set(w.column(24).astype("U2")) <= set(codes.ZOKUGARA)
    assert set(w.column(13).astype("U1")) <= set(codes.JOHYO_KUBUN)
    assert set(w.column(22).astype("U1")) <= set(codes.SEIBETSU)
    assert (w.column(6) == b"131075").all() and lgcode.is_valid("131075")
    for no in (25, 31, 36, 41, 46):
        col = w.column(no)
        assert lgcode.is_valid_many(col[col != b""]).all(), no
    for no in (5, 26, 32, 37, 42, 47):
        col = w.column(no)
        filled = col[col != b""]
        assert (np.strings.str_len(filled) == 7).all() and np.strings.isdigit(filled).all(), no
    postal = w.column(5).astype("U7")
    assert all(p.startswith(("130", "131")) for p in set(postal))


def test_age_and_sex(w: synth.Ward) -> None:
    cur = np.flatnonzero(w.current_mask)
    valid = dates.is_valid_calendar_many(w.column(23)[cur])
    a = ages(w, cur[valid])
    assert a.min() >= 0 and a.max() <= 110
    assert 0.06 < (a < 15).mean() < 0.14
    assert 0.15 < (a >= 65).mean() < 0.30
    assert 30 < np.median(a) < 55
    male = (w.column(22)[cur] == b"1").mean()
    assert 0.45 < male < 0.56
    rel = w.column(24)
    heads = cur[rel[cur] == codes.SETAINUSHI.encode()]
    assert (ages(w, heads) >= 18).all()
    wives = rel == codes.TSUMA.encode()
    assert (w.column(22)[wives] == b"2").all()
    assert (w.column(22)[rel == codes.CHICHI.encode()] == b"1").all()


def test_dates_are_ordered(w: synth.Ward) -> None:
    def key(no: int) -> np.ndarray:
        col = w.column(no)
        return np.where(col == b"", b"0", col).astype("U8").astype(np.int64)

    birth = dates.to_ordinal_key(w.column(23)).astype(np.int64)
    change, est = key(14), key(16)
    assert (change <= AS_OF).all() and (est <= change).all()
    assert (birth <= est).all()
    for no in (15, 18):
        k = key(no)
        assert (k[k > 0] <= AS_OF).all()
    born = w.column(17) == codes.SHUSSEI.encode()
    assert (w.column(16)[born & (dates.is_valid_calendar_many(w.column(23)))] ==
            w.column(23)[born & (dates.is_valid_calendar_many(w.column(23)))]).all()


# ---- planted cases ------------------------------------------------------------------------------

def test_every_case_is_planted_and_flagged(w: synth.Ward) -> None:
    counts = w.truth.counts()
    assert set(counts) == set(synth.CASES)
    for case in ("gaiji_name", "ivs_name", "pua_name", "gaiji_katagaki", "birth_day_unknown",
                 "birth_month_unknown", "birth_impossible", "juminhyo_changed", "mynumber_changed"):
        assert counts[case] > 0, case
    r = Rates()
    n = len(w)
    assert counts["birth_day_unknown"] == round(r.birth_day_unknown * n)
    assert counts["birth_impossible"] == max(1, round(r.birth_impossible * n))


def test_name_cases_match_the_text(w: synth.Ward) -> None:
    names = s(w.column(21))
    gaiji = {i for i, v in enumerate(names) if text.gaiji_count(v)}
    ivs = {i for i, v in enumerate(names) if text.has_ivs(v)}
    pua = {i for i, v in enumerate(names) if any(text.is_private_use(c) for c in v)}
    flagged = w.truth.cases
    assert ivs == set(flagged["ivs_name"].tolist())
    assert pua == set(flagged["pua_name"].tolist())
    # every 外字 name is flagged under one of the three cases, and nothing else holds 外字
    assert gaiji == set(np.concatenate([flagged["gaiji_name"], flagged["ivs_name"], flagged["pua_name"]]).tolist()) - (ivs - gaiji)
    assert gaiji >= set(flagged["gaiji_name"].tolist())
    kata = s(w.column(10))
    assert {i for i, v in enumerate(kata) if text.gaiji_count(v)} == set(flagged["gaiji_katagaki"].tolist())
    assert any("\U00020bb7" in names[i] for i in flagged["gaiji_name"]) or len(flagged["gaiji_name"]) < 30
    # a family shares its spelling: the head's name (item 3) shows it too
    heads = s(w.column(3))
    assert all(text.has_ivs(heads[i]) for i in flagged["ivs_name"] if w.column(24)[i] == b"01")


def test_birth_date_cases(w: synth.Ward) -> None:
    birth = w.column(23).astype("U8")
    c = w.truth.cases
    assert all(b[6:] == "00" and b[4:6] != "00" for b in birth[c["birth_day_unknown"]])
    assert all(b[4:] == "0000" for b in birth[c["birth_month_unknown"]])
    valid = dates.is_valid_calendar_many(w.column(23))
    odd = np.flatnonzero(~valid)
    expected = np.sort(np.concatenate([c["birth_day_unknown"], c["birth_month_unknown"], c["birth_impossible"]]))
    assert np.array_equal(odd, expected)
    for b in birth[c["birth_impossible"]]:
        parts = dates.parse(b)
        assert not parts.is_valid_calendar_date
        assert int(b[4:6]) in (2, 4, 6, 9, 11) and int(b[6:]) >= 30
    # as recorded, they still sort
    assert dates.to_ordinal_key(w.column(23)).shape == (len(w),)


def test_rates_can_be_tuned() -> None:
    none = synth.ward(2_000, seed=3, rates=Rates(foreign_households=0, gaiji_households=0, ivs_households=0,
                                                 pua_households=0, gaiji_katagaki_households=0, birth_day_unknown=0,
                                                 birth_month_unknown=0, birth_impossible=0, juminhyo_changed=0,
                                                 mynumber_changed=0))
    assert none.foreign == 0
    assert none.truth.counts()["gaiji_name"] == 0
    assert none.truth.juminhyo_changes == []
    assert dates.is_valid_calendar_many(none.column(23)).all()


# ---- records and files --------------------------------------------------------------------------

def test_records_fit_the_layout(w: synth.Ward) -> None:
    recs = list(w.records(0, 3_000)) + list(w.records(len(w) - 1_000))
    assert len(recs) == 4_000
    for rec in recs:
        for it in LAYOUT.items:
            v = getattr(rec, it.field)
            assert isinstance(v, str)
            assert len(v) <= it.width, (it.no, v)
            assert v == v.rstrip(" ") and "\n" not in v
            if not it.is_text:
                assert v.isascii(), (it.no, v)
    rec = w.record(5)
    assert rec.juminhyo_code == w.column(30)[5].decode()  # type: ignore[attr-defined]
    assert "mynumber" not in repr(rec) or w.column(81)[5].decode() not in repr(rec)


def test_columns_fit_the_layout(w: synth.Ward) -> None:
    for it in LAYOUT.items:
        col = w.column(it.no)
        assert np.array_equal(col, w.column(it.field))
        if not it.is_text:
            assert col.dtype.itemsize <= it.width, it.no
    by_field = w.by_field()
    assert list(by_field) == list(LAYOUT.fields)


def _fileio():  # type: ignore[no-untyped-def]
    fileio = pytest.importorskip("jukistore.fileio")
    if not hasattr(fileio, "write_fixed_columns") or not hasattr(fileio, "read_columns"):
        pytest.skip("jukistore.fileio has no column writer and reader")
    return fileio


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_files_round_trip(tmp_path: Path) -> None:
    fileio = _fileio()
    ward = synth.ward(2_000, seed=5)
    paths = ward.write(tmp_path / "a")
    assert [p.name for p in paths] == ["jumin_kihon.dat", "jumin_kihon.csv"]
    cols = fileio.read_columns(paths[0], "jumin_kihon", decode=True)
    for it in LAYOUT.items:
        assert list(cols[it.field]) == ward.text(it.no), it.no
    back = list(fileio.iter_records(paths[1], "jumin_kihon"))
    assert back == list(ward.records())
    # the same seed writes the same bytes
    again = synth.ward(2_000, seed=5).write(tmp_path / "b")
    assert [_sha(p) for p in paths] == [_sha(p) for p in again]


def test_cp932_files_substitute_and_report(tmp_path: Path) -> None:
    _fileio()
    ward = synth.ward(3_000, seed=4)
    reports: list = []
    paths = ward.write(tmp_path, "fixed", encoding="cp932", reports=reports)
    assert len(paths) == len(reports) == 1
    subs = reports[0].substitutions
    assert subs  # 𠮷 and variation selectors cannot be written in cp932
    assert {x.char for x in subs} <= {"\U00020bb7"} | {chr(c) for c in range(0xE0100, 0xE01F0)}
    flagged = set(np.concatenate([ward.truth.cases["gaiji_name"], ward.truth.cases["ivs_name"]]).tolist())
    households = {ward.column(1)[r] for r in flagged}
    assert all(ward.column(1)[x.row - 1] in households for x in subs)  # the planted names and their heads


# ---- command line -------------------------------------------------------------------------------

def test_cli_writes_and_summarises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _fileio()
    out = tmp_path / "ward"
    assert main(["synth", "--residents", "1500", "--seed", "2", "--out", str(out), "--format", "fixed"]) == 0
    report = capsys.readouterr().out
    assert "residents" in report and "1,500" in report and "jumin_kihon.dat" in report
    assert (out / "jumin_kihon.dat").exists() and not (out / "jumin_kihon.csv").exists()
    ward = synth.ward(1500, seed=2)
    for code in ward.column(30)[:50].tolist():
        assert code.decode() not in report  # counts only, never numbers


@pytest.mark.parametrize("args", [["--residents", "0"], ["--removed-fraction", "-1"], ["--as-of", "2025-04-01"],
                                  ["--as-of", "20250230"], ["--as-of", "20100101"], ["--seed", "-1"],
                                  ["--format", "xml"], ["--encoding", "latin-1"]])
def test_cli_usage_errors(tmp_path: Path, args: list[str]) -> None:
    assert main(["synth", "--out", str(tmp_path), *args]) == 2


def test_cli_out_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["synth", "--residents", "10", "--out", str(f)]) == 2
