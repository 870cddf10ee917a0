"""Past one machine: the run's documents read on a Ray cluster.

``gouji cluster`` is ``gouji extract`` with the reading done elsewhere: the run
(``batch.Run``) finds the files, hashes them, finds copies, keeps the journal, writes the
store and checks the years on the driver, exactly as on one machine, so both give the same
records; only the documents to read go to Ray. Ray Data rather than a home-made scheduler:
it spreads per-document batches over a cluster's workers with back-pressure and is what teams
already run for batch LLM work (a vLLM server on GPU nodes can sit beside it). Each Ray
worker reads its documents in a supervised worker process of its own (``isolation.Pool``),
under the same time and memory bounds, and keeps one LLM client. The documents must be
readable at the same path on every node (a shared file system or a mounted bucket).

Install with ``pip install 'gouji[cluster]'``.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable, Iterator

from ..checking.record import Record, dumps
from .isolation import Job, Pool
from .settings import Settings

DEFAULT_WORKERS = 2
BATCH_SIZE = 8


def available() -> bool:
    """Is Ray installed (the ``cluster`` extra)? It is imported only when a run starts."""
    return importlib.util.find_spec("ray") is not None


class _Read:
    """One per Ray worker: its supervised worker process (and the LLM client in it) live as
    long as it does."""

    def __init__(self, settings: Settings) -> None:
        self.pool = Pool(settings, 1)

    def __call__(self, batch: dict) -> dict:
        pairs = zip(batch["path"], batch["sha256"], strict=True)
        jobs = [Job(path, sha256 or None) for path, sha256 in pairs]
        return {"index": batch["index"], "record": [dumps(r) for r in self.pool.imap(jobs)]}


class Ray:
    """The reading of a run on the Ray cluster at ``address`` (a local one when None): an
    executor for ``batch.Run``. The driver holds the run's jobs while Ray reads them."""

    def __init__(self, settings: Settings, *, address: str | None = None, workers: int) -> None:
        self.settings, self.address, self.workers = settings, address, workers
        self._started = False

    def imap(self, items: Iterable[Job | Record]) -> Iterator[Record]:
        import ray

        settled: dict[int, Record] = {}
        jobs = []
        for index, item in enumerate(items):
            if isinstance(item, Job):
                jobs.append({"index": index, "path": item.path, "sha256": item.sha256 or ""})
            else:
                settled[index] = item
        if not self._started:
            ray.init(
                address=self.address,
                ignore_reinit_error=True,
                include_dashboard=False,
                log_to_driver=False,
            )
            self._started = True
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # records in the run's order
        rows = iter(())
        if jobs:
            dataset = ray.data.from_items(jobs).map_batches(
                _Read,
                fn_constructor_kwargs={"settings": self.settings},
                batch_size=BATCH_SIZE,
                compute=ray.data.ActorPoolStrategy(size=self.workers),
            )
            rows = iter(dataset.iter_rows())
        read: dict[int, str] = {}
        for index in range(len(jobs) + len(settled)):
            if index in settled:
                yield settled.pop(index)
                continue
            while index not in read:
                row = next(rows)
                read[row["index"]] = row["record"]
            yield json.loads(read.pop(index))

    def close(self, now: bool = False) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
