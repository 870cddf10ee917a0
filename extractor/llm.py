"""The LLM witness: instructor over any OpenAI-compatible endpoint.

* Transport failures (429 honouring Retry-After, 5xx, timeouts, lost connections) are
  retried with tenacity, exponential backoff with jitter, a bounded number of times.
* instructor re-asks only when the answer does not fit the response model (schema or type
  errors). A failed sum is never shown to the model: checks run later, on its answer.
* An answer cut off at the token limit fails at once.
* Answers are cached on disk (diskcache), keyed by endpoint, model, mode, prompt version,
  response schema and input text, so a rerun sends no request.
* Every attempt's tokens are counted, retries and failures included.

openai and instructor are imported when a client is made: they take over a second to import,
and a run on the reader alone never needs them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import diskcache
from pydantic import BaseModel, create_model
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from .errors import (
    LLMBudgetExceeded,
    LLMError,
    LLMSchemaError,
    LLMTransportError,
    LLMTruncated,
)
from .tasks import task_named

MODES = ("tools", "json", "json_schema", "md_json")  # instructor's modes, by their lower-case names
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "gouji" / "llm"


class _Retryable(Exception):
    """A transport failure worth another try, with the server's Retry-After if it sent one."""

    def __init__(self, cause: Exception, retry_after: float | None) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.retry_after = retry_after


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    requests: int = 0  # answers received (each re-ask is one more)
    retries: int = 0  # transport retries
    failures: int = 0  # transport attempts that failed
    cache_hits: int = 0

    def add(self, other: Usage) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LLMSettings:
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    mode: str | None = None  # None: chosen from the endpoint
    timeout: float = 120.0
    transport_attempts: int = 5
    reasks: int = 2
    max_output_tokens: int = 8192
    # The model's context (prompt and answer): no request is planned past it.
    context_tokens: int = 16384
    max_tokens_per_doc: int | None = None
    cache_dir: Path | None = None
    use_cache: bool = True
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    requests_per_second: float | None = None  # shared by every thread of a run

    @property
    def configured(self) -> bool:
        return bool(self.model)

    def resolved_mode(self) -> str:
        """OpenAI and most servers take tools; DeepSeek's and Ollama's OpenAI APIs are
        more reliable with JSON mode."""
        if self.mode:
            return self.mode
        url = (self.base_url or "").lower()
        if "deepseek" in url or "11434" in url or "ollama" in url:
            return "json"
        return "tools"


@dataclass
class Answer:
    fields: dict  # tables: rows as printed, by part; prose: claims, agency, year


class _CallState(threading.local):
    usage: Usage | None = None


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


