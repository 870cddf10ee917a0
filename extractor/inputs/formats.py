"""Input formats, one table: a file's suffix → the reader that turns it into text with offsets,
and what that format gives.

Everything that cares what kind of file a document is asks this registry: discovery (which
files are reports), the loader (which reader, ``sources.load``), the crawl (is the raw text
markup whose meta tags it reads), twins (which copy of a crawled page keeps the tables' cell
borders), the review app (has the document pages to show) and ``gouji extract --help``. A
new format is one module with a reader and one ``Format`` entry:

* a reader takes a ``Reading`` (the file's path and bytes, its hash, the document's bounds
  ``limits.Limits`` and the OCR settings) and returns a ``Loaded``; it raises an
  ``errors.InputError`` (a bound's own ``LimitExceeded`` among them) for a file it cannot read;
* built-in entries name their reader as ``"module:function"``, imported when a file of that
  format is first read (as langextract's provider router registers its providers lazily), so
  asking the registry costs no reader's imports;
* an installed package adds formats through the ``gouji.inputs.formats`` entry-point group, each entry
  point naming a ``Format`` (as llm's plugins add models); a format registered later takes a
  suffix over from an earlier one (a better PDF reader replaces the built-in one), and the
  settings fingerprint names every format not gouji's own, so ``--resume`` does not keep
  records another reader made.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from ..errors import UnsupportedFormat
from ..limits import Limits
from .ocr import OcrSettings

if TYPE_CHECKING:
    from .ocr import OcrText
    from .text import SourceText

ENTRY_POINT_GROUP = "gouji.inputs.formats"
TWIN_ROLES = ("rich", "flat")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reading:
    """What a reader is given: one file, read and hashed once by the loader."""

    path: Path
    data: bytes
    sha256: str
    format: Format
    limits: Limits = Limits()
    scans: OcrSettings = OcrSettings()

    def loaded(
        self,
        source: SourceText,
        page_starts: list[int] | None = None,
        ocr: OcrText | None = None,
        notes: list[str] | None = None,
    ) -> Loaded:
        """The reader's result for this file."""
        return Loaded(
            str(self.path), self.sha256, source, self.format, page_starts, ocr, list(notes or ())
        )


@dataclass
class Loaded:
    """One document read into text: what every later step starts from. ``notes`` say what
    the reader did that a person may want to know (bytes replaced, characters blanked)."""

    path: str
    sha256: str
    source: SourceText
    format: Format
    page_starts: list[int] | None = None  # paged formats: where each page begins in raw text
    ocr: OcrText | None = None  # scans: each raw character's box and confidence
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Format:
    """One input format: its name, its suffixes (lower case, with the dot), its reader and
    what it gives."""

    name: str
    suffixes: tuple[str, ...]
    read: Callable[[Reading], Loaded] | str  # or "module:function", imported when first used
    description: str  # in Chinese, for ``--help``
    pages: bool = False  # text in pages (``page_starts``), each page can be drawn for a reviewer
    markup: bool = False  # the raw text is markup: the crawl reads the page's meta tags in it
    twin: str | None = None  # a crawl's copies of one page: "rich" is read, "flat" is its twin
    origin: str = ""  # the package (name==version) whose entry point added it, else empty

    def __post_init__(self) -> None:
        if not self.suffixes or any(not s.startswith(".") or s != s.lower() for s in self.suffixes):
            raise ValueError(f"format {self.name}: suffixes must be lower case and start with '.'")
        if self.twin not in (None, *TWIN_ROLES):
            raise ValueError(f"format {self.name}: twin must be one of {TWIN_ROLES} or None")

    def reader(self) -> Callable[[Reading], Loaded]:
        return _resolve(self.read) if isinstance(self.read, str) else self.read


@functools.cache
def _resolve(target: str) -> Callable[[Reading], Loaded]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


