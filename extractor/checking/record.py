"""Decisions → the extraction record of SCHEMA.md, one JSON object per document."""

from __future__ import annotations

import json
import os
from bisect import bisect_right
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from ..inputs.crawl import SOURCE_KEYS
from ..status import Empty, FieldStatus
from ..template import FIELD_KEYS

if TYPE_CHECKING:
    from ..inputs.formats import Loaded
    from .decide import Decided

# 2: ``empty`` says which kind of empty each null field is.
RECORD_VERSION = 2


def document_key(path: str | Path) -> str:
    """The absolute path that names a document in the store and across runs. Unlike
    ``Path.resolve``, it does not raise on a symlink loop (that file's record says why it
    could not be read)."""
    return os.path.realpath(path)


class Record(TypedDict, total=False):
    """The extraction record of SCHEMA.md: what ``extract_file`` returns and each JSONL line
    holds. A plain ``dict`` at run time; this names its keys for readers and type checkers.
    A skipped copy of another document also holds ``duplicate_of``, the one read instead."""

    document: str
    sha256: str | None
    status: str  # "ok", "failed" or "skipped"
    error: str | None
    template: str  # "2021", "pre2021" or "unknown"
    meta: dict[str, Any]
    source: dict[str, str | None]  # the crawled page: url, published, title, publisher
    fields: dict[str, Any]
    field_status: dict[str, str]  # FieldStatus: accepted or review
    empty: dict[str, str]  # per null field, its Empty: blank, unplaced or not_read
    spans: dict[str, list[int] | None]
    field_witness: dict[str, str | None]
    claims: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    candidates: dict[str, list[dict[str, Any]]]
    page_starts: list[int] | None
    sentences: list[list]  # prose sentences: [start, end, digest, head] (prose.sentences)
    notes: list[str]
    llm: dict[str, Any] | None
    ocr: dict[str, Any] | None  # scans: engine, pages, pages_read, confidence and box per key
    record_version: int
    settings: str


def failed_record(
    document: str, error: str, sha256: str | None = None, status: str = "failed"
) -> Record:
    """The record of a document that could not be read (or, with ``status="skipped"``, is
    not a report of its own): every key null and in review."""
    return {
        "document": document,
        "sha256": sha256,
        "status": status,
        "error": error.replace("\n", " ").strip(),
        "template": "unknown",
        "meta": {"agency": None, "year": None},
        "source": dict.fromkeys(SOURCE_KEYS),
        "fields": dict.fromkeys(FIELD_KEYS),
        "field_status": dict.fromkeys(FIELD_KEYS, FieldStatus.REVIEW),
        "empty": dict.fromkeys(FIELD_KEYS, Empty.NOT_READ),
        "spans": dict.fromkeys(FIELD_KEYS),
        "field_witness": dict.fromkeys(FIELD_KEYS),
        "claims": [],
        "findings": [],
        "candidates": {},
        "page_starts": None,
        "sentences": [],
        "notes": [],
        "llm": None,
        "ocr": None,
        "record_version": RECORD_VERSION,
    }


def ok_record(
    loaded: Loaded,
    *,
    template: str,
    meta: dict[str, Any],
    source: dict[str, str | None],
    decided: Decided,
    claims: list[dict[str, Any]],
    findings: list[dict[str, Any]],
    candidates: dict[str, list[dict[str, Any]]],
    sentences: list[list],
    notes: list[str],
    llm: dict[str, Any] | None,
    ocr: dict[str, Any] | None,
) -> Record:
    """The record of a document read, with decide's values, statuses, spans, witnesses and
    kinds of empty."""
    return {
        "document": loaded.path,
        "sha256": loaded.sha256,
        "status": "ok",
        "error": None,
        "template": template,
        "meta": meta,
        "source": source,
        "fields": decided.fields,
        "field_status": decided.status,
        "empty": decided.empty,
        "spans": decided.spans,
        "field_witness": decided.witness,
        "claims": [_with_page(c, loaded.page_starts) for c in claims],
        "findings": findings,
        "candidates": candidates,
        "page_starts": loaded.page_starts,
        "sentences": sentences,
        "notes": notes,
        "llm": llm,
        "ocr": ocr,
        "record_version": RECORD_VERSION,
    }


def skipped_record(
    document: str, error: str, sha256: str | None = None, duplicate_of: str | None = None
) -> Record:
    """A document that is not a report of its own: not a report at all, or a copy (a
    duplicate, or the poorer twin of a page) of ``duplicate_of``."""
    record = failed_record(document, error, sha256, status="skipped")
    if duplicate_of is not None:
        record["duplicate_of"] = duplicate_of
    return record


def empties(record: Record | dict[str, Any]) -> dict[str, Empty]:
    """Which kind of empty each null field of a record is. A record older than version 2
    does not say: a null accepted was grounded as a printed blank, and any other is taken
    as unplaced, so nothing unknown can be confirmed as a blank."""
    if "empty" in record:
        return {key: Empty(kind) for key, kind in record["empty"].items()}
    status = record.get("field_status") or {}
    return {
        key: Empty.BLANK if status.get(key) == FieldStatus.ACCEPTED else Empty.UNPLACED
        for key, value in (record.get("fields") or {}).items()
        if value is None
    }


def _with_page(claim: dict, page_starts: list[int] | None) -> dict:
    """PDFs: the page a claim stands on (1-based); any span maps the same way."""
    if page_starts:
        claim["page"] = bisect_right(page_starts, claim["span"][0])
    return claim


def dumps(record: Record | dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))
