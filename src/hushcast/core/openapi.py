"""OpenAPI documentation for bodies that endpoints read by hand.

Some endpoints parse the raw body themselves so that errors come in Yespo's
documented order; this gives them a self-contained request-body schema.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with local ``$defs`` references replaced by the definitions."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema()
    schema = _inline(raw, raw.get("$defs", {}))
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


# --- error responses ---------------------------------------------------------------------------


class Problem(BaseModel):
    """An RFC 9457 problem document: every error the API answers has this shape.

    ``message`` (an extension member, first in the body) repeats ``detail``: it is where
    Yespo clients look for the error text."""

    message: str
    type: str = "about:blank"
    title: str
    status: int
    detail: str


PROBLEM_MEDIA_TYPE = "application/problem+json"
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

_DESCRIPTIONS = {
    400: "Bad request: invalid parameters or body (detail says which)",
    401: "Missing, unknown or revoked API key",
    404: "Not found (also another organisation's object)",
    409: "Conflict with the object's current state",
    413: "Request body larger than the configured limit",
    429: "Too many requests for this API key",
    502: "Telegram Bot API unreachable",
    503: "Database unavailable, try again",
}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or _DESCRIPTIONS.get(status, "Error"),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}},
    }


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: extra problem statuses beyond the ones every route has."""
    return {status: problem_response(status) for status in statuses}


_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Documents the problem responses every operation can give, in place.

    The API answers validation errors with 400 (never FastAPI's 422), so 422 is dropped;
    every authenticated operation can answer 401, 429 and 503; one with parameters or a
    body, 400; one with a body, 413; one with a path parameter, 404.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema()
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            responses: dict[str, Any] = op.setdefault("responses", {})
            responses.pop("422", None)
            params = op.get("parameters", [])
            codes: list[int] = []
            if params or "requestBody" in op:
                codes.append(400)
            if any(p.get("in") == "path" for p in params):
                codes.append(404)
            if "requestBody" in op:
                codes.append(413)
            if path.startswith("/v1/"):
                codes += [401, 429]
            codes.append(503)
            for code in codes:
                responses.setdefault(str(code), problem_response(code))
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in components and f"#/components/schemas/{unused}" not in str(schema["paths"]):
            del components[unused]
    return schema
