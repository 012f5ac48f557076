"""The demo runs end to end on a small ward and reports what it did."""

from __future__ import annotations

import io

from jukistore.cli import main
from jukistore.demo import Demo


def test_demo_on_a_small_ward(tmp_path) -> None:
    out = io.StringIO()
    steps = Demo(residents=3000, seed=5, directory=tmp_path / "demo", out=out).run()
    names = [s.name for s in steps]
    assert names == ["generate", "validate", "load", "read back", "search", "events", "reconcile", "provide",
                     "purge", "verify", "audit"]
    by = {s.name: s for s in steps}
    assert by["verify"].data["ok"] is True
    # Every event of the year was written, one 更新順番号 each, and the reconciliation against the
    # planted copy found exactly what was planted.
    assert by["events"].data["ok"] is True and sum(by["events"].data["events"].values()) > 0
    assert by["reconcile"].data["ok"] is True
    assert by["reconcile"].data["classes"]["different"] > 0
    # The prefecture got its 8 fields of everyone changed this year, and the logs verify.
    assert by["provide"].data["ok"] is True and by["provide"].data["provided"] > 0
    assert by["audit"].data["ok"] is True and by["audit"].data["entries"]["provision"] == 1
    # What was past retention is gone and proven gone (the byte scan found nothing); the person
    # under a legal hold stayed.
    assert by["purge"].data["ok"] is True and by["purge"].data["purged"]["persons"] > 0
    assert by["read back"].data["ok"] is True
    # Every generated number passes its check digit; counts add up to the ward.
    codes = by["validate"].data["codes"]
    assert codes[0] == sum(codes) and codes[0] == sum(by["generate"].data["population"].values())
    assert by["search"].data["hits"] >= 3
    text = out.getvalue()
    assert "consistent" in text and "report.html" in text
    html = (tmp_path / "demo" / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 3 and "Population by status" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no network


def test_demo_command(tmp_path, capsys) -> None:
    assert main(["demo", "--residents", "1500", "--dir", str(tmp_path / "d")]) == 0
    assert "== verify" in capsys.readouterr().out
