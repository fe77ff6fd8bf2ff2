"""Tools an LLM agent may call: each builds instructions (or answers a read) for the harness.

A tool is data plus one handler (`runner.tools.base.Tool`); `runner.tools.registry.TOOLS`
is the one list the harness offers. Instructions come only from these handlers, through
the same builders the deterministic agent uses, never from a model's free text.
"""
