"""Shared fixtures: the ../shared materials (read at run time, never copied) and helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractor.pipeline import extract_file

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here (../shared is read at run time, never copied)")
    return path


def gold(stem: str) -> dict:
    return json.loads(shared_path("gold", f"{stem}.json").read_text(encoding="utf-8"))


@pytest.fixture
def extract_text(tmp_path):
    """Write ``text`` to a file and extract it, as ``gouji extract`` would."""

    def run(text: str | bytes, name: str = "report.txt") -> dict:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return extract_file(path)

    return run


@pytest.fixture(autouse=True)
def _no_llm_from_the_environment(monkeypatch):
    """Tests never reach a real endpoint, whatever the developer's shell exports."""
    for name in ("GOUJI_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "GOUJI_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def llm_server():
    from gouji_eval.llm_server import ScriptedLLM

    server = ScriptedLLM().start()
    yield server
    server.stop()


@pytest.fixture
def llm_client(llm_server, tmp_path):
    """A real openai + instructor client pointed at the scripted local server."""
    from extractor.llm import LLMClient, LLMSettings

    clients = []

    def make(mode: str = "tools", **overrides) -> LLMClient:
        settings = LLMSettings(
            model="test-model",
            base_url=llm_server.base_url,
            api_key="test",
            mode=mode,
            cache_dir=tmp_path / "cache",
            timeout=5,
            backoff_base=0.01,
            backoff_cap=0.05,
        )
        for name, value in overrides.items():
            setattr(settings, name, value)
        client = LLMClient(settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def review_db(tmp_path):
    """A store holding extractions with items to review: a seed (all accepted), a generated
    report with a publisher error, and a real PDF text with floating rows."""
    from extractor.store import Store
    from gouji_eval.generate import generate

    report = generate(5, layout="tab_rows", variants=(), inject_error=True)
    generated = tmp_path / (report.name + report.suffix)
    generated.write_text(report.text, encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path / 'review.db'}")
    paths = [
        shared_path("seeds", "002_58d1e0dbcfc9fbf4.txt"),
        generated,
        shared_path("realdocs", "hongze_2023.pdfplumber.txt"),
    ]
    for path in paths:
        store.save_record(extract_file(path))
    store.generated_gold = report.gold  # what the generated report really says
    yield store
    store.close()
