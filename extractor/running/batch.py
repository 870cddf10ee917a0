"""Bulk runs: the one run object, ``Run``, that ``gouji extract``, ``gouji cluster``, the eval
and ``run`` drive, so every way of running gouji reads the same files the same way.

A run owns, in this order:

* **Discovery** (``discover``): the files named or held in folders, each looked at before
  it is opened (regular files only, the size before a byte is read) and hashed once,
  streaming. What the run knows per file is kept in a ledger on disk (``ledger``), so its
  memory does not grow with the batch.
* **The journal**: the output file, one JSON line per record. A record goes there first, in
  one write of one line, then to the store: a kill can cut at most the line being written,
  and can leave the store one record behind the file, never ahead of it. ``--resume`` reads
  it: a line cut off by a kill is dropped; a document is done when its last line has the
  same content (sha256) and settings (the fingerprint of gouji's version, the record format,
  the limits, the LLM and its prompts) and its witness was not left unavailable. Failed
  records keep their file's hash, so a file that failed is not read again until it changes
  (or the settings do). Every other line of a document about to be redone is dropped, so a
  document is recorded once, failed ones included; the file is rewritten beside itself and
  swapped in (a kill during the rewrite leaves the old journal whole). The records it keeps
  are given to the store again (saving a record it already holds is a no-op) and to the
  check across years, so a resumed run ends with the records, store rows and findings of
  an uninterrupted one.
* **Copies** (``twins``): duplicates and twins among all the run's files, done or not, as an
  uninterrupted run finds them.
* **The reading**: each document in a supervised worker process under its time and memory
  bounds (``isolation``), or on a Ray cluster (``cluster``); records in input order.
* **Each record**: the settings fingerprint, the journal, the store (one store run with the
  settings, prompt versions and model), the summary, and the list of failed files.
* **The check across years** (``crossyear``) at the end, over every record of the journal,
  kept and new: beside the output as ``<output>.cross_year.jsonl`` and into the store.

For a service that is handed one file at a time, ``Run.submit`` takes a file through the same
steps except those that need the whole batch (copies, years); ``Run.records`` reads files as a
run does and only gives their records back (the eval).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, TextIO

from ..checking import crossyear
from ..checking.record import Record, document_key, dumps, failed_record, skipped_record
from ..inputs.discover import discover, examine
from ..model import Usage
from ..rules import RULES
from ..status import FieldStatus
from ..storage.store import Store
from ..terminal import shown
from ..witness.tasks import prompt_versions
from .isolation import Job, Pool
from .ledger import Entry, Ledger
from .settings import Settings

LOG_EVERY_SECONDS = 10.0
FAILED_SHOWN = 20


class Executor(Protocol):
    """Where documents are read: ``isolation.Pool`` on this machine, ``cluster.Ray`` on a
    cluster. ``imap`` gives each item's record in order (a record passes through)."""

    def imap(self, items: Iterable[Job | Record]) -> Iterator[Record]: ...

    def close(self, now: bool = False) -> None: ...


class Progress:
    """A bar on a terminal; elsewhere a line every ``LOG_EVERY_SECONDS``."""

    def __init__(self, total: int, stream: TextIO, quiet: bool) -> None:
        import click

        self.total, self.stream, self.quiet = total, stream, quiet
        self.tty = stream.isatty() and not quiet
        self.done = 0
        self.started = self.last_line = time.monotonic()
        self.bar = click.progressbar(
            length=total,
            label="抽取",
            file=stream,
            show_pos=True,
            show_eta=True,
            hidden=not self.tty,
        )
        self.bar.__enter__()

    def step(self) -> None:
        self.done += 1
        self.bar.update(1)
        now = time.monotonic()
        if not self.tty and not self.quiet and now - self.last_line >= LOG_EVERY_SECONDS:
            self.last_line = now
            self.stream.write(self.line(now) + "\n")
            self.stream.flush()

    def line(self, now: float) -> str:
        rate = self.done / max(now - self.started, 1e-9)
        left = (self.total - self.done) / rate if rate else 0
        return f"已处理 {self.done}/{self.total}（{rate:.1f} 份/秒，预计还需 {left:.0f} 秒）"

    def close(self) -> None:
        self.bar.__exit__(None, None, None)


