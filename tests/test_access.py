"""Access control and logging through the public API: every read path logs one entry, every
provision writes a provision record, each right is refused to the roles without it (and the
refusal is logged), and no My Number reaches a log line, an error or a repr."""

from __future__ import annotations

import inspect
import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from jukistore.access.log import Audit, persons_of, search
from jukistore.access.provide import Provision, parse_recipients, recipients
from jukistore.access.roles import RIGHTS, parse_rights, rights_table
from jukistore.cli import main
from jukistore.errors import NotPermitted, QueryError
from jukistore.history import Corrections, Event, EventCode, Feed, Register
from jukistore.reconcile import Side, plan
from jukistore.store import Operator, Store

from store_support import ADMIN, PURPOSE, READER, fields, make_records, new_store, run_at_once

F = fields()
ROLE_OPS = {role: Operator(f"{role}01", f"t-{role}") for role in ("clerk", "approver", "auditor", "administrator")}
OUTSIDER = Operator("nobody01", "t-x")
PROPOSER = Operator("proposer01", "t-p")
N = 40


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store of N persons, one operator per role, a proposal to decide, a bound register."""
    path = tmp_path_factory.mktemp("access") / "s"
    s = new_store(path, roles={**{op.operator_id: [role] for role, op in ROLE_OPS.items()}, PROPOSER.operator_id: ["clerk"]})
    recs = make_records(N, seed=41)
    s.load(recs, operator=ROLE_OPS["clerk"])
    reg = Register(s)
    reg.apply(Event(EventCode.転居, "20240501", person=3, changes={8: "東京都墨田区押上1-1"}), operator=ROLE_OPS["clerk"])
    reg.corrections.propose(4, {53: "備考"}, operator=ROLE_OPS["clerk"])
    return {"store": s, "reg": reg, "recs": recs}


def access_entries(s: Store) -> list[Any]:
    return list(s.audit.access.entries())


# ---- every public read path logs ------------------------------------------------------------------

def _code(world: dict[str, Any], i: int) -> str:
    return getattr(world["recs"][i], F[30])


#: Every public read of personal data: (class, member) → a call through the bound handles.
READS: dict[tuple[type, str], Callable[[dict[str, Any]], Any]] = {
    (Store, "get"): lambda w: w["store"].get(code=_code(w, 1)),
    (Store, "get_many"): lambda w: w["store"].get_many(np.array([int(_code(w, i)) for i in range(5)])),
    (Store, "search"): lambda w: w["store"].search(name_kana="ヤマダ タロウ", birth_date="19300101"),
    (Store, "provide"): lambda w: w["store"].acting(ROLE_OPS["clerk"], "就学事務").provide("gakumu", [1, 2, 3]),
    (Register, "history"): lambda w: w["reg"].history(3),
    (Register, "as_of"): lambda w: w["reg"].as_of(3, "20240430"),
    (Register, "as_known"): lambda w: w["reg"].as_known(3, seq=1),
    (Register, "as_of_many"): lambda w: w["reg"].as_of_many(np.array([1, 2, 3]), "20240601"),
    (Register, "as_known_many"): lambda w: w["reg"].as_known_many(np.array([1, 2]), 2),
    (Register, "changes"): lambda w: w["reg"].changes(0, 10),
    (Register, "iter_changes"): lambda w: list(w["reg"].iter_changes(0, batch=100)),
    (Register, "feed"): lambda w: w["reg"].feed(0).poll(),
    (Feed, "poll"): lambda w: Feed(w["reg"], 0).poll(),
    (Feed, "batches"): lambda w: next(Feed(w["reg"], 0, batch_size=100).batches()),
    (Feed, "__iter__"): lambda w: list(Feed(w["reg"], 0, batch_size=100)),
    (Corrections, "get"): lambda w: w["reg"].corrections.get(1),
    (Corrections, "all"): lambda w: w["reg"].corrections.all(),
    (Corrections, "pending"): lambda w: w["reg"].corrections.pending(),
    (Side, "from_store"): lambda w: Side.from_store(w["store"], plan("seigo")),
}

#: Every other public member, with why it needs no access entry. A new member must be put in one
#: of the two tables: this is what makes a new read path without logging fail the tests.
NOT_READS: dict[tuple[type, str], str] = {
    (Store, "create"): "creates an empty store",
    (Store, "open"): "opens a handle; reads on it are logged",
    (Store, "acting"): "binds a handle; reads on it are logged",
    (Store, "load"): "a write: checked (write right) and recorded in the change log",
    (Store, "verify"): "index consistency; problems carry no personal data",
    (Store, "stats"): "counts and sizes",
    (Store, "sync"): "flushes the file",
    (Store, "unsynced"): "a block whose writes skip fsync; reads in it are logged as always",
    (Store, "path"): "where the store is",
    (Store, "municipality_code"): "the municipality",
    (Store, "roles"): "the role register (its own journal)",
    (Register, "apply"): "a write: checked and recorded in the change log",
    (Register, "apply_many"): "a write: checked and recorded in the change log",
    (Register, "corrections"): "the corrections handle; its reads are listed",
    (Register, "seq_at"): "a sequence number for a time",
    (Register, "last_seq"): "the last sequence number",
    (Feed, "commit"): "moves the cursor",
    (Feed, "position"): "the cursor",
    (Corrections, "propose"): "a write of a proposal: checked (propose right), kept in the store",
    (Corrections, "approve"): "a decision: checked (approver role), kept in the store",
    (Corrections, "reject"): "a decision: checked (approver role), kept in the store",
    (Corrections, "withdraw"): "a decision by the proposer, kept in the store",
    (Side, "from_columns"): "columns the caller already holds",
    (Side, "from_file"): "a file the caller already holds",
}


def _public(cls: type) -> set[str]:
    names = {n for n, _ in inspect.getmembers(cls) if not n.startswith("_") and not n.startswith("__")}
    if "__iter__" in vars(cls):
        names.add("__iter__")
    # Attributes a Side carries as data (not reads of a store): only its constructors matter here.
    if cls is Side:
        names = {n for n in names if n.startswith("from_")}
    return names


def test_every_public_member_is_classified() -> None:
    for cls in (Store, Register, Feed, Corrections, Side):
        known = {n for c, n in (*READS, *NOT_READS) if c is cls}
        assert _public(cls) == known, f"{cls.__name__}: classify {sorted(_public(cls) ^ known)} in READS or NOT_READS"


@pytest.mark.parametrize("key", list(READS), ids=[f"{c.__name__}.{n}" for c, n in READS])
def test_every_read_path_writes_one_access_entry(world: dict[str, Any], key: tuple[type, str]) -> None:
    s = world["store"]
    before = access_entries(s)
    READS[key](world)
    new = access_entries(s)[len(before):]
    ok = [e for e in new if e.body["outcome"] == "ok"]
    assert len(ok) >= 1 and not [e for e in new if e.body["outcome"] != "ok"]
    if key not in ((Register, "iter_changes"), (Feed, "__iter__"), (Store, "provide")):
        assert len(new) == 1  # one entry per call, whatever the number of persons
    for e in ok:
        assert e.body["op"] and e.body["term"] and e.body["purpose"] and e.body["act"]
        assert e.time.tzinfo is not None
    assert ok[0].body["op"] == (ROLE_OPS["clerk"] if key == (Store, "provide") else READER).operator_id


@pytest.mark.parametrize("key", [k for k in READS if k != (Store, "provide")],
                         ids=[f"{c.__name__}.{n}" for c, n in READS if (c, n) != (Store, "provide")])
def test_every_read_path_is_refused_on_an_unbound_handle(world: dict[str, Any], key: tuple[type, str]) -> None:
    unbound = Store.open(world["store"].path)
    w = {**world, "store": unbound, "reg": Register(unbound)}
    before = len(access_entries(unbound))
    with pytest.raises(NotPermitted):
        READS[key](w)
    [refusal] = access_entries(unbound)[before:]
    assert refusal.body["outcome"] == "refused" and refusal.body["op"] == ""


def test_a_batch_read_is_one_entry_naming_every_person(world: dict[str, Any]) -> None:
    s = world["store"]
    codes = np.array([int(_code(world, i)) for i in range(N)] + [12345678901], dtype=np.uint64)
    before = len(access_entries(s))
    res = s.get_many(codes)
    [e] = access_entries(s)[before:]
    assert e.body["act"] == "get_many" and e.body["keys"] == N + 1 and e.body["n"] == N
    assert persons_of(e.body).tolist() == res.person_ids[res.found].tolist()
    assert "persons_b64" in e.body  # many ids are packed, not listed


def test_search_logs_which_criteria_not_their_values(world: dict[str, Any]) -> None:
    s = world["store"]
    rec = world["recs"][7]
    s.search(name_kana=getattr(rec, F[20]), birth_date=getattr(rec, F[23]))
    e = access_entries(s)[-1]
    assert e.body["criteria"] == ["name_kana", "birth_date"] and 8 in persons_of(e.body).tolist()
    text = (s.path / "audit" / "access" / e.segment).read_text(encoding="utf-8")
    assert getattr(rec, F[20]) not in text and getattr(rec, F[21]) not in text


# ---- provision ----------------------------------------------------------------------------------

@pytest.mark.parametrize("rid", sorted(recipients()))
def test_a_provision_gives_only_the_projection_and_is_recorded(world: dict[str, Any], rid: str) -> None:
    s = world["store"].acting(ROLE_OPS["clerk"], "提供")
    rec = recipients()[rid]
    before = list(s.audit.provision.entries())
    out = s.provide(rid, [2, 5, 9999])
    assert isinstance(out, Provision) and out.person_ids.tolist() == [2, 5] and out.rows[2] is None
    from jukistore.access.provide import projection_pairs

    pairs = projection_pairs(rec.projection)
    assert out.fields == [p for p, _ in pairs] and set(out.rows[0]) == set(out.fields)
    master = world["recs"][1]
    assert out.rows[0] == {p: getattr(master, m) for p, m in pairs}
    if rec.projection != "full":
        assert len(out.fields) < len(F)
    [entry] = list(s.audit.provision.entries())[len(before):]
    b = entry.body
    assert (b["recipient"], b["legal_basis"], b["projection"], b["op"], b["term"]) == (
        rid, rec.legal_basis, rec.projection, "clerk01", "t-clerk")
    assert b["fields"] == out.fields and persons_of(b).tolist() == [2, 5] and entry.seq == out.seq
    mn = getattr(master, F[81])
    assert mn not in repr(out) and mn not in json.dumps(b, ensure_ascii=False)


def test_bulk_provision_needs_another_operators_approval(world: dict[str, Any]) -> None:
    s = world["store"].acting(ROLE_OPS["clerk"], "提供")
    limit = recipients()["gakumu"].bulk_limit
    many = np.arange(1, limit + 2)
    with pytest.raises(NotPermitted, match="bulk output"):
        s.provide("gakumu", many)
    with pytest.raises(NotPermitted, match="own bulk"):
        s.provide("gakumu", many, approved_by=ROLE_OPS["clerk"])
    with pytest.raises(NotPermitted):
        s.provide("gakumu", many, approved_by=ROLE_OPS["auditor"])
    refused = [e.body for e in access_entries(s)[-3:]]
    assert [b["outcome"] for b in refused] == ["refused"] * 3
    out = s.provide("gakumu", many, approved_by=ROLE_OPS["approver"])
    last = list(s.audit.provision.entries())[-1].body
    assert last["approved_by"] == "approver01" and last["n"] == N and out.seq == list(s.audit.provision.entries())[-1].seq


@pytest.mark.parametrize("keys", [[1.7], [True], [-1], ["3799 2216 1657"], None], ids=["float", "bool", "negative", "spaced text", "None"])
def test_provision_keys_are_checked_like_every_other_read(world: dict[str, Any], keys: Any) -> None:
    """provide cast its keys with numpy: 1.7 and True handed over person 1's data, -1 wrapped and
    wrote a record of nobody, and spaced digits ended in numpy's error quoting the whole 個人番号."""
    s = world["store"].acting(ROLE_OPS["clerk"], "提供")
    before = len(list(s.audit.provision.entries()))
    with pytest.raises(QueryError) as e:
        s.provide("gakumu", keys, by="mynumber" if keys and isinstance(keys[0], str) else "person_id")
    assert "379922161657" not in str(e.value) and "3799 2216 1657" not in str(e.value)
    assert len(list(s.audit.provision.entries())) == before


