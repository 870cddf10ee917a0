"""One document, start to finish: file → text → sections → candidates (reader, and the LLM
witness when there is one) → checks → decisions → record. Orchestration only: each step is
its module's; this one calls them in order and turns a bad document into its failed record."""

from __future__ import annotations

from contextlib import closing
from dataclasses import replace
from pathlib import Path

from . import checks, claims, crawl, meta, reader, sections, sources, splits, tasks
from .decide import decide
from .errors import InputError, LLMError, NotAReport, OutOfMemory
from .llm import LLMClient
from .model import Usage
from .prose import sentences
from .reconcile import merge_claims, merge_meta, reconcile, witnessed
from .record import Record, failed_record, ok_record, skipped_record
from .settings import Settings
from .tasks import Asked, Failure
from .template import PARTS


def _ask(client: LLMClient, mode: str, view: str, found, result) -> Asked:
    limits = client.settings.context_tokens, client.settings.max_output_tokens
    requests, failures = tasks.requests_for(mode, view, found, result, *limits)
    asked = Asked(Usage(), requests, failures=failures)
    for request in requests:
        name = request.task.name
        try:
            asked.add(
                request, client.ask(name, request.text, asked.usage, request.max_tokens).fields
            )
        except LLMError as exc:
            asked.failures.append(Failure(name, exc))
    return asked


def extract_loaded(
    loaded: sources.Loaded, settings: Settings, llm: LLMClient | None = None
) -> Record:
    """The record for a document already read into text."""
    is_html = Path(loaded.path).suffix.lower() in sources.HTML_SUFFIXES
    page = crawl.read(loaded.source.view, loaded.source.raw if is_html else None)
    source = replace(loaded.source, view=page.view)
    view = source.view
    found = sections.find(view)
    if found.template == "unknown" and not sections.looks_like_report(
        view, found, page.source["title"]
    ):
        raise NotAReport("未找到政府信息公开年度报告的表格或各部分标题，不像一份年度报告")
    result = reader.read(view, found)
    report_meta = meta.find_meta(view, page.source["title"], page.source["publisher"])
    prose = claims.find_claims(source, found.prose_spans(len(view)))

    candidates, findings, notes = result.candidates, list(result.findings), list(result.notes)
    disputed: dict = {}
    llm_block = None
    if llm is not None and settings.witness != "off":
        asked = _ask(llm, settings.witness, view, found, result)
        merged = reconcile(result, witnessed(asked.tables, result, view), source)
        candidates, findings, disputed = merged.candidates, merged.findings, merged.disputed
        notes += merged.notes
        prose, ungrounded = merge_claims(prose, asked.claims, source)
        findings += merge_meta(report_meta, asked.meta, view)
        llm_block = {
            "mode": settings.witness,
            "model": llm.settings.model,
            "endpoint": llm.endpoint,
            "instructor_mode": llm.mode,
            "context_tokens": llm.settings.context_tokens,
            **asked.record(),
            # The endpoint did not answer some task: a resumed run asks again.
            "unavailable": asked.unavailable,
            "ungrounded_claims": ungrounded,
            "ungrounded_fields": len(merged.ungrounded),
            "set_aside": merged.set_aside,
        }

    confirmation = splits.confirm(
        result.cuts, result.open_rows, candidates, result.sums, loaded.ocr is None
    )
    withdrawn = {id(f) for f in confirmation.settled}
    findings = [f for f in findings if id(f) not in withdrawn] + confirmation.findings
    for counts, how in (
        (result.forced, "但数字只有一种读法（也不可能漏掉了空白单元格）"),
        (confirmation.confirmed, "按本行总计拆分，并由各列的勾稽关系验证"),
    ):
        notes += [f"{PARTS[p].name}有 {n} 行数字粘连，{how}" for p, n in sorted(counts.items())]
    for key, options in result.alternatives.items():
        if key in confirmation.placed and candidates[key].certain:
            continue
        disputed.setdefault(key, []).extend(
            {"witness": "reader", "value": value, "span": None} for value in options
        )
    values = {key: c.value for key, c in candidates.items()}
    known = {key for key, c in candidates.items() if c.certain}
    findings += checks.check_values(values)
    findings += checks.check_identities(values, known)
    findings += checks.check_claims(prose, values, known)
    findings += checks.check_meta(report_meta)
    scan = None
    if loaded.ocr is not None:
        read_at = {k: source.raw_span(*c.span) for k, c in candidates.items() if c.span}
        scan = loaded.ocr.evidence(read_at)
        findings += checks.check_confidence(scan["confidence"], values, known)

    fields, status, spans, witness = decide(candidates, findings, source)
    return ok_record(
        loaded,
        template=found.template,
        meta=report_meta,
        source=page.source,
        decided=(fields, status, spans, witness),
        claims=[c.to_dict() for c in prose],
        findings=[f.to_dict() for f in findings],
        candidates=disputed,
        sentences=sentences(source, found.prose_spans(len(view))),
        notes=notes,
        llm=llm_block,
        ocr=scan,
    )


def extract_file(
    path: str | Path,
    settings: Settings | None = None,
    llm: LLMClient | None = None,
    sha256: str | None = None,
) -> Record:
    """Extract one file. Never raises for a bad document: its record says what went wrong.

    ``settings`` default to the reader alone. With an LLM witness, ``llm`` is the run's
    client (shared by its documents); without one, a client is made for this call.
    ``sha256``: the file's hash when the caller has it (a run hashes each file once, and a
    failed record keeps it, so ``--resume`` knows the file has not changed)."""
    settings = settings or Settings()
    if llm is None and settings.uses_llm:
        with closing(settings.client()) as client:
            return extract_file(path, settings, client, sha256)
    try:
        loaded = sources.load(path, limits=settings.limits, scans=settings.scans, sha256=sha256)
    except OSError as exc:
        return failed_record(str(path), str(InputError.unreadable(exc)), sha256)
    except Exception as exc:
        return failed_record(str(path), _failure(exc), sha256)
    try:
        return extract_loaded(loaded, settings, llm)
    except NotAReport as exc:
        return skipped_record(str(path), str(exc), loaded.sha256)
    except Exception as exc:
        return failed_record(str(path), _failure(exc), loaded.sha256)


def _failure(exc: Exception) -> str:
    """The one-line error of a document's failed record."""
    if isinstance(exc, InputError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return str(OutOfMemory("内存不足，已中止"))
    return f"internal.error: {type(exc).__name__}: {exc}"  # a bug costs one document
