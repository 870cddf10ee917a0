"""Structured output over any OpenAI-compatible endpoint: the request each mode sends, and
how an answer is read back from what a server really returns.

Four modes, best first (the start check picks the best one an endpoint honours):

* ``json_schema`` — ``response_format`` of type ``json_schema``: the server constrains the
  answer to the schema (OpenAI, vLLM, llama.cpp's grammars, Ollama's ``format``).
* ``tools`` — one function whose parameters are the schema, its call forced.
* ``json`` — ``response_format`` of type ``json_object`` (JSON, keys free), the schema shown
  in a system message (DeepSeek asks for the word "json" in the prompt: it is there).
* ``md_json`` — no constraint at all: the schema in a system message, the answer in a
  fenced block.

Servers answer less tidily than the modes promise, and the answer is read as they do:
llama.cpp without a tool-call parser for the model puts the call in ``content``
(``<tool_call>{"name": …, "arguments": …}</tool_call>``); reasoning models wrap the answer
in ``<think>…</think>``; some fence it. Whatever the mode, the answer is then validated
against the schema by gouji itself: a mode constrains, it never vouches.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

MODES = ("json_schema", "tools", "json", "md_json")  # best first
TOOL = "answer"

# Lower-case "json": DeepSeek refuses json_object mode unless the prompt says the word.
_SYSTEM = (
    "只回答一个 json 对象，它符合下面的 JSON Schema（回答对象本身，不要回答 Schema）：\n{schema}"
)
_FENCED = "把这个 JSON 对象放在 ```json 代码块里回答。"
INSTRUCTIONS = _SYSTEM + _FENCED  # what the modes add to a prompt (its version hashes them)


def request(mode: str, schema: dict, messages: list[dict]) -> dict:
    """The keyword arguments of a chat completion asking ``messages`` for an answer of
    ``schema`` in ``mode``."""
    if mode == "json_schema":
        strict = {"name": TOOL, "schema": schema, "strict": True}
        return {
            "messages": messages,
            "response_format": {"type": "json_schema", "json_schema": strict},
        }
    if mode == "tools":
        function = {"name": TOOL, "description": "按要求回答。", "parameters": schema}
        return {
            "messages": messages,
            "tools": [{"type": "function", "function": function}],
            "tool_choice": {"type": "function", "function": {"name": TOOL}},
        }
    system = {
        "role": "system",
        "content": _SYSTEM.format(schema=json.dumps(schema, ensure_ascii=False)),
    }
    if mode == "json":
        return {"messages": [system, *messages], "response_format": {"type": "json_object"}}
    *earlier, last = messages
    return {"messages": [system, *earlier, _said_after(last, _FENCED)]}


def _said_after(message: dict, text: str) -> dict:
    """``message`` with ``text`` after its own (a list of content parts gets a part more):
    one user turn, not two in a row, which some chat templates refuse."""
    content = message["content"]
    if isinstance(content, list):
        return message | {"content": [*content, {"type": "text", "text": text}]}
    return message | {"content": f"{content}\n\n{text}"}


def strict_schema(schema: dict) -> dict:
    """``schema`` as strict structured output wants it: every object closed to other keys
    and every property required."""

    def close(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)
        return node

    return close(json.loads(json.dumps(schema)))


@dataclass
class Streamed:
    """What a streamed reply carried: the message's text, the forced call's arguments, the
    reasoning a server returns apart, why it stopped, and its usage block if it sent one."""

    content: str = ""
    arguments: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    usage: object | None = None
    choices: bool = False  # any chunk carried a choice

    def add(self, chunk) -> None:
        if getattr(chunk, "usage", None) is not None:
            self.usage = chunk.usage
        for choice in getattr(chunk, "choices", None) or []:
            self.choices = True
            delta = choice.delta
            if delta is not None:
                self.content += delta.content or ""
                extra = getattr(delta, "model_extra", None) or {}
                self.reasoning += extra.get("reasoning_content") or extra.get("reasoning") or ""
                for call in delta.tool_calls or []:
                    if call.function is not None:
                        self.arguments += call.function.arguments or ""
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason

    @property
    def written(self) -> str:
        """Everything the model wrote, as a repetition or a token count sees it."""
        return self.reasoning + self.content + self.arguments


_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)(?:```|$)", re.S)
_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)


def answer_text(mode: str, streamed: Streamed) -> str:
    """The JSON text of the answer: the call's arguments in tools mode, else the message,
    without a reasoning block, a fence or a tool-call wrapper around it. A tools answer a
    server left in ``content`` (no tool-call parser for the model) is read from there."""
    if mode == "tools" and streamed.arguments.strip():
        return streamed.arguments
    text = _THINK.sub("", streamed.content).strip()
    wrapped = _TOOL_CALL.search(text)
    if wrapped:
        text = wrapped.group(1)
    fenced = _FENCE.search(text)
    if fenced and not text.lstrip().startswith("{"):
        text = fenced.group(1)
    text = text.strip()
    if mode == "tools":
        return _call_arguments(text)
    return text


def _call_arguments(text: str) -> str:
    """A tool call written as text (``{"name": "answer", "arguments": {…}}``): its
    arguments; any other JSON as it is."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, dict) and value.get("name") == TOOL:
        arguments = value.get("arguments", value.get("parameters"))
        if isinstance(arguments, str):
            return arguments
        if isinstance(arguments, dict):
            return json.dumps(arguments, ensure_ascii=False)
    return text


def parse(text: str) -> object:
    """The JSON value of an answer; a value followed by stray text (a sentence after the
    object) is read up to its end. Raises ``ValueError`` when there is none."""
    text = text.strip()
    start = text.find("{")
    if start < 0:
        raise ValueError("回答中没有 JSON 对象")
    value, _ = json.JSONDecoder().raw_decode(text[start:])
    return value


# What a refusal of a structured-output format says: a 400, 422 or 500 naming the request's
# format, not a failing server (DeepSeek: "This response_format type is unavailable now";
# llama-cpp-python: "Input should be 'text' or 'json_object'"; llama.cpp: "tools param
# requires --jinja flag"; OpenAI: "Invalid schema for response_format").
_FORMAT_WORDS = re.compile(
    r"response_format|json_schema|json_object|'text'|tool_choice|\btools?\b|function|"
    r"--jinja|grammar|schema|guided|structured",
    re.I,
)


def is_format_refusal(status: int | None, message: str) -> bool:
    return status in (400, 422, 500, 501) and bool(_FORMAT_WORDS.search(message))


def names_stream_options(status: int | None, message: str) -> bool:
    """A server that refuses ``stream_options`` (it streams without a usage block)."""
    return status in (400, 422) and "stream_options" in message
