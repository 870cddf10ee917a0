"""Checks → decisions: which values are trusted as they stand and which wait for a person.

A field is ``accepted`` only when its value is grounded in the source (the text at its span
reads as that value), its witness placed it with certainty, and no finding names it.
"""

from __future__ import annotations

import re

from .cells import BLANK_MARKS, classify_number
from .model import Candidate, Finding
from .rules import RULES
from .template import FIELD_KEYS
from .text import SourceText, compact, normalise


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


def decide(
    candidates: dict[str, Candidate], findings: list[Finding], source: SourceText
) -> tuple[dict, dict, dict, dict]:
    """``fields``, ``field_status``, raw ``spans`` and ``field_witness`` for all 200 keys."""
    named = {key for f in findings if RULES[f.rule].review for key in f.keys}
    fields: dict = {}
    status: dict = {}
    spans: dict = {}
    witness: dict = {}
    raw, raw_span = source.raw, source.raw_span
    for key in FIELD_KEYS:
        candidate = candidates.get(key)
        if candidate is None:
            fields[key], status[key], spans[key], witness[key] = None, "review", None, None
            continue
        value = fields[key] = candidate.value
        if candidate.span is None:
            witness[key], spans[key], status[key] = None, None, "review"
            continue
        witness[key] = candidate.witness
        start, end = raw_span(*candidate.span)
        spans[key] = [start, end]
        ok = candidate.certain and key not in named and grounded(raw[start:end], value)
        status[key] = "accepted" if ok else "review"
    return fields, status, spans, witness
