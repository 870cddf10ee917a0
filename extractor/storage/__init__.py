"""The store: documents, runs, fields and findings in SQL, its migrations, the review queue's reads, holds and decisions."""
