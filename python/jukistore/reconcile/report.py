"""The result of a reconciliation: a summary for people, the detail as columns for programs.

The kernel returns flat arrays (a class per row of each side, one entry per finding); this module
turns them into

- ``summary``: counts per class, differences per field, a few samples of each kind, timings;
  safe to print and log — every 個人番号 in it is masked to its last four digits;
- ``detail``: one row per finding as numpy columns (``polars.DataFrame(result.detail)`` takes
  them as they are), with full 個人番号 where a finding is about one: the detail is what a clerk
  works through, and is written only on request (:meth:`Result.write`).
"""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from jukistore import _core
from jukistore.errors import mask, mask_digits
from jukistore.ids import REASONS
from jukistore.reconcile.sides import MYNUMBER_BAD, MYNUMBER_EMPTY, Plan, Side

CLASS_NAMES, ITEM_NAMES = (tuple(x) for x in _core.reconcile_codes())
#: Finding kinds that make two sides disagree (the rest are warnings).
DISAGREEMENTS = ("different", "only_left", "only_right", "duplicate", "paired_with_duplicate", "invalid",
                 "superseded", "bad_row", "mynumber_conflict")
SIDES = ("left", "right", "both")
CONFLICT_BITS = ((1, "within_left"), (2, "within_right"), (4, "across"))
NONE = 2**32 - 1

_ITEM = {name: code for code, name in enumerate(ITEM_NAMES) if name}


def _bit(raw: dict[str, Any], idx: npt.NDArray[np.intp], bit: int) -> npt.NDArray[np.bool_]:
    """Whether compared field ``bit`` differs, for the findings ``idx`` (masks of 128 bits in two words)."""
    word, b = ("mask", bit) if bit < 64 else ("mask_hi", bit - 64)
    return ((raw[word][idx] >> np.uint64(b)) & np.uint64(1)) == 1


def _code_text(values: npt.NDArray[np.uint64], width: int) -> npt.NDArray[np.str_]:
    """Integers as zero-padded decimal text of ``width`` digits (wider ones keep all their
    digits), vectorised: digits by arithmetic for the common case (written straight as the
    code points of a numpy ``U`` array), ``str`` for the rest."""
    v = np.asarray(values, dtype=np.uint64)
    limit = np.uint64(10**width)
    rest = np.where(v < limit, v, np.uint64(0))
    points = np.empty((len(v), width), dtype="<u4")
    for k in range(width - 1, -1, -1):
        points[:, k] = rest % np.uint64(10)
        rest //= np.uint64(10)
    points += ord("0")
    text = points.view(f"<U{width}").reshape(-1)
    wide = np.flatnonzero(v >= limit)
    if len(wide):
        text = text.astype(object)
        text[wide] = [str(int(x)) for x in v[wide]]
        text = text.astype(str)
    return text


def _sparse_text(values: npt.NDArray[np.uint64], shown: npt.NDArray[np.bool_], width: int) -> npt.NDArray[np.str_]:
    """``values`` as :func:`_code_text` where ``shown``, empty text elsewhere."""
    idx = np.flatnonzero(shown)
    if not len(idx):
        return np.full(len(values), "", dtype="U1")
    text = _code_text(values[idx], width)
    out = np.full(len(values), "", dtype=text.dtype)
    out[idx] = text
    return out


