"""pytest set-up for the benchmark suites in this folder, and the convention they all follow.

Benchmark modules are named ``bench_*.py`` so that the test run (``testpaths = ["tests"]``) never
picks them up and so that each also reads as a script. The collection hook below lets ``pytest
bench`` collect them; pytest-benchmark times only with ``--benchmark-enable`` (pyproject disables
it by default, which turns the suites into a quick check that every implementation agrees).

The convention: every benchmark goes through the ``measure`` fixture, which records

- ``benchmark.group``: the operation, ``"<suite>: <what>"`` (``"store: get by 住民票コード"``);
  jukistore and each anchor doing that operation share the group, so that the report can divide
  their rates measured in the same run;
- ``extra_info["impl"]``: ``"jukistore"`` (or ``"jukistore, <variant>"``) or the anchor's name;
- ``extra_info["items"]`` and ``extra_info["unit"]``: the work units one call does (numbers,
  persons, rows, lookups), so that a rate is ``items / time``; an anchor run on a subsample says
  so through its own ``items``;

and returns the result of the timed function, which the test must then check (a benchmark that
computes something else measures nothing). ``python -m bench`` turns the groups into the table
of rates and ratios and the charts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

import pytest


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Collect ``bench_*.py`` as test modules (files named on the command line are collected anyway)."""
    if file_path.suffix == ".py" and file_path.name.startswith("bench_") and not parent.session.isinitpath(file_path):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


class Measure(Protocol):
    """The signature of the ``measure`` fixture."""

    def __call__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        group: str,
        impl: str,
        items: int,
        unit: str,
        rounds: int = 3,
        setup: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]] | None = None,
        **kwargs: Any,
    ) -> Any: ...


@pytest.fixture
def measure(benchmark: Any) -> Measure:
    """Time ``fn(*args, **kwargs)`` under pytest-benchmark with the suite convention; return its result.

    ``rounds`` calls are timed, one call a round (the best round gives the rate: the least
    disturbed run on a shared machine). ``setup``, when given, runs untimed before each round and
    returns the ``(args, kwargs)`` of that round (for work that consumes its input, such as a
    load into an empty store); ``args`` and ``kwargs`` must then be empty. Without
    ``--benchmark-enable`` the function runs once and its result is still returned and checked.
    """

    def run(
        fn: Callable[..., Any],
        *args: Any,
        group: str,
        impl: str,
        items: int,
        unit: str,
        rounds: int = 3,
        setup: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]] | None = None,
        **kwargs: Any,
    ) -> Any:
        if items <= 0:
            raise ValueError(f"{group} / {impl}: a benchmark must do some work (items={items})")
        benchmark.group = group
        benchmark.extra_info.update(impl=impl, items=int(items), unit=unit)
        if setup is not None:
            if args or kwargs:
                raise TypeError("give either setup or arguments, not both")
            return benchmark.pedantic(fn, setup=setup, rounds=rounds, iterations=1)
        return benchmark.pedantic(fn, args=args, kwargs=kwargs, rounds=rounds, iterations=1)

    return run
