"""The main job end to end on a synthetic ward: what jukistore does, in one command.

``jukistore demo`` generates a ward (about 300,000 residents plus removed persons, fixed seed),
writes it as a fixed-width master file, validates every number in it, loads it into a new store,
reads every person back in bulk and searches by 4情報, applies a year of residency events (moves,
household changes, departures, deaths, arrivals), reconciles the store against a copy with
planted differences (the report must equal what was planted), verifies the store, and writes a
readable report to the terminal and a self-contained HTML report (inline SVG charts, no network)
beside the store.

Each step is a function of :class:`Demo` returning a :class:`Step` (its lines for the terminal,
its figures for the charts), so steps are added without the command changing shape.
"""

from __future__ import annotations

import html
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

import numpy as np

from jukistore.cli.progress import Progress
from jukistore.ids import REASONS, juminhyo, mynumber

DEFAULT_RESIDENTS = 300_000
DEFAULT_SEED = 20261127


@dataclass
class Step:
    name: str
    seconds: float
    lines: list[str]
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Demo:
    """Runs the steps in order, keeping what each found for the report."""

    residents: int = DEFAULT_RESIDENTS
    seed: int = DEFAULT_SEED
    directory: Path = Path("jukistore-demo")
    out: TextIO | None = None
    steps: list[Step] = field(default_factory=list)

    def run(self) -> list[Step]:
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)
        for fn in (self.generate, self.validate, self.load, self.read_back, self.search, self.events,
                   self.reconcile, self.provide, self.purge, self.verify, self.audit):
            self._step(fn)
        self.write_html(self.directory / "report.html")
        self._print(f"\nHTML report: {self.directory / 'report.html'}")
        return self.steps

    # ---- steps ---------------------------------------------------------------------------

    def generate(self) -> Step:
        from jukistore import synth

        with Progress("generate", 2) as bar:  # phases: the columns, then the master file
            t0 = time.perf_counter()
            ward = synth.ward(residents=self.residents, seed=self.seed)
            gen = time.perf_counter() - t0
            bar.update(1)
            self.ward = ward
            files = ward.write(self.directory, "fixed")
            bar.update(2)
        summ = ward.summary()
        status = {"current (在籍)": ward.residents, "removed (除票)": ward.removed}
        planted = {k: v for k, v in summ.items() if k not in ("rows", "residents", "removed", "households", "foreign") and v}
        return Step("generate", 0, [
            f"synthetic ward, seed {self.seed}: {len(ward):,} persons ({ward.residents:,} current, {ward.removed:,} removed), "
            f"{ward.households:,} households, {ward.foreign:,} foreign residents, generated in {gen:.1f} s",
            f"rare cases planted: {planted}",
            f"master file {files[0].name}: {files[0].stat().st_size / 1e6:,.0f} MB fixed-width UTF-8",
        ], {"population": status, "planted": planted})

    def validate(self) -> Step:
        codes = self.ward.column(30)
        mns = self.ward.column(81)
        mns = mns[mns != b""]
        t0 = time.perf_counter()
        rc = np.bincount(juminhyo.explain_many(codes), minlength=4)
        rm = np.bincount(mynumber.explain_many(mns), minlength=4)
        dt = time.perf_counter() - t0
        lines = [f"住民票コード: {int(rc[0]):,} valid of {len(codes):,}" + _bad(rc),
                 f"個人番号:     {int(rm[0]):,} valid of {len(mns):,}" + _bad(rm),
                 f"{len(codes) + len(mns):,} check digits in {dt * 1000:.0f} ms"]
        return Step("validate", 0, lines, {"codes": rc.tolist(), "mynumbers": rm.tolist()})

    def load(self) -> Step:
        from jukistore.store import Operator, Store

        admin = Operator("demo-admin", "demo-terminal-1")
        op = Operator("demo-clerk", "demo-terminal-2")
        self.admin, self.clerk = admin, op
        self.approver, self.auditor = Operator("demo-approver", "demo-terminal-3"), Operator("demo-auditor", "demo-terminal-4")
        store = Store.create(self.directory / "store", "131075", administrator=admin)
        for who, role in ((op, "clerk"), (self.approver, "approver"), (self.auditor, "auditor")):
            store.roles.grant(who.operator_id, role, by=admin, note="demo")
        self.store = store.acting(op, "demo: the main job on a synthetic ward")
        total = len(self.ward)
        t0 = time.perf_counter()
        with Progress("load", total) as bar:
            rep = self.store.load(self.ward.records(), operator=op, batch_size=50_000,  # type: ignore[arg-type]
                                  durable=False, progress=bar.update)
        dt = time.perf_counter() - t0
        st = self.store.stats()
        return Step("load", 0, [
            f"{rep.loaded:,} persons in {rep.batches} transactions, {rep.loaded / dt:,.0f} persons/s",
            f"store file {st['file_size'] / 1e6:,.0f} MB; last 更新順番号 {st['last_seq']:,}",
        ], {"rate": rep.loaded / dt})

    def verify(self) -> Step:
        rep = self.store.verify()
        return Step("verify", 0, [f"{rep.persons:,} persons, every index checked: "
                                  + ("consistent" if rep.ok else f"{len(rep.problems)} problems")], {"ok": rep.ok})

    def read_back(self) -> Step:
        codes = self.ward.column(30).astype(np.uint64)
        rng = np.random.default_rng(self.seed)
        rng.shuffle(codes)
        t0 = time.perf_counter()
        res = self.store.get_many(codes)
        dt = time.perf_counter() - t0
        found = int(res.found.sum())
        lines = [f"get_many of all {len(codes):,} 住民票コード in random order: {found:,} found, "
                 f"{len(codes) / dt:,.0f} records/s"]
        return Step("read back", 0, lines, {"rate": len(codes) / dt, "ok": found == len(codes)})

    def search(self) -> Step:
        n = len(self.ward)
        recs = [self.store.get(person_id=pid) for pid in (1, n // 3, (2 * n) // 3)]
        lines = []
        hits_total = 0
        t0 = time.perf_counter()
        for p in recs:
            if p is None:
                continue
            r = p.record
            hits = self.store.search(name_kana=r.name_kana, birth_date=r.birth_date)
            hits_total += len(hits)
            lines.append(f"4情報 search (清音化 name + birth date) for person {p.person_id}: {len(hits)} match"
                         + ("" if len(hits) == 1 else "es"))
        dt = time.perf_counter() - t0
        lines.append(f"{len(recs)} searches in {dt * 1000:.1f} ms")
        return Step("search", 0, lines, {"hits": hits_total})

    def events(self) -> Step:
        """A year of residency events: moves, household changes, departures, deaths, arrivals."""
        from jukistore.history import Event, EventCode, Register
        from jukistore.synth import events as synth_events

        reg = Register(self.store)
        op = self.clerk
        batches = synth_events.plan_year(self.ward.current_mask, "20250402", seed=self.seed)
        arrivals = synth_events.newcomers(set(self.ward.text(30)), set(self.ward.text(81)) - {""},
                                          int(self.ward.residents * synth_events.MOVE_IN_RATE), seed=self.seed + 1)
        total = sum(len(b) for b in batches) + len(arrivals)
        counts: dict[str, int] = {}
        first = self.store.stats()["last_seq"]
        self.first_event_seq = first
        t0 = time.perf_counter()
        with self.store.unsynced():  # one sync at the end, not one per transaction
            with Progress("events", total) as bar:
                for b in batches:
                    reg.apply_many(b.code, b.persons, b.dates, b.changes, operator=op)
                    counts[b.code.name] = len(b)
                    bar.update(bar.done + len(b))
                for k in range(0, len(arrivals), 5_000):
                    part = arrivals[k : k + 5_000]
                    reg.apply([Event(EventCode.転入, "20250402", record=r) for r in part], operator=op)
                    bar.update(bar.done + len(part))
                counts[EventCode.転入.name] = len(arrivals)
        dt = time.perf_counter() - t0
        last = self.store.stats()["last_seq"]
        feed = reg.changes(since=first, limit=5)
        return Step("events", 0, [
            "a year of 異動: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
            f"{total:,} events in {dt:.1f} s, {total / dt:,.0f} events/s; 更新順番号 {first + 1:,}..{last:,}",
            f"change feed from {first:,}: first entries {[(c.seq, c.event.name if hasattr(c.event, 'name') else c.event) for c in feed]}",
        ], {"events": counts, "rate": total / dt, "ok": last - first == total})

    def reconcile(self) -> Step:
        """The store against a copy with planted differences: the report must be exactly the truth."""
        from jukistore import fileio
        from jukistore.reconcile import Side, plan, planted, reconcile
        from jukistore.reconcile.sides import fixed_array

        bar = Progress("reconcile", 4)  # phases: export, plant, write the copy, compare
        t0 = time.perf_counter()
        p = plan("seigo")
        side = Side.from_store(self.store, p)
        rows = np.arange(side.rows, dtype=np.uint32)
        base = {}
        for item, name in enumerate(p.layout.fields):
            base[name] = fixed_array(*side.field_bytes(item, rows))
        bar.update(1)
        k = max(1, side.rows // 10_000)
        counts = planted.Counts(different=10 * k, only_left=3 * k, only_right=3 * k, duplicate_right=k,
                                invalid_right=k, conflict_across=k, invalid_mynumber_right=k)
        plant = planted.plant(base, counts, seed=self.seed)
        bar.update(2)
        copy = self.directory / "prefecture-copy.dat"
        fileio.write_fixed_columns(copy, "seigo", {f: np.char.decode(v, "utf-8") for f, v in plant.right.items()})
        bar.update(3)
        prep = time.perf_counter() - t0
        with bar:
            result = reconcile(self.store, copy)
            bar.update(4)
        got = result.summary["counts"]
        want = plant.expected["counts"]
        exact = planted.findings(result) == plant.expected["findings"] and all(got[c] == want[c] for c in want)
        result.write(self.directory / "reconcile")
        classes = {c: int(got[c]) for c in ("different", "only_left", "only_right", "duplicate_keys", "invalid_right",
                                            "mynumber_conflicts", "invalid_mynumbers_right")}
        t = result.summary["timings"]["total"]
        return Step("reconcile", 0, [
            f"store ({got['left_rows']:,} rows, removed persons included) against a copy ({got['right_rows']:,} rows) "
            f"with planted differences, prepared in {prep:.1f} s",
            f"compared in {t:.2f} s ({(got['left_rows'] + got['right_rows']) / 2 / t:,.0f} rows/s a side): "
            + ", ".join(f"{k} {v:,}" for k, v in classes.items() if v),
            "differing fields: " + ", ".join(f"{k} {v:,}" for k, v in result.summary["fields"].items() if v),
            "report equals the planted truth exactly" if exact else "REPORT DIFFERS FROM THE PLANTED TRUTH",
            f"detail written to {self.directory / 'reconcile'} (CSV, Parquet, JSON)",
        ], {"classes": classes, "fields": {k: int(v) for k, v in result.summary["fields"].items()}, "ok": exact})

    def provide(self) -> Step:
        """This year's changed persons to the prefecture (本人確認情報), in its projection only: bulk
        output, so a second operator approves it; the provision is recorded."""
        from jukistore.history import Register

        feed = Register(self.store).iter_changes(since=self.first_event_seq)
        changed = np.unique(np.fromiter((c.person_id for c in feed), dtype=np.uint64))
        t0 = time.perf_counter()
        prov = self.store.provide("prefecture", changed, approved_by=self.approver)
        dt = time.perf_counter() - t0
        found = sum(r is not None for r in prov.rows)
        return Step("provide", 0, [
            f"to {prov.recipient.name_ja} ({prov.recipient.legal_basis}): {found:,} persons changed this year, "
            f"fields {', '.join(prov.fields)} only; bulk output approved by {self.approver.operator_id}",
            f"provision record {prov.seq} written, {dt * 1000:.0f} ms",
        ], {"provided": found, "fields": len(prov.fields), "ok": found == len(changed) and len(prov.fields) == 8})

    def purge(self) -> Step:
        """What is past retention today, erased and proven gone; one person under a legal hold kept."""
        import datetime as _dt
        import gc

        from jukistore.retention import holds, plan, purge
        from jukistore.store import Store

        as_of = _dt.datetime.now(_dt.timezone.utc).date()
        p = plan.make_plan(self.store, as_of)
        held = int(p.person_ids[0]) if len(p.person_ids) else None
        if held is not None:
            holds.place(self.store, held, case="demo-hold-1", operator=self.clerk)
        path = self.store.path
        self.store = None  # type: ignore[assignment]  # a purge takes the store to itself
        del p
        gc.collect()
        with Progress("purge", 0) as bar:
            receipt = purge.run(path, as_of, operator=self.clerk, approver=self.approver, batch_size=10_000,
                                progress=lambda phase, done, total: bar.update(done))
        self.store = Store.open(path, operator=self.clerk, purpose="demo: the main job on a synthetic ward")
        kept = held is not None and self.store.get(person_id=held) is not None
        per_rule = {r["id"]: r["due"] for r in receipt.rules if r.get("due")}
        s = receipt.scan
        ok = (s["number_hits"] == 0 and s["name_hits"] == 0 and s["verify_clean"] and s["purged_ids_found"] == 0
              and (held is None or kept))
        return Step("purge", 0, [
            f"as of {as_of}: due per rule {per_rule}; 1 person under a legal hold kept: {kept}",
            f"{receipt.persons_purged:,} persons and {receipt.versions_purged:,} superseded versions erased, approved by "
            f"{receipt.approver['operator_id']}; data file {receipt.file_bytes_before / 1e6:,.0f} MB → "
            f"{receipt.file_bytes_after / 1e6:,.0f} MB",
            f"byte scan of {s['files']} files ({s['bytes'] / 1e6:,.0f} MB) for {s['samples']:,} samples of the purged "
            f"numbers and names: {s['number_hits'] + s['name_hits']} found; verify "
            f"{'clean' if s['verify_clean'] else 'NOT clean'}",
            f"receipt {receipt.run_id}, purged ids digest {receipt.purged_ids_digest[:16]}…",
        ], {"purged": {"persons": receipt.persons_purged, "superseded versions": receipt.versions_purged},
            "per_rule": per_rule, "ok": ok})

    def audit(self) -> Step:
        """The access and provision logs: every read of this run is there, and the chains verify."""
        from jukistore.access.log import search

        audit = self.store.audit
        audit.flush()
        reports = audit.verify()
        auditor = self.store.acting(self.auditor, "demo: audit of this run")
        entries = {name: r.entries for name, r in reports.items()}
        mine = sum(1 for _ in search(auditor.audit, operator=self.clerk.operator_id))
        ok = all(r.ok for r in reports.values())
        lines = [", ".join(f"{n}: {k:,} entries" for n, k in entries.items()),
                 f"hash chains and sealed checkpoints: {'intact' if ok else 'PROBLEMS'}"
                 + ("" if ok else " — " + "; ".join(str(p) for r in reports.values() for p in r.problems[:3])),
                 f"reads by {self.clerk.operator_id} found by an auditor's search: {mine:,} entries"]
        return Step("audit", 0, lines, {"entries": entries, "ok": ok and mine > 0})

    # ---- report --------------------------------------------------------------------------

    def _step(self, fn: Callable[[], Step]) -> None:
        self._print(f"\n== {fn.__name__.replace('_', ' ')}")
        t0 = time.perf_counter()
        step = fn()
        step.seconds = time.perf_counter() - t0
        self.steps.append(step)
        for line in step.lines:
            self._print(f"   {line}")
        self._print(f"   ({step.seconds:.1f} s)")

    def _print(self, s: str) -> None:
        print(s, file=self.out or sys.stdout, flush=True)

    def write_html(self, path: Path) -> None:
        path.write_text(render_html(self.steps, self.residents, self.seed), encoding="utf-8")


def _bad(counts: np.ndarray) -> str:
    bad = {REASONS[i]: int(counts[i]) for i in range(1, 4) if counts[i]}
    return f"; invalid: {bad}" if bad else "; none invalid"


def _bar_chart(title: str, values: dict[str, float], unit: str = "") -> str:
    """A horizontal bar chart as inline SVG (no scripts, no network)."""
    w, row, left = 640, 28, 220
    h = row * len(values) + 40
    top = max(values.values(), default=1) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="0" y="18" font-size="15" font-weight="bold">{html.escape(title)}</text>']
    for i, (label, v) in enumerate(values.items()):
        y = 30 + i * row
        bw = (w - left - 120) * (v / top)
        parts.append(f'<text x="0" y="{y + 17}" font-size="13">{html.escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{bw:.1f}" height="18" fill="#2f6db5"/>')
        parts.append(f'<text x="{left + bw + 6:.1f}" y="{y + 17}" font-size="13">{v:,.0f}{unit}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(steps: list[Step], residents: int, seed: int) -> str:
    by = {s.name: s for s in steps}
    charts = []
    if "generate" in by:
        charts.append(_bar_chart("Population by status", by["generate"].data["population"]))
    if "validate" in by:
        v = by["validate"].data
        charts.append(_bar_chart("Numbers by check result",
                                 {f"住民票コード {REASONS[i]}": v["codes"][i] for i in range(4)}
                                 | {f"個人番号 {REASONS[i]}": v["mynumbers"][i] for i in range(4)}))
    if "events" in by:
        charts.append(_bar_chart("Events by type (a year)", by["events"].data["events"]))
    if "purge" in by:
        charts.append(_bar_chart("Purged past retention", by["purge"].data["purged"]))
    if "reconcile" in by:
        charts.append(_bar_chart("Reconciliation differences by class", by["reconcile"].data["classes"]))
        charts.append(_bar_chart("Differing pairs by field", by["reconcile"].data["fields"]))
    rates = {s.name: s.data["rate"] for s in steps if "rate" in s.data}
    if rates:
        charts.append(_bar_chart("Throughput", rates, "/s"))
    charts.append(_bar_chart("Time per step", {s.name: s.seconds * 1000 for s in steps}, " ms"))
    rows = "".join(
        f"<tr><td>{html.escape(s.name)}</td><td>{s.seconds:.2f} s</td><td>{'<br>'.join(html.escape(x) for x in s.lines)}</td></tr>"
        for s in steps)
    return f"""<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>jukistore demo report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #bbb;padding:.3em .6em;vertical-align:top}}svg{{display:block;margin:1.5em 0}}</style></head>
<body><h1>jukistore demo</h1>
<p>Synthetic ward of {residents:,} residents (seed {seed}); no real person's data.</p>
{''.join(charts)}
<h2>Steps</h2><table><tr><th>step</th><th>time</th><th>result</th></tr>{rows}</table>
<script type="application/json" id="data">{html.escape(json.dumps({s.name: s.data for s in steps}, ensure_ascii=False))}</script>
</body></html>
"""
