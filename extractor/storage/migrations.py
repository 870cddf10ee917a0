"""Numbered migrations of the store. Each is applied once, in order, and never edited after it
ships: a change to the schema is a new migration. Written with SQLAlchemy Core so the same
migrations run on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine

MIGRATIONS: list[Callable[[Connection], None]] = []


def migration(function: Callable[[Connection], None]) -> Callable[[Connection], None]:
    MIGRATIONS.append(function)
    return function


def _after_documents() -> MetaData:
    """A later migration's tables, beside the documents table as far as their foreign keys
    need it."""
    meta = MetaData()
    Table("documents", meta, Column("id", Integer, primary_key=True))
    return meta


def _per_document(name: str, meta: MetaData, *columns: Column | Index | UniqueConstraint) -> Table:
    """A table whose rows each belong to one document: an ``id``, the ``document_id``, then
    ``columns``."""
    return Table(
        name,
        meta,
        Column("id", Integer, primary_key=True),
        Column("document_id", Integer, ForeignKey("documents.id"), nullable=False),
        *columns,
    )


@migration
def m001_documents_and_runs(conn: Connection) -> None:
    meta = MetaData()
    runs = Table(
        "runs",
        meta,
        Column("id", Integer, primary_key=True),
        Column("started_at", DateTime(timezone=True), nullable=False),
        Column("finished_at", DateTime(timezone=True)),
        Column("settings", Text, nullable=False),
        Column("prompt_versions", Text, nullable=False),
        Column("model", String(200)),
        Column("usage", Text),
        Column("documents", Integer, default=0),
    )
    Table(
        "documents",
        meta,
        Column("id", Integer, primary_key=True),
        Column("path", Text, nullable=False),
        Column("sha256", String(64)),
        Column("template", String(16)),
        Column("agency", Text),
        Column("year", Integer),
        Column("status", String(16), nullable=False),
        Column("error", Text),
        Column("run_id", Integer, ForeignKey(runs.c.id)),
        Column("record", Text, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("path", "sha256", name="uq_documents_path_sha256"),
    )
    meta.create_all(conn)


@migration
def m002_fields_candidates_findings(conn: Connection) -> None:
    """A document's 200 field values, the candidates its witnesses disputed, its findings."""
    meta = _after_documents()
    Table(
        "field_values",
        meta,
        Column("document_id", Integer, ForeignKey("documents.id"), primary_key=True),
        Column("key", String(80), primary_key=True),
        Column("value", Text),  # JSON: null, an integer or a decimal
        Column("status", String(16), nullable=False),
        Column("witness", String(16)),
        Column("span_start", Integer),
        Column("span_end", Integer),
    )
    _per_document(
        "candidates",
        meta,
        Column("key", String(80), nullable=False),
        Column("witness", String(16), nullable=False),
        Column("value", Text),
        Column("span_start", Integer),
        Column("span_end", Integer),
        Index("ix_candidates_document_key", "document_id", "key"),
    )
    _per_document(
        "findings",
        meta,
        Column("rule", String(80), nullable=False),
        Column("keys", Text, nullable=False),  # JSON list
        Column("message", Text, nullable=False),
        Index("ix_findings_document", "document_id"),
    )
    meta.create_all(conn)


@migration
def m003_review_items_and_corrections(conn: Connection) -> None:
    """The review queue (an item per field waiting for a person) and the decisions people
    made, append-only."""
    meta = _after_documents()
    _per_document(
        "review_items",
        meta,
        Column("key", String(80), nullable=False),
        Column("part", String(8), nullable=False),
        Column("rule", String(80), nullable=False),
        Column("messages", Text, nullable=False),  # JSON list of finding sentences
        Column("status", String(16), nullable=False, default="open"),  # open / settled
        Column("held_by", String(100)),
        Column("held_until", Float),  # epoch seconds
        Column("skipped_at", Float),
        Column("settled_by", String(100)),
        Column("settled_at", DateTime(timezone=True)),
        UniqueConstraint("document_id", "key", name="uq_review_items_document_key"),
        Index("ix_review_items_status", "status"),
    )
    # Append-only: a decision is never updated or deleted, so the audit shows every one.
    _per_document(
        "corrections",
        meta,
        Column("key", String(80), nullable=False),
        Column("item_id", Integer),
        Column("old_value", Text),
        Column("new_value", Text),
        Column("decision", String(32), nullable=False),
        Column("reviewer", String(100), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("note", Text),
        Index("ix_corrections_document_key", "document_id", "key"),
    )
    meta.create_all(conn)


@migration
def m004_sessions_versions_undo(conn: Connection) -> None:
    """Holds belong to a reviewer's session (a name may have several); an item remembers
    what opened it; a decision records the value version it was made on, the session, the
    batch it was made in (a table confirmed at once is undone at once) and what it undoes."""
    for table, column, kind in (
        ("review_items", "held_session", "VARCHAR(64)"),
        ("review_items", "opened_by", "VARCHAR(16)"),
        ("corrections", "session", "VARCHAR(64)"),
        ("corrections", "version", "INTEGER"),
        ("corrections", "batch", "VARCHAR(64)"),
        ("corrections", "undoes", "INTEGER"),
    ):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))
    sessions = Table(
        "reviewer_sessions",
        MetaData(),
        Column("session", String(64), primary_key=True),
        Column("name", String(100), nullable=False),
        Column("started_at", Float, nullable=False),  # epoch seconds
        Column("last_seen", Float, nullable=False),
    )
    sessions.create(conn, checkfirst=True)


