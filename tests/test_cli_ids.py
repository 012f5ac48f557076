"""``jukistore ids validate``: counts, line numbers, exit codes, line handling, no values printed.

The command splits files with numpy and checks them with ``explain_many``; these tests pin the
line rules (CRLF, final newline, blank lines, BOM, non-ASCII and NUL bytes) against the bulk API
applied to the same lines split by hand, and check that reports never carry a value. All numbers
are synthetic.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jukistore.cli import main
from jukistore.cli.ids import explain_lines
from jukistore.ids import MODULES, corporate, juminhyo, lgcode, mynumber

OK, LENGTH, FORMAT, CHECKSUM = 0, 1, 2, 3


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], kind: str, path: Path | str) -> tuple[int, dict[str, Any]]:
    code, out, err = run(capsys, "ids", "validate", "--kind", kind, "--json", str(path))
    assert err == ""
    return code, json.loads(out)


def text_numbers(module: Any, count: int, seed: int) -> list[str]:
    return [x.decode() for x in module.to_text(module.generate(count, seed=seed)).tolist()]


def broken(number: str) -> str:
    """The number with its last digit changed (a checksum error for every kind but 法人番号)."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


# ---- reports ----------------------------------------------------------------------------------


def test_all_valid_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ok.txt"
    path.write_text("\n".join(text_numbers(mynumber, 1000, 1)) + "\n")
    code, out, err = run(capsys, "ids", "validate", "--kind", "mynumber", str(path))
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "mynumber: 1000 checked, 1000 valid, 0 invalid"
    code, summary = run_json(capsys, "mynumber", path)
    assert code == 0
    assert summary == {
        "kind": "mynumber",
        "total": 1000,
        "valid": 1000,
        "invalid": 0,
        "by_reason": {"length": 0, "format": 0, "checksum": 0},
        "first_invalid_lines": [],
    }


def test_counts_reasons_and_first_invalid_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Invalid lines at known places: counts by reason and the first ten line numbers, 1-based."""
    lines = text_numbers(mynumber, 500, 2)
    bad = {3: "length", 10: "format", 11: "checksum", 57: "checksum", 58: "length", 120: "format", 121: "checksum"}
    bad |= {200 + k: "checksum" for k in range(10)}
    for line_no, reason in bad.items():
        i = line_no - 1
        lines[i] = {"length": lines[i][:-1], "format": lines[i][:5] + "x" + lines[i][6:], "checksum": broken(lines[i])}[reason]
    path = tmp_path / "mixed.txt"
    path.write_text("\n".join(lines) + "\n")
    code, summary = run_json(capsys, "mynumber", path)
    assert code == 1
    assert summary["total"] == 500
    assert summary["invalid"] == len(bad) and summary["valid"] == 500 - len(bad)
    assert summary["by_reason"] == {r: sum(v == r for v in bad.values()) for r in ("length", "format", "checksum")}
    assert summary["first_invalid_lines"] == sorted(bad)[:10]

    code, out, err = run(capsys, "ids", "validate", "--kind", "mynumber", str(path))
    assert code == 1 and err == ""
    assert "mynumber: 500 checked, 483 valid, 17 invalid" in out
    assert "  checksum  13" in out and "  length    2" in out and "  format    2" in out
    assert "first invalid lines: 3, 10, 11, 57, 58, 120, 121, 200, 201, 202 ..." in out
    for value in lines:  # neither valid nor invalid values are ever shown
        assert value not in out and value[:8] not in out

    code, out, _ = run(capsys, "ids", "validate", "--kind", "mynumber", "--first", "3", "--json", str(path))
    assert json.loads(out)["first_invalid_lines"] == [3, 10, 11]
    code, out, _ = run(capsys, "ids", "validate", "--kind", "mynumber", "--first", "0", str(path))
    assert code == 1 and "first invalid lines" not in out


@pytest.mark.parametrize(
    ("kind", "module", "good"),
    [
        ("juminhyo", juminhyo, None),
        ("lgcode", lgcode, "131075"),  # Sumida
        ("corporate", corporate, None),
    ],
)
def test_other_kinds(kind: str, module: Any, good: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = text_numbers(module, 20, 3) + ([good] if good else [])
    n = len(lines[0])
    wrong = "0" + lines[0][1:] if kind == "corporate" else broken(lines[0])  # 法人番号 check digits are 1-9
    lines += [wrong, lines[1][:-1], "x" * n]
    path = tmp_path / f"{kind}.txt"
    path.write_bytes(("\n".join(lines)).encode())  # no final newline
    code, summary = run_json(capsys, kind, path)
    total = len(lines)
    assert code == 1
    assert summary["total"] == total
    assert summary["first_invalid_lines"] == [total - 2, total - 1, total]
    assert summary["by_reason"] == {"length": 1, "format": 1, "checksum": 1}


def test_zairyu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Residence card numbers: form only, taken as written (lower case is a format error here)."""
    path = tmp_path / "zairyu.txt"
    path.write_text("AB12345678CD\nab12345678cd\nAB1234567CD\nAB123456789D\nZZ00000000ZZ\n")
    code, summary = run_json(capsys, "zairyu", path)
    assert code == 1
    assert (summary["valid"], summary["by_reason"]) == (2, {"length": 1, "format": 2, "checksum": 0})
    assert summary["first_invalid_lines"] == [2, 3, 4]


