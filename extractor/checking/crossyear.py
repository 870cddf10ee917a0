"""Checks across years: one agency's consecutive reports must hand over their figures, and
should not be last year's report again.

* ``cross_year.carried``: last year's 结转下年度继续办理 is this year's 上年结转, per column;
* ``cross_year.in_force`` (a warning: reports often restate the stock): this year's 现行有效
  is last year's plus this year's 制发 minus 废止;
* ``cross_year.pending`` (a warning): cases last year left 尚未审结 are decided this year or
  still pending, so this year's 总计 of that group is at least last year's 尚未审结;
* ``cross_year.same_table``: a table (part 二, 三 or 四) identical to last year's, with at least
  ``SAME_TABLE_NONZERO`` non-zero values (all-zero tables repeat honestly);
* ``cross_year.copied_prose``: passages of prose (runs of consecutive sentences, together at
  least ``COPIED_CHARS`` characters) that stand in last year's report too. A sentence that
  reports of ``BOILERPLATE_AGENCIES`` or more agencies share in the run is the template's
  wording, not a copy.

Agencies are matched by their canonical identity (``agency.identify``). Only a small summary
of each record is kept (figures, one digest per table, one per prose sentence), and kept on
disk (``Years``), so a run over a million reports checks its years at the end in the memory
of one agency's.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sqlite3
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass

from ..model import Finding
from ..reading.agency import identify
from ..template import (
    FIELD_KEYS,
    PART_OF_KEY,
    PARTS,
    S3_COLUMN_LABELS,
    S3_COLUMNS,
    S4_COLUMN_LABELS,
    S4_GROUP_LABELS,
    S4_GROUPS,
)

SAME_TABLE_NONZERO = 3
COPIED_CHARS = 80
BOILERPLATE_AGENCIES = 3
_STOCK = {"rules": "规章", "normative": "行政规范性文件"}

_KEYS = tuple(
    [f"s3.{row}.{c}" for row in ("carried_over", "carried_forward") for c in S3_COLUMNS]
    + [
        f"s2.{row}.{c}"
        for row in ("rules", "normative")
        for c in ("issued", "repealed", "in_force")
    ]
    + [f"s4.{g}.{c}" for g in S4_GROUPS for c in ("pending", "total")]
)
_PART_KEYS = {part: tuple(k for k in FIELD_KEYS if PART_OF_KEY[k] == part) for part in PARTS}
# The key a same-table finding sends to review: the table's first grand total.
_HEADLINE = {"s2": "s2.licensing", "s3": "s3.new_received.total", "s4": "s4.review.total"}


@dataclass(slots=True)
class YearSummary:
    document: str
    sha256: str | None
    agency: str
    year: int
    figures: tuple  # the values of _KEYS, in order: a few hundred bytes a report
    tables: tuple  # (part, digest of its values, how many are non-zero) per part
    sentences: tuple  # (digest, length, head) per prose sentence, in order

    @property
    def values(self) -> dict:
        return dict(zip(_KEYS, self.figures, strict=True))


def _table_digest(fields: dict, part: str) -> tuple[str, str, int]:
    values = [fields.get(k) for k in _PART_KEYS[part]]
    digest = hashlib.blake2b(json.dumps(values).encode(), digest_size=8).hexdigest()
    return part, digest, sum(1 for v in values if v)


def summarise(record: dict) -> YearSummary | None:
    """What a later check needs of a record; None when it cannot take part."""
    meta = record.get("meta") or {}
    if record.get("status") != "ok" or not meta.get("agency") or not meta.get("year"):
        return None
    fields = record["fields"]
    return YearSummary(
        record["document"],
        record.get("sha256"),
        identify(meta["agency"]).canonical,
        int(meta["year"]),
        tuple(fields.get(k) for k in _KEYS),
        tuple(_table_digest(fields, part) for part in PARTS),
        tuple((d, end - start, head) for start, end, d, head in record.get("sentences", [])),
    )


class Years:
    """The summaries of a run's records, on disk (a private temporary SQLite database, gone
    when closed), grouped by agency for the check. The first summary of an agency's year is
    the one checked, as ``add`` met them."""

    def __init__(self) -> None:
        # On disk, deleted when closed; used by one thread at a time (the run holds a lock).
        self._db = sqlite3.connect("", check_same_thread=False)
        self._db.executescript(
            """
            PRAGMA cache_size = -2048;
            CREATE TABLE years (seq INTEGER PRIMARY KEY, agency TEXT, year INTEGER, summary BLOB,
                                UNIQUE (agency, year));
            CREATE TABLE sentences (digest TEXT, agency TEXT, PRIMARY KEY (digest, agency))
                WITHOUT ROWID;
            """
        )

    def add(self, summary: YearSummary) -> None:
        added = self._db.execute(
            "INSERT OR IGNORE INTO years (agency, year, summary) VALUES (?, ?, ?)",
            (summary.agency, summary.year, pickle.dumps(_fields(summary))),
        )
        if added.rowcount:
            self._db.executemany(
                "INSERT OR IGNORE INTO sentences VALUES (?, ?)",
                ((digest, summary.agency) for digest, _, _ in summary.sentences),
            )

    def check(self) -> Iterator[tuple[YearSummary, Finding]]:
        """Findings about the later report of each consecutive pair of years, agency by
        agency (in the order they were first met)."""
        # A sentence that reports of enough agencies share is the template's wording.
        boilerplate = {
            digest
            for (digest,) in self._db.execute(
                "SELECT digest FROM sentences GROUP BY digest HAVING count(*) >= ?",
                (BOILERPLATE_AGENCIES,),
            )
        }
        agencies = self._db.execute(
            "SELECT agency FROM years GROUP BY agency HAVING count(*) > 1 ORDER BY min(seq)"
        ).fetchall()
        for (agency,) in agencies:
            rows = self._db.execute(
                "SELECT year, summary FROM years WHERE agency = ? ORDER BY year", (agency,)
            )
            years = {year: YearSummary(*pickle.loads(blob)) for year, blob in rows}
            yield from _agency(years, boilerplate)

    def close(self) -> None:
        self._db.close()


def _fields(s: YearSummary) -> tuple:
    # A plain tuple pickles several times faster than the dataclass.
    return s.document, s.sha256, s.agency, s.year, s.figures, s.tables, s.sentences


def check(summaries: Iterable[YearSummary]) -> list[tuple[YearSummary, Finding]]:
    """Findings about the later report of each consecutive pair of years."""
    years = Years()
    try:
        for summary in summaries:
            years.add(summary)
        return list(years.check())
    finally:
        years.close()


def _agency(
    years: dict[int, YearSummary], boilerplate: Container[str]
) -> Iterator[tuple[YearSummary, Finding]]:
    for year, now in sorted(years.items()):
        if year - 1 in years:
            yield from ((now, f) for f in _pair(years[year - 1], now, boilerplate))


def _pair(
    last_year: YearSummary, this_year: YearSummary, boilerplate: Container[str]
) -> list[Finding]:
    return _carried_figures(last_year, this_year) + _copied(last_year, this_year, boilerplate)


def _carried_figures(last_year: YearSummary, this_year: YearSummary) -> list[Finding]:
    """The figures one year's report hands to the next: what it carried forward, the stock
    in force, the cases still pending."""
    year = this_year.year
    last, this = last_year.values, this_year.values
    found = []
    for c in S3_COLUMNS:
        before, now = last[f"s3.carried_forward.{c}"], this[f"s3.carried_over.{c}"]
        if before is not None and now is not None and before != now:
            found.append(
                Finding(
                    "cross_year.carried",
                    [f"s3.carried_over.{c}"],
                    f"{S3_COLUMN_LABELS[c]}列：{year - 1} 年报告结转下年度 {before}，"
                    f"{year} 年报告上年结转 {now}",
                )
            )
    for row, label in _STOCK.items():
        stock = last[f"s2.{row}.in_force"]
        issued, repealed, now = (this[f"s2.{row}.{c}"] for c in ("issued", "repealed", "in_force"))
        if None not in (stock, issued, repealed, now) and stock + issued - repealed != now:
            found.append(
                Finding(
                    "cross_year.in_force",
                    [f"s2.{row}.in_force"],
                    f"{label}现行有效：{year - 1} 年 {stock} + 本年制发 {issued} − 废止 "
                    f"{repealed} = {stock + issued - repealed}，但 {year} 年报告为 {now}"
                    "（报告常重述存量，仅供参考）",
                )
            )
    for g in S4_GROUPS:
        pending, total = last[f"s4.{g}.pending"], this[f"s4.{g}.total"]
        if pending and total is not None and total < pending:
            found.append(
                Finding(
                    "cross_year.pending",
                    [f"s4.{g}.total"],
                    f"{S4_GROUP_LABELS[g]}：{year - 1} 年报告{S4_COLUMN_LABELS['pending']} "
                    f"{pending} 件，{year} 年报告总计只有 {total} 件（上年未审结的案件本年"
                    "应审结或仍未审结；仅供参考）",
                )
            )
    return found


def _copied(
    last_year: YearSummary, this_year: YearSummary, boilerplate: Container[str]
) -> list[Finding]:
    """What this year's report copied from last year's: a whole table, or its prose."""
    year = this_year.year
    found = []
    for (part, digest, nonzero), (_, before, _) in zip(
        this_year.tables, last_year.tables, strict=True
    ):
        if digest == before and nonzero >= SAME_TABLE_NONZERO:
            found.append(
                Finding(
                    "cross_year.same_table",
                    [_HEADLINE[part]],
                    f"{PARTS[part].name}的表格与 {year - 1} 年报告完全相同（{nonzero} 个非零数值），"
                    "请核对是否照抄上年",
                )
            )
    copied = _copied_passages(last_year.sentences, this_year.sentences, boilerplate)
    if copied:
        chars = sum(length for passage in copied for _, length, _ in passage)
        quotes = "；".join(f"“{passage[0][2]}…”" for passage in copied[:3])
        found.append(
            Finding(
                "cross_year.copied_prose",
                [],
                f"正文有 {len(copied)} 段文字（{chars} 字）与 {year - 1} 年报告相同，"
                f"请核对是否照抄上年：{quotes}",
            )
        )
    return found


def _copied_passages(before: tuple, now: tuple, boilerplate: Container[str]) -> list[list[tuple]]:
    """Runs of this year's consecutive sentences that last year's report has too."""
    last = {d for d, _, _ in before if d not in boilerplate}
    passages: list[list[tuple]] = []
    run: list[tuple] = []
    for sentence in (*now, None):
        if sentence is not None and sentence[0] in last:
            run.append(sentence)
            continue
        if sum(length for _, length, _ in run) >= COPIED_CHARS:
            passages.append(run)
        run = []
    return passages
