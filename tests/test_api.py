"""The public API: what ``import gouji`` offers is small and pinned."""

import json
import subprocess
import sys
from pathlib import Path

import gouji

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_all_is_pinned():
    assert sorted(gouji.__all__) == sorted(
        [
            "FIELD_KEYS",
            "BinaryInput",
            "EmptyInput",
            "GoujiError",
            "InputError",
            "InputTooLarge",
            "LLMBudgetExceeded",
            "LLMError",
            "LLMSchemaError",
            "LLMTransportError",
            "LLMTruncated",
            "NoTextLayer",
            "NotAReport",
            "OcrUnavailable",
            "Record",
            "Format",
            "SourceText",
            "Settings",
            "SettingsError",
            "UndecodableInput",
            "UnsupportedFormat",
            "__version__",
            "extract_file",
            "iter_documents",
        ]
    )
    assert all(hasattr(gouji, name) for name in gouji.__all__)


def test_one_exception_tree():
    errors = [getattr(gouji, n) for n in gouji.__all__ if n.endswith(("Error", "Input"))]
    errors += [gouji.InputTooLarge, gouji.NoTextLayer, gouji.NotAReport, gouji.LLMTruncated]
    errors += [gouji.LLMBudgetExceeded]
    assert all(issubclass(e, gouji.GoujiError) for e in errors)
    assert issubclass(gouji.NoTextLayer, gouji.InputError)
    assert issubclass(gouji.LLMTransportError, gouji.LLMError)
    assert not issubclass(gouji.LLMError, gouji.InputError)
    assert issubclass(gouji.SettingsError, gouji.GoujiError)
    assert str(gouji.EmptyInput("文件为空")) == "input.empty: 文件为空"


def test_extract_file_and_iter_documents_from_the_top_level():
    paths = list(gouji.iter_documents([EXAMPLES]))
    assert [p.name for p in paths][:2] == ["gen_00011_cell_tab.txt", "gen_00012_tab_rows.txt"]
    assert not any(p.suffix == ".json" for p in paths)
    record = gouji.extract_file(EXAMPLES / "gen_00012_tab_rows.txt")
    assert record["status"] == "ok"
    assert set(record) >= set(gouji.Record.__annotations__) - {"settings"}
    expected = json.loads((EXAMPLES / "gen_00012_tab_rows.json").read_text(encoding="utf-8"))
    accepted = [k for k, s in record["field_status"].items() if s == "accepted"]
    assert accepted and all(record["fields"][k] == expected["fields"][k] for k in accepted)
    assert len(record["fields"]) == len(gouji.FIELD_KEYS) == 200


def test_installed_under_the_product_name():
    """``pip install`` gives ``gouji`` (the folder ``extractor/`` is mapped to it), and the
    console script runs ``gouji.cli``."""
    from importlib.metadata import distribution

    scripts = {e.name: e.value for e in distribution("gouji").entry_points}
    assert scripts["gouji"] == "gouji.cli:cli"
    result = subprocess.run(
        [sys.executable, "-c", "import gouji.cli, sys; print('extractor' in sys.modules)"],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert result.stdout.strip() == "False", result.stderr
