"""Candidates → findings: the template's identities (勾稽关系), the value rules, the prose's
figures against the tables, and the agency and year every report must name.

A check only reports; it never changes a value. A report whose own figures do not add up
keeps its printed figures and gets a finding a reviewer can settle.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from .. import identities
from ..identities import IDENTITIES, Identity, Use
from ..model import Claim, Finding, show
from ..template import DECIMAL_KEYS, Value, label_of


def check_identities(
    values: Mapping[str, Value], known: set[str], never_at_fault: Collection[str] = ()
) -> list[Finding]:
    """Every identity whose cells are all known (read with certainty, blanks included).

    Blank cells count as 0 in a sum; a blank *total* beside components that add up to more
    than 0 is a finding too (the report left out a figure its own table implies). Where
    several identities break and one cell alone explains them all (``_one_cell_at_fault``),
    their findings name that cell alone, unless it is one of ``never_at_fault`` (a value a
    person gave: the sums it breaks open their other cells)."""
    broken: list[tuple[Identity, Finding]] = []
    held: set[str] = set()  # the cells of the identities that hold
    for identity in IDENTITIES:
        keys = identity.keys
        if not known.issuperset(keys) or all(values[k] is None for k in keys):
            continue
        left, right = identity.sides(values)
        # A single total on the left (every identity but s3.balance) is a printed total.
        blank_total = len(identity.left) == 1 and values[identity.left[0]] is None and right > 0
        if abs(left - right) > 1e-9 or blank_total:
            message = identities.message(identity, lambda k: show(values[k]), left, right)
            finding = Finding(identity.rule, list(keys), message)
            broken.append((identity, finding))
        else:
            held.update(keys)
    at_fault = _one_cell_at_fault(broken, held, values)
    if at_fault is not None and at_fault not in never_at_fault:
        for _, finding in broken:
            finding.keys = [at_fault]
            finding.message += f"；{len(broken)} 处勾稽关系都只差在{label_of(at_fault)}这一格"
    return [finding for _, finding in broken]


def _one_cell_at_fault(
    broken: list[tuple[Identity, Finding]], held: set[str], values: Mapping[str, Value]
) -> str | None:
    """The one cell that two or more broken identities share, when each of them, solved for
    it, implies the same count for it, and every other cell of theirs is in an identity that
    holds: then that cell alone is at fault, and the others stand on the identities that
    hold through them. A single broken identity cannot say which of its cells is wrong, nor
    can breaks that share no cell or imply different values."""
    if len(broken) < 2:
        return None
    shared = set.intersection(*(set(f.keys) for _, f in broken))
    if len(shared) != 1:
        return None
    (cell,) = shared
    if not all(k in held for _, f in broken for k in f.keys if k != cell):
        return None
    implied = set()
    for identity, _ in broken:
        left = sum(values[k] or 0 for k in identity.left if k != cell)
        right = sum(values[k] or 0 for k in identity.right if k != cell)
        implied.add(right - left if cell in identity.left else left - right)
    if len(implied) != 1 or next(iter(implied)) < 0:
        return None
    return cell


# Below this, an OCR reading is not evidence enough on its own. With number cells decoded
# as numbers, nearly every digit read right is read at 0.98 or more; on the scan benchmark's
# renders, 2 of the 5 values accepted between 0.9 and 0.98 were wrong (a 150 dpi
# photocopy's 25 read as 26 at 0.96), so such a reading needs an identity too.
LOW_CONFIDENCE = 0.98
_OCR_CHECKS = identities.sums_for(Use.OCR)


def check_confidence(
    confidence: Mapping[str, float], values: Mapping[str, Value], known: set[str]
) -> list[Finding]:
    """A value OCR read with low confidence stands only where an identity holds through it:
    every cell of that identity read with certainty and the sum agreeing, so a misread digit
    would have broken it; an identity that only repeats one figure (a row's lone count and its
    total) vouches for nothing, since one misreading of the same digits keeps it. (A value cut from run-together digits by an identity is never
    certain, so the identity that chose a value cannot be the one that confirms it.) A text
    LLM's agreement does not count here: it reads the same OCR output, not the page."""
    held: set[str] = set()
    for identity in _OCR_CHECKS:
        keys = identity.keys
        if not known.issuperset(keys) or all(values[k] is None for k in keys):
            continue
        left, right = identity.sides(values)
        # Two figures that hold are one figure printed twice (a row's lone count and its
        # total): the same digits, read alike by the same engine, misread alike too.
        copies = sum(1 for k in keys if values[k]) == 2
        if abs(left - right) <= 1e-9 and not copies:
            held.update(keys)
    return [
        Finding(
            "ocr.low_confidence",
            [key],
            f"{label_of(key)}：OCR 识读置信度 {score:.2f}，且没有成立的勾稽关系可以印证，请对照原图核对",
        )
        for key, score in confidence.items()
        if score < LOW_CONFIDENCE and key not in held
    ]


