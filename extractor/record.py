"""Decisions → the extraction record of SCHEMA.md, one JSON object per document."""

from __future__ import annotations

import json
from typing import Any

from .crawl import SOURCE_KEYS
from .template import FIELD_KEYS

RECORD_VERSION = 1


def failed_record(
    document: str, error: str, sha256: str | None = None, status: str = "failed"
) -> dict[str, Any]:
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
        "field_status": dict.fromkeys(FIELD_KEYS, "review"),
        "spans": dict.fromkeys(FIELD_KEYS),
        "field_witness": dict.fromkeys(FIELD_KEYS),
        "claims": [],
        "findings": [],
        "candidates": {},
        "page_starts": None,
        "notes": [],
        "llm": None,
        "record_version": RECORD_VERSION,
    }


def skipped_record(
    document: str, error: str, sha256: str | None = None, duplicate_of: str | None = None
) -> dict[str, Any]:
    """A document that is not a report of its own: not a report at all, or a copy (a
    duplicate, or the poorer twin of a page) of ``duplicate_of``."""
    record = failed_record(document, error, sha256, status="skipped")
    if duplicate_of is not None:
        record["duplicate_of"] = duplicate_of
    return record


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))
