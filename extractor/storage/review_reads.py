"""The review queue's reads: the items and their pages, progress, each field's state, a
cell's history, the findings of the values as they stand now, and who confirmed a report.
Nothing here writes."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Connection

from ..checking import checks
from ..model import Claim
from ..rules import RULES
from ..status import Empty, FieldStatus, waiting
from ..template import FIELD_KEYS
from .review_rows import DECISIONS, GIVEN, DecisionKind, Filter, Item, Progress, ReviewerCounts
from .rows import Confirmation, Correction
from .store import Store, load

# The findings whose arithmetic the current values redo: their stored sentences go stale
# after a decision. The reader's, the witness's and the cross-year findings stand as found.
RECHECKED_KINDS = frozenset({"identity", "value", "prose"})


class Reads:
    """Reading the queue of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.t = store.t

    # ---- items -------------------------------------------------------------------------
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

    def fully_reviewed(self, document_id: int) -> bool:
        return not self.count(Filter(document_id=document_id))

    # ---- progress and reviewers --------------------------------------------------------
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

    def by_reviewer(self) -> dict[str, ReviewerCounts]:
        """Per reviewer: decisions made (undone ones included: the audit keeps them), the
        colleagues' decisions they overrode, and their own a colleague overrode."""
        c = self.t.corrections
        mine = c.alias("mine")
        queries = (
            select(c.c.reviewer, func.count()).where(c.c.decision.in_(DECISIONS)),
            select(c.c.reviewer, func.count()).where(c.c.overrides.is_not(None)),
            select(mine.c.reviewer, func.count()).join(c, c.c.overrides == mine.c.id),
        )
        with self.store.engine.connect() as conn:
            made, overrides, overridden = (
                dict(conn.execute(q.group_by(q.selected_columns[0])).all()) for q in queries
            )
        return {
            name: ReviewerCounts(made.get(name, 0), overrides.get(name, 0), overridden.get(name, 0))
            for name in sorted({*made, *overrides, *overridden})
        }

    def overridden(self, name: str) -> list[Correction]:
        """The decisions that overrode one of ``name``'s, newest first (each one's
        ``old_value`` is the value ``name`` had given)."""
        c = self.t.corrections
        theirs = select(c.c.id).where(c.c.reviewer == name)
        ids = select(c.c.id).where(c.c.overrides.in_(theirs))
        with self.store.engine.connect() as conn:
            wanted = set(conn.execute(ids).scalars())
        return [row for row in reversed(self.store.audit()) if row.id in wanted]

    # ---- fields ------------------------------------------------------------------------
    def states(self, document_id: int) -> dict[str, FieldStatus]:
        """Each key's state: ``accepted`` as extracted; ``reviewed`` or ``publisher_error``
        when a reviewer settled it; else waiting — ``review``, or for a null nobody has
        decided that the report does not print blank, ``unplaced`` or ``not_read``."""
        items = self.t.review_items.c
        with self.store.engine.connect() as conn:
            fields = self.store.field_rows(document_id, conn)
            item_status = dict(
                conn.execute(
                    select(items.key, items.status).where(items.document_id == document_id)
                ).all()
            )
            latest = self.latest_kinds(document_id, conn)
            decided = self.effective(document_id, conn)
        if not fields:  # a document not read
            return dict.fromkeys(FIELD_KEYS, FieldStatus.NOT_READ)
        out = {}
        for key in FIELD_KEYS:
            field = fields[key]
            if item_status.get(key) == "settled":
                out[key] = (
                    FieldStatus.PUBLISHER_ERROR
                    if latest.get(key) == DecisionKind.PUBLISHER_ERROR
                    else FieldStatus.REVIEWED
                )
            elif item_status.get(key) == "open" or field.status != FieldStatus.ACCEPTED:
                out[key] = FieldStatus.REVIEW if key in decided else waiting(field.empty)
            else:
                out[key] = FieldStatus.ACCEPTED
        return out

    def history(self, document_id: int, key: str) -> list[Correction]:
        """Every audit row of one cell, oldest first: who, what, from where, why, when."""
        return self.store.audit(document_id, key=key)

    def effective(self, document_id: int, conn: Connection) -> dict[str, Correction]:
        """Each key's decision that gave it its current value (none when no decision stands:
        never decided, or undone)."""
        rows = self.store.audit(document_id, conn)
        undone = {r.undoes for r in rows if r.undoes is not None}
        return {r.key: r for r in rows if r.decision in DECISIONS and r.id not in undone}

    def source_of(self, document_id: int, key: str, conn: Connection | None = None) -> str | None:
        """Where the key's current value came from: the decision that gave it, else the
        witness that read it (``None`` when nobody read one)."""
        with self.store.reading(conn) as conn:
            decided = self.effective(document_id, conn).get(key)
            if decided is not None:
                return decided.source
            field = self.store.field_rows(document_id, conn).get(key)
        return field.witness if field else None

    def latest_kinds(self, document_id: int, conn: Connection) -> dict[str, str]:
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

    def settled_keys(self, document_id: int, conn: Connection) -> set[str]:
        items = self.t.review_items.c
        query = select(items.key).where(items.document_id == document_id, items.status == "settled")
        return set(conn.execute(query).scalars())

    def candidate_keys(self, document_id: int, conn: Connection) -> set[str]:
        """Keys with witnesses' values kept: disputed, or with readings to choose from."""
        candidates = self.t.candidates.c
        query = select(candidates.key).where(candidates.document_id == document_id).distinct()
        return set(conn.execute(query).scalars())

    def empty(self, document_id: int, conn: Connection) -> dict[str, Empty]:
        """Each null field's kind of empty, as extracted."""
        fields = self.store.field_rows(document_id, conn)
        return {k: f.empty for k, f in fields.items() if f.empty is not None}

    # ---- what the current values break -------------------------------------------------
    def identity_breaks(self, document_id: int) -> list[dict]:
        """Identities broken by the document's current values (any value read or settled)."""
        with self.store.engine.connect() as conn:
            return self.breaks(document_id, conn)

    def breaks(self, document_id: int, conn: Connection) -> list[dict]:
        values, known, given = self._current(document_id, conn)
        return [f.to_dict() for f in checks.check_identities(values, known, given)]

    def _current(self, document_id: int, conn: Connection) -> tuple[dict, set[str], set[str]]:
        """The current values, the keys whose value counts in a check (read, accepted or
        settled), and those a person gave."""
        values = self.store.values(document_id, conn)
        settled = self.settled_keys(document_id, conn)
        fields = self.store.field_rows(document_id, conn)
        known = {
            k for k in FIELD_KEYS
            if values.get(k) is not None or k in settled
            or (k in fields and fields[k].status == FieldStatus.ACCEPTED)
        }  # fmt: skip
        return values, known, self.given(document_id, conn)

    def given(self, document_id: int, conn: Connection) -> set[str]:
        """The keys whose value a person gave (a candidate taken, a value typed), reopened
        or not: a sum such a value breaks is never blamed on it alone."""
        return {k for k, r in self.effective(document_id, conn).items() if r.decision in GIVEN}

    def messages_now(self, document_id: int) -> dict[str, list[str]]:
        """Why each key of the document is questioned, as of its current values: the
        reader's, the witness's and the cross-year findings as they were found, and the
        identities, value types and prose checked again on the values as they stand."""
        record = self.store.record(document_id)
        claims = [
            Claim(c["metric"], c["value"], c["unit"], c["qualifier"], c["quote"], tuple(c["span"]))
            for c in record.get("claims", [])
        ]
        with self.store.engine.connect() as conn:
            values, known, given = self._current(document_id, conn)
        live = [
            *checks.check_values(values),
            *checks.check_identities(values, known, given),
            *checks.check_claims(claims, values, known),
        ]
        out: dict[str, list[str]] = defaultdict(list)
        for found in self.store.findings(document_id):
            if found.rule in RULES and RULES[found.rule].kind not in RECHECKED_KINDS:
                for key in found.keys:
                    out[key].append(found.message)
        for finding in live:
            for key in finding.keys:
                out[key].append(finding.message)
        return dict(out)

    # ---- who confirmed a report --------------------------------------------------------
    def confirmations(self, document_id: int) -> list[Confirmation]:
        """The reviewers' confirmations of the whole report since it was last stored."""
        confirmations, documents = self.t.confirmations, self.t.documents
        query = (
            select(confirmations)
            .join(documents, documents.c.id == confirmations.c.document_id)
            .where(confirmations.c.document_id == document_id)
            .order_by(confirmations.c.id)
        )
        with self.store.engine.connect() as conn:
            stored = conn.execute(
                select(documents.c.updated_at).where(documents.c.id == document_id)
            ).scalar_one()
            rows = conn.execute(query).mappings().all()
        return [
            Confirmation(**r)
            for r in rows
            if _epoch(r["created_at"]) >= _epoch(stored) and r["reviewer"]
        ]

    def decided_by_people(self, document_id: int) -> dict[str, Correction]:
        """The keys whose current value a named person decided, with that decision."""
        with self.store.engine.connect() as conn:
            return {k: r for k, r in self.effective(document_id, conn).items() if r.reviewer}


def _epoch(stamp: datetime) -> float:
    """Epoch seconds of a stored time (SQLite gives it back without its zone, in UTC)."""
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
