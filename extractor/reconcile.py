"""Candidates from two witnesses → one candidate per key, and the disagreements.

The LLM is a second, independent witness, and an untrusted one: only a true witness can
move a value. It copies each table's rows as printed (label and cell strings); its rows are
matched to the template by their labels, and its values count only where they are printed
in the source: where its strings, joined in order, give exactly the cells the reader found
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
each grounded by its quote. Meta the reader missed is taken from the LLM where the opening
prints it; two different years are a finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import accumulate

from .cells import BLANK_MARKS, Cell, classify_number
from .claims import cn_number
from .identities import Use, keys_for
from .model import Candidate, Claim, Finding, Value, show
from .reader import ReaderResult, rows_named
from .rules import RULES
from .template import (
    FIELD_KEYS,
    S2_ROWS,
    S3_COLLAPSED_OTHER,
    S3_COLUMNS,
    S3_OTHER_SUBROWS,
    S3_ROWS,
    S4_KEYS,
    label_of,
)
from .text import SourceText, compact, normalise

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


def witnessed(answers: dict[str, list[dict]], reader: ReaderResult, view: str) -> dict:
    """The LLM's rows as printed → a ``Witnessed`` per template key. Rows are matched to the
    template by their labels as the reader matches them; a row named twice counts for none.
    Part 四's cells are read in template order across its rows."""
    out: dict[str, Witnessed] = {}
    for part, rows in answers.items():
        if part == "s4":
            strings = [s for row in rows for s in row["cells"]]
            _fill(out, S4_KEYS, strings, reader.row_cells.get("s4", []), view)
            continue
        template = S2_ROWS if part == "s2" else (*S3_ROWS, S3_COLLAPSED_OTHER)
        named: dict[str, list[str]] = {}
        repeated: set[str] = set()
        for row in rows:
            names = rows_named(compact(normalise(row["label"])[0]), template)
            if not names:
                continue
            name = names[-1].name  # a label naming its group and its sub-row is the sub-row
            if name in named:
                repeated.add(name)
            named[name] = row["cells"]
        for name in repeated:
            del named[name]
        collapsed = named.pop(S3_COLLAPSED_OTHER.name, None)
        for row in template:
            if row.name in named:
                _fill(out, row.keys, named[row.name], reader.row_cells.get(row.name, []), view)
        if collapsed is not None and not named.keys() & set(S3_OTHER_SUBROWS):
            # The single （六） row: sub-rows that sum to a printed 0 are each 0 (as the
            # reader and the template have it); any other figure cannot be split.
            merged: dict[str, Witnessed] = {}
            cells = reader.row_cells.get(S3_COLLAPSED_OTHER.name, [])
            _fill(merged, S3_COLLAPSED_OTHER.keys, collapsed, cells, view)
            if len(merged) == len(S3_COLUMNS) and all(w.value == 0 for w in merged.values()):
                for name in S3_OTHER_SUBROWS:
                    for column, w in zip(S3_COLUMNS, merged.values(), strict=True):
                        out[f"s3.{name}.{column}"] = w
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
