"""The LLM witness: instructor over any OpenAI-compatible endpoint.

* Before a batch, ``check_endpoint`` sends one request of a few tokens: a dead endpoint, a
  refused key or an unknown model stops the run in seconds with one line saying what to check.
* Transport failures (429 honouring Retry-After, 5xx, timeouts, lost connections) are
  retried with tenacity, exponential backoff with jitter, a bounded number of times. After
  ``breaker_failures`` of them in a row (any thread; a 429 is the endpoint pacing us, not
  failing) the client stops asking: every later task fails at once, unsent, as
  ``llm.unavailable``, and the run finishes on the reader alone.
* instructor re-asks only when the answer does not fit the response model (schema or type
  errors). A failed sum is never shown to the model: checks run later, on its answer.
  A refused request (4xx), a reply with no choices and an answer cut off at the token limit
  fail at once, each with its own code.
* Every request, re-asks included, passes ``_send``: unsent when the breaker is open or the
  document's token budget cannot hold the request and an answer (the answer's
  ``max_tokens`` is cut to what is left), so the budget is never exceeded; counted after,
  with tokens estimated (and counted as estimated) when the reply has no ``usage``.
* Answers are cached on disk (diskcache), keyed by endpoint, model, mode, prompt version,
  response schema and input text, so a rerun sends no request but the check.
* The API key is written nowhere, and credentials in the endpoint's URL are redacted
  wherever it is written (records, errors, logs).

openai and instructor are imported when a client is made: they take over a second to import,
and a run on the reader alone never needs them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import random
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import diskcache
from pydantic import BaseModel, create_model
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from .errors import (
    EndpointUnavailable,
    LLMBudgetExceeded,
    LLMEmptyAnswer,
    LLMError,
    LLMRejected,
    LLMSchemaError,
    LLMTransportError,
    LLMTruncated,
    LLMUnavailable,
)
from .model import Usage
from .tasks import estimate_tokens, task_named

MODES = ("tools", "json", "json_schema", "md_json")  # instructor's modes, by their lower-case names
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "gouji" / "llm"
CHECK_TIMEOUT = 10.0  # seconds the check before a batch waits, at most
# Below this many tokens left for the answer, a request is not sent: it could only be cut off.
MIN_ANSWER_TOKENS = 256
LIBRARY_LOGGERS = ("openai", "httpx", "httpx2", "httpcore", "instructor")


class _Retryable(Exception):
    """A transport failure worth another try, with the server's Retry-After if it sent one."""

    def __init__(self, cause: Exception, retry_after: float | None) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.retry_after = retry_after


@dataclass
class LLMSettings:
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
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
    breaker_failures: int = 5  # transport failures in a row before the client stops asking

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


def _openai_client(settings: LLMSettings, timeout: float):
    import openai

    return openai.OpenAI(
        base_url=settings.base_url,
        api_key=settings.api_key or "not-needed",
        timeout=timeout,
        max_retries=0,  # transport retries are ours, so every attempt is counted
    )


def check_endpoint(settings: LLMSettings) -> None:
    """One request of a few tokens, before a batch: the endpoint answers, takes the key and
    knows the model. Raises ``EndpointUnavailable`` with one line saying what to check."""
    import openai

    timeout = min(settings.timeout, CHECK_TIMEOUT)
    client = _openai_client(settings, timeout)
    where = redact(str(client.base_url), settings.api_key)
    try:
        client.chat.completions.create(
            model=settings.model,
            messages=[{"role": "user", "content": "ping"}],
            max_tokens=1,
        )
    except openai.APITimeoutError:
        raise EndpointUnavailable(
            f"LLM 端点 {where} 在 {timeout:g} 秒内没有回应；请检查 OPENAI_BASE_URL 和服务是否在运行"
        ) from None
    except openai.APIConnectionError as exc:
        reason = redact(_one_line(exc.__cause__ or exc), settings.api_key)
        raise EndpointUnavailable(
            f"无法连接 LLM 端点 {where}（{reason}）；请检查 OPENAI_BASE_URL 和服务是否在运行"
        ) from None
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise EndpointUnavailable(
            f"LLM 端点 {where} 拒绝了密钥（HTTP {exc.status_code}）；请检查 OPENAI_API_KEY"
        ) from None
    except openai.NotFoundError:
        raise EndpointUnavailable(
            f"LLM 端点 {where} 没有模型 {settings.model}，或路径不对（HTTP 404）；"
            "请检查 --model / GOUJI_MODEL 和 OPENAI_BASE_URL（通常以 /v1 结尾）"
        ) from None
    except openai.APIStatusError as exc:
        reason = redact(_one_line(exc), settings.api_key)
        raise EndpointUnavailable(
            f"LLM 端点 {where} 回答 HTTP {exc.status_code}（{reason}）；"
            f"请检查 OPENAI_BASE_URL 和模型 {settings.model}"
        ) from None
    finally:
        client.close()


