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
