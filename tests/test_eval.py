"""The eval and its regression gate, run in CI on seeds, real documents and a generated set."""

import dataclasses
import json

import pytest
from click.testing import CliRunner

from gouji.cli import cli
from gouji.reading import reader
from gouji_eval import run

from conftest import shared_path


@pytest.fixture(autouse=True)
def _needs_shared():
    shared_path("gold")


def _eval(tmp_path, *args, sets=("seeds", "real", "generated")):
    artifact = tmp_path / "run.json"
    chosen = [word for name in sets for word in ("--set", name)]
    result = CliRunner().invoke(cli, ["eval", *chosen, *args, "--artifact", str(artifact)])
    return result, json.loads(artifact.read_text(encoding="utf-8"))


def test_gate_passes_against_the_committed_baseline(tmp_path):
    result, payload = _eval(tmp_path)
    assert result.exit_code == 0, result.output
    assert "与基线相比没有变差" in result.output
    metrics = payload["metrics"]
    assert metrics["seeds.fields.accepted_precision"] == 1.0
    assert metrics["generated.fields.accepted_precision"] == 1.0
    assert metrics["real.fields.accepted_precision"] == 1.0
    assert metrics["generated.fields.accept_rate"] >= 0.9
    assert metrics["generated.errors.recall"] == 1.0
    assert payload["settings"]["generated_count"] == 500
    assert payload["git_commit"] is None or len(payload["git_commit"]) == 40


def test_swapping_two_columns_of_the_template_fails_the_gate(tmp_path, monkeypatch):
    def swap(row):
        keys = list(row.keys)
        keys[0], keys[1] = keys[1], keys[0]  # 自然人 <-> 商业企业
        return dataclasses.replace(row, keys=tuple(keys))

    monkeypatch.setattr(reader, "S3_ROWS", tuple(swap(r) for r in reader.S3_ROWS))
    result, payload = _eval(tmp_path)
    assert result.exit_code == 1
    assert "generated.s3.accepted_precision" in result.output
    assert "接受了错误的值" in result.output and "s3.new_received.natural_person" in result.output
    monkeypatch.undo()
    result, _ = _eval(tmp_path)
    assert result.exit_code == 0


def test_regressions_respect_tolerances():
    base = {
        "g.fields.accepted_precision": 1.0,
        "g.fields.accept_rate": 0.95,
        "g.documents.failed": 0,
    }
    assert run.regressions(dict(base), base) == []
    assert run.regressions({**base, "g.fields.accept_rate": 0.945}, base) == []
    assert run.regressions({**base, "g.fields.accepted_precision": 0.9999}, base) == [
        "g.fields.accepted_precision: 基线 1.0000 → 本次 0.9999"
    ]
    assert len(run.regressions({**base, "g.documents.failed": 1}, base)) == 1


def test_llm_modes_need_a_model():
    result = CliRunner().invoke(cli, ["eval", "--llm", "verify"])
    assert result.exit_code == 2
    assert "GOUJI_MODEL" in result.output


def test_eval_with_the_llm_records_model_and_prompts(tmp_path, llm_server, monkeypatch):
    from gouji_eval.llm_server import Oracle

    from conftest import gold as gold_of
    from conftest import shared_path

    seeds = ("000_ca43ff7fde9941af", "002_58d1e0dbcfc9fbf4")
    llm_server.oracle = Oracle.of([(shared_path("seeds", f"{s}.txt"), gold_of(s)) for s in seeds])
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("GOUJI_CACHE_DIR", str(tmp_path / "cache"))
    result, payload = _eval(tmp_path, "--model", "m", "--llm", "fallback", sets=("seeds",))
    assert result.exit_code == 0, result.output
    assert payload["model"] == "m" and payload["settings"]["llm"] == "fallback"
    assert set(payload["prompt_versions"]) == {"report"}
    assert payload["metrics"]["seeds.fields.accepted_precision"] == 1.0


def test_the_eval_says_on_stderr_how_each_set_goes_and_quiet_keeps_it_still(tmp_path):
    args = ["--generated-count", "3", "--baseline", str(tmp_path / "none.json")]
    result, _ = _eval(tmp_path, *args, sets=("seeds", "generated"))
    assert result.exit_code == 0, result.output
    said = result.stderr.splitlines()
    assert said[0] == "评测 seeds 集……" and said[2] == "评测 generated 集……"
    assert said[1].startswith("seeds：2 份，失败 0 份，用时 ") and said[1].endswith(" 秒")
    assert said[3].startswith("generated：3 份，失败 0 份，用时 ")
    assert "评测" not in result.stdout and "== seeds：2 份" in result.stdout
    quiet, _ = _eval(tmp_path, *args, "--quiet", sets=("seeds",))
    assert quiet.exit_code == 0 and "评测" not in quiet.stderr and "== seeds" in quiet.stdout


def test_progress_counts_the_documents_of_a_set_as_they_are_read(tmp_path):
    from io import StringIO

    from gouji.running.settings import Settings

    stream = StringIO()
    run.evaluate(["seeds"], Settings(), progress=run.Progress(stream, every=0.0))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "评测 seeds 集……"
    assert [line.split("（")[0] for line in lines[1:3]] == [
        "  seeds：已读 1 份",
        "  seeds：已读 2 份",
    ]
    assert lines[3].startswith("seeds：2 份，失败 0 份")
