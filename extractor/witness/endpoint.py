"""The start check: what an endpoint and model can do, learned once and cached.

Before the first document, ``start`` asks the endpoint one tiny request per structured-output
mode (``modes.MODES``, best first; only the user's when ``--structured-output`` names one).
The request's prompt asks a question whose natural answer is a sentence, so only a mode
that really carries the schema to the model (a grammar, a forced tool call, a schema in a
system message the model follows) comes back as schema-valid JSON: a relay that accepts
``json_schema`` and drops it shows here, not on the first report. What each mode did is
kept: honoured (perhaps with the answer in ``content`` or after a ``<think>`` block),
refused (a 400/422/500 naming the format), or answered outside the schema. The best mode
honoured is used, and the record's ``llm`` block says which and why.

It also reads what the server tells of itself — llama.cpp's ``/props`` (its slots, the
requests it serves at once, and a slot's context), Ollama's ``/api/ps`` (the context a model
is loaded with), vLLM's ``/v1/models`` (``max_model_len``) — and how the server counts
tokens against gouji's estimate, which shows later when a server cuts a prompt.

The endpoint is asked as it asks to be: a 429 or a 5xx is waited out as its Retry-After
says (else with backoff), at most ``patience`` seconds in all, each wait said on stderr.
Only an unreachable or silent host, a refused key, an exhausted quota and an unknown model
stop the run (exit 2, nothing written). What was learned is cached per endpoint and model
beside the answers, so a later run over cached answers sends nothing at all, and works with
the endpoint switched off.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tenacity import retry_if_exception

from ..errors import EndpointUnavailable, LLMError, LLMUnavailable
from ..model import Usage
from . import modes
from .llm import (
    DEFAULT_CACHE_DIR,
    LLMClient,
    LLMSettings,
    Refused,
    Retryable,
    one_line,
    openai_client,
    redact,
)
from .tasks import ClosedModel

PATIENCE = 60.0  # seconds the check waits, in all, for an endpoint that asks to wait
PROBE_TIMEOUT = 60.0  # the longest a probe may stay silent (a local server loading its model)
PROBE_TOKENS = 512
# A question whose natural answer is a sentence: only a mode that carries the schema to the
# model gets the object back. Long enough that the server's count of it against gouji's
# estimate says how its tokenizer counts a report.
PROBE_PROMPT = (
    "下面是一份政府信息公开工作年度报告中的一段话和它的表格的两行：“2024年，本机关共收到政府信息公开申请"
    "34件，其中自然人提出30件，法人或其他组织提出4件；上年结转2件。全年办结35件，其中予以公开9件，"
    "部分公开3件，不予公开2件，无法提供10件，其他处理11件；结转下年度继续办理1件。”\n"
    "一、本年新收政府信息公开申请数量|30|4|0|0|0|0|34\n二、上年结转政府信息公开申请数量|2|0|0|0|0|0|2\n"
    "请用一句话说说这段话讲了什么。"
)


class Probe(ClosedModel):
    """按要求回答。"""

    n: int


@dataclass(frozen=True)
class Profile:
    """What the start check learned of one endpoint and model."""

    mode: str  # the structured-output mode to use
    why: str  # in Chinese, for the record and the summary
    honoured: tuple[str, ...] = ()  # the modes that passed, best first
    tried: tuple[tuple[str, str], ...] = ()  # each mode asked, and what it did
    slots: int | None = None  # requests the server serves at once, when it says
    context: int | None = None  # the context a request gets there, when it says
    ratio: float | None = None  # the server's prompt tokens per estimated token
    thinks: bool = False  # the model writes its reasoning before the answer
    stream_usage: bool = True  # the server takes stream_options (a usage block when streaming)
    complete: bool = True  # every mode was asked (not only the user's)

    @classmethod
    def assumed(cls, mode: str | None) -> Profile:
        """For a client made without a check: the user's mode, else the best one, the
        others taken in turn when it is refused."""
        if mode:
            return cls(mode, "用户指定（--structured-output）", (mode,), complete=False)
        why = f"未做运行前检查：先用 {modes.MODES[0]}，被端点拒绝时依次换用其他方式"
        return cls(modes.MODES[0], why, modes.MODES, complete=False)

    def moved_to(self, mode: str, why: str) -> Profile:
        return replace(self, mode=mode, why=why)

    def describe(self) -> str:
        said = f"结构化输出用 {self.mode}（{self.why}）"
        if self.slots:
            said += f"；服务器可同时处理 {self.slots} 个请求"
        if self.context:
            said += f"；每个请求的上下文 {self.context} 个 token"
        return said


def _key(settings: LLMSettings) -> str:
    where = redact(settings.base_url or "https://api.openai.com/v1", settings.secrets)
    blob = json.dumps({"profile": 1, "endpoint": where, "model": settings.model})
    return hashlib.sha256(blob.encode()).hexdigest()


def _folder(settings: LLMSettings) -> Path | None:
    return (settings.cache_dir or DEFAULT_CACHE_DIR) if settings.use_cache else None


def cached(settings: LLMSettings) -> Profile | None:
    """The profile a former check left, without a request (and without making a cache)."""
    folder = _folder(settings)
    if folder is None or not folder.is_dir():
        return None
    import diskcache

    with diskcache.Cache(str(folder)) as cache:
        found = cache.get(_key(settings))
    try:
        profile = Profile(**found)
    except TypeError:  # none, or a former version's
        return None
    if settings.mode is None and not profile.complete:
        return None  # only the user's mode was asked: ask the others now
    return profile


def remember(settings: LLMSettings, profile: Profile) -> None:
    folder = _folder(settings)
    if folder is None:
        return
    import diskcache

    with diskcache.Cache(str(folder)) as cache:
        cache.set(_key(settings), asdict(profile))


def start(
    settings: LLMSettings, say: Callable[[str], None] = lambda line: None
) -> tuple[LLMSettings, bool]:
    """The settings with the endpoint's profile, and whether a request was sent for it:
    none when a former check's profile is cached. Raises ``EndpointUnavailable`` with one
    Chinese line when the endpoint cannot serve the run."""
    profile = cached(settings)
    if profile is not None:
        return replace(settings, profile=profile), False
    profile = check(settings, say)
    remember(settings, profile)
    return replace(settings, profile=profile), True


def check(settings: LLMSettings, say: Callable[[str], None], patience: float = PATIENCE) -> Profile:
    """Ask the endpoint: the modes it honours, what it tells of itself."""
    where = redact(settings.base_url or "https://api.openai.com/v1", settings.secrets)
    probe_settings = replace(
        settings,
        timeout=min(settings.timeout, PROBE_TIMEOUT),
        use_cache=False,
        max_tokens_per_doc=None,
        requests_per_second=None,
        breaker_failures=10**6,
    )
    client = LLMClient(replace(probe_settings, profile=Profile.assumed(settings.mode)))
    waiting = _Waiting(patience, say)
    tried: list[tuple[str, str]] = []
    honoured: list[str] = []
    ratios: list[float] = []
    thinks = False
    try:
        for mode in (settings.mode,) if settings.mode else modes.MODES:
            outcome = _probe(client, mode, settings, where, waiting)
            tried.append((mode, outcome.said))
            if outcome.ok:
                honoured.append(mode)
            if outcome.ratio:
                ratios.append(outcome.ratio)
            thinks = thinks or outcome.thinks
        stream_usage = client.stream_usage
    finally:
        client.close()
    refused = [what for _, what in tried if what.startswith("被拒绝")]
    if settings.mode and refused:
        raise EndpointUnavailable(
            f"LLM 端点 {where} 不接受 {settings.mode} 方式的结构化输出（{refused[0]}）；"
            "请换一种 --structured-output，或不指定，由检查选出"
        )
    if not honoured and not settings.mode:
        said = "；".join(f"{m} {what}" for m, what in tried)
        raise EndpointUnavailable(
            f"LLM 端点 {where} 的模型 {settings.model} 不能按格式回答（{said}）；"
            "请换一个模型，或检查 OPENAI_BASE_URL 指向的服务"
        )
    # The user's mode wins, also where the probe's answer was not held to the schema: the
    # report's prompt spells the answer's form out, and every answer is validated.
    chosen = settings.mode or honoured[0]
    why = "；".join(f"{m} {what}" for m, what in tried)
    if settings.mode:
        why = f"用户指定（--structured-output）；{why}"
    facts = _server_facts(settings)
    return Profile(
        mode=chosen,
        why=why,
        honoured=tuple(honoured),
        tried=tuple(tried),
        slots=facts.get("slots"),
        context=facts.get("context"),
        ratio=min(ratios) if ratios else None,
        thinks=thinks,
        stream_usage=stream_usage,
        complete=settings.mode is None,
    )


@dataclass
class _Waiting:
    """The check's patience with an endpoint that asks it to wait, all modes together."""

    patience: float
    say: Callable[[str], None]
    waited: float = 0.0


