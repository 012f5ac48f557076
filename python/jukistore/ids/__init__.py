"""Japanese public identifiers: one module per identifier, python-stdnum's names.

- :mod:`~jukistore.ids.mynumber`: 個人番号 (12 digits)
- :mod:`~jukistore.ids.juminhyo`: 住民票コード (11 digits; the check rule is an assumption)
- :mod:`~jukistore.ids.lgcode`: 全国地方公共団体コード (6 digits)
- :mod:`~jukistore.ids.corporate`: 法人番号 (13 digits, check digit first)
- :mod:`~jukistore.ids.zairyu`: 在留カード等番号 (format only)
"""

from jukistore.ids import corporate, juminhyo, lgcode, mynumber, zairyu
from jukistore.ids._common import REASONS

MODULES = {
    "mynumber": mynumber,
    "juminhyo": juminhyo,
    "lgcode": lgcode,
    "corporate": corporate,
    "zairyu": zairyu,
}

__all__ = ["mynumber", "juminhyo", "lgcode", "corporate", "zairyu", "REASONS", "MODULES"]