class _Breaker:
    """Open after ``limit`` transport failures in a row, across threads; once open, it
    stays open for the run (no request is sent that could close it)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.failures = limit, 0
        self.lock = threading.Lock()

    @property
    def open(self) -> bool:
        return self.failures >= self.limit

    def record(self, ok: bool) -> None:
        with self.lock:
            self.failures = 0 if ok else self.failures + 1


class LLMClient:
    """One client for a run; safe to share between threads."""

    def __init__(self, settings: LLMSettings) -> None:
        import instructor

        self.settings = settings
        self.mode = settings.resolved_mode()
        self._openai = _openai_client(settings, settings.timeout)
        # Every request instructor makes, re-asks included, goes through ``_send``.
        completions = self._openai.chat.completions
        completions.create = functools.partial(self._send, completions.create)
        self._client = instructor.from_openai(self._openai, mode=instructor.Mode[self.mode.upper()])
        self._state = _CallState()
        self._breaker = _Breaker(settings.breaker_failures)
        self._rate = (
            RateLimit(settings.requests_per_second) if settings.requests_per_second else None
        )
        self._cache = (
            diskcache.Cache(str(settings.cache_dir or DEFAULT_CACHE_DIR))
            if settings.use_cache
            else None
        )

    @property
    def endpoint(self) -> str:
        return redact(str(self._openai.base_url), self.settings.api_key)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
        self._openai.close()

    def _send(self, create, **kwargs):
        import openai

        usage = self._state.usage or Usage()  # a request made outside ``ask`` counts nowhere
        if self._breaker.open:
            raise LLMUnavailable(
                f"端点连续 {self._breaker.limit} 次传输失败，本次运行不再询问；恢复后用 --resume 补问"
            )
        budget = self.settings.max_tokens_per_doc
        if budget is not None:
            request_tokens = _request_tokens(kwargs)
            # Tokenizers differ: the request is reserved a quarter over its estimate.
            room = budget - usage.total_tokens - request_tokens * 5 // 4
            if room < MIN_ANSWER_TOKENS:
                raise LLMBudgetExceeded(
                    f"已用 {usage.total_tokens} 个 token，这次请求约 {request_tokens} 个，"
                    f"剩下的不够回答：每份报告的上限为 {budget}"
                )
            kwargs["max_tokens"] = min(kwargs.get("max_tokens") or room, room)
        if self._rate is not None:
            self._rate.wait()
        try:
            response = create(**kwargs)
        except openai.OpenAIError as exc:
            if _is_transport(exc) and not isinstance(exc, openai.RateLimitError):
                self._breaker.record(ok=False)
            raise
        self._breaker.record(ok=True)
        usage.requests += 1
        counted = getattr(response, "usage", None)
        if counted is not None and counted.total_tokens is not None:
            usage.prompt_tokens += counted.prompt_tokens or 0
            usage.completion_tokens += counted.completion_tokens or 0
            usage.total_tokens += counted.total_tokens
        else:
            asked, answer = _request_tokens(kwargs), estimate_tokens(_reply_text(response))
            usage.estimated += 1
            usage.prompt_tokens += asked
            usage.completion_tokens += answer
            usage.total_tokens += asked + answer
        if not response.choices:
            raise LLMEmptyAnswer("回答里没有任何内容（choices 为空）")
        return response

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
                f"{self.settings.transport_attempts} 次请求均失败：{self._line(exc.cause)}"
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
            raise self._failure(exc.__cause__ or exc, exc.n_attempts) from None
        except Exception as exc:
            raise self._failure(exc, 1) from None
        finally:
            self._state.usage = None

    def _failure(self, exc: BaseException, attempts: int) -> Exception:
        """What a failed request is: worth another try, or one of the ``LLMError`` kinds."""
        import openai

        if isinstance(exc, LLMError):
            return exc
        if _is_transport(exc):
            return _Retryable(exc, _retry_after(exc))
        if isinstance(exc, openai.APIStatusError):
            return LLMRejected(f"端点拒绝了请求（HTTP {exc.status_code}）：{self._line(exc)}")
        if isinstance(exc, openai.OpenAIError):
            return LLMError(self._line(exc))
        return LLMSchemaError(f"{attempts} 次回答都不符合格式：{self._line(exc)}")

    def _line(self, exc: BaseException) -> str:
        return redact(_one_line(exc), self.settings.api_key)

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


def _request_tokens(kwargs: dict) -> int:
    """What the model reads of a request: its messages and, in tools mode, the schema."""
    read = {k: kwargs[k] for k in ("messages", "tools", "response_format") if k in kwargs}
    return estimate_tokens(json.dumps(read, ensure_ascii=False, default=str))


def _reply_text(response) -> str:
    """What the model wrote: message contents and tool-call arguments."""
    parts = []
    for choice in getattr(response, "choices", None) or []:
        message = choice.message
        parts.append(message.content or "")
        parts += [call.function.arguments or "" for call in message.tool_calls or []]
    return "".join(parts)


# user:password@ in a URL, and query parameters that carry keys or tokens.
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/\s@]+@")
_SECRET_PARAMETER = re.compile(
    r"([?&][\w.-]*(?:key|token|secret|password|passwd|sig|auth)[\w.-]*=)[^&#\s]+", re.I
)


def redact(text: str, api_key: str | None = None) -> str:
    """``text`` with URL credentials and the API key (when it is long enough to be one)
    replaced by ``***``: for anything gouji writes that may hold the endpoint."""
    text = _URL_CREDENTIALS.sub("***@", text)
    text = _SECRET_PARAMETER.sub(r"\1***", text)
    if api_key and len(api_key) >= 8:
        text = text.replace(api_key, "***")
    return text


class _Redacting(logging.Filter):
    def __init__(self, api_key: str | None) -> None:
        super().__init__()
        self.api_key = api_key

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage(), self.api_key), None
        return True


def library_logs(verbose: bool, api_key: str | None = None) -> None:
    """openai, httpx and instructor log every failed attempt in English: kept off stderr,
    or with ``verbose`` shown there, redacted."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = False
        if verbose:
            handler = logging.StreamHandler(sys.stderr)
            handler.addFilter(_Redacting(api_key))
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
    "check_endpoint",
    "estimate_tokens",
    "library_logs",
    "redact",
]
