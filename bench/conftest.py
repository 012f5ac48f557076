"""pytest set-up for the benchmark suites in this folder.

Benchmark modules are named ``bench_*.py`` so that the test run (``testpaths = ["tests"]``) never
picks them up and so that each also reads as a script. This hook lets ``pytest bench`` collect
them; pytest-benchmark times only with ``--benchmark-enable`` (pyproject disables it by default,
which turns the suite into a quick check that every implementation agrees).
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Collect ``bench_*.py`` as test modules (files named on the command line are collected anyway)."""
    if file_path.suffix == ".py" and file_path.name.startswith("bench_") and not parent.session.isinitpath(file_path):
        return pytest.Module.from_parent(parent, path=file_path)
    return None
