"""The store commands end to end: init, load, get, search, verify, stats."""

from __future__ import annotations

import json
import re

import pytest

from jukistore import fileio
from jukistore.cli import main

from store_support import make_records


@pytest.fixture
def master(tmp_path):
    recs = make_records(400, seed=9)
    p = tmp_path / "master.txt"
    fileio.write_fixed(p, "jumin_kihon", recs)
    return p, recs


def test_init_load_get_search_verify(tmp_path, master, capsys, monkeypatch) -> None:
    path, recs = master
    store = tmp_path / "store"
    admin = ["--operator", "admin01", "--terminal", "t-0"]
    assert main(["init", str(store), "--municipality", "131075", *admin]) == 0
    assert main(["load", str(store), str(path)]) == 2  # no operator given
    assert "operator" in capsys.readouterr().err
    monkeypatch.setenv("JUKISTORE_OPERATOR", "clerk")
    monkeypatch.setenv("JUKISTORE_TERMINAL", "t-1")
    assert main(["load", str(store), str(path)]) == 2  # an operator without a role
    assert "clerk" in capsys.readouterr().err
    assert main(["operators", "grant", str(store), "clerk", "clerk", *admin]) == 0
    assert main(["load", str(store), str(path)]) == 0
    assert "loaded 400 persons" in capsys.readouterr().out

    r = recs[17]
    assert main(["get", str(store), "--code", r.juminhyo_code, "--json"]) == 2  # a read names its purpose
    assert "purpose" in capsys.readouterr().err
    monkeypatch.setenv("JUKISTORE_PURPOSE", "住民票の写しの交付")
    assert main(["get", str(store), "--code", r.juminhyo_code, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["person_id"] == 18 and got["record"]["name_kanji"] == r.name_kanji
    assert got["record"]["mynumber"] == "*" * 8 + r.mynumber[-4:]
    assert main(["get", str(store), "--mynumber", r.mynumber, "--show-mynumber", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["record"]["mynumber"] == r.mynumber
    assert main(["get", str(store), "--code", "00000000000"]) == 1

    assert main(["search", str(store), "--name-kana", r.name_kana, "--birth-date", r.birth_date, "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert r.juminhyo_code in [h["record"]["juminhyo_code"] for h in hits]
    assert main(["search", str(store), "--name-kana", r.name_kana]) == 2  # needs two of the 4情報

    assert main(["verify", str(store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert main(["stats", str(store)]) == 0
    assert "persons" in capsys.readouterr().out

    # Loading the same file again refuses the first batch whole, naming a record, masked.
    assert main(["load", str(store), str(path)]) == 2
    err = capsys.readouterr().err
    assert "already in use" in err and "record" in err
    assert all(x.juminhyo_code not in err for x in recs)


def test_missing_store_and_file_are_usage_errors(tmp_path, capsys) -> None:
    admin = ["--operator", "a", "--terminal", "b"]
    assert main(["verify", str(tmp_path / "nope")]) == 2
    assert main(["init", str(tmp_path / "s"), "--municipality", "131075", *admin]) == 0
    assert main(["load", str(tmp_path / "s"), str(tmp_path / "none.txt"), *admin]) == 2
    assert main(["init", str(tmp_path / "s"), "--municipality", "131075", *admin]) == 2


@pytest.fixture
def loaded(tmp_path, master, monkeypatch):
    """A store with the master records loaded, and a clerk and an auditor to read it."""
    path, recs = master
    store = tmp_path / "store"
    admin = ["--operator", "admin01", "--terminal", "t-0"]
    assert main(["init", str(store), "--municipality", "131075", *admin]) == 0
    assert main(["operators", "grant", str(store), "clerk", "clerk", *admin]) == 0
    assert main(["operators", "grant", str(store), "audit01", "auditor", *admin]) == 0
    monkeypatch.setenv("JUKISTORE_OPERATOR", "clerk")
    monkeypatch.setenv("JUKISTORE_TERMINAL", "t-1")
    monkeypatch.setenv("JUKISTORE_PURPOSE", "住民票の写しの交付")
    assert main(["load", str(store), str(path)]) == 0
    return store, recs


@pytest.mark.parametrize("birth", ["19301301", "19300140", "1930011", "193001011", "1930O101", "abcdefgh",
                                   "123456789018"])
def test_search_refuses_a_birth_date_that_is_no_date(loaded, capsys, birth) -> None:
    """Month 13 or day 40 in 8 digits was searched for as written: exit 1, "0 found"."""
    store, recs = loaded
    capsys.readouterr()
    assert main(["search", str(store), "--name-kana", recs[0].name_kana, "--birth-date", birth]) == 2
    err = capsys.readouterr().err
    assert "--birth-date" in err and not re.search(r"[0-9]{12}", err)  # a 個人番号 given by mistake stays masked


def test_search_keeps_birth_dates_as_registers_record_them(loaded, capsys) -> None:
    """Unknown parts (00) and impossible days are recorded dates, and other forms still read."""
    store, recs = loaded
    r = recs[0]
    for birth in ("19300200", "19300230", "00000000"):
        assert main(["search", str(store), "--name-kana", r.name_kana, "--birth-date", birth]) == 1
    capsys.readouterr()
    y, m, d = r.birth_date[:4], r.birth_date[4:6], r.birth_date[6:]
    assert main(["search", str(store), "--name-kana", r.name_kana, "--birth-date", f"{y}-{m}-{d}", "--json"]) == 0
    assert r.juminhyo_code in [h["record"]["juminhyo_code"] for h in json.loads(capsys.readouterr().out)]


TOO_BIG = str(2**64)
AUDITOR = ["--operator", "audit01", "--terminal", "t-a"]


@pytest.mark.parametrize("argv, option", [
    (["get", "{store}", "--person-id", "-1"], "--person-id"),
    (["get", "{store}", "--person-id", TOO_BIG], "--person-id"),
    (["history", "{store}", "--person-id", "-1"], "--person-id"),
    (["history", "{store}", "--person-id", "2", "--known-at", "-1"], "--known-at"),
    (["changes", "{store}", "--since", "-1"], "--since"),
    (["changes", "{store}", "--limit", "0"], "--limit"),
    (["purge", "hold", "{store}", "--person-id", "-1", "--case", "c-1"], "--person-id"),
    (["purge", "hold", "{store}", "--person-id", TOO_BIG, "--case", "c-1"], "--person-id"),
    (["purge", "unhold", "{store}", "--person-id", "-1"], "--person-id"),
    (["search", "{store}", "--name-kana", "ヤマダ", "--address", "東京都", "--limit", "0"], "--limit"),
    (["audit", "search", "{store}", "--limit", "-1", *AUDITOR], "--limit"),
    (["audit", "search", "{store}", "--limit", "0", *AUDITOR], "--limit"),
    (["audit", "search", "{store}", "--person", "-1", *AUDITOR], "--person"),
    (["load", "{store}", "{store}/../master.txt", "--batch-size", "0"], "--batch-size"),
    (["purge", "run", "{store}", "--as-of", "2025-04-01", "--approver", "admin01", "--approver-terminal", "t-0",
      "--batch-size", "0"], "--batch-size"),  # this one ended in a ValueError traceback
])
def test_negative_huge_and_zero_counts_are_usage_errors(loaded, capsys, argv, option) -> None:
    """Most of these were taken as ordinary values: "not found", "0 found", "0 entries" (exit 1)."""
    store, _ = loaded
    capsys.readouterr()
    assert main([a.format(store=store) for a in argv]) == 2
    err = capsys.readouterr().err
    assert f"argument {option}: out of range" in err, err


def test_the_largest_person_id_is_an_ordinary_one(loaded, capsys) -> None:
    store, _ = loaded
    assert main(["get", str(store), "--person-id", str(2**64 - 1)]) == 1
    assert "not found" in capsys.readouterr().err


def _wrong_check_digit(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


@pytest.mark.parametrize("command", ["get", "history"])
def test_a_mynumber_with_a_wrong_check_digit_is_a_usage_error(loaded, capsys, command) -> None:
    """It said "not found" (exit 1), though no store holds such a number: load and 個人番号変更
    refuse it. The message names the check digit and shows the number masked."""
    store, recs = loaded
    capsys.readouterr()
    typo = _wrong_check_digit(recs[3].mynumber)
    assert main([command, str(store), "--mynumber", typo]) == 2
    err = capsys.readouterr().err
    assert "--mynumber" in err and "check digit" in err and "*" * 8 + typo[-4:] in err
    assert typo not in err
    # A 住民票コード keeps its "not found": lenient loads store codes failing the assumed rule.
    assert main([command, str(store), "--code", _wrong_check_digit(recs[3].juminhyo_code)]) == 1
