"""The national template (国办公开办函〔2021〕30号), defined once.

Every other module reads the rows, columns and labels from here (the identities between
them, from ``identities``). Labels are written as they appear in reports; ``patterns`` are
regular expressions matched against the *normalised, whitespace-free* text of a label cell
(NFKC, so brackets are ASCII, and Simplified characters), and they include the variants and
typos seen in real reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One row of a template table: the keys it fills, in column order."""

    name: str
    label: str
    patterns: tuple[str, ...]
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Part:
    """One of the template's three tables, and how it is named wherever it is shown."""

    key: str  # "s2", the prefix of its field keys
    numeral: str  # "二"
    short: str  # "主动公开"
    title: str  # "主动公开政府信息情况", as the template prints it

    @property
    def heading(self) -> str:
        return f"{self.numeral}、{self.title}"  # 二、主动公开政府信息情况

    @property
    def label(self) -> str:
        return f"{self.numeral}、{self.short}"  # 二、主动公开

    @property
    def name(self) -> str:
        return f"第{self.numeral}部分（{self.short}）"  # 第二部分（主动公开）


PARTS: dict[str, Part] = {
    p.key: p
    for p in (
        Part("s2", "二", "主动公开", "主动公开政府信息情况"),
        Part("s3", "三", "依申请公开", "收到和处理政府信息公开申请情况"),
        Part("s4", "四", "复议诉讼", "政府信息公开行政复议、行政诉讼情况"),
    )
}


# ---- Part 二 主动公开政府信息情况 -------------------------------------------------
S2_STOCK_COLUMNS = ("issued", "repealed", "in_force")
S2_STOCK_COLUMN_LABELS = {
    "issued": ("本年制发件数", "本年制作数量", "本年制发"),
    "repealed": ("本年废止件数", "本年废止"),
    "in_force": ("现行有效件数", "现行有效件", "现行有效"),
}

S2_ROWS: tuple[Row, ...] = (
    Row("rules", "规章", (r"规章",), tuple(f"s2.rules.{c}" for c in S2_STOCK_COLUMNS)),
    Row(
        "normative",
        "行政规范性文件",
        (r"规范性文件", r"规范性档案"),
        tuple(f"s2.normative.{c}" for c in S2_STOCK_COLUMNS),
    ),
    Row("licensing", "行政许可", (r"行政许可",), ("s2.licensing",)),
    Row("punishment", "行政处罚", (r"行政处罚",), ("s2.punishment",)),
    Row("coercion", "行政强制", (r"行政强制",), ("s2.coercion",)),
    Row("fees", "行政事业性收费", (r"事业性收费",), ("s2.fees",)),
)

# Headers that only the 2019–2020 template (国办公开办函〔2019〕60号) prints in part 二.
PRE2021_S2_MARKERS = re.compile(
    r"本年新制作|本年新公开|对外公开总数量|政府集中采购|第二十条第\(九\)项"
)

# ---- Part 三 收到和处理政府信息公开申请情况 -------------------------------------------
S3_COLUMNS = (
    "natural_person",
    "commercial",
    "research",
    "social_welfare",
    "legal_service",
    "other",
    "total",
)
S3_COLUMN_LABELS = {
    "natural_person": "自然人",
    "commercial": "商业企业",
    "research": "科研机构",
    "social_welfare": "社会公益组织",
    "legal_service": "法律服务机构",
    "other": "其他",
    "total": "总计",
}

_S3_ROW_SPECS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("new_received", "一、本年新收政府信息公开申请数量", (r"本年新收",)),
    ("carried_over", "二、上年结转政府信息公开申请数量", (r"上年结转",)),
    ("granted", "（一）予以公开", (r"予以公开",)),
    ("partly_granted", "（二）部分公开", (r"部分公开",)),
    ("denied_state_secret", "1.属于国家秘密", (r"国家秘密",)),
    (
        "denied_law_prohibited",
        "2.其他法律行政法规禁止公开",
        (r"法规禁止", r"行政止公开", r"禁止公开"),
    ),
    ("denied_security_stability", "3.危及“三安全一稳定”", (r"三安全一稳定", r"危及")),
    ("denied_third_party", "4.保护第三方合法权益", (r"第三方",)),
    ("denied_internal_affairs", "5.属于三类内部事务信息", (r"内部事务", r"内容事务")),
    ("denied_process_info", "6.属于四类过程性信息", (r"过程性",)),
    ("denied_enforcement_file", "7.属于行政执法案卷", (r"执法案卷",)),
    ("denied_inquiry", "8.属于行政查询事项", (r"行政查询",)),
    ("unavailable_not_held", "1.本机关不掌握相关政府信息", (r"不掌握",)),
    ("unavailable_needs_creation", "2.没有现成信息需要另行制作", (r"另行制作", r"没有现成")),
    ("unavailable_unclear", "3.补正后申请内容仍不明确", (r"仍不明确", r"补正后申请")),
    ("rejected_petition", "1.信访举报投诉类申请", (r"信访", r"举报投诉")),
    ("rejected_duplicate", "2.重复申请", (r"重复申请",)),
    ("rejected_publication", "3.要求提供公开出版物", (r"出版物",)),
    ("rejected_excessive", "4.无正当理由大量反复申请", (r"大量反复",)),
    ("rejected_confirmation", "5.要求行政机关确认或重新出具已获取信息", (r"重新出具", r"确认或重")),
    (
        "other_no_supplement",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        (r"不补正",),
    ),
    (
        "other_unpaid_fee",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        (r"缴纳费用", r"收费通知"),
    ),
    ("other_other", "3.其他", (r"3[.、]?其他(?!处理|法律|组织|结果)",)),
    ("total_processed", "（七）总计", (r"\(七\)总计", r"\(七\)合计")),
    ("carried_forward", "四、结转下年度继续办理", (r"结转下年度", r"转下年度继续")),
)

