"""gouji serve: the HTTP API, its durable job queue, the service and callbacks."""
