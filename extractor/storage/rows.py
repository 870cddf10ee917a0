"""The store's rows as typed records: what ``store`` and the review queue read out of it.

Values are the stored JSON loaded (an integer, a decimal or ``None``); times are the store's
(UTC); spans are ``(start, end)`` in the document's raw text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..status import Empty, FieldStatus


@dataclass(frozen=True)
class DocumentRow:
    """A document as stored, without its record (``Store.record`` reads that)."""

    id: int
    path: str
    sha256: str | None
    template: str | None
    agency: str | None
    year: int | None
    status: str  # ok, failed or skipped
    error: str | None
    run_id: int | None
    updated_at: datetime

    @property
    def name(self) -> str:
        """The file's name, as reviewers tell documents apart."""
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class FieldRow:
    """One field as extracted: its value, status, kind of empty (for a null) and witness."""

    key: str
    value: Any
    status: FieldStatus
    empty: Empty | None
    witness: str | None
    span: tuple[int, int] | None


@dataclass(frozen=True)
class CandidateRow:
    """One witness's value for a disputed or unplaced field."""

    key: str
    witness: str
    value: Any
    span: tuple[int, int] | None


@dataclass(frozen=True)
class FindingRow:
    """A finding with the document it is about."""

    document_id: int
    path: str
    agency: str | None
    year: int | None
    rule: str
    keys: list[str]
    message: str


@dataclass(frozen=True)
class Correction:
    """One row of the append-only audit: a decision, an undo or a reopening. ``source`` is
    where ``new_value`` came from: a witness (``reader``, ``llm``, ``reader+llm``) or a
    person (``reviewer:NAME``); ``overrides`` the colleague's decision it replaced."""

    id: int
    document_id: int
    key: str
    item_id: int | None
    old_value: Any
    new_value: Any
    decision: str
    reviewer: str
    session: str | None
    created_at: datetime
    note: str | None
    version: int | None
    batch: str | None
    undoes: int | None
    source: str | None
    overrides: int | None


@dataclass(frozen=True)
class Confirmation:
    """A named reviewer confirmed a whole report after seeing its tables."""

    id: int
    document_id: int
    reviewer: str
    session: str | None
    created_at: datetime
    note: str | None


def span_of(start: int | None, end: int | None) -> tuple[int, int] | None:
    return None if start is None or end is None else (start, end)
