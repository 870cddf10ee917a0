"""Prompt files, one per LLM task; a prompt's version is the hash of its file."""
