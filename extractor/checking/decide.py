"""Checks → decisions: which values are trusted as they stand and which wait for a person.

A field is ``accepted`` only when its value is grounded in the source (the text at its span
reads as that value), its witness placed it with certainty, and no finding names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..inputs.text import SourceText, compact, normalise
from ..model import Candidate, Finding
from ..reading.cells import BLANK_MARKS, classify_number
from ..rules import RULES
from ..status import Empty, FieldStatus
from ..template import FIELD_KEYS


def grounded(raw: str, value: int | float | None) -> bool:
    """Does a value's raw source text (the text at its span) read as that value?"""
    if value is not None and raw.isascii() and "<" not in raw:
        if raw.isdigit():  # the common case
            return int(raw) == value
        parsed = classify_number(raw.strip())
        return parsed is not None and parsed[0] == value
    text = compact(normalise(raw)[0])
    if value is None:
        return text == "" or text in BLANK_MARKS or _strip_tags(text) in BLANK_MARKS | {""}
    parsed = classify_number(_strip_tags(text))
    return parsed is not None and parsed[0] == value


def _strip_tags(text: str) -> str:
    """A value's raw span in HTML may hold the tags between its characters."""
    return re.sub(r"<[^>]*>|&nbsp;", "", text)


@dataclass
class Decided:
    """Per key of all 200: the value, its status, its raw span, who read it, and for a null
    which kind of empty it is."""

    fields: dict
    status: dict[str, FieldStatus]
    spans: dict
    witness: dict
    empty: dict[str, Empty]


def decide(
    candidates: dict[str, Candidate], findings: list[Finding], source: SourceText
) -> Decided:
    """The decisions for all 200 keys. A null is a printed blank only where its span reads
    as a blank; a null the reader left unplaced stays unplaced, one it found no table or
    row for stays not read."""
    named = {key for f in findings if RULES[f.rule].review for key in f.keys}
    out = Decided({}, {}, {}, {}, {})
    fields, status, spans, witness, empty = (
        out.fields,
        out.status,
        out.spans,
        out.witness,
        out.empty,
    )
    raw, raw_span = source.raw, source.raw_span
    # Bound once: looking an enum member up is slow, and this runs for every key.
    accepted, review = FieldStatus.ACCEPTED, FieldStatus.REVIEW
    blank, unplaced, not_read = Empty.BLANK, Empty.UNPLACED, Empty.NOT_READ
    for key in FIELD_KEYS:
        candidate = candidates.get(key)
        if candidate is None:
            fields[key], spans[key], witness[key] = None, None, None
            status[key], empty[key] = review, not_read
            continue
        value = fields[key] = candidate.value
        if candidate.span is None:
            witness[key], spans[key], status[key] = None, None, review
            if value is None:
                empty[key] = unplaced if candidate.read else not_read
            continue
        witness[key] = candidate.witness
        start, end = raw_span(*candidate.span)
        spans[key] = [start, end]
        text = raw[start:end]
        if value is not None and text.isdigit() and text.isascii():  # nearly every value
            printed = int(text) == value
        else:
            printed = grounded(text, value)
        if value is None:
            empty[key] = blank if printed else unplaced
        ok = candidate.certain and printed and key not in named
        status[key] = accepted if ok else review
    return out
