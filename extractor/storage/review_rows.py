"""The review queue's typed rows: who reviews, what they see, what they decide."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Select

HOLD_SECONDS = 120


class DecisionKind(StrEnum):
    """What an audit row records: a decision on a value, or its undoing or reopening."""

    TAKE_CANDIDATE = "take_candidate"  # a witness's value taken
    TYPED = "typed"  # a value the reviewer typed
    PUBLISHER_ERROR = "publisher_error"  # the report's own figures disagree: kept as printed
    CONFIRM = "confirm"  # the current value confirmed
    UNDO = "undo"  # the value goes back to what it was; the item opens again
    REOPEN = "reopen"  # a settled item opens again, its value unchanged


DECISIONS = frozenset(
    {
        DecisionKind.TAKE_CANDIDATE,
        DecisionKind.TYPED,
        DecisionKind.PUBLISHER_ERROR,
        DecisionKind.CONFIRM,
    }
)
# A value whose latest decision is one of these is a person's: a sum it breaks is never
# blamed on it alone.
GIVEN = frozenset({DecisionKind.TAKE_CANDIDATE, DecisionKind.TYPED})
PERSON = "reviewer:"  # the source of a value a person gave: ``reviewer:NAME``


@dataclass(frozen=True)
class Reviewer:
    """A reviewer's name and the session (browser tab) they work in."""

    name: str
    session: str

    @property
    def source(self) -> str:
        """What a value this reviewer gives names as its source."""
        return PERSON + self.name


@dataclass
class Item:
    """A review item as the app shows it: with the current value and its version."""

    id: int
    document_id: int
    document: str
    key: str
    part: str
    rule: str
    messages: list[str]
    status: str  # open or settled
    held_by: str | None
    held_session: str | None
    opened_by: str | None
    settled_by: str | None
    value: Any
    version: int  # the id of the key's latest audit row (0: none)


@dataclass(frozen=True)
class Filter:
    """What part of the queue a reviewer works: status, rules, parts, one document."""

    status: str | None = "open"
    rules: tuple[str, ...] = field(default_factory=tuple)
    parts: tuple[str, ...] = field(default_factory=tuple)
    document_id: int | None = None

    def apply(self, query: Select, items) -> Select:
        """``query`` narrowed to this filter; ``items`` is the review_items table."""
        if self.status:
            query = query.where(items.c.status == self.status)
        if self.rules:
            query = query.where(items.c.rule.in_(self.rules))
        if self.parts:
            query = query.where(items.c.part.in_(self.parts))
        if self.document_id is not None:
            query = query.where(items.c.document_id == self.document_id)
        return query


@dataclass(frozen=True)
class Decision:
    """A reviewer's call on one item, made on the value version they were shown. A
    candidate taken names its ``source`` (the witness); other kinds leave it to the queue."""

    item_id: int
    version: int
    kind: DecisionKind
    value: Any
    note: str | None = None
    source: str | None = None


@dataclass
class Confirmed:
    """What a confirmation "as printed" settled, what it left open and why, and how many
    items of the document are open after it."""

    settled: list[str] = field(default_factory=list)
    left: dict[str, str] = field(default_factory=dict)
    remaining: int = 0


@dataclass(frozen=True)
class Progress:
    settled: int
    total: int
    per_hour: float  # items settled an hour, over the last hour's work
    eta_seconds: float | None


@dataclass(frozen=True)
class ReviewerCounts:
    """What one reviewer did: decisions made, colleagues' decisions they overrode, and their
    own decisions a colleague overrode."""

    decisions: int = 0
    overrides: int = 0
    overridden: int = 0
