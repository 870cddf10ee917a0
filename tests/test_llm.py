"""The LLM witness, with the real openai client against a scripted server on 127.0.0.1."""

import json
import time

import pytest

from gouji.running.pipeline import extract_file
from gouji.running.settings import Settings
from gouji.witness.llm import MODES
from gouji.witness.tasks import estimate_tokens, prompt_versions
from gouji_eval.generate import generate
from gouji_eval.llm_server import Oracle, Reply, null_answer
from gouji_eval.score import claim_found, same

from conftest import gold, shared_path

SEED = "002_58d1e0dbcfc9fbf4"
VERIFY = Settings(witness="verify")


ALL = "s2+s3+s4+prose"  # one request: the three tables and the prose


def truthful(server, stem: str = SEED) -> None:
    """The oracle witness answers about one labeled document, truthfully."""
    expected = gold(stem)
    path = shared_path("seeds") / expected["document"]
    if not path.exists():
        path = shared_path("realdocs", expected["document"])
    server.oracle = Oracle.of([(path, expected)])


@pytest.mark.parametrize("mode", MODES)
def test_right_answers_are_accepted_from_both_witnesses(mode, llm_server, llm_client):
    expected = gold(SEED)
    truthful(llm_server)
    record = extract_file(
        shared_path("seeds", f"{SEED}.txt"), llm=llm_client(mode), settings=VERIFY
    )
    assert record["fields"] == expected["fields"]
    assert set(record["field_status"].values()) == {"accepted"}
    assert set(record["field_witness"].values()) == {"reader+llm"}
    assert record["candidates"] == {}
    llm = record["llm"]
    assert llm["errors"] == [] and llm["structured_output"] == mode
    assert llm["prompt_versions"] == prompt_versions()
    assert llm["usage"]["requests"] == 1 and llm["usage"]["total_tokens"] > 0
    assert [a["task"] for a in llm["asked"]] == [ALL]
    assert {s.mode for s in llm_server.seen} == {mode}
    # The template's row labels are in the prompt itself, whatever the mode shows of the schema.
    prompt = llm_server.seen[0].body["messages"][-1]["content"]
    assert "4.无正当理由大量反复申请" in prompt and "结果纠正" in prompt


def test_claims_the_reader_missed_are_added_grounded(llm_server, llm_client):
    expected = gold("kewei_2024")
    truthful(llm_server, "kewei_2024")
    path = shared_path("realdocs", "kewei_2024.md")
    alone = extract_file(path)
    record = extract_file(path, llm=llm_client(), settings=VERIFY)
    missed = [c for c in expected["claims"] if not claim_found(c, alone["claims"])]
    assert missed, "the reader alone should miss a claim here"
    assert all(claim_found(c, record["claims"]) for c in expected["claims"])
    raw = path.read_text(encoding="utf-8")
    added = [c for c in record["claims"] if c["witness"] == ["llm"]]
    assert added and all(raw[c["span"][0] : c["span"][1]] == c["quote"] for c in added)


def test_claims_whose_quote_is_not_in_the_source_are_dropped(llm_server, llm_client):
    class Inventing(Oracle):
        def reply(self, task, text, attempt):
            reply = super().reply(task, text, attempt)
            reply.payload["claims"] = ["全年编造信息999条"]
            return reply

    path = shared_path("seeds", f"{SEED}.txt")
    llm_server.oracle = Inventing.of([(path, gold(SEED))])
    record = extract_file(path, llm=llm_client(), settings=VERIFY)
    assert all(c["value"] != 999 for c in record["claims"])
    assert record["llm"]["ungrounded_claims"] == 1


