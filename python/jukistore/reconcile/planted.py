"""Planted differences: two sides that differ in a known way, and the exact report expected.

Why: a reconciliation is only trusted if it finds every difference and nothing else. So tests
(and anyone doubting a result) can take one side, plant a chosen number of differences of every
kind into copies of it, and check that the report equals what was planted — counts, fields and
the very keys — not merely that it looks plausible.

- :func:`synthetic` makes a base side of ``seigo`` columns (numpy ``S`` arrays, UTF-8), vectorised,
  with valid unique 住民票コード and 個人番号 from :mod:`jukistore.ids`.
- :func:`plant` takes a base side and :class:`Counts`, and returns a :class:`Planted`: the left and
  right columns, the superseded-code lists of each, and ``expected`` (counts, per-field counts and
  the keys of every finding), as :func:`jukistore.reconcile.reconcile` reports them.

Every planted change uses its own rows of the base, so no two changes meet, and numbers it
invents come from positions of the number sequences the base did not use, so they never collide.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from jukistore import ids
from jukistore.reconcile.sides import Plan, Side, plan as make_plan
from jukistore.synth import names as name_pools
from jukistore.synth import places

Columns = dict[str, np.ndarray]
SEIGO = "seigo"
#: Positions of the identifier sequences reserved for the base; planted numbers come after.
_RESERVE = 1 << 32


def _pool(strings: list[str]) -> npt.NDArray[np.bytes_]:
    return np.array([s.encode("utf-8") for s in strings])


def _dates(rng: np.random.Generator, n: int, first: str, last: str) -> npt.NDArray[np.bytes_]:
    if n == 0:  # numpy's text functions cannot size an empty result
        return np.empty(0, dtype="S8")
    lo, hi = np.datetime64(f"{first[:4]}-{first[4:6]}-{first[6:]}"), np.datetime64(f"{last[:4]}-{last[4:6]}-{last[6:]}")
    days = lo + rng.integers(0, int((hi - lo).astype(int)) + 1, size=n).astype("timedelta64[D]")
    ymd = days.astype("datetime64[D]").astype(str)  # YYYY-MM-DD
    return np.char.replace(ymd, "-", "").astype("S8")


def synthetic(n: int, seed: int = 0, *, gaiji: bool = True) -> Columns:
    """``n`` persons as ``seigo`` columns (UTF-8 ``S`` arrays), vectorised.

    Names and addresses come from the synthetic pools of :mod:`jukistore.synth` (with a few
    surnames outside JIS X 0208 when ``gaiji``, as real registers hold; leave them out for cp932
    files). 住民票コード and 個人番号 are valid, distinct and synthetic (positions ``0..n`` of the
    seeded sequences).
    """
    rng = np.random.default_rng(seed)
    surnames = [s for s, _ in name_pools.SURNAMES] + ([s for s, _ in name_pools.SURNAMES_GAIJI] if gaiji else [])
    given = [g for cohort in name_pools.MALE + name_pools.FEMALE for g, _ in cohort]
    sur, giv = _pool(surnames), _pool(given)
    name = np.char.add(np.char.add(sur[rng.integers(0, len(sur), n)], "\u3000".encode()), giv[rng.integers(0, len(giv), n)])
    towns = _pool([f"{places.PREFECTURE}{places.CITY}{t}" for t, *_ in places.TOWNS])
    kansuji = _pool([f"{k}丁目" for k in places.KANSUJI[1:7]])
    address = np.char.add(towns[rng.integers(0, len(towns), n)], kansuji[rng.integers(0, len(kansuji), n)])
    block, house = rng.integers(1, 40, n), rng.integers(1, 30, n)
    address = np.char.add(np.char.add(np.char.add(address, np.char.mod(b"%d", block)), "番".encode()),
                          np.char.add(np.char.mod(b"%d", house), "号".encode()))
    reasons = np.array([b"A1", b"A2", b"B1", b"C1", b"D1", b"E1"])
    return {
        "juminhyo_code": ids.juminhyo.to_text(ids.juminhyo.generate(n, seed)),
        "name": name,
        "birth_date": _dates(rng, n, "19200101", "20241231"),
        "sex": np.array([b"1", b"2"])[rng.integers(0, 2, n)],
        "address": address,
        "mynumber": ids.mynumber.to_text(ids.mynumber.generate(n, seed)),
        "change_reason": reasons[rng.integers(0, len(reasons), n)],
        "change_date": _dates(rng, n, "19900101", "20250331"),
    }


@dataclass(frozen=True)
class Counts:
    """How many differences of each kind to plant (see :func:`plant`)."""

    different: int = 0
    only_left: int = 0
    only_right: int = 0
    duplicate_left: int = 0
    duplicate_right: int = 0
    invalid_left: int = 0
    invalid_right: int = 0
    superseded_left: int = 0
    superseded_right: int = 0
    conflict_across: int = 0
    conflict_both: int = 0
    invalid_mynumber_right: int = 0

    def rows_needed(self) -> int:
        """Base rows the plants use (each conflict takes two: the holder and the copier)."""
        return sum(getattr(self, f.name) for f in fields(self)) + self.conflict_across + self.conflict_both


@dataclass
class Planted:
    """Two sides with planted differences and the report they must give."""

    left: Columns
    right: Columns
    left_superseded: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]
    right_superseded: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]
    #: ``counts`` and ``fields`` as in ``Result.summary``; ``findings``: for each finding kind,
    #: the sorted list of what identifies each finding (see :func:`findings`).
    expected: dict[str, Any] = field(default_factory=dict)

    def sides(self, layout: str = SEIGO) -> tuple[Side, Side]:
        """The two sides as :class:`Side` objects (columns with their superseded lists)."""
        p = make_plan(layout)
        return (Side.from_columns(self.left, p, superseded=self.left_superseded),
                Side.from_columns(self.right, p, superseded=self.right_superseded))

    def write(self, directory: str | os.PathLike[str], *, encoding: str = "utf-8", csv: bool = False,
              bad_lines_right: int = 0) -> tuple[str, str]:
        """Write both sides as fixed-width (or CSV) files in ``directory``; return their paths.

        Files cannot carry superseded-code lists, so plant no superseded rows for files.
        ``bad_lines_right`` malformed lines are inserted into the right file (fixed-width only);
        ``expected`` is updated for them (bad rows, and the right row count).
        """
        from jukistore import fileio

        if any(len(x[0]) for x in (self.left_superseded, self.right_superseded)):
            raise ValueError("files cannot carry superseded 住民票コード: plant none for files")
        suffix = ".csv" if csv else ".dat"
        paths = (os.path.join(directory, f"left{suffix}"), os.path.join(directory, f"right{suffix}"))
        for path, cols in zip(paths, (self.left, self.right)):
            if csv:
                rows = zip(*(np.char.decode(cols[f], "utf-8").tolist() for f in cols))
                fileio.write_csv(path, SEIGO, (list(r) for r in rows), encoding=encoding)
            else:
                fileio.write_fixed_columns(path, SEIGO, {f: np.char.decode(v, "utf-8") for f, v in cols.items()},
                                           encoding=encoding)
        if bad_lines_right:
            if csv:
                raise ValueError("bad lines are planted in fixed-width files only")
            with open(paths[1], "rb") as fh:
                lines = fh.read().split(b"\n")[:-1]
            rng = np.random.default_rng(len(lines))
            at = sorted(rng.integers(0, len(lines) + 1, bad_lines_right).tolist(), reverse=True)
            for k, pos in enumerate(at):
                lines.insert(pos, b"malformed line %d" % k)
            with open(paths[1], "wb") as fh:
                fh.write(b"\n".join(lines) + b"\n")
            c = self.expected["counts"]
            c["bad_rows_right"] += bad_lines_right
            c["right_rows"] += bad_lines_right
        return paths


def _bump_check(values: npt.NDArray[np.bytes_]) -> npt.NDArray[np.bytes_]:
    """The same numbers with the check digit (the last) changed: a checksum failure."""
    if not len(values):
        return values.copy()
    raw = np.ascontiguousarray(values).view(np.uint8).reshape(len(values), -1).copy()
    raw[:, -1] = (raw[:, -1] - ord("0") + 1) % 10 + ord("0")
    return raw.view(values.dtype).reshape(-1)


def _change(value: bytes, field_name: str, width: int, k: int) -> bytes:
    """A different value for one field, still valid in the layout (same kind of text, fits)."""
    text = value.decode("utf-8")
    if field_name in ("birth_date", "change_date"):
        y = int(text[:4])
        return f"{(y + 1 + k % 7) if y < 2020 else y - 1 - k % 7:04d}{text[4:]}".encode()
    if field_name == "sex":
        return b"2" if text == "1" else b"1"
    if field_name == "change_reason":
        return b"Z9" if text != "Z9" else b"Z8"
    mark = "甲乙丙丁"[k % 4]
    out = text + mark if len(text) < width else text[:-1] + ("戊" if text[-1] == mark else mark)
    return out.encode("utf-8")


def plant(base: Columns, counts: Counts, seed: int = 0, *, base_seed: int = 0) -> Planted:
    """Copies of ``base`` (seigo columns with valid unique numbers, e.g. from :func:`synthetic`
    with ``base_seed``) with ``counts`` differences planted, and the report expected.

    Left and right start as the base. Then, each on its own base rows: ``different`` right rows
    get 1..7 of their compared fields changed; ``only_left`` rows are dropped from the right and
    ``only_right`` new persons appended to it; ``duplicate_*`` rows appear twice on that side;
    ``invalid_*`` keys get a wrong check digit on that side; ``superseded_*`` rows carry, on that
    side, an old 住民票コード that the other side lists as superseded by the person's current one;
    ``conflict_across`` right rows take the 個人番号 of another person, ``conflict_both`` rows take
    it on both sides; ``invalid_mynumber_right`` right rows get a wrong 個人番号 check digit.
    """
    lay = make_plan(SEIGO).layout
    n = len(base["juminhyo_code"])
    if counts.rows_needed() > n:
        raise ValueError(f"{counts.rows_needed()} planted changes need at least as many base rows, got {n}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    # A base taken from a register has persons without a 個人番号 (removed before 2015); the plants
    # that copy or corrupt a number draw first, so rows holding one go first (a stable partition:
    # a base where everyone holds one keeps the plain permutation).
    has_mn = np.char.str_len(base["mynumber"][order]) > 0
    order = np.concatenate([order[has_mn], order[~has_mn]])
    taken = 0

    def rows(k: int) -> npt.NDArray[np.intp]:
        nonlocal taken
        out = np.sort(order[taken:taken + k])
        taken += k
        return out

    # Fresh numbers: positions of the sequences past what any base of this seed can use.
    fresh_start = _RESERVE + (seed % (1 << 20)) * 4096  # below 2^33: inside the 10^10 codes
    fresh_codes = ids.juminhyo.to_text(ids.juminhyo.generate(counts.only_right + counts.superseded_left
                                                             + counts.superseded_right, base_seed, fresh_start))
    fresh_mns = ids.mynumber.to_text(ids.mynumber.generate(counts.only_right, base_seed, fresh_start))
    used_codes = 0

    left = {f: np.array(v, copy=True) for f, v in base.items()}
    right = {f: np.array(v, copy=True) for f, v in base.items()}
    compared = [f for f in lay.fields if f != "juminhyo_code"]
    field_counts = dict.fromkeys(compared, 0)
    key = "juminhyo_code"
    found: dict[str, list[Any]] = {k: [] for k in (
        "different", "only_left", "only_right", "duplicate", "paired_with_duplicate", "invalid", "superseded",
        "mynumber_conflict", "invalid_mynumber")}

    def code_of(cols: Columns, r: int) -> str:
        return cols[key][r].decode()

    # Differing fields (never the 個人番号 here: that would be a 12-digit number of nobody, which
    # is a difference too, but the conflict and check-digit plants cover the number).
    diff_rows = rows(counts.different)
    text_fields = [f for f in compared if f != "mynumber"]
    for k, r in enumerate(diff_rows):
        chosen = sorted(rng.choice(len(text_fields), size=int(rng.integers(1, len(text_fields) + 1)), replace=False))
        names = [text_fields[i] for i in chosen]
        for f in names:
            col = right[f]
            new = _change(col[r], f, lay.item(f).width, k)
            if len(new) > col.dtype.itemsize:
                right[f] = col = col.astype(f"S{len(new)}")
            col[r] = new
            field_counts[f] += 1
        found["different"].append((code_of(base, r), "|".join(f for f in compared if f in names)))

    # 個人番号 of another person: across (right only) and on both sides.
    for kind, sides in (("across", (right,)), ("both", (left, right))):
        k = counts.conflict_across if kind == "across" else counts.conflict_both
        holders, copiers = rows(k), rows(k)
        for h, c in zip(holders, copiers):
            for cols in sides:
                cols["mynumber"][c] = base["mynumber"][h]
            if kind == "across":
                field_counts["mynumber"] += 1
                found["different"].append((code_of(base, c), "mynumber"))
                members = [("left", code_of(base, h)), ("right", code_of(base, h)), ("right", code_of(base, c))]
                bits = "within_right|across"
            else:
                members = [("left", code_of(base, h)), ("left", code_of(base, c)), ("right", code_of(base, h)),
                           ("right", code_of(base, c))]
                bits = "within_left|within_right|across"
            found["mynumber_conflict"].append((base["mynumber"][h].decode(), bits, tuple(sorted(members))))

    bad_mn = rows(counts.invalid_mynumber_right)
    right["mynumber"][bad_mn] = _bump_check(base["mynumber"][bad_mn])
    for r in bad_mn:
        field_counts["mynumber"] += 1
        found["different"].append((code_of(base, r), "mynumber"))
        found["invalid_mynumber"].append(("right", code_of(base, r), "checksum"))

    # Keys with a wrong check digit: not joined, so the other side's row is alone.
    inv_l, inv_r = rows(counts.invalid_left), rows(counts.invalid_right)
    left[key][inv_l] = _bump_check(base[key][inv_l])
    right[key][inv_r] = _bump_check(base[key][inv_r])
    for r in inv_l:
        found["invalid"].append(("left", code_of(left, r), "checksum"))
        found["only_right"].append(code_of(base, r))
    for r in inv_r:
        found["invalid"].append(("right", code_of(right, r), "checksum"))
        found["only_left"].append(code_of(base, r))

    # Stale copies under a superseded code: that side holds the old code, the other side lists
    # old → current.
    sup: dict[str, list[tuple[int, int]]] = {"left": [], "right": []}
    for side_name, k in (("left", counts.superseded_left), ("right", counts.superseded_right)):
        cols, other = (left, "right") if side_name == "left" else (right, "left")
        for r in rows(k):
            old = fresh_codes[used_codes]
            used_codes += 1
            cols[key][r] = old
            sup[other].append((int(old), int(base[key][r])))
            found["superseded"].append((side_name, old.decode(), code_of(base, r)))

    drop = rows(counts.only_left)
    for r in drop:
        found["only_left"].append(code_of(base, r))
    dup_l, dup_r = rows(counts.duplicate_left), rows(counts.duplicate_right)
    for side_name, dups in (("left", dup_l), ("right", dup_r)):
        for r in dups:
            found["duplicate"].append((side_name, code_of(base, r)))
            found["paired_with_duplicate"].append(("right" if side_name == "left" else "left", code_of(base, r)))

    # Assemble: the right loses its dropped rows, each side gains its duplicates, the right gains
    # new persons (copies of random rows under fresh numbers).
    keep = np.ones(n, dtype=bool)
    keep[drop] = False
    new_src = rng.integers(0, n, counts.only_right)
    left = {f: np.concatenate([v, v[dup_l]]) for f, v in left.items()}
    extra = {f: base[f][new_src].copy() for f in base}
    extra[key] = fresh_codes[used_codes:used_codes + counts.only_right]
    extra["mynumber"] = fresh_mns
    for c in extra[key]:
        found["only_right"].append(c.decode())
    right = {f: np.concatenate([v[keep], v[dup_r], extra[f].astype(v.dtype) if len(extra[f]) else v[:0]])
             for f, v in right.items()}

    pairs = n - counts.only_left - counts.duplicate_left - counts.duplicate_right - counts.invalid_left \
        - counts.invalid_right - counts.superseded_left - counts.superseded_right
    different = counts.different + counts.conflict_across + counts.invalid_mynumber_right
    expected_counts = {
        "left_rows": n + counts.duplicate_left,
        "right_rows": n - counts.only_left + counts.duplicate_right + counts.only_right,
        "pairs": pairs,
        "same": pairs - different,
        "different": different,
        "only_left": counts.only_left + counts.invalid_right,
        "only_right": counts.only_right + counts.invalid_left,
        "duplicate_keys": counts.duplicate_left + counts.duplicate_right,
        "duplicate_rows_left": 2 * counts.duplicate_left,
        "duplicate_rows_right": 2 * counts.duplicate_right,
        "paired_with_duplicate_left": counts.duplicate_right,
        "paired_with_duplicate_right": counts.duplicate_left,
        "invalid_left": counts.invalid_left,
        "invalid_right": counts.invalid_right,
        "superseded_left": counts.superseded_left,
        "superseded_right": counts.superseded_right,
        "bad_rows_left": 0,
        "bad_rows_right": 0,
        "invalid_mynumbers_left": 0,
        "invalid_mynumbers_right": counts.invalid_mynumber_right,
        "lenient_keys_left": 0,
        "lenient_keys_right": 0,
        "mynumber_conflicts": counts.conflict_across + counts.conflict_both,
    }

    def lists(pairs_: list[tuple[int, int]]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        return (np.array([p[0] for p in pairs_], dtype=np.uint64), np.array([p[1] for p in pairs_], dtype=np.uint64))

    return Planted(
        left=left,
        right=right,
        left_superseded=lists(sup["left"]),
        right_superseded=lists(sup["right"]),
        expected={"counts": expected_counts, "fields": field_counts,
                  "findings": {k: sorted(v) for k, v in found.items()}},
    )


def findings(result: Any) -> dict[str, list[Any]]:
    """What identifies each finding of a :class:`~jukistore.reconcile.Result`, in the form of
    ``Planted.expected["findings"]``: for each kind, a sorted list of

    - different: (key, differing fields joined by ``|``);
    - only_left / only_right: key;
    - duplicate / paired_with_duplicate: (side, key), one per key and side;
    - invalid: (side, key as written, reason);
    - superseded: (side holding the stale row, old key, current key);
    - mynumber_conflict: (個人番号, kinds, sorted (side, key) of the holders);
    - invalid_mynumber: (side, key, reason).
    """
    d = result.detail
    cls, side, key = d["class"], d["side"], d["key"]
    out: dict[str, list[Any]] = {}
    sel = cls == "different"
    out["different"] = sorted(zip(key[sel].tolist(), d["fields"][sel].tolist()))
    out["only_left"] = sorted(key[cls == "only_left"].tolist())
    out["only_right"] = sorted(key[cls == "only_right"].tolist())
    for kind in ("duplicate", "paired_with_duplicate"):
        sel = cls == kind
        out[kind] = sorted(set(zip(side[sel].tolist(), key[sel].tolist())))
    sel = cls == "invalid"
    out["invalid"] = sorted(zip(side[sel].tolist(), key[sel].tolist(), d["reason"][sel].tolist()))
    sel = cls == "superseded"
    out["superseded"] = sorted(zip(side[sel].tolist(), key[sel].tolist(), d["other_key"][sel].tolist()))
    sel = np.flatnonzero(cls == "mynumber_conflict")
    groups: dict[int, list[int]] = {}
    for i in sel:
        groups.setdefault(int(d["group"][i]), []).append(int(i))
    out["mynumber_conflict"] = sorted(
        (d["mynumber"][ix[0]], d["reason"][ix[0]], tuple(sorted((side[i], key[i]) for i in ix))) for ix in groups.values())
    sel = cls == "invalid_mynumber"
    out["invalid_mynumber"] = sorted(zip(side[sel].tolist(), key[sel].tolist(), d["reason"][sel].tolist()))
    return out
