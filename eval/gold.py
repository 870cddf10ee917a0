"""The gold-file format (that of ``../shared/gold``), beside the scorer that reads it: a
reviewed document becomes a gold file of the ``reviewed`` set.

A gold file names its document relative to a named root, so the set survives being moved
with its documents or read from another folder: ``shared`` (the shared materials, see
``shared_dir``) when the document lies under it, else ``gold`` (the folder of the gold
file itself)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gouji.review import Review
from gouji.template import FIELD_KEYS


def shared_dir() -> Path:
    """``$GOUJI_SHARED``, else the ``shared`` folder beside the repository."""
    env = os.environ.get("GOUJI_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared"


def _root(name: str, folder: Path) -> Path:
    return shared_dir().resolve() if name == "shared" else folder.resolve()


def document_path(gold: dict, folder: Path) -> Path:
    """The document a gold file of ``folder`` names."""
    return _root(gold.get("root", "gold"), folder) / gold["document"]


def _relative(document: Path, folder: Path) -> tuple[str, str]:
    """(root name, path relative to it) for a document whose gold file goes in ``folder``."""
    shared = _root("shared", folder)
    if document.is_relative_to(shared):
        return "shared", document.relative_to(shared).as_posix()
    return "gold", Path(os.path.relpath(document, folder.resolve())).as_posix()


def from_review(record: dict, values: dict, audit: list[dict], folder: Path) -> dict:
    """A reviewed document as a gold file of ``folder``: its current values, and the
    reviewers' calls of the report's own inconsistencies."""
    root, document = _relative(Path(record["document"]).resolve(), folder)
    inconsistencies = [
        {"key": c["key"], "printed": c["new_value"], "reviewer": c["reviewer"]}
        for c in audit
        if c["decision"] == "publisher_error"
    ]
    reviewers = sorted({c["reviewer"] for c in audit})
    return {
        "document": document,
        "root": root,
        "meta.agency": record["meta"]["agency"],
        "meta.year": record["meta"]["year"],
        "fields": {key: values.get(key) for key in FIELD_KEYS},
        "claims": record["claims"],
        "source_inconsistencies": inconsistencies,
        "notes": f"reviewed in gouji by {', '.join(reviewers) or 'nobody'}; "
        f"{len(audit)} decisions; claims as extracted",
        "layout": "reviewed",
    }


def save_reviewed(review: Review, document_id: int, folder: Path) -> Path:
    """Write the reviewed document's gold file into ``folder``, named after the document
    and its content hash; refused unless the document was read and every field of it is
    accepted or reviewed."""
    store = review.store
    record = store.record(document_id)
    if record["status"] != "ok":
        raise ValueError(f"这份报告没有读取成功（{record['error']}），不能存为标注数据")
    if not review.fully_reviewed(document_id):
        raise ValueError("这份报告还有未复核的字段，不能存为标注数据")
    values, audit = store.values(document_id), store.audit(document_id)
    gold = from_review(record, values, audit, folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{Path(record['document']).stem}-{record['sha256'][:8]}.json"
    path.write_text(json.dumps(gold, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
