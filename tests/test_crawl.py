"""Crawled pages: generated and real crawls read with no wrong value accepted (the rules for
run-together digits are test_splits'), crawler headers and portal chrome, titles,
non-reports, twins and duplicates."""

import json

from click.testing import CliRunner

from gouji.cli import cli
from gouji.running.pipeline import extract_file
from gouji.template import FIELD_KEYS
from gouji_eval import simulate
from gouji_eval.generate import generate
from gouji_eval.score import same

from conftest import CRAWL_HEADER, shared_path


def test_generated_crawl_pages_accept_only_right_values_and_catch_the_error(extract_text):
    accepted = 0
    for seed in range(11, 23):
        report = generate(seed, layout="crawl", inject_error=seed % 3 == 0)
        record = extract_text(report.text, report.name + report.suffix)
        gold = report.gold
        for key in FIELD_KEYS:
            if record["field_status"][key] == "accepted":
                accepted += 1
                assert same(record["fields"][key], gold["fields"][key]), (report.name, key)
        for error in gold["source_inconsistencies"]:
            assert any(error["key"] in f["keys"] for f in record["findings"]), report.name
        assert record["source"] == gold["source"]
        assert record["meta"] == {"agency": gold["meta.agency"], "year": gold["meta.year"]}
    assert accepted >= 0.85 * 12 * len(FIELD_KEYS)


def test_the_simulation_accepts_no_wrong_value(tmp_path):
    accepted = 0
    for report in simulate.reports(tmp_path, 150):
        record = extract_file(tmp_path / (report.name + report.suffix))
        for key in FIELD_KEYS:
            if record["field_status"][key] == "accepted":
                accepted += 1
                assert same(record["fields"][key], report.gold["fields"][key]), (report.name, key)
    assert accepted > 0.7 * 150 * len(FIELD_KEYS)


def test_the_real_crawl_is_accepted_where_the_arithmetic_proves_it():
    folder = shared_path("realcorpus")
    records = {p.name: extract_file(p) for p in sorted(folder.glob("pt_*"))}
    fields = sum(len(FIELD_KEYS) for r in records.values())
    accepted = sum(s == "accepted" for r in records.values() for s in r["field_status"].values())
    assert accepted / fields >= 0.85
    text, page = records["pt_2023_czj_1.txt"], records["pt_2023_czj_1.html"]
    taken = [k for k in FIELD_KEYS if text["field_status"][k] == "accepted"]
    assert len(taken) == len(FIELD_KEYS)
    assert [k for k in taken if not same(text["fields"][k], page["fields"][k])] == []
    assert text["source"] == {
        "url": "https://www.pingtan.gov.cn/zwgk/zfxxgk/dfbmptlj/ptzhsyqbm/ptzhsyqczj/zfxxgknb/202401/t20240131_86688.htm",
        "published": "2024-01-31",
        "title": "平潭综合实验区财政金融局2023年度政府信息公开工作年度报告",
        "publisher": None,
    }
    assert page["source"] == text["source"]  # the page's meta tags say the same


def test_crawler_header_and_chrome_are_not_report_text(extract_text):
    text = (
        CRAWL_HEADER
        + "当前位置： 首页政务公开政府信息公开年报 某县交通运输局2023年度政府信息公开工作"
        "年度报告 来源：某县 时间：2024-01-31 微信 微博 QQ空间 全真版 文字版 文件下载 相关链接： "
        "一、总体情况 2023年，全年通过政府网站主动公开政府信息1240条。浏览次数：10240 "
        "二、主动公开政府信息情况 附件下载"
    )
    record = extract_text(text)
    assert record["meta"] == {"agency": "某县交通运输局", "year": 2023}
    assert record["source"]["published"] == "2024-01-31"
    assert [c["value"] for c in record["claims"]] == [1240]


def test_meta_on_spaced_out_traditional_and_split_titles(extract_text):
    spaced = "某    市    交    通    局    2  0  2  3  年  政  府  信  息  公  开  工  作  年  度  报  告\nPage 1 / P. 1\n"
    body = "一、总体情况\n二、主动公开政府信息情况\n三、收到和处理政府信息公开申请情况\n"
    assert extract_text(spaced + body)["meta"] == {"agency": "某市交通局", "year": 2023}
    traditional = "某縣衛生健康委員會2024年政府資訊公開工作年度報告\n" + body
    assert extract_text(traditional)["meta"] == {"agency": "某县卫生健康委员会", "year": 2024}
    split = "某县卫生健康委员会\n2022 年度政府信 息公开工作\n年度报告\n" + body
    assert extract_text(split)["meta"] == {"agency": "某县卫生健康委员会", "year": 2022}


def test_non_reports_are_skipped_and_the_run_still_succeeds(tmp_path):
    (tmp_path / "news.txt").write_text(
        "本报讯3月28日，某市人民政府发布了《某市2023年政府信息公开工作年度报告》，"
        "报告显示全年主动公开政府信息1万余条。",
        encoding="utf-8",
    )
    (tmp_path / "README.md").write_text("# 抓取说明\n本目录是网站的抓取结果。\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["extract", str(tmp_path), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [r["status"] for r in records] == ["skipped", "skipped"]
    assert all(r["error"].startswith("input.not_a_report: ") for r in records)
    assert "略过 2 份" in result.output


def test_a_page_saved_twice_and_a_copy_are_read_once(tmp_path):
    page = shared_path("realcorpus", "pt_2023_czj_1.html")
    folder = tmp_path / "86688_page"
    folder.mkdir()
    (folder / "page.html").write_bytes(page.read_bytes())
    (folder / "page.txt").write_bytes(page.with_suffix(".txt").read_bytes())
    (tmp_path / "z_copy").mkdir()
    (tmp_path / "z_copy" / "copy.html").write_bytes(page.read_bytes())
    out = tmp_path / "o.jsonl"
    result = CliRunner().invoke(cli, ["extract", str(tmp_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    records = {r["document"]: r for r in map(json.loads, out.read_text().splitlines())}
    first, html, text = str(tmp_path / "86688_page" / "page.html"), "copy.html", "page.txt"
    by_name = {key.rsplit("/", 1)[-1]: r for key, r in records.items()}
    assert by_name[text]["status"] == by_name[html]["status"] == "skipped"
    assert by_name[text]["error"].startswith("input.twin: ")
    assert by_name[text]["duplicate_of"] == first
    assert by_name[html]["error"].startswith("input.duplicate: ")
    assert by_name["page.html"]["status"] == "ok"


def test_the_simulation_runs_beyond_the_eval_and_names_each_wrong_value(capsys):
    assert simulate.main(["--start", "2000", "--count", "3", "--workers", "1"]) == 0
    assert "第 2000–2002 张，600 个字段" in capsys.readouterr().out
    # On page 27205 the publisher printed 10 for 1 beside a dropped blank (「102 104」), and
    # those digits read as a table that adds up everywhere: the one kind of wrong value
    # the longer simulation still finds.
    assert simulate.main(["--start", "27205", "--count", "1", "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert "接受了错误的值 2 个" in out
    assert "第 27205 张 s3.unavailable_needs_creation.commercial：读作 1，印的是 10" in out


def test_flattened_page_text_reads_as_its_html_twin():
    from gouji.running.pipeline import extract_file

    from conftest import shared_path

    text = extract_file(shared_path("realcorpus", "pt_2023_czj_1.txt"))
    html = extract_file(shared_path("realcorpus", "pt_2023_czj_1.html"))
    assert text["fields"] == html["fields"]
    both = [k for k, s in text["field_status"].items() if s == "accepted"]
    assert both and all(html["field_status"][k] == "accepted" for k in both)
