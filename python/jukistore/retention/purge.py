"""The purge run: erase what is due, rebuild the store, swap it in, prove the bytes are gone.

A run needs two people: the operator who runs it and a different operator holding the approver
role, both named in the receipt. It takes the store for itself (an exclusive open: refused while
anyone else has the store open, and nobody can open it until the run ends), then goes through
phases recorded in a journal file (``purge.journal``) beside the data file, so that a run killed at
any moment and started again finishes the same purge and nothing erased comes back:

1. ``erase``: the persons and versions of the plan are deleted in bounded batches, one write
   transaction each; a batch run twice deletes nothing the second time.
2. ``retire``: mailing data sent before its rule's cut-off is deleted from the store; access logs
   and provision records, kept outside the store, are retired up to their rules' cut-offs through
   :class:`~jukistore.retention.plan.Retirable`.
3. ``rebuild``: every database is written into a fresh file (``purge.rebuild/``), which is renamed
   over ``data.mdb`` (atomic) and the directory synced. Killed before the rename, the old file
   (with the erasures committed) is still the store and the rebuild is done again; killed after,
   the rebuild of the new file is done again, which changes nothing.
4. ``scan``: every file under the store directory is searched for the purged persons' numbers
   (current and superseded 住民票コード and 個人番号, as the store keeps them and as text) and
   names; the purged ids must be unknown and ``verify()`` clean.
5. ``receipt``: the receipt is written (:mod:`~jukistore.retention.receipt`), the journal removed.

The journal holds internal person ids and counts, never personal data. The scan's samples (names,
numbers) are read from the store before the erasure and kept in memory only: a run resumed after
the erasure had committed cannot sample the persons already erased, and its receipt says how many
persons were sampled.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import secrets
import shutil
import struct
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import msgspec
import numpy as np
import numpy.typing as npt

from jukistore import _core
from jukistore.errors import NotPermitted, StoreCorrupt, StoreError
from jukistore.access.log import Audit
from jukistore.dates import JST
from jukistore.retention import rules as R
from jukistore.retention.plan import Plan, Retirable, make_plan
from jukistore.retention.receipt import Receipt, write_receipt
from jukistore.records import JuminKihon
from jukistore.store import NO_MYNUMBER, Clock, Operator, Store, _decoder, _key_fields, name_key, utc_now

JOURNAL = "purge.journal"
WORK_DIR = "purge.rebuild"
#: Persons whose names are sampled for the byte scan (numbers are taken for every person).
NAME_SAMPLES = 10_000
#: An LMDB leaf node header of the number indexes: data size 9 (two u16), flags 0, key size 8.
_LEAF_HEADER = struct.pack("=HHHH", 9, 0, 0, 8)
#: The shortest sample the byte scan takes (jukistore-core scan::MIN_NEEDLE).
MIN_NEEDLE = 8


class PurgeError(StoreError):
    """A purge cannot start or did not prove its result; the message says which and why."""


class _Journal(msgspec.Struct):
    run_id: str
    as_of: str
    phase: str
    operator: list[str]
    approver: list[str]
    started_at: str
    summary: dict[str, Any]
    rules: list[dict[str, Any]]
    person_ids: list[int]
    version_pids: list[int]
    version_seqs: list[int]
    retire: dict[str, list[Any]]
    retired: dict[str, int] = {}
    file_bytes_before: int = 0
    file_bytes_after: int = 0
    scan: dict[str, Any] = {}
    #: Seconds per phase, as this run (or the run it resumed) measured them.
    timings: dict[str, float] = {}
    #: The rule id of each person and version listed (aligned with them; empty in older journals).
    person_rules: list[str] = []
    version_rules: list[str] = []
    #: [operator, terminal, approver, approver's terminal] of each resumption by another pair.
    resumed_by: list[list[str]] = []


_jenc = msgspec.json.Encoder()
_jdec = msgspec.json.Decoder(_Journal)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that it is either the old or the new content after any crash."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _read_journal(path: Path) -> _Journal | None:
    p = path / JOURNAL
    if not p.exists():
        return None
    try:
        return _jdec.decode(p.read_bytes())
    except msgspec.DecodeError as e:
        raise StoreCorrupt(f"{JOURNAL}: unreadable ({e}); the purge cannot be resumed safely") from None


def _save(path: Path, j: _Journal) -> None:
    write_atomic(path / JOURNAL, _jenc.encode(j))


def check_approval(operator: Operator, approver: Operator, audit: Audit, as_of: _dt.date) -> None:
    """A purge is run by an operator with the write right and approved by another operator with
    the purge_approve right, both from the store's roles; a refusal is logged like any other."""
    for who, op in (("operator", operator), ("approver", approver)):
        if not isinstance(op, Operator):
            raise TypeError(f"{who} must be a jukistore.store.Operator")
    purpose = f"purge as of {as_of.isoformat()}"
    audit.authorize(operator, "write", "purge run", purpose)
    if approver.operator_id == operator.operator_id:
        why = "an operator may not approve their own purge"
        audit._refused(approver, "purge_approve", "purge approval", purpose, why)
        raise NotPermitted(f"operator {operator.operator_id!r} may not approve their own purge")
    audit.authorize(approver, "purge_approve", "purge approval", purpose)