@pytest.mark.parametrize("mode", MODES)
def test_wrong_numbers_and_flaky_transport_never_yield_a_wrong_accepted_value(
    mode, llm_server, llm_client, tmp_path
):
    reports = [generate(seed, inject_error=False) for seed in range(40, 42)]
    paths = []
    for report in reports:
        paths.append(tmp_path / (report.name + report.suffix))
        paths[-1].write_text(report.text, encoding="utf-8")
    llm_server.oracle = Oracle.of(
        [(p, r.gold) for p, r in zip(paths, reports, strict=True)], wrong=0.3
    )
    llm_server.script = lambda task, n: (
        Reply(status=429, headers={"Retry-After": "0"})
        if n % 4 == 1
        else Reply(status=500)
        if n % 4 == 3
        else None
    )
    client = llm_client(mode)
    retries = 0
    for report, path in zip(reports, paths, strict=True):
        record = extract_file(path, llm=client, settings=VERIFY)
        assert record["status"] == "ok"
        assert record["llm"]["errors"] == []
        retries += record["llm"]["usage"]["retries"]
        for key, status in record["field_status"].items():
            if status == "accepted":
                assert same(record["fields"][key], report.gold["fields"][key]), key
        accepted = [k for k, v in record["field_status"].items() if v == "accepted"]
        assert len(accepted) >= 150  # where the witnesses agree, values are accepted
        # A lie printed elsewhere in its row is a dispute; one printed nowhere is ignored.
        assert record["candidates"] and record["llm"]["ungrounded_fields"] > 0
        key, entries = next(iter(record["candidates"].items()))
        assert [e["witness"] for e in entries] == ["reader", "llm"]
        assert record["field_status"][key] == "review"
        assert any(f["rule"] == "llm.disagree" and key in f["keys"] for f in record["findings"])
    assert retries == 1  # the second document met a 429 on its one request


@pytest.mark.parametrize("mode", MODES)
def test_malformed_json_is_reasked_not_retried(mode, llm_server, llm_client):
    truthful(llm_server)
    llm_server.script = lambda task, n: (
        Reply('{"s2": [{"label": "规章", ') if task == ALL and n == 0 else None
    )
    record = extract_file(
        shared_path("seeds", f"{SEED}.txt"), llm=llm_client(mode), settings=VERIFY
    )
    assert record["llm"]["errors"] == []
    assert llm_server.requests(ALL) == 2
    assert record["llm"]["usage"]["requests"] == 2 and record["llm"]["usage"]["retries"] == 0
    assert set(record["field_status"].values()) == {"accepted"}
    # Asked again with a changed request: the answer, and what is wrong with it, in Chinese.
    first, again = (s.body["messages"] for s in llm_server.seen if s.task == ALL)
    assert len(again) == len(first) + 2 and again[-2]["role"] == "assistant"
    assert again[-1]["content"].startswith("上面的回答不符合要求：不是一个 JSON 对象")


def test_a_reask_names_the_first_errors_and_an_answer_repeated_is_not_asked_again(
    llm_server, llm_client
):
    rows = [7] * 40  # fifty errors and more: forty rows not strings, agency not a string
    llm_server.script = lambda task, n: Reply(
        {"s2": rows, "s3": rows, "s4": [], "agency": 1, "year": 2024, "claims": []}
    )
    record = extract_file(shared_path("seeds", f"{SEED}.txt"), llm=llm_client(), settings=VERIFY)
    (error,) = record["llm"]["errors"]
    assert error.startswith(f"{ALL}: llm.schema: 2 次回答都不符合格式：s2 第 1 项 应为字符串")
    assert llm_server.requests(ALL) == 2  # the same answer again: no third ask
    reask = llm_server.seen[-1].body["messages"][-1]["content"]
    assert reask == (
        "上面的回答不符合要求：s2 第 1 项 应为字符串；s2 第 2 项 应为字符串；"
        "s2 第 3 项 应为字符串，另有 78 处。请改正后重新回答完整的 JSON 对象。"
    )


def test_a_format_refused_mid_run_is_asked_in_the_next_mode_not_counted_an_outage(
    llm_server, llm_client, tmp_path
):
    """A profile that found json_schema and tools honoured; the server now refuses
    json_schema, naming it: the report is asked again with tools, the client keeps tools,
    and nothing counts as a transport failure."""
    from gouji.witness.endpoint import Profile, cached

    truthful(llm_server)
    refusal = Reply(status=400, message="Invalid schema for response_format 'answer'")
    llm_server.script = lambda task, n: (
        refusal if llm_server.seen[-1].mode == "json_schema" else None
    )
    profile = Profile("json_schema", "检查", ("json_schema", "tools"), ratio=1.0)
    client = llm_client(mode=None, profile=profile)
    record = extract_file(shared_path("seeds", f"{SEED}.txt"), llm=client, settings=VERIFY)
    assert record["llm"]["errors"] == [] and record["llm"]["structured_output"] == "tools"
    assert record["llm"]["structured_output_why"].startswith("json_schema 被端点拒绝（HTTP 400：")
    usage = record["llm"]["usage"]
    assert (usage["failures"], usage["retries"], usage["requests"]) == (0, 0, 1)
    assert [s.mode for s in llm_server.seen] == ["json_schema", "tools"]
    assert cached(client.settings).mode == "tools"  # and so does the next run
    assert set(record["field_status"].values()) == {"accepted"}


