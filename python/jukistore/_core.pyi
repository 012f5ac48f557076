"""Type stub of the native core (Rust, PyO3). Checked against the built module by the tests.

Identifier kinds are the names ``mynumber``, ``juminhyo``, ``lgcode``, ``corporate``. Reason
codes: 0 ok, 1 length, 2 format, 3 checksum.
"""

from os import PathLike
from typing import Any, Callable, ClassVar, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "BoundGet",
    "LoadSkipped",
    "NativeSide",
    "NativeStore",
    "PARALLEL_MIN",
    "PendingLoad",
    "Person",
    "RightsClock",
    "Tally",
    "__version__",
    "check_digit",
    "explain_bytes",
    "explain_list",
    "explain_one",
    "explain_u64",
    "explain_ucs4",
    "first_column_fault",
    "first_value_fault",
    "load_columns",
    "generate",
    "reconcile",
    "register_person_support",
    "reconcile_codes",
    "scan_files",
]
__version__: str
#: Inputs at least this long are split across cores.
PARALLEL_MIN: int

def explain_one(kind: str, value: str) -> int:
    """Reason code for one text value, taken as is."""

def check_digit(kind: str, base: str) -> int:
    """The check digit of a base of ``len - 1`` ASCII digits."""

def explain_u64(kind: str, values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
    """Reason codes for integers (leading zeros implied); GIL released, parallel when large."""

def explain_bytes(kind: str, data: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.uint8]:
    """Reason codes for packed fixed-width byte fields (trailing NULs are padding)."""

def explain_ucs4(kind: str, data: npt.NDArray[np.uint32], width: int) -> npt.NDArray[np.uint8]:
    """Reason codes for packed fixed-width UCS-4 fields (trailing NULs are padding)."""

def explain_list(kind: str, values: list[object]) -> npt.NDArray[np.uint8]:
    """Reason codes for a list; anything but a str is a format error."""

def first_column_fault(column: bytes, kind: int, width: int) -> int | None:
    """Index of the first value of an encoded list of str that is not a string or breaks the rule
    (``kind``, ``width``) of ``first_value_fault``; -1 when the bytes are no such list; None when
    all are good."""
def first_value_fault(payloads: list[bytes], kinds: list[int] | None = None,
                      widths: list[int] | None = None) -> tuple[int, int] | None:
    """(row, item) of the first encoded record with an item that is not a string or breaks its
    rule (``kinds``: 0 text, 1 digits, 2 date, 3 upper-case hex, 4 printable ASCII; ``widths`` in
    characters; no control characters, no trailing space), item -1 when the bytes are not an array;
    None when all are good."""
def load_columns(
    payloads: list[bytes], positions: list[int]
) -> (
    tuple[
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint8],
        npt.NDArray[np.uint8],
        list[bytes],
        npt.NDArray[np.uint8],
        npt.NDArray[np.uint8],
    ]
    | None
):
    """The columns a load indexes, from encoded master records: (codes, 個人番号 (2**64 - 1 for
    none), sex codes, removed flags, birth dates as given, change and notification dates as 8
    bytes each). ``positions``: where 住民票コード, 個人番号, 性別, 消除事由, 生年月日, 異動年月日 and
    届出年月日 lie in a record. None when a record holds any of them in another than the plain form."""
def generate(kind: str, n: int, seed: int, start: int = 0) -> npt.NDArray[np.uint64]:
    """``n`` distinct valid synthetic numbers from position ``start`` of the seeded sequence."""

_Found = tuple[int, bool, int, int, int, int | None, bytes]
#: (person_id, seq, valid_from, notified, event, flags, code, mynumber, payload)
_Version = tuple[int, int, bytes, bytes, int, int, int, int | None, bytes]
#: (seq, person_id, timestamp_us, event, operator, terminal, version or None once purged)
_Change = tuple[int, int, int, int, str, str, _Version | None]
#: (proposal id, step, seq written with the step or 0, value)
_Step = tuple[int, int, int, bytes]

def scan_files(paths: list[str | PathLike[str]], needles: list[bytes]) -> npt.NDArray[np.uint64]:
    """Occurrences of each needle (at least 8 bytes) in the files, summed over the files."""