@dataclass
class _Outcome:
    ok: bool
    said: str
    ratio: float | None = None
    thinks: bool = False


def _probe(
    client: LLMClient, mode: str, settings: LLMSettings, where: str, waiting: _Waiting
) -> _Outcome:
    """One mode's tiny request, asked again (tenacity) as the endpoint asks while patience
    lasts."""
    import openai

    messages = [{"role": "user", "content": PROBE_PROMPT}]
    usage = Usage()

    def busy(exc: BaseException) -> bool:  # a 429 or a 5xx: worth waiting for
        return isinstance(exc, Retryable) and isinstance(exc.cause, openai.APIStatusError)

    def out_of_patience(state) -> bool:
        return waiting.waited + state.upcoming_sleep > waiting.patience

    def say(state) -> None:
        wait, status = state.upcoming_sleep, state.outcome.exception().cause.status_code
        waiting.say(
            f"LLM 端点{'限流' if status == 429 else '忙'}（HTTP {status}），按要求等 {wait:g} 秒后再试"
            f"（已等 {waiting.waited:g}/{waiting.patience:g} 秒）"
        )
        waiting.waited += wait

    try:
        streamed = client.with_retries(
            mode, Probe, messages, PROBE_TOKENS, usage,
            retry=retry_if_exception(busy), stop=out_of_patience, before_sleep=say,
        )  # fmt: skip
    except Refused as exc:
        return _Outcome(False, f"被拒绝（{exc}）")
    except Retryable as exc:
        cause = exc.cause
        if isinstance(cause, openai.APITimeoutError):
            raise EndpointUnavailable(
                f"LLM 端点 {where} 在 {client.settings.timeout:g} 秒内没有回应；"
                "请检查 OPENAI_BASE_URL 和服务是否在运行"
            ) from None
        if not busy(exc):
            reason = redact(one_line(cause.__cause__ or cause), settings.secrets)
            raise EndpointUnavailable(
                f"无法连接 LLM 端点 {where}（{reason}）；请检查 OPENAI_BASE_URL 和服务是否在运行"
            ) from None
        reason = redact(one_line(cause), settings.secrets)
        raise EndpointUnavailable(
            f"LLM 端点 {where} 回答 HTTP {cause.status_code}（{reason}），"
            f"等了 {waiting.waited:g} 秒仍未好转；请稍后再试，或检查 OPENAI_BASE_URL 和模型 "
            f"{settings.model}"
        ) from None
    except LLMUnavailable as exc:  # a refused key, an exhausted quota, an unknown model
        raise EndpointUnavailable(f"LLM 端点 {where} {_fatal_said(exc, settings)}") from None
    except LLMError as exc:
        return _Outcome(False, f"不可用（{exc}）")
    return _judge(mode, streamed, usage)