def _prompt(server) -> str:
    return server.seen[-1].body["messages"][-1]["content"]


def _tables_sent(server) -> str:
    prompt = server.seen[-1].body["messages"][-1]["content"]
    return prompt[prompt.index("表格文字：") : prompt.index("正文（开头")]


def test_a_table_is_sent_from_its_first_row_label_to_its_last_cell_without_its_headers(
    llm_server, llm_client
):
    """A crawled page prints each table on one line after its headers; a converted PDF
    repeats its column headers and keeps its page footers. None of that is sent: the
    witness's rows are grounded in the reader's cells alone."""
    client = llm_client()
    extract_file(shared_path("realcorpus", "pt_2021_lwtj_1.txt"), llm=client, settings=VERIFY)
    tables = _tables_sent(llm_server)
    assert "\n一、本年新收政府信息公开申请数量" in tables and "行政许可" in tables
    for header in ("申请人情况", "自然人", "结果维持", "第二十条第", "信息内容", "五、"):
        assert header not in tables, header
    extract_file(shared_path("realdocs", "shuyang_2025_ocr.md"), llm=client, settings=VERIFY)
    tables = _tables_sent(llm_server)
    assert tables.count("类别|数据1|") == 1 and "\n3|0|0|0|3\n" in tables  # no outer pipes
    assert "结果维持" not in tables and "第二十条第" not in tables
    extract_file(shared_path("realdocs", "shanghai_office_2025.md"), llm=client, settings=VERIFY)
    tables = _tables_sent(llm_server)
    assert "\n规章|22|235\n" in tables and "—" not in tables  # its footers: — 4 —, — 5 —


def test_a_table_whose_labels_follow_its_cells_is_sent_from_the_first_cells_line():
    import re

    from gouji.reading.cells import Cell
    from gouji.witness.tasks import _table_text

    view = (
        "三、收到和处理政府信息公开申请情况\n表：3 0 0 0 0 0 3\n一、本年新收政府信息公开申请数量\n"
    )
    cells = [Cell("number", m.group(), m.start(), m.end(), 1, int(m.group()))
             for m in re.finditer(r"\d", view)]  # fmt: skip
    assert _table_text(view, "s3", (0, len(view)), cells) == "表：3 0 0 0 0 0 3"
    view = "申请人情况自然人总计一、本年新收政府信息公开申请数量3 0 0 0 0 0 3\n"
    cells = [Cell("number", m.group(), m.start(), m.end(), 0, int(m.group()))
             for m in re.finditer(r"\d", view)]  # fmt: skip
    assert (
        _table_text(view, "s3", (0, len(view)), cells)
        == "一、本年新收政府信息公开申请数量3 0 0 0 0 0 3"
    )


def test_a_wrong_year_alone_never_asks_the_report_again(llm_server, llm_client):
    """A year the witness slips on (24, or one the opening does not print) counts for
    nothing: the whole report is not re-asked for it, and the reader's year stands."""
    truthful(llm_server)
    for year in (24, 1999):
        llm_server.script = lambda task, n, year=year: Reply(
            llm_server.oracle.reply(task, _prompt(llm_server), n).payload | {"year": year}
        )
        before = llm_server.requests(ALL)
        record = extract_file(
            shared_path("seeds", f"{SEED}.txt"), llm=llm_client(use_cache=False), settings=VERIFY
        )
        assert llm_server.requests(ALL) - before == 1 and record["llm"]["errors"] == []
        assert record["meta"]["year"] == gold(SEED)["meta.year"]
        assert not any(f["rule"] == "meta.year_disagree" for f in record["findings"])
        assert set(record["field_status"].values()) == {"accepted"}
    assert "minimum" not in json.dumps(llm_server.seen[0].body)


@pytest.mark.parametrize("mode", MODES)
def test_rate_limit_honours_retry_after_then_succeeds(mode, llm_server, llm_client):
    truthful(llm_server)
    llm_server.script = lambda task, n: (
        Reply(status=429, headers={"Retry-After": "0"}) if n == 0 else None
    )
    record = extract_file(
        shared_path("seeds", f"{SEED}.txt"), llm=llm_client(mode), settings=VERIFY
    )
    usage = record["llm"]["usage"]
    assert record["llm"]["errors"] == []
    assert (usage["retries"], usage["failures"], usage["requests"]) == (1, 1, 1)


