"""A scripted OpenAI-compatible chat server on 127.0.0.1, for the LLM tests and the benchmark.

It answers ``POST /v1/chat/completions`` in the shape each structured-output mode expects
(a tool call, a JSON message, JSON in a markdown fence), streamed as server-sent events when
asked (``stream_options.include_usage`` honoured) or whole; it honours ``max_tokens`` and
stops generating when the client goes away. A test sets ``server.script`` to decide, per
request, what to answer: the right figures, wrong ones, broken JSON, an HTTP error, a
delay, a reply cut off at the token limit; or ``server.oracle`` to an ``Oracle`` that
answers from the gold files, truthfully or with chosen faults (a ``PageOracle`` does it
from page images, as a vision model would).

``server.behaviour`` makes it a server users run, as those behave (``PROFILES``):
llama.cpp builds (tool calls left in ``content``, ``json_object`` without the schema's keys,
``json_schema`` refused with a 500, one slot), a model that copies the prompt's
instructions, one that loops, one slower than the client's timeout, a relay that accepts
``json_schema`` and drops it, Ollama cutting a prompt to its context, a reasoning model
that thinks first, DeepSeek (JSON mode only). The start check's probe (``gouji.witness.endpoint``)
is answered as such a server's model would answer it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from gouji.inputs.text import compact
from gouji.template import (
    PARTS,
    S2_ROWS,
    S3_COLLAPSED_OTHER,
    S3_OTHER_SUBROWS,
    S3_ROWS,
    S4_COLUMNS,
    S4_GROUPS,
    S4_KEYS,
)
from gouji.witness.tasks import estimate_tokens

PROBE_QUESTION = "请用一句话说说这段话讲了什么"


# Our prompts' instructions name their task, as a model would read them; the document text
# that follows may mention any part, so the instruction sentences are what is matched. A
# table request names each table it asks as "- s3 三、依申请公开：".
def task_of(text: str) -> str:
    """The task a request asks: its tables and the prose, joined by ``+`` (``page:`` first
    when it is shown page images); ``unknown`` for anything else (the start check)."""
    units = [p for p, part in PARTS.items() if f"- {p} {part.label}：" in text]
    if "正文：agency 和 year" in text:
        units.append("prose")
    if not units:
        return "unknown"
    return ("page:" if "下面的图片是" in text else "") + "+".join(units)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a client that timed out closed its socket; nothing to report


@dataclass
class Reply:
    payload: dict | str | None = None  # the answer's arguments; a str is sent verbatim
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    finish_reason: str = "stop"
    # Replies real endpoints send: no ``usage`` block, or no choices at all.
    usage: bool = True
    choices: bool = True
    message: str = "scripted failure"  # an error's message


@dataclass(frozen=True)
class Behaviour:
    """How a server (and the model behind it) really behaves; the default is a server that
    does what each mode promises."""

    name: str = "openai"
    refuses: tuple[tuple[str, int, str], ...] = ()  # (mode, HTTP status, message)
    drops: tuple[str, ...] = ()  # modes accepted and not passed on: the model just answers
    tools_in_content: bool = False  # the call left in content as <tool_call>{…}</tool_call>
    json_free_keys: bool = False  # json_object holds the model to JSON, not to the schema
    json_needs_word: bool = False  # json_object refused unless the prompt says "json"
    thinks: bool = False  # <think>…</think> before the answer
    copies: bool = False  # the model copies the prompt's instructions into its values
    loops: bool = False  # the model repeats itself until it is stopped
    chunk_delay: float = 0.0  # seconds between streamed chunks (a slow local model)
    context: int | None = None  # prompts cut to their last N tokens (Ollama's num_ctx)
    props: dict | None = None  # GET /props, as llama.cpp answers it
    running: dict | None = None  # GET /api/ps, as Ollama answers it
    stream_options: bool = True  # takes stream_options (else 400 naming it)


_LLAMA = Behaviour(
    "llamacpp",
    refuses=(("json_schema", 500, "Input should be 'text' or 'json_object'"),),
    tools_in_content=True,
    json_free_keys=True,
    props={"total_slots": 1, "default_generation_settings": {"n_ctx": 8192}},
    stream_options=False,
)
PROFILES: dict[str, Behaviour] = {
    b.name: b
    for b in (
        Behaviour(),
        # llama.cpp as the issue met it (an older build, llama_cpp.server 0.2.x): its request
        # model knows two response formats; without a tool-call parser for the model a
        # call comes back as text; json_object holds the model to JSON, not to the keys.
        _LLAMA,
        replace(_LLAMA, name="llamacpp-new", refuses=(), stream_options=True),  # grammars
        replace(_LLAMA, name="llamacpp-copying", refuses=(), copies=True),
        replace(_LLAMA, name="llamacpp-looping", loops=True, chunk_delay=0.002),
        replace(_LLAMA, name="llamacpp-slow", chunk_delay=0.15),
        Behaviour("relay", drops=("json_schema",)),
        Behaviour("ollama-2048", context=2048),
        Behaviour(
            "ollama-4096",
            context=4096,
            running={"models": [{"name": "m", "model": "m", "context_length": 4096}]},
        ),
        Behaviour("reasoning", thinks=True),
        Behaviour(
            "deepseek",
            refuses=(
                ("json_schema", 400, "This response_format type is unavailable now"),
                ("tools", 400, "deepseek-reasoner does not support Function Calling"),
            ),
            json_needs_word=True,
        ),
    )
}


@dataclass
class Seen:
    task: str
    mode: str
    body: dict

    @property
    def tokens(self) -> int:
        """The request's size (messages, tools and schema alike)."""
        return estimate_tokens(json.dumps(self.body, ensure_ascii=False))

    @property
    def format_tokens(self) -> int:
        """What the request spends outside its messages: in tools mode, the answer's schema."""
        rest = {k: v for k, v in self.body.items() if k != "messages"}
        return estimate_tokens(json.dumps(rest, ensure_ascii=False))