@final
class Person:
    """One person as found: ids, state and the master record, decoded on first access."""

    def __new__(
        cls, person_id: int, payload: bytes | memoryview | None, seq: int, removed: bool,
        superseded: bool = False, record: Any = None,
    ) -> Person: ...
    @property
    def person_id(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def removed(self) -> bool: ...
    @property
    def superseded(self) -> bool: ...
    @property
    def record(self) -> Any:
        """The ``JuminKihon`` (typed in ``jukistore.store``, which registers its decoder)."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

def register_person_support(decode: Callable[[Any], Any], numbers: Callable[[Any], tuple[str, str]]) -> None:
    """The record decoder and the masked (code, mynumber) of a record, for ``Person.record`` and ``repr``."""

@final
class Tally:
    """The persons, calls and last call time of an open access-log entry (a run of gets)."""

    def __new__(cls, persons: list[int], at_us: int, limit: int) -> Tally: ...
    def add(self, persons: list[int], at_us: int) -> bool:
        """One more call; False when closed or over the limit."""
    def close(self) -> tuple[list[int], int, int]:
        """Close it: (persons, calls, last call in microseconds)."""

@final
class RightsClock:
    """A role register's rights generation, last look and recheck interval, for native checks."""

    def __new__(cls) -> RightsClock: ...
    @property
    def generation(self) -> int: ...
    def looked(self, changed: bool, at_ns: int) -> None:
        """A look begun at ``at_ns`` (monotonic) ended; ``changed`` when the tables were rebuilt."""
    def set_interval(self, interval_ns: int) -> None:
        """The recheck interval, as set now."""
    def expire(self) -> None:
        """Tables changed in this process: no native check holds until the next look."""
    def holds(self, armed: int) -> bool:
        """Whether a check armed at generation ``armed`` still holds now."""

@final
class BoundGet:
    """The native single get of a bound store handle, armed by its checked path."""

    def __new__(cls, store: NativeStore, rights: RightsClock,
                checked: Callable[[Any, Any, Any, BoundGet], Person | None]) -> BoundGet: ...
    def arm(self, generation: int, how: str, tally: Tally | None) -> None: ...
    def get(self, *, code: str | int | None = None, mynumber: str | int | None = None,
            person_id: int | None = None) -> Person | None:
        """``Store.get``: answered natively when armed, else by the handle's checked get."""

class LoadSkipped(Exception):
    """A batch not written because the one before it failed."""

@final
class PendingLoad:
    """A batch being loaded; dropping it waits for the batch to finish."""

    def wait(self) -> tuple[int, int, int, list[int]]:
        """(first_person_id, first_seq, count, lenient_rows), or the batch's error; once only."""

@final
class NativeStore:
    """An open LMDB store; one handle per directory per process."""

    @staticmethod
    def create(path: str | PathLike[str], municipality: str, map_size: int | None = None) -> NativeStore: ...
    @staticmethod
    def open(
        path: str | PathLike[str], readonly: bool = False, map_size: int | None = None, exclusive: bool = False
    ) -> NativeStore:
        """Open a store; ``exclusive`` (a purge) is refused while any other handle has it open."""
    @property
    def path(self) -> str: ...
    @property
    def readonly(self) -> bool: ...
    def begin_load(
        self,
        codes: npt.NDArray[np.uint64],
        mynumbers: npt.NDArray[np.uint64],
        name_keys: list[bytes],
        birth_keys: list[bytes],
        addr_keys: list[bytes],
        sexes: npt.NDArray[np.uint8],
        flags: npt.NDArray[np.uint8],
        payloads: list[bytes],
        valid_from: npt.NDArray[np.uint8],
        notified: npt.NDArray[np.uint8],
        operator: str,
        terminal: str,
        timestamp_us: int,
        event: int,
        juminhyo_strict: bool = True,
        durable: bool = True,
        after: PendingLoad | None = None,
    ) -> PendingLoad:
        """One batch in one transaction, written by a thread of the core (the batch is copied
        first), once the batch ``after`` has committed (not at all if it failed).
        ``durable=False``: a write of an unsynced load (see :meth:`unsynced_begin`)."""
    def get(self, how: str, key: int) -> _Found | None:
        """(person_id, superseded, flags, seq, code, mynumber, payload) by code/mynumber/person_id."""
    def person(self, how: str, key: int, tally: Tally | None = None) -> tuple[Person | None, bool]:
        """(the person or None, whether ``tally`` took the call)."""
    def get_many(
        self, how: str, keys: npt.NDArray[np.uint64]
    ) -> tuple[
        npt.NDArray[np.bool_],
        npt.NDArray[np.uint64],
        npt.NDArray[np.bool_],
        npt.NDArray[np.uint8],
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint8],
    ]:
        """Columns (found, person_ids, superseded, flags, seqs, offsets, data)."""
    def search(
        self,
        name_key: bytes | None = None,
        birth_key: bytes | None = None,
        addr_prefix: bytes | None = None,
        sex: int | None = None,
        limit: int = 1000,
    ) -> list[_Found]: ...
    def apply(
        self,
        updates: list[dict[str, object]],
        operator: str,
        terminal: str,
        timestamp_us: int,
        proposal: tuple[int, int, bytes] | None = None,
        durable: bool = True,
    ) -> list[tuple[int, int]]:
        """Updates (dicts: person_id, code, mynumber, name_key, birth_key, addr_key, sex, flags,
        payload, valid_from, notified, event, expect_seq, override_prohibited) in one transaction;
        person_id 0 registers a new person. ``proposal`` (id, step, value) writes that step of a
        proposal in the same transaction. Returns (更新順番号, person_id) of each update."""
    def history(self, person_id: int) -> list[_Version]: ...
    def as_of(self, person_id: int, date: bytes, known_at: int | None = None) -> _Version | None: ...
    def as_known(self, person_id: int, seq: int) -> _Version | None: ...
    def as_of_many(
        self, person_ids: npt.NDArray[np.uint64], dates: npt.NDArray[np.uint8], known_at: int | None = None
    ) -> tuple[
        npt.NDArray[np.bool_],
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint8],
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint8],
    ]:
        """Columns (found, seqs, flags, offsets, data)."""
    def as_known_many(
        self, person_ids: npt.NDArray[np.uint64], seqs: npt.NDArray[np.uint64]
    ) -> tuple[
        npt.NDArray[np.bool_],
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint8],
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint8],
    ]:
        """Person i as known at seqs[i]: columns (found, seqs, flags, offsets, data)."""
    def changes(self, since: int, limit: int = 10000) -> list[_Change]: ...
    def apply_patches(
        self,
        person_ids: npt.NDArray[np.uint64],
        expect_seqs: npt.NDArray[np.uint64] | None,
        valid_from: npt.NDArray[np.uint8],
        notified: npt.NDArray[np.uint8],
        event: int,
        positions: list[int],
        values: list[list[str]],
        must: list[int],
        operator: str,
        terminal: str,
        timestamp_us: int,
        set_flags: int = 0,
        clear_flags: int = 0,
        refuse_removed: bool = False,
        unlock: bool = False,
        codes: npt.NDArray[np.uint64] | None = None,
        mynumbers: npt.NDArray[np.uint64] | None = None,
        name_keys: list[bytes] | None = None,
        birth_keys: list[bytes] | None = None,
        addr_keys: list[bytes] | None = None,
        sexes: npt.NDArray[np.uint8] | None = None,
        durable: bool = True,
    ) -> npt.NDArray[np.uint64]:
        """One kind of event for many persons, as columns: items at ``positions`` (ascending) of
        person i's record become ``values[k][i]``; keys given replace the current ones. Each
        person's state is checked on the entry written over (at ``expect_seqs[i]`` when given,
        not removed when ``refuse_removed``, under 更新禁止 exactly when ``unlock``); flags become
        the current ones with ``set_flags`` set and ``clear_flags`` cleared. A row whose ``must``
        items keep their values is refused (RuleViolation). Returns the seqs."""
    def seq_at(self, timestamp_us: int) -> int:
        """The last 更新順番号 committed at or before the time (0 when none); times never decrease."""
    def propose(self, value: bytes) -> int:
        """Records a new proposal (step 0); returns its id, never reused."""
    def proposal_step(self, id: int, step: int, value: bytes) -> None:
        """Writes the next step of a proposal; ProposalDecided if someone wrote it first."""
    def proposal(self, id: int) -> list[_Step]:
        """Every step of one proposal, in order (empty when unknown)."""
    def proposals(self, after: int = 0, limit: int = 1000) -> list[_Step]:
        """Steps of the proposals with ids above ``after``, at most ``limit`` proposals."""
    def last_seq(self) -> int: ...
    def verify(self) -> tuple[int, list[str], int]: ...
    def stats(self) -> dict[str, int]: ...
    def meta(self, key: str) -> bytes | None: ...
    def unsynced_begin(self) -> None:
        """Start an unsynced load: until :meth:`unsynced_end`, writes made with ``durable=False``
        commit without fsync; every other write still syncs. Loads may overlap."""
    @property
    def forced_syncs(self) -> int:
        """Writes of this handle that synced the file themselves during an unsynced load."""
    def unsynced_end(self) -> None:
        """End an unsynced load: sync what it wrote (commits sync again after the last one)."""
    def force_sync(self) -> None: ...
    def copy_compacted(self, dest: str | PathLike[str]) -> None: ...
    def removed_persons(self) -> tuple[npt.NDArray[np.uint64], bytes]:
        """Removed persons and the 異動年月日 of their current version (8-byte dates, concatenated)."""
    def superseded_versions(self) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], bytes]:
        """Superseded versions of persons not removed: (person ids, 更新順番号, dates superseded)."""
    def erase_persons(self, pids: npt.NDArray[np.uint64], proposal_ids: list[int]) -> dict[str, int]:
        """Delete persons entirely (and the given proposals) in one transaction; counts."""
    def erase_versions(self, pids: npt.NDArray[np.uint64], seqs: npt.NDArray[np.uint64]) -> dict[str, int]:
        """Delete superseded versions in one transaction; counts."""
    def numbers_of(self, pids: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        """Every 住民票コード and 個人番号 the persons hold or held, superseded ones included."""
    def name_keys_shared(self, keys: list[bytes], pids: npt.NDArray[np.uint64]) -> list[bool]:
        """For each 4情報 name key, whether a person outside ``pids`` holds it too."""
    def numbers_shared(self, values: npt.NDArray[np.uint64], pids: npt.NDArray[np.uint64]) -> list[bool]:
        """For each value, whether a person outside ``pids`` holds it as a code or My Number."""
    def hold_put(self, person_id: int, value: bytes) -> None: ...
    def hold_delete(self, person_id: int) -> bool: ...
    def holds(self) -> list[tuple[int, bytes]]: ...
    def rebuild_into(self, dest: str | PathLike[str], skip_sent_mailing: bool = False) -> tuple[int, int]:
        """Every database into a fresh environment in ``dest`` (a backup skips sent mailing): (entries, bytes)."""
    def mailing_add(self, person_ids: list[int], payloads: list[bytes]) -> int:
        """Record pending mailing entries; the first id (the others follow)."""
    def mailing_mark_sent(self, ids: list[int], date: bytes) -> int: ...
    def mailing_list(self, after: int, limit: int) -> list[tuple[int, bytes | None, int, bytes]]:
        """(id, sent date or None, person id, payload) for ids above ``after``."""
    def mailing_count_before(self, before: bytes) -> int: ...
    def mailing_retire(self, before: bytes) -> int:
        """Delete mailing entries sent before ``before``; how many."""
    def swap_in(self, new_data: str | PathLike[str]) -> None:
        """Rename a rebuilt data file over this store's (exclusive handles only); closes the handle."""

# ---- reconciliation (整合性確認) ------------------------------------------------------------------

#: An array side: (keys, key status, 個人番号, fields, superseded old codes, their current codes);
#: a field is ("fixed", bytes, width, stride, offset) or ("var", offsets, bytes).
_ArraySide = tuple[
    npt.NDArray[np.uint64],
    npt.NDArray[np.uint8],
    npt.NDArray[np.uint64],
    list[tuple[object, ...]],
    npt.NDArray[np.uint64],
    npt.NDArray[np.uint64],
]

@final
class NativeSide:
    """One side of a reconciliation read natively: a fixed-width file (memory-mapped), a CSV file
    or a store. Key status codes: 0 ok, 1 length, 2 format, 3 checksum, 4 malformed row."""

    @staticmethod
    def fixed(
        path: str,
        record_width: int,
        columns: list[tuple[int, int]],
        key: int,
        mynumber: int | None,
        compared: list[int],
        seed: int | None = None,
        raw: bool = False,
    ) -> NativeSide:
        """Maps and reads a fixed-width file; ``columns`` are (offset, width) of every field."""
    @staticmethod
    def csv(path: str, names: list[bytes], key: int, mynumber: int | None, compared: list[int]) -> NativeSide:
        """Reads a CSV file; ``names`` are header names (bytes in the file's encoding) to keep."""
    @staticmethod
    def store(path: str, positions: list[int], key: int, mynumber: int | None, compared: list[int]) -> NativeSide:
        """Reads every person of a store; ``positions`` index the items of a stored record."""
    @property
    def kind(self) -> str: ...
    @property
    def rows(self) -> int: ...
    @property
    def aligned(self) -> bool: ...
    def keys(self) -> npt.NDArray[np.uint64]: ...
    def status(self) -> npt.NDArray[np.uint8]: ...
    def mynumbers(self) -> npt.NDArray[np.uint64]: ...
    def lines(self) -> npt.NDArray[np.uint64] | None:
        """The 1-based line of each row (files), or None (a store)."""
    def persons(self) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint8]] | None:
        """(person ids, entry flags) of a store side, else None."""
    def superseded(self) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]: ...
    def gather(self, column: int, rows: npt.NDArray[np.uint32]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint8]]:
        """Values of a column at ``rows``, Arrow-like (offsets, data), padding removed."""
    def release(self) -> None:
        """Drops a mapped file's pages from this process (they stay in the page cache)."""

def reconcile(
    left: NativeSide | _ArraySide,
    right: NativeSide | _ArraySide,
    strict: bool = True,
    fingerprint: bool = False,
    seed: int = 0,
    batch: int = 16384,
    mynumber_field: int | None = None,
) -> dict[str, object]:
    """Reconciles two sides; a dict of numpy arrays (classes per row, findings) and counts.
    ``mynumber_field``: the compared field holding the 個人番号 text the sides' numbers come from."""

def reconcile_codes() -> tuple[list[str], list[str]]:
    """Names of the row classes and of the finding kinds, indexed by code."""
