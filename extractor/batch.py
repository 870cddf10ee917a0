"""Bulk runs: many documents, one at a time through a bounded window, resumable.

One truth of "done": the output file is the journal of the run, and the store follows it.

* Each record is written to the file first, in one write of one line, then given to the
  store (``on_record``). A kill can cut at most the line being written, and can leave the
  store one record behind the file, never ahead of it.
* ``--resume`` reads the journal: a line cut off by a kill is dropped; a document is done
  when its last line has the same content (sha256) and settings (a fingerprint of gouji's
  version, the record format, the LLM and its prompts) and its witness was not left
  unavailable. Every other line of a document about to be redone is dropped, so a document
  is recorded once, failed ones included. The file is rewritten beside itself and swapped
  in (a kill during the rewrite leaves the old journal whole).
* The records the file keeps are replayed through ``on_record``: the store learns what the
  file has (saving a record it already holds is a no-op), and the check across years sees
  every year, kept and new; so a resumed run ends with the records, store rows and findings
  of an uninterrupted one.
* Reader-only runs use processes (the reader is CPU work); LLM runs use threads, which
  wait on the endpoint, and share its rate limit. Every worker process ends when the run
  does, however it ends: each watches for its parent's going.
* Progress is a bar on a terminal and a plain line every few seconds in a log.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TextIO

from . import crossyear, twins
from .llm import LLMClient
from .model import Usage
from .pipeline import extract_file
from .record import document_key, dumps, skipped_record
from .settings import Settings
from .sources import sha256_of
from .status import FieldStatus

LOG_EVERY_SECONDS = 10.0
PARENT_POLL_SECONDS = 0.5


@dataclass(slots=True)
class _Line:
    offset: int
    length: int
    sha256: str | None
    current: bool  # written with these settings, and its witness (if any) answered


def resume(output: Path, fingerprint: str, documents: list[Path]) -> int:
    """How many of ``documents`` the output holds done; the output is left holding only
    those done lines (see the module docstring), which ``records`` then reads."""
    if not output.exists():
        return 0
    lines: dict[str, _Line] = {}
    offset = 0
    with output.open("rb") as journal:
        for raw in journal:
            try:
                record = json.loads(raw) if raw.endswith(b"\n") else None
            except ValueError:
                record = None
            if record is None:
                break  # the half-written line of an interrupted run
            current = record.get("settings") == fingerprint and not (record.get("llm") or {}).get(
                "unavailable"
            )
            # A later line of the same document replaces an earlier one.
            lines[document_key(record["document"])] = _Line(
                offset, len(raw), record.get("sha256"), current
            )
            offset += len(raw)
    for path in documents:
        line = lines.get(document_key(path))
        if line is not None and (not line.current or line.sha256 != sha256_of(path)):
            del lines[document_key(path)]  # to be redone
    kept = sorted((line for line in lines.values() if line.current), key=lambda x: x.offset)
    if sum(line.length for line in kept) < output.stat().st_size:
        fresh = output.with_name(output.name + ".resume")
        with output.open("rb") as journal, fresh.open("wb") as out:
            for line in kept:
                journal.seek(line.offset)
                out.write(journal.read(line.length))
            out.flush()
            os.fsync(out.fileno())
        os.replace(fresh, output)
    return len(kept)


def records(output: Path) -> Iterator[dict]:
    """The records of an output file, one at a time."""
    with output.open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


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
    documents: int = 0
    skipped: int = 0  # done before (``--resume``)
    not_reports: int = 0  # skipped records: not a report, or a copy of another document
    failed: int = 0
    unavailable: int = 0  # documents read without the witness: the endpoint did not answer
    in_review: int = 0
    rules: Counter = field(default_factory=Counter)
    usage: Usage = field(default_factory=Usage)
    cross_year: list[dict] = field(default_factory=list)

    def count(self, record: dict) -> crossyear.YearSummary | None:
        """Add one record to the summary; what the check across years needs of it."""
        if record["status"] == "failed":
            self.failed += 1
            return None
        if record["status"] == "skipped":
            self.not_reports += 1
            return None
        self.unavailable += bool((record.get("llm") or {}).get("unavailable"))
        self.in_review += sum(1 for s in record["field_status"].values() if s == FieldStatus.REVIEW)
        self.rules.update(f["rule"] for f in record["findings"])
        return crossyear.summarise(record)


def map_ordered(
    function: Callable, items: Iterable, workers: int, pool: type = ThreadPoolExecutor
) -> Iterator:
    """``map`` over a bounded window of workers, results in input order, so a run over
    thousands of files holds only a window of them at once."""
    if workers <= 1:
        yield from map(function, items)
        return
    with pool(max_workers=workers) as executor:
        window: deque = deque()
        for item in items:
            window.append(executor.submit(function, item))
            if len(window) >= 2 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


# Past this many requests in flight, one interpreter's lock, not the endpoint, sets the pace
# (benchmark, 32 in flight: 1.15 × ideal in two processes, 1.28 × in one).
THREADS_PER_PROCESS = 16


def _records(
    settings: Settings, llm: LLMClient | None, workers: int, documents: Iterable[Path]
) -> Iterator[dict]:
    """Each document's record, in input order."""
    one = partial(extract_file, settings=settings, llm=llm)
    if workers <= 1:
        return map(one, documents)
    if llm is None:
        pool = partial(ProcessPoolExecutor, initializer=_die_with_parent, initargs=(os.getpid(),))
        return map_ordered(one, documents, workers, pool)
    processes = min(os.cpu_count() or 1, -(-workers // THREADS_PER_PROCESS))
    if processes <= 1:
        return map_ordered(one, documents, workers, ThreadPoolExecutor)
    return _in_processes(settings, documents, processes, -(-workers // processes))


def _in_processes(
    settings: Settings, items: Iterable[Path], processes: int, threads: int
) -> Iterator[dict]:
    """Many requests in flight on several cores: each process has its own LLM client (and its
    share of the rate limit) and ``threads`` threads, each taking the next document as soon as
    it is done with one, so no document waits for a slow one. Records come back in input
    order, with at most a bounded window of documents between the next one out and the last
    one handed out."""
    share = settings.share(processes)
    context = multiprocessing.get_context()
    jobs, results = context.Queue(), context.Queue()
    workers = [
        context.Process(
            target=_serve, args=(os.getpid(), share, threads, jobs, results), daemon=True
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    window = 2 * processes * threads
    pending = iter(items)
    handed = done = 0
    finished: dict[int, dict] = {}
    complete = False
    try:
        while not complete:
            while pending is not None and handed - done < window:
                item = next(pending, None)
                if item is None:
                    for _ in range(processes * threads):
                        jobs.put(None)  # one stop for every thread
                    pending = None
                    break
                jobs.put((handed, item))
                handed += 1
            if pending is None and done == handed:
                complete = True
                break
            try:
                index, record = results.get(timeout=5)
            except queue.Empty:
                if not all(worker.is_alive() for worker in workers):
                    raise RuntimeError("一个 LLM 工作进程意外退出，已完成的记录都已写出") from None
                continue
            finished[index] = record
            while done in finished:
                yield finished.pop(done)
                done += 1
    finally:
        # Done: the workers have their stops and close their clients. Interrupted: stop them
        # now, and do not wait to flush documents nobody will take.
        for worker in workers:
            worker.join(timeout=30 if complete else 0)
            if worker.is_alive():
                worker.terminate()
                worker.join()
        if not complete:
            jobs.cancel_join_thread()


def _die_with_parent(parent: int) -> None:
    """Called first in every worker process: the worker ends when the run's process does,
    kill -9 included (a worker blocked on its queue would wait forever otherwise). Polling
    the parent's id works on every platform and whichever thread started the worker."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _serve(parent: int, settings: Settings, threads: int, jobs, results) -> None:
    """One worker process: ``threads`` threads sharing one client, until each takes a stop."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops us
    client = settings.client()
    gc.freeze()  # as in ``run``: the process's modules and client live as long as it does
    one = partial(extract_file, settings=settings, llm=client)

    def work() -> None:
        while (job := jobs.get()) is not None:
            index, path = job
            results.put((index, one(path)))

    pool = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    client.close()


def run(
    documents: list[Path],
    out: TextIO,
    settings: Settings,
    *,
    llm: LLMClient | None = None,
    workers: int | None = None,
    earlier: Iterable[dict] = (),
    on_record: Callable[[dict], None] | None = None,
    quiet: bool = False,
) -> Outcome:
    """Extract ``documents`` into ``out``, one JSON line each, in input order. ``earlier``
    are the records ``out`` already holds (a resumed run): their documents are not read
    again; each is given to ``on_record`` again, and counted and checked across years with
    the new ones. Copies are found among all ``documents``, done or not, as an
    uninterrupted run finds them.

    ``llm``: a client the caller holds (left open); by default the run makes one from the
    settings and closes it. ``workers``: documents at once (default: ``settings.concurrency``,
    else ``default_workers``)."""
    outcome = Outcome()
    years = []
    done = set()
    for record in earlier:
        done.add(document_key(record["document"]))
        outcome.skipped += 1
        if on_record is not None and record["status"] != "skipped":
            on_record(record)
        if (summary := outcome.count(record)) is not None:
            years.append(summary)
    copied = twins.copies(documents)
    documents = [d for d in documents if document_key(d) not in done]
    outcome.documents = outcome.skipped + len(documents)
    fingerprint = settings.fingerprint()
    workers = workers or settings.concurrency or default_workers(settings, len(documents))
    progress = Progress(len(documents), sys.stderr, quiet)
    own = llm is None
    llm = settings.client() if own else llm
    # What is loaded by now (modules, patterns, the LLM client) lives for the whole run:
    # frozen, it is not walked again by every full collection (a few ms per LLM request).
    gc.freeze()
    try:
        extracted = _records(settings, llm, workers, [d for d in documents if d not in copied])
        for record in _with_copies(extracted, documents, copied):
            record["settings"] = fingerprint
            out.write(dumps(record) + "\n")  # one write per record: a kill cuts at most one line
            out.flush()
            if on_record is not None and record["status"] != "skipped":
                on_record(record)
            progress.step()
            if record.get("llm"):
                outcome.usage.add(Usage(**record["llm"]["usage"]))
            if (summary := outcome.count(record)) is not None:
                years.append(summary)
    finally:
        gc.unfreeze()
        progress.close()
        if own and llm is not None:
            llm.close()
    outcome.cross_year = [
        {"document": s.document, "sha256": s.sha256, **f.to_dict()}
        for s, f in crossyear.check(years)
    ]
    outcome.rules.update(f["rule"] for f in outcome.cross_year)
    return outcome


def _with_copies(
    extracted: Iterator[dict], documents: list[Path], copied: dict[Path, tuple[str, Path]]
) -> Iterator[dict]:
    """All records in input order: the extracted ones, and a skipped record for each copy."""
    for path in documents:
        if path in copied:
            error, original = copied[path]
            yield skipped_record(str(path), error, sha256_of(path), str(original))
        else:
            yield next(extracted)


def default_workers(settings: Settings, count: int) -> int:
    """Eight requests in flight for an endpoint; the machine's cores for the reader when
    the run is long enough to pay for starting them."""
    if settings.uses_llm:
        return 8
    return min(os.cpu_count() or 1, 8) if count >= 50 else 1
