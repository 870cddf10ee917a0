"""Records (or the store) → the panel: one row per agency × year, for people who study the
reports rather than review them.

Each row carries the agency's identity (``agency``), the document it comes from (file,
sha256, and the crawl's URL and publication date when known), the 200 values, each with its
status and where it stands in the source (page, span), and the derived indicators of
``INDICATORS``. A value's status is one of ``STATUSES``:

* ``accepted``: read, grounded in the source, no check objects;
* ``reviewed``: a person settled it (a candidate taken, a value typed or confirmed);
* ``publisher_error``: a person found the report's own figures inconsistent; kept as printed;
* ``blank``: the cell is blank in the report (—, /, 无, empty), read with certainty;
* ``unreadable``: gouji could not place a value, or read none, and nobody has settled it;
* ``review``: a value (or a printed blank) read but still waiting for a person.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..checking.record import empties
from ..inputs.crawl import SOURCE_KEYS
from ..reading.agency import Identity, Overrides, identify
from ..status import Empty, FieldStatus
from ..storage.review import DECISIONS, DecisionKind
from ..template import FIELD_KEYS

FORMATS = ("csv", "parquet", "xlsx")  # a panel is one table
BLANK, UNREADABLE = "blank", "unreadable"  # the panel's words for a null's two cases
STATUSES = (
    FieldStatus.ACCEPTED,
    FieldStatus.REVIEWED,
    FieldStatus.PUBLISHER_ERROR,
    BLANK,
    UNREADABLE,
    FieldStatus.REVIEW,
)
# A value a researcher may count on: read and unobjected, or settled by a person.
TRUSTED = frozenset(
    {FieldStatus.ACCEPTED, FieldStatus.REVIEWED, FieldStatus.PUBLISHER_ERROR, BLANK}
)


@dataclass(frozen=True)
class Indicator:
    name: str
    label: str
    formula: str  # as the README gives it
    inputs: tuple[str, ...]
    compute: Callable[[dict], float | None]
    across_years: bool = False  # its inputs include the previous year's row


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _concluded(v: dict, *groups: str) -> float:
    return sum(v[f"s4.{g}.total"] - v[f"s4.{g}.pending"] for g in groups)


INDICATORS = (
    Indicator(
        "granted_rate",
        "予以公开率",
        "s3.granted.total / s3.total_processed.total",
        ("s3.granted.total", "s3.total_processed.total"),
        lambda v: _ratio(v["s3.granted.total"], v["s3.total_processed.total"]),
    ),
    Indicator(
        "disclosed_rate",
        "公开率（予以公开与部分公开）",
        "(s3.granted.total + s3.partly_granted.total) / s3.total_processed.total",
        ("s3.granted.total", "s3.partly_granted.total", "s3.total_processed.total"),
        lambda v: _ratio(
            v["s3.granted.total"] + v["s3.partly_granted.total"], v["s3.total_processed.total"]
        ),
    ),
    Indicator(
        "review_correction_rate",
        "复议纠错率",
        "s4.review.corrected / (s4.review.total − s4.review.pending)",
        ("s4.review.corrected", "s4.review.total", "s4.review.pending"),
        lambda v: _ratio(v["s4.review.corrected"], _concluded(v, "review")),
    ),
    Indicator(
        "suit_correction_rate",
        "诉讼纠错率",
        "(s4.suit_direct.corrected + s4.suit_after_review.corrected) / "
        "(s4.suit_direct.total + s4.suit_after_review.total − s4.suit_direct.pending − "
        "s4.suit_after_review.pending)",
        tuple(
            f"s4.{g}.{c}"
            for g in ("suit_direct", "suit_after_review")
            for c in ("corrected", "total", "pending")
        ),
        lambda v: _ratio(
            v["s4.suit_direct.corrected"] + v["s4.suit_after_review.corrected"],
            _concluded(v, "suit_direct", "suit_after_review"),
        ),
    ),
    Indicator(
        "applications_yoy",
        "新收申请同比变化",
        "(s3.new_received.total − 上年 s3.new_received.total) / 上年 s3.new_received.total",
        ("s3.new_received.total", "previous.s3.new_received.total"),
        lambda v: _ratio(
            v["s3.new_received.total"] - v["previous.s3.new_received.total"],
            v["previous.s3.new_received.total"],
        ),
        across_years=True,
    ),
)

IDENTITY_COLUMNS = tuple(
    f"agency.{c}" for c in ("name", "canonical", "kind", "jurisdiction", "code", "resolution")
) + ("agency.source",)
DOCUMENT_COLUMNS = (
    "year",
    "document",
    "sha256",
    *(f"source.{k}" for k in SOURCE_KEYS),
    "template",
    "findings",
    "other_documents",
)
COLUMNS = (
    *IDENTITY_COLUMNS,
    *DOCUMENT_COLUMNS,
    *(f"{key}{part}" for key in FIELD_KEYS for part in ("", ".status", ".page", ".span")),
    *(f"indicator.{i.name}{part}" for i in INDICATORS for part in ("", ".status")),
)


@dataclass
class Document:
    """What the panel needs of one extracted report, whichever way it was stored."""

    record: dict
    values: dict
    status: dict  # key → one of STATUSES


def status_of(value, extracted_status: str, decision: str | None, empty: Empty | None) -> str:
    """A value's panel status from its extraction status, its kind of empty (a null's)
    and the last review decision."""
    if decision == DecisionKind.PUBLISHER_ERROR:
        return FieldStatus.PUBLISHER_ERROR
    if decision in DECISIONS:  # not an undo or a reopening, which leave the value in review
        return FieldStatus.REVIEWED
    if value is None and empty != Empty.BLANK:
        return UNREADABLE
    if extracted_status == FieldStatus.ACCEPTED:
        return BLANK if value is None else FieldStatus.ACCEPTED
    return FieldStatus.REVIEW


def from_records(paths: Iterable[Path]) -> Iterator[Document]:
    """Documents from JSONL files of extraction records: values as extracted."""
    for path in paths:
        with Path(path).open(encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    continue
                record = json.loads(line)
                if record.get("status") != "ok":
                    continue  # failed and skipped documents are no one's data
                fields, extracted, empty = record["fields"], record["field_status"], empties(record)
                yield Document(
                    record,
                    fields,
                    {
                        k: status_of(fields.get(k), extracted.get(k), None, empty.get(k))
                        for k in FIELD_KEYS
                    },
                )


def from_store(store) -> Iterator[Document]:
    """Documents from the store: reviewed values replace extracted ones."""
    for doc in store.documents():
        if doc.status != "ok":
            continue
        record = store.record(doc.id)
        values = store.values(doc.id)
        decisions = {c.key: c.decision for c in store.audit(doc.id)}  # the latest wins
        fields = store.field_rows(doc.id)
        yield Document(
            record,
            values,
            {
                k: status_of(values.get(k), fields[k].status, decisions.get(k), fields[k].empty)
                for k in FIELD_KEYS
            },
        )


def _page(record: dict, span: list | None) -> int | None:
    starts = record.get("page_starts")
    if not starts or not span:
        return None
    return bisect_right(starts, span[0])


def _trusted_count(document: Document) -> int:
    return sum(s in TRUSTED for s in document.status.values())


def build(documents: Iterable[Document], overrides: Overrides | None = None) -> list[dict]:
    """The panel's rows, ordered by agency and year. Two documents of one agency and year
    (a page and its attachment, a repost) give one row: the one with more trusted values,
    the others named in ``other_documents``."""
    identities: dict[str, Identity] = {}
    chosen: dict[tuple[str, int | None], list[Document]] = {}
    for document in documents:
        name = document.record["meta"].get("agency")
        if name not in identities:
            identities[name] = identify(name, overrides)
        identity = identities[name]
        key = (
            identity.canonical or f"?{document.record['document']}",
            document.record["meta"]["year"],
        )
        chosen.setdefault(key, []).append(document)
    rows = []
    for (_, year), docs in sorted(chosen.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        docs.sort(key=_trusted_count, reverse=True)
        best = docs[0]
        identity = identities[best.record["meta"].get("agency")]
        rows.append(_row(identity, year, best, [d.record["document"] for d in docs[1:]]))
    _add_indicators(rows)
    return rows


def _row(identity: Identity, year: int | None, document: Document, others: list[str]) -> dict:
    record = document.record
    source = record.get("source") or {}
    row = {f"agency.{k}": v for k, v in identity.to_dict().items()}
    row.update(
        {
            "year": year,
            "document": record["document"],
            "sha256": record["sha256"],
            **{f"source.{k}": source.get(k) for k in SOURCE_KEYS},
            "template": record.get("template"),
            "findings": "；".join(sorted({f["rule"] for f in record.get("findings", [])})),
            "other_documents": "；".join(others),
        }
    )
    spans = record.get("spans") or {}
    for key in FIELD_KEYS:
        span = spans.get(key)
        row[key] = document.values.get(key)
        row[f"{key}.status"] = document.status[key]
        row[f"{key}.page"] = _page(record, span)
        row[f"{key}.span"] = f"{span[0]}-{span[1]}" if span else None
    return row


def _add_indicators(rows: list[dict]) -> None:
    """Indicators from the row's own values (and the agency's previous year where one is
    needed); null where an input is missing or the denominator is zero. An indicator is
    ``accepted`` only when every input is trusted, else ``review``."""
    by_key = {(r["agency.canonical"], r["year"]): r for r in rows}
    for row in rows:
        previous = by_key.get((row["agency.canonical"], (row["year"] or 0) - 1))
        for indicator in INDICATORS:
            values, statuses = {}, []
            for key in indicator.inputs:
                field = key.removeprefix("previous.")
                source = previous if field != key else row
                values[key] = None if source is None else source[field]
                statuses.append(None if source is None else source[f"{field}.status"])
            name = f"indicator.{indicator.name}"
            if any(v is None for v in values.values()):
                row[name], row[f"{name}.status"] = None, None
                continue
            row[name] = indicator.compute(values)
            trusted = all(s in TRUSTED for s in statuses)
            row[f"{name}.status"] = FieldStatus.ACCEPTED if trusted else FieldStatus.REVIEW
