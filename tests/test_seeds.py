"""The two seed reports: every one of the 200 fields right and accepted, every claim found."""

import pytest

from gouji.running.pipeline import extract_file
from gouji_eval.score import claim_found

from conftest import gold, shared_path

SEEDS = ["000_ca43ff7fde9941af", "002_58d1e0dbcfc9fbf4"]


@pytest.mark.parametrize("stem", SEEDS)
def test_seed_fields_all_right_and_accepted(stem):
    record = extract_file(shared_path("seeds", f"{stem}.txt"))
    expected = gold(stem)
    assert record["status"] == "ok"
    assert record["template"] == "2021"
    assert record["fields"] == expected["fields"]
    assert set(record["field_status"].values()) == {"accepted"}
    assert record["findings"] == []
    assert record["meta"] == {"agency": expected["meta.agency"], "year": expected["meta.year"]}


@pytest.mark.parametrize("stem", SEEDS)
def test_seed_claims_found_with_their_quotes(stem):
    path = shared_path("seeds", f"{stem}.txt")
    record = extract_file(path)
    raw = path.read_text(encoding="utf-8")
    for claim in gold(stem)["claims"]:
        assert claim_found(claim, record["claims"]), claim
    for claim in record["claims"]:
        assert raw[claim["span"][0] : claim["span"][1]] == claim["quote"]


def test_seed_spans_point_at_the_printed_values():
    path = shared_path("seeds", "002_58d1e0dbcfc9fbf4.txt")
    record = extract_file(path)
    raw = path.read_text(encoding="utf-8")
    start, end = record["spans"]["s2.licensing"]
    assert raw[start:end] == "1483"
    start, end = record["spans"]["s3.new_received.total"]
    assert raw[start:end] == "10"
