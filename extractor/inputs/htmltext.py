"""HTML to text with offsets: tables become tab-separated rows on an exact cell grid.

Each rendered character remembers its offset in the raw HTML, so a value read from the
rendering keeps its span in the page. Inline runs are joined without separators, which
mends numbers that Word export splits across ``<span>``/``<font>`` runs (``20</span><span>23``).

A table's cells are counted, spans laid out, as they are parsed: past ``limits.cells`` for the
document, reading stops (``input.too_many_cells``) before any grid is built. Laying a table
out is linear in its cells.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from itertools import repeat

from ..limits import Limits
from .formats import Loaded, Reading
from .sources import decode
from .text import SourceText

_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "title",
        "ul",
    ]
)
_SKIP = frozenset({"script", "style", "noscript", "template", "head"})
_KEEP_IN_HEAD = frozenset({"title"})

Chars = list[tuple[str, int]]  # (character, raw offset)


class _Cell:
    def __init__(self, rowspan: int, colspan: int) -> None:
        self.rowspan = rowspan
        self.colspan = colspan
        self.chars: Chars = []


class _Table:
    def __init__(self) -> None:
        self.rows: list[list[_Cell]] = []
        self.cell: _Cell | None = None


def _span_attr(attrs: list[tuple[str, str | None]], name: str) -> int:
    for key, value in attrs:
        if key == name and value:
            digits = "".join(ch for ch in value if ch.isdigit())
            if digits:
                return max(1, min(int(digits), 200))
    return 1


class _Renderer(HTMLParser):
    def __init__(self, raw: str, limits: Limits) -> None:
        super().__init__(convert_charrefs=False)
        self.raw = raw
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", raw))]
        self.out: Chars = []
        self.tables: list[_Table] = []
        self.skip_depth = 0
        self.limits = limits
        self.cells = 0  # the document's table cells so far, spans laid out

    # -- positions
    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def _sink(self) -> Chars:
        if self.tables and self.tables[-1].cell is not None:
            return self.tables[-1].cell.chars
        return self.out

    def _emit(self, text: str, offset: int, step: bool = True) -> None:
        offsets = range(offset, offset + len(text)) if step else repeat(offset)
        self._sink().extend(zip(text, offsets, strict=False))  # repeat() has no end

    def _break(self) -> None:
        sink = self._sink()
        if sink and sink[-1][0] != "\n":
            sink.append(("\n", sink[-1][1]))

    # -- events
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP and tag not in _KEEP_IN_HEAD:
            if tag == "head":
                return  # keep <title> inside <head>; other head tags carry no text
            self.skip_depth += 1
            return
        if tag == "table":
            self._break()
            self.tables.append(_Table())
        elif tag == "tr" and self.tables:
            self.tables[-1].rows.append([])
            self.tables[-1].cell = None
        elif tag in ("td", "th") and self.tables:
            table = self.tables[-1]
            if not table.rows:
                table.rows.append([])
            cell = _Cell(_span_attr(attrs, "rowspan"), _span_attr(attrs, "colspan"))
            self.cells += cell.rowspan * cell.colspan
            self.limits.check_cells(self.cells)
            table.rows[-1].append(cell)
            table.cell = cell
        elif tag == "br" or tag in _BLOCK:
            self._break()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in _BLOCK:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and tag != "head":
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if tag in ("td", "th") and self.tables:
            self.tables[-1].cell = None
        elif tag == "table" and self.tables:
            table = self.tables.pop()
            self._emit_grid(table)
        elif tag in _BLOCK:
            self._break()

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        offset = self._offset()
        if not data.strip():
            # Whitespace between tags: a line break there is Word's source wrapping, not text.
            if "\n" not in data and data:
                self._emit(" ", offset)
            return
        self._emit(data, offset)

    def handle_entityref(self, name: str) -> None:
        if self.skip_depth:
            return
        offset = self._offset()
        self._emit(html.unescape(f"&{name};"), offset, step=False)

    def handle_charref(self, name: str) -> None:
        if self.skip_depth:
            return
        offset = self._offset()
        self._emit(html.unescape(f"&#{name};"), offset, step=False)

    # -- tables
    def _emit_grid(self, table: _Table) -> None:
        # Row by row, each a column → cell map (None: a position a span covers), so laying
        # out and writing the grid are linear in its cells.
        grid: list[dict[int, _Cell | None]] = []
        for r, row in enumerate(table.rows):
            c = 0
            for cell in row:
                while len(grid) < r + cell.rowspan:
                    grid.append({})
                while c in grid[r]:
                    c += 1
                for dr in range(cell.rowspan):
                    line = grid[r + dr]
                    for dc in range(cell.colspan):
                        line[c + dc] = None if dr or dc else cell
                c += cell.colspan
        if not grid:
            return
        self._break()
        for placed in grid:
            if not placed:
                continue
            line: Chars = []
            for c in range(max(placed) + 1):
                if c:
                    anchor = line[-1][1] if line else 0
                    line.append(("\t", anchor))
                cell = placed.get(c)
                if cell is not None:
                    line.extend(_flatten_cell(cell.chars))
            sink = self._sink()
            sink.extend(line)
            if sink:
                sink.append(("\n", sink[-1][1]))


def _flatten_cell(chars: Chars) -> Chars:
    """A cell's text on one line: inner breaks become spaces, runs of spaces collapse."""
    out: Chars = []
    for ch, off in chars:
        if ch in "\n\t\r" or ch.isspace() and ch != "\xa0":
            ch = " "
        if ch == " " and (not out or out[-1][0] == " "):
            continue
        out.append((ch, off))
    while out and out[-1][0] == " ":
        out.pop()
    return out


def read(reading: Reading) -> Loaded:
    """A saved web page: decoded as plain text is, then rendered."""
    raw, notes = decode(reading.data)
    rendered, offsets = render(raw, reading.limits)
    return reading.loaded(SourceText.from_rendered(raw, rendered, offsets), notes=notes)


def render(raw: str, limits: Limits | None = None) -> tuple[str, list[int]]:
    """Render HTML to text; returns the text and each character's offset in ``raw``.
    Raises ``TooManyCells`` when the tables hold more than ``limits.cells``."""
    renderer = _Renderer(raw, limits or Limits())
    renderer.feed(raw)
    renderer.close()
    while renderer.tables:  # unclosed tables still hold their cells
        renderer._emit_grid(renderer.tables.pop())
    chars: Chars = []
    for ch, off in renderer.out:
        if ch in "\r\t" and not chars:
            continue
        if ch not in "\n\t" and ch.isspace() and ch != "\xa0":
            ch = " "
        if ch == " " and chars and chars[-1][0] in " \n":
            continue
        if ch == "\n" and chars and chars[-1][0] == " ":
            chars.pop()
        chars.append((ch, off))
    text = "".join(ch for ch, _ in chars)
    return text, [off for _, off in chars]
