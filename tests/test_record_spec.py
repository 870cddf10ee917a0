"""The extraction record's specification, ``docs/record.md``, against real records: it names
every key that records ``gouji extract`` writes hold, and no other."""

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gouji.cli import cli
from gouji.template import FIELD_KEYS

from conftest import scan_of, shared_path

SPEC = Path(__file__).resolve().parents[1] / "docs" / "record.md"
_FIELD_KEYS = set(FIELD_KEYS)
# Objects whose own keys are data (a prompt's file name), not names the record fixes.
_NAMED_BY_DATA = {"llm.prompt_versions": "<prompt>"}


def key_paths(value, path: str = "") -> set[str]:
    """Every key of a record as a dotted path: ``[]`` for the items of a list of objects,
    ``<key>`` for the 200 field keys (and ``<prompt>`` for a prompt's name)."""
    found = set()
    if isinstance(value, dict):
        by_field = bool(value) and set(value) <= _FIELD_KEYS
        for name, item in value.items():
            if by_field:
                name = "<key>"
            name = _NAMED_BY_DATA.get(path, name)
            child = f"{path}.{name}" if path else name
            found |= {child} | key_paths(item, child)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                found |= key_paths(item, path + "[]")
    return found


def specified() -> set[str]:
    """The keys ``docs/record.md`` names: the backquoted names in its tables' first column."""
    names = set()
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return names


@pytest.fixture
def records(tmp_path, scans, llm_server, monkeypatch) -> list[dict]:
    """What ``gouji extract`` writes, with an LLM witness, for a report, its copy, an empty
    file, a PDF, a scan and a page whose rows the reader could not place."""
    folder = tmp_path / "reports"
    folder.mkdir()
    seed = shared_path("seeds", "002_58d1e0dbcfc9fbf4.txt")
    shutil.copy(seed, folder / "report.txt")
    shutil.copy(seed, folder / "copy.txt")
    (folder / "empty.txt").write_bytes(b"")
    shutil.copy(shared_path("realdocs", "hongze_2024.pdf"), folder)
    shutil.copy(shared_path("realdocs", "shanghai_office_2025.md"), folder)
    shutil.copy(scan_of(scans, "hongze_2023", "clean"), folder / "scan.pdf")
    for name, value in (("OPENAI_BASE_URL", llm_server.base_url), ("OPENAI_API_KEY", "test"),
                        ("GOUJI_MODEL", "test-model"), ("GOUJI_CACHE_DIR", str(tmp_path / "c"))):  # fmt: skip
        monkeypatch.setenv(name, value)
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["extract", str(folder), "-o", str(out), "--quiet"])
    assert result.exit_code == 1, result.output  # the empty file failed
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_the_spec_names_every_key_of_real_records_and_no_other(records):
    assert {r["status"] for r in records} == {"ok", "failed", "skipped"}
    written = set().union(*(key_paths(r) for r in records))
    documented = specified()
    assert sorted(written - documented) == [], "keys the records hold that docs/record.md lacks"
    assert sorted(documented - written) == [], "keys docs/record.md names that no record holds"


def test_key_paths_name_nested_keys_as_the_spec_writes_them():
    record = {
        "fields": dict.fromkeys(FIELD_KEYS, 1),
        "claims": [{"metric": "x", "span": [1, 2]}],
        "candidates": {"s2.fees": [{"witness": "llm"}]},
        "llm": {"prompt_versions": {"report": "abc"}, "errors": ["e"]},
    }
    assert key_paths(record) == {
        "fields", "fields.<key>", "claims", "claims[].metric", "claims[].span", "candidates",
        "candidates.<key>", "candidates.<key>[].witness", "llm", "llm.prompt_versions",
        "llm.prompt_versions.<prompt>", "llm.errors",
    }  # fmt: skip
