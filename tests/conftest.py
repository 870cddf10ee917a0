"""Shared fixtures: the ../shared materials (``$GOUJI_SHARED`` moves them; read at run time,
never copied) and helpers. What a fixture changes in the environment is put back after it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from gouji.running.pipeline import extract_file
from gouji_eval.gold import shared_dir

SHARED = shared_dir()  # $GOUJI_SHARED, else ../shared beside the repository
# The real PDFs the eval's scanned set and the OCR tests scan.
SCANNED = ("hongze_2023", "hongze_2024", "huaian_2024")


# A crawler's header above a page's text (``gouji.inputs.crawl`` reads and blanks it).
CRAWL_HEADER = (
    "标题: 某县交通运输局2023年度政府信息公开工作年度报告\n"
    "发布时间: 2024-01-31 08:28\n文号: \n发布机构: \n栏目: 政府信息公开年报\n"
    "原文链接: https://www.example.gov.cn/zwgk/202401/t20240131_1.htm\n"
    "==================== 正文 ====================\n"
)


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"{path} is not here ($GOUJI_SHARED or ../shared, read at run time, never copied)"
        )
    return path


def gold(stem: str) -> dict:
    return json.loads(shared_path("gold", f"{stem}.json").read_text(encoding="utf-8"))


def write_years(folder: Path, years) -> None:
    """Reports of one agency (白鹭湾区人民政府), one a year: (name, year, generator seed)
    each, written as ``<name>_<year>.txt``; a generated report's carried-over figures do not
    match last year's, so each hand-over breaks (``cross_year.carried``)."""
    from gouji_eval.generate import generate

    folder.mkdir(parents=True, exist_ok=True)
    for name, year, seed in years:
        report = generate(seed, layout="tab_rows", variants=(), inject_error=False)
        text = report.text.replace(report.gold["meta.agency"], "白鹭湾区人民政府")
        text = text.replace(f"{report.gold['meta.year']}年", f"{year}年")
        (folder / f"{name}_{year}.txt").write_text(text, encoding="utf-8")


def table_rows(url: str, name: str) -> list[dict]:
    """A store table's rows as the database holds them (not as the store reads them)."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(url)
    tables = MetaData()
    tables.reflect(engine, only=[name])
    with engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(select(tables.tables[name])).mappings()]
    engine.dispose()
    return rows


def store_rows(url: str) -> dict[str, list]:
    """Every row of a store's record tables, by document path instead of ids, so two stores
    can be compared."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(url)
    tables = MetaData()
    tables.reflect(engine)
    rows = {}
    with engine.connect() as conn:
        paths = dict(conn.execute(select(tables.tables["documents"].c["id", "path"])).all())
        for name in ("documents", "field_values", "candidates", "findings", "review_items"):
            table = tables.tables[name]
            drop = {"id", "document_id", "run_id", "updated_at", "held_until", "created_at"}
            found = []
            for row in conn.execute(select(table)).mappings():
                kept = {k: v for k, v in row.items() if k not in drop}
                kept["path"] = paths[row["id"] if name == "documents" else row["document_id"]]
                found.append(json.dumps(kept, sort_keys=True, ensure_ascii=False, default=str))
            rows[name] = sorted(found)
    engine.dispose()
    return rows


@pytest.fixture
def extract_text(tmp_path):
    """Write ``text`` to a file and extract it, as ``gouji extract`` would."""

    def run(text: str | bytes, name: str = "report.txt") -> dict:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return extract_file(path)

    return run


