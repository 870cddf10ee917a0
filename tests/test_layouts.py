"""One test per layout of real reports, on generated reports whose values are not all zero
(the trickiest patterns of ../shared/LAYOUTS.md, hand-written, are in the tests of the module
that reads them: test_cells, test_sections, test_reader, test_splits)."""

import pytest

from gouji.template import FIELD_KEYS
from gouji_eval.generate import LAYOUTS, generate
from gouji_eval.score import same


def _nonzero_report(layout: str, variants=()):
    for seed in range(1, 200):
        report = generate(seed, layout=layout, variants=variants, inject_error=False)
        if sum(1 for v in report.gold["fields"].values() if v) >= 8:
            return report
    raise AssertionError("no report with enough non-zero figures")


@pytest.mark.parametrize("layout", [layout for layout in LAYOUTS if layout != "crawl"])
def test_layout_reads_every_field(layout, extract_text):
    report = _nonzero_report(layout)
    record = extract_text(report.text, report.name + report.suffix)
    assert record["status"] == "ok"
    wrong = [k for k in FIELD_KEYS if not same(record["fields"][k], report.gold["fields"][k])]
    assert wrong == []
    assert set(record["field_status"].values()) == {"accepted"}


@pytest.mark.parametrize("variants", [("fullwidth",), ("traditional",), ("blanks",)])
@pytest.mark.parametrize("layout", ["tab_rows", "pdf_text", "html", "cell_tab"])
def test_variants_keep_values_and_blanks_stay_null(layout, variants, extract_text):
    report = _nonzero_report(layout, variants)
    record = extract_text(report.text, report.name + report.suffix)
    accepted = [k for k, s in record["field_status"].items() if s == "accepted"]
    wrong = [k for k in accepted if not same(record["fields"][k], report.gold["fields"][k])]
    assert wrong == []
    assert len(accepted) >= 180
    if "blanks" in variants:
        blanks = [k for k, v in report.gold["fields"].items() if v is None]
        assert blanks and all(record["fields"][k] is None for k in blanks)


def test_generated_set_covers_every_layout_and_variant():
    from gouji_eval.generate import VARIANTS
    from gouji_eval.sets import GENERATED_COUNT, GENERATED_SEED

    reports = [
        generate(GENERATED_SEED + i, layout=LAYOUTS[i % len(LAYOUTS)])
        for i in range(GENERATED_COUNT)
    ]
    assert {r.layout for r in reports} == set(LAYOUTS)
    assert {v for r in reports for v in r.variants} == set(VARIANTS)
    assert (
        0.05 <= sum(bool(r.gold["source_inconsistencies"]) for r in reports) / len(reports) <= 0.15
    )
    qualifiers = {c["qualifier"] for r in reports for c in r.gold["claims"]}
    assert qualifiers == {"exact", "at_least", "about"}
