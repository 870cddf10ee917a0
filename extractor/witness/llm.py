"""The LLM witness: instructor over any OpenAI-compatible endpoint, as servers really behave.

* instructor makes each request in the structured-output mode (``handle_response_model``)
  and reads and validates its answer (``process_response``, via ``modes.parse``). The mode
  is the user's, else the one the start check (``endpoint``) found the endpoint honours; a
  request refused for its format (a 400, 422 or 500 naming it) is asked again in the next
  mode it honours: a refusal, not an outage.
* Every answer is streamed, so a slow local model still writing is never cut by a fixed
  timeout (``timeout`` is the longest the endpoint may stay silent), and a request given up
  closes its connection, which stops a server generating it: a retry never piles a second
  copy onto a server still busy with the first. An answer that starts repeating itself is
  stopped there (``llm.repeating``); one running past the room a true answer needs
  (``tasks.answer_tokens``) is cut at it (``llm.truncated``).
* Only a schema or type error is re-asked (tenacity), and only with a changed request: the
  answer and a short Chinese list of its first errors; an answer repeated word for word is
  not asked again. A failed sum is never shown to the model: checks run later, on its
  answer. An answer that copies the prompt's own wording into its values is no witness
  (``llm.copied``).
* Transport failures (429 and 503 as the server asks with Retry-After, other 5xx,
  timeouts, lost connections) are retried by tenacity, with backoff and jitter, a bounded
  number of times. After ``breaker_failures`` of them in a row (any thread; a 429 is the
  endpoint pacing us, not failing) the breaker opens: requests fail at once, unsent, as
  ``llm.unavailable``; after ``breaker_cooldown`` seconds one request goes as a probe, and
  its success closes the breaker. A refused key, an exhausted quota or an unknown model
  stops asking for the run.
* Every request, re-asks included, passes ``exchange``: unsent when the breaker refuses
  it or the document's token budget cannot hold it and an answer (the answer's
  ``max_tokens`` is cut to what is left), so the budget is never exceeded; counted after,
  with tokens estimated (and counted as estimated) when the reply has no ``usage``.
* A server that cut the prompt to its own context (Ollama's default) says so in its usage:
  far fewer prompt tokens than were sent. Such an answer is no witness (``llm.context``),
  and the context it showed is what later requests are planned for.
* Answers are cached on disk (diskcache), keyed by endpoint, model, mode, prompt version,
  response schema and input, so a rerun sends no request at all.
* The API key, the URL's credentials (``user:password@``, key or token parameters) and
  their Basic-auth form are written nowhere: records, errors and logs show ``***``.

openai and instructor are imported when a client is made: they take seconds to import, and
a run on the reader alone never needs them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import diskcache
from pydantic import ValidationError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from ..errors import (
    LLMBudgetExceeded,
    LLMContextExceeded,
    LLMCopied,
    LLMEmptyAnswer,
    LLMError,
    LLMRejected,
    LLMRepeating,
    LLMSchemaError,
    LLMTransportError,
    LLMTruncated,
    LLMUnavailable,
)
from ..model import Usage
from . import modes
from .tasks import estimate_tokens, task_named

if TYPE_CHECKING:
    from .endpoint import Profile

MODES = modes.MODES
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "gouji" / "llm"
# Below this many tokens left for the answer, a request is not sent: it could only be cut off.
MIN_ANSWER_TOKENS = 256
# What a model that reasons before answering may write first, beyond the answer's own room.
THINKING_TOKENS = 2048
LIBRARY_LOGGERS = ("openai", "instructor", "httpx", "httpx2", "httpcore")
# A server that cuts a prompt to its context (Ollama) counts exactly that context: a prompt
# counted at less than CUT_SHARE of what was sent (scaled by how the server's tokenizer
# counts against gouji's estimate), or at less than ROUND_CUT_SHARE of it and a whole
# number of 1,024s (2,048, 4,096 …), was cut. A count on a multiple of 1,024 by chance is
# one in a thousand, and never that short of what was sent.
CUT_SHARE, ROUND_CUT_SHARE = 0.75, 0.95


class Retryable(Exception):
    """A transport failure worth another try, with the server's Retry-After if it sent one."""

    def __init__(self, cause: BaseException, retry_after: float | None) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.retry_after = retry_after


