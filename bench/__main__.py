"""Run every benchmark suite at one scale and report rates and ratios against the anchors.

    python -m bench                                  # default scale, results in bench/results/
    python -m bench --scale smoke                    # seconds: does every benchmark still run and agree?
    python -m bench --scale full --out results-full  # the sizes the performance targets name
    python -m bench --suite store --set STORE_N=500000 -- -k get_many

The command runs pytest on the suites (``bench/bench_*.py``) with ``--benchmark-enable``, the
sizes of the chosen scale (bench/sizes.py) and ``--benchmark-json=OUT/results.json``, then writes

- ``OUT/results.json``: pytest-benchmark's own JSON (every round of every benchmark);
- ``OUT/results.md``: per operation, each implementation's rate (items a second, from its best
  round) and how many times faster jukistore is, with the machine and the sizes it ran at;
- ``OUT/speedup-<suite>.png``: bar charts of those ratios, one per suite;

and prints the table. Every run is also saved in pytest-benchmark's storage
(``.benchmarks/<scale>/``), so ``--compare`` (or ``-- --benchmark-compare=0001``) compares a run
with an earlier one at the same scale, as ``pytest --benchmark-compare`` does; two JSON files
can be compared with ``pytest-benchmark compare A/results.json B/results.json``.

Ratios are reported, never asserted: the machine this runs on may be shared, which is why each
anchor runs beside jukistore in the same run. The run fails only when a benchmark fails (an
implementation errors or disagrees with the others).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from sizes import PREFIX, SCALE_VARIABLE, SCALES  # noqa: E402

#: The implementation every ratio is about; other impls of a group are anchors unless they are
#: variants of it ("jukistore, <variant>").
SUBJECT = "jukistore"


def suites() -> list[str]:
    """The suite names: ``bench_<name>.py`` in this folder."""
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; everything after ``--`` goes to pytest unchanged."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        k = argv.index("--")
        argv, extra = argv[:k], argv[k + 1 :]
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="scales (sizes by name; see bench/sizes.py):\n" + scale_table())
    ap.add_argument("--scale", choices=list(SCALES), default="default", help="sizes of every suite (default: default)")
    ap.add_argument("--out", type=Path, default=HERE / "results", help="folder for results.json, results.md, *.png")
    ap.add_argument("--suite", action="append", choices=suites(), help="run only this suite (repeatable)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override one size, e.g. STORE_N=500000 (repeatable)")
    ap.add_argument("--compare", nargs="?", const="", metavar="RUN",
                    help="compare with a run saved at the same scale (the last one, or RUN such as 0003)")
    ap.add_argument("--no-save", action="store_true", help="do not save the run in .benchmarks/<scale>/")
    ap.add_argument("--report-only", action="store_true", help="only rewrite the report from OUT/results.json")
    args = ap.parse_args(argv)
    args.pytest_args = extra
    return args


def scale_table() -> str:
    """The scales as aligned text, for --help."""
    names = list(next(iter(SCALES.values())))
    lines = [f"  {'':<20}" + "".join(f"{s:>12}" for s in SCALES)]
    lines += [f"  {n:<20}" + "".join(f"{SCALES[s][n]:>12,}" for s in SCALES) for n in names]
    return "\n".join(lines)


def sizes_for(scale: str, overrides: list[str]) -> dict[str, int]:
    """The sizes of ``scale`` with the ``NAME=VALUE`` overrides applied (unknown names refused)."""
    sizes = dict(SCALES[scale])
    for item in overrides:
        name, sep, value = item.partition("=")
        name = name.strip().upper().removeprefix(PREFIX)
        if not sep or name not in sizes:
            raise SystemExit(f"--set {item!r}: expected NAME=VALUE with NAME one of {', '.join(sizes)}")
        sizes[name] = int(float(value.replace("_", "")))
    return sizes


def run_pytest(args: argparse.Namespace, sizes: dict[str, int], json_path: Path) -> int:
    """The suites under pytest-benchmark, sizes passed through the environment; pytest's exit code."""
    env = dict(os.environ)
    env[SCALE_VARIABLE] = args.scale
    env.update({PREFIX + k: str(v) for k, v in sizes.items()})
    # Fewer numba/OpenMP spinning workers stealing the time of whatever is timed next.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    files = [str(HERE / f"bench_{s}.py") for s in (args.suite or suites())]
    cmd = [sys.executable, "-m", "pytest", *files, "-p", "no:cacheprovider", "-q", "--benchmark-enable",
           f"--benchmark-json={json_path}", "--benchmark-columns=min,median,max,rounds",
           "--benchmark-sort=name", f"--benchmark-storage={ROOT / '.benchmarks' / args.scale}"]
    if not args.no_save:
        cmd.append("--benchmark-autosave")
    if args.compare is not None:
        cmd.append("--benchmark-compare" + (f"={args.compare}" if args.compare else ""))
    cmd += args.pytest_args
    # The suites' files (stores, copies, generated files: gigabytes at the larger scales) go to a
    # temporary folder of this run, removed after it.
    with tempfile.TemporaryDirectory(prefix="jukistore-bench-") as tmp:
        cmd.append(f"--basetemp={Path(tmp) / 'pytest'}")
        print("+ " + " ".join(cmd[1:]), flush=True)
        return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode


