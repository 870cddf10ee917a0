"""Runs over many documents: settings, one document's pipeline, the run object, isolated workers, the ledger, the Ray cluster."""