@dataclass
class Outcome:
    """A run's summary: counts only (and the first failures), whatever the batch's size."""

    documents: int = 0
    skipped: int = 0  # done before (``--resume``)
    ok: int = 0
    not_reports: int = 0  # skipped records: not a report, a copy, not a regular file
    failed: int = 0
    unavailable: int = 0  # documents read without the witness: the endpoint did not answer
    in_review: int = 0
    rules: Counter = field(default_factory=Counter)
    usage: Usage = field(default_factory=Usage)
    cross_year: int = 0  # findings across years
    failures: list[tuple[str, str]] = field(default_factory=list)  # the first FAILED_SHOWN

    def count(self, record: Record) -> crossyear.YearSummary | None:
        """Add one record to the summary; what the check across years needs of it."""
        if record["status"] == "failed":
            self.failed += 1
            if len(self.failures) < FAILED_SHOWN:
                self.failures.append((record["document"], record["error"]))
            return None
        if record["status"] == "skipped":
            self.not_reports += 1
            return None
        self.ok += 1
        self.unavailable += bool((record.get("llm") or {}).get("unavailable"))
        self.in_review += sum(1 for s in record["field_status"].values() if s == FieldStatus.REVIEW)
        self.rules.update(f["rule"] for f in record["findings"])
        return crossyear.summarise(record)


def default_workers(settings: Settings, count: int) -> int:
    """Eight requests in flight for an endpoint; the machine's cores for the reader when
    the run is long enough to pay for starting them."""
    if settings.uses_llm:
        return 8
    return min(os.cpu_count() or 1, 8) if count >= 50 else 1


