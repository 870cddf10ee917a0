"""The identity table (``gouji.identities``): every identity defined once, and everything
that weighs an identity reading it from there."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gouji import identities
from gouji.checking import checks, reconcile
from gouji.identities import IDENTITIES, Use, keys_for, relation, sums_for
from gouji.reading import splits
from gouji.rules import RULES, of_kind
from gouji.template import FIELD_KEYS, S2_KEYS
from gouji_eval.generate import draw_figures, satisfied

PACKAGE = Path(identities.__file__).parent


def test_there_are_the_42_identities_of_the_template():
    rules = [i.rule for i in IDENTITIES]
    assert (rules.count("s3.row_total"), rules.count("s3.results_total")) == (25, 7)
    assert (rules.count("s3.balance"), rules.count("s4.total")) == (7, 3)


def test_identity_rules_are_registered_from_the_table():
    assert of_kind("identity") == {i.rule for i in IDENTITIES}
    assert all(RULES[i.rule].part == i.left[0].split(".")[0] for i in IDENTITIES)
    assert RULES["s3.balance"].name == "新收加上年结转不等于办结加结转下年度"
    # The sum only the cuts weigh reports nothing, so it is no rule.
    assert "s3.results_balance" not in RULES


def test_each_decision_reads_the_sums_that_feed_it():
    assert sums_for(Use.CUT) == splits._ALL and len(splits._ALL) == 42 + 7
    assert checks._OCR_CHECKS == IDENTITIES
    # A value only the LLM gives is trusted in parts 三 and 四, never in part 二.
    assert reconcile._CHECKED == keys_for(Use.WITNESS) == set(FIELD_KEYS) - set(S2_KEYS)


def test_an_identity_that_reports_needs_a_message():
    sums = [(("s2.rules.in_force",), ("s2.rules.issued",))]
    with pytest.raises(ValueError, match="s2.made_up reports a finding but has no message"):
        relation("s2.made_up", "规章", Use.FINDING, sums)
    assert relation("s2.made_up", "规章", Use.CUT, sums).message is None
    with pytest.raises(ValueError, match="its sums must carry its rule"):
        identities.Relation("s2.made_up", "规章", IDENTITIES[:1], Use.CUT)


def test_the_generators_figures_satisfy_every_sum():
    import random

    figures = draw_figures(random.Random(4))
    assert satisfied(figures) is figures
    figures["s3.granted.total"] += 1
    with pytest.raises(AssertionError, match="s3.row_total"):
        satisfied(figures)


# A throwaway identity, written as a maintainer would add one: one entry of the table.
THROWAWAY = """
    relation(
        "s2.rules_stock",
        "规章现行有效件数不等于本年制发件数",
        Use.FINDING,
        [(("s2.rules.in_force",), ("s2.rules.issued",))],
        lambda s, shown, left, right: (
            f"规章：现行有效 {shown('s2.rules.in_force')} 件，但本年制发 {right:g} 件"
        ),
    ),"""

REPORT = (
    "某县2023年政府信息公开工作年度报告\n二、主动公开政府信息情况\n第二十条第（一）项\n"
    "信息内容\t本年制发件数\t本年废止件数\t现行有效件数\n规章\t2\t0\t5\n行政规范性文件\t3\t1\t3\n"
)

EXTRACT = """
import json, sys
from gouji.running.pipeline import extract_file
from gouji.rules import RULES
record = extract_file(sys.argv[1])
print(json.dumps({"record": record, "rule": RULES["s2.rules_stock"].kind}, ensure_ascii=False))
"""


def test_a_new_identity_is_one_entry_and_reports_where_it_breaks(tmp_path):
    """Copy the package, add one entry to its table and nothing else, and read a report
    that breaks it: a finding with its message, no KeyError, the rest of the table as it
    was."""
    package = tmp_path / "gouji"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    table = package / "identities.py"
    source = table.read_text(encoding="utf-8")
    opening = "RELATIONS: tuple[Relation, ...] = ("
    assert source.count(opening) == 1
    table.write_text(source.replace(opening, opening + THROWAWAY), encoding="utf-8")
    report = tmp_path / "report.txt"
    report.write_text(REPORT, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-c", EXTRACT, str(report)],
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    record = answer["record"]
    assert answer["rule"] == "identity"  # registered from the entry
    assert record["status"] == "ok", record["error"]
    found = [(f["rule"], f["keys"], f["message"]) for f in record["findings"]]
    assert (
        "s2.rules_stock",
        ["s2.rules.in_force", "s2.rules.issued"],
        "规章：现行有效 5 件，但本年制发 2 件",
    ) in found
    # The rest is the reader's: part 二's other rows, parts 三 and 四 are not in the report.
    assert {rule for rule, _, _ in found} == {
        "s2.rules_stock",
        "s2.row_missing",
        "s3.table_missing",
        "s4.table_missing",
    }
    status = record["field_status"]
    assert status["s2.rules.in_force"] == status["s2.rules.issued"] == "review"
    assert status["s2.rules.repealed"] == status["s2.normative.in_force"] == "accepted"
