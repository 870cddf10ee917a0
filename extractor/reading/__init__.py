"""Text into candidates: the template's parts, cells, the layout reader, run-together splits, the prose's claims, agency and year."""
