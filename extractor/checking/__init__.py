"""Candidates into decisions: the identities checked, two witnesses reconciled, checks across years, every field decided, the extraction record."""
