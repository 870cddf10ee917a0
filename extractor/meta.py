"""Text → meta: the publishing agency and the year the report covers."""

from __future__ import annotations

import re

_TITLE = re.compile(
    r"(?P<before>[^\n]{0,40}?)\s*(?:关于)?\s*(?P<year>20\d{2})\s*年\s*(?:度)?\s*(?P<between>[^\n]{0,30}?)"
    r"\s*政府信息\s*公开\s*(?:工作)?\s*(?:年度)?\s*(?:报告|年报|\n\s*(?:工作)?\s*年度报告)"
)
_PERIOD = re.compile(
    r"(?:统计(?:期限|周期|时限)|数据)[^\n。]{0,12}?(20\d{2})\s*年\s*1\s*月\s*1\s*日"
)
_CRAWL_AGENCY = re.compile(r"^发布机构[:：]\s*(\S+)\s*$", re.M)
_NOISE = re.compile(r"^(?:[#*>\s]|标题[:：]|正文)+")
# A name that is only an administrative division stands for its people's government.
_DIVISION = re.compile(r"(?:省|市|区|县|旗|州|盟|镇|乡|自治区|自治州|自治县)$")


def _clean(name: str) -> str:
    name = _NOISE.sub("", name).strip(" \t:：,，、")
    name = re.sub(r"\s+", "", name)
    if _DIVISION.search(name) and not re.search(r"(?:实验|开发|高新|园)区$", name):
        name += "人民政府"
    return name


def find_meta(view: str) -> dict:
    """``{"agency": str | None, "year": int | None}`` from the title and opening."""
    head = view[:3000]
    agency = year = None
    m = _TITLE.search(head)
    if m:
        year = int(m.group("year"))
        between, before = m.group("between").strip(), m.group("before").strip()
        if between and not re.fullmatch(r"[度的]?", between):
            agency = _clean(between)
        elif before and not before.endswith(("。", "，")):
            agency = _clean(before)
        else:
            previous = [ln.strip() for ln in head[: m.start()].split("\n") if ln.strip()]
            if previous and len(previous[-1]) <= 40:
                agency = _clean(previous[-1])
    if not agency:
        crawl = _CRAWL_AGENCY.search(head)
        if crawl:
            agency = _clean(crawl.group(1))
    if year is None:
        period = _PERIOD.search(view)
        if period:
            year = int(period.group(1))
    return {"agency": agency or None, "year": year}
