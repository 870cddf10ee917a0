"""Run-together digits: the ways a row's digit strings can be read as its cells, and when a
reading is trusted.

Flattened page text loses cell borders (``本年新收…数量640020470`` for 64 | 0 | 0 | 2 | 0 | 4 |
70). Each string is cut into numbers without leading zeros (no report prints ``05``); a space
the crawler kept is a border; and a crawl drops blank cells altogether, so a row may also be
read as fewer numbers with some cells blank (6 | 40 | 0 | 20 | 4 | 空 | 70 is another
reading of the same digits).

When a reading is trusted — the evidence that chooses a reading must not be the evidence
that confirms it:

* **Forced by the digits alone.** The digits can be cut into the row's cells in one way
  only, and into *fewer* numbers in none, so no blank cell can have been dropped either
  (``0000000``, ``008``: every cell but the last is 0, and ``0`` never starts a longer
  number). No identity chose this reading, so every identity that involves the row is left to
  confirm it: the checks that follow run on it as on any cell read beside its label.
  Part 二's three-cell rows have no identity; this is the only way they are accepted, because
  a cut like ``112`` (1 | 1 | 2) may as well be 11 | 2 with a blank dropped.
* **One reading.** The digits' only cut into the row's cells (no identity chose it, so all of
  them are left to confirm it, the row's total too), or in part 三 the only reading — cuts
  and dropped blanks, *all* of them weighed (:func:`blank_readings` is complete, not a
  sample) — that the row's total admits, or in part 四 the only cut its group totals admit.
  The identity that chose it holds by construction, so it proves nothing: the reading stays
  a proposal (:class:`Cut`), to be confirmed by the identities that did *not* choose it —
  part 三's column identities (results sum to （七）总计; 一 + 二 = 三 + 四). Such a reading
  can only be wrong where the row's printed figures do not add up, and a wrong one moves
  value between the row's columns, which breaks a column identity unless another row's error
  moves it back exactly. Part 四 has no identity beyond its group totals, so its chosen cuts
  stay in review.
* **Several readings the row's total admits** (part 三): an open row (:class:`Open`). The
  column identities weigh the open rows together: the joint readings that no identity
  breaks are kept, and a cell on which every kept reading agrees is placed (the place of a
  dropped blank among zeros may stay unknown while the figures beside it are settled). A
  placed cell is then confirmed, like a proposal's, by an identity that did not choose it:
  an identity that names an open row's cells judges them as the *other* identities decide
  them (over the joint readings no other identity breaks, they must read the same), so no
  identity confirms the reading it picked. This is sound only because every reading of
  every row is weighed: had a proposal's own dropped-blank reading been left out, its error
  could mirror an open row's choice (10 moved between the same two columns) and both would
  fit — with both weighed, two joint readings fit and nothing is placed.
* **No reading fits, or too many.** The row is not placed; the finding says that the
  report's own figures do not add up, or lists the options.

Which identities choose and which confirm is read from the identity table (``identities``,
the sums that feed ``Use.CUT``): the sums that lie within one printed row choose its cut
(:func:`chooser`), every other sum confirms. How the confirming identities are evaluated
(``confirm``): a reading is accepted whole or not at all — each of its cells needs an
identity beyond its own row that holds (part 三's results total, its balance, or the two
added together: results + carried forward = received + carried over, which checks the
result rows when （七）总计 could not be read), and none that breaks. A wrong reading differs from the printed cells in two places or more; where one
of them cannot be checked, the cells that can may fit only because the wrong reading happens
to mend the publisher's own error, or read 0 where a blank was dropped (no identity tells a
blank from 0). Rows that were not placed count where their sums are known whatever their
reading: a row of zeros with blanks dropped adds 0 to every column, an open row what all its
readings agree on.

The simulation in ``gouji_eval.simulate`` counts how often an accepted value is wrong on
tables far denser and more error-prone than real reports': it must be never. A reading is
never repaired to make an identity hold: a report whose own figures do not add up keeps its
printed digits, and the finding says which reading could not be confirmed and why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

from ..identities import Identity, Use, sums_for
from ..model import Candidate, Finding, show
from ..template import Value

Check = Callable[[list[int]], bool]


def cuts(
    tokens: list[str],
    n: int,
    complete: Check | None = None,
    partial: Check | None = None,
    limit: int = 4,
    target: int | None = None,
    fewest: int | None = None,
) -> list[list[int]]:
    """Up to ``limit`` ways to cut ``tokens`` (digit strings, in order) into ``n`` numbers
    (with ``fewest``, into any count from ``fewest`` to ``n``).

    ``partial`` may reject a prefix early (e.g. a finished group of part 四); ``complete``
    judges a full cut; with ``target``, only cuts summing to it, a prefix over it pruned."""
    fewest = n if fewest is None else fewest
    found: list[list[int]] = []
    digits_left = [sum(len(t) for t in tokens[i:]) for i in range(len(tokens) + 1)]
    if target is not None:
        # The last r digits read as one number: the most any cut of them can add.
        joined = "".join(tokens)
        most_after = [int(joined[len(joined) - r :] or 0) for r in range(len(joined) + 1)]

    count = len(tokens)

    def walk(t: int, pos: int, acc: list[int], total: int) -> None:
        if len(found) >= limit:
            return
        if t == count:
            if (
                fewest <= len(acc) <= n
                and (target is None or total == target)
                and (complete is None or complete(acc))
            ):
                found.append(list(acc))
            return
        token = tokens[t]
        size = len(token)
        most, least = n - len(acc) - 1, fewest - len(acc) - 1  # numbers still to come
        # No cell is printed with a leading zero: a 0 is a number of its own.
        last = pos + 1 if token.startswith("0", pos) else size
        for end in range(pos + 1, last + 1):
            value = int(token[pos:end])
            if target is not None and total + value > target:
                break  # a longer number is larger still
            remaining = digits_left[t + 1] + size - end
            if least > remaining:
                break  # too few digits left for the numbers to come, and fewer further on
            if target is not None and total + value + most_after[remaining] < target:
                continue  # the digits left cannot make up the rest
            if most < count - t - (end == size):
                continue  # more tokens left than numbers to come
            acc.append(value)
            if partial is None or partial(acc):
                at = (t + 1, 0) if end == size else (t, end)  # the next token, or this one's rest
                walk(*at, acc, total + value)
            acc.pop()

    walk(0, 0, [], 0)
    return found


def total_cuts(
    tokens: list[str], n: int, limit: int = 4, fewest: int | None = None
) -> list[list[int]]:
    """Up to ``limit`` cuts of ``tokens`` into ``n`` numbers (or from ``fewest`` to ``n``)
    whose last is the sum of the others (part 三's rows), found from the total: each way to
    read the last number is a target that bounds every prefix, so long rows are cut as fast
    as short ones."""
    found: list[list[int]] = []
    last = tokens[-1]
    for width in range(1, len(last) + 1):
        printed = last[-width:]
        if len(printed) > 1 and printed[0] == "0":
            continue
        head = tokens[:-1] + ([last[:-width]] if width < len(last) else [])
        total = int(printed)
        least = None if fewest is None else fewest - 1
        for cut in cuts(head, n - 1, limit=limit - len(found), target=total, fewest=least):
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


def blank_readings(tokens: list[str], n: int, limit: int) -> list[list[int | None]] | None:
    """Every reading of ``tokens`` as ``n`` cells of a part 三 row (the last the total of
    the others) with some cells blank and dropped, a blank counting as 0; ``None`` when
    there may be more than ``limit``. Complete, not a sample: a reading left out could be
    the one printed, and the cut it was left out beside would look like the only one."""
    if len(tokens) >= n:
        return []
    found: list[list[int | None]] = []
    if all(d == "0" for t in tokens for d in t):
        # All zeros, each a cell: the blanks may be anywhere, the total's cell too.
        k = sum(map(len, tokens))
        readings = [([0] * k, combinations(range(n), n - k))] if k < n else []
    else:
        numbers = total_cuts(tokens, n - 1, limit=limit + 1, fewest=len(tokens))
        if len(numbers) > limit:
            return None
        readings = [(cut, combinations(range(n - 1), n - len(cut))) for cut in numbers]
    for cut, places in readings:
        for blanks in places:
            values = iter(cut)
            found.append([None if i in blanks else next(values) for i in range(n)])
            if len(found) > limit:
                return None
    return found


_ALL = sums_for(Use.CUT)
_INVOLVING: dict[str, list[Identity]] = {}
for _identity in _ALL:
    for _key in _identity.keys:
        _INVOLVING.setdefault(_key, []).append(_identity)


@dataclass(frozen=True, eq=False)  # one per row (``chooser``), a cache key by identity
class Chooser:
    """The sums that lie within one printed row (part 三's row total, part 四's group
    totals): they choose how the row's run-together digits are cut, so they never confirm
    that cut. Each sum is given by its cells' places in the row."""

    rules: frozenset[str]
    sums: tuple[tuple[tuple[int, ...], tuple[int, ...], int], ...]  # left, right, last place
    width: int

    @property
    def row_total(self) -> bool:
        """One sum: the row's last cell is the total of all the others (part 三)."""
        (left, right, _), *more = self.sums
        return not more and left == (self.width - 1,) and right == tuple(range(self.width - 1))

    def holds(self, values: list[int]) -> bool:
        """Every sum whose cells are all among ``values`` (the row's first cells) holds."""
        return all(
            sum(values[i] for i in left) == sum(values[i] for i in right)
            for left, right, last in self.sums
            if last < len(values)
        )

    def cuts(self, tokens: list[str], limit: int) -> list[list[int]]:
        """Up to ``limit`` cuts of ``tokens`` into the row's cells that every sum admits."""
        if self.row_total:
            return total_cuts(tokens, self.width, limit)
        return cuts(tokens, self.width, self.holds, self.holds, limit)


@lru_cache(maxsize=64)
def chooser(keys: tuple[str, ...]) -> Chooser | None:
    """The sums within the row of ``keys`` (in the row's order), or ``None`` (no sum lies
    within it: part 二's rows, whose cuts nothing can choose)."""
    place = {k: i for i, k in enumerate(keys)}
    within = [s for s in _ALL if place.keys() >= set(s.keys)]
    if not within:
        return None
    sums = []
    for s in within:
        left, right = tuple(place[k] for k in s.left), tuple(place[k] for k in s.right)
        sums.append((left, right, max(left + right)))
    return Chooser(frozenset(s.rule for s in within), tuple(sums), len(keys))


def weighed_beyond(keys: tuple[str, ...]) -> bool:
    """Whether sums beyond the row of ``keys`` involve it (part 三's column identities), so
    that they can weigh its readings with the other rows' (``confirm``)."""
    own = set(keys)
    return any(not own.issuperset(s.keys) for k in keys for s in _INVOLVING.get(k, ()))


@dataclass
class Cut:
    """A row's cut that its own identity chose: a proposal until other identities confirm it."""

    part: str
    label: str
    keys: tuple[str, ...]
    values: list[int | None]  # None: a blank the crawl dropped
    printed: str
    chosen_by: frozenset[str]  # the rules of the sums that chose it; empty: the digits alone


@dataclass
class Open:
    """A part 三 row that several cuts fit, each summing to the row's total: which one is
    printed is for the column identities to say (``confirm``)."""

    label: str
    keys: tuple[str, ...]
    options: list[list[int | None]]
    spans: list[list[tuple[int, int]]]  # per option, where each of its values is printed
    printed: str
    finding: Finding  # the reader's: several cuts fit; withdrawn once the row is placed
    chosen_by: frozenset[str]  # the rules of the sums within the row, that admitted each option


@dataclass
class Confirmation:
    """What ``confirm`` concluded: its findings, the rows confirmed whole per part, the open
    rows it placed (their reader findings are withdrawn) and the keys it placed."""

    findings: list[Finding]
    confirmed: dict[str, int]
    settled: list[Finding]
    placed: set[str]


def _holds(identity: Identity, values: Mapping[str, Value]) -> bool:
    left, right = identity.sides(values)
    return abs(left - right) < 1e-9


_JOINT = 256  # joint readings of the open rows kept at most; beyond, they stay undecided
_STEPS = 20_000  # steps of one search for them; beyond, likewise


class _Verdicts:
    """Each identity's verdict — holds, breaks, or ``None`` (unknown) — on the known values
    and the open rows' readings. An identity that names an open row's undecided cell judges
    it as the *other* identities decide it: over the joint readings that no other identity
    breaks, the cells it names must read the same, and it holds or breaks on them. So an
    identity never confirms the reading it chose."""

    def __init__(self, values: Mapping[str, Value], rows: list[Open]) -> None:
        self.values = values
        # An identity cannot tell a blank from a 0: readings that add the same to every
        # column are one class, weighed once.
        self.classes: list[list[list[int]]] = []  # per row, per class, its readings' indices
        self.sums: list[list[tuple[int, ...]]] = []
        for row in rows:
            seen: dict[tuple[int, ...], list[int]] = {}
            for i, option in enumerate(row.options):
                seen.setdefault(tuple(v or 0 for v in option), []).append(i)
            self.classes.append(list(seen.values()))
            self.sums.append(list(seen))
        self.free: dict[str, tuple[int, int]] = {}  # a cell the classes disagree on: row, column
        for n, (row, added) in enumerate(zip(rows, self.sums, strict=True)):
            for i, key in enumerate(row.keys):
                if len({a[i] for a in added}) > 1:
                    self.free[key] = (n, i)
        # The identities that weigh the open rows: what the known cells add to each
        # (left minus right), and what each row's classes add.
        self.weighing: dict[int, tuple[float, dict[int, list[float]]]] = {}
        for identity in _ALL if self.free else ():
            weighed = self._weigh(identity)
            if weighed is not None:
                self.weighing[id(identity)] = weighed
        self.cache: dict[int, bool | None] = {}
        self.searched: dict[int, list[tuple[int, ...]] | None] = {}

    def _weigh(self, identity: Identity) -> tuple[float, dict[int, list[float]]] | None:
        base, rows = 0.0, {}
        for sign, keys in ((1, identity.left), (-1, identity.right)):
            for key in keys:
                if key in self.free:
                    n, i = self.free[key]
                    adds = rows.setdefault(n, [0.0] * len(self.sums[n]))
                    for k, added in enumerate(self.sums[n]):
                        adds[k] += sign * added[i]
                elif key in self.values:
                    base += sign * (self.values[key] or 0)
                else:
                    return None  # a cell nobody could read: the identity weighs nothing
        return (base, rows) if rows else None

    def readings_without(self, identity: Identity | None) -> list[tuple[int, ...]] | None:
        """The joint readings (a class per open row) that no identity but ``identity``
        breaks; ``None`` when there are more than can be weighed. A search over the rows in
        order, cut short where an identity's remaining rows cannot bring it to balance."""
        if id(identity) in self.searched:
            return self.searched[id(identity)]
        count = len(self.sums)
        checks = [w for i, w in self.weighing.items() if i != id(identity)]
        totals = [base for base, _ in checks]
        # Per row, the checks it adds to: what each class adds, and the least and most the
        # rows after it can still add.
        touching: list[list[tuple[int, list[float], float, float]]] = [[] for _ in range(count)]
        for c, (_, rows) in enumerate(checks):
            low = high = 0.0
            for n in range(count - 1, -1, -1):
                if n in rows:
                    touching[n].append((c, rows[n], low, high))
                    low, high = low + min(rows[n]), high + max(rows[n])
            if not low - 1e-9 <= -totals[c] <= high + 1e-9:
                self.searched[id(identity)] = []
                return []
        found: list[tuple[int, ...]] = []
        steps = 0

        def walk(joint: tuple[int, ...]) -> bool:
            nonlocal steps
            n = len(joint)
            if n == count:
                found.append(joint)
                return len(found) <= _JOINT
            for k in range(len(self.sums[n])):
                steps += 1
                if steps > _STEPS:
                    return False
                fits = all(
                    low - 1e-9 <= -(totals[c] + adds[k]) <= high + 1e-9
                    for c, adds, low, high in touching[n]
                )
                if not fits:
                    continue
                for c, adds, _, _ in touching[n]:
                    totals[c] += adds[k]
                deeper = walk((*joint, k))
                for c, adds, _, _ in touching[n]:
                    totals[c] -= adds[k]
                if not deeper:
                    return False
            return True

        result = found if walk(()) else None
        self.searched[id(identity)] = result
        return result

    def __call__(self, identity: Identity) -> bool | None:
        verdict = self.cache.get(id(identity), self)  # ``self``: not judged yet
        if verdict is self:
            verdict = self.cache[id(identity)] = self._judge(identity)
        return verdict

    def _judge(self, identity: Identity) -> bool | None:
        if not any(k in self.free for k in identity.keys):
            known = all(k in self.values for k in identity.keys)
            return _holds(identity, self.values) if known else None
        weighed = self.weighing.get(id(identity))
        if weighed is None:
            return None
        base, rows = weighed
        kept = self.readings_without(identity) or []
        seen = {sum(adds[j[n]] for n, adds in rows.items()) for j in kept}
        return abs(base + seen.pop()) < 1e-9 if len(seen) == 1 else None


def confirm(
    cuts_: list[Cut],
    open_rows: list[Open],
    candidates: dict[str, Candidate],
    sums: Mapping[str, int],
    dropped_are_blank: bool = True,
) -> Confirmation:
    """Place the cells of the open rows that the identities decide, and accept each
    reading — proposed or placed — that identities which did not choose it confirm whole
    (see the module's docstring); the rest stay in review with a finding. A reading with
    cells left blank is accepted only where the text drops blank cells and nothing else
    (``dropped_are_blank``: not an OCR line, which may have missed a 0). Certainty another
    witness gave a cut value (an LLM reading the same run-together digits) is not
    independent and is withdrawn. ``sums`` holds what unplaced cells add to a sum whatever
    their reading (a row of zeros with blanks dropped adds 0 to every column)."""
    if not cuts_ and not open_rows:
        return Confirmation([], {}, [], set())
    values = _weighed_values(cuts_, open_rows, candidates, sums)
    # An open row another witness placed is that witness's, for the checks to judge.
    rows = [r for r in open_rows if all(candidates[k].span is None for k in r.keys)]
    verdict = _Verdicts(values, rows)
    placed, settled, left = _place_open_rows(rows, verdict, candidates)
    findings: list[Finding] = []
    confirmed: dict[str, int] = {}
    for cut in [*cuts_, *placed]:
        ours = [candidates.get(k) for k in cut.keys]
        if any(c is None or c.value != v for c, v in zip(ours, cut.values, strict=True)):
            continue  # another witness disputes the cut: its finding keeps the row in review
        whole, broken = _judged(cut, verdict)
        missed = not dropped_are_blank and None in cut.values
        whole &= not missed
        # A reading is one piece of evidence: confirmed whole or not at all. A wrong reading
        # differs from the printed cells in two or more places; where one of them cannot be
        # checked, the cells that can may fit only because the wrong reading happens to mend
        # the publisher's own error, or read 0 where the crawl dropped a blank.
        for candidate in ours:
            candidate.certain = whole
        if whole:
            confirmed[cut.part] = confirmed.get(cut.part, 0) + 1
        else:
            was_placed = any(cut is p for p in placed)
            findings.append(_unconfirmed(cut, broken, missed, was_placed))
    placed_keys = {k for cut in placed for k in cut.keys}
    return Confirmation(left + findings, confirmed, settled, placed_keys)


def _weighed_values(
    cuts_: list[Cut],
    open_rows: list[Open],
    candidates: dict[str, Candidate],
    sums: Mapping[str, int],
) -> dict[str, Value]:
    """The values the identities weigh: what unplaced cells add whatever their reading, what
    all of an open row's readings agree on, the certain candidates and the proposed cuts."""
    values: dict[str, Value] = dict(sums)
    for row in open_rows:  # what all of an open row's readings agree on adds the same
        for i, key in enumerate(row.keys):
            if len({(o[i] or 0) for o in row.options}) == 1:
                values[key] = row.options[0][i]
    for key, candidate in candidates.items():
        if candidate.certain:
            values[key] = candidate.value
    for cut in cuts_:
        values.update(zip(cut.keys, cut.values, strict=True))
    return values


def _place_open_rows(
    rows: list[Open], verdict: _Verdicts, candidates: dict[str, Candidate]
) -> tuple[list[Cut], list[Finding], list[Finding]]:
    """The cells of the open rows on which every joint reading no identity breaks agrees
    (a dropped blank's place among zeros may stay unknown while the figures around it are
    settled): each row's placed cells as a cut for ``confirm`` to judge, the reader findings
    they settle, and what stays of a partly placed row's finding."""
    placed: list[Cut] = []
    settled: list[Finding] = []
    left: list[Finding] = []
    kept = verdict.readings_without(None) or []
    for n, row in enumerate(rows):
        classes = {joint[n] for joint in kept}
        readings = sorted(i for c in classes for i in verdict.classes[n][c])
        if not readings:
            continue  # no reading fits the identities: the reader's finding stands
        at = readings[0]
        keys = [
            k for i, k in enumerate(row.keys) if len({row.options[a][i] for a in readings}) == 1
        ]
        if not keys:
            continue
        for i, key in enumerate(row.keys):
            if key in keys:
                candidates[key] = Candidate(key, row.options[at][i], row.spans[at][i], True)
        cells = [v for k, v in zip(row.keys, row.options[at], strict=True) if k in keys]
        part = row.keys[0].split(".", 1)[0]
        placed.append(Cut(part, row.label, tuple(keys), cells, row.printed, row.chosen_by))
        settled.append(row.finding)
        rest = [k for k in row.keys if k not in keys]
        if rest:
            left.append(Finding(row.finding.rule, rest, row.finding.message))
    return placed, settled, left


def _judged(cut: Cut, verdict: _Verdicts) -> tuple[bool, bool]:
    """Whether the identities that did not choose ``cut`` confirm every cell of it (each
    cell needs one beyond its own row that holds, where there is one) and whether any of
    them breaks."""
    whole, broken = True, False
    within = _within(cut.keys)
    for key in cut.keys:
        said = [
            (verdict(i), id(i) in within)
            for i in _INVOLVING.get(key, ())
            if i.rule not in cut.chosen_by
        ]
        # Beyond the row: part 三's column identities; part 四 has only its own totals.
        beyond = [v for v, within in said if not within] or [v for v, _ in said]
        held = all(v is not False for v, _ in said)
        whole &= held and any(beyond)
        broken |= not held
    return whole, broken


@lru_cache(maxsize=256)
def _within(keys: tuple[str, ...]) -> frozenset[int]:
    """The sums (by ``id``) all of whose cells are among ``keys``."""
    own = set(keys)
    return frozenset(id(i) for k in keys for i in _INVOLVING.get(k, ()) if own.issuperset(i.keys))


def _unconfirmed(cut: Cut, broken: bool, missed: bool, was_placed: bool) -> Finding:
    """The finding that keeps a reading the identities did not confirm in review: how it
    was read and why it is not confirmed."""
    if broken:
        why = "但验证它的勾稽关系不成立（报告本身可能有误，也可能漏掉了空白单元格）"
    elif missed:
        why = "但识读出的数少于单元格，缺的可能是漏识的数而不是空白"
    elif cut.chosen_by and not weighed_beyond(cut.keys):
        why = "没有别的勾稽关系可以验证"
    else:
        why = "验证它的勾稽关系缺少数据"
    how = "只有一种拆分" if not cut.chosen_by else "按本行的勾稽关系只有一种拆分"
    if was_placed:
        how = "有多种拆分，各列的勾稽关系只容许这一种"
    return Finding(
        f"{cut.part}.run_together",
        list(cut.keys),
        f"「{cut.label}」的数字粘连为「{cut.printed}」，{how}："
        f"{'、'.join(map(show, cut.values))}，{why}，请核对",
    )