def digest_ids(person_ids: list[int], version_pids: list[int], version_seqs: list[int]) -> str:
    """SHA-256 over the sorted purged person ids and (person, 更新順番号) pairs, 8-byte big-endian.

    Lets an auditor check a list of ids kept elsewhere against the receipt without the receipt
    holding the list.
    """
    h = hashlib.sha256(b"jukistore-purge-ids-1\n")
    h.update(np.sort(np.asarray(person_ids, dtype=">u8")).tobytes())
    pairs = sorted(zip(version_pids, version_seqs))
    h.update(np.asarray(pairs, dtype=">u8").tobytes())
    return h.hexdigest()


def _needles(native: _core.NativeStore, pids: npt.NDArray[np.uint64]) -> tuple[list[bytes], int, int, int]:
    """Byte samples of the persons still present: (needles, persons sampled, numbers, names).

    Numbers as the store keeps them: in the record (a MessagePack string), in the indexes (an LMDB
    leaf node), in the entry and versions (the code and My Number side by side); names (kanji,
    kana and the 清音化 search key, each framed as the store holds it) for up to
    :data:`NAME_SAMPLES` persons whose name no person outside the purge shares. Needles shorter
    than 8 bytes are too short to prove anything and left out.
    """
    codes, mns = native.numbers_of(pids)
    out: set[bytes] = set()
    for arr, width in ((codes, 11), (mns, 12)):
        # The record holds the number as a MessagePack string: its header byte and the digits. The
        # bare digits could sit inside a longer digit string of another record; framed they cannot.
        for v in arr.tolist():
            out.add(bytes([0xA0 | width]) + f"{v:0{width}d}".encode())
        # The index holds it as an LMDB leaf node: 9-byte value, no flags, 8-byte key, the key
        # (native order). A bare 8-byte integer has too few significant bytes to be told from
        # chance in gigabytes of pages; with its node header it cannot be. A value that is also
        # another person's number of the other kind rightly stays in that person's node.
        shared = native.numbers_shared(np.ascontiguousarray(arr, dtype=np.uint64), pids) if len(arr) else []
        for v, dup in zip(arr.tolist(), shared):
            if not dup:
                out.add(_LEAF_HEADER + int(v).to_bytes(8, sys.byteorder))
    # The person entry and every version hold the current pair side by side (entry.rs); the
    # same read gives the record whose names are sampled.
    sampled = 0
    people: list[JuminKihon] = []
    for pid in pids.tolist():
        t = native.get("person_id", pid)
        if t is None:
            continue
        out.add(int(t[4]).to_bytes(8, "little") + int(NO_MYNUMBER if t[5] is None else t[5]).to_bytes(8, "little"))
        sampled += 1
        if len(people) < NAME_SAMPLES:
            people.append(_decoder.decode(t[6]))
    numbers = len(out)
    f = _key_fields()
    names: set[bytes] = set()
    # A name a namesake outside the purge also holds proves nothing: their record keeps it.
    keys = [name_key(getattr(rec, f["kana"])) for rec in people]
    shared = native.name_keys_shared([k.encode() for k in keys], pids) if people else []
    for rec, key, dup in zip(people, keys, shared):
        if dup:
            continue
        # Framed as the store holds them, like the numbers: a bare name is often part of a longer
        # one ("林　ハル" in "小林　ハル", "ハヤシハル" in "ハヤシハルト"), or the name of another
        # person in some field of a kept record (a former head of household), and a kept record
        # that holds it so is no leftover. The record (array-like MessagePack) holds the kana and
        # kanji names as consecutive strings, then sex and birth date: a string header alone is
        # no frame, since fixstr headers are also UTF-8 continuation bytes ("サ" ends in 0xB5), so
        # each name is searched with its neighbours. The name index holds the search key after
        # its LMDB node header's key size; the entry and versions hold it before the birth key.
        k = key.encode()
        kana, kanji = _msgpack_str(getattr(rec, f["kana"])), _msgpack_str(getattr(rec, f["kanji"]))
        after = _msgpack_str(getattr(rec, f["sex"])) + _msgpack_str(getattr(rec, f["birth"]))
        for b in (kana + kanji, kanji + after, len(k).to_bytes(2, "little") + k, k + getattr(rec, f["birth"]).encode()):
            if len(b) >= MIN_NEEDLE:
                names.add(b)
    names -= out
    return list(out) + sorted(names), sampled, numbers, len(names)