class LLMClient:
    """One client for a run; safe to share between threads."""

    def __init__(self, settings: LLMSettings) -> None:
        import instructor
        import openai

        self.settings = settings
        self.mode = settings.resolved_mode()
        self._openai = openai.OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key or "not-needed",
            timeout=settings.timeout,
            max_retries=0,  # transport retries are ours, so every attempt is counted
        )
        self._client = instructor.from_openai(self._openai, mode=instructor.Mode[self.mode.upper()])
        self._state = _CallState()
        self._client.on("completion:response", self._count)
        if settings.requests_per_second:
            self._client.on("completion:kwargs", RateLimit(settings.requests_per_second).wait)
        self._cache = (
            diskcache.Cache(str(settings.cache_dir or DEFAULT_CACHE_DIR))
            if settings.use_cache
            else None
        )

    @property
    def endpoint(self) -> str:
        return str(self._openai.base_url)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
        self._openai.close()

    def _count(self, response) -> None:
        usage = self._state.usage
        if usage is None:
            return
        usage.requests += 1
        counted = getattr(response, "usage", None)
        if counted is not None:
            usage.prompt_tokens += getattr(counted, "prompt_tokens", 0) or 0
            usage.completion_tokens += getattr(counted, "completion_tokens", 0) or 0
            usage.total_tokens += getattr(counted, "total_tokens", 0) or 0

    def cache_key(self, task: str, text: str) -> str:
        spec = task_named(task)
        payload = {
            "endpoint": self.endpoint,
            "model": self.settings.model,
            "mode": self.mode,
            "prompt": spec.version,
            "schema": spec.schema_digest,
            "text": text,
        }
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def ask(self, task: str, text: str, usage: Usage, max_tokens: int | None = None) -> Answer:
        """Ask one task about ``text``, the answer given at most ``max_tokens`` (by default
        the settings' cap). Raises ``LLMError`` with a one-line reason."""
        key = self.cache_key(task, text)
        if self._cache is not None:
            hit = self._cache.get(key)
            if hit is not None:
                usage.cache_hits += 1
                return Answer(hit)
        budget = self.settings.max_tokens_per_doc
        if budget is not None and usage.total_tokens >= budget:
            raise LLMBudgetExceeded(
                f"已用 {usage.total_tokens} 个 token，达到每份报告的上限 {budget}"
            )
        spec = task_named(task)
        room = min(max_tokens or self.settings.max_output_tokens, self.settings.max_output_tokens)
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.transport_attempts),
            retry=retry_if_exception_type(_Retryable),
            wait=self._wait,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        usage.retries += 1
                    try:
                        result = self._call(spec, text, usage, room)
                    except _Retryable:
                        usage.failures += 1
                        raise
        except _Retryable as exc:
            raise LLMTransportError(
                f"{self.settings.transport_attempts} 次请求均失败：{_one_line(exc.cause)}"
            ) from None
        fields = self._fields(task, result)
        if self._cache is not None:
            self._cache.set(key, fields)
        return Answer(fields)

    def _wait(self, retry_state) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, self.settings.backoff_cap)
        n = retry_state.attempt_number
        ceiling = min(self.settings.backoff_cap, self.settings.backoff_base * 2 ** (n - 1))
        return random.uniform(ceiling / 2, ceiling)  # jitter spreads clients apart

    def _call(self, spec, text: str, usage: Usage, max_tokens: int):
        import openai
        from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException

        self._state.usage = usage
        try:
            return self._client.chat.completions.create(
                model=self.settings.model,
                response_model=_response_class(spec.name),
                messages=[{"role": "user", "content": spec.render(text)}],
                max_retries=self.settings.reasks,
                max_tokens=max_tokens,
                temperature=0,
            )
        except IncompleteOutputException:
            raise LLMTruncated("回答在 token 上限处被截断") from None
        except InstructorRetryException as exc:
            cause = exc.__cause__ or exc
            if _is_transport(cause):
                raise _Retryable(cause, _retry_after(cause)) from None
            raise LLMSchemaError(
                f"{exc.n_attempts} 次回答都不符合格式：{_one_line(cause)}"
            ) from None
        except openai.OpenAIError as exc:
            if _is_transport(exc):
                raise _Retryable(exc, _retry_after(exc)) from None
            raise LLMError(_one_line(exc)) from None
        finally:
            self._state.usage = None

    @staticmethod
    def _fields(task: str, result) -> dict:
        return result.model_dump()  # tables: rows as printed, by part; prose: claims and meta


@functools.cache
def _response_class(task: str) -> type[BaseModel]:
    """The task's model as instructor's schema class, made once: given a plain model,
    instructor builds this subclass, and its JSON schema, anew on every request."""
    import instructor

    model = task_named(task).model
    return create_model(
        model.__name__,
        __base__=(model, instructor.OpenAISchema),
        __doc__=model.__doc__,
        __module__=__name__,
    )


def _is_transport(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, openai.APIConnectionError | openai.RateLimitError):
        return True  # APITimeoutError is an APIConnectionError
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    try:
        return max(0.0, float(header)) if header is not None else None
    except ValueError:
        return None


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


__all__ = [
    "MODES",
    "Answer",
    "LLMClient",
    "LLMError",
    "LLMSettings",
    "Usage",
]
