"""Scans made at run time from PDFs with a text layer, the way offices publish them: each page
rendered to an image at a scanner's resolution, degraded as a scanner, a seal or a
photocopier would, and saved as an image-only PDF whose embedded images carry that resolution.
Nothing scanned is committed.

A *recipe* names a kind of degradation and its bounds; each page draws its own values inside
them from a seed made of the document, the recipe, the resolution and the page, so pages of
one scan differ (one tilted 0.4°, the next −1.3°) while the same inputs always give the same
bytes (the OCR page cache, keyed by content, then serves a second run).

* ``clean``: rendered and stored (JPEG quality 92–95, as scanners store pages);
* ``tilted``: turned by up to 1.5° either way;
* ``blurred``: a Gaussian blur of σ 0.6–1.0 px at 200 dpi (scaled with the resolution);
* ``jpeg``: JPEG quality 35–50;
* ``noisy``: grey noise of σ 12–20 levels and 20–60 black specks;
* ``sealed``: a colour scan with seals in red (one in four blue) ink: one over the page's
  right edge (a 骑缝章), one over each table, each ring with its star and strokes;
* ``photocopy``: grey paper (200–230), washed-out ink, uneven light, strokes thickened by
  toner (one page in two), tilt up to 0.8°, blur σ ≤ 0.7, noise, specks, JPEG 45–55.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pdfplumber
import pypdfium2
from PIL import Image, ImageDraw, ImageFilter

DPIS = (150, 200, 300)
# PIL stamps a PDF with the time it was written; a fixed stamp keeps the bytes the same.
_STAMP = time.strptime("2024-01-01", "%Y-%m-%d")


@dataclass(frozen=True)
class Recipe:
    """The bounds of one kind of degradation (each page draws its values inside them)."""

    tilt: float = 0.0  # degrees, at most, either way
    blur: float = 0.0  # Gaussian σ in pixels at 200 dpi, at most
    jpeg: tuple[int, int] = (92, 95)  # JPEG quality drawn in this range
    noise: float = 0.0  # σ in grey levels, at most
    specks: int = 0  # black specks, at most
    seals: bool = False  # a colour scan with seals
    photocopy: bool = False  # grey paper, washed-out ink, uneven light, strokes changed


RECIPES: dict[str, Recipe] = {
    "clean": Recipe(),
    "tilted": Recipe(tilt=1.5),
    "blurred": Recipe(blur=1.0),
    "jpeg": Recipe(jpeg=(35, 50)),
    "noisy": Recipe(noise=20, specks=60),
    "sealed": Recipe(seals=True),
    "photocopy": Recipe(tilt=0.8, blur=0.7, jpeg=(45, 55), noise=10, specks=30, photocopy=True),
}


def layout_name(recipe: str) -> str:
    """The eval's layout for a scan of ``recipe`` (``scan_clean``, ``scan_sealed`` …)."""
    return f"scan_{recipe}"


def _rng(*parts: object) -> random.Random:
    seed = hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()
    return random.Random(int(seed[:16], 16))


def degrade(
    image: Image.Image, recipe: Recipe, dpi: int, rng: random.Random, tables=()
) -> tuple[Image.Image, int]:
    """One rendered page (RGB, white paper) degraded by ``recipe``: the page image (``RGB``
    for a colour scan, else ``L``) and the JPEG quality to store it at. ``tables`` are the
    page's table boxes in pixels, where a seal is pressed."""
    scale = dpi / 200
    if recipe.seals:
        for centre in _seal_places(image, tables, rng):
            image = _press_seal(image, centre, dpi, rng)
    else:
        image = image.convert("L")
    if recipe.photocopy:
        image = _photocopy(image, scale, rng)
    if recipe.blur:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.0) * recipe.blur * scale))
    if recipe.noise or recipe.specks:
        image = _noise(image, recipe, scale, rng)
    if recipe.tilt:
        angle = rng.uniform(0.3, 1.0) * recipe.tilt * rng.choice((-1, 1))
        fill = 255 if image.mode == "L" else (255, 255, 255)
        if recipe.photocopy:
            fill = int(np.median(np.asarray(image)))
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=fill)
    return image, rng.randint(*recipe.jpeg)