def test_a_provision_records_each_person_once_and_refuses_nothing_and_strangers(world: dict[str, Any]) -> None:
    """A person named twice was recorded twice, an empty provision wrote a record of nobody, and
    an unknown recipient was refused without an entry in the access log."""
    s = world["store"].acting(ROLE_OPS["clerk"], "提供")
    before = len(list(s.audit.provision.entries()))
    out = s.provide("gakumu", [5, 2, 5, 2])
    assert len(out.rows) == 4 and out.rows[0] == out.rows[2] and out.person_ids.tolist() == [2, 5]
    [entry] = list(s.audit.provision.entries())[before:]
    assert persons_of(entry.body).tolist() == [2, 5] and entry.body["n"] == 2
    assert persons_of(access_entries(s)[-1].body).tolist() == [2, 5]
    with pytest.raises(QueryError, match="no person named"):
        s.provide("gakumu", np.zeros(0, dtype=np.uint64))
    assert len(list(s.audit.provision.entries())) == before + 1
    n_access = len(access_entries(s))
    with pytest.raises(QueryError, match="unknown recipient '\\*{8}1657'"):
        s.provide("379922161657", [1])
    [refusal] = access_entries(s)[n_access:]
    assert refusal.body["outcome"] == "refused" and refusal.body["reason"] == "unknown recipient"
    assert "379922161657" not in json.dumps(refusal.body) and refusal.body["op"] == "clerk01"
    assert len(list(s.audit.provision.entries())) == before + 1


