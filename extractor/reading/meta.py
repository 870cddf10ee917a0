"""Text → meta: the publishing agency and the year the report covers."""

from __future__ import annotations

import re

from ..inputs.text import compact

# 资讯 is how Taiwan vocabulary (and OpenCC's conversion of it) writes 信息.
_TITLE = re.compile(
    r"(?P<before>[^\n]{0,40}?)\s*(?:关于)?\s*(?P<year>20\d{2})\s*年\s*(?:度)?\s*(?P<between>[^\n]{0,30}?)"
    r"\s*政府(?:信息|资讯)\s*公开\s*(?:工作)?\s*(?:年度)?\s*(?:报告|年报|\n\s*(?:工作)?\s*年度报告)"
)
_PERIOD = re.compile(
    r"(?:统计(?:期限|周期|时限)|数据)[^\n。]{0,12}?(20\d{2})\s*年\s*1\s*月\s*1\s*日"
)
_NOISE = re.compile(r"^(?:[#*>\s]|标题[:：]|正文)+")
# A name that is only an administrative division stands for its people's government.
_DIVISION = re.compile(r"(?:省|市|区|县|旗|州|盟|镇|乡|自治区|自治州|自治县)$")


def _clean(name: str) -> str:
    name = _NOISE.sub("", name).strip(" \t:：,，、")
    name = re.sub(r"\s+", "", name)
    if _DIVISION.search(name) and not re.search(r"(?:实验|开发|高新|园)区$", name):
        name += "人民政府"
    return name


# What an agency's name never holds: sentence punctuation, digits (本报讯3月28日，…), quotes.
_NOT_A_NAME = re.compile(r"[，。；：:、《》“”\"!！?？\d]")


def _agency(m: re.Match, text: str) -> str | None:
    between, before = m.group("between").strip(), m.group("before").strip()
    if between and not re.fullmatch(r"[度的]?", between):
        name = _clean(between)
    elif before and not before.endswith(("。", "，")):
        name = _clean(before)
    else:
        previous = [ln.strip() for ln in text[: m.start()].split("\n") if ln.strip()]
        name = _clean(previous[-1]) if previous and len(previous[-1]) <= 40 else ""
    return name if name and not _NOT_A_NAME.search(name) else None


def find_meta(view: str, title: str | None = None, publisher: str | None = None) -> dict:
    """``{"agency": str | None, "year": int | None}`` from the title and opening.

    ``title`` and ``publisher`` are what a crawler's header says (see ``crawl``); the
    title is read first. Spaces inside a line are ignored, so titles whose characters are
    spaced out (flipbook and Word dumps: ``某  市  局  2  0  2  3  年``) read as any other."""
    # Whitespace within each line dropped (str.split splits on what \s matches).
    head = "\n".join(["".join(line.split()) for line in view[:3000].split("\n")])
    agency = year = None
    for text in (compact(title or ""), head):
        m = _TITLE.search(text)
        if not m:
            continue
        year = year or int(m.group("year"))
        agency = _agency(m, text)
        if agency:
            break
    if not agency and publisher:
        agency = _clean(publisher) or None
    if year is None:
        period = _PERIOD.search(view)
        if period:
            year = int(period.group(1))
    return {"agency": agency or None, "year": year}
