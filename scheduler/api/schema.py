"""OpenAPI schema adjustments (drf-spectacular hooks)."""

from scheduler.exceptions import ERROR_CODES


def strip_optional_slash(endpoints):
    """Routes accept an optional trailing slash; document them without it, as the contract does."""
    return [(path.rstrip("/") or "/", path_regex, method, callback) for path, path_regex, method, callback in endpoints]


# What any operation can answer besides its success, by method (see the contract's conventions).
_ERRORS_BY_METHOD = {
    "get": (400, 401, 403, 404, 414, 429, 503),
    "head": (400, 401, 403, 404, 414, 429, 503),
    "post": (400, 401, 403, 404, 409, 413, 415, 429, 503),
    "put": (400, 401, 403, 404, 409, 412, 413, 415, 429, 503),
    "patch": (400, 401, 403, 404, 409, 412, 413, 415, 429, 503),
    "delete": (400, 401, 403, 404, 409, 412, 429, 503),
}
_OPEN_PATHS = ("/health/", "/schema", "/docs")
_ERROR_TEXT = {
    400: "Bad input: `{field: [message]}` naming the field and the reason, or `{detail, code}`.",
    401: "No or bad credentials.",
    403: "Signed in, but not allowed (or a field this role may not set).",
    404: "Not found, or not visible to this user.",
    409: "Conflict: duplicate id, slot taken, invalid state transition, or a referenced record.",
    412: "If-Match did not match the current version.",
    413: "The body is larger than MAX_BODY_BYTES.",
    414: "The query string is longer than the server reads.",
    415: "The body is not JSON.",
    429: "Throttled: see Retry-After.",
    503: "A backing service is unavailable: retry after Retry-After.",
}


def document_errors(result, generator, request, public):
    """Every operation lists the error statuses it can answer, with the DRF error shape, and request
    bodies refuse unknown fields (`additionalProperties: false`), as the server does."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.update(error_components())
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _ERRORS_BY_METHOD:
                continue
            codes = _ERRORS_BY_METHOD[method]
            if path.startswith(_OPEN_PATHS):
                codes = (503,) if path == "/health/ready" else ()
            responses = operation.setdefault("responses", {})
            for code in codes:
                # gunicorn itself answers an over-long request line, in HTML, before the app sees it.
                content = (
                    {"text/html": {"schema": {"type": "string"}}}
                    if code == 414
                    else {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                )
                responses.setdefault(str(code), {"description": _error_text(code), "content": content})
    for name, schema in components.items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    return result


def error_components() -> dict:
    """`Error`: one of `ErrorDetail` (`{"detail", "code"}`, `code` from scheduler.exceptions.ERROR_CODES)
    or `FieldErrors` (`{field: [message, ...]}`, which never has a `detail`)."""
    table = "\n".join(
        f"- `{code}` ({'/'.join(map(str, statuses))}): {meaning}" for code, (statuses, meaning) in ERROR_CODES.items()
    )
    return {
        "ErrorDetail": {
            "type": "object",
            "description": "An error that is not one field's fault. Clients branch on `code`, never on `detail`.",
            "properties": {
                "detail": {"type": "string", "description": "What went wrong, for a person."},
                "code": {
                    "type": "string",
                    "enum": list(ERROR_CODES),
                    "description": f"Stable and machine-readable:\n{table}",
                },
            },
            "required": ["detail", "code"],
        },
        "FieldErrors": {
            "type": "object",
            "description": "Each field at fault with its messages (nested for lists and objects): bad input "
            "(400), or a field this role may not set (403).",
            "additionalProperties": True,
            "not": {"required": ["detail"]},
        },
        "Error": {
            "description": 'DRF\'s error shape: `{"detail": "...", "code": "..."}` or `{"field": ["message", ...]}`.',
            "oneOf": [{"$ref": "#/components/schemas/ErrorDetail"}, {"$ref": "#/components/schemas/FieldErrors"}],
        },
    }


def _error_text(status: int) -> str:
    codes = [f"`{code}`" for code, (statuses, _) in ERROR_CODES.items() if status in statuses]
    return f"{_ERROR_TEXT[status]} Codes: {', '.join(codes)}." if codes else _ERROR_TEXT[status]


def document_undecryptable(result, generator, request, public):
    """A record whose encrypted value does not decrypt is listed with those fields null and
    `undecryptable` naming them (scheduler/api/serializers.py `undecryptable_field`): every field the
    marker may name is nullable in the record's response schema, and the marker itself is optional
    (present only on such a record; a generated client must not expect it on every body)."""
    components = result.get("components", {}).get("schemas", {})
    for schema in components.values():
        properties = schema.get("properties", {})
        if "undecryptable" in properties and "undecryptable" in schema.get("required", []):
            schema["required"] = [name for name in schema["required"] if name != "undecryptable"]
        items = properties.get("undecryptable", {}).get("items", {})
        if "$ref" in items:  # postprocess_schema_enums made the enum a component of its own
            items = components.get(items["$ref"].rsplit("/", 1)[-1], {})
        for name in items.get("enum", []):
            if name in properties:
                properties[name]["nullable"] = True
    return result
