"""gouji（勾稽）: verified extraction of China's government-disclosure annual reports.

The public API is small::

    import gouji

    record = gouji.extract_file("report.pdf")  # one report → its extraction record
    for path in gouji.iter_documents(["reports/"]):  # report files in files and folders
        ...

``Record`` names the record's keys (SCHEMA.md); every error gouji raises on purpose is a
``GoujiError`` (the tree is drawn in ``gouji.errors``). Everything else is internal.
"""

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
    UndecodableInput,
    UnsupportedFormat,
)
from .pipeline import extract_file, iter_documents
from .record import Record
from .template import FIELD_KEYS

__version__ = "0.1.0"

__all__ = [
    "FIELD_KEYS",
    "BinaryInput",
    "EmptyInput",
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
    "UndecodableInput",
    "UnsupportedFormat",
    "__version__",
    "extract_file",
    "iter_documents",
]
