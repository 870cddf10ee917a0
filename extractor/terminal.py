"""Text shown on a terminal: file names and what files say, made safe to print.

A file name may hold anything but ``/`` and NUL: an escape sequence that recolours or clears
the terminal, a carriage return that hides the line before it, a right-to-left override that
reverses what follows, bytes that are not UTF-8. ``shown`` writes each such character as its
escape (``\\x1b``, ``\\u202e``; an undecodable byte as ``\\xff``), so what a person reads is
what the name holds.
"""

from __future__ import annotations

import re

# Control characters (C0, DEL, C1), the marks and overrides that reorder text, line and
# paragraph separators, and the lone surrogates that stand for undecodable bytes.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode could not decode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: object) -> str:
    """``text`` with every character that could act on a terminal written as its escape."""
    return _UNSAFE.sub(_escape, str(text))
