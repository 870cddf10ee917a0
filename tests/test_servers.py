"""The witness against the servers users run, as they behave (``gouji_eval.llm_server.PROFILES``):
each profile's server answers a real report through ``gouji extract --llm verify``, and nothing
wrong is ever accepted, whatever the server does."""

import json

import pytest
from click.testing import CliRunner

from gouji.cli import cli
from gouji.running.pipeline import extract_file
from gouji_eval.llm_server import PROFILES, Oracle, ScriptedLLM
from gouji_eval.score import same

from conftest import gold, shared_path

DOCUMENT = "kewei_2024"


@pytest.fixture
def serve():
    servers = []

    def start(profile: str, stems=(DOCUMENT,)) -> ScriptedLLM:
        server = ScriptedLLM(profile).start()
        documents = [(shared_path("realdocs", gold(s)["document"]), gold(s)) for s in stems]
        server.oracle = Oracle.of(documents)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _extract(server: ScriptedLLM, tmp_path, *options: str, stems=(DOCUMENT,)):
    """``gouji extract --llm verify`` on real reports: the run's output, and its records."""
    env = {"OPENAI_BASE_URL": server.base_url, "GOUJI_MODEL": "m",
           "GOUJI_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    out = tmp_path / "out.jsonl"
    paths = [str(shared_path("realdocs", gold(s)["document"])) for s in stems]
    result = CliRunner(env=env).invoke(
        cli, ["extract", *paths, "-o", str(out), "--llm", "verify", *options]
    )
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    return result, records


def _accepted(record: dict) -> set[str]:
    return {k for k, s in record["field_status"].items() if s == "accepted"}


def _wrong(records: list[dict]) -> list:
    """Accepted values that differ from the gold file."""
    out = []
    for record in records:
        expected = next(
            gold(s) for s in ("kewei_2024", "shanghai_office_2025", "hongze_2024")
            if record["document"].endswith(gold(s)["document"])
        )  # fmt: skip
        out += [
            (record["document"], k, record["fields"][k], expected["fields"][k])
            for k in _accepted(record)
            if not same(record["fields"][k], expected["fields"][k])
        ]
    return out


def _alone() -> dict:
    return extract_file(shared_path("realdocs", gold(DOCUMENT)["document"]))


@pytest.mark.parametrize(
    "profile, mode",
    [("openai", "json_schema"), ("llamacpp-new", "json_schema"), ("relay", "tools"),
     ("deepseek", "json"), ("reasoning", "json_schema")],
)  # fmt: skip
def test_each_server_answers_in_the_best_mode_it_honours(profile, mode, serve, tmp_path):
    server = serve(profile)
    result, records = _extract(server, tmp_path)
    assert result.exit_code == 0, result.output
    (record,) = records
    assert _wrong(records) == [] and record["llm"]["errors"] == []
    assert record["llm"]["structured_output"] == mode
    assert _accepted(record) > _accepted(_alone())
    assert record["llm"]["usage"]["completion_tokens"] <= 1200
    assert f"LLM 端点检查：结构化输出用 {mode}" in result.output


def test_llama_cpp_runs_in_tools_mode_without_being_told_one_request_at_a_time(serve, tmp_path):
    """llama.cpp as the issue met it: json_schema refused with a 500 naming the format (a
    refusal, not an outage), a tool call left in the message's content, json_object held
    to JSON but not to the keys, one slot."""
    stems = ("kewei_2024", "shanghai_office_2025", "hongze_2024")
    server = serve("llamacpp", stems)
    result, records = _extract(server, tmp_path, stems=stems)
    assert result.exit_code == 0, result.output
    assert _wrong(records) == [] and all(r["llm"]["errors"] == [] for r in records)
    assert {r["llm"]["structured_output"] for r in records} == {"tools"}
    why = records[0]["llm"]["structured_output_why"]
    assert "json_schema 被拒绝（HTTP 500：Input should be 'text' or 'json_object'）" in why
    assert "tools 可用（回答在 content 中）" in why and "json 回答不受格式约束" in why
    assert "服务器可同时处理 1 个请求" in result.output
    assert server.peak == 1  # its one slot: the run's concurrency was set from it
    assert server.gets[:1] == ["/props"]


def test_an_answer_that_copies_the_instructions_is_a_failed_answer(serve, tmp_path):
    server = serve("llamacpp-copying")
    result, records = _extract(server, tmp_path)
    (record,) = records
    assert result.exit_code == 0 and _wrong(records) == []
    errors = record["llm"]["errors"]
    assert errors and all("llm.copied: 回答照抄了提示中的说明" in e for e in errors), errors
    alone = _alone()
    assert record["fields"] == alone["fields"] and _accepted(record) == _accepted(alone)
    assert record["claims"] == alone["claims"] and record["meta"] == alone["meta"]


def test_a_looping_model_is_stopped_and_costs_no_more_than_a_true_answer(serve, tmp_path):
    server = serve("llamacpp-looping")
    result, records = _extract(server, tmp_path)
    (record,) = records
    assert result.exit_code == 0 and _wrong(records) == []
    assert record["llm"]["errors"] and all("llm.repeating" in e for e in record["llm"]["errors"])
    # Stopped long before the room a true answer has (itself far under the old 8,192), by
    # going away: the server stops generating too.
    room = sum(a["max_tokens"] for a in record["llm"]["asked"])
    assert record["llm"]["usage"]["completion_tokens"] <= room // 2 and room < 8192 // 4
    assert server.cancelled >= len(record["llm"]["asked"])  # its json probe looped too
    assert _accepted(record) == _accepted(_alone())


def test_a_model_slower_than_the_timeout_is_read_to_its_end(serve, tmp_path):
    """Each chunk comes well within the timeout, the whole answer long after it: streamed,
    it is read to its end, once."""
    server = serve("llamacpp-slow")
    result, records = _extract(server, tmp_path, "--timeout", "1")
    (record,) = records
    assert result.exit_code == 0 and _wrong(records) == [] and record["llm"]["errors"] == []
    usage = record["llm"]["usage"]
    assert usage["retries"] == 0 and usage["requests"] == len(record["llm"]["asked"])
    assert server.peak == 1 and server.cancelled == 0
    assert _accepted(record) > _accepted(_alone())


def test_ollama_cutting_the_prompt_to_its_context_is_caught_and_asked_again_within_it(
    serve, tmp_path
):
    """Ollama's default context (2,048 tokens here) cuts a longer prompt without a word;
    its usage says so: that answer is no witness, and what it showed is the context the
    report is asked again within."""
    server = serve("ollama-2048")
    result, records = _extract(server, tmp_path)
    (record,) = records
    assert result.exit_code == 0 and _wrong(records) == []
    errors = record["llm"]["errors"]
    assert "llm.context: 端点只读了请求的 2048 个 token" in errors[0]
    assert record["llm"]["context_tokens"] == 2048
    planned = [a for a in record["llm"]["asked"][1:]]
    assert planned and all(a["prompt_tokens"] + a["max_tokens"] <= 2048 for a in planned)
    assert _accepted(record) >= _accepted(_alone())


def test_ollama_telling_its_context_is_asked_within_it_from_the_start(serve, tmp_path):
    server = serve("ollama-4096")
    result, records = _extract(server, tmp_path)
    (record,) = records
    assert result.exit_code == 0 and _wrong(records) == [] and record["llm"]["errors"] == []
    assert record["llm"]["context_tokens"] == 4096 and len(record["llm"]["asked"]) > 1
    assert all(s.tokens + s.body["max_tokens"] <= 4096 for s in server.seen)
    assert _accepted(record) > _accepted(_alone())


def test_every_profile_is_tested():
    tested = {"openai", "llamacpp-new", "relay", "deepseek", "reasoning", "llamacpp",
              "llamacpp-copying", "llamacpp-looping", "llamacpp-slow", "ollama-2048",
              "ollama-4096"}  # fmt: skip
    assert tested == set(PROFILES)
