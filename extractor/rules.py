"""The rule registry: every id a finding, a review item or a failed record can carry, once.

A rule has an ``id`` (what records, the store and the eval hold), a ``kind``, the ``part``
it concerns and a Chinese ``name`` for people. Checks, decide, reconciliation, the eval,
the review app's filters and the README's rule list all read this table; a finding whose
rule is not here is a bug (``Finding`` refuses it).

Kinds:

* ``identity`` — an identity (勾稽关系) of the template does not hold
* ``value`` — a value that is not of its type (negative, not an integer)
* ``reader`` — the reader could not read a row or table with certainty
* ``prose`` — a number the prose states differs from the table
* ``meta`` — the agency or year could not be read, or the witnesses disagree
* ``llm`` — the LLM witness disagrees, or could not answer (``llm.errors``)
* ``cross_year`` — one agency's consecutive years do not fit together
* ``input`` — a document that is not read at all (the record's ``error``)
* ``review`` — why a field waits for a person when no finding names it
"""

from __future__ import annotations

from dataclasses import dataclass

from .identities import RELATIONS, Use
from .template import PARTS

KINDS = ("identity", "value", "reader", "prose", "meta", "llm", "cross_year", "input", "review")


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    name: str  # Chinese, for reviewers and summaries
    part: str | None = None  # "s2", "s3", "s4", or None when it concerns no one table
    review: bool = True  # a finding of it sends its keys to review; False: a warning only
    # Reader rules: where a value stands is in doubt, so a second witness that reads the
    # same value in the row's cells settles it.
    doubt: bool = False
    # Reader rules: a row or table not read whole (its fields left null or uncertain).
    unread: bool = False


def _per_part(suffix: str, kind: str, name: str, parts: str, **flags: bool) -> list[Rule]:
    return [Rule(f"{p}.{suffix}", kind, name, p, **flags) for p in parts.split()]