class Refused(Exception):
    """The endpoint refused the request's structured-output format."""


class _Unfit(Exception):
    """An answer that does not fit the schema: asked again."""


@dataclass
class LLMSettings:
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    mode: str | None = None  # the user's choice; None: what the start check found
    timeout: float = 300.0  # the longest the endpoint may stay silent, streaming included
    transport_attempts: int = 5
    reasks: int = 2
    max_output_tokens: int = 8192  # a cap on any answer's room, never reached by a true one
    # The model's context (prompt and answer): no request is planned past it.
    context_tokens: int = 16384
    max_tokens_per_doc: int | None = None
    cache_dir: Path | None = None
    use_cache: bool = True
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    requests_per_second: float | None = None  # shared by every thread of a run
    breaker_failures: int = 5  # transport failures in a row before the breaker opens
    breaker_cooldown: float = 30.0  # seconds open before one probe request goes
    profile: Profile | None = None  # what the start check learned of the endpoint
    # The page witness for scans (``--llm-vision``): the same endpoint, a vision model.
    vision: LLMSettings | None = None

    @property
    def configured(self) -> bool:
        return bool(self.model)

    def resolved_mode(self) -> str:
        """The structured-output mode: the user's, else the start check's (``auto`` before
        it ran)."""
        return self.mode or (self.profile.mode if self.profile else "auto")

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never be written: the key, and the URL's credentials as typed,
        decoded and in their Basic-auth form."""
        found = [self.api_key or ""]
        parts = urlsplit(self.base_url or "")
        if parts.username is not None or parts.password is not None:
            user, password = unquote(parts.username or ""), unquote(parts.password or "")
            found += [password, f"{user}:{password}", parts.netloc.rpartition("@")[0]]
            found.append(base64.b64encode(f"{user}:{password}".encode()).decode())
        return tuple(s for s in found if s)


@dataclass
class Answer:
    fields: dict  # tables: rows as printed, by part; prose: claims, agency, year
    mode: str  # the structured-output mode that gave it


class RateLimit:
    """At most ``rate`` requests a second across threads: each request takes the next slot."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_slot = time.monotonic()
        self.lock = threading.Lock()

    def wait(self, *_args, **_kwargs) -> None:
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


def openai_client(settings: LLMSettings, timeout: float):
    import openai

    return openai.OpenAI(
        base_url=settings.base_url,
        api_key=settings.api_key or "not-needed",
        timeout=timeout,
        max_retries=0,  # transport retries are ours, so every attempt is counted
    )


class _Breaker:
    """Closed: requests go. Open after ``limit`` transport failures in a row, across
    threads: requests fail at once, unsent, until ``cooldown`` seconds have passed; then
    one request goes as a probe while the others still fail, and its success closes the
    breaker (its failure opens it for another cool-down). ``stop`` ends asking for the
    run: a refused key, quota or model will not come back by waiting."""

    def __init__(self, limit: int, cooldown: float) -> None:
        self.limit, self.cooldown = limit, cooldown
        self.failures, self.opened_at, self.probing = 0, 0.0, False
        self.stopped: str | None = None
        self.lock = threading.Lock()

    def refusal(self) -> str | None:
        """Why a request may not go now, or None: it goes (perhaps as the probe)."""
        with self.lock:
            if self.stopped:
                return self.stopped
            if self.failures < self.limit:
                return None
            if self.probing or time.monotonic() - self.opened_at < self.cooldown:
                return f"端点连续 {self.limit} 次传输失败，暂不再询问；恢复后用 --resume 补问"
            self.probing = True  # half-open: this request is the probe
            return None

    def record(self, ok: bool | None) -> None:
        """A request's end: answered (True), a transport failure (False), or neither (None:
        a 429, the endpoint pacing us). Whichever, a probe is over."""
        with self.lock:
            self.probing = False
            if ok is None:
                return
            self.failures = 0 if ok else self.failures + 1
            if self.failures >= self.limit:
                self.opened_at = time.monotonic()

    def stop(self, reason: str) -> None:
        with self.lock:
            self.stopped = self.stopped or reason