class Run:
    """One run over report files. ``output``: the journal (a path, which ``resume`` reads
    first, or an open stream; None: no journal). ``store``: a ``Store`` (left open) or a URL
    (opened and closed here). ``executor``: where documents are read (default: worker
    processes on this machine, ``workers`` of them, else ``default_workers``). ``failed``: a
    file listing each failed document's path, one a line. ``label``: what the store's run
    records beside the settings (the paths, the engine).

    Use it as a context manager: ``discover`` then ``execute`` (a batch), or ``submit`` (one
    file at a time; thread-safe), or ``records`` (records only)."""

    def __init__(
        self,
        settings: Settings,
        *,
        output: Path | TextIO | None = None,
        resume: bool = False,
        store: Store | str | None = None,
        workers: int | None = None,
        executor: Executor | None = None,
        failed: Path | None = None,
        quiet: bool = True,
        label: dict | None = None,
    ) -> None:
        if resume and not isinstance(output, Path):
            raise ValueError("resume needs the journal's path")
        self.settings, self.resume, self.workers, self.quiet = settings, resume, workers, quiet
        self.fingerprint = settings.fingerprint()
        self.outcome = Outcome()
        self._output, self._executor, self._failed = output, executor, failed
        self._store_url = store if isinstance(store, str) else None  # opened with the run
        self._store = None if isinstance(store, str) else store
        self._label = label or {}
        self._ledger: Ledger | None = None
        self._out: TextIO | None = None
        self._failed_out: TextIO | None = None
        self._run_id: int | None = None
        self._years: crossyear.Years | None = None
        self._lock = threading.Lock()
        self._opened = False

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind, *_) -> None:
        self.close(interrupted=kind is not None)

    # ---- a batch -----------------------------------------------------------------------
    def discover(self, paths: Iterable[str | Path]) -> int:
        """Find, look at and hash the files of ``paths``; how many there are."""
        self._ledger = self._ledger or Ledger()
        for found in discover(paths, self.settings.limits):
            self._ledger.add(found)
        return len(self._ledger)

    def execute(self) -> Outcome:
        """Read every file discovered (see the module docstring); the run's summary."""
        ledger = self._ledger
        if ledger is None:
            raise RuntimeError("discover the run's files first")
        self._open()
        ledger.find_copies()
        todo = ledger.todo_count()
        self.outcome.documents = self.outcome.skipped + todo
        progress = Progress(todo, sys.stderr, self.quiet)
        try:
            for record in self._reader(todo).imap(map(_item, ledger.todo())):
                self._take(record)
                progress.step()
        finally:
            progress.close()
        self._check_years()
        return self.outcome

    # ---- one file, or records only -----------------------------------------------------
    def submit(self, path: str | Path, provenance: Mapping[str, str] | None = None) -> Record:
        """One file through the run (looked at, hashed, read in a worker under its bounds,
        journal, store, summary); its record. For a service handed files one at a time:
        thread-safe, files submitted at once are read at once (up to ``workers``), and the
        workers stay up between files. Copies and years, which need the whole batch, are not
        looked for. ``provenance``: what a crawler sent with the file (``extract_file``'s).
        Needs the local pool (the default executor)."""
        item = _item(Entry.of(examine(Path(path), self.settings.limits)))
        if isinstance(item, Job) and provenance:
            item = replace(item, provenance=dict(provenance))
        with self._lock:
            self._open()
            reader = self._reader(1)
        record = reader.submit(item).result() if isinstance(item, Job) else item
        with self._lock:
            self.outcome.documents += 1
            self._take(record)
        return record

    def records(self, paths: Iterable[str | Path]) -> Iterator[Record]:
        """Each file's record, read as a run reads it, in order; nothing written."""
        limits = self.settings.limits
        found = (Entry.of(examine(Path(p), limits)) for p in paths)
        for record in self._reader(1).imap(_item(entry) for entry in found):
            record["settings"] = self.fingerprint
            yield record

    def close(self, interrupted: bool = False) -> None:
        """End the run: the workers stop, the store run is finished (unless interrupted), the
        files are closed."""
        if self._executor is not None:
            self._executor.close(now=interrupted)
        store = self._store
        if store is not None and self._run_id is not None and not interrupted:
            usage = self.outcome.usage.to_dict() if self.settings.uses_llm else None
            store.finish_run(self._run_id, usage, self.outcome.documents)
        if store is not None and self._store_url is not None:
            store.close()
        if self._out is not None and isinstance(self._output, Path):
            self._out.close()  # a stream the caller gave is the caller's
        if self._failed_out is not None:
            self._failed_out.close()
        for part in (self._ledger, self._years):
            if part is not None:
                part.close()

    # ---- inside ------------------------------------------------------------------------
    def _reader(self, count: int) -> Executor:
        if self._executor is None:
            workers = self.workers or self.settings.concurrency
            self._executor = Pool(self.settings, workers or default_workers(self.settings, count))
        return self._executor

    def _open(self) -> None:
        """The journal (resumed first), the store and its run, the failed list: opened once,
        when the first record is near."""
        if self._opened:
            return
        self._opened = True
        self._years = crossyear.Years()
        output = self._output
        kept = self._resume(output) if self.resume else 0
        if isinstance(output, Path):
            # A name's undecodable bytes (lone surrogates) become JSON escapes of themselves.
            mode = "a" if self.resume else "w"
            self._out = output.open(mode, encoding="utf-8", errors="backslashreplace")
        else:
            self._out = output
        if self._store_url is not None:
            self._store = Store(self._store_url)
        if self._store is not None:
            settings = self.settings
            self._run_id = self._store.start_run(
                {**self._label, **settings.to_dict()},
                prompt_versions() if settings.uses_llm else {},
                settings.llm.model if settings.uses_llm else None,
            )
        if self._failed is not None:
            # Each path as the file system has it, to be read back as an argument.
            self._failed_out = self._failed.open("w", encoding="utf-8", errors="surrogateescape")
        if kept:
            for record in _journal(output):
                self.outcome.skipped += 1
                self._take(record, new=False)

    def _resume(self, output: Path) -> int:
        """Index the journal, keep its done lines (rewritten when some go); how many."""
        if not output.exists():
            return 0
        ledger = self._ledger or Ledger()
        self._ledger = ledger
        offset = 0
        with output.open("rb") as journal:
            for raw in journal:
                try:
                    record = json.loads(raw) if raw.endswith(b"\n") else None
                except ValueError:
                    record = None
                if record is None:
                    break  # the half-written line of an interrupted run
                current = record.get("settings") == self.fingerprint and not (
                    record.get("llm") or {}
                ).get("unavailable")
                key = document_key(record["document"])
                ledger.add_line(key, offset, len(raw), record.get("sha256"), current)
                offset += len(raw)
        count, length = ledger.keep_lines()
        if length < output.stat().st_size:
            fresh = output.with_name(output.name + ".resume")
            with output.open("rb") as journal, fresh.open("wb") as out:
                for start, size in ledger.kept_lines():
                    journal.seek(start)
                    out.write(journal.read(size))
                out.flush()
                os.fsync(out.fileno())
            os.replace(fresh, output)
        return count

    def _take(self, record: Record, new: bool = True) -> None:
        """One record, new or kept from the journal: journal, store, summary, failed list."""
        if new:
            record["settings"] = self.fingerprint
            if self._out is not None:
                self._out.write(dumps(record) + "\n")  # one write: a kill cuts at most one line
                self._out.flush()
            if record.get("llm"):
                self.outcome.usage.add(Usage(**record["llm"]["usage"]))
        if self._store is not None and record["status"] != "skipped":
            self._store.save_record(record, self._run_id)
        if (summary := self.outcome.count(record)) is not None:
            self._years.add(summary)
        if self._failed_out is not None and record["status"] == "failed":
            self._failed_out.write(record["document"] + "\n")
            self._failed_out.flush()

    def _check_years(self) -> None:
        """Findings across years, at the end: beside the journal (the whole journal's, also
        when resumed; none, no file) and into the store."""
        output = self._output if isinstance(self._output, Path) else None
        sidecar = output.with_name(output.stem + ".cross_year.jsonl") if output else None
        written = None
        try:
            for summary, finding in self._years.check():
                found = {"document": summary.document, "sha256": summary.sha256}
                found |= finding.to_dict()
                self.outcome.cross_year += 1
                self.outcome.rules[finding.rule] += 1
                if sidecar is not None:
                    written = written or sidecar.open("w", encoding="utf-8")
                    written.write(dumps(found) + "\n")
                if self._store is not None:
                    review = RULES[finding.rule].review
                    self._store.add_findings(summary.document, summary.sha256, [found], review)
        finally:
            if written is not None:
                written.close()
        if sidecar is not None and written is None:
            sidecar.unlink(missing_ok=True)


