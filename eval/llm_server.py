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

from gouji.tasks import estimate_tokens
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


# Our prompts' instructions name their task, as a model would read them; the document text
# that follows may mention any part, so the instruction sentences are what is matched. A
# table request names each table it asks as "- s3 三、依申请公开：".
def task_of(text: str) -> str:
    """The task a request asks: its tables and the prose, joined by ``+``."""
    units = [p for p, part in PARTS.items() if f"- {p} {part.label}：" in text]
    if "正文：agency 为发布机关" in text:
        units.append("prose")
    return "+".join(units) or "unknown"


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
        return estimate_tokens(json.dumps(self.body, ensure_ascii=False))

    @property
    def format_tokens(self) -> int:
        """What the request spends outside its messages: in tools mode, the answer's schema."""
        rest = {k: v for k, v in self.body.items() if k != "messages"}
        return estimate_tokens(json.dumps(rest, ensure_ascii=False))


def prose_from_gold(gold: dict) -> dict:
    """The right claims and meta, made from a gold file (the tables: ``Oracle``, which
    copies them as printed)."""
    keep = ("metric", "value", "unit", "qualifier", "quote")
    claims = [{k: c[k] for k in keep} for c in gold["claims"]]
    return {"agency": gold["meta.agency"], "year": gold["meta.year"], "claims": claims}


def null_answer(task: str) -> dict:
    """A schema-valid answer with nothing in it: every cell blank, no claim, no meta."""
    answer: dict = {unit: [] for unit in task.split("+") if unit != "prose"}
    if "prose" in task.split("+"):
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


def _rotated(row: tuple[str, ...]) -> tuple[str, ...]:
    return row if row[0].startswith("s2.") else row[:-1]


@dataclass
class _Known:
    view: str  # the document's text as gouji reads it
    gold: dict
    printed: dict  # each template row's printed cells (the reader's cells after its label)


@dataclass
class Oracle:
    """A witness that answers from the gold files, truthfully or with chosen faults.

    It finds the document a request is about by the request's lines, then answers from that
    document's gold, copying each table row as printed: a value the row prints is given as
    its printed string (a run-together digit string cut where the gold's values fall), any
    other as plain digits. Faults: ``wrong`` — that share of numbers replaced by another (a
    value printed elsewhere in its row, or one off by a few); ``rotate`` — every row's cells
    moved one column along (the applicant columns, part 四's four results, part 二's three
    stock columns), so each row still sums to its total; ``omit`` — that share of rows
    answered without their cells (a schema error); ``nowhere`` — that share of numbers
    replaced by one the document prints nowhere; ``empty`` — every cell blank and no claim."""

    documents: list[_Known]
    wrong: float = 0.0
    rotate: bool = False
    omit: float = 0.0
    nowhere: float = 0.0
    empty: bool = False
    seed: int = 0

    @classmethod
    def of(cls, paths_and_golds, **faults) -> Oracle:
        from gouji import reader, sections, sources

        documents = []
        for path, gold in paths_and_golds:
            view = sources.load(path).source.view
            printed = reader.read(view, sections.find(view)).row_cells
            documents.append(_Known(view, gold, printed))
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

    def rows(self, index: int, part: str, attempt: int) -> list[dict]:
        """One table's rows as this witness copies them."""
        rng = random.Random(f"{self.seed}:{index}:{part}:{attempt}")
        values = self.fields(index, part, rng)
        printed = self.documents[index].printed
        if part == "s4":
            return [{"label": "", "cells": _as_printed(values, S4_KEYS, printed.get("s4", []))}]
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
                    rows.append(
                        {
                            "label": S3_COLLAPSED_OTHER.label,
                            "cells": _as_printed(sums, S3_COLLAPSED_OTHER.keys, cells),
                        }
                    )
                continue
            rows.append(
                {
                    "label": row.label,
                    "cells": _as_printed(values, row.keys, printed.get(row.name, [])),
                }
            )
        for row in rows:
            if self.omit and rng.random() < self.omit:
                del row["cells"]
        return rows

    def reply(self, task: str, text: str, attempt: int) -> Reply:
        index = self.document(text)
        gold = self.documents[index].gold
        units = task.split("+")
        answer = {part: self.rows(index, part, attempt) for part in units if part in PARTS}
        if "prose" in units:
            answer |= null_answer("prose") if self.empty else prose_from_gold(gold)
        return Reply(answer)


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
        task = task_of(text)
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
    if limit is not None and estimate_tokens(arguments) > limit:
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
    prompt_tokens = estimate_tokens(json.dumps(read, ensure_ascii=False))
    completion_tokens = estimate_tokens(arguments)
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
