"""The gold-file format (that of ``../shared/gold``), beside the scorer that reads it: a
document people confirmed becomes a gold file of the ``reviewed`` set.

Gold comes only from people: a document is saved only when a named reviewer confirmed it
(``why_not_gold``), and the eval reads only gold files that name their reviewers
(``from_people``), so gouji is never scored against its own output.

A gold file names its document relative to a named root, so the set survives being moved
with its documents or read from another folder: ``shared`` (the shared materials, see
``shared_dir``) when the document lies under it, else ``gold`` (the folder of the gold
file itself)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gouji.storage.review import DECISIONS, DecisionKind, Filter, Review
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


def why_not_gold(review: Review, document_id: int) -> str | None:
    """Why the document cannot be a gold file yet (``None`` when it can): gold comes only
    from people. A document is gold when it was read, nothing of it waits for review, and a
    named reviewer confirmed it since it was last extracted — the whole report, after
    seeing it (``A`` or the gold button in 整份报告), or each of its values by a decision."""
    record = review.store.record(document_id)
    if record["status"] != "ok":
        return f"没有读取成功（{record['error']}）"
    if waiting := review.reads.count(Filter(document_id=document_id)):
        return f"还有待复核的字段（{waiting} 项）"
    if review.reads.confirmations(document_id):
        return None
    decided = len(review.reads.decided_by_people(document_id))
    if decided < len(FIELD_KEYS):
        return f"没有复核人确认整份报告（{len(FIELD_KEYS)} 项中只有 {decided} 项由人决定）"
    return None


def from_review(review: Review, document_id: int, folder: Path) -> dict:
    """A document people confirmed, as a gold file of ``folder``: its current values, who
    confirmed it and how, and the reviewers' calls of the report's own inconsistencies.
    Its meta is the one shown with the tables when a whole report was confirmed, else not
    labelled (null); its claims are not labelled (null): nobody reviews the prose's."""
    store, reads = review.store, review.reads
    record = store.record(document_id)
    root, document = _relative(Path(record["document"]).resolve(), folder)
    audit = store.audit(document_id)
    confirmations = reads.confirmations(document_id)
    decided = reads.decided_by_people(document_id)
    inconsistencies = [
        {"key": key, "printed": c.new_value, "reviewer": c.reviewer}
        for key, c in decided.items()
        if c.decision == DecisionKind.PUBLISHER_ERROR
    ]
    confirmed_by = sorted({c.reviewer for c in confirmations})
    reviewers = sorted({*confirmed_by, *(c.reviewer for c in decided.values())})
    how = (
        f"whole report confirmed by {', '.join(confirmed_by)}"
        if confirmed_by
        else "every value decided by a reviewer"
    )
    meta = record["meta"] if confirmed_by else {"agency": None, "year": None}
    return {
        "document": document,
        "root": root,
        "meta.agency": meta["agency"],
        "meta.year": meta["year"],
        "fields": store.values(document_id),
        "claims": None,
        "source_inconsistencies": inconsistencies,
        "reviewed_by": reviewers,
        "confirmed_by": confirmed_by,
        "decisions": sum(1 for c in audit if c.decision in DECISIONS),
        "notes": f"reviewed in gouji by {', '.join(reviewers)}: {how}; "
        f"{len(decided)} values decided by people; claims not reviewed",
        "layout": "reviewed",
    }


def save_reviewed(review: Review, document_id: int, folder: Path) -> Path:
    """Write the document's gold file into ``folder``, named after the document and its
    content hash; refused (``ValueError``, saying why) unless people confirmed it
    (``why_not_gold``)."""
    if why := why_not_gold(review, document_id):
        raise ValueError(f"不能存为标注数据：{why}")
    record = review.store.record(document_id)
    gold = from_review(review, document_id, folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{Path(record['document']).stem}-{record['sha256'][:8]}.json"
    path.write_text(json.dumps(gold, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def from_people(gold: dict) -> str | None:
    """Why a gold file of the ``reviewed`` set does not come from people (``None`` when it
    does): one saved before gold needed a reviewer's confirmation names nobody, or keeps
    the values and claims gouji extracted unseen."""
    if gold.get("reviewed_by") and all(str(n).strip() for n in gold["reviewed_by"]):
        return None
    notes = gold.get("notes") or ""
    if "by nobody" in notes or "reviewed_by" in gold:
        return f"没有任何复核人（{notes.split(';')[0] or '未记录复核人'}），是 gouji 自己的结果"
    return "旧格式：没有记录复核人确认整份报告，其中未经复核的值和正文数字是 gouji 自己的结果"