@pytest.mark.parametrize("mode", MODES)
def test_repeated_server_errors_trip_the_breaker_and_leave_the_reader_result_standing(
    mode, llm_server, llm_client
):
    llm_server.script = lambda task, n: Reply(status=500)
    record = extract_file(
        shared_path("seeds", f"{SEED}.txt"),
        llm=llm_client(mode, transport_attempts=3, context_tokens=2200),  # several requests
        settings=VERIFY,
    )
    assert record["status"] == "ok"
    assert set(record["field_status"].values()) == {"accepted"}
    # Three tries for the first request, two for the second: five failures in a row, then
    # nothing is sent.
    codes = [e.split(": ")[1] for e in record["llm"]["errors"]]
    assert len(record["llm"]["asked"]) >= 3
    assert codes == ["llm.transport"] + ["llm.unavailable"] * (len(record["llm"]["asked"]) - 1)
    assert llm_server.requests() == 5
    assert record["llm"]["unavailable"] is True


@pytest.mark.parametrize("mode", MODES)
def test_a_silent_endpoint_is_left_before_it_is_asked_again(mode, llm_server, llm_client):
    """Silent past the timeout, a request is given up and its connection closed, which stops
    the server working on it: the retry is never a second copy beside the first."""
    truthful(llm_server)
    llm_server.script = lambda task, n: (
        Reply(null_answer(task), delay=2.0) if n == 0 and task == ALL else None
    )
    record = extract_file(
        shared_path("seeds", f"{SEED}.txt"), llm=llm_client(mode, timeout=0.6), settings=VERIFY
    )
    assert record["llm"]["errors"] == []
    assert record["llm"]["usage"]["retries"] == 1
    assert (llm_server.cancelled, llm_server.peak) == (1, 1)
    assert set(record["field_status"].values()) == {"accepted"}


def test_the_breaker_opens_then_one_probe_after_the_cooldown_closes_it(llm_server, llm_client):
    truthful(llm_server)
    llm_server.script = lambda task, n: Reply(status=500) if len(llm_server.seen) <= 5 else None
    client = llm_client(transport_attempts=1, breaker_cooldown=0.5, use_cache=False)
    path = shared_path("seeds", f"{SEED}.txt")
    codes = []
    for _ in range(6):  # five failures in a row open it; the sixth is refused, unsent
        record = extract_file(path, llm=client, settings=VERIFY)
        codes.append(record["llm"]["errors"][0].split(": ")[1])
    assert codes == ["llm.transport"] * 5 + ["llm.unavailable"] and llm_server.requests() == 5
    time.sleep(0.6)
    probe = extract_file(path, llm=client, settings=VERIFY)  # half-open: this one goes
    after = extract_file(path, llm=client, settings=VERIFY)  # closed again
    assert probe["llm"]["errors"] == [] == after["llm"]["errors"]
    assert llm_server.requests() == 7 and set(after["field_status"].values()) == {"accepted"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "reply, code",
    [
        (Reply(status=400), "llm.rejected"),
        (Reply(status=422), "llm.rejected"),
        (Reply({}, choices=False), "llm.empty"),
        (Reply('{"s4": [{"label": "", "cells": ["1"', finish_reason="length"), "llm.truncated"),
    ],
)
def test_refusals_empty_and_cut_answers_each_fail_at_once_with_their_own_kind(
    mode, reply, code, llm_server, llm_client
):
    truthful(llm_server)
    llm_server.script = lambda task, n: reply
    record = extract_file(
        shared_path("seeds", f"{SEED}.txt"), llm=llm_client(mode), settings=VERIFY
    )
    assert [e.split(": ")[:2] for e in record["llm"]["errors"]] == [[ALL, code]]
    assert llm_server.requests(ALL) == 1  # neither retried nor re-asked
    assert record["llm"]["unavailable"] is False  # the endpoint answered: nothing to redo
    assert record["fields"]["s4.review.total"] == 2  # the reader's value stands


