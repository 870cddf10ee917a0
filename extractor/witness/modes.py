"""Structured output over any OpenAI-compatible endpoint: what instructor cannot do for gouji.

instructor makes each mode's request (``handle_response_model``) and reads and validates
the answer (``process_response``), in four modes, best first (the start check picks the
best one an endpoint honours): ``json_schema`` (the server constrains the answer to the
schema), ``tools`` (one forced function call), ``json`` (``json_object``, the schema in a
system message) and ``md_json`` (no constraint, the answer in a fenced block).

What is left here is how real servers answer, which instructor's parsers do not expect:
llama.cpp without a tool-call parser for the model leaves the call in ``content``
(``<tool_call>{"name": …, "arguments": …}</tool_call>``; instructor's tools parser wants
``tool_calls``), reasoning models write ``<think>…</think>`` before the answer and some
servers a sentence after it (instructor's json parsers read ``content`` whole). A
streamed reply is gathered (``Streamed``; openai's ``ChatCompletionStreamState`` parses
as it goes and expects OpenAI's own chunks) and handed to instructor as the completion
the mode promises (``parse``). And which errors are a refusal of the format, not an
outage (instructor negotiates no modes).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

MODES = ("json_schema", "tools", "json", "md_json")  # best first; instructor.Mode by name


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
    sent: int = 0  # the request's estimated tokens

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

    @property
    def thinks(self) -> bool:
        return bool(self.reasoning) or "<think>" in self.content


_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)(?:```|$)", re.S)
_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)


def answer_text(mode: str, streamed: Streamed) -> str:
    """The JSON text of the answer: the call's arguments in tools mode, else the message
    without a reasoning block, a fence, a tool-call wrapper or stray text around it."""
    if mode == "tools" and streamed.arguments.strip():
        return streamed.arguments
    text = _THINK.sub("", streamed.content).strip()
    wrapped = _TOOL_CALL.search(text)
    if wrapped:
        text = wrapped.group(1)
    fenced = _FENCE.search(text)
    if fenced and not text.lstrip().startswith("{"):
        text = fenced.group(1)
    # No object (or a broken one): instructor's parser says so, and it is re-asked.
    start = text.find("{")
    if start < 0:
        return text.strip()
    try:
        value, end = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return text.strip()
    if mode == "tools" and isinstance(value, dict) and "name" in value:  # a call as text
        arguments = value.get("arguments", value.get("parameters"))
        if isinstance(arguments, str):
            return arguments
        if isinstance(arguments, dict):
            return json.dumps(arguments, ensure_ascii=False)
    return text[start:end]


def parse(mode: str, model, streamed: Streamed):
    """The answer as instructor reads and validates it in ``mode`` from the completion the
    mode promises (a tools answer left in ``content`` moved to its call). Raises pydantic's
    ``ValidationError`` or instructor's ``ResponseParsingError`` (both ``ValueError``), or
    ``IncompleteOutputException`` for an answer cut at ``max_tokens``."""
    from instructor import Mode
    from instructor.processing.response import process_response
    from openai.types.chat import ChatCompletion

    message: dict = {"role": "assistant", "content": None}
    if mode == "tools":
        call = {"name": model.__name__, "arguments": answer_text(mode, streamed)}
        message["tool_calls"] = [{"id": "call", "type": "function", "function": call}]
    else:
        message["content"] = answer_text(mode, streamed)
    choice = {"index": 0, "finish_reason": streamed.finish_reason, "message": message}
    reply = ChatCompletion.construct(
        id="", created=0, model="", object="chat.completion", choices=[choice]
    )
    return process_response(reply, response_model=model, stream=False, mode=Mode[mode.upper()])


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
