"""PDF and Word documents: real PDFs with a text layer, generated PDF/DOCX versions of
generated reports, and the documents gouji cannot read."""

from collections import Counter

import pytest

from gouji.running.pipeline import extract_file
from gouji_eval.generate import generate, to_docx, to_pdf
from gouji_eval.score import score

from conftest import gold, shared_path


@pytest.mark.parametrize("stem", ["hongze_2023", "hongze_2024"])
def test_real_pdfs_are_read_from_the_pdf_itself(stem):
    path = shared_path("realdocs", f"{stem}.pdf")
    record = extract_file(path)
    result = score(record, gold(stem))
    assert record["status"] == "ok" and record["template"] == "2021"
    assert result.right == 200 and result.accepted_wrong == []
    assert result.accepted >= 190
    assert result.claims_found == result.claims_gold
    # Spans index pdfplumber's text, pages joined by newlines: the labeled set's basis.
    text = shared_path("realdocs", f"{stem}.pdfplumber.txt").read_text(encoding="utf-8")
    start, end = record["spans"]["s2.licensing"]
    assert text[start:end] == str(gold(stem)["fields"]["s2.licensing"])
    assert record["page_starts"][0] == 0 and len(record["page_starts"]) == 5
    fee = next(c for c in record["claims"] if "处理费" in c["quote"])
    assert fee["page"] == 5


def test_pdf_publisher_error_and_prose_mismatch_are_reported():
    r2023 = extract_file(shared_path("realdocs", "hongze_2023.pdf"))
    r2024 = extract_file(shared_path("realdocs", "hongze_2024.pdf"))
    assert {f["rule"] for f in r2023["findings"]} == {"s4.total"}
    assert {f["rule"] for f in r2024["findings"]} == {"claims.applications"}


@pytest.mark.parametrize("seed", [1, 2, 7])
def test_generated_pdf_and_docx_read_as_well_as_their_text(seed, tmp_path):
    report = generate(seed, layout="tab_rows", variants=(), inject_error=seed == 7)
    text = tmp_path / "r.txt"
    text.write_text(report.text, encoding="utf-8")
    to_pdf(report, tmp_path / "r.pdf")
    to_docx(report, tmp_path / "r.docx")
    base = extract_file(text)
    claims = Counter((c["value"], c["unit"]) for c in base["claims"])
    for name in ("r.pdf", "r.docx"):
        record = extract_file(tmp_path / name)
        assert record["status"] == "ok", record["error"]
        assert record["fields"] == report.gold["fields"]
        assert record["field_status"] == base["field_status"]
        assert {f["rule"] for f in record["findings"]} == {f["rule"] for f in base["findings"]}
        assert Counter((c["value"], c["unit"]) for c in record["claims"]) == claims


def test_pdf_without_a_text_layer_says_so(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    page = canvas.Canvas(str(path))
    page.rect(50, 50, 400, 600, fill=1)  # a "scanned" page: marks, no text
    page.showPage()
    page.save()
    record = extract_file(path)  # read by OCR, which finds no text either
    assert record["status"] == "failed"
    assert record["error"] == "input.no_text_layer: 扫描件经 OCR 也几乎没有读出文字（1 页）"


def test_damaged_pdf_and_docx_fail_with_one_line(tmp_path):
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.7\n garbage that is not a PDF body")
    (tmp_path / "bad.docx").write_bytes(b"PK\x03\x04 not a real zip")
    (tmp_path / "fake.pdf").write_bytes(b"<html>saved page, wrong suffix</html>")
    for name, code in (
        ("bad.pdf", "input.encoding"),
        ("bad.docx", "input.encoding"),
        ("fake.pdf", "input.encoding"),
    ):
        record = extract_file(tmp_path / name)
        assert record["status"] == "failed" and record["error"].startswith(code + ": "), record[
            "error"
        ]
        assert "\n" not in record["error"]


def test_doc_needs_libreoffice(tmp_path, monkeypatch):
    import shutil

    path = tmp_path / "old.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0 an OLE2 Word file")
    if shutil.which("soffice") or shutil.which("libreoffice"):
        pytest.skip("LibreOffice is installed here; this test covers machines without it")
    record = extract_file(path)
    assert (
        record["error"]
        == "input.format: 读取 .doc 需要 LibreOffice（soffice），本机未安装；可先另存为 .docx"
    )
