"""gouji_eval: the labeled sets, the scorer and its gold format, the eval and its gate, the
layout generator, the benchmark and the scripted OpenAI-compatible server."""
