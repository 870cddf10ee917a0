"""The store (or a JSONL of records) → one row per document, in SCHEMA.md keys."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from .store import Store
from .template import FIELD_KEYS, label_of

FORMATS = ("csv", "jsonl", "parquet", "xlsx")
COLUMNS = ("document", "sha256", "status", "template", "meta.agency", "meta.year", *FIELD_KEYS)
_ZH = {
    "document": "文件",
    "sha256": "SHA256",
    "status": "状态",
    "template": "模板",
    "meta.agency": "发布机关",
    "meta.year": "年度",
}


def header(chinese: bool) -> list[str]:
    """Column names: the keys, or Chinese labels (第三部分 keys as 行·列)."""
    if not chinese:
        return list(COLUMNS)
    return [_ZH.get(c) or f"{label_of(c)}（{c}）" for c in COLUMNS]


def row(document: str, record: dict, values: dict) -> dict:
    """One export row: the document's identity and meta from its record, then the values."""
    out = {
        "document": document,
        "sha256": record["sha256"],
        "status": record["status"],
        "template": record["template"],
        "meta.agency": record["meta"]["agency"],
        "meta.year": record["meta"]["year"],
    }
    out.update({key: values.get(key) for key in FIELD_KEYS})
    return out


def rows_from_records(path: Path) -> Iterator[dict]:
    """Rows from a JSONL of extraction records (values as extracted)."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record = json.loads(line)
                yield row(record["document"], record, record["fields"])


def rows_from_store(store: Store) -> Iterator[dict]:
    """Rows from the store, reviewed values replacing extracted ones."""
    for doc in store.documents():
        values = store.values(doc["id"]) if doc["status"] == "ok" else {}
        yield row(doc["path"], store.record(doc["id"]), values)


def write(rows: Iterable[dict], fmt: str, path: Path, chinese: bool = False) -> int:
    """Write the rows; returns how many were written."""
    return write_table(header(chinese), [[row.get(c) for c in COLUMNS] for row in rows], fmt, path)


def write_table(names: list[str], table: list[list], fmt: str, path: Path) -> int:
    """Write a table under its column names in one of ``FORMATS``; returns its row count."""
    if fmt == "csv":
        # utf-8-sig so Excel opens the Chinese text correctly
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(names)
            writer.writerows(["" if v is None else v for v in row] for row in table)
    elif fmt == "jsonl":
        with path.open("w", encoding="utf-8") as out:
            for row in table:
                out.write(json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False) + "\n")
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {name: [row[i] for row in table] for i, name in enumerate(names)}
        pq.write_table(pa.table(columns), path)
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("gouji")
        sheet.append(names)
        for row in table:
            sheet.append(row)
        book.save(path)
    else:
        raise ValueError(f"unknown format {fmt}")
    return len(table)