def _msgpack_str(text: str) -> bytes:
    """``text`` as a MessagePack string: its header (which carries the length) and UTF-8 bytes."""
    b = text.encode()
    n = len(b)
    if n < 32:
        return bytes([0xA0 | n]) + b
    if n < 256:
        return b"\xd9" + bytes([n]) + b
    return b"\xda" + n.to_bytes(2, "big") + b


def _mailing_needles(native: _core.NativeStore, before: str) -> list[bytes]:
    """The 送付先管理番号 of each mailing entry to retire: unique to the entry, so its bytes found
    anywhere would be the entry's."""
    from jukistore.records import Sofusaki, decode

    cut = before.replace("-", "").encode()
    out: list[bytes] = []
    after = 0
    while rows := native.mailing_list(after, 1000):
        for mid, sent, _pid, payload in rows:
            if sent is not None and sent < cut:
                b = decode(Sofusaki, payload).destination_management_number.encode()
                if len(b) >= MIN_NEEDLE:
                    out.append(b)
        after = rows[-1][0]
    return out


def _active(j: _Journal) -> bool:
    """Whether the run erases or retires anything (an empty run only verifies and leaves a receipt)."""
    return bool(j.person_ids or j.version_pids or any(n for _, n in j.retire.values()))


def _store_files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


def _proposals_of(native: _core.NativeStore, pids: set[int], seqs: set[int]) -> tuple[dict[int, list[int]], list[int]]:
    """Proposals hold personal data too: the proposal ids of each person given, and those of
    proposals that wrote one of the versions ``seqs`` (a correction's values are the values of
    the version its approval wrote, and go with it)."""

    class _Who(msgspec.Struct):
        person_id: int = 0

    dec = msgspec.msgpack.Decoder(_Who)
    out: dict[int, list[int]] = {}
    of_versions: set[int] = set()
    after = 0
    while True:
        rows = native.proposals(after, 1000)
        if not rows:
            return out, sorted(of_versions)
        for pid_, step, seq, raw in rows:
            if step == 0:
                who = dec.decode(raw).person_id
                if who in pids:
                    out.setdefault(who, []).append(pid_)
            if seq and seq in seqs:
                of_versions.add(pid_)
        after = rows[-1][0]


