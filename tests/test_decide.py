"""decide: a field is accepted only when its value is grounded in the source (the text at
its span reads as that value), its witness placed it with certainty and no finding names it."""

from gouji.checking.decide import decide, grounded
from gouji.inputs.text import SourceText
from gouji.model import Candidate, Finding
from gouji.template import FIELD_KEYS


def test_a_value_is_grounded_where_its_source_text_reads_as_it():
    assert grounded("12", 12) and not grounded("13", 12)
    assert grounded("１２", 12)  # full-width digits read as their value
    assert grounded("1,234", 1234) and grounded("2.5", 2.5)
    assert grounded("1<span>2</span>", 12)  # a saved page's tags between the digits
    assert grounded("—", None) and grounded("", None) and grounded("&nbsp;", None)
    assert not grounded("0", None) and not grounded("—", 0)


def test_accepted_only_when_certain_grounded_and_named_by_no_finding():
    source = SourceText.from_text("规章 2 0 5 行政许可 7")
    candidates = {
        "s2.rules.issued": Candidate("s2.rules.issued", 2, (3, 4), True),
        "s2.rules.repealed": Candidate("s2.rules.repealed", 0, (5, 6), False),  # in doubt
        "s2.rules.in_force": Candidate("s2.rules.in_force", 5, (7, 8), True),
        "s2.licensing": Candidate("s2.licensing", 8, (14, 15), True, "llm"),  # prints 7
        "s2.punishment": Candidate("s2.punishment", 3, None, True),  # placed nowhere
    }
    findings = [
        Finding("s2.cell_note", ["s2.rules.in_force"], "「规章」：…"),
        Finding("cross_year.in_force", ["s2.rules.issued"], "…"),  # a warning only
    ]
    out = decide(candidates, findings, source)
    fields, status, spans, witness = out.fields, out.status, out.spans, out.witness
    assert set(fields) == set(FIELD_KEYS)
    assert [status[k] for k in candidates] == ["accepted", "review", "review", "review", "review"]
    assert (fields["s2.licensing"], spans["s2.licensing"], witness["s2.licensing"]) == (
        8,
        [14, 15],
        "llm",
    )
    assert (fields["s2.punishment"], spans["s2.punishment"], witness["s2.punishment"]) == (
        3,
        None,
        None,
    )
    # A key no witness read: null, in review.
    assert (fields["s2.fees"], status["s2.fees"], spans["s2.fees"]) == (None, "review", None)
    assert out.empty["s2.fees"] == "not_read" and "s2.licensing" not in out.empty