S3_ROWS: tuple[Row, ...] = tuple(
    Row(name, label, patterns, tuple(f"s3.{name}.{c}" for c in S3_COLUMNS))
    for name, label, patterns in _S3_ROW_SPECS
)
S3_ROW_NAMES = tuple(r.name for r in S3_ROWS)
S3_RESULT_ROWS = S3_ROW_NAMES[2:23]  # granted … other_other
S3_OTHER_SUBROWS = ("other_no_supplement", "other_unpaid_fee", "other_other")

# The single （六）其他处理 row that the 2019 template (and some 2021–2024 reports) print
# instead of the three sub-rows.
S3_COLLAPSED_OTHER = Row(
    "other_collapsed",
    "（六）其他处理",
    (r"\(六\)其他处理", r"\(六\)其他$"),
    tuple(f"s3.other_collapsed.{c}" for c in S3_COLUMNS),
)

# ---- Part 四 政府信息公开行政复议、行政诉讼情况 -----------------------------------------
S4_GROUPS = ("review", "suit_direct", "suit_after_review")
S4_GROUP_LABELS = {
    "review": "行政复议",
    "suit_direct": "行政诉讼·未经复议直接起诉",
    "suit_after_review": "行政诉讼·复议后起诉",
}
S4_COLUMNS = ("upheld", "corrected", "other", "pending", "total")
S4_COLUMN_LABELS = {
    "upheld": "结果维持",
    "corrected": "结果纠正",
    "other": "其他结果",
    "pending": "尚未审结",
    "total": "总计",
}
S4_KEYS = tuple(f"s4.{g}.{c}" for g in S4_GROUPS for c in S4_COLUMNS)
# Part 四 prints no row labels: its 15 cells are read as one row, in template order.
S4_ROW = Row("part4", "第四部分", (), S4_KEYS)

# ---- The headers the template prints over the cells (never a row's label) ---------------
# Normalised text (ASCII brackets and colon), as in the view.
HEADERS: dict[str, tuple[str, ...]] = {
    "s2": (
        r"第二十条第\([一二三四五六七八九十]+\)项",
        "信息内容",
        *(label for labels in S2_STOCK_COLUMN_LABELS.values() for label in labels),
        "本年处理决定数量",
        "本年收费金额",
        r"\(单位:万元\)",
    ),
    "s3": ("申请人情况", "自然人", "法人或其他组织", *S3_COLUMN_LABELS.values()),
    "s4": ("行政复议", "行政诉讼", "未经复议直接起诉", "复议后起诉", *S4_COLUMN_LABELS.values()),
}

# ---- All keys --------------------------------------------------------------------
S2_KEYS = tuple(k for row in S2_ROWS for k in row.keys)
S3_KEYS = tuple(k for row in S3_ROWS for k in row.keys)
FIELD_KEYS: tuple[str, ...] = S2_KEYS + S3_KEYS + S4_KEYS
assert len(FIELD_KEYS) == 200
# What a field holds: a count, a decimal (fees), or nothing (a blank, or not known).
Value = int | float | None

DECIMAL_KEYS = frozenset({"s2.fees"})

PART_OF_KEY = {k: k.split(".", 1)[0] for k in FIELD_KEYS}


def label_of(key: str) -> str:
    """A Chinese label for a key, for messages and headers (e.g. 予以公开·自然人)."""
    part, rest = key.split(".", 1)
    if part == "s2":
        row_name, _, column = rest.partition(".")
        row = next(r for r in S2_ROWS if r.name == row_name)
        if not column:
            return row.label
        return f"{row.label}·{S2_STOCK_COLUMN_LABELS[column][0]}"
    if part == "s3":
        row_name, column = rest.split(".")
        row = next(r for r in S3_ROWS if r.name == row_name)
        return f"{row.label.lstrip('一二三四、')}·{S3_COLUMN_LABELS[column]}"
    group, column = rest.split(".")
    return f"{S4_GROUP_LABELS[group]}·{S4_COLUMN_LABELS[column]}"
