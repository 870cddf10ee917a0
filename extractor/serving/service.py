"""``gouji serve``'s work, apart from HTTP: uploads become jobs (``jobs``), a dispatcher
thread drains the queue through the engine into the store, and a client that asked is
called back (``callback``). What a client reads is the store's: the record as extracted,
with a reviewer's values and their status once someone settled them in the review app.

The engine is reached in one place, ``Engine``: a document's path (and the provenance sent
with it) in, a future of its record out, on a bounded pool.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import socket
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..checking.record import dumps, failed_record
from ..running.batch import Run
from ..running.batch import default_workers as batch_workers
from ..running.settings import Settings
from ..status import FieldStatus
from ..storage.review import Review
from ..storage.store import Store
from ..template import FIELD_KEYS
from ..witness.tasks import prompt_versions
from . import callback
from .jobs import MAX_ATTEMPTS, Job, Jobs, Upload

# The store's states of a field nobody has settled: in a record, all are ``review``.
_WAITING = (FieldStatus.REVIEW, FieldStatus.UNPLACED, FieldStatus.NOT_READ)

log = logging.getLogger("gouji.serve")

POLL_SECONDS = 1.0  # how often the queue is looked at without a wake-up (other servers' jobs)
RENEW_SECONDS = 5.0  # how often leases are renewed and lapsed ones requeued
WINDOW = 4  # documents claimed a worker: the pool never waits on the queue


class Engine:
    """The seam between the server and extraction: the run object (``batch.Run``, as
    ``gouji extract`` drives it) reads each file in its supervised worker processes, under the
    document's bounds (time and memory included: a file that breaks one gets its failed record,
    as in a batch), and stamps the settings' fingerprint; ``submit`` gives a future of the
    record. The server writes records into the store itself, with their jobs."""

    def __init__(self, settings: Settings, workers: int) -> None:
        self.settings, self.workers = settings, workers
        self.fingerprint = settings.fingerprint()
        self.run = Run(settings, workers=workers)
        # Run.submit waits for its record: a thread for each document the server keeps going.
        self._waiting = ThreadPoolExecutor(WINDOW * workers, thread_name_prefix="gouji-extract")

    def submit(self, path: str, provenance: Mapping[str, str]) -> Future:
        return self._waiting.submit(self.run.submit, path, provenance)

    def close(self) -> None:
        """Stop now: documents in flight are abandoned (their jobs go back to the queue)."""
        self._waiting.shutdown(wait=False, cancel_futures=True)
        self.run.close(interrupted=True)


class Service:
    """One server's queue, engine and store."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        uploads: Path,
        workers: int,
        *,
        allow_private_callbacks: bool = False,
        token: str | None = None,
    ) -> None:
        self.store, self.settings, self.uploads = store, settings, uploads
        self.jobs = Jobs(store)
        self.review = Review(store)
        self.engine = Engine(settings, workers)
        self.allow_private_callbacks, self.token = allow_private_callbacks, token
        self.host = socket.gethostname()[:40]
        self.owner = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.incoming = uploads / ".incoming"
        self._events: queue.Queue = queue.Queue()
        self._running: dict[str, tuple[Job, Future]] = {}
        self._callbacks = ThreadPoolExecutor(4, thread_name_prefix="gouji-callback")
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._run_id: int | None = None
        self._done = 0
        # This server's writes take turns here rather than in SQLite's busy handler, whose
        # growing sleeps cost more than the writes themselves when uploads and records race.
        self._writing = threading.Lock()
        self._arrivals = threading.Lock()
        self._arrived: list[_Waiting] = []

    # ---- life --------------------------------------------------------------------------
    def start(self) -> None:
        """Resume: lapsed leases back to the queue, callbacks not yet sent sent, then work."""
        shutil.rmtree(self.incoming, ignore_errors=True)  # uploads cut off by a kill
        self.incoming.mkdir(parents=True, exist_ok=True)
        uses_llm = self.settings.uses_llm
        self._run_id = self.store.start_run(
            {"engine": "serve", **self.settings.to_dict()},
            prompt_versions() if uses_llm else {},
            self.settings.llm.model if uses_llm else None,
        )
        self.jobs.requeue_orphans(self.host)
        self.jobs.requeue_lapsed()
        for job in self.jobs.callbacks_due():
            self._call_back(job)
        self._thread = threading.Thread(target=self._loop, name="gouji-dispatch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop taking work; jobs in flight go back to the queue for the next start."""
        self._stopping.set()
        self._events.put(None)
        if self._thread is not None:
            self._thread.join()
        with self.store.engine.begin() as conn:
            self.jobs.release(conn, self.owner, list(self._running))
        self._running.clear()
        self.engine.close()
        self._callbacks.shutdown(wait=False, cancel_futures=True)
        if self._run_id is not None:
            self.store.finish_run(self._run_id, None, self._done)

    # ---- submitting --------------------------------------------------------------------
    def submit(self, received: Path, upload: Upload) -> tuple[Job, bool]:
        """Keep the file ``received`` (hashed as ``upload.sha256``) and queue it; the job,
        and whether it is new (false: the same content was here already). Answered only
        once the job is stored; uploads that wait on the store together are stored in one
        transaction (a group commit), so a burst of uploads costs a few commits, not one
        each."""
        folder = self.uploads / upload.sha256
        folder.mkdir(parents=True, exist_ok=True)
        kept = folder / upload.filename
        os.replace(received, kept)
        upload = replace(upload, path=str(kept.resolve()))
        waiting = _Waiting(upload)
        with self._arrivals:
            self._arrived.append(waiting)
        with self._writing:
            if waiting.result is None and waiting.error is None:  # no commit took it yet
                with self._arrivals:
                    batch, self._arrived = self._arrived, []
                try:
                    results = self._store_jobs(batch)
                except Exception as exc:  # each upload of the batch answers with it
                    for one in batch:
                        one.error = exc
                else:
                    for one, result in zip(batch, results, strict=True):
                        one.result = result
        if waiting.error is not None:
            kept.unlink(missing_ok=True)
            raise waiting.error
        job, created = waiting.result
        if Path(job.path) != kept.resolve():  # the content was here under another name
            kept.unlink(missing_ok=True)
        if created:
            self._events.put(("wake", None))
        elif job.done and job.callback == "pending":
            self._call_back(job)
        return job, created

    def _store_jobs(self, batch: list[_Waiting]) -> list[tuple[Job, bool]]:
        try:
            return self._submit_all(batch)
        except IntegrityError:  # another server stored one of these files first: now it is there
            return self._submit_all(batch)

    def _submit_all(self, batch: list[_Waiting]) -> list[tuple[Job, bool]]:
        with self.store.engine.begin() as conn:
            return [self.jobs.submit(conn, w.upload, self.engine.fingerprint) for w in batch]

    # ---- reading -----------------------------------------------------------------------
    def document(self, job_id: str) -> dict | None:
        """What ``GET /v1/documents/{id}`` answers: the record as the store holds it, with a
        reviewer's values and statuses (``reviewed``, ``publisher_error``) where someone
        settled a field; while the job waits, its status and what was sent with it."""
        job = self.jobs.get(job_id)
        if job is None:
            return None
        if job.document_id is not None:
            record = self.store.record(job.document_id)
            if record["status"] == "ok":
                values = self.store.values(job.document_id)
                record["fields"] = {key: values.get(key) for key in FIELD_KEYS}
                states = self.review.reads.states(job.document_id)
                # A field still waiting is ``review`` as in the record; ``empty`` says why a
                # null is null, and a value a person gave is no longer empty.
                record["field_status"] = {
                    key: FieldStatus.REVIEW if state in _WAITING else state
                    for key, state in states.items()
                }
                record["empty"] = {
                    key: kind
                    for key, kind in record.get("empty", {}).items()
                    if record["fields"][key] is None
                }
        elif job.record is not None:
            record = job.record
        else:
            record = {
                "status": job.status,
                "sha256": job.id,
                "filename": job.filename,
                "source": job.source,
                "submitted_at": job.submitted_at.isoformat(),
            }
        return {"id": job.id, **record}

    # ---- the dispatcher ----------------------------------------------------------------
    def _loop(self) -> None:
        renewed = time.monotonic()
        done: list[tuple[Job, dict | None]] = []
        while not self._stopping.is_set():
            try:
                self._turn(done)
                done = []
                events = [self._events.get(timeout=POLL_SECONDS)]
                while events[-1] is not None and not self._events.empty():
                    events.append(self._events.get_nowait())
                done = self._collect([e[1] for e in events if e is not None and e[0] == "done"])
            except queue.Empty:
                pass
            except Exception:  # the store went away for a moment: the same turn is tried again
                log.exception("处理队列时出错，稍后重试")
                time.sleep(POLL_SECONDS)
            if time.monotonic() - renewed >= RENEW_SECONDS:
                renewed = time.monotonic()
                try:
                    with self._writing:
                        self.jobs.renew(self.owner)
                        self.jobs.requeue_lapsed()
                except Exception:
                    log.exception("续租任务时出错，稍后重试")
        self._turn(done, claim=False)  # records that came in as the server was stopping

    def _collect(self, job_ids: list[str]) -> list[tuple[Job, dict]]:
        """The jobs whose futures are done, with their records (a worker that died under a
        document, or a bound it broke, is that document's failed record, as in a batch)."""
        done: list[tuple[Job, dict]] = []
        for job_id in job_ids:
            job, future = self._running.pop(job_id)
            try:
                done.append((job, future.result()))
            except Exception as exc:  # the run makes a record of every document's error
                error = f"internal.error: {type(exc).__name__}: {exc}"
                done.append((job, failed_record(job.path, error, job.id)))
        return done

    def _turn(self, done: list[tuple[Job, dict]], claim: bool = True) -> None:
        """In one transaction: the records of ``done`` into the store (not a report: nothing
        for the store, as in a batch run; the job keeps its record), their jobs finished, and
        new ones claimed while the pool has room
        (``WINDOW`` documents a worker, so none waits between documents and a claim takes
        several at once). A turn costs the store one commit, however many documents it
        moves; if the store refuses one record, each is stored alone so the others go on."""
        records = done
        for _, record in records:
            record.setdefault("settings", self.engine.fingerprint)
        room = WINDOW * self.engine.workers - len(self._running) if claim else 0
        with self._writing:
            try:
                with self.store.engine.begin() as conn:
                    stored = [(job, record, self._save(record, conn)) for job, record in records]
                    calling, claimed = self._move(conn, stored, room)
            except Exception:
                log.exception("写入复核库时出错，逐份重试")
                stored = [(job, *self._alone(record)) for job, record in records]
                with self.store.engine.begin() as conn:
                    calling, claimed = self._move(conn, stored, room)
        self._done += len(stored)
        for job in calling:
            self._call_back(job)
        exhausted = []
        for job in claimed:
            if job.attempts > MAX_ATTEMPTS:
                error = f"internal.error: 处理这份文件时服务已意外退出 {MAX_ATTEMPTS} 次，不再重试"
                exhausted.append((job, failed_record(job.path, error, job.id)))
                continue
            future = self.engine.submit(job.path, job.source)
            self._running[job.id] = (job, future)
            future.add_done_callback(lambda _, job_id=job.id: self._events.put(("done", job_id)))
        if exhausted:
            self._turn(exhausted)

    def _move(self, conn: Connection, stored: list, room: int) -> tuple[list[Job], list[Job]]:
        """The queue's side of a turn: jobs finished, jobs claimed."""
        calling = self.jobs.finish(conn, self.owner, stored, self.engine.fingerprint)
        return calling, self.jobs.claim(conn, self.owner, room) if room > 0 else []

    def _save(self, record: dict, conn: Connection | None = None) -> int | None:
        if record["status"] == "skipped":
            return None
        return self.store.save_record(record, self._run_id, conn)

    def _alone(self, record: dict) -> tuple[dict, int | None]:
        """The record stored in its own transaction; one the store refuses becomes the
        document's failed record saying so (a store that is not there raises: the turn is
        tried again)."""
        try:
            return record, self._save(record)
        except Exception as exc:
            log.exception("复核库拒绝了 %s 的记录", Path(record["document"]).name)
            error = f"internal.error: 复核库拒绝了这份记录（{type(exc).__name__}）"
            refused = failed_record(record["document"], error, record["sha256"])
            refused["settings"] = record["settings"]
            return refused, self._save(refused)

    # ---- callbacks ---------------------------------------------------------------------
    def _call_back(self, job: Job) -> None:
        self._callbacks.submit(self._send, job.id, job.callback_url)

    def _send(self, job_id: str, url: str) -> None:
        body = dumps(self.document(job_id) or {}).encode()
        sent = callback.post(
            url, body, allow_private=self.allow_private_callbacks, token=self.token
        )
        if not sent:
            log.warning("回调失败：任务 %s 的回调地址没有接受（已重试）", job_id[:12])
        self.jobs.called_back(job_id, sent)


@dataclass
class _Waiting:
    """An upload waiting for its job to be stored."""

    upload: Upload
    result: tuple[Job, bool] | None = None
    error: Exception | None = None


def default_workers(settings: Settings) -> int:
    """A server runs as long as a long batch: the batch's default for a long run."""
    return batch_workers(settings, sys.maxsize)
