"""One document, start to finish: file → text (a crawler's header and a portal's chrome
blanked out) → sections → candidates (the reader, the prose's claims and the report's meta,
and the LLM witness when there is one) → checks → decisions → record. Orchestration only:
each step is its module's; this one calls them in order and turns a bad document into its
failed record, and a file that is not a report into a skipped one."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..checking import checks
from ..checking.decide import decide
from ..checking.reconcile import (
    merge_claims,
    merge_meta,
    reconcile,
    reconcile_pages,
    witnessed,
    witnessed_pages,
)
from ..checking.record import Record, failed_record, ok_record, skipped_record
from ..errors import InputError, LLMContextExceeded, LLMError, NotAReport, OutOfMemory
from ..inputs import crawl, sources
from ..inputs.formats import Loaded
from ..model import Usage
from ..reading import claims, meta, reader, sections, splits
from ..reading.prose import sentences
from ..template import PARTS
from ..witness import tasks, vision
from ..witness.llm import LLMClient
from ..witness.tasks import PROSE, Asked, Failure
from .settings import Settings


def _ask(client: LLMClient, mode: str, view: str, found, result) -> Asked:
    """The report's questions, planned for the context the client knows; what a server
    turned out to cut to a smaller context is planned again for that one, once."""
    texts = tasks.table_texts(mode, view, found, result)
    lines = tasks.prose_lines(view, found)
    cap, context = client.settings.max_output_tokens, client.context_tokens
    requests, failures = tasks.requests_for(texts, lines, context, cap, client.thinking)
    asked = Asked(Usage(), failures=failures)
    while requests:
        cut: list = []
        for request in requests:
            asked.requests.append(request)
            name = request.task.name
            try:
                answer = client.ask(name, request.text, asked.usage, request.max_tokens)
            except LLMContextExceeded as exc:
                if client.context_tokens < context:
                    cut.append(request)
                asked.failures.append(Failure(name, exc))
                continue
            except LLMError as exc:
                asked.failures.append(Failure(name, exc))
                continue
            asked.add(request, answer.fields)
            asked.modes.add(answer.mode)
        requests = []
        if cut:
            context = client.context_tokens
            again = {p: texts[p] for r in cut for p in r.task.parts}
            lines_again = lines if any(PROSE in r.task.units for r in cut) else []
            requests, failures = tasks.requests_for(
                again, lines_again, context, cap, client.thinking
            )
            asked.failures += failures
    return asked


def _llm_block(client: LLMClient, witness: str, asked: Asked, merged, ungrounded: int) -> dict:
    """The record's ``llm``: who was asked, how (the structured-output mode, and why that
    one), what it cost and what went wrong."""
    return {
        "mode": witness,
        "model": client.settings.model,
        "endpoint": client.endpoint,
        "structured_output": "+".join(sorted(asked.modes)) or client.mode,
        "structured_output_why": client.why,
        "context_tokens": client.context_tokens,
        **asked.record(),
        # The endpoint did not answer some task: a resumed run asks again.
        "unavailable": asked.unavailable,
        "ungrounded_claims": ungrounded,
        "ungrounded_fields": len(merged.ungrounded),
        "set_aside": merged.set_aside,
    }


@dataclass
class _Reading:
    """The reader's candidates, findings, disputed values and notes as the witnesses and the
    identities leave them."""

    candidates: dict
    findings: list
    prose: list
    disputed: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    llm: dict | None = None
    on_page: set[str] = field(default_factory=set)  # keys a vision model read as OCR did


def extract_loaded(
    loaded: Loaded,
    settings: Settings,
    llm: LLMClient | None = None,
    provenance: Mapping[str, str] | None = None,
) -> Record:
    """The record for a document already read into text; ``provenance``, where given, is
    what a crawler said of the page (``gouji serve`` takes it with an upload)."""
    raw = loaded.source.raw if loaded.format.markup else None
    page = crawl.read(loaded.source.view, raw, provenance)
    source = replace(loaded.source, view=page.view)
    view = source.view
    found = sections.find(view)
    if found.template == "unknown" and not sections.looks_like_report(
        view, found, page.source["title"]
    ):
        raise NotAReport("未找到政府信息公开年度报告的表格或各部分标题，不像一份年度报告")
    result = reader.read(view, found)
    report_meta = meta.find_meta(view, page.source["title"], page.source["publisher"])
    if llm is not None and settings.witness != "off":
        reading = _witness(llm, settings.witness, loaded, source, found, result, report_meta)
    else:
        prose = claims.find_claims(source, found.prose_spans(len(view)))
        reading = _Reading(result.candidates, list(result.findings), prose)
    _settle_cuts(result, reading, scanned=loaded.ocr is not None)
    values = {key: c.value for key, c in reading.candidates.items()}
    known = {key for key, c in reading.candidates.items() if c.certain}
    findings = reading.findings
    findings += checks.check_values(values)
    findings += checks.check_identities(values, known)
    findings += checks.check_claims(reading.prose, values, known)
    findings += checks.check_meta(report_meta)
    scan = None
    if loaded.ocr is not None:
        read_at = {k: source.raw_span(*c.span) for k, c in reading.candidates.items() if c.span}
        scan = loaded.ocr.evidence(read_at)
        # A value a vision model read on the page as OCR did needs no identity to vouch for
        # OCR's doubt about it (identities are still checked above).
        doubted = {k: c for k, c in scan["confidence"].items() if k not in reading.on_page}
        findings += checks.check_confidence(doubted, values, known)

    return ok_record(
        loaded,
        template=found.template,
        meta=report_meta,
        source=page.source,
        decided=decide(reading.candidates, findings, source),
        claims=[c.to_dict() for c in reading.prose],
        findings=[f.to_dict() for f in findings],
        candidates=reading.disputed,
        sentences=sentences(source, found.prose_spans(len(view))),
        notes=loaded.notes + result.notes + reading.notes,
        llm=reading.llm,
        ocr=scan,
    )


def _witness(
    llm: LLMClient, witness: str, loaded: Loaded, source, found, result, report_meta: dict
) -> _Reading:
    """The LLM witness's tables and prose claims reconciled with the reader's; on a scan,
    with a vision model, the table pages' figures as it reads them too."""
    view = source.view
    asked = _ask(llm, witness, view, found, result)
    merged = reconcile(result, witnessed(asked.tables, result, view, found.regions), source)
    spans = found.prose_spans(len(view))
    prose = claims.find_claims(source, spans)
    prose, ungrounded = merge_claims(prose, asked.claims, source, spans)
    findings = merged.findings + merge_meta(report_meta, asked.meta, view)
    block = _llm_block(llm, witness, asked, merged, ungrounded)
    out = _Reading(merged.candidates, findings, prose, merged.disputed, merged.notes, block)
    if loaded.ocr is not None and llm.vision is not None:
        rows, failed = vision.ask_pages(llm.vision, loaded, found, result, asked.usage)
        read = reconcile_pages(
            out.candidates, out.findings, witnessed_pages(rows, view, found.regions), source
        )
        out.candidates, out.findings, out.on_page = read.candidates, read.findings, read.settled
        out.disputed |= read.disputed
        out.notes += read.notes
        block["vision"] = {
            "model": llm.vision.settings.model,
            "structured_output": llm.vision.mode,
            "errors": [str(f) for f in failed],
            "confirmed_fields": len(out.on_page),
            "disputed_fields": len(read.disputed),
            "set_aside": read.set_aside,
        }
        block["usage"] = asked.usage.to_dict()
    return out


