"""Candidates from two witnesses → one candidate per key, and the disagreements.

The LLM is a second, independent witness. Its table values count only where they are
printed in the source: in the cells the reader found after that row's label. Per key:

* both witnesses agree → the value keeps (or, for a value the reader could not place with
  certainty, gains) certainty, and the reader's own doubt about that row is settled;
* they disagree → the key goes to review with both candidates kept for the reviewer;
* only the LLM has a value → it stands only if it is grounded; the checks that follow
  decide whether it is accepted.
Claims are the union of both witnesses' claims, each grounded by its quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .cells import Cell
from .claims import cn_number
from .model import Candidate, Claim, Finding, Value, show
from .reader import ReaderResult
from .rules import RULES
from .template import FIELD_KEYS, label_of
from .text import SourceText, compact


@dataclass
class Reconciled:
    candidates: dict[str, Candidate]
    findings: list[Finding]
    disputed: dict[str, list[dict]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _same(a: Value, b: Value) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) < 1e-9


def _row_of(key: str) -> str:
    part, rest = key.split(".", 1)
    if part == "s4":
        return "s4"
    return rest.split(".")[0]


def _grounding_cell(cells: list[Cell], value: Value) -> Cell | None:
    """A cell of the row that prints ``value`` (a blank cell for ``None``)."""
    for cell in cells:
        if value is None and cell.kind == "blank":
            return cell
        if value is not None and cell.kind == "number" and _same(cell.value, value):
            return cell
    return None


def _entry(witness: str, candidate_value: Value, span, source: SourceText) -> dict:
    return {
        "witness": witness,
        "value": candidate_value,
        "span": list(source.raw_span(*span)) if span else None,
    }


def reconcile(reader: ReaderResult, llm_fields: dict[str, Value], source: SourceText) -> Reconciled:
    """Merge the reader's candidates with the LLM's values for the keys it answered."""
    candidates = dict(reader.candidates)
    disputed: dict[str, list[dict]] = {}
    settled: set[str] = set()
    disagreements: list[Finding] = []
    for key in FIELD_KEYS:
        if key not in llm_fields:
            continue
        theirs = llm_fields[key]
        ours = candidates.get(key) or Candidate(key, None, None, False)
        if theirs is None and ours.value is None and ours.span is None:
            continue  # neither witness saw the cell: the reader's finding says why
        cell = _grounding_cell(reader.row_cells.get(_row_of(key), []), theirs)
        if (
            ours.certain
            and _same(ours.value, theirs)
            or not ours.certain
            and ours.span is not None
            and _same(ours.value, theirs)
        ):
            candidates[key] = Candidate(key, ours.value, ours.span, True, "reader+llm")
            settled.add(key)
        elif not ours.certain and ours.value is None and theirs is not None and cell is not None:
            # Only the LLM has a value, and the row prints it: the checks decide the rest.
            candidates[key] = Candidate(key, theirs, (cell.start, cell.end), True, "llm")
            settled.add(key)
            disputed[key] = [
                _entry("reader", ours.value, ours.span, source),
                _entry("llm", theirs, (cell.start, cell.end), source),
            ]
        else:
            llm_span = (cell.start, cell.end) if cell is not None else None
            disputed[key] = [
                _entry("reader", ours.value, ours.span, source),
                _entry("llm", theirs, llm_span, source),
            ]
            candidates[key] = Candidate(key, ours.value, ours.span, False, ours.witness, ours.note)
            grounded = "" if cell is not None else "（LLM 的数在该行中找不到）"
            disagreements.append(
                Finding(
                    "llm.disagree",
                    [key],
                    f"{label_of(key)}：读取器读到 {show(ours.value)}，LLM 读到 {show(theirs)}{grounded}",
                )
            )
    findings: list[Finding] = []
    notes: list[str] = []
    for finding in reader.findings:
        # Doubt about where a value stands, which a second witness can settle; identity and
        # prose checks are run afresh after reconciliation.
        if RULES[finding.rule].doubt and all(k in settled for k in finding.keys):
            notes.append(f"已由 LLM 佐证：{finding.message}")
            continue
        findings.append(finding)
    return Reconciled(candidates, findings + disagreements, disputed, notes)


def _quote_span(view: str, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` stands in the view, ignoring whitespace (PDF text breaks lines)."""
    at = view.find(quote)
    if at >= 0:
        return (at, at + len(quote))
    target = compact(quote)
    if not target:
        return None
    pattern = r"\s*".join(re.escape(ch) for ch in target)
    m = re.search(pattern, view)
    return (m.start(), m.end()) if m else None


def _states(quote: str, value: float) -> bool:
    """Does the quote print the value (as digits, with 万/亿, or in Chinese numerals)?"""
    text = compact(quote).replace(",", "")
    for m in re.finditer(r"(\d+(?:\.\d+)?)\s*(万|亿)?", text):
        number = float(m.group(1)) * {"万": 1e4, "亿": 1e8}.get(m.group(2) or "", 1)
        if abs(number - value) < 1e-6 or (
            m.group(2) is None and "成" in text and abs(number * 10 - value) < 1e-6
        ):
            return True
    return any(
        cn_number(m.group()) == value for m in re.finditer(r"[一二两三四五六七八九十百千]+", text)
    )


def merge_claims(
    ours: list[Claim], theirs: list[dict], source: SourceText
) -> tuple[list[Claim], int]:
    """Reader claims, plus the LLM's claims whose quote is in the source and states the
    value and that the reader did not already find. Returns them and the count dropped
    as ungrounded."""
    merged = list(ours)
    dropped = 0
    for item in theirs:
        span = _quote_span(source.view, item["quote"])
        if span is None or not _states(item["quote"], item["value"]):
            dropped += 1
            continue
        raw = source.raw_span(*span)
        overlapping = [
            c
            for c in merged
            if c.span[0] < raw[1] and raw[0] < c.span[1] and _same(c.value, item["value"])
        ]
        if overlapping:
            for claim in overlapping:
                if "llm" not in claim.witness:
                    claim.witness.append("llm")
            continue
        value = item["value"]
        merged.append(
            Claim(
                metric=item["metric"],
                value=int(value) if float(value).is_integer() else value,
                unit=item["unit"],
                qualifier=item["qualifier"],
                quote=source.raw_slice(raw),
                span=raw,
                witness=["llm"],
            )
        )
    merged.sort(key=lambda c: c.span)
    return merged, dropped
