"""Property: for any set of planted differences, the report equals what was planted, exactly.

Counts, differences per field and the very findings (keys, fields, sides, numbers) are compared,
for sides in memory (every kind of difference) and for files (fixed-width in UTF-8 and cp932, and
CSV, with malformed lines) in both comparison modes.
"""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jukistore.reconcile import planted, reconcile

SEED = 5
small = st.integers(0, 5)


@pytest.fixture(scope="module")
def base() -> dict[str, np.ndarray]:
    return planted.synthetic(300, SEED, gaiji=False)


def counts(*, superseded: bool = True) -> st.SearchStrategy[planted.Counts]:
    sup = small if superseded else st.just(0)
    return st.builds(planted.Counts, different=st.integers(0, 12), only_left=small, only_right=small,
                     duplicate_left=small, duplicate_right=small, invalid_left=small, invalid_right=small,
                     superseded_left=sup, superseded_right=sup, conflict_across=small, conflict_both=small,
                     invalid_mynumber_right=small)


def check(result, p: planted.Planted) -> None:  # type: ignore[no-untyped-def]
    assert result.summary["counts"] == p.expected["counts"]
    assert result.summary["fields"] == p.expected["fields"]
    assert planted.findings(result) == p.expected["findings"]
    nothing = p.expected["counts"]["pairs"] == p.expected["counts"]["same"] and not any(
        v for k, v in p.expected["findings"].items() if k != "invalid_mynumber")
    assert result.agree == nothing


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(c=counts(), seed=st.integers(0, 2**20), exact=st.booleans())
def test_planted_in_memory(base: dict[str, np.ndarray], c: planted.Counts, seed: int, exact: bool) -> None:
    p = planted.plant(base, c, seed=seed, base_seed=SEED)
    check(reconcile(*p.sides(), exact=exact), p)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(c=counts(superseded=False), seed=st.integers(0, 2**20), form=st.sampled_from(["utf-8", "cp932", "csv"]),
       bad_lines=st.integers(0, 3), exact=st.booleans())
def test_planted_in_files(base: dict[str, np.ndarray], c: planted.Counts, seed: int, form: str, bad_lines: int,
                          exact: bool) -> None:
    p = planted.plant(base, c, seed=seed, base_seed=SEED)
    with tempfile.TemporaryDirectory() as d:
        csv = form == "csv"
        enc = "utf-8" if csv else form
        lf, rf = p.write(d, encoding=enc, csv=csv, bad_lines_right=0 if csv else bad_lines)
        check(reconcile(lf, rf, encoding=enc, exact=exact), p)


def test_plant_refuses_more_changes_than_rows(base: dict[str, np.ndarray]) -> None:
    with pytest.raises(ValueError):
        planted.plant(base, planted.Counts(different=400))
    with pytest.raises(ValueError):
        planted.plant(base, planted.Counts(superseded_left=1)).write(tempfile.gettempdir())


def test_synthetic_sides_are_valid_and_deterministic() -> None:
    from jukistore import ids

    a, b = planted.synthetic(1000, 3), planted.synthetic(1000, 3)
    assert all((a[f] == b[f]).all() for f in a)
    assert ids.juminhyo.is_valid_many(a["juminhyo_code"]).all()
    assert ids.mynumber.is_valid_many(a["mynumber"]).all()
    assert len(set(a["juminhyo_code"].tolist())) == 1000


def test_a_synthetic_side_of_no_rows_reconciles_with_one() -> None:
    empty, one = planted.synthetic(0, 3), planted.synthetic(1, 3)
    assert all(len(v) == 0 for v in empty.values())
    r = reconcile(empty, one)
    assert r.summary["counts"]["left_rows"] == 0 and r.summary["counts"]["only_right"] == 1
