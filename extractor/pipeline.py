"""One document, start to finish: file → text → sections → candidates → checks → decisions."""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import checks, claims, meta, ocr, reader, sections, sources
from .decide import decide
from .errors import InputError, NotAReport
from .llm import LLMClient, LLMError, Usage
from .model import Finding
from .prose import sentences
from .reconcile import merge_claims, reconcile
from .record import RECORD_VERSION, Record, failed_record
from .tasks import TASKS
from .template import PARTS
from .text import compact


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


def map_ordered(
    function: Callable, items: Iterable, workers: int, pool: type = ThreadPoolExecutor
) -> Iterator:
    """``map`` over a bounded window of workers, results in input order, so a run over
    thousands of files holds only a window of them at once."""
    if workers <= 1:
        yield from map(function, items)
        return
    with pool(max_workers=workers) as executor:
        window: deque = deque()
        for item in items:
            window.append(executor.submit(function, item))
            if len(window) >= 2 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


_LLM_TEXT_LIMIT = 30_000


def _llm_tasks(mode: str, found: sections.Sections, result: reader.ReaderResult, report_meta: dict):
    """The tasks to ask: all of them in ``verify``; in ``fallback`` only the parts where the
    reader left a field uncertain, the claims, and meta where the reader found none."""
    parts = [p for p in PARTS if not (p == "s2" and found.template == "pre2021")]
    if mode == "fallback":
        doubtful = {k.split(".", 1)[0] for k, c in result.candidates.items() if not c.certain}
        doubtful |= {k.split(".", 1)[0] for f in result.findings for k in f.keys}
        parts = [p for p in parts if p in doubtful]
    tasks = [*parts, "claims"]
    if mode == "verify" or None in report_meta.values():
        tasks.append("meta")
    return tasks


# A sentence that states a figure has a digit or a Chinese numeral before a unit.
_STATES_A_NUMBER = re.compile(
    r"\d|[一二两三四五六七八九十百千万][余多]?[条件次个篇期场项家份处人成]"
)
_SENTENCE = re.compile(r"[^。；;！!？?\n]+[。；;！!？?]?")


def _task_text(task: str, view: str, found: sections.Sections) -> str:
    """What one task is shown: its part of the report, not the whole of it."""
    if task in found.regions:
        start, end = found.regions[task]
        return view[start:end]
    if task == "claims":
        # Only the sentences that hold a number: the rest of the prose cannot be a claim.
        prose = (view[a:b] for a, b in found.prose_spans(len(view)))
        sentences = (m.group() for text in prose for m in _SENTENCE.finditer(text))
        return "\n".join(s.strip() for s in sentences if _STATES_A_NUMBER.search(s))[
            :_LLM_TEXT_LIMIT
        ]
    if task == "meta":
        return view[:400]
    return view[:_LLM_TEXT_LIMIT]


def _ask(client: LLMClient, mode: str, view: str, found, result, report_meta) -> dict:
    usage = Usage()
    answers: dict[str, dict] = {}
    errors: list[str] = []
    for task in _llm_tasks(mode, found, result, report_meta):
        try:
            answers[task] = client.ask(task, _task_text(task, view, found), usage).fields
        except LLMError as exc:
            errors.append(f"{task}: {exc}")
    return {"answers": answers, "errors": errors, "usage": usage}


