"""Code tables the synthetic ward writes into coded items of the master file.

The source document (the ward's privacy impact assessment) names the coded items of the
住民基本台帳ファイル (異動事由, 除票区分, 続柄コード, 在留資格コード ...) but gives none of their
code values, and the vendor code tables of the municipality's own system are not public. The
tables below are therefore this project's own, small and stable, so that tests and downstream
modules can rely on them. Where a law fixes the categories (住基法 第30条の45, the order of the
在留資格 in 入管法 別表) the labels follow the law; the numbers are ours. Nationality codes are
ISO 3166-1 numeric, a public standard, rather than the Ministry of Justice's internal codes.

Every table maps code (str, as written in the record) to its Japanese label.
"""

from __future__ import annotations

from typing import Final

#: 異動事由 (item 11; also 住定異動事由 17, 住定届出事由 19, 除票届出事由 57 and the foreign-resident
#: copies 76/78). Two digits: 0x entering the register, 1x changes inside the ward, 2x leaving it,
#: 3x-4x amendments. Our own codes: the official table is not in the source document.
IDO_JIYU: Final[dict[str, str]] = {
    "01": "転入",
    "02": "出生",
    "03": "職権記載",
    "04": "国外転入",
    "11": "転居",
    "12": "世帯変更",
    "21": "転出",
    "22": "死亡",
    "23": "職権消除",
    "24": "国外転出",
    "31": "記載事項変更",
    "32": "職権修正",
    "41": "住民票コード変更",
    "42": "個人番号変更",
}

TENNYU, SHUSSEI, SHOKKEN_KISAI, KOKUGAI_TENNYU = "01", "02", "03", "04"
TENKYO, SETAI_HENKO = "11", "12"
TENSHUTSU, SHIBO, SHOKKEN_SHOJO, KOKUGAI_TENSHUTSU = "21", "22", "23", "24"
KISAI_HENKO, SHOKKEN_SHUSEI = "31", "32"
CODE_HENKO, MYNUMBER_HENKO = "41", "42"

#: 除票区分 (item 13). ``0`` marks a current record; the store treats "" and "0" as not removed.
JOHYO_KUBUN: Final[dict[str, str]] = {
    "0": "在籍",
    "1": "転出",
    "2": "死亡",
    "3": "職権消除",
}

#: 続柄コード (item 24): the relationship to the household head as the 住民票 writes it.
ZOKUGARA: Final[dict[str, str]] = {
    "01": "世帯主",
    "02": "妻",
    "03": "夫",
    "04": "子",
    "05": "父",
    "06": "母",
    "07": "孫",
    "08": "兄弟姉妹",
    "11": "妻（未届）",
    "12": "夫（未届）",
    "14": "縁故者",
    "15": "同居人",
}

SETAINUSHI, TSUMA, OTTO, KO, CHICHI, HAHA, MAGO = "01", "02", "03", "04", "05", "06", "07"
DOKYONIN = "15"

#: 性別コード (item 22), as the brief and JIS X 0303 number them.
SEIBETSU: Final[dict[str, str]] = {"1": "男", "2": "女"}

#: 在留資格コード (item 67) and 在留資格漢字 (item 68): the statuses a ward actually sees, our numbers.
ZAIRYU_SHIKAKU: Final[dict[str, str]] = {
    "01": "永住者",
    "02": "特別永住者",
    "03": "定住者",
    "04": "日本人の配偶者等",
    "05": "永住者の配偶者等",
    "06": "技術・人文知識・国際業務",
    "07": "留学",
    "08": "家族滞在",
    "09": "技能実習",
    "10": "特定技能",
    "11": "技能",
    "12": "経営・管理",
    "13": "高度専門職",
}

EIJUSHA, TOKUBETSU_EIJUSHA, KAZOKU_TAIZAI = "01", "02", "08"

#: 在留期間 (item 70, an ASCII code item): the period of stay as an ISO 8601 duration; empty for
#: 永住者 and 特別永住者, whose stay has no limit.
ZAIRYU_KIKAN: Final[dict[str, str]] = {
    "P6M": "6月",
    "P1Y": "1年",
    "P1Y3M": "1年3月",
    "P3Y": "3年",
    "P5Y": "5年",
}

#: ３０の４５区分 (item 69): the four kinds of foreign resident in 住基法 第30条の45 and the two
#: kinds of 経過滞在者 (by birth, by loss of Japanese nationality) in its table.
KUBUN_30_45: Final[dict[str, str]] = {
    "1": "中長期在留者",
    "2": "特別永住者",
    "3": "一時庇護許可者",
    "4": "仮滞在許可者",
    "5": "出生による経過滞在者",
    "6": "国籍喪失による経過滞在者",
}

#: 国籍コード (item 64, ISO 3166-1 numeric) to 国籍漢字 (item 65) as a 住民票 prints it.
KOKUSEKI: Final[dict[str, str]] = {
    "156": "中国",
    "704": "ベトナム",
    "410": "韓国",
    "608": "フィリピン",
    "524": "ネパール",
    "158": "台湾",
    "840": "米国",
    "360": "インドネシア",
    "104": "ミャンマー",
    "356": "インド",
    "764": "タイ",
    "076": "ブラジル",
    "826": "英国",
}

#: 居住地届出フラグ (item 79): whether the 転入届 also counted as the immigration 居住地届出
#: (住基法 第30条の46).
KYOJUCHI_FLAG: Final[dict[str, str]] = {"0": "なし", "1": "届出済"}

#: Dates the register's own history fixes: 住基ネット (and 住民票コード) from 2002-08-05, My Number
#: from 2015-10-05. A record removed before the latter never had a 個人番号.
JUKINET_START: Final[str] = "20020805"
MYNUMBER_START: Final[str] = "20151005"
#: Removals before this date were kept 5 years, not 150 (施行令34条1項 as amended 2019-06-20).
RETENTION_150_FROM: Final[str] = "20140620"
