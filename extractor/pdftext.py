"""PDF to text with offsets, using pdfplumber.

pdfplumber (over pypdfium2) because it gives each character's geometry and finds tables by
their ruling lines, and because its ``extract_text()`` is the text the labeled set's spans
index. That text, pages joined by newlines, is the document's raw text; the reader sees a
rendering of it where each ruled table is laid out as tab-separated rows of its real cells,
every character still pointing at its offset in the raw text. A cell's characters are joined
as one cell: a label wrapped over three lines is one label, and digits the layout spaced
apart inside one cell (``2 0``) are one number — only because the geometry says it is one cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pdfplumber

from .errors import NoTextLayer


@dataclass
class PdfText:
    raw: str
    rendered: str
    to_raw: list[int]
    page_starts: list[int]


def _key(char: dict) -> tuple:
    return (round(char["x0"], 2), round(char["top"], 2), char["text"])


def _inside(char: dict, bbox: tuple[float, float, float, float]) -> bool:
    x = (char["x0"] + char["x1"]) / 2
    y = (char["top"] + char["bottom"]) / 2
    return bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]


def page_chars(page) -> tuple[list[dict], list[tuple[int, dict]]]:
    """The page's text lines, and each character placed at its offset in the page's raw
    text (the lines joined by newlines)."""
    lines = page.extract_text_lines(return_chars=True)
    placed: list[tuple[int, dict]] = []
    at = 0
    for line in lines:
        pos = 0
        for char in line["chars"]:
            found = line["text"].find(char["text"], pos)
            if found < 0:
                continue
            placed.append((at + found, char))
            pos = found + len(char["text"])
        at += len(line["text"]) + 1
    return lines, placed


def _page(page, base: int) -> tuple[str, list[tuple[str, int]]]:
    """The page's raw text, and its rendering as (character, raw offset) pairs."""
    lines, placed = page_chars(page)
    text = "\n".join(line["text"] for line in lines)
    where = {_key(char): base + offset for offset, char in placed}
    line_starts = []
    at = 0
    for line in lines:
        line_starts.append(at)
        at += len(line["text"]) + 1
    # A ruled box around prose is not a table: a table has rows and columns.
    tables = [
        t for t in page.find_tables() if len(t.rows) >= 2 and max(len(r.cells) for r in t.rows) >= 2
    ]
    out: list[tuple[str, int]] = []
    emitted: set[int] = set()
    for number, line in enumerate(lines):
        middle = ((line["x0"] + line["x1"]) / 2, (line["top"] + line["bottom"]) / 2)
        table = next(
            (
                i
                for i, t in enumerate(tables)
                if t.bbox[0] <= middle[0] <= t.bbox[2] and t.bbox[1] <= middle[1] <= t.bbox[3]
            ),
            None,
        )
        if table is None:
            start = base + line_starts[number]
            out.extend((ch, start + i) for i, ch in enumerate(line["text"]))
            out.append(("\n", start + len(line["text"])))
            continue
        if table in emitted:
            continue
        emitted.add(table)
        out.extend(_grid(page, tables[table], where, base + line_starts[number]))
    return text, out


def _grid(page, table, where: dict, fallback: int) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    anchor = fallback
    for row in table.rows:
        for column, bbox in enumerate(row.cells):
            if column:
                out.append(("\t", anchor))
            if bbox is None:
                continue  # covered by a merged cell
            # pdfplumber's own reading order (the raw text's), not a sort by position:
            # Latin digits sit on another baseline than the Chinese around them.
            placed = sorted(
                (where[_key(c)], c["text"])
                for c in page.chars
                if _inside(c, bbox) and c["text"].strip() and _key(c) in where
            )
            for offset, text in placed:
                anchor = offset
                out.append((text, offset))
        out.append(("\n", anchor))
    return out


def read(path: str | Path) -> PdfText:
    """Read a PDF's text layer. Raises ``NoTextLayer`` for a scan without one."""
    raw_pages: list[str] = []
    rendered: list[tuple[str, int]] = []
    page_starts: list[int] = []
    base = 0
    with pdfplumber.open(str(path)) as pdf:
        for page in pdf.pages:
            page_starts.append(base)
            text, chars = _page(page, base)
            raw_pages.append(text)
            rendered.extend(chars)
            base += len(text) + 1
        pages = len(pdf.pages)
    raw = "\n".join(raw_pages)
    if len("".join(raw.split())) < 20 * max(1, pages):
        raise NoTextLayer(
            f"PDF 没有文字层（{pages} 页几乎没有可提取的文字，可能是扫描件），需要先做 OCR"
        )
    return PdfText(raw, "".join(c for c, _ in rendered), [o for _, o in rendered], page_starts)
