"""Decisions → the extraction record of SCHEMA.md, one JSON object per document."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .template import FIELD_KEYS

RECORD_VERSION = 1


def document_key(path: str | Path) -> str:
    """The absolute path that names a document in the store and across runs. Unlike
    ``Path.resolve``, it does not raise on a symlink loop (that file's record says why it
    could not be read)."""
    return os.path.realpath(path)


def failed_record(document: str, error: str, sha256: str | None = None) -> dict[str, Any]:
    """The record of a document that could not be read: every key null and in review."""
    return {
        "document": document,
        "sha256": sha256,
        "status": "failed",
        "error": error.replace("\n", " ").strip(),
        "template": "unknown",
        "meta": {"agency": None, "year": None},
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


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))
