"""Households and persons of a synthetic ward, generated column by column with numpy.

The model, in the order it is drawn (every step is one vectorised draw over all households or all
persons; there is no loop over persons):

1. Households. Sizes follow a ward of many single persons (about 60% single, mean about 1.7, as
   in Sumida: ~290,000 residents in ~170,000 households). Removed persons (除票) are drawn as
   former households too: those who moved out (転出, whole households), died (死亡) and were
   removed ex officio (職権消除), each with a removal date spread over decades (most after
   2014-06-20, when removed records started to be kept 150 years). Half of the dead are placed
   in a current household, as the parent of its head, so a household can hold a removed member.
2. Members. The head's age and sex depend on the household's type; the others get a role
   (spouse, child, parent, grandchild, sibling, lodger) and an age relative to the head. That
   yields a believable age pyramid without fitting one.
3. Names: a household shares a surname (lodgers and unmarried partners have their own); given
   names come from the person's sex and birth cohort. About 4% of households are foreign, with
   names, nationality and residence status of their own.
4. History: when the household moved in (or was born into it), moved within the ward, and
   other amendments; the latest event gives 異動事由 and 住民異動日.

Dates are day numbers (days since 1970-01-01) until they are written as ``YYYYMMDD``.

Two departures from a real register, on purpose: every person has a 住民票コード, even one removed
before the codes began (2002-08-05), because the store keys persons by it; and removed records
from before 2014-06-20 older than five years are still present (a real ward would have erased
them), so retention and purge have something to find. Persons removed before My Number began
(2015-10-05) have none, as in life.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from jukistore.ids import juminhyo, mynumber
from jukistore.synth import codes as C
from jukistore.synth._vec import (Bytes, cat, date_text, day_text, digits, parse_day, pick_exact, pool, scatter, take,
                                  weighted, where, ymd)
from jukistore.synth.names import BUILDINGS
from jukistore.synth.planted import Rates, Truth
from jukistore.synth.tables import (FLOORS, MAX_BAN, MAX_BAN_OUT, MAX_BANCHI, MAX_GO, MAX_GO_OUT, ROOMS, SUR_GAIJI,
                                    SUR_IVS, SUR_PUA, SUR_REGULAR, Tables, tables)

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

YEAR = 365.2425
#: Probabilities of household sizes 1..6.
SIZE_P = (0.595, 0.20, 0.11, 0.07, 0.02, 0.005)
#: Shares of removed persons by kind: 転出, 死亡, 職権消除.
REMOVED_KINDS = (0.68, 0.24, 0.08)
#: Household kinds.
CURRENT, MOVED_OUT, DIED, STRUCK_OFF = 0, 1, 2, 3
#: Person roles (mapped to 続柄コード when written).
HEAD, SPOUSE, CHILD, PARENT, GRANDCHILD, SIBLING, LODGER = range(7)
ROLE_P_SECOND = (0.0, 0.72, 0.16, 0.06, 0.0, 0.02, 0.04)
ROLE_P_OTHER = (0.0, 0.0, 0.86, 0.07, 0.04, 0.0, 0.03)
#: Share of removed persons from before RETENTION_150_FROM.
OLD_REMOVAL_SHARE = 0.3


@dataclass
class Population:
    """The generated columns, keyed by master item number, with the truth and a few counts."""

    columns: dict[int, Bytes]
    truth: Truth
    residents: int
    removed: int
    households: int
    foreign: int


def _household_sizes(rng: np.random.Generator, persons: int) -> I64:
    """Household sizes summing to exactly ``persons``."""
    if persons <= 0:
        return np.empty(0, dtype=np.int64)
    mean = sum((k + 1) * p for k, p in enumerate(SIZE_P))
    sizes = weighted(rng, SIZE_P, int(persons / mean * 1.2) + 16).astype(np.int64) + 1
    cum = np.cumsum(sizes)
    while cum[-1] < persons:  # pragma: no cover - 20% headroom makes this practically unreachable
        sizes = np.concatenate([sizes, sizes])
        cum = np.cumsum(sizes)
    h = int(np.searchsorted(cum, persons)) + 1
    sizes = sizes[:h].copy()
    sizes[-1] -= int(cum[h - 1] - persons)
    return sizes


def _uniform_days(rng: np.random.Generator, lo: I64 | int, hi: I64 | int, n: int) -> I64:
    """Uniform day numbers in [lo, hi] (hi clipped to at least lo)."""
    lo_a = np.broadcast_to(np.asarray(lo, dtype=np.int64), (n,))
    hi_a = np.maximum(np.broadcast_to(np.asarray(hi, dtype=np.int64), (n,)), lo_a)
    return lo_a + np.floor(rng.random(n) * (hi_a - lo_a + 1)).astype(np.int64)


def _delay(rng: np.random.Generator, n: int) -> I64:
    """Days between an event and its notification: within the 14 days the law allows, a few late."""
    d = rng.integers(0, 15, n)
    late = rng.random(n) < 0.02
    d[late] = rng.integers(15, 730, int(late.sum()))
    return d.astype(np.int64)


def _distinct(rng: np.random.Generator, n: int, base: int, stride: int) -> I64:
    """``n`` distinct numbers in random order: a permutation spread over strides with jitter."""
    return base + rng.permutation(n).astype(np.int64) * stride + rng.integers(0, stride, n)


def _day(text: str, name: str) -> int:
    """Day number of a ``YYYYMMDD`` argument, or a ValueError naming it."""
    if not (isinstance(text, str) and len(text) == 8 and text.isascii() and text.isdigit()):
        raise ValueError(f"{name} must be a date YYYYMMDD, not {text!r}")
    try:
        return parse_day(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a calendar date") from None


def generate(residents: int, seed: int, removed_fraction: float, rates: Rates, as_of: str,
             removed_since: str) -> Population:
    """Generate a ward; see :func:`jukistore.synth.ward` for the meaning of the arguments."""
    if residents < 1:
        raise ValueError("residents must be at least 1")
    if not 0 <= removed_fraction <= 5:
        raise ValueError("removed_fraction must be between 0 and 5")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    today, since = _day(as_of, "as_of"), _day(removed_since, "removed_since")
    if not since < parse_day(C.RETENTION_150_FROM) <= today:
        raise ValueError(f"removed_since must be before and as_of on or after {C.RETENTION_150_FROM}")
    T = tables()
    r = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(12)]

    # 1. households -------------------------------------------------------------------------
    n_removed = int(round(residents * removed_fraction))
    n_moved = int(round(n_removed * REMOVED_KINDS[0]))
    n_died = int(round(n_removed * REMOVED_KINDS[1]))
    n_struck = n_removed - n_moved - n_died
    sizes_cur = _household_sizes(r[0], residents)
    sizes_mov = _household_sizes(r[0], n_moved)
    sizes = np.concatenate([sizes_cur, sizes_mov, np.ones(n_died + n_struck, dtype=np.int64)])
    kind = np.concatenate([np.full(len(sizes_cur), CURRENT), np.full(len(sizes_mov), MOVED_OUT),
                           np.full(n_died, DIED), np.full(n_struck, STRUCK_OFF)]).astype(np.int8)
    H = len(sizes)
    rng = r[1]
    single = sizes == 1
    foreign_h = rng.random(H) < rates.foreign_households
    nat_h = weighted(rng, T.nat_weights, H)
    ret150 = parse_day(C.RETENTION_150_FROM)
    old_removal = rng.random(H) < OLD_REMOVAL_SHARE
    ref = np.where(old_removal, _uniform_days(rng, since, ret150 - 1, H),
                   _uniform_days(rng, ret150, today, H))
    ref = np.where(kind == CURRENT, today, ref)

    # head age (years at the reference day) and sex
    u = rng.random(H)
    young = rng.uniform(19, 36, H)
    mid = rng.uniform(36, 62, H)
    old = 62 + rng.gamma(2.5, 5.5, H)
    single_age = np.where(u < 0.44, young, np.where(u < 0.64, mid, old))
    family_age = np.clip(np.where(rng.random(H) < 0.5, rng.normal(41, 7, H), rng.normal(63, 12, H)), 21, 98)
    head_age = np.where(single, single_age, family_age)
    head_age = np.where(foreign_h & (rng.random(H) < 0.7), rng.uniform(20, 42, H), head_age)
    head_age = np.where(kind == DIED, np.clip(rng.normal(81, 10, H), 35, 108), head_age)
    head_age = np.where(kind == STRUCK_OFF, rng.uniform(20, 75, H), head_age)
    head_age = np.minimum(head_age, 108.0)
    head_male = rng.random(H) < np.where(single, 0.47, 0.82)

    # surname, address, building, history of the household
    sur_h = weighted(rng, T.sur_weights, H)
    chome_h = rng.integers(0, len(T.chome_prefix), H)
    ban_h = rng.integers(0, MAX_BAN, H)
    go_h = rng.integers(0, MAX_GO, H)
    addr_h = (chome_h * MAX_BAN + ban_h) * MAX_GO + go_h
    apart_h = rng.random(H) < np.where(single, 0.7, 0.45)
    n_pat = len(BUILDINGS)
    bld_h = T.chome_town[chome_h] * n_pat + rng.integers(0, n_pat, H)
    room_h = rng.integers(0, FLOORS * ROOMS, H)
    mean_stay = np.where(single & (head_age < 40), 4.0, np.where(single, 14.0, 11.0))
    stay = np.minimum(rng.exponential(mean_stay), np.maximum(head_age - 17, 0.05))
    entry_h = ref - np.floor(stay * YEAR).astype(np.int64)
    u = rng.random(H)
    entry_kind_h = np.where(u < np.where(foreign_h, 0.45, 0.02), 1, np.where(u > 0.995, 2, 0))  # 0 転入 1 国外 2 職権
    moved_h = rng.random(H) < 0.25
    tenkyo_h = np.where(moved_h, _uniform_days(rng, entry_h + 1, ref, H), -1 << 40)

    # planted household cases: rare surnames (Japanese households) and 外字 in 方書
    r_pl = r[2]
    japanese_h = np.flatnonzero(~foreign_h)
    taken = np.zeros(H, dtype=bool)
    for cat_, rate in ((SUR_GAIJI, rates.gaiji_households), (SUR_IVS, rates.ivs_households),
                       (SUR_PUA, rates.pua_households)):
        chosen = pick_exact(r_pl, japanese_h[~taken[japanese_h]], rate, H)
        taken[chosen] = True
        pool_idx = np.flatnonzero(T.sur_category == cat_)
        sur_h[chosen] = pool_idx[r_pl.integers(0, len(pool_idx), len(chosen))]
    gaiji_bld = pick_exact(r_pl, np.flatnonzero(apart_h & (kind == CURRENT)), rates.gaiji_katagaki_households, H)
    bld_h[gaiji_bld] = T.n_regular_buildings + r_pl.integers(0, len(T.buildings) - T.n_regular_buildings, len(gaiji_bld))

    # 2. members ------------------------------------------------------------------------------
    rng = r[3]
    N = int(sizes.sum())
    hh = np.repeat(np.arange(H), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.arange(N) - starts[hh]
    role = np.where(pos == 0, HEAD, np.where(pos == 1, weighted(rng, ROLE_P_SECOND, N), weighted(rng, ROLE_P_OTHER, N)))
    ha = head_age[hh]
    age = np.select(
        [role == HEAD, role == SPOUSE, role == CHILD, role == PARENT, role == GRANDCHILD, role == SIBLING],
        [ha, ha + rng.normal(-2, 4, N), ha - rng.uniform(24, 40, N), ha + rng.uniform(24, 36, N),
         ha - rng.uniform(46, 66, N), ha + rng.normal(0, 5, N)],
        rng.uniform(20, 60, N))
    neg = age < 0
    age = np.where(neg, rng.random(N) * np.maximum(ha - 18, 0.5), age)
    age = np.where(role == SPOUSE, np.maximum(age, 18), age)
    age = np.where(age > 99, 86 + rng.gamma(2.0, 3.0, N), age)  # few centenarians, as in life
    age = np.clip(age, 0, 109)
    male = np.select([role == HEAD, role == SPOUSE, role == PARENT], [head_male[hh], ~head_male[hh], rng.random(N) < 0.4],
                     rng.random(N) < 0.51)
    p_ref = ref[hh]  # the day the age refers to: today, or the removal day
    p_kind = kind[hh]

    # half of the dead become a (dead) parent of a current Japanese household's head
    died_rows = np.flatnonzero(p_kind == DIED)
    attach = died_rows[rng.random(len(died_rows)) < 0.5]
    targets = np.flatnonzero((kind == CURRENT) & ~foreign_h)
    if len(attach) and len(targets):
        hh[attach] = targets[rng.integers(0, len(targets), len(attach))]
        role[attach] = PARENT
    foreign = foreign_h[hh]
    nat = nat_h[hh]
    birth = p_ref - np.floor(age * YEAR).astype(np.int64) - rng.integers(0, 2, N)
    birth_y, birth_m, birth_d = ymd(birth)

    # 3. names --------------------------------------------------------------------------------
    rng = r[4]
    own_surname = (role == LODGER) | ((role == SPOUSE) & (rng.random(N) < 0.03))
    sur = np.where(own_surname, weighted(rng, T.sur_weights, N), sur_h[hh])
    sex = 1 - male.astype(np.int64)  # 0 male, 1 female
    cohort = np.searchsorted(np.array([1955, 1990]), birth_y, side="right")
    g_count = T.given_counts[sex, cohort]
    given = T.given_offsets[sex, cohort] + np.floor(rng.random(N) * g_count).astype(np.int64)
    jp_name = sur * T.n_given + given
    kanji = take(T.name_kanji, jp_name)
    kana = take(T.name_kana, jp_name)

    f_sur_h = rng.random(H)
    keeps_surname = np.isin(np.arange(len(T.nat_codes)), [T.nat_codes.index(c) for c in ("156", "158", "410")])
    f_sur_u = np.where((role == SPOUSE) & keeps_surname[nat], rng.random(N), f_sur_h[hh])  # 中国・台湾・韓国: own surname
    n_sur = T.f_n_sur[nat]
    f_given = np.where(male, np.floor(rng.random(N) * T.f_n_male[nat]),
                       T.f_n_male[nat] + np.floor(rng.random(N) * (T.f_n_given[nat] - T.f_n_male[nat]))).astype(np.int64)
    f_idx = T.f_offsets[nat] + np.floor(f_sur_u * n_sur).astype(np.int64) * T.f_n_given[nat] + f_given
    has_heiki = (np.strings.str_len(T.f_heiki) > 0)[f_idx]
    fi = np.flatnonzero(foreign)  # foreign names are written on those rows only
    kanji = kanji.astype(f"S{max(kanji.dtype.itemsize, T.f_latin.dtype.itemsize, T.f_heiki.dtype.itemsize)}")
    kanji[fi] = np.where(has_heiki[fi], take(T.f_heiki, f_idx[fi]), take(T.f_latin, f_idx[fi]))
    kana = kana.astype(f"S{max(kana.dtype.itemsize, T.f_kana.dtype.itemsize)}")
    kana[fi] = take(T.f_kana, f_idx[fi])

    # 4. history -----------------------------------------------------------------------------
    rng = r[5]
    h_entry = entry_h[hh]
    born_here = birth >= h_entry
    entry = np.minimum(np.where(born_here, birth, h_entry), p_ref)
    entry_reason = np.where(born_here, 3, entry_kind_h[hh])  # 0 転入 1 国外転入 2 職権記載 3 出生
    reason_code = np.array([C.TENNYU, C.KOKUGAI_TENNYU, C.SHOKKEN_KISAI, C.SHUSSEI], dtype="S2")
    tenkyo = tenkyo_h[hh]
    moved_in_ward = (tenkyo > entry) & (tenkyo <= p_ref)
    jutei = np.where(moved_in_ward, tenkyo, entry)
    jutei_reason = np.where(moved_in_ward, np.bytes_(C.TENKYO), take(reason_code, entry_reason))
    latest = jutei.copy()
    latest_reason = jutei_reason.copy()
    other = rng.random(N) < 0.06
    other_day = _uniform_days(rng, latest, p_ref, N)
    latest = np.where(other, other_day, latest)
    latest_reason = np.where(other, np.where(rng.random(N) < 0.5, np.bytes_(C.SETAI_HENKO), np.bytes_(C.KISAI_HENKO)),
                             latest_reason)

    # numbers: current codes first, the old (superseded) ones after them in the same sequence
    r_pl = r[6]
    all_rows = np.arange(N)
    code_rows = pick_exact(r_pl, all_rows, rates.juminhyo_changed, N)
    mn_start = parse_day(C.MYNUMBER_START)
    is_removed = p_kind != CURRENT
    has_mn = ~(is_removed & (p_ref < mn_start))
    mn_rows = pick_exact(r_pl, np.flatnonzero(has_mn & (p_ref > mn_start + 30)), rates.mynumber_changed, N)
    j_seed, m_seed = (int(x) for x in np.random.SeedSequence(seed).generate_state(2, np.uint64))
    jcodes = juminhyo.to_text(juminhyo.generate(N + len(code_rows), j_seed))
    mcodes = mynumber.to_text(mynumber.generate(int(has_mn.sum()) + len(mn_rows), m_seed))
    code_col = jcodes[:N]
    mn_col = np.zeros(N, dtype="S12")
    mn_col[has_mn] = mcodes[: int(has_mn.sum())]
    for rows, floor_day, code in ((code_rows, parse_day(C.JUKINET_START), C.CODE_HENKO), (mn_rows, mn_start, C.MYNUMBER_HENKO)):
        lo = np.maximum(latest[rows], floor_day)
        when = _uniform_days(r_pl, lo, p_ref[rows], len(rows))
        later = when >= latest[rows]
        latest[rows[later]] = when[later]
        latest_reason[rows[later]] = np.bytes_(code)

    # birth dates as written, with the planted unknown and impossible ones
    japanese_old = np.flatnonzero(~foreign & (birth_y < 1960))
    day_unknown = pick_exact(r_pl, japanese_old, rates.birth_day_unknown, N)
    free = ~foreign
    free[day_unknown] = False
    month_unknown = pick_exact(r_pl, np.flatnonzero(free & (birth_y < 1960)), rates.birth_month_unknown, N)
    free[month_unknown] = False
    impossible = pick_exact(r_pl, np.flatnonzero(free), rates.birth_impossible, N)
    by, bm, bd = birth_y.copy(), birth_m.copy(), birth_d.copy()
    bd[day_unknown] = 0
    bm[month_unknown] = 0
    bd[month_unknown] = 0
    kind_imp = r_pl.integers(0, 3, len(impossible))
    bm[impossible] = np.where(kind_imp == 2, np.array([4, 6, 9, 11])[r_pl.integers(0, 4, len(impossible))], 2)
    bd[impossible] = np.select([kind_imp == 0, kind_imp == 1], [30, 31], 31)
    birth_text = date_text(by, bm, bd)

    # 5. items -------------------------------------------------------------------------------
    col: dict[int, Bytes] = {}
    rng = r[7]
    hh_no = digits(_distinct(rng, H, 1_000_000_000, 7), 10)
    atena = digits(_distinct(rng, N, 1_000_000_000, 5), 10)
    head_row = np.zeros(H, dtype=np.int64)
    head_row[hh[role == HEAD]] = np.flatnonzero(role == HEAD)
    head_of = head_row[hh]
    col[1] = take(hh_no, hh)
    col[2] = take(kana, head_of)
    col[3] = take(kanji, head_of)
    chome = chome_h[hh]
    col[4] = take(T.chome_gyoseiku, chome)
    col[5] = take(T.chome_postal, chome)
    col[6] = np.full(N, T.ward_lgcode, dtype="S6")
    col[7] = take(T.chome_machiaza, chome)
    col[8] = take(T.ward_address, addr_h[hh])
    apart = apart_h[hh]
    col[9] = where(apart, digits(bld_h[hh] + 1, 6))
    col[10] = where(apart, take(T.katagaki, bld_h[hh] * (FLOORS * ROOMS) + room_h[hh]))

    removal_code = np.array([b"", C.TENSHUTSU.encode(), C.SHIBO.encode(), C.SHOKKEN_SHOJO.encode()])
    abroad_out = (p_kind == MOVED_OUT) & (rng.random(N) < np.where(foreign, 0.5, 0.08))
    rem_reason = np.where(abroad_out, np.bytes_(C.KOKUGAI_TENSHUTSU), take(removal_code, p_kind))
    col[11] = np.where(is_removed, rem_reason, latest_reason)
    col[12] = atena
    col[13] = np.array([b"0", b"1", b"2", b"3"])[p_kind]

    def shokken(reason: Bytes) -> Mask:
        """Ex officio events: nobody notified them, so they have no 届出日."""
        return (reason == C.SHOKKEN_KISAI.encode()) | (reason == C.SHOKKEN_SHOJO.encode()) | (reason == C.SHOKKEN_SHUSEI.encode())
    latest = np.where(is_removed, p_ref, latest)
    jutei_notified = np.minimum(jutei + _delay(rng, N), today)
    # a 転出届 comes before the move (up to 14 days), every other notification after the event;
    # when the latest event is the one that set the address, it was one notification
    notified = np.where(p_kind == MOVED_OUT, np.maximum(latest - rng.integers(0, 15, N), jutei),
                        np.minimum(latest + _delay(rng, N), today))
    same_event = ~is_removed & (latest == jutei) & (col[11] == jutei_reason)
    notified = np.where(same_event, jutei_notified, notified)
    col[14] = day_text(latest)
    col[15] = day_text(notified, ~shokken(col[11]))
    col[16] = day_text(jutei)
    col[17] = jutei_reason.astype("S2")
    col[18] = day_text(jutei_notified, ~shokken(col[17]))
    col[19] = col[17]
    col[20] = kana.astype(np.bytes_)
    col[21] = kanji.astype(np.bytes_)
    col[22] = np.where(male, np.bytes_(b"1"), np.bytes_(b"2"))
    col[23] = birth_text
    hm = head_male[hh]
    zoku = np.select([role == HEAD, role == SPOUSE, role == CHILD, role == PARENT, role == GRANDCHILD, role == SIBLING],
                     [np.bytes_(C.SETAINUSHI), np.where(hm, np.bytes_(C.TSUMA), np.bytes_(C.OTTO)), np.bytes_(C.KO),
                      np.where(male, np.bytes_(C.CHICHI), np.bytes_(C.HAHA)), np.bytes_(C.MAGO), np.bytes_("08")],
                     np.bytes_(C.DOKYONIN))
    unmarried = (role == SPOUSE) & own_surname
    zoku = np.where(unmarried, np.where(hm, np.bytes_("11"), np.bytes_("12")), zoku)
    col[24] = zoku.astype("S2")

    # 本籍 (Japanese only): a household shares it; a quarter are in the ward itself
    rng = r[8]
    jp = ~foreign
    in_ward_h = rng.random(H) < 0.25
    muni_h = weighted(rng, T.muni_weights, H)
    n_other_towns = T.n_honseki_out // len(T.muni_lgcode)
    hp_h = np.where(in_ward_h, T.n_honseki_out + chome_h,
                    muni_h * n_other_towns + rng.integers(0, n_other_towns, H))
    banchi_h = rng.integers(0, MAX_BANCHI, H)
    hon_lg = take(np.where(in_ward_h, T.ward_lgcode, take(T.muni_lgcode, muni_h)), hh)
    hon_postal = take(np.where(in_ward_h, take(T.chome_postal, chome_h),
                               cat(take(T.muni_postal3, muni_h), digits(rng.integers(0, 10000, H), 4))), hh)
    col[25] = where(jp, hon_lg)
    col[26] = where(jp, hon_postal)
    col[27] = where(jp, cat(take(T.honseki_prefix, hp_h[hh]), take(T.banchi, banchi_h[hh])))
    # 筆頭者: the head for the family of a married male head; else the person or an unnamed father
    family = jp & hm & (sizes[hh] > 1) & ((role == HEAD) | (role == SPOUSE) | (role == CHILD) | (role == GRANDCHILD)) & ~own_surname
    father = sur * T.n_given + T.given_male_old[rng.integers(0, len(T.given_male_old), N)]
    own = (role == HEAD) | (role == PARENT) | (rng.random(N) < 0.4) | (age >= 35)
    hittosha = np.where(family, take(kanji, head_of), np.where(own, kanji, take(T.name_kanji, father)))
    col[28] = where(jp, hittosha)
    wife = jp & (role == SPOUSE) & ~male & ~own_surname
    maiden = weighted(rng, T.sur_weights, N)
    col[29] = where(wife & (rng.random(N) < 0.9), take(T.sur_kanji, maiden))
    col[30] = code_col

    # 前住所 (31-35) of persons who moved in; 最終住民登録地 (46-50) of returnees from abroad.
    # Text columns that few persons fill are built for those rows only and scattered.
    came = ~born_here
    n_out = len(T.out_prefix) // len(T.muni_lgcode)
    spread = T.out_bango.shape[0]

    def elsewhere(muni: I64, town: I64, bango: I64) -> Bytes:
        """An address outside the ward: prefix (municipality, town, 丁目) + 番号."""
        return cat(take(T.out_prefix, muni * n_out + town), take(T.out_bango, bango))

    def postal(muni: I64, tail: I64) -> Bytes:
        return cat(take(T.muni_postal3, muni), digits(tail, 4))

    prev_muni_h = weighted(rng, T.muni_weights, H)
    prev_town_h, prev_bango_h = rng.integers(0, n_out, H), rng.integers(0, spread, H)
    prev_tail_h = rng.integers(0, 10000, H)
    prev_kata_h = np.where(rng.random(H) < 0.5, rng.integers(0, len(T.out_katagaki), H), -1)
    country_h = rng.integers(0, len(T.countries), H)
    from_home = np.flatnonzero(came & (entry_kind_h[hh] == 0))
    from_abroad = np.flatnonzero(came & (entry_kind_h[hh] == 1))
    h = hh[from_home]
    col[31] = scatter(N, from_home, take(T.muni_lgcode, prev_muni_h[h]))
    col[32] = scatter(N, from_home, postal(prev_muni_h[h], prev_tail_h[h]))
    ha_ = hh[from_abroad]
    country = np.where(foreign[from_abroad], take(T.nat_label, nat[from_abroad]), take(T.countries, country_h[ha_]))
    col[33] = scatter(N, np.concatenate([from_home, from_abroad]),
                      np.concatenate([elsewhere(prev_muni_h[h], prev_town_h[h], prev_bango_h[h]), country]))
    kata_rows = from_home[prev_kata_h[h] >= 0]
    col[34] = scatter(N, kata_rows, take(T.out_katagaki, prev_kata_h[hh[kata_rows]]))
    col[35] = scatter(N, from_home, take(col[3], from_home))
    returnee = from_abroad[jp[from_abroad]]
    k = len(returnee)
    last_muni = weighted(rng, T.muni_weights, k)
    col[46] = scatter(N, returnee, take(T.muni_lgcode, last_muni))
    col[47] = scatter(N, returnee, postal(last_muni, rng.integers(0, 10000, k)))
    col[48] = scatter(N, returnee, elsewhere(last_muni, rng.integers(0, n_out, k), rng.integers(0, spread, k)))
    col[49] = np.zeros(N, dtype="S1")
    col[50] = scatter(N, returnee, take(kanji, returnee))

    # 転出予定地 (36-40) and 転出確定地 (41-45) of those who moved out: one destination per household
    rng = r[9]
    dest_muni_h = weighted(rng, T.muni_weights, H)
    dest_town_h, dest_bango_h, alt_bango_h = rng.integers(0, n_out, H), rng.integers(0, spread, H), rng.integers(0, spread, H)
    dest_tail_h = rng.integers(0, 10000, H)
    dest_kata_h = np.where(rng.random(H) < 0.5, rng.integers(0, len(T.out_katagaki), H), -1)
    confirmed_h = rng.random(H) < 0.85
    changed_h = confirmed_h & (rng.random(H) < 0.05)  # moved somewhere else than announced
    out_rows = np.flatnonzero(p_kind == MOVED_OUT)
    abroad = abroad_out[out_rows]
    dom = out_rows[~abroad]
    abr = out_rows[abroad]
    h = hh[dom]
    muni_b = take(T.muni_lgcode, dest_muni_h[h])
    postal_b = postal(dest_muni_h[h], dest_tail_h[h])
    addr_b = elsewhere(dest_muni_h[h], dest_town_h[h], dest_bango_h[h])
    has_kata = dest_kata_h[h] >= 0
    kata_b = where(has_kata, take(T.out_katagaki, np.maximum(dest_kata_h[h], 0)))
    abroad_country = np.where(foreign[abr], take(T.nat_label, nat[abr]), take(T.countries, country_h[hh[abr]]))
    col[36] = scatter(N, dom, muni_b)
    col[37] = scatter(N, dom, postal_b)
    col[38] = scatter(N, np.concatenate([dom, abr]), np.concatenate([addr_b, abroad_country]))
    col[39] = scatter(N, dom, kata_b)
    col[40] = scatter(N, out_rows, take(col[3], out_rows))
    conf = confirmed_h[h]
    chg = changed_h[h]
    alt_b = elsewhere(dest_muni_h[h], dest_town_h[h], alt_bango_h[h])
    col[41] = scatter(N, dom[conf], muni_b[conf])
    col[42] = scatter(N, dom[conf], postal_b[conf])
    col[43] = scatter(N, dom[conf], np.where(chg, alt_b, addr_b)[conf])
    col[44] = scatter(N, dom[conf & ~chg], kata_b[conf & ~chg])
    col[45] = scatter(N, dom[conf], take(col[3], dom[conf]))

    # 未届期間 of persons written in ex officio; remarks; removal dates
    kisai = came & (entry_kind_h[hh] == 2)
    col[51] = day_text(entry - rng.integers(30, 3 * 365, N), kisai)
    col[52] = day_text(entry - 1, kisai)
    remarks = [(np.flatnonzero(kisai), "実態調査により職権記載"), (mn_rows, "個人番号変更"),
               (code_rows, "本人の請求により住民票コード変更"), (np.flatnonzero(p_kind == STRUCK_OFF), "住所不明につき職権消除")]
    col[53] = np.zeros(N, dtype=f"S{max(len(t.encode()) for _, t in remarks)}")
    for rows, text in remarks:  # later entries win
        col[53][rows] = text.encode()
    removed_rows = np.flatnonzero(is_removed)
    col[54] = scatter(N, removed_rows, take(col[14], removed_rows))
    col[55] = scatter(N, removed_rows, take(col[15], removed_rows))
    col[56] = col[55].copy()  # the source lists 除票届出日 twice; both carry it
    col[57] = scatter(N, removed_rows, take(col[11], removed_rows))

    # foreign residents (58-80), built on the foreign rows only
    rng = r[10]
    fr = np.flatnonzero(foreign)
    k = len(fr)
    nat_f = nat[fr]
    old_korean = (nat_f == T.nat_codes.index("410")) & (birth_y[fr] < 1990) & (rng.random(k) < 0.6)
    status = np.where(old_korean, 1, weighted(rng, (0.26, 0.0, 0.05, 0.05, 0.02, 0.22, 0.13, 0.09, 0.07, 0.06, 0.02, 0.02, 0.01), k))
    status = np.where((age[fr] < 18) & (status != 1) & (rng.random(k) < 0.7), 7, status)  # children: 家族滞在
    infant_f = ~is_removed[fr] & (birth[fr] > today - 60) & born_here[fr]
    infant = np.zeros(N, dtype=bool)
    infant[fr[infant_f]] = True
    alias_f = ((status == 1) & (rng.random(k) < 0.7)) | ((nat_f == T.nat_codes.index("156")) & (rng.random(k) < 0.05))
    ar = fr[alias_f]
    col[58] = scatter(N, fr, take(T.f_kana, f_idx[fr]))
    col[59] = scatter(N, fr, take(T.f_latin, f_idx[fr]))
    col[60] = scatter(N, ar, take(T.name_kana, jp_name[ar]))
    col[61] = scatter(N, ar, take(T.name_kanji, jp_name[ar]))
    hk = fr[has_heiki[fr]]
    col[62] = scatter(N, hk, take(T.f_heiki, f_idx[hk]))
    col[63] = scatter(N, hk, take(T.f_kana, f_idx[hk]))
    col[64] = scatter(N, fr, take(T.nat_code_bytes, nat_f))
    col[65] = scatter(N, fr, take(T.nat_label, nat_f))
    letters = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype="S1")
    card_f = ~infant_f
    cr = fr[card_f]
    kc = len(cr)
    serial = _distinct(rng, kc, 0, max(1, 99_999_999 // max(kc, 1)))  # distinct 8-digit parts: no two cards alike
    card = cat(take(letters, rng.integers(0, 26, kc)), take(letters, rng.integers(0, 26, kc)), digits(serial, 8),
               take(letters, rng.integers(0, 26, kc)), take(letters, rng.integers(0, 26, kc)))
    col[66] = scatter(N, cr, card)
    col[67] = scatter(N, cr, take(T.zairyu_codes, status[card_f]))
    col[68] = scatter(N, cr, take(T.zairyu_labels, status[card_f]))
    kubun = np.where(infant_f, np.bytes_(b"5"), np.where(status == 1, np.bytes_(b"2"), np.bytes_(b"1")))
    col[69] = scatter(N, fr, kubun)
    limited = card_f & (status != 0) & (status != 1)
    lr = fr[limited]
    periods = pool(C.ZAIRYU_KIKAN)
    period_days = np.array([183, 365, 456, 3 * 365, 5 * 365])
    period = rng.integers(0, len(periods), len(lr))
    col[70] = scatter(N, lr, take(periods, period))
    col[71] = scatter(N, lr, day_text(p_ref[lr] + 1 + np.floor(rng.random(len(lr)) * period_days[period]).astype(np.int64)))
    col[72] = scatter(N, fr, take(birth_text, fr))
    for dst, src in ((73, 14), (74, 15), (75, 16), (76, 17), (77, 18), (78, 19)):
        col[dst] = scatter(N, fr, take(col[src], fr))
    col[79] = scatter(N, fr, np.where(came[fr] & ~infant_f, np.bytes_(b"1"), np.bytes_(b"0")))
    col[80] = scatter(N, ar, cat(day_text(jutei[ar]), np.bytes_(b" "), take(T.name_kanji, jp_name[ar])))
    col[81] = mn_col
    col[82] = np.zeros(N, dtype="S1")  # シリアル番号: meaning not given by the source; left empty
    kyuuji = np.flatnonzero(wife & (rng.random(N) < 0.05))
    col[83] = scatter(N, kyuuji, take(T.sur_kanji, maiden[kyuuji]))
    col[84] = scatter(N, kyuuji, take(T.sur_hira, maiden[kyuuji]))

    # rows are already in order: current households first, then the former households of the
    # removed (a dead person placed in a current household keeps its row among the removed)
    assert not np.any(np.diff(is_removed.astype(np.int8)) < 0)
    columns = {no: col[no] for no in sorted(col)}

    cat_of = T.sur_category[sur]
    jp_named = jp
    cases = {
        "gaiji_name": np.flatnonzero(jp_named & (cat_of == SUR_GAIJI)),
        "ivs_name": np.flatnonzero(jp_named & (cat_of == SUR_IVS)),
        "pua_name": np.flatnonzero(jp_named & (cat_of == SUR_PUA)),
        "gaiji_katagaki": np.flatnonzero(apart & (bld_h[hh] >= T.n_regular_buildings)),
        "birth_day_unknown": day_unknown,
        "birth_month_unknown": month_unknown,
        "birth_impossible": impossible,
        "juminhyo_changed": code_rows,
        "mynumber_changed": mn_rows,
        "no_mynumber": np.flatnonzero(~has_mn),
        "removed_before_2014_06_20": np.flatnonzero(is_removed & (p_ref < ret150)),
        "foreign_infant": np.flatnonzero(infant),
    }
    truth = Truth(
        cases={k: np.asarray(v, dtype=np.int64) for k, v in cases.items()},
        old_juminhyo_rows=code_rows,
        old_juminhyo=jcodes[N:],
        old_mynumber_rows=mn_rows,
        old_mynumber=mcodes[int(has_mn.sum()):],
    )
    n_households = int(np.count_nonzero(np.bincount(hh[~is_removed], minlength=H)))
    return Population(columns=columns, truth=truth, residents=int((~is_removed).sum()), removed=int(is_removed.sum()),
                      households=n_households, foreign=int((foreign & ~is_removed).sum()))
