"""The review queue's holds: which items a reviewer's session may hold (one rule), sessions
seen live, and holding, renewing, letting go and skipping.

A reviewer is a name and a session (one browser tab): holds belong to the session, so two
tabs under one name never share an item silently. A hold lasts ``HOLD_SECONDS`` unless the
session renews it, and goes when the session moves to another item.
"""

from __future__ import annotations

import time

from sqlalchemy import case, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from .review_reads import Reads
from .review_rows import HOLD_SECONDS, Filter, Item, Reviewer
from .store import Store


class Holds:
    """Holding the items of one store."""

    def __init__(self, store: Store, reads: Reads) -> None:
        self.store = store
        self.t = store.t
        self.reads = reads

    def free_for(self, reviewer: Reviewer, at: float):
        """The one rule: an item ``reviewer`` may hold is open, and unheld, held by this
        session, or its hold run out."""
        items = self.t.review_items.c
        return (items.status == "open") & or_(
            items.held_session.is_(None),
            items.held_session == reviewer.session,
            items.held_until < at,
        )

    def register(self, reviewer: Reviewer) -> list[str]:
        """Note the reviewer's session as live; returns the other live sessions working
        under the same name (a second tab, or a colleague who typed the same name)."""
        sessions = self.t.reviewer_sessions
        at = time.time()
        with self.store.engine.begin() as conn:
            if not self.touch(conn, reviewer, at):
                conn.execute(
                    insert(sessions).values(
                        session=reviewer.session, name=reviewer.name, started_at=at, last_seen=at
                    )
                )
            return list(
                conn.execute(
                    select(sessions.c.session).where(
                        sessions.c.name == reviewer.name,
                        sessions.c.session != reviewer.session,
                        sessions.c.last_seen > at - HOLD_SECONDS,
                    )
                ).scalars()
            )

    def touch(self, conn: Connection, reviewer: Reviewer, at: float) -> bool:
        """The session seen now. A write, and every writing transaction of the queue starts
        with it, so SQLite takes its lock before anything is read."""
        sessions = self.t.reviewer_sessions
        return (
            conn.execute(
                update(sessions)
                .where(sessions.c.session == reviewer.session)
                .values(name=reviewer.name, last_seen=at)
            ).rowcount
            == 1
        )

    def heartbeat(self, reviewer: Reviewer, seconds: float = HOLD_SECONDS) -> None:
        """The session is still there: its hold is renewed."""
        items = self.t.review_items.c
        at = time.time()
        with self.store.engine.begin() as conn:
            self.touch(conn, reviewer, at)
            conn.execute(
                update(self.t.review_items)
                .where(items.held_session == reviewer.session, items.status == "open")
                .values(held_until=at + seconds)
            )

    def claim(self, item_id: int, reviewer: Reviewer, seconds: float = HOLD_SECONDS) -> bool:
        """Hold an open item for the reviewer's session, letting go of any other item it
        held; false when someone else holds it."""
        items = self.t.review_items
        at = time.time()
        with self.store.engine.begin() as conn:
            self.touch(conn, reviewer, at)
            held = conn.execute(
                update(items)
                .where(items.c.id == item_id, self.free_for(reviewer, at))
                .values(
                    held_by=reviewer.name, held_session=reviewer.session, held_until=at + seconds
                )
            ).rowcount
            if held == 1:
                self.let_go(conn, reviewer, keep=item_id)
            return held == 1

    def next_item(self, reviewer: Reviewer, where: Filter | None = None) -> Item | None:
        """The item the session holds, else the first open item nobody holds, now held."""
        items = self.t.review_items.c
        query = (
            select(items.id)
            .where(self.free_for(reviewer, time.time()))
            .order_by(
                # A CASE, not a comparison: held_session = x is NULL for unheld items, and
                # PostgreSQL sorts NULL first where SQLite sorts it last.
                case((items.held_session == reviewer.session, 0), else_=1),
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
                return self.reads.item(item_id)
        self.release(reviewer)
        return None

    def release(self, reviewer: Reviewer) -> None:
        """Let go of whatever the session holds (it left the item, the queue or the app)."""
        with self.store.engine.begin() as conn:
            self.touch(conn, reviewer, time.time())
            self.let_go(conn, reviewer)

    def let_go(self, conn: Connection, reviewer: Reviewer, keep: int | None = None) -> None:
        """Inside a transaction: the session's holds go, but for ``keep``."""
        items = self.t.review_items
        query = update(items).where(items.c.held_session == reviewer.session)
        if keep is not None:
            query = query.where(items.c.id != keep)
        conn.execute(query.values(held_by=None, held_session=None, held_until=None))

    def skip(self, item_id: int, reviewer: Reviewer) -> None:
        """Let go of an item; it goes to the back of the queue."""
        items = self.t.review_items
        with self.store.engine.begin() as conn:
            self.touch(conn, reviewer, time.time())
            conn.execute(
                update(items)
                .where(items.c.id == item_id, items.c.held_session == reviewer.session)
                .values(held_by=None, held_session=None, held_until=None, skipped_at=time.time())
            )
