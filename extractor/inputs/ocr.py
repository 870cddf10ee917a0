"""Scans → text with offsets: page images read by an embedded OCR engine.

Each page is drawn at the scan's own resolution (``render``), cleaned and turned straight
(``grid.prepare``), and its ruled tables found from their lines (``grid.tables``). A table is
read cell by cell: each cell's ink cropped and *recognised* on its own (no detection), so a
lone ``0`` is never lost and a row always has its cells; a cell holding no letter is decoded
again with the recogniser's output restricted to what a number cell can hold (digits
``. , - — /`` and ``无``), and a doubtful one read again on a second crop, kept only where the
two readings agree. Rows are the grid's rows, cells joined by tabs as a ruled PDF's text
layer is laid out, so every later step reads them unchanged. Text outside the tables, and
pages without rules, go through detection and recognition and become lines by geometry.

The engine is ``rapidocr`` 3.x: its PP-OCRv6 small detection and recognition models ship
inside the wheel and are run by onnxruntime on one CPU thread; nothing is downloaded.

Each character keeps its box and the recogniser's confidence in it, so a span maps back to
the page and a doubtful reading can be held for a person. Pages are cached by the document's
content hash, the page number and the pipeline's version, one small JSON file per page
written atomically and holding its own key, so a rerun does no OCR, cluster workers can
share one cache directory, and a file that is not what its name says is not trusted.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
import time
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING

from ..errors import NoTextLayer, OcrUnavailable
from ..limits import Limits
from . import render

if TYPE_CHECKING:  # grid brings numpy and OpenCV: imported when a page is read
    from . import grid

Box = tuple[float, float, float, float]

ENGINE = "rapidocr"
INSTALL = "python3 -m pip install rapidocr onnxruntime"
MODELS = ("PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx")
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "gouji" / "ocr"
# Bump when what is cached per page changes (engine, models, clean-up, reading).
PIPELINE_VERSION = 5
# A cell read below this is read again on a second crop.
REREAD_BELOW = 0.9
# A label or heading of at most this many characters with one read below this is read again.
SHORT_TEXT, UNSURE_TEXT = 24, 0.6
# What a number cell can hold (a Han 一 in one is a dash).
NUMBER_CHARACTERS = frozenset("0123456789.,-—/无一")


@dataclass(frozen=True)
class OcrSettings:
    """``mode`` is ``auto`` (scans are read by OCR) or ``off`` (scans are refused);
    ``cache_dir`` holds the page cache (None: ``GOUJI_OCR_CACHE``, else
    ``~/.cache/gouji/ocr``); ``progress`` prints a line for each page the engine reads."""

    mode: str = "auto"
    cache_dir: Path | None = None
    progress: bool = False

    def cache_path(self) -> Path:
        if self.cache_dir is not None:
            return Path(self.cache_dir)
        # Read here too, so that a run made without the CLI's settings (a test, a
        # notebook) still finds the cache the environment names.
        env = os.environ.get("GOUJI_OCR_CACHE")
        return Path(env) if env else DEFAULT_CACHE_DIR


@dataclass(frozen=True, slots=True)
class Word:
    """Text the engine read in one box: its text, its box (page units) and each
    character's confidence."""

    text: str
    box: Box
    confidences: tuple[float, ...]

    @property
    def confidence(self) -> float:
        return min(self.confidences, default=0.0)


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a page: a table row (its cells, an empty ``Word`` for an empty cell,
    joined by tabs) or a line of text (its words, joined by spaces)."""

    words: tuple[Word, ...]
    separator: str = " "


@dataclass
class OcrText:
    raw: str
    page_starts: list[int]
    boxes: list[Box | None]  # per raw character
    confidence: list[float | None]  # per raw character
    pages: int = 0
    pages_read: int = 0  # pages the engine read in this run (not from the cache)

    def span_confidence(self, start: int, end: int) -> float | None:
        """The lowest confidence among a span's characters (``None``: none was OCR'd)."""
        values = [c for c in self.confidence[start:end] if c is not None]
        return min(values) if values else None

    def span_box(self, start: int, end: int) -> tuple[int, Box] | None:
        """The page (1-based) and the box around a span's characters."""
        inside = [b for b in self.boxes[start:end] if b is not None]
        if not inside:
            return None
        page = bisect_right(self.page_starts, start)
        return page, union(inside)

    def evidence(self, spans: dict[str, tuple[int, int]]) -> dict:
        """The record's ``ocr`` block: the pages, and for each value read (its raw span)
        the confidence (its characters' lowest) and its page and box, for the reviewer."""
        confidence, boxes = {}, {}
        for key, span in spans.items():
            if (score := self.span_confidence(*span)) is not None:
                confidence[key] = score
            if (where := self.span_box(*span)) is not None:
                boxes[key] = [where[0], *(round(v, 1) for v in where[1])]
        return {
            "engine": ENGINE,
            "pages": self.pages,
            "pages_read": self.pages_read,
            "confidence": confidence,
            "boxes": boxes,
        }