class _Repetition:
    """Watches a streamed answer for a loop: its last ``WINDOW`` characters repeating a
    stretch of at most ``PERIOD``. A true answer never does (its rows differ by their
    labels, a row of zeros is short), a model stuck in a loop soon does."""

    WINDOW, PERIOD, EVERY = 300, 150, 50

    def __init__(self) -> None:
        self.checked = 0

    def looping(self, text: str) -> bool:
        if len(text) - self.checked < self.EVERY or len(text) < self.WINDOW + 1:
            return False
        self.checked = len(text)
        tail = text[-self.WINDOW - self.PERIOD :]
        end = len(tail)
        return any(
            tail[end - self.WINDOW : end] == tail[end - self.WINDOW - p : end - p]
            for p in range(1, min(self.PERIOD, end - self.WINDOW) + 1)
        )


class LLMClient:
    """One client for a run; safe to share between threads."""

    def __init__(self, settings: LLMSettings) -> None:
        from .endpoint import Profile, cached

        self.settings = settings
        # Made without the start check (gouji.extract_file): what a former check of the
        # endpoint left, else every mode assumed, best first, until one is refused.
        self.profile = settings.profile or cached(settings) or Profile.assumed(settings.mode)
        self.mode = settings.mode or self.profile.mode
        self.why = "用户指定（--structured-output）" if settings.mode else self.profile.why
        self._openai = openai_client(settings, settings.timeout)
        # Bound now: openai loads its resources (over a second) on first use, which belongs
        # to making the client, not to the first report's request.
        self._create = self._openai.chat.completions.create
        self._breaker = _Breaker(settings.breaker_failures, settings.breaker_cooldown)
        self._backoff = wait_random_exponential(settings.backoff_base, settings.backoff_cap)
        self._rate = (
            RateLimit(settings.requests_per_second) if settings.requests_per_second else None
        )
        self._cache = (
            diskcache.Cache(str(settings.cache_dir or DEFAULT_CACHE_DIR))
            if settings.use_cache
            else None
        )
        self._lock = threading.Lock()
        self.stream_usage = self.profile.stream_usage
        self.vision = LLMClient(settings.vision) if settings.vision else None

    @property
    def endpoint(self) -> str:
        return redact(str(self._openai.base_url), self.settings.secrets)

    @property
    def context_tokens(self) -> int:
        """The context requests are planned for: the settings', or the server's own when it
        said or was seen cutting to less."""
        known = [self.settings.context_tokens, self.profile.context]
        return min(c for c in known if c)

    @property
    def thinking(self) -> int:
        """The room a model that reasons first needs beyond its answer."""
        return THINKING_TOKENS if self.profile.thinks else 0

    def close(self) -> None:
        if self.vision is not None:
            self.vision.close()
        if self._cache is not None:
            self._cache.close()
        self._openai.close()

    def cache_key(self, task: str, text: str, images: tuple[str, ...] = (), mode: str = "") -> str:
        spec = task_named(task)
        payload = {
            "endpoint": self.endpoint,
            "model": self.settings.model,
            "mode": mode or self.mode,
            "prompt": spec.version,
            "schema": spec.schema_digest,
            "text": text,
        }
        if images:
            payload["images"] = hashlib.sha256("".join(images).encode()).hexdigest()
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def ask(
        self,
        task: str,
        text: str,
        usage: Usage,
        max_tokens: int | None = None,
        images: tuple[str, ...] = (),
    ) -> Answer:
        """Ask one task about ``text`` (and ``images``, ``data:`` URLs of pages), the answer
        given at most ``max_tokens`` (by default the settings' cap). Raises ``LLMError``
        with a one-line reason."""
        mode = self.mode
        key = self.cache_key(task, text, images, mode)
        if self._cache is not None:
            hit = self._cache.get(key)
            if hit is not None:
                usage.cache_hits += 1
                return Answer(hit, mode)
        cap = self.settings.max_output_tokens
        room = min(max_tokens or cap, cap)
        fields, used = self._answer(task_named(task), text, images, usage, room)
        if self._cache is not None:
            self._cache.set(self.cache_key(task, text, images, used), fields)
        return Answer(fields, used)

    def _answer(self, spec, text: str, images: tuple[str, ...], usage: Usage, room: int):
        """The task's fields, and the mode that gave them. Not instructor's re-ask: it
        sends every error, in English, and asks again after an answer repeated word for
        word (at temperature 0 it comes again)."""
        from instructor.core.exceptions import IncompleteOutputException

        messages = spec.messages(text, images)
        seen: set[str] = set()
        for attempt in Retrying(retry=retry_if_exception_type(_Unfit), reraise=True):
            with attempt:
                mode, streamed = self._asked(spec.model, messages, room, usage)
                answer = modes.answer_text(mode, streamed)
                try:
                    fields = modes.parse(mode, spec.model, streamed).model_dump()
                except IncompleteOutputException:
                    raise LLMTruncated(f"回答在 {room} 个 token 的上限处被截断") from None
                except ValueError as exc:  # pydantic's ValidationError, instructor's parse
                    asked = attempt.retry_state.attempt_number
                    if asked > self.settings.reasks or answer in seen:
                        raise LLMSchemaError(
                            f"{asked} 次回答都不符合格式：{_problems(exc)}"
                        ) from None
                    seen.add(answer)
                    messages = [
                        *messages,
                        {"role": "assistant", "content": answer},
                        {"role": "user", "content": _reask(exc)},
                    ]
                    raise _Unfit from None
        copied = spec.copied(fields, text)
        if copied is not None:
            raise LLMCopied(f"回答照抄了提示中的说明（「{copied[:30]}」），不作为证人")
        return fields, mode

    def _asked(self, model, messages: list, room: int, usage: Usage):
        """One answer, in the client's mode or, when the endpoint refuses that mode's
        format, the next one it honours."""
        while True:
            mode = self.mode
            try:
                return mode, self.with_retries(mode, model, messages, room, usage)
            except Refused as exc:
                self._fall_back(mode, str(exc))

    def _fall_back(self, mode: str, reason: str) -> str:
        """The next mode the endpoint honours after one it refused; the client keeps it."""
        if self.settings.mode:
            raise LLMRejected(
                f"端点不接受 {mode} 方式的结构化输出（{reason}）；请换一种 --structured-output"
            )
        with self._lock:
            if self.mode != mode:  # another thread already moved on
                return self.mode
            later = [m for m in self.profile.honoured if MODES.index(m) > MODES.index(mode)]
            if not later:
                raise LLMRejected(f"端点拒绝了 {mode} 方式，也没有别的可用方式（{reason}）")
            self.mode = later[0]
            self.why = f"{mode} 被端点拒绝（{reason}），改用 {self.mode}"
            self.profile = self.profile.moved_to(self.mode, self.why)
        from .endpoint import remember

        remember(self.settings, self.profile)
        return self.mode

    def with_retries(self, mode: str, model, messages: list, room: int, usage: Usage, **kwargs):
        """``exchange``, retried by tenacity on transport failures (``transport_attempts``
        in all), waiting as ``wait`` says; ``kwargs`` change the retrying (the start
        check's patience)."""

        def failed(state) -> None:
            usage.failures += 1

        def again(state) -> None:
            usage.retries += 1

        retrying = Retrying(
            stop=stop_after_attempt(self.settings.transport_attempts),
            retry=retry_if_exception_type(Retryable),
            wait=self.wait,
            after=failed,
            before_sleep=again,
            reraise=True,
        )
        try:
            return retrying.copy(**kwargs)(self.exchange, mode, model, messages, room, usage)
        except Retryable as exc:
            if kwargs:
                raise
            attempts = self.settings.transport_attempts
            raise LLMTransportError(f"{attempts} 次请求均失败：{self._line(exc.cause)}") from None

    def wait(self, state) -> float:
        """tenacity's wait: the server's Retry-After when it sent one, else tenacity's
        exponential backoff with jitter (which spreads clients apart)."""
        exc = state.outcome.exception()
        if isinstance(exc, Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, self.settings.backoff_cap)
        return self._backoff(state)

    def exchange(self, mode: str, model, messages: list, room: int, usage: Usage):
        """One streamed request, its body instructor's for ``mode``, and its reply, counted."""
        from instructor import Mode
        from instructor.processing.response import handle_response_model

        refusal = self._breaker.refusal()
        if refusal is not None:
            raise LLMUnavailable(refusal)
        _, kwargs = handle_response_model(model, mode=Mode[mode.upper()], messages=messages)
        if mode == "json_schema":  # OpenAI enforces a schema only when it is marked strict
            kwargs["response_format"]["json_schema"]["strict"] = True
        kwargs |= {
            "model": self.settings.model,
            "max_tokens": room,
            "temperature": 0,
            "stream": True,
        }
        sent = request_tokens(kwargs)
        budget = self.settings.max_tokens_per_doc
        if budget is not None:
            # Tokenizers differ: the request is reserved a quarter over its estimate.
            left = budget - usage.total_tokens - sent * 5 // 4
            if left < MIN_ANSWER_TOKENS:
                raise LLMBudgetExceeded(
                    f"已用 {usage.total_tokens} 个 token，这次请求约 {sent} 个，"
                    f"剩下的不够回答：每份报告的上限为 {budget}"
                )
            kwargs["max_tokens"] = min(room, left)
        if self.stream_usage:
            kwargs["stream_options"] = {"include_usage": True}
        if self._rate is not None:
            self._rate.wait()
        streamed, looped = self._stream(kwargs)
        streamed.sent = sent
        usage.requests += 1
        counted = streamed.usage
        if counted is not None and getattr(counted, "total_tokens", None) is not None:
            usage.prompt_tokens += counted.prompt_tokens or 0
            usage.completion_tokens += counted.completion_tokens or 0
            usage.total_tokens += counted.total_tokens
            self._check_cut(counted.prompt_tokens or 0, sent)
        else:
            written = estimate_tokens(streamed.written)
            usage.estimated += 1
            usage.prompt_tokens += sent
            usage.completion_tokens += written
            usage.total_tokens += sent + written
        if looped:
            raise LLMRepeating(
                f"回答不断重复同一段文字，写到约 {estimate_tokens(streamed.written)} 个 token 时停止"
            )
        if not streamed.choices:
            raise LLMEmptyAnswer("回答里没有任何内容（choices 为空）")
        return streamed

    def _stream(self, kwargs: dict) -> tuple[modes.Streamed, bool]:
        """Read the answer as it is written; stop reading (which closes the connection and
        so the server's generation) when it loops."""
        import openai

        streamed, watch = modes.Streamed(), _Repetition()
        try:
            stream = self._create(**kwargs)
            with stream:
                for chunk in stream:
                    streamed.add(chunk)
                    if watch.looping(streamed.written):
                        self._breaker.record(True)
                        return streamed, True
        except openai.OpenAIError as exc:
            # The endpoint answered, if only to refuse; a 429 is neither way.
            self._breaker.record(None if is_transport(exc) else True)
            if self._refuse(exc, kwargs):
                kwargs.pop("stream_options")
                return self._stream(kwargs)  # asked again without it, not counted a failure
            raise self._failure(exc) from None
        except Exception as exc:
            if type(exc).__module__.split(".")[0] not in ("httpx", "httpx2", "httpcore"):
                raise
            self._breaker.record(False)  # the connection broke mid-answer
            raise Retryable(exc, None) from None
        self._breaker.record(True)
        return streamed, False

    def _refuse(self, exc: BaseException, kwargs: dict) -> bool:
        """Refusals that are not failures: of ``stream_options`` (True: ask again without
        it), of the structured-output format (asked in another mode), of the key, the quota
        or the model (no more asking this run)."""
        import openai

        if not isinstance(exc, openai.APIStatusError):
            return False
        status, line = exc.status_code, self._line(exc)
        if "stream_options" in kwargs and modes.names_stream_options(status, line):
            self.stream_usage = False
            return True
        if modes.is_format_refusal(status, line):
            raise Refused(redact(f"HTTP {status}：{_message(exc)}", self.settings.secrets))
        fatal = fatal_reason(exc)
        if fatal is not None:
            self._breaker.stop(fatal)
            raise LLMUnavailable(fatal)
        return False

    def _failure(self, exc: BaseException) -> Exception:
        """What a failed request is: worth another try, or one of the ``LLMError`` kinds."""
        import openai

        if is_transport(exc):
            if not isinstance(exc, openai.RateLimitError):
                self._breaker.record(False)
            return Retryable(exc, retry_after(exc))
        if isinstance(exc, openai.APIStatusError):
            if _CONTEXT_SAID.search(self._line(exc)):
                return LLMContextExceeded(f"端点说请求超出了模型的上下文：{self._line(exc)}")
            return LLMRejected(f"端点拒绝了请求（HTTP {exc.status_code}）：{self._line(exc)}")
        return LLMError(self._line(exc))

    def _check_cut(self, counted: int, sent: int) -> None:
        """A server that read far less of the prompt than was sent cut it to its context."""
        ratio = self.profile.ratio
        if ratio is None:
            return
        expected = ratio * sent
        if counted >= CUT_SHARE * expected and (
            counted % 1024 or counted >= ROUND_CUT_SHARE * expected
        ):
            return
        with self._lock:  # the context it cut to is the one to plan for, from now on
            context = min(self.profile.context or counted, counted)
            self.profile = replace(self.profile, context=context)
        from .endpoint import remember

        remember(self.settings, self.profile)  # a later run plans within it from the start
        raise LLMContextExceeded(
            f"端点只读了请求的 {counted} 个 token（约 {round(ratio * sent)} 个），"
            "其余被截掉：模型的上下文太小（如 Ollama 默认的 num_ctx），请调大，或用 --context-tokens"
        )

    def _line(self, exc: BaseException) -> str:
        return redact(one_line(exc), self.settings.secrets)


