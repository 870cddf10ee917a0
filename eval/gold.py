"""The gold-file format (that of ``../shared/gold``), beside the scorer that reads it: a
reviewed document becomes a gold file of the ``reviewed`` set."""

from __future__ import annotations

import json
from pathlib import Path

from gouji.review import Review
from gouji.template import FIELD_KEYS


def from_review(record: dict, values: dict, audit: list[dict]) -> dict:
    """A reviewed document as a gold file: its current values, and the reviewers' calls of
    the report's own inconsistencies."""
    inconsistencies = [
        {"key": c["key"], "printed": c["new_value"], "reviewer": c["reviewer"]}
        for c in audit
        if c["decision"] == "publisher_error"
    ]
    reviewers = sorted({c["reviewer"] for c in audit})
    return {
        "document": str(Path(record["document"]).resolve()),  # as the store keeps it
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
    and its content hash; refused while any of its fields waits for review."""
    if not review.fully_reviewed(document_id):
        raise ValueError("这份报告还有未复核的字段")
    store = review.store
    record = store.record(document_id)
    gold = from_review(record, store.values(document_id), store.audit(document_id))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{Path(record['document']).stem}-{record['sha256'][:8]}.json"
    path.write_text(json.dumps(gold, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
