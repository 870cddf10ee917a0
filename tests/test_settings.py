"""The run settings: one object, the environment read once, one fingerprint for every command."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gouji.cli import cli
from gouji.errors import SettingsError
from gouji.limits import Limits
from gouji.running.settings import Settings
from gouji.storage.store import Store
from gouji_eval.generate import generate, write
from gouji_eval.llm_server import Reply

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gen_00012_tab_rows.txt"


def _blank(task: str, n: int) -> Reply:
    return Reply({"claims": {"claims": []}}.get(task, {}))


def _run_fingerprints(url: str) -> list[str]:
    store = Store(url)
    with store.engine.connect() as conn:
        settings = conn.execute(select(store.t.runs.c.settings)).scalars().all()
    records = [store.record(d.id)["settings"] for d in store.documents()]
    store.close()
    return [json.loads(s)["fingerprint"] for s in settings] + records


def _extract(tmp_path, folder, *options) -> set[str]:
    out, url = tmp_path / "out.jsonl", f"sqlite:///{tmp_path / 'extract.db'}"
    result = CliRunner().invoke(
        cli, ["extract", str(folder), "-o", str(out), "--db", url, *options]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line)["settings"] for line in out.read_text(encoding="utf-8").splitlines()]
    return set(lines) | set(_run_fingerprints(url))


def _eval(tmp_path, *options) -> str:
    artifact = tmp_path / "eval.json"
    command = ["eval", "--set", "generated", "--generated-count", "1", "--artifact", str(artifact)]
    command += ["--baseline", str(tmp_path / "none.json"), *options]
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 0, result.output
    return json.loads(artifact.read_text(encoding="utf-8"))["settings"]["fingerprint"]


def test_extract_cluster_and_eval_record_one_fingerprint_for_the_same_settings(
    tmp_path, monkeypatch
):
    pytest.importorskip("ray", reason="the cluster extra (gouji[cluster]) is not installed")
    monkeypatch.setenv("RAY_ADDRESS", "")  # a local instance, never a real cluster
    folder = tmp_path / "reports"
    write(generate(1, layout="tab_rows", variants=(), inject_error=False), folder)
    extracted = _extract(tmp_path, folder, "--max-bytes", "100000")
    url = f"sqlite:///{tmp_path / 'cluster.db'}"
    options = ["--db", url, "--workers", "1", "--max-bytes", "100000"]
    result = CliRunner().invoke(cli, ["cluster", str(folder), *options])
    assert result.exit_code == 0, result.output
    clustered = set(_run_fingerprints(url))
    evaluated = _eval(tmp_path, "--max-bytes", "100000")
    assert len(extracted) == 1 and extracted == clustered == {evaluated}
    assert (
        evaluated
        == Settings(limits=Limits(bytes=100_000)).fingerprint()
        != Settings().fingerprint()
    )


def test_with_an_llm_extract_and_eval_agree_too(tmp_path, monkeypatch, llm_server):
    llm_server.script = _blank
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("GOUJI_CACHE_DIR", str(tmp_path / "cache"))
    options = ["--model", "m", "--llm", "fallback", "--structured-output", "json"]
    folder = tmp_path / "reports"
    write(generate(1, layout="tab_rows", variants=(), inject_error=False), folder)
    (extracted,) = _extract(tmp_path, folder, *options)
    assert _eval(tmp_path, *options) == extracted
    assert extracted not in {_eval(tmp_path, "--model", "m", "--llm", "fallback"), _eval(tmp_path)}


def test_the_environment_is_read_once_into_the_object():
    env = {"GOUJI_MODEL": "qwen2.5:7b", "OPENAI_BASE_URL": "http://localhost:11434/v1"}
    settings = Settings.from_env(env=env, timeout=5.0)
    assert (settings.witness, settings.llm.model, settings.llm.timeout) == (
        "verify",
        "qwen2.5:7b",
        5,
    )
    assert settings.llm.resolved_mode() == "auto"  # the start check chooses it
    assert settings.describe() == (
        "读取器 + LLM（verify，qwen2.5:7b，auto）；单个文件上限 52428800 字节；"
        f"设置指纹 {settings.fingerprint()}"
    )
    assert Settings.from_env(env={}) == Settings()
    assert Settings.from_env(env=env, witness="off").llm is None
    with pytest.raises(SettingsError, match="GOUJI_MODEL"):
        Settings.from_env(env={}, witness="verify")


def test_what_does_not_change_a_record_does_not_change_the_fingerprint():
    env = {"GOUJI_MODEL": "m"}
    base = Settings.from_env(env=env)
    same = Settings.from_env(env=env, concurrency=32, timeout=3.0, requests_per_second=2.0)
    assert same.fingerprint() == base.fingerprint()
    assert Settings.from_env(env=env, witness="fallback").fingerprint() != base.fingerprint()
    # A token budget decides which requests are sent, so it changes the record.
    assert Settings.from_env(env=env, max_tokens_per_doc=500).fingerprint() != base.fingerprint()
    assert Settings.from_env(env={"GOUJI_MODEL": "n"}).fingerprint() != base.fingerprint()


def test_the_old_spelling_of_structured_output_still_works_with_a_warning(tmp_path, monkeypatch):
    assert "--llm-mode" not in CliRunner().invoke(cli, ["extract", "--help"]).output
    out = tmp_path / "out.jsonl"
    command = ["extract", str(EXAMPLE), "-o", str(out), "--llm-mode", "json", "--quiet"]
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 0, result.output
    assert "--llm-mode 已改名为 --structured-output" in result.output