def _fatal_said(exc: LLMError, settings: LLMSettings) -> str:
    """The check's line for a refusal that waiting will not cure."""
    said = str(exc).split(": ", 1)[-1]
    if "模型" in said and "404" in said:
        return (
            f"没有模型 {settings.model}，或路径不对（HTTP 404）；"
            "请检查 --model / GOUJI_MODEL 和 OPENAI_BASE_URL（通常以 /v1 结尾）"
        )
    return said.removeprefix("端点")


def _judge(mode: str, streamed: modes.Streamed, usage: Usage) -> _Outcome:
    """Whether instructor reads an answer of the schema from the reply."""
    thinks = streamed.thinks
    sent = streamed.sent
    ratio = usage.prompt_tokens / sent if usage.estimated == 0 and usage.prompt_tokens else None
    if streamed.finish_reason == "length":
        return _Outcome(False, "回答写满上限仍未结束", ratio, thinks)
    try:
        modes.parse(mode, Probe, streamed)
    except ValueError:
        return _Outcome(False, "回答不受格式约束", ratio, thinks)
    how = []
    if mode == "tools" and not streamed.arguments.strip():
        how.append("回答在 content 中")
    if thinks:
        how.append("先写推理")
    return _Outcome(True, "可用" + (f"（{'，'.join(how)}）" if how else ""), ratio, thinks)


def _server_facts(settings: LLMSettings) -> dict:
    """What the server tells of itself: llama.cpp's slots and a slot's context (``/props``,
    else the length of ``/slots``), the context Ollama loaded the model with (``/api/ps``),
    vLLM's ``max_model_len``. Anything it does not tell stays unknown."""
    import openai

    base = (settings.base_url or "").rstrip("/")
    root = base.removesuffix("/v1") + "/"
    client = openai_client(replace(settings, base_url=root), 5.0)
    facts: dict = {}

    def get(path: str):
        try:
            return client.get(path, cast_to=object)
        except (openai.OpenAIError, ValueError):
            return None

    try:
        props = get("props")
        if isinstance(props, dict):
            facts["slots"] = props.get("total_slots")
            facts["context"] = (props.get("default_generation_settings") or {}).get("n_ctx")
        if not facts.get("slots"):
            slots = get("slots")
            if isinstance(slots, list) and slots:
                facts["slots"] = len(slots)
                facts["context"] = facts.get("context") or slots[0].get("n_ctx")
        running = get("api/ps")
        if isinstance(running, dict):
            for model in running.get("models") or []:
                if settings.model in (model.get("name"), model.get("model")):
                    facts["context"] = model.get("context_length") or facts.get("context")
        listed = get("v1/models") if base.endswith("/v1") else None
        if isinstance(listed, dict):
            for model in listed.get("data") or []:
                if model.get("id") == settings.model and model.get("max_model_len"):
                    facts["context"] = facts.get("context") or model["max_model_len"]
    finally:
        client.close()
    return {k: int(v) for k, v in facts.items() if isinstance(v, int | float) and v > 0}
