"""``gouji serve``'s durable queue, in the store: one job per uploaded content.

A job's id is its file's sha256, so the same file sent twice is the same document. A job is
``queued`` until a server claims it (``running``, leased to that server for
``LEASE_SECONDS`` and renewed while it works), then takes its record's status (``ok``,
``failed``, ``skipped``). Nothing is held only in memory: a server killed mid-job leaves its
jobs running under a lease nobody renews, and whichever server looks next (the same one
restarted, or another on the same store) sends them back to the queue — at once when the
dead server ran on the same machine, else when the lease runs out. A job claimed
``MAX_ATTEMPTS`` times without finishing is a document that kills its server: it gets a
failed record instead of a fourth try.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import MetaData, Table, case, func, insert, select, update
from sqlalchemy.engine import Connection

from ..storage.store import Store, dump, load, now

LEASE_SECONDS = 20.0
MAX_ATTEMPTS = 3
WAITING = ("queued", "running")


@dataclass(frozen=True)
class Job:
    id: str  # the file's sha256
    path: str
    filename: str
    source: dict[str, str]
    callback_url: str | None
    status: str
    attempts: int
    document_id: int | None
    record: dict | None
    settings: str | None
    callback: str | None
    submitted_at: datetime
    finished_at: datetime | None

    @property
    def done(self) -> bool:
        return self.status not in WAITING


@dataclass(frozen=True)
class Upload:
    """A file received and stored, with what was sent beside it."""

    sha256: str
    path: str
    filename: str
    source: dict[str, str]
    callback_url: str | None


class Jobs:
    """The queue of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.t = Table("jobs", MetaData(), autoload_with=store.engine)

    @staticmethod
    def _job(row: Any) -> Job:
        return Job(
            row.id, row.path, row.filename, load(row.source), row.callback_url, row.status,
            row.attempts, row.document_id, load(row.record), row.settings, row.callback,
            row.submitted_at, row.finished_at,
        )  # fmt: skip

    def get(self, job_id: str) -> Job | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(self.t).where(self.t.c.id == job_id)).first()
        return None if row is None else self._job(row)

    # ---- submitting --------------------------------------------------------------------
    def submit(self, conn: Connection, upload: Upload, fingerprint: str) -> tuple[Job, bool]:
        """The job of ``upload``, and whether it was queued now, in the caller's transaction
        (a server commits the uploads that arrive together at once). The same content
        already here is that job (a callback asked for now is added when it had none),
        unless its record was made with other settings: then it is queued again, as
        ``--resume`` would redo it. Content the store already holds from ``gouji extract
        --db`` with these settings becomes a finished job naming that document."""
        jobs = self.t
        job = conn.execute(select(jobs).where(jobs.c.id == upload.sha256)).first()
        if job is not None and (not job.settings or job.settings == fingerprint):
            if upload.callback_url and not job.callback_url:
                pending = "pending" if job.status not in WAITING else None
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id == job.id)
                    .values(callback_url=upload.callback_url, callback=pending)
                )
            return self._read(conn, job.id), False
        queued = {
            "path": upload.path,
            "filename": upload.filename,
            "source": dump(upload.source),
            "callback_url": upload.callback_url,
            "status": "queued",
            "attempts": 0,
            "owner": None,
            "lease_until": None,
            "document_id": None,
            "record": None,
            "settings": None,
            "callback": None,
            "submitted_at": now(),
            "finished_at": None,
        }
        if job is not None:  # made with other settings: redone
            conn.execute(update(jobs).where(jobs.c.id == job.id).values(**queued))
            return self._read(conn, job.id), True
        held = self._stored(conn, upload.sha256, fingerprint)
        if held is not None:
            document_id, status = held
            queued |= {"status": status, "document_id": document_id, "settings": fingerprint}
            queued |= {"finished_at": now(), "callback": "pending" if upload.callback_url else None}
        # The same file sent at the same moment to another server on this store makes this
        # an IntegrityError: the caller's transaction is then tried again, and finds it.
        conn.execute(insert(jobs).values(id=upload.sha256, **queued))
        return self._read(conn, upload.sha256), held is None

    def _read(self, conn: Connection, job_id: str) -> Job:
        return self._job(conn.execute(select(self.t).where(self.t.c.id == job_id)).one())

    def _stored(self, conn, sha256: str, fingerprint: str) -> tuple[int, str] | None:
        """A document of this content the store holds, made with these settings."""
        documents = self.store.t.documents
        rows = conn.execute(
            select(documents.c.id, documents.c.status, documents.c.record)
            .where(documents.c.sha256 == sha256)
            .order_by(documents.c.id)
        )
        for document_id, status, record in rows:
            if json.loads(record).get("settings") == fingerprint:
                return document_id, status
        return None

    # ---- working -----------------------------------------------------------------------
    def claim(self, conn: Connection, owner: str, count: int) -> list[Job]:
        """Up to ``count`` of the oldest queued jobs, now running under ``owner``'s lease, in
        the caller's transaction (so a server's turn costs one commit, however many jobs it
        finishes and claims)."""
        jobs = self.t
        waiting = list(
            conn.execute(
                select(jobs.c.id)
                .where(jobs.c.status == "queued")
                .order_by(jobs.c.submitted_at, jobs.c.id)
                .limit(count)
            ).scalars()
        )
        if not waiting:
            return []
        lease = time.time() + LEASE_SECONDS
        conn.execute(
            update(jobs)
            .where(jobs.c.id.in_(waiting), jobs.c.status == "queued")
            .values(status="running", owner=owner, lease_until=lease, attempts=jobs.c.attempts + 1)
        )
        # Another server may have taken some of them between the two statements.
        taken = conn.execute(
            select(jobs)
            .where(jobs.c.id.in_(waiting), jobs.c.owner == owner, jobs.c.lease_until == lease)
            .order_by(jobs.c.submitted_at, jobs.c.id)
        )
        return [self._job(r) for r in taken]

    def renew(self, owner: str) -> None:
        """The server is alive: its running jobs' leases go on."""
        with self.store.engine.begin() as conn:
            conn.execute(
                update(self.t)
                .where(self.t.c.owner == owner, self.t.c.status == "running")
                .values(lease_until=time.time() + LEASE_SECONDS)
            )

    def requeue_lapsed(self) -> int:
        """Running jobs whose lease ran out (their server is gone) go back to the queue."""
        with self.store.engine.begin() as conn:
            return conn.execute(
                update(self.t)
                .where(self.t.c.status == "running", self.t.c.lease_until < time.time())
                .values(status="queued", owner=None, lease_until=None)
            ).rowcount

    def requeue_orphans(self, host: str) -> int:
        """Running jobs of servers on ``host`` whose process is gone go back to the queue at
        once (a restart need not wait for their leases): an owner is ``host:pid:nonce``."""
        with self.store.engine.begin() as conn:
            owners = conn.execute(
                select(self.t.c.owner)
                .where(self.t.c.status == "running", self.t.c.owner.startswith(f"{host}:"))
                .distinct()
            ).scalars()
            gone = [owner for owner in owners if not _alive(int(owner.split(":")[-2]))]
            if not gone:
                return 0
            return conn.execute(
                update(self.t)
                .where(self.t.c.status == "running", self.t.c.owner.in_(gone))
                .values(status="queued", owner=None, lease_until=None)
            ).rowcount

    def release(self, conn: Connection, owner: str, job_ids: list[str]) -> None:
        """Back to the queue, in the caller's transaction: the server is stopping (not
        counted as an attempt)."""
        if not job_ids:
            return
        attempts = self.t.c.attempts - 1
        conn.execute(
            update(self.t)
            .where(self.t.c.id.in_(job_ids), self.t.c.owner == owner, self.t.c.status == "running")
            .values(status="queued", owner=None, lease_until=None, attempts=attempts)
        )

    def finish(
        self,
        conn: Connection,
        owner: str,
        done: list[tuple[Job, dict, int | None]],
        fingerprint: str,
    ) -> list[Job]:
        """Jobs done, each with its record (stored as the document id given, or kept here
        when the store keeps no record of it), in the caller's transaction. Returns those
        still this server's (a job whose lease lapsed may have gone to another) that have a
        callback to make (one may have been asked for while the job ran)."""
        jobs = self.t
        finished = []
        for job, record, document_id in done:
            values = {
                "status": record["status"],
                "document_id": document_id,
                "record": dump(record) if document_id is None else None,
                "settings": fingerprint,
                "owner": None,
                "lease_until": None,
                "finished_at": now(),
                "callback": case((jobs.c.callback_url.is_not(None), "pending"), else_=None),
            }
            if conn.execute(
                update(jobs).where(jobs.c.id == job.id, jobs.c.owner == owner).values(**values)
            ).rowcount:
                finished.append(job.id)
        if not finished:
            return []
        calling = select(jobs).where(jobs.c.id.in_(finished), jobs.c.callback == "pending")
        return [self._job(r) for r in conn.execute(calling)]

    # ---- callbacks ---------------------------------------------------------------------
    def callbacks_due(self) -> list[Job]:
        """Finished jobs whose callback is not sent yet (the server stopped before)."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(self.t).where(self.t.c.callback == "pending")).all()
        return [self._job(r) for r in rows]

    def called_back(self, job_id: str, sent: bool) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(
                update(self.t)
                .where(self.t.c.id == job_id)
                .values(callback="sent" if sent else "failed")
            )

    # ---- listing -----------------------------------------------------------------------
    def listing(
        self,
        status: str | None = None,
        agency: str | None = None,
        year: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[dict], int]:
        """Jobs with their document's agency and year, oldest first; and how many match."""
        jobs, documents = self.t, self.store.t.documents
        joined = jobs.outerjoin(documents, documents.c.id == jobs.c.document_id)
        where = []
        if status:
            where.append(jobs.c.status == status)
        if agency:
            where.append(documents.c.agency.contains(agency, autoescape=True))
        if year is not None:
            where.append(documents.c.year == year)
        query = (
            select(
                jobs.c.id, jobs.c.status, jobs.c.filename, documents.c.agency,
                documents.c.year, documents.c.error, jobs.c.submitted_at, jobs.c.finished_at,
                jobs.c.record,
            )
            .select_from(joined)
            .where(*where)
            .order_by(jobs.c.submitted_at, jobs.c.id)
            .limit(limit)
            .offset(offset)
        )  # fmt: skip
        with self.store.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
            for row in rows:  # a skipped document's reason is in the record its job keeps
                kept = load(row.pop("record"))
                row["error"] = row["error"] or (kept or {}).get("error")
            total = conn.execute(
                select(func.count()).select_from(joined).where(*where)
            ).scalar_one()
        return rows, total


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
