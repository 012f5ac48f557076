"""Vectorised identifier API: every input form, both sides of the parallel threshold.

``explain_many`` and ``is_valid_many`` take numpy integer arrays, fixed-width ``S`` and ``U``
arrays and lists. Each form is compared with a numpy reference model of SPEC §2 written here
(digit matrices and weight vectors, sharing nothing with the Rust chunk tables), and with the scalar
API element by element. Sizes below and above ``jukistore._core.PARALLEL_MIN`` run the serial and
the multi-threaded kernels. All numbers are synthetic.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jukistore import _core
from jukistore.ids import MODULES, REASONS, zairyu

OK, LENGTH, FORMAT, CHECKSUM = 0, 1, 2, 3
KINDS = ("mynumber", "juminhyo", "lgcode", "corporate")
LENGTHS = {"mynumber": 12, "juminhyo": 11, "lgcode": 6, "corporate": 13}
PARALLEL_MIN: int = _core.PARALLEL_MIN
POW10 = np.array([10**k for k in range(20)], dtype=np.uint64)

BATCH = settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SIZES = {
    "below": st.one_of(st.sampled_from([0, 1, 2, PARALLEL_MIN - 1]), st.integers(0, PARALLEL_MIN - 1)),
    "above": st.one_of(st.sampled_from([PARALLEL_MIN, PARALLEL_MIN + 1]), st.integers(PARALLEL_MIN, PARALLEL_MIN + 50_000)),
}


# ---- reference model: SPEC §2 as weight vectors over digit matrices ----------------------------


def weights(kind: str) -> npt.NDArray[np.int64]:
    """Weights of the base digits, left to right, from the Q_n of SPEC §2 (n counted from the right)."""
    m = LENGTHS[kind] - 1
    ns = range(m, 0, -1)
    if kind in ("mynumber", "juminhyo"):
        w = [n + 1 if n <= 6 else n - 5 for n in ns]
    elif kind == "lgcode":
        w = [6, 5, 4, 3, 2]
    else:
        w = [1 if n % 2 else 2 for n in ns]
    return np.array(w, dtype=np.int64)


def ref_check_digits(kind: str, base: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Check digits for rows of base digits (one row per number, most significant first)."""
    s = base @ weights(kind)
    if kind in ("mynumber", "juminhyo"):
        r = s % 11
        return np.where(r <= 1, 0, 11 - r)
    if kind == "lgcode":
        return (11 - s % 11) % 10
    return 9 - s % 9


