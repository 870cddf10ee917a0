"""Past one machine: the same per-document step on a Ray cluster, records in a shared store.

Ray Data rather than a home-made scheduler: it spreads per-document work over a cluster's
workers with back-pressure, retries a worker that dies, and is what teams already run for
batch LLM work (a vLLM server on GPU nodes can sit beside it). Each worker keeps one store
connection and one LLM client and writes every record into the shared store as it finishes
(PostgreSQL for a real cluster; SQLite serves a single machine), so the driver holds only a
status per document. The documents must be readable at the same path on every node (a shared
file system or a mounted bucket).

Install with ``pip install 'gouji[cluster]'``.
"""

from __future__ import annotations

import importlib.util
from collections import Counter

from .pipeline import extract_file
from .settings import Settings
from .store import Store
from .tasks import prompt_versions

DEFAULT_WORKERS = 2


def available() -> bool:
    """Is Ray installed (the ``cluster`` extra)? It is imported only when a run starts."""
    return importlib.util.find_spec("ray") is not None


class _Extract:
    """One per Ray worker: its store connection and LLM client live as long as it does."""

    def __init__(self, db_url: str, settings: Settings, run_id: int) -> None:
        self.store = Store(db_url)
        self.settings, self.run_id = settings, run_id
        self.fingerprint = settings.fingerprint()
        self.llm = settings.client()

    def __call__(self, batch: dict) -> dict:
        statuses = []
        for path in batch["path"]:
            record = extract_file(str(path), self.settings, self.llm)
            record["settings"] = self.fingerprint
            if record["status"] != "skipped":  # not a report: nothing for the store
                self.store.save_record(record, self.run_id)
            statuses.append(record["status"])
        return {"path": batch["path"], "status": statuses}


def run(
    paths: list[str],
    db_url: str,
    settings: Settings,
    *,
    address: str | None = None,
    workers: int = DEFAULT_WORKERS,
    batch_size: int = 8,
) -> Counter:
    """Extract ``paths`` on the Ray cluster at ``address`` (a local one when None) into the
    store at ``db_url``; returns the count of records by status."""
    import ray

    store = Store(db_url)  # migrate once, before the workers connect
    run_id = store.start_run(
        {"paths": len(paths), "engine": "ray", **settings.to_dict()},
        prompt_versions() if settings.uses_llm else {},
        settings.llm.model if settings.uses_llm else None,
    )
    ray.init(
        address=address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False
    )
    try:
        dataset = ray.data.from_items([{"path": p} for p in paths])
        results = dataset.map_batches(
            _Extract,
            fn_constructor_kwargs={"db_url": db_url, "settings": settings, "run_id": run_id},
            batch_size=batch_size,
            concurrency=workers,
        )
        counts = Counter(row["status"] for row in results.iter_rows())
    finally:
        ray.shutdown()
    store.finish_run(run_id, None, len(paths))
    store.close()
    return counts