def test_a_named_approver_is_checked_also_below_the_bulk_limit(world: dict[str, Any]) -> None:
    """The provision record named any approved_by given for a small provision, unchecked."""
    s = world["store"].acting(ROLE_OPS["clerk"], "提供")
    before = len(list(s.audit.provision.entries()))
    with pytest.raises(NotPermitted):
        s.provide("gakumu", [1], approved_by=Operator("nobody", "x"))
    with pytest.raises(TypeError, match="approved_by must be"):
        s.provide("gakumu", [1], approved_by="chief")  # type: ignore[arg-type]
    assert len(list(s.audit.provision.entries())) == before
    s.provide("gakumu", [1], approved_by=ROLE_OPS["approver"])
    assert list(s.audit.provision.entries())[-1].body["approved_by"] == "approver01"


def test_recipient_data_errors_name_the_item() -> None:
    with pytest.raises(QueryError, match=r"recipients.x.projection"):
        parse_recipients('[recipients.x]\nname_ja="a"\nlegal_basis="b"\nprojection="all"\nbulk_limit=1\n')
    with pytest.raises(QueryError, match=r"recipients.x.legal_basis"):
        parse_recipients('[recipients.x]\nname_ja="a"\nprojection="seigo"\nbulk_limit=1\n')


# ---- roles and rights -----------------------------------------------------------------------------

