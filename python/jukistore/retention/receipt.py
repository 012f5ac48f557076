"""The receipt a purge leaves: what was erased, by which rules, who ran and approved it, and the
proof, with no personal data (counts, dates, operator ids, a digest of the purged id list).

Receipts are JSON files in ``receipts/`` under the store directory, named by run id, written
atomically; they are part of the store and so of the byte scan of the next purge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

RECEIPTS = "receipts"


class Receipt(msgspec.Struct, frozen=True, kw_only=True):
    """One purge run. ``scan`` holds the byte scan and verify results."""

    kind: str = "jukistore purge receipt"
    version: int = 1
    run_id: str
    as_of: str
    started_at: str
    finished_at: str
    operator: dict[str, str]
    approver: dict[str, str]
    rules: list[dict[str, Any]]
    persons_purged: int
    versions_purged: int
    retired: dict[str, dict[str, Any]]
    purged_ids_digest: str
    file_bytes_before: int
    file_bytes_after: int
    scan: dict[str, Any]
    #: Seconds per phase (erase, rebuild, scan).
    timings: dict[str, float] = {}
    #: The operators and approvers who finished the run after it was interrupted, where they are
    #: not the ones who started it (``operator`` and ``approver``), in the order they ran.
    resumed_by: list[dict[str, str]] = []

    def to_json(self) -> bytes:
        return msgspec.json.format(msgspec.json.encode(self), indent=2)


def write_receipt(store_path: Path, receipt: Receipt) -> Path:
    """Write the receipt under the store directory; returns its path."""
    from jukistore.retention.purge import write_atomic

    d = store_path / RECEIPTS
    d.mkdir(exist_ok=True)
    p = d / f"purge-{receipt.run_id}.json"
    write_atomic(p, receipt.to_json())
    return p


def receipts(store_path: str | Path) -> list[Receipt]:
    """Every receipt of the store, oldest first."""
    d = Path(store_path) / RECEIPTS
    return [msgspec.json.decode(p.read_bytes(), type=Receipt) for p in sorted(d.glob("purge-*.json"))]
