"""History subcommands: ``history`` (the versions of one person) and ``changes`` (the change feed).

Output never shows a full 個人番号: it is masked to its last four digits unless
``--show-mynumber`` is given (for a clerk's screen, not for logs or files passed on).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from jukistore.cli import EXIT_FINDING, EXIT_OK, CliError
from jukistore.cli.argtypes import positive, whole
from jukistore.cli.store import _operator_args, mynumber_arg


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("history", help="every version of one person, or the version valid on a date")
    p.add_argument("store", type=Path)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--code", help="住民票コード (a superseded one finds the person too)")
    g.add_argument("--mynumber", type=mynumber_arg)
    g.add_argument("--person-id", type=whole)
    p.add_argument("--as-of", metavar="DATE", help="only the version valid on DATE (異動年月日; 和暦 accepted)")
    p.add_argument("--known-at", type=whole, metavar="SEQ", help="as the store knew it at 更新順番号 SEQ")
    p.add_argument("--records", action="store_true", help="print each version's whole record")
    p.add_argument("--json", action="store_true")
    p.add_argument("--show-mynumber", action="store_true")
    _operator_args(p, purpose=True)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("changes", help="the change feed: changes after a 更新順番号, with their 8 notification items")
    p.add_argument("store", type=Path)
    p.add_argument("--since", type=whole, default=0, metavar="SEQ", help="changes after SEQ (default 0: from the start)")
    p.add_argument("--limit", type=positive, default=100)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--show-mynumber", action="store_true")
    _operator_args(p, purpose=True)
    p.set_defaults(func=cmd_changes)


def _open(path: Path, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from jukistore.cli.store import open_bound
    from jukistore.history import Register

    return Register(open_bound(path, args))


def _masked(d: dict[str, str], fields: set[str], show: bool) -> dict[str, str]:
    from jukistore.errors import mask

    return d if show else {k: (mask(v) if k in fields and v else v) for k, v in d.items()}


def _mn_fields() -> tuple[str, set[str]]:
    """The master field and the notification field holding the 個人番号, by item number."""
    from jukistore.history import item_fields, projection

    master = item_fields()[81]
    return master, {p for p, m in projection("seigo") if m == master}


def _version(reg, v, show: bool, records: bool) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    import msgspec

    from jukistore.errors import mask
    from jukistore.history import event_name

    master, note_fields = _mn_fields()
    ch = reg.changes(v.seq - 1, 1)
    who = ch[0] if ch and ch[0].seq == v.seq else None
    out: dict[str, Any] = {
        "seq": v.seq, "event": event_name(int(v.event)), "event_code": int(v.event),
        "valid_from": v.valid_from, "notified": v.notified,
        "committed": who.timestamp.isoformat() if who else None,
        "operator": who.operator if who else None, "terminal": who.terminal if who else None,
        "removed": v.removed, "prohibited": v.prohibited,
        "code": v.code, "mynumber": v.mynumber if show or v.mynumber is None else mask(v.mynumber),
        "notification": _masked(v.notification(), note_fields, show),
    }
    if records:
        rec = msgspec.structs.asdict(v.record)
        out["record"] = {k: val for k, val in _masked(rec, {master}, show).items() if val != ""}
    return out


def cmd_history(args: argparse.Namespace) -> int:
    from jukistore.errors import InvalidRecord, QueryError

    reg = _open(args.store, args)
    try:
        p = reg.store.get(code=args.code, mynumber=args.mynumber, person_id=args.person_id)
    except QueryError as e:
        raise CliError(str(e)) from None
    if p is None:
        print("not found", file=sys.stderr)
        return EXIT_FINDING
    try:
        if args.as_of:
            v = reg.as_of(p, args.as_of, known_at=args.known_at)
            versions = [] if v is None else [v]
        elif args.known_at is not None:
            v = reg.as_known(p, seq=args.known_at)
            versions = [] if v is None else [v]
        else:
            versions = reg.history(p)
    except (InvalidRecord, QueryError) as e:
        raise CliError(str(e)) from None
    rows = [_version(reg, v, args.show_mynumber, args.records) for v in versions]
    head = {"person_id": p.person_id, "found_by_superseded_number": p.superseded, "versions": rows}
    if args.json:
        print(json.dumps(head, ensure_ascii=False, indent=1))
    else:
        print(f"person {p.person_id}" + (" (found by a superseded number)" if p.superseded else "")
              + f": {len(rows)} version(s)")
        for r in rows:
            state = " removed" if r["removed"] else ""
            state += " prohibited" if r["prohibited"] else ""
            print(f"  #{r['seq']:<8} {r['event']:<10} valid {r['valid_from']} notified {r['notified']}"
                  f"  by {r['operator']}@{r['terminal']} at {r['committed']}{state}")
            for k, val in r["notification"].items():
                print(f"      {k:16} {val}")
            for k, val in r.get("record", {}).items():
                print(f"      {k:30} {val}")
    return EXIT_OK if rows else EXIT_FINDING


def cmd_changes(args: argparse.Namespace) -> int:
    from jukistore.history import event_name

    reg = _open(args.store, args)
    _, note_fields = _mn_fields()
    entries = reg.changes(args.since, args.limit)
    for c in entries:
        note = c.notification
        row = {
            "seq": c.seq, "person_id": c.person_id, "event": event_name(int(c.event)), "event_code": int(c.event),
            "committed": c.timestamp.isoformat(), "operator": c.operator, "terminal": c.terminal,
            "notification": None if note is None else _masked(note, note_fields, args.show_mynumber),
        }
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            n = row["notification"] or {}
            print(f"{c.seq:>10} {row['event']:<10} person {c.person_id:<8} {row['committed']} "
                  f"{c.operator}@{c.terminal}  " + " ".join(f"{k}={v}" for k, v in n.items()))
    if not args.json:
        last = entries[-1].seq if entries else args.since
        print(f"{len(entries)} change(s); next: --since {last}", file=sys.stderr)
    return EXIT_OK