def check_values(values: Mapping[str, Value]) -> list[Finding]:
    """Counts are non-negative integers; the fee is a non-negative amount."""
    findings: list[Finding] = []
    for key, value in values.items():
        if value is None or (type(value) is int and value >= 0):  # nearly every value
            continue
        part = key.split(".", 1)[0]
        if value < 0:
            findings.append(
                Finding(f"{part}.negative", [key], f"{label_of(key)} 为负数 {show(value)}")
            )
        elif key not in DECIMAL_KEYS and not float(value).is_integer():
            findings.append(
                Finding(
                    f"{part}.not_integer", [key], f"{label_of(key)} 应为整数，读到 {show(value)}"
                )
            )
    return findings


_APPLICATIONS = re.compile(r"(?:收到|受理|新收)[^,，。；]*申请|申请[^,，。；]*(?:收到|受理)")
_NORMATIVE = re.compile(r"规范性文件")
_NOT_ISSUED = re.compile(r"现行|有效|废止|清理|修订|备案|审查|评估|解读")
_REVIEW = re.compile(r"行政复议")


def _oneline(text: str) -> str:
    return re.sub(r"<[^>]*>", "", "".join(text.split()))


@dataclass(frozen=True)
class _ProseRule:
    """A kind of prose figure that a table also holds: which claims it covers, the figures
    the table allows for them, and how a reviewer is told they differ."""

    rule: str
    key: str
    matches: Callable[[Claim, str], bool]
    allowed: Callable[[Callable[[str], Value]], list[float] | None]
    table_says: Callable[[list[float]], str]


def _count(pattern: re.Pattern[str], unless: str) -> Callable[[Claim, str], bool]:
    return lambda c, m: c.unit == "件" and bool(pattern.search(m)) and not re.search(unless, m)


def _one(key: str) -> Callable[[Callable[[str], Value]], list[float] | None]:
    return lambda get: None if get(key) is None else [get(key)]


def _applications(get: Callable[[str], Value]) -> list[float] | None:
    new, carried = get("s3.new_received.total"), get("s3.carried_over.total")
    return None if new is None else [new, new + (carried or 0)]


_PROSE_RULES = (
    _ProseRule(
        "claims.applications",
        "s3.new_received.total",
        _count(_APPLICATIONS, "结转"),
        _applications,
        lambda a: f"表三本年新收为 {show(a[0])} 件（加上年结转为 {show(a[1])} 件）",
    ),
    _ProseRule(
        "claims.review",
        "s4.review.total",
        _count(_REVIEW, "诉讼"),
        _one("s4.review.total"),
        lambda a: f"表四行政复议总计为 {show(a[0])} 件",
    ),
    _ProseRule(
        "claims.normative",
        "s2.normative.issued",
        _count(_NORMATIVE, _NOT_ISSUED.pattern),
        _one("s2.normative.issued"),
        lambda a: f"表二行政规范性文件本年制发 {show(a[0])} 件",
    ),
    _ProseRule(
        "claims.fees",
        "s2.fees",
        lambda c, m: c.unit in ("元", "万元") and "事业性收费" in m,
        _one("s2.fees"),
        lambda a: f"表二收费金额为 {show(a[0])} 万元",
    ),
)


def check_claims(
    claims: list[Claim], values: Mapping[str, Value], known: set[str]
) -> list[Finding]:
    """Where the prose states exactly a figure the tables also hold, the two must agree.
    Amounts in 元 are compared in 万元, the table's unit."""

    def get(key: str) -> Value:
        return values.get(key) if key in known else None

    findings: list[Finding] = []
    for claim in claims:
        if claim.qualifier != "exact":
            continue
        metric = "".join(claim.metric.split())
        rule = next((r for r in _PROSE_RULES if r.matches(claim, metric)), None)
        allowed = rule.allowed(get) if rule else None
        if rule is None or allowed is None:
            continue
        stated = claim.value / 10_000 if claim.unit == "元" else claim.value
        if all(abs(stated - a) > 0.005 for a in allowed):
            findings.append(
                Finding(
                    rule.rule,
                    [rule.key],
                    f"正文称「{_oneline(claim.quote)}」，但{rule.table_says(allowed)}",
                )
            )
    return findings


def check_meta(meta: Mapping[str, object]) -> list[Finding]:
    """The agency and the year must be read from the title and opening."""
    findings = []
    if meta["agency"] is None:
        findings.append(
            Finding("meta.agency_missing", ["meta.agency"], "未能从标题和开头读出发布机关")
        )
    if meta["year"] is None:
        findings.append(Finding("meta.year_missing", ["meta.year"], "未能从标题和开头读出报告年度"))
    return findings