@pytest.fixture(scope="session", autouse=True)
def _ocr_page_cache(tmp_path_factory):
    """One OCR page cache for the whole session (never the developer's own): a scan is
    read by the engine once, by whichever test or eval run meets it first; the scans
    built from the shared PDFs likewise. The developer's own settings are back when the
    session ends."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOUJI_OCR_CACHE", str(tmp_path_factory.mktemp("ocr-cache")))
        patch.setenv("GOUJI_SCANS_DIR", str(tmp_path_factory.mktemp("scans")))
        yield


@pytest.fixture(scope="session")
def scans(tmp_path_factory) -> dict[tuple[str, str, int], Path]:
    """The real PDFs scanned at run time, once a session, as the eval's ``scanned`` set
    scans them (and into the folder it reads them from): (stem, recipe, dpi) → scan."""
    from gouji_eval.scans import scan_all

    sources = [shared_path("realdocs", f"{stem}.pdf") for stem in SCANNED]
    folder = Path(os.environ["GOUJI_SCANS_DIR"])
    return {(s.source.stem, s.recipe, s.dpi): s.path for s in scan_all(sources, folder)}


def scan_of(scans: dict[tuple[str, str, int], Path], stem: str, recipe: str) -> Path:
    """The session's scan of ``stem`` in ``recipe``, at whatever resolution the sample gave it."""
    return next(path for (s, r, _), path in scans.items() if (s, r) == (stem, recipe))


@pytest.fixture(autouse=True)
def _no_llm_from_the_environment(monkeypatch):
    """Tests never reach a real endpoint, whatever the developer's shell exports."""
    for name in ("GOUJI_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "GOUJI_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def llm_server():
    from gouji_eval.llm_server import ScriptedLLM

    server = ScriptedLLM().start()
    yield server
    server.stop()


@pytest.fixture
def llm_client(llm_server, tmp_path):
    """A real openai client pointed at the scripted local server."""
    from gouji.witness.llm import LLMClient, LLMSettings

    clients = []

    def make(mode: str = "tools", **overrides) -> LLMClient:
        settings = LLMSettings(
            model="test-model",
            base_url=llm_server.base_url,
            api_key="test",
            mode=mode,
            cache_dir=tmp_path / "cache",
            timeout=5,
            backoff_base=0.01,
            backoff_cap=0.05,
        )
        for name, value in overrides.items():
            setattr(settings, name, value)
        client = LLMClient(settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _postgres_bin() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, or Debian's versioned directory."""
    if shutil.which("initdb"):
        return Path(shutil.which("initdb")).parent
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server on 127.0.0.1 for the session (``.ci/run`` installs
    Debian's server); its URL without a database name."""
    pytest.importorskip("psycopg", reason="psycopg comes with the cluster extra")
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries are not installed")
    # Not under pytest's temporary folder, which only root may enter.
    root = Path(tempfile.mkdtemp(prefix="gouji-postgres-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]

    def run(*args) -> None:
        subprocess.run([*as_owner, *map(str, args)], check=True, capture_output=True)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = root / "data"
    run(bindir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
        "--locale=C", "--no-sync")  # fmt: skip
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(bindir / "pg_ctl", "-D", data, "-l", root / "log", "-o", options, "-w", "start")
    yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    run(bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A fresh, empty database on each backend the store supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    from sqlalchemy import create_engine, text

    server = request.getfixturevalue("postgres_server")
    name = f"gouji_{uuid.uuid4().hex[:12]}"
    engine = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return f"{server}/{name}"


@pytest.fixture
def review_db(store_url, tmp_path):
    """A store holding extractions with items to review: a seed (all accepted), a generated
    report with a publisher error, and a real PDF text with floating rows."""
    from gouji.storage.store import Store
    from gouji_eval.generate import generate

    report = generate(5, layout="tab_rows", variants=(), inject_error=True)
    generated = tmp_path / (report.name + report.suffix)
    generated.write_text(report.text, encoding="utf-8")
    store = Store(store_url)
    paths = [
        shared_path("seeds", "002_58d1e0dbcfc9fbf4.txt"),
        generated,
        shared_path("realdocs", "hongze_2023.pdfplumber.txt"),
    ]
    for path in paths:
        store.save_record(extract_file(path))
    store.generated_gold = report.gold  # what the generated report really says
    yield store
    store.close()


@pytest.fixture
def queue(review_db):
    """The review queue of ``review_db``."""
    from gouji.storage.review import Review

    return Review(review_db)