def null_answer(task: str) -> dict:
    """A schema-valid answer with nothing in it: no row, no claim, no meta."""
    units = task.rpartition(":")[2].split("+")
    answer: dict = {unit: [] for unit in units if unit in PARTS}
    if "prose" in units:
        answer |= {"agency": None, "year": None, "claims": []}
    return answer


# Each table row's keys, and the cells of it a rotating witness moves one place along: all
# but the total, so the row still sums to it (part 二's stock rows have no total).
_ROWS = (
    *(r.keys for r in S2_ROWS),
    *(r.keys for r in S3_ROWS),
    *(tuple(f"s4.{g}.{c}" for c in S4_COLUMNS) for g in S4_GROUPS),
)
_ROW_OF = {k: row for row in _ROWS for k in row}
_ORDINAL_FIRST = re.compile(
    r"^(?:[一二三四五六七八九十]{1,2}、|\([一二三四五六七八九十]{1,2}\)|\d{1,2}[.、])"
)


def _rotated(row: tuple[str, ...]) -> tuple[str, ...]:
    return row if row[0].startswith("s2.") else row[:-1]


@dataclass
class _Known:
    view: str  # the document's text as gouji reads it
    gold: dict
    printed: dict  # each template row's printed cells (the reader's cells after its label)
    regions: dict  # each table's stretch of the view


def _prefix(known: _Known, part: str, row) -> str:
    """The first characters of a row's label as the page prints it, as a witness writes
    them: the last place the row's label is named before its first printed cell, without
    its number; the template's label where the page prints none."""
    cells = known.printed.get(row.name)
    start, end = known.regions.get(part, (0, 0))
    if cells:
        end = min(end, cells[0].start)
    flat = compact(known.view[start:end])
    found = [m for pattern in row.patterns for m in re.finditer(pattern, flat)]
    text = max(found, key=lambda m: m.start()).group() if found else row.label
    return _ORDINAL_FIRST.sub("", text)[:4]


