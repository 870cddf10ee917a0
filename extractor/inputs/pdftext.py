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

# Fewer visible characters than this on a page: it has no text layer (a scan).
MIN_PAGE_TEXT = 20


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


def _han(text: str) -> int:
    return sum("\u4e00" <= ch <= "\u9fff" for ch in text)


def _judge(text: str, invisible: bool) -> str | None:
    """Why a page's text layer is not to be read (``None``: it is): it has next to none
    (a scan); it is invisible (an earlier OCR laid under a scanned image: gouji reads the
    image itself, with its own confidences); or it is garbage (letters and no Chinese, as a
    font without its character map gives)."""
    letters = [ch for ch in text if ch.isalpha()]
    if len("".join(text.split())) < MIN_PAGE_TEXT:
        return "none"
    if invisible:
        return "invisible"
    if len(letters) >= MIN_PAGE_TEXT and not _han(text):
        return "garbage"
    return None


def _invisible(pdf, index: int) -> bool:
    """Whether a page's text is all drawn invisible (text render mode 3), as the OCR layer
    a scanner lays under its image is."""
    import pypdfium2.raw as pdfium_c

    page = pdf[index]
    try:
        modes = [
            pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw)
            for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_TEXT,), max_depth=3)
        ]
    finally:
        page.close()
    return bool(modes) and all(m == pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE for m in modes)


@dataclass
class PdfPage:
    raw: str  # the page's extract_text()
    rendered: list[tuple[str, int]]  # the reader's view: (character, offset in ``raw``)
    unusable: str | None = None  # why the text layer is not read (see ``_judge``)


def read_pages(path: str | Path) -> list[PdfPage]:
    """Each page's text layer, and whether it is worth reading."""
    import pypdfium2

    out: list[PdfPage] = []
    with pdfplumber.open(str(path)) as pdf:
        raw_pdf = pypdfium2.PdfDocument(str(path))
        try:
            for index, page in enumerate(pdf.pages):
                text, chars = _page(page, 0)
                out.append(PdfPage(text, chars, _judge(text, _invisible(raw_pdf, index))))
        finally:
            raw_pdf.close()
    return out
