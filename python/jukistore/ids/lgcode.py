"""全国地方公共団体コード (local government code): a 5-digit JIS X 0402 code and a check digit.

Rule: s = 6*d1 + 5*d2 + 4*d3 + 3*d4 + 2*d5; check = (11 - s mod 11) mod 10. Sumida is 131075.
"""

from jukistore.ids._common import REASONS, Identifier

_ID = Identifier("lgcode", 6, "地方公共団体コード", (2, 3, 1), sep="-")

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
