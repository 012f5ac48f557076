"""法人番号 (corporate number): 13 digits, the FIRST a check digit.

Rule: with P_n the n-th digit of the 12-digit base from the right and Q_n = 1 for odd n, 2 for
even n, check = 9 - sum(P_n * Q_n) mod 9. Same names as python-stdnum's ``stdnum.jp.cn``.
"""

from jukistore.ids._common import REASONS, Identifier

_ID = Identifier("corporate", 13, "法人番号", (1, 4, 4, 4), sep="-")

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
