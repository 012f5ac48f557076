"""Scalar identifier API: check digits against SPEC §2 and python-stdnum, errors, compacting.

The check-digit rules are written out again here from the formulas of SPEC §2, as a reference
model that shares no code with the Rust core; python-stdnum (``stdnum.jp.in_`` and
``stdnum.jp.cn``) is a second, external reference for 個人番号 and 法人番号. Agreement is
checked on classifications, not just on valid/invalid: length before format before checksum, as
stdnum orders its exceptions. All numbers are synthetic except the published samples in
:func:`test_published_examples`.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from types import ModuleType
from typing import Callable, Iterator

import numpy as np
import pytest
import stdnum.jp.cn
import stdnum.jp.in_
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import exceptions as stdnum_errors

from jukistore import errors
from jukistore.ids import MODULES, REASONS, corporate, juminhyo, lgcode, mynumber, zairyu

OK, LENGTH, FORMAT, CHECKSUM = 0, 1, 2, 3
CHECKED_KINDS = ("mynumber", "juminhyo", "lgcode", "corporate")
LENGTHS = {"mynumber": 12, "juminhyo": 11, "lgcode": 6, "corporate": 13}
STDNUM = {"mynumber": stdnum.jp.in_, "corporate": stdnum.jp.cn}
DIGITS = "0123456789"

# Hypothesis runs few but large examples here: each example checks tens of thousands of values.
BATCH = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STRINGS = settings(max_examples=150, deadline=None)


# ---- reference model: SPEC §2 written out independently ---------------------------------------


def ref_check_digit(kind: str, base: str) -> int:
    """The check digit of ``base`` by the SPEC §2 formula for ``kind``."""
    digits = [int(c) for c in base]
    from_right = list(enumerate(reversed(digits), start=1))  # (n, P_n)
    if kind in ("mynumber", "juminhyo"):
        # Q_n = n + 1 for n <= 6, n - 5 for n >= 7; 0 if s mod 11 <= 1 else 11 - s mod 11.
        s = sum(p * (n + 1 if n <= 6 else n - 5) for n, p in from_right)
        return 0 if s % 11 <= 1 else 11 - s % 11
    if kind == "lgcode":
        d1, d2, d3, d4, d5 = digits
        s = 6 * d1 + 5 * d2 + 4 * d3 + 3 * d4 + 2 * d5
        return (11 - s % 11) % 10
    if kind == "corporate":
        # Q_n = 1 for odd n, 2 for even n; check = 9 - s mod 9.
        s = sum(p * (1 if n % 2 else 2) for n, p in from_right)
        return 9 - s % 9
    raise AssertionError(kind)


def ref_join(kind: str, base: str) -> str:
    """A full number from its base: the check digit goes last, or first for 法人番号."""
    c = str(ref_check_digit(kind, base))
    return c + base if kind == "corporate" else base + c


def ref_code(kind: str, text: str) -> int:
    """Reason code of a string taken as it is (no compacting): length, then format, then check."""
    n = LENGTHS[kind]
    if len(text) != n:
        return LENGTH
    if any(c not in DIGITS for c in text):
        return FORMAT
    base, check = (text[1:], text[0]) if kind == "corporate" else (text[:-1], text[-1])
    return OK if ref_check_digit(kind, base) == int(check) else CHECKSUM


def stdnum_code(module: ModuleType, text: str) -> int:
    """python-stdnum's verdict as a reason code."""
    try:
        module.validate(text)
    except stdnum_errors.InvalidLength:
        return LENGTH
    except stdnum_errors.InvalidFormat:
        return FORMAT
    except stdnum_errors.InvalidChecksum:
        return CHECKSUM
    return OK


def our_code(module: ModuleType, value: object) -> int:
    """Our scalar ``validate`` verdict as a reason code, checking the exception types on the way."""
    try:
        module.validate(value)
    except errors.InvalidLength:
        return LENGTH
    except errors.InvalidFormat:
        return FORMAT
    except errors.InvalidChecksum:
        return CHECKSUM
    return OK


def assert_scalar_forms_agree(module: ModuleType, value: object, expected: int) -> None:
    """``validate``, ``is_valid``, ``explain`` and a one-element ``explain_many`` all say ``expected``."""
    assert our_code(module, value) == expected, value
    assert module.is_valid(value) is (expected == OK)
    assert module.explain(value) == REASONS[expected]


