"""The page witness for scans (``--llm-vision``): a fake vision model answers from the gold
file of the page images it is shown, truthfully or lying; its reading is weighed against
OCR's, and nothing wrong is ever accepted."""

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from gouji.cli import cli
from gouji.inputs import ocr, render
from gouji.running.pipeline import extract_file
from gouji.running.settings import Settings
from gouji.witness import vision
from gouji.witness.llm import LLMClient, LLMSettings
from gouji_eval.llm_server import PageOracle, ScriptedLLM
from gouji_eval.score import same

from conftest import gold, scan_of

pytestmark = pytest.mark.skipif(not ocr.available(), reason="the OCR engine is not installed")
STEMS = ("hongze_2023", "hongze_2024")


@pytest.fixture(scope="module")
def scanned(scans):
    """Each scan with its gold, and the data URLs of all its pages (what a vision model may
    be shown of it)."""
    out = []
    for stem in STEMS:
        # The roughest render, at the resolution the eval's sample gives it.
        path = scan_of(scans, stem, "photocopy")
        images, _ = vision.page_images(path, list(range(1, render.page_count(path) + 1)))
        out.append((path, gold(stem), images))
    return out


@pytest.fixture
def vision_server(scanned):
    server = ScriptedLLM().start()

    def answer(**faults) -> ScriptedLLM:
        server.oracle = PageOracle.of([(images, g) for _, g, images in scanned], **faults)
        return server

    yield answer
    server.stop()


def _client(server: ScriptedLLM, tmp_path) -> LLMClient:
    """A text witness and a page witness (another model) on the same endpoint."""
    settings = LLMSettings(model="m", base_url=server.base_url, api_key="k", mode="json_schema",
                           cache_dir=tmp_path / "cache", timeout=30)  # fmt: skip
    return LLMClient(replace(settings, vision=replace(settings, model="vision-model")))


def _accepted(record: dict) -> set[str]:
    return {k for k, s in record["field_status"].items() if s == "accepted"}


def _wrong(record: dict, expected: dict) -> list:
    return [
        (k, record["fields"][k], expected["fields"][k])
        for k in _accepted(record)
        if not same(record["fields"][k], expected["fields"][k])
    ]


def test_a_true_page_witness_confirms_what_ocr_read_and_nothing_wrong_is_accepted(
    scanned, vision_server, tmp_path
):
    server = vision_server()
    client = _client(server, tmp_path)
    gained = 0
    for path, expected, _ in scanned:
        alone = extract_file(path)
        record = extract_file(path, Settings(witness="verify"), client)
        assert _wrong(record, expected) == [] and _wrong(alone, expected) == []
        seen = record["llm"]["vision"]
        assert seen["errors"] == [] and seen["confirmed_fields"] >= 150
        assert sum("+vision" in (w or "") for w in record["field_witness"].values()) >= 150
        assert _accepted(alone) <= _accepted(record)
        gained += len(_accepted(record) - _accepted(alone))
    client.close()
    # Values OCR read with low confidence and no identity to vouch for them, now read the
    # same way on the page by a witness that never saw OCR's reading.
    assert gained > 0
    pages = [s for s in server.seen if s.task.startswith("page:")]
    assert len(pages) == len(scanned)
    parts = pages[0].body["messages"][-1]["content"]
    assert parts[0]["type"] == "text" and "下面的图片是" in parts[0]["text"]
    assert all(p["image_url"]["url"].startswith("data:image/png;base64,") for p in parts[1:])


@pytest.mark.parametrize("wrong", [0.3, 1.0])
def test_a_lying_page_witness_gets_nothing_wrong_accepted(wrong, scanned, vision_server, tmp_path):
    server = vision_server(wrong=wrong, seed=3)
    client = _client(server, tmp_path)
    for path, expected, _ in scanned:
        alone = extract_file(path)
        record = extract_file(path, Settings(witness="verify"), client)
        assert _wrong(record, expected) == []
        seen = record["llm"]["vision"]
        if seen["set_aside"]:
            assert record["fields"] == alone["fields"] and _accepted(record) == _accepted(alone)
            continue
        # Its lies are readings for a person, beside OCR's.
        assert seen["disputed_fields"] > 0
        disputed = [k for k, c in record["candidates"].items() if c[-1]["witness"] == "vision"]
        assert disputed and all(record["field_status"][k] == "review" for k in disputed)
    client.close()


def test_the_vision_witness_is_off_unless_asked_and_named_on_the_command_line(
    scanned, vision_server, tmp_path
):
    server = vision_server()
    path = scanned[0][0]
    env = {"OPENAI_BASE_URL": server.base_url, "GOUJI_MODEL": "m",
           "GOUJI_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    out = tmp_path / "out.jsonl"
    runner = CliRunner(env=env)
    result = runner.invoke(cli, ["extract", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "vision" not in json.loads(out.read_text())["llm"]
    assert not any(s.task.startswith("page:") for s in server.seen)
    result = runner.invoke(
        cli, ["extract", str(path), "-o", str(out), "--llm-vision", "--vision-model", "vl"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert record["llm"]["vision"]["model"] == "vl" and record["llm"]["vision"]["errors"] == []
    assert "看图模型检查：结构化输出用 json_schema" in result.output
    assert [s.body["model"] for s in server.seen if s.task.startswith("page:")] == ["vl"]
