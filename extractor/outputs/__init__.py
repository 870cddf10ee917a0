"""What leaves the store: exports and the panel."""
