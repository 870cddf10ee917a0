"""The template's arithmetic identities (勾稽关系), each defined once.

An entry of ``RELATIONS`` is one identity: its rule id and Chinese name, its sums (which keys
add up to which, once per row, column or group it holds in: ``sum(left) == sum(right)``),
the message a reviewer reads where a sum breaks, and the decisions it feeds (``uses``).
Nothing else states an identity: the checks, the run-together cuts, the OCR and witness
rules, the rule registry (and through it README's rule table) and the eval's generator all
read this table. Adding an identity is one entry here, plus a test (and, where it reports,
its line in README's rule table, which a test keeps equal to the registry); an entry that
reports without a message is refused when the module loads.

An identity changes these decisions — a change here moves what is *accepted*, so whoever
reviews one reruns ``python -m gouji_eval.simulate`` and ``gouji eval`` on it:

* ``Use.FINDING`` (``checks.check_identities``): a sum that breaks is a finding of the
  entry's rule, with its message, and sends its cells to review.
* ``Use.CUT`` (``splits``): a sum that lies within one printed row (part 三's row total,
  part 四's group totals) *chooses* how that row's run-together digits are cut; every other
  sum *confirms* a cut it did not choose, and weighs part 三's open rows together. More
  sums confirm more cuts — and a wrong sum confirms wrong ones.
* ``Use.OCR`` (``checks.check_confidence``): a value OCR read with low confidence is
  accepted only where one of these sums holds through it.
* ``Use.WITNESS`` (``reconcile``): a value only the LLM gives is trusted only in a cell one
  of these sums checks.

The generator (``gouji_eval.generate``, and the simulation through it) completes every
printed total from its parts, checks that every sum holds, and prints a publisher's error
in the totals of the identities that lie within a row. The reporting entries are numbered
as ``../shared/SCHEMA.md`` lists them (a gold file's ``source_inconsistencies`` name them so).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from .template import (
    S2_ROWS,
    S3_COLUMNS,
    S3_RESULT_ROWS,
    S3_ROWS,
    S4_COLUMNS,
    S4_GROUPS,
    S4_ROW,
    Value,
    label_of,
)


class Use(enum.Flag):
    """The decisions an identity feeds (see the module's docstring)."""

    FINDING = enum.auto()
    CUT = enum.auto()
    OCR = enum.auto()
    WITNESS = enum.auto()
    EVERY = FINDING | CUT | OCR | WITNESS


@dataclass(frozen=True)
class Identity:
    """One sum of an identity: ``sum(left) == sum(right)``; ``rule`` is its entry's."""

    rule: str
    left: tuple[str, ...]
    right: tuple[str, ...]
    keys: tuple[str, ...] = field(init=False, repr=False, compare=False)  # left, then right

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", self.left + self.right)

    def sides(self, values: Mapping[str, Value]) -> tuple[Value, Value]:
        """What each side adds up to, a blank counting as 0."""
        left, right = self.left, self.right
        if len(left) == 1:
            return values[left[0]] or 0, sum(filter(None, map(values.__getitem__, right)))
        return (
            sum(filter(None, map(values.__getitem__, left))),
            sum(filter(None, map(values.__getitem__, right))),
        )


# A broken sum's message: the sum, each cell's value as printed (空 for a blank), and the
# two sides' totals.
Message = Callable[[Identity, Callable[[str], str], float, float], str]


@dataclass(frozen=True)
class Relation:
    """One identity of the template: an entry of ``RELATIONS``."""

    rule: str  # the finding's rule id; registered in ``rules`` from here
    name: str  # Chinese, for the rule registry and README's rule table
    sums: tuple[Identity, ...]
    uses: Use
    message: Message | None = None  # required where it reports (``Use.FINDING``)

    def __post_init__(self) -> None:
        if Use.FINDING in self.uses and self.message is None:
            raise ValueError(f"identity {self.rule} reports a finding but has no message")
        if not self.sums or any(s.rule != self.rule for s in self.sums):
            raise ValueError(f"identity {self.rule}: its sums must carry its rule")

    @property
    def part(self) -> str:
        return self.sums[0].left[0].split(".", 1)[0]


def relation(
    rule: str,
    name: str,
    uses: Use,
    sums: Iterable[tuple[Iterable[str], Iterable[str]]],
    message: Message | None = None,
) -> Relation:
    """An entry, its sums given as (left keys, right keys)."""
    made = tuple(Identity(rule, tuple(left), tuple(right)) for left, right in sums)
    return Relation(rule, name, made, uses, message)


def _column(key: str) -> str:
    return label_of(key).split("·")[-1]  # 自然人, 总计


def _adds_up(s: Identity, shown: Callable[[str], str], left: float, right: float) -> str:
    """A printed total beside the cells it sums: 予以公开：自然人 5 + … = 7，但总计为 8."""
    (total,) = s.left
    terms = " + ".join(f"{_column(k)} {shown(k)}" for k in s.right)
    return f"{label_of(total).rsplit('·', 1)[0]}：{terms} = {right:g}，但总计为 {shown(total)}"


def _results(s: Identity, shown: Callable[[str], str], left: float, right: float) -> str:
    (total,) = s.left
    return f"{_column(total)}列：办理结果各项之和为 {right:g}，但（七）总计为 {shown(total)}"


def _balance(s: Identity, shown: Callable[[str], str], left: float, right: float) -> str:
    (new, carried), (processed, forward) = s.left, s.right
    return (
        f"{_column(new)}列：本年新收 {shown(new)} + 上年结转 {shown(carried)} = {left:g}，"
        f"但办理结果总计 {shown(processed)} + 结转下年度 {shown(forward)} = {right:g}"
    )


_APPLICANTS = S3_COLUMNS[:-1]
_OUTCOMES = S4_COLUMNS[:-1]

RELATIONS: tuple[Relation, ...] = (
    relation(
        "s3.row_total",
        "行总计不等于各类申请人之和",
        Use.EVERY,
        (((f"s3.{r.name}.total",), [f"s3.{r.name}.{c}" for c in _APPLICANTS]) for r in S3_ROWS),
        _adds_up,
    ),
    relation(
        "s3.results_total",
        "办理结果各项之和不等于（七）总计",
        Use.EVERY,
        (
            ((f"s3.total_processed.{c}",), [f"s3.{r}.{c}" for r in S3_RESULT_ROWS])
            for c in S3_COLUMNS
        ),
        _results,
    ),
    relation(
        "s3.balance",
        "新收加上年结转不等于办结加结转下年度",
        Use.EVERY,
        (
            (
                (f"s3.new_received.{c}", f"s3.carried_over.{c}"),
                (f"s3.total_processed.{c}", f"s3.carried_forward.{c}"),
            )
            for c in S3_COLUMNS
        ),
        _balance,
    ),
    relation(
        "s4.total",
        "复议诉讼总计不等于各结果之和",
        Use.EVERY,
        (((f"s4.{g}.total",), [f"s4.{g}.{c}" for c in _OUTCOMES]) for g in S4_GROUPS),
        _adds_up,
    ),
    # The two column identities above added together, per column: the results and what is
    # carried forward make up what was received and carried over. It confirms cuts of the
    # result rows where （七）总计 itself could not be read; it reports nothing (where
    # （七）总计 was read, it says nothing the two do not).
    relation(
        "s3.results_balance",
        "办理结果与结转下年度之和不等于新收加上年结转",
        Use.CUT,
        (
            (
                (f"s3.new_received.{c}", f"s3.carried_over.{c}"),
                (*(f"s3.{r}.{c}" for r in S3_RESULT_ROWS), f"s3.carried_forward.{c}"),
            )
            for c in S3_COLUMNS
        ),
    ),
)

RELATION: dict[str, Relation] = {r.rule: r for r in RELATIONS}
assert len(RELATION) == len(RELATIONS), "one entry per rule"


def sums_for(use: Use) -> tuple[Identity, ...]:
    """The sums of every identity that feeds ``use`` (any of its decisions), in the
    table's order."""
    return tuple(s for r in RELATIONS if r.uses & use for s in r.sums)


def keys_for(use: Use) -> frozenset[str]:
    """The keys some sum that feeds ``use`` involves."""
    return frozenset(k for s in sums_for(use) for k in s.keys)


def within_a_row(s: Identity) -> bool:
    """Whether all of a sum's cells stand in one printed row (part 四's 15 cells are one)."""
    return any(set(row.keys).issuperset(s.keys) for row in (*S2_ROWS, *S3_ROWS, S4_ROW))


def message(s: Identity, shown: Callable[[str], str], left: float, right: float) -> str:
    """The Chinese sentence for a broken sum of a reporting identity."""
    write = RELATION[s.rule].message
    assert write is not None  # a reporting entry has one (``Relation``)
    return write(s, shown, left, right)


# The sums the checks judge: every reporting identity's (part 三's and 四's 42).
IDENTITIES: tuple[Identity, ...] = sums_for(Use.FINDING)
