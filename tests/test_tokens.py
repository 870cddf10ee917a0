"""What the witness costs, as the benchmark counts it: the estimated request tokens per report
on the real documents and the corpus, against whole-report prompting, and the largest
request against the context (estimates are deterministic; no timing here)."""

from gouji_eval import sets
from gouji_eval.benchmark import tokens

from conftest import shared_path


def test_verify_costs_well_under_half_of_whole_report_prompting_and_fits_the_context(tmp_path):
    shared_path("realcorpus")
    figures = tokens(tmp_path, 0)  # no generated reports: the shared sets alone
    for name in ("real", "corpus"):
        one = figures[name]
        assert one["verify_ratio"] <= 0.45 and one["fallback_ratio"] <= one["verify_ratio"], name
        assert max(one["verify_largest"], one["fallback_largest"]) <= one["context"], name
    assert figures["real"]["reports"] == len(list(sets.items("real")))
    assert "generated" not in figures
