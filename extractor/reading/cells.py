"""Sections → cells: split a table region of the normalised view into lines of cells.

One tokenizer serves every layout. Cells are separated by tabs and pipes, and inside a
piece of text by the spaces between numbers (PDF text). What differs between layouts is
only which separators appear, so nothing here needs to know the layout's name:

* an *empty* cell is the nothing between two separators on one line (``3\t\t5``,
  ``| 3 | | 5 |``) or a lone ``|`` line after a line that itself ends in ``|``;
* a *blank* cell is one written as —, /, -, 无 or 空;
* indentation before a line's first cell is not a cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

NUMBER = re.compile(r"\d+(?:\.\d+)?|\d{1,3}(?:,\d{3})+(?:\.\d+)?")
# A number with a note the publisher wrote into the cell: 22(其中修订16件), 55(含自然失效29件)
NOTED = re.compile(r"(\d+(?:\.\d+)?)\s*\((?:其中|含|包括)[^)]*\)")
UNITED = re.compile(r"(\d+(?:\.\d+)?)\s*(万元|元|件|条|个|项|次)")
_LEADING_ZERO = "「{}」以 0 开头，可能是几个单元格粘连"
BLANK_MARKS = frozenset({"-", "--", "—", "——", "–", "/", "\\", "无", "空", "─", "-/-"})
# Page footers a PDF's text keeps inside a table: between two cells (— 3 —), or on a line of
# their own (- 3 -, 第 3 页 共 5 页, 3/5, Page 3 / P. 5).
_INLINE_FOOTER = re.compile(r"(?<!\S)[—–]\s*\d{1,3}\s*[—–](?!\S)|(?<!\S)-\s\d{1,3}\s-(?!\S)")
_FOOTER_LINE = re.compile(
    r"(?i)^\s*(?:[-—–]+\s*\d{1,3}\s*[-—–]+|第\s*\d+\s*页(?:\s*[,/，]?\s*共\s*\d+\s*页)?"
    r"|\d{1,3}\s*/\s*\d{1,3}|Page\s*\d+(?:\s*/\s*P\.\s*\d+)?|P\.\s*\d+)\s*$"
)
# A markdown table's rule line (|---|---|): no cell.
MD_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_HAS_DIGIT = re.compile(r"\d").search
_WORD = re.compile(r"\S+")
# After a row's number (the 1 of 1.属于国家秘密, or of "1. 属于…") comes a dot or 、.
_ROW_NUMBER_AFTER = re.compile(r"[.、](?:[一-龥]|$)")
# A number before 年, 月 or 日 is a date, never a cell.
_DATE_UNIT = ("年", "月", "日")
_COLUMN_NAME = re.compile(r"数据\d{1,2}|列\d{1,2}|Column\d{1,2}", re.IGNORECASE)


@dataclass(slots=True)
class Cell:
    kind: str  # "text", "number", "blank" or "empty"
    text: str  # normalised text of the cell
    start: int  # view offsets
    end: int
    line: int
    value: int | float | None = None
    note: str | None = None  # why the value needs a second look (leading zero, unit, note)
    # Digits that begin with 0 (007): perhaps several cells whose borders were lost.
    glued: bool = False


def classify_number(word: str) -> tuple[int | float, str | None, bool] | None:
    """The value of a number cell, its note and whether it may be glued digits (see
    ``Cell``), or ``None`` when ``word`` is not one."""
    note = None
    m = NUMBER.fullmatch(word)
    if not m:
        m2 = NOTED.fullmatch(word) or UNITED.fullmatch(word)
        if not m2:
            return None
        word = m2.group(1)
        note = f"单元格内有附注「{m2.group(0)}」"
    digits = word.replace(",", "")
    if "." in digits:
        return float(digits), note, False
    if len(digits) > 1 and digits[0] == "0":
        return int(digits), _LEADING_ZERO.format(digits), True
    return int(digits), note, False


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


@lru_cache(maxsize=8192)
def _piece_shape(text: str) -> tuple[tuple, ...]:
    """A piece's cells as (kind, text, start, end, value, note, glued), offsets within the piece.
    Labels recur in every report, so a bulk run works out each distinct one once."""
    return tuple(
        (c.kind, c.text, c.start, c.end, c.value, c.note, c.glued) for c in _piece_cells(text)
    )


def _piece_cells(text: str) -> list[Cell]:
    """The cells of one piece, at offsets within it; the caller puts them on their line."""
    line = 0
    stripped = text.strip()
    if not _HAS_DIGIT(stripped):
        split = stripped.split()
        if not split:
            return []
        if BLANK_MARKS.isdisjoint(split):  # a label, most of the rest: one text cell
            at = text.index(stripped)
            return [Cell("text", " ".join(split), at, at + len(stripped), line)]
    words = _words(text)
    kinds: list[str] = []
    numbers: dict[int, tuple] = {}
    for i, (word, _, _) in enumerate(words):
        following = words[i + 1][0] if i + 1 < len(words) else ""
        parsed = classify_number(word)
        if parsed is not None and not following.startswith(_DATE_UNIT):
            kinds.append("number")
            numbers[i] = parsed
        elif word in BLANK_MARKS:
            kinds.append("blank")
        else:
            kinds.append("text")
    # 无 is a blank only beside numbers or alone; next to text it is a word ((四)无法提供).
    for i, (word, _, _) in enumerate(words):
        if kinds[i] == "blank" and word in ("无", "空"):
            neighbours = [kinds[j] for j in (i - 1, i + 1) if 0 <= j < len(words)]
            if neighbours and all(k == "text" for k in neighbours):
                kinds[i] = "text"
    cells: list[Cell] = []
    for i, ((word, start, end), kind) in enumerate(zip(words, kinds, strict=True)):
        if kind == "text":
            following = words[i + 1][0] if i + 1 < len(words) else ""
            for piece_kind, a, b in _segments(word, following):
                if piece_kind == "text":
                    _append_text(cells, word[a:b], start + a, start + b, line)
                else:
                    value, note, glued = classify_number(word[a:b])
                    cells.append(
                        Cell("number", word[a:b], start + a, start + b, line, value, note, glued)
                    )
        elif kind == "number":
            value, note, glued = numbers[i]
            cells.append(Cell("number", word, start, end, line, value, note, glued))
        else:
            cells.append(Cell("blank", word, start, end, line))
    return cells


def _segments(word: str, following: str = "") -> list[tuple[str, int, int]]:
    """A word split into text and the values glued to it: 行政许可97, 规章000行政规范性文件008…,
    00二、上年结转…. A row's own number (1.属于国家秘密, the 2 of 00000002.申请人…) stays with
    its label, as do ordinals (第6版), dates (2024年) and column names (数据1)."""
    if _COLUMN_NAME.fullmatch(word):
        return [("text", 0, len(word))]
    out: list[tuple[str, int, int]] = []
    pos = 0
    for m in _DIGITS.finditer(word):
        a, b = m.span()
        dated = (
            word.startswith(_DATE_UNIT, b) if b < len(word) else following.startswith(_DATE_UNIT)
        )
        if (a and word[a - 1] == "第") or dated:
            continue
        if "." not in m.group() and _ROW_NUMBER_AFTER.match(word, b):
            if b - a == 1:
                continue  # only the row's number
            b -= 1  # values, then the next row's number
        if a > pos:
            out.append(("text", pos, a))
        out.append(("number", a, b))
        pos = b
    if pos < len(word):
        out.append(("text", pos, len(word)))
    return out


def _append_text(cells: list[Cell], word: str, start: int, end: int, line: int) -> None:
    if cells and cells[-1].kind == "text" and cells[-1].line == line:
        prev = cells[-1]
        cells[-1] = Cell("text", prev.text + " " + word, prev.start, end, line)
    else:
        cells.append(Cell("text", word, start, end, line))


def _split(line: str, sep: str) -> list[tuple[str, int]]:
    parts: list[tuple[str, int]] = []
    pos = 0
    for piece in line.split(sep):
        parts.append((piece, pos))
        pos += len(piece) + 1
    return parts


# Lines and pieces longer than this (a crawl's whole page on one line) are not kept in the
# caches: they do not recur, and would hold the cache's memory.
_CACHED = 300


def tokenize(view: str, start: int, end: int) -> list[list[Cell]]:
    """Lines of cells for ``view[start:end]``; page footers and markdown rules dropped."""
    lines: list[list[Cell]] = []
    pos = start
    after_pipe = False
    for raw_line in view[start:end].split("\n"):
        at = pos
        pos += len(raw_line) + 1
        shape_of = _line_shape if len(raw_line) <= _CACHED else _line_shape.__wrapped__
        shape, after_pipe = shape_of(raw_line, after_pipe)
        if shape:
            n = len(lines)
            lines.append(
                [
                    Cell(kind, text, at + a, at + b, n, value, note, glued)
                    for kind, text, a, b, value, note, glued in shape
                ]
            )
    return lines


@lru_cache(maxsize=16384)
def _line_shape(line: str, after_pipe: bool) -> tuple[tuple[tuple, ...], bool]:
    """A line's cells as (kind, text, start, end, value, note, glued), offsets within the
    line (none for a footer, a markdown rule or a blank line), and whether the cells after
    it follow a line that ends in a pipe (``after_pipe``: this line's own ending, or the
    one before it where this line holds nothing). Tables repeat their lines (labels, rows
    of zeros) from report to report, so a bulk run works out each distinct one once."""
    if "—" in line or "–" in line or " - " in line:
        line = _INLINE_FOOTER.sub(lambda m: " " * len(m.group()), line)
    stripped = line.strip()
    if (
        not stripped
        or (len(stripped) < 24 and _FOOTER_LINE.match(line))
        or ("---" in stripped and MD_RULE.match(line))
    ):
        return (), after_pipe
    cells: list[tuple] = []
    if not stripped.strip("|"):
        # Lone pipes: each one closes an empty cell when cells end in " |" (pattern 4);
        # otherwise the first is only the separator between two cells (pattern 5).
        count = len(stripped) - (0 if after_pipe else 1)
        at = line.index("|")
        cells = [("empty", "", at, at, None, None, False)] * count
    elif "|" in line or "\t" in line:
        sep = "|" if "|" in line else "\t"
        pieces = line.split(sep)
        last = len(pieces) - 1
        at = 0
        seen_content = False
        for i, piece in enumerate(pieces):
            piece_start, at = at, at + len(piece) + 1
            if piece.isdigit() and piece.isascii():  # the common cell
                cells.append(_number_shape(piece, piece_start))
                seen_content = True
            elif not piece.strip():
                # Indentation and a pipe table's outer borders are not cells.
                if seen_content and not (i == last and sep == "|"):
                    cells.append(("empty", "", piece_start, piece_start, None, None, False))
            elif sep == "|" and "\t" in piece:
                seen_content = True
                for subpiece, suboffset in _split(piece, "\t"):
                    cells.extend(_shifted(subpiece, piece_start + suboffset))
            else:
                seen_content = True
                cells.extend(_shifted(piece, piece_start))
    else:
        cells = list(_shifted(line, 0))
    return tuple(cells), stripped.endswith("|")


def _shifted(piece: str, base: int) -> list[tuple]:
    """A piece's cell shapes, moved to where the piece stands in its line."""
    stripped = piece.strip()
    if stripped.isascii() and stripped.isdigit():  # most cells of most tables: one number
        return [_number_shape(stripped, base + piece.index(stripped))]
    shape = _piece_shape(piece) if len(piece) <= _CACHED else _piece_shape.__wrapped__(piece)
    return [
        (kind, word, base + a, base + b, value, note, glued)
        for kind, word, a, b, value, note, glued in shape
    ]


def _number_shape(digits: str, at: int) -> tuple:
    """A cell of plain ASCII digits, as a shape."""
    if len(digits) > 1 and digits[0] == "0":
        return (
            "number",
            digits,
            at,
            at + len(digits),
            int(digits),
            _LEADING_ZERO.format(digits),
            True,
        )
    return ("number", digits, at, at + len(digits), int(digits), None, False)
