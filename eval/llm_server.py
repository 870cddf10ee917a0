"""A scripted OpenAI-compatible chat server on 127.0.0.1, for the LLM tests and the benchmark.

It answers ``POST /v1/chat/completions`` in the shape each instructor mode expects (tool
calls, a JSON message, or JSON in a markdown fence). A test sets ``server.script`` to decide,
per request, what to answer: the right figures, wrong ones, broken JSON, an HTTP error, a
delay, or a reply cut off at the token limit; or ``server.oracle`` to an ``Oracle`` that
answers from the gold files, truthfully or with chosen faults.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gouji.llm
from gouji.template import FIELD_KEYS, S2_ROWS, S3_ROWS, S4_COLUMNS, S4_GROUPS

# Our prompts' instructions name their task, as a model would read them; the document text
# that follows may mention any part, so the instruction sentences are what is matched.
_TASK_MARKERS = (
    ("meta", "请填写：\n- agency"),
    ("claims", "请找出正文中"),
    ("s2", "“二、主动公开政府信息情况”表格"),
    ("s3", "“三、收到和处理政府信息公开申请情况”表格"),
    ("s4", "“四、政府信息公开行政复议、行政诉讼情况”表格"),
)


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


@dataclass
class Seen:
    task: str
    mode: str
    body: dict

    @property
    def tokens(self) -> int:
        """The request's size (messages, tools and schema alike)."""
        return estimate_tokens(self.body)

    @property
    def format_tokens(self) -> int:
        """What the request spends outside its messages: in tools mode, the answer's schema."""
        return estimate_tokens({k: v for k, v in self.body.items() if k != "messages"})


def estimate_tokens(value) -> int:
    """gouji's tokenizer-free estimate of a JSON value's size."""
    return gouji.llm.estimate_tokens(json.dumps(value, ensure_ascii=False))


def answer_from_gold(task: str, gold: dict, fields: dict | None = None) -> dict:
    """The right answer to a task, made from a gold file (``fields``: other values for its
    keys, e.g. a lying witness's; keys left out of ``fields`` are left out of the answer)."""
    if task == "claims":
        keep = ("metric", "value", "unit", "qualifier", "quote")
        return {"claims": [{k: c[k] for k in keep} for c in gold["claims"]]}
    if task == "meta":
        return {"agency": gold["meta.agency"], "year": gold["meta.year"]}
    values = gold["fields"] if fields is None else fields
    nested: dict = {}
    for key in FIELD_KEYS:
        if not key.startswith(task + ".") or key not in values:
            continue
        node = nested
        parts = key.split(".")[1:]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = values[key]
    return nested


def null_answer(task: str) -> dict:
    """A schema-valid answer with nothing in it: every cell blank, no claim, no meta."""
    if task == "claims":
        return {"claims": []}
    if task == "meta":
        return {"agency": None, "year": None}
    return answer_from_gold(task, {}, dict.fromkeys(FIELD_KEYS))


# Each table row's keys, and the cells of it a rotating witness moves one place along: all
# but the total, so the row still sums to it (part 二's stock rows have no total).
_ROWS = (
    *(r.keys for r in S2_ROWS),
    *(r.keys for r in S3_ROWS),
    *(tuple(f"s4.{g}.{c}" for c in S4_COLUMNS) for g in S4_GROUPS),
)
_ROW_OF = {k: row for row in _ROWS for k in row}


def _rotated(row: tuple[str, ...]) -> tuple[str, ...]:
    return row if row[0].startswith("s2.") else row[:-1]


