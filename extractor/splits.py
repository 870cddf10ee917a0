"""Run-together digits: the ways a row's digit strings can be cut into its cells.

Flattened page text loses cell borders (``本年新收…数量640020470`` for 64 | 0 | 0 | 2 | 0 | 4 |
70). Each string is cut into one or more numbers without leading zeros, and only the cuts
that satisfy the template's identities are kept. The reader uses a cut only when exactly
one fits, and even then a person (or a second witness) confirms it.
"""

from __future__ import annotations

from collections.abc import Callable

Check = Callable[[list[int]], bool]


def cuts(
    tokens: list[str],
    n: int,
    complete: Check | None = None,
    partial: Check | None = None,
    limit: int = 4,
) -> list[list[int]]:
    """Up to ``limit`` ways to cut ``tokens`` (digit strings, in order) into ``n`` numbers.

    ``partial`` may reject a prefix early (e.g. a finished group of part 四); ``complete``
    judges a full cut."""
    found: list[list[int]] = []
    digits_left = [sum(len(t) for t in tokens[i:]) for i in range(len(tokens) + 1)]

    def walk(t: int, pos: int, acc: list[int]) -> None:
        if len(found) >= limit:
            return
        if t == len(tokens):
            if len(acc) == n and (complete is None or complete(acc)):
                found.append(list(acc))
            return
        token = tokens[t]
        for end in range(pos + 1, len(token) + 1):
            part = token[pos:end]
            if len(part) > 1 and part[0] == "0":
                break  # no cell is printed with a leading zero
            remaining = digits_left[t + 1] + len(token) - end
            tokens_after = len(tokens) - t - 1 + (1 if end < len(token) else 0)
            need = n - len(acc) - 1
            if need < tokens_after or need > remaining:
                continue
            acc.append(int(part))
            if partial is None or partial(acc):
                walk(t + 1 if end == len(token) else t, 0 if end == len(token) else end, acc)
            acc.pop()

    walk(0, 0, [])
    return found


def row_total(values: list[int]) -> bool:
    """Part 三: the 总计 column is the sum of the six applicant columns."""
    return sum(values[:-1]) == values[-1]


def groups_of_five(values: list[int]) -> bool:
    """Part 四: in each finished group, 总计 is the sum of the other four."""
    whole = len(values) - len(values) % 5
    return all(sum(values[i : i + 4]) == values[i + 4] for i in range(0, whole, 5))
