"""gouji: verified extraction of China's government-disclosure annual reports.

The public API is small: ``extract_file`` turns one report into its extraction record
(SCHEMA.md), ``iter_documents`` walks files and folders, and the ``errors`` module holds
the exception tree.
"""

from .errors import GoujiError, InputError
from .pipeline import extract_file, iter_documents
from .template import FIELD_KEYS

__version__ = "0.1.0"

__all__ = [
    "FIELD_KEYS",
    "GoujiError",
    "InputError",
    "extract_file",
    "iter_documents",
    "__version__",
]
