"""The pools of :mod:`names` and :mod:`places`, encoded once as UTF-8 combination tables.

Generation never joins strings per person: a name is an index into a table of every surname ×
given-name pair, an address an index into every 町丁目 × 番 × 号. The tables are small (tens of
thousands of rows) and cached for the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from jukistore.ids import lgcode
from jukistore.synth import codes, names, places
from jukistore.synth._vec import Bytes, combine, pool

SPACE = "\u3000"  # full-width space between surname and given name, as registers write it
MAX_BAN, MAX_GO = 30, 25  # 番 and 号 drawn in the ward
MAX_BAN_OUT, MAX_GO_OUT = 30, 20  # the same outside it
MAX_BANCHI = 200  # 本籍 番地
FLOORS, ROOMS = 12, 8

#: Surname categories in :attr:`Tables.sur_kanji` order.
SUR_REGULAR, SUR_GAIJI, SUR_IVS, SUR_PUA = 0, 1, 2, 3


@dataclass(frozen=True)
class Tables:
    """Encoded pools and combination tables; see the module docstring."""

    # Japanese names
    sur_kanji: Bytes
    sur_kana: Bytes
    sur_hira: Bytes
    sur_category: npt.NDArray[np.int8]
    sur_weights: npt.NDArray[np.float64]  # regular surnames only
    n_regular: int
    given_offsets: npt.NDArray[np.int64]  # [sex (0 male, 1 female), cohort] -> first index
    given_counts: npt.NDArray[np.int64]
    given_male_old: npt.NDArray[np.int64]  # indices of older male names (for 筆頭者 fathers)
    n_given: int
    name_kanji: Bytes  # surname × given, "佐藤　太郎"
    name_kana: Bytes
    # foreign names
    nat_codes: tuple[str, ...]
    nat_weights: npt.NDArray[np.float64]
    nat_label: Bytes
    nat_code_bytes: Bytes
    f_offsets: npt.NDArray[np.int64]  # per nationality, first row of its name table
    f_n_sur: npt.NDArray[np.int64]
    f_n_male: npt.NDArray[np.int64]
    f_n_given: npt.NDArray[np.int64]
    f_latin: Bytes
    f_kana: Bytes
    f_heiki: Bytes  # kanji 併記名, empty where the nationality writes no kanji
    # the ward
    chome_prefix: Bytes  # "東京都墨田区吾妻橋一丁目"
    chome_postal: Bytes
    chome_gyoseiku: Bytes
    chome_machiaza: Bytes
    chome_town: npt.NDArray[np.int64]
    ward_address: Bytes  # chome × 番 × 号
    ward_lgcode: bytes
    buildings: Bytes  # town × pattern, then the 外字 buildings
    n_regular_buildings: int
    rooms: Bytes
    katagaki: Bytes  # building × room
    # elsewhere
    muni_lgcode: Bytes
    muni_postal3: Bytes
    muni_weights: npt.NDArray[np.float64]
    out_prefix: Bytes  # muni × town × 丁目(1..5)
    out_bango: Bytes  # 番 × 号
    honseki_prefix: Bytes  # muni × town, then the ward's 町丁目
    n_honseki_out: int
    banchi: Bytes
    out_katagaki: Bytes  # pattern × other-town × room
    countries: Bytes  # destinations and origins abroad of Japanese nationals
    # codes
    zairyu_codes: Bytes
    zairyu_labels: Bytes


def _cohort_pools() -> tuple[list[tuple[str, str]], np.ndarray, np.ndarray]:
    given: list[tuple[str, str]] = []
    offsets = np.zeros((2, 3), dtype=np.int64)
    counts = np.zeros((2, 3), dtype=np.int64)
    for s, by_cohort in enumerate((names.MALE, names.FEMALE)):
        for c, entries in enumerate(by_cohort):
            offsets[s, c] = len(given)
            counts[s, c] = len(entries)
            given.extend(entries)
    return given, offsets, counts


@lru_cache(maxsize=1)
def tables() -> Tables:
    """Build (once per process) every pool and combination table."""
    surnames = [*names.SURNAMES, *names.SURNAMES_GAIJI, *names.SURNAMES_IVS, *names.SURNAMES_PUA]
    category = np.array(
        [SUR_REGULAR] * len(names.SURNAMES) + [SUR_GAIJI] * len(names.SURNAMES_GAIJI)
        + [SUR_IVS] * len(names.SURNAMES_IVS) + [SUR_PUA] * len(names.SURNAMES_PUA), dtype=np.int8)
    sur_kanji = pool(k for k, _ in surnames)
    sur_kana = pool(r for _, r in surnames)
    given, g_off, g_cnt = _cohort_pools()
    g_kanji = pool(k for k, _ in given)
    g_kana = pool(r for _, r in given)

    nat_codes = tuple(names.FOREIGN)
    f_latin: list[str] = []
    f_kana: list[str] = []
    f_heiki: list[str] = []
    f_off, f_ns, f_nm, f_ng = [], [], [], []
    for nat in nat_codes:
        surs, male, female = names.FOREIGN[nat]
        f_off.append(len(f_latin))
        f_ns.append(len(surs))
        f_nm.append(len(male))
        f_ng.append(len(male) + len(female))
        for s_lat, s_kana, s_kanji in surs:
            for g_lat, g_kana_, g_kanji_ in (*male, *female):
                f_latin.append(f"{s_lat} {g_lat}")
                f_kana.append(f"{s_kana}{SPACE}{g_kana_}")
                f_heiki.append(f"{s_kanji}{SPACE}{g_kanji_}" if s_kanji and g_kanji_ else "")

    chome_prefix, chome_postal, chome_gyo, chome_ma, chome_town = [], [], [], [], []
    for t, (town, n_chome, postal, gyo) in enumerate(places.TOWNS):
        for c in range(1, n_chome + 1) if n_chome else (0,):
            chome = f"{places.KANSUJI[c]}丁目" if c else ""
            chome_prefix.append(f"{places.PREFECTURE}{places.CITY}{town}{chome}")
            chome_postal.append(postal)
            chome_gyo.append(gyo)
            chome_ma.append(f"{t + 1:03d}{c:03d}")
            chome_town.append(t)
    ban = pool(f"{b}番" for b in range(1, MAX_BAN + 1))
    go = pool(f"{g}号" for g in range(1, MAX_GO + 1))
    prefix = pool(chome_prefix)
    ward_address = combine(combine(prefix, ban), go)

    town_names = [t[0] for t in places.TOWNS]
    buildings = [p.format(t) for t in town_names for p in names.BUILDINGS] + list(names.BUILDINGS_GAIJI)
    rooms = pool(f"{f}{r:02d}号室" for f in range(1, FLOORS + 1) for r in range(1, ROOMS + 1))
    b_pool = pool(buildings)

    munis = places.MUNICIPALITIES
    muni_lg = [m[2] + lgcode.calc_check_digit(m[2]) for m in munis]
    muni_name = pool(m[0] + m[1] for m in munis)
    other_towns = pool(places.OTHER_TOWNS)
    chome_out = pool(f"{places.KANSUJI[c]}丁目" for c in range(1, 6))
    out_prefix = combine(combine(muni_name, other_towns), chome_out)
    out_bango = combine(pool(f"{b}番" for b in range(1, MAX_BAN_OUT + 1)), pool(f"{g}号" for g in range(1, MAX_GO_OUT + 1)))
    honseki_out = combine(muni_name, other_towns)
    honseki_prefix = np.concatenate([honseki_out, prefix]).astype(np.bytes_)
    out_b = pool(p.format(t) for p in names.BUILDINGS for t in places.OTHER_TOWNS)

    return Tables(
        sur_kanji=sur_kanji,
        sur_kana=sur_kana,
        sur_hira=pool(names.hiragana(r) for _, r in surnames),
        sur_category=category,
        sur_weights=np.array(names.zipf_weights(len(names.SURNAMES))),
        n_regular=len(names.SURNAMES),
        given_offsets=g_off,
        given_counts=g_cnt,
        given_male_old=np.arange(g_off[0, 0], g_off[0, 1] + g_cnt[0, 1]),
        n_given=len(given),
        name_kanji=combine(sur_kanji, g_kanji, SPACE.encode()),
        name_kana=combine(sur_kana, g_kana, SPACE.encode()),
        nat_codes=nat_codes,
        nat_weights=np.array([names.NATIONALITY_WEIGHTS[n] for n in nat_codes]),
        nat_label=pool(codes.KOKUSEKI[n] for n in nat_codes),
        nat_code_bytes=pool(nat_codes),
        f_offsets=np.array(f_off, dtype=np.int64),
        f_n_sur=np.array(f_ns, dtype=np.int64),
        f_n_male=np.array(f_nm, dtype=np.int64),
        f_n_given=np.array(f_ng, dtype=np.int64),
        f_latin=pool(f_latin),
        f_kana=pool(f_kana),
        f_heiki=pool(f_heiki),
        chome_prefix=prefix,
        chome_postal=pool(chome_postal),
        chome_gyoseiku=pool(chome_gyo),
        chome_machiaza=pool(chome_ma),
        chome_town=np.array(chome_town, dtype=np.int64),
        ward_address=ward_address,
        ward_lgcode=(places.CITY_JIS + lgcode.calc_check_digit(places.CITY_JIS)).encode(),
        buildings=b_pool,
        n_regular_buildings=len(buildings) - len(names.BUILDINGS_GAIJI),
        rooms=rooms,
        katagaki=combine(b_pool, rooms),
        muni_lgcode=pool(muni_lg),
        muni_postal3=pool(m[3] for m in munis),
        muni_weights=np.array([m[4] for m in munis]),
        out_prefix=out_prefix,
        out_bango=out_bango,
        honseki_prefix=honseki_prefix,
        n_honseki_out=len(honseki_out),
        banchi=pool(f"{b}番地" for b in range(1, MAX_BANCHI + 1)),
        out_katagaki=combine(out_b, rooms),
        countries=pool(("アメリカ合衆国", "中華人民共和国", "シンガポール", "タイ", "英国", "ドイツ", "オーストラリア")),
        zairyu_codes=pool(codes.ZAIRYU_SHIKAKU),
        zairyu_labels=pool(codes.ZAIRYU_SHIKAKU.values()),
    )