@dataclass
class Oracle:
    """A witness that answers from the gold files, truthfully or with chosen faults.

    It finds the document a request is about by the request's lines, then answers the task
    from that document's gold: ``wrong`` — that share of numbers replaced by another (a value
    printed elsewhere in its row, or one off by a few); ``rotate`` — every row's cells moved
    one column along (the applicant columns, part 四's four results, part 二's three stock
    columns), so each row still sums to its total; ``omit`` — that share of fields left out
    of the answer; ``nowhere`` — that share of numbers replaced by one the document prints
    nowhere; ``empty`` — every field null and no claim."""

    documents: list[tuple[str, dict]]  # (the document's text as gouji reads it, its gold)
    wrong: float = 0.0
    rotate: bool = False
    omit: float = 0.0
    nowhere: float = 0.0
    empty: bool = False
    seed: int = 0

    @classmethod
    def of(cls, paths_and_golds, **faults) -> Oracle:
        from gouji import sources

        documents = [(sources.load(path).source.view, gold) for path, gold in paths_and_golds]
        return cls(documents, **faults)

    def document(self, text: str) -> int:
        """The document whose text holds most of the request's lines."""
        lines = [line.strip() for line in text.splitlines() if len(line.strip()) >= 6]
        scores = [sum(line in view for line in lines) for view, _ in self.documents]
        return max(range(len(scores)), key=scores.__getitem__)

    def fields(self, index: int, task: str, attempt: int) -> dict:
        """The flat values this witness gives for one task's keys."""
        view, gold = self.documents[index]
        rng = random.Random(f"{self.seed}:{index}:{task}:{attempt}")
        truth = {k: v for k, v in gold["fields"].items() if k.startswith(task + ".")}
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
                values[key] = _printed_nowhere(rng, view)
        if self.omit:
            values = {k: v for k, v in values.items() if rng.random() >= self.omit}
        return values

    def reply(self, task: str, text: str, attempt: int) -> Reply:
        index = self.document(text)
        gold = self.documents[index][1]
        if task in ("claims", "meta"):
            return Reply(null_answer(task) if self.empty else answer_from_gold(task, gold))
        return Reply(answer_from_gold(task, gold, self.fields(index, task, attempt)))


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


class ScriptedLLM:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        # None from the script: the oracle answers (when there is one), else a null answer.
        self.script: Callable[[str, int], Reply | None] = lambda task, n: None
        self.oracle: Oracle | None = None
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

    def _handle(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        text = "".join(str(m.get("content")) for m in body["messages"])
        task = next((t for t, marker in _TASK_MARKERS if marker in text), "unknown")
        mode = _mode(body)
        with self._lock:
            n = self._counts.get(task, 0)
            self._counts[task] = n + 1
            self.seen.append(Seen(task, mode, body))
        reply = self.script(task, n)
        if reply is None:
            reply = self.oracle.reply(task, text, n) if self.oracle else Reply(null_answer(task))
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            data = json.dumps({"error": {"message": "scripted failure", "type": "server"}})
            _send(handler, reply.status, reply.headers, data)
            return
        _send(handler, 200, reply.headers, json.dumps(_completion(body, mode, reply)))


def _mode(body: dict) -> str:
    if body.get("tools"):
        return "tools"
    kind = (body.get("response_format") or {}).get("type")
    if kind == "json_schema":
        return "json_schema"
    if kind == "json_object":
        return "json"
    return "md_json"


def _completion(body: dict, mode: str, reply: Reply) -> dict:
    arguments = (
        reply.payload
        if isinstance(reply.payload, str)
        else json.dumps(reply.payload, ensure_ascii=False)
    )
    finish_reason = reply.finish_reason
    limit = body.get("max_tokens")
    if limit is not None and gouji.llm.estimate_tokens(arguments) > limit:
        arguments, finish_reason = arguments[:limit], "length"  # as a model stops at its limit
    message: dict = {"role": "assistant", "content": None}
    if mode == "tools":
        name = body["tools"][0]["function"]["name"]
        message["tool_calls"] = [
            {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
        ]
    elif mode == "md_json":
        message["content"] = f"```json\n{arguments}\n```"
    else:
        message["content"] = arguments
    read = {k: body[k] for k in ("messages", "tools", "response_format") if k in body}
    prompt_tokens = estimate_tokens(read)
    completion_tokens = gouji.llm.estimate_tokens(arguments)
    completion = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "test"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}]
        if reply.choices
        else [],
    }
    if reply.usage:
        completion["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
    return completion


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
