"""``gouji serve`` as a client meets it: a real server process on 127.0.0.1 (``--port 0``),
driven with httpx — uploads of the shared real documents compared field by field with
``gouji extract``, a reviewer's decision seen in GET, a SIGKILL mid-job resumed at the next
start, 50 uploads at once in flat memory, a public address refused without its token,
errors as JSON, callbacks that do not reach private addresses."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from gouji.cli import cli
from gouji.errors import CallbackRefused
from gouji.serving import callback
from gouji.storage.review import Decision, DecisionKind, Filter, Review, Reviewer
from gouji.storage.store import Store, shown_url
from gouji_eval.served import Served

from conftest import shared_path

TOKEN = "a-test-token-of-32-characters-xx"
DONE = ("ok", "failed", "skipped")


def _upload(client: httpx.Client, path: Path, **fields) -> httpx.Response:
    with path.open("rb") as body:
        return client.post("/v1/documents", files={"file": (path.name, body)}, data=fields)


def _wait(client: httpx.Client, ids, timeout: float = 180) -> dict[str, dict]:
    """Poll until every id is done; their records."""
    deadline = time.monotonic() + timeout
    records: dict[str, dict] = {}
    while time.monotonic() < deadline:
        for job_id in set(ids) - set(records):
            record = client.get(f"/v1/documents/{job_id}").json()
            if record["status"] in DONE:
                records[job_id] = record
        if len(records) == len(set(ids)):
            return records
        time.sleep(0.2)
    raise AssertionError(f"not done in {timeout} s: {set(ids) - set(records)}")


def _extracted(paths: list[Path], tmp_path: Path) -> dict[str, dict]:
    """``gouji extract``'s records of ``paths``, by file name."""
    out = tmp_path / "extracted.jsonl"
    CliRunner().invoke(cli, ["extract", *map(str, paths), "-o", str(out), "--quiet"])
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return {Path(r["document"]).name: r for r in records}


