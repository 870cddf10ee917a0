"""Checks → decisions: which values are trusted as they stand and which wait for a person.

A field is ``accepted`` only when its value is grounded in the source (the text at its span
reads as that value), its witness placed it with certainty, and no finding names it.
"""

from __future__ import annotations

import re

from .cells import BLANK_MARKS, classify_number
from .model import Candidate, Finding
from .template import FIELD_KEYS
from .text import SourceText, compact, normalise


def grounded(source: SourceText, candidate: Candidate) -> bool:
    """Does the raw text at the candidate's span read as its value?"""
    if candidate.span is None:
        return False
    start, end = source.raw_span(*candidate.span)
    raw = source.raw[start:end]
    if candidate.value is not None and raw.isascii() and "<" not in raw:
        parsed = classify_number(raw.strip())  # the common case, without normalising
        return parsed is not None and parsed[0] == candidate.value
    text = compact(normalise(raw)[0])
    if candidate.value is None:
        return text == "" or text in BLANK_MARKS or _strip_tags(text) in BLANK_MARKS | {""}
    parsed = classify_number(_strip_tags(text))
    return parsed is not None and parsed[0] == candidate.value


def _strip_tags(text: str) -> str:
    """A value's raw span in HTML may hold the tags between its characters."""
    return re.sub(r"<[^>]*>|&nbsp;", "", text)


def decide(
    candidates: dict[str, Candidate], findings: list[Finding], source: SourceText
) -> tuple[dict, dict, dict, dict]:
    """``fields``, ``field_status``, raw ``spans`` and ``field_witness`` for all 200 keys."""
    named = {key for finding in findings for key in finding.keys}
    fields: dict = {}
    status: dict = {}
    spans: dict = {}
    witness: dict = {}
    for key in FIELD_KEYS:
        candidate = candidates.get(key)
        if candidate is None:
            fields[key], status[key], spans[key], witness[key] = None, "review", None, None
            continue
        fields[key] = candidate.value
        witness[key] = candidate.witness if candidate.span is not None else None
        spans[key] = list(source.raw_span(*candidate.span)) if candidate.span else None
        ok = candidate.certain and key not in named and grounded(source, candidate)
        status[key] = "accepted" if ok else "review"
    return fields, status, spans, witness
