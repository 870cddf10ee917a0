"""Text with offsets: the document's text as gouji reads it, and a normalised view of it.

Matching runs on ``SourceText.view`` (NFKC, so full-width digits and brackets become ASCII;
Traditional characters become Simplified), while every span gouji reports indexes
``SourceText.raw``, the text a person can open and check.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

import opencc

# Invisible characters that scrapers leave inside numbers and labels; each becomes a space
# so the view keeps one character per source character.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), " ")


# C0 control characters other than tab, line feed and carriage return, and DEL: never a
# report's wording (PostgreSQL refuses a NUL; XLSX refuses them all). In a document's text a
# vertical tab or form feed (Word's line break, a page break) becomes a line feed and any
# other a space, one character for one, so every offset stands.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_AS = {
    **dict.fromkeys([*range(0x09), *range(0x0E, 0x20), 0x7F], " "),
    0x0B: "\n",
    0x0C: "\n",
}


def without_controls(text: str) -> str:
    """``text`` with each control character as a space or a line feed, offsets unchanged."""
    return text.translate(_CONTROL_AS) if CONTROL.search(text) else text


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _per_char(text: str, convert) -> tuple[str, list[int]]:
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        converted = convert(ch)
        out.append(converted)
        origin.extend([i] * len(converted))
    return "".join(out), origin


def normalise(text: str) -> tuple[str, list[int] | None]:
    """Return the normalised view of ``text`` and, where lengths differ, each view
    character's index in ``text`` (``None`` means one-to-one)."""
    text = text.translate(_INVISIBLE)
    origin: list[int] | None = None
    nfkc = unicodedata.normalize("NFKC", text)
    if len(nfkc) != len(text):
        nfkc, origin = _per_char(text, lambda c: unicodedata.normalize("NFKC", c))
    simplified = _t2s().convert(nfkc)
    if len(simplified) != len(nfkc):
        simplified, origin2 = _per_char(nfkc, _t2s().convert)
        origin = origin2 if origin is None else [origin[j] for j in origin2]
    return simplified, origin


@dataclass
class SourceText:
    """``raw`` is what spans index; ``view`` is what the reader matches on."""

    raw: str
    view: str
    to_raw: array  # len(view) + 1 entries: view offset -> raw offset

    @classmethod
    def from_text(cls, raw: str) -> SourceText:
        return cls.from_rendered(raw, raw, None)

    @classmethod
    def from_rendered(
        cls, raw: str, rendered: str, rendered_to_raw: list[int] | None
    ) -> SourceText:
        """Build from a rendering of ``raw`` (e.g. HTML to text) whose characters map to
        ``raw`` offsets through ``rendered_to_raw`` (``None`` when ``rendered is raw``).
        Control characters become spaces or line feeds in both, whatever the reader."""
        cleaned = without_controls(raw)
        rendered = cleaned if rendered is raw else without_controls(rendered)
        raw = cleaned
        view, origin = normalise(rendered)
        if origin is None and rendered_to_raw is None:
            to_raw = array("i", range(len(view) + 1))
        else:
            base = rendered_to_raw if rendered_to_raw is not None else range(len(rendered))
            idx = origin if origin is not None else range(len(view))
            to_raw = array("i", (base[j] for j in idx))
            to_raw.append(len(raw))
        return cls(raw=raw, view=view, to_raw=to_raw)

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """The raw span covering view[start:end]."""
        if end <= start:
            at = self.to_raw[start]
            return (at, at)
        return (self.to_raw[start], self.to_raw[end - 1] + 1)

    def view_span(self, start: int, end: int) -> tuple[int, int]:
        """The view span covering raw[start:end] (offsets only grow along the view)."""
        a = bisect_left(self.to_raw, start, 0, len(self.view))
        b = bisect_left(self.to_raw, end, a, len(self.view))
        return (a, max(a, b))

    def raw_slice(self, span: tuple[int, int]) -> str:
        return self.raw[span[0] : span[1]]


def compact(text: str) -> str:
    """Whitespace-free text, the form template patterns are matched against."""
    return "".join(text.split())