@migration
def m005_empties_sources_confirmations(conn: Connection) -> None:
    """A null field value says which kind of empty it is (a blank the report prints, a value
    gouji could not place, a value not read); those stored before say nothing, so a null
    accepted (grounded as a blank) is taken as a printed blank and any other as unplaced,
    which no confirmation "as printed" can settle. A decision names where its value came
    from (a witness, or a person) and the colleague's decision it overrode; a reviewer's
    confirmation of a whole report is a row of its own."""
    conn.execute(text("ALTER TABLE field_values ADD COLUMN empty VARCHAR(16)"))
    conn.execute(
        text(
            "UPDATE field_values SET empty = CASE WHEN status = 'accepted' THEN 'blank' "
            "ELSE 'unplaced' END WHERE value IS NULL OR value = 'null'"
        )
    )
    conn.execute(text("ALTER TABLE corrections ADD COLUMN source VARCHAR(120)"))
    conn.execute(text("ALTER TABLE corrections ADD COLUMN overrides INTEGER"))
    meta = _after_documents()
    _per_document(
        "confirmations",
        meta,
        Column("reviewer", String(100), nullable=False),
        Column("session", String(64)),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("note", Text),
        Index("ix_confirmations_document", "document_id"),
    )
    meta.create_all(conn)


@migration
def m006_jobs(conn: Connection) -> None:
    """``gouji serve``'s durable queue: one row per uploaded content (its sha256 is the id the
    API gives), queued → running → its record's status. A running job is leased to one
    server (``owner``) until ``lease_until``; a lease that runs out (the server was killed)
    sends the job back to the queue. Documents are found by content too (a file sent again is
    the document already read)."""
    meta = MetaData()
    documents = Table(
        "documents", meta, Column("id", Integer, primary_key=True), Column("sha256", String(64))
    )
    Table(
        "jobs",
        meta,
        Column("id", String(64), primary_key=True),  # the file's sha256
        Column("path", Text, nullable=False),  # the upload as stored
        Column("filename", Text, nullable=False),  # as the client named it
        Column("source", Text, nullable=False),  # JSON: the provenance sent with it
        Column("callback_url", Text),
        Column("status", String(16), nullable=False),  # queued, running, ok, failed, skipped
        Column("attempts", Integer, nullable=False),
        Column("owner", String(64)),
        Column("lease_until", Float),  # epoch seconds
        Column("document_id", Integer, ForeignKey("documents.id")),
        Column("record", Text),  # JSON: a skipped record (the store keeps none)
        Column("settings", String(32)),  # the fingerprint its record was made with
        Column("callback", String(16)),  # pending, sent, failed; null: none asked
        Column("submitted_at", DateTime(timezone=True), nullable=False),
        Column("finished_at", DateTime(timezone=True)),
        Index("ix_jobs_status", "status", "submitted_at"),
    )
    meta.tables["jobs"].create(conn)
    Index("ix_documents_sha256", documents.c.sha256).create(conn)


_APPLIED = Table(
    "_migrations",
    MetaData(),
    Column("name", String(100), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


def lock(conn: Connection, name: str) -> None:
    """Hold the store's lock ``name`` until ``conn``'s transaction ends; the first statement
    of the transaction. PostgreSQL: an advisory lock on the name's hash. SQLite: the
    database's write lock (``BEGIN IMMEDIATE``), so what the transaction reads next is what
    the last writer committed. Elsewhere nothing (unique constraints still refuse a
    duplicate)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine) -> list[str]:
    """Apply the migrations not yet applied; returns their names. Under the store's lock, so
    two runs opening a new or old store at once do not both create or alter its tables."""
    with engine.connect() as conn:
        if _applied(conn) >= {m.__name__ for m in MIGRATIONS}:
            return []  # up to date: no lock needed
    applied_now: list[str] = []
    with engine.begin() as conn:
        lock(conn, "gouji.storage.migrations")
        done = _applied(conn)
        if not done:
            _APPLIED.create(conn, checkfirst=True)
        for function in MIGRATIONS:
            if function.__name__ in done:
                continue
            function(conn)
            conn.execute(
                _APPLIED.insert().values(name=function.__name__, applied_at=datetime.now(UTC))
            )
            applied_now.append(function.__name__)
    return applied_now


def _applied(conn: Connection) -> set[str]:
    if not inspect(conn).has_table("_migrations"):
        return set()
    return set(conn.execute(select(_APPLIED.c.name)).scalars())
