"""Decisions → the store, and the review that follows: documents, runs, field values,
candidates, findings, review items and the append-only audit of corrections.

SQLite by default (a file); ``GOUJI_DB`` or ``--db`` takes any SQLAlchemy URL, so a team can
share a PostgreSQL database. Review items are *held* by one reviewer at a time (an atomic
conditional update), and every decision is inserted, never updated, so two reviewers saving
at once both leave their correction in the audit and the later one is the value.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    MetaData,
    Table,
    and_,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from . import checks
from .migrations import migrate
from .record import document_key
from .template import FIELD_KEYS, PART_OF_KEY

DEFAULT_DB = "sqlite:///gouji.db"
HOLD_SECONDS = 600
DECISIONS = ("take_candidate", "typed", "publisher_error", "confirm")

TABLES = (
    "runs",
    "documents",
    "field_values",
    "candidates",
    "findings",
    "review_items",
    "corrections",
)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _now() -> datetime:
    return datetime.now(UTC)


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("GOUJI_DB") or DEFAULT_DB


@dataclass
class Item:
    """A review item as the app shows it."""

    id: int
    document_id: int
    document: str
    key: str
    part: str
    rule: str
    messages: list[str]
    status: str
    held_by: str | None


class Store:
    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        self.engine = create_engine(self.url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        migrate(self.engine)
        # The tables as the numbered migrations made them: the schema is defined only there.
        reflected = MetaData()
        reflected.reflect(self.engine, only=TABLES)
        self.t = SimpleNamespace(**{name: reflected.tables[name] for name in TABLES})

    def close(self) -> None:
        self.engine.dispose()

    # ---- runs and records --------------------------------------------------------------
    def start_run(self, settings: dict, prompt_versions: dict, model: str | None) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(self.t.runs).values(
                    started_at=_now(),
                    settings=_dump(settings),
                    prompt_versions=_dump(prompt_versions),
                    model=model,
                    documents=0,
                )
            )
            return result.inserted_primary_key[0]

    def finish_run(self, run_id: int, usage: dict | None, count: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(self.t.runs)
                .where(self.t.runs.c.id == run_id)
                .values(finished_at=_now(), usage=_dump(usage), documents=count)
            )

    def save_record(self, record: dict, run_id: int | None = None) -> int:
        """Store one extraction record. Re-extracting the same file replaces its values,
        self.t.candidates, findings and open review items; settled items and corrections stay.
        Saving the record the store already holds changes nothing (a resumed run replays
        the records its output file kept)."""
        # Absolute, so the review app finds the file whatever folder it runs in.
        path = document_key(record["document"])
        text = _dump(record)
        with self.engine.begin() as conn:
            existing, held = conn.execute(
                select(self.t.documents.c.id, self.t.documents.c.record).where(
                    self.t.documents.c.path == path,
                    self.t.documents.c.sha256 == record["sha256"],
                )
            ).first() or (None, None)
            if held == text:
                return existing
            row = {
                "path": path,
                "sha256": record["sha256"],
                "template": record["template"],
                "agency": record["meta"]["agency"],
                "year": record["meta"]["year"],
                "status": record["status"],
                "error": record["error"],
                "run_id": run_id,
                "record": text,
                "updated_at": _now(),
            }
            if existing is None:
                doc_id = conn.execute(insert(self.t.documents).values(**row)).inserted_primary_key[
                    0
                ]
            else:
                doc_id = existing
                conn.execute(
                    update(self.t.documents).where(self.t.documents.c.id == doc_id).values(**row)
                )
                for table in (self.t.field_values, self.t.candidates, self.t.findings):
                    conn.execute(delete(table).where(table.c.document_id == doc_id))
                conn.execute(
                    delete(self.t.review_items).where(
                        self.t.review_items.c.document_id == doc_id,
                        self.t.review_items.c.status == "open",
                    )
                )
            if record["status"] != "ok":
                return doc_id
            spans = record.get("spans", {})
            witness = record.get("field_witness", {})
            conn.execute(
                insert(self.t.field_values),
                [
                    {
                        "document_id": doc_id,
                        "key": key,
                        "value": _dump(record["fields"][key]),
                        "status": record["field_status"][key],
                        "witness": witness.get(key),
                        "span_start": (spans.get(key) or [None, None])[0],
                        "span_end": (spans.get(key) or [None, None])[1],
                    }
                    for key in FIELD_KEYS
                ],
            )
            disputed = [
                {
                    "document_id": doc_id,
                    "key": key,
                    "witness": entry["witness"],
                    "value": _dump(entry["value"]),
                    "span_start": (entry["span"] or [None, None])[0],
                    "span_end": (entry["span"] or [None, None])[1],
                }
                for key, entries in record.get("candidates", {}).items()
                for entry in entries
            ]
            if disputed:
                conn.execute(insert(self.t.candidates), disputed)
            self._insert_findings(conn, doc_id, record["findings"])
            self._open_items(conn, doc_id, record["field_status"], record["findings"])
        return doc_id

    def _insert_findings(self, conn, doc_id: int, found: list[dict]) -> None:
        if found:
            rows = [
                {
                    "document_id": doc_id,
                    "rule": f["rule"],
                    "keys": _dump(f["keys"]),
                    "message": f["message"],
                }
                for f in found
            ]
            conn.execute(insert(self.t.findings), rows)

    def _open_items(self, conn, doc_id: int, status: dict, found: list[dict]) -> None:
        """An open item for every key in review that has no item yet."""
        have = set(
            conn.execute(
                select(self.t.review_items.c.key).where(self.t.review_items.c.document_id == doc_id)
            ).scalars()
        )
        reasons: dict[str, list[dict]] = {}
        for finding in found:
            for key in finding["keys"]:
                reasons.setdefault(key, []).append(finding)
        rows = []
        for key in FIELD_KEYS:
            if status.get(key) != "review" or key in have:
                continue
            why = reasons.get(key, [])
            rows.append(
                {
                    "document_id": doc_id,
                    "key": key,
                    "part": PART_OF_KEY[key],
                    "rule": why[0]["rule"] if why else "unplaced",
                    "messages": _dump([f["message"] for f in why] or ["读取器未能确定这个值"]),
                    "status": "open",
                }
            )
        if rows:
            _insert_ignoring_duplicates(conn, self.t.review_items, rows)

    # ---- reading -----------------------------------------------------------------------
    def documents(self) -> list[dict]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(select(self.t.documents).order_by(self.t.documents.c.id))
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    def record(self, document_id: int) -> dict:
        with self.engine.connect() as conn:
            text = conn.execute(
                select(self.t.documents.c.record).where(self.t.documents.c.id == document_id)
            ).scalar_one()
        return json.loads(text)

    def values(self, document_id: int) -> dict[str, Any]:
        """The document's current values: extracted, with the latest correction of each key."""
        with self.engine.connect() as conn:
            current = {
                r.key: _load(r.value)
                for r in conn.execute(
                    select(self.t.field_values.c.key, self.t.field_values.c.value).where(
                        self.t.field_values.c.document_id == document_id
                    )
                )
            }
            for r in conn.execute(
                select(self.t.corrections.c.key, self.t.corrections.c.new_value)
                .where(self.t.corrections.c.document_id == document_id)
                .order_by(self.t.corrections.c.id)
            ):
                current[r.key] = _load(r.new_value)
        return current

    def field_rows(self, document_id: int) -> dict[str, dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(self.t.field_values).where(self.t.field_values.c.document_id == document_id)
            ).mappings()
            return {r["key"]: dict(r) for r in rows}

    def candidates_of(self, document_id: int, key: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(self.t.candidates)
                .where(
                    self.t.candidates.c.document_id == document_id, self.t.candidates.c.key == key
                )
                .order_by(self.t.candidates.c.id)
            ).mappings()
            return [{**dict(r), "value": _load(r["value"])} for r in rows]

    def items(
        self,
        status: str | None = "open",
        rules: list[str] | None = None,
        parts: list[str] | None = None,
        document_id: int | None = None,
    ) -> list[Item]:
        query = (
            select(self.t.review_items, self.t.documents.c.path)
            .join(self.t.documents, self.t.documents.c.id == self.t.review_items.c.document_id)
            .order_by(
                self.t.review_items.c.document_id,
                self.t.review_items.c.rule,
                self.t.review_items.c.id,
            )
        )
        if status:
            query = query.where(self.t.review_items.c.status == status)
        query = self._filtered(query, rules, parts, document_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            Item(
                id=r["id"],
                document_id=r["document_id"],
                document=r["path"],
                key=r["key"],
                part=r["part"],
                rule=r["rule"],
                messages=_load(r["messages"]),
                status=r["status"],
                held_by=r["held_by"],
            )
            for r in rows
        ]

    def _filtered(
        self, query, rules: list[str] | None, parts: list[str] | None, document_id: int | None
    ):
        """The queue filters the app offers: rule, part, document."""
        items = self.t.review_items.c
        if rules:
            query = query.where(items.rule.in_(rules))
        if parts:
            query = query.where(items.part.in_(parts))
        if document_id is not None:
            query = query.where(items.document_id == document_id)
        return query

    def rules(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(self.t.review_items.c.rule).distinct()).scalars())

    def progress(self) -> tuple[int, int]:
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(self.t.review_items)).scalar_one()
            settled = conn.execute(
                select(func.count())
                .select_from(self.t.review_items)
                .where(self.t.review_items.c.status == "settled")
            ).scalar_one()
        return settled, total

    def audit(self, document_id: int | None = None) -> list[dict]:
        query = select(self.t.corrections).order_by(self.t.corrections.c.id)
        if document_id is not None:
            query = query.where(self.t.corrections.c.document_id == document_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {**dict(r), "old_value": _load(r["old_value"]), "new_value": _load(r["new_value"])}
            for r in rows
        ]

    # ---- reviewing ---------------------------------------------------------------------
    def claim(self, item_id: int, reviewer: str, seconds: int = HOLD_SECONDS) -> bool:
        """Hold an open item for ``reviewer``; false when someone else holds it."""
        now = time.time()
        with self.engine.begin() as conn:
            result = conn.execute(
                update(self.t.review_items)
                .where(
                    self.t.review_items.c.id == item_id,
                    self.t.review_items.c.status == "open",
                    or_(
                        self.t.review_items.c.held_by.is_(None),
                        self.t.review_items.c.held_by == reviewer,
                        self.t.review_items.c.held_until < now,
                    ),
                )
                .values(held_by=reviewer, held_until=now + seconds)
            )
            return result.rowcount == 1

    def next_item(
        self,
        reviewer: str,
        rules: list[str] | None = None,
        parts: list[str] | None = None,
        document_id: int | None = None,
    ) -> Item | None:
        """The reviewer's held item, else the first open item nobody holds, now held."""
        now = time.time()
        query = (
            select(self.t.review_items.c.id)
            .where(
                self.t.review_items.c.status == "open",
                or_(
                    self.t.review_items.c.held_by.is_(None),
                    self.t.review_items.c.held_by == reviewer,
                    self.t.review_items.c.held_until < now,
                ),
            )
            .order_by(
                # A CASE, not a comparison: held_by = x is NULL for unheld items, and
                # PostgreSQL sorts NULL first where SQLite sorts it last.
                case((self.t.review_items.c.held_by == reviewer, 0), else_=1),
                func.coalesce(self.t.review_items.c.skipped_at, 0),
                self.t.review_items.c.document_id,
                self.t.review_items.c.rule,
                self.t.review_items.c.id,
            )
        )
        query = self._filtered(query, rules, parts, document_id)
        with self.engine.connect() as conn:
            ids = list(conn.execute(query.limit(50)).scalars())
        for item_id in ids:
            if self.claim(item_id, reviewer):
                return self.item(item_id)
        return None

    def item(self, item_id: int) -> Item:
        with self.engine.connect() as conn:
            r = (
                conn.execute(
                    select(self.t.review_items, self.t.documents.c.path)
                    .join(
                        self.t.documents, self.t.documents.c.id == self.t.review_items.c.document_id
                    )
                    .where(self.t.review_items.c.id == item_id)
                )
                .mappings()
                .one()
            )
        return Item(
            r["id"], r["document_id"], r["path"], r["key"], r["part"], r["rule"],
            _load(r["messages"]), r["status"], r["held_by"],
        )  # fmt: skip

    def skip(self, item_id: int, reviewer: str) -> None:
        """Let go of an item; it goes to the back of the queue."""
        with self.engine.begin() as conn:
            conn.execute(
                update(self.t.review_items)
                .where(
                    self.t.review_items.c.id == item_id, self.t.review_items.c.held_by == reviewer
                )
                .values(held_by=None, held_until=None, skipped_at=time.time())
            )

    def settle(
        self,
        item_id: int,
        reviewer: str,
        decision: str,
        new_value: Any,
        note: str | None = None,
    ) -> int:
        """Record a decision on an item: the correction is inserted whatever happens, the
        item is settled, and the document's identities are checked again."""
        if decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision}")
        item = self.item(item_id)
        old = self.values(item.document_id).get(item.key)
        with self.engine.begin() as conn:
            correction_id = conn.execute(
                insert(self.t.corrections).values(
                    document_id=item.document_id,
                    key=item.key,
                    item_id=item_id,
                    old_value=_dump(old),
                    new_value=_dump(new_value),
                    decision=decision,
                    reviewer=reviewer,
                    created_at=_now(),
                    note=note,
                )
            ).inserted_primary_key[0]
            conn.execute(
                update(self.t.review_items)
                .where(self.t.review_items.c.id == item_id)
                .values(
                    status="settled",
                    settled_by=reviewer,
                    settled_at=_now(),
                    held_by=None,
                    held_until=None,
                )
            )
        self.recheck(item.document_id)
        return correction_id

    def recheck(self, document_id: int) -> list[dict]:
        """Run the identities again on the current values; a newly broken one opens items
        for the keys it names that nobody has looked at yet."""
        values = self.values(document_id)
        settled = self._settled_keys(document_id)
        status = {key: row["status"] for key, row in self.field_rows(document_id).items()}
        known = {k for k in FIELD_KEYS if status.get(k) == "accepted" or k in settled}
        acknowledged = {
            c["key"] for c in self.audit(document_id) if c["decision"] == "publisher_error"
        }
        broken = [
            f.to_dict()
            for f in checks.check_identities(values, known)
            if not acknowledged
            & set(f.keys)  # a reviewer already called this the report's own error
        ]
        flagged = dict(status)
        for finding in broken:
            for key in finding["keys"]:
                if key not in settled:
                    flagged[key] = "review"
        with self.engine.begin() as conn:
            self._open_items(conn, document_id, flagged, broken)
        return broken

    def identity_breaks(self, document_id: int) -> list[dict]:
        """Identities broken by the document's current values (any value read or settled)."""
        values = self.values(document_id)
        settled = self._settled_keys(document_id)
        status = {key: row["status"] for key, row in self.field_rows(document_id).items()}
        known = {
            k for k in FIELD_KEYS
            if values.get(k) is not None or status.get(k) == "accepted" or k in settled
        }  # fmt: skip
        return [f.to_dict() for f in checks.check_identities(values, known)]

    def _settled_keys(self, document_id: int) -> set[str]:
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(self.t.review_items.c.key).where(
                        and_(
                            self.t.review_items.c.document_id == document_id,
                            self.t.review_items.c.status == "settled",
                        )
                    )
                ).scalars()
            )

    def add_findings(self, path: str, sha256: str | None, found: list[dict], review: bool) -> None:
        """Findings made after a document was stored (checks across years); with ``review``
        they open items for the keys they name. A finding the document already has is not
        added again."""
        path = document_key(path)
        with self.engine.begin() as conn:
            doc_id = conn.execute(
                select(self.t.documents.c.id).where(
                    self.t.documents.c.path == path, self.t.documents.c.sha256 == sha256
                )
            ).scalar()
            if doc_id is None:
                return
            have = {
                (rule, keys, message)
                for rule, keys, message in conn.execute(
                    select(
                        self.t.findings.c.rule, self.t.findings.c["keys"], self.t.findings.c.message
                    ).where(self.t.findings.c.document_id == doc_id)
                )
            }
            found = [f for f in found if (f["rule"], _dump(f["keys"]), f["message"]) not in have]
            self._insert_findings(conn, doc_id, found)
            if review:
                flagged = {key: "review" for f in found for key in f["keys"]}
                self._open_items(conn, doc_id, flagged, found)

    def fully_reviewed(self, document_id: int) -> bool:
        return not self.items(status="open", document_id=document_id)

    # ---- what leaves the store ---------------------------------------------------------
    def export_rows(self) -> Iterator[dict]:
        """One row per document, SCHEMA.md keys, reviewed values replacing extracted ones."""
        for doc in self.documents():
            row = {
                "document": doc["path"],
                "sha256": doc["sha256"],
                "status": doc["status"],
                "template": doc["template"],
                "meta.agency": doc["agency"],
                "meta.year": doc["year"],
            }
            values = self.values(doc["id"]) if doc["status"] == "ok" else {}
            row.update({key: values.get(key) for key in FIELD_KEYS})
            yield row

    def gold(self, document_id: int) -> dict:
        """The document as a gold file of the labeled set (the format of ../shared/gold)."""
        record = self.record(document_id)
        audit = self.audit(document_id)
        values = self.values(document_id)
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

    def save_gold(self, document_id: int, folder: Path) -> Path:
        if not self.fully_reviewed(document_id):
            raise ValueError("这份报告还有未复核的字段")
        gold = self.gold(document_id)
        record = self.record(document_id)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{Path(record['document']).stem}-{record['sha256'][:8]}.json"
        path.write_text(json.dumps(gold, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return path


def _insert_ignoring_duplicates(conn, table: Table, rows: list[dict]) -> None:
    """Two reviewers' rechecks may open the same item at once; the second insert is a no-op."""
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        module = __import__(f"sqlalchemy.dialects.{dialect}", fromlist=["insert"])
        conn.execute(module.insert(table).on_conflict_do_nothing(), rows)
        return
    for row in rows:
        # The savepoint rolls back the failed insert before the error is let go.
        with contextlib.suppress(IntegrityError), conn.begin_nested():
            conn.execute(insert(table).values(**row))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets reviewers read while one writes; a busy timeout queues concurrent writers
    instead of failing them."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