def ref_valid_digits(kind: str, digits: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Rows of all n digits: does the check digit (last, or first for 法人番号) match?"""
    if kind == "corporate":
        return ref_check_digits(kind, digits[:, 1:]) == digits[:, 0]
    return ref_check_digits(kind, digits[:, :-1]) == digits[:, -1]


def ref_codes_ints(kind: str, values: npt.NDArray[np.integer]) -> npt.NDArray[np.uint8]:
    """Integers: negative is format, more than n digits is length, else the check digit decides."""
    n = LENGTHS[kind]
    neg = values < 0
    u = np.where(neg, 0, values).astype(np.uint64)
    digits = ((u[:, None] // POW10[n - 1 :: -1][None, :]) % np.uint64(10)).astype(np.int64)
    codes = np.where(ref_valid_digits(kind, digits), OK, CHECKSUM).astype(np.uint8)
    codes[u >= POW10[n]] = LENGTH
    codes[neg] = FORMAT
    return codes


def ref_codes_units(kind: str, units: npt.NDArray[np.integer]) -> npt.NDArray[np.uint8]:
    """Fixed-width fields of code units (N, W); zero units at the end are padding, as numpy pads."""
    n = LENGTHS[kind]
    count, width = units.shape
    nonzero = units != 0
    length = np.where(nonzero.any(axis=1), width - np.argmax(nonzero[:, ::-1], axis=1), 0)
    codes = np.full(count, LENGTH, dtype=np.uint8)
    if width < n:
        return codes
    head = units[:, :n].astype(np.int64) - ord("0")
    all_digits = ((head >= 0) & (head <= 9)).all(axis=1)
    right = length == n
    codes[right & ~all_digits] = FORMAT
    good = right & all_digits
    codes[good] = np.where(ref_valid_digits(kind, head[good]), OK, CHECKSUM)
    return codes


def ref_code_text(kind: str, value: object) -> int:
    """A list item, taken as it is: anything but str is a format error; a NUL is a character."""
    if not isinstance(value, str):
        return FORMAT
    if len(value) != LENGTHS[kind]:
        return LENGTH
    if any(c not in "0123456789" for c in value):
        return FORMAT
    digits = np.array([[int(c) for c in value]], dtype=np.int64)
    return OK if ref_valid_digits(kind, digits)[0] else CHECKSUM


def ref_join(kind: str, bases: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Full numbers from integer bases."""
    n = LENGTHS[kind]
    digits = ((bases[:, None] // POW10[n - 2 :: -1][None, :]) % np.uint64(10)).astype(np.int64)
    check = ref_check_digits(kind, digits).astype(np.uint64)
    if kind == "corporate":
        return check * POW10[12] + bases
    return bases * np.uint64(10) + check


# ---- test data --------------------------------------------------------------------------------


def make_ints(kind: str, rng: np.random.Generator, size: int) -> npt.NDArray[np.uint64]:
    """Valid numbers (many with leading zeros), random n-digit values, over-wide values, edges."""
    n = LENGTHS[kind]
    widths = rng.integers(1, n, size=size).astype(np.uint64)
    bases = rng.integers(0, 10 ** (n - 1), size=size, dtype=np.uint64) % POW10[widths]
    values = ref_join(kind, bases)
    pick = rng.random(size)
    values = np.where(pick < 0.3, rng.integers(0, 10**n, size=size, dtype=np.uint64), values)
    values = np.where(pick > 0.95, rng.integers(10**n, 2**64 - 1, size=size, dtype=np.uint64, endpoint=True), values)
    edges = np.array([0, 10**n - 1, 10**n, 2**64 - 1, ref_join(kind, np.zeros(1, np.uint64))[0]], dtype=np.uint64)
    values[: min(size, len(edges))] = edges[: min(size, len(edges))]
    return values


def as_text(values: npt.NDArray[np.uint64], n: int) -> list[str]:
    """Zero-padded decimal text of each value (over-wide values keep all their digits)."""
    return [f"{v:0{n}d}" for v in values.tolist()]


def assert_scalar_agrees(module: ModuleType, items: list[object], codes: npt.NDArray[np.uint8], rng: np.random.Generator) -> None:
    """The scalar ``explain`` / ``is_valid`` of sampled elements equal the bulk codes there."""
    for i in rng.choice(len(items), size=min(len(items), 300), replace=False).tolist():
        assert module.explain(items[i]) == REASONS[codes[i]], i
        assert module.is_valid(items[i]) is bool(codes[i] == OK)


# ---- every input form -------------------------------------------------------------------------


@pytest.mark.parametrize("side", sorted(SIZES))
@pytest.mark.parametrize("kind", KINDS)
@BATCH
@given(data=st.data())
def test_every_form_matches_the_model_and_the_scalar_api(kind: str, side: str, data: st.DataObject) -> None:
    """uint64, int64 (with negatives), S and U (exact and NUL-padded), lists and object arrays.

    All give the model's codes, element for element, and sampled elements give the same answer
    through the scalar API (integers as int, S elements decoded, U and list items as they are).
    """
    module, n = MODULES[kind], LENGTHS[kind]
    size = data.draw(SIZES[side], label="size")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    u64 = make_ints(kind, rng, size)
    expected = ref_codes_ints(kind, u64)

    codes = module.explain_many(u64)
    assert codes.dtype == np.uint8 and codes.shape == (size,)
    assert np.array_equal(codes, expected)
    assert np.array_equal(module.is_valid_many(u64), expected == OK)
    assert_scalar_agrees(module, [int(v) for v in u64.tolist()], expected, rng)

    # int64: over-wide values folded into range, a fifth made negative.
    i64 = (u64 % np.uint64(2**63)).astype(np.int64)
    i64 = np.where(rng.random(size) < 0.2, -i64 - 1, i64)
    i64_codes = module.explain_many(i64)
    assert np.array_equal(i64_codes, ref_codes_ints(kind, i64))
    assert (i64_codes[i64 < 0] == FORMAT).all()
    assert_scalar_agrees(module, i64.tolist(), i64_codes, rng)

    # Text: exact width (longer values cut by numpy), and wider with NUL padding.
    text = as_text(u64, n)
    s20 = np.array(text, dtype="S20")
    units = s20.view(np.uint8).reshape(size, 20)
    assert np.array_equal(ref_codes_units(kind, units), expected)
    for width in (n, n + 3, 20):
        cut = ref_codes_units(kind, units[:, :width])
        for arr in (np.array(text, dtype=f"S{width}"), np.array(text, dtype=f"U{width}")):
            assert np.array_equal(module.explain_many(arr), cut)
            assert np.array_equal(module.is_valid_many(arr), cut == OK)
    for items in (text, tuple(text), np.array(text, dtype=object)):
        assert np.array_equal(module.explain_many(items), expected)
    assert_scalar_agrees(module, [b.decode("ascii") for b in s20.tolist()], expected, rng)
    assert_scalar_agrees(module, list(np.array(text, dtype="U20")), expected, rng)
    assert_scalar_agrees(module, list(text), expected, rng)
    assert all(ref_code_text(kind, text[i]) == expected[i] for i in rng.choice(size, size=min(size, 300), replace=False))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [PARALLEL_MIN - 1, PARALLEL_MIN, PARALLEL_MIN + 1, 3 * PARALLEL_MIN + 7])
def test_threshold_and_chunk_boundaries(kind: str, size: int) -> None:
    """Invalid values placed on every power-of-two boundary land on the right index in every form."""
    module, n = MODULES[kind], LENGTHS[kind]
    values = ref_join(kind, np.random.default_rng(size).integers(0, 10 ** (n - 1), size=size, dtype=np.uint64))
    marks = sorted({0, size - 1} | {b + d for b in (2**k for k in range(10, 20)) for d in (-1, 0, 1) if 0 <= b + d < size})
    values[marks] += np.uint64(1) if kind != "corporate" else POW10[12]  # corporate: bump the check digit
    values[marks] %= POW10[n]
    expected = ref_codes_ints(kind, values)
    assert set(np.flatnonzero(expected != OK).tolist()) <= set(marks)
    for form in (values, values.astype(np.int64), module.to_text(values), module.to_text(values).astype(f"U{n}")):
        assert np.array_equal(module.explain_many(form), expected)


# ---- arbitrary code units ---------------------------------------------------------------------

BYTE_ALPHABET = np.frombuffer(b"0123456789" * 6 + b"\x00\x00\x00a -\xff\x80\t/", dtype=np.uint8)
UCS4_ALPHABET = np.array(
    [ord(c) for c in "0123456789" * 6 + "\x00\x00\x00a -\u3000０９あ😀\ud800\t"], dtype=np.uint32
)


def random_fields(kind: str, alphabet: npt.NDArray[np.integer], rng: np.random.Generator, count: int, width: int) -> npt.NDArray[np.integer]:
    """Rows of random units, with shorter rows NUL-padded and some valid numbers planted."""
    n = LENGTHS[kind]
    rows = alphabet[rng.integers(0, len(alphabet), size=(count, width))]
    lengths = rng.integers(0, width + 1, size=count)
    rows[np.arange(width)[None, :] >= lengths[:, None]] = 0
    planted = rng.random(count) < 0.4
    if width >= n and planted.any():
        numbers = ref_join(kind, rng.integers(0, 10 ** (n - 1), size=int(planted.sum()), dtype=np.uint64))
        digits = np.array([list(f"{v:0{n}d}".encode()) for v in numbers.tolist()])
        # A quarter of the planted numbers get a wrong check digit.
        check = 0 if kind == "corporate" else n - 1
        wrong = rng.random(len(digits)) < 0.25
        digits[wrong, check] = ord("0") + (digits[wrong, check] - ord("0") + rng.integers(1, 10, size=int(wrong.sum()))) % 10
        rows[planted, :n] = digits
        rows[planted, n:] = 0
    return rows


@pytest.mark.parametrize("kind", KINDS)
@BATCH
@given(seed=st.integers(0, 2**32 - 1), extra=st.sampled_from([-1, 0, 1, 5]), big=st.booleans())
def test_fixed_width_fields_with_arbitrary_units(kind: str, seed: int, extra: int, big: bool) -> None:
    """Random bytes and code points, NUL padding, embedded and leading NULs, non-ASCII digits.

    Trailing NULs are padding; any other non-digit is a format error when the length is right.
    Full-width digits, separators and whitespace are never valid in the bulk API.
    """
    module, n = MODULES[kind], LENGTHS[kind]
    rng = np.random.default_rng(seed)
    count = PARALLEL_MIN + 999 if big else 5_000
    width = n + extra
    for alphabet, dtype in ((BYTE_ALPHABET, f"S{width}"), (UCS4_ALPHABET, f"U{width}")):
        rows = random_fields(kind, alphabet, rng, count, width)
        arr = np.ascontiguousarray(rows.astype(alphabet.dtype)).view(dtype).reshape(-1)
        expected = ref_codes_units(kind, rows)
        codes = module.explain_many(arr)
        assert np.array_equal(codes, expected)
        assert set(expected.tolist()) == ({OK, LENGTH, FORMAT, CHECKSUM} if extra >= 0 else {LENGTH})
        # No row with a unit outside ASCII digits before its padding is ever valid.
        odd = ((rows != 0) & ((rows < ord("0")) | (rows > ord("9")))).any(axis=1)
        assert not (codes[odd] == OK).any()
        # The scalar API agrees on elements that compacting leaves unchanged.
        items = arr.tolist()
        for i in rng.choice(count, size=300, replace=False).tolist():
            item = items[i].decode("latin-1") if isinstance(items[i], bytes) else items[i]
            if module.compact(item) == item:
                assert module.explain(item) == REASONS[codes[i]], (i, item)


def test_embedded_leading_and_trailing_nul() -> None:
    """A NUL is padding only at the end of a fixed-width field; in a str it is a character."""
    from jukistore.ids import mynumber

    s = np.array([b"123456789018", b"12345\x00789018", b"\x00123456789018", b"", b"\x00" * 12], dtype="S14")
    assert mynumber.explain_many(s).tolist() == [OK, FORMAT, LENGTH, LENGTH, LENGTH]
    u = np.array(["123456789018", "12345\x00789018", "\x00123456789018", ""], dtype="U14")
    assert mynumber.explain_many(u).tolist() == [OK, FORMAT, LENGTH, LENGTH]
    assert mynumber.explain_many(["123456789018\x00", "12345678901\x00", "\x00" * 12]).tolist() == [LENGTH, FORMAT, FORMAT]
    # numpy itself drops trailing NULs from S and U elements, so the scalar API sees the same value.
    assert [mynumber.explain(x.decode()) for x in s.tolist()] == [REASONS[c] for c in mynumber.explain_many(s)]


# ---- lists of mixed objects -------------------------------------------------------------------


def test_lists_take_items_as_they_are() -> None:
    """Non-str items are format errors; str items are not compacted (unlike the scalar API)."""
    from jukistore.ids import mynumber

    items: list[object] = [
        "123456789018",
        None,
        b"123456789018",
        bytearray(b"123456789018"),
        123456789018.0,
        "１２３４５６７８９０１８",
        "1234 5678 9018",
        "1234-5678-9018",
        " 123456789018",
        "123456789018\n",
        "",
        "\t",
        "12345678901a",
        "123456789019",
        "12345678901",
    ]
    expected = [OK, FORMAT, FORMAT, FORMAT, FORMAT, FORMAT, LENGTH, LENGTH, LENGTH, LENGTH, LENGTH, LENGTH, FORMAT, CHECKSUM, LENGTH]
    assert mynumber.explain_many(items).tolist() == expected
    assert [ref_code_text("mynumber", x) for x in items] == expected
    assert mynumber.is_valid_many(items).tolist() == [c == OK for c in expected]
    # The scalar API compacts: full-width digits and separators are accepted there.
    assert [mynumber.is_valid(x) for x in items[5:10]] == [True] * 5
    # A long list (no parallel path for lists, but the same answers).
    big = items * (PARALLEL_MIN // len(items) + 2)
    assert mynumber.explain_many(big).tolist() == expected * (PARALLEL_MIN // len(items) + 2)


def test_lists_of_ints_agree_with_int_arrays() -> None:
    from jukistore.ids import mynumber

    values = mynumber.generate(10, seed=4)
    assert np.array_equal(mynumber.explain_many(values.tolist()), mynumber.explain_many(values))


def test_lone_surrogates_in_lists_are_checked_for_length_first() -> None:
    from jukistore.ids import mynumber

    assert mynumber.explain_many(["\ud800", "1234567890\ud8001"]).tolist() == [LENGTH, FORMAT]
    assert [mynumber.explain(x) for x in ("\ud800", "1234567890\ud8001")] == ["length", "format"]


# ---- memory layouts and dtypes ----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_layouts_and_dtypes(kind: str) -> None:
    """Strided, reversed and byte-swapped arrays and narrow integer types give the same codes."""
    module, n = MODULES[kind], LENGTHS[kind]
    rng = np.random.default_rng(7)
    values = make_ints(kind, rng, 10_000)
    expected = ref_codes_ints(kind, values)
    text = np.array(as_text(values, n), dtype="S20")
    forms = {
        "strided": (values[::3], expected[::3]),
        "reversed": (values[::-1], expected[::-1]),
        ">u8": (values.astype(">u8"), expected),
        ">i8": (values.astype(">i8"), ref_codes_ints(kind, values.astype(np.int64))),
        "S strided": (text[1::2], expected[1::2]),
        "U reversed": (text.astype("U20")[::-1], expected[::-1]),
        ">U20": (text.astype(">U20"), expected),
        "S column": (np.stack([text, text], axis=1)[:, 1], expected),
    }
    for small in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32):
        info = np.iinfo(small)
        v = rng.integers(info.min, info.max, size=2_000, endpoint=True).astype(small)
        forms[np.dtype(small).name] = (v, ref_codes_ints(kind, v))
    for name, (arr, want) in forms.items():
        assert np.array_equal(module.explain_many(arr), want), name


@pytest.mark.parametrize("kind", KINDS)
def test_empty_inputs(kind: str) -> None:
    module = MODULES[kind]
    for empty in ([], (), np.array([], dtype=np.uint64), np.array([], dtype=np.int64), np.array([], dtype="S12"), np.array([], dtype="U12")):
        codes = module.explain_many(empty)
        assert codes.dtype == np.uint8 and codes.shape == (0,)
        assert module.is_valid_many(empty).dtype == np.bool_


BAD_CONTAINERS: list[tuple[object, type[Exception]]] = [
    (np.zeros((2, 2), dtype=np.uint64), ValueError),
    (np.array([b"123456789018"] * 4, dtype="S12").reshape(2, 2), ValueError),
    (np.array(123456789018, dtype=np.uint64), ValueError),
    (np.array([1.0, 2.0]), TypeError),
    (np.array([123456789018.0]), TypeError),
    (np.array([True]), TypeError),
    (np.array([1 + 2j]), TypeError),
    (np.array(["2024-01-01"], dtype="datetime64[D]"), TypeError),
    ({"123456789018"}, TypeError),
    ("123456789018", TypeError),
    (b"123456789018", TypeError),
    (123456789018, TypeError),
    (None, TypeError),
    (iter(["123456789018"]), TypeError),
]


@pytest.mark.parametrize(("values", "error"), BAD_CONTAINERS, ids=lambda x: type(x).__name__ + str(getattr(x, "dtype", "")))
@pytest.mark.parametrize("kind", KINDS)
def test_bad_containers_raise(kind: str, values: object, error: type[Exception]) -> None:
    """Containers the bulk API cannot read raise TypeError (or ValueError for the wrong shape)."""
    with pytest.raises(error):
        MODULES[kind].explain_many(values)  # type: ignore[arg-type]
    with pytest.raises(error):
        MODULES[kind].is_valid_many(values)  # type: ignore[arg-type]


# ---- 在留カード等番号 -------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(items=st.lists(st.text("AZaz09-\x00 ", min_size=10, max_size=13), max_size=50))
def test_zairyu_bulk_forms_agree(items: list[str]) -> None:
    """Lists, U arrays and S arrays of the same values give the same codes (format rule only)."""
    stripped = [x.rstrip("\x00") for x in items]  # numpy drops trailing NULs from S and U items
    expected = zairyu.explain_many(stripped)
    assert np.array_equal(zairyu.explain_many(np.array(stripped, dtype="U14")), expected)
    assert np.array_equal(zairyu.explain_many(np.array([x.encode() for x in stripped], dtype="S14")), expected)
    for x, code in zip(stripped, expected.tolist()):
        form = len(x) == 12 and all("A" <= c <= "Z" for c in x[:2] + x[10:]) and all("0" <= c <= "9" for c in x[2:10])
        assert code == (OK if form else LENGTH if len(x) != 12 else FORMAT)
