"""``gouji serve``: the HTTP API (FastAPI on uvicorn) over ``service``.

    POST /v1/documents            a report (multipart ``file``; ``url``, ``published``,
                                  ``title``, ``publisher``, ``callback_url``) → 202 and its id
    GET  /v1/documents/{id}       its record (queued, running, ok, failed, skipped)
    GET  /v1/documents            the documents sent, by agency, year and status
    GET  /v1/panel                the panel's rows (agency × year)
    GET  /docs, /openapi.json     the API's documentation, served from the package

Safe by default: it listens on 127.0.0.1; on any other address it will not start without a
token (``GOUJI_API_TOKEN``), which every ``/v1`` request must then bring as
``Authorization: Bearer …`` (compared in constant time). An upload is streamed to disk,
hashed and counted as it arrives, and refused as soon as it passes ``Limits.bytes``: a file
is never held in memory. Errors are JSON, ``{"code", "message"}``, with the codes records
use (``input.too_large``) or the API's own (``API_ERRORS``), and Chinese messages; an
internal error says nothing of its cause (the server's log has it). Neither the token nor
the store's password is ever shown.
"""

import hashlib
import hmac
import ipaddress
import logging
import re
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ..errors import CallbackRefused, InputError, InputTooLarge
from ..inputs.crawl import SOURCE_KEYS
from ..version import __version__
from . import callback
from .jobs import Upload
from .service import Service

log = logging.getLogger("gouji.serve")

# The API's own errors (a document's errors carry the records' codes, ``rules.RULES``).
API_ERRORS = {
    "api.bad_request": 400,
    "api.callback": 400,
    "api.unauthorized": 401,
    "api.not_found": 404,
    "api.method": 405,
    "api.invalid": 422,
    "internal.error": 500,
}
STATUSES = ("queued", "running", "ok", "failed", "skipped")
FIELDS = (*SOURCE_KEYS, "callback_url")  # what may come beside the file
FIELD_BYTES = 4096  # one such field, at most
FORM_OVERHEAD = 64 * 1024  # a form's boundaries, part headers and fields around the file
MIN_TOKEN = 16  # characters of a token guarding a public address
_NOT_IN_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Refused(Exception):
    """A request the API answers with an error: a code of ``API_ERRORS`` and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


# ---- binding -----------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_problem(host: str, token: str | None) -> str | None:
    """Why the server must not start on ``host`` with ``token``; None when it may."""
    if is_loopback(host):
        return None
    if not token:
        return (
            f"在 {host} 上监听会让其他机器访问到接口：请先设置环境变量 GOUJI_API_TOKEN"
            f"（至少 {MIN_TOKEN} 个字符），请求须带 Authorization: Bearer <令牌>"
        )
    if len(token) < MIN_TOKEN:
        return f"GOUJI_API_TOKEN 太短：在 {host} 上监听时至少需要 {MIN_TOKEN} 个字符"
    return None


def bind(host: str, port: int) -> socket.socket:
    """The listening socket (port 0: one the system chooses, which ``getsockname`` tells)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


