"""Candidates from two witnesses → one candidate per key, and the disagreements.

The LLM is a second, independent witness, and an untrusted one: only a true witness can
move a value. Its table values count only where they are printed in the source, in the
cells the reader found after that row's label, matched to them in order and one to one
(a printed cell grounds one key at most). Per key:

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
each grounded by its quote. Meta the reader missed is taken from the LLM where the opening
prints it; two different years are a finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .cells import Cell
from .claims import cn_number
from .model import Candidate, Claim, Finding, Value, show
from .reader import ReaderResult
from .rules import RULES
from .template import FIELD_KEYS, IDENTITIES, label_of
from .text import SourceText, compact

# Keys some identity checks: only there may a value the LLM alone gives be trusted.
_CHECKED = frozenset(k for identity in IDENTITIES for k in (*identity.left, *identity.right))


@dataclass
class Reconciled:
    candidates: dict[str, Candidate]
    findings: list[Finding]
    disputed: dict[str, list[dict]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Keys whose LLM value was printed nowhere in the row (or missing where it prints one).
    ungrounded: list[str] = field(default_factory=list)
    set_aside: str | None = None  # why the witness was not used for this document


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


def _placed(values: list[Value], cells: list[Cell]) -> list[Cell | None]:
    """Each value's cell, matched to the row's printed cells in order and one to one.

    With as many cells as values, the i-th value can only be the i-th cell. Otherwise the
    values are grounded only when all of them fit the cells in order, and each at the cell
    every such fit gives it: a partial fit could shift a value into its neighbour's cell."""
    n, m = len(values), len(cells)
    if n == m:
        return [c if _prints(c, v) else None for v, c in zip(values, cells, strict=True)]
    if n > m:
        return [None] * n
    # fits[i][j]: values[i:] fit cells[j:] in order.
    fits = [[False] * (m + 1) for _ in range(n + 1)]
    fits[n] = [True] * (m + 1)
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            fits[i][j] = fits[i][j + 1] or (_prints(cells[j], values[i]) and fits[i + 1][j + 1])
    if not fits[0][0]:
        return [None] * n
    # reach[i]: the cells where values[:i] can end (every fit of the prefix).
    reach = {0}
    out: list[Cell | None] = []
    for i in range(n):
        options = {
            j
            for start in reach
            for j in range(start, m)
            if _prints(cells[j], values[i]) and fits[i + 1][j + 1]
        }
        out.append(cells[next(iter(options))] if len(options) == 1 else None)
        reach = {j + 1 for j in options}
    return out


def _entry(witness: str, candidate_value: Value, span, source: SourceText) -> dict:
    return {
        "witness": witness,
        "value": candidate_value,
        "span": list(source.raw_span(*span)) if span else None,
    }


def reconcile(reader: ReaderResult, llm_fields: dict[str, Value], source: SourceText) -> Reconciled:
    """Merge the reader's candidates with the LLM's values for the keys it answered."""
    rows: dict[str, list[str]] = {}
    for key in FIELD_KEYS:
        if key in llm_fields:
            rows.setdefault(_row_of(key), []).append(key)
    grounding: dict[str, Cell | None] = {}
    for row, keys in rows.items():
        cells = reader.row_cells.get(row, [])
        for key, cell in zip(keys, _placed([llm_fields[k] for k in keys], cells), strict=True):
            grounding[key] = cell
    candidates = dict(reader.candidates)
    disputed: dict[str, list[dict]] = {}
    settled: set[str] = set()
    ungrounded: list[str] = []
    disagreements: list[Finding] = []
    agree = disagree = 0
    for key in grounding:
        theirs = llm_fields[key]
        ours = candidates.get(key) or Candidate(key, None, None, False)
        cell = grounding[key]
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
        llm_span = (cell.start, cell.end) if cell is not None else None
        disputed[key] = [
            _entry("reader", ours.value, ours.span, source),
            _entry("llm", theirs, llm_span, source),
        ]
        if not ours.certain and ours.value is None and cell is not None:
            # Only the LLM has a value, and the row prints it there: the checks decide the
            # rest, where an identity checks the row at all.
            candidates[key] = Candidate(key, theirs, llm_span, key in _CHECKED, "llm")
            settled.add(key)
            continue
        candidates[key] = Candidate(key, ours.value, ours.span, False, ours.witness, ours.note)
        where = "" if cell is not None else "（LLM 的数在该行中找不到）"
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
    findings: list[Finding] = []
    notes: list[str] = []
    for finding in reader.findings:
        # Doubt about where a value stands, which a second witness can settle; identity and
        # prose checks are run afresh after reconciliation.
        if RULES[finding.rule].doubt and all(k in settled for k in finding.keys):
            notes.append(f"已由 LLM 佐证：{finding.message}")
            continue
        findings.append(finding)
    return Reconciled(candidates, findings + disagreements, disputed, notes, ungrounded)


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


def merge_meta(report_meta: dict, answer: dict | None, view: str) -> list[Finding]:
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
