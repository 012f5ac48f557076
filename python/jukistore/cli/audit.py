"""Audit and operator subcommands.

``jukistore audit verify STORE`` checks the hash chains and sealed checkpoints of the access log,
the provision record and the grants (exit 1 naming every place tampered with);
``jukistore audit search STORE`` lists entries by operator, person or period (an operator with the
audit right); ``jukistore audit retire STORE`` deletes segments past retention.
``jukistore operators grant|revoke|list STORE`` manages roles (grant right; ``list`` audit right).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path

from jukistore.cli import EXIT_FINDING, EXIT_OK, CliError
from jukistore.cli.argtypes import positive, whole
from jukistore.cli.store import _operator_args, operator_from


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("audit", help="verify and search the access log and provision record")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION")
    asub.required = True

    q = asub.add_parser("verify", help="check the logs' hash chains and sealed checkpoints (exit 1 if tampered)")
    q.add_argument("store", type=Path)
    q.add_argument("--key", type=Path, help="checkpoint key file (default: the store's, or $JUKISTORE_AUDIT_KEY)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_verify)

    q = asub.add_parser("search", help="entries by operator, person or period")
    q.add_argument("store", type=Path)
    q.add_argument("--by", dest="who", metavar="OPERATOR_ID", help="entries of this operator")
    q.add_argument("--person", type=whole, metavar="PERSON_ID", help="entries touching this person (internal id)")
    q.add_argument("--since", type=_date, help="from this date or time (ISO 8601, UTC)")
    q.add_argument("--until", type=_date, help="before this date or time")
    q.add_argument("--log", choices=["access", "provision", "roles"], default="access")
    q.add_argument("--refused", action="store_true", help="only refused attempts")
    q.add_argument("--limit", type=positive, default=1000)
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    _operator_args(q)
    q.set_defaults(func=cmd_search)

    q = asub.add_parser("retire", help="delete log segments past retention (access 7 years, provision 5)")
    q.add_argument("store", type=Path)
    q.add_argument("--today", type=lambda s: _dt.date.fromisoformat(s), help="reference date (default today)")
    _operator_args(q)
    q.set_defaults(func=cmd_retire)

    p = sub.add_parser("operators", help="grant, revoke and list operators' roles")
    osub = p.add_subparsers(dest="operators_command", metavar="ACTION")
    osub.required = True
    for name, fn in (("grant", cmd_grant), ("revoke", cmd_revoke)):
        q = osub.add_parser(name, help=f"{name} a role (needs the grant right)")
        q.add_argument("store", type=Path)
        q.add_argument("operator_id")
        q.add_argument("role")
        q.add_argument("--note", default="")
        _operator_args(q)
        q.set_defaults(func=fn)
    q = osub.add_parser("list", help="operators and their roles, or every grant and revocation")
    q.add_argument("store", type=Path)
    q.add_argument("--history", action="store_true")
    _operator_args(q)
    q.set_defaults(func=cmd_list)


def _date(text: str) -> _dt.datetime:
    try:
        t = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


def _audit(path: Path, key: Path | None = None):  # type: ignore[no-untyped-def]
    from jukistore.access.log import Audit

    if not (path / "audit").is_dir():
        raise CliError(f"{path} holds no audit logs (not a store?)")
    if key is not None and not key.is_file():  # a mistyped path must not become a new key
        raise CliError(f"{key}: no such key file")
    return Audit.of(path, key)


def cmd_verify(args: argparse.Namespace) -> int:
    reports = _audit(args.store, args.key).verify()
    ok = all(r.ok for r in reports.values())
    if args.json:
        print(json.dumps({"ok": ok, "logs": {n: {"entries": r.entries, "segments": r.segments, "checkpoints": r.checkpoints,
                                                  "retired": r.retired, "problems": [str(p) for p in r.problems]}
                                              for n, r in reports.items()}}, ensure_ascii=False))
    else:
        for n, r in reports.items():
            print(f"{n:10} {r.entries:>10,} entries in {len(r.segments)} segment(s), {r.checkpoints} checkpoint(s), "
                  f"{len(r.retired)} retired: " + ("intact" if r.ok else "TAMPERED"))
            for p in r.problems:
                print(f"  {n}/{p}")
    return EXIT_OK if ok else EXIT_FINDING


def _checked(args: argparse.Namespace, right: str, act: str):  # type: ignore[no-untyped-def]
    a = _audit(args.store)
    a.authorize(operator_from(args), right, act)
    return a


def cmd_search(args: argparse.Namespace) -> int:
    from jukistore.access.log import persons_of, search

    a = _checked(args, "audit", "audit search")
    n = 0
    for e in search(a, operator=args.who, person=args.person, since=args.since, until=args.until, journal=args.log):
        if args.refused and e.body.get("outcome") != "refused":
            continue
        if n >= args.limit:
            print(f"(more than {args.limit}; narrow the search or raise --limit)", file=sys.stderr)
            break
        body = dict(e.body)
        if "persons_b64" in body:
            body.pop("persons_b64")
            body["persons"] = [int(x) for x in persons_of(e.body)]
        if args.json:
            print(json.dumps({"seq": e.seq, "at": e.iso, **body}, ensure_ascii=False))
        else:
            who = body.get("op") or body.get("by", "")
            what = body.get("act") or body.get("recipient") or f"{body.get('action')} {body.get('role')} {body.get('operator')}"
            persons = body.get("persons", [])
            shown = ",".join(map(str, persons[:10])) + ("…" if len(persons) > 10 else "")
            print(f"{e.seq:>8} {e.iso} {who:12} {body.get('term', body.get('terminal', '')):10} "
                  f"{body.get('outcome', ''):7} {what} [{body.get('purpose', '')}] persons={body.get('n', '')} {shown}")
        n += 1
    print(f"{n} entries", file=sys.stderr)
    return EXIT_OK if n else EXIT_FINDING


def cmd_retire(args: argparse.Namespace) -> int:
    a = _checked(args, "audit", "audit retire")
    for name, segs in a.retire(args.today).items():
        print(f"{name}: {len(segs)} segment(s) retired" + (f" ({', '.join(segs)})" if segs else ""))
    return EXIT_OK


def _roles(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    return _audit(args.store).roles


def cmd_grant(args: argparse.Namespace) -> int:
    g = _roles(args).grant(args.operator_id, args.role, by=operator_from(args), note=args.note)
    print(f"granted {g.role} to {g.operator_id} by {g.by}")
    return EXIT_OK


def cmd_revoke(args: argparse.Namespace) -> int:
    g = _roles(args).revoke(args.operator_id, args.role, by=operator_from(args), note=args.note)
    print(f"revoked {g.role} from {g.operator_id} by {g.by}")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    a = _checked(args, "audit", "operators list")
    if args.history:
        for g in a.roles.history():
            print(f"{g.at.isoformat(timespec='seconds')} {g.action:6} {g.role:13} {g.operator_id:12} by {g.by} "
                  f"({g.terminal}) {g.note}")
    else:
        for op, roles in a.roles.operators().items():
            print(f"{op:16} {', '.join(sorted(roles)) or '(all revoked)'}")
    return EXIT_OK