@pytest.mark.parametrize("mode", MODES)
def test_a_reply_without_usage_is_estimated_and_marked(mode, llm_server, llm_client):
    truthful(llm_server)
    path = shared_path("seeds", f"{SEED}.txt")
    counted = extract_file(path, llm=llm_client(mode, use_cache=False), settings=VERIFY)
    llm_server.script = lambda task, n: Reply(
        llm_server.oracle.reply(task, _prompt(llm_server), n).payload, usage=False
    )
    guessed = extract_file(path, llm=llm_client(mode, use_cache=False), settings=VERIFY)
    usage, truth = guessed["llm"]["usage"], counted["llm"]["usage"]
    assert (usage["estimated"], truth["estimated"], usage["requests"]) == (1, 0, 1)
    # The server counts with the same estimate as gouji: what gouji sends is what it reads.
    assert abs(usage["total_tokens"] - truth["total_tokens"]) <= 0.05 * truth["total_tokens"]
    assert usage["prompt_tokens"] + usage["completion_tokens"] == usage["total_tokens"]
    assert guessed["fields"] == counted["fields"]


def test_a_rerun_sends_no_request(llm_server, llm_client):
    expected = gold(SEED)
    truthful(llm_server)
    path = shared_path("seeds", f"{SEED}.txt")
    extract_file(path, llm=llm_client(), settings=VERIFY)
    sent = llm_server.requests()
    again = extract_file(path, llm=llm_client(), settings=VERIFY)
    assert llm_server.requests() == sent
    assert again["llm"]["usage"]["cache_hits"] == 1 and again["llm"]["usage"]["requests"] == 0
    assert again["fields"] == expected["fields"]


def test_token_budget_is_checked_before_each_request_and_never_exceeded(llm_server, llm_client):
    truthful(llm_server)
    path = shared_path("seeds", f"{SEED}.txt")
    record = extract_file(  # a small context: the report is asked in several requests
        path, llm=llm_client(max_tokens_per_doc=3000, context_tokens=3000), settings=VERIFY
    )
    usage = record["llm"]["usage"]
    refused = [e for e in record["llm"]["errors"] if "llm.budget" in e]
    assert 0 < usage["total_tokens"] <= 3000 and usage["estimated"] == 0  # the server's own count
    assert refused and usage["requests"] + len(refused) == len(record["llm"]["asked"])
    assert llm_server.requests() == usage["requests"]  # refused, never sent
    tiny = extract_file(
        path, llm=llm_client(max_tokens_per_doc=10, use_cache=False), settings=VERIFY
    )
    assert sum("llm.budget" in e for e in tiny["llm"]["errors"]) == len(tiny["llm"]["asked"])
    assert llm_server.requests() == usage["requests"]


def test_fallback_asks_only_where_the_reader_doubts(llm_server, llm_client):
    path = shared_path("realdocs", "shanghai_office_2025.md")
    truthful(llm_server, "shanghai_office_2025")
    record = extract_file(path, llm=llm_client(), settings=Settings(witness="fallback"))
    asked = {s.task for s in llm_server.seen}
    assert asked == {"s2+s3+prose"}  # part 四 was read without doubt
    alone = extract_file(path)
    accepted = lambda r: sum(s == "accepted" for s in r["field_status"].values())  # noqa: E731
    assert accepted(record) > accepted(alone)
    expected = gold("shanghai_office_2025")["fields"]
    assert all(
        same(record["fields"][k], expected[k])
        for k, s in record["field_status"].items()
        if s == "accepted"
    )


def _within(seen, context: int) -> bool:
    """Every request, as the server received it, fits the context with its answer's room."""
    return all(
        estimate_tokens(json.dumps(s.body, ensure_ascii=False)) + s.body["max_tokens"] <= context
        for s in seen
    )


@pytest.mark.parametrize("mode", MODES)
def test_a_small_context_splits_the_tables_and_is_never_exceeded(mode, llm_server, llm_client):
    expected = gold("shanghai_office_2025")
    truthful(llm_server, "shanghai_office_2025")
    path = shared_path("realdocs", "shanghai_office_2025.md")
    whole = extract_file(path, llm=llm_client(mode, use_cache=False), settings=VERIFY)
    assert [a["task"] for a in whole["llm"]["asked"]] == [ALL]
    for context, first in ((4096, ["s2+s3+s4", "prose"]), (2400, ["s2", "s3", "s4"])):
        # Ollama's default context, then less: the tables alone, then one table at a time.
        before = len(llm_server.seen)
        split = extract_file(
            path, llm=llm_client(mode, use_cache=False, context_tokens=context), settings=VERIFY
        )
        asked = [a["task"] for a in split["llm"]["asked"]]
        assert asked[: len(first)] == first and split["llm"]["context_tokens"] == context
        assert _within(llm_server.seen[before:], context)
        assert split["fields"] == whole["fields"] and split["field_status"] == whole["field_status"]
        assert all(
            expected["fields"][k] == v
            for k, v in split["fields"].items()
            if split["field_status"][k] == "accepted"
        )
    assert _within(llm_server.seen[:1], 16384)