@dataclass
class Oracle:
    """A witness that answers from the gold files, truthfully or with chosen faults.

    It finds the document a request is about by the request's lines, then answers from that
    document's gold, writing each table row as gouji's prompt asks: its label's first
    characters, then its cells as printed, each after a bar (a value the row prints as its
    printed string, a run-together digit string cut where the gold's values fall, any other
    value as plain digits); and each claim as the short stretch of prose that states it.
    Faults: ``wrong`` — that share of numbers replaced by another (a value printed elsewhere
    in its row, or one off by a few); ``rotate`` — every row's cells moved one column along
    (the applicant columns, part 四's four results, part 二's three stock columns), so each
    row still sums to its total; ``omit`` — that share of rows answered as numbers, not
    strings (a schema error); ``nowhere`` — that share of numbers replaced by one the
    document prints nowhere; ``empty`` — every cell blank and no claim."""

    documents: list[_Known]
    wrong: float = 0.0
    rotate: bool = False
    omit: float = 0.0
    nowhere: float = 0.0
    empty: bool = False
    seed: int = 0

    @classmethod
    def of(cls, paths_and_golds, **faults) -> Oracle:
        from gouji.inputs import sources
        from gouji.reading import reader, sections

        documents = []
        for path, gold in paths_and_golds:
            view = sources.load(path).source.view
            found = sections.find(view)
            printed = reader.read(view, found).row_cells
            documents.append(_Known(view, gold, printed, dict(found.regions)))
        return cls(documents, **faults)

    def document(self, text: str) -> int:
        """The document whose text holds most of the request's lines."""
        lines = [line.strip() for line in text.splitlines() if len(line.strip()) >= 6]
        scores = [sum(line in known.view for line in lines) for known in self.documents]
        return max(range(len(scores)), key=scores.__getitem__)

    def fields(self, index: int, part: str, rng: random.Random) -> dict:
        """The flat values this witness gives for one table's keys."""
        known = self.documents[index]
        truth = {k: v for k, v in known.gold["fields"].items() if k.startswith(part + ".")}
        values = dict(truth)
        if self.empty:
            return dict.fromkeys(values)
        if self.rotate:
            for row in map(_rotated, _ROWS):
                if row[0] in values and len(row) > 1:
                    for key, source in zip(row, row[-1:] + row[:-1], strict=True):
                        values[key] = truth[source]
        for key, value in truth.items():
            if value is None:
                continue
            draw = rng.random()
            if draw < self.wrong:
                values[key] = _another(rng, key, value, truth)
            elif draw < self.wrong + self.nowhere:
                values[key] = _printed_nowhere(rng, known.view)
        return values

    def rows(self, index: int, part: str, attempt: int) -> list:
        """One table's rows as this witness writes them."""
        rng = random.Random(f"{self.seed}:{index}:{part}:{attempt}")
        values = self.fields(index, part, rng)
        known = self.documents[index]
        printed = known.printed
        if part == "s4":
            return ["|" + "|".join(_as_printed(values, S4_KEYS, printed.get("s4", [])))]
        rows = []
        collapsed = S3_COLLAPSED_OTHER.name in printed and not printed.keys() & set(
            S3_OTHER_SUBROWS
        )
        for row in S2_ROWS if part == "s2" else S3_ROWS:
            if collapsed and row.name in S3_OTHER_SUBROWS:
                if row.name == S3_OTHER_SUBROWS[0]:
                    # The single （六） row as printed: each column the sum of its sub-rows.
                    sums = {
                        key: _sum(
                            values[f"s3.{sub}.{key.rsplit('.', 1)[1]}"] for sub in S3_OTHER_SUBROWS
                        )
                        for key in S3_COLLAPSED_OTHER.keys
                    }
                    cells = printed[S3_COLLAPSED_OTHER.name]
                    label = _prefix(known, part, S3_COLLAPSED_OTHER)
                    rows.append(_row(label, _as_printed(sums, S3_COLLAPSED_OTHER.keys, cells)))
                continue
            cells = _as_printed(values, row.keys, printed.get(row.name, []))
            rows.append(_row(_prefix(known, part, row), cells))
        if self.omit:
            rows = [
                [c for c in row.split("|")[1:]] if rng.random() < self.omit else row for row in rows
            ]
        return rows

    def claims(self, index: int) -> list[str]:
        """The gold's claims as the short stretches of prose that state them."""
        return [_short_quote(c) for c in self.documents[index].gold["claims"]]

    def reply(self, task: str, text: str, attempt: int) -> Reply:
        index = self.document(text)
        gold = self.documents[index].gold
        units = task.rpartition(":")[2].split("+")
        answer = {part: self.rows(index, part, attempt) for part in units if part in PARTS}
        if "prose" in units:
            if self.empty:
                answer |= null_answer("prose")
            else:
                claims = self.claims(index)
                answer |= {"agency": gold["meta.agency"], "year": gold["meta.year"]}
                answer["claims"] = claims
        return Reply(answer)