def is_compact(text: str) -> bool:
    """True if neither our ``compact`` nor stdnum's changes the text, so all three APIs see it alike."""
    return mynumber.compact(text) == text and stdnum.jp.in_.compact(text) == text


# ---- strategies -------------------------------------------------------------------------------


def bases(kind: str) -> st.SearchStrategy[str]:
    """Zero-padded bases, biased towards leading zeros (small integers are drawn often)."""
    n = LENGTHS[kind] - 1
    small = st.integers(0, 10**4).map(lambda b: f"{b:0{n}d}")
    return st.one_of(st.text(DIGITS, min_size=n, max_size=n), small)


def valid_numbers(kind: str) -> st.SearchStrategy[str]:
    return bases(kind).map(lambda b: ref_join(kind, b))


#: Characters that no compacting step touches: digits, ASCII punctuation and letters, NUL, and
#: non-ASCII characters that NFKC and stdnum's character map leave alone.
COMPACT_ALPHABET = DIGITS * 4 + "aZx./+_#:\x00あ漢é٣😀"


def compact_strings(kind: str) -> st.SearchStrategy[str]:
    """Strings near the identifier's shape, already compact: mutated valid numbers and noise."""
    n = LENGTHS[kind]

    @st.composite
    def mutated(draw: st.DrawFn) -> str:
        text = draw(valid_numbers(kind))
        i = draw(st.integers(0, n - 1))
        ch = draw(st.sampled_from(COMPACT_ALPHABET))
        op = draw(st.sampled_from(["replace", "insert", "delete", "swap", "keep"]))
        if op == "replace":
            return text[:i] + ch + text[i + 1 :]
        if op == "insert":
            return text[:i] + ch + text[i:]
        if op == "delete":
            return text[:i] + text[i + 1 :]
        if op == "swap" and i < n - 1:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        return text

    return st.one_of(
        mutated(),
        st.text(DIGITS, min_size=n, max_size=n),
        st.text(DIGITS, min_size=0, max_size=n + 2),
        st.text(COMPACT_ALPHABET, min_size=n - 1, max_size=n + 1),
        st.text(COMPACT_ALPHABET, max_size=20),
    ).filter(is_compact)


# ---- published samples ------------------------------------------------------------------------


def test_published_examples() -> None:
    """SPEC §2's published samples (and stdnum's 法人番号 sample) pin the formulas to the law."""
    for text in ("123456789018", "987654321000", "621498320257"):
        assert mynumber.validate(text) == text
        assert mynumber.calc_check_digit(text[:-1]) == text[-1]
        assert ref_code("mynumber", text) == OK
    with pytest.raises(errors.InvalidChecksum):
        mynumber.validate("123456789019")
    assert lgcode.validate("131075") == "131075"  # Sumida
    assert lgcode.calc_check_digit("13107") == "5"
    assert lgcode.explain("131076") == "checksum"
    assert corporate.validate("5835678256246") == "5835678256246"
    assert corporate.calc_check_digit("835678256246") == "5"
    assert corporate.format("5835678256246") == "5-8356-7825-6246"
    assert mynumber.format("123456789018") == "1234 5678 9018"


# ---- agreement with python-stdnum on large random batches --------------------------------------


