"""The exception tree. Each input error carries a stable ``code`` and a one-line Chinese message."""

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


class EmptyInput(InputError):
    code = "input.empty"


class BinaryInput(InputError):
    code = "input.binary"


class UndecodableInput(InputError):
    code = "input.encoding"


class InputTooLarge(InputError):
    code = "input.too_large"


class UnsupportedFormat(InputError):
    code = "input.format"


class NotAReport(InputError):
    code = "input.not_a_report"
