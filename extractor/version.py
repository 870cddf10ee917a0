"""The version of gouji, one place (pyproject.toml says the same; records carry it)."""

__version__ = "0.1.0"
