"""Real reports: never a wrong accepted value, whatever the layout does."""

import pytest

from gouji.running.pipeline import extract_file
from gouji_eval.score import score

from conftest import gold, shared_path

REAL = [
    ("hongze_2023", "hongze_2023.pdfplumber.txt"),
    ("hongze_2024", "hongze_2024.pdfplumber.txt"),
    ("kewei_2024", "kewei_2024.md"),
    ("shanghai_office_2025", "shanghai_office_2025.md"),
    ("shuyang_2025_ocr", "shuyang_2025_ocr.md"),
    ("shuyang_fgj_2023", "shuyang_fgj_2023.html"),
]


@pytest.mark.parametrize(("stem", "name"), REAL)
def test_no_wrong_value_is_accepted(stem, name):
    record = extract_file(shared_path("realdocs", name))
    result = score(record, gold(stem))
    assert record["status"] == "ok"
    assert result.accepted_wrong == []
    assert result.accepted >= 80


def test_word_html_page_reads_every_field_with_blanks_null():
    record = extract_file(shared_path("realdocs", "shuyang_fgj_2023.html"))
    expected = gold("shuyang_fgj_2023")
    assert record["fields"] == expected["fields"]
    assert record["fields"]["s3.new_received.commercial"] is None
    assert set(record["field_status"].values()) == {"accepted"}


def test_realcorpus_documents_do_not_fail():
    folder = shared_path("realcorpus")
    for path in sorted(folder.glob("pt_*")):
        record = extract_file(path)
        assert record["status"] == "ok", (path.name, record["error"])
        assert record["template"] in ("2021", "pre2021")