def fatal_reason(exc: BaseException) -> str | None:
    """A refusal that waiting will not cure: the key, an exhausted quota, an unknown model."""
    import openai

    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return f"端点拒绝了密钥（HTTP {exc.status_code}）；请检查 OPENAI_API_KEY"
    if isinstance(exc, openai.RateLimitError) and _code(exc) == "insufficient_quota":
        return "端点说额度已用完（insufficient_quota）；请检查账户余额"
    if isinstance(exc, openai.NotFoundError):
        return "端点没有这个模型，或路径不对（HTTP 404）；请检查 --model / GOUJI_MODEL 和 OPENAI_BASE_URL"
    return None


def is_transport(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, openai.RateLimitError):
        return _code(exc) != "insufficient_quota"
    if isinstance(exc, openai.APIConnectionError):
        return True  # APITimeoutError is an APIConnectionError
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    try:
        return max(0.0, float(header)) if header is not None else None
    except ValueError:
        return None


def _code(exc: BaseException) -> str | None:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        return inner.get("code") or inner.get("type")
    return getattr(exc, "code", None)


def _message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(inner.get("message"), str):
            return " ".join(inner["message"].split())[:200]
    return " ".join(str(exc).split())[:200]


# A refusal that names the model's context (OpenAI, vLLM, llama.cpp say so in English).
_CONTEXT_SAID = re.compile(r"context (?:length|size|window)|maximum context|too many tokens", re.I)


