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
