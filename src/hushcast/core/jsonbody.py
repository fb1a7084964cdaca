"""Reading raw JSON bodies where the API must check things in a set order."""

from __future__ import annotations

import json
from typing import Any

from hushcast.core.errors import BadRequest

NOT_JSON = "Request body must be a JSON object"
_MAX_WALK_DEPTH = 200


def _where(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "body"


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (unpaired UTF-16 surrogate)"
    return None


def find_bad_text(value: Any) -> str | None:
    """Where the parsed JSON holds text no database column can take, and why; else None.

    JSON lets a client escape a NUL (``\\u0000``) or half a surrogate pair (``\\ud800``);
    PostgreSQL cannot store either, SQLite and Telegram choke on the second. Keys count too.
    """
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            problem = _text_problem(node)
            if problem:
                return f"{_where(path)}: {problem}"
        elif len(path) > _MAX_WALK_DEPTH:
            continue  # the endpoint rejects such nesting itself
        elif isinstance(node, dict):
            for key, item in node.items():
                problem = _text_problem(key)
                if problem:
                    return f"{_where(path)}: a key {problem}"
                stack.append((item, [*path, key]))
        elif isinstance(node, list):
            stack.extend((item, [*path, i]) for i, item in enumerate(node))
    return None


def check_text(value: Any) -> None:
    problem = find_bad_text(value)
    if problem:
        raise BadRequest(problem)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw or not raw.strip():
        raise BadRequest(NOT_JSON)
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Request body is not valid JSON") from None
    except RecursionError:
        raise BadRequest("Request body is not valid JSON (or is nested too deeply)") from None
    if not isinstance(value, dict):
        raise BadRequest(NOT_JSON)
    check_text(value)
    return value
