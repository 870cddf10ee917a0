"""Paths → the files a run reads: report files named or held in folders, each looked at before
anything opens it.

* Only regular files are opened. A named pipe would block the run forever and a device
  (``/dev/zero``) never ends, so a path that is not a regular file is skipped with its reason
  (``input.not_a_file``), and so is a link found in a folder that leads out of it
  (``input.outside``): the run reads what the folder holds, not what its links point at. A
  path named on the command line is read wherever it leads, if it is a regular file.
* The size is checked on the file's status before it is opened: a file over
  ``Limits.bytes`` fails (``input.too_large``) without a byte read, whatever its size (a
  30 GiB sparse file costs one ``stat``).
* The content hash is computed here, once per file, reading it in chunks (never whole), and
  travels with the path: duplicates, ``--resume`` and the record all use this one hash.

Which files are reports is asked in one place, ``is_report_file``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, NotAFile, OutsideFolder
from ..limits import Limits
from . import formats

CHUNK = 1 << 20

_KINDS = (
    (stat.S_ISFIFO, "命名管道"),
    (stat.S_ISCHR, "字符设备"),
    (stat.S_ISBLK, "块设备"),
    (stat.S_ISSOCK, "套接字"),
    (stat.S_ISDIR, "文件夹"),
)


def is_report_file(path: Path) -> bool:
    """Does a file found in a folder look like a report by its name? (The one place a run
    asks which formats gouji reads; the format registry answers.)"""
    return formats.find(path) is not None


@dataclass(frozen=True, slots=True)
class Found:
    """One path of a run. ``refused``: the error that stands for its record when it is not
    to be opened (``status`` ``failed`` or ``skipped``); ``sha256``: its content's hash when
    it was read."""

    path: Path
    sha256: str | None = None
    refused: InputError | None = None
    status: str = "failed"


def iter_documents(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as named, and report files found in folders (recursively, in sorted order; hidden
    folders left out)."""
    for path, _root in _walk(paths):
        yield path


def discover(paths: Iterable[str | Path], limits: Limits) -> Iterator[Found]:
    """Every path of ``iter_documents``, looked at (type, place, size) and hashed."""
    for path, root in _walk(paths):
        yield examine(path, limits, root)


def _walk(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str | None]]:
    """(path, the folder it was found in, as a real path; None for a path named)."""
    for path in map(Path, paths):
        if not path.is_dir():
            yield path, None
            continue
        root = os.path.realpath(path)
        for folder, dirs, files in os.walk(path):  # links to folders are not followed
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                candidate = Path(folder) / name
                if is_report_file(candidate):
                    yield candidate, root


def examine(path: Path, limits: Limits, root: str | None = None) -> Found:
    """One path: skipped or failed before it is opened when it is not a regular file, leads
    out of ``root`` or is too large; else hashed."""
    try:
        status = os.stat(path)  # follows a link: what would be read
    except OSError as exc:
        return Found(path, refused=InputError.unreadable(exc))
    for test, kind in _KINDS:
        if test(status.st_mode):
            return Found(
                path, refused=NotAFile(f"不是普通文件（{kind}），未读取"), status="skipped"
            )
    if root is not None and path.is_symlink():
        target = os.path.realpath(path)
        if os.path.commonpath([root, target]) != root:
            return Found(
                path,
                refused=OutsideFolder(f"链接指向所选文件夹之外（{target}），未读取"),
                status="skipped",
            )
    try:
        limits.check_bytes(status.st_size)
        return Found(path, sha256=hash_file(path, limits))
    except InputError as exc:
        return Found(path, refused=exc)
    except OSError as exc:
        return Found(path, refused=InputError.unreadable(exc))


def hash_file(path: Path, limits: Limits) -> str:
    """The file's sha256, read in chunks. Opened without blocking and checked again once
    open, so a file swapped for a pipe or grown past the limit since it was looked at is
    refused, never waited on or read whole."""
    descriptor = os.open(
        path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    )
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise NotAFile("不是普通文件，未读取")
        digest = hashlib.sha256()
        read = 0
        while chunk := file.read(CHUNK):
            read += len(chunk)
            limits.check_bytes(read)
            digest.update(chunk)
    return digest.hexdigest()
