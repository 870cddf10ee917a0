"""Scans → text with offsets: page images read by an embedded OCR engine, laid out by geometry.

A PDF without a text layer, or an image, is rendered page by page (pypdfium2, 144 dpi) and
read by RapidOCR (PP-OCRv4 detection and recognition models shipped inside the
``rapidocr-onnxruntime`` wheel, onnxruntime on one CPU thread: nothing is downloaded). Its text
boxes become lines by their vertical overlap, after the page's tilt is taken out; a line's
boxes are joined in x order, so a table row reads like the text layer of a PDF
(``label 21 0 0 0 0 0 21``) and every later step reads it unchanged. Each character keeps
its box and the confidence the engine gave its box, so a span maps back to the page and a
doubtful reading can be held for a person.

Pages are cached by the document's content hash, page number and the engine's settings, one
small JSON file per page written atomically, so a rerun does no OCR and cluster workers can
share one cache directory.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
import time
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from statistics import median

from .errors import NoTextLayer, OcrUnavailable

Box = tuple[float, float, float, float]

PDF_SCALE = 2.0  # pixels per PDF point: 144 dpi
ENGINE = "rapidocr-onnxruntime"
INSTALL = "python3 -m pip install rapidocr-onnxruntime"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "gouji" / "ocr"
# Bump when what is cached per page changes (engine options, rendering).
_CACHE_VERSION = 2
# A number read below this is read again in a tight crop.
_REREAD_BELOW = 0.9


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
    """One text box the engine read: its text, its corners and its confidence."""

    text: str
    quad: tuple[tuple[float, float], ...]  # four corners, page units
    confidence: float

    @property
    def box(self) -> Box:
        xs = [p[0] for p in self.quad]
        ys = [p[1] for p in self.quad]
        return (min(xs), min(ys), max(xs), max(ys))


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


@cache
def _engine():
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        if exc.name == "rapidocr_onnxruntime":
            raise OcrUnavailable(f"未安装 OCR 引擎 {ENGINE}，请先运行：{INSTALL}") from None
        # Installed, but a library under it is not (e.g. OpenCV's libGL.so.1).
        raise OcrUnavailable(f"OCR 引擎 {ENGINE} 无法加载（{exc}）") from None
    # One thread: documents are spread over processes, not threads inside one page.
    # text_score 0 keeps every box the detector found: a dropped low-score digit would
    # shift a row, while a kept one carries its low confidence into the decision.
    return RapidOCR(
        intra_op_num_threads=1,
        inter_op_num_threads=1,
        text_score=0.0,
        use_cls=False,
    )


def available() -> bool:
    try:
        _engine()
    except OcrUnavailable:
        return False
    return True


def _page_images(path: Path):
    """Each page as (PIL image, pixels per page unit)."""
    if path.suffix.lower() == ".pdf":
        import pypdfium2

        pdf = pypdfium2.PdfDocument(str(path))
        try:
            for page in pdf:
                yield page.render(scale=PDF_SCALE, grayscale=True).to_pil(), PDF_SCALE
        finally:
            pdf.close()
        return
    from PIL import Image, ImageSequence

    with Image.open(path) as image:
        for frame in ImageSequence.Iterator(image):
            yield frame.convert("L"), 1.0


def page_count(path: Path) -> int:
    if path.suffix.lower() == ".pdf":
        import pypdfium2

        pdf = pypdfium2.PdfDocument(str(path))
        try:
            return len(pdf)
        finally:
            pdf.close()
    from PIL import Image

    with Image.open(path) as image:
        return getattr(image, "n_frames", 1)


def _recognise(image, unit: float) -> list[Word]:
    """The engine's words on one page image, in page units. Where the page has a ruled
    table, no word spans a ruling line and a cell the detector missed is read on its own."""
    import numpy as np

    gray = np.asarray(image.convert("L"))
    engine = _engine()
    result, _ = engine(np.dstack([gray] * 3))
    vertical, unruled = _rules(gray)
    words: list[Word] = []
    to_split: list[Word] = []
    for quad, text, score in result or []:
        word = Word(text.strip(), tuple((float(x), float(y)) for x, y in quad), float(score))
        (to_split if _rule_cuts(word.box, vertical) else words).append(word)
    pieces = [piece for word in to_split for piece in _pieces(word.box, vertical)]
    words += _read_boxes(engine, unruled, pieces)
    words += _read_boxes(engine, unruled, _missed_cells(words, vertical, unruled))
    words = [_number_word(w) for w in words if w.text]
    doubtful = [
        i for i, w in enumerate(words) if _is_number(w.text) and w.confidence < _REREAD_BELOW
    ]
    again = _read_boxes(engine, unruled, [words[i].box for i in doubtful], keep_empty=True)
    for i, second in zip(doubtful, again, strict=True):
        words[i] = _second_reading(words[i], second)
    return [
        Word(w.text, tuple((x / unit, y / unit) for x, y in w.quad), round(w.confidence, 4))
        for w in words
    ]


def _is_number(text: str) -> bool:
    return text.replace(".", "", 1).isdigit()


def _number_word(word: Word) -> Word:
    fixed = _as_number(word.text)
    if fixed is None:
        return word
    return Word(fixed, word.quad, min(word.confidence, _MISREAD))


def _second_reading(first: Word, second: Word | None) -> Word:
    """A doubtful number read again in a tight crop: the same text at a higher confidence
    confirms it; another number leaves the lower of the two confidences on the second, the
    better-cropped reading; a reading that is no number at all (a crop a tilted line runs
    through reads as ``#``) changes nothing."""
    if second is None:
        return first
    second = _number_word(second)
    if not _is_number(second.text):
        return first
    if second.text == first.text:
        return Word(first.text, first.quad, max(first.confidence, second.confidence))
    return Word(second.text, first.quad, min(first.confidence, second.confidence))


# Letters the recogniser gives for a digit standing alone in a table cell. A word made only
# of digits and these is a number; its confidence is capped, so a check must confirm it.
_LOOKALIKES = "oOQDlI|"
_DIGIT_LOOKALIKES = str.maketrans(_LOOKALIKES, "0000111")
_MISREAD = 0.5


def _as_number(text: str) -> str | None:
    """``o`` → ``0`` where a word is a number but for such letters; else ``None``."""
    if not text or text.isdigit() or not any(ch in _LOOKALIKES for ch in text):
        return None
    fixed = text.translate(_DIGIT_LOOKALIKES)
    return fixed if fixed.replace(".", "", 1).isdigit() else None


def _rules(gray):
    """The page's vertical ruling lines (a mask), and the page with every ruling line
    whitened. A line is a straight dark run longer than any character's stroke."""
    import cv2
    import numpy as np

    dark = (gray < 200).astype(np.uint8)
    length = max(40, gray.shape[0] // 30)
    vertical = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((length, 1), np.uint8))
    horizontal = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    unruled = gray.copy()
    unruled[cv2.dilate(vertical | horizontal, np.ones((5, 5), np.uint8)) > 0] = 255
    return vertical, unruled


def _rule_columns(vertical, top: int, bottom: int, left: int, right: int) -> list[int]:
    """The x of each vertical ruling line crossing the band [top, bottom) within [left, right)."""
    import numpy as np

    band = vertical[max(0, top) : bottom, max(0, left) : right]
    columns = np.flatnonzero(band.sum(axis=0) >= 0.6 * max(1, bottom - top))
    if not len(columns):
        return []
    groups = np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1)
    return [max(0, left) + int(g.mean()) for g in groups]


