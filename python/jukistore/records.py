"""Typed records of the three files and their projections, as msgspec Structs.

One Struct per layout of :mod:`jukistore.layouts`, written out by hand so that type checkers and
readers see every field; a test checks that every layout item maps to exactly one field, in order.
All fields are text, as the files hold them, and default to "" (not recorded): numbers keep their
leading zeros, dates are compact ``YYYYMMDD`` with ``00`` for an unknown month or day and
impossible dates kept as written (see :mod:`jukistore.dates`), names and addresses are kept byte
for byte (外字, IVS and private-use characters included). Records are not validated here: the file
readers and writers check values against their items, and the store's writes do too
(:func:`check_values`).

Structs are frozen (a record is a value; change one with ``msgspec.structs.replace``) and
array-like, so the MessagePack form is a positional array: compact, fast to decode, and the native
core can pick a field out by its item number without knowing names.

``repr()`` and rich's ``__rich_repr__`` mask the 個人番号 to its last four digits: a record printed
in a log or a traceback must not carry it. Empty fields are left out of the repr to keep it short.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from operator import attrgetter
from typing import Any, ClassVar, TypeVar

import msgspec

from jukistore import layouts
from jukistore.errors import mask

#: Fields shown masked (every item named 個人番号 is called ``mynumber``; a test keeps it so).
MASKED_FIELDS = frozenset({"mynumber"})

R = TypeVar("R", bound="Record")


class Record(msgspec.Struct, array_like=True, frozen=True, kw_only=True):
    """Base of the record Structs: the layout they follow and a masked repr."""

    layout_name: ClassVar[str] = ""

    def _shown(self) -> Iterator[tuple[str, str]]:
        for f in self.__struct_fields__:
            v = getattr(self, f)
            if v != "":
                yield f, (mask(v) if f in MASKED_FIELDS else v)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{f}={v!r}' for f, v in self._shown())})"

    __str__ = __repr__

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return list(self._shown())


class JuminKihon(Record, frozen=True):
    """住民基本台帳ファイル: the master record (84 items)."""

    layout_name: ClassVar[str] = "jumin_kihon"

    household_number: str = ""  # 1 世帯番号
    head_name_kana: str = ""  # 2 世帯主カナ氏名
    head_name_kanji: str = ""  # 3 世帯主漢字氏名
    district_code: str = ""  # 4 行政区コード
    postal_code: str = ""  # 5 現住所郵便番号
    municipality_code: str = ""  # 6 現住所自治体コード
    town_code: str = ""  # 7 現住所町字コード
    address: str = ""  # 8 現住所
    katagaki_code: str = ""  # 9 現住所方書コード
    katagaki: str = ""  # 10 現住所方書
    change_reason: str = ""  # 11 異動事由
    atena_number: str = ""  # 12 宛名番号
    removal_category: str = ""  # 13 除票区分
    change_date: str = ""  # 14 住民異動日
    notification_date: str = ""  # 15 住民届出日
    address_established_date: str = ""  # 16 住定異動日
    address_established_reason: str = ""  # 17 住定異動事由
    address_notification_date: str = ""  # 18 住定届出日
    address_notification_reason: str = ""  # 19 住定届出事由
    name_kana: str = ""  # 20 カナ氏名
    name_kanji: str = ""  # 21 漢字氏名
    sex: str = ""  # 22 性別コード
    birth_date: str = ""  # 23 生年月日
    relationship_code: str = ""  # 24 続柄コード
    honseki_municipality_code: str = ""  # 25 本籍自治体コード
    honseki_postal_code: str = ""  # 26 本籍郵便番号
    honseki: str = ""  # 27 本籍
    koseki_head_kanji: str = ""  # 28 筆頭者漢字
    former_surname_kanji: str = ""  # 29 旧姓漢字
    juminhyo_code: str = ""  # 30 住民票コード
    prev_municipality_code: str = ""  # 31 前住所自治体コード
    prev_postal_code: str = ""  # 32 前住所郵便番号
    prev_address: str = ""  # 33 前住所
    prev_katagaki: str = ""  # 34 前住所方書
    prev_head_kanji: str = ""  # 35 前住所世帯主漢字
    planned_municipality_code: str = ""  # 36 転出予定地自治体コード
    planned_postal_code: str = ""  # 37 転出予定地郵便番号
    planned_address: str = ""  # 38 転出予定地
    planned_katagaki: str = ""  # 39 転出予定地方書
    planned_head_kanji: str = ""  # 40 転出予定地世帯主漢字
    confirmed_municipality_code: str = ""  # 41 転出確定地自治体コード
    confirmed_postal_code: str = ""  # 42 転出確定地郵便番号
    confirmed_address: str = ""  # 43 転出確定地
    confirmed_katagaki: str = ""  # 44 転出確定地方書
    confirmed_head_kanji: str = ""  # 45 転出確定地世帯主漢字
    last_reg_municipality_code: str = ""  # 46 最終住民登録地自治体コード
    last_reg_postal_code: str = ""  # 47 最終住民登録地郵便番号
    last_reg_address: str = ""  # 48 最終住民登録地
    last_reg_katagaki: str = ""  # 49 最終住民登録地方書
    last_reg_head_kanji: str = ""  # 50 最終住民登録地世帯主漢字
    unreported_start: str = ""  # 51 未届期間開始
    unreported_end: str = ""  # 52 未届期間終了
    remarks: str = ""  # 53 付記事項(備考)
    removal_change_date: str = ""  # 54 除票異動日
    removal_notification_date: str = ""  # 55 除票届出日
    removal_notification_date_2: str = ""  # 56 除票届出日
    removal_notification_reason: str = ""  # 57 除票届出事由
    foreign_true_name_kana: str = ""  # 58 外国人本名カナ
    foreign_true_name: str = ""  # 59 外国人本名漢字
    foreign_alias_kana: str = ""  # 60 外国人通称カナ
    foreign_alias_kanji: str = ""  # 61 外国人通称漢字
    foreign_cowritten_kanji: str = ""  # 62 外国人併記名漢字
    foreign_cowritten_kana: str = ""  # 63 外国人併記名カナ
    nationality_code: str = ""  # 64 国籍コード
    nationality: str = ""  # 65 国籍漢字
    residence_card_number: str = ""  # 66 在留カード等番号
    status_of_residence_code: str = ""  # 67 在留資格コード
    status_of_residence: str = ""  # 68 在留資格漢字
    art30_45_category: str = ""  # 69 ３０の４５区分
    period_of_stay: str = ""  # 70 在留期間
    stay_expiry_date: str = ""  # 71 在留期限満了日
    foreign_birth_date: str = ""  # 72 外国人生年月日
    foreign_change_date: str = ""  # 73 外国人住民異動日
    foreign_notification_date: str = ""  # 74 外国人住民届出日
    foreign_address_established_date: str = ""  # 75 外国人住定異動日
    foreign_address_established_reason: str = ""  # 76 外国人住定異動事由
    foreign_address_notification_date: str = ""  # 77 外国人住定届出日
    foreign_address_established_reason_2: str = ""  # 78 外国人住定異動事由
    residence_notification_flag: str = ""  # 79 居住地届出フラグ
    alias_history: str = ""  # 80 通称履歴
    mynumber: str = ""  # 81 個人番号
    serial_number: str = ""  # 82 シリアル番号
    former_surname_reg_kanji: str = ""  # 83 旧氏　漢字
    former_surname_reg_furigana: str = ""  # 84 旧氏　ふりがな

class HonninKakunin(Record, frozen=True):
    """本人確認情報ファイル: the identity record (40 items)."""

    layout_name: ClassVar[str] = "honnin_kakunin"

    juminhyo_code: str = ""  # 1 住民票コード
    name_kanji: str = ""  # 2 漢字氏名
    name_gaiji_count: str = ""  # 3 外字数（氏名）
    name_furigana: str = ""  # 4 ふりがな氏名
    name_seion_kana: str = ""  # 5 清音化かな氏名
    birth_date: str = ""  # 6 生年月日
    sex: str = ""  # 7 性別
    municipality_code: str = ""  # 8 市町村コード
    oaza_code: str = ""  # 9 大字・字コード
    postal_code: str = ""  # 10 郵便番号
    address: str = ""  # 11 住所
    address_gaiji_count: str = ""  # 12 外字数（住所）
    mynumber: str = ""  # 13 個人番号
    became_resident_date: str = ""  # 14 住民となった日
    address_established_date: str = ""  # 15 住所を定めた日
    notification_date: str = ""  # 16 届出の年月日
    prev_municipality_code: str = ""  # 17 市町村コード（転入前）
    prev_address: str = ""  # 18 転入前住所
    prev_address_gaiji_count: str = ""  # 19 外字数（転入前住所）
    relationship: str = ""  # 20 続柄
    change_reason: str = ""  # 21 異動事由
    change_date: str = ""  # 22 異動年月日
    change_reason_detail: str = ""  # 23 異動事由詳細
    old_juminhyo_code: str = ""  # 24 旧住民票コード
    code_in_use_date: str = ""  # 25 住民票コード使用年月日
    request_number: str = ""  # 26 依頼管理番号
    operator_id: str = ""  # 27 操作者ＩＤ
    terminal_id: str = ""  # 28 操作端末ＩＤ
    update_seq: str = ""  # 29 更新順番号
    recovery_update_seq: str = ""  # 30 異常時更新順番号
    update_prohibited: str = ""  # 31 更新禁止フラグ
    prospective_flag: str = ""  # 32 予定者フラグ
    exclusive_flag: str = ""  # 33 排他フラグ
    gaiji_flag: str = ""  # 34 外字フラグ
    record_status: str = ""  # 35 レコード状況フラグ
    timestamp: str = ""  # 36 タイムスタンプ
    former_surname_kanji: str = ""  # 37 旧氏　漢字
    former_surname_gaiji_count: str = ""  # 38 旧氏　外字数
    former_surname_furigana: str = ""  # 39 旧氏　ふりがな
    former_surname_gaiji_seq: str = ""  # 40 旧氏　外字変更連番

class Sofusaki(Record, frozen=True):
    """送付先情報: mailing data sent to J-LIS (67 items)."""

    layout_name: ClassVar[str] = "sofusaki"

    destination_management_number: str = ""  # 1 送付先管理番号
    destination_postal_code: str = ""  # 2 送付先郵便番号
    destination_address_length: str = ""  # 3 送付先住所　漢字項目長
    destination_address_kanji: str = ""  # 4 送付先住所　漢字
    destination_address_gaiji_count: str = ""  # 5 送付先住所　漢字　外字数
    addressee_name_kanji_length: str = ""  # 6 送付先氏名　漢字項目長
    addressee_name_kanji: str = ""  # 7 送付先氏名　漢字
    addressee_name_gaiji_count: str = ""  # 8 送付先氏名　漢字　外字数
    municipality_code: str = ""  # 9 市町村コード
    municipality_name_length: str = ""  # 10 市町村名　項目長
    municipality_name: str = ""  # 11 市町村名
    municipality_postal_code: str = ""  # 12 市町村郵便番号
    municipality_address_length: str = ""  # 13 市町村住所　項目長
    municipality_address: str = ""  # 14 市町村住所
    municipality_address_gaiji_count: str = ""  # 15 市町村住所　外字数
    municipality_phone_number: str = ""  # 16 市町村電話番号
    issuance_place_name_length: str = ""  # 17 交付場所名　項目長
    issuance_place_name: str = ""  # 18 交付場所名
    issuance_place_name_gaiji_count: str = ""  # 19 交付場所名　外字数
    issuance_place_postal_code: str = ""  # 20 交付場所郵便番号
    issuance_place_address_length: str = ""  # 21 交付場所住所　項目長
    issuance_place_address: str = ""  # 22 交付場所住所
    issuance_place_address_gaiji_count: str = ""  # 23 交付場所住所　外字数
    issuance_place_phone: str = ""  # 24 交付場所電話番号
    delivery_place_name_length: str = ""  # 25 カード送付場所名　項目長
    delivery_place_name: str = ""  # 26 カード送付場所名
    delivery_place_name_gaiji_count: str = ""  # 27 カード送付場所名　外字数
    delivery_place_postal_code: str = ""  # 28 カード送付場所郵便番号
    delivery_place_address_length: str = ""  # 29 カード送付場所住所　項目長
    delivery_place_address: str = ""  # 30 カード送付場所住所
    delivery_place_address_gaiji_count: str = ""  # 31 カード送付場所住所　外字数
    delivery_place_phone: str = ""  # 32 カード送付場所電話番号
    persons_covered: str = ""  # 33 対象となる人数
    processing_date: str = ""  # 34 処理年月日
    operator_id: str = ""  # 35 操作者ＩＤ
    terminal_id: str = ""  # 36 操作端末ＩＤ
    print_category: str = ""  # 37 印刷区分
    juminhyo_code: str = ""  # 38 住民票コード
    name_kanji_length: str = ""  # 39 氏名　漢字項目長
    name_kanji: str = ""  # 40 氏名　漢字
    name_gaiji_count: str = ""  # 41 氏名　漢字　外字数
    name_kana_length: str = ""  # 42 氏名　かな項目長
    name_kana: str = ""  # 43 氏名　かな
    postal_code: str = ""  # 44 郵便番号
    address_length: str = ""  # 45 住所　項目長
    address: str = ""  # 46 住所
    address_gaiji_count: str = ""  # 47 住所　外字数
    birth_date: str = ""  # 48 生年月日
    sex: str = ""  # 49 性別
    mynumber: str = ""  # 50 個人番号
    art30_45_category: str = ""  # 51 第３０条の４５に規定する区分
    stay_expiry_date: str = ""  # 52 在留期間の満了の日
    substitution_result: str = ""  # 53 代替文字変換結果
    substituted_name_length: str = ""  # 54 代替文字氏名　項目長
    substituted_name: str = ""  # 55 代替文字氏名
    substituted_address_length: str = ""  # 56 代替文字住所　項目長
    substituted_address: str = ""  # 57 代替文字住所
    substituted_name_positions: str = ""  # 58 代替文字氏名位置情報
    substituted_address_positions: str = ""  # 59 代替文字住所位置情報
    gaiji_flag: str = ""  # 60 外字フラグ
    gaiji_pattern: str = ""  # 61 外字パターン
    former_surname_kanji: str = ""  # 62 旧氏　漢字
    former_surname_gaiji_count: str = ""  # 63 旧氏　外字数
    former_surname_furigana: str = ""  # 64 旧氏　ふりがな
    former_surname_gaiji_seq: str = ""  # 65 旧氏　外字変更連番
    name_roman: str = ""  # 66 ローマ字　氏名
    former_surname_roman: str = ""  # 67 ローマ字　旧氏


class Seigo(Record, frozen=True):
    """The 8 reconciliation items (整合性確認, 都道府県通知)."""

    layout_name: ClassVar[str] = "seigo"

    juminhyo_code: str = ""  # 1 住民票コード
    name: str = ""  # 2 氏名
    birth_date: str = ""  # 3 生年月日
    sex: str = ""  # 4 性別
    address: str = ""  # 5 住所
    mynumber: str = ""  # 6 個人番号
    change_reason: str = ""  # 7 異動事由
    change_date: str = ""  # 8 異動年月日


class YonJoho(Record, frozen=True):
    """基本4情報: name, date of birth, sex, address."""

    layout_name: ClassVar[str] = "yon_joho"

    name: str = ""  # 1 氏名
    birth_date: str = ""  # 2 生年月日
    sex: str = ""  # 3 性別
    address: str = ""  # 4 住所


class JuminKankei(Record, frozen=True):
    """住民票関係情報: person, household, address and dates, both numbers."""

    layout_name: ClassVar[str] = "jumin_kankei"

    atena_number: str = ""  # 1 宛名番号
    household_number: str = ""  # 2 世帯番号
    head_name_kanji: str = ""  # 3 世帯主漢字氏名
    relationship_code: str = ""  # 4 続柄コード
    name_kanji: str = ""  # 5 漢字氏名
    name_kana: str = ""  # 6 カナ氏名
    birth_date: str = ""  # 7 生年月日
    sex: str = ""  # 8 性別コード
    postal_code: str = ""  # 9 現住所郵便番号
    address: str = ""  # 10 現住所
    katagaki: str = ""  # 11 現住所方書
    change_date: str = ""  # 12 住民異動日
    address_established_date: str = ""  # 13 住定異動日
    change_reason: str = ""  # 14 異動事由
    removal_category: str = ""  # 15 除票区分
    juminhyo_code: str = ""  # 16 住民票コード
    mynumber: str = ""  # 17 個人番号


#: The three files.
RECORDS: dict[str, type[Record]] = {c.layout_name: c for c in (JuminKihon, HonninKakunin, Sofusaki)}
#: The projections.
PROJECTIONS: dict[str, type[Record]] = {c.layout_name: c for c in (Seigo, YonJoho, JuminKankei)}

_encoder = msgspec.msgpack.Encoder()


def record_class(layout_name: str) -> type[Record]:
    """The Struct of a layout, file or projection."""
    cls = RECORDS.get(layout_name) or PROJECTIONS.get(layout_name)
    if cls is None:
        raise layouts.LayoutError(f"no record class for layout {layout_name!r}")
    return cls


def encode(record: Record) -> bytes:
    """The record as MessagePack: an array of its fields in item order."""
    return _encoder.encode(record)


def encode_batch(records: "Sequence[Record]", offset: int = 0) -> list[bytes]:
    """The records as stored (:func:`encode`), or :class:`~jukistore.errors.InvalidRecord` naming
    the field and row of a value the encoder cannot take at all: an object of another kind (a
    numpy string, a list) or text UTF-8 cannot hold (a lone surrogate). Other non-text values
    (None, int, bytes) encode, and :func:`check_values` refuses them."""
    try:
        return list(map(_encoder.encode, records))
    except (TypeError, UnicodeEncodeError):
        pass
    from jukistore.errors import InvalidRecord

    for i, rec in enumerate(records):
        for name in rec.__struct_fields__:
            why = _encoding_fault(getattr(rec, name))
            if why is not None:
                raise InvalidRecord(f"row {offset + i}: field {name}: {why}", field=name, row=offset + i)
    raise AssertionError("a batch that does not encode has a value that does not")  # pragma: no cover


def _encoding_fault(value: object) -> str | None:
    """Why the encoder cannot take ``value`` at all, or None when it can."""
    try:
        _encoder.encode(value)
        return None
    except TypeError:
        return f"expected text, got {type(value).__name__}"
    except UnicodeEncodeError:  # a lone surrogate, what a decode with errors="surrogateescape" leaves
        return "holds a character UTF-8 cannot encode (a lone surrogate)"


def check_values(payloads: list[bytes], records: "Sequence[Record]", offset: int = 0) -> None:
    """Refuse a batch (:class:`~jukistore.errors.InvalidRecord` naming the field and row) in which a
    record holds a value that its item may not hold, before anything of it is written.

    ``payloads`` are the records as :func:`encode` gives them, all of one class. Encoding checks
    neither types nor layouts: a value that is not text (None, an int, bytes) would be stored and
    make every later read of the record fail, and a value outside its item's layout (too wide, a
    letter in a digits item, a control character, a trailing space: the rules of
    :mod:`jukistore.fileio.values`) would be stored and make every later export of it fail. The
    check runs over the encoded bytes in the core (a few tenths of a microsecond a record); only
    a refused record is looked at in Python, to say what is wrong with it."""
    from jukistore import _core
    from jukistore.errors import InvalidRecord

    if not records:
        return
    cls = type(records[0])
    kinds, widths = _value_rules(cls)
    bad = _core.first_value_fault(payloads, kinds, widths)
    if bad is None:
        return
    i, k = bad
    if k < 0:
        raise InvalidRecord(f"row {offset + i}: the record is not an array of items", row=offset + i)
    name = type(records[i]).__struct_fields__[k]
    value = getattr(records[i], name)
    if type(value) is not str:
        raise InvalidRecord(f"row {offset + i}: field {name}: expected text, got {type(value).__name__}",
                            field=name, row=offset + i)
    raise InvalidRecord(f"row {offset + i}: field {name}: {_layout_fault(cls, k, value)}", field=name, row=offset + i)


def column_fault(cls: type[Record], position: int, values: list[str]) -> tuple[int, str] | None:
    """The first of ``values`` (texts for item ``position`` of ``cls``, one per row) that the item
    may not hold, as (row, what is wrong), or None: the column form of :func:`check_values`, for
    writes of a few items to many records."""
    from jukistore import _core

    kinds, widths = _value_rules(cls)
    try:
        column = _encoder.encode(values)
    except (TypeError, UnicodeEncodeError):
        faults = ((i, _encoding_fault(v)) for i, v in enumerate(values))
        return next((i, why) for i, why in faults if why is not None)
    bad = _core.first_column_fault(column, kinds[position], widths[position])
    if bad is None:
        return None
    if bad < 0:
        return 0, "is not a list of texts"
    return bad, _layout_fault(cls, position, values[bad])


def _layout_fault(cls: type[Record], position: int, value: str) -> str:
    """What the layout rules say is wrong with ``value`` in item ``position`` of ``cls``."""
    from jukistore.fileio.values import problem

    found = problem(layouts.load(cls.layout_name).items[position], value)
    return found[1] if found is not None else "breaks its item's rule"


@lru_cache(maxsize=None)
def _value_rules(cls: type[Record]) -> tuple[list[int], list[int]]:
    """Each item's kind and width for the core's check (see ``first_value_fault``)."""
    items = layouts.load(cls.layout_name).items
    kinds = [1 if i.type in layouts.DIGIT_TYPES else 2 if i.type == "date" else 3 if i.type == "bin"
             else 4 if i.type in layouts.ASCII_TYPES else 0 for i in items]
    return kinds, [i.width for i in items]


@lru_cache(maxsize=None)
def _decoder(cls: type[R]) -> msgspec.msgpack.Decoder[R]:
    return msgspec.msgpack.Decoder(cls)


def decode(cls: type[R], data: bytes | memoryview) -> R:
    """A record of class ``cls`` from its MessagePack form (msgspec.ValidationError if it is not one)."""
    return _decoder(cls).decode(data)


def values(record: Record) -> tuple[str, ...]:
    """The fields of a record in item order."""
    return msgspec.structs.astuple(record)


@lru_cache(maxsize=None)
def _projector(source: str, target: str) -> Any:
    pairs = layouts.load(target).projection_fields(source)
    return attrgetter(*(s for _, s in pairs))


def project(record: Record, layout_name: str) -> Record:
    """The projection ``layout_name`` (``seigo``, ``yon_joho``, ``jumin_kankei``) of a record.

    Works from every layout the projection lists as a source: ``seigo`` and ``yon_joho`` from the
    master or the identity record, ``jumin_kankei`` from the master. A record of the projection's
    own class is returned as it is.
    """
    cls = record_class(layout_name)
    if type(record) is cls:
        return record
    got = _projector(record.layout_name, layout_name)(record)
    return msgspec.convert(list(got) if isinstance(got, tuple) else [got], cls)
