"""Candidates from two witnesses → one candidate per key, and the disagreements.

The LLM is a second, independent witness, and an untrusted one: only a true witness can
move a value. It copies each table's rows as printed (the first characters of the label,
and the cells' strings); its rows are matched to the template by the labels the table
prints where those characters stand, and its values count only where they are printed in
the source: where its strings, joined in order, give exactly the cells the reader found
after that row's label, so each string stands at one place and grounds one key. Per key:

* both witnesses agree → the value keeps (or, for a value the reader could not place with
  certainty, gains) certainty, and the reader's own doubt about that row is settled;
* they disagree, and the LLM's value is printed in the row → the key goes to review with
  both candidates kept for the reviewer;
* the LLM's value is printed nowhere in its row, or missing where the row prints one →
  that is the witness's error: a value the reader placed with certainty stands;
* only the LLM has a value → it stands only where it is grounded, and it is trusted only
  in a row an identity checks; the checks that follow decide whether it is accepted.

A witness whose grounded values mostly disagree with what the reader placed with
certainty is set aside for the document. Claims are the union of both witnesses' claims,
the witness's read where its quotes stand in the prose, by the reader's parser. Meta the
reader missed is taken from the LLM where the opening prints it; two different years are
a finding. A vision witness's values (``reconcile_pages``) are weighed against OCR's
reading of a scan: it read the page, so it confirms or disputes, never fills in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import accumulate

from ..identities import Use, keys_for
from ..inputs.text import SourceText, compact, normalise
from ..model import Candidate, Claim, Finding, show
from ..reading import claims
from ..reading.cells import BLANK_MARKS, Cell, classify_number
from ..reading.reader import ReaderResult, rows_named
from ..rules import RULES
from ..template import (
    FIELD_KEYS,
    S2_ROWS,
    S3_COLLAPSED_OTHER,
    S3_COLUMNS,
    S3_OTHER_SUBROWS,
    S3_ROWS,
    S4_KEYS,
    Value,
    label_of,
)
from ..witness.tasks import split_row

# Keys some identity checks: only there may a value the LLM alone gives be trusted.
_CHECKED = keys_for(Use.WITNESS)


@dataclass
class Reconciled:
    candidates: dict[str, Candidate]
    findings: list[Finding]
    disputed: dict[str, list[dict]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Keys whose LLM value was printed nowhere in the row (or missing where it prints one).
    ungrounded: list[str] = field(default_factory=list)
    set_aside: str | None = None  # why the witness was not used for this document
    settled: set[str] = field(default_factory=set)  # keys the witness read as the reader did


def _same(a: Value, b: Value) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) < 1e-9


def _row_of(key: str) -> str:
    part, rest = key.split(".", 1)
    if part == "s4":
        return "s4"
    return rest.split(".")[0]


def _prints(cell: Cell, value: Value) -> bool:
    if value is None:
        return cell.kind == "blank"
    return cell.kind == "number" and _same(cell.value, value)


@dataclass(frozen=True)
class Witnessed:
    """The LLM's value for one key, and where its printed string stands (a view span)
    when it is grounded."""

    value: Value
    span: tuple[int, int] | None


def _value_of(string: str) -> tuple[bool, Value]:
    """Whether a cell's printed string is a value at all, and which: "" and the blank marks
    are blanks (null)."""
    text = compact(normalise(string)[0])
    if text == "" or text in BLANK_MARKS:
        return True, None
    parsed = classify_number(text)
    return (True, parsed[0]) if parsed is not None else (False, None)


def _ground(strings: list[str], cells: list[Cell], view: str) -> list[tuple[int, int] | None]:
    """Where each string stands among the row's printed cells. Only when the strings, joined
    in order, give exactly the printed cells' text and every border the page prints between
    cells is a border between strings; a blank left unprinted stands nowhere. So a string
    grounds one key at one place, and where the page's spacing shows how run-together digits
    are cut, a witness's cut that follows it is grounded."""
    texts = [compact(normalise(s)[0]) for s in strings]
    pieces = [c.text for c in cells]
    ends = set(accumulate(len(t) for t in texts))
    if "".join(texts) != "".join(pieces) or not set(accumulate(map(len, pieces))) <= ends:
        return [None] * len(strings)
    out: list[tuple[int, int] | None] = []
    index = offset = 0
    for text in texts:
        if not text:
            out.append(None)
            continue
        cell = cells[index]
        if offset == 0 and len(text) == len(cell.text):
            out.append((cell.start, cell.end))
        elif view[cell.start : cell.end] == cell.text:
            out.append((cell.start + offset, cell.start + offset + len(text)))
        else:
            out.append(None)  # a cell whose view text differs cannot be cut by position
        offset += len(text)
        if offset == len(cell.text):
            index, offset = index + 1, 0
    return out


