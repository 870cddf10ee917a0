"""The LLM, a second and untrusted witness: its client, tasks, structured output, the endpoint's start check, the vision witness."""