def _row(label: str, cells: list[str]) -> str:
    return label + "".join(f"|{cell}" for cell in cells)


_NUMBER_IN_QUOTE = re.compile(
    r"\d+(?:\.\d+)?|一半|[一二两三四五六七八九十百千]+成[一二三四五六七八九]?"
)
_UNIT_AFTER = re.compile(
    r"\s*[万亿]?\s*[余多]?\s*(?:万人次|人次|万元|元|个百分点|[条件次个篇期场项家份处人部批户名套本册所座]|%)?"
)


def _short_quote(claim: dict) -> str:
    """A claim as gouji's prompt asks for it: its figure as printed, with the unit after
    it, out of the gold's longer quote (the figure that states the gold's value)."""
    from gouji.inputs.text import SourceText
    from gouji.reading.claims import find_claims

    quote = claim["quote"]
    pieces = [
        quote[m.start() : _UNIT_AFTER.match(quote, m.end()).end()].strip()
        for m in _NUMBER_IN_QUOTE.finditer(quote)
    ]
    for piece in pieces:
        stated = find_claims(SourceText.from_text(piece), [(0, len(piece))], bare=True)
        if any(abs(c.value - claim["value"]) < 1e-9 for c in stated):
            return piece
    return pieces[-1] if pieces else quote[:12]


def _sum(values):
    values = list(values)
    return None if any(v is None for v in values) else sum(values)


def _as_printed(values: dict, keys, cells) -> list[str]:
    """The keys' values as a true copyist writes them: the row's printed strings where the
    values are what the row prints, in order (a value that is a piece of a run-together
    digit string is that piece), plain digits elsewhere, and "" for a blank not printed."""
    out: list[str] = []
    index = offset = 0
    for key in keys:
        value = values[key]
        cell = cells[index] if index < len(cells) else None
        if value is None:
            if cell is not None and offset == 0 and cell.kind == "blank":
                out.append(cell.text)
                index += 1
            else:
                out.append("")
            continue
        digits = f"{value:g}" if isinstance(value, float) else str(value)
        if cell is not None and offset == 0 and cell.kind == "number" and cell.value == value:
            out.append(cell.text)
            index += 1
        elif cell is not None and cell.text.startswith(digits, offset):
            out.append(digits)
            offset += len(digits)
            if offset == len(cell.text):
                index, offset = index + 1, 0
        else:
            out.append(digits)
    return out


def _another(rng: random.Random, key: str, value, truth: dict):
    """A wrong number: one printed elsewhere in the row when there is one, else off by a few."""
    others = [truth[k] for k in _ROW_OF.get(key, ()) if truth.get(k) not in (None, value)]
    if others and rng.random() < 0.5:
        return rng.choice(others)
    return value + rng.choice((-1, 1, 2, 10)) if value >= 1 else value + rng.randint(1, 3)


def _printed_nowhere(rng: random.Random, view: str) -> int:
    while True:
        number = rng.randint(1000, 99999)
        if str(number) not in view:
            return number


@dataclass
class PageOracle:
    """A vision model's witness: it knows each page image it may be shown (by the image's
    hash) as a page of a document with a gold file, and answers the tables from that gold,
    as a model reading the page would: each row its template label's first characters and
    its values as plain digits. ``wrong`` makes that share of its numbers wrong."""

    pages: dict[str, int]  # image hash → document index
    golds: list[dict]
    wrong: float = 0.0
    seed: int = 0

    @classmethod
    def of(cls, documents, **faults) -> PageOracle:
        """``documents``: (image ``data:`` URLs of the document's pages, gold) pairs."""
        pages = {_image_key(url): i for i, (urls, _) in enumerate(documents) for url in urls}
        return cls(pages, [gold for _, gold in documents], **faults)

    def reply(self, task: str, body: dict, attempt: int) -> Reply:
        urls = [
            part["image_url"]["url"]
            for message in body["messages"]
            if isinstance(message.get("content"), list)
            for part in message["content"]
            if part.get("type") == "image_url"
        ]
        known = [self.pages[k] for k in map(_image_key, urls) if k in self.pages]
        if not known:
            return Reply(null_answer(task))
        index = max(set(known), key=known.count)
        truth = self.golds[index]["fields"]
        rng = random.Random(f"{self.seed}:{index}:{attempt}")
        values = {
            k: _another(rng, k, v, truth) if v is not None and rng.random() < self.wrong else v
            for k, v in truth.items()
        }
        show = lambda v: "" if v is None else f"{v:g}" if isinstance(v, float) else str(v)  # noqa: E731
        answer: dict = {}
        for part in task.rpartition(":")[2].split("+"):
            if part == "s4":
                answer[part] = ["|" + "|".join(show(values[k]) for k in S4_KEYS)]
            elif part in PARTS:
                rows = S2_ROWS if part == "s2" else S3_ROWS
                answer[part] = [
                    _row(_ORDINAL_FIRST.sub("", row.label)[:4], [show(values[k]) for k in row.keys])
                    for row in rows
                ]
        return Reply(answer)


