"""住民票コード (resident record code): 11 digits, 10 random and a check digit.

ASSUMPTION: 住民基本台帳法施行規則 第1条 says the check digit is fixed by a 告示 whose text could
not be obtained. The best public evidence is the My Number rule applied to the 10-digit base
(weights 5,4,3,2,7,6,5,4,3,2 from the left; 0 when the remainder mod 11 is <= 1, else 11 minus
it), and that is what is implemented. Because it is an assumption, the store accepts codes in
lenient mode on request: :func:`check` with ``strict=False`` reports a mismatch instead of raising.
"""

from jukistore.ids._common import REASONS, Identifier

_ID = Identifier("juminhyo", 11, "住民票コード", (11,), sep=" ")

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

import warnings

from jukistore.errors import InvalidChecksum
from jukistore.ids._common import _as_int


class ChecksumWarning(UserWarning):
    """A 住民票コード failed the assumed check-digit rule but was accepted (lenient mode)."""


def check(number: object, *, strict: bool = True) -> str:
    """Validate like :func:`validate`; with ``strict=False`` a checksum mismatch only warns.

    Length and format errors always raise: only the check-digit rule is uncertain.
    """
    try:
        return validate(number)
    except InvalidChecksum as e:
        if strict:
            raise
        warnings.warn(str(e), ChecksumWarning, stacklevel=2)
        text = compact(number)
        # An integer's leading zeros are implied, as validate() reads it: the same 11 digits.
        return text.zfill(11) if _as_int(number) is not None else text


__all__ += ["check", "ChecksumWarning"]
