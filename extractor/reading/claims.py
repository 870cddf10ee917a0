"""Text → claims: the numbers the prose states (counts, amounts, rates), each with its quote.

A claim is a number followed by a unit of count or amount (条, 件, 万元, % …) or by 万/亿.
Dates, years, document numbers (〔2022〕16号), ordinals (第6版), phone numbers, addresses and
page chrome (浏览次数:10240) carry no such unit, or are excluded explicitly.
"""

from __future__ import annotations

import re

from ..inputs.text import SourceText
from ..model import Claim

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_UNITS = (
    "万人次|人次|万元|元|个百分点|条|件|次|个|篇|期|场|项|家|份|处|人|部|批|户|名|套|本|册|所|座|"
    "栏目|%"
)
# Hard-wrapped text (PDF) may break a line inside a number: 2\n7篇 is 27篇.
_NUMBER = r"(?P<num>\d+(?:\n\d+)*(?:\.\d+)?|一半|半数|[一二两三四五六七八九十百千]+)"
_HALF = ("一半", "半数")  # 50 %
_DATE_WORDS = ("年", "月", "日", "号", "时", "分")
_CLAIM = re.compile(
    # The leading class lets the scanner skip characters that cannot start a claim.
    r"(?=[约近超逾突达共累合\d一二两三四五六七八九十百千])"
    r"(?P<before>约|近|超过|超|逾|突破|达到|达|共|累计|合计)?\s*"
    + _NUMBER
    + r"\s*(?P<mult>万|亿)?\s*(?P<after>余|多)?\s*"
    r"(?:(?P<unit>" + _UNITS + r")|(?P<cheng>成)(?P<tenth>[一二三四五六七八九](?!成))?)?"
    r"(?P<tail>\s*(?:以上|左右|多))?"
)
_AT_LEAST = {"超过", "超", "逾", "突破", "余", "多", "以上"}
_ABOUT = {"约", "近", "左右"}
# Chinese numerals inside words, not counts: 进一步, 统一, 一件事, 一次性, 一条龙 …
_CN_WORDS = re.compile(
    r"一件事|一次性|一条龙|一站式|一网|一体|一批次|一类|一把手|一线|一流|万一|一方面"
)
_CN_BLOCKED_BEFORE = set("第每其统进唯之任同逐单专周年月日初")
_CLAUSE_END = re.compile(r"[,，。;；:：!！?？()（）【】\[\]“”\"]|\n\s*\n")
_LEADING = re.compile(
    r"^(?:全年|其中|另外|此外|并|及|和|共|累计|共计|合计|总计|约|近|达|为|有|已|等)+"
)
_TRAILING = re.compile(r"(?:共|累计|共计|合计|约|近|超过|超|逾|突破|达到|达|为|有|已|计|数|量为)+$")
_CHROME = re.compile(r"浏览次数|访问次数|阅读次数|点击数|来源[:：]|索引号|发布日期")


def cn_number(text: str) -> int | None:
    """一 → 1, 十二 → 12, 一百二十 → 120, 两千 → 2000."""
    if not text:
        return None
    total, digit = 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        else:
            return None
    return total + (digit or 0)


def _value(num: str, mult: str | None, cheng: bool, tenth: str | None) -> int | float | None:
    """The number a match states: 10万 is 100000, 八成 is 80 (%), 三成五 is 35, 一半 is 50."""
    if num in _HALF:
        return 50
    if num[0].isdigit():
        value: float = float(num.replace("\n", ""))
    else:
        parsed = cn_number(num)
        if parsed is None:
            return None
        value = parsed
    if mult == "万":
        value *= 10_000
    elif mult == "亿":
        value *= 100_000_000
    if cheng:
        value = value * 10 + (_CN_DIGITS[tenth] if tenth else 0)
    value = round(value, 6)
    return int(value) if float(value).is_integer() else value


def _clause_start(view: str, pos: int, floor: int) -> int:
    start = max(floor, pos - 40)
    last = start
    for m in _CLAUSE_END.finditer(view, start, pos):
        last = m.end()
    return last


def _clause_end(view: str, pos: int, ceiling: int) -> int:
    m = _CLAUSE_END.search(view, pos, min(ceiling, pos + 40))
    return m.start() if m else min(ceiling, pos + 40)


def _metric(before: str, after: str) -> str:
    before = _TRAILING.sub("", _LEADING.sub("", "".join(before.split())))
    after = "".join(after.split())
    if len(re.findall(r"[一-龥]", before)) < 3 or before.endswith(("有", "对")):
        return after or before
    return before


def find_claims(
    source: SourceText, spans: list[tuple[int, int]], bare: bool = False
) -> list[Claim]:
    """Claims in the given view stretches (the prose), with raw spans and quotes. ``bare``
    also reads digits with no unit after them (where a witness quoted them as a figure)."""
    view = source.view
    claims: list[Claim] = []
    for lo, hi in spans:
        previous_end = lo
        for m in _CLAIM.finditer(view, lo, hi):
            num, unit, mult, cheng = m.group("num", "unit", "mult", "cheng")
            cheng = cheng or (num if num in _HALF else None)
            if not unit and not cheng and not mult and not (bare and num[0].isdigit()):
                continue
            if not unit and view.startswith(_DATE_WORDS, m.end("num")):
                continue  # a year, a date, a time: no figure
            num_start = m.start("num")
            prev = view[num_start - 1] if num_start > 0 else ""
            if prev and (prev.isdigit() or prev in ".-/" or prev.isascii() and prev.isalpha()):
                continue
            if not num[0].isdigit():
                if not (unit or cheng) or prev in _CN_BLOCKED_BEFORE:
                    continue
                if _CN_WORDS.search(view, max(lo, num_start - 1), min(hi, m.end() + 2)):
                    continue
            elif num_start >= 1 and view[num_start - 1] == "第":
                continue
            if unit and view.startswith("部分", m.end("unit")):
                continue
            value = _value(num, mult, bool(m.group("cheng")), m.group("tenth"))
            if value is None:
                continue
            start = _clause_start(view, m.start(), previous_end)
            if _CHROME.search(view, start, m.end()):
                continue
            end = m.end()
            previous_end = end
            qualifier = "exact"
            words = {m.group("before"), m.group("after"), (m.group("tail") or "").strip()}
            if words & _AT_LEAST:
                qualifier = "at_least"
            elif words & _ABOUT:
                qualifier = "about"
            metric = _metric(view[start : m.start()], view[end : _clause_end(view, end, hi)])
            span = source.raw_span(start, end)
            claims.append(
                Claim(
                    metric=metric,
                    value=value,
                    unit="%" if cheng else (unit or ""),
                    qualifier=qualifier,
                    quote=source.raw_slice(span),
                    span=span,
                )
            )
    return claims