def test_a_table_too_large_for_the_context_is_not_sent(llm_server, llm_client):
    truthful(llm_server)
    record = extract_file(
        shared_path("seeds", f"{SEED}.txt"), llm=llm_client(context_tokens=900), settings=VERIFY
    )
    assert "s3: llm.context:" in " ".join(record["llm"]["errors"])
    assert "s3" not in {s.task for s in llm_server.seen} and _within(llm_server.seen, 900)
    assert record["status"] == "ok" and set(record["field_status"].values()) == {"accepted"}


def test_a_collapsed_other_row_copied_as_printed_gives_zero_sub_rows(llm_server, llm_client):
    """（六）其他处理 printed as one row of zeros: the witness copies it so, and gouji, like
    the reader and the gold, reads its three sub-rows as 0."""
    truthful(llm_server, "hongze_2023")
    record = extract_file(
        shared_path("realdocs", "hongze_2023.pdf"), llm=llm_client(), settings=VERIFY
    )
    for row in ("other_no_supplement", "other_unpaid_fee", "other_other"):
        for column in ("natural_person", "total"):
            key = f"s3.{row}.{column}"
            assert record["fields"][key] == 0 and record["field_witness"][key] == "reader+llm"
            assert record["field_status"][key] == "accepted"
    prompt = llm_server.seen[0].body["messages"][-1]["content"]
    assert "只印了一行“（六）其他处理”时只写这一行" in prompt


def test_cli_points_at_an_openai_compatible_server(llm_server, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from gouji.cli import cli

    truthful(llm_server)
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("GOUJI_MODEL", "test-model")
    monkeypatch.setenv("GOUJI_CACHE_DIR", str(tmp_path / "cache"))
    seed = shared_path("seeds", f"{SEED}.txt")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        cli, ["extract", str(seed), "-o", str(out), "--structured-output", "json"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["llm"]["mode"] == "verify" and record["llm"]["model"] == "test-model"
    assert "LLM：请求 1 次" in result.output
    result = CliRunner().invoke(
        cli, ["extract", str(seed), "-o", str(out), "--structured-output", "json"]
    )
    assert "LLM：请求 0 次" in result.output and "缓存命中 1" in result.output
    # One request, and the start check before the first run only: one tiny request in the
    # mode the user named; the rerun, every answer cached, sends nothing at all.
    assert llm_server.requests() == 1 + 1 and llm_server.requests("unknown") == 1
    result = CliRunner().invoke(cli, ["extract", str(seed), "-o", str(out), "--llm", "off"])
    assert json.loads(out.read_text(encoding="utf-8"))["llm"] is None


def test_asking_for_the_llm_without_a_model_is_a_usage_error(tmp_path):
    from click.testing import CliRunner

    from gouji.cli import cli

    seed = shared_path("seeds", f"{SEED}.txt")
    result = CliRunner().invoke(cli, ["extract", str(seed), "--llm", "verify"])
    assert result.exit_code == 2 and "GOUJI_MODEL" in result.output


def test_figures_in_chinese_numerals_ground_like_digits(llm_server, llm_client, tmp_path):
    """八成, 三成五 and 一半 quoted by the witness are read by the same parser as the reader
    reads the prose: they confirm the reader's claims, none is counted ungrounded."""
    text = shared_path("seeds", f"{SEED}.txt").read_text("utf-8")
    said = "全年申请办结率达八成，其中三成五由企业提出，一半以上当场答复。"
    at = text.index("二、主动公开政府信息情况")
    path = tmp_path / "report.txt"
    path.write_text(text[:at] + said + "\n" + text[at:], "utf-8")

    class Quoting(Oracle):
        def reply(self, task, text, attempt):
            reply = super().reply(task, text, attempt)
            reply.payload["claims"] = ["八成", "三成五", "一半"]
            return reply

    llm_server.oracle = Quoting.of([(path, gold(SEED))])
    record = extract_file(path, llm=llm_client(), settings=VERIFY)
    assert record["llm"]["ungrounded_claims"] == 0
    stated = {
        c["quote"][-3:]: c for c in record["claims"] if "成" in c["quote"] or "半" in c["quote"]
    }
    assert {(c["value"], c["unit"]) for c in stated.values()} == {(80, "%"), (35, "%"), (50, "%")}
    assert all(c["witness"] == ["reader", "llm"] for c in stated.values())
