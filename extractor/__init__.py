"""gouji（勾稽）: verified extraction of China's government-disclosure annual reports.

The public API is small::

    import gouji

    record = gouji.extract_file("report.pdf")  # one report → its extraction record
    for path in gouji.iter_documents(["reports/"]):  # report files in files and folders
        ...

    # with the LLM that GOUJI_MODEL / OPENAI_BASE_URL name, as a second witness
    record = gouji.extract_file("report.pdf", gouji.Settings.from_env())

``Settings`` are a run's settings (reader, witness, LLM); ``Record`` names the record's keys
(SCHEMA.md); ``Format`` is an input format as the registry holds it (a package adds one
through the ``gouji.inputs.formats`` entry point; its reader returns a ``SourceText``); every
error gouji raises on purpose is a ``GoujiError`` (the tree is drawn in ``gouji.errors``).
Everything else is internal.
"""

from .checking.record import Record
from .errors import (
    BinaryInput,
    EmptyInput,
    GoujiError,
    InputError,
    InputTooLarge,
    LLMBudgetExceeded,
    LLMError,
    LLMSchemaError,
    LLMTransportError,
    LLMTruncated,
    NotAReport,
    NoTextLayer,
    OcrUnavailable,
    SettingsError,
    UndecodableInput,
    UnsupportedFormat,
)
from .inputs.discover import iter_documents
from .inputs.formats import Format
from .inputs.text import SourceText
from .running.pipeline import extract_file
from .running.settings import Settings
from .template import FIELD_KEYS
from .version import __version__

__all__ = [
    "FIELD_KEYS",
    "BinaryInput",
    "EmptyInput",
    "Format",
    "GoujiError",
    "InputError",
    "InputTooLarge",
    "LLMBudgetExceeded",
    "LLMError",
    "LLMSchemaError",
    "LLMTransportError",
    "LLMTruncated",
    "NoTextLayer",
    "NotAReport",
    "OcrUnavailable",
    "Record",
    "Settings",
    "SettingsError",
    "SourceText",
    "UndecodableInput",
    "UnsupportedFormat",
    "__version__",
    "extract_file",
    "iter_documents",
]