def one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


# What a re-ask says about the errors, in the prompt's language: the first few, not all.
_PROBLEM = {
    "missing": "缺少 {loc}",
    "string_type": "{loc} 应为字符串",
    "int_type": "{loc} 应为整数",
    "int_parsing": "{loc} 应为整数",
    "int_from_float": "{loc} 应为整数",
    "list_type": "{loc} 应为数组",
    "dict_type": "回答应为一个 JSON 对象",
    "model_type": "回答应为一个 JSON 对象",
    "json_invalid": "不是一个 JSON 对象",
}


def _problems(exc: Exception, first: int = 3) -> str:
    if not isinstance(exc, ValidationError):
        return "不是一个 JSON 对象"  # instructor found no answer where the mode puts it
    errors = exc.errors()
    said = []
    for error in errors[:first]:
        loc = " ".join(str(p) if isinstance(p, str) else f"第 {p + 1} 项" for p in error["loc"])
        said.append(_PROBLEM.get(error["type"], "{loc} 格式不对").format(loc=loc or "回答"))
    more = f"，另有 {len(errors) - first} 处" if len(errors) > first else ""
    return "；".join(said) + more


def _reask(exc: Exception) -> str:
    return f"上面的回答不符合要求：{_problems(exc)}。请改正后重新回答完整的 JSON 对象。"


