"""My Number (個人番号) validation throughput: jukistore against python-stdnum, numpy and numba.

DESIGN.md asks that every performance claim be a ratio against a named anchor measured in the same
run. The anchors here are python-stdnum (``stdnum.jp.in_``, what users know), a plain numpy
version (as a numpy user would write it) and a numba version (``@njit(parallel=True)``, compiled
before timing). The targets: at least 1000x python-stdnum per number and 5x plain numpy, on both
input forms jukistore reads without copying: ``uint64`` integers and ``S12`` fixed-width bytes.

Every implementation must return the same boolean array (python-stdnum on its subsample) before
anything is timed: a benchmark that computes something else measures nothing.

Run it either way:

    python bench/bench_ids.py                 # all implementations once, in one process: a table
    python bench/bench_ids.py --profile       # also jukistore's rate by call size (serial/parallel)
    python -m bench --suite ids               # the pytest-benchmark suite, with the report

N is the size ``IDS_N`` of bench/sizes.py (10,000,000 at the default and full scales, 100,000 at
the smoke scale; ``JUKISTORE_BENCH_IDS_N`` overrides it). python-stdnum runs on a subsample of
20,000 values and its rate is per number. The data are synthetic
(``jukistore.ids.mynumber.generate``), with invalid values mixed in.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Callable

import numpy as np
import numpy.typing as npt
import pytest

# numba's OpenMP workers otherwise spin for a while after each parallel loop, and on a machine with
# few cores they would steal time from whatever is timed next. Sleeping workers cost numba itself
# only a wake-up per call.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from jukistore import _core
from jukistore.ids import mynumber
from sizes import size

N = size("IDS_N")
STDNUM_SAMPLE = 20_000
SEED = 20_240_601
FORMS = ("uint64", "S12")
#: Bytes each input form occupies per number, for the memory-bandwidth column.
BYTES_PER_NUMBER = {"uint64": 8, "S12": 12}

# SPEC §2: weights of the 11 base digits, for digits taken from the right (Q_n = n + 1 for n <= 6,
# n - 5 for n >= 7) and from the left.
WEIGHTS_FROM_RIGHT = np.array([n + 1 if n <= 6 else n - 5 for n in range(1, 12)], dtype=np.int64)
WEIGHTS_FROM_LEFT = WEIGHTS_FROM_RIGHT[::-1].copy()

Validator = Callable[[npt.NDArray[np.generic]], npt.NDArray[np.bool_]]


# ---- data -------------------------------------------------------------------------------------


def make_inputs(n: int, seed: int = SEED) -> dict[str, npt.NDArray[np.generic]]:
    """The same synthetic numbers in both forms, about 15% invalid.

    Every 7th has a wrong check digit; in uint64 every 1001st is over-wide (13 digits); in S12
    every 503rd has a letter and every 1009th is too short (NUL-padded).
    """
    values = mynumber.generate(n, seed=seed)
    wrong = values[::7]
    values[::7] = wrong - wrong % 10 + (wrong % 10 + 1) % 10
    text = mynumber.to_text(values)
    digits = text.view(np.uint8).reshape(-1, 12)
    digits[::503, 5] = ord("x")
    digits[::1009, 9:] = 0
    values[::1001] += np.uint64(10**12)
    return {"uint64": values, "S12": text}


def subsample(arr: npt.NDArray[Any], size: int = STDNUM_SAMPLE) -> npt.NDArray[Any]:
    """An evenly spaced subsample (keeps the share of invalid values)."""
    step = max(1, len(arr) // size)
    return arr[::step][:size].copy()


# ---- implementations --------------------------------------------------------------------------


def jukistore_valid(arr: npt.NDArray[np.generic]) -> npt.NDArray[np.bool_]:
    """The public bulk API: ``mynumber.is_valid_many`` (Rust, GIL released, all cores)."""
    return mynumber.is_valid_many(arr)


def stdnum_valid_uint64(arr: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """python-stdnum on integers: format each as 12 digits first, as its users must."""
    import stdnum.jp.in_

    return np.array([stdnum.jp.in_.is_valid(f"{v:012d}") for v in arr.tolist()], dtype=np.bool_)


def stdnum_valid_s12(arr: npt.NDArray[np.bytes_]) -> npt.NDArray[np.bool_]:
    """python-stdnum on bytes: decode each value first."""
    import stdnum.jp.in_

    return np.array([stdnum.jp.in_.is_valid(v.decode("latin-1")) for v in arr.tolist()], dtype=np.bool_)


def numpy_valid_uint64(v: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """Plain numpy on integers: peel off digits by integer division, weight them, reduce mod 11."""
    check = v % 10
    rest = v // 10
    s = np.zeros(len(v), dtype=np.uint64)
    for w in WEIGHTS_FROM_RIGHT.tolist():
        s += rest % 10 * w
        rest //= 10
    r = s % 11
    return (np.where(r <= 1, 0, 11 - r) == check) & (v < 10**12)


def numpy_valid_s12(a: npt.NDArray[np.bytes_]) -> npt.NDArray[np.bool_]:
    """Plain numpy on bytes: digits by byte arithmetic, a weighted sum column by column, mod 11.

    (A column loop in int32 is the quickest plain form here: ``digits @ weights`` on the whole
    matrix first widens it to the weights' integer type, which costs time and memory.)
    """
    d = a.view(np.uint8).reshape(-1, 12) - np.uint8(ord("0"))  # non-digits wrap above 9
    ok = (d <= 9).all(axis=1)
    s = np.zeros(len(a), dtype=np.int32)
    for k, w in enumerate(WEIGHTS_FROM_LEFT.tolist()):
        s += d[:, k] * np.int32(w)
    r = s % 11
    return ok & (np.where(r <= 1, 0, 11 - r) == d[:, 11])


def numba_validators() -> dict[str, Validator]:
    """Compiled ``@njit(parallel=True)`` loops, one per form, warmed up (compiled) on small input."""
    from numba import njit, prange

    weights_right = WEIGHTS_FROM_RIGHT
    weights_left = WEIGHTS_FROM_LEFT

    @njit(parallel=True, cache=False)
    def kernel_uint64(v: npt.NDArray[np.uint64], out: npt.NDArray[np.bool_]) -> None:
        for i in prange(v.shape[0]):
            x = v[i]
            if x >= 1_000_000_000_000:
                out[i] = False
                continue
            check = x % 10
            x //= 10
            s = 0
            for k in range(11):
                s += (x % 10) * weights_right[k]
                x //= 10
            r = s % 11
            out[i] = (0 if r <= 1 else 11 - r) == check

    @njit(parallel=True, cache=False)
    def kernel_s12(d: npt.NDArray[np.uint8], out: npt.NDArray[np.bool_]) -> None:
        for i in prange(d.shape[0]):
            ok = True
            s = 0
            for k in range(11):
                c = np.int64(d[i, k]) - 48
                ok &= bool((c >= 0) & (c <= 9))
                s += c * weights_left[k]
            c = np.int64(d[i, 11]) - 48
            ok &= bool((c >= 0) & (c <= 9))
            r = s % 11
            out[i] = ok and (0 if r <= 1 else 11 - r) == c

    def valid_uint64(v: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        out = np.empty(len(v), dtype=np.bool_)
        kernel_uint64(v, out)
        return out

    def valid_s12(a: npt.NDArray[np.bytes_]) -> npt.NDArray[np.bool_]:
        out = np.empty(len(a), dtype=np.bool_)
        kernel_s12(a.view(np.uint8).reshape(-1, 12), out)
        return out

    warm = make_inputs(1000, seed=1)
    valid_uint64(warm["uint64"])  # type: ignore[arg-type]
    valid_s12(warm["S12"])  # type: ignore[arg-type]
    return {"uint64": valid_uint64, "S12": valid_s12}  # type: ignore[dict-item]


def implementations() -> dict[str, dict[str, Validator]]:
    """Name -> form -> function returning the validity of every input value."""
    return {
        "python-stdnum": {"uint64": stdnum_valid_uint64, "S12": stdnum_valid_s12},  # type: ignore[dict-item]
        "numpy": {"uint64": numpy_valid_uint64, "S12": numpy_valid_s12},  # type: ignore[dict-item]
        "numba": numba_validators(),
        "jukistore": {"uint64": jukistore_valid, "S12": jukistore_valid},
    }


def check_agreement(impls: dict[str, dict[str, Validator]], inputs: dict[str, npt.NDArray[np.generic]]) -> dict[str, npt.NDArray[np.bool_]]:
    """Run every implementation once and assert they all give the same answer; return it.

    python-stdnum is compared on its subsample. Also checks the invalid values really are there.
    """
    expected = {form: jukistore_valid(arr) for form, arr in inputs.items()}
    for form, arr in inputs.items():
        share = 1 - expected[form].mean()
        assert 0.10 < share < 0.25, f"{form}: {share:.1%} invalid"
        for name, forms in impls.items():
            if name == "python-stdnum":
                got, want = forms[form](subsample(arr)), subsample(expected[form])
            else:
                got, want = forms[form](arr), expected[form]
            assert got.dtype == np.bool_ and np.array_equal(got, want), f"{name} disagrees on {form}"
    return expected


# ---- timing -----------------------------------------------------------------------------------


def best_time(fn: Callable[[npt.NDArray[np.generic]], object], arg: npt.NDArray[np.generic], repeats: int) -> float:
    """Best wall time of ``repeats`` calls (perf_counter): the least disturbed run."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - start)
    return best


def copy_bandwidth(arr: npt.NDArray[np.generic], repeats: int = 5) -> float:
    """Bytes per second moved (read + write) by copying ``arr``: a memory-bandwidth yardstick."""
    dst = np.empty_like(arr)
    return 2 * arr.nbytes / best_time(lambda a: np.copyto(dst, a), arr, repeats)


def measure(n: int, repeats: int = 7) -> list[dict[str, object]]:
    """Rates of every implementation on every form, after checking they agree.

    The repeats are interleaved (each round times every implementation once) and the best round
    counts, so a slow spell of a shared machine does not land on one implementation only.
    """
    inputs = make_inputs(n)
    impls = implementations()
    check_agreement(impls, inputs)
    rows: list[dict[str, object]] = []
    for form, arr in inputs.items():
        data = {name: subsample(arr) if name == "python-stdnum" else arr for name in impls}
        best = dict.fromkeys(impls, float("inf"))
        for _ in range(repeats):
            for name, forms in impls.items():
                best[name] = min(best[name], best_time(forms[form], data[name], 1))
        for name in impls:
            rows.append({"impl": name, "form": form, "numbers": len(data[name]), "seconds": best[name], "rate": len(data[name]) / best[name]})
    return rows


def format_table(rows: list[dict[str, object]], n: int, bandwidth: float) -> str:
    """A plain-text table with ratios against python-stdnum and numpy of the same input form."""
    rate = {(r["impl"], r["form"]): float(r["rate"]) for r in rows}  # type: ignore[arg-type]
    lines = [
        f"My Number validation, N = {n:,} ({os.cpu_count()} CPUs, jukistore {_core.__version__}, "
        f"python-stdnum on {STDNUM_SAMPLE:,}-value subsample)",
        "",
        f"{'implementation':<15} {'input':<7} {'numbers/s':>14} {'x stdnum':>10} {'x numpy':>9} {'input GB/s':>11}",
    ]
    for r in rows:
        impl, form = str(r["impl"]), str(r["form"])
        this = rate[(impl, form)]
        gbs = this * BYTES_PER_NUMBER[form] / 1e9
        lines.append(
            f"{impl:<15} {form:<7} {this:>14,.0f} {this / rate[('python-stdnum', form)]:>10,.1f} "
            f"{this / rate[('numpy', form)]:>9,.2f} {gbs:>11.2f}"
        )
    lines += [
        "",
        f"Memory bound: a number is {BYTES_PER_NUMBER['S12']} bytes as S12 and {BYTES_PER_NUMBER['uint64']} as uint64; "
        f"input GB/s = rate x bytes.",
        f"Copying the S12 array moves {bandwidth / 1e9:.1f} GB/s (read + write), so reading alone allows about "
        f"{bandwidth / 2 / BYTES_PER_NUMBER['S12'] / 1e6:,.0f} M numbers/s as S12 and "
        f"{bandwidth / 2 / BYTES_PER_NUMBER['uint64'] / 1e6:,.0f} M/s as uint64.",
    ]
    for form in FORMS:
        ours = rate[("jukistore", form)]
        vs_stdnum, vs_numpy = ours / rate[("python-stdnum", form)], ours / rate[("numpy", form)]
        verdict = "meets" if vs_stdnum >= 1000 and vs_numpy >= 5 else "MISSES"
        lines.append(f"{form}: jukistore {verdict} the targets (>= 1000x stdnum: {vs_stdnum:,.0f}x; >= 5x numpy: {vs_numpy:.1f}x)")
    return "\n".join(lines)


def profile(n: int) -> str:
    """jukistore's per-number cost by call size: below PARALLEL_MIN one thread, above it all cores.

    Shows how much of the time is per-value work (serial ns/number) and how well the split
    across threads scales, and what the reason-code pass of ``is_valid_many`` adds.
    """
    inputs = make_inputs(n)
    lines = [f"jukistore ns/number by call size (PARALLEL_MIN = {_core.PARALLEL_MIN:,})", f"{'size':>12} {'uint64':>8} {'S12':>8}"]
    sizes = [1 << 12, 1 << 14, _core.PARALLEL_MIN - 1, _core.PARALLEL_MIN, 1 << 18, 1 << 20, n]
    for size in sorted({s for s in sizes if s <= n}):
        cells = []
        for form in FORMS:
            arr = inputs[form]
            calls = max(1, min(len(arr) // size, 64))
            pieces = [arr[i * size : (i + 1) * size] for i in range(calls)]
            best = min(_timed_calls(mynumber.explain_many, pieces) for _ in range(5))
            cells.append(f"{best / (calls * size) * 1e9:8.2f}")
        lines.append(f"{size:>12,} {' '.join(cells)}")
    for form in FORMS:
        arr = inputs[form]
        t_explain = best_time(mynumber.explain_many, arr, 5)
        t_valid = best_time(mynumber.is_valid_many, arr, 5)
        lines.append(f"{form}: explain_many {t_explain / len(arr) * 1e9:.2f} ns/number, is_valid_many {t_valid / len(arr) * 1e9:.2f}")
    return "\n".join(lines)


def _timed_calls(fn: Callable[[npt.NDArray[np.generic]], object], pieces: list[npt.NDArray[np.generic]]) -> float:
    start = time.perf_counter()
    for p in pieces:
        fn(p)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Measure all implementations once in this process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=N, help="numbers to validate (default: the size IDS_N, see bench/sizes.py)")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds over all implementations; the best counts")
    parser.add_argument("--profile", action="store_true", help="also time jukistore by call size")
    args = parser.parse_args(argv)
    rows = measure(args.n, args.repeats)
    print(format_table(rows, args.n, copy_bandwidth(make_inputs(min(args.n, 10_000_000))["S12"])))
    if args.profile:
        print()
        print(profile(args.n))
    return 0


# ---- pytest-benchmark suite -------------------------------------------------------------------

IMPLS = ("python-stdnum", "numpy", "numba", "jukistore")


@pytest.fixture(scope="module")
def inputs() -> dict[str, npt.NDArray[np.generic]]:
    """The N synthetic numbers in both input forms."""
    return make_inputs(N)


@pytest.fixture(scope="module")
def impls() -> dict[str, dict[str, Validator]]:
    """Every implementation, numba compiled."""
    return implementations()


@pytest.fixture(scope="module")
def expected(impls: dict[str, dict[str, Validator]], inputs: dict[str, npt.NDArray[np.generic]]) -> dict[str, npt.NDArray[np.bool_]]:
    """The answer, after checking every implementation gives it."""
    return check_agreement(impls, inputs)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("impl", IMPLS)
def test_mynumber_validation(
    measure: Any,
    impl: str,
    form: str,
    impls: dict[str, dict[str, Validator]],
    inputs: dict[str, npt.NDArray[np.generic]],
    expected: dict[str, npt.NDArray[np.bool_]],
) -> None:
    """Validity of every number, one implementation and input form; the timed result is checked."""
    data, want = inputs[form], expected[form]
    if impl == "python-stdnum":
        data, want = subsample(data), subsample(want)
    rounds = 3 if impl in ("python-stdnum", "numpy") else 10
    got = measure(impls[impl][form], data, group=f"ids: 個人番号 check digits, {form}", impl=impl,
                  items=len(data), unit="numbers", rounds=rounds)
    assert got.dtype == np.bool_ and np.array_equal(got, want), f"{impl} disagrees on {form}"


if __name__ == "__main__":
    sys.exit(main())