# ---- line handling ----------------------------------------------------------------------------

A, B = "123456789018", "987654321000"  # SPEC §2's published samples


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", []),
        (f"{A}".encode(), [OK]),
        (f"{A}\n".encode(), [OK]),
        (f"{A}\r\n{B}\r\n".encode(), [OK, OK]),
        (f"{A}\r\n{B}".encode(), [OK, OK]),
        (f"{A}\r".encode(), [OK]),
        (f"{A}\n\n{B}\n".encode(), [OK, LENGTH, OK]),
        (f"{A}\n\n".encode(), [OK, LENGTH]),
        (f"\n{A}\n".encode(), [LENGTH, OK]),
        (f"{A}\r\n\r\n{B}\r\n".encode(), [OK, LENGTH, OK]),
        (b"\n", [LENGTH]),
        (f"{A}\r\r\n".encode(), [LENGTH]),  # only one carriage return is a line ending
        (f"\xef\xbb\xbf{A}\n{B}\n".encode("latin-1"), [OK, OK]),  # byte-order mark
        (f" {A}\n{A} \n1234-5678-9018\n".encode(), [LENGTH, LENGTH, LENGTH]),
        (f"{A}\t\n".encode(), [LENGTH]),
        (f"{A[:-1]}x\n".encode(), [FORMAT]),
        ("１２３４５６７８９０１８\n１２３\n".encode(), [FORMAT, LENGTH]),  # characters, not bytes
        (f"{A}\x00\n{A[:-1]}\x00\n{A[:5]}\x00{A[6:]}\n".encode(), [LENGTH, FORMAT, FORMAT]),
        (b"\xff\xfe1234567890\n", [FORMAT]),  # undecodable bytes: 12 characters, not digits
        ((A + "0" * 50 + "\n").encode(), [LENGTH]),
        (f"{A}00\n{B}00\n".encode(), [LENGTH, LENGTH]),  # equal long lines: the strided copy cuts them
    ],
)
def test_line_rules(content: bytes, expected: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A final newline adds no value; interior blank lines are 'length'; CR, BOM, NUL, UTF-8."""
    assert explain_lines("mynumber", content).tolist() == expected
    path = tmp_path / "lines.txt"
    path.write_bytes(content)
    code, summary = run_json(capsys, "mynumber", path)
    assert summary["total"] == len(expected)
    assert summary["valid"] == expected.count(OK)
    assert code == (0 if all(c == OK for c in expected) else 1)


@pytest.mark.parametrize("kind", ["mynumber", "lgcode", "corporate", "zairyu"])
@pytest.mark.parametrize("shape", ["uniform", "uniform-crlf", "ragged"])
def test_large_files_match_the_bulk_api(kind: str, shape: str) -> None:
    """300,000 lines: the numpy line splitting gives the codes of explain_many on str lines."""
    rng = np.random.default_rng(len(kind) * 10 + len(shape))
    count = 300_000
    n = {"mynumber": 12, "lgcode": 6, "corporate": 13, "zairyu": 12}[kind]
    alphabet = np.frombuffer(b"0123456789" * 8 + b"ABZ x\x00\xe3", dtype=np.uint8)
    rows = alphabet[rng.integers(0, len(alphabet), size=(count, n))]
    # Plant valid values in a third of the rows.
    planted = rng.random(count) < 1 / 3
    if kind == "zairyu":
        rows[np.ix_(planted, [0, 1, 10, 11])] = ord("Q")
        rows[np.ix_(planted, range(2, 10))] = ord("7")
    else:
        module = MODULES[kind]
        valid = module.generate(min(int(planted.sum()), 50_000), seed=1)  # lgcode has only 100,000
        rows[planted] = module.to_text(np.resize(valid, int(planted.sum()))).view(np.uint8).reshape(-1, n)
    lines = [bytes(r) for r in rows.tolist()]
    if shape == "ragged":
        lines = [line[: int(k)] + (b"9" if k > n else b"") for line, k in zip(lines, rng.integers(0, n + 3, size=count))]
    sep = b"\r\n" if shape == "uniform-crlf" else b"\n"
    content = sep.join(lines) + sep
    expected = MODULES[kind].explain_many([line.decode("utf-8", "replace") for line in lines])
    codes = explain_lines(kind, content)
    assert np.array_equal(codes, expected)
    reasons = {OK, FORMAT} | ({LENGTH} if shape == "ragged" else set()) | ({CHECKSUM} if kind != "zairyu" else set())
    assert set(codes.tolist()) == reasons


# ---- input and usage errors -------------------------------------------------------------------


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    content = f"{A}\r\n{broken(A)}\r\n".encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(content)))
    code, out, err = run(capsys, "ids", "validate", "--kind", "mynumber", "--json", "-")
    assert (code, err) == (1, "")
    assert json.loads(out)["first_invalid_lines"] == [2]


def test_unreadable_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.txt"
    code, out, err = run(capsys, "ids", "validate", "--kind", "mynumber", str(missing))
    assert (code, out) == (2, "")
    assert "cannot read" in err and "missing.txt" in err and "No such file" in err
    code, out, err = run(capsys, "ids", "validate", "--kind", "mynumber", str(tmp_path))
    assert (code, out) == (2, "") and "cannot read" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["ids"],
        ["ids", "validate"],
        ["ids", "validate", "--kind", "mynumber"],
        ["ids", "validate", "--kind", "passport", "x.txt"],
        ["ids", "validate", "x.txt"],
        ["ids", "validate", "--kind", "mynumber", "--first", "-1", "x.txt"],
        ["ids", "check", "--kind", "mynumber", "x.txt"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and "usage:" in err


def test_help_documents_the_line_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ids", "validate", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "empty line anywhere else is a value, counted as invalid with reason 'length'" in text
    assert "final newline" in text or "ends the last line" in text
    assert "never prints the values" in text


def test_console_script(tmp_path: Path) -> None:
    """The installed ``jukistore`` entry point runs the same command in a fresh process."""
    script = shutil.which("jukistore", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if script is None:
        pytest.skip("the jukistore console script is not installed")
    path = tmp_path / "ids.txt"
    path.write_text(f"{A}\n{broken(A)}\n\n{B}\n")
    done = subprocess.run([script, "ids", "validate", "--kind", "mynumber", "--json", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert summary["first_invalid_lines"] == [2, 3]
    assert summary["by_reason"] == {"length": 1, "format": 0, "checksum": 1}
    assert A not in done.stdout + done.stderr


@pytest.mark.parametrize("module", ["jukistore", "jukistore.cli"])
def test_the_command_line_runs_as_a_module(module: str) -> None:
    """``python -m jukistore`` is what a user tries first when the script is not on the PATH."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", module, "ids", "validate", "--kind", "mynumber", "-"],
                       input="123456789018\n", capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "1 checked, 1 valid" in r.stdout, (r.returncode, r.stdout, r.stderr)
