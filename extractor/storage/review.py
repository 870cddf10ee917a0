"""The review queue over the store, in three rooms: its reads (``review_reads``: items,
progress, states, a cell's history, the findings of the current values), its holds
(``review_holds``: sessions, and the one rule for which items a session may hold) and its
decisions (``review_decisions``: each written with the recheck it causes in one
transaction; undo, reopen, a whole report confirmed). The typed rows they pass around are
in ``review_rows``; this module puts the rooms together.

A reviewer is a name and a session (one browser tab). Every decision carries the item and
the value version it was made on, and is refused, saying why, when the hold is no longer the
reviewer's or the value changed since it was shown. The audit is append-only.
"""

from __future__ import annotations

from .review_decisions import Decisions
from .review_holds import Holds
from .review_reads import Reads
from .review_rows import (
    DECISIONS,
    HOLD_SECONDS,
    Confirmed,
    Decision,
    DecisionKind,
    Filter,
    Item,
    Progress,
    Reviewer,
    ReviewerCounts,
)
from .store import Store

__all__ = [
    "DECISIONS",
    "HOLD_SECONDS",
    "Confirmed",
    "Decision",
    "DecisionKind",
    "Filter",
    "Item",
    "Progress",
    "Review",
    "Reviewer",
    "ReviewerCounts",
]


class Review:
    """The queue of one store: ``reads``, ``holds`` and ``decisions``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reads = Reads(store)
        self.holds = Holds(store, self.reads)
        self.decisions = Decisions(store, self.reads, self.holds)