def random_batch(kind: str, rng: np.random.Generator, size: int) -> list[str]:
    """A mix of valid numbers (many with leading zeros), random digit strings, near misses."""
    n = LENGTHS[kind]
    top = 10 ** (n - 1)
    # Bases over the whole space and over small ranges, so that leading zeros are common.
    widths = rng.integers(1, n, size=size)
    raw = rng.integers(0, top, size=size, dtype=np.uint64) % (np.uint64(10) ** widths.astype(np.uint64))
    out = [ref_join(kind, f"{b:0{n - 1}d}") for b in raw.tolist()]
    quarter = size // 4
    # Random full-length digit strings: mostly checksum errors, about a tenth valid.
    out[:quarter] = [f"{v:0{n}d}" for v in rng.integers(0, 10**n, size=quarter, dtype=np.uint64).tolist()]
    # Wrong lengths and one non-digit.
    for i in range(quarter, quarter + quarter // 4):
        out[i] = out[i][: int(rng.integers(0, n))]
    for i in range(quarter + quarter // 4, quarter + quarter // 2):
        j = int(rng.integers(0, n))
        out[i] = out[i][:j] + "ab/\x00"[int(rng.integers(0, 4))] + out[i][j + 1 :]
    return out


@pytest.mark.parametrize("kind", sorted(STDNUM))
@BATCH
@given(seed=st.integers(0, 2**32 - 1))
def test_random_batches_agree_with_stdnum(kind: str, seed: int) -> None:
    """30,000 values per example: our scalar API, stdnum and the reference model classify alike."""
    module, theirs = MODULES[kind], STDNUM[kind]
    values = random_batch(kind, np.random.default_rng(seed), 30_000)
    expected = [ref_code(kind, v) for v in values]
    assert [stdnum_code(theirs, v) for v in values] == expected
    assert [our_code(module, v) for v in values] == expected
    assert [module.explain(v) for v in values] == [REASONS[c] for c in expected]
    assert module.explain_many(values).tolist() == expected
    # Every reason occurs, so the comparison covered each class.
    assert set(expected) == {OK, LENGTH, FORMAT, CHECKSUM}


@pytest.mark.parametrize("kind", sorted(STDNUM))
@STRINGS
@given(data=st.data())
def test_compact_strings_agree_with_stdnum(kind: str, data: st.DataObject) -> None:
    """Hypothesis-chosen near misses: scalar, bulk list, stdnum and the model agree."""
    text = data.draw(compact_strings(kind))
    expected = ref_code(kind, text)
    assert stdnum_code(STDNUM[kind], text) == expected
    assert_scalar_forms_agree(MODULES[kind], text, expected)
    assert MODULES[kind].explain_many([text]).tolist() == [expected]


@pytest.mark.parametrize("kind", ["juminhyo", "lgcode"])
@STRINGS
@given(data=st.data())
def test_compact_strings_follow_spec_formula(kind: str, data: st.DataObject) -> None:
    """住民票コード and 地方公共団体コード have no stdnum module: the model is the reference."""
    text = data.draw(compact_strings(kind))
    expected = ref_code(kind, text)
    assert_scalar_forms_agree(MODULES[kind], text, expected)
    assert MODULES[kind].explain_many([text]).tolist() == [expected]


@pytest.mark.parametrize("kind", CHECKED_KINDS)
@STRINGS
@given(data=st.data())
def test_calc_check_digit_matches_formula(kind: str, data: st.DataObject) -> None:
    base = data.draw(bases(kind))
    assert MODULES[kind].calc_check_digit(base) == str(ref_check_digit(kind, base))
    if kind in STDNUM:
        assert STDNUM[kind].calc_check_digit(base) == str(ref_check_digit(kind, base))


# ---- every single-digit error class ------------------------------------------------------------


def single_digit_errors(text: str) -> Iterator[tuple[str, str]]:
    """(class, variant) for every substitution (position x digit) and adjacent transposition."""
    for i, d in enumerate(text):
        for r in DIGITS:
            if r != d:
                yield f"sub{i}", text[:i] + r + text[i + 1 :]
    for i in range(len(text) - 1):
        if text[i] != text[i + 1]:
            yield f"swap{i}", text[:i] + text[i + 1] + text[i] + text[i + 2 :]


@pytest.mark.parametrize("kind", CHECKED_KINDS)
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_every_single_digit_error(kind: str, seed: int) -> None:
    """Each position x each substituted digit and each adjacent swap, on 300 valid numbers.

    Every variant is classified the same by the model, stdnum (where it exists), the scalar API and
    the bulk API. Half the numbers have leading zeros.
    """
    module, n = MODULES[kind], LENGTHS[kind]
    rng = np.random.default_rng(seed)
    tops = [10 ** (n - 1), 10 ** (n - 4)]
    originals = [ref_join(kind, f"{int(rng.integers(0, tops[i % 2])):0{n - 1}d}") for i in range(300)]
    classes: dict[str, list[int]] = {}
    variants: list[str] = []
    for text in originals:
        for cls, variant in single_digit_errors(text):
            classes.setdefault(cls, []).append(len(variants))
            variants.append(variant)
    expected = [ref_code(kind, v) for v in variants]
    assert set(expected) == {OK, CHECKSUM}
    assert [our_code(module, v) for v in variants] == expected
    if kind in STDNUM:
        assert [stdnum_code(STDNUM[kind], v) for v in variants] == expected
    assert module.explain_many(np.array(variants, dtype=f"S{n}")).tolist() == expected
    assert module.explain_many(np.array([int(v) for v in variants], dtype=np.uint64)).tolist() == expected
    # All n x 9 substitution classes and n - 1 swap classes were exercised.
    assert sorted(classes) == sorted([f"sub{i}" for i in range(n)] + [f"swap{i}" for i in range(n - 1)])
    assert all(len(classes[f"sub{i}"]) == 9 * len(originals) for i in range(n))
    # An error in the check digit itself is always caught.
    check_pos = 0 if kind == "corporate" else n - 1
    assert all(expected[i] == CHECKSUM for i in classes[f"sub{check_pos}"])


def test_check_digit_miss_rates_match_spec() -> None:
    """SPEC §2: the My Number check digit misses about 1.7% of typos and 1.9% of adjacent swaps.

    Measured over every substitution and swap of 20,000 numbers drawn from the whole space.
    """
    rng = np.random.default_rng(20240601)
    bases = rng.integers(0, 10**11, size=20_000, dtype=np.uint64)
    text = np.array([ref_join("mynumber", f"{b:011d}") for b in bases.tolist()], dtype="S12")
    digits = text.view(np.uint8).reshape(-1, 12)
    missed = total = 0
    for pos in range(12):
        for d in range(10):
            x = digits[digits[:, pos] != ord("0") + d].copy()
            x[:, pos] = ord("0") + d
            missed += int(mynumber.is_valid_many(x.view("S12").ravel()).sum())
            total += len(x)
    assert total == 20_000 * 108
    assert 0.015 < missed / total < 0.019
    missed = total = 0
    for pos in range(11):
        x = digits[digits[:, pos] != digits[:, pos + 1]].copy()
        x[:, [pos, pos + 1]] = x[:, [pos + 1, pos]]
        missed += int(mynumber.is_valid_many(x.view("S12").ravel()).sum())
        total += len(x)
    assert 0.016 < missed / total < 0.022


# ---- scalar input forms and bad input ---------------------------------------------------------


@pytest.mark.parametrize("kind", CHECKED_KINDS)
def test_integers_imply_leading_zeros(kind: str) -> None:
    """An int is the number with its leading zeros dropped: 7 and '00..07' are the same base."""
    module, n = MODULES[kind], LENGTHS[kind]
    for base in ("0" * (n - 1), "0" * (n - 2) + "7", "0" * (n - 5) + "1234"):
        text = ref_join(kind, base)
        assert module.validate(int(text)) == text
        assert module.is_valid(int(text))
    assert our_code(module, 10**n) == LENGTH
    assert our_code(module, 2**64) == LENGTH
    assert our_code(module, 10**200) == LENGTH
    assert our_code(module, -1) == FORMAT
    assert our_code(module, -int(ref_join(kind, "1" * (n - 1)))) == FORMAT


def test_corporate_check_digit_is_never_zero() -> None:
    """9 - s mod 9 is 1..9, so a leading 0 is always a checksum error, as an int or as text."""
    assert corporate.explain("0" * 13) == "checksum"
    assert corporate.explain(0) == "checksum"
    assert stdnum_code(stdnum.jp.cn, "0" * 13) == CHECKSUM


BAD_SCALARS: list[tuple[object, type[errors.ValidationError]]] = [
    ("", errors.InvalidLength),
    ("   ", errors.InvalidLength),
    ("12345678901", errors.InvalidLength),
    ("1234567890180", errors.InvalidLength),
    ("12345678901a", errors.InvalidFormat),
    ("ABCDEFGHIJKL", errors.InvalidFormat),
    ("12345\x00789018", errors.InvalidFormat),
    ("123456789018\x00", errors.InvalidLength),
    ("１２３４５６７８９０１９", errors.InvalidChecksum),  # full-width is compacted first
    ("1234.5678.9018", errors.InvalidLength),
    ("1234\t5678\t9018", errors.InvalidLength),
    ("٠١٢٣٤٥٦٧٨٩٠١", errors.InvalidFormat),  # Arabic-Indic digits are not compacted
    (None, errors.InvalidFormat),
    (True, errors.InvalidFormat),
    (123456789018.0, errors.InvalidFormat),
    (b"123456789018", errors.InvalidFormat),
    (bytearray(b"123456789018"), errors.InvalidFormat),
    (["123456789018"], errors.InvalidFormat),
    (-123456789018, errors.InvalidFormat),
    (10**12, errors.InvalidLength),
    (10**40, errors.InvalidLength),
]


@pytest.mark.parametrize(("value", "error"), BAD_SCALARS, ids=lambda x: repr(x)[:20])
def test_bad_scalars_raise_typed_errors(value: object, error: type[errors.ValidationError]) -> None:
    """Bad input is a typed ValueError from validate and a plain False / reason from the others."""
    with pytest.raises(error) as info:
        mynumber.validate(value)
    assert isinstance(info.value, ValueError)
    assert type(info.value) is error
    assert mynumber.is_valid(value) is False
    assert mynumber.explain(value) == error.reason


@pytest.mark.parametrize("kind", CHECKED_KINDS)
@pytest.mark.parametrize(
    "value",
    ["\ud800", "\udfff" * 3, "1234567890\ud8001", "12345678901234\udc80", "\ud83d\ude00"],
    ids=repr,
)
def test_lone_surrogates_never_crash(kind: str, value: str) -> None:
    """Text decoded with surrogateescape can hold lone surrogates; they are format/length errors."""
    module = MODULES[kind]
    with pytest.raises((errors.InvalidFormat, errors.InvalidLength)):
        module.validate(value)
    assert module.is_valid(value) is False
    assert module.explain(value) in ("format", "length")
    assert module.explain_many([value]).tolist()[0] in (LENGTH, FORMAT)


def test_integers_too_large_to_print_are_length_errors() -> None:
    """Python refuses str() on ints above 4300 digits; is_valid must still answer, not raise."""
    huge = 10**5000
    assert mynumber.is_valid(huge) is False
    assert mynumber.explain(huge) == "length"
    with pytest.raises(ValueError):
        mynumber.validate(huge)


def test_validate_integers_too_large_to_print_raise_invalid_length() -> None:
    with pytest.raises(errors.InvalidLength):
        mynumber.validate(10**5000)


@pytest.mark.parametrize("kind", CHECKED_KINDS)
def test_numpy_integer_scalars_are_integers(kind: str) -> None:
    """``for v in array: is_valid(v)`` should agree with ``is_valid_many(array)``."""
    module = MODULES[kind]
    values = module.generate(3, seed=1)
    assert [module.is_valid(v) for v in values] == module.is_valid_many(values).tolist()


# ---- compact: the only lenient entry ----------------------------------------------------------


@pytest.mark.parametrize("kind", CHECKED_KINDS)
@STRINGS
@given(data=st.data())
def test_compact_accepts_full_width_and_separators(kind: str, data: st.DataObject) -> None:
    """Full-width digits, separators and surrounding whitespace are accepted by the scalar API only.

    The bulk API takes values as they are, so the same decorated text is invalid there.
    """
    module = MODULES[kind]
    text = data.draw(valid_numbers(kind))
    separators = st.sampled_from([" ", "-", "\u3000", "－", "‐", "−", "ー"])
    decorated = ""
    for ch in text:
        ch = unicodedata.normalize("NFKC", ch) if not data.draw(st.booleans()) else chr(ord(ch) + 0xFEE0)
        decorated += ch + (data.draw(separators) if data.draw(st.integers(0, 3)) == 0 else "")
    decorated = data.draw(st.sampled_from(["", " ", "\t", "\u3000"])) + decorated + data.draw(
        st.sampled_from(["", " ", "\n", "\u3000"])
    )
    assert module.compact(decorated) == text
    assert module.validate(decorated) == text
    assert module.is_valid(decorated)
    if decorated != text:
        assert module.explain_many([decorated]).tolist()[0] in (LENGTH, FORMAT)
        assert not module.is_valid_many(np.array([decorated])).any()
    if kind in STDNUM and "ー" not in decorated and "\u3000" not in decorated[1:-1]:
        # stdnum also takes spaces, hyphens and full-width digits.
        assert STDNUM[kind].is_valid(decorated)


def test_compact_rejects_non_text() -> None:
    for value in (None, b"1", 1.5, object()):
        with pytest.raises(errors.InvalidFormat):
            mynumber.compact(value)  # type: ignore[arg-type]
    assert mynumber.compact(123) == "123"
    with pytest.raises(errors.InvalidFormat):
        mynumber.compact(-1)


# ---- masking ----------------------------------------------------------------------------------


def raised_message(fn: Callable[[object], object], value: object) -> str:
    with pytest.raises(errors.ValidationError) as info:
        fn(value)
    e = info.value
    return " ".join([str(e), repr(e), *map(str, e.args)])


@pytest.mark.parametrize("kind", CHECKED_KINDS)
@STRINGS
@given(data=st.data())
def test_errors_never_show_the_full_number(kind: str, data: st.DataObject) -> None:
    """Checksum and length errors show at most the last four digits of the value, masked."""
    module, n = MODULES[kind], LENGTHS[kind]
    text = data.draw(st.one_of(st.text(DIGITS, min_size=n, max_size=n), st.text(DIGITS, min_size=n + 1, max_size=30)))
    if ref_code(kind, text) == OK:
        text = text[:-1] + str((int(text[-1]) + 1) % 10) if kind != "corporate" else str((int(text[0]) + 1) % 10) + text[1:]
    forms: list[tuple[object, str]] = [(text, text)]
    if len(text) == n or int(text) >= 10**n:
        forms.append((int(text), str(int(text)).zfill(n)))
    for value, shown in forms:
        message = raised_message(module.validate, value)
        assert re.findall(r"[0-9]{5,}", message) == []
        assert "*" * (len(shown) - 4) + shown[-4:] in message


def test_lenient_juminhyo_warning_is_masked() -> None:
    """Lenient mode turns a checksum error into a warning that still masks the code."""
    base = "0123456789"
    good = ref_join("juminhyo", base)
    bad = base + str((int(good[-1]) + 1) % 10)
    assert juminhyo.check(good) == good
    with pytest.raises(errors.InvalidChecksum):
        juminhyo.check(bad)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert juminhyo.check(bad, strict=False) == bad
    assert len(caught) == 1 and issubclass(caught[0].category, juminhyo.ChecksumWarning)
    assert bad not in str(caught[0].message) and bad[-4:] in str(caught[0].message)
    # Only the check digit is uncertain: length and format still raise in lenient mode.
    with pytest.raises(errors.InvalidLength):
        juminhyo.check(bad[:-1], strict=False)
    with pytest.raises(errors.InvalidFormat):
        juminhyo.check(bad[:-1] + "x", strict=False)


def test_mask() -> None:
    assert errors.mask("123456789018") == "********9018"
    assert errors.mask("123") == "***"
    assert errors.mask(None) == ""


@pytest.mark.parametrize("text", ["123456789018", "1234-5678-9018", "1234 5678 9018", "１２３４－５６７８－９０１８",
                                  "x123456789018y", "1 2 3 4 5 6 7 8 9 0 1 8"])
def test_masked_text_masks_a_mynumber_however_it_is_grouped(text: str) -> None:
    shown = errors.masked_text(text)
    assert not re.search(r"\d(?:\D?\d){4}", shown) and shown.endswith(("9018'", "９０１８'", "9018y'")), shown


@pytest.mark.parametrize("text", ["1234 - 5678 - 9018", "1234  5678  9018", "1234--5678--9018", "1234–5678–9018",
                                  "1234—5678—9018", "1234ー5678ー9018", "1234ｰ5678ｰ9018", "1234.5678.9018",
                                  "1234/5678/9018", "1234_5678_9018", "１２３４ ー ５６７８ ー ９０１８"])
def test_masked_text_masks_a_mynumber_grouped_with_dashes_dots_or_several_separators(text: str) -> None:
    """Only one space or one of three hyphens between groups counted: a number typed with spaces
    around its hyphens, an en dash from a word processor, a katakana long vowel mark from a
    Japanese input method, dots or slashes was quoted in full."""
    shown = errors.masked_text(text)
    assert not re.search(r"\d(?:\D{0,3}\d){4}", shown) and shown.endswith(("9018'", "９０１８'")), shown


def test_masked_text_keeps_shorter_numbers_and_separated_ones() -> None:
    assert errors.masked_text("20240101") == "'20240101'"
    assert errors.masked_text("2024-01-01 and 12345") == "'2024-01-01 and 12345'"
    assert errors.masked_text(12345678901234) == "'**********1234'"


# ---- generate ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CHECKED_KINDS)
def test_generate_is_deterministic_distinct_and_valid(kind: str) -> None:
    module, n = MODULES[kind], LENGTHS[kind]
    count = 20_000
    a = module.generate(count, seed=11)
    assert a.dtype == np.uint64 and a.shape == (count,)
    assert np.array_equal(a, module.generate(count, seed=11))
    assert not np.array_equal(a, module.generate(count, seed=12))
    assert len(np.unique(a)) == count
    assert all(ref_code(kind, f"{v:0{n}d}") == OK for v in a.tolist())
    assert module.is_valid_many(a).all()
    # The sequence continues: any window equals the same slice of a longer run.
    for start in (0, 1, 999, 12_345):
        assert np.array_equal(module.generate(100, seed=11, start=start), a[start : start + 100])
    if kind != "corporate":
        # Leading zeros occur about as often as in the whole space.
        share = (a < 10 ** (n - 1)).mean()
        assert 0.05 < share < 0.15


def test_generate_continues_across_the_parallel_threshold() -> None:
    """Sequences generated in parallel chunks equal sequences generated in small pieces."""
    from jukistore import _core

    whole = mynumber.generate(_core.PARALLEL_MIN + 5000, seed=3)
    pieces = np.concatenate(
        [mynumber.generate(1000, seed=3, start=s) for s in range(_core.PARALLEL_MIN - 2000, _core.PARALLEL_MIN + 4000, 1000)]
    )
    assert np.array_equal(pieces, whole[_core.PARALLEL_MIN - 2000 : _core.PARALLEL_MIN + 4000])
    assert len(np.unique(whole)) == len(whole)


def test_generate_covers_the_whole_lgcode_space() -> None:
    """The generator is a permutation: all 100,000 bases once, then no more numbers exist."""
    every = np.sort(lgcode.generate(100_000, seed=5))
    expected = [int(ref_join("lgcode", f"{b:05d}")) for b in range(100_000)]
    assert every.tolist() == expected
    with pytest.raises(OverflowError):
        lgcode.generate(1, seed=5, start=100_000)
    with pytest.raises(OverflowError):
        lgcode.generate(100_001, seed=5)


def test_generate_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        mynumber.generate(-1, seed=1)
    assert mynumber.generate(0, seed=1).shape == (0,)
    # Seeds are taken modulo 2**64, so negative seeds are allowed and distinct from positive ones.
    assert np.array_equal(mynumber.generate(5, seed=-1), mynumber.generate(5, seed=2**64 - 1))


# ---- 在留カード等番号: form only --------------------------------------------------------------

ZAIRYU_ALPHABET = "ABZaz0159-. \u3000Ａ１"


def zairyu_ref(text: str) -> int:
    """Two ASCII capitals, eight ASCII digits, two ASCII capitals; length checked first."""
    if len(text) != 12:
        return LENGTH
    upper, digit = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", DIGITS
    shape = all(c in upper for c in text[:2] + text[10:]) and all(c in digit for c in text[2:10])
    return OK if shape else FORMAT


def test_zairyu_examples() -> None:
    assert zairyu.validate("AB12345678CD") == "AB12345678CD"
    assert zairyu.validate(" ab1234-5678cd ") == "AB12345678CD"
    assert zairyu.validate("ＡＢ１２３４５６７８ＣＤ") == "AB12345678CD"
    with pytest.raises(errors.InvalidLength):
        zairyu.validate("AB1234567CD")
    with pytest.raises(errors.InvalidFormat):
        zairyu.validate("A123456789CD")
    with pytest.raises(errors.InvalidFormat):
        zairyu.validate("AB12345678C1")
    with pytest.raises(errors.InvalidFormat):
        zairyu.validate(None)
    message = raised_message(zairyu.validate, "AB12345678C1")
    assert "AB12345678C1" not in message and "********78C1" in message
    assert zairyu.is_valid(123) is False
    assert zairyu.explain(b"AB12345678CD") == "format"
    assert zairyu.explain_many(np.array(["AB12345678CD", "ab12345678cd", ""])).tolist() == [OK, FORMAT, LENGTH]
    assert zairyu.explain_many([None, b"AB12345678CD", "AB12345678CD "]).tolist() == [FORMAT, OK, LENGTH]


@STRINGS
@given(text=st.text(ZAIRYU_ALPHABET, min_size=10, max_size=14))
def test_zairyu_form(text: str) -> None:
    """Scalar forms compact then check; the bulk form checks the value as it is."""
    compacted = unicodedata.normalize("NFKC", text).strip().upper().replace(" ", "").replace("-", "")
    expected = zairyu_ref(compacted)
    assert zairyu.explain(text) == REASONS[expected]
    assert zairyu.is_valid(text) is (expected == OK)
    if expected == OK:
        assert zairyu.validate(text) == compacted
    assert zairyu.explain_many([text]).tolist() == [zairyu_ref(text)]
