"""Decisions → the store: documents, runs, field values, candidates, findings and review
items as extraction leaves them (ingestion), and reads of them and of the append-only audit
of corrections (rows as dicts keyed by column name). The review queue that works on these
tables is ``review``.

SQLite by default (a file); ``GOUJI_DB`` or ``--db`` takes any SQLAlchemy URL, so a team can
share a PostgreSQL database. Several runs may write one store at once: the writes of one
document are serialised (``migrations.lock``), and text is cleaned of the control characters a
database refuses (PostgreSQL refuses NUL) before it goes in (``clean``). A URL is shown to
people with its password masked (``shown_url``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import MetaData, Table, create_engine, delete, event, insert, select, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError

from ..checking.record import document_key, empties
from ..rules import RULES
from ..status import Empty, FieldStatus
from ..template import FIELD_KEYS, PART_OF_KEY
from .migrations import lock, migrate
from .rows import CandidateRow, Correction, DocumentRow, FieldRow, FindingRow, span_of

DEFAULT_DB = "sqlite:///gouji.db"

TABLES = (
    "runs",
    "documents",
    "field_values",
    "candidates",
    "findings",
    "review_items",
    "corrections",
    "reviewer_sessions",
    "confirmations",
)


def dump(value: Any) -> str:
    """A value as the store keeps it (JSON text)."""
    return json.dumps(value, ensure_ascii=False)


def load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def now() -> datetime:
    return datetime.now(UTC)


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("GOUJI_DB") or DEFAULT_DB


_SECRET_PARAMETER = re.compile(r"pass|pwd|secret|token|key", re.I)


def shown_url(url: str) -> str:
    """The store's URL as people may see it (terminal, logs): its password, and any
    query parameter that carries one, as ``***``."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", url)
    query = {k: "***" if _SECRET_PARAMETER.search(k) else v for k, v in parsed.query.items()}
    return parsed.set(query=query).render_as_string(hide_password=True)