BUILTIN = (
    Format(
        "text",
        (".txt", ".text"),
        "gouji.inputs.sources:read_text",
        "纯文本（UTF-8、GB18030/GBK 等编码自动识别）",
        twin="flat",
    ),
    Format(
        "markdown", (".md", ".markdown"), "gouji.inputs.sources:read_text", "Markdown", twin="flat"
    ),
    Format(
        "html",
        (".html", ".htm", ".xhtml", ".mhtml"),
        "gouji.inputs.htmltext:read",
        "网页（另存的网页、Word 导出的 HTML）",
        markup=True,
        twin="rich",
    ),
    Format(
        "pdf",
        (".pdf",),
        "gouji.inputs.sources:read_pdf",
        "PDF（读文字层；没有文字层的扫描件内置 OCR 离线识读）",
        pages=True,
    ),
    Format(
        "image",
        (".png", ".jpg", ".jpeg", ".tif", ".tiff"),
        "gouji.inputs.sources:read_image",
        "扫描图片（内置 OCR 离线识读）",
        pages=True,
    ),
    Format("docx", (".docx",), "gouji.inputs.docxtext:read_docx", "Word 文档"),
    Format("doc", (".doc",), "gouji.inputs.docxtext:read_doc", "旧版 Word 文档（需 LibreOffice）"),
)

_added: list[Format] = []  # formats registered in this process, in order


@functools.cache
def _installed() -> tuple[Format, ...]:
    """The formats installed packages add (``gouji.inputs.formats`` entry points), in name order.
    A plugin that fails to load is logged and left out: it costs its own format, not the run."""
    found = []
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        try:
            fmt = point.load()
        except Exception as exc:  # a broken plugin must not stop the formats that work
            log.warning("输入格式插件 %s 无法加载：%s", point.name, exc)
            continue
        if not isinstance(fmt, Format):
            log.warning("输入格式插件 %s 不是 gouji.Format", point.name)
            continue
        if not fmt.origin:
            dist = point.dist
            fmt = replace(fmt, origin=f"{dist.name}=={dist.version}" if dist else point.value)
        found.append(fmt)
    return tuple(found)


def reload() -> None:
    """Look for installed packages' formats again (after one is installed in a running
    process)."""
    _installed.cache_clear()
    table.cache_clear()


def register(fmt: Format) -> None:
    """Add a format in this process (worker processes forked later inherit it; a run over
    worker processes started otherwise needs the entry point): its suffixes are read by it
    from now on."""
    _added.append(fmt)
    table.cache_clear()


def unregister(fmt: Format) -> None:
    """Take back a format ``register`` added: its suffixes go back to whoever had them."""
    _added[:] = [f for f in _added if f != fmt]
    table.cache_clear()


@functools.cache
def table() -> Mapping[str, Format]:
    """Suffix → format in force: gouji's, then the installed packages', then those
    registered here, a later one taking a suffix over from an earlier one."""
    out: dict[str, Format] = {}
    for fmt in (*BUILTIN, *_installed(), *_added):
        out.update(dict.fromkeys(fmt.suffixes, fmt))
    return MappingProxyType(out)


def every() -> dict[Format, tuple[str, ...]]:
    """Each format in force and the suffixes it reads, in registration order."""
    out: dict[Format, tuple[str, ...]] = {}
    for suffix, fmt in table().items():
        out[fmt] = (*out.get(fmt, ()), suffix)
    return out


def find(path: str | Path) -> Format | None:
    """The format of a file by its suffix, or None when gouji reads no such file."""
    return table().get(Path(path).suffix.lower())


def of(path: str | Path) -> Format:
    """The format of a file; ``UnsupportedFormat`` (``input.format``) when there is none."""
    fmt = find(path)
    if fmt is None:
        suffix = Path(path).suffix.lower()
        raise UnsupportedFormat(f"不支持的文件类型 {suffix or '（无扩展名）'}")
    return fmt


def has_pages(path: str | Path) -> bool:
    """Whether the document's text comes in pages a reviewer can be shown."""
    fmt = find(path)
    return fmt is not None and fmt.pages


def added() -> list[str]:
    """The formats in force that are not gouji's own, as ``name@origin`` (``python`` for one
    registered in code): what the settings fingerprint names."""
    return [f"{f.name}@{f.origin or 'python'}" for f in every() if f not in BUILTIN]


def help_text() -> str:
    """Every format in force and its suffixes, a line each, for ``--help``."""
    return "\n".join(f"{' '.join(s)}：{f.description}" for f, s in every().items())