def _fill(out: dict, keys, strings: list[str], cells: list[Cell], view: str) -> None:
    if len(strings) != len(keys):
        return  # not the row's number of cells: no column can be told
    for key, string, span in zip(keys, strings, _ground(strings, cells, view), strict=True):
        ok, value = _value_of(string)
        if ok:
            out[key] = Witnessed(value, span)


# A row label's number (一、 (一) 1.), printed before its words.
_ORDINAL = r"(?:[一二三四五六七八九十]{1,2}、|\([一二三四五六七八九十]{1,2}\)|\d{1,2}[.、])"
_ORDINAL_BEFORE = re.compile(_ORDINAL + "$")
_ORDINAL_FIRST = re.compile("^" + _ORDINAL)
# Where a label's words end in a table's printed text: its first cell (or the next row's
# number), a bar, a blank mark.
_LABEL_END = re.compile(r"\d|\||[—/－]")


def _printed_label(flat: str, found: int, length: int) -> str:
    """The printed label around a witness's label prefix found at ``flat[found:]``: from
    the number printed before it to its row's first cell."""
    start = found
    before = _ORDINAL_BEFORE.search(flat, max(0, found - 5), found)
    if before:
        start = before.start()
    end = _LABEL_END.search(flat, found + length)
    return flat[start : end.start() if end else len(flat)][:60]


def _rows_named(rows: list[str], flat: str, template: tuple) -> dict[str, list[str]]:
    """The witness's rows by template row. A row names itself by the first characters of
    its printed label; they are found in the table's printed text (after the row before
    it: rows come in printed order), and the label printed there is matched to the
    template as the reader matches labels. A row named twice counts for none."""
    named: dict[str, list[str]] = {}
    repeated: set[str] = set()
    at = 0
    for row in rows:
        prefix, cells = split_row(row)
        key = _ORDINAL_FIRST.sub("", compact(normalise(prefix)[0]))
        if not key:
            continue
        found = flat.find(key, at)
        if found < 0:
            found = flat.find(key)
        if found < 0:
            continue  # a label the table does not print
        at = found + len(key)
        names = rows_named(_printed_label(flat, found, len(key)), template)
        if not names:
            continue
        name = names[-1].name  # a label naming its group and its sub-row is the sub-row
        if name in named:
            repeated.add(name)
        named[name] = cells
    for name in repeated:
        del named[name]
    return named


def _rows_written(answers: dict[str, list[str]], view: str, regions: dict) -> list[tuple]:
    """Each template row a witness wrote: its name, its keys and the witness's strings;
    part 四 as one row of all its cells in template order; the single （六） row under its
    own name, where the witness wrote none of its sub-rows."""
    out = []
    for part, rows in answers.items():
        if part == "s4":
            out.append(("s4", S4_KEYS, [s for row in rows for s in split_row(row)[1]]))
            continue
        template = S2_ROWS if part == "s2" else (*S3_ROWS, S3_COLLAPSED_OTHER)
        start, end = regions.get(part, (0, len(view)))
        named = _rows_named(rows, compact(view[start:end]), template)
        if named.keys() & set(S3_OTHER_SUBROWS):
            named.pop(S3_COLLAPSED_OTHER.name, None)
        out += [(row.name, row.keys, named[row.name]) for row in template if row.name in named]
    return out


def _spread_collapsed(merged: dict) -> dict:
    """The single （六） row's readings, by column, as its sub-rows' keys: sub-rows that sum
    to a printed 0 are each 0 (as the reader and the template have it); any other figure
    cannot be split, and gives nothing."""
    values = [getattr(w, "value", w) for w in merged.values()]
    if len(merged) != len(S3_COLUMNS) or any(v != 0 for v in values):
        return {}
    return {
        f"s3.{name}.{column}": reading
        for name in S3_OTHER_SUBROWS
        for column, reading in zip(S3_COLUMNS, merged.values(), strict=True)
    }


def witnessed(
    answers: dict[str, list[str]],
    reader: ReaderResult,
    view: str,
    regions: dict[str, tuple[int, int]],
) -> dict:
    """The LLM's rows as printed → a ``Witnessed`` per template key, grounded in the cells
    the reader found for the row."""
    out: dict[str, Witnessed] = {}
    for name, keys, strings in _rows_written(answers, view, regions):
        cells = reader.row_cells.get(name, [])
        if name != S3_COLLAPSED_OTHER.name:
            _fill(out, keys, strings, cells, view)
            continue
        merged: dict[str, Witnessed] = {}
        _fill(merged, keys, strings, cells, view)
        out |= _spread_collapsed(merged)
    return out


