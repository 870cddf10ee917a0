"""The store (or a JSONL of records) → one row per document in SCHEMA.md keys, each value
with its status, so nothing still in review leaves looking checked, and no null leaves
looking like a blank the report prints unless it is one; written as CSV, JSONL, Parquet or
XLSX (``write_table``, which the panel writes with too).

Report text is not trusted in a spreadsheet: a crawled ``原文链接: =cmd|…`` must not run. In
CSV and XLSX a text cell loses its control characters (which XLSX cannot hold) and one that
begins like a formula (``= + - @``, tab, carriage return) is written as text — with a leading
``'`` in CSV, as a text cell marked to stay text in XLSX. Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..checking.record import empties
from ..inputs.text import CONTROL
from ..status import FieldStatus, waiting
from ..storage.review import Review
from ..template import FIELD_KEYS, label_of

FORMATS = ("csv", "jsonl", "parquet", "xlsx")
DOCUMENT_COLUMNS = ("document", "sha256", "status", "template", "meta.agency", "meta.year")
# Wide: each key's value, then its status. Long: one line per document and key.
COLUMNS = (*DOCUMENT_COLUMNS, *(c for key in FIELD_KEYS for c in (key, f"{key}.status")))
LONG_COLUMNS = (*DOCUMENT_COLUMNS, "key", "value", "field_status", "witness")
_ZH = {
    "document": "文件",
    "sha256": "SHA256",
    "status": "状态",
    "template": "模板",
    "meta.agency": "发布机关",
    "meta.year": "年度",
    "key": "字段",
    "value": "数值",
    "field_status": "字段状态",
    "witness": "证人",
}


def header(chinese: bool, long: bool = False) -> list[str]:
    """Column names: the keys, or Chinese labels (第三部分 keys as 行·列)."""
    columns = LONG_COLUMNS if long else COLUMNS
    if not chinese:
        return list(columns)
    return [_ZH.get(c) or _zh_key(c) for c in columns]


def _zh_key(column: str) -> str:
    if column.endswith(".status"):
        return f"{label_of(column.removesuffix('.status'))}·状态（{column}）"
    return f"{label_of(column)}（{column}）"


def row(document: str, record: dict, values: dict, status: dict, witness: dict) -> dict:
    """The one export row of a document: identity and meta from its record, then per key
    its value, its status (a ``FieldStatus``: ``accepted``, ``review``, ``reviewed``,
    ``publisher_error``, or for a null nobody decided that the report does not print blank,
    ``unplaced`` or ``not_read``) and who gave the value."""
    out = {
        "document": document,
        "sha256": record["sha256"],
        "status": record["status"],
        "template": record["template"],
        "meta.agency": record["meta"]["agency"],
        "meta.year": record["meta"]["year"],
    }
    out["fields"] = {
        key: (values.get(key), status.get(key), witness.get(key)) for key in FIELD_KEYS
    }
    return out


def rows_from_records(path: Path) -> Iterator[dict]:
    """Rows from a JSONL of extraction records (values as extracted); skipped documents
    (not reports, duplicates) are left out."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record = json.loads(line)
                if record["status"] != "skipped":
                    empty = empties(record)
                    status = {
                        k: waiting(empty.get(k)) if s == FieldStatus.REVIEW else FieldStatus(s)
                        for k, s in record["field_status"].items()
                    }
                    yield row(
                        record["document"],
                        record,
                        record["fields"],
                        status,
                        record.get("field_witness") or {},
                    )


def rows_from_store(review: Review) -> Iterator[dict]:
    """Rows from the store, reviewed values replacing extracted ones, each key with its
    status in review."""
    store = review.store
    for doc in store.documents():
        if doc.status == "skipped":
            continue
        record = store.record(doc.id)
        states = review.reads.states(doc.id)
        if doc.status != "ok":
            yield row(doc.path, record, {}, states, {})
            continue
        witness = {k: f.witness for k, f in store.field_rows(doc.id).items()}
        for correction in store.audit(doc.id):
            witness[correction.key] = f"reviewer:{correction.reviewer}"
        yield row(doc.path, record, store.values(doc.id), states, witness)


def _lines(rows: Iterable[dict], long: bool) -> Iterator[list]:
    for r in rows:
        head = [r[c] for c in DOCUMENT_COLUMNS]
        if long:
            for key, (value, status, witness) in r["fields"].items():
                yield [*head, key, value, status, witness]
        else:
            yield [
                *head,
                *(v for value, status, _ in r["fields"].values() for v in (value, status)),
            ]


def write(
    rows: Iterable[dict], fmt: str, path: Path, chinese: bool = False, long: bool = False
) -> int:
    """Write the rows, wide (a status column after each value) or ``long`` (one line per
    document and key, with status and witness); returns how many documents were written."""
    documents = list(rows)
    write_table(header(chinese, long), list(_lines(documents, long)), fmt, path)
    return len(documents)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SURROGATE = re.compile("[\ud800-\udfff]")  # a file name in another encoding leaves them


def _spreadsheet_text(value: str) -> tuple[str, bool]:
    """Text as a spreadsheet may hold it, and whether it begins like a formula."""
    value = _SURROGATE.sub("\ufffd", CONTROL.sub("", value))
    return value, value.startswith(_FORMULA_START)


def _csv_cell(value):
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    text, formula = _spreadsheet_text(value)
    return "'" + text if formula else text


def _xlsx_cell(sheet, value):
    if not isinstance(value, str):
        return value
    from openpyxl.cell import WriteOnlyCell

    text, formula = _spreadsheet_text(value)
    if not formula:
        return text
    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"  # openpyxl would make "=…" a formula
    cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
    return cell


def write_table(names: list[str], table: list[list], fmt: str, path: Path) -> int:
    """Write a table under its column names in one of ``FORMATS``; returns its row count."""
    if fmt == "csv":
        # utf-8-sig so Excel opens the Chinese text correctly
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([_csv_cell(v) for v in names])
            writer.writerows([_csv_cell(v) for v in line] for line in table)
    elif fmt == "jsonl":
        with path.open("w", encoding="utf-8") as out:
            for line in table:
                out.write(
                    json.dumps(dict(zip(names, line, strict=True)), ensure_ascii=False) + "\n"
                )
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {name: [line[i] for line in table] for i, name in enumerate(names)}
        pq.write_table(pa.table(columns), path)
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("gouji")
        sheet.append([_xlsx_cell(sheet, v) for v in names])
        for line in table:
            sheet.append([_xlsx_cell(sheet, v) for v in line])
        book.save(path)
    else:
        raise ValueError(f"unknown format {fmt}")
    return len(table)