_ALL: list[Rule] = [
    # the identities that report (``identities.RELATIONS``), as that table names them
    *(Rule(r.rule, "identity", r.name, r.part) for r in RELATIONS if Use.FINDING in r.uses),
    # values (checks.check_values)
    *_per_part("negative", "value", "数值为负", "s2 s3 s4"),
    *_per_part("not_integer", "value", "件数不是整数", "s2 s3 s4"),
    # the reader
    *_per_part("row_cells", "reader", "一行的数字个数不对", "s2 s3", doubt=True, unread=True),
    Rule("s4.cells", "reader", "第四部分的数字个数不对", "s4", doubt=True, unread=True),
    *_per_part("row_layout", "reader", "数字不在标签所在行", "s2 s3", doubt=True, unread=True),
    *_per_part("row_duplicate", "reader", "一行出现不止一次", "s2 s3", doubt=True, unread=True),
    *_per_part("row_missing", "reader", "表中找不到这一行", "s2 s3", unread=True),
    *_per_part("table_missing", "reader", "找不到这一部分的表格", "s2 s3 s4", unread=True),
    *_per_part("row_order", "reader", "一行重复或不在模板顺序上", "s2 s3", doubt=True),
    *_per_part("run_together", "reader", "数字粘连", "s2 s3 s4", doubt=True),
    *_per_part(
        "cell_note", "reader", "单元格需再看（附注、单位或以 0 开头）", "s2 s3 s4", doubt=True
    ),
    Rule("s3.collapsed_other", "reader", "（六）其他处理只印了合并的一行", "s3", doubt=True),
    Rule("s2.column_order", "reader", "列顺序与模板不同", "s2"),
    Rule("s2.pre2021_template", "reader", "第二部分为 2019 年版表格", "s2"),
    # A text LLM reads the same OCR output, so its agreement cannot settle this one.
    Rule("ocr.low_confidence", "reader", "OCR 识读置信度低且无勾稽关系印证"),
    # prose against the tables (checks.check_claims)
    Rule("claims.applications", "prose", "正文的申请数与表三不符", "s3"),
    Rule("claims.review", "prose", "正文的行政复议数与表四不符", "s4"),
    Rule("claims.normative", "prose", "正文的规范性文件数与表二不符", "s2"),
    Rule("claims.fees", "prose", "正文的收费金额与表二不符", "s2"),
    # meta
    Rule("meta.agency_missing", "meta", "未读出发布机关"),
    Rule("meta.year_missing", "meta", "未读出报告年度"),
    Rule("meta.year_disagree", "meta", "两个证人读到的年度不同"),
    # the LLM witness: a finding, and the codes of errors.LLMError in llm.errors
    Rule("llm.disagree", "llm", "读取器与 LLM 读到的值不同"),
    Rule("llm.error", "llm", "LLM 未能回答"),
    Rule("llm.transport", "llm", "LLM 端点连接失败"),
    Rule("llm.unavailable", "llm", "LLM 端点连续失败，本次运行不再询问"),
    Rule("llm.rejected", "llm", "LLM 端点拒绝了请求（HTTP 4xx）"),
    Rule("llm.empty", "llm", "LLM 的回答为空"),
    Rule("llm.endpoint", "llm", "LLM 端点未通过运行前的检查"),
    Rule("llm.truncated", "llm", "LLM 的回答被截断"),
    Rule("llm.schema", "llm", "LLM 的回答不符合格式"),
    Rule("llm.copied", "llm", "LLM 的回答照抄了提示中的说明"),
    Rule("llm.repeating", "llm", "LLM 的回答陷入重复，已停止"),
    Rule("llm.budget", "llm", "超出每份报告的 token 预算"),
    Rule("llm.context", "llm", "请求超出模型的上下文"),
    # across years (crossyear)
    Rule("cross_year.carried", "cross_year", "上年结转与上一年的结转下年度不符", "s3"),
    Rule("cross_year.in_force", "cross_year", "现行有效件数与上一年不衔接", "s2", review=False),
    Rule("cross_year.pending", "cross_year", "上年尚未审结的案件多于本年总计", "s4", review=False),
    Rule("cross_year.same_table", "cross_year", "表格与上一年完全相同"),
    Rule("cross_year.copied_prose", "cross_year", "正文与上一年的报告相同"),
    # documents not read (the codes of errors.InputError, in a failed record's error)
    Rule("input.unreadable", "input", "无法读取文件"),
    Rule("input.empty", "input", "文件为空"),
    Rule("input.binary", "input", "二进制文件"),
    Rule("input.encoding", "input", "无法解码"),
    Rule("input.encrypted", "input", "PDF 已加密"),
    Rule("input.too_large", "input", "文件过大"),
    Rule("input.too_many_pages", "input", "页数超过上限"),
    Rule("input.too_many_pixels", "input", "页面像素超过上限"),
    Rule("input.too_large_inflated", "input", "解压后超过上限"),
    Rule("input.too_many_cells", "input", "表格单元格超过上限"),
    Rule("input.timeout", "input", "处理时间超过上限"),
    Rule("input.out_of_memory", "input", "内存超过上限"),
    Rule("input.format", "input", "不支持的格式"),
    Rule("input.not_a_file", "input", "不是普通文件（管道、设备）"),
    Rule("input.outside", "input", "链接指向所选文件夹之外"),
    Rule("input.no_text_layer", "input", "PDF 没有文字层"),
    Rule("input.ocr_missing", "input", "未安装 OCR 引擎"),
    Rule("input.not_a_report", "input", "不是年度报告"),
    Rule("input.duplicate", "input", "与另一文件内容相同"),
    Rule("input.twin", "input", "同一页面的另一份更完整"),
    Rule("internal.error", "input", "读取时出现内部错误"),
    Rule("internal.crash", "input", "读取它的进程意外终止"),
    # a field in review that no finding names
    Rule("unplaced", "review", "读取器未能确定这个值"),
]

RULES: dict[str, Rule] = {r.id: r for r in _ALL}
assert len(RULES) == len(_ALL), "a rule id is registered twice"
assert all(r.kind in KINDS and (r.part is None or r.part in PARTS) for r in _ALL)


def of_kind(*kinds: str) -> frozenset[str]:
    """The ids of every rule of these kinds."""
    return frozenset(r.id for r in _ALL if r.kind in kinds)