def witnessed_pages(
    answers: dict[str, list[str]], view: str, regions: dict[str, tuple[int, int]]
) -> dict[str, Value]:
    """A vision witness's rows → its value per template key. Its rows are matched by their
    labels in the OCR text, as the text witness's are; its cells are never grounded in the
    OCR text: it read the page, not OCR's reading of it."""
    out: dict[str, Value] = {}
    for name, keys, strings in _rows_written(answers, view, regions):
        if len(strings) != len(keys):
            continue  # not the row's number of cells: no column can be told
        read = dict(zip(keys, map(_value_of, strings), strict=True))
        values = {key: value for key, (ok, value) in read.items() if ok}
        out |= _spread_collapsed(values) if name == S3_COLLAPSED_OTHER.name else values
    return out


def _entry(witness: str, candidate_value: Value, span, source: SourceText) -> dict:
    return {
        "witness": witness,
        "value": candidate_value,
        "span": list(source.raw_span(*span)) if span else None,
    }


def reconcile(
    reader: ReaderResult, witness: dict[str, Witnessed], source: SourceText
) -> Reconciled:
    """Merge the reader's candidates with the LLM's values for the keys it answered."""
    candidates = dict(reader.candidates)
    disputed: dict[str, list[dict]] = {}
    settled: set[str] = set()
    ungrounded: list[str] = []
    disagreements: list[Finding] = []
    agree = disagree = 0
    for key in FIELD_KEYS:
        if key not in witness:
            continue
        theirs, llm_span = witness[key].value, witness[key].span
        ours = candidates.get(key) or Candidate(key, None, None, False)
        if _same(ours.value, theirs) and (ours.certain or ours.span is not None):
            agree += ours.certain
            candidates[key] = Candidate(key, ours.value, ours.span, True, "reader+llm")
            settled.add(key)
            continue
        if ours.certain and not any(
            _prints(c, theirs) for c in reader.row_cells.get(_row_of(key), [])
        ):
            ungrounded.append(key)  # the witness's error: the reader's value stands
            continue
        disagree += ours.certain
        if theirs is None and ours.value is None and ours.span is None:
            continue  # neither witness saw the cell: the reader's finding says why
        disputed[key] = [
            _entry("reader", ours.value, ours.span, source),
            _entry("llm", theirs, llm_span, source),
        ]
        if not ours.certain and ours.value is None and llm_span is not None:
            # Only the LLM has a value, and the row prints it there: the checks decide the
            # rest, where an identity checks the row at all.
            candidates[key] = Candidate(key, theirs, llm_span, key in _CHECKED, "llm")
            settled.add(key)
            continue
        candidates[key] = Candidate(key, ours.value, ours.span, False, ours.witness, ours.note)
        where = "" if llm_span is not None else "（LLM 抄写的这一行与原文对不上）"
        disagreements.append(
            Finding(
                "llm.disagree",
                [key],
                f"{label_of(key)}：读取器读到 {show(ours.value)}，LLM 读到 {show(theirs)}{where}",
            )
        )
    if disagree > agree:
        reason = (
            f"LLM 的回答与读取器确定的值多数不符（{disagree} 处不符，{agree} 处相符），"
            "本报告不采用 LLM 的表格数值"
        )
        return Reconciled(
            dict(reader.candidates), list(reader.findings), notes=[reason], set_aside=reason
        )
    findings, notes = _settle_doubts(reader.findings, settled, "已由 LLM 佐证")
    return Reconciled(candidates, findings + disagreements, disputed, notes, ungrounded)


def _settle_doubts(
    findings: list[Finding], settled: set[str], settled_by: str
) -> tuple[list[Finding], list[str]]:
    """The findings that stand, and a note (``settled_by``: which witness) for each doubt
    about where values stand that a second witness settled for all its keys (identity and
    prose checks are run afresh after reconciliation)."""
    kept: list[Finding] = []
    notes: list[str] = []
    for finding in findings:
        if RULES[finding.rule].doubt and all(k in settled for k in finding.keys):
            notes.append(f"{settled_by}：{finding.message}")
            continue
        kept.append(finding)
    return kept, notes