def _image_key(url: str) -> str:
    data = url.partition("base64,")[2]
    return hashlib.sha256(base64.b64decode(data)).hexdigest()


class ScriptedLLM:
    def __init__(self, behaviour: Behaviour | str = "openai") -> None:
        self.seen: list[Seen] = []
        # None from the script: the oracle answers (when there is one), else a null answer.
        self.script: Callable[[str, int], Reply | None] = lambda task, n: None
        self.oracle: Oracle | PageOracle | None = None
        self.behaviour = PROFILES[behaviour] if isinstance(behaviour, str) else behaviour
        self.gets: list[str] = []
        self.active = 0  # answers being generated now
        self.peak = 0  # the most generated at once
        self.cancelled = 0  # answers stopped because the client went away
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep connections open, as real endpoints do
            disable_nagle_algorithm = True  # no 40 ms stall between headers and body

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server._handle(self, body)

            def do_GET(self) -> None:
                server._get(self)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> ScriptedLLM:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def requests(self, task: str | None = None) -> int:
        return sum(1 for s in self.seen if task is None or s.task == task)

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0].rstrip("/")
        self.gets.append(path)
        found = {"/props": self.behaviour.props, "/api/ps": self.behaviour.running}.get(path)
        if found is None:
            _send(handler, 404, {}, json.dumps({"error": {"message": "not found"}}))
        else:
            _send(handler, 200, {}, json.dumps(found))

    def _handle(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        text = "".join(_text_of(m.get("content")) for m in body["messages"])
        behaviour = self.behaviour
        mode = _mode(body)
        counted = _prompt_tokens(body)
        if behaviour.context and counted > behaviour.context:
            text = _last_tokens(text, behaviour.context)  # what the model sees of it
            counted = behaviour.context
        task = task_of(text)
        with self._lock:
            n = self._counts.get(task, 0)
            self._counts[task] = n + 1
            self.seen.append(Seen(task, mode, body))
        reply = self.script(task, n)
        refusal = _refusal(behaviour, mode, body)
        if refusal is not None and (reply is None or reply.status == 200):
            reply = refusal
        if reply is None or (
            task == "unknown" and reply.status == 200 and not isinstance(reply.payload, str)
        ):
            reply = self._model(task, text, body, n, mode)
        if reply.delay and not self._wait(handler, reply.delay):
            return  # the client went away while we "processed the prompt"
        if reply.status != 200:
            error = {"error": {"message": reply.message, "type": "server", "code": None}}
            if reply.status == 429 and reply.message == "insufficient_quota":
                error["error"]["code"] = "insufficient_quota"
            _send(handler, reply.status, reply.headers, json.dumps(error))
            return
        text_out, finish = _written(body, mode, reply, behaviour)
        call = mode == "tools" and not behaviour.tools_in_content
        if body.get("stream"):
            self._stream(handler, body, call, reply, text_out, finish, counted)
        else:
            completion = _completion(body, call, reply, text_out, finish, counted)
            _send(handler, 200, reply.headers, json.dumps(completion))

    def _wait(self, handler: BaseHTTPRequestHandler, seconds: float) -> bool:
        """Wait ``seconds`` as a server processing a prompt does; False when the client
        closed its connection meanwhile (the work is then dropped, as llama.cpp drops a
        streamed request whose client left)."""
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                readable, _, _ = select.select([handler.connection], [], [], min(left, 0.05))
                if readable and not handler.connection.recv(1, 2):  # MSG_PEEK: b"" is closed
                    with self._lock:
                        self.cancelled += 1
                    handler.close_connection = True
                    return False
            return True
        finally:
            with self._lock:
                self.active -= 1

    def _model(self, task: str, text: str, body: dict, n: int, mode: str) -> Reply:
        """What the model behind the server answers, unscripted."""
        behaviour = self.behaviour
        if PROBE_QUESTION in text:  # the start check's probe
            if mode in behaviour.drops:
                return Reply("这段话讲的是本机关 2024 年收到和办理政府信息公开申请的情况。")
            if mode == "json" and behaviour.json_free_keys:
                return Reply({"回答": "这段话讲的是申请的办理情况"})
            return Reply({"n": 34})
        if task == "unknown":
            return Reply({})
        if behaviour.copies:
            return Reply(_copied(task, text))
        if isinstance(self.oracle, PageOracle):
            return self.oracle.reply(task, body, n)
        if self.oracle is not None:
            return self.oracle.reply(task, text, n)
        return Reply(null_answer(task))

    def _stream(self, handler, body, call: bool, reply, written, finish, counted) -> None:
        """The answer as server-sent events, a few characters a chunk; given up when the
        client goes away (the generation stops, as llama.cpp's does)."""
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream")
            handler.send_header("Transfer-Encoding", "chunked")
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            events: list[dict] = []
            if call:  # the reasoning apart, the answer as the forced call's arguments
                thought, answer = _split_thought(written)
                name = body["tools"][0]["function"]["name"]
                events += [{"reasoning_content": piece} for piece in _pieces(thought)]
                events.append({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                               "function": {"name": name, "arguments": ""}}]})  # fmt: skip
                events += [
                    {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
                    for piece in _pieces(answer)
                ]
            else:
                events += [{"content": piece} for piece in _pieces(written)]
            if reply.choices:
                for delta in events:
                    _event(
                        handler, _chunk(body, [{"index": 0, "delta": delta, "finish_reason": None}])
                    )
                    if self.behaviour.chunk_delay:
                        time.sleep(self.behaviour.chunk_delay)
                _event(handler, _chunk(body, [{"index": 0, "delta": {}, "finish_reason": finish}]))
            wants_usage = (body.get("stream_options") or {}).get("include_usage")
            if reply.usage and wants_usage:
                tail = _chunk(body, [])
                tail["usage"] = _usage(counted, estimate_tokens(written))
                _event(handler, tail)
            _raw(handler, b"data: [DONE]\n\n")
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            with self._lock:
                self.cancelled += 1
            handler.close_connection = True
        finally:
            with self._lock:
                self.active -= 1


def _text_of(content) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if part.get("type") == "text")
    return str(content or "")