# ---- the report ---------------------------------------------------------------------------------


def machine(data: dict[str, Any]) -> dict[str, str]:
    """CPU model, cores, memory, Python, OS and date of the run (from pytest-benchmark's JSON and /proc)."""
    info = data.get("machine_info", {})
    cpu = info.get("cpu", {}).get("brand_raw") or platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
        cpu = model or cpu
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        ram = f"{mem:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        ram = "unknown"
    try:
        from jukistore import _core

        version = str(_core.__version__)
    except Exception:  # the report can be written without the package
        version = "?"
    commit = data.get("commit_info", {})
    return {
        "CPU": f"{cpu}, {info.get('cpu', {}).get('count', os.cpu_count())} cores",
        "RAM": ram,
        "Python": f"{info.get('python_implementation', '')} {info.get('python_version', platform.python_version())}",
        "OS": f"{info.get('system', platform.system())} {info.get('release', platform.release())}",
        "date": str(data.get("datetime", ""))[:19].replace("T", " ") + " UTC",
        "jukistore": f"{version} (commit {str(commit.get('id', '?'))[:10]}{', with local changes' if commit.get('dirty') else ''})",
    }


def rows_of(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Group -> one row per implementation: rate from the best round, and jukistore's speed-up over it."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for b in data["benchmarks"]:
        extra = b.get("extra_info", {})
        if "impl" not in extra or "items" not in extra:
            # Not timed through the measure fixture: no rate can be computed; said in the report.
            groups["(without impl and items: use the measure fixture)"].append({
                "impl": b["fullname"], "items": 0, "unit": "", "seconds": b["stats"]["min"],
                "median": b["stats"]["median"], "rounds": b["stats"]["rounds"], "rate": math.nan})
            continue
        best = b["stats"]["min"]
        groups[b["group"] or b["fullname"]].append({
            "impl": extra["impl"], "items": extra["items"], "unit": extra.get("unit", "items"),
            "seconds": best, "median": b["stats"]["median"], "rounds": b["stats"]["rounds"],
            "rate": extra["items"] / best if best > 0 else math.inf,
        })
    for rows in groups.values():
        subject = next((r for r in rows if r["impl"] == SUBJECT), None)
        for r in rows:
            is_anchor = not r["impl"].startswith(SUBJECT)
            r["speedup"] = subject["rate"] / r["rate"] if subject and is_anchor else None
        rows.sort(key=lambda r: (not r["impl"].startswith(SUBJECT), r["impl"] != SUBJECT, -r["rate"]))
    return dict(groups)


def ratio_text(ratio: float) -> str:
    """A speed-up: 1,368×, 31.9×, 0.7×, 0.016×."""
    if ratio >= 100:
        return f"{ratio:,.0f}×"
    return f"{ratio:.1f}×" if ratio >= 0.1 else f"{ratio:.2g}×"


def rate_text(rate: float) -> str:
    """A rate with a thousands suffix: 226 M, 1.2 M, 35 k."""
    if math.isnan(rate):
        return "?"
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if rate >= div:
            v = rate / div
            return f"{v:,.1f}{suffix}" if v < 100 else f"{v:,.0f}{suffix}"
    return f"{rate:,.1f}" if rate < 100 else f"{rate:,.0f}"


def markdown(data: dict[str, Any], groups: dict[str, list[dict[str, Any]]], meta: dict[str, Any]) -> str:
    """The report: the machine, the sizes, one table of every group's rates and ratios."""
    lines = ["# jukistore benchmarks", "",
             f"Scale `{meta.get('scale', '?')}`"
             + (f", whole run {meta['seconds'] / 60:.1f} min" if meta.get("seconds") else "")
             + ". Rates are work units a second from each benchmark's best round; the last column is how "
               "many times faster jukistore is than the anchor on its row, both measured in this run.", ""]
    lines += [f"- {k}: {v}" for k, v in machine(data).items()]
    if meta.get("sizes"):
        lines.append("- sizes: " + ", ".join(f"{k}={v:,}" for k, v in meta["sizes"].items()))
    lines += ["", "| operation | implementation | items a call | rate (/s) | best s | rounds | jukistore speed-up |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for group, rows in groups.items():
        for i, r in enumerate(rows):
            speed = "" if r["speedup"] is None else ratio_text(r["speedup"])
            lines.append(f"| {group if i == 0 else ''} | {r['impl']} | {r['items']:,} {r['unit']} | "
                         f"{rate_text(r['rate'])} | {r['seconds']:.4g} | {r['rounds']} | {speed} |")
    return "\n".join(lines) + "\n"


def charts(groups: dict[str, list[dict[str, Any]]], out: Path, title: str) -> list[Path]:
    """One horizontal bar chart per suite: jukistore's speed-up over each anchor (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    # Fonts that can draw the Japanese of the group names, when the machine has one.
    from matplotlib import font_manager

    collections = font_manager.findSystemFonts(fontext="ttc")  # type: ignore[arg-type]  # not indexed by default
    for font in collections:
        if "CJK" in Path(font).name or "Gothic" in Path(font).name:
            try:
                font_manager.fontManager.addfont(font)
            except (OSError, RuntimeError, ValueError):
                pass
    have = {f.name for f in font_manager.fontManager.ttflist}
    cjk = [f for f in ("Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", "TakaoGothic", "VL Gothic") if f in have]
    plt.rcParams["font.family"] = [*cjk, "DejaVu Sans"]
    by_suite: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for group, rows in groups.items():
        suite = group.split(":", 1)[0] if ":" in group else "other"
        for r in rows:
            if r["speedup"] is not None:
                by_suite[suite].append((f"{group.split(':', 1)[-1].strip()}\nvs {r['impl']}", r["speedup"]))
    written = []
    for suite, bars in by_suite.items():
        labels, values = [b[0] for b in bars][::-1], [b[1] for b in bars][::-1]
        fig, ax = plt.subplots(figsize=(9, 0.55 * len(bars) + 1.4))
        colours = ["#2a7ab0" if v >= 1 else "#c0504d" for v in values]
        ax.barh(range(len(values)), values, color=colours)
        ax.set_yticks(range(len(values)), labels, fontsize=8)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}×"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.axvline(1, color="black", linewidth=0.8)
        lo, hi = min(values + [1.0]), max(values + [1.0])
        ax.set_xlim(lo / 2, hi * 4)
        for k, v in enumerate(values):
            ax.text(max(v, 1.0) * 1.08, k, ratio_text(v), va="center", fontsize=8)
        ax.set_xlabel("jukistore speed-up over the anchor (× , log scale; 1 = as fast)")
        ax.set_title(f"{suite}: {title}", fontsize=10)
        fig.tight_layout()
        png = out / f"speedup-{suite}.png"
        fig.savefig(png, dpi=110)
        plt.close(fig)
        written.append(png)
    return written


def report(out: Path, meta: dict[str, Any]) -> str:
    """Write results.md and the charts from OUT/results.json; return the markdown."""
    data = json.loads((out / "results.json").read_text())
    meta_path = out / "run.json"
    if not meta and meta_path.exists():
        meta = json.loads(meta_path.read_text())
    groups = rows_of(data)
    text = markdown(data, groups, meta)
    (out / "results.md").write_text(text)
    for old in out.glob("speedup-*.png"):
        old.unlink()
    m = machine(data)
    charts(groups, out, f"scale {meta.get('scale', '?')}, {m['CPU']}, {m['date']}")
    return text


def main(argv: list[str] | None = None) -> int:
    """Run the suites, then write and print the report; pytest's exit code (0 when all passed)."""
    args = parse_args(argv)
    out: Path = args.out
    if args.report_only:
        print(report(out, {}))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    sizes = sizes_for(args.scale, args.set)
    json_path = (out / "results.json").resolve()
    json_path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    code = run_pytest(args, sizes, json_path)
    seconds = time.perf_counter() - t0
    if not json_path.exists():
        print(f"no results: pytest exited with {code}", file=sys.stderr)
        return code or 1
    meta = {"scale": args.scale, "sizes": sizes, "seconds": seconds,
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    (out / "run.json").write_text(json.dumps(meta, indent=1))
    print()
    print(report(out, meta))
    print(f"{seconds:.0f} s; written: {out / 'results.json'}, {out / 'results.md'}, "
          f"{', '.join(p.name for p in sorted(out.glob('speedup-*.png')))}")
    return code


if __name__ == "__main__":
    sys.exit(main())
