"""Store subcommands: ``init``, ``load``, ``get``, ``search``, ``verify``, ``stats``.

Output never shows a full 個人番号: ``get`` and ``search`` mask it unless ``--show-mynumber`` is
given (for a clerk's screen, not for logs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from jukistore.cli import EXIT_ERROR, EXIT_FINDING, EXIT_OK, CliError
from jukistore.cli.argtypes import positive, whole
from jukistore.cli.progress import Progress

#: Operator, terminal and purpose (利用目的, for reads) come from options or these variables.
ENV_OPERATOR, ENV_TERMINAL, ENV_PURPOSE = "JUKISTORE_OPERATOR", "JUKISTORE_TERMINAL", "JUKISTORE_PURPOSE"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("init", help="create a store for a municipality")
    p.add_argument("store", type=Path)
    p.add_argument("--municipality", required=True, help="地方公共団体コード, 6 digits with check digit (e.g. 131075)")
    _operator_args(p)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("load", help="load master records (住民基本台帳ファイル layout) into a store")
    p.add_argument("store", type=Path)
    p.add_argument("file", type=Path, help="fixed-width (.txt/.dat) or CSV (.csv) file in the jumin_kihon layout")
    p.add_argument("--encoding", default="utf-8", help="utf-8 (default) or cp932")
    p.add_argument("--batch-size", type=positive, default=50_000)
    p.add_argument("--lenient-juminhyo", action="store_true", help="accept 住民票コード failing the assumed check digit")
    p.add_argument("--fast", action="store_true", help="fsync once at the end instead of per batch")
    _operator_args(p)
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("get", help="show one person by 住民票コード or 個人番号")
    p.add_argument("store", type=Path)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--code")
    g.add_argument("--mynumber", type=mynumber_arg)
    g.add_argument("--person-id", type=whole)
    p.add_argument("--json", action="store_true")
    p.add_argument("--show-mynumber", action="store_true")
    _operator_args(p, purpose=True)
    p.set_defaults(func=cmd_get)

    p = sub.add_parser("search", help="find persons by 4情報 (at least two of name, birth date, address)")
    p.add_argument("store", type=Path)
    p.add_argument("--name-kana")
    p.add_argument("--birth-date", type=_birth_date, metavar="DATE",
                   help="YYYYMMDD (00 for an unknown month or day), or another form jukistore.dates reads (和暦 too)")
    p.add_argument("--address")
    p.add_argument("--sex", choices=["1", "2"])
    p.add_argument("--limit", type=positive, default=20)
    p.add_argument("--json", action="store_true")
    p.add_argument("--show-mynumber", action="store_true")
    _operator_args(p, purpose=True)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("verify", help="check every index against the records (exit 1 when inconsistent)")
    p.add_argument("store", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("stats", help="entry counts and sizes")
    p.add_argument("store", type=Path)
    p.set_defaults(func=cmd_stats)


def _birth_date(text: str) -> str:
    """argparse type of ``search --birth-date``: the date in its stored form, YYYYMMDD.

    A month above 12 or a day above 31 is a typing error, refused as ``load`` refuses it (the rule
    of :func:`jukistore.dates.parse`); an unknown part (00) or a day that never existed (0230) is
    a date as registers record it and is searched for as written. Blank is no criterion.
    """
    from jukistore import dates

    if not text.strip():
        return text
    try:
        return dates.parse(text).compact()
    except dates.DateError as e:
        raise argparse.ArgumentTypeError(f"{e} (a birth date is YYYYMMDD, 00 for an unknown month or day)") from None


def mynumber_arg(text: str) -> str:
    """argparse type of ``--mynumber``: a 個人番号 whose check digit is wrong is a typing error.

    No store holds one (``load`` and 個人番号変更 refuse it), so it is refused here, masked, rather
    than looked up and reported "not found". Its length and form are left to the store's lookup,
    whose messages name them. (A 住民票コード is not checked so: its rule is an assumption, and a
    lenient load keeps codes failing it.)
    """
    from jukistore.errors import mask
    from jukistore.ids import mynumber

    if mynumber.explain(text) == "checksum":
        raise argparse.ArgumentTypeError(f"the check digit of 個人番号 {mask(mynumber.compact(text))} is wrong")
    return text


def _operator_args(p: argparse.ArgumentParser, purpose: bool = False) -> None:
    p.add_argument("--operator", help=f"operator id (or ${ENV_OPERATOR})")
    p.add_argument("--terminal", help=f"terminal id (or ${ENV_TERMINAL})")
    if purpose:
        p.add_argument("--purpose", help=f"purpose of the read, recorded in the access log (or ${ENV_PURPOSE})")


def operator_from(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    import os

    from jukistore.store import Operator

    op = args.operator or os.environ.get(ENV_OPERATOR)
    term = args.terminal or os.environ.get(ENV_TERMINAL)
    if not op or not term:
        raise CliError(f"this needs --operator and --terminal (or ${ENV_OPERATOR} and ${ENV_TERMINAL})")
    return Operator(op, term)


def open_bound(path: Path, args: argparse.Namespace, readonly: bool = True):  # type: ignore[no-untyped-def]
    """The store bound to the operator and purpose of the command line (every read is logged)."""
    import os

    store = _open(path, readonly)
    op = operator_from(args)
    purpose = getattr(args, "purpose", None) or os.environ.get(ENV_PURPOSE)
    if not purpose:
        raise CliError(f"a read of personal data needs --purpose (or ${ENV_PURPOSE}); it is recorded in the access log")
    return store.acting(op, purpose)


def _open(path: Path, readonly: bool):  # type: ignore[no-untyped-def]
    from jukistore.errors import NotAStore
    from jukistore.store import Store

    try:
        return Store.open(path, readonly=readonly)
    except NotAStore as e:
        raise CliError(str(e)) from None


def cmd_init(args: argparse.Namespace) -> int:
    from jukistore.errors import StoreExists, ValidationError
    from jukistore.store import Store

    admin = operator_from(args)
    try:
        s = Store.create(args.store, args.municipality, administrator=admin)
    except (StoreExists, ValidationError) as e:
        raise CliError(str(e)) from None
    print(f"created store {args.store} for municipality {s.municipality_code}; administrator {admin.operator_id}")
    return EXIT_OK


def cmd_load(args: argparse.Namespace) -> int:
    from jukistore import fileio
    from jukistore.errors import JukistoreError, RecordError

    op = operator_from(args)
    store = _open(args.store, readonly=False)
    if not args.file.exists():
        raise CliError(f"no such file: {args.file}")
    try:
        records = fileio.iter_records(args.file, "jumin_kihon", encoding=args.encoding)
        t0 = time.perf_counter()
        total = fileio.count_rows(args.file, "jumin_kihon", encoding=args.encoding)
    except ValueError as e:  # an encoding fileio does not know
        raise CliError(str(e)) from None
    with Progress("load", total) as bar:
        try:
            rep = store.load(records, operator=op, batch_size=args.batch_size,
                             juminhyo_strict=not args.lenient_juminhyo, durable=not args.fast,
                             progress=bar.update)
        except RecordError as e:
            print(f"jukistore: {e} (record {e.row + 1 if e.row is not None else '?'} of {args.file}); "
                  f"{getattr(e, 'committed', 0)} records committed before it", file=sys.stderr)
            return EXIT_ERROR
        except JukistoreError as e:  # the file failed while read (a row cut short, bytes not decoding)
            print(f"jukistore: {e} ({args.file}); {getattr(e, 'committed', 0)} records committed before it",
                  file=sys.stderr)
            return EXIT_ERROR
    dt = time.perf_counter() - t0
    print(f"loaded {rep.loaded:,} persons in {rep.batches} batches, {dt:.1f} s ({rep.loaded / max(dt, 1e-9):,.0f}/s)")
    if rep.lenient_rows:
        print(f"{len(rep.lenient_rows)} 住民票コード accepted despite the check digit (rows {rep.lenient_rows[:10]})")
    return EXIT_OK


def _show(person, show_mn: bool) -> dict[str, object]:  # type: ignore[no-untyped-def]
    import msgspec

    from jukistore.errors import mask
    from jukistore.store import _key_fields

    d = msgspec.structs.asdict(person.record)
    mn_field = _key_fields()["mynumber"]
    if not show_mn:
        d[mn_field] = mask(d[mn_field])
    return {"person_id": person.person_id, "seq": person.seq, "removed": person.removed,
            "found_by_superseded_number": person.superseded, "record": {k: v for k, v in d.items() if v != ""}}


def cmd_get(args: argparse.Namespace) -> int:
    from jukistore.errors import QueryError

    store = open_bound(args.store, args)
    try:
        p = store.get(code=args.code, mynumber=args.mynumber, person_id=args.person_id)
    except QueryError as e:
        raise CliError(str(e)) from None
    if p is None:
        print("not found", file=sys.stderr)
        return EXIT_FINDING
    _print(_show(p, args.show_mynumber), args.json)
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from jukistore.errors import QueryError

    store = open_bound(args.store, args)
    try:
        hits = store.search(name_kana=args.name_kana, birth_date=args.birth_date, address=args.address,
                            sex=args.sex, limit=args.limit)
    except (QueryError, ValueError) as e:
        raise CliError(str(e)) from None
    rows = [_show(h, args.show_mynumber) for h in hits]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            _print(r, False)
            print()
        print(f"{len(rows)} found")
    return EXIT_OK if rows else EXIT_FINDING


def _print(d: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(d, ensure_ascii=False, indent=1))
        return
    rec = d.pop("record")
    for k, v in d.items():
        print(f"{k:28} {v}")
    for k, v in rec.items():  # type: ignore[attr-defined]
        print(f"  {k:26} {v}")


def cmd_verify(args: argparse.Namespace) -> int:
    store = _open(args.store, readonly=True)
    t0 = time.perf_counter()
    rep = store.verify()
    dt = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"ok": rep.ok, "persons": rep.persons, "problems": rep.problems, "more": rep.more,
                          "seconds": round(dt, 3)}, ensure_ascii=False))
    else:
        print(f"{rep.persons:,} persons checked in {dt:.2f} s: " + ("consistent" if rep.ok else "INCONSISTENT"))
        for p in rep.problems[:50]:
            print(f"  {p}")
        if len(rep.problems) > 50 or rep.more:
            print(f"  ... and {len(rep.problems) - 50 + rep.more} more")
    return EXIT_OK if rep.ok else EXIT_FINDING


def cmd_stats(args: argparse.Namespace) -> int:
    store = _open(args.store, readonly=True)
    for k, v in store.stats().items():
        print(f"{k:12} {v:>16,}")
    return EXIT_OK
