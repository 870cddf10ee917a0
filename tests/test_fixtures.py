"""The tests' own set-up: ``../shared`` is read where ``$GOUJI_SHARED`` says, as the eval
reads it (``gouji_eval.gold.shared_dir``)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_shared_documents_are_read_where_gouji_shared_says(tmp_path):
    env = {**os.environ, "GOUJI_SHARED": str(tmp_path / "elsewhere")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/test_seeds.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5 skipped" in run.stdout
    assert f"{tmp_path / 'elsewhere' / 'seeds'}/000_ca43ff7fde9941af.txt is not here" in run.stdout
