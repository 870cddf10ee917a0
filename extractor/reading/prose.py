"""Text → the prose's sentences as short digests, so a check across years can find prose
copied from last year's report without keeping either text.

A sentence is digested in its whitespace-free form with its years masked (``2023年`` and
``2024年`` read alike: a paragraph copied with the year changed is still copied). Short
sentences (headings, 一是…) and the preface before 一、总体情况 (the template prescribes
it, so every report shares it) are left out.
"""

from __future__ import annotations

import hashlib
import re

from ..inputs.text import SourceText, compact

MIN_CHARS = 20
_SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]?")
_YEAR = re.compile(r"20\d{2}")
_PART_ONE = re.compile(r"一\s*[、.．]\s*总\s*体\s*情\s*况")


def sentences(source: SourceText, spans: list[tuple[int, int]]) -> list[list]:
    """``[start, end, digest, head]`` per prose sentence: raw span, a 12-hex digest and its
    first characters (for a reviewer's message)."""
    view = source.view
    part_one = _PART_ONE.search(view)
    begin = part_one.end() if part_one else 0
    out = []
    for a, b in spans:
        for m in _SENTENCE.finditer(view, max(a, begin), b):
            text = compact(m.group())
            if len(text) < MIN_CHARS:
                continue
            digest = hashlib.blake2b(_YEAR.sub("#", text).encode(), digest_size=6).hexdigest()
            start, end = source.raw_span(m.start(), m.end())
            out.append([start, end, digest, compact(source.raw[start:end])[:16]])
    return out
