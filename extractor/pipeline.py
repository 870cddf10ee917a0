"""One document, start to finish: file → text → sections → candidates → checks → decisions."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from . import checks, claims, meta, reader, sections, sources
from .decide import decide
from .errors import InputError, NotAReport
from .model import Finding
from .record import RECORD_VERSION, failed_record


def iter_documents(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as named, and report files found in folders (recursively, in sorted order)."""
    for path in map(Path, paths):
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    candidate = Path(root) / name
                    if candidate.suffix.lower() in sources.REPORT_SUFFIXES:
                        yield candidate
        else:
            yield path


def extract_loaded(loaded: sources.Loaded) -> dict[str, Any]:
    """The record for a document already read into text."""
    source = loaded.source
    view = source.view
    found = sections.find(view)
    if found.template == "unknown" and not sections.looks_like_report(view):
        raise NotAReport("未找到政府信息公开年度报告的表格或相关内容，不像一份年度报告")
    result = reader.read(view, found)
    report_meta = meta.find_meta(view)
    prose = claims.find_claims(source, found.prose_spans(len(view)))

    values = {key: c.value for key, c in result.candidates.items()}
    known = {key for key, c in result.candidates.items() if c.certain}
    findings: list[Finding] = list(result.findings)
    findings += checks.check_values(values)
    findings += checks.check_identities(values, known)
    findings += checks.check_claims(prose, values, known)
    if report_meta["agency"] is None:
        findings.append(
            Finding("meta.agency_missing", ["meta.agency"], "未能从标题和开头读出发布机关")
        )
    if report_meta["year"] is None:
        findings.append(Finding("meta.year_missing", ["meta.year"], "未能从标题和开头读出报告年度"))

    fields, status, spans = decide(result.candidates, findings, source)
    return {
        "document": loaded.path,
        "sha256": loaded.sha256,
        "status": "ok",
        "error": None,
        "template": found.template,
        "meta": report_meta,
        "fields": fields,
        "field_status": status,
        "spans": spans,
        "claims": [c.to_dict() for c in prose],
        "findings": [f.to_dict() for f in findings],
        "notes": result.notes,
        "record_version": RECORD_VERSION,
    }


def extract_file(path: str | Path, max_bytes: int = sources.DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Extract one file. Never raises for a bad document: its record says what went wrong."""
    try:
        loaded = sources.load(path, max_bytes=max_bytes)
    except InputError as exc:
        return failed_record(str(path), str(exc))
    except OSError as exc:
        return failed_record(str(path), f"input.unreadable: 无法读取文件（{exc.strerror or exc}）")
    try:
        return extract_loaded(loaded)
    except InputError as exc:
        return failed_record(str(path), str(exc), loaded.sha256)
    except Exception as exc:  # a bug must cost one document, not the batch
        return failed_record(
            str(path), f"internal.error: {type(exc).__name__}: {exc}", loaded.sha256
        )
