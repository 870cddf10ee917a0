"""Checks across years: one agency's consecutive reports must hand over their figures.

* ``cross_year.carried``: last year's 结转下年度继续办理 is this year's 上年结转, per column;
* ``cross_year.in_force`` (a warning: reports often restate the stock): this year's 现行有效
  is last year's plus this year's 制发 minus 废止.

Only a small summary of each record is kept, so a run over many thousands of reports can
check its years at the end.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from .model import Finding
from .template import S3_COLUMN_LABELS, S3_COLUMNS
from .text import compact

_STOCK = {"rules": "规章", "normative": "行政规范性文件"}
# 淮安市洪泽区人民政府 and 洪泽区人民政府 are one agency: drop a leading province or city.
_PREFIX = re.compile(r"^.{2,8}?[省市](?=.{2,}[区县旗镇乡])")


_KEYS = tuple(
    [f"s3.{row}.{c}" for row in ("carried_over", "carried_forward") for c in S3_COLUMNS]
    + [
        f"s2.{row}.{c}"
        for row in ("rules", "normative")
        for c in ("issued", "repealed", "in_force")
    ]
)


@dataclass(slots=True)
class YearSummary:
    document: str
    sha256: str | None
    agency: str
    year: int
    figures: tuple  # the values of _KEYS, in order: a few hundred bytes a report

    @property
    def values(self) -> dict:
        return dict(zip(_KEYS, self.figures, strict=True))


def agency_key(agency: str) -> str:
    return _PREFIX.sub("", compact(agency))


def summarise(record: dict) -> YearSummary | None:
    """What a later check needs of a record; None when it cannot take part."""
    meta = record.get("meta") or {}
    if record.get("status") != "ok" or not meta.get("agency") or not meta.get("year"):
        return None
    return YearSummary(
        record["document"],
        record.get("sha256"),
        agency_key(meta["agency"]),
        int(meta["year"]),
        tuple(record["fields"].get(k) for k in _KEYS),
    )


def check(summaries: Iterable[YearSummary]) -> list[tuple[YearSummary, Finding]]:
    """Findings about the later report of each consecutive pair of years."""
    by_agency: dict[str, dict[int, YearSummary]] = defaultdict(dict)
    for summary in summaries:
        by_agency[summary.agency].setdefault(summary.year, summary)
    out: list[tuple[YearSummary, Finding]] = []
    for years in by_agency.values():
        for year, now_summary in sorted(years.items()):
            if year - 1 not in years:
                continue
            last, this = years[year - 1].values, now_summary.values
            for c in S3_COLUMNS:
                before = last[f"s3.carried_forward.{c}"]
                now = this[f"s3.carried_over.{c}"]
                if before is not None and now is not None and before != now:
                    out.append(
                        (
                            now_summary,
                            Finding(
                                "cross_year.carried",
                                [f"s3.carried_over.{c}"],
                                f"{S3_COLUMN_LABELS[c]}列：{year - 1} 年报告结转下年度 {before}，"
                                f"{year} 年报告上年结转 {now}",
                            ),
                        )
                    )
            for row, label in _STOCK.items():
                stock = last[f"s2.{row}.in_force"]
                issued, repealed, now = (
                    this[f"s2.{row}.{c}"] for c in ("issued", "repealed", "in_force")
                )
                if None in (stock, issued, repealed, now):
                    continue
                if stock + issued - repealed != now:
                    out.append(
                        (
                            now_summary,
                            Finding(
                                "cross_year.in_force",
                                [f"s2.{row}.in_force"],
                                f"{label}现行有效：{year - 1} 年 {stock} + 本年制发 {issued} − 废止 "
                                f"{repealed} = {stock + issued - repealed}，但 {year} 年报告为 {now}"
                                "（报告常重述存量，仅供参考）",
                            ),
                        )
                    )
    return out
