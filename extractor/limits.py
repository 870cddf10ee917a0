"""Bounds on one document's work, named once: a file that breaks one gets a failed record with
the bound's own code, and the batch goes on.

Every reader checks the bounds that concern it before it spends the work (a page count before
rendering, a page's size in pixels before drawing it, a zip member's declared size before
inflating it, a table's cells before laying out its grid); the run enforces time and memory
around the whole document. ``--limits pages=300,seconds=120`` sets them from the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from .errors import InputTooLarge, SettingsError, TooManyCells

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    bytes: int = 50 * MIB  # the file as stored
    pages: int = 300  # pages of a PDF, frames of an image
    page_pixels: int = 60_000_000  # one page as rendered for OCR (A3 at 400 dpi is 31 M)
    document_pixels: int = 600_000_000  # every page of one document together
    inflated_bytes: int = 200 * MIB  # a DOCX's (zip's) members once inflated
    cells: int = 200_000  # the cells of one document's tables, spans laid out
    seconds: float = 600.0  # one document's wall-clock time
    memory_mib: int = 3072  # one document's memory

    @classmethod
    def parse(cls, text: str, base: Limits | None = None) -> Limits:
        """``pages=300,seconds=120``: the named bounds changed, the others as ``base``."""
        base = base or cls()
        names = {f.name: f.type for f in fields(cls)}
        changed: dict[str, int | float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, value = part.partition("=")
            name = name.strip().replace("-", "_")
            if name not in names:
                raise SettingsError(f"未知的上限 {name}（可选 {'、'.join(names)}）")
            try:
                number = float(value) if name == "seconds" else int(value)
            except ValueError:
                raise SettingsError(f"上限 {name} 的值应为正数：{value!r}") from None
            if number <= 0:
                raise SettingsError(f"上限 {name} 的值应为正数：{value!r}")
            changed[name] = number
        return replace(base, **changed)

    def check_cells(self, count: int) -> None:
        """A document's tables hold ``count`` cells so far (spans laid out)."""
        if count > self.cells:
            raise TooManyCells(f"表格单元格超过上限 {self.cells} 个（合并单元格按所占格数计）")

    def check_bytes(self, size: int) -> None:
        """A file of ``size`` bytes over ``bytes``: ``InputTooLarge``, before it is read."""
        if size > self.bytes:
            raise InputTooLarge(f"文件过大：{size / MIB:.1f} MB，上限 {self.bytes / MIB:.0f} MB")

    def to_dict(self) -> dict[str, int | float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def changed(self) -> dict[str, int | float]:
        """The bounds that differ from the defaults (what a settings fingerprint names)."""
        default = Limits()
        return {k: v for k, v in self.to_dict().items() if getattr(default, k) != v}