def extract_loaded(
    loaded: sources.Loaded, llm: LLMClient | None = None, llm_mode: str = "off"
) -> dict[str, Any]:
    """The record for a document already read into text."""
    source = loaded.source
    view = source.view
    found = sections.find(view)
    if found.template == "unknown" and not sections.looks_like_report(view):
        raise NotAReport("未找到政府信息公开年度报告的表格或相关内容，不像一份年度报告")
    result = reader.read(view, found)
    report_meta = meta.find_meta(view)
    prose = claims.find_claims(source, found.prose_spans(len(view)))

    candidates, findings, notes = result.candidates, list(result.findings), list(result.notes)
    disputed: dict = {}
    llm_block = None
    if llm is not None and llm_mode != "off":
        asked = _ask(llm, llm_mode, view, found, result, report_meta)
        answers = asked["answers"]
        table_fields = {k: v for t in PARTS for k, v in answers.get(t, {}).items()}
        merged = reconcile(result, table_fields, source)
        candidates, findings, disputed = merged.candidates, merged.findings, merged.disputed
        notes += merged.notes
        prose, ungrounded = merge_claims(prose, answers.get("claims", {}).get("claims", []), source)
        findings += _meta_from_llm(report_meta, answers.get("meta"), view)
        llm_block = {
            "mode": llm_mode,
            "model": llm.settings.model,
            "endpoint": llm.endpoint,
            "instructor_mode": llm.mode,
            "prompt_versions": {t: TASKS[t].version for t in (*answers, *_failed(asked))},
            "usage": asked["usage"].to_dict(),
            "errors": asked["errors"],
            "ungrounded_claims": ungrounded,
            "ungrounded_fields": len(merged.ungrounded),
            "set_aside": merged.set_aside,
        }

    for key, options in result.alternatives.items():
        disputed.setdefault(key, []).extend(
            {"witness": "reader", "value": value, "span": None} for value in options
        )
    values = {key: c.value for key, c in candidates.items()}
    known = {key for key, c in candidates.items() if c.certain}
    findings += checks.check_values(values)
    findings += checks.check_identities(values, known)
    findings += checks.check_claims(prose, values, known)
    if report_meta["agency"] is None:
        findings.append(
            Finding("meta.agency_missing", ["meta.agency"], "未能从标题和开头读出发布机关")
        )
    if report_meta["year"] is None:
        findings.append(Finding("meta.year_missing", ["meta.year"], "未能从标题和开头读出报告年度"))

    scan = _scan_block(loaded, candidates)
    if scan is not None:
        findings += checks.check_confidence(scan["confidence"], values, known)

    fields, status, spans, witness = decide(candidates, findings, source)
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
        "field_witness": witness,
        "claims": [_with_page(c.to_dict(), loaded.page_starts) for c in prose],
        "findings": [f.to_dict() for f in findings],
        "candidates": disputed,
        "page_starts": loaded.page_starts,
        "sentences": sentences(source, found.prose_spans(len(view))),
        "notes": notes,
        "llm": llm_block,
        "ocr": scan,
        "record_version": RECORD_VERSION,
    }


def _scan_block(loaded: sources.Loaded, candidates: dict) -> dict | None:
    """Scans: the OCR's pages, and for each value it read the confidence (the lowest of its
    characters') and where it stands (page and box, for the reviewer)."""
    text = loaded.ocr
    if text is None:
        return None
    confidence, boxes = {}, {}
    for key, candidate in candidates.items():
        if candidate.span is None:
            continue
        span = loaded.source.raw_span(*candidate.span)
        if (score := text.span_confidence(*span)) is not None:
            confidence[key] = score
        if (where := text.span_box(*span)) is not None:
            boxes[key] = [where[0], *(round(v, 1) for v in where[1])]
    return {
        "engine": ocr.ENGINE,
        "pages": text.pages,
        "pages_read": text.pages_read,
        "confidence": confidence,
        "boxes": boxes,
    }


def _with_page(claim: dict, page_starts: list[int] | None) -> dict:
    """PDFs: the page a claim stands on (1-based); any span maps the same way."""
    if page_starts:
        claim["page"] = bisect_right(page_starts, claim["span"][0])
    return claim


def _failed(asked: dict) -> list[str]:
    return [e.split(":", 1)[0] for e in asked["errors"]]


def _meta_from_llm(report_meta: dict, answer: dict | None, view: str) -> list[Finding]:
    """Fill what the reader missed from the LLM where the source prints it; a different
    year from the two witnesses is a finding."""
    if not answer:
        return []
    flat = compact(view[:3000])
    agency, year = answer.get("meta.agency"), answer.get("meta.year")
    if report_meta["agency"] is None and agency and compact(agency) in flat:
        report_meta["agency"] = agency
    if year is not None and str(year) in flat:
        if report_meta["year"] is None:
            report_meta["year"] = year
        elif report_meta["year"] != year:
            return [
                Finding(
                    "meta.year_disagree",
                    ["meta.year"],
                    f"报告年度：读取器读到 {report_meta['year']}，LLM 读到 {year}",
                )
            ]
    return []


def extract_file(
    path: str | Path,
    max_bytes: int = sources.DEFAULT_MAX_BYTES,
    llm: LLMClient | None = None,
    llm_mode: str = "off",
    scans: ocr.OcrSettings | None = None,
) -> Record:
    """Extract one file. Never raises for a bad document: its record says what went wrong."""
    try:
        loaded = sources.load(path, max_bytes=max_bytes, scans=scans)
    except InputError as exc:
        return failed_record(str(path), str(exc))
    except OSError as exc:
        return failed_record(str(path), f"input.unreadable: 无法读取文件（{exc.strerror or exc}）")
    try:
        return extract_loaded(loaded, llm, llm_mode)
    except InputError as exc:
        return failed_record(str(path), str(exc), loaded.sha256)
    except Exception as exc:  # a bug must cost one document, not the batch
        return failed_record(
            str(path), f"internal.error: {type(exc).__name__}: {exc}", loaded.sha256
        )