class Result:
    """What :func:`jukistore.reconcile.reconcile` found.

    ``summary`` is a dict (see the module docstring); ``detail`` a dict of numpy columns, one row
    per finding; ``left_class`` and ``right_class`` give every row of each side its class
    (:data:`CLASS_NAMES`); ``agree`` is true when the sides hold the same persons with the same
    values (warnings such as an invalid 個人番号 held alike on both sides do not count).
    """

    def __init__(self, left: Side, right: Side, plan: Plan, raw: dict[str, Any], *, mode: str, strict: bool,
                 samples: int, timings: dict[str, float]):
        self.left = left
        self.right = right
        self.plan = plan
        self._raw = raw
        self.left_class: npt.NDArray[np.uint8] = raw["left_class"]
        self.right_class: npt.NDArray[np.uint8] = raw["right_class"]
        self.mode = mode
        self.strict = strict
        self._samples = samples
        self._detail: dict[str, np.ndarray] | None = None
        self.summary = self._summarise(timings)

    # -- summary --------------------------------------------------------------------------------

    def _where(self, kind: str) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self._raw["class"] == _ITEM[kind])

    def _count(self, kind: str, side: int | None = None) -> int:
        sel = self._raw["class"] == _ITEM[kind]
        if side is not None:
            sel &= self._raw["side"] == side
        return int(sel.sum())

    def _summarise(self, timings: dict[str, float]) -> dict[str, Any]:
        r = self._raw
        cls = r["class"]
        dup = cls == _ITEM["duplicate"]
        conflict = cls == _ITEM["mynumber_conflict"]
        counts: dict[str, int] = {
            "left_rows": self.left.rows,
            "right_rows": self.right.rows,
            "pairs": int(r["pairs"]),
            "same": int(r["same"]),
            "different": self._count("different"),
            "only_left": self._count("only_left"),
            "only_right": self._count("only_right"),
            "duplicate_keys": int(len(np.unique(r["group"][dup]))),
        }
        for kind in ("duplicate", "paired_with_duplicate", "invalid", "superseded", "bad_row", "invalid_mynumber",
                     "lenient_key"):
            plural = {"duplicate": "duplicate_rows", "bad_row": "bad_rows", "invalid_mynumber": "invalid_mynumbers",
                      "lenient_key": "lenient_keys"}.get(kind, kind)
            for s, name in ((0, "left"), (1, "right")):
                counts[f"{plural}_{name}"] = self._count(kind, s)
        counts["mynumber_conflicts"] = int(len(np.unique(r["group"][conflict])))
        conflict_kinds = {name: 0 for _, name in CONFLICT_BITS}
        if conflict.any():
            _, first = np.unique(r["group"][conflict], return_index=True)
            bits = r["reason"][conflict][first]
            for bit, name in CONFLICT_BITS:
                conflict_kinds[name] = int(((bits & bit) != 0).sum())
        invalid_reasons = {}
        for s, name in ((0, "left"), (1, "right")):
            sel = (cls == _ITEM["invalid"]) & (r["side"] == s)
            invalid_reasons[name] = {REASONS[k]: int(c) for k, c in enumerate(np.bincount(r["reason"][sel], minlength=4))
                                     if k and c}
        fields = {f: int(c) for f, c in zip(self.plan.compared_fields, r["field_counts"])}
        agree = not any(self._count(k) for k in DISAGREEMENTS)
        side_info = {}
        for name, side in (("left", self.left), ("right", self.right)):
            side_info[name] = {"kind": side.kind, "source": side.source, "rows": side.rows, "encoding": side.encoding,
                               "sorted": bool(r[f"{name}_sorted"]), "aligned": side.aligned}
        return {
            "layout": self.plan.layout.name,
            "agree": agree,
            "mode": self.mode,
            "strict": self.strict,
            "left": side_info["left"],
            "right": side_info["right"],
            "counts": counts,
            "fields": fields,
            "invalid_reasons": invalid_reasons,
            "mynumber_conflicts": conflict_kinds,
            "compared_bytes": int(r["compared_bytes"]),
            "samples": self._sample_all(),
            "timings": {k: round(v, 6) for k, v in timings.items()},
        }

    @property
    def agree(self) -> bool:
        return bool(self.summary["agree"])

    def _side(self, s: int) -> Side:
        return self.left if s == 0 else self.right

    def _refs(self, s: int, rows: npt.NDArray[np.integer]) -> list[int]:
        rows64 = np.where(rows == NONE, -1, rows.astype(np.int64))
        return [int(x) for x in self._side(s).refs(rows64)]

    def _sample_all(self) -> dict[str, Any]:
        """A few findings of each kind, with values; 個人番号 masked."""
        k = self._samples
        r = self._raw
        out: dict[str, Any] = {}
        if k <= 0:
            return out
        diff = self._where("different")
        if len(diff):
            per_field: dict[str, list[dict[str, Any]]] = {}
            for bit, item in enumerate(self.plan.compared):
                field = self.plan.layout.items[item].field
                idx = diff[_bit(r, diff, bit)][:k]
                if not len(idx):
                    continue
                lrows, rrows = r["left_row"][idx], r["right_row"][idx]
                lv, rv = self.left.values(item, lrows), self.right.values(item, rrows)
                if item == self.plan.mynumber:
                    lv, rv = [mask(v) for v in lv], [mask(v) for v in rv]
                else:  # a 個人番号 in the wrong column (headers swapped) is masked all the same
                    lv, rv = [mask_digits(v) for v in lv], [mask_digits(v) for v in rv]
                keys = _code_text(r["key"][idx], 11)
                per_field[field] = [
                    {"key": str(keys[j]), f"left_{self.left.ref}": a, f"right_{self.right.ref}": b,
                     "left": lv[j], "right": rv[j]}
                    for j, (a, b) in enumerate(zip(self._refs(0, lrows), self._refs(1, rrows)))
                ]
            out["different"] = per_field
        for kind, s in (("only_left", 0), ("only_right", 1)):
            idx = self._where(kind)[:k]
            if len(idx):
                rows = r["left_row" if s == 0 else "right_row"][idx]
                out[kind] = [{"key": str(c), self._side(s).ref: ref}
                             for c, ref in zip(_code_text(r["key"][idx], 11), self._refs(s, rows))]
        for kind in ("duplicate", "paired_with_duplicate", "invalid", "bad_row", "invalid_mynumber", "lenient_key",
                     "superseded", "mynumber_conflict"):
            idx = self._where(kind)
            if kind == "mynumber_conflict" and len(idx):
                groups = r["group"][idx]
                idx = idx[np.isin(groups, np.unique(groups)[:k])]
            else:
                idx = idx[:k]
            if not len(idx):
                continue
            out[kind] = [self._describe(int(i), kind) for i in idx]
        return out

    def _describe(self, i: int, kind: str) -> dict[str, Any]:
        r = self._raw
        s = int(r["side"][i])
        row = int(r["left_row"][i] if s == 0 else r["right_row"][i])
        side = self._side(s)
        d: dict[str, Any] = {"side": SIDES[s], side.ref: self._refs(s, np.array([row]))[0]}
        if kind in ("invalid",):
            key = str(side.values(self.plan.key, np.array([row]))[0])
            # A key of another length may be a 個人番号 in the wrong column: masked like one.
            d["key"] = key if len(key) == 11 else mask(key)
            d["reason"] = REASONS[int(r["reason"][i])]
        elif kind != "bad_row":
            d["key"] = str(_code_text(r["key"][i:i + 1], 11)[0])
        if kind == "superseded":
            d["current_key"] = str(_code_text(r["other_key"][i:i + 1], 11)[0])
            o = 1 - s
            orow = int(r["left_row"][i] if o == 0 else r["right_row"][i])
            d[f"current_{self._side(o).ref}"] = self._refs(o, np.array([orow]))[0]
        if kind in ("duplicate", "paired_with_duplicate", "mynumber_conflict"):
            d["group"] = int(r["group"][i])
        if kind == "mynumber_conflict":
            d["mynumber"] = mask(f"{int(r['mynumber'][i]):012d}")
            d["kind"] = _conflict_text(int(r["reason"][i]))
        if kind == "invalid_mynumber":
            m = int(r["mynumber"][i])
            text = side.values(self.plan.mynumber, np.array([row]))[0] if m == MYNUMBER_BAD else f"{m:012d}"  # type: ignore[arg-type]
            d["mynumber"] = mask(text)
            d["reason"] = REASONS[int(r["reason"][i])]
        return d

    # -- detail ---------------------------------------------------------------------------------

    @property
    def detail(self) -> dict[str, np.ndarray]:
        """One row per finding, as numpy columns (built on first use)."""
        if self._detail is None:
            self._detail = self._build_detail()
        return self._detail

    def _build_detail(self) -> dict[str, np.ndarray]:
        r = self._raw
        n = len(r["class"])
        cls = r["class"]
        out: dict[str, np.ndarray] = {
            "class": np.array(ITEM_NAMES)[cls] if n else np.empty(0, dtype="U1"),
            "side": np.array(SIDES)[r["side"]] if n else np.empty(0, dtype="U1"),
            "key": _code_text(r["key"], 11),
        }
        for s, name in ((0, "left"), (1, "right")):
            rows = r[f"{name}_row"]
            out[f"{name}_row"] = np.where(rows == NONE, -1, rows.astype(np.int64))
            side = self._side(s)
            if side.ref != "row":
                out[f"{name}_{side.ref}"] = side.refs(out[f"{name}_row"])
        # Keys that did not parse are shown as written.
        for kind in ("invalid", "bad_row"):
            for s, name in ((0, "left"), (1, "right")):
                idx = np.flatnonzero((cls == _ITEM[kind]) & (r["side"] == s))
                if len(idx):
                    shown = np.asarray(self._side(s).values(self.plan.key, r[f"{name}_row"][idx]) if kind == "invalid"
                                       else [""] * len(idx), dtype=str)
                    wider = max(out["key"].dtype.itemsize, shown.dtype.itemsize) // 4
                    out["key"] = out["key"].astype(f"<U{wider}")
                    out["key"][idx] = shown
        masks = r["mask"]
        # Text columns are built as numpy ``U`` arrays from the few distinct values, never as
        # object arrays converted at the end (at 110 k findings that conversion cost 20 ms).
        fields: np.ndarray = np.empty(0, dtype="U1")
        if n:
            names = self.plan.compared_fields
            if r["mask_hi"].any():
                uniq, inv = np.unique(np.stack([masks, r["mask_hi"]], axis=1), axis=0, return_inverse=True)
            else:  # the usual case, and a much cheaper sort
                lo, inv = np.unique(masks, return_inverse=True)
                uniq = np.stack([lo, np.zeros_like(lo)], axis=1)
            text = ["|".join(f for b, f in enumerate(names) if (int(lo) | int(hi) << 64) >> b & 1) for lo, hi in uniq]
            fields = np.array(text, dtype=str)[inv.reshape(-1)]
        out["fields"] = fields
        out["mask"] = masks
        if len(self.plan.compared) > 64:
            out["mask_hi"] = r["mask_hi"]
        # Only a few findings have another key or a 個人番号: text for those alone.
        other = r["other_key"]
        out["other_key"] = _sparse_text(other, other != 0, 11) if n else np.empty(0, dtype="U1")
        mn = r["mynumber"]
        shown = (mn != MYNUMBER_EMPTY) & (mn != MYNUMBER_BAD)
        out["mynumber"] = _sparse_text(mn, shown, 12) if n else np.empty(0, dtype="U1")
        bad_mn = np.flatnonzero(mn == MYNUMBER_BAD)
        if len(bad_mn) and self.plan.mynumber is not None:
            col = out["mynumber"].astype(object)
            for s, name in ((0, "left"), (1, "right")):
                sel = bad_mn[r["side"][bad_mn] == s]
                if len(sel):
                    col[sel] = self._side(s).values(self.plan.mynumber, r[f"{name}_row"][sel])
            out["mynumber"] = col.astype(str)
        out["group"] = np.where(np.isin(cls, [_ITEM["duplicate"], _ITEM["paired_with_duplicate"],
                                              _ITEM["mynumber_conflict"]]), r["group"].astype(np.int64), -1)
        sel = np.flatnonzero(cls == _ITEM["mynumber_conflict"])
        conflicts = [_conflict_text(int(b)) for b in r["reason"][sel]]
        picks = [cls == _ITEM[kind] for kind in ("invalid", "invalid_mynumber", "lenient_key")]
        present = [REASONS[int(c)] for sel_k in picks for c in np.unique(r["reason"][sel_k])]
        reason = np.zeros(n, dtype=f"<U{max([1, *map(len, present), *map(len, conflicts)])}")
        for sel_k in picks:
            reason[sel_k] = np.array(REASONS)[r["reason"][sel_k]]
        reason[sel] = conflicts
        out["reason"] = reason
        return out

    def detail_values(self) -> dict[str, np.ndarray]:
        """The two values of every differing field of each differing pair, as columns
        ``<field>_left`` / ``<field>_right`` aligned with :attr:`detail` (empty elsewhere)."""
        r = self._raw
        n = len(r["class"])
        out: dict[str, np.ndarray] = {}
        diff = self._where("different")
        for bit, item in enumerate(self.plan.compared):
            field = self.plan.layout.items[item].field
            idx = diff[_bit(r, diff, bit)]
            for s, name in ((0, "left"), (1, "right")):
                col = np.full(n, "", dtype=object)
                if len(idx):
                    col[idx] = self._side(s).values(item, r[f"{name}_row"][idx])
                out[f"{field}_{name}"] = col.astype(str) if n else np.empty(0, dtype="U1")
        return out

    # -- output ---------------------------------------------------------------------------------

    def to_json(self, indent: int | None = 2) -> str:
        """The summary as JSON (個人番号 masked)."""
        return json.dumps(self.summary, ensure_ascii=False, indent=indent)

    def table(self) -> str:
        """The summary as a table for a terminal."""
        s = self.summary
        c = s["counts"]
        lay = self.plan.layout
        lines = [f"整合性確認 reconciliation · layout {s['layout']} · {s['mode']} comparison"
                 + ("" if s["strict"] else " · lenient 住民票コード")]
        for name in ("left", "right"):
            info = s[name]
            flags = [x for x, on in (("sorted", info["sorted"]), ("malformed lines", not info["aligned"])) if on]
            lines.append(f"  {name:<5} {info['kind']:<7} {info['source']}  {info['rows']:,} rows"
                         + (f" ({', '.join(flags)})" if flags else ""))
        lines.append(f"  result: {'AGREE' if s['agree'] else 'DIFFER'}")
        lines.append("")
        rows = [
            ("pairs compared", c["pairs"]),
            ("  same", c["same"]),
            ("  different", c["different"]),
            ("only on the left", c["only_left"]),
            ("only on the right", c["only_right"]),
            ("duplicate keys", c["duplicate_keys"]),
            ("  rows left / right", (c["duplicate_rows_left"], c["duplicate_rows_right"])),
            ("  paired with a duplicate", (c["paired_with_duplicate_left"], c["paired_with_duplicate_right"])),
            ("invalid 住民票コード", (c["invalid_left"], c["invalid_right"])),
            ("superseded 住民票コード", (c["superseded_left"], c["superseded_right"])),
            ("malformed rows", (c["bad_rows_left"], c["bad_rows_right"])),
            ("個人番号 under two persons", c["mynumber_conflicts"]),
            ("invalid 個人番号 (warning)", (c["invalid_mynumbers_left"], c["invalid_mynumbers_right"])),
        ]
        if not s["strict"]:
            rows.append(("lenient 住民票コード (warning)", (c["lenient_keys_left"], c["lenient_keys_right"])))
        for label, v in rows:
            text = f"{v[0]:>12,} / {v[1]:<,}" if isinstance(v, tuple) else f"{v:>12,}"
            lines.append(f"  {_pad(label, 30)}{text}")
        if c["different"]:
            lines.append("")
            lines.append("  differences by field")
            for f, n in s["fields"].items():
                if n:
                    lines.append(_pad(f"    {f} ({lay.item(f).name_ja})", 32) + f"{n:>12,}")
        samples = s["samples"].get("different", {})
        if samples:
            lines.append("")
            lines.append("  samples")
            for f, items in samples.items():
                for it in items[:3]:
                    lines.append(f"    {it['key']} {f}: 「{it['left']}」 ≠ 「{it['right']}」")
        t = s["timings"]
        shown = [(k, t[k]) for k in ("read", "transcode", "compare", "report", "total") if k in t]
        if shown:
            lines.append("")
            lines.append("  time " + ", ".join(f"{k.replace('_', ' ')} {v:.2f} s" for k, v in shown))
        return "\n".join(lines)

    __str__ = table

    def __repr__(self) -> str:
        c = self.summary["counts"]
        return (f"Result(agree={self.agree}, pairs={c['pairs']}, different={c['different']}, "
                f"only_left={c['only_left']}, only_right={c['only_right']})")

    def write(self, out_dir: str | os.PathLike[str], *, values: bool = True) -> dict[str, Path]:
        """Write ``summary.json``, ``detail.csv`` and a columnar copy of the detail to ``out_dir``.

        The columnar file is Parquet when polars is installed (``detail.parquet``), else a numpy
        ``detail.npz``. With ``values`` the detail carries both values of each differing field.
        The detail files carry full 個人番号 (a finding about a number must name it); the summary
        does not. Returns the paths written.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"summary": out / "summary.json"}
        paths["summary"].write_text(self.to_json() + "\n", encoding="utf-8")
        cols = dict(self.detail)
        if values:
            cols.update(self.detail_values())
        try:
            import polars as pl
        except ImportError:
            pl = None  # type: ignore[assignment]
        if pl is not None:
            # Text columns typed as text: an empty one converted through object would be an
            # object column, which the CSV writer refuses (sides that agree have no findings).
            df = pl.DataFrame([pl.Series(k, v.tolist(), dtype=pl.String) if v.dtype.kind == "U" else pl.Series(k, v)
                               for k, v in cols.items()])
            paths["detail_csv"] = out / "detail.csv"
            df.write_csv(paths["detail_csv"])
            paths["detail"] = out / "detail.parquet"
            df.write_parquet(paths["detail"])
        else:
            import csv

            paths["detail_csv"] = out / "detail.csv"
            with open(paths["detail_csv"], "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(cols)
                w.writerows(zip(*(v.tolist() for v in cols.values())))
            paths["detail"] = out / "detail.npz"
            np.savez(paths["detail"], **cols)
        return paths


def _width(text: str) -> int:
    """Columns ``text`` takes on a terminal (wide and full-width characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


def _conflict_text(bits: int) -> str:
    return "|".join(name for bit, name in CONFLICT_BITS if bits & bit)