def _prompt_tokens(body: dict) -> int:
    read = {k: body[k] for k in ("messages", "tools", "response_format") if k in body}
    return estimate_tokens(json.dumps(read, ensure_ascii=False))


def _last_tokens(text: str, tokens: int) -> str:
    """The end of ``text`` that ``tokens`` hold: Ollama keeps a prompt's end."""
    kept = ""
    for size in range(len(text)):
        if estimate_tokens(text[len(text) - size - 1 :]) > tokens:
            break
        kept = text[len(text) - size - 1 :]
    return kept


def _refusal(behaviour: Behaviour, mode: str, body: dict) -> Reply | None:
    if "stream_options" in body and not behaviour.stream_options:
        return Reply(status=400, message="stream_options: Extra inputs are not permitted")
    for refused, status, message in behaviour.refuses:
        if refused == mode:
            return Reply(status=status, message=message)
    if behaviour.json_needs_word and mode == "json":
        said = json.dumps(body["messages"], ensure_ascii=False).lower()
        if "json" not in said:
            return Reply(
                status=400,
                message="Prompt must contain the word 'json' in some form to use "
                "'response_format' of type 'json_object'.",
            )
    return None


_INSTRUCTION = re.compile(r"[^。；：，\n]{6,}")


def _copied(task: str, text: str) -> dict:
    """A small model's answer that copies its instructions: every value a phrase of the
    prompt (it stops where the report's text begins)."""
    said = text.split("表格文字：")[0].split("正文（开头")[0]
    phrases = [p.strip() for p in _INSTRUCTION.findall(said) if "|" not in p] or ["照抄原文"]
    answer = null_answer(task)
    for i, part in enumerate(p for p in answer if p in PARTS):
        answer[part] = [f"本年新收|{phrases[i % len(phrases)]}|{phrases[-1]}"]
    if "claims" in answer:
        answer |= {"agency": phrases[0], "claims": phrases[1:3]}
    return answer


