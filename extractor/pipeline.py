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

from . import checks, claims, meta, reader, sections, sources, tasks
from .cells import MD_RULE
from .decide import decide
from .errors import InputError, LLMContextExceeded, NotAReport
from .llm import LLMClient, LLMError, Usage
from .model import Finding
from .reconcile import merge_claims, reconcile, witnessed
from .record import RECORD_VERSION, Record, failed_record
from .template import PARTS, S2_ROWS, S3_COLLAPSED_OTHER, S3_ROWS
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


def _parts_to_ask(mode: str, found: sections.Sections, result: reader.ReaderResult) -> list[str]:
    """The tables to ask about: those the sections found (a witness's rows can be grounded
    only in a table's printed cells); in ``fallback`` only those where the reader left a
    field uncertain."""
    parts = [p for p in PARTS if p in found.regions]
    if found.template == "pre2021":
        parts = [p for p in parts if p != "s2"]
    if mode == "fallback":
        doubtful = {k.split(".", 1)[0] for k, c in result.candidates.items() if not c.certain}
        doubtful |= {k.split(".", 1)[0] for f in result.findings for k in f.keys}
        parts = [p for p in parts if p in doubtful]
    return parts


# A sentence that states a figure: a number with its unit or measure word after it (not a
# date's, a phone number's or a code's digits), or a Chinese numeral before a unit.
_STATES_A_NUMBER = re.compile(
    r"(?<![\d\-/:.])\d+(?:\.\d+)?\s*(?:%|[万亿]|[一-龥](?<![年月日号时分]))"
    r"|[一二两三四五六七八九十百千万][余多]?[条件次个篇期场项家份处人成]"
)
_SENTENCE = re.compile(r"[^。；;！!？?\n]+[。；;！!？?]?")
_OPENING = 120  # the title and the opening lines, where the agency and the year are named


def _prose_lines(view: str, found: sections.Sections) -> list[str]:
    """The opening, then the prose's sentences after it that state a figure: the rest of
    the prose cannot be a claim."""
    lines = [view[:_OPENING].strip()]
    for a, b in found.prose_spans(len(view)):
        for m in _SENTENCE.finditer(view, max(a, _OPENING), b):
            if _STATES_A_NUMBER.search(m.group()):
                lines.append(m.group().strip())
    return lines


_PIPE = re.compile(r"[ \t]*\|[ \t]*")
_PADDING = re.compile(r" {2,}")


def _table_text(view: str, part: str, region: tuple[int, int], cells: list) -> str:
    """A table's lines from its first row label (part 四: its first cell) to the line of the
    last cell the reader found in it: a witness's rows are grounded only in those cells, and
    column headers, markdown rule lines, padding and the prose after a table (part 四's
    region often runs to the report's end) cost tokens for nothing."""
    end = max(c.end for c in cells)
    line_end = view.find("\n", end, region[1])
    start = min(c.start for c in cells)
    if part != "s4":
        rows = S2_ROWS if part == "s2" else (*S3_ROWS, S3_COLLAPSED_OTHER)
        at = region[0]
        for line in view[region[0] : start].splitlines(keepends=True):
            if reader.rows_named(compact(line), rows):
                start = at
                break
            at += len(line)
    start = view.rfind("\n", region[0], start) + 1 or region[0]
    lines = view[start : line_end if line_end >= 0 else region[1]].splitlines()
    text = "\n".join(line for line in lines if not MD_RULE.match(line))
    # The room around a pipe and a run of spaces say no more than one character does.
    return _PADDING.sub(" ", _PIPE.sub("|", text))


def _cells_of(result: reader.ReaderResult, part: str) -> list:
    """The value cells the reader found in one table (``row_cells`` is keyed by row)."""
    s2 = {row.name for row in S2_ROWS}
    return [
        cell
        for name, cells in result.row_cells.items()
        if ("s4" if name == "s4" else "s2" if name in s2 else "s3") == part
        for cell in cells
    ]


def _plan(client: LLMClient, mode: str, view: str, found, result):
    """The requests for one report, each within the configured context (``tasks.plan``).
    Returns them and the errors of what could not be asked."""
    context, cap = client.settings.context_tokens, client.settings.max_output_tokens
    texts = {}
    for part in _parts_to_ask(mode, found, result):
        cells = _cells_of(result, part)
        if cells:
            texts[part] = _table_text(view, part, found.regions[part], cells)
    requests, too_large, dropped = tasks.plan(texts, _prose_lines(view, found), context, cap)
    errors = [
        f"{part}: {LLMContextExceeded(f'这张表的请求超出上下文 {context} 个 token')}"
        for part in too_large
    ]
    if dropped:
        errors.append(
            f"prose: {LLMContextExceeded(f'{dropped} 句单独提问也超出上下文 {context} 个 token')}"
        )
    return requests, errors


def _ask(client: LLMClient, mode: str, view: str, found, result) -> dict:
    usage = Usage()
    requests, errors = _plan(client, mode, view, found, result)
    tables: dict[str, list] = {}
    prose_claims: list[dict] = []
    meta_answer: dict = {"meta.agency": None, "meta.year": None}
    for request in requests:
        name = request.task.name
        try:
            answer = client.ask(name, request.text, usage, request.max_tokens).fields
        except LLMError as exc:
            errors.append(f"{name}: {exc}")
            continue
        tables.update({part: answer[part] for part in request.task.parts})
        if tasks.PROSE in request.task.units:
            prose_claims += answer["claims"]
            for key in ("agency", "year"):
                if meta_answer[f"meta.{key}"] is None:
                    meta_answer[f"meta.{key}"] = answer[key]
    return {
        "tables": tables,
        "claims": prose_claims,
        "meta": meta_answer,
        "errors": errors,
        "usage": usage,
        "asked": [
            {"task": r.task.name, "prompt_tokens": r.prompt_tokens, "max_tokens": r.max_tokens}
            for r in requests
        ],
        "prompt_versions": {r.task.prompt_file: r.task.version for r in requests},
    }


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
        asked = _ask(llm, llm_mode, view, found, result)
        merged = reconcile(result, witnessed(asked["tables"], result, view), source)
        candidates, findings, disputed = merged.candidates, merged.findings, merged.disputed
        notes += merged.notes
        prose, ungrounded = merge_claims(prose, asked["claims"], source)
        findings += _meta_from_llm(report_meta, asked["meta"], view)
        llm_block = {
            "mode": llm_mode,
            "model": llm.settings.model,
            "endpoint": llm.endpoint,
            "instructor_mode": llm.mode,
            "prompt_versions": asked["prompt_versions"],
            "context_tokens": llm.settings.context_tokens,
            "asked": asked["asked"],
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
        "notes": notes,
        "llm": llm_block,
        "record_version": RECORD_VERSION,
    }


def _with_page(claim: dict, page_starts: list[int] | None) -> dict:
    """PDFs: the page a claim stands on (1-based); any span maps the same way."""
    if page_starts:
        claim["page"] = bisect_right(page_starts, claim["span"][0])
    return claim


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
) -> Record:
    """Extract one file. Never raises for a bad document: its record says what went wrong."""
    try:
        loaded = sources.load(path, max_bytes=max_bytes)
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
