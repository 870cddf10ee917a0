"""The review queue over the store: which items a reviewer may hold (one rule), the queue's
filter, and decisions — each written with the recheck it causes in one transaction.

Review items are *held* by one reviewer at a time (an atomic conditional update), and every
decision is inserted into the audit, never updated, so the audit shows every one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from . import checks
from .store import Store, dump, load, now
from .template import FIELD_KEYS

HOLD_SECONDS = 600
DECISIONS = ("take_candidate", "typed", "publisher_error", "confirm")


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


@dataclass(frozen=True)
class Filter:
    """What part of the queue a reviewer works: status, rules, parts, one document."""

    status: str | None = "open"
    rules: tuple[str, ...] = field(default_factory=tuple)
    parts: tuple[str, ...] = field(default_factory=tuple)
    document_id: int | None = None

    def apply(self, query, items):
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


class Review:
    """The queue of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.t = store.t

    # ---- the one rule for holding ------------------------------------------------------
    def _free_for(self, reviewer: str, at: float):
        """An item ``reviewer`` may hold: open, and unheld, theirs, or its hold run out."""
        items = self.t.review_items.c
        return (items.status == "open") & or_(
            items.held_by.is_(None), items.held_by == reviewer, items.held_until < at
        )

    # ---- reading the queue -------------------------------------------------------------
    def _select(self):
        return select(self.t.review_items, self.t.documents.c.path).join(
            self.t.documents, self.t.documents.c.id == self.t.review_items.c.document_id
        )

    @staticmethod
    def _item(r) -> Item:
        return Item(
            r["id"], r["document_id"], r["path"], r["key"], r["part"], r["rule"],
            load(r["messages"]), r["status"], r["held_by"],
        )  # fmt: skip

    def items(self, where: Filter | None = None) -> list[Item]:
        items = self.t.review_items.c
        query = (where or Filter()).apply(
            self._select().order_by(items.document_id, items.rule, items.id), self.t.review_items
        )
        with self.store.engine.connect() as conn:
            return [self._item(r) for r in conn.execute(query).mappings()]

    def item(self, item_id: int) -> Item:
        query = self._select().where(self.t.review_items.c.id == item_id)
        with self.store.engine.connect() as conn:
            return self._item(conn.execute(query).mappings().one())

    def rules(self) -> list[str]:
        with self.store.engine.connect() as conn:
            return list(conn.execute(select(self.t.review_items.c.rule).distinct()).scalars())

    def progress(self) -> tuple[int, int]:
        """(settled, total) items."""
        items = self.t.review_items
        with self.store.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(items)).scalar_one()
            settled = conn.execute(
                select(func.count()).select_from(items).where(items.c.status == "settled")
            ).scalar_one()
        return settled, total

    def fully_reviewed(self, document_id: int) -> bool:
        return not self.items(Filter(document_id=document_id))

    # ---- holding -----------------------------------------------------------------------
    def claim(self, item_id: int, reviewer: str, seconds: int = HOLD_SECONDS) -> bool:
        """Hold an open item for ``reviewer``; false when someone else holds it."""
        at = time.time()
        items = self.t.review_items
        with self.store.engine.begin() as conn:
            result = conn.execute(
                update(items)
                .where(items.c.id == item_id, self._free_for(reviewer, at))
                .values(held_by=reviewer, held_until=at + seconds)
            )
            return result.rowcount == 1

    def next_item(self, reviewer: str, where: Filter | None = None) -> Item | None:
        """The reviewer's held item, else the first open item nobody holds, now held."""
        items = self.t.review_items.c
        query = (
            select(items.id)
            .where(self._free_for(reviewer, time.time()))
            .order_by(
                # A CASE, not a comparison: held_by = x is NULL for unheld items, and
                # PostgreSQL sorts NULL first where SQLite sorts it last.
                case((items.held_by == reviewer, 0), else_=1),
                func.coalesce(items.skipped_at, 0),
                items.document_id,
                items.rule,
                items.id,
            )
        )
        query = (where or Filter()).apply(query, self.t.review_items)
        with self.store.engine.connect() as conn:
            ids = list(conn.execute(query.limit(50)).scalars())
        for item_id in ids:
            if self.claim(item_id, reviewer):
                return self.item(item_id)
        return None

    def skip(self, item_id: int, reviewer: str) -> None:
        """Let go of an item; it goes to the back of the queue."""
        items = self.t.review_items
        with self.store.engine.begin() as conn:
            conn.execute(
                update(items)
                .where(items.c.id == item_id, items.c.held_by == reviewer)
                .values(held_by=None, held_until=None, skipped_at=time.time())
            )

    # ---- deciding ----------------------------------------------------------------------
    def settle(
        self, item_id: int, reviewer: str, decision: str, new_value: Any, note: str | None = None
    ) -> int:
        """Record a decision on an item: the correction is inserted, the item settled and the
        document's identities checked again, all in one transaction."""
        if decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision}")
        items = self.t.review_items
        with self.store.engine.begin() as conn:
            # A write first, so SQLite takes its lock before anything is read.
            conn.execute(
                update(items)
                .where(items.c.id == item_id)
                .values(
                    status="settled",
                    settled_by=reviewer,
                    settled_at=now(),
                    held_by=None,
                    held_until=None,
                )
            )
            item = conn.execute(select(items).where(items.c.id == item_id)).mappings().one()
            old = self.store.values(item["document_id"], conn).get(item["key"])
            correction_id = conn.execute(
                insert(self.t.corrections).values(
                    document_id=item["document_id"],
                    key=item["key"],
                    item_id=item_id,
                    old_value=dump(old),
                    new_value=dump(new_value),
                    decision=decision,
                    reviewer=reviewer,
                    created_at=now(),
                    note=note,
                )
            ).inserted_primary_key[0]
            self.recheck(item["document_id"], conn)
        return correction_id

    def recheck(self, document_id: int, conn: Connection) -> list[dict]:
        """Run the identities again on the current values; a newly broken one opens items
        for the keys it names that nobody has looked at yet."""
        values = self.store.values(document_id, conn)
        settled = self._settled_keys(document_id, conn)
        status = {
            key: row["status"] for key, row in self.store.field_rows(document_id, conn).items()
        }
        known = {k for k in FIELD_KEYS if status.get(k) == "accepted" or k in settled}
        acknowledged = {
            c["key"]
            for c in self.store.audit(document_id, conn)
            if c["decision"] == "publisher_error"
        }
        broken = [
            f.to_dict()
            for f in checks.check_identities(values, known)
            # a reviewer already called this the report's own error
            if not acknowledged & set(f.keys)
        ]
        flagged = dict(status)
        for finding in broken:
            for key in finding["keys"]:
                if key not in settled:
                    flagged[key] = "review"
        self.store.open_items(conn, document_id, flagged, broken)
        return broken

    def identity_breaks(self, document_id: int) -> list[dict]:
        """Identities broken by the document's current values (any value read or settled)."""
        with self.store.engine.connect() as conn:
            values = self.store.values(document_id, conn)
            settled = self._settled_keys(document_id, conn)
            status = {k: r["status"] for k, r in self.store.field_rows(document_id, conn).items()}
        known = {
            k for k in FIELD_KEYS
            if values.get(k) is not None or status.get(k) == "accepted" or k in settled
        }  # fmt: skip
        return [f.to_dict() for f in checks.check_identities(values, known)]

    def _settled_keys(self, document_id: int, conn: Connection) -> set[str]:
        items = self.t.review_items.c
        query = select(items.key).where(items.document_id == document_id, items.status == "settled")
        return set(conn.execute(query).scalars())
