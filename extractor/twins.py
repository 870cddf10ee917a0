"""Files → one report each: copies of a page are read once.

* **Duplicates**: files with the same content (sha256) are one report; the first in the
  run's order is read, each other copy is recorded as its duplicate.
* **Twins**: a crawl saves a page as ``page.html`` and ``page.txt`` side by side (same
  folder, same name). The HTML keeps the tables' cell borders, which the text flattens into
  run-together digits, so the HTML is read and the text recorded as its twin — when the
  text's wording is indeed found in the HTML, so two different reports that happen to share
  a name are both read.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from pathlib import Path

from . import formats
from .sources import sha256_of

DUPLICATE = "input.duplicate"
TWIN = "input.twin"

_TAG = re.compile(r"<[^>]*>")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{12,}")
_SAMPLES = 8


def _twin(path: Path) -> str | None:
    """A crawl's copies of one page: ``rich`` (the HTML, borders kept) or ``flat`` (text)."""
    fmt = formats.find(path)
    return fmt.twin if fmt else None


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def _same_page(text_file: Path, html_file: Path) -> bool:
    """Most of a few runs of the text's wording stand in the HTML, markup aside."""
    try:
        runs = _CJK_RUN.findall(_read(text_file))
        page = "".join(html.unescape(_TAG.sub("", _read(html_file))).split())
    except OSError:
        return False
    if not runs:
        return False
    step = max(1, len(runs) // _SAMPLES)
    picked = [run[:12] for run in runs[::step][:_SAMPLES]]
    return sum(run in page for run in picked) >= 0.75 * len(picked)


def copies(documents: list[Path]) -> dict[Path, tuple[str, Path]]:
    """Each document that is a copy of another one of the run: (the error naming the rule,
    the document that is read instead)."""
    out: dict[Path, tuple[str, Path]] = {}
    first: dict[str, Path] = {}
    for path in documents:
        digest = sha256_of(path)
        if digest is None:
            continue  # unreadable: its own record will say so
        if digest in first:
            out[path] = (f"{DUPLICATE}: 与 {first[digest]} 内容相同", first[digest])
        else:
            first[digest] = path
    pages: dict[tuple[Path, str], list[Path]] = defaultdict(list)
    for path in documents:
        pages[(path.parent, path.stem.lower())].append(path)
    for group in pages.values():
        rich = [p for p in group if _twin(p) == "rich"]
        if not rich:
            continue
        read = out[rich[0]][1] if rich[0] in out else rich[0]  # the copy of it that is read
        for path in group:
            if path not in out and _twin(path) == "flat" and _same_page(path, read):
                out[path] = (f"{TWIN}: 同一页面的 {read} 更完整", read)
    return out