def _rule_cuts(box: Box, vertical) -> list[int]:
    x0, top, x1, bottom = (int(v) for v in box)
    margin = max(3, (bottom - top) // 4)
    return _rule_columns(vertical, top, bottom, x0 + margin, x1 - margin)


def _pieces(box: Box, vertical) -> list[Box]:
    """A table's cells never share a box, but the detector sometimes joins two narrow
    cells across the line between them (``0|0`` read as ``o。``): such a box is cut at
    the line, and each piece is read again."""
    cuts = [int(box[0]), *_rule_cuts(box, vertical), int(box[2]) + 1]
    return [(a, box[1], b, box[3]) for a, b in zip(cuts, cuts[1:], strict=False) if b - a >= 4]


def _missed_cells(words: list[Word], vertical, unruled) -> list[Box]:
    """Cells of a table row the detector found no word in, though ink is printed there:
    between each two ruling lines right of the row's first number."""
    found: list[Box] = []
    for line in _lines(words):
        numbers = [w.box for w in line if _is_number(w.text)]
        if len(numbers) < 2:
            continue
        top = int(median(b[1] for b in numbers))
        bottom = int(median(b[3] for b in numbers)) + 1
        rules = _rule_columns(vertical, top, bottom, 0, vertical.shape[1])
        first = min(b[0] for b in numbers)
        rules = [r for r in rules if r >= max([x for x in rules if x <= first], default=first)]
        centres = [(w.box[0] + w.box[2]) / 2 for w in line]
        for left, right in zip(rules, rules[1:], strict=False):
            if right - left < 8 or any(left < c < right for c in centres):
                continue
            cell = (left + 3, top, right - 3, bottom)
            if (unruled[top:bottom, left + 3 : right - 3] < 128).sum() >= 12:
                found.append(cell)
    return found


def _read_boxes(engine, unruled, boxes: list[Box], keep_empty: bool = False) -> list:
    """Recognition alone on each box of the page without its lines, cropped to the ink it
    holds with a small margin: the recogniser reads a lone digit far better so (a blurred
    ``0`` in a loose crop comes out as ``。`` at 0.3, in a tight one as ``0`` at 0.99)."""
    import numpy as np

    crops, kept = [], []
    for box in boxes:
        ink = _ink(unruled, box)
        if ink is None:
            kept.append(None)
            continue  # nothing printed there
        x0, top, x1, bottom = ink
        pad = max(2, (bottom - top) // 5)
        crop = np.full((bottom - top + 2 * pad, x1 - x0 + 4 * pad), 255, np.uint8)
        crop[pad : pad + bottom - top, 2 * pad : 2 * pad + x1 - x0] = unruled[top:bottom, x0:x1]
        crops.append(np.dstack([crop] * 3))
        kept.append(ink)
    read = iter(engine.text_rec(crops)[0] if crops else [])
    words: list[Word | None] = []
    for ink in kept:
        text, score = next(read) if ink is not None else ("", 0.0)
        if text.strip():
            x0, top, x1, bottom = ink
            quad = ((x0, top), (x1, top), (x1, bottom), (x0, bottom))
            words.append(Word(text.strip(), quad, float(score)))
        elif keep_empty:
            words.append(None)
    return words


def _ink(unruled, box: Box) -> tuple[int, int, int, int] | None:
    """The bounding box of the dark pixels inside ``box`` (grown by a little above and
    below, where a detector's box may have cut a digit), or ``None`` when too few."""
    import numpy as np

    x0, top, x1, bottom = (int(v) for v in box)
    grow = (bottom - top) // 4
    top, bottom = max(0, top - grow), bottom + grow
    region = unruled[top:bottom, max(0, x0) : x1] < 160
    if region.sum() < 12:
        return None
    rows = np.flatnonzero(region.any(axis=1))
    cols = np.flatnonzero(region.any(axis=0))
    return (
        max(0, x0) + int(cols[0]),
        top + int(rows[0]),
        max(0, x0) + int(cols[-1]) + 1,
        top + int(rows[-1]) + 1,
    )


def _cache_file(settings: OcrSettings, sha256: str, page: int) -> Path:
    key = hashlib.sha256(f"{sha256}:{page}:{_CACHE_VERSION}:{PDF_SCALE}".encode()).hexdigest()
    return settings.cache_path() / key[:2] / f"{key}.json"


def _load_cached(file: Path) -> list[Word] | None:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return [Word(t, tuple(map(tuple, q)), c) for t, q, c in data["words"]]


def _store(file: Path, words: list[Word]) -> None:
    """Write-then-rename, so a reader on another worker never sees half a file."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        data = {"words": [[w.text, [list(p) for p in w.quad], w.confidence] for w in words]}
        fd, tmp = tempfile.mkstemp(dir=file.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False)
        os.replace(tmp, file)
    except OSError:
        pass  # a cache that cannot be written costs time on a rerun, not the document


def read_words(path: Path, sha256: str, settings: OcrSettings) -> tuple[list[list[Word]], int]:
    """Every page's words, from the cache where it has them; and how many pages were OCR'd."""
    total = page_count(path)
    pages: list[list[Word] | None] = [
        _load_cached(_cache_file(settings, sha256, n)) for n in range(1, total + 1)
    ]
    read = 0
    if any(p is None for p in pages):
        for number, (image, unit) in enumerate(_page_images(path), start=1):
            if pages[number - 1] is not None:
                continue
            started = time.perf_counter()
            words = _recognise(image, unit)
            pages[number - 1] = words
            _store(_cache_file(settings, sha256, number), words)
            read += 1
            if settings.progress:
                print(
                    f"OCR {path.name} 第 {number}/{total} 页：{len(words)} 个文字框，"
                    f"{time.perf_counter() - started:.1f} 秒",
                    file=sys.stderr,
                    flush=True,
                )
    return [p or [] for p in pages], read


def _skew(words: list[Word]) -> float:
    """The page's tilt in radians, from the top edges of its long boxes."""
    angles = []
    for word in words:
        (x0, y0), (x1, y1) = word.quad[0], word.quad[1]
        if x1 - x0 > 3 * abs(word.quad[3][1] - y0):
            angles.append(math.atan2(y1 - y0, x1 - x0))
    return median(angles) if len(angles) >= 5 else 0.0


def _lines(words: list[Word]) -> list[list[Word]]:
    """Words grouped into lines by vertical overlap in the untilted page, each in x order."""
    angle = _skew(words)
    cos, sin = math.cos(angle), math.sin(angle)

    def straight(word: Word) -> Box:
        xs, ys = zip(*((x * cos + y * sin, y * cos - x * sin) for x, y in word.quad), strict=True)
        return (min(xs), min(ys), max(xs), max(ys))

    placed = sorted(((straight(w), w) for w in words), key=lambda p: (p[0][1] + p[0][3]) / 2)
    heights = [b[3] - b[1] for b, _ in placed] or [1.0]
    usual = median(heights)
    lines: list[list[tuple[Box, Word]]] = []
    for box, word in placed:
        height = box[3] - box[1]
        vertical = height > 2.5 * usual and height > 2 * (box[2] - box[0])
        target = None
        if not vertical:
            for line in reversed(lines[-4:]):
                top = median(b[1] for b, _ in line)
                bottom = median(b[3] for b, _ in line)
                overlap = min(bottom, box[3]) - max(top, box[1])
                if overlap >= 0.5 * min(height, bottom - top) and (bottom - top) < 2.5 * usual:
                    target = line
                    break
        if target is None:
            lines.append([(box, word)])
        else:
            target.append((box, word))
    return [[w for _, w in sorted(line, key=lambda p: p[0][0])] for line in lines]


def layout(pages: list[list[Word]]) -> OcrText:
    """The pages' words as text (lines joined by newlines, pages too), with each
    character's box and confidence."""
    parts: list[str] = []
    boxes: list[Box | None] = []
    confidence: list[float | None] = []
    page_starts: list[int] = []

    def gap(separator: str) -> None:
        parts.append(separator)
        boxes.append(None)
        confidence.append(None)

    for number, words in enumerate(pages):
        if number:
            gap("\n")
        page_starts.append(len(boxes))
        for index, line in enumerate(_lines(words)):
            if index:
                gap("\n")
            for position, word in enumerate(line):
                if position:
                    gap(" ")
                x0, top, x1, bottom = word.box
                step = (x1 - x0) / len(word.text)
                for i in range(len(word.text)):
                    boxes.append((x0 + i * step, top, x0 + (i + 1) * step, bottom))
                    confidence.append(word.confidence)
                parts.append(word.text)
    return OcrText("".join(parts), page_starts, boxes, confidence, pages=len(pages))


def read(path: str | Path, sha256: str, settings: OcrSettings) -> OcrText:
    """OCR a scanned PDF or an image into text with offsets, boxes and confidences.
    Raises ``NoTextLayer`` when the engine finds next to no text on its pages either."""
    path = Path(path)
    _engine()  # fail with the install hint before rendering anything
    pages, read_now = read_words(path, sha256, settings)
    text = layout(pages)
    text.pages_read = read_now
    if len("".join(text.raw.split())) < 20 * max(1, len(pages)):
        raise NoTextLayer(f"扫描件经 OCR 也几乎没有读出文字（{len(pages)} 页）")
    return text
