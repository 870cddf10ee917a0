"""The run's ledger: what a run knows of each of its files, kept on disk (a private temporary
SQLite database, deleted when it closes), so a run's memory does not grow with its batch.

Each file found (``discover.Found``) gets a row in the run's order: its path, the key that
names it across runs (``record.document_key``), its hash, why it is not to be opened (if so),
and later whether it is a copy of another file of the run (``twins``) and whether the journal
already holds it (``--resume``). The journal's lines are indexed here too while a run resumes.
Paths, and errors that name them, are kept as the file system's bytes (``os.fsencode``): a
name need not be UTF-8, and SQLite keeps bytes as they are.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..checking.record import document_key
from ..inputs import twins
from ..inputs.discover import Found

_CHUNK = 500

_SCHEMA = """
PRAGMA cache_size = -2048;
CREATE TABLE files (
    ordinal INTEGER PRIMARY KEY, path BLOB NOT NULL, key BLOB NOT NULL, sha256 TEXT,
    error BLOB, status TEXT, folder BLOB NOT NULL, stem BLOB NOT NULL, role TEXT,
    copy_of INTEGER, copy_error BLOB, done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX files_sha256 ON files (sha256, ordinal);
CREATE INDEX files_key ON files (key);
CREATE INDEX files_page ON files (folder, stem, role, ordinal);
CREATE TABLE lines (
    key BLOB PRIMARY KEY, offset INTEGER NOT NULL, length INTEGER NOT NULL, sha256 TEXT,
    current INTEGER NOT NULL
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class Entry:
    """One file of the run as the ledger gives it back. ``error`` (with ``status``): the
    record it gets without being read — refused, or a copy of ``original``."""

    path: str
    sha256: str | None
    error: str | None = None
    status: str | None = None
    original: str | None = None

    @classmethod
    def of(cls, found: Found) -> Entry:
        if found.refused is None:
            return cls(str(found.path), found.sha256)
        return cls(str(found.path), found.sha256, str(found.refused), found.status)


class Ledger:
    def __init__(self) -> None:
        # On disk, deleted when closed; used by one thread at a time (the run holds a lock).
        self._db = sqlite3.connect("", check_same_thread=False)
        self._db.executescript(_SCHEMA)
        self._count = 0

    def close(self) -> None:
        self._db.close()

    def __len__(self) -> int:
        return self._count

    def add(self, found: Found) -> None:
        path = found.path
        self._db.execute(
            "INSERT INTO files (path, key, sha256, error, status, folder, stem, role)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                os.fsencode(path),
                os.fsencode(document_key(path)),
                found.sha256,
                None if found.refused is None else os.fsencode(str(found.refused)),
                found.status,
                os.fsencode(path.parent),
                os.fsencode(path.stem.lower()),
                None if found.refused is not None else twins.role(path),
            ),
        )
        self._count += 1

    # ---- copies ------------------------------------------------------------------------
    def find_copies(self) -> None:
        """Mark each file that is a copy of another one of the run (all of them, done or
        not, as an uninterrupted run finds them): duplicates, then twins."""
        self._db.execute(
            """
            UPDATE files SET copy_of = (
                SELECT min(o.ordinal) FROM files o WHERE o.sha256 = files.sha256)
            WHERE sha256 IS NOT NULL AND ordinal > (
                SELECT min(o.ordinal) FROM files o WHERE o.sha256 = files.sha256)
            """
        )
        last = 0
        while pairs := self._db.execute(
            # Each plain page beside a rich one of its name: the rich one read instead (the
            # first of them; if that is a duplicate, the one it duplicates).
            """
            SELECT t.ordinal, t.path, coalesce(h.copy_of, h.ordinal) AS read,
                   (SELECT path FROM files WHERE ordinal = coalesce(h.copy_of, h.ordinal))
            FROM files t JOIN files h ON h.ordinal = (
                SELECT min(r.ordinal) FROM files r
                WHERE r.folder = t.folder AND r.stem = t.stem AND r.role = 'rich')
            WHERE t.role = 'flat' AND t.copy_of IS NULL AND t.ordinal > ?
            ORDER BY t.ordinal LIMIT ?
            """,
            (last, _CHUNK),
        ).fetchall():
            last = pairs[-1][0]
            for ordinal, path, read, read_path in pairs:
                error = twins.twin(Path(os.fsdecode(path)), Path(os.fsdecode(read_path)))
                if error is not None:
                    self._db.execute(
                        "UPDATE files SET copy_of = ?, copy_error = ? WHERE ordinal = ?",
                        (read, os.fsencode(error), ordinal),
                    )

    # ---- the journal of a resumed run --------------------------------------------------
    def add_line(self, key: str, offset: int, length: int, sha256: str | None, current: bool):
        """A line of the journal; a later line of the same document replaces an earlier one."""
        self._db.execute(
            "INSERT OR REPLACE INTO lines VALUES (?, ?, ?, ?, ?)",
            (os.fsencode(key), offset, length, sha256, current),
        )

    def keep_lines(self) -> tuple[int, int]:
        """Decide which lines the resumed run keeps: a document's last line, written with
        these settings, of content the run's file of that document still has; their files
        are marked done. Returns how many lines are kept and their bytes."""
        self._db.execute(
            """
            UPDATE lines SET current = 0 WHERE current AND EXISTS (
                SELECT 1 FROM files f WHERE f.key = lines.key AND f.sha256 IS NOT lines.sha256)
            """
        )
        self._db.execute(
            "UPDATE files SET done = 1 WHERE key IN (SELECT key FROM lines WHERE current)"
        )
        count, length = self._db.execute(
            "SELECT count(*), coalesce(sum(length), 0) FROM lines WHERE current"
        ).fetchone()
        return count, length

    def kept_lines(self) -> Iterator[tuple[int, int]]:
        """(offset, length) of each line kept, in the journal's order."""
        last = -1
        while rows := self._db.execute(
            "SELECT offset, length FROM lines WHERE current AND offset > ? ORDER BY offset LIMIT ?",
            (last, _CHUNK),
        ).fetchall():
            last = rows[-1][0]
            yield from rows

    # ---- what is left to do ------------------------------------------------------------
    def todo_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM files WHERE NOT done").fetchone()[0]

    def todo(self) -> Iterator[Entry]:
        """The files not done, in the run's order."""
        last = 0
        while rows := self._db.execute(
            """
            SELECT f.ordinal, f.path, f.sha256, f.error, f.status, f.copy_error, o.path
            FROM files f LEFT JOIN files o ON o.ordinal = f.copy_of
            WHERE NOT f.done AND f.ordinal > ? ORDER BY f.ordinal LIMIT ?
            """,
            (last, _CHUNK),
        ).fetchall():
            last = rows[-1][0]
            for _, path, sha256, error, status, copy_error, original in rows:
                error = None if error is None else os.fsdecode(error)
                if original is not None:
                    original = os.fsdecode(original)
                    copied = os.fsdecode(copy_error) if copy_error else twins.duplicate(original)
                    error, status = copied, "skipped"
                yield Entry(os.fsdecode(path), sha256, error, status, original)