def union(boxes: list[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


# --- the engine ---------------------------------------------------------------------------


class Recogniser:
    """A CTC text-line recogniser (PP-OCR's), run by onnxruntime on one thread. It returns
    each crop's per-step probabilities, so the caller decodes them freely or restricted to a
    set of characters."""

    HEIGHT = 48

    def __init__(self, model: Path, characters: list[str] | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.enable_cpu_mem_arena = False  # crops of every width: an arena only grows
        self.session = onnxruntime.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        if characters is None:
            meta = self.session.get_modelmeta().custom_metadata_map
            characters = meta["character"].splitlines()
        # CTC's blank first; PP-OCR's dictionaries end with a space.
        self.characters = ["", *characters, " "]
        self.allowed_numbers = [
            i
            for i, ch in enumerate(self.characters)
            if i == 0 or unicodedata.normalize("NFKC", ch) in NUMBER_CHARACTERS
        ]

    def __call__(self, crops: list) -> list:
        """Each grey crop's (steps × characters) probabilities."""
        import cv2
        import numpy as np

        order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / crops[i].shape[0])
        out: list = [None] * len(crops)
        for start in range(0, len(order), 16):
            chunk = order[start : start + 16]
            widths = [
                max(8, math.ceil(self.HEIGHT * crops[i].shape[1] / crops[i].shape[0]))
                for i in chunk
            ]
            batch = np.zeros((len(chunk), 3, self.HEIGHT, max(max(widths), 64)), np.float32)
            for row, (i, width) in enumerate(zip(chunk, widths, strict=True)):
                line = cv2.resize(crops[i], (width, self.HEIGHT), interpolation=cv2.INTER_CUBIC)
                batch[row, :, :, :width] = (line.astype(np.float32) / 127.5 - 1.0)[None]
            probabilities = self.session.run(None, {self.session.get_inputs()[0].name: batch})[0]
            for row, (i, width) in enumerate(zip(chunk, widths, strict=True)):
                steps = probabilities.shape[1] * width // batch.shape[3] + 1
                out[i] = probabilities[row, : min(steps, probabilities.shape[1])]
        return out

    def decode(self, probabilities, numbers: bool = False) -> tuple[str, tuple[float, ...]]:
        """The text and each character's confidence. The recogniser's best path says where
        its characters are (a run of steps each); with ``numbers``, each is read as the
        likeliest of what a number cell can hold (``。`` as 0, ``I`` then ``l`` as 11), and
        its confidence stays that character's share of all, so a guess stays doubtful."""
        import numpy as np

        best = probabilities.argmax(axis=1)
        starts = np.flatnonzero(np.r_[True, best[1:] != best[:-1]])
        ends = np.r_[starts[1:], len(best)]
        allowed = np.asarray(self.allowed_numbers[1:])
        text, confidences = [], []
        for start, end in zip(starts, ends, strict=True):
            if best[start] == 0:
                continue
            peak = probabilities[start:end].max(axis=0)
            index = allowed[peak[allowed].argmax()] if numbers else best[start]
            seen = self.characters[best[start]]
            if numbers and seen not in _LOOKALIKES and peak[index] < peak[0]:
                continue  # no digit's look-alike, and likelier nothing at all: a speck
            text.append(self.characters[index])
            confidences.append(round(float(peak[index]), 4))
        if numbers:
            text = ["—" if ch == "一" else ch for ch in text]
            # A point or comma stands between digits; one at a number's edge is a speck.
            while len(text) > 1 and text[-1] in ".," and any(ch.isdigit() for ch in text):
                text, confidences = text[:-1], confidences[:-1]
            while len(text) > 1 and text[0] in ".," and any(ch.isdigit() for ch in text):
                text, confidences = text[1:], confidences[1:]
        return "".join(text), tuple(confidences)


@dataclass
class Engine:
    """A detector (rapidocr's, detection only) and a recogniser, named for the page cache."""

    name: str
    detector: object
    recogniser: Recogniser

    def detect(self, gray, dpi: float) -> list[Box]:
        """The text boxes on a (straight) page, as axis-aligned boxes. The detector sees the
        page at ``DETECT_DPI``: it finds the same lines there as at 200 dpi, five times faster."""
        import cv2
        import numpy as np

        scale = min(1.0, DETECT_DPI / dpi)
        small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        found = self.detector(np.dstack([small] * 3), use_det=True, use_cls=False, use_rec=False)
        if getattr(found, "boxes", None) is None:
            return []
        return [
            tuple(
                float(v) / scale
                for v in (q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max())
            )
            for q in found.boxes
        ]


DETECT_DPI = 110


def build(name: str, det: Path, rec: Path, characters: list[str] | None = None) -> Engine:
    """An engine of these model files (the models named by path: nothing is downloaded).
    One thread, since documents are spread over processes."""
    from rapidocr import RapidOCR

    detector = RapidOCR(
        params={
            "Global.log_level": "error",
            "Global.use_cls": False,
            "Global.use_rec": False,
            "Det.model_path": str(det),
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )
    return Engine(name, detector, Recogniser(rec, characters))


def model_dir() -> Path:
    """Where the engine's wheel keeps its models."""
    import rapidocr

    return Path(rapidocr.__file__).parent / "models"


@cache
def engine() -> Engine:
    """The engine scans are read with: rapidocr's PP-OCRv6 small models, from its wheel."""
    try:
        import rapidocr  # noqa: F401
    except ImportError as exc:
        if exc.name == "rapidocr":
            raise OcrUnavailable(f"未安装 OCR 引擎 {ENGINE}，请先运行：{INSTALL}") from None
        # Installed, but a library under it is not (onnxruntime, OpenCV's libraries).
        raise OcrUnavailable(f"OCR 引擎 {ENGINE} 无法加载（{exc}）") from None
    det, rec = (model_dir() / name for name in MODELS)
    if not det.exists() or not rec.exists():
        raise OcrUnavailable(f"OCR 引擎 {ENGINE} 的模型不在安装包中（{model_dir()}）")
    try:
        return build(f"{ENGINE}:{':'.join(MODELS)}", det, rec)
    except ImportError as exc:
        raise OcrUnavailable(f"OCR 引擎 {ENGINE} 无法加载（{exc}）") from None


def available() -> bool:
    try:
        engine()
    except OcrUnavailable:
        return False
    return True


# --- one page -----------------------------------------------------------------------------


# Letters the recogniser gives for a digit standing alone (a lone 1 as ``I``, a 0 as ``o``).
_LOOKALIKES = frozenset("oOοΟ〇θΘøØОоDQIl|iLΙ")


def _is_number_text(text: str) -> bool:
    """A reading with no letter of any script in it but a digit's look-alikes: a number
    cell's (``。`` or ``o`` for ``0``, ``I`` for ``1``)."""
    return bool(text) and not any(
        unicodedata.category(ch).startswith("L") and ch not in _LOOKALIKES for ch in text
    )


def _agree(first: Word, second: tuple[str, tuple[float, ...]]) -> Word:
    """A doubtful reading read again: the same text confirms it (at the better of the two
    confidences); another text leaves the first at the lower of them."""
    text, confidences = second
    if text == first.text:
        return Word(first.text, first.box, tuple(map(max, first.confidences, confidences)))
    low = min((*first.confidences, *confidences), default=0.0)
    return Word(first.text, first.box, tuple(min(c, low) for c in first.confidences))


def _read_inks(engine: Engine, inks: list[grid.Ink]) -> list[Word]:
    """Recognition alone on each line of ink; a reading with no letter is decoded again as a
    number, and a doubtful number read again on a second crop."""
    if not inks:
        return []
    recognise = engine.recogniser
    probabilities = recognise([ink.crop() for ink in inks])
    words = []
    for ink, p in zip(inks, probabilities, strict=True):
        text, confidences = recognise.decode(p)
        if _is_number_text(text.strip()) or text.strip() in ("无", "一"):
            text, confidences = recognise.decode(p, numbers=True)
        words.append(Word(text, tuple(map(float, ink.box)), confidences))
    doubtful = [
        i
        for i, w in enumerate(words)
        if w.text and _is_number_text(w.text) and w.confidence < REREAD_BELOW
    ]
    # A doubtful label or heading (short: not a line of prose) is read again too, and the
    # surer of the two readings kept: labels place values, they are not values.
    unsure = [
        i
        for i, w in enumerate(words)
        if w.text
        and not _is_number_text(w.text)
        and len(w.text) <= SHORT_TEXT
        and w.confidence < UNSURE_TEXT
    ]
    again = recognise([inks[i].variant() for i in doubtful + unsure])
    for i, p in zip(doubtful + unsure, again, strict=True):
        if i in doubtful:
            words[i] = _agree(words[i], recognise.decode(p, numbers=True))
            continue
        text, confidences = recognise.decode(p)
        if min(confidences, default=0.0) > words[i].confidence:
            words[i] = Word(text, words[i].box, confidences)
    return words


def _cell_word(lines: list[Word], box: Box) -> Word:
    """A cell's lines of text as one word (a wrapped label is one label)."""
    if not lines:
        return Word("", box, ())
    text = "".join(w.text for w in lines)
    confidences = tuple(c for w in lines for c in w.confidences)
    return Word(text, union([w.box for w in lines]), confidences)


def _unread(ink: grid.Ink) -> Word:
    """A cell with ink the recogniser made nothing of: never an empty cell (a 0 it missed is
    not a blank), but a mark no reader takes for a number."""
    return Word("?", tuple(map(float, ink.box)), (0.0,))


def _table_lines(engine: Engine, gray, table: grid.Table, dpi: float) -> list[Line]:
    from . import grid

    cell_inks = [(cell, grid.ink_lines(gray, cell.box, dpi)) for cell in table.cells]
    words = iter(_read_inks(engine, [ink for _, found in cell_inks for ink in found]))
    by_place: dict[tuple[int, int], Word] = {}
    for cell, found in cell_inks:
        read = [next(words) for _ in found]
        kept = [w for w in read if w.text.strip()]
        if found and not kept:
            by_place[cell.row, cell.column] = _unread(found[0])
        else:
            by_place[cell.row, cell.column] = _cell_word(kept, tuple(map(float, cell.box)))
    lines = []
    for row in range(table.rows):
        cells = []
        for column in range(table.columns):
            word = by_place.get((row, column))
            cells.append(word if word is not None else Word("", (0, 0, 0, 0), ()))
        if any(w.text for w in cells):
            lines.append(Line(tuple(cells), "\t"))
    return lines


def _free_lines(engine: Engine, gray, tables: list[grid.Table], dpi) -> list[Line]:
    """Text outside the tables: detected, each box recognised, lines by geometry."""
    gray = gray.copy()
    for table in tables:
        x0, top, x1, bottom = table.box
        gray[max(0, top - 2) : bottom + 3, max(0, x0 - 2) : x1 + 3] = 255
    inks = [ink for box in engine.detect(gray, dpi) for ink in _one_line(gray, box, dpi)]
    words = [w for w in _read_inks(engine, inks) if w.text.strip()]
    return [Line(tuple(line)) for line in _lines(words)]


def _one_line(gray, box: Box, dpi: float) -> list[grid.Ink]:
    """A detected text line's ink, cut tight: the box grown by a quarter of its height
    above and below (a detector's box may cut a stroke), and of the lines of ink found
    there, the one the box holds most of (not a neighbouring line's edge)."""
    from . import grid

    x0, top, x1, bottom = box
    grow = (bottom - top) / 4
    inks = grid.ink_lines(gray, (x0, top - grow, x1, bottom + grow), dpi)
    if len(inks) <= 1:
        return inks
    return [max(inks, key=lambda i: min(i.box[3], bottom) - max(i.box[1], top))]


def read_page(image, dpi: float, engine: Engine | None = None) -> list[Line]:
    """One page image (RGB or grey array, ``dpi`` pixels an inch) read into lines, boxes in
    the image's pixels: table rows from the grid, other text by geometry, in page order."""
    from . import grid

    engine = engine or globals()["engine"]()
    page = grid.prepare(image, dpi)
    tables = grid.tables(page, dpi)
    gray = grid.unruled(page, tables)
    blocks: list[tuple[float, list[Line]]] = [
        (table.box[1], _table_lines(engine, gray, table, dpi)) for table in tables
    ]
    for line in _free_lines(engine, gray, tables, dpi):
        blocks.append((min(w.box[1] for w in line.words), [line]))
    blocks.sort(key=lambda b: b[0])
    lines = [line for _, block in blocks for line in block]
    return [_to_original(line, page) for line in lines]


def _to_original(line: Line, page: grid.Page) -> Line:
    return Line(
        tuple(
            Word(w.text, page.to_original(w.box) if w.text else w.box, w.confidences)
            for w in line.words
        ),
        line.separator,
    )


def _lines(words: list[Word]) -> list[list[Word]]:
    """Words grouped into lines by vertical overlap, each in x order (the page is straight)."""
    placed = sorted(words, key=lambda w: (w.box[1] + w.box[3]) / 2)
    heights = [w.box[3] - w.box[1] for w in placed] or [1.0]
    usual = median(heights)
    lines: list[list[Word]] = []
    for word in placed:
        box = word.box
        height = box[3] - box[1]
        vertical = height > 2.5 * usual and height > 2 * (box[2] - box[0])
        target = None
        if not vertical:
            for line in reversed(lines[-4:]):
                top = median(w.box[1] for w in line)
                bottom = median(w.box[3] for w in line)
                overlap = min(bottom, box[3]) - max(top, box[1])
                if overlap >= 0.5 * min(height, bottom - top) and (bottom - top) < 2.5 * usual:
                    target = line
                    break
        if target is None:
            lines.append([word])
        else:
            target.append(word)
    return [sorted(line, key=lambda w: w.box[0]) for line in lines]


# --- the page cache -----------------------------------------------------------------------


def _cache_key(sha256: str, page: int) -> str:
    pipeline = f"{PIPELINE_VERSION}:{ENGINE}:{':'.join(MODELS)}:{REREAD_BELOW}:{UNSURE_TEXT}"
    return hashlib.sha256(f"{sha256}:{page}:{pipeline}".encode()).hexdigest()


def _cache_file(settings: OcrSettings, key: str) -> Path:
    return settings.cache_path() / key[:2] / f"{key}.json"


def _load_cached(file: Path, key: str) -> list[Line] | None:
    """A page's lines from its cache file, or ``None`` when the file is missing, damaged,
    or not this page's (its key, kept inside it, differs): such a file is read again."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        if data["key"] != key:
            return None
        return [
            Line(
                tuple(
                    Word(str(t), tuple(float(v) for v in b), tuple(float(c) for c in cs))
                    for t, b, cs in words
                ),
                str(separator),
            )
            for separator, words in data["lines"]
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(file: Path, key: str, lines: list[Line]) -> None:
    """Write-then-rename, so a reader on another worker never sees half a file."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "key": key,
            "lines": [
                [line.separator, [[w.text, list(w.box), list(w.confidences)] for w in line.words]]
                for line in lines
            ],
        }
        fd, tmp = tempfile.mkstemp(dir=file.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False)
        os.replace(tmp, file)
    except OSError:
        pass  # a cache that cannot be written costs time on a rerun, not the document


def read_lines(
    path: Path,
    sha256: str,
    settings: OcrSettings,
    pages: Iterable[int] | None = None,
    limits: Limits | None = None,
) -> tuple[dict[int, list[Line]], int]:
    """The lines of each page (1-based; ``pages``: those only, else all), from the cache
    where it has them, in page units; and how many pages the engine read."""
    total = render.page_count(path)
    wanted = list(pages) if pages is not None else list(range(1, total + 1))
    keys = {n: _cache_key(sha256, n) for n in wanted}
    found: dict[int, list[Line]] = {}
    for n in wanted:
        lines = _load_cached(_cache_file(settings, keys[n]), keys[n])
        if lines is not None:
            found[n] = lines
    missing = [n for n in wanted if n not in found]
    if missing:
        render.check(path, limits or Limits(), missing)  # the bounds, before any drawing
        engine()  # and the install hint
    for number in missing:
        started = time.perf_counter()
        drawn = render.page_image(path, number)
        lines = read_page(drawn.pixels(), drawn.dpi)
        lines = [_scaled(line, drawn.per_unit) for line in lines]
        found[number] = lines
        _store(_cache_file(settings, keys[number]), keys[number], lines)
        if settings.progress:
            boxes = sum(1 for line in lines for w in line.words if w.text)
            print(
                f"OCR {path.name} 第 {number}/{total} 页：{boxes} 个文字框，"
                f"{time.perf_counter() - started:.1f} 秒",
                file=sys.stderr,
                flush=True,
            )
    return found, len(missing)


def _scaled(line: Line, per_unit: float) -> Line:
    return Line(
        tuple(Word(w.text, tuple(v / per_unit for v in w.box), w.confidences) for w in line.words),
        line.separator,
    )


# --- text with offsets --------------------------------------------------------------------


def layout(pages: list[list[Line]]) -> OcrText:
    """The pages' lines as text (a line's words joined by its separator, lines and pages by
    newlines), with each character's box and confidence."""
    parts: list[str] = []
    boxes: list[Box | None] = []
    confidence: list[float | None] = []
    page_starts: list[int] = []

    def gap(separator: str) -> None:
        parts.append(separator)
        boxes.append(None)
        confidence.append(None)

    for number, lines in enumerate(pages):
        if number:
            gap("\n")
        page_starts.append(len(boxes))
        for index, line in enumerate(lines):
            if index:
                gap("\n")
            for position, word in enumerate(line.words):
                if position:
                    gap(line.separator)
                text = word.text.replace("\t", " ").replace("\n", " ")
                x0, top, x1, bottom = word.box
                step = (x1 - x0) / max(1, len(text))
                for i in range(len(text)):
                    boxes.append((x0 + i * step, top, x0 + (i + 1) * step, bottom))
                    confidence.append(word.confidences[i] if i < len(word.confidences) else 0.0)
                parts.append(text)
    return OcrText("".join(parts), page_starts, boxes, confidence, pages=len(pages))


def read(
    path: str | Path, sha256: str, settings: OcrSettings, limits: Limits | None = None
) -> OcrText:
    """OCR a scanned PDF or an image into text with offsets, boxes and confidences.
    Raises ``NoTextLayer`` when the engine finds next to no text on its pages either."""
    path = Path(path)
    found, read_now = read_lines(path, sha256, settings, limits=limits)
    pages = [found[n] for n in sorted(found)]
    text = layout(pages)
    text.pages_read = read_now
    if len("".join(text.raw.split())) < 20 * max(1, len(pages)):
        raise NoTextLayer(f"扫描件经 OCR 也几乎没有读出文字（{len(pages)} 页）")
    return text
