"""Named contracts: the rule registry, the error codes, the value formatter."""

import re
from pathlib import Path

import pytest

from gouji import errors
from gouji.model import Finding, show
from gouji.rules import RULES

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_rules() -> dict[str, tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Rules\n", 1)[1].split("\n## ", 1)[0]
    listed = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            for rule in re.findall(r"`([^`]+)`", cells[0]):
                listed[rule] = (cells[1], cells[3])
    return listed


def test_readme_lists_every_rule_of_the_registry_and_no_other():
    assert _readme_rules() == {r.id: (r.kind, r.name) for r in RULES.values()}


def test_every_error_code_is_a_registered_rule():
    def codes(cls):
        for sub in cls.__subclasses__():
            yield sub.code, sub
            yield from codes(sub)

    every = [*codes(errors.InputError), *codes(errors.LLMError)]
    leaves = [cls for _, cls in every if not cls.__subclasses__()]
    assert len({cls.code for cls in leaves}) == len(leaves) == 29  # each its own code
    found = dict(every)
    found |= {errors.InputError.code: errors.InputError, errors.LLMError.code: errors.LLMError}
    for code, cls in found.items():
        kind = "input" if issubclass(cls, errors.InputError) else "llm"
        assert RULES[code].kind == kind, code


def test_a_finding_of_an_unregistered_rule_is_refused():
    with pytest.raises(KeyError, match="s3.made_up"):
        Finding("s3.made_up", ["s3.granted.total"], "…")
    assert Finding("s3.row_total", ["s3.granted.total"], "…").rule == "s3.row_total"


def test_only_the_cross_year_warnings_leave_their_fields_accepted():
    warnings = [r.id for r in RULES.values() if not r.review]
    assert warnings == ["cross_year.in_force", "cross_year.pending"]


def test_one_value_formatter():
    assert [show(v) for v in (None, 0, 7, 2.5, 2.0, 12.345)] == [
        "空",
        "0",
        "7",
        "2.5",
        "2",
        "12.345",
    ]
