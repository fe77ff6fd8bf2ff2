"""How deep a decoded JSON value nests, checked without recursion.

Parsers accept deeper documents than our writers can write again (orjson.dumps stops at 254
levels, the stdlib json at the interpreter's recursion limit), so what comes from outside
(model replies, RPC and API answers, snapshots) is checked before it is kept.
"""

from __future__ import annotations

from typing import Any

MAX_JSON_DEPTH = 64  # far beyond any real answer's nesting, far below orjson.dumps' limit


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when `value` nests dicts/lists deeper than `limit`."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False
