"""Text from outside the app — reviewer names, file names, agency names, report text —
shown as plain text in Streamlit's Markdown elements: a name like ``![x](http://…)`` must
not become an image a colleague's browser fetches, nor a link, a colour or a formula."""

from __future__ import annotations

import re

# CommonMark lets a backslash escape any ASCII punctuation; Streamlit's extensions
# (colours :red[…], icons :material/…:, $formulas$) start with punctuation too.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# GitHub's autolinks (http://…, www.…, name@host) are found in the text after the escapes
# are undone: an invisible word joiner inside each of their marks keeps them text.
_LINK_MARKS = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)
_JOINER = "\u2060"


def plain(text: object) -> str:
    """``text`` escaped for a Markdown element, so it shows exactly as written."""
    return _PUNCTUATION.sub(r"\\\1", _LINK_MARKS.sub(_JOINER, str(text)))
