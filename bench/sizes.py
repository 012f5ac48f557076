"""Sizes of every benchmark suite at each scale, in one table.

A suite asks for its sizes by name (``size("STORE_N")``) instead of hard-coding them, so that one
command can run every suite at the same scale:

- ``smoke``: the whole run in well under a minute; it proves every benchmark still runs and every
  implementation still agrees (CI runs it on every change; its timings mean little);
- ``default``: the whole run within 15 minutes on a 2-core machine, large enough that the ratios
  against the anchors are those of real work and not of call overhead;
- ``full``: the sizes the performance targets name (10 M numbers, 1 M persons, 10 M rows a side...).

The scale comes from ``JUKISTORE_BENCH_SCALE`` (``default`` when unset); any single size can be
overridden with ``JUKISTORE_BENCH_<NAME>`` (``JUKISTORE_BENCH_STORE_N=500000``), which is what
``python -m bench --set STORE_N=500000`` does. A new suite adds its names to every scale here.
"""

from __future__ import annotations

import os

#: Environment variable choosing the scale.
SCALE_VARIABLE = "JUKISTORE_BENCH_SCALE"
#: Prefix of the environment variables overriding one size.
PREFIX = "JUKISTORE_BENCH_"

SCALES: dict[str, dict[str, int]] = {
    "smoke": {
        "IDS_N": 100_000,  # 個人番号 validated per call (python-stdnum: a 20,000-value subsample)
        "STORE_N": 2_000,  # persons in the store
        "HISTORY_N": 2_000,  # residents of the ward whose decade of events is applied
        "HISTORY_LOOKUPS": 5_000,  # (person, date) pairs per as-of batch
        "RECONCILE_ROWS": 20_000,  # rows a side of the reconciled files
        "FILEIO_ROWS": 20_000,  # rows of the seigo file
        "FILEIO_SUBSAMPLE": 5_000,  # rows the per-row readers read
        "FILEIO_MASTER_ROWS": 2_000,  # rows of the 84-item master file
        "SYNTH_ROWS": 10_000,  # persons of the generated ward
        "SYNTH_ANCHOR_ROWS": 5_000,  # persons the Python loop generates
        "ACCESS_N": 2_000,  # persons in the store whose reads are logged
        "ACCESS_KEYS": 1_000,  # 住民票コード per get_many call
        "PURGE_N": 2_000,  # persons in the store, half of them due for purge
    },
    "default": {
        "IDS_N": 10_000_000,
        "STORE_N": 500_000,
        "HISTORY_N": 200_000,
        "HISTORY_LOOKUPS": 500_000,
        "RECONCILE_ROWS": 5_000_000,
        "FILEIO_ROWS": 1_000_000,
        "FILEIO_SUBSAMPLE": 100_000,
        "FILEIO_MASTER_ROWS": 100_000,
        "SYNTH_ROWS": 500_000,
        "SYNTH_ANCHOR_ROWS": 50_000,
        "ACCESS_N": 100_000,
        "ACCESS_KEYS": 10_000,
        "PURGE_N": 200_000,
    },
    "full": {
        "IDS_N": 10_000_000,
        "STORE_N": 1_000_000,
        "HISTORY_N": 300_000,
        "HISTORY_LOOKUPS": 500_000,
        "RECONCILE_ROWS": 10_000_000,
        "FILEIO_ROWS": 1_000_000,
        "FILEIO_SUBSAMPLE": 100_000,
        "FILEIO_MASTER_ROWS": 100_000,
        "SYNTH_ROWS": 1_000_000,
        "SYNTH_ANCHOR_ROWS": 50_000,
        "ACCESS_N": 1_000_000,
        "ACCESS_KEYS": 10_000,
        "PURGE_N": 2_000_000,
    },
}


def scale() -> str:
    """The scale chosen by the environment (``default`` when unset)."""
    name = os.environ.get(SCALE_VARIABLE, "default")
    if name not in SCALES:
        raise ValueError(f"{SCALE_VARIABLE}={name!r}: the scales are {', '.join(SCALES)}")
    return name


def size(name: str) -> int:
    """The size ``name`` at the chosen scale, or its ``JUKISTORE_BENCH_<NAME>`` override."""
    override = os.environ.get(PREFIX + name)
    if override:
        return int(float(override.replace("_", "")))
    return SCALES[scale()][name]
