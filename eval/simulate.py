"""The run-together simulation: how often does gouji accept a wrong value from a crawl?

``splits`` accepts a cut of run-together digits only when identities that did not choose it
confirm it. This measures the risk of that rule before anyone trusts it: many random tables,
rendered the way crawlers flatten them (the generator's ``crawl`` layout), and made hard on
purpose —

* figures far denser than real reports' (most cells nonzero, many of several digits, so
  rows have several cuts and cuts can be wrong);
* publisher errors in a third of the tables: a total, a cell or a whole column total off,
  so the printed figures break identities the way real reports do;
* dropped blanks in a third: zero cells printed blank and lost, shifting the digits, and
  whole rows left blank in another third;
* spaces here and there between cells, each table its own habit.

A space is read as a border between cells, as in every layout: a space a crawler put
*inside* a number (``1 4`` for 14) makes the text itself say something else, and no reading
of that text can tell; such pages are outside what this measures.

Each table's gold is what it prints. A *false accept* is an accepted value that differs from
it; the count must be 0. ``gouji eval`` runs it as the ``simulation`` set and prints it;
``python -m gouji_eval.simulate`` reads more pages beyond those.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from gouji.identities import RELATION
from gouji.model import show
from gouji.running.pipeline import extract_file
from gouji.status import FieldStatus
from gouji.template import (
    FIELD_KEYS,
    S2_ROWS,
    S3_COLUMNS,
    S3_RESULT_ROWS,
    S3_ROWS,
)

from .generate import Report, add_up, generate, satisfied, write
from .score import same

SIMULATION_COUNT = 2000
SIMULATION_SEED = 1_000_000

_SMALL = (0, 0, 1, 1, 2, 3, 5, 9, 10, 11, 12, 20, 21, 100, 101)


def draw(rng: random.Random) -> dict[str, int | float | str]:
    """Figures that satisfy every identity, much denser than real reports' and chosen to
    make digit strings that can be cut in several ways (1, 10, 11, 101, …); then, now and
    then, a publisher error and zero cells printed blank (``""``)."""
    f: dict[str, int | float | str] = {}
    for name in ("rules", "normative"):
        issued, repealed = rng.choice(_SMALL), rng.choice(_SMALL[:10])
        f[f"s2.{name}.issued"], f[f"s2.{name}.repealed"] = issued, repealed
        f[f"s2.{name}.in_force"] = issued + rng.choice(_SMALL)
    for key in ("s2.licensing", "s2.punishment", "s2.coercion"):
        f[key] = rng.choice(_SMALL)
    f["s2.fees"] = rng.choice([0, 1.5, 10.25, 100])
    weights = [rng.random() for _ in S3_RESULT_ROWS]
    for c in S3_COLUMNS[:-1]:
        new, carried = rng.choice(_SMALL), rng.choice(_SMALL[:8])
        forward = min(new + carried, rng.choice(_SMALL[:8]))
        processed = new + carried - forward
        f[f"s3.new_received.{c}"], f[f"s3.carried_over.{c}"] = new, carried
        f[f"s3.carried_forward.{c}"], f[f"s3.total_processed.{c}"] = forward, processed
        counts = [0] * len(S3_RESULT_ROWS)
        for _ in range(processed):
            counts[rng.choices(range(len(counts)), weights)[0]] += 1
        for row, count in zip(S3_RESULT_ROWS, counts, strict=True):
            f[f"s3.{row}.{c}"] = count
    add_up(f, RELATION["s3.row_total"].sums)
    for group in RELATION["s4.total"].sums:
        f.update({k: rng.choice(_SMALL[:10]) for k in group.right})
        add_up(f, [group])
    satisfied(f)
    if rng.random() < 1 / 3:
        _break(rng, f)
    if rng.random() < 1 / 3:
        # Zero cells printed blank, which a crawl drops: the digits after them shift.
        prose = {"s2.fees", "s3.new_received.total", "s4.review.total"}  # the prose states them
        zeros = [k for k, v in f.items() if v == 0 and k not in prose]
        for key in rng.sample(zeros, min(len(zeros), rng.randint(1, 8))):
            f[key] = ""
    return f


def _break(rng: random.Random, f: dict) -> None:
    """A publisher error: one printed figure that its identities do not bear out."""
    kind = rng.choice(["total", "cell", "column", "s2"])
    if kind == "total":
        key = f"s3.{rng.choice(S3_ROWS).name}.total"
    elif kind == "cell":
        key = f"s3.{rng.choice(S3_ROWS).name}.{rng.choice(S3_COLUMNS[:-1])}"
    elif kind == "column":
        key = f"s3.total_processed.{rng.choice(S3_COLUMNS)}"
    else:
        key = f"s2.{rng.choice(S2_ROWS[:2]).name}.in_force"
    f[key] = max(0, f[key] + rng.choice([-1, 1, 9, 10, 100]))


def report(index: int) -> Report:
    """The ``index``-th table of the simulation, as a crawled page with its gold."""
    seed = SIMULATION_SEED + index
    rng = random.Random(seed)
    # The generator's own blanks on top: whole rows left blank, as reports leave them.
    variants = ("blanks",) if rng.random() < 1 / 3 else ()
    return generate(seed, "crawl", variants, inject_error=False, draw=draw)


def reports(folder: Path, count: int = SIMULATION_COUNT) -> Iterator[Report]:
    """``count`` simulated pages written into ``folder``."""
    for index in range(count):
        page = report(index)
        write(page, folder)
        yield page


def judge(index: int) -> tuple[int, list[tuple[int, str, object, object]]]:
    """The ``index``-th page read as ``gouji extract`` reads it: how many of its fields were
    accepted, and each accepted value that is wrong (page, key, read, printed)."""
    page = report(index)
    with tempfile.TemporaryDirectory() as folder:
        write(page, folder)
        record = extract_file(Path(folder) / (page.name + page.suffix))
    accepted = [k for k in FIELD_KEYS if record["field_status"][k] == FieldStatus.ACCEPTED]
    wrong = [
        (index, k, record["fields"][k], page.gold["fields"][k])
        for k in accepted
        if not same(record["fields"][k], page.gold["fields"][k])
    ]
    return len(accepted), wrong


def main(argv: list[str] | None = None) -> int:
    """Run the simulation beyond the eval's pages: ``python -m gouji_eval.simulate``."""
    parser = argparse.ArgumentParser(
        description="粘连数字模拟：读更多张模拟表，数被接受却错了的值（必须为 0）。"
    )
    parser.add_argument(
        "--start", type=int, default=SIMULATION_COUNT, help="从第几张起（默认接着评测集之后）"
    )
    parser.add_argument("--count", type=int, default=10_000, help="读多少张")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="进程数")
    args = parser.parse_args(argv)
    pages = range(args.start, args.start + args.count)
    accepted, wrong = 0, []
    with ProcessPoolExecutor(args.workers) as pool:
        for taken, errors in pool.map(judge, pages, chunksize=16):
            accepted += taken
            wrong += errors
    fields = len(pages) * len(FIELD_KEYS)
    print(
        f"粘连数字模拟：第 {pages.start}–{pages.stop - 1} 张，{fields} 个字段，"
        f"自动接受 {accepted / fields:.2%}，接受了错误的值 {len(wrong)} 个（必须为 0）"
    )
    for index, key, read, printed in wrong:
        print(f"  第 {index} 张 {key}：读作 {show(read)}，印的是 {show(printed)}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
