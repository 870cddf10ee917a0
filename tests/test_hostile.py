"""The worst files beside good reports (issue 25's "done when", made small: the bombs are
built at test time and the bounds set low): every file gets a record, the good reports are
read as on their own, and a resumed run reads nothing again."""

import json
import subprocess
import sys

from gouji.running.pipeline import extract_file
from gouji_eval import hostile
from gouji_eval.generate import generate, write

# What a bound may say about a bomb: the run's own (time, memory), or the reader's own bound
# that stops it sooner.
BOUNDS = {
    "input.timeout",
    "input.out_of_memory",
    "input.too_many_pages",
    "input.too_many_pixels",
    "input.too_large_inflated",
    "input.too_many_cells",
}


def _records(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_hostile_files_each_get_a_record_and_the_good_ones_read_as_before(tmp_path):
    folder = tmp_path / "reports"
    what = hostile.write(folder, inflated=400 << 20)
    good = []
    for seed in range(4):
        report = generate(seed, layout="tab_rows", variants=(), inject_error=False)
        write(report, folder)
        good.append(folder / (report.name + report.suffix))
    for gold in folder.glob("*.json"):
        gold.unlink()
    (tmp_path / "elsewhere.txt").write_bytes(good[0].read_bytes())
    (folder / "outside.txt").symlink_to(tmp_path / "elsewhere.txt")
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "gouji.cli", "extract", str(folder), "-o", str(out),
               "--workers", "2", "--limits", "seconds=10,memory_mib=300",
               "--failed", str(tmp_path / "failed.txt")]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stderr
    records = {r["document"].rsplit("/", 1)[-1]: r for r in _records(out)}
    assert sorted(records) == sorted([*what, "outside.txt", *(p.name for p in good)])

    for path in good:  # read as on its own, in this process
        alone = extract_file(path)
        assert records[path.name] == {**alone, "settings": records[path.name]["settings"]}
        assert records[path.name]["status"] == "ok"
    code = {name: (r["error"] or "").split(":")[0] for name, r in records.items()}
    assert code["pipe.txt"] == code["zero.txt"] == "input.not_a_file"
    assert code["outside.txt"] == "input.outside"
    assert {records[n]["status"] for n in ("pipe.txt", "zero.txt", "outside.txt")} == {"skipped"}
    assert code["sparse_30g.pdf"] == "input.too_large"
    for name in ("huge_page.pdf", "pages_20000.pdf", "frames_3000.tif", "span_bomb.html"):
        assert records[name]["status"] == "failed" and code[name] in BOUNDS, records[name]
    assert code["inflating.docx"] in BOUNDS
    if records["rows_100000.html"]["status"] == "failed":  # a long table may also just be read
        assert code["rows_100000.html"] in BOUNDS
    # The failed ones are named, and listed for a rerun; each read keeps its file's hash.
    failed = sorted(n for n, r in records.items() if r["status"] == "failed")
    assert all(f"{name}：input." in run.stderr for name in failed)
    listed = (tmp_path / "failed.txt").read_text(encoding="utf-8").splitlines()
    assert sorted(line.rsplit("/", 1)[-1] for line in listed) == failed
    assert all(records[n]["sha256"] for n in failed if n != "sparse_30g.pdf")

    again = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 1, again.stderr
    assert f"跳过已完成的 {len(records)} 份" in again.stderr
    assert {r["document"].rsplit("/", 1)[-1]: r for r in _records(out)} == records
