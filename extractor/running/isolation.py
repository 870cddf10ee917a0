"""Documents read in supervised worker processes, so the worst file costs only its own record.

A run hands each document to a worker process (``pipeline.extract_file`` there) and watches
the workers between records:

* a document still running after ``Limits.seconds``: its worker is killed and replaced, and
  the document's record is ``input.timeout``;
* a worker whose memory grew by more than ``Limits.memory_mib`` since it began the document
  (its resident set, read from ``/proc``, every ``POLL_SECONDS``; with several documents in
  a worker, since the oldest began): killed and replaced, ``input.out_of_memory``;
* a worker that dies by itself (a crash in a library): ``internal.crash``; killed by a
  SIGKILL nobody here sent (the system's out-of-memory killer), ``input.out_of_memory``.

Reader-only workers read one document at a time (with the next one waiting in the worker, so
it never waits on the run), so the one that broke a bound is known; a waiting one is read
again elsewhere. LLM runs give a worker several (threads waiting on the endpoint): a timed-out
document is still known by its clock, and the others of its worker are read again; after a
crash or a memory kill, which one it was is not known, so each is read again alone, and only
one that breaks a bound alone gets the failed record.

Workers end with the run however it ends: told to stop when it is done, killed when it is
interrupted, and each watches its parent, so a ``kill -9`` of the run ends them too. They
are forked (fast: the modules are already loaded) when the run's process has no other
thread, else started as new interpreters (a Ray worker or a web server has threads that a
fork would copy in mid-step).
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait

from ..checking.record import Record, failed_record
from ..errors import InputError, OutOfMemory, TimedOut, WorkerCrashed
from ..limits import MIB
from .pipeline import extract_file, failure
from .settings import Settings

POLL_SECONDS = 0.05
PARENT_POLL_SECONDS = 0.5
# Past this many requests in flight, one interpreter's lock, not the endpoint, sets the pace
# (benchmark, 32 in flight: 1.15 × ideal in two processes, 1.28 × in one).
THREADS_PER_PROCESS = 16
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_STARTING = threading.Lock()


@dataclass(frozen=True, slots=True)
class Job:
    """One document to read: its path and, when the run has them, its content hash and what a
    crawler said of the page (``pipeline.extract_file``'s ``provenance``)."""

    path: str
    sha256: str | None = None
    provenance: dict[str, str] | None = None


@dataclass(slots=True)
class _Task:
    index: int
    job: Job
    alone: bool = False  # read again after a crash: no other document beside it
    started: float | None = None  # when a thread of its worker took it
    rss: int = 0  # its worker's resident memory then, in bytes


@dataclass(slots=True)
class _Worker:
    process: multiprocessing.process.BaseProcess | _Spawned
    conn: Connection
    tasks: dict[int, _Task] = field(default_factory=dict)
    alone: bool = False


def shape(settings: Settings, workers: int) -> tuple[int, int]:
    """(processes, threads each) for ``workers`` documents at once: a process each for the
    reader, which is CPU work; threads for LLM runs, which wait on the endpoint, spread over
    processes past ``THREADS_PER_PROCESS``."""
    if not settings.uses_llm:
        return workers, 1
    processes = min(os.cpu_count() or 1, -(-workers // THREADS_PER_PROCESS))
    return processes, -(-workers // processes)


class Pool:
    """Supervised worker processes reading documents: ``imap`` gives their records in order.

    One caller drives ``imap`` (the run's own thread, so workers are forked from a process
    with no other thread); or any threads ``submit`` documents, and a supervising thread of
    the pool's own reads them (a service). Not both on one pool."""

    def __init__(self, settings: Settings, workers: int = 1) -> None:
        self.processes, self.threads = shape(settings, workers)
        self.settings = settings.share(self.processes)  # each process its share of the rate
        self.limits = settings.limits
        # Finished records held for order: a slow document lets the others run this far ahead.
        self.window = max(32, 4 * self.processes * self.threads)
        self._workers: list[_Worker] = []
        self._checked = 0.0
        self._closed = self._now = False
        self._inbox: deque[tuple[Job, Future]] = deque()  # submitted, not yet taken
        self._supervisor: threading.Thread | None = None

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, kind, *_) -> None:
        self.close(now=kind is not None)

    def imap(self, items: Iterable[Job | Record]) -> Iterator[Record]:
        """Each item's record, in order: a ``Job`` is read by a worker; a record (a document
        the run settled without reading it) passes through in its place."""
        if self._closed:
            raise RuntimeError("the pool is closed")
        items = iter(items)
        waiting: deque[_Task] = deque()
        done: dict[int, Record] = {}
        taken = given = 0
        more = True
        try:
            while True:
                while more and taken - given < self.window:
                    item = next(items, None)
                    if item is None:
                        more = False
                        break
                    if isinstance(item, Job):
                        waiting.append(_Task(taken, item))
                    else:
                        done[taken] = item
                    taken += 1
                while given in done:
                    yield done.pop(given)
                    given += 1
                if not more and given == taken:
                    return
                self._dispatch(waiting)
                self._supervise(waiting, done)
        except BaseException:
            self.close(now=True)  # interrupted: nobody will take what the workers hold
            raise

    def submit(self, job: Job) -> Future:
        """Read ``job`` as soon as a worker is free; its record, when ready, in the future.
        Thread-safe."""
        if self._closed:
            raise RuntimeError("the pool is closed")
        future: Future = Future()
        self._inbox.append((job, future))  # deque: appends are atomic
        if self._supervisor is None:
            with _STARTING:
                if self._supervisor is None:
                    self._supervisor = threading.Thread(
                        target=self._supervise_submitted, daemon=True, name="gouji-pool"
                    )
                    self._supervisor.start()
        return future

    def _supervise_submitted(self) -> None:
        """The supervising thread of ``submit``: the loop of ``imap``, records to futures."""
        waiting: deque[_Task] = deque()
        done: dict[int, Record] = {}
        futures: dict[int, Future] = {}
        count = 0
        # Closed: at once (``close(now=True)``), else once what was submitted is read.
        while not self._closed or not (self._now or not (self._inbox or waiting or futures)):
            while self._inbox:
                job, future = self._inbox.popleft()
                futures[count] = future
                waiting.append(_Task(count, job))
                count += 1
            self._dispatch(waiting)
            self._supervise(waiting, done)
            for index, record in done.items():
                futures.pop(index).set_result(record)
            done.clear()
        for future in futures.values():
            future.cancel()

    def close(self, now: bool = False) -> None:
        """Stop the workers: when they are done (``now``: at once)."""
        self._closed, self._now = True, now
        if self._supervisor is not None:
            self._supervisor.join()
        for worker in self._workers:
            if not now:
                with contextlib.suppress(OSError):  # gone already
                    worker.conn.send(None)
        for worker in self._workers:
            worker.process.join(timeout=0 if now else 30)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self._workers = []

    # ---- supervision ------------------------------------------------------------------
    def _start(self) -> _Worker:
        if not _may_fork():
            return _spawn(self.settings, self.threads)
        context = multiprocessing.get_context("fork")
        mine, theirs = context.Pipe()
        process = context.Process(
            target=_work, args=(theirs, self.settings, self.threads), daemon=True
        )
        process.start()
        theirs.close()
        return _Worker(process, mine)

    def _dispatch(self, waiting: deque[_Task]) -> None:
        for worker in [w for w in self._workers if not w.tasks and not w.process.is_alive()]:
            self._bury(worker, None, waiting, {})  # gone while idle: replaced, nothing lost
        while len(self._workers) < self.processes and not self._closed:
            self._workers.append(self._start())
        while waiting:
            task = waiting[0]
            worker = next((w for w in self._workers if self._takes(w, task)), None)
            if worker is None:
                return
            waiting.popleft()
            worker.tasks[task.index] = task
            worker.alone = task.alone
            self._clock(worker)
            # A worker gone already: supervision finds it and reads the task again.
            with contextlib.suppress(OSError):
                worker.conn.send((task.index, task.job))

    def _takes(self, worker: _Worker, task: _Task) -> bool:
        """A worker takes as many documents as it has threads, and one more waiting behind
        them, so it never waits on the run between two."""
        if worker.alone:
            return False
        return not worker.tasks if task.alone else len(worker.tasks) <= self.threads

    def _running(self, worker: _Worker) -> list[_Task]:
        """The tasks its threads are on: the oldest it holds (they take them in order)."""
        return list(worker.tasks.values())[: self.threads]

    def _clock(self, worker: _Worker) -> None:
        """Start the clock of each task a thread has just taken, and note its worker's
        memory then (what the task may grow it by is its bound)."""
        for task in self._running(worker):
            if task.started is None:
                task.started = time.monotonic()
                task.rss = _rss(worker.process.pid)

    def _supervise(self, waiting: deque[_Task], done: dict[int, Record]) -> None:
        busy = [w for w in self._workers if w.tasks]
        sentinels = [w.process.sentinel for w in busy if w.process.sentinel is not None]
        ready = wait([w.conn for w in busy] + sentinels, POLL_SECONDS)
        for worker in busy:
            if worker.conn in ready or worker.process.sentinel in ready:
                self._receive(worker, done)
        now = time.monotonic()
        check_memory = now - self._checked >= POLL_SECONDS
        if check_memory:
            self._checked = now
        seconds = self.limits.seconds
        for worker in busy:
            if not worker.tasks:
                continue
            if not worker.process.is_alive():
                self._receive(worker, done)
                self._bury(worker, _death(worker.process.exitcode), waiting, done)
                continue
            late = [t for t in self._running(worker) if now - t.started > seconds]
            if late:
                self._kill(worker, done)
                error = TimedOut(f"处理超过 {seconds:g} 秒的上限，已中止")
                for task in late:
                    if worker.tasks.pop(task.index, None) is not None:
                        done[task.index] = _failed(task, error)
                self._bury(worker, None, waiting, done)
            elif check_memory:
                before = min(t.rss for t in self._running(worker))
                if _rss(worker.process.pid) - before > self.limits.memory_mib * MIB:
                    self._kill(worker, done)
                    message = f"内存增长超过 {self.limits.memory_mib} MiB 的上限，已中止"
                    self._bury(worker, OutOfMemory(message), waiting, done)

    def _receive(self, worker: _Worker, done: dict[int, Record]) -> None:
        try:
            while worker.conn.poll():
                index, record = worker.conn.recv()
                worker.tasks.pop(index, None)
                done[index] = record
        except (EOFError, OSError):
            pass  # it died: its sentinel says so
        if not worker.tasks:
            worker.alone = False
        self._clock(worker)

    def _kill(self, worker: _Worker, done: dict[int, Record]) -> None:
        self._receive(worker, done)  # what it finished before it is stopped
        worker.process.kill()
        worker.process.join()

    def _bury(
        self,
        worker: _Worker,
        error: InputError | None,
        waiting: deque[_Task],
        done: dict[int, Record],
    ) -> None:
        """A worker gone, and the tasks it held: ``error`` is the record of the one it was
        reading when it was alone on it; several were being read, each is read again alone;
        those not yet begun (or with no error: they did nothing wrong) are read again."""
        self._workers.remove(worker)
        worker.conn.close()
        running = self._running(worker) if error is not None else []
        for task in sorted(worker.tasks.values(), key=lambda t: t.index, reverse=True):
            if len(running) == 1 and task is running[0]:
                done[task.index] = _failed(task, error)
            else:
                waiting.appendleft(_Task(task.index, task.job, alone=task in running))


def _may_fork() -> bool:
    """Fork only from a process with no other thread: a fork copies every lock as it stands,
    held or not, and only the thread that forks."""
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


class _Spawned:
    """A worker started as a new interpreter, seen as ``multiprocessing`` sees a process."""

    sentinel = None  # its end of the socket closes when it ends: the connection says so

    def __init__(self, popen: subprocess.Popen) -> None:
        self._popen, self.pid = popen, popen.pid

    @property
    def exitcode(self) -> int | None:
        return self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def kill(self) -> None:
        self._popen.kill()

    def join(self, timeout: float | None = None) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout)


def _spawn(settings: Settings, threads: int) -> _Worker:
    """A worker in a new interpreter that imports gouji: from a process with threads (a Ray
    worker, a web server), where a fork is unsafe. Not ``multiprocessing``'s spawn, which
    would run the host's main module again in the worker."""
    mine, theirs = socket.socketpair()
    with theirs:
        command = f"from gouji.running.isolation import _serve; _serve({theirs.fileno()})"
        popen = subprocess.Popen(
            [sys.executable, "-c", command], pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL
        )
    conn = Connection(mine.detach())
    conn.send((settings, threads))  # over the socket: an API key never shows in a command line
    return _Worker(_Spawned(popen), conn)


def _serve(descriptor: int) -> None:
    """A spawned worker's entry: its settings first, then documents."""
    conn = Connection(descriptor)
    settings, threads = conn.recv()
    _work(conn, settings, threads)


def _failed(task: _Task, error: InputError) -> Record:
    return failed_record(task.job.path, str(error), task.job.sha256)


def _death(exitcode: int | None) -> InputError:
    """Why a worker ended by itself, as its document's error."""
    if exitcode == -signal.SIGKILL:
        return OutOfMemory("读取它的进程被系统终止（多半是内存不足）")
    if exitcode is not None and exitcode < 0:
        how = f"信号 {signal.Signals(-exitcode).name}"
    else:
        how = f"退出码 {exitcode}"
    return WorkerCrashed(f"读取它的进程意外退出（{how}）")


def _rss(pid: int | None) -> int:
    """A process's resident memory in bytes; 0 where ``/proc`` does not say."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _work(conn: Connection, settings: Settings, threads: int) -> None:
    """One worker process: ``threads`` threads sharing one LLM client read the documents
    the run sends, until it sends ``None`` (or goes)."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's: it stops us
    client = settings.client()
    gc.freeze()  # the modules and the client live as long as the process
    jobs: queue.SimpleQueue = queue.SimpleQueue()
    sending = threading.Lock()

    def serve() -> None:
        while (task := jobs.get()) is not None:
            index, job = task
            try:
                record = extract_file(
                    job.path, settings, client, provenance=job.provenance, sha256=job.sha256
                )
            except Exception as exc:  # past extract_file's own guard: the task still answered
                record = failed_record(job.path, failure(exc), job.sha256)
            with sending:
                conn.send((index, record))

    pool = [threading.Thread(target=serve, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            break
        if task is None:
            break
        jobs.put(task)
    for _ in pool:
        jobs.put(None)
    for thread in pool:
        thread.join()
    if client is not None:
        client.close()


def _die_with_parent() -> None:
    """First thing in every worker: it ends when its parent does, kill -9 included (a worker
    blocked on its pipe would wait forever otherwise). Polling the parent's id works whichever
    way the worker was started (a fork server ends with the run, and so its workers)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()
