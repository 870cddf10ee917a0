"""The exception tree: every error gouji raises on purpose, in one place.

    GoujiError
    ├── InputError        a document that cannot be read as a report (its record: failed):
    │     EmptyInput, BinaryInput, UndecodableInput, EncryptedInput, InputTooLarge,
    │     UnsupportedFormat, NoTextLayer, OcrUnavailable, NotAReport, NotAFile (a pipe, a
    │     device: skipped, never opened), OutsideFolder (a link out of the folder read:
    │     skipped), WorkerCrashed (the process reading it died), and LimitExceeded, a bound of
    │     ``limits.Limits`` broken: TooManyPages, TooManyPixels, TooLargeInflated,
    │     TooManyCells, TimedOut, OutOfMemory
    ├── LLMError          the LLM could not answer one task (the reader's result stands):
    │     LLMTransportError, LLMUnavailable, LLMRejected, LLMEmptyAnswer, LLMTruncated,
    │     LLMSchemaError, LLMCopied, LLMRepeating, LLMBudgetExceeded, LLMContextExceeded, and
    │     EndpointUnavailable (the check before a batch failed, no run)
    ├── SettingsError     settings that cannot run (a usage error, before any document)
    ├── DecisionRefused   a review decision the queue will not apply (the reviewer is told why)
    └── CallbackRefused   a callback URL ``gouji serve`` will not call (loopback, private …)

Input and LLM errors carry a stable ``code`` (a rule of ``rules.RULES``; each class names its
own); ``str()`` of one is ``"<code>: <one-line Chinese message>"``.
"""

from __future__ import annotations


class GoujiError(Exception):
    """Base of every error gouji raises on purpose."""


class InputError(GoujiError):
    """A document that cannot be read as a report; the record gets ``status: failed``."""

    code = "input.unreadable"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    @classmethod
    def unreadable(cls, exc: OSError) -> InputError:
        """A file the system would not let us read (gone, a link loop, no permission)."""
        return cls(f"无法读取文件（{exc.strerror or exc}）")


class EmptyInput(InputError):
    code = "input.empty"


class BinaryInput(InputError):
    code = "input.binary"


class UndecodableInput(InputError):
    code = "input.encoding"


class EncryptedInput(InputError):
    """A PDF that opens only with a password."""

    code = "input.encrypted"


class InputTooLarge(InputError):
    code = "input.too_large"


class UnsupportedFormat(InputError):
    code = "input.format"


class NoTextLayer(InputError):
    code = "input.no_text_layer"


class OcrUnavailable(InputError):
    """A scan to read and no OCR engine installed; the message says how to install it."""

    code = "input.ocr_missing"


class NotAReport(InputError):
    code = "input.not_a_report"


class NotAFile(InputError):
    """A named pipe, a device or a socket where a report file was expected."""

    code = "input.not_a_file"


class OutsideFolder(InputError):
    """A link in a folder that leads out of it."""

    code = "input.outside"


class WorkerCrashed(InputError):
    """The worker process reading the document died (a crash in a library, a signal)."""

    code = "internal.crash"


class LimitExceeded(InputError):
    """A document over one of its bounds (``limits.Limits``); ``code`` names the bound."""


class TooManyPages(LimitExceeded):
    code = "input.too_many_pages"


class TooManyPixels(LimitExceeded):
    code = "input.too_many_pixels"


class TooLargeInflated(LimitExceeded):
    code = "input.too_large_inflated"


class TooManyCells(LimitExceeded):
    code = "input.too_many_cells"


class TimedOut(LimitExceeded):
    code = "input.timeout"


class OutOfMemory(LimitExceeded):
    code = "input.out_of_memory"


class LLMError(GoujiError):
    """The LLM could not answer one task; the reader's result stands and the reason is kept."""

    code = "llm.error"

    def __str__(self) -> str:
        return f"{self.code}: {super().__str__()}"


class LLMTransportError(LLMError):
    code = "llm.transport"


class LLMUnavailable(LLMError):
    """Not asked: the endpoint failed too often in a row during this run."""

    code = "llm.unavailable"


# The endpoint did not answer (not the model answering badly): a resumed run asks again.
UNAVAILABLE = (LLMTransportError, LLMUnavailable)


class LLMRejected(LLMError):
    """The endpoint refused the request (HTTP 4xx other than 429)."""

    code = "llm.rejected"


class LLMEmptyAnswer(LLMError):
    """A reply with no choices."""

    code = "llm.empty"


class LLMTruncated(LLMError):
    code = "llm.truncated"


class LLMSchemaError(LLMError):
    code = "llm.schema"


class LLMCopied(LLMError):
    """An answer that copies the prompt's own wording into its values: no witness."""

    code = "llm.copied"


class LLMRepeating(LLMError):
    """An answer stopped while it repeated itself (a model in a loop)."""

    code = "llm.repeating"


class LLMBudgetExceeded(LLMError):
    code = "llm.budget"


class LLMContextExceeded(LLMError):
    """A request that would not fit the model's context: it is not sent."""

    code = "llm.context"


class EndpointUnavailable(LLMError):
    """The endpoint, the key or the model failed the check before a batch; the message is
    one Chinese line saying what failed and what to check."""

    code = "llm.endpoint"


class SettingsError(GoujiError):
    """Settings that cannot run (an LLM witness asked for with no model configured)."""


class DecisionRefused(GoujiError):
    """A review decision the queue will not apply (the item's hold is not the reviewer's,
    or its value changed since it was shown); ``str()`` tells the reviewer why."""


class CallbackRefused(GoujiError):
    """A callback URL ``gouji serve`` will not call: not http(s), or an address only the
    server can reach (loopback, private, link-local …) unless the operator allows those;
    ``str()`` says why, in Chinese."""
