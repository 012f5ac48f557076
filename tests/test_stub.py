"""The hand-written stub of the native module matches what the module really exports."""

import subprocess
import sys


def test_core_stub_matches_runtime() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "jukistore._core"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Success" in r.stdout


def test_package_type_checks() -> None:
    """The package's type hints hold together with the stub (mypy over every module)."""
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "python" / "jukistore"  # the sources, as committed
    r = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", str(package)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Success" in r.stdout