def _pieces(text: str, size: int = 16) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _mode(body: dict) -> str:
    if body.get("tools"):
        return "tools"
    kind = (body.get("response_format") or {}).get("type")
    if kind == "json_schema":
        return "json_schema"
    if kind == "json_object":
        return "json"
    return "md_json"


_THOUGHT = "<think>先看表格，再逐行照抄，不计算。</think>\n"


def _split_thought(written: str) -> tuple[str, str]:
    """A reasoning model's thought and its answer."""
    if not written.startswith("<think>"):
        return "", written
    thought, _, answer = written[len("<think>") :].partition("</think>")
    return thought, answer.lstrip("\n")


def _written(body: dict, mode: str, reply: Reply, behaviour: Behaviour) -> tuple[str, str]:
    """What the model writes (within ``max_tokens``) and why it stopped."""
    arguments = (
        reply.payload
        if isinstance(reply.payload, str)
        else json.dumps(reply.payload, ensure_ascii=False)
    )
    if mode == "md_json" and not isinstance(reply.payload, str):
        arguments = f"```json\n{arguments}\n```"
    elif mode == "tools" and behaviour.tools_in_content and not isinstance(reply.payload, str):
        name = body["tools"][0]["function"]["name"]
        call = json.dumps({"name": name, "arguments": reply.payload}, ensure_ascii=False)
        arguments = f"<tool_call>\n{call}\n</tool_call>"
    if behaviour.loops and isinstance(reply.payload, dict) and "n" not in reply.payload:
        start = arguments[: max(24, len(arguments) // 8)]
        arguments = start + start[-24:] * 2000  # stuck on a stretch, until something stops it
    if behaviour.thinks:
        arguments = _THOUGHT + arguments
    finish_reason = reply.finish_reason
    limit = body.get("max_tokens")
    if limit is not None and estimate_tokens(arguments) > limit:
        low, high = 0, len(arguments)  # the longest start of it the limit holds
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (
                (middle, high)
                if estimate_tokens(arguments[:middle]) <= limit
                else (low, middle - 1)
            )
        arguments, finish_reason = arguments[:low], "length"
    return arguments, finish_reason


def _usage(prompt: int, completion: int) -> dict:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _chunk(body: dict, choices: list) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": body.get("model", "test"),
        "choices": choices,
    }


def _completion(
    body: dict, call: bool, reply: Reply, written: str, finish: str, counted: int
) -> dict:
    message: dict = {"role": "assistant", "content": None}
    if call:
        thought, answer = _split_thought(written)
        name = body["tools"][0]["function"]["name"]
        message["tool_calls"] = [
            {"id": "call_1", "type": "function", "function": {"name": name, "arguments": answer}}
        ]
        if thought:
            message["reasoning_content"] = thought
    else:
        message["content"] = written
    completion = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "test"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}]
        if reply.choices
        else [],
    }
    if reply.usage:
        completion["usage"] = _usage(counted, estimate_tokens(written))
    return completion


def _raw(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    handler.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
    handler.wfile.flush()


def _event(handler: BaseHTTPRequestHandler, data: dict) -> None:
    _raw(handler, f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode())


def _send(handler: BaseHTTPRequestHandler, status: int, headers: dict, data: str) -> None:
    raw = data.encode("utf-8")
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(raw)


def main(argv: list[str] | None = None) -> None:
    """Serve schema-valid empty answers after a fixed delay, in its own process (the
    benchmark's endpoint): ``python -m gouji_eval.llm_server --latency 0.3``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.3)
    args = parser.parse_args(argv)
    server = ScriptedLLM()
    server.script = lambda task, n: Reply(null_answer(task), delay=args.latency)
    print(server.base_url, flush=True)
    sys.stdout.close()
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