def _seal_places(image: Image.Image, tables, rng: random.Random) -> list[tuple[int, int]]:
    """One seal over the right edge, half off the page; one inside each table."""
    width, height = image.size
    places = [(width - rng.randint(0, width // 40), rng.randint(height // 4, 3 * height // 4))]
    for x0, top, x1, bottom in tables:
        places.append((rng.randint(int(x0), int(x1)), rng.randint(int(top), int(bottom))))
    return places


def _press_seal(image: Image.Image, centre: tuple[int, int], dpi: int, rng) -> Image.Image:
    """A round seal (42 mm) in red or blue ink, multiplied onto the page as ink is: the
    print under it stays dark, the paper takes the ink's colour. The ink is uneven."""
    radius = round(42 / 25.4 * dpi / 2 * rng.uniform(0.9, 1.05))
    size = 2 * radius + 4
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    ring = max(2, round(dpi / 80))
    draw.ellipse((2, 2, size - 3, size - 3), outline=255, width=ring)
    c = size / 2
    star = [
        (
            c + (radius * (0.28 if i % 2 == 0 else 0.11)) * math.sin(i * math.pi / 5),
            c - (radius * (0.28 if i % 2 == 0 else 0.11)) * math.cos(i * math.pi / 5),
        )
        for i in range(10)
    ]
    draw.polygon(star, fill=255)
    stroke = max(1, round(dpi / 110))
    for i in range(rng.randint(10, 16)):  # the characters round the ring, as strokes
        angle = math.pi * (-0.85 + 1.7 * i / 15) - math.pi / 2
        cx = c + 0.72 * radius * math.cos(angle)
        cy = c + 0.72 * radius * math.sin(angle)
        half = radius * 0.09
        for _ in range(rng.randint(3, 6)):
            a = (cx + rng.uniform(-half, half), cy + rng.uniform(-half, half))
            b = (cx + rng.uniform(-half, half), cy + rng.uniform(-half, half))
            draw.line((a, b), fill=255, width=stroke)
    for _ in range(rng.randint(4, 8)):  # a line of text under the star
        x = c + rng.uniform(-0.35, 0.35) * radius
        y = c + rng.uniform(0.35, 0.5) * radius
        draw.line((x, y, x + rng.uniform(-8, 8), y + rng.uniform(-8, 8)), fill=255, width=stroke)
    strength = np.asarray(mask, dtype=np.float32) / 255
    mottle = np.random.default_rng(rng.getrandbits(32)).uniform(0.55, 1.0, strength.shape)
    strength *= mottle * rng.uniform(0.75, 0.95)
    ink = (
        np.array((rng.randint(200, 235), rng.randint(20, 60), rng.randint(30, 70)))
        if rng.random() < 0.75
        else np.array((rng.randint(20, 60), rng.randint(60, 100), rng.randint(180, 220)))
    )
    page = np.asarray(image.convert("RGB"), dtype=np.float32)
    x0, y0 = centre[0] - size // 2, centre[1] - size // 2
    px0, py0 = max(0, x0), max(0, y0)
    px1, py1 = min(page.shape[1], x0 + size), min(page.shape[0], y0 + size)
    if px1 <= px0 or py1 <= py0:
        return image
    s = strength[py0 - y0 : py1 - y0, px0 - x0 : px1 - x0, None]
    region = page[py0:py1, px0:px1]
    page[py0:py1, px0:px1] = region * (1 - s) + region * (ink / 255) * s
    return Image.fromarray(page.clip(0, 255).astype(np.uint8), "RGB")


def _photocopy(image: Image.Image, scale: float, rng: random.Random) -> Image.Image:
    """Grey paper, ink never quite black, light falling off across the page, and (one page
    in two) strokes fattened by toner."""
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.MinFilter(3))  # toner spread: strokes thicken
    page = np.asarray(image, dtype=np.float32) / 255
    paper = rng.uniform(200, 230)
    ink = rng.uniform(35, 75)
    height, width = page.shape
    ys, xs = np.mgrid[0:height, 0:width]
    angle = rng.uniform(0, 2 * math.pi)
    light = 1 - rng.uniform(0.04, 0.12) * (
        (xs / width - 0.5) * math.cos(angle) + (ys / height - 0.5) * math.sin(angle) + 0.5
    )
    out = (ink + (paper - ink) * page) * light
    return Image.fromarray(out.clip(0, 255).astype(np.uint8), "L")


def _noise(image: Image.Image, recipe: Recipe, scale: float, rng: random.Random) -> Image.Image:
    generator = np.random.default_rng(rng.getrandbits(32))
    page = np.asarray(image, dtype=np.float32)
    if recipe.noise:
        sigma = rng.uniform(0.6, 1.0) * recipe.noise
        grain = generator.normal(0, sigma, page.shape[:2])
        page = page + (grain[..., None] if page.ndim == 3 else grain)
    out = Image.fromarray(page.clip(0, 255).astype(np.uint8), image.mode)
    draw = ImageDraw.Draw(out)
    dark = 0 if out.mode == "L" else (20, 20, 20)
    for _ in range(rng.randint(recipe.specks // 3, recipe.specks)):
        x, y = rng.uniform(0, out.width), rng.uniform(0, out.height)
        r = rng.uniform(0.6, 1.8) * scale
        draw.ellipse((x - r, y - r, x + r, y + r), fill=dark)
    return out


def _tables(source: Path, dpi: int) -> list[list[tuple[float, float, float, float]]]:
    """Each page's ruled tables, in pixels at ``dpi`` (where a seal goes)."""
    with pdfplumber.open(str(source)) as pdf:
        return [
            [tuple(v * dpi / 72 for v in t.bbox) for t in page.find_tables()] for page in pdf.pages
        ]


def make_scan(source: Path, out: Path, recipe: str = "clean", dpi: int = 200) -> Path:
    """Write ``source`` as an image-only PDF: each page rendered at ``dpi``, degraded by
    ``RECIPES[recipe]`` with its own seeded draw, stored as JPEG at ``dpi``."""
    how = RECIPES[recipe]
    tables = _tables(source, dpi) if how.seals else None
    pages, qualities = [], []
    pdf = pypdfium2.PdfDocument(str(source))
    try:
        for number, page in enumerate(pdf):
            image = page.render(scale=dpi / 72).to_pil().convert("RGB")
            rng = _rng(source.stem, recipe, dpi, number)
            image, quality = degrade(image, how, dpi, rng, tables[number] if tables else ())
            pages.append(image)
            qualities.append(quality)
    finally:
        pdf.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    # PIL's PDF writer stores each page as JPEG at one quality: the document's lowest.
    pages[0].save(
        partial,
        format="PDF",
        save_all=True,
        append_images=pages[1:],
        resolution=dpi,
        quality=min(qualities),
        creationDate=_STAMP,
        modDate=_STAMP,
    )
    partial.replace(out)  # a scan cut off half-written is never taken for a whole one
    return out


@dataclass(frozen=True)
class Scan:
    source: Path
    path: Path
    recipe: str
    dpi: int

    @property
    def layout(self) -> str:
        return layout_name(self.recipe)


def matrix() -> list[tuple[str, int]]:
    """Every recipe at every resolution (the benchmark's table)."""
    return [(recipe, dpi) for recipe in RECIPES for dpi in DPIS]


def sample(count: int) -> list[list[tuple[str, int]]]:
    """For each of ``count`` documents, every recipe once, the resolutions turned between
    documents so each recipe meets several resolutions and each document all of them."""
    return [
        [(recipe, DPIS[(d + r) % len(DPIS)]) for r, recipe in enumerate(RECIPES)]
        for d in range(count)
    ]


def scan_all(
    sources: list[Path], folder: Path, plan: list[list[tuple[str, int]]] | None = None
) -> Iterator[Scan]:
    """Each source scanned as ``plan`` says (one list of (recipe, dpi) per source; default
    ``sample``), made once into ``folder``."""
    plan = plan or sample(len(sources))
    for source, wanted in zip(sources, plan, strict=True):
        for recipe, dpi in wanted:
            path = folder / f"{source.stem}.{recipe}.{dpi}.pdf"
            if not path.exists():
                make_scan(source, path, recipe, dpi)
            yield Scan(source, path, recipe, dpi)
