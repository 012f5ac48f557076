"""``jukistore reconcile``: exit codes 0 (agree), 1 (differ), 2 (error); table, JSON, detail files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from jukistore.cli import main
from jukistore.reconcile import planted

SEED = 21


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, planted.Planted]:
    d = tmp_path_factory.mktemp("reconcile")
    base = planted.synthetic(200, SEED, gaiji=False)
    p = planted.plant(base, planted.Counts(different=3, only_left=1, conflict_across=1), seed=2, base_seed=SEED)
    lf, rf = p.write(d)
    same = planted.plant(base, planted.Counts(), seed=2, base_seed=SEED)
    sd = d / "same"
    sd.mkdir()
    _, same_right = same.write(sd)
    return Path(lf), Path(rf), Path(same_right), p


def test_agreeing_sides_exit_0(files: tuple[Path, Path, Path, planted.Planted], capsys: pytest.CaptureFixture[str]) -> None:
    lf, _, same, _ = files
    assert main(["reconcile", str(lf), str(same)]) == 0
    out, err = capsys.readouterr()
    assert "AGREE" in out
    assert "reading left" in err and "comparing" in err  # progress on stderr


def test_agreeing_sides_with_out_exit_0_and_write_an_empty_detail(files: tuple[Path, Path, Path, planted.Planted],
                                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No findings is the usual outcome: the detail files are written, with a header and no rows."""
    lf, _, same, _ = files
    out = tmp_path / "o"
    assert main(["reconcile", str(lf), str(same), "--quiet", "--json", "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["agree"] is True
    lines = (out / "detail.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and lines[0].startswith("class")
    assert (out / "detail.parquet").exists()


def test_differing_sides_exit_1_with_table_json_and_detail(files: tuple[Path, Path, Path, planted.Planted],
                                                            capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    lf, rf, _, p = files
    assert main(["reconcile", str(lf), str(rf), "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert "DIFFER" in out and err == ""
    numbers = {x.decode() for x in p.right["mynumber"]} | {x.decode() for x in p.left["mynumber"]}
    assert not any(m in out for m in numbers)
    assert main(["reconcile", str(lf), str(rf), "--json", "--quiet", "--out", str(tmp_path / "o")]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["counts"] == p.expected["counts"]
    assert (tmp_path / "o" / "summary.json").exists() and (tmp_path / "o" / "detail.csv").exists()
    assert (tmp_path / "o" / "detail.parquet").exists()
    detail = (tmp_path / "o" / "detail.csv").read_text(encoding="utf-8")
    assert any(m in detail for m in numbers)  # the detail names the number in conflict
    assert main(["reconcile", str(lf), str(rf), "--exact", "--quiet", "--lenient-juminhyo", "--samples", "0"]) == 1
    assert "lenient" in capsys.readouterr().out


@pytest.mark.parametrize("extra", [["--layout", "nosuch"], ["--encoding", "latin-1"]])
def test_errors_exit_2(files: tuple[Path, Path, Path, planted.Planted], capsys: pytest.CaptureFixture[str],
                       extra: list[str]) -> None:
    lf, rf, _, _ = files
    assert main(["reconcile", str(lf), str(rf), "--quiet", *extra]) == 2
    assert "jukistore:" in capsys.readouterr().err


def test_missing_side_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reconcile", str(tmp_path / "a.dat"), str(tmp_path / "b.dat")]) == 2
    assert "no such file" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["reconcile", str(empty), str(empty), "--quiet"]) == 2
    assert "store" in capsys.readouterr().err.lower()


def test_the_command_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "reconcile" in capsys.readouterr().out
    np.testing.assert_equal(main(["reconcile", "--help"]), 0)
