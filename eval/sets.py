"""The labeled set, as named sets of (document, gold) pairs.

* ``seeds`` and ``real``: documents and gold files read from ``../shared`` at run time;
* ``generated``: made by the layout generator, deterministically from a seed, into a
  temporary folder (never committed);
* ``scanned``: the real PDFs of ``real`` scanned at run time, each in every degradation of
  ``scans.RECIPES`` at a resolution of ``scans.DPIS`` (``scans.sample``; into
  ``$GOUJI_SCANS_DIR`` when set, else a temporary folder), read by OCR against the same gold;
* ``simulation``: the run-together simulation (``simulate``): adversarial crawled tables;
* ``corpus``: the unlabeled real pages of ``../shared/realcorpus`` (gold is ``None``);
* ``reviewed``: gold files saved from the review app into ``eval/reviewed/``, each naming
  its document relative to a named root (``gold.document_path``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import simulate
from .generate import LAYOUTS, generate, write
from .gold import document_path, from_people, shared_dir
from .scans import scan_all

SET_NAMES = ("seeds", "real", "generated", "simulation", "scanned", "corpus", "reviewed")
DEFAULT_SETS = ("seeds", "real", "generated", "simulation", "scanned", "corpus")
GENERATED_SEED = 0
GENERATED_COUNT = 500


def reviewed_dir() -> Path:
    """``$GOUJI_REVIEWED_DIR``, else ``eval/reviewed`` beside this file."""
    env = os.environ.get("GOUJI_REVIEWED_DIR")
    return Path(env) if env else Path(__file__).resolve().parent / "reviewed"


@dataclass
class Item:
    document: Path
    gold: dict | None
    layout: str
    gold_text: bool = True  # the gold's spans index this document's text (not so for a scan)


def _read_gold(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _seeds(shared: Path) -> Iterator[Item]:
    for doc in sorted((shared / "seeds").glob("*.txt")):
        gold = shared / "gold" / f"{doc.stem}.json"
        if gold.exists():
            yield Item(doc, _read_gold(gold), "seed")


def _real(shared: Path) -> Iterator[Item]:
    folder = shared / "realdocs"
    for gold_path in sorted((shared / "gold").glob("*.json")):
        gold = _read_gold(gold_path)
        doc = folder / gold["document"]
        layout = doc.suffix.lstrip(".")
        if doc.exists():
            yield Item(doc, gold, layout)


def _generated(count: int, seed: int) -> Iterator[Item]:
    folder = Path(tempfile.mkdtemp(prefix="gouji-generated-"))
    for i in range(count):
        report = generate(seed + i, layout=LAYOUTS[i % len(LAYOUTS)])
        write(report, folder)
        yield Item(folder / (report.name + report.suffix), report.gold, report.layout)


def _simulation() -> Iterator[Item]:
    folder = Path(tempfile.mkdtemp(prefix="gouji-simulation-"))
    for report in simulate.reports(folder):
        yield Item(folder / (report.name + report.suffix), report.gold, report.layout)


def _scanned(shared: Path) -> Iterator[Item]:
    pdfs = {item.document: item.gold for item in _real(shared) if item.layout == "pdf"}
    env = os.environ.get("GOUJI_SCANS_DIR")
    folder = Path(env) if env else Path(tempfile.mkdtemp(prefix="gouji-scanned-"))
    for scan in scan_all(sorted(pdfs), folder):
        yield Item(scan.path, pdfs[scan.source], scan.layout, gold_text=False)


def _corpus(shared: Path) -> Iterator[Item]:
    for doc in sorted((shared / "realcorpus").glob("pt_*")):
        yield Item(doc, None, doc.suffix.lstrip("."))


def reviewed_files() -> tuple[list[Item], list[Path], dict[Path, str]]:
    """The reviewed set's (document, gold) pairs, the gold files whose document is not
    where they say, and those refused, with why: gold that no person confirmed."""
    found, missing, refused = [], [], {}
    for gold_path in sorted(reviewed_dir().glob("*.json")):
        gold = _read_gold(gold_path)
        if why := from_people(gold):
            refused[gold_path] = why
            continue
        doc = document_path(gold, gold_path.parent)
        if doc.exists():
            found.append(Item(doc, gold, gold.get("layout", "reviewed")))
        else:
            missing.append(gold_path)
    return found, missing, refused


def describe_reviewed() -> list[str]:
    """Where the reviewed set is read from and how much of it was found; a line for each
    gold file refused."""
    found, missing, refused = reviewed_files()
    line = f"reviewed 集：{reviewed_dir()} 中 {len(found)} 份标注"
    if missing:
        line += f"；{len(missing)} 份找不到原文件（{', '.join(p.name for p in missing[:3])}）"
    if refused:
        line += f"；{len(refused)} 份不是人复核的，不计入"
    if not found and not missing and not refused:
        line += "（还没有；在复核界面或用 gouji gold 保存复核完毕的报告）"
    return [line, *(f"不计入 {path.name}：{why}" for path, why in refused.items())]


def items(name: str, generated_count: int = GENERATED_COUNT, seed: int = GENERATED_SEED):
    """The (document, gold) pairs of one named set; empty where its files are absent."""
    shared = shared_dir()
    if name == "seeds":
        return _seeds(shared)
    if name == "real":
        return _real(shared)
    if name == "generated":
        return _generated(generated_count, seed)
    if name == "simulation":
        return _simulation()
    if name == "scanned":
        return _scanned(shared)
    if name == "corpus":
        return _corpus(shared)
    if name == "reviewed":
        return iter(reviewed_files()[0])
    raise ValueError(f"unknown set {name}")
