"""The review queue's decisions: each written with the recheck it causes in one transaction,
their undoing and reopening, and a reviewer's confirmation of a whole report.

Every decision carries the item and the value version it was made on; it is refused, with
the reason, when the hold is no longer the reviewer's or the value changed since it was
shown. A decision "as printed" (a confirmation, a publisher error) needs a printed value:
a null gouji could not place or did not read becomes a value only when a person gives one.
Confirming many items at once leaves open whatever needs a person's choice. The audit is
append-only: a decision, its undo and a reopening are all rows of it, each naming where its
value came from and the colleague's decision it overrode.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from ..checking import checks
from ..errors import DecisionRefused
from ..model import show
from ..status import Empty, FieldStatus
from ..template import FIELD_KEYS, label_of
from .review_holds import Holds
from .review_reads import Reads
from .review_rows import (
    DECISIONS,
    HOLD_SECONDS,
    Confirmed,
    Decision,
    DecisionKind,
    Item,
    Reviewer,
)
from .rows import Correction
from .store import Store, dump, load, now

_UNREAD = {Empty.UNPLACED: "没能定位这个值", Empty.NOT_READ: "没有读出这个值"}


class Decisions:
    """Deciding on the items of one store."""

    def __init__(self, store: Store, reads: Reads, holds: Holds) -> None:
        self.store = store
        self.t = store.t
        self.reads = reads
        self.holds = holds

    # ---- one item ------------------------------------------------------------------------
    def settle(self, reviewer: Reviewer, decision: Decision) -> Correction:
        """Apply a decision on an item the reviewer's session holds, made on the value
        version it still has: the correction is inserted, the item settled, and the
        document's identities checked again, in one transaction. A publisher error also
        settles the open items of the identities it breaks. Raises ``DecisionRefused``."""
        if decision.kind not in DECISIONS:
            raise ValueError(f"unknown decision {decision.kind}")
        items = self.t.review_items
        with self.store.engine.begin() as conn:
            at = self._start(conn, reviewer)
            settled = conn.execute(
                self._settling(reviewer).where(
                    items.c.id == decision.item_id, items.c.held_session == reviewer.session
                )
            ).rowcount
            item = self.reads.item(decision.item_id, conn)
            if settled != 1:
                raise DecisionRefused(self._why(item, reviewer))
            if item.version != decision.version:
                raise DecisionRefused(self._changed(item, conn))
            as_printed = decision.kind in (DecisionKind.CONFIRM, DecisionKind.PUBLISHER_ERROR)
            if as_printed and (unread := self._unread(conn, item)):
                raise DecisionRefused(
                    f"「{label_of(item.key)}」{unread}，不能按原样保留为空；"
                    "请输入数值（空白单元格填“空”）。"
                )
            batch = uuid.uuid4().hex
            correction = self._insert(conn, item, reviewer, decision, batch)
            if decision.kind == DecisionKind.PUBLISHER_ERROR:
                self._settle_siblings(conn, item, reviewer, batch, at)
            self.recheck(item.document_id, conn)
            return correction

    def _start(self, conn: Connection, reviewer: Reviewer) -> float:
        """A writing transaction begins by noting the session (SQLite's lock first)."""
        at = now().timestamp()
        self.holds.touch(conn, reviewer, at)
        return at

    def _unread(self, conn: Connection, item: Item) -> str | None:
        """Why the item's value cannot be kept "as printed": a null that is no printed
        blank, which no person has given."""
        if item.value is not None or item.key in self.reads.effective(item.document_id, conn):
            return None
        empty = self.reads.empty(item.document_id, conn).get(item.key, Empty.NOT_READ)
        return _UNREAD.get(empty)

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
    ) -> Correction:
        """The audit row of a decision, naming its value's source and, when it replaces a
        colleague's value with another, the colleague's decision it overrides."""
        if decision.kind == DecisionKind.TYPED:
            source = reviewer.source
        elif decision.source is not None:
            source = decision.source
        else:  # kept as it is: the current value's source
            source = self.reads.source_of(item.document_id, item.key, conn)
        overrides = None
        standing = self.reads.effective(item.document_id, conn).get(item.key)
        if (
            decision.kind in DECISIONS
            and standing is not None
            and standing.reviewer != reviewer.name
            and dump(standing.new_value) != dump(decision.value)
        ):
            overrides = standing.id
        row = (
            conn.execute(
                insert(self.t.corrections)
                .values(
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
                    source=source,
                    overrides=overrides,
                )
                .returning(*self.t.corrections.c)
            )
            .mappings()
            .one()
        )
        return Correction(
            **{**row, "old_value": load(row["old_value"]), "new_value": load(row["new_value"])}
        )

    def _settle_siblings(
        self, conn: Connection, item: Item, reviewer: Reviewer, batch: str, at: float
    ) -> None:
        """A publisher error is the identity's, not one cell's: the other open items of
        the identities it breaks are settled as printed too."""
        broken = [
            f["keys"] for f in self.reads.breaks(item.document_id, conn) if item.key in f["keys"]
        ]
        keys = {k for found in broken for k in found} - {item.key}
        if not keys:
            return
        items = self.t.review_items
        siblings = conn.execute(
            select(items.c.id).where(items.c.document_id == item.document_id, items.c.key.in_(keys))
        ).scalars()
        note = f"随「{label_of(item.key)}」一并记为报告本身不一致"
        for sibling_id in list(siblings):
            sibling = self.reads.item(sibling_id, conn)
            if self._unread(conn, sibling):
                continue
            if conn.execute(
                self._settling(reviewer).where(
                    items.c.id == sibling_id, self.holds.free_for(reviewer, at)
                )
            ).rowcount:
                decision = Decision(
                    sibling_id, sibling.version, DecisionKind.PUBLISHER_ERROR, sibling.value, note
                )
                self._insert(conn, sibling, reviewer, decision, batch)

    # ---- many items as printed -----------------------------------------------------------
    def confirm(
        self,
        reviewer: Reviewer,
        shown: Mapping[int, int],
        note: str | None = None,
        whole: int | None = None,
    ) -> Confirmed:
        """Confirm the shown items (id → the version shown) "as printed": each keeps its
        value. Items another session holds, whose value changed, that take part in an
        identity the current values break, that have candidates to choose from, or whose
        null is no printed blank stay open. ``whole``: the reviewer confirmed that whole
        document after seeing it (a row of its own, which makes it gold once nothing is
        open)."""
        items = self.t.review_items
        done = Confirmed()
        with self.store.engine.begin() as conn:
            at = self._start(conn, reviewer)
            batch = uuid.uuid4().hex
            by_doc: dict[int, list[Item]] = {}
            for item_id in shown:
                item = self.reads.item(item_id, conn)
                by_doc.setdefault(item.document_id, []).append(item)
            for document_id, chosen in by_doc.items():
                broken = {k for f in self.reads.breaks(document_id, conn) for k in f["keys"]}
                choices = self.reads.candidate_keys(document_id, conn)
                for item in chosen:
                    why = None
                    if item.status != "open":
                        why = f"已由{item.settled_by}处理"
                    elif item.version != shown[item.id]:
                        why = "数值在你看到之后改过"
                    elif item.key in broken:
                        why = "所在的勾稽关系不成立"
                    elif item.key in choices:
                        why = "有候选值，需逐项选定"
                    elif unread := self._unread(conn, item):
                        why = unread
                    elif not conn.execute(
                        self._settling(reviewer).where(
                            items.c.id == item.id, self.holds.free_for(reviewer, at)
                        )
                    ).rowcount:
                        why = f"正由{item.held_by}处理"
                    if why:
                        done.left[item.key] = why
                        continue
                    kind = Decision(item.id, item.version, DecisionKind.CONFIRM, item.value, note)
                    self._insert(conn, item, reviewer, kind, batch)
                    done.settled.append(item.key)
                self.recheck(document_id, conn)
            if whole is not None:
                self._confirm_whole(conn, reviewer, whole, note)
            documents = set(by_doc) | ({whole} if whole is not None else set())
            done.remaining = conn.execute(
                select(func.count())
                .select_from(items)
                .where(items.c.document_id.in_(documents), items.c.status == "open")
            ).scalar_one()
        return done

    def confirm_document(
        self, reviewer: Reviewer, document_id: int, note: str | None = None
    ) -> None:
        """The reviewer confirmed the whole report after seeing it."""
        with self.store.engine.begin() as conn:
            self._start(conn, reviewer)
            self._confirm_whole(conn, reviewer, document_id, note)

    def _confirm_whole(
        self, conn: Connection, reviewer: Reviewer, document_id: int, note: str | None
    ) -> None:
        if not reviewer.name.strip():
            raise DecisionRefused("请先填写复核人姓名。")
        conn.execute(
            insert(self.t.confirmations).values(
                document_id=document_id,
                reviewer=reviewer.name,
                session=reviewer.session,
                created_at=now(),
                note=note,
            )
        )

    # ---- undo and reopen -------------------------------------------------------------------
    def undo(self, reviewer: Reviewer) -> list[Item]:
        """Undo the reviewer's last decision (all of it, when it settled several items):
        each value goes back to what it was and its item opens again, held for them. The
        audit keeps the decision and the undo."""
        corrections = self.t.corrections.c
        with self.store.engine.begin() as conn:
            at = self._start(conn, reviewer)
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
            rows = [r for r in self.store.audit(conn=conn) if r.batch == batch]
            reopened = []
            for row in rows:
                item = self.reads.item(row.item_id, conn)
                if item.version != row.id:
                    raise DecisionRefused(
                        f"「{label_of(item.key)}」之后又有了新的决定，不能撤销这一次；"
                        "请在整份报告中重新打开它。"
                    )
                self._reopen(conn, item, reviewer, at, DecisionKind.UNDO)
                source = self._source_before(conn, row)
                back = Decision(
                    item.id, item.version, DecisionKind.UNDO, row.old_value, None, source
                )
                self._insert(conn, item, reviewer, back, uuid.uuid4().hex, undoes=row.id)
                reopened.append(item.id)
            for document_id in {r.document_id for r in rows}:
                self.recheck(document_id, conn)
            return [self.reads.item(i, conn) for i in reopened]

    def _source_before(self, conn: Connection, row: Correction) -> str | None:
        """The source of the value a decision replaced: the decision before it that still
        stands, else the witness that read it."""
        history = [r for r in self.store.audit(row.document_id, conn, row.key) if r.id < row.id]
        undone = {r.undoes for r in history if r.undoes is not None}
        standing = [r for r in history if r.decision in DECISIONS and r.id not in undone]
        if standing:
            return standing[-1].source
        field = self.store.field_rows(row.document_id, conn).get(row.key)
        return field.witness if field else None

    def reopen(self, item_id: int, reviewer: Reviewer, note: str | None = None) -> Item:
        """Open a settled item again, held for the reviewer; its value stays until a new
        decision. The audit notes the reopening."""
        with self.store.engine.begin() as conn:
            at = self._start(conn, reviewer)
            item = self.reads.item(item_id, conn)
            if item.status == "open":
                raise DecisionRefused(f"「{label_of(item.key)}」还没有处理，不需要重新打开。")
            self._reopen(conn, item, reviewer, at)
            self._insert(
                conn, item, reviewer,
                Decision(item.id, item.version, DecisionKind.REOPEN, item.value, note),
                uuid.uuid4().hex,
            )  # fmt: skip
            return self.reads.item(item_id, conn)

    def _reopen(
        self,
        conn: Connection,
        item: Item,
        reviewer: Reviewer,
        at: float,
        why: str = DecisionKind.REOPEN,
    ) -> None:
        self.holds.let_go(conn, reviewer)
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
        for the keys it names that nobody has looked at yet. A value a person gave is never
        blamed alone for a sum it breaks: its other cells open."""
        values = self.store.values(document_id, conn)
        settled = self.reads.settled_keys(document_id, conn)
        status = {k: f.status for k, f in self.store.field_rows(document_id, conn).items()}
        known = {k for k in FIELD_KEYS if status.get(k) == FieldStatus.ACCEPTED or k in settled}
        latest = self.reads.latest_kinds(document_id, conn)
        acknowledged = {k for k, kind in latest.items() if kind == DecisionKind.PUBLISHER_ERROR}
        given = self.reads.given(document_id, conn)
        broken = [
            f.to_dict()
            for f in checks.check_identities(values, known, given)
            # a reviewer already called this the report's own error
            if not acknowledged & set(f.keys)
        ]
        flagged = dict(status)
        for finding in broken:
            for key in finding["keys"]:
                if key not in settled:
                    flagged[key] = FieldStatus.REVIEW
        self.store.open_items(conn, document_id, flagged, broken, opened_by="recheck")
        return broken
