"""jukistore: a record store for Japan's Basic Resident Register (住民基本台帳).

A Rust core (``jukistore._core``) does the heavy work: check digits in bulk, LMDB indexes,
reconciliation. This package is the API users import.
"""

from jukistore import errors, ids
from jukistore._core import __version__

__all__ = ["errors", "ids", "__version__"]