# Characters a database refuses or a reader should not get: control characters but tab and
# line breaks, and lone surrogates (a file name's undecodable bytes).
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean(value: Any) -> Any:
    """``value`` (a record, a finding) with each such character replaced by U+FFFD, one for
    one, so spans and offsets still hold."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def store_exists(url: str) -> bool:
    """Whether the store at ``url`` is there: a SQLite file must exist; a database server
    is taken at its word."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return True
    return Path(parsed.database).exists()


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

    def reading(self, conn: Connection | None = None) -> contextlib.AbstractContextManager:
        """``conn`` when a caller reads inside its own transaction, else a new connection."""
        return contextlib.nullcontext(conn) if conn is not None else self.engine.connect()

    # ---- runs and records --------------------------------------------------------------
    def start_run(self, settings: dict, prompt_versions: dict, model: str | None) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(self.t.runs).values(
                    started_at=now(),
                    settings=dump(settings),
                    prompt_versions=dump(prompt_versions),
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
                .values(finished_at=now(), usage=dump(usage), documents=count)
            )

    def save_record(
        self, record: dict, run_id: int | None = None, conn: Connection | None = None
    ) -> int:
        """Store one extraction record. A document is its path and its content (sha256):
        re-extracting the same content replaces its values, candidates, findings and open
        review items, while settled items and corrections stay; a file whose content changed
        is a new document beside the old one. Saving the record the store already holds
        changes nothing (a resumed run replays the records its output file kept). With
        ``conn``, inside the caller's transaction (``gouji serve`` commits a turn's records and
        their jobs at once)."""
        record = clean(record)
        # Absolute, so the review app finds the file whatever folder it runs in.
        path = clean(document_key(record["document"]))
        text = dump(record)
        writing = contextlib.nullcontext(conn) if conn is not None else self.engine.begin()
        with writing as conn:
            lock(conn, path)  # two runs saving it at once: one, then the other
            existing, held = conn.execute(
                select(self.t.documents.c.id, self.t.documents.c.record).where(
                    self.t.documents.c.path == path,
                    self.t.documents.c.sha256 == record["sha256"],
                )
            ).first() or (None, None)
            if held == text:
                return existing
            doc_id = self._write_document(conn, existing, path, record, text, run_id)
            if record["status"] != "ok":
                return doc_id
            self._insert_values(conn, doc_id, record)
            self._insert_findings(conn, doc_id, record["findings"])
            self.open_items(conn, doc_id, record["field_status"], record["findings"])
        return doc_id

    def _write_document(
        self,
        conn: Connection,
        existing: int | None,
        path: str,
        record: dict,
        text: str,
        run_id: int | None,
    ) -> int:
        """The document's row, new or replacing ``existing``'s, whose values, candidates,
        findings and open review items go with it."""
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
            "updated_at": now(),
        }
        if existing is None:
            return conn.execute(insert(self.t.documents).values(**row)).inserted_primary_key[0]
        conn.execute(
            update(self.t.documents).where(self.t.documents.c.id == existing).values(**row)
        )
        for table in (self.t.field_values, self.t.candidates, self.t.findings):
            conn.execute(delete(table).where(table.c.document_id == existing))
        conn.execute(
            delete(self.t.review_items).where(
                self.t.review_items.c.document_id == existing,
                self.t.review_items.c.status == "open",
            )
        )
        return existing

    def _insert_values(self, conn: Connection, doc_id: int, record: dict) -> None:
        """A read record's 200 field values and the candidates its witnesses disputed."""
        spans = record.get("spans", {})
        witness = record.get("field_witness", {})
        empty = empties(record)
        conn.execute(
            insert(self.t.field_values),
            [
                {
                    "document_id": doc_id,
                    "key": key,
                    "value": dump(record["fields"][key]),
                    "status": record["field_status"][key],
                    "empty": empty.get(key),
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
                "value": dump(entry["value"]),
                "span_start": (entry["span"] or [None, None])[0],
                "span_end": (entry["span"] or [None, None])[1],
            }
            for key, entries in record.get("candidates", {}).items()
            for entry in entries
        ]
        if disputed:
            conn.execute(insert(self.t.candidates), disputed)

    def _insert_findings(self, conn, doc_id: int, found: list[dict]) -> None:
        if found:
            rows = [
                {
                    "document_id": doc_id,
                    "rule": f["rule"],
                    "keys": dump(f["keys"]),
                    "message": f["message"],
                }
                for f in found
            ]
            conn.execute(insert(self.t.findings), rows)

    def open_items(
        self,
        conn: Connection,
        doc_id: int,
        status: dict,
        found: list[dict],
        opened_by: str = "extract",
    ) -> None:
        """An open item for every key in review that has no item yet; ``opened_by`` says
        what opened it (extraction, a check across years, a recheck after a decision)."""
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
            if status.get(key) != FieldStatus.REVIEW or key in have:
                continue
            why = reasons.get(key, [])
            rows.append(
                {
                    "document_id": doc_id,
                    "key": key,
                    "part": PART_OF_KEY[key],
                    "rule": why[0]["rule"] if why else "unplaced",
                    "messages": dump([f["message"] for f in why] or [RULES["unplaced"].name]),
                    "status": "open",
                    "opened_by": opened_by,
                }
            )
        if rows:
            _insert_ignoring_duplicates(conn, self.t.review_items, rows)

    # ---- reading -----------------------------------------------------------------------
    def documents(self) -> list[DocumentRow]:
        """Every document's row, without its record (``record`` reads one): the review app
        lists them on every page it draws."""
        documents = self.t.documents
        columns = [c for c in documents.c if c.name != "record"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(*columns).order_by(documents.c.id)).mappings().all()
        return [DocumentRow(**r) for r in rows]

    def record(self, document_id: int) -> dict:
        with self.engine.connect() as conn:
            text = conn.execute(
                select(self.t.documents.c.record).where(self.t.documents.c.id == document_id)
            ).scalar_one()
        return json.loads(text)

    def values(self, document_id: int, conn: Connection | None = None) -> dict[str, Any]:
        """The document's current values: extracted, with the latest correction of each key."""
        with self.reading(conn) as conn:
            current = {
                r.key: load(r.value)
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
                current[r.key] = load(r.new_value)
        return current

    def field_rows(self, document_id: int, conn: Connection | None = None) -> dict[str, FieldRow]:
        """Each key's field as extracted."""
        with self.reading(conn) as conn:
            rows = conn.execute(
                select(self.t.field_values).where(self.t.field_values.c.document_id == document_id)
            ).mappings()
            return {
                r["key"]: FieldRow(
                    r["key"],
                    load(r["value"]),
                    FieldStatus(r["status"]),
                    Empty(r["empty"]) if r["empty"] else None,
                    r["witness"],
                    span_of(r["span_start"], r["span_end"]),
                )  # fmt: skip
                for r in rows
            }

    def findings(self, document_id: int | None = None) -> list[FindingRow]:
        """Every finding (those made after storing, across years, too) with its document;
        those of one document with ``document_id``."""
        f, d = self.t.findings, self.t.documents
        query = (
            select(d.c.id, d.c.path, d.c.agency, d.c.year, f.c.rule, f.c["keys"], f.c.message)
            .join(d, d.c.id == f.c.document_id)
            .order_by(f.c.id)
        )
        if document_id is not None:
            query = query.where(f.c.document_id == document_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [FindingRow(*r[:5], load(r[5]), r[6]) for r in rows]

    def candidates(self, document_id: int, key: str | None = None) -> list[CandidateRow]:
        """The witnesses' values kept for the document's disputed and unplaced fields (of
        one ``key``), in the order they were stored."""
        candidates = self.t.candidates.c
        query = select(self.t.candidates).where(candidates.document_id == document_id)
        if key is not None:
            query = query.where(candidates.key == key)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(candidates.id)).mappings().all()
        return [
            CandidateRow(
                r["key"], r["witness"], load(r["value"]), span_of(r["span_start"], r["span_end"])
            )
            for r in rows
        ]

    def audit(
        self,
        document_id: int | None = None,
        conn: Connection | None = None,
        key: str | None = None,
    ) -> list[Correction]:
        """Every decision (of one document, of one of its keys), oldest first."""
        corrections = self.t.corrections
        query = select(corrections).order_by(corrections.c.id)
        if document_id is not None:
            query = query.where(corrections.c.document_id == document_id)
        if key is not None:
            query = query.where(corrections.c.key == key)
        with self.reading(conn) as conn:
            rows = conn.execute(query).mappings().all()
        return [
            Correction(
                **{
                    **r,
                    "old_value": load(r["old_value"]),
                    "new_value": load(r["new_value"]),
                }
            )
            for r in rows
        ]

    def add_findings(self, path: str, sha256: str | None, found: list[dict], review: bool) -> None:
        """Findings made after a document was stored (checks across years); with ``review``
        they open items for the keys they name. A finding the document already has is not
        added again."""
        path = clean(document_key(path))
        found = clean(found)
        with self.engine.begin() as conn:
            lock(conn, path)  # two runs saving it at once: one, then the other
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
            found = [f for f in found if (f["rule"], dump(f["keys"]), f["message"]) not in have]
            self._insert_findings(conn, doc_id, found)
            if review:
                flagged = {key: FieldStatus.REVIEW for f in found for key in f["keys"]}
                self.open_items(conn, doc_id, flagged, found, opened_by="cross_year")


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
    cursor.execute("PRAGMA busy_timeout=30000")  # first: switching to WAL waits for a lock
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