def reconcile_pages(
    candidates: dict[str, Candidate],
    findings: list[Finding],
    page: dict[str, Value],
    source: SourceText,
) -> Reconciled:
    """A vision witness's values against OCR's reading, key by key. Read the same way, a
    value is confirmed by evidence independent of OCR (its doubt about where the value
    stands is settled, and OCR's low confidence needs no identity); read differently, it
    goes to review with both readings, whoever is right. A value only the page witness
    read is a reading for a person, never accepted. A witness that disagrees with most of
    what OCR read with certainty is set aside for the document."""
    out = dict(candidates)
    disputed: dict[str, list[dict]] = {}
    settled: set[str] = set()
    disagreements: list[Finding] = []
    agree = disagree = 0
    for key in FIELD_KEYS:
        if key not in page:
            continue
        theirs, ours = page[key], candidates.get(key) or Candidate(key, None, None, False)
        if _same(ours.value, theirs) and (ours.certain or ours.span is not None):
            agree += ours.certain
            out[key] = Candidate(key, ours.value, ours.span, True, f"{ours.witness}+vision")
            settled.add(key)
            continue
        disagree += ours.certain
        disputed[key] = [
            _entry("reader", ours.value, ours.span, source),
            {"witness": "vision", "value": theirs, "span": None},
        ]
        out[key] = Candidate(key, ours.value, ours.span, False, ours.witness, ours.note)
        disagreements.append(
            Finding(
                "llm.disagree",
                [key],
                f"{label_of(key)}：OCR 读到 {show(ours.value)}，看图的 LLM 读到 {show(theirs)}",
            )
        )
    if disagree > agree:
        reason = (
            f"看图的 LLM 与 OCR 确定的值多数不符（{disagree} 处不符，{agree} 处相符），"
            "本报告不采用它的读数"
        )
        return Reconciled(candidates, findings, notes=[reason], set_aside=reason)
    kept, notes = _settle_doubts(findings, settled, "已由看图的 LLM 佐证")
    return Reconciled(out, kept + disagreements, disputed, notes, settled=settled)


def _quote_span(
    view: str, quote: str, spans: list[tuple[int, int]], at: int
) -> tuple[int, int, int] | None:
    """Where ``quote`` stands in the prose (``spans`` of the view) at or after ``at``,
    ignoring whitespace (PDF text breaks lines), and where its stretch of prose begins."""
    target = compact(quote)
    if not target:
        return None
    pattern = re.compile(r"\s*".join(re.escape(ch) for ch in target))
    for lo, hi in spans:
        if hi > at:
            m = pattern.search(view, max(lo, at), hi)
            if m:
                return (m.start(), m.end(), lo)
    return None


_SENTENCE_END = re.compile(r"[。；;！!？?\n]")


def merge_claims(
    ours: list[Claim], theirs: list[str], source: SourceText, spans: list[tuple[int, int]]
) -> tuple[list[Claim], int]:
    """Reader claims, plus what the LLM's quotes state that the reader did not already
    find. A quote is a figure as the prose prints it with its unit (``34 件``, ``八成``),
    in the prose's order: it is found in the prose (``spans``) after the one before it, and
    what it states is read there by the claims parser, with the words before it in its
    sentence, as the reader reads the prose. So a figure in words grounds like one in
    digits (八成 is 80 %, 三成五 35 %, 一半 50 %), and a quote the prose does not print
    counts for nothing. Returns the claims and the count of quotes dropped as ungrounded."""
    view = source.view
    merged = list(ours)
    dropped = at = 0
    for quote in theirs:
        found = _quote_span(view, quote, spans, at) or _quote_span(view, quote, spans, 0)
        stated = []
        if found is not None:
            start, at, lo = found
            sentence = max(
                (m.end() for m in _SENTENCE_END.finditer(view, max(lo, start - 60), start)),
                default=max(lo, start - 60),
            )
            inside = source.raw_span(start, at)[0]
            stated = [
                claim
                for claim in claims.find_claims(source, [(sentence, at)], bare=True)
                if claim.span[1] > inside
            ]
        if not stated:
            dropped += 1
            continue
        for claim in stated:
            overlapping = [
                c
                for c in merged
                if c.span[0] < claim.span[1] and claim.span[0] < c.span[1]
                and _same(c.value, claim.value)
            ]  # fmt: skip
            if overlapping:
                for known in overlapping:
                    if "llm" not in known.witness:
                        known.witness.append("llm")
                continue
            claim.witness = ["llm"]
            merged.append(claim)
    merged.sort(key=lambda c: c.span)
    return merged, dropped


def merge_meta(report_meta: dict, answer: dict | None, view: str) -> list[Finding]:
    """Fill what the reader missed from the LLM where the source prints it; a different
    year from the two witnesses is a finding."""
    if not answer:
        return []
    flat = compact(view[:3000])
    agency, year = answer.get("meta.agency"), answer.get("meta.year")
    if report_meta["agency"] is None and agency and compact(agency) in flat:
        report_meta["agency"] = agency
    # A year the opening does not print, or no report's year, is the witness's slip: it
    # counts for nothing (and is never a reason to ask again).
    if year is not None and 1990 <= year <= 2100 and str(year) in flat:
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
