"""個人番号 (My Number): 12 digits, the last a check digit.

Rule (平成26年総務省令第85号 第5条): with P_n the n-th digit of the 11-digit base counted from
the right and Q_n = n + 1 for n <= 6, n - 5 for n >= 7, the check digit is 0 when
sum(P_n * Q_n) mod 11 <= 1, else 11 minus that remainder. The check digit misses about 1.7% of
single-digit typos: validation is a filter, not proof of existence.

Same names as python-stdnum's ``stdnum.jp.in_``, plus bulk forms over numpy arrays.
"""

from jukistore.ids._common import REASONS, Identifier

_ID = Identifier("mynumber", 12, "個人番号", (4, 4, 4), sep=" ")

KIND = _ID.kind
LENGTH = _ID.length
compact = _ID.compact
calc_check_digit = _ID.calc_check_digit
validate = _ID.validate
is_valid = _ID.is_valid
explain = _ID.explain
format = _ID.format
explain_many = _ID.explain_many
is_valid_many = _ID.is_valid_many
generate = _ID.generate
to_text = _ID.to_text

__all__ = [
    "KIND", "LENGTH", "REASONS", "compact", "calc_check_digit", "validate", "is_valid", "explain",
    "format", "explain_many", "is_valid_many", "generate", "to_text",
]