def request_tokens(kwargs: dict) -> int:
    """What the model reads of a request: its messages and, in tools mode, the schema."""
    read = {k: kwargs[k] for k in ("messages", "tools", "response_format") if k in kwargs}
    return estimate_tokens(json.dumps(read, ensure_ascii=False, default=str))


# user:password@ in a URL, and query parameters that carry keys or tokens.
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/\s@]+@")
_SECRET_PARAMETER = re.compile(
    r"([?&][\w.-]*(?:key|token|secret|password|passwd|sig|auth)[\w.-]*=)[^&#\s]+", re.I
)


def redact(text: str, secrets: Iterable[str] | str | None = ()) -> str:
    """``text`` with URL credentials and every secret (the API key, whatever its length;
    the URL's password and its Basic-auth form) replaced by ``***``: for anything gouji
    writes that may hold the endpoint or an echo of them."""
    text = _URL_CREDENTIALS.sub("***@", text)
    text = _SECRET_PARAMETER.sub(r"\1***", text)
    if isinstance(secrets, str):
        secrets = (secrets,)
    for secret in sorted(filter(None, secrets or ()), key=len, reverse=True):
        # A short key is masked where it stands as a word, not inside other words.
        text = re.sub(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", "***", text)
    return text


class _Redacting(logging.Filter):
    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage(), self.secrets), None
        return True


def library_logs(verbose: bool, secrets: Iterable[str] | str | None = ()) -> None:
    """openai and httpx log every failed attempt in English: kept off stderr, or with
    ``verbose`` shown there, redacted."""
    secrets = (secrets,) if isinstance(secrets, str) else tuple(secrets or ())
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = False
        if verbose:
            handler = logging.StreamHandler(sys.stderr)
            handler.addFilter(_Redacting(secrets))
            handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
        else:
            logger.addHandler(logging.NullHandler())


__all__ = [
    "MODES",
    "Answer",
    "LLMClient",
    "LLMError",
    "LLMSettings",
    "Usage",
    "estimate_tokens",
    "library_logs",
    "redact",
]