def _same_record(served: dict, extracted: dict) -> None:
    """Equal key by key, but for where the file lies (the server keeps its own copy)."""
    assert served["id"] == extracted["sha256"]
    assert Path(served["document"]).name == Path(extracted["document"]).name
    keys = set(extracted) - {"document"}
    assert set(served) - {"id", "document"} == keys
    for key in sorted(keys):
        assert served[key] == extracted[key], key


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server on 127.0.0.1 over a new SQLite store, with the shared real documents sent."""
    folder = tmp_path_factory.mktemp("serve")
    store = f"sqlite:///{folder / 'store.db'}"
    served = Served(["--db", store, "--uploads", str(folder / "uploads")], folder / "log")
    served.start()
    served.store, served.folder = store, folder
    with httpx.Client(base_url=served.url, timeout=60) as client:
        paths = sorted(p for p in shared_path("realdocs").iterdir() if p.is_file())
        answers = {p.name: _upload(client, p) for p in paths}
        assert {a.status_code for a in answers.values()} == {202}
        served.ids = {name: a.json()["id"] for name, a in answers.items()}
        served.records = _wait(client, served.ids.values())
    yield served
    assert served.stop() == 0


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def test_served_records_equal_extracts(server, tmp_path):
    paths = sorted(p for p in shared_path("realdocs").iterdir() if p.is_file())
    extracted = _extracted(paths, tmp_path)
    assert len(extracted) == len(server.ids) == len(paths)
    for name, job_id in server.ids.items():
        _same_record(server.records[job_id], extracted[name])
    # A report, a failed-to-be-a-report README, and their statuses as extract gives them.
    assert server.records[server.ids["huaian_2024.pdf"]]["fields"]["s3.total_processed.total"]
    assert server.records[server.ids["README.md"]]["status"] == "skipped"


def test_the_same_file_again_is_the_same_document(server, client):
    again = _upload(client, shared_path("realdocs", "huaian_2024.pdf"), title="另一个标题")
    assert again.status_code == 200
    assert again.json() == {"id": server.ids["huaian_2024.pdf"], "status": "ok", "duplicate": True}
    assert again.headers["location"] == f"/v1/documents/{server.ids['huaian_2024.pdf']}"
    # The file is kept once.
    assert len(list((server.folder / "uploads" / again.json()["id"]).iterdir())) == 1


def test_a_file_gouji_extract_stored_is_that_document_unless_its_settings_differ(
    server, client, tmp_path
):
    seeds = shared_path("seeds")
    same, other = (seeds / "000_ca43ff7fde9941af.txt", seeds / "002_58d1e0dbcfc9fbf4.txt")
    runner = CliRunner()
    args = ["extract", "--quiet", "-o", str(tmp_path / "out.jsonl"), "--db", server.store]
    assert runner.invoke(cli, [*args, str(same)]).exit_code == 0
    assert runner.invoke(cli, [*args, "--max-bytes", "4000000", str(other)]).exit_code == 0
    stored = _upload(client, same)
    assert stored.status_code == 200 and stored.json()["duplicate"] is True
    extracted = _extracted([same], tmp_path)[same.name]
    served = client.get(f"/v1/documents/{stored.json()['id']}").json()
    assert served == {"id": extracted["sha256"], **extracted}
    # Read with other settings (another size limit): read again with the server's.
    again = _upload(client, other)
    assert again.status_code == 202 and again.json()["duplicate"] is False
    record = _wait(client, [again.json()["id"]])[again.json()["id"]]
    _same_record(record, _extracted([other], tmp_path)[other.name])


def test_listing_by_agency_year_and_status(server, client):
    listed = client.get("/v1/documents", params={"agency": "洪泽", "year": 2023, "status": "ok"})
    assert listed.status_code == 200
    names = sorted(d["filename"] for d in listed.json()["documents"])
    assert names == ["hongze_2023.pdf", "hongze_2023.pdfplumber.txt"]
    assert listed.json()["total"] == 2
    skipped = client.get("/v1/documents", params={"status": "skipped"}).json()["documents"]
    assert [d["filename"] for d in skipped] == ["README.md"]
    assert skipped[0]["error"].startswith("input.not_a_report: ")
    page = client.get("/v1/documents", params={"limit": 3, "offset": 3}).json()
    assert len(page["documents"]) == 3 and page["total"] >= len(server.ids)


def test_panel_rows_come_from_the_store(server, client):
    rows = client.get("/v1/panel", params={"agency": "淮安市人民政府", "year": 2024}).json()["rows"]
    record = server.records[server.ids["huaian_2024.pdf"]]
    assert len(rows) == 1
    assert rows[0]["agency.canonical"] == "淮安市人民政府" and rows[0]["year"] == 2024
    for key in ("s3.granted.total", "s4.review.total", "s2.fees"):
        assert rows[0][key] == record["fields"][key]


def test_a_reviewers_decision_shows_in_get(server, client):
    job_id = server.ids["hongze_2023.pdf"]
    store = Store(server.store)
    try:
        document_id = next(d.id for d in store.documents() if Path(d.path).parent.name == job_id)
        queue = Review(store)
        reviewer = Reviewer("张三", "session-1")
        item = queue.holds.next_item(reviewer, Filter(document_id=document_id))
        assert item is not None
        before = client.get(f"/v1/documents/{job_id}").json()
        assert before["field_status"][item.key] == "review"
        queue.decisions.settle(reviewer, Decision(item.id, item.version, DecisionKind.TYPED, 4321))
    finally:
        store.close()
    after = client.get(f"/v1/documents/{job_id}").json()
    assert after["fields"][item.key] == 4321
    assert after["field_status"][item.key] == "reviewed"
    others = set(after["fields"]) - {item.key}
    assert {k: after["fields"][k] for k in others} == {k: before["fields"][k] for k in others}


def test_provenance_sent_with_a_file_reads_as_a_crawlers_header(client, tmp_path):
    seed = shared_path("seeds", "002_58d1e0dbcfc9fbf4.txt").read_text(encoding="utf-8")
    body = seed.replace("伊美区人民政府\n\n2022 年政府信息公开工作年度报告", "", 1)
    assert body != seed
    given = {
        "title": "伊美区人民政府2022年政府信息公开工作年度报告",
        "published": "2023-01-31",
        "url": "https://www.example.gov.cn/art/2023/1/31/1.html",
        "publisher": "伊美区人民政府办公室",
    }
    sent = tmp_path / "body.txt"
    sent.write_text(body, encoding="utf-8")
    job_id = _upload(client, sent, **given).json()["id"]
    served = _wait(client, [job_id])[job_id]
    header = "".join(
        f"{label}: {given[key]}\n"
        for label, key in (("标题", "title"), ("发布时间", "published"), ("原文链接", "url"),
                           ("发布机构", "publisher"))
    ) + "==== 正文 ====\n"  # fmt: skip
    crawled = tmp_path / "crawled.txt"
    crawled.write_text(header + body, encoding="utf-8")
    extracted = _extracted([crawled], tmp_path)["crawled.txt"]
    assert served["source"] == extracted["source"] == given
    assert served["meta"] == extracted["meta"] == {"agency": "伊美区人民政府", "year": 2022}
    assert served["fields"] == extracted["fields"]
    assert served["field_status"] == extracted["field_status"]


def test_errors_are_json_with_codes_and_chinese_messages(server, client, tmp_path):
    missing = client.get("/v1/documents/" + "0" * 64)
    assert missing.status_code == 404 and missing.json()["code"] == "api.not_found"
    assert client.get("/v2/nothing").json()["code"] == "api.not_found"
    assert client.delete("/v1/documents").json()["code"] == "api.method"
    invalid = client.get("/v1/documents", params={"year": "abc"})
    assert invalid.status_code == 422 and invalid.json() == {
        "code": "api.invalid",
        "message": "参数不正确：year",
    }
    not_a_form = client.post("/v1/documents", content=b"{}")
    assert not_a_form.status_code == 400
    assert "multipart/form-data" in not_a_form.json()["message"]
    no_file = client.post("/v1/documents", files={"title": (None, "x")})
    assert no_file.json() == {
        "code": "api.bad_request",
        "message": "缺少 file 字段（要抽取的报告文件）",
    }
    report = shared_path("realdocs", "kewei_2024.md")
    unknown = _upload(client, report, titel="typo")
    assert unknown.status_code == 400 and "titel" in unknown.json()["message"]
    refused = _upload(client, report, callback_url="http://127.0.0.1:9/hook")
    assert refused.status_code == 400 and refused.json()["code"] == "api.callback"
    assert "内网" in refused.json()["message"]
    assert not list((server.folder / "uploads" / ".incoming").iterdir())  # nothing left behind


def test_a_file_name_cannot_leave_the_upload_folder(server, client):
    body = shared_path("seeds", "000_ca43ff7fde9941af.txt").read_bytes() + b"\n"
    boundary = "b0undary"
    form = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="..\\../逃出\x07去.txt"\r\n\r\n'
        ).encode()
        + body
        + f"\r\n--{boundary}--\r\n".encode()
    )
    sent = client.post(
        "/v1/documents",
        content=form,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    record = _wait(client, [sent.json()["id"]])[sent.json()["id"]]
    kept = Path(record["document"])
    assert kept.parent == server.folder / "uploads" / sent.json()["id"]
    assert kept.name == "逃出_去.txt" and kept.is_file()


def test_docs_are_served_from_the_package(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/static-offline-docs/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/v1/documents", "/v1/documents/{document_id}", "/v1/panel"} <= set(schema["paths"])
    form = schema["paths"]["/v1/documents"]["post"]["requestBody"]["content"]
    assert "file" in form["multipart/form-data"]["schema"]["properties"]


def test_fifty_uploads_at_once_keep_the_servers_memory_flat(server, tmp_path):
    """Uploads stream to disk: 50 files of 4 MiB at once (200 MiB) barely move the server's
    resident memory (measured loosely: a server reading files whole would add 200 MiB)."""
    files = []
    for i in range(50):
        path = tmp_path / f"blob_{i:02d}.bin"
        path.write_bytes(os.urandom(4 << 20))
        files.append(path)
    rss = lambda: _rss_kib(server.process.pid)  # noqa: E731
    with httpx.Client(base_url=server.url, timeout=120) as warm:
        _upload(warm, shared_path("realdocs", "kewei_2024.md"))
    before = rss()
    peak = before
    with httpx.Client(
        base_url=server.url, timeout=120, limits=httpx.Limits(max_connections=50)
    ) as c:
        with ThreadPoolExecutor(50) as pool:
            answers = pool.map(lambda p: _upload(c, p), files)
            sampling = True

            def sample() -> None:
                nonlocal peak
                while sampling:
                    peak = max(peak, rss())
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample)
            sampler.start()
            answers = list(answers)
            sampling = False
            sampler.join()
        ids = [a.json()["id"] for a in answers]
        assert {a.status_code for a in answers} == {202} and len(set(ids)) == 50
        records = _wait(c, ids)
    assert {r["error"].split(":")[0] for r in records.values()} == {"input.format"}
    assert peak - before < 80 * 1024, (before, peak)


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])


# ---- a server on a public address --------------------------------------------------------
def test_a_public_address_needs_a_token(tmp_path):
    env = {**os.environ}
    env.pop("GOUJI_API_TOKEN", None)
    runner = CliRunner()
    refused = runner.invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "0"], env=env)
    assert refused.exit_code == 2
    assert "GOUJI_API_TOKEN" in refused.output
    short = runner.invoke(
        cli, ["serve", "--host", "0.0.0.0", "--port", "0"], env={"GOUJI_API_TOKEN": "short"}
    )
    assert short.exit_code == 2 and "太短" in short.output


@pytest.fixture(scope="module")
def public(tmp_path_factory):
    """A server on 0.0.0.0 with a token (reached here through 127.0.0.1 only), a small upload
    limit, and callbacks to this machine allowed (the test's receiver lives here)."""
    folder = tmp_path_factory.mktemp("public")
    args = ["--host", "0.0.0.0", "--db", f"sqlite:///{folder / 'store.db'}"]
    args += ["--uploads", str(folder / "uploads"), "--max-bytes", "20000"]
    args += ["--allow-private-callbacks"]
    served = Served(args, folder / "log", env={"GOUJI_API_TOKEN": TOKEN}).start()
    served.url = served.url.replace("0.0.0.0", "127.0.0.1")
    served.folder = folder
    yield served
    served.stop()
    assert TOKEN not in served.text()


def test_unauthenticated_requests_on_a_public_address_are_refused(public):
    report = shared_path("realdocs", "kewei_2024.md")
    with httpx.Client(base_url=public.url, timeout=60) as anonymous:
        for answer in (
            anonymous.get("/v1/documents"),
            _upload(anonymous, report),
            anonymous.get("/v1/panel", headers={"Authorization": "Bearer wrong-token"}),
            anonymous.get("/v1/documents", headers={"Authorization": TOKEN}),  # not Bearer
        ):
            assert answer.status_code == 401
            assert answer.json()["code"] == "api.unauthorized"
            assert answer.headers["www-authenticate"] == "Bearer"
            assert TOKEN not in answer.text
        assert not list((public.folder / "uploads").glob("*/*"))  # nothing was kept
    with httpx.Client(base_url=public.url, headers={"Authorization": f"Bearer {TOKEN}"}) as ok:
        assert ok.get("/v1/documents").status_code == 200
        assert _upload(ok, report).status_code == 202


def test_a_file_over_the_limit_is_refused_as_records_say_it(public):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=public.url, headers=auth, timeout=60) as client:
        big = _upload(client, shared_path("realdocs", "shanghai_office_2025.md"))  # 10,890 B
        assert big.status_code in (202, 200)
        too_big = _upload(client, shared_path("realdocs", "huaian_2024.pdf"))  # 412,842 B
        assert too_big.status_code == 413
        assert too_big.json() == {
            "code": "input.too_large",
            "message": "文件过大：超过上限 20000 字节（0.0 MB）",
        }
        # Sent without a length up front (chunked), it is cut off as the bytes pass the limit.
        path = shared_path("realdocs", "shuyang_fgj_2023.html")  # 111,022 B

        def chunks():
            with path.open("rb") as handle:
                yield from iter(lambda: handle.read(4096), b"")

        boundary = "gouji-test-boundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.html"\r\n'
            "Content-Type: text/html\r\n\r\n"
        ).encode()

        def form():
            yield head
            yield from chunks()
            yield f"\r\n--{boundary}--\r\n".encode()

        streamed = client.post(
            "/v1/documents",
            content=form(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert streamed.status_code == 413 and streamed.json()["code"] == "input.too_large"
    assert not list((public.folder / "uploads" / ".incoming").iterdir())


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_a_callback_brings_the_record_signed_with_the_token(public, receiver):
    port = receiver.server_address[1]
    report = shared_path("realdocs", "kewei_2024.md")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=public.url, headers=auth, timeout=60) as client:
        # The same file was sent before without a callback: asking for one now sends it.
        answer = _upload(client, report, callback_url=f"http://127.0.0.1:{port}/hook")
        job_id = answer.json()["id"]
        record = _wait(client, [job_id])[job_id]
    deadline = time.monotonic() + 30
    while not _Receiver.received and time.monotonic() < deadline:
        time.sleep(0.1)
    [(headers, body)] = _Receiver.received
    assert json.loads(body) == record
    signature = hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Gouji-Signature"] == f"sha256={signature}"


def test_callbacks_never_reach_private_addresses_unless_allowed(receiver):
    for url in (
        "http://127.0.0.1:8080/",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost/",
        "ftp://example.com/",
        "http://user:pass@example.com/",
    ):
        with pytest.raises(CallbackRefused):
            callback.check_url(url, allow_private=False)
    assert callback.check_url("https://example.com/hook", allow_private=False)
    # A name that resolves to this machine passes the first look and is refused at the call.
    port = receiver.server_address[1]
    sent = callback.post(f"http://localhost:{port}/", b"{}", allow_private=False, backoff=0)
    assert sent is False and _Receiver.received == []
    allowed = callback.post(f"http://localhost:{port}/", b"{}", allow_private=True, backoff=0)
    assert allowed is True and len(_Receiver.received) == 1


# ---- kill and resume ---------------------------------------------------------------------
def _children(pid: int) -> set[int]:
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue
        ppid = next((line.split()[1] for line in lines if line.startswith("PPid:")), None)
        if ppid == str(pid):
            found.add(int(status.parent.name))
    return found


def test_a_killed_server_resumes_its_jobs_at_start(tmp_path):
    """SIGKILL while a scanned page is being read: nothing queued or running is lost, the
    worker processes die with the server, and the next start reads every document."""
    scan = _page_scan(tmp_path)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    args = ["--db", store, "--uploads", str(tmp_path / "uploads"), "--workers", "1"]
    env = {"GOUJI_OCR_CACHE": str(tmp_path / "ocr")}  # an empty cache: the scan takes seconds
    texts = [shared_path("realdocs", n) for n in ("kewei_2024.md", "shanghai_office_2025.md")]
    served = Served(args, tmp_path / "log", env).start()
    with httpx.Client(base_url=served.url, timeout=60) as client:
        ids = [_upload(client, path).json()["id"] for path in [scan, *texts]]
        deadline = time.monotonic() + 60
        while client.get(f"/v1/documents/{ids[0]}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.5)  # into the OCR
        workers = _children(served.process.pid)
        assert client.get(f"/v1/documents/{ids[0]}").json()["status"] == "running"
    served.kill()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    engine = create_engine(store)
    with engine.connect() as conn:
        waiting = dict(conn.execute(text("SELECT id, status FROM jobs")).all())
    assert waiting[ids[0]] == "running" and set(waiting) == set(ids)
    restarted = Served(args, tmp_path / "log", env).start()
    try:
        with httpx.Client(base_url=restarted.url, timeout=60) as client:
            records = _wait(client, ids)
    finally:
        restarted.stop()
    with engine.connect() as conn:
        attempts = dict(conn.execute(text("SELECT id, attempts FROM jobs")).all())
    engine.dispose()
    assert attempts[ids[0]] == 2  # the scan was taken again after the kill
    assert records[ids[0]]["sha256"] == ids[0]
    extracted = _extracted(texts, tmp_path)
    for job_id, path in zip(ids[1:], texts, strict=True):
        _same_record(records[job_id], extracted[path.name])


def _page_scan(folder: Path) -> Path:
    """One page of a real report as an image: OCR keeps a worker busy for seconds."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(shared_path("realdocs", "hongze_2023.pdf")))
    scan = folder / "page.png"
    pdf[2].render(scale=2).to_pil().save(scan)
    pdf.close()
    return scan


def _workers(pid: int) -> set[int]:
    """The server's worker processes (the run's, each a new interpreter reading documents)."""
    return {
        child
        for child in _children(pid)
        if b"gouji.running.isolation" in Path(f"/proc/{child}/cmdline").read_bytes()
    }


def test_a_worker_that_dies_costs_its_document_a_failed_record_not_the_server(tmp_path):
    """A worker killed under a document (as the kernel's OOM killer would) is the run's to
    record, as in ``gouji extract``: that document's failed record; the server, a new worker
    and the next document go on."""
    args = ["--db", f"sqlite:///{tmp_path / 'store.db'}", "--uploads", str(tmp_path / "up")]
    env = {"GOUJI_OCR_CACHE": str(tmp_path / "ocr")}
    after = shared_path("realdocs", "kewei_2024.md")
    with (
        Served([*args, "--workers", "1"], tmp_path / "log", env) as served,
        httpx.Client(base_url=served.url, timeout=60) as client,
    ):
        job_id = _upload(client, _page_scan(tmp_path)).json()["id"]
        deadline = time.monotonic() + 60
        while client.get(f"/v1/documents/{job_id}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.5)  # into the OCR
        [worker] = _workers(served.process.pid)
        os.kill(worker, 9)
        record = _wait(client, [job_id])[job_id]
        assert record["status"] == "failed" and record["sha256"] == job_id
        assert record["error"].startswith("input.out_of_memory: ")
        next_id = _upload(client, after).json()["id"]
        assert _wait(client, [next_id])[next_id]["status"] == "ok"
        assert _workers(served.process.pid) - {worker}


def test_a_record_the_store_refuses_fails_alone(tmp_path):
    """One record the store will not take (as PostgreSQL refuses a NUL byte; here a trigger
    refuses it) becomes that document's failed record; the documents beside it are stored
    as read."""
    refused_file = shared_path("realdocs", "kewei_2024.md")
    kept_file = shared_path("realdocs", "shanghai_office_2025.md")
    refused_sha = hashlib.sha256(refused_file.read_bytes()).hexdigest()
    store = tmp_path / "store.db"
    args = ["--db", f"sqlite:///{store}", "--uploads", str(tmp_path / "up")]
    with Served(args, tmp_path / "log") as served:  # the store made and migrated
        engine = create_engine(f"sqlite:///{store}")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON documents "
                    f"WHEN NEW.sha256 = '{refused_sha}' AND NEW.status = 'ok' "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        engine.dispose()
        with httpx.Client(base_url=served.url, timeout=60) as client:
            ids = [_upload(client, path).json()["id"] for path in (refused_file, kept_file)]
            refused, kept = (_wait(client, ids)[i] for i in ids)
    assert refused["status"] == "failed" and refused["sha256"] == refused_sha
    assert refused["error"] == "internal.error: 复核库拒绝了这份记录（IntegrityError）"
    _same_record(kept, _extracted([kept_file], tmp_path)[kept_file.name])


# ---- PostgreSQL --------------------------------------------------------------------------
def test_served_on_postgresql_with_the_password_never_shown(postgres_server, tmp_path):
    name = "gouji_serve_test"
    admin = create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    # The test server trusts every login, so a password in the URL is accepted and unused.
    url = postgres_server.replace("postgres@", "postgres:s3cret-pw@") + f"/{name}"
    assert "s3cret-pw" not in shown_url(url)
    path = shared_path("realdocs", "huaian_2024.pdf")
    args = ["--db", url, "--uploads", str(tmp_path / "uploads")]
    with Served(args, tmp_path / "log") as served, httpx.Client(base_url=served.url) as client:
        job_id = _upload(client, path).json()["id"]
        record = _wait(client, [job_id])[job_id]
        for answer in (client.get("/v1/documents"), client.get("/v1/panel")):
            assert answer.status_code == 200 and "s3cret-pw" not in answer.text
    assert "s3cret-pw" not in served.text()
    _same_record(record, _extracted([path], tmp_path)[path.name])
