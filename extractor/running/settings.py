"""Run settings: the one object extract, batch, cluster and eval take.

It holds what a record depends on besides its document — the bounds on one document's work
(``limits.Limits``), the witness mode, the LLM's settings, whether scans are OCR'd — and how
a run spends its endpoint (requests in flight) and where it caches. A run's environment
(``GOUJI_MODEL``, ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``, ``GOUJI_CACHE_DIR``,
``GOUJI_OCR_CACHE``) is read by ``Settings.from_env``; everything after it reads the object
(only the OCR page cache also looks at ``GOUJI_OCR_CACHE`` itself, for a run made without
it). Its ``fingerprint`` is what every record the commands write, every store run and every
eval artifact carry, so two runs with the same settings say so whichever command made them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..checking.record import RECORD_VERSION
from ..errors import SettingsError
from ..inputs import formats
from ..inputs.ocr import OcrSettings
from ..limits import Limits
from ..version import __version__
from ..witness.llm import LLMClient, LLMSettings
from ..witness.tasks import prompt_versions

WITNESS_MODES = ("off", "verify", "fallback")
OCR_MODES = ("auto", "off")


@dataclass(frozen=True)
class Settings:
    limits: Limits = Limits()  # the bounds on one document's work
    witness: str = "off"  # the LLM as second witness: off, verify or fallback
    llm: LLMSettings | None = None  # the endpoint's settings when the witness is on
    concurrency: int | None = None  # documents in flight to the endpoint (None: the default)
    scans: OcrSettings = OcrSettings()  # whether scans are OCR'd, and the page cache

    @classmethod
    def from_env(
        cls,
        witness: str | None = None,
        max_bytes: int | None = None,
        limits: str | None = None,
        concurrency: int | None = None,
        env: Mapping[str, str] = os.environ,
        ocr: str = "auto",
        ocr_cache: Path | None = None,
        vision: bool = False,
        vision_model: str | None = None,
        **llm_options: Any,
    ) -> Settings:
        """The settings a user gave (``None`` options: not given), completed from the
        environment. With a model configured the witness defaults to ``verify``. With
        ``vision``, scans' table pages also go to a vision model on the same endpoint
        (``vision_model``, ``GOUJI_VISION_MODEL``, else the model)."""
        values = {
            "model": env.get("GOUJI_MODEL"),
            "base_url": env.get("OPENAI_BASE_URL"),
            "api_key": env.get("OPENAI_API_KEY"),
            "cache_dir": Path(env["GOUJI_CACHE_DIR"]) if env.get("GOUJI_CACHE_DIR") else None,
        }
        values |= {k: v for k, v in llm_options.items() if v is not None}
        llm = LLMSettings(**values)
        if vision:
            model = vision_model or env.get("GOUJI_VISION_MODEL") or llm.model
            llm.vision = replace(llm, model=model, mode=None, vision=None)
        witness = witness or ("verify" if llm.configured else "off")
        if witness not in WITNESS_MODES:
            raise SettingsError(f"未知的 LLM 证人模式 {witness}（可选 {'、'.join(WITNESS_MODES)}）")
        if witness != "off" and not llm.configured:
            raise SettingsError("要用 LLM，请用 --model 或环境变量 GOUJI_MODEL 指定模型")
        if ocr not in OCR_MODES:
            raise SettingsError(f"未知的 OCR 模式 {ocr}（可选 {'、'.join(OCR_MODES)}）")
        ocr_cache = ocr_cache or (
            Path(env["GOUJI_OCR_CACHE"]) if env.get("GOUJI_OCR_CACHE") else None
        )
        scans = OcrSettings(ocr, ocr_cache)
        bounds = Limits.parse(limits or "")
        if max_bytes is not None:
            bounds = replace(bounds, bytes=max_bytes)
        return cls(bounds, witness, llm if witness != "off" else None, concurrency, scans)

    @property
    def uses_llm(self) -> bool:
        return self.witness != "off" and self.llm is not None

    def client(self) -> LLMClient | None:
        """A new client for this run's endpoint, or None when the reader runs alone."""
        return LLMClient(self.llm) if self.uses_llm else None

    def share(self, parts: int) -> Settings:
        """The settings of one of ``parts`` processes: its share of the rate limit."""
        if not self.uses_llm or not self.llm.requests_per_second:
            return self
        rate = self.llm.requests_per_second / parts
        return replace(self, llm=replace(self.llm, requests_per_second=rate))

    def _identity(self) -> dict[str, Any]:
        """What a record depends on besides the document."""
        out: dict[str, Any] = {
            "gouji": __version__,
            "record": RECORD_VERSION,
            "llm": self.witness if self.uses_llm else "off",
            "max_bytes": self.limits.bytes,
        }
        others = {k: v for k, v in self.limits.changed().items() if k != "bytes"}
        if others:  # the defaults add nothing: earlier fingerprints hold
            out["limits"] = others
        if self.scans.mode != "auto":  # the default adds nothing: earlier fingerprints hold
            out["ocr"] = self.scans.mode
        if added := formats.added():  # another reader makes other records
            out["formats"] = added
        if self.uses_llm:
            out |= {
                "model": self.llm.model,
                "mode": self.llm.resolved_mode(),
                "prompts": prompt_versions(),
                "context": self.llm.context_tokens,
            }
            if self.llm.max_tokens_per_doc:  # a budget decides which requests are sent
                out["budget"] = self.llm.max_tokens_per_doc
            if self.llm.vision is not None:  # off by default: earlier fingerprints hold
                out["vision"] = [self.llm.vision.model, self.llm.vision.resolved_mode()]
        return out

    def fingerprint(self) -> str:
        """Same fingerprint, same record (for the same document, and an endpoint that
        answers alike). What only paces or caches the requests — concurrency, timeout,
        rate limit, the caches — leaves it as it is."""
        blob = json.dumps(self._identity(), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """What a store run and an eval artifact record about the settings."""
        out: dict[str, Any] = {
            "llm": self.witness if self.uses_llm else "off",
            "max_bytes": self.limits.bytes,
            "limits": self.limits.to_dict(),
            "fingerprint": self.fingerprint(),
        }
        if self.uses_llm:
            out |= {"model": self.llm.model, "structured_output": self.llm.resolved_mode()}
        return out

    def describe(self) -> str:
        """One line for people, e.g. ``读取器 + LLM（verify，qwen2.5:7b，json）；单个文件上限
        52428800 字节；设置指纹 3f…``."""
        who = "读取器"
        if self.uses_llm:
            who += f" + LLM（{self.witness}，{self.llm.model}，{self.llm.resolved_mode()}）"
        return f"{who}；单个文件上限 {self.limits.bytes} 字节；设置指纹 {self.fingerprint()}"
