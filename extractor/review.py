"""The review queue over the store: which items a reviewer may hold (one rule), the queue's
filter, and decisions — each written with the recheck it causes in one transaction.

A reviewer is a name and a session (one browser tab): holds belong to the session, so two
tabs under one name never share an item silently. A hold lasts ``HOLD_SECONDS`` unless the
session renews it, and goes when the session moves to another item. Every decision carries
the item and the value version it was made on; the queue refuses it, saying why, when the
hold is no longer the reviewer's or the value changed since it was shown. The audit is
append-only: a decision, its undo and a reopening are all rows of it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, case, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from . import checks
from .errors import DecisionRefused
from .model import show
from .store import Store, dump, load, now
from .template import FIELD_KEYS, label_of

HOLD_SECONDS = 120
DECISIONS = ("take_candidate", "typed", "publisher_error", "confirm")
UNDO, REOPEN = "undo", "reopen"  # audit rows that restore or reopen rather than decide


@dataclass(frozen=True)
class Reviewer:
    """A reviewer's name and the session (browser tab) they work in."""

    name: str
    session: str


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
    status: str
    held_by: str | None
    held_session: str | None
    opened_by: str | None
    settled_by: str | None
    value: Any
    version: int


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
    """A reviewer's call on one item, made on the value version they were shown."""

    item_id: int
    version: int
    kind: str
    value: Any
    note: str | None = None


@dataclass
class Confirmed:
    """What a confirmation "as printed" settled, and what it left open and why."""

    settled: list[str] = field(default_factory=list)
    left: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Progress:
    settled: int
    total: int
    per_hour: float  # items settled an hour, over the last hour's work
    eta_seconds: float | None


