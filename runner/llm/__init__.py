"""The LLM agent: a chat-completions tool loop over runner/tools, behind a one-method backend."""
