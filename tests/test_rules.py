"""Named contracts: the rule registry, the parts, the glued-digits flag, the value formatter."""

import re
from pathlib import Path

import pytest

from gouji import errors
from gouji.cells import tokenize
from gouji.model import Finding, show
from gouji.rules import RULES, of_kind
from gouji.template import FIELD_KEYS, IDENTITIES, PARTS

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
    assert len({cls.code for cls in leaves}) == len(leaves) == 26  # each its own code
    found = dict(every)
    found |= {errors.InputError.code: errors.InputError, errors.LLMError.code: errors.LLMError}
    for code, cls in found.items():
        kind = "input" if issubclass(cls, errors.InputError) else "llm"
        assert RULES[code].kind == kind, code


def test_identity_rules_are_the_templates_identities():
    assert of_kind("identity") == {i.rule for i in IDENTITIES}
    assert all(RULES[i.rule].part == i.left[0].split(".")[0] for i in IDENTITIES)


def test_a_finding_of_an_unregistered_rule_is_refused():
    with pytest.raises(KeyError, match="s3.made_up"):
        Finding("s3.made_up", ["s3.granted.total"], "…")
    assert Finding("s3.row_total", ["s3.granted.total"], "…").rule == "s3.row_total"


def test_only_the_cross_year_warnings_leave_their_fields_accepted():
    warnings = [r.id for r in RULES.values() if not r.review]
    assert warnings == ["cross_year.in_force", "cross_year.pending"]


def test_parts_are_the_prefixes_of_the_field_keys():
    assert list(PARTS) == list(dict.fromkeys(k.split(".", 1)[0] for k in FIELD_KEYS))
    s2 = PARTS["s2"]
    assert (s2.heading, s2.label, s2.name) == (
        "二、主动公开政府信息情况",
        "二、主动公开",
        "第二部分（主动公开）",
    )


def test_glued_digits_are_a_flag_on_the_cell_not_a_message():
    view = "行政许可\t007\t3\n行政处罚\t12(含修订3件)\t05(其中2件)"
    lines = tokenize(view, 0, len(view))
    numbers = [c for line in lines for c in line if c.kind == "number"]
    assert [(c.text, c.value, c.glued) for c in numbers] == [
        ("007", 7, True),
        ("3", 3, False),
        ("12(含修订3件)", 12, False),
        ("05(其中2件)", 5, True),
    ]
    assert numbers[0].note == "「007」以 0 开头，可能是几个单元格粘连"
    assert numbers[2].note == "单元格内有附注「12(含修订3件)」"


def test_one_value_formatter():
    assert [show(v) for v in (None, 0, 7, 2.5, 2.0, 12.345)] == [
        "空",
        "0",
        "7",
        "2.5",
        "2",
        "12.345",
    ]
