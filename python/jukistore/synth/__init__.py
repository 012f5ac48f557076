"""Synthetic wards: deterministic populations of the master file for tests, demos and benchmarks.

Tests and benchmarks need registers that look like a real ward's — a quarter of a million
persons, most in single-person households, some foreign residents, decades of removed persons —
and hold the rare cases that break naive code, without a single real person in them. This package
generates them from a seed:

    >>> from jukistore import synth
    >>> w = synth.ward(2_000, seed=1)
    >>> len(w) == w.residents + w.removed
    True
    >>> w.column(30)[:1].dtype.itemsize   # 住民票コード, ASCII bytes
    11

The same arguments give the same ward, byte for byte. Numbers come from
:func:`jukistore.ids.juminhyo.generate` and :func:`jukistore.ids.mynumber.generate`, so they are
valid and never repeat, superseded ones included; none is a real person's.

Modules: :mod:`.population` (the model), :mod:`.planted` (rare cases, rates, truth), :mod:`.codes`
(our code tables), :mod:`.names` and :mod:`.places` (pools), :mod:`.tables` (their encoded form),
:mod:`.ward` (the result).
"""

from __future__ import annotations

from jukistore.synth import codes
from jukistore.synth.planted import CASES, Rates, Truth
from jukistore.synth.population import generate
from jukistore.synth.ward import Ward

#: The day a ward is generated "as of" unless told otherwise: fixed, so output never depends on
#: the clock.
AS_OF = "20250401"
#: Removal dates of the removed persons start here (decades back, so retention rules have both
#: records to keep and records to erase).
REMOVED_SINCE = "19900101"
#: Removed persons per current resident (除票 are 30% on top of the residents).
REMOVED_FRACTION = 0.3

__all__ = ["ward", "Ward", "Rates", "Truth", "CASES", "codes", "AS_OF", "REMOVED_SINCE", "REMOVED_FRACTION"]


def ward(residents: int = 300_000, seed: int = 0, removed_fraction: float = REMOVED_FRACTION, *,
         rates: Rates | None = None, as_of: str = AS_OF, removed_since: str = REMOVED_SINCE) -> Ward:
    """Generate a ward of ``residents`` current residents plus removed persons.

    ``removed_fraction`` removed persons (転出, 死亡, 職権消除) per resident are added, with removal
    dates between ``removed_since`` and ``as_of`` (both ``YYYYMMDD``, on either side of 2014-06-20,
    when removed records started to be kept 150 years). ``rates`` sets how often
    foreign residents and each planted case occur (:class:`Rates`). Deterministic: the same
    arguments give the same columns. Bad arguments raise ValueError.
    """
    pop = generate(residents, seed, removed_fraction, rates or Rates(), as_of, removed_since)
    return Ward(columns=pop.columns, truth=pop.truth, seed=seed, as_of=as_of, residents=pop.residents,
                removed=pop.removed, households=pop.households, foreign=pop.foreign)