def _item(entry: Entry) -> Job | Record:
    """What the reader is given for a file: a job, or the record of a file not to be read."""
    if entry.error is None:
        return Job(entry.path, entry.sha256)
    if entry.status == "skipped":
        return skipped_record(entry.path, entry.error, entry.sha256, entry.original)
    return failed_record(entry.path, entry.error, entry.sha256)


def _journal(output: Path) -> Iterator[Record]:
    """The records of a journal, one at a time."""
    with output.open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def run(
    documents: Iterable[str | Path],
    out: TextIO,
    settings: Settings,
    *,
    workers: int | None = None,
    quiet: bool = False,
) -> Outcome:
    """Extract ``documents`` (files or folders) into ``out``, one JSON line each, in input
    order: a ``Run`` without a store or resume."""
    with Run(settings, output=out, workers=workers, quiet=quiet) as batch:
        batch.discover(documents)
        return batch.execute()


def failed_lines(outcome: Outcome) -> list[str]:
    """The failed files named, with their one-line reasons, for a terminal (file names and
    reasons escaped): the first ``FAILED_SHOWN``, then how many more."""
    lines = [f"  {shown(document)}：{shown(error)}" for document, error in outcome.failures]
    if outcome.failed > len(outcome.failures):
        lines.append(f"  ……另有 {outcome.failed - len(outcome.failures)} 份失败")
    return lines
