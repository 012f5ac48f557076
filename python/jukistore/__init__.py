"""jukistore: a record store for Japan's Basic Resident Register (住民基本台帳).

A Rust core (``jukistore._core``) does the heavy work: check digits in bulk, LMDB indexes,
history, reconciliation. This package is the API users import::

    from jukistore import Store, Operator
    from jukistore.ids import mynumber
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jukistore import errors, ids
from jukistore._core import __version__

if TYPE_CHECKING:
    from jukistore.store import Operator, Store

__all__ = ["errors", "ids", "Store", "Operator", "__version__"]

_LAZY = {"Store": "jukistore.store", "Operator": "jukistore.store"}


def __getattr__(name: str) -> Any:
    # The store pulls in records, layouts and text; load it on first use so `import jukistore`
    # stays cheap for callers that only validate numbers.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'jukistore' has no attribute {name!r}")