def _attempt(world: dict[str, Any], right: str, op: Operator, k: int) -> None:
    """Use ``right`` as ``op``; the k-th call of a kind uses fresh data."""
    s: Store = world["store"]
    if right == "read":
        s.acting(op, "照会").get_many([1, 2])
    elif right == "write":
        s.load(make_records(1, seed=41, start=1000 + k), operator=op)
    elif right == "propose":
        world["reg"].corrections.propose(5, {53: f"案{k}"}, operator=op)
    elif right == "approve":
        pr = world["reg"].corrections.propose(6, {53: f"承認{k}"}, operator=PROPOSER)
        world["reg"].corrections.reject(pr.id, operator=op)
    elif right == "provide":
        s.acting(op, "提供").provide("prefecture", [1])
    elif right == "approve_bulk":
        lim = recipients()["prefecture"].bulk_limit
        s.acting(ROLE_OPS["clerk"], "提供").provide("prefecture", np.arange(1, lim + 2), approved_by=op)
    elif right == "purge_approve":
        s.audit.authorize(op, "purge_approve", "purge")  # the hook the purge uses
    elif right == "audit":
        rc = main(["audit", "search", str(s.path), "--operator", op.operator_id, "--terminal", op.terminal_id,
                   "--limit", "1"])
        if rc == 2:
            raise NotPermitted("refused by the command line")
    elif right == "grant":
        s.roles.grant(f"new{k}", "auditor", by=op)
    else:
        raise AssertionError(right)


#: The approve right is exercised through the approver role (dual control of corrections).
CASES = [(right, role) for right in sorted(RIGHTS) for role in ROLE_OPS]


@pytest.mark.parametrize("right,role", CASES, ids=[f"{r}-{o}" for r, o in CASES])
def test_each_right_is_refused_to_roles_without_it_and_the_refusal_is_logged(
        world: dict[str, Any], right: str, role: str, capsys: pytest.CaptureFixture[str]) -> None:
    op = ROLE_OPS[role]
    allowed = right in rights_table()[role]
    s = world["store"]
    before = len(access_entries(s))
    k = CASES.index((right, role))
    if allowed:
        _attempt(world, right, op, k)
        refused = [e for e in access_entries(s)[before:] if e.body["outcome"] == "refused"]
        assert refused == []
    else:
        with pytest.raises(NotPermitted):
            _attempt(world, right, op, k)
        refused = [e.body for e in access_entries(s)[before:] if e.body["outcome"] == "refused"]
        assert refused and refused[-1]["op"] == op.operator_id and refused[-1]["term"] == op.terminal_id
    capsys.readouterr()


def test_the_rights_table_is_data_and_separates_duties() -> None:
    t = rights_table()
    assert set(t) == {"clerk", "approver", "auditor", "administrator"}
    assert "read" not in t["administrator"] and "read" not in t["auditor"]  # they manage and audit, not read
    assert "approve_bulk" not in t["clerk"] and "grant" not in t["clerk"]
    with pytest.raises(QueryError, match="unknown right 'fly'"):
        parse_rights('[roles.x]\nrights = ["read", "fly"]\n')


def test_unknown_and_revoked_operators_are_refused_and_logged(tmp_path: Path) -> None:
    s = new_store(tmp_path / "s", roles={"clerk09": ["clerk"]})
    op = Operator("clerk09", "t9")
    s.load(make_records(3, seed=43), operator=op)
    with pytest.raises(NotPermitted, match="unknown operator"):
        s.acting(OUTSIDER, "照会").get(person_id=1)
    s.roles.revoke("clerk09", "clerk", by=ADMIN, note="異動")
    with pytest.raises(NotPermitted, match="revoked"):
        s.acting(op, "照会").get(person_id=1)
    with pytest.raises(NotPermitted, match="revoked"):
        s.load(make_records(1, seed=43, start=10), operator=op)
    reasons = [e.body["reason"] for e in s.audit.access.entries() if e.body["outcome"] == "refused"]
    assert reasons == ["unknown operator", "operator's roles were revoked", "operator's roles were revoked"]
    hist = s.roles.history()
    assert [(g.action, g.operator_id, g.role, g.by) for g in hist][-1] == ("revoke", "clerk09", "clerk", ADMIN.operator_id)
    assert (hist[0].action, hist[0].role, hist[0].note) == ("grant", "administrator", "store created")
    assert s.roles.operators()["clerk09"] == frozenset()


