"""A scanned page made ready to read, and its ruled tables found from their lines.

Clean-up, each step measured on degraded renders (``python -m gouji_eval.scanbench``):

* seal ink removed by colour: each pixel takes its brightest channel, so red or blue ink
  turns to paper while black print, also under a seal, stays black; and a seal's thin
  strokes, whose colour JPEG mostly took (it keeps colour at half the resolution), by the
  colour they kept: more than their surroundings', for how dark they are;
* the paper flattened: each pixel divided by the page's background (a wide closing), so
  grey photocopy paper and light falling off across a page become white, and the ink's
  contrast is stretched back to black;
* the page turned straight by the angle of its horizontal rules (or of nothing, without).

Tables: the binarised page's horizontal and vertical runs longer than any character's stroke
are its rules; the rows and columns of a table are where its rules lie, and two neighbouring
grid cells are one (merged) cell where the rule between them is not printed. Each cell knows
its grid rows and columns, so a table reads as rows of cells whatever its merged cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Cell:
    row: int  # the grid row and column of its top-left corner
    column: int
    rows: int  # how many grid rows and columns it spans
    columns: int
    box: tuple[int, int, int, int]  # inside its rules: x0, top, x1, bottom (pixels)


@dataclass(frozen=True)
class Table:
    box: tuple[int, int, int, int]
    rows: int
    columns: int
    cells: tuple[Cell, ...]


@dataclass
class Page:
    """A page image ready to read: ``gray`` the cleaned page (ink dark, paper white), turned
    straight by ``angle`` degrees about its centre; ``ink`` its binarised ink (1 where ink),
    and its rules."""

    gray: np.ndarray
    ink: np.ndarray
    angle: float
    line_width: int  # a rule's thickness in pixels, about
    horizontal: np.ndarray  # the page's horizontal rules (1 where a rule is)
    vertical: np.ndarray  # and its vertical ones

    def to_original(self, box: Box) -> Box:
        """A box on the straightened page, on the page as scanned."""
        if not self.angle:
            return box
        h, w = self.gray.shape
        cx, cy = w / 2, h / 2
        a = math.radians(self.angle)
        cos, sin = math.cos(a), math.sin(a)
        xs, ys = [], []
        for x, y in ((box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3])):
            dx, dy = x - cx, y - cy
            xs.append(cx + dx * cos - dy * sin)
            ys.append(cy + dx * sin + dy * cos)
        return (min(xs), min(ys), max(xs), max(ys))


# Seal ink is this much more colourful than the paper around it, and, where JPEG took most of
# a thin stroke's colour, still more colourful than this share of its darkness: print under
# a seal's tint is less colourful than the tint, never more.
SEAL_COLOUR, SEAL_SHARE = 12, 0.3
# Print's strokes are darker than this share of the paper's brightness.
PRINT_DARKER = 0.6


def _gray(image: np.ndarray, dpi: float) -> np.ndarray:
    """Seal ink removed: each pixel's brightest channel, and whitened where the pixel is
    more colourful than its surroundings for how dark it is (a seal's stroke that JPEG
    left grey keeps some colour; the print under it has none of its own)."""
    import cv2

    if image.ndim != 3:
        return image
    channels = cv2.split(image)  # per-pixel max and min: numpy's are several times slower
    brightest = cv2.max(cv2.max(channels[0], channels[1]), channels[2])
    colour = brightest - cv2.min(cv2.min(channels[0], channels[1]), channels[2])
    if not (colour >= 2 * SEAL_COLOUR).any():
        return brightest  # a grey scan, or a colour one without colour ink
    around = cv2.medianBlur(colour, max(5, round(dpi / 10)) | 1)
    excess = colour.astype(np.int16) - around
    seal = (excess >= SEAL_COLOUR) & (excess >= SEAL_SHARE * (255 - brightest.astype(np.int16)))
    # JPEG lends a seal's colour to the print beside it too: print's dark core is never taken.
    seal &= brightest > PRINT_DARKER * np.percentile(brightest, 90)
    out = brightest.copy()
    out[seal] = 255
    return out


def _flatten(gray: np.ndarray, dpi: float) -> np.ndarray:
    """The page divided by its background, so paper is white and ink is dark, whatever the
    paper's grey and however the light falls; then the ink's contrast stretched."""
    import cv2

    # A closing wider than any stroke keeps only the paper; done at a quarter of the size.
    size = max(3, round(dpi / 32)) | 1
    small = cv2.resize(gray, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    background = cv2.resize(background, (gray.shape[1], gray.shape[0]))
    flat = cv2.divide(gray, np.maximum(background, 1), scale=255)
    dark = np.percentile(flat, 0.2)
    if dark > 0:
        flat = cv2.normalize(
            np.clip(flat.astype(np.float32) - dark, 0, None),
            None,
            0,
            255,
            cv2.NORM_MINMAX,
        ).astype(np.uint8)
    return flat


def _binarise(gray: np.ndarray, dpi: float) -> np.ndarray:
    import cv2

    block = max(15, round(dpi / 6)) | 1
    return (
        cv2.adaptiveThreshold(
            gray, 1, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY_INV, block, 12
        )
        & (gray < 200)
    ).astype(np.uint8)


def _runs(ink: np.ndarray, length: int, horizontal: bool) -> np.ndarray:
    import cv2

    shape = (length, 1) if horizontal else (1, length)  # cv2 sizes are (width, height)
    return cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, shape))


def _skew(ink: np.ndarray, dpi: float) -> float:
    """The page's tilt in degrees, from its long horizontal rules (0 without any)."""
    import cv2

    runs = _runs(ink, max(20, round(dpi / 5)), horizontal=True)
    count, _, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
    angles, weights = [], []
    labels = None
    for i in range(1, count):
        x, y, w, h, _ = stats[i]
        if w < dpi * 1.5 or h > w / 8:
            continue
        if labels is None:
            labels = cv2.connectedComponents(runs, connectivity=8)[1]
        ys, xs = np.nonzero(labels[y : y + h, x : x + w] == i)
        slope = np.polyfit(xs.astype(np.float64), ys.astype(np.float64), 1)[0]
        angles.append(math.degrees(math.atan(slope)))
        weights.append(w)
    if len(angles) < 2:
        return 0.0
    order = np.argsort(angles)
    cumulative = np.cumsum(np.asarray(weights)[order])
    return float(np.asarray(angles)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def prepare(image: np.ndarray, dpi: float) -> Page:
    """The page as scanned (``H×W×3`` RGB or ``H×W`` grey, ``dpi`` pixels an inch), cleaned
    and turned straight."""
    import cv2

    gray = _flatten(_gray(image, dpi), dpi)
    ink = _binarise(gray, dpi)
    angle = _skew(ink, dpi)
    if abs(angle) >= 0.05:
        h, w = gray.shape
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        gray = cv2.warpAffine(
            gray, turn, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT,
            borderValue=255,
        )  # fmt: skip
        ink = _binarise(gray, dpi)
    else:
        angle = 0.0
    horizontal, vertical = _rules(ink, dpi)
    return Page(gray, ink, angle, max(2, round(dpi / 100)), horizontal, vertical)


def _rules(ink: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """The horizontal and vertical runs of ink longer than any character's stroke, the small
    gaps blur and JPEG leave in a rule closed."""
    import cv2

    length = max(20, round(dpi / 4))
    gap = max(3, round(dpi / 40))
    horizontal = cv2.morphologyEx(
        _runs(ink, length, horizontal=True),
        cv2.MORPH_CLOSE,
        cv2.getStructuringElement(cv2.MORPH_RECT, (gap, 1)),
    )
    vertical = cv2.morphologyEx(
        _runs(ink, length, horizontal=False),
        cv2.MORPH_CLOSE,
        cv2.getStructuringElement(cv2.MORPH_RECT, (1, gap)),
    )
    return horizontal, vertical


def _positions(mask: np.ndarray, axis: int, tolerance: int) -> list[tuple[int, int, int]]:
    """Each rule of ``mask`` (runs along ``axis``, 1 = horizontal) as (position, start,
    end): components clustered by position within ``tolerance``."""
    import cv2

    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    segments = []
    for x, y, w, h, _ in stats[1:count]:
        if axis == 1:
            segments.append((y + h / 2, x, x + w))
        else:
            segments.append((x + w / 2, y, y + h))
    segments.sort()
    rules: list[list] = []
    for position, start, end in segments:
        if rules and position - rules[-1][0] <= tolerance:
            rule = rules[-1]
            rule[0] = (rule[0] * rule[3] + position) / (rule[3] + 1)
            rule[1], rule[2], rule[3] = min(rule[1], start), max(rule[2], end), rule[3] + 1
        else:
            rules.append([position, start, end, 1])
    return [(round(p), int(s), int(e)) for p, s, e, _ in rules]


def _covered(mask: np.ndarray, fixed: int, start: int, end: int, axis: int, reach: int) -> float:
    """How much of the stretch ``start``–``end`` at ``fixed`` a rule of ``mask`` covers."""
    if end <= start:
        return 0.0
    if axis == 1:  # a horizontal stretch
        band = mask[max(0, fixed - reach) : fixed + reach + 1, start:end]
        return float(band.any(axis=0).mean()) if band.size else 0.0
    band = mask[start:end, max(0, fixed - reach) : fixed + reach + 1]
    return float(band.any(axis=1).mean()) if band.size else 0.0


def tables(page: Page, dpi: float) -> list[Table]:
    """The page's ruled tables: at least two rows and two columns of cells."""
    import cv2

    horizontal, vertical = page.horizontal, page.vertical
    grown = cv2.dilate(horizontal | vertical, np.ones((5, 5), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    found = []
    for x, y, w, h, _ in stats[1:count]:
        if w < dpi or h < dpi / 4:
            continue
        region = (slice(y, y + h), slice(x, x + w))
        table = _table(horizontal[region], vertical[region], x, y, page.line_width, dpi)
        if table is not None:
            found.append(table)
    return sorted(found, key=lambda t: t.box[1])


def unruled(page: Page, found: list[Table]) -> np.ndarray:
    """The page with its tables' rules whitened, so a cell's characters are cut from paper
    (a large title's long strokes, outside any table, are not rules)."""
    import cv2

    out = page.gray.copy()
    rules = cv2.dilate(page.horizontal | page.vertical, np.ones((5, 5), np.uint8)) > 0
    for table in found:
        x0, top, x1, bottom = table.box
        region = (slice(max(0, top - 3), bottom + 4), slice(max(0, x0 - 3), x1 + 4))
        out[region][rules[region]] = 255
    return out


def _table(horizontal, vertical, x0: int, y0: int, width: int, dpi: float) -> Table | None:
    tolerance = max(4, round(dpi / 30))
    reach = width + 2
    rows = [p for p, s, e in _positions(horizontal, 1, tolerance) if e - s >= dpi / 4]
    verticals = [(p, s, e) for p, s, e in _positions(vertical, 0, tolerance) if e - s >= dpi / 8]
    columns = [p for p, _, _ in verticals]
    if verticals and rows:
        # A table cut by the page's edge has no rule there: its columns' ends are one.
        top, bottom = min(s for _, s, _ in verticals), max(e for _, _, e in verticals)
        if rows[0] - top > dpi / 8:
            rows.insert(0, top)
        if bottom - rows[-1] > dpi / 8:
            rows.append(bottom)
    if len(rows) < 3 or len(columns) < 3:
        return None
    n_rows, n_columns = len(rows) - 1, len(columns) - 1
    parent = list(range(n_rows * n_columns))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in range(n_rows):
        for c in range(n_columns):
            here = r * n_columns + c
            if c + 1 < n_columns:  # the rule between this cell and the one to its right
                shared = _covered(vertical, columns[c + 1], rows[r], rows[r + 1], 0, reach)
                if shared < 0.5:
                    parent[find(here)] = find(here + 1)
            if r + 1 < n_rows:  # and the one below
                shared = _covered(horizontal, rows[r + 1], columns[c], columns[c + 1], 1, reach)
                if shared < 0.5:
                    parent[find(here)] = find(here + n_columns)
    groups: dict[int, list[tuple[int, int]]] = {}
    for r in range(n_rows):
        for c in range(n_columns):
            groups.setdefault(find(r * n_columns + c), []).append((r, c))
    cells = []
    inset = width // 2 + 1
    for members in groups.values():
        r0 = min(r for r, _ in members)
        r1 = max(r for r, _ in members)
        c0 = min(c for _, c in members)
        c1 = max(c for _, c in members)
        if len(members) != (r1 - r0 + 1) * (c1 - c0 + 1):
            continue  # not a rectangle: a rule broken by the scan, not a merged cell
        box = (
            x0 + columns[c0] + inset,
            y0 + rows[r0] + inset,
            x0 + columns[c1 + 1] - inset,
            y0 + rows[r1 + 1] - inset,
        )
        cells.append(Cell(r0, c0, r1 - r0 + 1, c1 - c0 + 1, box))
    if n_columns < 2 or len(cells) < 4:
        return None
    cells.sort(key=lambda c: (c.row, c.column))
    box = (x0 + columns[0], y0 + rows[0], x0 + columns[-1], y0 + rows[-1])
    return Table(box, n_rows, n_columns, tuple(cells))


@dataclass
class Ink:
    """One line of ink inside a box: its box on the page (cut tight to its dark pixels), and
    the box's paper around it, where a blurred stroke's lighter edges are."""

    box: tuple[int, int, int, int]
    region: np.ndarray  # the box's pixels, specks whitened
    inner: tuple[int, int, int, int]  # the ink's place in ``region``: left, up, right, down

    def crop(self, pad: float = 0.25) -> np.ndarray:
        """The ink with a margin of ``pad`` × its height, taken from the page (paper beyond
        the box), as the recogniser was trained on."""
        left, up, right, down = self.inner
        margin = max(2, round((down - up) * pad))
        out = np.full((down - up + 2 * margin, right - left + 2 * margin), 255, np.uint8)
        top, bottom = max(0, up - margin), min(self.region.shape[0], down + margin)
        first, last = max(0, left - margin), min(self.region.shape[1], right + margin)
        out[
            top - up + margin : bottom - up + margin, first - left + margin : last - left + margin
        ] = self.region[top:bottom, first:last]
        return out

    def variant(self) -> np.ndarray:
        """A second crop of the same ink, for a doubtful reading: a wider margin, the
        strokes sharpened against the paper."""
        import cv2

        crop = self.crop(pad=0.5)
        return cv2.addWeighted(crop, 1.6, cv2.GaussianBlur(crop, (0, 0), 1.0), -0.6, 0)


INK = 160  # darker than this is ink


def _despeckled(region: np.ndarray, dpi: float) -> np.ndarray:
    """``region`` with its specks whitened: dots smaller than any character's stroke that
    stand apart from the characters (a decimal point or a comma, beside them, stays)."""
    import cv2

    # Smoothed first, so a stroke that noise broke into pieces is one piece again.
    mask = (cv2.GaussianBlur(region, (0, 0), dpi / 200) < 200).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 2:
        return region  # one mark or none: a lone dot or dash is the reader's to judge
    speck = max(3, round(dpi / 28))  # a 7 pt digit is twice as tall
    small = [i for i in range(1, count) if max(stats[i, 2], stats[i, 3]) <= speck]
    large = [i for i in range(1, count) if max(stats[i, 2], stats[i, 3]) > speck]
    if not small or not large:
        return region
    reach = dpi / 40  # a point or a comma sits closer to its characters than this
    out = region.copy()
    for i in small:
        x, y, w, h = stats[i, :4]
        near = any(
            x - reach <= stats[j, 0] + stats[j, 2]
            and stats[j, 0] - reach <= x + w
            and y - reach <= stats[j, 1] + stats[j, 3]
            and stats[j, 1] - reach <= y + h
            for j in large
        )
        if not near:
            out[labels == i] = 255
    return out


def _dot(band: np.ndarray, tallest: int) -> bool:
    """Whether a line of ink is one round dot, a speck and not a character."""
    height, width = band.shape
    if height > 0.6 * tallest or width > 1.6 * height or height > 1.6 * width:
        return False
    return band.sum() >= 0.5 * height * width


def ink_lines(gray: np.ndarray, box, dpi: float) -> list[Ink]:
    """The lines of ink inside ``box`` (a label may wrap; vertical text is a line a
    character), each cut to its ink, specks dropped."""
    x0, top, x1, bottom = (max(0, int(v)) for v in box)
    region = _despeckled(gray[top:bottom, x0:x1], dpi)
    inked = (region < INK).sum(axis=1) > 0
    smallest = max(2, round(dpi / 60))  # a stroke of 一 at 8 pt
    bands, start = [], None
    for y, on in enumerate([*inked, False]):
        if on and start is None:
            start = y
        elif not on and start is not None:
            bands.append([start, y])
            start = None
    # Parts of one character (the strokes of 三, a point under a digit) are one line.
    merged: list[list[int]] = []
    for a, b in bands:
        if merged and a - merged[-1][1] < dpi / 15 and b - merged[-1][0] < dpi / 5.5:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    inked_rows = (region < INK).sum(axis=1)
    most = max((inked_rows[a:b].sum() for a, b in merged), default=0)
    tallest = max((b - a for a, b in merged), default=0)
    out = []
    for a, b in merged:
        band = region[a:b] < INK
        if band.sum() < max(6, most / 8):  # a speck beside a line of characters
            continue
        cols = np.flatnonzero(band.any(axis=0))
        rows = np.flatnonzero(band.any(axis=1))
        left, right = int(cols[0]), int(cols[-1]) + 1
        up, down = a + int(rows[0]), a + int(rows[-1]) + 1
        if down - up < smallest and right - left < 2 * smallest:
            continue
        if len(merged) > 1 and _dot(region[up:down, left:right] < INK, tallest):
            continue
        out.append(
            Ink((x0 + left, top + up, x0 + right, top + down), region, (left, up, right, down))
        )
    return out
