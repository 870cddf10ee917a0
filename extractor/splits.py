"""Run-together digits: the ways a row's digit strings can be cut into its cells, and when a
cut is trusted.

Flattened page text loses cell borders (``本年新收…数量640020470`` for 64 | 0 | 0 | 2 | 0 | 4 |
70). Each string is cut into numbers without leading zeros (no report prints ``05``); a space
the crawler kept is a border.

When a cut is trusted — the evidence that chooses a cut must not be the evidence that
confirms it:

* **Forced by the digits alone.** The digits can be cut into the row's cells in one way
  only, and into *fewer* numbers in none, so no blank cell can have been dropped either
  (``0000000``, ``008``: every cell but the last is 0, and ``0`` never starts a longer
  number). No identity chose this reading, so every identity that involves the row is left to
  confirm it: the checks that follow run on it as on any cell read beside its label.
  Part 二's three-cell rows have no identity; this is the only way they are accepted, because
  a cut like ``112`` (1 | 1 | 2) may as well be 11 | 2 with a blank dropped.
* **The digits' only cut, but a blank may have been dropped** (``1000001``: 1 | 0 | … | 1, or
  10 | 0 | … with a cell gone). No identity chose it, so all of them confirm it — part 三's
  row total and column identities, part 四's group totals — as below.
* **Chosen by the row's own identity.** Where several cuts exist, the row's total (part 三)
  or each group's total (part 四) picks the one that fits. That identity now holds by
  construction, so it proves nothing: the cut stays a proposal (:class:`Cut`), to be
  confirmed by the identities that did *not* choose it — part 三's column identities (results
  sum to （七）总计; 一 + 二 = 三 + 四). A unique cut can only be wrong where the row's printed
  figures do not add up or a blank was dropped, and a wrong cut moves value between the row's
  columns, which breaks a column identity unless another row's error moves it back exactly
  (the simulation in ``gouji_eval.simulate`` counts how often an accepted value is wrong
  anyway: it must be never). Part 四 has no identity beyond its group totals, so its chosen
  cuts stay in review.
* **Several cuts fit, or none.** The row is not placed; the finding lists the options, or
  says that the report's own figures do not add up.

How the confirming identities are evaluated (``confirm``):

* cell by cell: a cell is accepted when no identity that involves it (other than the one
  that chose its cut) breaks and at least one that reaches beyond its own row holds — part
  三's results total, its balance, or the two added together (results + carried forward =
  received + carried over, which checks the result rows when （七）总计 could not be read) —
  so one row the reader could not place costs only the columns it leaves unknown; but when
  any of a cut's identities *breaks*, the whole cut waits (its other cells may fit by
  coincidence only, a dropped blank read as 0);
* with the rows that were not placed where their sums are known whatever their reading: a
  row of zeros with blanks dropped adds 0 to every column, and a row with several cuts (or a
  few readings with dropped blanks) adds what all of them agree on. Never with a reading the
  column identities would pick for such a row: an identity that chose a value cannot then
  confirm its neighbours (it would hold by construction, whatever they are — the simulation
  found exactly that).

A cut is never repaired to make an identity hold: a report whose own figures do not add up
keeps its printed digits, and the finding says which cut could not be confirmed and why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import combinations

from .model import Candidate, Finding, Value
from .template import IDENTITIES, S3_COLUMNS, S3_RESULT_ROWS, Identity

Check = Callable[[list[int]], bool]


def cuts(
    tokens: list[str],
    n: int,
    complete: Check | None = None,
    partial: Check | None = None,
    limit: int = 4,
    target: int | None = None,
) -> list[list[int]]:
    """Up to ``limit`` ways to cut ``tokens`` (digit strings, in order) into ``n`` numbers.

    ``partial`` may reject a prefix early (e.g. a finished group of part 四); ``complete``
    judges a full cut; with ``target``, only cuts summing to it, a prefix over it pruned."""
    found: list[list[int]] = []
    digits_left = [sum(len(t) for t in tokens[i:]) for i in range(len(tokens) + 1)]

    def walk(t: int, pos: int, acc: list[int], total: int) -> None:
        if len(found) >= limit:
            return
        if t == len(tokens):
            if (
                len(acc) == n
                and (target is None or total == target)
                and (complete is None or complete(acc))
            ):
                found.append(list(acc))
            return
        token = tokens[t]
        for end in range(pos + 1, len(token) + 1):
            part = token[pos:end]
            if len(part) > 1 and part[0] == "0":
                break  # no cell is printed with a leading zero
            value = int(part)
            if target is not None and total + value > target:
                break  # a longer number is larger still
            remaining = digits_left[t + 1] + len(token) - end
            tokens_after = len(tokens) - t - 1 + (1 if end < len(token) else 0)
            need = n - len(acc) - 1
            if need < tokens_after or need > remaining:
                continue
            acc.append(value)
            if partial is None or partial(acc):
                walk(
                    t + 1 if end == len(token) else t,
                    0 if end == len(token) else end,
                    acc,
                    total + value,
                )
            acc.pop()

    walk(0, 0, [], 0)
    return found


def total_cuts(tokens: list[str], n: int, limit: int = 4) -> list[list[int]]:
    """Up to ``limit`` cuts of ``tokens`` into ``n`` numbers whose last is the sum of the
    others (part 三's rows), found from the total: each way to read the last number is a
    target that bounds every prefix, so long rows are cut as fast as short ones."""
    found: list[list[int]] = []
    last = tokens[-1]
    for width in range(1, len(last) + 1):
        printed = last[-width:]
        if len(printed) > 1 and printed[0] == "0":
            continue
        head = tokens[:-1] + ([last[:-width]] if width < len(last) else [])
        total = int(printed)
        for cut in cuts(head, n - 1, limit=limit - len(found), target=total):
            found.append([*cut, total])
        if len(found) >= limit:
            break
    return found


def forced(tokens: list[str], n: int) -> list[int] | None:
    """The one reading of ``tokens`` as ``n`` cells when the digits allow no other — no other
    cut into ``n``, and none into fewer numbers (so no blank cell was dropped) — else ``None``.

    Fewer numbers are possible exactly when some token holds a nonzero digit with another
    digit after it (the two can form one number), so that is all there is to check."""
    if any(d != "0" for token in tokens for d in token[:-1]):
        return None
    if sum(len(t) for t in tokens) != n:
        return None
    return [int(d) for token in tokens for d in token]


def with_blanks(
    tokens: list[str], n: int, complete: Check, limit: int
) -> list[list[int | None]] | None:
    """The readings of ``tokens`` as ``n`` cells of which some were blank and dropped, that
    ``complete`` admits (a blank counts as 0); ``None`` when there are more than ``limit``."""
    found: list[list[int | None]] = []
    for k in range(max(1, len(tokens)), n):
        for cut in cuts(tokens, k, limit=limit + 1):
            for blanks in combinations(range(n), n - k):
                numbers = iter(cut)
                reading = [None if i in blanks else next(numbers) for i in range(n)]
                if complete([v or 0 for v in reading]):
                    found.append(reading)
                    if len(found) > limit:
                        return None
    return found


def row_total(values: list[int]) -> bool:
    """Part 三: the 总计 column is the sum of the six applicant columns."""
    return sum(values[:-1]) == values[-1]


def groups_of_five(values: list[int]) -> bool:
    """Part 四: in each finished group, 总计 is the sum of the other four."""
    whole = len(values) - len(values) % 5
    return all(sum(values[i : i + 4]) == values[i + 4] for i in range(0, whole, 5))


def _group_cuts(tokens: list[str], n: int, limit: int = 4) -> list[list[int]]:
    return cuts(tokens, n, groups_of_five, groups_of_five, limit)


# The identity that chooses a part's cut: its rule, the cuts it admits, and its check of a
# full reading.
CHOOSERS: dict[str, tuple[str, Callable[[list[str], int, int], list[list[int]]], Check]] = {
    "s3": ("s3.row_total", total_cuts, row_total),
    "s4": ("s4.total", _group_cuts, groups_of_five),
}


@dataclass
class Cut:
    """A row's cut that its own identity chose: a proposal until other identities confirm it."""

    part: str
    label: str
    keys: tuple[str, ...]
    values: list[int]
    printed: str
    chosen_by: str | None  # the rule of the identity that chose it; None: the digits alone


def _holds(identity: Identity, values: Mapping[str, Value]) -> bool:
    left = sum(values[k] or 0 for k in identity.left)
    right = sum(values[k] or 0 for k in identity.right)
    return abs(left - right) < 1e-9


def _derived() -> list[Identity]:
    """Part 三's two column identities added together, per column: the results and what is
    carried forward make up what was received and carried over. It checks the result rows
    when （七）总计 itself could not be read."""
    out = []
    for c in S3_COLUMNS:
        results = tuple(f"s3.{r}.{c}" for r in S3_RESULT_ROWS)
        received = (f"s3.new_received.{c}", f"s3.carried_over.{c}")
        out.append(Identity("s3.balance", received, (*results, f"s3.carried_forward.{c}")))
    return out


_INVOLVING: dict[str, list[Identity]] = {}
for _identity in (*IDENTITIES, *_derived()):
    for _key in _identity.left + _identity.right:
        _INVOLVING.setdefault(_key, []).append(_identity)


def confirm(
    cuts_: list[Cut],
    candidates: dict[str, Candidate],
    sums: Mapping[str, int],
) -> tuple[list[Finding], dict[str, int]]:
    """Accept each proposed cut's cells whose confirming identities all hold (see the
    module's docstring); the rest stay in review with a finding. Certainty another witness
    gave a cut value (an LLM reading the same run-together digits) is not independent and is
    withdrawn. ``sums`` holds what unplaced cells add to a sum whatever their reading (a row
    of zeros with blanks dropped adds 0 to every column, a row with several cuts what they
    all agree on). Returns the findings and the number of rows confirmed whole per part."""
    if not cuts_:
        return [], {}
    values: dict[str, Value] = dict(sums)
    for key, candidate in candidates.items():
        if candidate.certain:
            values[key] = candidate.value
    for cut in cuts_:
        values.update(zip(cut.keys, cut.values, strict=True))
    verdicts: dict[int, bool | None] = {}  # per identity: holds, breaks, or None (unknown)

    def verdict(identity: Identity) -> bool | None:
        if id(identity) not in verdicts:
            known = all(k in values for k in identity.left + identity.right)
            verdicts[id(identity)] = _holds(identity, values) if known else None
        return verdicts[id(identity)]

    findings: list[Finding] = []
    confirmed: dict[str, int] = {}
    for cut in cuts_:
        ours = [candidates.get(k) for k in cut.keys]
        if any(c is None or c.value != v for c, v in zip(ours, cut.values, strict=True)):
            continue  # another witness disputes the cut: its finding keeps the row in review
        unconfirmed: list[str] = []
        broken = False
        own = set(cut.keys)
        for key, candidate in zip(cut.keys, ours, strict=True):
            others = [i for i in _INVOLVING.get(key, ()) if i.rule != cut.chosen_by]
            # Beyond the row: part 三's column identities; part 四 has only its own totals.
            beyond = [i for i in others if not own.issuperset(i.left + i.right)] or others
            said = [verdict(i) for i in others]
            candidate.certain = False not in said and any(verdict(i) for i in beyond)
            if not candidate.certain:
                unconfirmed.append(key)
                broken |= False in said
        if not unconfirmed:
            confirmed[cut.part] = confirmed.get(cut.part, 0) + 1
            continue
        if broken:
            # A wrong cut that still fits its own identity: the cells its broken identities
            # do not name may be right by coincidence only (a dropped blank read as 0).
            for candidate in ours:
                candidate.certain = False
            unconfirmed = list(cut.keys)
            why = "但验证它的勾稽关系不成立（报告本身可能有误，也可能漏掉了空白单元格）"
        elif cut.part == "s4" and cut.chosen_by is not None:
            why = "没有别的勾稽关系可以验证"
        else:
            why = "验证它的勾稽关系缺少数据"
        how = "只有一种拆分" if cut.chosen_by is None else "按本行的勾稽关系只有一种拆分"
        findings.append(
            Finding(
                f"{cut.part}.run_together",
                unconfirmed,
                f"「{cut.label}」的数字粘连为「{cut.printed}」，{how}："
                f"{'、'.join(map(str, cut.values))}，{why}，请核对",
            )
        )
    return findings, confirmed