class Review:
    """The queue of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.t = store.t

    # ---- the one rule for holding ------------------------------------------------------
    def _free_for(self, reviewer: Reviewer, at: float):
        """An item ``reviewer`` may hold: open, and unheld, held by this session, or its
        hold run out."""
        items = self.t.review_items.c
        return (items.status == "open") & or_(
            items.held_session.is_(None),
            items.held_session == reviewer.session,
            items.held_until < at,
        )

    # ---- reading the queue -------------------------------------------------------------
    def _select(self) -> Select:
        items, values, corrections = self.t.review_items, self.t.field_values, self.t.corrections
        latest = (
            select(func.max(corrections.c.id))
            .where(
                corrections.c.document_id == items.c.document_id, corrections.c.key == items.c.key
            )
            .correlate(items)
            .scalar_subquery()
        )
        shown = corrections.alias("shown")
        corrected = select(shown.c.new_value).where(shown.c.id == latest).scalar_subquery()
        return (
            select(
                items,
                self.t.documents.c.path,
                func.coalesce(latest, 0).label("version"),
                latest.label("latest"),
                corrected.label("corrected"),
                values.c.value.label("extracted"),
            )
            .join(self.t.documents, self.t.documents.c.id == items.c.document_id)
            .outerjoin(
                values,
                (values.c.document_id == items.c.document_id) & (values.c.key == items.c.key),
            )
        )

    @staticmethod
    def _item(r) -> Item:
        return Item(
            r["id"], r["document_id"], r["path"], r["key"], r["part"], r["rule"],
            load(r["messages"]), r["status"], r["held_by"], r["held_session"], r["opened_by"],
            r["settled_by"], load(r["corrected"] if r["latest"] else r["extracted"]),
            r["version"],
        )  # fmt: skip

    def items(self, where: Filter | None = None, limit: int | None = None, offset: int = 0):
        """The items ``where`` selects, by document, rule and id; a page of them with
        ``limit`` and ``offset``."""
        items = self.t.review_items.c
        query = (where or Filter()).apply(
            self._select().order_by(items.document_id, items.rule, items.id), self.t.review_items
        )
        if limit is not None:
            query = query.limit(limit).offset(offset)
        with self.store.engine.connect() as conn:
            return [self._item(r) for r in conn.execute(query).mappings()]

    def count(self, where: Filter | None = None) -> int:
        items = self.t.review_items
        query = (where or Filter()).apply(select(func.count()).select_from(items), items)
        with self.store.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def item(self, item_id: int, conn: Connection | None = None) -> Item:
        query = self._select().where(self.t.review_items.c.id == item_id)
        with self.store.reading(conn) as conn:
            return self._item(conn.execute(query).mappings().one())

    def rules(self) -> list[str]:
        with self.store.engine.connect() as conn:
            return sorted(conn.execute(select(self.t.review_items.c.rule).distinct()).scalars())

    def progress(self) -> Progress:
        """How far the queue is, how fast it has gone over the last hour, and when it ends
        at that pace."""
        items = self.t.review_items
        with self.store.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(items)).scalar_one()
            settled = conn.execute(
                select(func.count()).select_from(items).where(items.c.status == "settled")
            ).scalar_one()
            recent = list(
                conn.execute(
                    select(items.c.settled_at)
                    .where(items.c.status == "settled", items.c.settled_at.is_not(None))
                    .order_by(items.c.settled_at.desc())
                    .limit(2000)
                ).scalars()
            )
        at = time.time()
        stamps = [t for t in map(_epoch, recent) if at - t <= 3600]
        per_hour = len(stamps) / max(at - min(stamps), 60) * 3600 if stamps else 0.0
        left = total - settled
        eta = left / per_hour * 3600 if per_hour else None
        return Progress(settled, total, per_hour, eta if left else 0.0)

    def by_reviewer(self) -> dict[str, int]:
        """Decisions made, per reviewer (undone ones included: the audit keeps them)."""
        corrections = self.t.corrections.c
        query = (
            select(corrections.reviewer, func.count())
            .where(corrections.decision.in_(DECISIONS))
            .group_by(corrections.reviewer)
        )
        with self.store.engine.connect() as conn:
            return dict(conn.execute(query).all())

    def fully_reviewed(self, document_id: int) -> bool:
        return not self.count(Filter(document_id=document_id))

    def states(self, document_id: int) -> dict[str, str]:
        """Each key's state: ``accepted`` as extracted, ``review`` (waiting), ``reviewed``
        (a reviewer settled it) or ``publisher_error`` (settled as the report's own error)."""
        items = self.t.review_items.c
        with self.store.engine.connect() as conn:
            status = {k: r["status"] for k, r in self.store.field_rows(document_id, conn).items()}
            item_status = dict(
                conn.execute(
                    select(items.key, items.status).where(items.document_id == document_id)
                ).all()
            )
            latest = self._latest_decisions(document_id, conn)
        out = {}
        for key in FIELD_KEYS:
            if item_status.get(key) == "settled":
                out[key] = "publisher_error" if latest.get(key) == "publisher_error" else "reviewed"
            elif item_status.get(key) == "open" or status.get(key) != "accepted":
                out[key] = "review"
            else:
                out[key] = "accepted"
        return out

    # ---- sessions and holds ------------------------------------------------------------
    def register(self, reviewer: Reviewer) -> list[str]:
        """Note the reviewer's session as live; returns the other live sessions working
        under the same name (a second tab, or a colleague who typed the same name)."""
        sessions = self.t.reviewer_sessions
        at = time.time()
        with self.store.engine.begin() as conn:
            if not self._touch(conn, reviewer, at):
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

    def _touch(self, conn: Connection, reviewer: Reviewer, at: float) -> bool:
        """The session seen now. A write, and every writing transaction here starts with it,
        so SQLite takes its lock before anything is read."""
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
            self._touch(conn, reviewer, at)
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
            self._touch(conn, reviewer, at)
            held = conn.execute(
                update(items)
                .where(items.c.id == item_id, self._free_for(reviewer, at))
                .values(
                    held_by=reviewer.name, held_session=reviewer.session, held_until=at + seconds
                )
            ).rowcount
            if held == 1:
                self._release(conn, reviewer, keep=item_id)
            return held == 1

    def next_item(self, reviewer: Reviewer, where: Filter | None = None) -> Item | None:
        """The item the session holds, else the first open item nobody holds, now held."""
        items = self.t.review_items.c
        query = (
            select(items.id)
            .where(self._free_for(reviewer, time.time()))
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
                return self.item(item_id)
        self.release(reviewer)
        return None

    def release(self, reviewer: Reviewer) -> None:
        """Let go of whatever the session holds (it left the item, the queue or the app)."""
        with self.store.engine.begin() as conn:
            self._touch(conn, reviewer, time.time())
            self._release(conn, reviewer)

    def _release(self, conn: Connection, reviewer: Reviewer, keep: int | None = None) -> None:
        items = self.t.review_items
        query = update(items).where(items.c.held_session == reviewer.session)
        if keep is not None:
            query = query.where(items.c.id != keep)
        conn.execute(query.values(held_by=None, held_session=None, held_until=None))

    def skip(self, item_id: int, reviewer: Reviewer) -> None:
        """Let go of an item; it goes to the back of the queue."""
        items = self.t.review_items
        with self.store.engine.begin() as conn:
            self._touch(conn, reviewer, time.time())
            conn.execute(
                update(items)
                .where(items.c.id == item_id, items.c.held_session == reviewer.session)
                .values(held_by=None, held_session=None, held_until=None, skipped_at=time.time())
            )

    # ---- deciding ----------------------------------------------------------------------
    def settle(self, reviewer: Reviewer, decision: Decision) -> int:
        """Apply a decision on an item the reviewer's session holds, made on the value
        version it still has: the correction is inserted, the item settled, and the
        document's identities checked again, in one transaction. A publisher error also
        settles the open items of the identities it breaks. Raises ``DecisionRefused``."""
        if decision.kind not in DECISIONS:
            raise ValueError(f"unknown decision {decision.kind}")
        items = self.t.review_items
        with self.store.engine.begin() as conn:
            at = time.time()
            self._touch(conn, reviewer, at)
            settled = conn.execute(
                self._settling(reviewer).where(
                    items.c.id == decision.item_id, items.c.held_session == reviewer.session
                )
            ).rowcount
            item = self.item(decision.item_id, conn)
            if settled != 1:
                raise DecisionRefused(self._why(item, reviewer))
            if item.version != decision.version:
                raise DecisionRefused(self._changed(item, conn))
            batch = uuid.uuid4().hex
            correction = self._insert(conn, item, reviewer, decision, batch)
            if decision.kind == "publisher_error":
                self._settle_siblings(conn, item, reviewer, batch, at)
            self.recheck(item.document_id, conn)
        return correction

    def confirm(self, reviewer: Reviewer, shown: Mapping[int, int], note: str | None = None):
        """Confirm the shown items (id → the version shown) "as printed": each keeps its
        value. Items another session holds, whose value changed, that take part in an
        identity the current values break, or whose witnesses disagree stay open."""
        items = self.t.review_items
        done = Confirmed()
        with self.store.engine.begin() as conn:
            at = time.time()
            self._touch(conn, reviewer, at)
            batch = uuid.uuid4().hex
            by_doc: dict[int, list[Item]] = {}
            for item_id in shown:
                item = self.item(item_id, conn)
                by_doc.setdefault(item.document_id, []).append(item)
            for document_id, chosen in by_doc.items():
                broken = {k for f in self._breaks(document_id, conn) for k in f["keys"]}
                disputed = self._disputed(document_id, conn)
                for item in chosen:
                    why = None
                    if item.status != "open":
                        why = f"已由{item.settled_by}处理"
                    elif item.version != shown[item.id]:
                        why = "数值在你看到之后改过"
                    elif item.key in broken:
                        why = "所在的勾稽关系不成立"
                    elif item.key in disputed:
                        why = "证人给出的值不一致"
                    elif not conn.execute(
                        self._settling(reviewer).where(
                            items.c.id == item.id, self._free_for(reviewer, at)
                        )
                    ).rowcount:
                        why = f"正由{item.held_by}处理"
                    if why:
                        done.left[item.key] = why
                        continue
                    kind = Decision(item.id, item.version, "confirm", item.value, note)
                    self._insert(conn, item, reviewer, kind, batch)
                    done.settled.append(item.key)
                self.recheck(document_id, conn)
        return done

    def _settling(self, reviewer: Reviewer):
        items = self.t.review_items
        return (
            update(items)
            .where(items.c.status == "open")
            .values(
                status="settled",
                settled_by=reviewer.name,
                settled_at=now(),
                held_by=None,
                held_session=None,
                held_until=None,
            )
        )

    def _why(self, item: Item, reviewer: Reviewer) -> str:
        """Why a decision on ``item`` cannot be applied for ``reviewer``."""
        where = f"「{label_of(item.key)}」"
        if item.status != "open":
            return f"{where}已由{item.settled_by}处理，你的决定没有保存。"
        if item.held_session is None:
            return f"你对{where}的持有已释放，决定没有保存；请重新打开这一项。"
        if item.held_by == reviewer.name:
            return f"{where}正在你以「{reviewer.name}」打开的另一个窗口中处理，这里的决定没有保存。"
        return f"你对{where}的持有已过期，现由{item.held_by}处理，你的决定没有保存。"

    def _changed(self, item: Item, conn: Connection) -> str:
        last = conn.execute(
            select(self.t.corrections.c.reviewer).where(self.t.corrections.c.id == item.version)
        ).scalar()
        return (
            f"「{label_of(item.key)}」的值在你看到之后已被{last}改为 {show(item.value)}，"
            "你的决定没有保存；请重新核对。"
        )

    def _insert(
        self,
        conn: Connection,
        item: Item,
        reviewer: Reviewer,
        decision: Decision,
        batch: str,
        undoes: int | None = None,
    ) -> int:
        return conn.execute(
            insert(self.t.corrections).values(
                document_id=item.document_id,
                key=item.key,
                item_id=item.id,
                old_value=dump(item.value),
                new_value=dump(decision.value),
                decision=decision.kind,
                reviewer=reviewer.name,
                session=reviewer.session,
                created_at=now(),
                note=decision.note,
                version=decision.version,
                batch=batch,
                undoes=undoes,
            )
        ).inserted_primary_key[0]

    def _settle_siblings(
        self, conn: Connection, item: Item, reviewer: Reviewer, batch: str, at: float
    ) -> None:
        """A publisher error is the identity's, not one cell's: the other open items of
        the identities it breaks are settled as printed too."""
        broken = [f["keys"] for f in self._breaks(item.document_id, conn) if item.key in f["keys"]]
        keys = {k for found in broken for k in found} - {item.key}
        if not keys:
            return
        items = self.t.review_items
        siblings = conn.execute(
            select(items.c.id).where(items.c.document_id == item.document_id, items.c.key.in_(keys))
        ).scalars()
        note = f"随「{label_of(item.key)}」一并记为报告本身不一致"
        for sibling_id in list(siblings):
            if conn.execute(
                self._settling(reviewer).where(
                    items.c.id == sibling_id, self._free_for(reviewer, at)
                )
            ).rowcount:
                sibling = self.item(sibling_id, conn)
                decision = Decision(
                    sibling_id, sibling.version, "publisher_error", sibling.value, note
                )
                self._insert(conn, sibling, reviewer, decision, batch)

    # ---- undo and reopen ---------------------------------------------------------------
    def undo(self, reviewer: Reviewer) -> list[Item]:
        """Undo the reviewer's last decision (all of it, when it settled several items):
        each value goes back to what it was and its item opens again, held for them. The
        audit keeps the decision and the undo."""
        corrections = self.t.corrections.c
        with self.store.engine.begin() as conn:
            at = time.time()
            self._touch(conn, reviewer, at)
            undone = select(corrections.undoes).where(corrections.undoes.is_not(None))
            batch = conn.execute(
                select(corrections.batch)
                .where(
                    corrections.reviewer == reviewer.name,
                    corrections.decision.in_(DECISIONS),
                    corrections.id.not_in(undone),
                )
                .order_by(corrections.id.desc())
                .limit(1)
            ).scalar()
            if batch is None:
                raise DecisionRefused("没有可以撤销的决定。")
            rows = (
                conn.execute(select(self.t.corrections).where(corrections.batch == batch))
                .mappings()
                .all()
            )
            reopened = []
            for row in rows:
                item = self.item(row["item_id"], conn)
                if item.version != row["id"]:
                    raise DecisionRefused(
                        f"「{label_of(item.key)}」之后又有了新的决定，不能撤销这一次；"
                        "请在整份报告中重新打开它。"
                    )
                self._reopen(conn, item, reviewer, at, UNDO)
                back = Decision(item.id, item.version, UNDO, load(row["old_value"]))
                self._insert(conn, item, reviewer, back, uuid.uuid4().hex, undoes=row["id"])
                reopened.append(item.id)
            for document_id in {r["document_id"] for r in rows}:
                self.recheck(document_id, conn)
            return [self.item(i, conn) for i in reopened]

    def reopen(self, item_id: int, reviewer: Reviewer, note: str | None = None) -> Item:
        """Open a settled item again, held for the reviewer; its value stays until a new
        decision. The audit notes the reopening."""
        with self.store.engine.begin() as conn:
            at = time.time()
            self._touch(conn, reviewer, at)
            item = self.item(item_id, conn)
            if item.status == "open":
                raise DecisionRefused(f"「{label_of(item.key)}」还没有处理，不需要重新打开。")
            self._reopen(conn, item, reviewer, at)
            self._insert(
                conn, item, reviewer, Decision(item.id, item.version, REOPEN, item.value, note),
                uuid.uuid4().hex,
            )  # fmt: skip
            return self.item(item_id, conn)

    def _reopen(
        self, conn: Connection, item: Item, reviewer: Reviewer, at: float, why: str = REOPEN
    ) -> None:
        self._release(conn, reviewer)
        conn.execute(
            update(self.t.review_items)
            .where(self.t.review_items.c.id == item.id)
            .values(
                status="open",
                settled_by=None,
                settled_at=None,
                held_by=reviewer.name,
                held_session=reviewer.session,
                held_until=at + HOLD_SECONDS,
                opened_by=why,
            )
        )

    # ---- identities --------------------------------------------------------------------
    def recheck(self, document_id: int, conn: Connection) -> list[dict]:
        """Run the identities again on the current values; a newly broken one opens items
        for the keys it names that nobody has looked at yet."""
        values = self.store.values(document_id, conn)
        settled = self._settled_keys(document_id, conn)
        status = {k: r["status"] for k, r in self.store.field_rows(document_id, conn).items()}
        known = {k for k in FIELD_KEYS if status.get(k) == "accepted" or k in settled}
        latest = self._latest_decisions(document_id, conn)
        acknowledged = {k for k, kind in latest.items() if kind == "publisher_error"}
        broken = [
            f.to_dict()
            for f in checks.check_identities(values, known, _given(latest))
            # a reviewer already called this the report's own error
            if not acknowledged & set(f.keys)
        ]
        flagged = dict(status)
        for finding in broken:
            for key in finding["keys"]:
                if key not in settled:
                    flagged[key] = "review"
        self.store.open_items(conn, document_id, flagged, broken, opened_by="recheck")
        return broken

    def identity_breaks(self, document_id: int) -> list[dict]:
        """Identities broken by the document's current values (any value read or settled)."""
        with self.store.engine.connect() as conn:
            return self._breaks(document_id, conn)

    def _breaks(self, document_id: int, conn: Connection) -> list[dict]:
        values = self.store.values(document_id, conn)
        settled = self._settled_keys(document_id, conn)
        status = {k: r["status"] for k, r in self.store.field_rows(document_id, conn).items()}
        known = {
            k for k in FIELD_KEYS
            if values.get(k) is not None or status.get(k) == "accepted" or k in settled
        }  # fmt: skip
        given = _given(self._latest_decisions(document_id, conn))
        return [f.to_dict() for f in checks.check_identities(values, known, given)]

    def _disputed(self, document_id: int, conn: Connection) -> set[str]:
        """Keys whose witnesses gave different values."""
        candidates = self.t.candidates.c
        seen: dict[str, set[str]] = {}
        for key, value in conn.execute(
            select(candidates.key, candidates.value).where(candidates.document_id == document_id)
        ):
            seen.setdefault(key, set()).add(value)
        return {k for k, values in seen.items() if len(values) > 1}

    def _latest_decisions(self, document_id: int, conn: Connection) -> dict[str, str]:
        """Each corrected key's latest audit row kind (a decision, an undo or a reopening)."""
        corrections = self.t.corrections.c
        latest: dict[str, str] = {}
        for key, kind in conn.execute(
            select(corrections.key, corrections.decision)
            .where(corrections.document_id == document_id)
            .order_by(corrections.id)
        ):
            latest[key] = kind
        return latest

    def _settled_keys(self, document_id: int, conn: Connection) -> set[str]:
        items = self.t.review_items.c
        query = select(items.key).where(items.document_id == document_id, items.status == "settled")
        return set(conn.execute(query).scalars())


def _epoch(stamp: datetime) -> float:
    """Epoch seconds of a stored time (SQLite gives it back without its zone, in UTC)."""
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def _given(latest: dict[str, str]) -> set[str]:
    """The keys whose latest decision gave them a value of a person's (a candidate taken or
    a value typed): a sum such a value breaks is never blamed on it alone, so its other
    cells open for review."""
    return {k for k, kind in latest.items() if kind in ("take_candidate", "typed")}
