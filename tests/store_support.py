"""Small synthetic master records for store tests, built by master item number.

Field names come from the layout (``jumin_kihon``), so the tests do not repeat them. Numbers are
generated (distinct, valid) from a seed and a start position, so a test can make batch ``k`` of a
sequence again in another process. :func:`new_store` makes a store with operators and roles.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Mapping

from jukistore import layouts
from jukistore.ids import juminhyo, mynumber
from jukistore.records import JuminKihon
from jukistore.store import Operator, Store

SURNAMES = [("山田", "ヤマダ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("髙橋", "タカハシ"), ("渡辺", "ワタナベ")]
GIVEN = [("太郎", "タロウ"), ("花子", "ハナコ"), ("純平", "ジュンペイ"), ("学", "マナブ"), ("翔", "ショウ")]
TOWNS = ["吾妻橋一丁目", "向島二丁目", "押上三丁目", "両国四丁目", "錦糸一丁目"]


def fields() -> dict[int, str]:
    return {it.no: it.field for it in layouts.load("jumin_kihon").items}


def make_records(n: int, seed: int = 0, start: int = 0) -> list[JuminKihon]:
    """``n`` valid master records, positions ``start .. start + n`` of the seeded sequence."""
    f = fields()
    codes = juminhyo.to_text(juminhyo.generate(n, seed, start))
    mns = mynumber.to_text(mynumber.generate(n, seed, start))
    out = []
    for i in range(n):
        k = start + i
        sn, sk = SURNAMES[k % len(SURNAMES)]
        gn, gk = GIVEN[(k // 5) % len(GIVEN)]
        values = {
            1: f"{k // 2:010d}",
            8: f"東京都墨田区{TOWNS[k % len(TOWNS)]}{k % 30 + 1}番{k % 9 + 1}号",
            14: "20000401",
            15: "20000402",
            20: f"{sk} {gk}",
            21: f"{sn}　{gn}",
            22: "1" if k % 2 else "2",
            23: f"{1930 + k % 90:04d}{k % 12 + 1:02d}{k % 28 + 1:02d}",
            30: codes[i].decode(),
            81: mns[i].decode(),
        }
        out.append(JuminKihon(**{f[no]: v for no, v in values.items()}))
    return out


def with_field(rec: JuminKihon, no: int, value: str) -> JuminKihon:
    """A copy of ``rec`` with master item ``no`` set to ``value``."""
    import msgspec

    return msgspec.structs.replace(rec, **{fields()[no]: value})


# ---- stores with operators ----------------------------------------------------------------------

#: The first operator of every test store (administrator role), and the operator test stores are
#: bound to for reads (clerk role), with the purpose every read logs.
ADMIN = Operator("admin01", "term-admin")
READER = Operator("reader01", "term-read")
PURPOSE = "test"


def grant(store: Store, roles: Mapping[str, Iterable[str]]) -> None:
    """Grant each operator id its roles, by the test administrator."""
    for op, names in roles.items():
        for role in names:
            store.roles.grant(op, role, by=ADMIN)


def new_store(path: str | os.PathLike[str], code: str = "131075", *,
              roles: Mapping[str, Iterable[str]] | None = None, **kw: Any) -> Store:
    """A new store with :data:`ADMIN` as its administrator, :data:`READER` a clerk, ``roles``
    granted, bound to :data:`READER` for reads."""
    s = Store.create(path, code, administrator=ADMIN, **kw)
    grant(s, {READER.operator_id: ["clerk"], **(roles or {})})
    return s.acting(READER, PURPOSE)


def open_store(path: str | os.PathLike[str], readonly: bool = False, **kw: Any) -> Store:
    """An existing store bound to :data:`READER`."""
    return Store.open(path, readonly, operator=READER, purpose=PURPOSE, **kw)


def run_at_once(*targets: Callable[[], None]) -> list[BaseException]:
    """Run each target in its own thread, all released together; the exceptions they raised."""
    import threading

    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def go(fn: Callable[[], None]) -> None:
        barrier.wait()
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - returned to the test
            errors.append(e)

    ts = [threading.Thread(target=go, args=(fn,), daemon=True) for fn in targets]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=30)
    return errors


def seigo_rows(n: int, seed: int) -> list[dict[str, str]]:
    """``n`` synthetic rows of the seigo layout (the reconciliation's planted base) as mappings of
    field name to text, the form the file writers take."""
    from jukistore.reconcile import planted

    base = planted.synthetic(n, seed, gaiji=False)
    return [{k: v[i].decode() if isinstance(v[i], bytes) else str(v[i]) for k, v in base.items()} for i in range(n)]