def _settle_cuts(result, reading: _Reading, scanned: bool) -> None:
    """Run-together rows the identities beyond them confirm: the reader's findings on them
    withdrawn, a note per part on how its rows were cut, and the readings still open offered
    to the reviewer."""
    confirmation = splits.confirm(
        result.cuts, result.open_rows, reading.candidates, result.sums, not scanned
    )
    withdrawn = {id(f) for f in confirmation.settled}
    reading.findings = [f for f in reading.findings if id(f) not in withdrawn]
    reading.findings += confirmation.findings
    for counts, how in (
        (result.forced, "但数字只有一种读法（也不可能漏掉了空白单元格）"),
        (confirmation.confirmed, "按本行总计拆分，并由各列的勾稽关系验证"),
    ):
        reading.notes += [
            f"{PARTS[p].name}有 {n} 行数字粘连，{how}" for p, n in sorted(counts.items())
        ]
    for key, options in result.alternatives.items():
        if key in confirmation.placed and reading.candidates[key].certain:
            continue
        reading.disputed.setdefault(key, []).extend(
            {"witness": "reader", "value": value, "span": None} for value in options
        )


def extract_file(
    path: str | Path,
    settings: Settings | None = None,
    llm: LLMClient | None = None,
    provenance: Mapping[str, str] | None = None,
    sha256: str | None = None,
) -> Record:
    """Extract one file. Never raises for a bad document: its record says what went wrong.

    ``settings`` default to the reader alone. With an LLM witness, ``llm`` is the run's
    client (shared by its documents); without one, a client is made for this call.
    ``provenance``: the page's ``url``, ``published``, ``title`` and ``publisher`` as a
    crawler sent them beside the file, for what the file itself does not say. ``sha256``: the
    file's hash when the caller has it (a run hashes each file once, and a failed record keeps
    it, so ``--resume`` knows the file has not changed)."""
    settings = settings or Settings()
    if llm is None and settings.uses_llm:
        with closing(settings.client()) as client:
            return extract_file(path, settings, client, provenance, sha256)
    try:
        loaded = sources.load(path, limits=settings.limits, scans=settings.scans, sha256=sha256)
    except OSError as exc:
        return failed_record(str(path), str(InputError.unreadable(exc)), sha256)
    except Exception as exc:  # a reader's bug (an installed format's too) costs one document
        return failed_record(str(path), failure(exc), sha256)
    try:
        return extract_loaded(loaded, settings, llm, provenance)
    except NotAReport as exc:
        return skipped_record(str(path), str(exc), loaded.sha256)
    except Exception as exc:  # a bug must cost one document, not the batch
        return failed_record(str(path), failure(exc), loaded.sha256)


def failure(exc: Exception) -> str:
    """The one-line error of a document's failed record."""
    if isinstance(exc, InputError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return str(OutOfMemory("内存不足，已中止"))
    return f"internal.error: {type(exc).__name__}: {exc}"