def test_grants_are_shared_between_processes_and_handles(tmp_path: Path) -> None:
    """A grant made through one handle is seen at once by another (the roles journal is re-read)."""
    s = new_store(tmp_path / "s")
    other = Audit(s.path)  # a second, independent view, as another process would have
    assert not other.roles.has_role("late01", "clerk")
    s.roles.grant("late01", "clerk", by=ADMIN)
    assert s.roles.has_role("late01", "clerk")  # at once where it was made
    time.sleep(other.roles.recheck)  # elsewhere within the recheck interval
    assert other.roles.has_role("late01", "clerk")
    with pytest.raises(NotPermitted, match="own administrator"):
        s.roles.revoke(ADMIN.operator_id, "administrator", by=ADMIN)
    with pytest.raises(QueryError, match="unknown role"):
        s.roles.grant("x", "superuser", by=ADMIN)
    with pytest.raises(NotPermitted):
        s.roles.bootstrap(Operator("again", "t"))


def test_threads_asking_a_fresh_registry_at_once_all_see_the_grants(tmp_path: Path) -> None:
    """While one thread replays the roles journal, the others wait for its tables rather than
    reading the empty ones of a registry not yet replayed."""
    import threading

    s = new_store(tmp_path / "s", roles={f"clerk{k:02d}": ["clerk"] for k in range(40)})
    for attempt in range(20):
        other = Audit(s.path)  # fresh: nothing replayed yet
        barrier = threading.Barrier(4)
        answers: list[bool] = []

        def ask() -> None:
            barrier.wait()
            answers.append(other.roles.has_right("clerk39", "write"))

        threads = [threading.Thread(target=ask, daemon=True) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert answers == [True] * 4, f"attempt {attempt}: {answers}"


def test_two_administrators_revoking_each_other_at_once_leave_one(tmp_path: Path) -> None:
    """One after the other, the second revocation is refused: its author no longer holds the grant
    right. At once, the check and the record are one step under the roles journal's lock, so the
    same holds: the store is never left without an administrator."""
    other = Operator("admin02", "term-admin2")
    for attempt in range(10):
        s = new_store(tmp_path / f"s{attempt}", roles={other.operator_id: ["administrator"]})
        roles = s.roles
        errors = run_at_once(lambda: roles.revoke(other.operator_id, "administrator", by=ADMIN),
                               lambda: roles.revoke(ADMIN.operator_id, "administrator", by=other))
        assert len(errors) == 1 and isinstance(errors[0], NotPermitted), errors
        admins = [op for op, held in roles.operators().items() if "administrator" in held]
        assert len(admins) == 1, f"attempt {attempt}"
        refused = [e.body for e in s.audit.access.entries() if e.body["outcome"] == "refused"]
        assert [b["reason"] for b in refused] == ["no role with the grant right"]


def test_two_bootstraps_at_once_make_one_administrator(tmp_path: Path) -> None:
    for attempt in range(10):
        d = tmp_path / f"s{attempt}"
        d.mkdir()
        roles = Audit(d).roles
        errors = run_at_once(lambda: roles.bootstrap(Operator("first", "t1")),
                               lambda: roles.bootstrap(Operator("second", "t2")))
        assert len(errors) == 1 and isinstance(errors[0], NotPermitted), errors
        assert len(roles.operators()) == 1, f"attempt {attempt}: {roles.operators()}"


def test_a_bound_store_needs_a_purpose(tmp_path: Path) -> None:
    s = new_store(tmp_path / "s")
    with pytest.raises(QueryError, match="purpose"):
        s.acting(READER, "  ")
    with pytest.raises(TypeError):
        Store.create(tmp_path / "t", "131075", administrator="admin")  # type: ignore[arg-type]


def test_the_approver_of_a_correction_is_checked_against_the_store(world: dict[str, Any]) -> None:
    """Dual control uses the store's roles: a clerk may not approve; the proposer may not either."""
    reg = world["reg"]
    pr = reg.corrections.propose(7, {53: "二重"}, operator=ROLE_OPS["clerk"])
    with pytest.raises(NotPermitted, match="approver role"):
        reg.corrections.approve(pr.id, operator=Operator("clerk02x", "t"))
    reg.store.roles.grant("both01", "clerk", by=ADMIN)
    reg.store.roles.grant("both01", "approver", by=ADMIN)
    own = reg.corrections.propose(7, {53: "自己"}, operator=Operator("both01", "t"))
    with pytest.raises(NotPermitted, match="own correction"):
        reg.corrections.approve(own.id, operator=Operator("both01", "t"))
    assert reg.corrections.approve(pr.id, operator=ROLE_OPS["approver"]).person_id == 7


# ---- audit search and masking ---------------------------------------------------------------------

def test_audit_search_by_operator_person_and_period(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import datetime as dt

    s = new_store(tmp_path / "s", roles={"clerk01": ["clerk"], "audit01": ["auditor"]})
    s.load(make_records(10, seed=44), operator=Operator("clerk01", "t1"))
    t0 = dt.datetime.now(dt.timezone.utc)
    s.get(person_id=3)
    s.get_many([4, 5], by="person_id")
    s.acting(Operator("clerk01", "t1"), "別件").get(person_id=4)
    a = s.audit
    assert [e.body["act"] for e in search(a, person=4)] == ["get_many", "get"]
    assert [e.body["op"] for e in search(a, operator="clerk01")] == ["clerk01"]
    assert len(list(search(a, since=t0))) == 3
    assert list(search(a, until=t0)) == []
    aud = ["--operator", "audit01", "--terminal", "t-a"]
    assert main(["audit", "search", str(s.path), "--person", "4", "--json", *aud]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(r["act"], r["op"]) for r in rows] == [("get_many", "reader01"), ("get", "clerk01")]
    assert main(["audit", "search", str(s.path), "--person", "4", "--operator", "clerk01", "--terminal", "t1"]) == 2
    assert "audit" in capsys.readouterr().err
    # The refusal just now is itself on record, and an auditor finds it.
    assert main(["audit", "search", str(s.path), "--refused", "--json", *aud]) == 0
    [r] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert (r["op"], r["right"], r["act"]) == ("clerk01", "audit", "audit search")
    assert main(["operators", "list", str(s.path), *aud]) == 0
    assert "audit01" in capsys.readouterr().out


def test_audit_search_by_operator_finds_their_grants_and_revocations(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Entries of the roles log name their operator as ``by`` (the one granted is ``operator``), and
    ``--by`` finds an operator's acts there as the listing shows them."""
    s = new_store(tmp_path / "s", roles={"audit01": ["auditor"]})
    s.roles.revoke("reader01", "clerk", by=ADMIN)
    a = s.audit
    assert [(e.body["action"], e.body["operator"]) for e in search(a, operator="admin01", journal="roles")] == [
        ("grant", "admin01"), ("grant", "reader01"), ("grant", "audit01"), ("revoke", "reader01")]
    assert list(search(a, operator="reader01", journal="roles")) == []
    aud = ["--operator", "audit01", "--terminal", "t-a"]
    assert main(["audit", "search", str(s.path), "--log", "roles", "--by", "admin01", "--json", *aud]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_my_numbers_never_reach_logs_errors_or_reprs(world: dict[str, Any]) -> None:
    s = world["store"]
    rec = world["recs"][11]
    mn = getattr(rec, F[81])
    assert s.get(mynumber=mn) is not None
    with pytest.raises(NotPermitted) as e:
        Store.open(s.path).get(mynumber=mn)
    assert mn not in str(e.value)
    with pytest.raises(QueryError) as q:
        s.get(mynumber=mn + "x")
    assert mn not in str(q.value) and "*" * 8 in str(q.value)
    for d in (s.path / "audit").rglob("*"):
        if d.is_file() and d.name != "key":
            assert mn.encode() not in d.read_bytes(), d.name
    assert mn not in repr(s) and mn not in repr(s.get(mynumber=mn))


def test_retention_keeps_access_7_years_and_provisions_5(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SPEC §6: whole old segments go, the chains of what remains still verify."""
    import datetime as dt

    s = new_store(tmp_path / "s", roles={"audit01": ["auditor"]})
    a = s.audit
    for year in (2015, 2018, 2020, 2024):
        when = dt.datetime(year, 6, 1, tzinfo=dt.timezone.utc)
        a.access.append({"op": "x", "act": "get", "outcome": "ok", "n": 0, "persons": []}, at=when)
        a.provision.append({"op": "x", "recipient": "gakumu", "n": 0, "persons": []}, at=when)
    gone = a.retire(dt.date(2025, 7, 1))
    assert gone == {"access": ["201506.log", "201806.log"], "provision": ["201506.log", "201806.log", "202006.log"]}
    reports = a.verify()
    assert all(r.ok for r in reports.values()), reports
    assert [e.time.year for e in a.access.entries()] == [2020, 2024]
    assert main(["audit", "retire", str(s.path), "--operator", "reader01", "--terminal", "t"]) == 2
    assert main(["audit", "retire", str(s.path), "--operator", "audit01", "--terminal", "t", "--today", "2031-01-01"]) == 0
    assert "access: 1 segment(s) retired (202006.log)" in capsys.readouterr().out


def test_a_run_of_single_reads_is_one_entry_naming_every_person(world: dict[str, Any]) -> None:
    """Single gets in a loop cost one entry (like a batch read), which still names each person
    read and counts the calls; another kind of read or another purpose starts a new entry."""
    s = world["store"]
    before = len(access_entries(s))
    got = [s.get(code=_code(world, i)) for i in range(10)]
    s.get(person_id=got[0].person_id)  # another lookup kind: another entry
    other = s.acting(READER, "another purpose")
    other.get(code=_code(world, 11))
    new = access_entries(s)[before:]
    assert [e.body["act"] for e in new] == ["get", "get", "get"]
    first, by_id, elsewhere = (e.body for e in new)
    assert first["calls"] == 10 and first["n"] == 10 and first["by"] == "code"
    assert first["persons"] == [p.person_id for p in got] and first["last_at"] >= new[0].at
    assert by_id["by"] == "person_id" and "calls" not in by_id and by_id["persons"] == [got[0].person_id]
    assert elsewhere["purpose"] == "another purpose"
    # The auditor finds every one of them by person.
    from jukistore.access.log import search

    for p in got:
        assert new[0].seq in {e.seq for e in search(s.audit, person=p.person_id)}
    assert all(r.ok for r in s.audit.verify().values())


@pytest.mark.parametrize("as_int", [False, True], ids=["text keys", "int keys"])
def test_single_reads_from_threads_are_each_logged_once(tmp_path: Path, as_int: bool) -> None:
    """Gets from four threads, while the log is written every few entries and runs overflow an
    entry's limit: every lookup appears in exactly one entry, and calls add up to the lookups.
    Keys as ints are answered by the native get while it is armed, text keys by the checked one."""
    import threading

    from jukistore.access.journal import MERGE_PERSONS

    reader = new_store(tmp_path / "s")
    s = reader
    recs = make_records(60, seed=43)
    s.load(recs, operator=READER)
    codes: list[Any] = [int(getattr(r, F[30])) if as_int else getattr(r, F[30]) for r in recs]
    missing: Any = 99999999999 if as_int else "99999999999"
    reader.audit.access.flush_every = 5
    per_thread = MERGE_PERSONS + 300  # a run longer than one entry holds
    seen: list[list[int]] = []

    def work(k: int) -> None:
        ids = []
        for i in range(per_thread):
            p = reader.get(code=codes[(i * 7 + k) % len(codes)])
            assert p is not None
            ids.append(p.person_id)
            if i % 97 == k:
                reader.get(code=missing)  # not found: a call naming nobody
        seen.append(ids)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reader.audit.access.flush()
    gets = [e.body for e in access_entries(s) if e.body.get("act") == "get" and e.body["op"] == READER.operator_id]
    logged = sorted(p for b in gets for p in persons_of(b).tolist())
    assert logged == sorted(p for ids in seen for p in ids)
    assert all(b["n"] == len(persons_of(b)) <= MERGE_PERSONS for b in gets)
    misses = sum(1 for k in range(4) for i in range(per_thread) if i % 97 == k)
    assert sum(b.get("calls", 1) for b in gets) == 4 * per_thread + misses
    assert all(r.ok for r in s.audit.verify().values())


# ---- the native single get -------------------------------------------------------------------------

def _count_checked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the gets that the native get left to the checked path."""
    from jukistore import store as store_module

    calls = [0]
    real = store_module._CheckedGet.__call__

    def counted(self: Any, *args: Any) -> Any:
        calls[0] += 1
        return real(self, *args)

    monkeypatch.setattr(store_module._CheckedGet, "__call__", counted)
    return calls


def test_the_native_get_answers_a_run_and_logs_every_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After one checked get, int keys are answered natively (the rights unchanged, the log entry
    open); each call is still in the log, found or not, also across the entry being closed (the
    log written, another kind of get between)."""
    s = new_store(tmp_path / "s")
    recs = make_records(30, seed=44)
    s.load(recs, operator=READER)
    time.sleep(0.03)  # past the default recheck interval of the load's look at the roles
    s.roles.recheck = 3600.0  # no rights look is due during the run (the new interval applies at
    checked = _count_checked(monkeypatch)  # once): only the log can interrupt it
    codes = [int(getattr(r, F[30])) for r in recs]
    got = [s.get(code=c) for c in codes[:10]] + [s.get(code=99999999999)]
    assert checked[0] < 5  # the first, and one after each write of the log by its flusher (0.2 s)
    s.audit.access.flush()  # closes the entry the native get was adding to
    got += [s.get(code=c) for c in codes[10:20]]
    assert s.get(person_id=1) is not None  # another entry: closes the one of gets by code
    got += [s.get(code=c) for c in codes[20:]]
    assert [p.person_id for p in got if p is not None] == list(range(1, 31)) and got[10] is None
    s.audit.access.flush()
    gets = [e.body for e in access_entries(s) if e.body.get("act") == "get"]
    assert [b["by"] for b in gets] == ["code", "code", "person_id", "code"]
    assert sum(b.get("calls", 1) for b in gets) == 32
    assert sorted(p for b in gets for p in persons_of(b).tolist()) == [1, *range(1, 31)]


def test_a_revocation_here_stops_the_native_get_at_once(tmp_path: Path) -> None:
    """A role revoked through this process's register refuses the next get of a handle whose
    native get was armed, however long the recheck interval."""
    s = new_store(tmp_path / "s", roles={"clerk09": ["clerk"]})
    op = Operator("clerk09", "t9")
    recs = make_records(3, seed=43)
    s.load(recs, operator=op)
    s.roles.recheck = 3600.0
    h = s.acting(op, "照会")
    code = int(getattr(recs[0], F[30]))
    assert h.get(code=code) is not None and h.get(code=code) is not None
    s.roles.revoke("clerk09", "clerk", by=ADMIN)
    with pytest.raises(NotPermitted, match="revoked"):
        h.get(code=code)


def test_a_revocation_elsewhere_stops_the_native_get_within_the_recheck_interval(tmp_path: Path) -> None:
    """A role revoked by another process (here an independent register on the same files) refuses
    gets once the recheck interval has passed, as the checked path would."""
    s = new_store(tmp_path / "s", roles={"clerk09": ["clerk"]})
    op = Operator("clerk09", "t9")
    recs = make_records(3, seed=43)
    s.load(recs, operator=op)
    h = s.acting(op, "照会")
    code = int(getattr(recs[0], F[30]))
    assert h.get(code=code) is not None
    Audit(s.path).roles.revoke("clerk09", "clerk", by=ADMIN)
    time.sleep(2 * s.roles.recheck)
    with pytest.raises(NotPermitted, match="revoked"):
        h.get(code=code)


def test_a_dropped_handle_is_freed_at_once(tmp_path: Path) -> None:
    """The native get holds the handle's parts, not the handle: no reference cycle keeps a
    dropped handle (and its store) open until the garbage collector runs."""
    import gc
    import weakref

    s = new_store(tmp_path / "s")
    s.load(make_records(2, seed=45), operator=READER)
    h = Store.open(s.path, operator=READER, purpose=PURPOSE)
    assert h.get(person_id=1) is not None
    get = h.get
    ref = weakref.ref(h)
    gc.disable()
    try:
        del h
        assert ref() is None
        assert get(person_id=2) is not None  # a get taken from a handle keeps working
    finally:
        gc.enable()


def test_a_shorter_recheck_interval_applies_to_the_native_get_at_once(tmp_path: Path) -> None:
    """Lowering the interval after a look shortens the native get's window as it does the checked
    one's: a revocation elsewhere is then refused within the new interval."""
    s = new_store(tmp_path / "s", roles={"clerk09": ["clerk"]})
    op = Operator("clerk09", "t9")
    recs = make_records(3, seed=43)
    s.load(recs, operator=op)
    s.audit.access.flush_after = 5.0  # the log's flusher would end the run of gets every 0.2 s
    s.audit.access.close()
    s.roles.recheck = 1e11  # "practically never", beyond what nanoseconds in 64 bits can hold
    h = s.acting(op, "照会")
    code = int(getattr(recs[0], F[30]))
    assert h.get(code=code) is not None and h.get(code=code) is not None
    s.roles.recheck = 0.02
    Audit(s.path).roles.revoke("clerk09", "clerk", by=ADMIN)
    time.sleep(0.1)
    with pytest.raises(NotPermitted, match="revoked"):
        h.get(code=code)


def test_a_subclass_get_is_called(tmp_path: Path) -> None:
    """The native get is set on handles of Store itself, not over a subclass's own get."""
    s = new_store(tmp_path / "s")
    recs = make_records(2, seed=46)
    s.load(recs, operator=READER)
    calls: list[dict[str, Any]] = []

    class Traced(Store):
        def get(self, **kw: Any) -> Any:  # type: ignore[override]
            calls.append(kw)
            return super().get(**kw)

    t = Traced(s._native, audit=s.audit, operator=READER, purpose=PURPOSE)
    code = int(getattr(recs[0], F[30]))
    assert t.get(code=code) is not None and t.get(code=code) is not None
    assert calls == [{"code": code}, {"code": code}]


def test_no_operator_grants_a_role_to_themselves(tmp_path: Path) -> None:
    """An administrator could grant themselves the clerk role and then read resident data, which
    undoes the separation of the one who grants from the one who reads. A self-grant is refused
    and logged; another operator with the grant right can grant it."""
    other = Operator("admin02", "term-admin2")
    s = new_store(tmp_path / "s", roles={other.operator_id: ["administrator"]})
    with pytest.raises(NotPermitted, match="to themselves"):
        s.roles.grant(ADMIN.operator_id, "clerk", by=ADMIN)
    assert "clerk" not in s.roles.operators().get(ADMIN.operator_id, set())
    [refusal] = [e.body for e in s.audit.access.entries() if e.body["outcome"] == "refused"]
    assert refusal["op"] == ADMIN.operator_id and refusal["reason"] == "a role granted to oneself"
    s.roles.grant(ADMIN.operator_id, "clerk", by=other)
    assert "clerk" in s.roles.operators()[ADMIN.operator_id]


def test_a_role_dropped_from_the_rights_table_can_still_be_revoked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A role later removed from roles.toml carries no rights, but its holders stayed recorded as
    holding it, and revoking it was refused as an unknown role."""
    import jukistore.access.roles as roles_mod

    s = new_store(tmp_path / "s", roles={"aud01": ["auditor"]})
    table = dict(roles_mod.rights_table())
    del table["auditor"]
    monkeypatch.setattr(roles_mod, "rights_table", lambda: table)
    assert not s.roles.has_right("aud01", "audit")
    with pytest.raises(QueryError, match="unknown role"):
        s.roles.grant("aud02", "auditor", by=ADMIN)
    with pytest.raises(QueryError, match="does not hold"):
        s.roles.revoke("aud02", "auditor", by=ADMIN)
    s.roles.revoke("aud01", "auditor", by=ADMIN)
    assert "auditor" not in s.roles.operators().get("aud01", set())
