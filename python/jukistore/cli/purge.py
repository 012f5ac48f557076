"""Purge subcommands: ``purge plan``, ``purge run``, ``purge hold``, ``purge unhold``, ``purge holds``.

Nothing here prints personal data: plans and receipts are counts, dates, rule ids and operator ids;
holds are listed by internal person id and case reference.

``purge run`` is run by an operator with the write right and approved by a second operator with
the purge_approve right (the approver role), both as the store's roles record them
(``jukistore operators grant``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path

from jukistore.cli import EXIT_ERROR, EXIT_FINDING, EXIT_OK, CliError
from jukistore.cli.argtypes import positive, whole
from jukistore.cli.store import _operator_args, operator_from


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    top = sub.add_parser("purge", help="retention: plan and run purges, legal holds")
    psub = top.add_subparsers(dest="purge_command", metavar="ACTION")
    psub.required = True

    p = psub.add_parser("plan", help="what a purge as of a date would erase, counted per rule")
    p.add_argument("store", type=Path)
    p.add_argument("--as-of", type=_date, default=None, help="YYYY-MM-DD (default: today in Japan)")
    _rule_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plan)

    p = psub.add_parser("run", help="erase what is due, rebuild the store, prove the bytes are gone")
    p.add_argument("store", type=Path)
    p.add_argument("--as-of", type=_date, required=True, help="YYYY-MM-DD")
    _operator_args(p)
    p.add_argument("--approver", required=True, help="operator id of the approving operator (not the one running)")
    p.add_argument("--approver-terminal", required=True)
    p.add_argument("--batch-size", type=positive, default=1000)
    _rule_args(p)
    p.add_argument("--json", action="store_true", help="print the whole receipt")
    p.set_defaults(func=cmd_run)

    p = psub.add_parser("hold", help="place a legal hold on a person (kept by every purge)")
    p.add_argument("store", type=Path)
    p.add_argument("--person-id", type=whole, required=True)
    p.add_argument("--case", required=True, help="case reference (no personal data)")
    _operator_args(p)
    p.set_defaults(func=cmd_hold)

    p = psub.add_parser("unhold", help="lift a legal hold")
    p.add_argument("store", type=Path)
    p.add_argument("--person-id", type=whole, required=True)
    p.add_argument("--case", default=None, help="the case whose hold is lifted (default: every hold on the person)")
    _operator_args(p)
    p.set_defaults(func=cmd_unhold)

    p = psub.add_parser("holds", help="list legal holds")
    p.add_argument("store", type=Path)
    p.set_defaults(func=cmd_holds)


def _date(text: str) -> _dt.date:
    try:
        if len(text) != 10:
            raise ValueError
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def _rule_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rules", type=Path, help="retention rules file (default: the package's)")
    p.add_argument("--overrides", type=Path, help="municipal overrides (default: retention.toml in the store, if any)")


def _rules(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from jukistore.retention import rules as R

    try:
        return R.load(args.rules, overrides=args.overrides, store=args.store)
    except R.RuleError as e:
        raise CliError(str(e)) from None


def _open(path: Path):  # type: ignore[no-untyped-def]
    from jukistore.errors import NotAStore, StoreBusy
    from jukistore.store import Store

    try:
        return Store.open(path)
    except (NotAStore, StoreBusy) as e:
        raise CliError(str(e)) from None


def cmd_plan(args: argparse.Namespace) -> int:
    from jukistore.retention.plan import make_plan
    from jukistore.dates import JST

    as_of = args.as_of or _dt.datetime.now(JST).date()
    rules = _rules(args)
    store = _open(args.store)
    summary = make_plan(store, as_of, rules=rules).summary()
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"purge plan as of {summary['as_of']}")
    print(f"{'rule':<22} {'applies to':<20} {'due':>10} {'held':>8}")
    for r in summary["rules"]:
        print(f"{r['rule']:<22} {r['applies_to']:<20} {r['due']:>10} {r['held']:>8}")
    print(f"persons to erase: {summary['persons']}, superseded versions to erase: {summary['versions']}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from jukistore.errors import NotAStore, NotPermitted, StoreBusy, StoreCorrupt
    from jukistore.dates import JST
    from jukistore.retention import purge
    from jukistore.store import Operator

    operator = operator_from(args)
    approver = Operator(args.approver, args.approver_terminal)
    rules = _rules(args)
    if not (args.store / "data.mdb").exists():
        raise CliError(f"{args.store}: not a jukistore store")
    today = _dt.datetime.now(JST).date()
    if args.as_of > today:
        raise CliError(f"--as-of {args.as_of.isoformat()} is after today ({today.isoformat()}, Japan): "
                       "a purge erases only what is due by today")
    try:
        receipt = purge.run(args.store, args.as_of, operator=operator, approver=approver,
                            rules=rules, batch_size=args.batch_size)
    except (NotPermitted, StoreBusy, NotAStore, StoreCorrupt) as e:
        print(f"jukistore: {e}", file=sys.stderr)
        return EXIT_ERROR
    except purge.PurgeError as e:
        print(f"jukistore: {e}", file=sys.stderr)
        return EXIT_FINDING
    if args.json:
        sys.stdout.write(receipt.to_json().decode() + "\n")
        return EXIT_OK
    s = receipt.scan
    print(f"purge {receipt.run_id} as of {receipt.as_of}: {receipt.persons_purged} persons, "
          f"{receipt.versions_purged} superseded versions erased")
    print(f"data file {receipt.file_bytes_before} -> {receipt.file_bytes_after} bytes; scanned {s['files']} files, "
          f"{s['samples']} samples: {s['number_hits'] + s['name_hits']} found; verify "
          f"{'clean' if s['verify_clean'] else 'NOT clean'}")
    print(f"ids digest {receipt.purged_ids_digest}")
    return EXIT_OK


def cmd_hold(args: argparse.Namespace) -> int:
    from jukistore.errors import NoSuchPerson, QueryError
    from jukistore.retention import holds

    op = operator_from(args)
    store = _open(args.store)
    try:
        h = holds.place(store, args.person_id, case=args.case, operator=op)
    except (NoSuchPerson, QueryError) as e:
        raise CliError(str(e)) from None
    print(f"hold on person {h.person_id} ({h.case}) placed by {h.operator_id} at {h.placed_at}")
    return EXIT_OK


def cmd_unhold(args: argparse.Namespace) -> int:
    from jukistore.retention import holds

    op = operator_from(args)
    store = _open(args.store)
    of_case = "" if args.case is None else f" ({args.case})"
    if not holds.lift(store, args.person_id, operator=op, case=args.case):
        print(f"no hold on person {args.person_id}{of_case}", file=sys.stderr)
        return EXIT_FINDING
    print(f"hold on person {args.person_id}{of_case} lifted by {op.operator_id}")
    return EXIT_OK


def cmd_holds(args: argparse.Namespace) -> int:
    from jukistore.retention import holds

    for h in holds.holds(_open(args.store)):
        print(f"{h.person_id}\t{h.case}\t{h.operator_id}\t{h.terminal_id}\t{h.placed_at}")
    return EXIT_OK
