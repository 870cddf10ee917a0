"""Files → one report each: copies of a page are read once.

* **Duplicates**: files with the same content (sha256) are one report; the first in the
  run's order is read, each other copy is recorded as its duplicate.
* **Twins**: a crawl saves a page as ``page.html`` and ``page.txt`` side by side (same
  folder, same name). The HTML keeps the tables' cell borders, which the text flattens into
  run-together digits, so the HTML is read and the text recorded as its twin — when the
  text's wording is indeed found in the HTML, so two different reports that happen to share
  a name are both read.

The run finds the candidates among its files (``ledger.Ledger.find_copies``, on disk, so a
crawl of a million pages costs no memory); what makes a copy is decided here.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from . import formats

DUPLICATE = "input.duplicate"
TWIN = "input.twin"

_TAG = re.compile(r"<[^>]*>")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{12,}")
_SAMPLES = 8


def role(path: Path) -> str | None:
    """A crawl's copies of one page, as its format says: ``rich`` (the markup, borders kept:
    the twin read) or ``flat`` (its text: recorded as a copy of it), else None."""
    fmt = formats.find(path)
    return fmt.twin if fmt else None


def duplicate(original: str) -> str:
    """The error of a copy of ``original``'s content."""
    return f"{DUPLICATE}: 与 {original} 内容相同"


def twin(text_file: Path, html_file: Path) -> str | None:
    """The error of ``text_file`` when it is the flattened twin of ``html_file``, else None."""
    if not _same_page(text_file, html_file):
        return None
    return f"{TWIN}: 同一页面的 {html_file} 更完整"


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