def run(path: str | Path, as_of: _dt.date, *, operator: Operator, approver: Operator,
        rules: R.Rules | None = None, retirables: Mapping[str, Retirable] | None = None,
        batch_size: int = 1000, clock: Clock = utc_now,
        progress: Callable[[str, int, int], None] | None = None) -> Receipt:
    """Purge the store at ``path`` as of ``as_of``; returns the receipt (also written to the store).

    ``operator`` needs the write right and ``approver``, another operator, the purge_approve right
    (roles as the store records them). The access log and provision records are retired by their
    own rules unless ``retirables`` says otherwise; the run itself is recorded in the access log
    (one entry naming both operators and the persons erased). Resumes an unfinished purge of the
    same date found in the journal; refuses one of another date, and a date after today (by
    ``clock``, in Japan), which would erase records before their time. ``progress(phase, done, total)``
    is called between batches.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if not isinstance(as_of, _dt.date) or isinstance(as_of, _dt.datetime):
        raise TypeError(f"as_of must be a datetime.date, got {type(as_of).__name__}")
    today = clock().astimezone(JST).date()
    if as_of > today:
        # A plan may look ahead; a run as of a later day would erase what is still to be kept.
        raise PurgeError(f"as_of {as_of.isoformat()} is after today ({today.isoformat()}, Japan): "
                         f"a purge erases only what is due by today")
    path = Path(path)
    audit = Audit.of(path)
    check_approval(operator, approver, audit, as_of)
    if retirables is None:
        retirables = audit.retirables()
    native: _core.NativeStore | None = _core.NativeStore.open(str(path), False, None, True)
    assert native is not None
    j = _read_journal(path)
    if j is not None and j.as_of != as_of.isoformat():
        raise PurgeError(f"an unfinished purge as of {j.as_of} is recorded in {JOURNAL}; "
                         f"run it again as of {j.as_of} to finish it first")
    if j is not None:
        pair = [operator.operator_id, operator.terminal_id, approver.operator_id, approver.terminal_id]
        if pair != [*j.operator, *j.approver] and pair not in j.resumed_by:
            j.resumed_by.append(pair)  # they approved what this run erases: the receipt names them
            _save(path, j)
    if j is None:
        plan = make_plan(Store(native, clock), as_of, rules=rules, retirables=retirables)
        j = _new_journal(path, plan, operator, approver, clock)
        if not plan.empty:
            _save(path, j)
    elif j.phase == "erase":
        _still_due(j, native, make_plan(Store(native, clock), as_of, rules=rules, retirables=retirables))
        _save(path, j)
    pids = np.asarray(j.person_ids, dtype=np.uint64)
    needles, sampled, n_numbers, n_names = _needles(native, pids)
    if "mailing" in j.retire and j.phase in ("erase", "retire"):
        mail = _mailing_needles(native, j.retire["mailing"][0])
        needles += mail
        n_names += len(mail)

    t0 = time.perf_counter()
    if j.phase == "erase":
        by_person, of_versions = _proposals_of(native, set(j.person_ids), set(j.version_seqs))
        for at in range(0, len(pids), batch_size):
            batch = pids[at:at + batch_size]
            props = sorted(p for pid in batch.tolist() for p in by_person.get(pid, ()))
            native.erase_persons(np.ascontiguousarray(batch), props)
            if progress:
                progress("erase", min(at + batch_size, len(pids)), len(pids))
        vp = np.asarray(j.version_pids, dtype=np.uint64)
        vs = np.asarray(j.version_seqs, dtype=np.uint64)
        for at in range(0, len(vp), batch_size):
            native.erase_versions(np.ascontiguousarray(vp[at:at + batch_size]), np.ascontiguousarray(vs[at:at + batch_size]))
        if of_versions:  # the corrections whose versions were just erased (with no person)
            native.erase_persons(np.zeros(0, dtype=np.uint64), of_versions)
        j.phase = "retire"
        j.timings["erase"] = round(time.perf_counter() - t0, 3)
        if _active(j):
            _save(path, j)

    if j.phase == "retire":
        # What a run killed after retiring (before its journal said so) retired is not retired
        # again: each kind's count is what the plan counted less what is still there, or what
        # this run retired if more.
        for kind, (before, planned) in j.retire.items():
            if kind == "mailing":
                cut = before.replace("-", "").encode()
                done = int(native.mailing_retire(cut))
                left = int(native.mailing_count_before(cut))
            else:
                target = (retirables or {}).get(kind)
                if target is None:
                    raise PurgeError(f"the purge plan retires {kind} but no {kind} was given to this run")
                day = _dt.date.fromisoformat(before)
                done = int(target.retire(day))
                left = int(target.count_before(day))
            j.retired[kind] = max(done, int(planned) - left)
        j.phase = "rebuild" if _active(j) else "receipt"
        if j.phase == "rebuild":
            _save(path, j)

    if j.phase == "rebuild":
        t0 = time.perf_counter()
        work = path / WORK_DIR
        shutil.rmtree(work, ignore_errors=True)
        native.rebuild_into(str(work))
        native.swap_in(str(work / "data.mdb"))
        native = None  # closed by the swap; the environment closes with the last reference
        shutil.rmtree(work)
        _fsync_dir(path)
        j.file_bytes_after = (path / "data.mdb").stat().st_size
        j.phase = "scan"
        j.timings["rebuild"] = round(time.perf_counter() - t0, 3)
        _save(path, j)

    if j.phase == "scan":
        t0 = time.perf_counter()
        if native is None:
            native = _core.NativeStore.open(str(path), False, None, True)
        files = _store_files(path)
        hits = _core.scan_files([str(p) for p in files], needles) if needles else np.zeros(0, np.uint64)
        number_hits = int(hits[:n_numbers].sum())
        name_hits = int(hits[n_numbers:].sum())
        still = sum(native.get("person_id", p) is not None for p in j.person_ids)
        persons, problems, more = native.verify()
        j.scan = {"files": len(files), "bytes": sum(p.stat().st_size for p in files), "samples": len(needles),
                  "persons_sampled": sampled, "number_samples": n_numbers, "name_samples": n_names,
                  "number_hits": number_hits, "name_hits": name_hits, "purged_ids_found": still,
                  "verify_clean": not problems and not more, "persons_after": persons}
        if number_hits or name_hits or still or problems or more:
            _save(path, j)
            raise PurgeError(f"the purge did not prove its result: {number_hits} number and {name_hits} name "
                             f"samples still found, {still} purged ids still known, "
                             f"{len(problems) + more} verify problems")
        j.phase = "receipt"
        j.timings["scan"] = round(time.perf_counter() - t0, 3)
        _save(path, j)

    if native is None:
        native = _core.NativeStore.open(str(path), False, None, True)
    if not j.scan:
        persons, problems, more = native.verify()
        j.scan = {"files": 0, "bytes": 0, "samples": 0, "persons_sampled": 0, "number_samples": 0,
                  "name_samples": 0, "number_hits": 0, "name_hits": 0, "purged_ids_found": 0,
                  "verify_clean": not problems and not more, "persons_after": persons}
        j.file_bytes_after = (path / "data.mdb").stat().st_size
    receipt = _receipt(j, clock)
    write_receipt(path, receipt)
    # The run read the persons it erased (their numbers and names, for the scan): one access entry.
    audit.accessed(operator, f"purge as of {j.as_of}", "purge", np.asarray(j.person_ids, dtype=np.uint64),
                   run_id=j.run_id, approved_by=approver.operator_id, versions=len(j.version_pids))
    audit.flush()
    (path / JOURNAL).unlink(missing_ok=True)
    _fsync_dir(path)
    del native
    return receipt


def _still_due(j: _Journal, native: _core.NativeStore, fresh: Plan) -> None:
    """Keep in an interrupted run only what may still be erased.

    While the run waited to be started again the store was open to everyone: a removed person
    may have come back (a 転入 reuses the person id), been held, or been changed so that the clock
    starts later. What the first run already erased is gone from the store and stays in the run
    (erasing it again is a no-op); of the rest, only what a plan made now would erase stays.
    """
    held = {pid for pid, _ in native.holds()}
    counts = {r["id"]: r for r in j.rules}

    def dropped(pid: int, rules: list[str], i: int) -> None:
        """Count an item the run no longer erases: held now, or no longer due."""
        c = counts.get(rules[i]) if i < len(rules) else None
        if c is None:
            return
        if pid in held:
            c["held"] += 1
        else:
            c["due"] -= 1

    due = set(fresh.person_ids.tolist())
    keep_p = [p in due or native.get("person_id", p) is None for p in j.person_ids]
    for i, (p, k) in enumerate(zip(j.person_ids, keep_p)):
        if not k:
            dropped(p, j.person_rules, i)
    j.person_rules = [r for r, k in zip(j.person_rules, keep_p) if k]
    j.person_ids = [p for p, k in zip(j.person_ids, keep_p) if k]
    due_v = set(zip(fresh.version_pids.tolist(), fresh.version_seqs.tolist()))
    remaining: dict[int, set[int]] = {}

    def gone(p: int, q: int) -> bool:
        if p not in remaining:
            remaining[p] = {v[1] for v in native.history(p)}  # (person id, 更新順番号, ...)
        return q not in remaining[p]

    keep_v = [(p, q) in due_v or gone(p, q) for p, q in zip(j.version_pids, j.version_seqs)]
    for i, (p, k) in enumerate(zip(j.version_pids, keep_v)):
        if not k:
            dropped(p, j.version_rules, i)
    j.version_rules = [r for r, k in zip(j.version_rules, keep_v) if k]
    j.version_pids = [p for p, k in zip(j.version_pids, keep_v) if k]
    j.version_seqs = [q for q, k in zip(j.version_seqs, keep_v) if k]


def _new_journal(path: Path, plan: Plan, operator: Operator, approver: Operator, clock: Clock) -> _Journal:
    now = clock().astimezone(_dt.timezone.utc)
    rules = []
    for c in plan.counts.values():
        r = next(r for r in plan.rules if r.id == c.rule_id)
        rules.append({**r.as_dict(), "due": c.due, "held": c.held})
    return _Journal(
        run_id=f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}", as_of=plan.as_of.isoformat(), phase="erase",
        operator=[operator.operator_id, operator.terminal_id], approver=[approver.operator_id, approver.terminal_id],
        started_at=now.isoformat(), summary=plan.summary(), rules=rules,
        person_ids=[int(x) for x in plan.person_ids.tolist()], version_pids=[int(x) for x in plan.version_pids.tolist()],
        version_seqs=[int(x) for x in plan.version_seqs.tolist()],
        person_rules=list(plan.person_rules), version_rules=list(plan.version_rules),
        retire={k: [d.isoformat(), n] for k, (d, n) in plan.retire.items()},
        file_bytes_before=(path / "data.mdb").stat().st_size)


def _receipt(j: _Journal, clock: Clock) -> Receipt:
    return Receipt(
        run_id=j.run_id, as_of=j.as_of, started_at=j.started_at,
        finished_at=clock().astimezone(_dt.timezone.utc).isoformat(),
        operator={"operator_id": j.operator[0], "terminal_id": j.operator[1]},
        approver={"operator_id": j.approver[0], "terminal_id": j.approver[1]},
        rules=j.rules, persons_purged=len(j.person_ids), versions_purged=len(j.version_pids),
        retired={k: {"before": v[0], "count": j.retired.get(k, 0)} for k, v in j.retire.items()},
        purged_ids_digest=digest_ids(j.person_ids, j.version_pids, j.version_seqs),
        file_bytes_before=j.file_bytes_before, file_bytes_after=j.file_bytes_after, scan=j.scan,
        timings=j.timings,
        resumed_by=[{"operator_id": o, "terminal_id": t, "approver_id": a, "approver_terminal_id": at}
                    for o, t, a, at in j.resumed_by])