# ---- receiving an upload -----------------------------------------------------------------
class _Form:
    """A multipart body parsed as it streams in: the file written to disk, hashed and
    counted on the way (refused once past ``limit``); the small fields kept."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.folder, self.limit = folder, limit
        self.fields: dict[str, str] = {}
        self.path: Path | None = None
        self.filename = ""
        self.sha256 = hashlib.sha256()
        self.size = 0
        self._out = None
        self._part: str | None = None  # the name of the part being read
        self._data = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._field, self._value = bytearray(), bytearray()

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _begin(self) -> None:
        self._headers, self._part, self._data = {}, None, bytearray()

    def _header_end(self) -> None:
        self._headers[bytes(self._field).lower()] = bytes(self._value)
        self._field, self._value = bytearray(), bytearray()

    def _headers_finished(self) -> None:
        raw = self._headers.get(b"content-disposition", b"")
        _, params = parse_options_header(raw)
        name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        if filename is None and (star := re.search(rb"filename\*=[\w-]*''([^;\s]+)", raw)):
            filename = unquote(star.group(1).decode("ascii", "replace")).encode()
        if name == "file":
            if self.path is not None:
                raise Refused("api.bad_request", "一次只能上传一个文件（file 字段只能有一个）")
            self.path = self.folder / f"{uuid.uuid4().hex}.part"
            self._out = self.path.open("xb")
            self.filename = (filename or b"").decode("utf-8", "replace")
        elif name not in FIELDS:
            raise Refused(
                "api.bad_request", f"未知的字段 {name!r}（可用：file、{'、'.join(FIELDS)}）"
            )
        self._part = name

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._part == "file":
            self.size += len(chunk)
            if self.size > self.limit:
                raise InputTooLarge(_too_large(self.limit))
            self.sha256.update(chunk)
            self._out.write(chunk)
            return
        self._data.extend(chunk)
        if len(self._data) > FIELD_BYTES:
            raise Refused("api.bad_request", f"字段 {self._part} 过长（上限 {FIELD_BYTES} 字节）")

    def _part_end(self) -> None:
        if self._part is None:
            return
        if self._part == "file":
            self._out.close()
            self._out = None
        else:
            text = _CONTROL.sub("", self._data.decode("utf-8", "replace")).strip()
            if text:
                self.fields[self._part] = text

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _too_large(limit: int) -> str:
    return f"文件过大：超过上限 {limit} 字节（{limit / 1048576:.1f} MB）"


def _safe_name(name: str) -> str:
    """The client's file name as a name in one folder (no path, no control characters);
    its suffix kept, since it names the format."""
    name = _NOT_IN_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = stem[:120] or "document"
    return f"{stem}.{suffix[:16]}" if suffix else stem


async def receive(request: Request, folder: Path, limit: int) -> tuple[_Form, Upload]:
    """Stream the request's form into ``folder``; the form (its file still at ``path``) and
    what it asks for."""
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise Refused("api.bad_request", "请以 multipart/form-data 上传，报告文件放在 file 字段")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + FORM_OVERHEAD:
        raise InputTooLarge(_too_large(limit))
    form = _Form(folder, limit)
    parser = MultipartParser(params[b"boundary"], form.callbacks())
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + FORM_OVERHEAD:  # fields sent on and on, past any file
                raise InputTooLarge(_too_large(limit))
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        form.discard()
        raise Refused("api.bad_request", "无法解析上传的表单（multipart 格式有误）") from None
    except BaseException:
        form.discard()
        raise
    if form.path is None:
        raise Refused("api.bad_request", "缺少 file 字段（要抽取的报告文件）")
    url = form.fields.get("callback_url")
    source = {k: v for k, v in form.fields.items() if k in SOURCE_KEYS}
    upload = Upload(form.sha256.hexdigest(), str(form.path), _safe_name(form.filename), source, url)
    return form, upload


# ---- the app -----------------------------------------------------------------------------
def create_app(service: Service, token: str | None = None) -> FastAPI:
    """The API over ``service``; with ``token``, every ``/v1`` request must bring it."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = FastAPIOffline(
        title="gouji（勾稽）",
        version=__version__,
        description="上传政府信息公开工作年度报告，取回逐项勾稽核对过的抽取记录。",
        lifespan=lifespan,
    )
    bearer = HTTPBearer(auto_error=False, description="环境变量 GOUJI_API_TOKEN 的值")

    # No ``from __future__ import annotations`` here: FastAPI reads these annotations at run
    # time, and they name this function's locals.
    def authorized(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if token is None:
            return
        given = credentials.credentials.encode() if credentials else b""
        if not hmac.compare_digest(given, token.encode()):
            raise Refused(
                "api.unauthorized", "缺少或错误的访问令牌：请求须带 Authorization: Bearer <令牌>"
            )

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(authorized)])
    limit = service.settings.limits.bytes

    @v1.post(
        "/documents",
        status_code=202,
        summary="上传一份报告",
        description="multipart/form-data：file 为报告文件；可附 url、published、title、publisher"
        "（爬虫所见的来源，文件自身没有写明时使用）与 callback_url（完成后以 POST 发送记录）。"
        "返回 202 与文件的 id（内容的 sha256）；同一内容已在时返回 200 与已有的 id。",
        responses={200: {"description": "同一文件已在"}, 413: {"description": "文件过大"}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                **{name: {"type": "string"} for name in FIELDS},
                            },
                        }
                    }
                },
            }
        },
    )
    async def submit(request: Request) -> JSONResponse:
        form, upload = await receive(request, service.incoming, limit)
        try:
            if upload.callback_url:
                callback.check_url(upload.callback_url, service.allow_private_callbacks)
            job, created = await run_in_threadpool(service.submit, form.path, upload)
        finally:
            form.discard()  # kept by now, or not to be kept
        return JSONResponse(
            {"id": job.id, "status": job.status, "duplicate": not created},
            status_code=202 if created else 200,
            headers={"Location": f"/v1/documents/{job.id}"},
        )

    @v1.get("/documents/{document_id}", summary="一份报告的抽取记录")
    def document(document_id: str) -> dict:
        found = service.document(document_id)
        if found is None:
            raise Refused("api.not_found", f"没有 id 为 {document_id[:64]} 的报告")
        return found

    @v1.get("/documents", summary="已上传的报告")
    def documents(
        agency: Annotated[
            str | None, Query(max_length=200, description="发布机关（名称中含此文字）")
        ] = None,
        year: Annotated[int | None, Query(ge=1990, le=2100, description="报告年度")] = None,
        status: Annotated[Literal[STATUSES] | None, Query(description="状态")] = None,  # type: ignore[valid-type]
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict:
        rows, total = service.jobs.listing(status, agency, year, limit, offset)
        return {"total": total, "documents": rows}

    @v1.get("/panel", summary="面板数据：每个机关每年一行")
    def panel(
        agency: Annotated[
            str | None, Query(max_length=200, description="机关（规范名中含此文字）")
        ] = None,
        year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    ) -> dict:
        from ..outputs import panel as panel_data
        from ..reading.agency import Overrides

        rows = panel_data.build(panel_data.from_store(service.store), Overrides.load(None))
        rows = [
            row
            for row in rows
            if (year is None or row["year"] == year)
            and (agency is None or agency in (row["agency.canonical"] or ""))
        ]
        return {"rows": rows}

    app.include_router(v1)
    _handle_errors(app)
    return app


def _handle_errors(app: FastAPI) -> None:
    """Every error as ``{"code", "message"}``, in Chinese, and nothing of an internal one."""

    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> JSONResponse:
        status = API_ERRORS[exc.code]
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return _error(status, exc.code, exc.message, headers)

    @app.exception_handler(InputError)
    async def bad_input(_: Request, exc: InputError) -> JSONResponse:
        return _error(413 if isinstance(exc, InputTooLarge) else 400, exc.code, exc.message)

    @app.exception_handler(CallbackRefused)
    async def callback_refused(_: Request, exc: CallbackRefused) -> JSONResponse:
        return _error(400, "api.callback", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        names = "、".join(str(e["loc"][-1]) for e in exc.errors())
        return _error(422, "api.invalid", f"参数不正确：{names}")

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 405:
            return _error(405, "api.method", "这个地址不支持该请求方法")
        if exc.status_code == 404:
            return _error(404, "api.not_found", "没有这个地址（接口见 /docs）")
        return _error(exc.status_code, "api.bad_request", "请求有误")

    @app.exception_handler(Exception)
    async def internal(_: Request, exc: Exception) -> JSONResponse:
        log.error("处理请求时出错：%s", type(exc).__name__, exc_info=exc)
        return _error(500, "internal.error", "服务内部错误（详情见服务日志）")


def run(service: Service, sock: socket.socket, token: str | None) -> None:
    """Serve on ``sock`` until stopped (Ctrl-C, SIGTERM): jobs in flight go back to the
    queue, which the next start resumes."""
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    logs = {**LOGGING_CONFIG, "loggers": {**LOGGING_CONFIG["loggers"]}}
    logs["loggers"]["gouji"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config = uvicorn.Config(
        create_app(service, token),
        log_config=logs,
        server_header=False,
        timeout_graceful_shutdown=5,
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])
